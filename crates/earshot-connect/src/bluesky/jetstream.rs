//! Hearing Bluesky live: Jetstream v1 `/subscribe` (PROTOCOLS.md §2.2) filtered to the posts
//! that concern the brand, plus a slow REST reconciliation of the brand's notifications.
//!
//! **Cursor.** Every event carries `time_us`. A batch is delivered with the highest `time_us`
//! heard so far, so the stored cursor never passes an event that was not processed. A
//! (re)connect resumes at the stored cursor minus `cursor_rewind`, because Jetstream reorders
//! events across repositories at the replay/live cutover; the replayed overlap is dropped by
//! the run's memory of what it delivered (and by the store across runs). A run that has
//! stored nothing yet tails live and, after a drop, resumes from when it first connected.
//!
//! **Batches.** Frames are read as fast as they come; a heard post is delivered as soon as the
//! socket has nothing more ready (or `batch_size` events / `batch_window` have passed), so it
//! reaches the inbox within milliseconds, while the cursor alone is stored every
//! `cursor_interval` or `batch_size` events.
//!
//! **What is heard.** Creates that concern the brand become posts; updates become
//! [`Amendment::Edited`] (an update to an unseen post that concerns the brand is delivered as
//! a post first, in case the store never saw it); deletes become [`Amendment::Deleted`] when the
//! post could be ours to know (delivered in this run, by an author heard in this run, or by
//! the brand). A delete that overtakes its create buries the create. Identity events refresh
//! the author's cached profile; account events and other collections are skipped.
//!
//! **Failures.** A cut-off frame, a close, a stall (no frame, not even a pong to our pings, for
//! `stall_timeout`) or a failed delivery to the sink reconnects through [`Backoff`](crate::source::Backoff); a broken
//! frame is skipped with a warning. Reconciliation (`listNotifications`, every
//! `reconcile_interval` and on each connect) catches what a silent instance missed; a refused
//! app password stops the source with [`SourceError::Auth`]; 429 waits for `RateLimit-Reset`.
//!
//! Files: this one (connecting, reading frames, hearing events) and `jetstream/deliver.rs`
//! (the batch, its delivery with reach, and the reconciliation).

use super::brand::{BrandMatcher, BrandTermsError, Scratch};
use super::config::BlueskyConfig;
use super::hear::{build_post, hear, Operation, What};
use super::memory::{post_key, text_key, Recent};
use super::reach::{get_profiles, Reach};
use super::session::BlueskySession;
use super::wire::post_uri;
use super::xrpc::rate_limit_reset;
use crate::reconnect::{Ended, Reconnect};
use crate::source::{Failure, Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::{Amendment, Network, PostKey};
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

mod deliver;

use deliver::{Batch, Item, Undo};

/// How many delivered posts, deletes and authors a run remembers.
const MEMORY: usize = 100_000;

/// The shortest period honoured for any configured timing (a zero would spin).
const MIN_PERIOD: Duration = Duration::from_millis(5);

/// How long to leave reconciliation alone after a 429 without a reset time.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// Jetstream's replay window: an older cursor is silently clamped to the oldest event kept.
const REPLAY_WINDOW: Duration = Duration::from_secs(36 * 3600);

/// Why the source could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BlueskySourceError {
    #[error(transparent)]
    BrandTerms(#[from] BrandTermsError),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Hears the posts that concern one brand on Bluesky.
#[derive(Debug)]
pub struct BlueskySource {
    name: String,
    config: BlueskyConfig,
    brand: BrandMatcher,
    /// The brand account's session, for reconciliation; `None` when that is turned off.
    session: Option<Arc<BlueskySession>>,
    client: reqwest::Client,
    reach: Reach,
}

fn dropped(reason: String) -> Ended {
    Ended::dropped(reason)
}

/// What one run remembers across reconnects.
struct RunState {
    brand: BrandMatcher,
    scratch: Scratch,
    /// The last cursor the sink stored.
    stored: Option<i64>,
    /// When a run without a stored cursor first connected: where it resumes after a drop.
    first_connected_us: Option<i64>,
    /// Posts delivered: post key → cid hash.
    delivered: Recent,
    /// Posts whose delete was heard.
    deleted: Recent,
    /// Authors whose posts were delivered (their deletes matter).
    authors: Recent,
    connected_at: Option<Instant>,
    /// When reconciliation runs next.
    next_reconcile: Option<Instant>,
    /// No reconciliation before this (the PDS said 429).
    rate_limited_until: Option<Instant>,
}

impl BlueskySource {
    /// A source with its own session (created when reconciliation first needs it).
    pub fn new(config: BlueskyConfig) -> Result<Self, BlueskySourceError> {
        let session = match config.reconcile_interval {
            Some(_) => Some(Arc::new(BlueskySession::new(&config)?)),
            None => None,
        };
        Self::build(config, session)
    }

    /// A source that shares `session` (with a responder, say), so the account logs in once.
    pub fn with_session(
        config: BlueskyConfig,
        session: Arc<BlueskySession>,
    ) -> Result<Self, BlueskySourceError> {
        Self::build(config, Some(session))
    }

    fn build(
        config: BlueskyConfig,
        session: Option<Arc<BlueskySession>>,
    ) -> Result<Self, BlueskySourceError> {
        let brand = BrandMatcher::new(&config.handles(), &config.brand_dids, &config.keywords)?;
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()?;
        Ok(BlueskySource {
            name: config.source_name(),
            reach: Reach::new(&config, client.clone()),
            config,
            brand,
            session,
            client,
        })
    }

    /// Fills in the brand's DIDs from its handles when the config names none (mentions are
    /// matched by DID, because handles change). Best effort: retried on the next connect.
    async fn resolve_brand(&self, state: &mut RunState) {
        if !state.brand.dids().is_empty() {
            return;
        }
        let handles = self.config.handles();
        if handles.is_empty() {
            return;
        }
        let actors: Vec<&str> = handles.iter().map(String::as_str).collect();
        match get_profiles(&self.client, &self.config.appview_url, &actors).await {
            Ok(profiles) => {
                let dids: Vec<String> = profiles.into_iter().map(|p| p.did).collect();
                tracing::info!(source = %self.name, dids = ?dids, "bluesky brand DIDs resolved");
                state.brand.set_dids(&dids);
            }
            Err(e) => tracing::warn!(source = %self.name, error = %e,
                "could not resolve the brand's DIDs; matching @handles and terms only for now"),
        }
    }

    /// Where a (re)connect resumes.
    fn resume_at(&self, state: &RunState) -> Option<i64> {
        let rewind = i64::try_from(self.config.cursor_rewind.as_micros()).unwrap_or(i64::MAX);
        state
            .stored
            .or(state.first_connected_us)
            .map(|c| c.saturating_sub(rewind).max(0))
    }

    async fn connect_once(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        self.resolve_brand(state).await;
        let resume = self.resume_at(state);
        if let Some(cursor) = resume {
            let age = Utc::now().timestamp_micros().saturating_sub(cursor);
            if age > i64::try_from(REPLAY_WINDOW.as_micros()).unwrap_or(i64::MAX) {
                tracing::warn!(source = %self.name, cursor,
                    "the stored cursor is older than Jetstream's replay window; events in between are lost (reconciliation still catches mentions)");
            }
        }
        let url = self.config.subscribe_url(resume);
        let opened = tokio::time::timeout(
            self.config.request_timeout.max(MIN_PERIOD),
            tokio_tungstenite::connect_async_with_config(url.as_str(), None, true),
        )
        .await;
        let socket = match opened {
            Err(_) => {
                return Ended::Retry {
                    failure: Failure::Network,
                    reason: "opening Jetstream timed out".into(),
                    not_before: None,
                }
            }
            Ok(Err(e)) => return handshake_failed(e),
            Ok(Ok((socket, _))) => socket,
        };
        if state.stored.is_none() && state.first_connected_us.is_none() {
            state.first_connected_us = Some(Utc::now().timestamp_micros());
        }
        health.connected();
        state.connected_at = Some(Instant::now());
        tracing::info!(source = %self.name, cursor = ?resume, "jetstream connected");
        let (mut write, mut read) = socket.split();

        let mut batch = Batch::new(state.stored);
        if let Err(ended) = self.reconcile_if_due(sink, health, state, true).await {
            return ended;
        }
        let stall_timeout = self.config.stall_timeout.max(MIN_PERIOD);
        let mut last_heard = Instant::now();
        let mut ping = tokio::time::interval(self.config.ping_interval.max(MIN_PERIOD));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await; // The first tick is immediate.
        loop {
            let flush_at = batch.deadline(&self.config, state.stored);
            let reconcile_at = state.next_reconcile.filter(|_| self.session.is_some());
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        // Deliver what was heard; if the store is down it is heard again on restart.
                        let _ = self.flush(sink, health, state, &mut batch).await;
                        return Ended::Stopped;
                    }
                }
                read_result = tokio::time::timeout_at((last_heard + stall_timeout).into(), read.next()) => {
                    let mut next = match read_result {
                        Err(_) => Some(Err(format!(
                            "stream stalled: nothing heard (not even a pong) for {stall_timeout:?}"))),
                        Ok(None) => Some(Err("connection closed without a close frame".to_owned())),
                        Ok(Some(Err(e))) => Some(Err(format!("connection broke: {e}"))),
                        Ok(Some(Ok(message))) => Some(Ok(message)),
                    };
                    last_heard = Instant::now();
                    // Read everything already here before delivering, up to the batch bounds.
                    while let Some(result) = next.take() {
                        let ended = match result {
                            Ok(message) => self.on_message(message, state, &mut batch),
                            Err(reason) => Some(dropped(reason)),
                        };
                        if let Some(ended) = ended {
                            let _ = self.flush(sink, health, state, &mut batch).await;
                            return ended;
                        }
                        let window_over = batch.first_item_at.is_some_and(|t| t.elapsed() >= self.config.batch_window);
                        if batch.events >= self.config.batch_size.max(1) || window_over {
                            break;
                        }
                        next = match read.next().now_or_never() {
                            None => None,
                            Some(None) => Some(Err("connection closed without a close frame".to_owned())),
                            Some(Some(Err(e))) => Some(Err(format!("connection broke: {e}"))),
                            Some(Some(Ok(message))) => Some(Ok(message)),
                        };
                    }
                    // The socket is drained (or the batch is full): a heard post goes out now.
                    let cursor_due = batch.events >= self.config.batch_size.max(1)
                        || batch.started.elapsed() >= self.config.cursor_interval;
                    if !batch.items.is_empty() || cursor_due {
                        if let Err(ended) = self.flush(sink, health, state, &mut batch).await {
                            return ended;
                        }
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = write.send(Message::Ping(b"earshot"[..].into())).await {
                        let _ = self.flush(sink, health, state, &mut batch).await;
                        return dropped(format!("sending a ping failed: {e}"));
                    }
                }
                _ = sleep_until(flush_at), if flush_at.is_some() => {
                    if let Err(ended) = self.flush(sink, health, state, &mut batch).await {
                        return ended;
                    }
                }
                _ = sleep_until(reconcile_at), if reconcile_at.is_some() => {
                    if let Err(ended) = self.flush(sink, health, state, &mut batch).await {
                        return ended;
                    }
                    if let Err(ended) = self.reconcile_if_due(sink, health, state, false).await {
                        return ended;
                    }
                }
            }
        }
    }

    /// Handles one WebSocket message; `Some` when the connection is over.
    fn on_message(
        &self,
        message: Message,
        state: &mut RunState,
        batch: &mut Batch,
    ) -> Option<Ended> {
        match message {
            Message::Text(text) => {
                self.on_frame(text.as_str(), state, batch);
                None
            }
            Message::Binary(_) => {
                tracing::warn!(source = %self.name, "binary (compressed?) Jetstream frame skipped; compression was not asked for");
                None
            }
            Message::Close(frame) => {
                let (code, reason) = frame
                    .map(|f| (f.code, f.reason.to_string()))
                    .unwrap_or((CloseCode::Status, String::new()));
                let failure = match code {
                    // Our request was refused, or the server is overloaded: do not hammer it.
                    CloseCode::Policy
                    | CloseCode::Unsupported
                    | CloseCode::Size
                    | CloseCode::Error
                    | CloseCode::Again => Failure::Http,
                    _ => Failure::Dropped,
                };
                Some(Ended::Retry {
                    failure,
                    reason: format!(
                        "Jetstream closed the connection ({}): {reason}",
                        u16::from(code)
                    ),
                    not_before: None,
                })
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => None,
        }
    }

    /// Decides what one frame means for the brand and adds it to the batch.
    fn on_frame(&self, frame: &str, state: &mut RunState, batch: &mut Batch) {
        let heard = hear(frame, &state.brand, &mut state.scratch);
        batch.events += 1;
        match heard.what {
            What::Nothing => {}
            What::Unreadable(error) => {
                tracing::warn!(source = %self.name, %error, "unreadable Jetstream frame skipped");
            }
            What::Identity { did } => self.reach.forget(&did),
            What::Deleted { did, rkey } => {
                let key = post_key(&did, &rkey);
                if state.deleted.insert(key, 0).is_none() {
                    batch.undo.push(Undo::Deleted(key));
                    let ours_to_know = state.delivered.contains(key)
                        || state.authors.contains(text_key(&did))
                        || state.brand.is_brand(&did);
                    if ours_to_know {
                        batch.push(Item::Amend(Amendment::Deleted(PostKey::new(
                            Network::Bluesky,
                            post_uri(&did, &rkey),
                        ))));
                    }
                }
            }
            What::Post {
                operation,
                did,
                rkey,
                cid,
                concerns_brand,
            } => {
                let key = post_key(&did, &rkey);
                let version = text_key(&cid);
                if state.deleted.contains(key) {
                    return; // The delete overtook it.
                }
                let known = state.delivered.get(key);
                let (as_post, as_edit) = match (operation, known) {
                    (_, Some(v)) if v == version => return, // Redelivered.
                    (Operation::Create, Some(_)) => return, // An older version, after its update.
                    (Operation::Update, Some(_)) => (false, true),
                    (Operation::Create, None) => (concerns_brand, false),
                    (Operation::Update, None) if concerns_brand => (true, true),
                    (Operation::Update, None) => (false, state.authors.contains(text_key(&did))),
                };
                if !as_post && !as_edit {
                    return;
                }
                let mut post = match build_post(frame) {
                    Ok(post) => post,
                    Err(NotAPost::Skipped(reason)) => {
                        tracing::debug!(source = %self.name, %reason, "skipped");
                        return;
                    }
                    Err(NotAPost::Invalid(error)) => {
                        tracing::warn!(source = %self.name, %error, "broken post record skipped");
                        return;
                    }
                };
                if state.brand.is_brand(&did) {
                    post.from_brand = Some(true);
                }
                let previous = state.delivered.insert(key, version);
                batch.undo.push(Undo::Delivered(key, previous));
                state.authors.insert(text_key(&did), 0);
                if as_post && as_edit {
                    batch.push(Item::Post(post.clone()));
                    batch.push(Item::Amend(Amendment::Edited(post)));
                } else if as_post {
                    batch.push(Item::Post(post));
                } else {
                    batch.push(Item::Amend(Amendment::Edited(post)));
                }
            }
        }
        if let Some(t) = heard.time_us {
            batch.cursor = Some(batch.cursor.map_or(t, |c| c.max(t)));
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Maps a failed WebSocket opening: an HTTP answer is judged by its status, anything else is
/// the network.
fn handshake_failed(error: tungstenite::Error) -> Ended {
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| crate::de::shorten(String::from_utf8_lossy(b).trim()).to_owned())
                .unwrap_or_default();
            let reason = format!("Jetstream answered HTTP {}: {body}", status.as_u16());
            if status.as_u16() == 429 {
                let headers = response.headers();
                Ended::Retry {
                    failure: Failure::RateLimited,
                    reason,
                    not_before: rate_limit_reset(
                        |name| headers.get(name).and_then(|v| v.to_str().ok()),
                        Utc::now(),
                    ),
                }
            } else {
                Ended::Retry {
                    failure: Failure::Http,
                    reason,
                    not_before: None,
                }
            }
        }
        other => Ended::Retry {
            failure: Failure::Network,
            reason: format!("opening Jetstream: {other}"),
            not_before: None,
        },
    }
}

#[async_trait]
impl Source for BlueskySource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let stored = match hearing.sink.cursor(&self.name).await? {
            Some(c) => match c.trim().parse::<i64>() {
                Ok(c) => Some(c),
                Err(_) => {
                    tracing::warn!(source = %self.name, cursor = %c, "stored cursor is not a Jetstream time_us; tailing live");
                    None
                }
            },
            None => None,
        };
        let mut state = RunState {
            brand: self.brand.clone(),
            scratch: Scratch::default(),
            stored,
            first_connected_us: None,
            delivered: Recent::new(MEMORY),
            deleted: Recent::new(MEMORY),
            authors: Recent::new(MEMORY),
            connected_at: None,
            next_reconcile: None,
            rate_limited_until: None,
        };
        let mut reconnect = Reconnect::new(&self.name, "jetstream", self.config.backoff_scale);
        loop {
            if reconnect.stopped(&hearing.stop, &hearing.health) {
                return Ok(());
            }
            let ended = self
                .connect_once(
                    hearing.sink.as_ref(),
                    &hearing.health,
                    &mut state,
                    &mut hearing.stop,
                )
                .await;
            let connected_at = state.connected_at.take();
            if let ControlFlow::Break(done) = reconnect
                .after(ended, connected_at, &hearing.health, &mut hearing.stop)
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
