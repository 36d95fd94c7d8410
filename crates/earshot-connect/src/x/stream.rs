//! The filtered stream `GET /2/tweets/search/stream` (PROTOCOLS.md §3.3).
//!
//! Each (re)connect syncs the rules if they are not known to be in place, **opens the stream
//! first** (posts queue unread in the socket), **then fills the gap** since the cursor with
//! the mentions timeline and recent search (X offers no replay below Enterprise), and only
//! then reads the stream; overlap is dropped by [`super::intake::Intake`]. The body is one
//! JSON object per `\r\n`-terminated line; a bare `\r\n` is the 20-second keep-alive. A line
//! cut off by a disconnect is never parsed (only a line ending completes it), so the post on
//! it is read again by the next gap fill. No byte for `stall_timeout` means a half-open
//! connection: drop it and reconnect. An `operational-disconnect` error line ends the
//! connection; other error lines are logged. Posts matched only by other tools' rules are
//! left alone.

use super::api::As;
use super::http::CallError;
use super::intake::Batch;
use super::poll::{fill, FIELDS};
use super::rules::{self, SyncError};
use super::source::{Ended, RunState, XSource};
use super::wire::StreamLine;
use crate::source::{Health, Sink};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The shortest stall timeout and reconciliation period honoured (a zero from config would
/// make `interval` panic and `timeout` spin).
const MIN_PERIOD: Duration = Duration::from_millis(10);

impl XSource {
    /// One stream connection: rules, open, fill the gap, read until it ends.
    pub(crate) async fn stream(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        let config = &self.api.config;
        let rules = match &state.rules {
            Some(rules) => rules.clone(),
            None => match rules::sync(&self.api).await {
                Ok(rules) => {
                    state.rules = Some(rules.clone());
                    rules
                }
                Err(SyncError::Refused(reason)) => return Ended::Config(reason),
                Err(SyncError::Call(e)) => return Ended::from(e),
            },
        };
        let url = format!("{}?{FIELDS}", config.api("/2/tweets/search/stream"));
        let opened = self
            .api
            .send(As::App, "opening the stream", |c| c.get(&url))
            .await;
        let mut stream = match opened {
            Ok(response) => response,
            Err(CallError::Status {
                status: 409, text, ..
            }) => {
                // "No rules": someone deleted ours; put them back before the next attempt.
                state.rules = None;
                return Ended::from(CallError::Status {
                    status: 409,
                    text: format!("the stream has no rules: {text}"),
                    problem: Box::default(),
                });
            }
            Err(e) => return Ended::from(e),
        };
        let queries = config.search_queries();
        if let Err(ended) = self.fill_gap(&queries, sink, health, state).await {
            return ended;
        }
        health.connected();
        state.connected_at = Some(Instant::now());
        tracing::info!(source = %self.name, "X filtered stream connected");

        let mut reconcile = tokio::time::interval(config.reconcile_interval.max(MIN_PERIOD));
        reconcile.tick().await; // The first tick is immediate; the gap was just filled.
        let stall_timeout = config.stall_timeout.max(MIN_PERIOD);
        let mut lines = LineSplitter::default();
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return Ended::Stopped;
                    }
                }
                _ = reconcile.tick() => {
                    if let Err(ended) = self.reconcile(&queries, sink, health, state).await {
                        return ended;
                    }
                }
                read = tokio::time::timeout(stall_timeout, stream.chunk()) => {
                    let chunk = match read {
                        Err(_) => return Ended::dropped(format!(
                            "stream stalled: nothing, not even a keep-alive, for {stall_timeout:?}")),
                        Ok(Err(e)) => return Ended::dropped(format!("stream broke: {e}")),
                        Ok(Ok(None)) => return Ended::dropped("stream closed by X".into()),
                        Ok(Ok(Some(chunk))) => chunk,
                    };
                    for line in lines.feed(&chunk) {
                        if let Err(ended) = self.on_line(&line, &rules, sink, health, state).await {
                            return ended;
                        }
                    }
                }
            }
        }
    }

    async fn fill_gap(
        &self,
        queries: &[String],
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        let filled = fill(&self.api, queries, state.intake.cursor.as_deref())
            .await
            .map_err(Ended::from)?;
        state
            .intake
            .take(filled.batch, sink, health)
            .await
            .map_err(Ended::Sink)
    }

    /// The stream's periodic gap fill. A read window used up (a 429, or the last request of a
    /// window) only postpones the next one: tearing down a working stream for it would cost a
    /// reconnect from X's small allowance and live posts meanwhile.
    async fn reconcile(
        &self,
        queries: &[String],
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        let now = chrono::Utc::now();
        if state.reconcile_after.is_some_and(|after| now < after) {
            return Ok(());
        }
        match fill(&self.api, queries, state.intake.cursor.as_deref()).await {
            Ok(filled) => {
                state.reconcile_after = filled.not_before;
                state
                    .intake
                    .take(filled.batch, sink, health)
                    .await
                    .map_err(Ended::Sink)
            }
            Err(CallError::RateLimited { text, reset, .. }) => {
                tracing::warn!(source = %self.name, error = %text, reset = ?reset,
                    "X's read window is used up: the stream stays, its gap fill waits");
                let interval = chrono::Duration::from_std(self.api.config.reconcile_interval)
                    .unwrap_or(chrono::Duration::minutes(15));
                state.reconcile_after = Some(reset.unwrap_or(now + interval));
                Ok(())
            }
            Err(e) => Err(Ended::from(e)),
        }
    }

    async fn on_line(
        &self,
        line: &[u8],
        rules: &rules::OurRules,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
    ) -> Result<(), Ended> {
        let line: StreamLine = match serde_json::from_slice(line) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(source = %self.name, error = %e, "unreadable stream line skipped");
                return Ok(());
            }
        };
        let Some(tweet) = line.data else {
            for problem in &line.errors {
                if problem.disconnect_type.is_some() || problem.is("operational-disconnect") {
                    return Err(Ended::dropped(format!(
                        "X disconnected the stream: {}",
                        problem.summary()
                    )));
                }
                tracing::warn!(source = %self.name, error = %problem.summary(), "X reported an error on the stream");
            }
            return Ok(());
        };
        if !rules.covers(&line.matching_rules) {
            tracing::debug!(source = %self.name, post = %tweet.id, "matched another tool's rule only; ignored");
            return Ok(());
        }
        let batch = Batch {
            tweets: vec![tweet],
            users: line.includes.users,
            problems: line.errors,
        };
        state
            .intake
            .take(batch, sink, health)
            .await
            .map_err(Ended::Sink)
    }
}

/// Splits the stream body into lines. Lines end in `\r\n` (a bare `\n` is accepted too);
/// empty lines are keep-alives and dropped; a line arriving in several chunks is joined;
/// the unfinished tail is kept until its ending arrives (and lost with the connection).
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.pending.push(b);
                continue;
            }
            let mut line = std::mem::take(&mut self.pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                lines.push(line);
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_joined_across_chunks_and_keep_alives_dropped() {
        let mut s = LineSplitter::default();
        assert!(s.feed(b"\r\n\r\n{\"data\":").is_empty());
        assert!(s.feed(b"{\"id\":\"1\"}").is_empty());
        let lines = s.feed(b"}\r\n\r\n{\"data\":{\"id\":\"2\"}}\r");
        assert_eq!(lines, vec![b"{\"data\":{\"id\":\"1\"}}".to_vec()]);
        let lines = s.feed(b"\n{\"da");
        assert_eq!(lines, vec![b"{\"data\":{\"id\":\"2\"}}".to_vec()]);
        // The cut-off tail is never emitted on its own.
        assert!(s.feed(b"ta\":").is_empty());
    }
}
