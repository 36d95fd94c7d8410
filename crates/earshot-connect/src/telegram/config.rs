//! How one Telegram bot is set up: its token (a secret: it sits in every request's path), its
//! @username, which chats it listens to, and the timings of long polling (PROTOCOLS-2.md §1.3).
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::secret::Secret;
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

    /// A backoff delay scaled for this config.
    pub(crate) fn scaled(&self, delay: Duration) -> Duration {
        crate::reconnect::scaled(delay, self.backoff_scale)
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
}
