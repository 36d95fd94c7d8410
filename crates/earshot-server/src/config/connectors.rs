//! `[connectors]`: one list per network; Mastodon's block is here, the other networks' in
//! `network_settings` and `review_settings`.

use crate::settings::{ConfigError, Secret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorSettings {
    /// `[[connectors.mastodon]]` blocks, one per brand account.
    pub mastodon: Vec<MastodonSettings>,
    /// `[[connectors.bluesky]]`: Jetstream listening and replies through an app password.
    pub bluesky: Vec<crate::network_settings::BlueskySettings>,
    /// `[[connectors.x]]`: the filtered stream (or polling) and replies.
    pub x: Vec<crate::network_settings::XSettings>,
    /// `[[connectors.reddit]]`: subreddits and searches, replies as the brand account.
    pub reddit: Vec<crate::network_settings::RedditSettings>,
    /// `[[connectors.discord]]`: a bot in the brand's Discord server, replies as it.
    pub discord: Vec<crate::network_settings::DiscordSettings>,
    /// `[[connectors.telegram]]`: a bot in the brand's groups and channels, replies as it.
    pub telegram: Vec<crate::network_settings::TelegramSettings>,
    /// `[[connectors.appstore]]`: one app's App Store reviews, answered with an API key.
    #[serde(default)]
    pub appstore: Vec<crate::network_settings::AppStoreSettings>,
    /// `[[connectors.googleplay]]`: one app's Google Play reviews, answered as a service account.
    #[serde(default)]
    pub googleplay: Vec<crate::review_settings::GooglePlaySettings>,
    /// `[[connectors.youtube]]`: comments on one brand channel's videos, answered as it.
    #[serde(default)]
    pub youtube: Vec<crate::review_settings::YouTubeSettings>,
    /// `[[connectors.rss]]`: review sites, blogs and forums (listening only).
    pub rss: Vec<crate::network_settings::RssSettings>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonSettings {
    /// The instance the brand account lives on, e.g. `https://mastodon.social`.
    pub base_url: String,
    /// The brand account (`acme`), whose mentions are heard and as whom replies are posted.
    pub brand_acct: String,
    /// The access token (scopes read:statuses read:notifications write:statuses).
    #[serde(default)]
    pub access_token: Secret,
    /// Or: the name of an environment variable holding it (kept out of the file).
    #[serde(default)]
    pub access_token_env: Option<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// How often to reconcile over REST even while the stream looks healthy.
    #[serde(default = "default_poll_seconds")]
    pub poll_interval_seconds: u64,
    /// No byte (event or heartbeat) for this long means the stream is dead.
    #[serde(default = "default_stall_seconds")]
    pub stall_timeout_seconds: u64,
    /// How the live streams are read: `sse` (default) or `websocket`.
    #[serde(default)]
    pub transport: Option<String>,
    /// How many recent mentions (and tagged posts) a first start takes in (default 40).
    #[serde(default)]
    pub history: Option<u32>,
}

fn default_poll_seconds() -> u64 {
    600
}

fn default_stall_seconds() -> u64 {
    45
}

impl MastodonSettings {
    /// The token, from the file or the named environment variable.
    pub fn token(&self) -> Result<String, ConfigError> {
        if let Some(var) = &self.access_token_env {
            return std::env::var(var).map_err(|_| ConfigError::Invalid {
                key: "connectors.mastodon.access_token_env".into(),
                message: format!("environment variable {var} is not set"),
            });
        }
        if self.access_token.is_empty() {
            return Err(ConfigError::Invalid {
                key: "connectors.mastodon.access_token".into(),
                message: format!(
                    "no token for {}: set access_token or access_token_env",
                    self.brand_acct
                ),
            });
        }
        Ok(self.access_token.expose().to_string())
    }
}

impl ConnectorSettings {
    /// Turns every network's block into its config, so a bad one is refused at load naming
    /// its key.
    pub fn check(&self) -> Result<(), ConfigError> {
        for m in &self.mastodon {
            m.token()?;
            if !(m.base_url.starts_with("http://") || m.base_url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "connectors.mastodon.base_url".into(),
                    message: format!("{:?} is not an http(s) URL", m.base_url),
                });
            }
        }
        each(&self.bluesky, |b| b.config())?;
        each(&self.x, |b| b.config())?;
        each(&self.reddit, |b| b.config())?;
        each(&self.telegram, |b| b.config())?;
        each(&self.discord, |b| b.config())?;
        each(&self.appstore, |b| b.config())?;
        each(&self.googleplay, |b| b.config())?;
        each(&self.youtube, |b| b.config())?;
        each(&self.rss, |b| b.config())
    }
}

/// Makes each block's config, stopping at the first refused.
fn each<T, C>(
    blocks: &[T],
    config: impl Fn(&T) -> Result<C, ConfigError>,
) -> Result<(), ConfigError> {
    blocks.iter().try_for_each(|b| config(b).map(|_| ()))
}
