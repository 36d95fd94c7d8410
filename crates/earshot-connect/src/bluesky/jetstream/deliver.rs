//! Delivering what a Jetstream run heard: the batch (posts and amendments in the order heard,
//! the cursor, what to undo if the delivery fails), enriched with the authors' reach, and the
//! slow REST reconciliation of the brand's notifications.

use super::{BlueskySource, RunState, MIN_PERIOD, RATE_LIMIT_PAUSE};
use crate::bluesky::config::BlueskyConfig;
use crate::bluesky::memory::{post_key, text_key};
use crate::bluesky::wire::Notifications;
use crate::bluesky::xrpc::CallError;
use crate::reconnect::Ended;
use crate::source::{Health, Sink, SinkError};
use crate::NotAPost;
use chrono::Utc;
use earshot_core::{Amendment, NewPost};
use std::time::{Duration, Instant};

/// What was heard since the last delivery.
pub(super) struct Batch {
    pub(super) items: Vec<Item>,
    /// Memory changes to undo if the delivery fails, so the replay is heard again.
    pub(super) undo: Vec<Undo>,
    /// The highest `time_us` heard (all events up to here are processed).
    pub(super) cursor: Option<i64>,
    pub(super) events: usize,
    pub(super) first_item_at: Option<Instant>,
    pub(super) started: Instant,
}

pub(super) enum Item {
    Post(NewPost),
    Amend(Amendment),
}

pub(super) enum Undo {
    Delivered(u64, Option<u64>),
    Deleted(u64),
}

impl Batch {
    pub(super) fn new(cursor: Option<i64>) -> Self {
        Batch {
            items: Vec::new(),
            undo: Vec::new(),
            cursor,
            events: 0,
            first_item_at: None,
            started: Instant::now(),
        }
    }

    pub(super) fn push(&mut self, item: Item) {
        self.first_item_at.get_or_insert_with(Instant::now);
        self.items.push(item);
    }

    /// When the batch must be delivered even if frames keep coming.
    pub(super) fn deadline(&self, config: &BlueskyConfig, stored: Option<i64>) -> Option<Instant> {
        match self.first_item_at {
            Some(first) => Some(first + config.batch_window.max(MIN_PERIOD)),
            None if self.cursor != stored => {
                Some(self.started + config.cursor_interval.max(MIN_PERIOD))
            }
            None => None,
        }
    }
}

impl BlueskySource {
    /// Delivers the batch in the order heard (posts before their amendments), with the cursor
    /// on the last call; starts a new batch. On failure, forgets what the batch would have
    /// delivered so that the replay after the reconnect is heard again.
    pub(super) async fn flush(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        batch: &mut Batch,
    ) -> Result<(), Ended> {
        let taken = std::mem::replace(batch, Batch::new(batch.cursor));
        let Batch {
            mut items,
            undo,
            cursor,
            ..
        } = taken;
        let cursor = cursor.filter(|c| Some(*c) != state.stored);
        if items.is_empty() && cursor.is_none() {
            return Ok(());
        }
        self.add_reach(&mut items).await;
        let heard = items.len() as u64;
        match self.deliver_in_order(sink, items, cursor).await {
            Ok(()) => {
                if cursor.is_some() {
                    state.stored = cursor;
                }
                if heard > 0 {
                    health.heard(heard);
                }
                Ok(())
            }
            Err(e) => {
                for u in undo.into_iter().rev() {
                    match u {
                        Undo::Delivered(key, previous) => state.delivered.restore(key, previous),
                        Undo::Deleted(key) => state.deleted.restore(key, None),
                    }
                }
                *batch = Batch::new(state.stored);
                Err(Ended::Sink(e))
            }
        }
    }

    pub(super) async fn deliver_in_order(
        &self,
        sink: &dyn Sink,
        items: Vec<Item>,
        cursor: Option<i64>,
    ) -> Result<(), SinkError> {
        let cursor = cursor.map(|c| c.to_string());
        if items.is_empty() {
            return sink.deliver(&self.name, Vec::new(), cursor).await;
        }
        // Consecutive runs of posts and of amendments, in the order heard; the cursor goes
        // with the last run only, so it never covers something not yet delivered.
        let mut items = items.into_iter().peekable();
        let mut posts = Vec::new();
        let mut amendments = Vec::new();
        while let Some(item) = items.next() {
            let is_post = matches!(item, Item::Post(_));
            match item {
                Item::Post(p) => posts.push(p),
                Item::Amend(a) => amendments.push(a),
            }
            let run_goes_on = matches!(
                (items.peek(), is_post),
                (Some(Item::Post(_)), true) | (Some(Item::Amend(_)), false)
            );
            if run_goes_on {
                continue;
            }
            let run_cursor = if items.peek().is_none() {
                cursor.clone()
            } else {
                None
            };
            if is_post {
                sink.deliver(&self.name, std::mem::take(&mut posts), run_cursor)
                    .await?;
            } else {
                sink.amend(&self.name, std::mem::take(&mut amendments), run_cursor)
                    .await?;
            }
        }
        Ok(())
    }

    /// Handles, names and follower counts for the authors in `items`, within the time box.
    pub(super) async fn add_reach(&self, items: &mut [Item]) {
        let mut dids: Vec<&str> = Vec::new();
        for item in items.iter() {
            if let Item::Post(p) | Item::Amend(Amendment::Edited(p)) = item {
                if !dids.contains(&p.author.external_id.as_str()) {
                    dids.push(&p.author.external_id);
                }
            }
        }
        if dids.is_empty() {
            return;
        }
        let profiles = self.reach.profiles(&dids).await;
        for item in items.iter_mut() {
            if let Item::Post(p) | Item::Amend(Amendment::Edited(p)) = item {
                if let Some(profile) = profiles.get(&p.author.external_id) {
                    if !profile.handle.is_empty() && profile.handle != "handle.invalid" {
                        p.author.handle = profile.handle.clone();
                    }
                    p.author.display_name = profile.display_name.clone();
                    p.author.followers = profile.followers;
                }
            }
        }
    }

    /// Reads the brand's latest mentions and replies over REST and delivers those the stream
    /// did not. Only a refused app password or a failing sink ends the connection.
    pub(super) async fn reconcile_if_due(
        &self,
        sink: &dyn Sink,
        health: &Health,
        state: &mut RunState,
        on_connect: bool,
    ) -> Result<(), Ended> {
        let (Some(session), Some(interval)) = (&self.session, self.config.reconcile_interval)
        else {
            return Ok(());
        };
        let now = Instant::now();
        // A rate limit is honoured even on connect; otherwise a connect reconciles at once.
        if state.rate_limited_until.is_some_and(|until| until > now) {
            return Ok(());
        }
        if !on_connect && state.next_reconcile.is_some_and(|at| at > now) {
            return Ok(());
        }
        state.next_reconcile = Some(now + interval.max(MIN_PERIOD));
        let page = self.config.notification_page.clamp(1, 100).to_string();
        let answer = session
            .call("reading notifications", |client, pds| {
                client
                    .get(BlueskyConfig::xrpc(
                        pds,
                        "app.bsky.notification.listNotifications",
                    ))
                    .query(&[
                        ("reasons", "mention"),
                        ("reasons", "reply"),
                        ("reasons", "quote"),
                        ("limit", page.as_str()),
                    ])
            })
            .await
            .and_then(|a| a.json::<Notifications>("reading notifications"));
        let notifications = match answer {
            Ok(n) => n.notifications,
            Err(CallError::Refused(reason)) => return Err(Ended::Auth(reason)),
            Err(CallError::RateLimited { until, reason }) => {
                let wait = until
                    .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(RATE_LIMIT_PAUSE);
                tracing::warn!(source = %self.name, error = %reason, wait_ms = wait.as_millis() as u64, "bluesky notifications rate-limited; waiting for the reset");
                let until = Instant::now() + wait;
                state.rate_limited_until = Some(until);
                state.next_reconcile = Some(until);
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(source = %self.name, error = %e, "bluesky reconciliation failed; trying again later");
                return Ok(());
            }
        };
        let mut posts = Vec::new();
        let mut undo = Vec::new();
        // Oldest first, as heard.
        for n in notifications.into_iter().rev() {
            let Some((did, rkey)) = crate::bluesky::wire::parse_post_uri(&n.uri) else {
                continue;
            };
            let key = post_key(did, rkey);
            if state.delivered.contains(key) || state.deleted.contains(key) {
                continue;
            }
            let (author, version) = (text_key(did), text_key(&n.cid));
            match n.into_new_post() {
                Ok(mut post) => {
                    if state.brand.is_brand(&post.author.external_id) {
                        post.from_brand = Some(true);
                    }
                    undo.push((key, state.delivered.insert(key, version)));
                    state.authors.insert(author, 0);
                    posts.push(post);
                }
                Err(NotAPost::Skipped(reason)) => tracing::debug!(%reason, "skipped"),
                Err(NotAPost::Invalid(error)) => {
                    tracing::warn!(source = %self.name, %error, "broken notification skipped")
                }
            }
        }
        if posts.is_empty() {
            return Ok(());
        }
        let mut items: Vec<Item> = posts.into_iter().map(Item::Post).collect();
        self.add_reach(&mut items).await;
        let posts: Vec<NewPost> = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Post(p) => Some(p),
                Item::Amend(_) => None,
            })
            .collect();
        let count = posts.len() as u64;
        tracing::info!(source = %self.name, count, "reconciliation found posts the stream had not delivered");
        // No cursor: these did not come from the stream.
        if let Err(e) = sink.deliver(&self.name, posts, None).await {
            for (key, previous) in undo.into_iter().rev() {
                state.delivered.restore(key, previous);
            }
            return Err(Ended::Sink(e));
        }
        health.heard(count);
        Ok(())
    }
}
