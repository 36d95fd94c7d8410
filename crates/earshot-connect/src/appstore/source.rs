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
//! Failures go through the shared polling loop ([`crate::reviews::run`]): a 401 with a freshly
//! signed token, or a 403, stops the source with [`SourceError::Auth`] and says what to fix;
//! 429 waits (Apple gives no reset time: the §0.3 rate-limit regime, from 60 s); network
//! failures, cut answers and 5xx back off.

use super::config::AppStoreConfig;
use super::http::{Api, Problem};
use super::wire::ReviewPage;
use crate::reconnect::Ended;
use crate::reviews::{self, Cursor, Poller, Walk};
use crate::source::{Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::Network;
use reqwest::Method;
use std::collections::HashSet;
use std::time::Duration;

/// At most this many pages per walk (200 reviews each): a first walk of a very busy app is
/// cut here rather than running for an hour of the key's budget.
const MAX_PAGES: usize = 50;

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
        let floor = before.floor(config.overlap, config.backfill);
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
        let mut walk = Walk::from(before);
        if complete {
            let gone: Vec<String> = before
                .marks
                .keys()
                .filter(|id| !listed.contains(*id))
                .cloned()
                .collect();
            for id in gone {
                tracing::info!(source = %self.name, review = %id, "review no longer listed; marked deleted");
                walk.deleted(Network::AppStore, &id);
            }
        }
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
            let at = post.created_at;
            walk.take(post, &review.mark(), at);
        }
        // Only the reviews a later walk reads again need their mark kept.
        walk.cursor.prune(config.overlap);
        Ok(walk)
    }
}

#[async_trait]
impl Poller for AppStoreSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn what(&self) -> &'static str {
        "app store connect"
    }

    /// `poll_interval`, four times that while under a tenth of the key's hourly budget is
    /// left (it may be shared with other tools).
    fn poll_interval(&self) -> Duration {
        match self.api.rate_limit() {
            Some((limit, left)) if left < limit / 10 => {
                tracing::warn!(source = %self.name, left, limit, "app store connect request budget low; polling slower");
                self.config().poll_interval.saturating_mul(4)
            }
            _ => self.config().poll_interval,
        }
    }

    fn backoff_scale(&self) -> f64 {
        self.config().backoff_scale
    }

    fn problems(&self) -> Vec<String> {
        self.config().problems()
    }

    async fn poll(&self, sink: &dyn Sink, health: &Health) -> Result<(), Ended> {
        // Read every time: the cursor stored is the truth after a failed delivery.
        let before = Cursor::load(sink, &self.name).await.map_err(Ended::Sink)?;
        let walk = self.walk(&before).await.map_err(reviews::ended)?;
        walk.deliver(&self.name, sink, health)
            .await
            .map_err(Ended::Sink)
    }
}

#[async_trait]
impl Source for AppStoreSource {
    async fn run(&self, hearing: Hearing) -> Result<(), SourceError> {
        reviews::run(self, hearing).await
    }

    fn name(&self) -> &str {
        &self.name
    }
}
