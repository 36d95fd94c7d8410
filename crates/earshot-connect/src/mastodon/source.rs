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
//! (the very first start) the backfill takes the newest `history` mentions (default 40), so a
//! new install shows recent history; `history = 0` starts from now.
//!
//! The stream is SSE or the WebSocket variant as `transport` says (see `stream.rs`). A `delete`
//! event becomes [`Amendment::Deleted`]; the store ignores ids it never heard.
//!
//! A stall (no byte, not even `:thump`, for `stall_timeout`) or a drop reconnects through
//! [`Backoff`]; 429 waits until `X-RateLimit-Reset`; 401/403 stop the source with
//! [`SourceError::Auth`] after marking the health `Failing`.

use super::config::MastodonConfig;
use super::conn::{drive, Ended, Listener, Pager, DELIVERED_MEMORY};
use super::http::id_cmp;
use super::stream::{Channel, SseEvent};
use super::wire::Notification;
use crate::source::{Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::{Amendment, Network, NewPost, PostKey};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Hears the brand account's mentions on one instance.
#[derive(Debug)]
pub struct MastodonSource {
    name: String,
    config: MastodonConfig,
    client: reqwest::Client,
    deletes_seen: AtomicU64,
}

/// What one run remembers across reconnects.
pub(super) struct RunState {
    sink: Arc<dyn Sink>,
    health: Health,
    cursor: Option<String>,
    delivered: HashSet<String>,
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

    /// `delete` events seen on the stream (each passed on as [`Amendment::Deleted`]).
    pub fn deletes_seen(&self) -> u64 {
        self.deletes_seen.load(Ordering::Relaxed)
    }

    fn pager(&self) -> Pager<'_> {
        Pager {
            client: &self.client,
            config: &self.config,
            endpoint: self.config.api_url("/api/v1/notifications"),
            filter: "types[]=mention",
            what: "notifications",
        }
    }

    async fn on_event(&self, event: SseEvent, state: &mut RunState) -> Result<(), Ended> {
        match event.name.as_str() {
            "notification" => match serde_json::from_str::<Notification>(&event.data) {
                Ok(n) => self.deliver(vec![n], state).await,
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "unreadable notification");
                    Ok(())
                }
            },
            "delete" => {
                self.deletes_seen.fetch_add(1, Ordering::Relaxed);
                let id = event.data.trim().trim_matches('"').to_owned();
                if id.is_empty() || !state.delivered.insert(format!("delete:{id}")) {
                    return Ok(());
                }
                let deleted = Amendment::Deleted(PostKey::new(Network::Mastodon, id));
                state
                    .sink
                    .amend(&self.name, vec![deleted], state.cursor.clone())
                    .await
                    .map_err(Ended::Sink)
            }
            // The server merged filtered notifications in: fetch them (§1.3).
            "notifications_merged" => self.backfill(state).await,
            _ => Ok(()),
        }
    }

    /// Pages forward from the cursor with `min_id` until an empty page; with no cursor yet,
    /// takes the newest `history` mentions first.
    async fn backfill(&self, state: &mut RunState) -> Result<(), Ended> {
        let pager = self.pager();
        if state.cursor.is_none() {
            if self.config.history == 0 {
                // Start from now: remember where "now" is without delivering it.
                let newest: Vec<Notification> = pager.page(1, None).await?;
                if let Some(n) = newest.first() {
                    state.delivered.insert(n.id.clone());
                    state
                        .sink
                        .deliver(&self.name, Vec::new(), Some(n.id.clone()))
                        .await
                        .map_err(Ended::Sink)?;
                    state.cursor = Some(n.id.clone());
                }
            } else {
                let history: Vec<Notification> = pager.newest(self.config.history).await?;
                self.deliver(history, state).await?;
            }
        }
        while let Some(cursor) = state.cursor.clone() {
            let page: Vec<Notification> = pager.after(&cursor).await?;
            if page.is_empty() {
                break;
            }
            self.deliver(page, state).await?;
            if state.cursor.as_deref() == Some(cursor.as_str()) {
                // A server that ignores `min_id` would page forever.
                break;
            }
        }
        Ok(())
    }

    /// Delivers the mentions in `notifications` not yet delivered in this run, oldest first,
    /// with the highest id as the cursor.
    async fn deliver(
        &self,
        mut notifications: Vec<Notification>,
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
            let from_brand = n
                .status
                .as_ref()
                .is_some_and(|s| self.config.is_brand(&s.account.acct));
            match n.into_new_post() {
                Ok(mut post) => {
                    if from_brand {
                        post.from_brand = Some(true);
                    }
                    posts.push(post)
                }
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
        state
            .sink
            .deliver(&self.name, posts, cursor.clone())
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
            state.health.heard(count);
        }
        Ok(())
    }
}

#[async_trait]
impl Listener for MastodonSource {
    type State = RunState;

    fn name(&self) -> &str {
        &self.name
    }

    fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn config(&self) -> &MastodonConfig {
        &self.config
    }

    fn channel(&self) -> Channel<'_> {
        Channel::Notifications
    }

    async fn catch_up(&self, state: &mut Self::State) -> Result<(), Ended> {
        self.backfill(state).await
    }

    async fn on_event(&self, event: SseEvent, state: &mut Self::State) -> Result<(), Ended> {
        MastodonSource::on_event(self, event, state).await
    }
}

#[async_trait]
impl Source for MastodonSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let state = RunState {
            cursor: hearing.sink.cursor(&self.name).await?,
            sink: hearing.sink,
            health: hearing.health.clone(),
            delivered: HashSet::new(),
        };
        drive(self, state, &hearing.health, &mut hearing.stop).await
    }

    fn name(&self) -> &str {
        &self.name
    }
}
