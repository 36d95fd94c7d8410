//! What the mention and hashtag sources share: why a connection ended, how an HTTP refusal
//! maps onto the backoff regimes (PROTOCOLS.md §0.3, §1.7), the reconnect loop that keeps
//! [`Health`] current, and REST paging by id (`min_id` forward, `max_id` back; §1.5).

use super::config::MastodonConfig;
use super::http::{error_text, id_cmp, rate_limit_reset};
use super::stream::{Channel, LiveStream, SseEvent};
use crate::reconnect::Reconnect;
use crate::source::{Failure, Health, SourceError};
use async_trait::async_trait;
use chrono::Utc;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How many delivered ids a run remembers for deduplication.
pub(super) const DELIVERED_MEMORY: usize = 10_000;

/// The shortest reconciliation period and stall timeout honoured.
pub(super) const MIN_PERIOD: Duration = Duration::from_millis(10);

pub(super) use crate::reconnect::Ended;

pub(super) fn dropped(reason: String) -> Ended {
    Ended::dropped(reason)
}

pub(super) fn network_failure(reason: String) -> Ended {
    Ended::Retry {
        failure: Failure::Network,
        reason,
        not_before: None,
    }
}

/// Maps a non-2xx answer: 401/403 are final, 429 waits for the reset, the rest back off.
pub(super) fn refusal(status: StatusCode, headers: &HeaderMap, body: &str) -> Ended {
    let text = error_text(body);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Ended::Auth(format!("HTTP {}: {text}", status.as_u16()))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            let not_before = rate_limit_reset(headers, Utc::now());
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

/// [`refusal`] for a whole response.
pub(super) async fn failed_response(response: reqwest::Response) -> Ended {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    refusal(status, &headers, &body)
}

/// One kind of listening (mentions, one hashtag): a connection at a time, retried by [`drive`].
#[async_trait]
pub(super) trait Listener: Send + Sync {
    /// What the listener remembers across reconnects within one run.
    type State: Send;

    fn name(&self) -> &str;
    fn client(&self) -> &reqwest::Client;
    fn config(&self) -> &MastodonConfig;
    /// The live stream it reads.
    fn channel(&self) -> Channel<'_>;

    /// Reads through REST what the stream may have missed (on connect and every
    /// `poll_interval`).
    async fn catch_up(&self, state: &mut Self::State) -> Result<(), Ended>;

    /// One event from the live stream.
    async fn on_event(&self, event: SseEvent, state: &mut Self::State) -> Result<(), Ended>;

    /// One connection: open the stream, catch up, then read until it ends, catching up again
    /// every `poll_interval`. Sets `*connected_at` once it is live.
    async fn connect_once(
        &self,
        state: &mut Self::State,
        health: &Health,
        connected_at: &mut Option<Instant>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let mut stream = match LiveStream::open(self.client(), self.config(), self.channel()).await
        {
            Ok(s) => s,
            Err(ended) => return ended,
        };
        if let Err(ended) = self.catch_up(state).await {
            return ended;
        }
        health.connected();
        *connected_at = Some(Instant::now());
        tracing::info!(source = %self.name(), transport = ?self.config().transport, "mastodon stream connected");

        // A zero from config would make `interval` panic.
        let mut reconcile = tokio::time::interval(self.config().poll_interval.max(MIN_PERIOD));
        reconcile.tick().await; // The first tick is immediate; the catch-up just ran.
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ended::Stopped;
                    }
                }
                _ = reconcile.tick() => {
                    if let Err(ended) = self.catch_up(state).await {
                        return ended;
                    }
                }
                event = stream.next() => {
                    let handled = match event {
                        Ok(event) => self.on_event(event, state).await,
                        Err(ended) => Err(ended),
                    };
                    if let Err(ended) = handled {
                        return ended;
                    }
                }
            }
        }
    }
}

/// Reconnects `listener` through [`Backoff`] until `stop`, keeping `health` current. Only
/// refused credentials end the run with an error; a failing sink is backed off like a server
/// error, so a store that is briefly down never leaves the source deaf.
pub(super) async fn drive<L: Listener>(
    listener: &L,
    mut state: L::State,
    health: &Health,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), SourceError> {
    let mut reconnect = Reconnect::new(listener.name(), "mastodon stream", 1.0);
    let mut connected_at = None;
    loop {
        if reconnect.stopped(stop, health) {
            return Ok(());
        }
        let ended = listener
            .connect_once(&mut state, health, &mut connected_at, stop)
            .await;
        if let ControlFlow::Break(done) = reconnect
            .after(ended, connected_at.take(), health, stop)
            .await
        {
            return done;
        }
    }
}

/// Something a paged endpoint lists, ordered by its id.
pub(super) trait Paged: DeserializeOwned {
    fn page_id(&self) -> &str;
}

impl Paged for super::wire::Notification {
    fn page_id(&self) -> &str {
        &self.id
    }
}

impl Paged for super::wire::Status {
    fn page_id(&self) -> &str {
        &self.id
    }
}

/// A paged REST list: `endpoint` is the full URL without query, `filter` any fixed query
/// (`types[]=mention`), `what` names it in errors.
pub(super) struct Pager<'a> {
    pub client: &'a reqwest::Client,
    pub config: &'a MastodonConfig,
    pub endpoint: String,
    pub filter: &'a str,
    pub what: &'a str,
}

impl Pager<'_> {
    /// One page, newest first as Mastodon sends it; `cursor` is e.g. `min_id=123`.
    pub async fn page<T: Paged>(
        &self,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<Vec<T>, Ended> {
        let mut url = format!("{}?limit={}", self.endpoint, limit.clamp(1, 80));
        if !self.filter.is_empty() {
            url.push('&');
            url.push_str(self.filter);
        }
        if let Some(cursor) = cursor {
            url.push('&');
            url.push_str(&cursor);
        }
        let response = self
            .client
            .get(url)
            .timeout(self.config.request_timeout)
            .header(reqwest::header::AUTHORIZATION, self.config.bearer())
            .send()
            .await
            .map_err(|e| network_failure(format!("backfilling {}: {e}", self.what)))?;
        if !response.status().is_success() {
            return Err(failed_response(response).await);
        }
        response
            .json()
            .await
            .map_err(|e| dropped(format!("unreadable {} page: {e}", self.what)))
    }

    /// The page right after `cursor` (`min_id`), for walking forward without gaps.
    pub async fn after<T: Paged>(&self, cursor: &str) -> Result<Vec<T>, Ended> {
        self.page(self.config.page_limit, Some(format!("min_id={cursor}")))
            .await
    }

    /// The newest `n` items (paging back with `max_id`), in any order.
    pub async fn newest<T: Paged>(&self, n: u32) -> Result<Vec<T>, Ended> {
        let mut items: Vec<T> = Vec::new();
        let mut older_than: Option<String> = None;
        while (items.len() as u32) < n {
            let want = (n - items.len() as u32).min(self.config.page_limit.max(1));
            let page: Vec<T> = self
                .page(want, older_than.as_ref().map(|id| format!("max_id={id}")))
                .await?;
            let oldest = page
                .iter()
                .map(|i| i.page_id().to_owned())
                .min_by(|a, b| id_cmp(a, b));
            let short = (page.len() as u32) < want;
            items.extend(page);
            match oldest {
                // A server that ignores `max_id` would page forever.
                Some(id) if !short && older_than.as_deref() != Some(id.as_str()) => {
                    older_than = Some(id)
                }
                _ => break,
            }
        }
        items.truncate(n as usize);
        Ok(items)
    }
}
