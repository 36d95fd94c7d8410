//! How one X connector is set up: the API host, the brand account, what to hear (stream
//! rules derived from the brand's handles and keywords), the credentials and the timings.
//!
//! Two kinds of credentials (PROTOCOLS.md §3.2): the app's **bearer token** reads (filtered
//! stream, rules, recent search, mentions); the brand's **OAuth 2.0 user token** writes
//! (`POST /2/tweets`) and answers `GET /2/users/me`. User tokens live two hours and are
//! refreshed with a rotating refresh token ([`super::oauth::UserTokens`]).
//!
//! Every URL comes from here (never a hard-coded host), so tests point it at the fake.

pub use crate::Secret;
use std::time::Duration;

/// The tag prefix that marks a stream rule as earshot's: rules without it belong to someone
/// else sharing the app and are never touched.
pub const RULE_TAG_PREFIX: &str = "earshot:";

/// The longest rule value built here. X allows 1,024 characters per rule, but recent search
/// takes queries of at most 512, and every rule doubles as the gap-fill search query.
pub const MAX_RULE_CHARS: usize = 512;

/// How posts are heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XMode {
    /// The filtered stream, with recent search to fill gaps after each reconnect.
    #[default]
    Stream,
    /// Mentions timeline and recent search every `poll_interval`, for plans without streaming.
    Poll,
}

/// A filtered-stream rule: its query and the tag that names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamRule {
    pub value: String,
    pub tag: String,
}

/// The brand's OAuth 2.0 user-context credentials (scopes `tweet.read tweet.write
/// users.read offline.access`).
#[derive(Debug, Clone)]
pub struct XUserAuth {
    /// The current access token (two hours).
    pub access_token: Secret,
    /// The single-use refresh token; `None` when the app was authorised without
    /// `offline.access` (the access token then cannot be renewed).
    pub refresh_token: Option<Secret>,
    /// The app's OAuth 2.0 client id.
    pub client_id: String,
    /// Confidential clients authenticate the refresh with HTTP Basic; public clients have none.
    pub client_secret: Option<Secret>,
}

/// One X connector: the brand account on one app.
#[derive(Debug, Clone)]
pub struct XConfig {
    /// The API root, `https://api.x.com` (no trailing slash needed).
    pub api_url: String,
    /// The OAuth 2.0 token endpoint, `https://api.x.com/2/oauth2/token`.
    pub token_url: String,
    /// The brand account's numeric id (what `GET /2/users/me` returns).
    pub brand_user_id: String,
    /// The brand account's username, without `@` (`AcmeHelp`).
    pub brand_username: String,
    /// Other handles of the brand whose mentions count as addressed to it (without `@`).
    pub handles: Vec<String>,
    /// Words and phrases to hear even without a mention (`acme kettle`).
    pub keywords: Vec<String>,
    /// The app-only bearer token: stream, rules, search, mentions.
    pub bearer_token: Secret,
    /// The brand's user token: replies, `users/me`, and the mentions timeline in polling mode
    /// (an "owned read", cheaper than an app read). `None`: read-only connector.
    pub user_auth: Option<XUserAuth>,
    pub mode: XMode,
    /// Polling mode: how often the mentions timeline and search are asked.
    pub poll_interval: Duration,
    /// Stream mode: how often recent search reconciles while the stream is up (§0.1: a stream
    /// can stay "connected" and deliver nothing). Each run costs reads only for what it finds.
    pub reconcile_interval: Duration,
    /// No byte (post or `\r\n` keep-alive, sent every 20 s) for this long means the stream
    /// stalled: drop and reconnect. X documents 90 s.
    pub stall_timeout: Duration,
    /// Time limit for one REST request.
    pub request_timeout: Duration,
    /// Posts asked for per search/mentions page (search 10–100, mentions 5–100).
    pub page_size: u32,
    /// Pages read per gap fill or poll, at most (each page costs credits, §3.4).
    pub max_pages: u32,
    /// Multiplies every reconnect delay of [`crate::source::Backoff`]: 1.0 in production
    /// (X's documented regimes); tests shrink it to keep the same shape in milliseconds.
    /// Waits until a rate limit's `x-rate-limit-reset` are never scaled.
    pub backoff_scale: f64,
    /// A user token this close to its expiry is refreshed before use.
    pub token_refresh_margin: Duration,
    /// Sent as `User-Agent` (X asks clients to name themselves, §3.2).
    pub user_agent: String,
}

impl XConfig {
    /// A config with safe defaults for everything but the API host, the brand account and the
    /// app's bearer token; replies need [`XConfig::user_auth`] as well.
    pub fn new(
        api_url: impl Into<String>,
        brand_user_id: impl Into<String>,
        brand_username: impl Into<String>,
        bearer_token: Secret,
    ) -> Self {
        let api_url = api_url.into();
        let token_url = format!("{}/2/oauth2/token", api_url.trim_end_matches('/'));
        XConfig {
            api_url,
            token_url,
            brand_user_id: brand_user_id.into(),
            brand_username: brand_username
                .into()
                .trim()
                .trim_start_matches('@')
                .to_owned(),
            handles: Vec::new(),
            keywords: Vec::new(),
            bearer_token,
            user_auth: None,
            mode: XMode::Stream,
            poll_interval: Duration::from_secs(120),
            reconcile_interval: Duration::from_secs(15 * 60),
            stall_timeout: Duration::from_secs(90),
            request_timeout: Duration::from_secs(30),
            page_size: 100,
            max_pages: 10,
            backoff_scale: 1.0,
            token_refresh_margin: Duration::from_secs(60),
            user_agent: format!("earshot/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// The name sources report under and key their cursor by: `x:<brand_username>`.
    pub fn source_name(&self) -> String {
        format!("x:{}", self.brand_username.trim_start_matches('@'))
    }

    /// The stream rules earshot wants: the brand's mentions and own posts, then its other
    /// handles and keywords, packed into as few rules of at most [`MAX_RULE_CHARS`] as fit,
    /// each `(... OR ...) -is:retweet`, tagged `earshot:<username>:<n>`.
    pub fn stream_rules(&self) -> Vec<StreamRule> {
        let user = self.brand_username.trim_start_matches('@');
        pack(self.terms(true))
            .into_iter()
            .enumerate()
            .map(|(i, value)| StreamRule {
                value,
                tag: format!("{RULE_TAG_PREFIX}{user}:{}", i + 1),
            })
            .collect()
    }

    /// The recent-search queries that, together with the mentions timeline, hear what the
    /// stream rules hear: the same terms without the brand's `@mention`, which the (cheaper)
    /// mentions timeline covers.
    pub fn search_queries(&self) -> Vec<String> {
        pack(self.terms(false))
    }

    /// The query terms, deduplicated ignoring ASCII case.
    fn terms(&self, with_brand_mention: bool) -> Vec<String> {
        let user = self.brand_username.trim_start_matches('@');
        let mut terms: Vec<String> = Vec::new();
        let mut push = |term: String| {
            if !term.is_empty() && !terms.iter().any(|t| t.eq_ignore_ascii_case(&term)) {
                terms.push(term);
            }
        };
        if !user.is_empty() {
            if with_brand_mention {
                push(format!("@{user}"));
            }
            // The brand's own posts: answers written on X directly still stop the clock.
            push(format!("from:{user}"));
        }
        for handle in &self.handles {
            let handle = handle.trim().trim_start_matches('@');
            if !handle.is_empty() && (with_brand_mention || !handle.eq_ignore_ascii_case(user)) {
                push(format!("@{handle}"));
            }
        }
        for keyword in &self.keywords {
            push(quote_term(keyword));
        }
        terms
    }

    /// `path` (starting with `/`) on the API host.
    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}{}", self.api_url.trim_end_matches('/'), path)
    }

    pub(crate) fn app_bearer(&self) -> String {
        format!("Bearer {}", self.bearer_token.expose())
    }
}

/// Packs `terms` into as few `(a OR b ...) -is:retweet` queries of at most
/// [`MAX_RULE_CHARS`] characters as they fit in, in order.
fn pack(terms: Vec<String>) -> Vec<String> {
    const SUFFIX: &str = " -is:retweet";
    let mut groups: Vec<Vec<String>> = Vec::new();
    for term in terms {
        let fits = groups.last().is_some_and(|g| {
            let len: usize = g.iter().map(|t| t.chars().count() + 4).sum::<usize>()
                + term.chars().count()
                + 2
                + SUFFIX.len();
            len <= MAX_RULE_CHARS
        });
        match groups.last_mut() {
            Some(group) if fits => group.push(term),
            _ => groups.push(vec![term]),
        }
    }
    groups
        .into_iter()
        .map(|group| format!("({}){SUFFIX}", group.join(" OR ")))
        .collect()
}

/// A keyword as a query term: bare when it is one plain word, else a quoted phrase (inner
/// quotes dropped, since X's query language has no escape for them).
fn quote_term(keyword: &str) -> String {
    let keyword = keyword.trim();
    let plain = !keyword.is_empty()
        && keyword
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '#' || c == '$');
    let upper = keyword.to_ascii_uppercase();
    if plain && upper != "OR" && upper != "AND" {
        keyword.to_owned()
    } else {
        let inner: String = keyword.chars().filter(|c| *c != '"').collect();
        let inner = inner.trim();
        if inner.is_empty() {
            String::new()
        } else {
            format!("\"{inner}\"")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_and_urls_come_from_config() {
        let mut config = XConfig::new(
            "https://api.x.example/",
            "1500",
            "@AcmeHelp",
            Secret::new("app-s3cr3t"),
        );
        config.user_auth = Some(XUserAuth {
            access_token: Secret::new("user-s3cr3t"),
            refresh_token: Some(Secret::new("refresh-s3cr3t")),
            client_id: "client".into(),
            client_secret: Some(Secret::new("client-s3cr3t")),
        });
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(config.source_name(), "x:AcmeHelp");
        assert_eq!(
            config.api("/2/tweets"),
            "https://api.x.example/2/tweets".to_owned()
        );
        assert_eq!(config.token_url, "https://api.x.example/2/oauth2/token");
    }

    #[test]
    fn rules_come_from_handles_and_keywords() {
        let mut config = XConfig::new("http://x", "1", "AcmeHelp", Secret::new("t"));
        config.handles = vec!["@Acme".into(), "acmehelp".into()];
        config.keywords = vec![
            "acme kettle".into(),
            "#AcmeFail".into(),
            "say \"hi\" now".into(),
        ];
        let rules = config.stream_rules();
        assert_eq!(
            rules,
            vec![StreamRule {
                value: "(@AcmeHelp OR from:AcmeHelp OR @Acme OR \"acme kettle\" OR #AcmeFail OR \"say hi now\") -is:retweet".into(),
                tag: "earshot:AcmeHelp:1".into(),
            }]
        );
        // The mentions timeline hears `@AcmeHelp`; search hears the rest.
        assert_eq!(
            config.search_queries(),
            vec!["(from:AcmeHelp OR @Acme OR \"acme kettle\" OR #AcmeFail OR \"say hi now\") -is:retweet".to_owned()]
        );
    }

    #[test]
    fn long_keyword_lists_are_split_into_rules_that_fit_search() {
        let mut config = XConfig::new("http://x", "1", "AcmeHelp", Secret::new("t"));
        config.keywords = (0..80).map(|i| format!("keyword{i:03}")).collect();
        let rules = config.stream_rules();
        assert!(rules.len() > 1);
        for (i, rule) in rules.iter().enumerate() {
            assert!(rule.value.chars().count() <= MAX_RULE_CHARS, "{rule:?}");
            assert!(rule.value.ends_with(") -is:retweet"));
            assert_eq!(rule.tag, format!("earshot:AcmeHelp:{}", i + 1));
        }
        let all: String = rules.iter().map(|r| r.value.clone()).collect();
        for i in 0..80 {
            assert!(all.contains(&format!("keyword{i:03}")));
        }
    }
}
