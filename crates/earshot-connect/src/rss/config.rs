//! How one RSS/Atom connector is set up: which feeds (a review site, a forum, a status
//! page), how often they are read, and the limits that keep a broken or hostile feed from
//! hurting earshot.

use std::time::Duration;

/// One feed to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub url: String,
    /// What it is, for people and for posts without an author (`trustpilot`, `forum`).
    pub label: String,
}

impl Feed {
    pub fn new(url: impl Into<String>, label: impl Into<String>) -> Self {
        Feed {
            url: url.into(),
            label: label.into(),
        }
    }
}

/// One RSS/Atom connector: a named group of feeds read on one schedule. Feeds have no
/// replies: earshot only listens here.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// The connector's name: the source is `rss:<name>`.
    pub name: String,
    pub feeds: Vec<Feed>,
    /// How often each feed is read. Publishers ask for 15 minutes or more (PROTOCOLS.md §5.3).
    pub poll_interval: Duration,
    /// Time limit for one request.
    pub request_timeout: Duration,
    /// A feed larger than this is refused, not read.
    pub max_body_bytes: usize,
    /// Redirects followed per read before giving up.
    pub max_redirects: usize,
    /// Entry ids remembered per feed (never fewer than the feed currently holds).
    pub remember: usize,
    /// The User-Agent sent (publishers block anonymous readers).
    pub user_agent: String,
    /// Multiplies every backoff delay of PROTOCOLS.md §0.3: 1.0 in production; tests shrink it.
    pub backoff_scale: f64,
}

impl FeedConfig {
    /// A config with safe defaults for everything but the name and the feeds.
    pub fn new(name: impl Into<String>, feeds: Vec<Feed>) -> Self {
        FeedConfig {
            name: name.into(),
            feeds,
            poll_interval: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            remember: 500,
            user_agent: format!(
                "earshot/{} (feed reader; +https://github.com/earshot)",
                env!("CARGO_PKG_VERSION")
            ),
            backoff_scale: 1.0,
        }
    }

    /// The name the source reports under and keys its cursor by: `rss:<name>`.
    pub fn source_name(&self) -> String {
        format!("rss:{}", self.name.trim())
    }

    /// A backoff delay scaled for this config.
    pub(crate) fn scaled(&self, delay: Duration) -> Duration {
        crate::reconnect::scaled(delay, self.backoff_scale)
    }

    /// What is wrong with the settings, if anything, in words an operator can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name is empty: it names the source (rss:<name>)".to_owned());
        }
        if self.feeds.is_empty() {
            problems.push("no feeds configured".to_owned());
        }
        for feed in &self.feeds {
            match reqwest::Url::parse(&feed.url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => problems.push(format!(
                    "feed {:?}: {:?} is not an http(s) URL",
                    feed.label, feed.url
                )),
            }
        }
        if self.max_body_bytes == 0 {
            problems.push("max_body_bytes is 0".to_owned());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_polite_and_problems_are_named() {
        let config = FeedConfig::new(
            "acme",
            vec![Feed::new("https://reviews.example/acme.rss", "reviews")],
        );
        assert_eq!(config.source_name(), "rss:acme");
        assert!(config.poll_interval >= Duration::from_secs(15 * 60));
        assert!(config.problems().is_empty());
        let broken = FeedConfig::new(" ", vec![Feed::new("ftp://x.example/f", "odd")]);
        let problems = broken.problems().join("; ");
        assert!(problems.contains("name is empty"), "{problems}");
        assert!(problems.contains("not an http(s) URL"), "{problems}");
    }
}
