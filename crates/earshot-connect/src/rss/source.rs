//! Hearing RSS/Atom feeds by polling: each feed on its own schedule (`poll_interval`, or
//! its own backoff after a failure), read conditionally, parsed, and compared with what the
//! cursor remembers. New entries are delivered oldest first; an entry whose text or link
//! changed becomes [`Amendment::Edited`]. Entries that vanish are not deletions (feeds
//! only show their newest items), so nothing is said about them.
//!
//! Failures stay per feed: one broken feed (malformed XML, too large, a redirect loop, 5xx,
//! 429 with `Retry-After`) backs off per PROTOCOLS.md §0.3 while the others go on; a 410
//! marks the feed gone in the cursor and the source `Failing` until a person acts. A sink
//! failure backs that feed off and resumes from the last stored cursor.

use super::config::{Feed, FeedConfig};
use super::cursor::{Cursor, FeedState, SeenEntry};
use super::fetch::{fetch, FetchError, Fetched, Validators};
use super::parse::{entries, Entry};
use crate::reconnect::unit_jitter;
use crate::source::{jitter, stopped, Backoff, Failure, Hearing, Sink, Source, SourceError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::{Amendment, NewPost};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The shortest poll interval honoured (a zero would spin).
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How many delivered ids a run remembers to skip an entry two feeds both carry.
const DELIVERED_MEMORY: usize = 10_000;

/// Reads one group of feeds.
#[derive(Debug)]
pub struct FeedSource {
    name: String,
    config: FeedConfig,
    client: reqwest::Client,
}

/// One feed's schedule within a run.
#[derive(Debug)]
struct Schedule {
    backoff: Backoff,
    next_at: Instant,
    /// Why its last read failed, while it backs off.
    failing: bool,
}

/// Why one read failed.
#[derive(Debug)]
enum ReadError {
    Fetch(FetchError),
    Malformed(String),
    Sink(String),
}

impl ReadError {
    fn reason(&self) -> String {
        match self {
            ReadError::Fetch(e) => e.to_string(),
            ReadError::Malformed(e) => e.clone(),
            ReadError::Sink(e) => format!("could not store what was read: {e}"),
        }
    }
}

impl FeedSource {
    pub fn new(config: FeedConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            // Followed by hand: a permanent move updates the stored URL; loops are errors.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(FeedSource {
            name: config.source_name(),
            config,
            client,
        })
    }

    /// Reads one feed and delivers what is new or changed; returns how many events.
    async fn read(
        &self,
        feed: &Feed,
        committed: &mut Cursor,
        delivered: &mut HashSet<String>,
        sink: &dyn Sink,
    ) -> Result<u64, ReadError> {
        let state = committed.feed(&feed.url);
        let url = state.moved_to.clone().unwrap_or_else(|| feed.url.clone());
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let (body, validators, moved_to) =
            match fetch(&self.client, &self.config, &url, &validators).await {
                Ok(Fetched::NotModified) => return Ok(0),
                Ok(Fetched::Document {
                    body,
                    validators,
                    moved_to,
                }) => (body, validators, moved_to),
                Err(e) => return Err(ReadError::Fetch(e)),
            };
        if let Some(to) = &moved_to {
            tracing::info!(source = %self.name, feed = %feed.label, from = %url, %to, "feed moved permanently");
        }
        let read = entries(&body, feed).map_err(|e| ReadError::Malformed(e.to_string()))?;
        let now = Utc::now();
        let mut posts: Vec<NewPost> = Vec::new();
        let mut edits: Vec<Amendment> = Vec::new();
        // `seen_before_edits` is what the posts' delivery may store: edits not yet applied.
        let mut seen_now: Vec<SeenEntry> = Vec::new();
        let mut seen_before_edits: Vec<SeenEntry> = Vec::new();
        for Entry {
            mut post,
            dated,
            fingerprint,
        } in read
        {
            let known = state.seen(&post.external_id).cloned();
            let first_seen = known
                .as_ref()
                .and_then(|k| k.at)
                .and_then(|at| DateTime::from_timestamp(at, 0))
                .unwrap_or(now);
            if !dated || post.created_at > now {
                // Undated, or dated in the future: the time it was first heard is the
                // honest one for the response clock.
                post.created_at = first_seen;
            }
            let entry = SeenEntry {
                id: post.external_id.clone(),
                fp: fingerprint,
                at: (!dated).then(|| first_seen.timestamp()),
            };
            match known {
                None => {
                    // Another feed delivered it in this run (the store would absorb it).
                    if !delivered.contains(&post.external_id) {
                        posts.push(post);
                    }
                    seen_before_edits.push(entry.clone());
                }
                Some(k) if k.fp == entry.fp => seen_before_edits.push(k),
                Some(k) => {
                    edits.push(Amendment::Edited(post));
                    seen_before_edits.push(k);
                }
            }
            seen_now.push(entry);
        }
        let keep = self.config.remember.max(seen_now.len());
        let current: HashSet<String> = seen_now.iter().map(|s| s.id.clone()).collect();
        let older: Vec<SeenEntry> = state
            .seen
            .iter()
            .filter(|s| !current.contains(&s.id))
            .cloned()
            .collect();
        let remember = |mut list: Vec<SeenEntry>| {
            list.extend(older.iter().cloned());
            list.truncate(keep);
            list
        };
        let finished = FeedState {
            moved_to: moved_to.or(state.moved_to.clone()),
            etag: validators.etag,
            last_modified: validators.last_modified,
            gone: false,
            seen: remember(seen_now),
        };
        // The posts' cursor keeps the old validators while edits are pending: if the edits
        // cannot be stored, the next read must not be answered 304 and lose them.
        let before_edits = FeedState {
            seen: remember(seen_before_edits),
            ..state.clone()
        };
        posts.sort_by_key(|p| p.created_at);
        let events = (posts.len() + edits.len()) as u64;
        let mut cursor = committed.clone();
        if !posts.is_empty() || (edits.is_empty() && finished != state) {
            let stage = if edits.is_empty() {
                finished.clone()
            } else {
                before_edits
            };
            cursor.feeds.insert(feed.url.clone(), stage);
            let ids: Vec<String> = posts.iter().map(|p| p.external_id.clone()).collect();
            sink.deliver(&self.name, posts, Some(cursor.encode()))
                .await
                .map_err(|e| ReadError::Sink(e.to_string()))?;
            // Only once stored: a failed delivery must be delivered again, not skipped.
            delivered.extend(ids);
            *committed = cursor.clone();
        }
        if !edits.is_empty() {
            cursor.feeds.insert(feed.url.clone(), finished);
            sink.amend(&self.name, edits, Some(cursor.encode()))
                .await
                .map_err(|e| ReadError::Sink(e.to_string()))?;
            *committed = cursor;
        }
        if delivered.len() > DELIVERED_MEMORY {
            // Forgetting only risks a redelivery, which the store absorbs.
            delivered.clear();
        }
        Ok(events)
    }

    /// Marks a feed gone in the cursor, so a restart does not hammer it either.
    async fn mark_gone(&self, feed: &Feed, committed: &mut Cursor, sink: &dyn Sink) {
        let mut cursor = committed.clone();
        cursor.feeds.entry(feed.url.clone()).or_default().gone = true;
        match sink
            .deliver(&self.name, Vec::new(), Some(cursor.encode()))
            .await
        {
            Ok(()) => *committed = cursor,
            // Not stored: it is found gone again after a restart, which is harmless.
            Err(e) => {
                tracing::warn!(source = %self.name, feed = %feed.label, error = %e, "could not store that the feed is gone");
                committed.feeds.entry(feed.url.clone()).or_default().gone = true;
            }
        }
    }

    /// The delay before the next try after `error`.
    fn delay_after(&self, error: &ReadError, backoff: &mut Backoff) -> Duration {
        let (failure, wait) = match error {
            ReadError::Fetch(FetchError::RateLimited { wait }) => (Failure::RateLimited, *wait),
            ReadError::Fetch(FetchError::Http { wait, .. }) => (Failure::Http, *wait),
            ReadError::Fetch(FetchError::Network(_)) => (Failure::Network, None),
            _ => (Failure::Http, None),
        };
        // The server's own word is exact; our regimes are scaled.
        wait.unwrap_or_else(|| {
            self.config
                .scaled(jitter(backoff.next(failure), unit_jitter()))
        })
    }
}

#[async_trait]
impl Source for FeedSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let problems = self.config.problems();
        if !problems.is_empty() {
            let reason = problems.join("; ");
            hearing.health.failed(&reason, None);
            return Err(SourceError::Config(reason));
        }
        let mut committed = match hearing
            .sink
            .cursor(&self.name)
            .await?
            .as_deref()
            .map(Cursor::parse)
        {
            Some(Some(cursor)) => cursor,
            Some(None) => {
                tracing::warn!(source = %self.name, "stored cursor unreadable; starting afresh");
                Cursor::default()
            }
            None => Cursor::default(),
        };
        let start = Instant::now();
        let mut schedules: Vec<Schedule> = self
            .config
            .feeds
            .iter()
            .map(|_| Schedule {
                backoff: Backoff::default(),
                next_at: start,
                failing: false,
            })
            .collect();
        let mut delivered = HashSet::new();
        let mut reported_gone: Option<String> = None;
        let interval = self.config.poll_interval.max(MIN_INTERVAL);
        loop {
            if *hearing.stop.borrow() {
                hearing.health.stopped();
                return Ok(());
            }
            for (feed, schedule) in self.config.feeds.iter().zip(schedules.iter_mut()) {
                if schedule.next_at > Instant::now() || committed.feed(&feed.url).gone {
                    continue;
                }
                let read = tokio::select! {
                    read = self.read(feed, &mut committed, &mut delivered, hearing.sink.as_ref()) => read,
                    _ = stopped(&mut hearing.stop) => {
                        hearing.health.stopped();
                        return Ok(());
                    }
                };
                match read {
                    Ok(events) => {
                        schedule.backoff.reset();
                        schedule.failing = false;
                        schedule.next_at = Instant::now() + interval;
                        if events > 0 {
                            hearing.health.heard(events);
                        }
                    }
                    Err(ReadError::Fetch(FetchError::Gone)) => {
                        tracing::error!(source = %self.name, feed = %feed.label, url = %feed.url, "feed gone (410)");
                        self.mark_gone(feed, &mut committed, hearing.sink.as_ref())
                            .await;
                        schedule.failing = false;
                        // Reported below, with the other gone feeds.
                        reported_gone = None;
                    }
                    Err(error) => {
                        let delay = self.delay_after(&error, &mut schedule.backoff);
                        let reason = format!("{} ({}): {}", feed.label, feed.url, error.reason());
                        tracing::warn!(source = %self.name, error = %reason, delay_ms = delay.as_millis() as u64, "feed read failed; retrying");
                        hearing.health.failed(&reason, Some(delay));
                        schedule.failing = true;
                        schedule.next_at = Instant::now() + delay;
                        reported_gone = None;
                    }
                }
            }
            if !schedules.iter().any(|s| s.failing) {
                let gone: Vec<String> = self
                    .config
                    .feeds
                    .iter()
                    .filter(|f| committed.feed(&f.url).gone)
                    .map(|f| format!("{} ({})", f.label, f.url))
                    .collect();
                if gone.is_empty() {
                    hearing.health.connected();
                } else {
                    let reason = format!("gone (HTTP 410), remove or replace: {}", gone.join(", "));
                    if reported_gone.as_ref() != Some(&reason) {
                        hearing.health.failed(&reason, None);
                        reported_gone = Some(reason);
                    }
                }
            }
            let next = self
                .config
                .feeds
                .iter()
                .zip(&schedules)
                .filter(|(f, _)| !committed.feed(&f.url).gone)
                .map(|(_, s)| s.next_at)
                .min();
            let sleep = match next {
                Some(at) => at.saturating_duration_since(Instant::now()),
                // Every feed is gone: nothing to read until a person changes the config.
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = stopped(&mut hearing.stop) => {}
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
