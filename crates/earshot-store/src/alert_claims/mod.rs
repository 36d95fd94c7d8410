//! Alerts that must reach a person (on-call pages, spikes, overdue promises, replies earshot
//! gave up on), kept until every alert target is done with them (migration 0048). A sender
//! claims an alert here with the alert itself before it sends it: the claim is what makes it
//! sent once whichever process computes it again, and the kept alert is what is sent again
//! when the one that claimed it stopped before every target had it (it touches the claim while
//! a target retries, so a live sender that can write to the store is not doubled).

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::ConversationId;
use serde::{Deserialize, Serialize};

pub(crate) mod sql;

/// An alert claimed and never settled ([`AlertClaimStore::unsettled_alerts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsettledAlert {
    /// The alert's key (`page:<conversation>:<level>:<round>:<person>`, `spike:<id>`,
    /// `promise-overdue:<id>`, `reply_failed:<reply>:<attempts>`).
    pub key: String,
    /// The conversation it is about, if any.
    pub conversation: Option<ConversationId>,
    /// The alert as claimed (JSON); `None` for a claim whose alert was not kept.
    pub alert: Option<String>,
    pub claimed_at: DateTime<Utc>,
}

#[async_trait]
pub trait AlertClaimStore: Send + Sync {
    /// Claims the alert `key` before it is sent, keeping `alert` (as the targets get it,
    /// JSON) until [`settle_alert`](Self::settle_alert): `true` when no process claimed it
    /// before (and records the claim), `false` when one did, so it is never sent twice from a
    /// fresh computation. Atomic. An unknown `conversation` → `NotFound`.
    async fn claim_alert(
        &self,
        key: &str,
        conversation: Option<ConversationId>,
        alert: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records that every alert target settled `key` (`outcome`: `delivered`, `failed`, ...
    /// as the dispatcher tallied it). Settling twice keeps the first outcome; an unknown key
    /// is `NotFound`.
    async fn settle_alert(
        &self,
        key: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Says the sender of `key` still has it on its way (a target is retrying it), so nobody
    /// sends it again meanwhile. Nothing for a settled or unknown key.
    async fn touch_alert(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Takes an owed alert over to send it again: touches it at `at` only if it is still
    /// unsettled and untouched since `untouched_since`. `true` when this call took it, so two
    /// processes listing the same owed alert never both send it. Atomic.
    async fn retake_alert(
        &self,
        key: &str,
        untouched_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Alerts whose key starts with `prefix`, not settled and not touched since
    /// `untouched_since` (their sender died or lost its role, or a full queue dropped them),
    /// oldest touch first, at most `limit`: whoever sends that kind now sends them again.
    async fn unsettled_alerts(
        &self,
        prefix: &str,
        untouched_since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<UnsettledAlert>, StoreError>;
}
