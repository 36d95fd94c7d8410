//! What the review-like networks share (App Store and Google Play reviews, YouTube comments):
//! none has a "since" cursor, so each walk reads the newest items down to the newest one seen
//! minus an overlap, and the [`Cursor`] remembers, for every item inside the overlap, a mark
//! of the version heard (a hash of the text, or the item's own modification time). An item not
//! in the marks is new; one whose mark moved was edited; an unchanged one is passed over.
//!
//! A [`Walk`] is delivered with the cursor on its last part, so a walk cut short (a failed
//! page, a failing store) stores nothing and the next one repeats it: no gaps, no doubles.
//! Also here: the star rating as a post's first words ([`stars`]) and the bounded memory of
//! reply keys answered ([`SentKeys`]).

use crate::problem::Problem;
use crate::reconnect::{Ended, Reconnect};
use crate::source::{stopped, Failure, Health, Hearing, Sink, SinkError, SourceError};
use crate::stored_cursor::{StoredCursor, VERSION};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::{Amendment, Network, NewPost, PostKey, Reply, ReplyTarget};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// What a walk's source stores as its cursor: `{"v":1,"newest":<RFC 3339>,"marks":{id:[mark,
/// unix seconds]}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    v: u32,
    /// The newest time handed to the sink.
    pub newest: Option<DateTime<Utc>>,
    /// Item id → (mark of the version heard, its time in unix seconds), for the items
    /// inside the overlap.
    #[serde(default)]
    pub marks: BTreeMap<String, (String, i64)>,
    /// Threads followed for replies that do not bring them back to the top (YouTube):
    /// thread id → (published, last read), unix seconds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub threads: BTreeMap<String, (i64, i64)>,
}

/// What an item is to the walk that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    Edited,
    Unchanged,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}

impl StoredCursor for Cursor {
    fn version(&self) -> u32 {
        self.v
    }

    /// Written at this version whatever `v` says: a walk's first cursor is a `Default` one.
    fn encode(&self) -> String {
        serde_json::to_string(&Cursor {
            v: VERSION,
            ..self.clone()
        })
        .unwrap_or_default()
    }
}

impl Cursor {
    /// The cursor `source` stored in `sink`; an unreadable one starts over (logged).
    pub async fn load(sink: &dyn Sink, source: &str) -> Result<Cursor, SinkError> {
        Ok(
            match sink.cursor(source).await?.as_deref().map(Cursor::parse) {
                Some(Some(cursor)) => cursor,
                Some(None) => {
                    tracing::warn!(
                        source,
                        "stored cursor unreadable; walking the backfill window again"
                    );
                    Cursor::default()
                }
                None => Cursor::default(),
            },
        )
    }

    /// Where a walk may stop: items older than this were read by an earlier walk (the
    /// newest seen minus `overlap`), or, on a first walk, are older than `backfill`.
    pub fn floor(&self, overlap: Duration, backfill: Duration) -> DateTime<Utc> {
        match self.newest {
            Some(newest) => newest - chrono(overlap),
            None => Utc::now() - chrono(backfill),
        }
    }

    /// Records item `id` at `at` with `mark`, and says what it is.
    pub fn note(&mut self, id: &str, mark: &str, at: DateTime<Utc>) -> Seen {
        let seen = match self
            .marks
            .insert(id.to_owned(), (mark.to_owned(), at.timestamp()))
        {
            None => Seen::New,
            Some((old, _)) if old != mark => Seen::Edited,
            Some(_) => return Seen::Unchanged,
        };
        self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
        seen
    }

    /// Forgets the marks a later walk will not read again.
    pub fn prune(&mut self, overlap: Duration) {
        if let Some(newest) = self.newest {
            let keep_from = (newest - chrono(overlap)).timestamp();
            self.marks.retain(|_, (_, at)| *at >= keep_from);
        }
    }
}

/// What one walk found: new posts, edits (delivered as posts too, which the store ignores
/// when it has them) and the cursor after it.
#[derive(Debug, Default)]
pub struct Walk {
    pub posts: Vec<NewPost>,
    pub edits: Vec<Amendment>,
    pub cursor: Cursor,
}

impl Walk {
    /// Starts from the cursor `before` left.
    pub fn from(before: &Cursor) -> Walk {
        Walk {
            cursor: before.clone(),
            ..Walk::default()
        }
    }

    /// Notes `post` (keyed by its `external_id`, versioned by `mark`) and keeps it when it is
    /// new or edited. Returns what it was.
    pub fn take(&mut self, post: NewPost, mark: &str, at: DateTime<Utc>) -> Seen {
        let seen = self.cursor.note(&post.external_id, mark, at);
        match seen {
            Seen::New => self.posts.push(post),
            Seen::Edited => {
                self.posts.push(post.clone());
                self.edits.push(Amendment::Edited(post));
            }
            Seen::Unchanged => {}
        }
        seen
    }

    /// The item `id` is gone (its author deleted it): a tombstone, and its mark forgotten.
    pub fn deleted(&mut self, network: Network, id: &str) {
        self.cursor.marks.remove(id);
        self.edits
            .push(Amendment::Deleted(PostKey::new(network, id.to_owned())));
    }

    /// Hands the walk to the sink, the cursor with its last part; counts what was heard.
    pub async fn deliver(
        self,
        source: &str,
        sink: &dyn Sink,
        health: &Health,
    ) -> Result<(), SinkError> {
        let cursor = Some(self.cursor.encode());
        let count = self.posts.len();
        if self.edits.is_empty() {
            sink.deliver(source, self.posts, cursor).await?;
        } else {
            sink.deliver(source, self.posts, None).await?;
            sink.amend(source, self.edits, cursor).await?;
        }
        if count > 0 {
            health.heard(count as u64);
        }
        Ok(())
    }
}

/// A source that polls: one walk at a time, then a wait. [`run`] drives it on the shared
/// reconnect loop.
#[async_trait]
pub trait Poller: Send + Sync {
    fn name(&self) -> &str;
    /// What is polled, for the log ("google play reviews").
    fn what(&self) -> &'static str;
    fn poll_interval(&self) -> Duration;
    fn backoff_scale(&self) -> f64;
    /// What is wrong with the settings (the run ends at once when anything is).
    fn problems(&self) -> Vec<String>;
    /// One walk, delivered with its cursor, health kept.
    async fn poll(&self, sink: &dyn Sink, health: &Health) -> Result<(), Ended>;
}

/// Runs `poller` until its hearing's stop: walks every `poll_interval`; a failed walk goes through the
/// shared reconnect loop (credentials refused end the run, everything else backs off).
pub async fn run<P: Poller + ?Sized>(poller: &P, hearing: Hearing) -> Result<(), SourceError> {
    let Hearing {
        sink,
        health,
        mut stop,
    } = hearing;
    let problems = poller.problems();
    if !problems.is_empty() {
        let reason = problems.join("; ");
        health.failed(&reason, None);
        return Err(SourceError::Config(reason));
    }
    let mut reconnect = Reconnect::new(poller.name(), poller.what(), poller.backoff_scale());
    loop {
        if reconnect.stopped(&stop, &health) {
            return Ok(());
        }
        let mut healthy_since = None;
        let ended = tokio::select! {
            ended = spell(poller, sink.as_ref(), &health, &mut healthy_since) => ended,
            _ = stopped(&mut stop) => Ended::Stopped,
        };
        if let ControlFlow::Break(result) = reconnect
            .after(ended, healthy_since, &health, &mut stop)
            .await
        {
            return result;
        }
    }
}

/// How a failed request ends a walk: credentials refused need an operator; quotas and rate
/// limits wait long, dropped or unreadable answers reconnect at once, the rest back off.
pub fn ended(problem: Problem) -> Ended {
    if problem.needs_operator() {
        return Ended::Auth(problem.reason());
    }
    let failure = match &problem {
        Problem::RateLimited(_) | Problem::Quota(_) => Failure::RateLimited,
        Problem::Network { .. } => Failure::Network,
        Problem::Unclear(_) => Failure::Dropped,
        _ => Failure::Http,
    };
    Ended::Retry {
        failure,
        reason: problem.reason(),
        not_before: None,
    }
}

/// Polls until a walk fails; `healthy_since` is set at the first success.
async fn spell<P: Poller + ?Sized>(
    poller: &P,
    sink: &dyn Sink,
    health: &Health,
    healthy_since: &mut Option<Instant>,
) -> Ended {
    loop {
        if let Err(ended) = poller.poll(sink, health).await {
            return ended;
        }
        healthy_since.get_or_insert_with(Instant::now);
        health.connected();
        health.polled();
        tokio::time::sleep(poller.poll_interval()).await;
    }
}

/// A rating as a post's first words: `★★☆☆☆ 2/5` (read back by `earshot_analyze::rating`).
pub fn stars(rating: u8) -> String {
    let r = usize::from(rating.min(5));
    format!("{}{} {r}/5", "★".repeat(r), "☆".repeat(5 - r))
}

/// The review a reply answers: the one it replies to, else the conversation's root (the
/// App Store and Google Play answer the review itself, whichever post the agent picked).
pub fn answered_review<'a>(reply: &'a Reply, target: &'a ReplyTarget) -> Option<&'a str> {
    [&reply.in_reply_to, &target.root_external_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
}

/// How many reply keys a responder remembers.
const REMEMBER: usize = 10_000;

/// Reply keys answered, with what the network called the answer, the oldest forgotten first.
#[derive(Debug, Default)]
pub struct SentKeys {
    sent: HashMap<String, String>,
    order: VecDeque<String>,
}

impl SentKeys {
    pub fn get(&self, key: &str) -> Option<&String> {
        self.sent.get(key)
    }

    pub fn remember(&mut self, key: &str, answer_id: &str) {
        if self
            .sent
            .insert(key.to_owned(), answer_id.to_owned())
            .is_none()
        {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > REMEMBER {
            if let Some(old) = self.order.pop_front() {
                self.sent.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_tell_new_edited_and_unchanged_and_old_marks_are_pruned() {
        let t0 = Utc::now() - chrono::Duration::hours(10);
        let mut c = Cursor::default();
        assert_eq!(c.note("a", "m1", t0), Seen::New);
        assert_eq!(c.note("a", "m1", t0), Seen::Unchanged);
        assert_eq!(c.note("a", "m2", t0), Seen::Edited);
        let later = t0 + chrono::Duration::hours(5);
        assert_eq!(c.note("b", "m1", later), Seen::New);
        assert_eq!(c.newest, Some(later));
        assert_eq!(
            c.floor(Duration::from_secs(3600), Duration::ZERO),
            later - chrono::Duration::hours(1)
        );
        c.prune(Duration::from_secs(3600));
        assert_eq!(c.marks.keys().collect::<Vec<_>>(), ["b"]);
        let back = Cursor::parse(&c.encode()).unwrap();
        assert_eq!(back.marks, c.marks);
        assert_eq!(Cursor::parse("{\"v\":2}"), None);
        assert_eq!(stars(2), "★★☆☆☆ 2/5");
    }

    #[test]
    fn sent_keys_forget_the_oldest_beyond_the_limit() {
        let mut k = SentKeys::default();
        for i in 0..=REMEMBER {
            k.remember(&i.to_string(), "x");
        }
        assert!(k.get("0").is_none());
        assert_eq!(k.get("1").map(String::as_str), Some("x"));
    }
}
