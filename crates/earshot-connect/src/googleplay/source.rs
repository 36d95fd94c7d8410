//! Hearing an app's Google Play reviews (PROTOCOLS-2.md §4.3). There is no "since" parameter
//! and the list holds only the last week, newest-modified first: each walk reads pages
//! (`token` = the last page's `nextPageToken`) until a review was modified before the newest
//! one seen minus an overlap, then waits `poll_interval`. The cursor and its marks are
//! [`crate::reviews`]'s: a review whose `lastModified` moved was edited and becomes
//! [`earshot_core::Amendment::Edited`] of the same post.
//!
//! Failures go through the shared reconnect loop ([`reviews::run`]): `invalid_grant` (a revoked key), a 401
//! with a fresh token or a 403 stop the source and say what to fix; 429 and quota answers
//! wait; dropped connections and 5xx back off. Every `list` counts against a rolling-hour
//! budget (200 per app by default): once spent, the source waits for the oldest request to
//! leave the hour rather than spending Google's quota shared with other tools.
//!
//! Health's note says that the API keeps a week, how often earshot polls, when the last walk
//! succeeded and the hour's request count; after five days without a successful walk the
//! failure says that reviews are about to be lost.

use super::config::{GooglePlayConfig, WINDOW, WINDOW_ALARM};
use super::wire::{Review, ReviewsPage};
use crate::google::Api;
use crate::problem::Problem;
use crate::reconnect::Ended;
use crate::reviews::{self, Cursor, Poller, Walk};
use crate::source::{Failure, Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many pages per walk (100 reviews each).
const MAX_PAGES: usize = 20;
const HOUR: Duration = Duration::from_secs(3600);

/// Requests spent in the rolling hour.
#[derive(Debug, Default)]
struct HourBudget {
    spent: VecDeque<Instant>,
}

impl HourBudget {
    /// Spends one request, or says how long until one is free.
    fn spend(&mut self, limit: u32, now: Instant) -> Result<(), Duration> {
        while self
            .spent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= HOUR)
        {
            self.spent.pop_front();
        }
        if self.spent.len() >= limit.max(1) as usize {
            let oldest = self.spent.front().copied().unwrap_or(now);
            return Err(HOUR.saturating_sub(now.duration_since(oldest)));
        }
        self.spent.push_back(now);
        Ok(())
    }

    fn used(&self) -> usize {
        self.spent.len()
    }
}

/// Hears one app's reviews.
#[derive(Debug)]
pub struct GooglePlaySource {
    name: String,
    config: GooglePlayConfig,
    api: Api,
    budget: Mutex<HourBudget>,
    last_walk: Mutex<Option<DateTime<Utc>>>,
}

impl GooglePlaySource {
    pub fn new(config: GooglePlayConfig) -> Result<Self, String> {
        Ok(GooglePlaySource {
            name: config.source_name(),
            api: config.api()?,
            config,
            budget: Mutex::new(HourBudget::default()),
            last_walk: Mutex::new(None),
        })
    }

    /// How many access tokens were minted so far (tests see renewals).
    pub fn tokens_minted(&self) -> u64 {
        self.api.tokens_minted()
    }

    fn spend(&self) -> Result<(), Ended> {
        let mut budget = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        budget
            .spend(self.config.gets_per_hour, Instant::now())
            .map_err(|wait| Ended::Retry {
                failure: Failure::RateLimited,
                reason: format!(
                    "earshot's budget of {} Google Play requests an hour is spent (the app's \
                     quota is shared with other tools); the next walk waits",
                    self.config.gets_per_hour
                ),
                not_before: chrono::Duration::from_std(wait)
                    .ok()
                    .map(|w| Utc::now() + w),
            })
    }

    /// Walks the newest-modified reviews down to the overlap of what `before` saw.
    async fn walk(&self, before: &Cursor) -> Result<Walk, Ended> {
        let floor = before.floor(self.config.overlap, WINDOW);
        let mut token = None;
        let mut heard = Vec::new();
        for _ in 0..MAX_PAGES {
            self.spend()?;
            let url = self.config.reviews_url(token.as_deref());
            let page = self
                .api
                .call(Method::GET, &url, None)
                .await
                .map_err(reviews::ended)?;
            let page: ReviewsPage = serde_json::from_value(page).map_err(|e| {
                reviews::ended(Problem::Unclear(format!(
                    "a Google Play review page could not be read: {e}"
                )))
            })?;
            let mut reached_floor = false;
            for raw in page.reviews {
                let review: Review = match serde_json::from_value(raw.clone()) {
                    Ok(review) => review,
                    Err(e) => {
                        tracing::warn!(source = %self.name, error = %e, "unreadable review skipped");
                        continue;
                    }
                };
                match review.last_modified() {
                    Some(at) if at < floor => reached_floor = true,
                    _ => heard.push((review, raw)),
                }
            }
            token = page.token_pagination.next_page_token;
            if reached_floor || token.is_none() {
                break;
            }
        }
        let mut walk = Walk::from(before);
        // Oldest first, so a conversation's story reads in order.
        heard.reverse();
        for (review, raw) in heard {
            match review.to_new_post(&raw) {
                Ok(post) => {
                    let at = post.created_at;
                    walk.take(post, &review.mark(), at);
                }
                Err(NotAPost::Skipped(reason)) => {
                    tracing::debug!(review = %review.review_id, %reason, "skipped");
                }
                Err(NotAPost::Invalid(e)) => {
                    tracing::warn!(source = %self.name, review = %review.review_id, error = %e, "unreadable review skipped");
                }
            }
        }
        walk.cursor.prune(self.config.overlap);
        Ok(walk)
    }

    /// What health says beside the state.
    fn note(&self) -> String {
        let used = self.budget.lock().unwrap_or_else(|p| p.into_inner()).used();
        let last = *self.last_walk.lock().unwrap_or_else(|p| p.into_inner());
        let last = last.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
        format!(
            "Google Play lists only the last 7 days of reviews: earshot reads them every {} s \
             (last read {last}; {used} of {} requests this hour). An outage over a week loses \
             reviews.",
            self.config.poll_interval.as_secs(),
            self.config.gets_per_hour
        )
    }

    /// A failure after five days without a successful walk says reviews are about to be lost.
    fn warn_of_loss(&self, ended: Ended) -> Ended {
        let last = *self.last_walk.lock().unwrap_or_else(|p| p.into_inner());
        let Some(last) = last else { return ended };
        let silent = (Utc::now() - last).to_std().unwrap_or_default();
        if silent < WINDOW_ALARM {
            return ended;
        }
        let days = silent.as_secs() / 86_400;
        let warn = |reason: String| {
            format!(
                "no review list read for {days} days: Google Play keeps only a week, reviews \
                 from before then will be lost. {reason}"
            )
        };
        match ended {
            Ended::Retry {
                failure,
                reason,
                not_before,
            } => Ended::Retry {
                failure,
                reason: warn(reason),
                not_before,
            },
            Ended::Auth(reason) => Ended::Auth(warn(reason)),
            other => other,
        }
    }
}

#[async_trait]
impl Poller for GooglePlaySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn what(&self) -> &'static str {
        "google play reviews"
    }

    fn poll_interval(&self) -> Duration {
        self.config.poll_interval
    }

    fn backoff_scale(&self) -> f64 {
        self.config.backoff_scale
    }

    fn problems(&self) -> Vec<String> {
        self.config.problems()
    }

    async fn poll(&self, sink: &dyn Sink, health: &Health) -> Result<(), Ended> {
        // Read every time: the cursor stored is the truth after a failed delivery.
        let before = Cursor::load(sink, &self.name).await.map_err(Ended::Sink)?;
        let walk = self
            .walk(&before)
            .await
            .map_err(|ended| self.warn_of_loss(ended))?;
        walk.deliver(&self.name, sink, health)
            .await
            .map_err(Ended::Sink)?;
        *self.last_walk.lock().unwrap_or_else(|p| p.into_inner()) = Some(Utc::now());
        health.note(self.note());
        Ok(())
    }
}

#[async_trait]
impl Source for GooglePlaySource {
    async fn run(&self, hearing: Hearing) -> Result<(), SourceError> {
        hearing.health.note(self.note());
        reviews::run(self, hearing).await
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hour_budget_refuses_past_its_limit_and_frees_as_the_hour_rolls() {
        let mut b = HourBudget::default();
        let t0 = Instant::now();
        assert!(b.spend(2, t0).is_ok());
        assert!(b.spend(2, t0 + Duration::from_secs(60)).is_ok());
        let wait = b.spend(2, t0 + Duration::from_secs(120)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3600 - 120));
        assert!(b.spend(2, t0 + HOUR).is_ok());
        assert_eq!(b.used(), 2);
    }
}
