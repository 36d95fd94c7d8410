//! How one Reddit connector is set up: the script app and the brand account it logs in as,
//! what it watches (subreddits, searches), the User-Agent Reddit demands, and the timings.
//!
//! Every URL comes from here (never a hard-coded host), so tests point both at the fake.

pub use crate::Secret;
use std::time::Duration;

/// A search to poll (`GET /search` or, restricted, `GET /r/{sub}/search?restrict_sr=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedditSearch {
    /// The query as a person would type it (`"acme kettle"`, `acme OR acmeapp`).
    pub query: String,
    /// Search only this subreddit (without `r/`); `None` searches all of Reddit.
    pub subreddit: Option<String>,
}

impl RedditSearch {
    pub fn everywhere(query: impl Into<String>) -> Self {
        RedditSearch {
            query: query.into(),
            subreddit: None,
        }
    }

    pub fn in_subreddit(query: impl Into<String>, subreddit: impl Into<String>) -> Self {
        RedditSearch {
            query: query.into(),
            subreddit: Some(subreddit.into()),
        }
    }
}

/// One Reddit connector: the brand's account, logged in through a "script" app with the
/// password grant (PROTOCOLS.md §4.2).
#[derive(Debug, Clone)]
pub struct RedditConfig {
    /// Where tokens come from: `https://www.reddit.com` (the token path is appended). Also
    /// the prefix of the site-relative `permalink`s.
    pub www_url: String,
    /// Where API calls go: `https://oauth.reddit.com`.
    pub oauth_url: String,
    /// The script app's client id (shown publicly under the app's name on
    /// reddit.com/prefs/apps, so not a secret).
    pub client_id: String,
    pub client_secret: Secret,
    /// The brand's Reddit account (without `u/`): who logs in, who replies.
    pub username: String,
    pub password: Secret,
    /// The User-Agent parts: `<platform>:<app_id>:v<app_version> (by /u/<username>)`.
    /// Reddit throttles generic agents hard, so it is always built, never left to reqwest.
    pub platform: String,
    pub app_id: String,
    pub app_version: String,
    /// Subreddits to watch (without `r/`): their new posts and new comments.
    pub subreddits: Vec<String>,
    pub searches: Vec<RedditSearch>,
    /// How often every listing is polled.
    pub poll_interval: Duration,
    /// How often posts heard earlier are re-read through `/api/info` to notice edits and
    /// deletions (Reddit sends no event for either, and deleted posts leave the listings).
    pub recheck_interval: Duration,
    /// Time limit for one HTTP request.
    pub request_timeout: Duration,
    /// Things asked for per listing page (Reddit: at most 100).
    pub page_limit: u32,
    /// Older pages read (`after=`) when a poll finds a listing's newest page all new.
    pub max_pages: u32,
    /// How many fullnames the cursor remembers for deduplication and edit detection.
    pub remember: usize,
    /// A token is replaced this long before Reddit says it expires.
    pub token_refresh_margin: Duration,
    /// Below this many requests left in the window, requests are spread over what remains
    /// of it instead of spent at once.
    pub rate_limit_reserve: f64,
    /// Multiplies every backoff delay of PROTOCOLS.md §0.3: 1.0 in production; tests shrink it.
    pub backoff_scale: f64,
}

impl RedditConfig {
    /// A config with safe defaults for everything but the app and the account.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Secret,
        username: impl Into<String>,
        password: Secret,
    ) -> Self {
        RedditConfig {
            www_url: "https://www.reddit.com".into(),
            oauth_url: "https://oauth.reddit.com".into(),
            client_id: client_id.into(),
            client_secret,
            username: username.into(),
            password,
            platform: std::env::consts::OS.into(),
            app_id: "io.earshot.connector".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            subreddits: Vec::new(),
            searches: Vec::new(),
            poll_interval: Duration::from_secs(60),
            recheck_interval: Duration::from_secs(5 * 60),
            request_timeout: Duration::from_secs(30),
            page_limit: 100,
            max_pages: 10,
            remember: 2_000,
            token_refresh_margin: Duration::from_secs(5 * 60),
            rate_limit_reserve: 10.0,
            backoff_scale: 1.0,
        }
    }

    /// The brand account without a `u/` or `/u/` prefix.
    pub fn account(&self) -> &str {
        self.username
            .trim()
            .trim_start_matches('/')
            .trim_start_matches("u/")
    }

    /// The name sources report under and key their cursor by: `reddit:<username>`.
    pub fn source_name(&self) -> String {
        format!("reddit:{}", self.account())
    }

    /// The User-Agent Reddit requires: `linux:io.earshot.connector:v0.1.0 (by /u/acme_support)`.
    pub fn user_agent(&self) -> String {
        let version = self.app_version.trim_start_matches('v');
        format!(
            "{}:{}:v{} (by /u/{})",
            self.platform,
            self.app_id,
            version,
            self.account()
        )
    }

    /// The token endpoint.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/api/v1/access_token", self.www_url.trim_end_matches('/'))
    }

    /// `path` (starting with `/`) on the API host.
    pub(crate) fn api_url(&self, path: &str) -> String {
        format!("{}{}", self.oauth_url.trim_end_matches('/'), path)
    }

    /// A site-relative permalink made absolute.
    pub(crate) fn permalink(&self, permalink: &str) -> String {
        if permalink.starts_with("http://") || permalink.starts_with("https://") {
            return permalink.to_owned();
        }
        format!("{}{}", self.www_url.trim_end_matches('/'), permalink)
    }

    /// A backoff delay scaled for this config.
    pub(crate) fn scaled(&self, delay: Duration) -> Duration {
        crate::reconnect::scaled(delay, self.backoff_scale)
    }

    /// What is wrong with the settings, if anything, in words an operator can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.client_id.trim().is_empty() {
            problems.push("client_id is empty: copy it from reddit.com/prefs/apps (the string under the app's name)".to_owned());
        }
        if self.client_secret.expose().is_empty() {
            problems.push("client_secret is empty".to_owned());
        }
        if self.account().is_empty() {
            problems.push("username is empty: the brand's Reddit account".to_owned());
        }
        if self.password.expose().is_empty() {
            problems.push("password is empty".to_owned());
        }
        for (name, url) in [("www_url", &self.www_url), ("oauth_url", &self.oauth_url)] {
            if reqwest::Url::parse(url).is_err() {
                problems.push(format!("{name} is not a URL: {url:?}"));
            }
        }
        if self.app_id.contains(':') || self.platform.contains(':') {
            problems.push(
                "platform and app_id may not contain ':' (it separates the User-Agent's parts)"
                    .to_owned(),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_the_user_agent_follows_reddits_format() {
        let mut config = RedditConfig::new(
            "p-jcoLKBynTLew",
            Secret::new("gko_LXELoV07ZBNUXrvWZfzE3aI"),
            "/u/acme_support",
            Secret::new("hunter2"),
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("gko_LXELoV07ZBNUXrvWZfzE3aI"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        config.platform = "linux".into();
        config.app_version = "0.4.2".into();
        assert_eq!(
            config.user_agent(),
            "linux:io.earshot.connector:v0.4.2 (by /u/acme_support)"
        );
        assert_eq!(config.source_name(), "reddit:acme_support");
        assert_eq!(
            config.token_url(),
            "https://www.reddit.com/api/v1/access_token"
        );
        assert_eq!(
            config.api_url("/api/v1/me"),
            "https://oauth.reddit.com/api/v1/me"
        );
        assert_eq!(
            config.permalink("/r/smarthome/comments/1mv0x7q/x/n8x2k1q/"),
            "https://www.reddit.com/r/smarthome/comments/1mv0x7q/x/n8x2k1q/"
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
    }

    #[test]
    fn problems_name_the_setting_to_fix() {
        let mut config = RedditConfig::new("", Secret::new(""), "", Secret::new("x"));
        config.oauth_url = "oauth.reddit.com".into();
        let problems = config.problems().join("; ");
        assert!(problems.contains("client_id is empty"), "{problems}");
        assert!(problems.contains("client_secret is empty"), "{problems}");
        assert!(problems.contains("username is empty"), "{problems}");
        assert!(problems.contains("oauth_url is not a URL"), "{problems}");
    }
}
