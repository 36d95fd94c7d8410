//! What one run of the X source has handed to the sink, and the rules for handing over more:
//! shared by the stream, the gap fill and polling, which overlap by design (§0.1).
//!
//! - A post version (its id) is delivered once per run; the stream, the gap fill and a
//!   reconnect's overlap may all bring it.
//! - An edit is a new id whose `edit_history_tweet_ids[0]` is the original (§3.6). It becomes
//!   [`Amendment::Edited`] of the original key. An edit of a post this run has not delivered
//!   is delivered as a post *and* as an edit: the store keeps whichever it lacks (a new post
//!   with the newest text, or the newer text of a post stored in an earlier run). A version
//!   older than one already applied is dropped, so a late original never undoes an edit.
//! - X reports a deleted post only when asked about it: a `resource-not-found` problem for a
//!   post beside the data (e.g. the post a reply answers). That becomes
//!   [`Amendment::Deleted`].
//! - The cursor is the newest post id seen (ids compare numerically). It is passed with the
//!   last call of a batch, and the run's state moves on only after the sink acknowledged, so a
//!   failed delivery is heard again from the old cursor and nothing is lost.

use super::http::{id_cmp, newest};
use super::wire::{Problem, Tweet, User};
use crate::source::{Health, Sink, SinkError};
use crate::NotAPost;
use earshot_core::{Amendment, Network, NewPost, PostKey};
use std::collections::{HashMap, HashSet};

/// How many posts a run remembers before it forgets (a redelivery is then absorbed by the
/// store's own dedupe; memory must not grow for as long as a connector runs).
const MEMORY: usize = 50_000;

/// Posts heard together (one stream line, or every page of one search).
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub tweets: Vec<Tweet>,
    pub users: Vec<User>,
    pub problems: Vec<Problem>,
}

/// What a run has delivered.
#[derive(Debug)]
pub(crate) struct Intake {
    source: String,
    brand_user_id: String,
    /// The newest post id delivered (or skipped as not worth delivering).
    pub cursor: Option<String>,
    /// Original ids delivered as posts in this run.
    posted: HashSet<String>,
    /// Original id → the newest version id applied.
    latest: HashMap<String, String>,
    /// Version id → original id, to name a deleted version by its key.
    versions: HashMap<String, String>,
    deleted: HashSet<String>,
}

impl Intake {
    pub(crate) fn new(source: &str, brand_user_id: &str, cursor: Option<String>) -> Intake {
        Intake {
            source: source.to_owned(),
            brand_user_id: brand_user_id.to_owned(),
            cursor,
            posted: HashSet::new(),
            latest: HashMap::new(),
            versions: HashMap::new(),
            deleted: HashSet::new(),
        }
    }

    /// Hands what is new in `batch` to the sink (posts first, then amendments) and moves the
    /// run's state on once the sink has acknowledged.
    pub(crate) async fn take(
        &mut self,
        batch: Batch,
        sink: &dyn Sink,
        health: &Health,
    ) -> Result<(), SinkError> {
        let Batch {
            mut tweets,
            users,
            problems,
        } = batch;
        tweets.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let mut cursor = self.cursor.clone();
        let mut posts: Vec<NewPost> = Vec::new();
        let mut new_keys: Vec<String> = Vec::new();
        let mut edits: Vec<Amendment> = Vec::new();
        // (original id, version id) applied by this batch, oldest first.
        let mut applied: Vec<(String, String)> = Vec::new();
        let mut in_batch: HashSet<String> = HashSet::new();
        for tweet in tweets {
            if tweet.id.is_empty() || !in_batch.insert(tweet.id.clone()) {
                continue;
            }
            cursor = newest(cursor, &tweet.id);
            let key = tweet.stable_id().to_owned();
            let version = tweet.id.clone();
            let newest_known = applied
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)
                .or_else(|| self.latest.get(&key));
            if newest_known.is_some_and(|v| id_cmp(&version, v).is_le()) {
                continue; // Delivered already, or older than what was applied.
            }
            let mut post = match tweet.into_new_post(&users) {
                Ok(post) => post,
                Err(NotAPost::Skipped(reason)) => {
                    tracing::debug!(post = %version, %reason, "skipped");
                    continue;
                }
                Err(NotAPost::Invalid(e)) => {
                    tracing::warn!(source = %self.source, post = %version, error = %e, "invalid post skipped");
                    continue;
                }
            };
            if !self.brand_user_id.is_empty() && post.author.external_id == self.brand_user_id {
                post.from_brand = Some(true);
            }
            if !self.posted.contains(&key) && !new_keys.contains(&key) {
                posts.push(post.clone());
                new_keys.push(key.clone());
            }
            if version != key {
                edits.push(Amendment::Edited(post));
            }
            applied.push((key, version));
        }
        let mut deletes: Vec<String> = Vec::new();
        for problem in &problems {
            if let Some(id) = problem.deleted_post() {
                let key = self
                    .versions
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.to_owned());
                if !self.deleted.contains(&key) && !deletes.contains(&key) {
                    deletes.push(key);
                }
            }
        }
        let mut amendments = edits;
        amendments.extend(
            deletes
                .iter()
                .map(|k| Amendment::Deleted(PostKey::new(Network::X, k.clone()))),
        );

        if posts.is_empty() && amendments.is_empty() {
            // Nothing to store (repeats, reposts): remember how far we read, store it later
            // with the next delivery.
            self.cursor = cursor;
            return Ok(());
        }
        if !posts.is_empty() {
            let count = posts.len() as u64;
            // With amendments to follow, the cursor waits for them: it must not cover an edit
            // the sink has not applied.
            let with_cursor = if amendments.is_empty() {
                cursor.clone()
            } else {
                None
            };
            sink.deliver(&self.source, posts, with_cursor).await?;
            self.forget_if_full();
            self.posted.extend(new_keys);
            health.heard(count);
        }
        if !amendments.is_empty() {
            let count = amendments.len() as u64;
            sink.amend(&self.source, amendments, cursor.clone()).await?;
            self.deleted.extend(deletes);
            health.heard(count);
        }
        for (key, version) in applied {
            self.versions.insert(version.clone(), key.clone());
            self.latest.insert(key, version);
        }
        self.cursor = cursor;
        Ok(())
    }

    fn forget_if_full(&mut self) {
        if self.versions.len() > MEMORY || self.posted.len() > MEMORY {
            self.posted.clear();
            self.latest.clear();
            self.versions.clear();
            self.deleted.clear();
        }
    }
}
