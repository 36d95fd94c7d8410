//! Agents' corrections of what earshot understood of a post (migration 0013).
//!
//! A correction writes the agent's value into the post's columns and analysis (with a
//! [`CorrectionMark`](earshot_core::correction::CorrectionMark) saying who), keeps a row in
//! `corrections`, leaves an audit line (`post_corrected`) and, when the post is one the
//! conversation's ranking was read from, re-ranks the conversation — all in one transaction.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::correction::{CorrectedPost, CorrectedValue, Correction};
use earshot_core::threading::TriagePolicy;
use earshot_core::{Conversation, Post};
use serde::{Deserialize, Serialize};

mod sql;

/// What a correction did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectionOutcome {
    /// `None` when the post already said so: nothing was stored or audited.
    pub correction: Option<Correction>,
    /// The post as it reads now.
    pub post: Post,
    /// Its conversation as it ranks now.
    pub conversation: Option<Conversation>,
    /// Whether the conversation's signals and rank were read again.
    pub reranked: bool,
}

/// The longest page of corrections one call returns.
pub const MAX_CORRECTIONS_PAGE: u32 = 1000;

#[async_trait]
pub trait CorrectionStore: Send + Sync {
    /// Records `actor`'s correction of post `post_id`. Unknown post → `NotFound`; a post its
    /// author deleted → `Conflict`.
    async fn correct_post(
        &self,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
        at: DateTime<Utc>,
        policy: &TriagePolicy,
    ) -> Result<CorrectionOutcome, StoreError>;

    /// Corrections newest first, with their posts' text: those with an id below `before`
    /// (all when `None`), at most `limit`.
    async fn corrections(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CorrectedPost>, StoreError>;

    /// What training learns from: the latest correction of each field of each post, unless
    /// the author deleted the post or edited it after it was corrected; oldest first.
    async fn current_corrections(&self) -> Result<Vec<CorrectedPost>, StoreError>;
}

/// The audit line's detail.
pub(crate) fn audit_detail(c: &Correction) -> serde_json::Value {
    serde_json::json!({
        "post_id": c.post_id,
        "field": c.field,
        "from": c.from,
        "to": c.to,
    })
}

/// The condition (posts aliased `p`, corrections `k`) under which a correction is one training
/// uses; the same SQL on both backends.
pub(crate) const CURRENT: &str = "(k.id = (SELECT max(k2.id) FROM corrections k2 \
     WHERE k2.post_id = k.post_id AND k2.field = k.field) \
     AND p.deleted_at IS NULL AND (p.edited_at IS NULL OR p.edited_at <= k.at))";

/// The columns a [`CorrectedPost`] is read from, in order.
pub(crate) fn corrected_cols() -> String {
    format!(
        "k.id, k.post_id, k.conversation_id, k.field, k.old_value, k.new_value, k.actor, k.at, \
         p.text, {CURRENT}"
    )
}

pub(crate) fn field(s: &str) -> Result<earshot_core::correction::CorrectedField, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("corrections.field: {e}")))
}
