//! `[[connectors.bluesky]]`, `[[connectors.x]]`, `[[connectors.reddit]]`,
//! `[[connectors.telegram]]` and `[[connectors.rss]]` in earshot.toml, turned into the
//! connectors' own configs.
//!
//! Every credential can come from the file (`password = "…"`), an environment variable
//! (`password_env = "NAME"`) or a file (`password_file = "/run/secrets/…"`), in that order of
//! preference: env, file, inline. Errors name the key to fix.

use crate::settings::{resolve_secret as resolve, ConfigError, Secret};
use earshot_connect::appstore::AppStoreConfig;
use earshot_connect::bluesky::BlueskyConfig;
use earshot_connect::discord::DiscordConfig;
use earshot_connect::reddit::{RedditConfig, RedditSearch};
use earshot_connect::rss::{Feed, FeedConfig};
use earshot_connect::telegram::TelegramConfig;
use earshot_connect::x::{XConfig, XMode, XUserAuth};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// A secret written inline, or the name of an environment variable, or a file holding it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretFrom {
    #[serde(default)]
    pub value: Secret,
    #[serde(default)]
    pub env: Option<String>,
    #[serde(default)]
    pub file: Option<PathBuf>,
}

pub(crate) fn url(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.starts_with("http://")
        || value.starts_with("https://")
        || value.starts_with("ws://")
        || value.starts_with("wss://")
    {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: key.into(),
            message: format!("{value:?} is not a URL"),
        })
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskySettings {
    /// The brand's handle (`acme.bsky.social`): mentions of it are heard, replies are posted as it.
    pub handle: String,
    /// More handles and DIDs that count as the brand.
    #[serde(default)]
    pub other_handles: Vec<String>,
    #[serde(default)]
    pub dids: Vec<String>,
    /// Words that make a post worth hearing even without a mention (brand and product names).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The login for replies: the handle or email, and an app password (Settings → App passwords).
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub app_password: Secret,
    #[serde(default)]
    pub app_password_env: Option<String>,
    #[serde(default)]
    pub app_password_file: Option<PathBuf>,
    #[serde(default)]
    pub jetstream_url: Option<String>,
    #[serde(default)]
    pub pds_url: Option<String>,
    #[serde(default)]
    pub appview_url: Option<String>,
}

impl BlueskySettings {
    pub fn config(&self) -> Result<BlueskyConfig, ConfigError> {
        let password = resolve(
            "connectors.bluesky.app_password",
            &self.app_password,
            &self.app_password_env,
            &self.app_password_file,
            true,
        )?
        .unwrap_or_default();
        let identifier = self
            .identifier
            .clone()
            .unwrap_or_else(|| self.handle.clone());
        let mut c = BlueskyConfig::new(identifier, password, self.handle.clone());
        c.brand_handles.extend(
            self.other_handles
                .iter()
                .map(|h| h.trim_start_matches('@').to_string()),
        );
        c.brand_dids = self.dids.clone();
        c.keywords = self.keywords.clone();
        if let Some(u) = &self.jetstream_url {
            url("connectors.bluesky.jetstream_url", u)?;
            c.jetstream_url = u.clone();
        }
        if let Some(u) = &self.pds_url {
            url("connectors.bluesky.pds_url", u)?;
            c.pds_url = u.clone();
        }
        if let Some(u) = &self.appview_url {
            url("connectors.bluesky.appview_url", u)?;
            c.appview_url = u.clone();
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XSettings {
    /// The brand's numeric user id and @username.
    pub user_id: String,
    pub username: String,
    /// Extra handles and keywords for the stream rules (the @username is always included).
    #[serde(default)]
    pub handles: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `stream` (filtered stream: Pro plan or above) or `poll` (mentions + recent search).
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default = "default_x_poll")]
    pub poll_interval_seconds: u64,
    /// The app's bearer token (stream, rules, search).
    #[serde(default)]
    pub bearer_token: Secret,
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// User-context OAuth 2.0 token (tweet.read tweet.write users.read offline.access), for
    /// replies and the mentions timeline; with a refresh token it is renewed before it expires.
    #[serde(default)]
    pub access_token: Secret,
    #[serde(default)]
    pub access_token_env: Option<String>,
    #[serde(default)]
    pub refresh_token: Secret,
    #[serde(default)]
    pub refresh_token_env: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Secret,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
}

fn default_x_poll() -> u64 {
    60
}

impl XSettings {
    pub fn config(&self) -> Result<XConfig, ConfigError> {
        let bearer = resolve(
            "connectors.x.bearer_token",
            &self.bearer_token,
            &self.bearer_token_env,
            &self.bearer_token_file,
            true,
        )?
        .unwrap_or_default();
        let api = self
            .api_url
            .clone()
            .unwrap_or_else(|| "https://api.x.com".into());
        url("connectors.x.api_url", &api)?;
        let mut c = XConfig::new(api, self.user_id.clone(), self.username.clone(), bearer);
        c.handles.extend(self.handles.iter().cloned());
        c.keywords = self.keywords.clone();
        c.mode = match self.mode.as_deref() {
            None | Some("stream") => XMode::Stream,
            Some("poll") => XMode::Poll,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "connectors.x.mode".into(),
                    message: format!("{other:?}: use stream or poll"),
                })
            }
        };
        c.poll_interval = secs(self.poll_interval_seconds);
        let access = resolve(
            "connectors.x.access_token",
            &self.access_token,
            &self.access_token_env,
            &None,
            false,
        )?;
        if let Some(access_token) = access {
            c.user_auth = Some(XUserAuth {
                access_token,
                refresh_token: resolve(
                    "connectors.x.refresh_token",
                    &self.refresh_token,
                    &self.refresh_token_env,
                    &None,
                    false,
                )?,
                client_id: self.client_id.clone().unwrap_or_default(),
                client_secret: resolve(
                    "connectors.x.client_secret",
                    &self.client_secret,
                    &self.client_secret_env,
                    &None,
                    false,
                )?,
            });
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedditSearchSettings {
    pub query: String,
    #[serde(default)]
    pub subreddit: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedditSettings {
    /// A "script" app's id and secret (reddit.com/prefs/apps) and the brand account it runs as.
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Secret,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Subreddits whose new posts and comments are heard (without `r/`).
    #[serde(default)]
    pub subreddits: Vec<String>,
    #[serde(default)]
    pub searches: Vec<RedditSearchSettings>,
    #[serde(default = "default_reddit_poll")]
    pub poll_interval_seconds: u64,
    #[serde(default)]
    pub www_url: Option<String>,
    #[serde(default)]
    pub oauth_url: Option<String>,
}

fn default_reddit_poll() -> u64 {
    60
}

impl RedditSettings {
    pub fn config(&self) -> Result<RedditConfig, ConfigError> {
        let secret = resolve(
            "connectors.reddit.client_secret",
            &self.client_secret,
            &self.client_secret_env,
            &None,
            true,
        )?
        .unwrap_or_default();
        let password = resolve(
            "connectors.reddit.password",
            &self.password,
            &self.password_env,
            &self.password_file,
            true,
        )?
        .unwrap_or_default();
        let mut c = RedditConfig::new(
            self.client_id.clone(),
            secret,
            self.username.clone(),
            password,
        );
        c.subreddits = self
            .subreddits
            .iter()
            .map(|s| s.trim_start_matches("r/").to_string())
            .collect();
        c.searches = self
            .searches
            .iter()
            .map(|s| RedditSearch {
                query: s.query.clone(),
                subreddit: s.subreddit.clone(),
            })
            .collect();
        c.poll_interval = secs(self.poll_interval_seconds);
        if let Some(u) = &self.www_url {
            url("connectors.reddit.www_url", u)?;
            c.www_url = u.clone();
        }
        if let Some(u) = &self.oauth_url {
            url("connectors.reddit.oauth_url", u)?;
            c.oauth_url = u.clone();
        }
        Ok(c)
    }
}

/// A chat in `[[connectors.telegram]] chats`: its id or its public @username.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TelegramChat {
    Id(i64),
    Name(String),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot's @username: the brand's bot, added to its groups (as admin, or with privacy
    /// mode off, to hear every message) and to its channel as admin.
    pub bot_username: String,
    /// The token @BotFather gave (`<bot id>:<secret>`); better from `bot_token_env` or
    /// `bot_token_file` than in the file.
    #[serde(default)]
    pub bot_token: Secret,
    #[serde(default)]
    pub bot_token_env: Option<String>,
    #[serde(default)]
    pub bot_token_file: Option<PathBuf>,
    /// The chats heard (ids like -1001987654321 or "@publicname"); empty: every chat the
    /// bot is in.
    #[serde(default)]
    pub chats: Vec<TelegramChat>,
    /// How long one long poll waits for news (Telegram's `timeout`).
    #[serde(default = "default_telegram_poll")]
    pub poll_timeout_seconds: u64,
    #[serde(default)]
    pub api_url: Option<String>,
    /// Hear by webhook instead of long polling: the public HTTPS address (port 443, 80, 88
    /// or 8443) a proxy forwards to earshot's `/hooks/telegram/<bot_username>`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// What Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (1–256 of A–Z a–z 0–9 _ -);
    /// required with `webhook_url`. Better from `webhook_secret_env` or `_file`.
    #[serde(default)]
    pub webhook_secret: Secret,
    #[serde(default)]
    pub webhook_secret_env: Option<String>,
    #[serde(default)]
    pub webhook_secret_file: Option<PathBuf>,
}

fn default_telegram_poll() -> u64 {
    30
}

impl TelegramSettings {
    pub fn config(&self) -> Result<TelegramConfig, ConfigError> {
        let token = resolve(
            "connectors.telegram.bot_token",
            &self.bot_token,
            &self.bot_token_env,
            &self.bot_token_file,
            true,
        )?
        .unwrap_or_default();
        let mut c = TelegramConfig::new(token, self.bot_username.clone());
        c.chats = self
            .chats
            .iter()
            .map(|chat| match chat {
                TelegramChat::Id(id) => id.to_string(),
                TelegramChat::Name(name) => name.clone(),
            })
            .collect();
        c.poll_timeout = Duration::from_secs(self.poll_timeout_seconds.min(50));
        if let Some(u) = &self.api_url {
            url("connectors.telegram.api_url", u)?;
            c.api_url = u.clone();
        }
        if let Some(u) = self.webhook_url.as_ref().filter(|u| !u.trim().is_empty()) {
            let secret = resolve(
                "connectors.telegram.webhook_secret",
                &self.webhook_secret,
                &self.webhook_secret_env,
                &self.webhook_secret_file,
                true,
            )?
            .unwrap_or_default();
            c.webhook = Some(earshot_connect::telegram::Webhook::new(u.trim(), secret));
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("connectors.telegram ({})", c.bot()),
                message: problems.join("; "),
            });
        }
        Ok(c)
    }
}

/// `[[connectors.discord]]`: a bot in the brand's Discord server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// The brand's server id, quoted (`"1200000000000000000"`).
    pub guild_id: String,
    /// The bot token from the Developer Portal; better from `bot_token_env` or
    /// `bot_token_file` than in the file. The bot needs the Message Content Intent.
    #[serde(default)]
    pub bot_token: Secret,
    #[serde(default)]
    pub bot_token_env: Option<String>,
    #[serde(default)]
    pub bot_token_file: Option<PathBuf>,
    /// Channel ids heard, quoted (their threads too); empty: every channel the bot can
    /// view. Replies find the customer's channel either way.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub api_url: Option<String>,
}

impl DiscordSettings {
    pub fn config(&self) -> Result<DiscordConfig, ConfigError> {
        let token = resolve(
            "connectors.discord.bot_token",
            &self.bot_token,
            &self.bot_token_env,
            &self.bot_token_file,
            true,
        )?
        .unwrap_or_default();
        let mut c = DiscordConfig::new(token, self.guild_id.clone());
        c.channels = self.channels.clone();
        if let Some(u) = &self.api_url {
            url("connectors.discord.api_url", u)?;
            c.api_url = u.clone();
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("connectors.discord ({})", c.source_name()),
                message: problems.join("; "),
            });
        }
        Ok(c)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    pub url: String,
    /// What the feed is (`Trustpilot reviews`, `owners forum`): shown as the author's network.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RssSettings {
    /// The connector's name: its source is `rss:<name>`.
    pub name: String,
    pub feeds: Vec<FeedSettings>,
    #[serde(default = "default_feed_poll")]
    pub poll_interval_seconds: u64,
}

fn default_feed_poll() -> u64 {
    900
}

impl RssSettings {
    pub fn config(&self) -> Result<FeedConfig, ConfigError> {
        if self.feeds.is_empty() {
            return Err(ConfigError::Invalid {
                key: "connectors.rss.feeds".into(),
                message: format!("connector {:?} lists no feeds", self.name),
            });
        }
        let mut feeds = Vec::new();
        for f in &self.feeds {
            url("connectors.rss.feeds.url", &f.url)?;
            feeds.push(Feed::new(
                f.url.clone(),
                f.label.clone().unwrap_or_else(|| f.url.clone()),
            ));
        }
        let mut c = FeedConfig::new(self.name.clone(), feeds);
        c.poll_interval = secs(self.poll_interval_seconds);
        Ok(c)
    }
}

/// `[[connectors.appstore]]`: one app's App Store reviews, answered with the team's API key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppStoreSettings {
    /// The app's Apple id (digits, App Store Connect → App Information).
    pub app_id: String,
    /// The team's issuer id (Users and Access → Integrations → App Store Connect API).
    pub issuer_id: String,
    /// The API key's id (the `<KEYID>` of `AuthKey_<KEYID>.p8`).
    pub key_id: String,
    /// The `.p8` file's contents; better `private_key_file` or `private_key_env`.
    #[serde(default)]
    pub private_key: Secret,
    #[serde(default)]
    pub private_key_env: Option<String>,
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// The time between two walks of the newest reviews.
    #[serde(default = "default_appstore_poll")]
    pub poll_interval_seconds: u64,
    #[serde(default)]
    pub api_url: Option<String>,
}

fn default_appstore_poll() -> u64 {
    600
}

impl AppStoreSettings {
    pub fn config(&self) -> Result<AppStoreConfig, ConfigError> {
        let key = resolve(
            "connectors.appstore.private_key",
            &self.private_key,
            &self.private_key_env,
            &self.private_key_file,
            true,
        )?
        .unwrap_or_default();
        let mut c = AppStoreConfig::new(
            self.issuer_id.clone(),
            self.key_id.clone(),
            key,
            self.app_id.clone(),
        );
        // Apple's budget is per key and hour: a walk a minute is the least wait allowed.
        c.poll_interval = Duration::from_secs(self.poll_interval_seconds.max(60));
        if let Some(u) = &self.api_url {
            url("connectors.appstore.api_url", u)?;
            c.api_url = u.clone();
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("connectors.appstore ({})", self.app_id.trim()),
                message: problems.join("; "),
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appstore_section_becomes_a_config_and_a_bad_key_names_the_setting_not_the_key() {
        let pem = earshot_connect::appstore::jwt::generate_pem();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("AuthKey_2X9R4HXF34.p8");
        std::fs::write(&file, pem.expose()).unwrap();
        let a: AppStoreSettings = toml::from_str(&format!(
            "app_id = \"1473658921\"\nissuer_id = \"57246542-96fe\"\nkey_id = \"2X9R4HXF34\"\nprivate_key_file = {:?}\npoll_interval_seconds = 5",
            file.display().to_string()
        ))
        .unwrap();
        let c = a.config().unwrap();
        assert_eq!(c.source_name(), "appstore:1473658921");
        assert_eq!(
            c.poll_interval,
            Duration::from_secs(60),
            "raised to a minute"
        );
        let bad: AppStoreSettings = toml::from_str(
            "app_id = \"1473658921\"\nissuer_id = \"i\"\nkey_id = \"k\"\nprivate_key = \"-----BEGIN PRIVATE KEY-----\\nAAAAc2VjcmV0aXNo\\n-----END PRIVATE KEY-----\"",
        )
        .unwrap();
        let e = bad.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.appstore") && e.contains("ES256"),
            "{e}"
        );
        assert!(!e.contains("AAAAc2VjcmV0aXNo"), "{e}");
        let missing: AppStoreSettings =
            toml::from_str("app_id = \"1\"\nissuer_id = \"i\"\nkey_id = \"k\"").unwrap();
        let e = missing.config().unwrap_err().to_string();
        assert!(e.contains("connectors.appstore.private_key"), "{e}");
    }

    #[test]
    fn a_discord_section_becomes_a_config_and_a_bad_id_names_the_key_not_the_token() {
        let d: DiscordSettings = toml::from_str(
            "guild_id = \"1200000000000000000\"\nbot_token = \"MTM5.s3cr3t.x\"\nchannels = [\"1201111111111111111\"]",
        )
        .unwrap();
        let c = d.config().unwrap();
        assert_eq!(c.source_name(), "discord:1200000000000000000");
        assert_eq!(c.channels, vec!["1201111111111111111".to_owned()]);
        let bad: DiscordSettings =
            toml::from_str("guild_id = \"acme\"\nbot_token = \"MTM5.s3cr3t.x\"").unwrap();
        let e = bad.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.discord") && e.contains("guild_id"),
            "{e}"
        );
        assert!(!e.contains("s3cr3t"), "{e}");
        let missing: DiscordSettings = toml::from_str("guild_id = \"1\"").unwrap();
        let e = missing.config().unwrap_err().to_string();
        assert!(e.contains("bot_token"), "{e}");
    }

    #[test]
    fn a_telegram_section_becomes_a_config_and_a_bad_token_names_the_key_not_the_token() {
        let t: TelegramSettings = toml::from_str(
            r#"bot_username = "@acme_help_bot"
bot_token = "7012345678:AAF3kqT0pS3cr3t"
chats = [-1001987654321, "@acmekettle"]"#,
        )
        .unwrap();
        let c = t.config().unwrap();
        assert_eq!(c.chats, vec!["-1001987654321", "@acmekettle"]);
        assert_eq!(c.source_name(), "telegram:acme_help_bot");
        assert_eq!(c.poll_timeout, Duration::from_secs(30));
        assert!(!format!("{t:?} {c:?}").contains("S3cr3t"));

        let bad: TelegramSettings =
            toml::from_str("bot_username = \"acme_help_bot\"\nbot_token = \"hunter2\"").unwrap();
        let e = bad.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.telegram")
                && e.contains("not a bot token")
                && !e.contains("hunter2"),
            "{e}"
        );
        let missing: TelegramSettings = toml::from_str("bot_username = \"b\"").unwrap();
        let e = missing.config().unwrap_err().to_string();
        assert!(e.contains("connectors.telegram.bot_token"), "{e}");
        let typo = toml::from_str::<TelegramSettings>("bot_username = \"b\"\nbot_tokn = \"x\"");
        assert!(typo.is_err(), "unknown keys are refused");
    }
}
