//! The settings of one YouTube channel's comments: which channel, the OAuth client and the
//! channel owner's refresh token, timings and the daily quota.

use super::quota::Ledger;
use crate::google::{Api, Grant, Tokens, Wording};
use crate::Secret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The YouTube Data API's address (paths start `/youtube/v3`).
pub const API_URL: &str = "https://www.googleapis.com";

const WORDING: Wording = Wording {
    network: "YouTube",
    unauthorized: "the channel's consent may be revoked: run the OAuth consent again as the \
                   channel's owner and set a new refresh_token",
    forbidden: "the account behind refresh_token must own or manage the channel, and the \
                consent must include the youtube.force-ssl scope",
};

const GRANT_REFUSED: &str = "the refresh token has expired or was revoked (a password change, \
     a manager removed, or an app left in \"Testing\" whose tokens last 7 days): run the OAuth \
     consent again as the channel's owner and set the new refresh_token";

#[derive(Debug, Clone)]
pub struct YouTubeConfig {
    pub api_url: String,
    pub token_url: String,
    /// The brand's channel (`UC…`): its videos' comment threads are heard, replies go out as it.
    pub channel_id: String,
    /// The OAuth client (Google Cloud Console → Credentials); it names the quota's project.
    pub client_id: String,
    pub client_secret: Secret,
    /// The channel owner's refresh token (consent with `youtube.force-ssl`, offline access).
    pub refresh_token: Secret,
    /// The time between two walks of the newest threads.
    pub poll_interval: Duration,
    /// Threads per page (at most 100).
    pub page_size: u32,
    /// How far behind the newest comment seen each walk looks again.
    pub overlap: Duration,
    /// How long a thread is followed for new replies (which do not bring it back to the top).
    pub follow_for: Duration,
    /// How often a followed thread is read again.
    pub rescan_interval: Duration,
    /// The project's daily units (10,000 by default) and how many are kept for replies.
    pub daily_units: u32,
    pub reply_reserve: u32,
    /// Where the day's units are kept across restarts (see [`Ledger`]); `None`: in memory.
    pub quota_file: Option<PathBuf>,
    pub request_timeout: Duration,
    /// Multiplies every backoff delay (tests run the §0.3 regimes at 1/100).
    pub backoff_scale: f64,
}

impl YouTubeConfig {
    pub fn new(
        channel_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
        refresh_token: Secret,
    ) -> Self {
        YouTubeConfig {
            api_url: API_URL.to_owned(),
            token_url: crate::google::TOKEN_URL.to_owned(),
            channel_id: channel_id.into(),
            client_id: client_id.into(),
            client_secret,
            refresh_token,
            poll_interval: Duration::from_secs(2 * 60),
            page_size: 100,
            overlap: Duration::from_secs(10 * 60),
            follow_for: Duration::from_secs(7 * 24 * 3600),
            rescan_interval: Duration::from_secs(15 * 60),
            daily_units: 10_000,
            reply_reserve: 2_500,
            quota_file: None,
            request_timeout: Duration::from_secs(30),
            backoff_scale: 1.0,
        }
    }

    /// The cursor key and health name: `youtube:<channel id>`.
    pub fn source_name(&self) -> String {
        format!("youtube:{}", self.channel_id.trim())
    }

    pub(crate) fn api(&self) -> Result<Api, String> {
        let grant = Grant::RefreshToken {
            client_id: self.client_id.trim().to_owned(),
            client_secret: self.client_secret.clone(),
            refresh_token: self.refresh_token.clone(),
        };
        Api::new(
            Tokens::new(grant, &self.token_url, GRANT_REFUSED),
            self.request_timeout,
            WORDING,
        )
    }

    /// The project's ledger, shared by this channel's source and responder.
    pub fn ledger(&self) -> Arc<Ledger> {
        Ledger::shared(
            &self.client_id,
            self.daily_units,
            self.reply_reserve,
            self.quota_file.as_deref(),
        )
    }

    /// Keeps the project's daily units in `dir` (`youtube-quota-<client id>.json`), so a
    /// restart the same Pacific day goes on from what was spent.
    pub fn keep_quota_in(&mut self, dir: &Path) {
        let client: String = self
            .client_id
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.quota_file = Some(dir.join(format!("youtube-quota-{client}.json")));
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}/youtube/v3/{path_and_query}",
            self.api_url.trim_end_matches('/')
        )
    }

    /// A page of the channel's newest threads.
    pub fn threads_url(&self, page_token: Option<&str>) -> String {
        let mut url = self.url(&format!(
            "commentThreads?part=snippet,replies&allThreadsRelatedToChannelId={}&order=time&maxResults={}&textFormat=plainText",
            self.channel_id.trim(),
            self.page_size.clamp(1, 100)
        ));
        if let Some(t) = page_token {
            url.push_str(&format!("&pageToken={}", encode(t)));
        }
        url
    }

    /// Threads by id (at most 50 per request).
    pub fn threads_by_id_url(&self, ids: &[&str]) -> String {
        self.url(&format!(
            "commentThreads?part=snippet,replies&id={}&textFormat=plainText",
            encode(&ids.join(","))
        ))
    }

    /// A page of a thread's replies.
    pub fn replies_url(&self, thread: &str, page_token: Option<&str>) -> String {
        let mut url = self.url(&format!(
            "comments?part=snippet&parentId={}&maxResults=100&textFormat=plainText",
            encode(thread)
        ));
        if let Some(t) = page_token {
            url.push_str(&format!("&pageToken={}", encode(t)));
        }
        url
    }

    /// What is wrong with the settings, in words an operator can act on (never a secret).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let channel = self.channel_id.trim();
        if !(channel.starts_with("UC") && channel.len() == 24) {
            problems.push(format!(
                "channel_id {channel:?} is not a YouTube channel id: use the 24 characters \
                 starting with UC (YouTube Studio → Settings → Channel → Advanced settings)"
            ));
        }
        if self.client_id.trim().is_empty() {
            problems.push("client_id is empty: use the OAuth client's id (Google Cloud Console → Credentials)".into());
        }
        if self.client_secret.expose().trim().is_empty()
            || self.refresh_token.expose().trim().is_empty()
        {
            problems.push("client_secret and refresh_token are both needed: run the OAuth consent as the channel's owner with the youtube.force-ssl scope".into());
        }
        if self.reply_reserve >= self.daily_units {
            problems.push(format!(
                "reply_reserve {} leaves nothing of daily_units {} for listening",
                self.reply_reserve, self.daily_units
            ));
        }
        for (name, u) in [("api_url", &self.api_url), ("token_url", &self.token_url)] {
            if reqwest::Url::parse(u).is_err() {
                problems.push(format!("{name} {u:?} is not a URL"));
            }
        }
        problems
    }
}

fn encode(s: &str) -> String {
    crate::google::encode(s, b",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_channel_and_problems_name_the_setting_never_the_secret() {
        let c = YouTubeConfig::new(
            "UCx7Ab3kQ9mZ2pL5nR8tV1wY",
            "123.apps.googleusercontent.com",
            Secret::new("GOCSPX-s3cr3t"),
            Secret::new("1//0refresh"),
        );
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.source_name(), "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY");
        assert_eq!(
            c.threads_url(Some("QUR+")),
            "https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=UCx7Ab3kQ9mZ2pL5nR8tV1wY&order=time&maxResults=100&textFormat=plainText&pageToken=QUR%2B"
        );
        let mut bad = YouTubeConfig::new("acme", "", Secret::new("GOCSPX-s3cr3t"), Secret::new(""));
        bad.reply_reserve = 20_000;
        let p = bad.problems().join("; ");
        assert!(
            p.contains("channel_id")
                && p.contains("client_id")
                && p.contains("refresh_token")
                && p.contains("reply_reserve"),
            "{p}"
        );
        assert!(!p.contains("s3cr3t") && !format!("{c:?}").contains("s3cr3t"));
    }
}
