//! Hearing Reddit by polling (PROTOCOLS.md §4.3–§4.6): every `poll_interval`, each watched
//! subreddit's `/r/{sub}/new` (posts) and `/r/{sub}/comments` (comments), and each search
//! (`/search` or `/r/{sub}/search?restrict_sr=1`, newest first).
//!
//! Each listing's newest page is read (`limit`, `raw_json=1`) and filtered through the
//! fullnames the cursor remembers; while a page is all new and the listing's newest thing
//! from the last poll is not reached, older pages follow with `after=<fullname>` (at most
//! `max_pages`). On the very first start only the newest page is taken, not the history.
//! What is new is delivered oldest first, one batch per poll, with the cursor that covers it.
//!
//! Reddit sends no event for edits or deletions: a thing heard before whose `edited` changed
//! becomes [`Amendment::Edited`], one whose text turned `[deleted]`/`[removed]`
//! [`Amendment::Deleted`]. Things seen again in a listing are compared at once; the rest of
//! the recent ones are re-read through `/api/info` every `recheck_interval` (deleted posts
//! leave the listings).
//!
//! Failures back off per §0.3 (scaled by `backoff_scale`); a 429 waits until
//! `X-Ratelimit-Reset`. A 403 on one listing (a private or banned subreddit) is reported and
//! the rest go on. A 401 gets one fresh token; a second, or a refused password, stops the
//! source with [`SourceError::Auth`]. A sink failure backs off and resumes from the last
//! stored cursor.

use super::config::RedditConfig;
use super::cursor::{Cursor, Newest};
use super::http::{Failure as Problem, RedditApi};
use super::wire::{Listing, Thing, DELETED_MARK};
use crate::source::{
    jitter, stopped, Backoff, Failure, Health, Hearing, Sink, SinkError, Source, SourceError,
};
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::{Amendment, Network, NewPost, PostKey};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// `/api/info` takes at most 100 fullnames.
const INFO_BATCH: usize = 100;

/// The shortest poll interval honoured (a zero would spin).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// One listing to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Watched {
    /// The cursor's key for it (`r/acme/new`, `search:acme:"k2 kettle"`).
    key: String,
    /// The path and fixed query, without `limit`/`after`.
    path: String,
}

/// Hears one brand account's subreddits and searches.
#[derive(Debug)]
pub struct RedditSource {
    name: String,
    api: RedditApi,
    listings: Vec<Watched>,
}

/// Why a poll ended early.
#[derive(Debug)]
enum Ended {
    Reddit(Problem),
    Sink(SinkError),
}

impl From<Problem> for Ended {
    fn from(p: Problem) -> Self {
        Ended::Reddit(p)
    }
}

/// How one turn of the run loop ended.
enum Outcome {
    /// Polled; the listing problems (a 403) found on the way.
    Polled(Vec<String>),
    Stopped,
    Failed(Ended),
}

/// What one run keeps between polls.
struct RunState {
    /// What the sink has stored: a failed delivery starts the next poll from here.
    committed: Cursor,
    last_recheck: Option<Instant>,
    /// The listing problem last reported, so a lasting one is not counted every poll.
    reported_problem: Option<String>,
}

/// What one poll found.
#[derive(Default)]
struct Findings {
    posts: Vec<NewPost>,
    amendments: Vec<Amendment>,
}

impl RedditSource {
    pub fn new(config: RedditConfig) -> Result<Self, reqwest::Error> {
        let listings = watched(&config);
        Ok(RedditSource {
            name: config.source_name(),
            api: RedditApi::new(config)?,
            listings,
        })
    }

    /// How many access tokens this source has requested (for tests and diagnostics).
    pub fn tokens_fetched(&self) -> u64 {
        self.api.tokens_fetched()
    }

    fn config(&self) -> &RedditConfig {
        self.api.config()
    }

    /// One poll: every listing, the recheck when due, then delivery.
    async fn poll(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<Vec<String>, Ended> {
        let mut cursor = state.committed.clone();
        let mut found = Findings::default();
        let mut fresh_marks: Vec<(String, String)> = Vec::new();
        let mut polled: HashSet<String> = HashSet::new();
        let mut problems = Vec::new();
        for listing in &self.listings {
            match self.read_listing(listing, &mut cursor).await {
                Ok(things) => {
                    for thing in things {
                        if polled.insert(thing.fullname().to_owned()) {
                            self.classify(&thing, &cursor, &mut found, &mut fresh_marks);
                        }
                    }
                }
                Err(Problem::Forbidden(reason)) => {
                    tracing::warn!(source = %self.name, listing = %listing.key, %reason, "listing refused");
                    problems.push(format!("{}: {reason}", listing.key));
                }
                Err(other) => return Err(other.into()),
            }
        }
        let recheck_due = state
            .last_recheck
            .is_none_or(|at| at.elapsed() >= self.config().recheck_interval);
        if recheck_due {
            self.recheck(&cursor, &polled, &mut found, &mut fresh_marks)
                .await?;
            state.last_recheck = Some(Instant::now());
        }
        self.deliver(sink, health, state, cursor, found, fresh_marks)
            .await?;
        Ok(problems)
    }

    /// Reads a listing's newest page, and older ones while they are all new.
    async fn read_listing(
        &self,
        listing: &Watched,
        cursor: &mut Cursor,
    ) -> Result<Vec<Thing>, Problem> {
        let config = self.config();
        let previous = cursor.listings.get(&listing.key).cloned();
        let mut things: Vec<Thing> = Vec::new();
        let mut after: Option<String> = None;
        for page in 1..=config.max_pages.max(1) {
            let separator = if listing.path.contains('?') { '&' } else { '?' };
            let mut url = format!(
                "{}{separator}limit={}&raw_json=1",
                listing.path,
                config.page_limit.clamp(1, 100)
            );
            if let Some(after) = &after {
                url.push_str(&format!("&after={}", encode(after)));
            }
            let body = self.api.get(&url).await?;
            let listing_page: Listing = serde_json::from_str(&body).map_err(|e| {
                Problem::Unreadable(format!("{}: unreadable listing: {e}", listing.key))
            })?;
            let children: Vec<Thing> = listing_page
                .data
                .children
                .into_iter()
                .filter(Thing::is_post_or_comment)
                .collect();
            let reached = children.iter().any(|t| {
                cursor.mark(t.fullname()).is_some()
                    || previous.as_ref().is_some_and(|p| {
                        (!p.fullname.is_empty() && t.fullname() == p.fullname)
                            || t.data.created_utc.is_some_and(|at| at <= p.at)
                    })
            });
            let empty = children.is_empty();
            things.extend(children);
            // The first start takes the newest page only, not the subreddit's history.
            if reached || empty || previous.is_none() {
                break;
            }
            match listing_page.data.after {
                Some(next) if page < config.max_pages => after = Some(next),
                Some(_) => {
                    tracing::warn!(source = %self.name, listing = %listing.key, pages = page,
                        "more new things than max_pages reach; the oldest of them are skipped");
                    break;
                }
                None => break,
            }
        }
        let newest = things
            .iter()
            .filter_map(|t| Some((t.data.created_utc?, t.fullname())))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match newest {
            Some((at, fullname)) if previous.as_ref().is_none_or(|p| at > p.at) => {
                cursor.listings.insert(
                    listing.key.clone(),
                    Newest {
                        fullname: fullname.to_owned(),
                        at,
                    },
                );
            }
            // Empty at the first start: remember when (a minute early, for clock skew), so
            // that a burst before the next poll is paged back to here, not cut at one page.
            None if previous.is_none() => {
                cursor.listings.insert(
                    listing.key.clone(),
                    Newest {
                        fullname: String::new(),
                        at: (chrono::Utc::now().timestamp() - 60) as f64,
                    },
                );
            }
            _ => {}
        }
        Ok(things)
    }

    /// Sorts one thing into new post, amendment or nothing, against what the cursor knows.
    fn classify(
        &self,
        thing: &Thing,
        cursor: &Cursor,
        found: &mut Findings,
        marks: &mut Vec<(String, String)>,
    ) {
        let fullname = thing.fullname();
        if fullname.is_empty() {
            return;
        }
        let mark = thing.mark();
        match cursor.mark(fullname) {
            // Heard before and unchanged, or deleted already (a deletion is final for us).
            Some(old) if old == mark || old == DELETED_MARK => return,
            Some(_) if mark == DELETED_MARK => {
                found
                    .amendments
                    .push(Amendment::Deleted(PostKey::new(Network::Reddit, fullname)));
            }
            Some(_) => match self.to_post(thing) {
                Some(post) => found.amendments.push(Amendment::Edited(post)),
                None => return,
            },
            // Never heard and already gone: nothing to hear (the store ignores unknown keys).
            None if mark == DELETED_MARK => {}
            None => match self.to_post(thing) {
                Some(post) => found.posts.push(post),
                None => return,
            },
        }
        marks.push((fullname.to_owned(), mark));
    }

    fn to_post(&self, thing: &Thing) -> Option<NewPost> {
        let config = self.config();
        match thing.to_new_post(config.account(), |p| config.permalink(p)) {
            Ok(post) => Some(post),
            Err(NotAPost::Skipped(reason)) => {
                tracing::debug!(thing = %thing.fullname(), %reason, "skipped");
                None
            }
            Err(NotAPost::Invalid(e)) => {
                tracing::warn!(source = %self.name, thing = %thing.fullname(), error = %e, "invalid thing skipped");
                None
            }
        }
    }

    /// Re-reads recent things the listings did not show this time, to notice edits and
    /// deletions.
    async fn recheck(
        &self,
        cursor: &Cursor,
        polled: &HashSet<String>,
        found: &mut Findings,
        marks: &mut Vec<(String, String)>,
    ) -> Result<(), Problem> {
        let wanted = cursor.recent(INFO_BATCH, |fullname, mark| {
            mark == DELETED_MARK || polled.contains(fullname)
        });
        if wanted.is_empty() {
            return Ok(());
        }
        let body = self
            .api
            .get(&format!("/api/info?id={}&raw_json=1", wanted.join(",")))
            .await?;
        let info: Listing = serde_json::from_str(&body)
            .map_err(|e| Problem::Unreadable(format!("unreadable /api/info answer: {e}")))?;
        for thing in info.data.children {
            // Only things asked about: a server that answers more must not create posts here.
            if cursor.mark(thing.fullname()).is_some() {
                self.classify(&thing, cursor, found, marks);
            }
        }
        Ok(())
    }

    /// Delivers the poll's posts (oldest first) and then its amendments, each with the
    /// cursor covering exactly what has been handed over.
    async fn deliver(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        mut cursor: Cursor,
        mut found: Findings,
        marks: Vec<(String, String)>,
    ) -> Result<(), Ended> {
        let capacity = self
            .config()
            .remember
            .max(self.listings.len() * self.config().page_limit as usize * 2);
        let (amended, fresh): (Vec<_>, Vec<_>) = marks
            .into_iter()
            .partition(|(fullname, _)| cursor.mark(fullname).is_some());
        for (fullname, mark) in fresh {
            cursor.remember(fullname, mark, capacity);
        }
        found.posts.sort_by_key(|p| p.created_at);
        if cursor != state.committed {
            let count = found.posts.len() as u64;
            sink.deliver(&self.name, found.posts, Some(cursor.encode()))
                .await
                .map_err(Ended::Sink)?;
            state.committed = cursor.clone();
            if count > 0 {
                health.heard(count);
            }
        }
        if !found.amendments.is_empty() {
            for (fullname, mark) in amended {
                cursor.remember(fullname, mark, capacity);
            }
            let count = found.amendments.len() as u64;
            sink.amend(&self.name, found.amendments, Some(cursor.encode()))
                .await
                .map_err(Ended::Sink)?;
            state.committed = cursor;
            health.heard(count);
        }
        Ok(())
    }
}

/// The listings a config asks for.
fn watched(config: &RedditConfig) -> Vec<Watched> {
    let mut listings = Vec::new();
    for sub in &config.subreddits {
        let sub = sub
            .trim()
            .trim_start_matches("/r/")
            .trim_start_matches("r/");
        if sub.is_empty() {
            continue;
        }
        for kind in ["new", "comments"] {
            listings.push(Watched {
                key: format!("r/{sub}/{kind}"),
                path: format!("/r/{}/{kind}", encode(sub)),
            });
        }
    }
    for search in &config.searches {
        let query = search.query.trim();
        if query.is_empty() {
            continue;
        }
        let (key, path) = match search.subreddit.as_deref().map(str::trim) {
            Some(sub) if !sub.is_empty() => (
                format!("search:r/{sub}:{query}"),
                format!(
                    "/r/{}/search?q={}&restrict_sr=1&sort=new&type=link",
                    encode(sub),
                    encode(query)
                ),
            ),
            _ => (
                format!("search:{query}"),
                format!("/search?q={}&sort=new&type=link", encode(query)),
            ),
        };
        listings.push(Watched { key, path });
    }
    listings
}

/// Percent-encodes a path segment or query value (everything but RFC 3986's unreserved).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[async_trait]
impl Source for RedditSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let mut problems = self.config().problems();
        if self.listings.is_empty() {
            problems.push("nothing to watch: set subreddits or searches".to_owned());
        }
        if !problems.is_empty() {
            let reason = problems.join("; ");
            hearing.health.failed(&reason, None);
            return Err(SourceError::Config(reason));
        }
        let stored = hearing.sink.cursor(&self.name).await?;
        let committed = match stored.as_deref().map(Cursor::parse) {
            Some(Some(cursor)) => cursor,
            Some(None) => {
                tracing::warn!(source = %self.name, "stored cursor unreadable; starting afresh");
                Cursor::default()
            }
            None => Cursor::default(),
        };
        let mut state = RunState {
            committed,
            last_recheck: None,
            reported_problem: None,
        };
        let mut backoff = Backoff::default();
        loop {
            if *hearing.stop.borrow() {
                hearing.health.stopped();
                return Ok(());
            }
            let outcome = tokio::select! {
                polled = self.poll(hearing.sink.as_ref(), &hearing.health, &mut state) => match polled {
                    Ok(problems) => Outcome::Polled(problems),
                    Err(ended) => Outcome::Failed(ended),
                },
                _ = stopped(&mut hearing.stop) => Outcome::Stopped,
            };
            let delay = match outcome {
                Outcome::Polled(problems) => {
                    backoff.reset();
                    let problem = (!problems.is_empty()).then(|| problems.join("; "));
                    match &problem {
                        // A listing needs a person; the others are still heard.
                        Some(p) if state.reported_problem.as_ref() != Some(p) => {
                            hearing.health.failed(p, None)
                        }
                        Some(_) => {}
                        None => hearing.health.connected(),
                    }
                    state.reported_problem = problem;
                    self.config().poll_interval.max(MIN_INTERVAL)
                }
                Outcome::Stopped => {
                    hearing.health.stopped();
                    return Ok(());
                }
                Outcome::Failed(Ended::Reddit(Problem::Auth(reason))) => {
                    tracing::error!(source = %self.name, error = %reason, "reddit refused the credentials");
                    hearing.health.failed(&reason, None);
                    return Err(SourceError::Auth(reason));
                }
                Outcome::Failed(ended) => {
                    let (failure, reason, wait) = match ended {
                        // The store is briefly down: nothing was acknowledged, so the next
                        // poll starts from the last stored cursor and hears it all again.
                        Ended::Sink(e) => (
                            Failure::Http,
                            format!("could not store what was heard: {e}"),
                            None,
                        ),
                        Ended::Reddit(Problem::RateLimited { wait, reason }) => {
                            (Failure::RateLimited, reason, wait)
                        }
                        Ended::Reddit(p @ Problem::Network { .. }) => {
                            (Failure::Network, p.reason(), None)
                        }
                        Ended::Reddit(p @ Problem::Unreadable(_)) => {
                            (Failure::Dropped, p.reason(), None)
                        }
                        Ended::Reddit(p) => (Failure::Http, p.reason(), None),
                    };
                    // The server's own reset time is exact; our regimes are scaled.
                    let delay = wait.unwrap_or_else(|| {
                        self.config().scaled(jitter(
                            backoff.next(failure),
                            crate::reconnect::unit_jitter(),
                        ))
                    });
                    tracing::warn!(source = %self.name, error = %reason, delay_ms = delay.as_millis() as u64, "reddit poll failed; retrying");
                    hearing.health.failed(&reason, Some(delay));
                    state.reported_problem = None;
                    delay
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stopped(&mut hearing.stop) => {}
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reddit::config::RedditSearch;
    use crate::Secret;

    #[test]
    fn the_config_decides_the_listings() {
        let mut config =
            RedditConfig::new("id", Secret::new("s"), "acme_support", Secret::new("p"));
        config.subreddits = vec!["r/smarthome".into(), " ".into()];
        config.searches = vec![
            RedditSearch::everywhere("\"acme kettle\""),
            RedditSearch::in_subreddit("k2 & firmware", "tea"),
        ];
        let paths: Vec<String> = watched(&config).into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            vec![
                "/r/smarthome/new",
                "/r/smarthome/comments",
                "/search?q=%22acme%20kettle%22&sort=new&type=link",
                "/r/tea/search?q=k2%20%26%20firmware&restrict_sr=1&sort=new&type=link",
            ]
        );
    }
}
