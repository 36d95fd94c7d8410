//! earshot's store: everything heard, understood, threaded and answered.
//!
//! One [`Store`] trait, two backends: [`sqlite`] (the embedded default: one file, WAL, FTS5)
//! and [`postgres`] (for scale: full-text search with `tsvector`). Both take the same
//! threading decisions from `earshot_core::threading::plan`, so they cannot drift apart, and
//! the same test suite (`tests/suite.rs`) runs against both.
//!
//! Invariant: only this crate holds SQL.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod alert_claims;
#[cfg(feature = "bench")]
pub mod bench;
mod common;
pub mod corrections;
mod db;
pub mod feedback;
pub mod guard;
pub mod people;
pub mod postgres;
mod reranking;
mod schema;
pub mod spikes;
pub mod sqlite;
pub mod survey;
pub mod triage_state;
mod types;

pub use alert_claims::AlertClaimStore;
pub use corrections::CorrectionStore;
pub use feedback::FeedbackStore;
pub use guard::GuardStore;
pub use people::PeopleStore;
pub use spikes::SpikeStore;
pub use survey::SurveyStore;
pub use triage_state::TriageStateStore;
pub use types::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::fair_turn::QueuePace;
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{
    Analysis, AuditEntry, Conversation, ConversationEvent, ConversationId, NewPost, Post, PostKey,
    Reply,
};
use std::sync::Arc;

/// Every store also keeps the team's people ([`PeopleStore`]): one database, one backup.
#[async_trait]
pub trait Store:
    PeopleStore
    + AlertClaimStore
    + FeedbackStore
    + SurveyStore
    + TriageStateStore
    + SpikeStore
    + GuardStore
    + CorrectionStore
    + Send
    + Sync
    + 'static
{
    /// Stores a batch of understood posts and threads them into conversations, in one
    /// transaction. Idempotent: a post already stored is counted as a duplicate and changes nothing.
    async fn ingest(
        &self,
        batch: Vec<Incoming>,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError>;

    /// One conversation with its posts (oldest first), replies and audit trail.
    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationDetail>, StoreError>;

    /// Several conversations as [`Store::conversation`] gives each, read together (routing
    /// reads a batch's this way, not one round trip each): those stored, in id order.
    async fn conversations(
        &self,
        ids: &[ConversationId],
    ) -> Result<Vec<ConversationDetail>, StoreError>;

    /// Conversations ranked by priority (highest first), filtered and paged.
    async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, StoreError>;

    /// Full-text search over post text, newest first, with the same filters.
    async fn search(&self, query: &SearchQuery) -> Result<Page<SearchHit>, StoreError>;

    /// Applies an agent's action to a conversation and records it in the audit trail.
    /// Unknown id → `StoreError::NotFound`; an illegal transition → `StoreError::Conflict`.
    async fn apply(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;

    /// Stores a reply in state `queued` before anything is sent. The same idempotency key
    /// returns the reply already stored instead of a second one.
    async fn queue_reply(&self, reply: NewReply) -> Result<Reply, StoreError>;

    /// Claims a reply for sending until `until`: `Some(reply)` if this caller may send it now
    /// (not sent, and no unexpired claim by anyone else), `None` otherwise. Marking it sent or
    /// failed releases the claim. Unknown id → `NotFound`.
    async fn claim_reply(
        &self,
        reply_id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, StoreError>;

    /// Marks a reply sent with the network's id for it (idempotent for the same id).
    async fn mark_reply_sent(
        &self,
        reply_id: i64,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Reply, StoreError>;

    /// Marks a reply `failed` (counting the attempt, with the time of the next automatic one
    /// if any) or `not_sent` (nothing was tried), with the reason, and releases its claim.
    /// A reply already sent → `Conflict`.
    async fn mark_reply_unsent(&self, reply_id: i64, miss: &ReplyMiss)
        -> Result<Reply, StoreError>;

    /// Replies still queued (oldest first), for the sender to retry after a restart.
    async fn queued_replies(&self, limit: u32) -> Result<Vec<Reply>, StoreError>;

    /// Failed replies whose next automatic attempt is due at `now`, soonest first.
    async fn due_replies(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Reply>, StoreError>;

    /// The audit trail, newest first; all conversations when `conversation` is `None`.
    async fn audit(
        &self,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// First-response samples of conversations opened in `[from, to)`, for the metrics.
    async fn response_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ResponseSample>, StoreError>;

    /// Customer posts in `[from, to)` counted by intent and sentiment.
    async fn volume(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VolumeCount>, StoreError>;

    /// Recomputes the priority of the conversations owed an answer whose rank can have moved
    /// by `now` (waiting time moves them up; see [`earshot_core::threading::rank_moves_at`]):
    /// all of them the first time this store ranks under `policy`'s rules, then those due.
    /// Says how many it read and how many it re-ranked.
    async fn rescore_open(
        &self,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<RescorePass, StoreError>;

    /// How busy the queue is at `now`: conversations owed an answer, and those the brand
    /// answered in the hour before (for each conversation's fair turn, see
    /// [`earshot_core::fair_turn`]).
    async fn queue_pace(&self, now: DateTime<Utc>) -> Result<QueuePace, StoreError>;

    /// An author edited a post: its text and what earshot understood of it are replaced; its
    /// time, author and thread stay. `None` when the post was never heard (or was deleted).
    async fn edit_post(
        &self,
        post: NewPost,
        analysis: Analysis,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError>;

    /// An author deleted a post: its text and raw payload are dropped (the customer took them
    /// back) but the row stays, so the conversation's history and response times hold.
    /// `None` when the post was never heard. Deleting twice changes nothing.
    async fn delete_post(
        &self,
        key: &PostKey,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError>;

    /// How much is stored.
    async fn counts(&self) -> Result<StoreCounts, StoreError>;

    /// A source's resume point (e.g. a Jetstream `time_us`), stored only after the posts before it.
    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError>;
    async fn set_cursor(&self, source: &str, cursor: &str) -> Result<(), StoreError>;

    /// After a bulk import: lets the query planner see the new rows. PostgreSQL analyses
    /// its hot tables (without statistics the inbox reads every open conversation); SQLite
    /// plans without statistics, so there is nothing to do.
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Opens the store a URL names: `postgres://…` for PostgreSQL; `sqlite://PATH`, `sqlite::memory:`
/// or a plain file path for SQLite (created, with migrations applied, if missing).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, postgres::PgOptions::default()).await
}

/// Whether a store URL names PostgreSQL (`postgres://…` or `postgresql://…`); anything else
/// is a SQLite file.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// [`open`] with PostgreSQL's pool size and plaintext rule (ignored for SQLite).
pub async fn open_with(url: &str, pg: postgres::PgOptions) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres(url) {
        Ok(Arc::new(postgres::PgStore::connect_with(url, pg).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open(path).await?))
    }
}
