//! Hearing the brand's mentions live: the SSE stream `GET /api/v1/streaming/user/notification`
//! plus REST backfill from `GET /api/v1/notifications` (PROTOCOLS.md §1.3, §1.5, §1.8).
//!
//! The stream has no event ids and no replay, so every (re)connect **opens the stream first**
//! (events queue up unread in the socket) **and then backfills** with `min_id=<cursor>`,
//! paging forward until an empty page; only then is the stream read. The same backfill runs
//! every `poll_interval` while connected, because a stream can stay up and deliver nothing.
//! Overlap between backfill and stream is expected: a notification delivered once in a run is
//! not delivered again (the store dedupes across runs anyway). The cursor is the highest
//! notification id delivered, compared by length and then lexically. With no stored cursor
//! (the very first start) the backfill takes the newest page only, not the account's history.
//!
//! A stall (no byte, not even `:thump`, for `stall_timeout`) or a drop reconnects through
//! [`Backoff`]; 429 waits until `X-RateLimit-Reset`; 401/403 stop the source with
//! [`SourceError::Auth`] after marking the health `Failing`.

use super::config::MastodonConfig;
use super::http::{error_text, id_cmp, rate_limit_reset, until};
use super::wire::Notification;
use crate::source::{jitter, Backoff, Failure, Health, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::NewPost;
use reqwest::StatusCode;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const STREAM_PATH: &str = "/api/v1/streaming/user/notification";

/// How many delivered notification ids a run remembers for deduplication.
const DELIVERED_MEMORY: usize = 10_000;

/// The shortest reconciliation period and stall timeout honoured.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// A connection that lasted this long counts as a success for [`Backoff`].
const HEALTHY_CONNECTION: Duration = Duration::from_secs(1);

/// Hears the brand account's mentions on one instance.
#[derive(Debug)]
pub struct MastodonSource {
    name: String,
    config: MastodonConfig,
    client: reqwest::Client,
    deletes_seen: AtomicU64,
}

/// Why one connection ended.
#[derive(Debug)]
enum Ended {
    /// `stop` turned true.
    Stopped,
    /// Credentials refused: an operator must act.
    Auth(String),
    /// The sink failed: the pipeline is broken, not the network.
    Sink(crate::source::SinkError),
    /// Worth another attempt after a delay.
    Retry {
        failure: Failure,
        reason: String,
        /// When the server said its rate limit resets.
        not_before: Option<chrono::DateTime<Utc>>,
    },
}

/// What one run remembers across reconnects.
struct RunState {
    cursor: Option<String>,
    delivered: HashSet<String>,
    /// When the current connection got past backfill, if it did.
    connected_at: Option<Instant>,
}

impl MastodonSource {
    pub fn new(config: MastodonConfig) -> Result<Self, reqwest::Error> {
        // No overall timeout: the stream lives for hours. Stalls are caught per read.
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()?;
        Ok(MastodonSource {
            name: config.source_name(),
            config,
            client,
            deletes_seen: AtomicU64::new(0),
        })
    }

    /// `delete` events seen on the stream (not acted on yet: tombstones are future work).
    pub fn deletes_seen(&self) -> u64 {
        self.deletes_seen.load(Ordering::Relaxed)
    }

    /// One connection: open the stream, backfill, then read until it ends.
    async fn connect_once(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let opened = self
            .client
            .get(self.config.streaming_url(STREAM_PATH))
            .header(reqwest::header::AUTHORIZATION, self.config.bearer())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await;
        let mut stream = match opened {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return failed_response(r).await,
            Err(e) => return network_failure(format!("opening the stream: {e}")),
        };
        if let Err(ended) = self.backfill(sink, health, state).await {
            return ended;
        }
        health.connected();
        state.connected_at = Some(Instant::now());
        tracing::info!(source = %self.name, "mastodon stream connected");

        // A zero from config would make `interval` panic and `timeout` spin.
        let mut reconcile = tokio::time::interval(self.config.poll_interval.max(MIN_PERIOD));
        let stall_timeout = self.config.stall_timeout.max(MIN_PERIOD);
        reconcile.tick().await; // The first tick is immediate; the backfill just ran.
        let mut frames = SseParser::default();
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ended::Stopped;
                    }
                }
                _ = reconcile.tick() => {
                    if let Err(ended) = self.backfill(sink, health, state).await {
                        return ended;
                    }
                }
                read = tokio::time::timeout(stall_timeout, stream.chunk()) => {
                    let chunk = match read {
                        Err(_) => return dropped(format!(
                            "stream stalled: nothing for {stall_timeout:?}")),
                        Ok(Err(e)) => return dropped(format!("stream broke: {e}")),
                        Ok(Ok(None)) => return dropped("stream closed by the server".into()),
                        Ok(Ok(Some(chunk))) => chunk,
                    };
                    for event in frames.feed(&chunk) {
                        if let Err(ended) = self.on_event(event, sink, health, state).await {
                            return ended;
                        }
                    }
                }
            }
        }
    }

    async fn on_event(
        &self,
        event: SseEvent,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        match event.name.as_str() {
            "notification" => match serde_json::from_str::<Notification>(&event.data) {
                Ok(n) => self.deliver(vec![n], sink, health, state).await,
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "unreadable notification");
                    Ok(())
                }
            },
            "delete" => {
                self.deletes_seen.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // The server merged filtered notifications in: fetch them (§1.3).
            "notifications_merged" => self.backfill(sink, health, state).await,
            _ => Ok(()),
        }
    }

    /// Pages forward from the cursor with `min_id` until an empty page.
    async fn backfill(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        loop {
            let mut url = format!(
                "{}?types[]=mention&limit={}",
                self.config.api_url("/api/v1/notifications"),
                self.config.page_limit
            );
            if let Some(cursor) = &state.cursor {
                url.push_str(&format!("&min_id={cursor}"));
            }
            let response = self
                .client
                .get(url)
                .timeout(self.config.request_timeout)
                .header(reqwest::header::AUTHORIZATION, self.config.bearer())
                .send()
                .await
                .map_err(|e| network_failure(format!("backfilling notifications: {e}")))?;
            if !response.status().is_success() {
                return Err(failed_response(response).await);
            }
            let page: Vec<Notification> = response
                .json()
                .await
                .map_err(|e| dropped(format!("unreadable notifications page: {e}")))?;
            if page.is_empty() {
                return Ok(());
            }
            let before = state.cursor.clone();
            self.deliver(page, sink, health, state).await?;
            if state.cursor == before {
                // A server that ignores `min_id` would page forever.
                return Ok(());
            }
        }
    }

    /// Delivers the mentions in `notifications` not yet delivered in this run, oldest first,
    /// with the highest id as the cursor.
    async fn deliver(
        &self,
        mut notifications: Vec<Notification>,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        notifications.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let mut cursor = state.cursor.clone();
        let mut posts: Vec<NewPost> = Vec::new();
        let mut fresh = Vec::new();
        for n in notifications {
            if n.kind != "mention" || n.id.is_empty() || state.delivered.contains(&n.id) {
                continue;
            }
            if cursor.as_deref().is_none_or(|c| id_cmp(&n.id, c).is_gt()) {
                cursor = Some(n.id.clone());
            }
            fresh.push(n.id.clone());
            let id = n.id.clone();
            match n.into_new_post() {
                Ok(post) => posts.push(post),
                Err(NotAPost::Skipped(reason)) => {
                    tracing::debug!(notification = %id, %reason, "skipped")
                }
                Err(NotAPost::Invalid(e)) => {
                    tracing::warn!(source = %self.name, notification = %id, error = %e, "invalid mention skipped");
                }
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let count = posts.len() as u64;
        sink.deliver(&self.name, posts, cursor.clone())
            .await
            .map_err(Ended::Sink)?;
        if state.delivered.len() > DELIVERED_MEMORY {
            // Forgetting only risks a redelivery, which the store absorbs; memory must not grow
            // for as long as a connector runs.
            state.delivered.clear();
        }
        state.delivered.extend(fresh);
        state.cursor = cursor;
        if count > 0 {
            health.heard(count);
        }
        Ok(())
    }
}

fn dropped(reason: String) -> Ended {
    Ended::Retry {
        failure: Failure::Dropped,
        reason,
        not_before: None,
    }
}

fn network_failure(reason: String) -> Ended {
    Ended::Retry {
        failure: Failure::Network,
        reason,
        not_before: None,
    }
}

/// Maps a non-2xx answer: 401/403 are final, 429 waits for the reset, the rest back off.
async fn failed_response(response: reqwest::Response) -> Ended {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    let text = error_text(&body);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Ended::Auth(format!("HTTP {}: {text}", status.as_u16()))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let not_before = rate_limit_reset(&headers, Utc::now());
            let reason = match not_before {
                Some(at) => format!("rate-limited until {}: {text}", at.to_rfc3339()),
                None => format!("rate-limited: {text}"),
            };
            Ended::Retry {
                failure: Failure::RateLimited,
                reason,
                not_before,
            }
        }
        _ => Ended::Retry {
            failure: Failure::Http,
            reason: format!("HTTP {}: {text}", status.as_u16()),
            not_before: None,
        },
    }
}

#[async_trait]
impl Source for MastodonSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(
        &self,
        sink: Arc<dyn Sink>,
        health: Health,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), SourceError> {
        let mut state = RunState {
            cursor: sink.cursor(&self.name).await?,
            delivered: HashSet::new(),
            connected_at: None,
        };
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                health.stopped();
                return Ok(());
            }
            let ended = self
                .connect_once(sink.as_ref(), &health, &mut state, &mut stop)
                .await;
            let (failure, reason, not_before) = match ended {
                Ended::Stopped => {
                    health.stopped();
                    return Ok(());
                }
                Ended::Auth(reason) => {
                    tracing::error!(source = %self.name, error = %reason, "mastodon refused the token");
                    health.failed(&reason, None);
                    return Err(SourceError::Auth(reason));
                }
                // The store is busy or briefly down: nothing was acknowledged, so back off
                // and hear the same events again from the cursor, rather than going deaf.
                Ended::Sink(e) => (
                    Failure::Http,
                    format!("could not store what was heard: {e}"),
                    None,
                ),
                Ended::Retry {
                    failure,
                    reason,
                    not_before,
                } => (failure, reason, not_before),
            };
            // A connection that stayed up a while was a success: start the regimes over. One
            // that drops at once keeps growing the delay, so a flapping server is not hammered.
            if state
                .connected_at
                .take()
                .is_some_and(|at| at.elapsed() >= HEALTHY_CONNECTION)
            {
                backoff.reset();
            }
            let delay = match not_before {
                Some(at) => until(at, Utc::now()),
                None => jitter(backoff.next(failure), unit_jitter()),
            };
            tracing::warn!(source = %self.name, error = %reason, delay_ms = delay.as_millis() as u64, "mastodon stream down; retrying");
            health.failed(&reason, Some(delay));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// A jitter fraction in `[0, 1)` without a random-number dependency: the clock's nanoseconds.
fn unit_jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub name: String,
    pub data: String,
}

/// Turns SSE bytes into events. Comments (`:)`, `:thump`) are dropped; a block cut off by a
/// disconnect is never emitted, because only a blank line completes an event.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    name: String,
    data: Vec<String>,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let raw = std::mem::take(&mut self.line);
            let line = String::from_utf8_lossy(&raw);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                if !self.data.is_empty() || !self.name.is_empty() {
                    let name = std::mem::take(&mut self.name);
                    events.push(SseEvent {
                        name: if name.is_empty() {
                            "message".into()
                        } else {
                            name
                        },
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
            } else if line.starts_with(':') {
                // A comment: the greeting or a heartbeat.
            } else {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => self.name = value.to_owned(),
                    "data" => self.data.push(value.to_owned()),
                    _ => {}
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_blocks_and_comments_are_parsed() {
        let mut p = SseParser::default();
        let mut events = p.feed(b":)\n:thump\n\nevent: notification\ndata: {\"id\":\"1\"}\n");
        assert!(events.is_empty());
        events.extend(p.feed(b"\nevent: delete\r\ndata: 115063412345678901\r\n\r\n:thump\n"));
        assert_eq!(
            events,
            vec![
                SseEvent {
                    name: "notification".into(),
                    data: "{\"id\":\"1\"}".into()
                },
                SseEvent {
                    name: "delete".into(),
                    data: "115063412345678901".into()
                },
            ]
        );
        // A block cut off mid-way is never emitted.
        assert!(p.feed(b"event: notification\ndata: {\"id\":").is_empty());
    }
}
