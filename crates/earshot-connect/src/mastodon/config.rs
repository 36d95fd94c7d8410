//! How one Mastodon connector is set up: which instance, which token, which brand account,
//! and the timings of the stream (heartbeat stall detection, REST reconciliation).
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::Secret;
use std::time::Duration;

/// How a live stream is read (PROTOCOLS.md §1.3). Both carry the same events; the WebSocket
/// suits proxies that buffer `text/event-stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// `GET /api/v1/streaming/<channel>` as server-sent events.
    #[default]
    Sse,
    /// `GET /api/v1/streaming?stream=<channel>` upgraded to a WebSocket (`ws://`/`wss://`).
    WebSocket,
}

impl std::str::FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sse" => Ok(Transport::Sse),
            "websocket" | "ws" => Ok(Transport::WebSocket),
            other => Err(format!(
                "unknown mastodon transport {other:?}: use \"sse\" or \"websocket\""
            )),
        }
    }
}

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
    /// Hashtags to follow (without `#`): one [`super::MastodonHashtagSource`] each, built
    /// with [`MastodonConfig::hashtag_sources`].
    pub hashtags: Vec<String>,
    /// How the live streams are read: server-sent events (default) or the WebSocket variant.
    pub transport: Transport,
    /// How many of the newest mentions (and tagged posts) a first start, with no stored
    /// cursor, takes in, so a new install shows recent history. 0: only what arrives from now.
    pub history: u32,
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
            transport: Transport::default(),
            history: 40,
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

    /// The name a hashtag source reports under: `mastodon:<brand_acct>#<tag>`.
    pub fn hashtag_source_name(&self, tag: &str) -> String {
        format!("{}#{}", self.source_name(), normalise_tag(tag))
    }

    /// One hashtag source per configured hashtag (duplicates and blanks dropped).
    pub fn hashtag_sources(&self) -> Result<Vec<super::MastodonHashtagSource>, reqwest::Error> {
        let mut tags: Vec<String> = self
            .hashtags
            .iter()
            .map(|t| normalise_tag(t))
            .filter(|t| !t.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        tags.into_iter()
            .map(|tag| super::MastodonHashtagSource::new(self.clone(), &tag))
            .collect()
    }

    /// Is `acct` (as a status's author shows it) the brand account itself?
    pub(crate) fn is_brand(&self, acct: &str) -> bool {
        let brand = self.brand_acct.trim_start_matches('@');
        let acct = acct.trim_start_matches('@');
        // A local account shows as `acme`; the config may spell it `acme@instance`.
        !acct.is_empty()
            && (acct.eq_ignore_ascii_case(brand)
                || brand
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}@", acct.to_ascii_lowercase())))
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

    /// The streaming host's root as a WebSocket URL (`http` → `ws`, `https` → `wss`).
    pub(crate) fn websocket_url(&self, path_and_query: &str) -> String {
        let url = self.streaming_url(path_and_query);
        if let Some(rest) = url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            url
        }
    }

    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.access_token.expose())
    }
}

/// A hashtag as Mastodon matches it: without `#`, case-insensitive.
pub(crate) fn normalise_tag(tag: &str) -> String {
    tag.trim().trim_start_matches('#').to_lowercase()
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
        assert_eq!(
            config.websocket_url("/api/v1/streaming?stream=user:notification"),
            "wss://m.example/api/v1/streaming?stream=user:notification"
        );
        assert_eq!(
            config.hashtag_source_name("#AcmeApp"),
            "mastodon:acme#acmeapp"
        );
        assert_eq!(config.history, 40);
        assert_eq!(config.transport, Transport::Sse);
    }

    #[test]
    fn the_brand_is_recognised_local_or_remote() {
        let config = MastodonConfig::new("https://m.example", Secret::new("t"), "acme@m.example");
        assert!(config.is_brand("acme"));
        assert!(config.is_brand("ACME@m.example"));
        assert!(!config.is_brand("acme@other.example"));
        assert!(!config.is_brand("acmefan"));
        assert!(!config.is_brand(""));
        assert_eq!("WebSocket".parse::<Transport>(), Ok(Transport::WebSocket));
        assert_eq!("sse".parse::<Transport>(), Ok(Transport::Sse));
        assert!("carrier-pigeon".parse::<Transport>().is_err());
    }
}
