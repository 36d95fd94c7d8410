//! What triage decided that must outlive the process (migration 0008): where routing sent a
//! conversation (team, rules, band), the escalations in progress (so a restart pages the next
//! level, not level 1 again), when each customer last got an automatic answer, and which
//! conversations jumped the queue.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use earshot_core::threading::TriagePolicy;
use earshot_core::triage::{EscalationState, Routing};
use earshot_core::{Conversation, ConversationId, Network};
use serde::{Deserialize, Serialize};

mod sql;

/// Where routing sent a conversation, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutedConversation {
    pub conversation: ConversationId,
    pub routing: Routing,
    /// The rules that matched, in order (empty: none did).
    pub rules: Vec<String>,
    pub routed_at: DateTime<Utc>,
}

/// An escalation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEscalation {
    pub conversation: ConversationId,
    pub state: EscalationState,
    /// Who the last page reached.
    pub paged: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// The longest jump reason kept (it is shown in the inbox).
pub const JUMP_REASON_MAX_CHARS: usize = 120;

#[async_trait]
pub trait TriageStateStore: Send + Sync {
    /// Records (or replaces) where routing sent a conversation. Unknown id → `NotFound`.
    async fn save_routing(&self, routed: &RoutedConversation) -> Result<(), StoreError>;

    async fn routing(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<RoutedConversation>, StoreError>;

    /// Where routing sent each of `conversations`, read together: those routed, in id order.
    async fn routings(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<RoutedConversation>, StoreError>;

    /// Records (or replaces) a conversation's escalation; `paged` is who the last page reached.
    async fn save_escalation(
        &self,
        conversation: ConversationId,
        state: &EscalationState,
        paged: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn escalation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<StoredEscalation>, StoreError>;

    /// Escalations neither acknowledged nor closed, oldest first.
    async fn open_escalations(&self) -> Result<Vec<StoredEscalation>, StoreError>;

    /// Claims the customer's automatic answer for `conversation` at `at`: `true` when none was
    /// claimed for them in the `every` before `at` (and records this one), `false` otherwise.
    /// Atomic, so two earshot processes never both answer.
    async fn claim_auto_reply(
        &self,
        network: Network,
        customer: &str,
        conversation: ConversationId,
        at: DateTime<Utc>,
        every: Duration,
    ) -> Result<bool, StoreError>;

    /// Records what triage did to a conversation in its audit trail (`routed`, `jumped`,
    /// `auto_replied`, ...), as `actor`. Unknown id → `NotFound`.
    async fn audit_triage(
        &self,
        conversation: ConversationId,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Moves a conversation to the front of the inbox for `why` (a jump factor, see
    /// `earshot_core::priority::JUMP_POINTS`), rescoring it under `policy`. A conversation
    /// that already jumped keeps its first reason. Unknown id → `NotFound`; an empty reason
    /// → `Invalid`.
    async fn mark_jump(
        &self,
        conversation: ConversationId,
        why: &str,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError>;
}

/// The reason as stored: trimmed, at most [`JUMP_REASON_MAX_CHARS`], never empty.
pub fn normalise_jump_reason(why: &str) -> Result<String, StoreError> {
    let why = why.trim();
    if why.is_empty() {
        return Err(StoreError::Invalid(
            "a queue jump needs a reason to show in the inbox".into(),
        ));
    }
    Ok(why.chars().take(JUMP_REASON_MAX_CHARS).collect())
}

/// The last level paged and who it reached: what the columns beside the JSON hold.
pub(crate) fn last_level(state: &EscalationState) -> i64 {
    state.pages.last().map_or(0, |p| p.level as i64)
}
