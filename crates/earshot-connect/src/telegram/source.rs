//! Hearing a Telegram bot by long polling (PROTOCOLS-2.md §1.3): `getUpdates` with the stored
//! `offset`, held open by Telegram up to `poll_timeout` while nothing happens. With a webhook
//! configured the source sets it and watches it instead (`webhook.rs`).
//!
//! Resume without gaps or doubles: the cursor is `{"v":1,"offset":N,"at":<unix s>}`, the
//! highest `update_id` handed to the sink plus one, stored by the sink after the posts. Only
//! the next call with that offset confirms (deletes) the updates on Telegram's side, so a
//! crash before the store commits gets the batch again (the store absorbs the repeat) and a
//! crash after it asks from the stored offset. After a week without updates Telegram may
//! restart `update_id`s at a random lower value, so an offset stored over six days ago is not
//! sent on the first call (what is still queued is all unconfirmed, hence new or repeated).
//!
//! Edits (`edited_message`, `edited_channel_post`) become [`Amendment::Edited`]; the message
//! is also delivered as a post, which the store ignores when it has it, so an edit of a
//! message from before the bot joined is kept rather than lost. Telegram does not report
//! deletions in ordinary chats.
//!
//! Failures go through the shared reconnect loop ([`crate::reconnect`]): 401/404 (a revoked
//! or wrong token) stops the source with [`SourceError::Auth`]; 409 (a webhook is set, or
//! another program polls the bot) is reported as failing with what to do and retried slowly,
//! never deleting the webhook; 429 waits `retry_after`; network failures, cut answers and 5xx
//! back off per PROTOCOLS.md §0.3 (scaled by `backoff_scale`). A sink failure backs off and
//! polls again from the last stored offset.

use super::config::TelegramConfig;
use super::http::{BotApi, Failure as Problem};
use super::wire::{Heard, Update};
use crate::reconnect::{unit_jitter, Ended, Reconnect};
use crate::source::{
    jitter, stopped, Failure, Health, Hearing, Sink, SinkError, Source, SourceError,
};
use crate::stored_cursor::StoredCursor;
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::{Amendment, NewPost};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The update kinds asked for (`allowed_updates` is sticky on Telegram's side, so it is
/// always sent).
pub(crate) const ALLOWED_UPDATES: [&str; 4] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
];

/// An offset older than this is not trusted (update ids may restart after a quiet week).
const STALE_OFFSET_SECS: i64 = 6 * 24 * 3600;

/// How long a 409 (webhook set, a second poller) waits before the next try, unscaled.
const CONFLICT_WAIT: Duration = Duration::from_secs(60);

/// What the source stores as its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    v: u32,
    /// The next `update_id` wanted: the highest handed to the sink plus one.
    pub offset: i64,
    /// When it was stored (unix seconds).
    #[serde(default)]
    pub at: Option<i64>,
}

/// A stored cursor that is not one of ours reads as `None`: the source then starts afresh
/// from what Telegram still holds unconfirmed.
impl StoredCursor for Cursor {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Cursor {
    pub fn new(offset: i64) -> Self {
        Cursor {
            v: 1,
            offset,
            at: Some(chrono::Utc::now().timestamp()),
        }
    }

    fn is_stale(&self) -> bool {
        self.at
            .is_some_and(|at| chrono::Utc::now().timestamp() - at > STALE_OFFSET_SECS)
    }
}

/// Hears one bot's chats.
#[derive(Debug)]
pub struct TelegramSource {
    name: String,
    api: BotApi,
}

/// What one batch of updates holds.
#[derive(Default)]
pub(crate) struct Batch {
    posts: Vec<NewPost>,
    amendments: Vec<Amendment>,
    /// The highest `update_id` in it.
    last: Option<i64>,
}

impl Batch {
    /// Sorts one raw update into the batch: a post, an edit (also a post), or passed over
    /// (another chat, a kind earshot does not hear, unreadable).
    pub(crate) fn take(&mut self, config: &TelegramConfig, source: &str, raw: Value) {
        let Some(id) = raw.get("update_id").and_then(Value::as_i64) else {
            tracing::warn!(source = %source, "an update without update_id skipped");
            return;
        };
        self.last = Some(self.last.map_or(id, |last| last.max(id)));
        let update: Update = match serde_json::from_value(raw) {
            Ok(update) => update,
            Err(e) => {
                tracing::warn!(source = %source, update = id, error = %e, "unreadable update skipped");
                return;
            }
        };
        if !hears(config, &update) {
            return;
        }
        match update.hear(config.bot()) {
            Ok(Heard::Post(post)) => self.posts.push(post),
            Ok(Heard::Edit(amendment)) => {
                if let Amendment::Edited(post) = &amendment {
                    self.posts.push(post.clone());
                }
                self.amendments.push(amendment);
            }
            Err(NotAPost::Skipped(reason)) => {
                tracing::debug!(update = id, %reason, "skipped");
            }
            Err(NotAPost::Invalid(e)) => {
                tracing::warn!(source = %source, update = id, error = %e, "invalid message skipped");
            }
        }
    }

    /// Hands the batch to the sink with `cursor` on its last part, so a failure in between
    /// leaves the old cursor stored and the whole batch is heard again. How many messages
    /// were heard (an edit travels as a post too).
    pub(crate) async fn deliver(
        self,
        source: &str,
        sink: &dyn Sink,
        health: &Health,
        cursor: Option<String>,
    ) -> Result<usize, SinkError> {
        if self.posts.is_empty() && self.amendments.is_empty() && cursor.is_none() {
            return Ok(0);
        }
        let count = self.posts.len();
        if self.amendments.is_empty() {
            sink.deliver(source, self.posts, cursor).await?;
        } else {
            if !self.posts.is_empty() {
                sink.deliver(source, self.posts, None).await?;
            }
            sink.amend(source, self.amendments, cursor).await?;
        }
        if count > 0 {
            health.heard(count as u64);
        }
        Ok(count)
    }
}

/// Whether the update's chat is one the config hears.
fn hears(config: &TelegramConfig, update: &Update) -> bool {
    let message = [
        &update.message,
        &update.edited_message,
        &update.channel_post,
        &update.edited_channel_post,
    ]
    .into_iter()
    .find_map(Option::as_ref);
    message.is_none_or(|m| config.hears_chat(m.chat.id, m.chat.username.as_deref()))
}

impl TelegramSource {
    pub fn new(config: TelegramConfig) -> Result<Self, reqwest::Error> {
        Ok(TelegramSource {
            name: config.source_name(),
            api: BotApi::new(config)?,
        })
    }

    fn config(&self) -> &TelegramConfig {
        self.api.config()
    }

    /// One `getUpdates`, its updates sorted into posts and edits.
    async fn fetch(&self, offset: Option<i64>) -> Result<Batch, Problem> {
        let config = self.config();
        let mut params = json!({
            "limit": config.limit.clamp(1, 100),
            "timeout": config.poll_timeout.as_secs(),
            "allowed_updates": ALLOWED_UPDATES,
        });
        if let Some(offset) = offset {
            params["offset"] = json!(offset);
        }
        let result = self
            .api
            .call("getUpdates", &params, config.poll_timeout)
            .await?;
        let Value::Array(updates) = result else {
            return Err(Problem::Unclear(
                "getUpdates answered with something that is not a list of updates".into(),
            ));
        };
        let mut batch = Batch::default();
        for raw in updates {
            batch.take(config, &self.name, raw);
        }
        Ok(batch)
    }
}

#[async_trait]
impl Source for TelegramSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let problems = self.config().problems();
        if !problems.is_empty() {
            let reason = problems.join("; ");
            hearing.health.failed(&reason, None);
            return Err(SourceError::Config(reason));
        }
        let stored = hearing.sink.cursor(&self.name).await?;
        let mut offset = match stored.as_deref().map(Cursor::parse) {
            Some(Some(cursor)) if cursor.is_stale() => {
                tracing::warn!(source = %self.name, "stored offset is over six days old; asking Telegram for what it still holds");
                None
            }
            Some(Some(cursor)) => Some(cursor.offset),
            Some(None) => {
                tracing::warn!(source = %self.name, "stored cursor unreadable; starting from what Telegram still holds");
                None
            }
            None => None,
        };
        let mut reconnect =
            Reconnect::new(&self.name, "telegram polling", self.config().backoff_scale);
        loop {
            if reconnect.stopped(&hearing.stop, &hearing.health) {
                return Ok(());
            }
            let mut polling_since = None;
            let ended = match &self.config().webhook {
                // Deliveries come to the server's route (see `webhook.rs`); this watches them.
                Some(hook) => {
                    super::webhook::watch(
                        &self.api,
                        hook,
                        &hearing.health,
                        &mut polling_since,
                        &mut hearing.stop,
                    )
                    .await
                }
                None => {
                    self.poll(
                        hearing.sink.as_ref(),
                        &hearing.health,
                        &mut offset,
                        &mut polling_since,
                        &mut hearing.stop,
                    )
                    .await
                }
            };
            if let ControlFlow::Break(done) = reconnect
                .after(ended, polling_since, &hearing.health, &mut hearing.stop)
                .await
            {
                return done;
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl TelegramSource {
    /// Polls until a call fails, the sink fails or `stop`: why it ended, for the reconnect
    /// loop. `offset` moves past each stored batch; `since` is set at the first good poll.
    async fn poll(
        &self,
        sink: &dyn Sink,
        health: &Health,
        offset: &mut Option<i64>,
        since: &mut Option<Instant>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        loop {
            let batch = tokio::select! {
                fetched = self.fetch(*offset) => match fetched {
                    Ok(batch) => batch,
                    Err(problem) => return ended(problem),
                },
                _ = stopped(stop) => return Ended::Stopped,
            };
            let next = batch.last.map(|last| last + 1);
            let cursor = next.map(|next| Cursor::new(next).encode());
            if let Err(e) = batch.deliver(&self.name, sink, health, cursor).await {
                // Nothing was stored: the next poll asks from the stored offset again.
                return Ended::Sink(e);
            }
            since.get_or_insert_with(Instant::now);
            health.connected();
            match next {
                Some(next) => *offset = Some(next),
                // Long polling waits on Telegram's side; a zero `timeout` (short polling,
                // for tests) must not spin.
                None if self.config().poll_timeout.is_zero() => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        _ = stopped(stop) => return Ended::Stopped,
                    }
                }
                None => {}
            }
        }
    }
}

/// What a failed call means for the reconnect loop.
pub(crate) fn ended(problem: Problem) -> Ended {
    let (failure, reason, not_before) = match problem {
        Problem::Unauthorized(reason) => return Ended::Auth(reason),
        // A person must act (remove the webhook, stop the other poller); look again slowly
        // so the source recovers once they have.
        Problem::Conflict(reason) => {
            return Ended::Blocked {
                reason,
                wait: jitter(CONFLICT_WAIT, unit_jitter()),
            }
        }
        // Telegram's own retry_after is exact (a little jitter on top) and never scaled.
        Problem::RateLimited { wait, reason } => {
            let wait = wait + Duration::from_millis((unit_jitter() * 250.0) as u64);
            let at = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            (Failure::RateLimited, reason, Some(at))
        }
        p @ Problem::Network { .. } => (Failure::Network, p.reason(), None),
        p @ Problem::Unclear(_) => (Failure::Dropped, p.reason(), None),
        p => (Failure::Http, p.reason(), None),
    };
    Ended::Retry {
        failure,
        reason,
        not_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_is_versioned_and_old_offsets_are_not_trusted() {
        let cursor = Cursor::new(884213378);
        let encoded = cursor.encode();
        assert!(
            encoded.starts_with(r#"{"v":1,"offset":884213378,"at":"#),
            "{encoded}"
        );
        assert_eq!(Cursor::parse(&encoded), Some(cursor));
        assert!(!cursor.is_stale());
        let old = Cursor::parse(r#"{"v":1,"offset":5,"at":1000}"#).unwrap();
        assert!(old.is_stale());
        let bare = Cursor::parse(r#"{"v":1,"offset":5}"#).unwrap();
        assert!(!bare.is_stale(), "no date: trusted");
        assert_eq!(Cursor::parse(r#"{"v":2,"offset":5}"#), None);
        assert_eq!(Cursor::parse("t3_abc"), None);
    }
}
