//! Reading what was posted since a cursor: the mentions timeline `GET /2/users/{id}/mentions`
//! and recent search `GET /2/tweets/search/recent` with `since_id` (PROTOCOLS.md §3.4).
//!
//! Used three ways: as polling mode's only source, as the stream's gap fill after every
//! (re)connect, and as its periodic reconciliation. Pages come newest first; every page is
//! walked (`next_token`) up to `max_pages` and the whole set is handed over as one batch, so
//! the cursor (the newest id) never passes an older post that is still unread. With no cursor
//! (the very first start) only the newest page is read, not the account's history.

use super::api::{Api, As};
use super::http::{exhausted_until, CallError};
use super::intake::Batch;
use super::rules::urlencode;
use super::source::{Ended, RunState, XSource};
use super::wire::Page;
use crate::source::{Health, Sink};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The fields asked for on every read: followers, replies, edits, language, time (§3.3).
pub(crate) const FIELDS: &str = "tweet.fields=created_at,lang,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,edit_history_tweet_ids,note_tweet&expansions=author_id,referenced_tweets.id&user.fields=public_metrics,verified,created_at";

/// What a fill read.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    pub batch: Batch,
    /// A window was used up: ask again no sooner than this.
    pub not_before: Option<DateTime<Utc>>,
}

/// Reads the mentions timeline and every search query since `since` (or their newest page
/// when there is no cursor yet).
pub(crate) async fn fill(
    api: &Api,
    queries: &[String],
    since: Option<&str>,
) -> Result<Filled, CallError> {
    let mut filled = Filled::default();
    let config = &api.config;
    if !config.brand_user_id.is_empty() {
        let url = format!(
            "{}?max_results={}&{FIELDS}",
            config.api(&format!("/2/users/{}/mentions", config.brand_user_id)),
            config.page_size.clamp(5, 100)
        );
        pages(
            api,
            api.owner_reads(),
            "reading mentions",
            &url,
            "pagination_token",
            since,
            &mut filled,
        )
        .await?;
    }
    for query in queries {
        let url = format!(
            "{}?query={}&max_results={}&{FIELDS}",
            config.api("/2/tweets/search/recent"),
            urlencode(query),
            config.page_size.clamp(10, 100)
        );
        pages(
            api,
            As::App,
            "searching recent posts",
            &url,
            "next_token",
            since,
            &mut filled,
        )
        .await?;
    }
    Ok(filled)
}

async fn pages(
    api: &Api,
    who: As,
    what: &str,
    base: &str,
    token_param: &str,
    since: Option<&str>,
    into: &mut Filled,
) -> Result<(), CallError> {
    let base = match since {
        Some(since) => format!("{base}&since_id={since}"),
        None => base.to_owned(),
    };
    let max_pages = if since.is_some() {
        api.config.max_pages.max(1)
    } else {
        1
    };
    let mut token: Option<String> = None;
    for page_number in 1..=max_pages {
        let url = match &token {
            Some(t) => format!("{base}&{token_param}={}", urlencode(t)),
            None => base.clone(),
        };
        let (page, headers): (Page, _) = api.get_json(who, what, &url).await?;
        if let Some(at) = exhausted_until(&headers, Utc::now()) {
            into.not_before = Some(into.not_before.map_or(at, |t| t.max(at)));
        }
        into.batch.tweets.extend(page.data);
        into.batch.users.extend(page.includes.users);
        into.batch.problems.extend(page.errors);
        match page.meta.next_token.filter(|t| !t.is_empty()) {
            Some(next) if since.is_some() => {
                if page_number == max_pages {
                    tracing::warn!(source = %api.config.source_name(), what, max_pages,
                        "more posts since the cursor than max_pages holds; the oldest of them are skipped");
                }
                token = Some(next);
            }
            _ => break,
        }
    }
    Ok(())
}

impl XSource {
    /// Polling mode: fill from the cursor every `poll_interval` (later when a window is used up).
    pub(crate) async fn poll(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let queries = self.api.config.search_queries();
        loop {
            let filled = match fill(&self.api, &queries, state.intake.cursor.as_deref()).await {
                Ok(f) => f,
                Err(e) => return Ended::from(e),
            };
            if let Err(e) = state.intake.take(filled.batch, sink, health).await {
                return Ended::Sink(e);
            }
            health.connected();
            state.connected_at.get_or_insert_with(Instant::now);
            let mut wait = self.api.config.poll_interval.max(Duration::from_millis(10));
            if let Some(at) = filled.not_before {
                wait = wait.max(crate::reconnect::until(at, Utc::now()));
            }
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ended::Stopped;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}
