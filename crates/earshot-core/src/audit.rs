//! Who did what, when: every agent action and every reply leaves a line here.

use crate::conversation::ConversationId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub conversation_id: Option<ConversationId>,
    /// The agent, API token or `system`.
    pub actor: String,
    /// `assigned`, `resolved`, `reply_queued`, `reply_sent`, ...
    pub action: String,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}
