//! How one Bluesky connector is set up: where Jetstream, the PDS and the AppView live, who
//! the brand is (handles, DIDs, brand terms), the app password, and the timings of the stream.
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::Secret;
use std::time::Duration;

/// One Bluesky connector: the brand's account and the words that name the brand.
#[derive(Debug, Clone)]
pub struct BlueskyConfig {
    /// A Jetstream v1 host, e.g. `wss://jetstream2.us-east.bsky.network` (`/subscribe` is
    /// added unless the URL already ends with it).
    pub jetstream_url: String,
    /// Where sessions are created: the entryway (`https://bsky.social`) or the account's PDS.
    /// After login, authenticated calls go to the PDS named in the session's DID document.
    pub pds_url: String,
    /// The public AppView for profiles and posts (`https://public.api.bsky.app`).
    pub appview_url: String,
    /// The brand's handles (`acme.bsky.social`, no `@`): `@handle` in a post's text counts as
    /// a mention, and the first one names the source.
    pub brand_handles: Vec<String>,
    /// The brand's DIDs: mention facets and replies are matched by DID (handles change).
    /// Left empty, they are resolved from `brand_handles` when the source starts.
    pub brand_dids: Vec<String>,
    /// Brand terms (product names, campaign words): a post containing one, case-insensitively
    /// and on word boundaries, is heard. Up to a few thousand are fine.
    pub keywords: Vec<String>,
    /// The account that logs in (handle, DID or email) to reply and reconcile.
    pub identifier: String,
    /// An App Password (Settings → Privacy and security → App passwords), not the main one.
    pub app_password: Secret,
    /// Our own WebSocket ping cadence: Jetstream v2 sends no heartbeat, and with filters
    /// silence is normal, so liveness is judged by pongs.
    pub ping_interval: Duration,
    /// No frame at all (event or pong) for this long means the connection is dead: reconnect.
    pub stall_timeout: Duration,
    /// Deliver a batch once it holds this many events ...
    pub batch_size: usize,
    /// ... or once its oldest heard post has waited this long, whichever comes first.
    pub batch_window: Duration,
    /// How often the cursor is stored while nothing for the brand is heard.
    pub cursor_interval: Duration,
    /// How far before the stored cursor a reconnect resumes (PROTOCOLS.md §2.2: events are
    /// reordered at the replay/live cutover; the duplicates this causes are absorbed).
    pub cursor_rewind: Duration,
    /// How often the brand's notifications (mentions and replies) are read over REST to catch
    /// what a silent stream missed; `None` turns it off (and the source needs no login).
    pub reconcile_interval: Option<Duration>,
    /// Notifications read per reconciliation (Bluesky allows up to 100).
    pub notification_page: u32,
    /// Time limit for one REST request and for opening the WebSocket.
    pub request_timeout: Duration,
    /// The most a batch waits for author profiles (follower counts) before it is delivered
    /// without them.
    pub profile_timeout: Duration,
    /// How long a looked-up profile is trusted.
    pub profile_ttl: Duration,
    /// How many profiles are remembered.
    pub profile_cache_size: usize,
    /// Scales every reconnect delay of [`crate::source::Backoff`] (1.0 in production; tests
    /// shrink it so a 5xx burst does not take minutes).
    pub backoff_scale: f64,
}

impl BlueskyConfig {
    /// A config with safe defaults for everything but the account, its app password and the
    /// brand's handle.
    pub fn new(
        identifier: impl Into<String>,
        app_password: Secret,
        brand_handle: impl Into<String>,
    ) -> Self {
        let handle: String = brand_handle.into();
        BlueskyConfig {
            jetstream_url: "wss://jetstream2.us-east.bsky.network".into(),
            pds_url: "https://bsky.social".into(),
            appview_url: "https://public.api.bsky.app".into(),
            brand_handles: vec![handle.trim().trim_start_matches('@').to_owned()],
            brand_dids: Vec::new(),
            keywords: Vec::new(),
            identifier: identifier.into(),
            app_password,
            ping_interval: Duration::from_secs(15),
            stall_timeout: Duration::from_secs(45),
            batch_size: 500,
            batch_window: Duration::from_millis(100),
            cursor_interval: Duration::from_secs(1),
            cursor_rewind: Duration::from_secs(5),
            reconcile_interval: Some(Duration::from_secs(10 * 60)),
            notification_page: 50,
            request_timeout: Duration::from_secs(10),
            profile_timeout: Duration::from_millis(100),
            profile_ttl: Duration::from_secs(6 * 3600),
            profile_cache_size: 50_000,
            backoff_scale: 1.0,
        }
    }

    /// The name sources report under and key their cursor by: `bluesky:<handle>`.
    pub fn source_name(&self) -> String {
        let account = self
            .brand_handles
            .iter()
            .map(|h| h.trim().trim_start_matches('@'))
            .find(|h| !h.is_empty())
            .unwrap_or(self.identifier.trim());
        format!("bluesky:{account}")
    }

    /// The Jetstream subscription URL, resuming at `cursor` (unix µs) when given.
    ///
    /// Only posts are asked for. `wantedDids` stays empty because mentions come from any
    /// repository; compression stays off (it needs Jetstream's custom zstd dictionary).
    pub(crate) fn subscribe_url(&self, cursor: Option<i64>) -> String {
        let base = self.jetstream_url.trim_end_matches('/');
        let base = base.strip_suffix("/subscribe").unwrap_or(base);
        let mut url = format!(
            "{base}/subscribe?wantedCollections={}",
            super::wire::POST_COLLECTION
        );
        if let Some(cursor) = cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        url
    }

    /// `nsid` as an XRPC URL on `base`.
    pub(crate) fn xrpc(base: &str, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", base.trim_end_matches('/'))
    }

    /// The configured handles, without `@` and blanks, lowercased (handles are
    /// case-insensitive).
    pub(crate) fn handles(&self) -> Vec<String> {
        self.brand_handles
            .iter()
            .map(|h| h.trim().trim_start_matches('@').to_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_prints_and_urls_are_built_from_config() {
        let config = BlueskyConfig::new(
            "acme.bsky.social",
            Secret::new("abcd-efgh-ijkl-mnop"),
            "@acme.bsky.social",
        );
        let shown = format!("{config:?} {}", config.app_password);
        assert!(!shown.contains("abcd-efgh"), "{shown}");
        assert_eq!(config.source_name(), "bluesky:acme.bsky.social");
        assert_eq!(
            config.subscribe_url(Some(1787217298123456)),
            "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&cursor=1787217298123456"
        );
        let mut other = config.clone();
        other.jetstream_url = "ws://127.0.0.1:9/subscribe/".into();
        assert_eq!(
            other.subscribe_url(None),
            "ws://127.0.0.1:9/subscribe?wantedCollections=app.bsky.feed.post"
        );
        assert_eq!(
            BlueskyConfig::xrpc("https://bsky.social/", "com.atproto.server.createSession"),
            "https://bsky.social/xrpc/com.atproto.server.createSession"
        );
        other.brand_handles = vec![" ".into()];
        assert_eq!(other.source_name(), "bluesky:acme.bsky.social");
    }
}
