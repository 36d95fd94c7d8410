//! Answering in the thread: what each network's responder provides.

use async_trait::async_trait;
use earshot_core::{Conversation, Network, Reply};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later with the same idempotency key (5xx, 429, a dropped connection).
    #[error("{network} is unavailable: {reason}")]
    Retryable { network: Network, reason: String },
    /// Trying again will not help (revoked token, post deleted, text refused).
    #[error("{network} refused the reply: {reason}")]
    Refused { network: Network, reason: String },
}

#[async_trait]
pub trait Responder: Send + Sync {
    /// Posts `reply` in the thread; returns the network's id for the new post. Must pass
    /// `reply.idempotency_key` to networks that honour one, so a retry never posts twice.
    async fn send(&self, reply: &Reply, conversation: &Conversation) -> Result<String, SendError>;
}

/// A conversation and a queued reply as the outbox hands them to a responder, for the review
/// networks' responder tests.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::Utc;
    use earshot_core::conversation::Status as ConversationStatus;
    use earshot_core::priority::{score, PrioritySignals};
    use earshot_core::{
        Author, Conversation, ConversationId, Intent, Network, Reply, ReplyState, SentimentLabel,
    };

    pub fn conversation(network: Network, root: &str) -> Conversation {
        let opened = Utc::now();
        let signals = PrioritySignals::default();
        Conversation {
            id: ConversationId(1),
            network,
            customer: Author::default(),
            root_external_id: root.into(),
            status: ConversationStatus::Open,
            assignee: None,
            priority: score(&signals, None, None),
            signals,
            language: "en".into(),
            intent: Intent::Other,
            sentiment: SentimentLabel::Negative,
            opened_at: opened,
            last_activity_at: opened,
            awaiting_since: Some(opened),
            response_due: None,
            first_response_due: opened,
            first_response_at: None,
            first_response_secs: None,
            resolved_at: None,
            post_count: 1,
            last_customer_at: opened,
            last_brand_at: None,
            awaits_parent: None,
        }
    }

    pub fn reply(network: Network, key: &str, to: &str, text: &str) -> Reply {
        Reply {
            id: 1,
            conversation_id: ConversationId(1),
            network,
            in_reply_to: to.into(),
            text: text.into(),
            author: "agent".into(),
            state: ReplyState::Queued,
            idempotency_key: key.into(),
            external_id: None,
            error: None,
            attempts: 0,
            created_at: Utc::now(),
            sent_at: None,
            next_attempt_at: None,
        }
    }
}
