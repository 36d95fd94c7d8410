//! How one Telegram bot is set up: its token (a secret: it sits in every request's path), its
//! @username, which chats it listens to, and the timings of long polling (PROTOCOLS-2.md §1.3).
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::Secret;
use std::time::Duration;

/// One bot in the brand's groups and channels.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// `https://api.telegram.org`; methods are called at `{api_url}/bot<token>/<method>`.
    pub api_url: String,
    /// `<bot id>:<secret>` from @BotFather. Never logged: it is part of every request URL.
    pub token: Secret,
    /// The bot's @username (without `@`): the cursor's name, and how the bot's own messages
    /// are told apart from customers'.
    pub bot_username: String,
    /// Chats heard, by id (`-1001987654321`) or public @username; empty: every chat the bot
    /// is in. Messages from other chats are passed over (and confirmed, so never re-read).
    pub chats: Vec<String>,
    /// How long one `getUpdates` waits for news (its `timeout`); Telegram holds the request
    /// open that long when nothing happens.
    pub poll_timeout: Duration,
    /// Updates asked for per call (1–100).
    pub limit: u32,
    /// Time limit for one HTTP request on top of `poll_timeout` (a long poll's read timeout
    /// must exceed its `timeout`, or every quiet poll looks like a network failure).
    pub request_timeout: Duration,
    /// A reply refused with 429 waits this long at most before trying once more; a longer
    /// `retry_after` hands the reply back as retryable (the outbox sends it later).
    pub max_reply_wait: Duration,
    /// Multiplies every backoff delay of PROTOCOLS.md §0.3: 1.0 in production; tests shrink it.
    /// Telegram's own `retry_after` is always honoured in full.
    pub backoff_scale: f64,
    /// Hear by webhook (§1.4) instead of long polling.
    pub webhook: Option<Webhook>,
}

/// Where Telegram delivers updates in webhook mode, and the secret it sends with them.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The public HTTPS address that reaches earshot's [`Webhook::PATH_PREFIX`]`<bot>`.
    pub url: String,
    /// Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token` with every delivery.
    pub secret: Secret,
    /// Parallel deliveries Telegram may make (1–100).
    pub max_connections: u32,
    /// How often `getWebhookInfo` is asked whether deliveries fail.
    pub check_every: Duration,
}

impl Webhook {
    /// earshot's route for deliveries: `/hooks/telegram/<bot username>`.
    pub const PATH_PREFIX: &'static str = "/hooks/telegram/";

    pub fn new(url: impl Into<String>, secret: Secret) -> Self {
        Webhook {
            url: url.into(),
            secret,
            max_connections: 4,
            check_every: Duration::from_secs(60),
        }
    }

    /// Whether `given` (the delivery's header) is the secret, compared in constant time.
    pub fn admits(&self, given: Option<&str>) -> bool {
        let expected = self.secret.expose().as_bytes();
        let Some(given) = given.map(str::as_bytes) else {
            return false;
        };
        use subtle::ConstantTimeEq;
        !expected.is_empty() && bool::from(given.ct_eq(expected))
    }

    fn problems(&self, bot: &str) -> Vec<String> {
        let mut problems = Vec::new();
        match reqwest::Url::parse(self.url.trim()) {
            Ok(url) => {
                if url.scheme() != "https" {
                    problems.push(
                        "webhook_url must be https (Telegram delivers nowhere else)".to_owned(),
                    );
                }
                if !matches!(url.port_or_known_default(), Some(443 | 80 | 88 | 8443)) {
                    problems.push(
                        "webhook_url's port must be 443, 80, 88 or 8443 (Telegram's rule)"
                            .to_owned(),
                    );
                }
                let route = format!("{}{bot}", Self::PATH_PREFIX);
                if url.path().trim_end_matches('/') != route {
                    problems.push(format!(
                        "webhook_url's path must be {route} (the route earshot serves; the proxy forwards it unchanged)"
                    ));
                }
            }
            Err(_) => problems.push(format!("webhook_url is not a URL: {:?}", self.url)),
        }
        let secret = self.secret.expose();
        if secret.is_empty()
            || secret.len() > 256
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            problems.push(
                "webhook_secret must be 1 to 256 of A-Z a-z 0-9 _ - (Telegram's rule): \
                 make one with `openssl rand -hex 32`"
                    .to_owned(),
            );
        }
        if !(1..=100).contains(&self.max_connections) {
            problems.push("webhook max_connections must be 1 to 100".to_owned());
        }
        problems
    }
}

impl TelegramConfig {
    /// A config with safe defaults for everything but the bot.
    pub fn new(token: Secret, bot_username: impl Into<String>) -> Self {
        TelegramConfig {
            api_url: "https://api.telegram.org".into(),
            token,
            bot_username: bot_username.into(),
            chats: Vec::new(),
            poll_timeout: Duration::from_secs(30),
            limit: 100,
            request_timeout: Duration::from_secs(15),
            max_reply_wait: Duration::from_secs(10),
            backoff_scale: 1.0,
            webhook: None,
        }
    }

    /// The bot's username without a leading `@`.
    pub fn bot(&self) -> &str {
        self.bot_username.trim().trim_start_matches('@')
    }

    /// The name the source reports under and keys its cursor by: `telegram:<bot username>`.
    pub fn source_name(&self) -> String {
        format!("telegram:{}", self.bot())
    }

    /// The bot's numeric id: the token's part before `:` (public: it is the bot's user id).
    pub fn bot_id(&self) -> Option<i64> {
        self.token.expose().split_once(':')?.0.trim().parse().ok()
    }

    /// The URL of `method`. It holds the token: never log it or put it in an error.
    pub(crate) fn method_url(&self, method: &str) -> String {
        format!(
            "{}/bot{}/{method}",
            self.api_url.trim_end_matches('/'),
            self.token.expose().trim()
        )
    }

    /// Whether messages from `chat` (its id and public username) are heard.
    pub fn hears_chat(&self, id: i64, username: Option<&str>) -> bool {
        if self.chats.iter().all(|c| c.trim().is_empty()) {
            return true;
        }
        self.chats.iter().any(|c| {
            let c = c.trim();
            c.parse::<i64>().is_ok_and(|wanted| wanted == id)
                || username.is_some_and(|u| {
                    !u.is_empty() && c.trim_start_matches('@').eq_ignore_ascii_case(u)
                })
        })
    }

    /// What is wrong with the settings, if anything, in words an operator can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let token = self.token.expose().trim();
        let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if token.is_empty() {
            problems.push(
                "bot_token is empty: create a bot with @BotFather and copy its token".to_owned(),
            );
        } else if !well_formed {
            problems.push(
                "bot_token is not a bot token (<bot id>:<secret>, as @BotFather gives it)"
                    .to_owned(),
            );
        }
        if self.bot().is_empty() {
            problems.push("bot_username is empty: the bot's @username".to_owned());
        }
        if reqwest::Url::parse(&self.api_url).is_err() {
            problems.push(format!("api_url is not a URL: {:?}", self.api_url));
        }
        for chat in &self.chats {
            let c = chat.trim();
            if !(c.parse::<i64>().is_ok() || (c.starts_with('@') && c.len() > 1)) {
                problems.push(format!(
                    "chats: {chat:?} is neither a chat id (-1001987654321) nor a public @username"
                ));
            }
        }
        if !(1..=100).contains(&self.limit) {
            problems.push(format!("limit is {}: Telegram takes 1 to 100", self.limit));
        }
        if let Some(webhook) = &self.webhook {
            problems.extend(webhook.problems(self.bot()));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "7012345678:AAF3kqT0p_s3cr3t-Value";

    #[test]
    fn the_token_never_prints_and_names_are_derived() {
        let mut config = TelegramConfig::new(Secret::new(TOKEN), "@acme_help_bot");
        assert!(!format!("{config:?}").contains("s3cr3t"));
        assert_eq!(config.source_name(), "telegram:acme_help_bot");
        assert_eq!(config.bot_id(), Some(7012345678));
        assert_eq!(
            config.method_url("getMe"),
            format!("https://api.telegram.org/bot{TOKEN}/getMe")
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert!(config.hears_chat(-1001, None), "no list: every chat");
        config.chats = vec!["-1001987654321".into(), "@AcmeKettle".into()];
        assert!(config.hears_chat(-1001987654321, None));
        assert!(config.hears_chat(-1002, Some("acmekettle")));
        assert!(!config.hears_chat(-1002, Some("other")));
        assert!(!config.hears_chat(-1002, None));
    }

    #[test]
    fn problems_name_the_setting_to_fix() {
        let mut config = TelegramConfig::new(Secret::new("not-a-token"), "");
        config.chats = vec!["acme group".into()];
        config.limit = 0;
        let problems = config.problems().join("; ");
        assert!(
            problems.contains("bot_token is not a bot token"),
            "{problems}"
        );
        assert!(!problems.contains("not-a-token"), "{problems}");
        assert!(problems.contains("bot_username is empty"), "{problems}");
        assert!(problems.contains("chats: \"acme group\""), "{problems}");
        assert!(problems.contains("limit is 0"), "{problems}");
        let empty = TelegramConfig::new(Secret::new(""), "bot").problems();
        assert!(empty[0].contains("@BotFather"), "{empty:?}");
    }

    #[test]
    fn a_webhook_needs_https_a_telegram_port_earshots_route_and_a_proper_secret() {
        let mut config = TelegramConfig::new(Secret::new(TOKEN), "acme_help_bot");
        let good = "https://earshot.acme.example/hooks/telegram/acme_help_bot";
        config.webhook = Some(Webhook::new(good, Secret::new("q8Zc1-m4_Lr0vTg2")));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        config.webhook = Some(Webhook::new(
            "http://earshot.acme.example:9000/hooks/other",
            Secret::new("has space"),
        ));
        let problems = config.problems().join("; ");
        for part in [
            "must be https",
            "port must be",
            "/hooks/telegram/acme_help_bot",
            "webhook_secret",
        ] {
            assert!(problems.contains(part), "{part}: {problems}");
        }
        assert!(
            !problems.contains("has space"),
            "no secret in messages: {problems}"
        );
    }

    #[test]
    fn only_the_exact_secret_is_admitted() {
        let hook = Webhook::new("https://x/hooks/telegram/b", Secret::new("q8Zc1-m4"));
        assert!(hook.admits(Some("q8Zc1-m4")));
        for wrong in [Some("q8Zc1-m5"), Some("q8Zc1-m"), Some(""), None] {
            assert!(!hook.admits(wrong), "{wrong:?}");
        }
        let open = Webhook::new("https://x/hooks/telegram/b", Secret::new(""));
        assert!(!open.admits(Some("")), "an empty secret admits nobody");
    }
}
