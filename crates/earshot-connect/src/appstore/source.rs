//! Hearing an app's customer reviews (PROTOCOLS-2.md §3.3): there is no "since" cursor, so
//! each walk reads `sort=-createdDate` pages (following `links.next` verbatim) until a review
//! is older than the newest one seen minus an overlap, then waits `poll_interval`.
//!
//! Resume without gaps or doubles: the cursor is `{"v":1,"newest":<RFC 3339>,"marks":{id:
//! mark}}` — the newest `createdDate` handed to the sink and, for every review inside the
//! overlap, a hash of rating, title and body. A review not in `marks` is new (also one that
//! became visible late); one whose hash moved was edited and becomes
//! [`Amendment::Edited`] (delivered as a post too, which the store ignores when it has it);
//! an unchanged one is passed over. A review in `marks` that a complete walk (down to the
//! overlap, not cut at the page limit) no longer lists was removed (by its author or by
//! Apple): it becomes [`Amendment::Deleted`], so the conversation keeps it, marked deleted,
//! rather than it silently staying as if still there. The cursor goes with the walk's last
//! delivery, so a walk cut short (a failed page, a failing store) stores nothing and the next
//! walk repeats it. Health says when the last walk finished (`last_poll_at`).
//!
//! Failures go through the shared reconnect loop ([`crate::reconnect`]): a 401 with a freshly
//! signed token, or a 403, stops the source with [`SourceError::Auth`] and says what to fix;
//! 429 waits (Apple gives no reset time: the §0.3 rate-limit regime, from 60 s); network
//! failures, cut answers and 5xx back off.

use super::config::AppStoreConfig;
use super::http::{Api, Problem};
use super::wire::ReviewPage;
use crate::reconnect::{Ended, Reconnect};
use crate::reddit::source::stopped;
use crate::source::{Failure, Health, Sink, SinkError, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::{Amendment, Network, NewPost, PostKey};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// At most this many pages per walk (200 reviews each): a first walk of a very busy app is
/// cut here rather than running for an hour of the key's budget.
const MAX_PAGES: usize = 50;

/// What the source stores as its cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    v: u32,
    /// The newest `createdDate` handed to the sink.
    pub newest: Option<DateTime<Utc>>,
    /// Review id → (hash of what it said, its `createdDate` in unix seconds), for the
    /// reviews inside the overlap.
    #[serde(default)]
    pub marks: BTreeMap<String, (String, i64)>,
}

impl Cursor {
    pub fn parse(stored: &str) -> Option<Cursor> {
        serde_json::from_str::<Cursor>(stored)
            .ok()
            .filter(|c| c.v == 1)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What one walk found.
#[derive(Default)]
struct Walk {
    posts: Vec<NewPost>,
    edits: Vec<Amendment>,
    cursor: Cursor,
}

/// Hears one app's reviews.
#[derive(Debug)]
pub struct AppStoreSource {
    name: String,
    api: Api,
}

impl AppStoreSource {
    pub fn new(config: AppStoreConfig) -> Result<Self, String> {
        Ok(AppStoreSource {
            name: config.source_name(),
            api: Api::new(config)?,
        })
    }

    fn config(&self) -> &AppStoreConfig {
        self.api.config()
    }

    /// How many tokens were signed so far (tests see renewals).
    pub fn tokens_signed(&self) -> u64 {
        self.api.tokens_signed()
    }

    /// Walks the newest reviews down to the overlap of what `before` saw.
    async fn walk(&self, before: &Cursor) -> Result<Walk, Problem> {
        let config = self.config();
        let overlap = chrono::Duration::from_std(config.overlap).unwrap_or_default();
        let floor = match before.newest {
            Some(newest) => newest - overlap,
            None => Utc::now() - chrono::Duration::from_std(config.backfill).unwrap_or_default(),
        };
        let mut url = Some(config.reviews_url());
        let mut heard = Vec::new();
        // Every review listed, whatever its date: what is not here was removed.
        let mut listed = HashSet::new();
        let mut complete = true;
        let mut pages = 0;
        while let Some(next) = url.take() {
            let page = self.api.call(Method::GET, &next, None).await?;
            let page: ReviewPage = serde_json::from_value(page)
                .map_err(|e| Problem::Unclear(format!("a review page could not be read: {e}")))?;
            pages += 1;
            let mut reached_floor = false;
            for review in page.data {
                listed.insert(review.id.clone());
                match review.created_at() {
                    Some(at) if at < floor => reached_floor = true,
                    _ => heard.push(review),
                }
            }
            if !reached_floor && pages < MAX_PAGES {
                url = page.links.next;
            } else if !reached_floor {
                complete = false;
                tracing::warn!(source = %self.name, pages, "review walk stopped at the page limit; older reviews are not heard");
            }
        }
        let mut walk = Walk::default();
        let mut marks = before.marks.clone();
        if complete {
            let gone: Vec<String> = marks
                .keys()
                .filter(|id| !listed.contains(*id))
                .cloned()
                .collect();
            for id in gone {
                tracing::info!(source = %self.name, review = %id, "review no longer listed; marked deleted");
                marks.remove(&id);
                walk.edits
                    .push(Amendment::Deleted(PostKey::new(Network::AppStore, id)));
            }
        }
        let mut newest = before.newest;
        // Oldest first, so a conversation's story reads in order.
        heard.reverse();
        for review in heard {
            let post = match review.to_new_post() {
                Ok(post) => post,
                Err(NotAPost::Skipped(reason)) => {
                    tracing::debug!(review = %review.id, %reason, "skipped");
                    continue;
                }
                Err(NotAPost::Invalid(e)) => {
                    tracing::warn!(source = %self.name, review = %review.id, error = %e, "unreadable review skipped");
                    continue;
                }
            };
            let mark = review.mark();
            let entry = (mark.clone(), post.created_at.timestamp());
            let created_at = post.created_at;
            match marks.insert(review.id.clone(), entry) {
                None => walk.posts.push(post),
                Some((old, _)) if old != mark => {
                    walk.posts.push(post.clone());
                    walk.edits.push(Amendment::Edited(post.clone()));
                }
                Some(_) => continue,
            }
            newest = Some(newest.map_or(created_at, |n| n.max(created_at)));
        }
        // Only the reviews a later walk reads again need their mark kept.
        if let Some(newest) = newest {
            let keep_from = (newest - overlap).timestamp();
            marks.retain(|_, (_, at)| *at >= keep_from);
        }
        walk.cursor = Cursor {
            v: 1,
            newest,
            marks,
        };
        Ok(walk)
    }

    /// Hands a walk to the sink, the cursor with its last part.
    async fn deliver(&self, sink: &dyn Sink, health: &Health, walk: Walk) -> Result<(), SinkError> {
        let cursor = Some(walk.cursor.encode());
        let count = walk.posts.len();
        if walk.edits.is_empty() {
            sink.deliver(&self.name, walk.posts, cursor).await?;
        } else {
            sink.deliver(&self.name, walk.posts, None).await?;
            sink.amend(&self.name, walk.edits, cursor).await?;
        }
        if count > 0 {
            health.heard(count as u64);
        }
        Ok(())
    }
}

#[async_trait]
impl Source for AppStoreSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(
        &self,
        sink: Arc<dyn Sink>,
        health: Health,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), SourceError> {
        let problems = self.config().problems();
        if !problems.is_empty() {
            let reason = problems.join("; ");
            health.failed(&reason, None);
            return Err(SourceError::Config(reason));
        }
        let mut reconnect =
            Reconnect::new(&self.name, "app store connect", self.config().backoff_scale);
        loop {
            if reconnect.stopped(&stop, &health) {
                return Ok(());
            }
            let mut walking_since = None;
            let ended = self
                .poll(sink.as_ref(), &health, &mut walking_since, &mut stop)
                .await;
            if let ControlFlow::Break(done) = reconnect
                .after(ended, walking_since, &health, &mut stop)
                .await
            {
                return done;
            }
        }
    }
}

impl AppStoreSource {
    /// Walks every `poll_interval` until a walk or the sink fails, or `stop`: why it ended,
    /// for the reconnect loop. `since` is set at the first good walk.
    async fn poll(
        &self,
        sink: &dyn Sink,
        health: &Health,
        since: &mut Option<Instant>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        loop {
            // Read every time: the cursor stored is the truth after a failed delivery.
            let stored = match sink.cursor(&self.name).await {
                Ok(stored) => stored,
                Err(e) => return Ended::Sink(e),
            };
            let before = match stored.as_deref().map(Cursor::parse) {
                Some(Some(cursor)) => cursor,
                Some(None) => {
                    tracing::warn!(source = %self.name, "stored cursor unreadable; walking the backfill window again");
                    Cursor::default()
                }
                None => Cursor::default(),
            };
            let walk = tokio::select! {
                walked = self.walk(&before) => match walked {
                    Ok(walk) => walk,
                    Err(problem) => return ended(problem),
                },
                _ = stopped(stop) => return Ended::Stopped,
            };
            if let Err(e) = self.deliver(sink, health, walk).await {
                return Ended::Sink(e);
            }
            since.get_or_insert_with(Instant::now);
            health.connected();
            health.polled();
            tokio::select! {
                _ = tokio::time::sleep(self.pause()) => {}
                _ = stopped(stop) => return Ended::Stopped,
            }
        }
    }

    /// The wait before the next walk: `poll_interval`, four times that while under a tenth
    /// of the key's hourly budget is left (it may be shared with other tools).
    fn pause(&self) -> Duration {
        match self.api.rate_limit() {
            Some((limit, left)) if left < limit / 10 => {
                tracing::warn!(source = %self.name, left, limit, "app store connect request budget low; polling slower");
                self.config().poll_interval.saturating_mul(4)
            }
            _ => self.config().poll_interval,
        }
    }
}

/// What a failed walk means for the reconnect loop.
fn ended(problem: Problem) -> Ended {
    let failure = match &problem {
        Problem::Unauthorized(_) | Problem::Forbidden(_) | Problem::Key(_) => {
            return Ended::Auth(problem.reason())
        }
        Problem::RateLimited(_) => Failure::RateLimited,
        Problem::Network { .. } => Failure::Network,
        Problem::Unclear(_) => Failure::Dropped,
        _ => Failure::Http,
    };
    Ended::Retry {
        failure,
        reason: problem.reason(),
        not_before: None,
    }
}
