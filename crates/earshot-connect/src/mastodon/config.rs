//! How one Mastodon connector is set up: which instance, which token, which brand account,
//! and the timings of the stream (heartbeat stall detection, REST reconciliation).
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::secret::Secret;
use std::time::Duration;

/// One Mastodon connector: the brand's account on one instance.
#[derive(Debug, Clone)]
pub struct MastodonConfig {
    /// The instance's API root, e.g. `https://mastodon.example` (no trailing slash needed).
    pub base_url: String,
    /// The streaming host when it differs from `base_url` (`configuration.urls.streaming`).
    pub streaming_url: Option<String>,
    /// A user token with `read:notifications read:statuses write:statuses`.
    pub access_token: Secret,
    /// The brand's own account as people see it (`acme`, or `acme@mastodon.example`).
    pub brand_acct: String,
    /// Hashtags to follow (without `#`). Not heard yet by [`super::MastodonSource`]: only
    /// mentions are; kept here so the config shape is stable.
    pub hashtags: Vec<String>,
    /// How often the REST reconciliation backfill runs while the stream is up (§0.1: a
    /// stream can stay "connected" and deliver nothing).
    pub poll_interval: Duration,
    /// No byte (event or `:thump`) for this long means the stream stalled: drop and
    /// reconnect. The server's heartbeat is 15 s; ~3× that by default.
    pub stall_timeout: Duration,
    /// Time limit for one REST request.
    pub request_timeout: Duration,
    /// Notifications asked for per backfill page (Mastodon: default 40, max 80).
    pub page_limit: u32,
}

impl MastodonConfig {
    /// A config with safe defaults for everything but the instance, token and brand account.
    pub fn new(
        base_url: impl Into<String>,
        access_token: Secret,
        brand_acct: impl Into<String>,
    ) -> Self {
        MastodonConfig {
            base_url: base_url.into(),
            streaming_url: None,
            access_token,
            brand_acct: brand_acct.into(),
            hashtags: Vec::new(),
            poll_interval: Duration::from_secs(10 * 60),
            stall_timeout: Duration::from_secs(45),
            request_timeout: Duration::from_secs(30),
            page_limit: 40,
        }
    }

    /// The name sources report under and key their cursor by: `mastodon:<brand_acct>`.
    pub fn source_name(&self) -> String {
        format!("mastodon:{}", self.brand_acct.trim_start_matches('@'))
    }

    /// `path` (starting with `/`) on the API host.
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }

    /// `path` (starting with `/`) on the streaming host.
    pub(crate) fn streaming_url(&self, path: &str) -> String {
        let base = self.streaming_url.as_deref().unwrap_or(&self.base_url);
        format!("{}{}", base.trim_end_matches('/'), path)
    }

    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let config = MastodonConfig::new("https://m.example/", Secret::new("s3cr3t"), "@acme");
        let shown = format!("{config:?} {}", config.access_token);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(config.access_token.expose(), "s3cr3t");
        assert_eq!(config.source_name(), "mastodon:acme");
        assert_eq!(
            config.api_url("/api/v1/statuses"),
            "https://m.example/api/v1/statuses"
        );
        assert_eq!(
            config.streaming_url("/api/v1/streaming/health"),
            "https://m.example/api/v1/streaming/health"
        );
    }
}
