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
