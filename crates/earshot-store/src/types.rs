use chrono::{DateTime, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::{AuditEntry, Conversation, ConversationId, Network, Post, Reply, Status};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("cannot open the store at {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// One entry per input post taken (all but the `refused`), in input order.
    pub posts: Vec<IngestedPost>,
    pub new: u64,
    pub duplicates: u64,
    pub conversations_opened: u64,
    pub conversations_updated: u64,
    /// Posts heard before that came again with another text: the new text replaced the old
    /// (as the author's edit would), audited as `post_edited`.
    #[serde(default)]
    pub edited: u64,
    /// Posts not taken, each with its reason (a time outside the window earshot believes);
    /// the rest of the batch is stored as if they had not been in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedPost>,
}

impl IngestReport {
    /// Marks the batch's posts at `indexes` (positions among the posts taken) as edited.
    pub(crate) fn mark_edited(&mut self, indexes: &[usize]) {
        for &i in indexes {
            if let Some(p) = self.posts.get_mut(i) {
                p.edited = true;
                self.edited += 1;
            }
        }
    }

    /// What became of the batch's post at `index` (its position as given): `None` when it
    /// was refused.
    pub fn post_at(&self, index: usize) -> Option<&IngestedPost> {
        let mut before = 0;
        for r in &self.refused {
            if r.index == index {
                return None;
            }
            if r.index < index {
                before += 1;
            }
        }
        self.posts.get(index - before)
    }
}

/// A post of a batch that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedPost {
    /// Its position in the batch as given.
    pub index: usize,
    pub network: Network,
    pub external_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestedPost {
    pub network: Network,
    pub external_id: String,
    /// The stored post's id (also for duplicates: the one stored earlier).
    pub post_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub duplicate: bool,
    /// A duplicate whose text differed: stored as an edit.
    #[serde(default)]
    pub edited: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetail {
    pub conversation: Conversation,
    /// Oldest first.
    pub posts: Vec<Post>,
    /// Oldest first.
    pub replies: Vec<Reply>,
    /// Newest first.
    pub audit: Vec<AuditEntry>,
}

/// Which conversations the inbox shows. Empty fields do not filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxFilter {
    /// Default: open only.
    pub status: Vec<Status>,
    pub network: Option<Network>,
    pub language: Option<String>,
    pub intent: Option<Intent>,
    pub sentiment: Option<SentimentLabel>,
    /// `Some(true)`: only conversations past their response target (answered late or overdue now).
    pub breached: Option<bool>,
    /// `Some("")` means unassigned.
    pub assignee: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

impl Default for InboxFilter {
    fn default() -> Self {
        InboxFilter {
            status: vec![Status::Open],
            network: None,
            language: None,
            intent: None,
            sentiment: None,
            breached: None,
            assignee: None,
            limit: 50,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Total matching rows (for paging), when cheap to know.
    pub total: Option<u64>,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxRow {
    pub conversation: Conversation,
    /// The latest customer post (its text is what the agent reads first).
    pub latest_text: String,
    pub latest_at: DateTime<Utc>,
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub q: String,
    pub network: Option<Network>,
    pub language: Option<String>,
    pub intent: Option<Intent>,
    pub sentiment: Option<SentimentLabel>,
    pub limit: u32,
    pub offset: u64,
}

/// The deepest page a request may ask for (`offset`): past it, narrow the filters. An offset
/// makes the database walk every row before it, so one request must not ask it to walk a
/// million.
pub const MAX_OFFSET: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub post: Post,
}

/// A reply as an agent writes it, before it has an id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReply {
    pub conversation_id: ConversationId,
    pub text: String,
    pub author: String,
    pub idempotency_key: String,
    pub created_at: DateTime<Utc>,
}

/// Why a reply did not go out, as the sender records it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyMiss {
    /// The network was tried and did not take it; tried again at `retry_at` when set.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
    /// Nothing was tried: earshot has no way to post on this network.
    NotSent { reason: String },
}

/// One conversation's first response, for the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseSample {
    pub conversation_id: ConversationId,
    pub network: Network,
    pub opened_at: DateTime<Utc>,
    pub first_response_due: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeCount {
    /// The day (UTC) the posts were written.
    pub day: chrono::NaiveDate,
    pub intent: Intent,
    pub sentiment: SentimentLabel,
    pub posts: u64,
}

/// What a re-ranking pass did ([`crate::Store::rescore_open`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescorePass {
    /// Conversations owed an answer that it read (those whose rank could have moved).
    pub read: u64,
    /// Those whose rank (or noted fair turn) changed, and were written.
    pub reranked: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreCounts {
    pub posts: u64,
    pub conversations: u64,
    pub open_conversations: u64,
    pub replies: u64,
}
