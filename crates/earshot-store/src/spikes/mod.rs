//! Spikes as stored (migration 0041): the process running the spike detector writes each
//! spike it follows, every process lists them from here, and a restart keeps them
//! ([`SpikeStore`]). Also the detector's reading of the posts every process stores
//! ([`SpikeStore::customer_posts_after`]).
//!
//! Invariants: a spike is one row by its id, handed out by the store (written again as it grows
//! and ends), so detectors in several processes never share one; its alert is claimed once ([`SpikeStore::claim_spike_alert`]), whichever process asks.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::Network;
use serde::Serialize;

mod sql;

/// A spike as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSpike {
    pub id: i64,
    /// Still going on (the detector follows it); `false` once it ended or its detector stopped.
    pub active: bool,
    pub detected_at: DateTime<Utc>,
    /// The spike as shown (the server's JSON; the store does not read it).
    pub view: serde_json::Value,
    /// When its alert was claimed, if it was.
    pub alerted_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A customer post as the spike detector counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountedPost {
    pub post_id: i64,
    pub network: Network,
    /// The author's id on the network.
    pub author: String,
    pub text: String,
    pub language: String,
    /// The request it was grouped into, when it was by the time it is read.
    pub request_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait SpikeStore: Send + Sync {
    /// Writes a spike as it stands now: a new one (`id` `None`) gets the next id, which is
    /// returned; a known one is replaced.  Unknown id → `NotFound`.
    async fn save_spike(
        &self,
        id: Option<i64>,
        active: bool,
        detected_at: DateTime<Utc>,
        view: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    /// Claims spike `id`'s alert: `true` the first time (and records it, with the alert kept
    /// under `key` as [`AlertClaimStore::claim_alert`](crate::AlertClaimStore::claim_alert)
    /// keeps it, in the same transaction), `false` after, whichever process asks. Atomic.
    /// Unknown spike → `NotFound`.
    async fn claim_spike_alert(
        &self,
        id: i64,
        key: &str,
        alert: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Active spikes first, then the others, newest detected first (at most `limit`).
    async fn spikes(&self, limit: u32) -> Result<Vec<StoredSpike>, StoreError>;

    /// Marks every active spike but `keep` ended (a server that starts a detector afresh: it
    /// does not follow the spikes an earlier one left active). Returns how many.
    async fn end_spikes_but(&self, keep: &[i64], at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// The highest post id stored (0 with none).
    async fn newest_post_id(&self) -> Result<i64, StoreError>;

    /// Customer posts (not deleted) with an id above `after`, lowest id first (at most
    /// `limit`), for the process running the spike detector to count what every process
    /// stored. Returns them with the id read up to (the next call's `after`). Ids are handed
    /// out when a post is written, not when it commits: a reader re-reads some way behind
    /// (see the server's spike loop), skipping what it counted.
    async fn customer_posts_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<CountedPost>, i64), StoreError>;
}
