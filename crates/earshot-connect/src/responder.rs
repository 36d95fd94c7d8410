//! Answering in the thread: what each network's responder provides.

use async_trait::async_trait;
use earshot_core::{Network, Reply, ReplyTarget};

#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later with the same idempotency key (5xx, 429, a dropped connection).
    #[error("{network} is unavailable: {reason}")]
    Retryable { network: Network, reason: String },
    /// Trying again will not help (revoked token, post deleted, text refused).
    #[error("{network} refused the reply: {reason}")]
    Refused { network: Network, reason: String },
}

impl SendError {
    /// Worth trying again later on `network`.
    pub fn retryable(network: Network, reason: impl Into<String>) -> Self {
        SendError::Retryable {
            network,
            reason: reason.into(),
        }
    }

    /// `network` refused it; trying again will not help.
    pub fn refused(network: Network, reason: impl Into<String>) -> Self {
        SendError::Refused {
            network,
            reason: reason.into(),
        }
    }
}

#[async_trait]
pub trait Responder: Send + Sync {
    /// Posts `reply` in the thread; returns the network's id for the new post. Must pass
    /// `reply.idempotency_key` to networks that honour one, so a retry never posts twice.
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError>;
}

/// What the responders' tests send: reply 1 by `agent@acme` in conversation 7, and where.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Responder, SendError};
    use chrono::Utc;
    use earshot_core::{Author, ConversationId, Network, Reply, ReplyTarget};
    use std::time::Duration;

    /// Where a reply goes in the thread the customer `handle` (`external_id` on the network)
    /// opened with the post `root`, in English.
    pub fn target(external_id: &str, handle: &str, root: &str) -> ReplyTarget {
        ReplyTarget {
            root_external_id: root.into(),
            customer: Author::new(external_id, handle),
            language: "en".into(),
        }
    }

    pub fn reply(network: Network, in_reply_to: &str, key: &str, text: &str) -> Reply {
        let (author, now) = ("agent@acme".to_string(), Utc::now());
        let queued = Reply::queued(
            ConversationId(7),
            network,
            in_reply_to.into(),
            text.into(),
            author,
            key.into(),
            now,
        );
        Reply { id: 1, ..queued }
    }

    /// Why the network refused `sent`; fails the test when it was not refused.
    pub fn expect_refused(sent: Result<String, SendError>) -> String {
        match sent {
            Err(SendError::Refused { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Why `sent` is worth trying again; fails the test when it is not.
    pub fn expect_retryable(sent: Result<String, SendError>) -> String {
        match sent {
            Err(SendError::Retryable { reason, .. }) => reason,
            other => panic!("expected a retryable error, got {other:?}"),
        }
    }

    /// Fails the test unless `sent` was refused for a reason that names `needle`.
    pub fn assert_refused(sent: Result<String, SendError>, needle: &str) {
        let reason = expect_refused(sent);
        assert!(reason.contains(needle), "{reason}");
    }

    /// Fails the test unless `sent` is worth retrying, for a reason that names `needle`.
    pub fn assert_retryable(sent: Result<String, SendError>, needle: &str) {
        let reason = expect_retryable(sent);
        assert!(reason.contains(needle), "{reason}");
    }

    /// Drops the fake `server` (its listener closes with it), then checks that `reply`, sent
    /// where it listened, is worth retrying: a network that is down has refused nothing.
    pub async fn assert_retryable_once_gone<S>(
        server: S,
        responder: &impl Responder,
        reply: &Reply,
        target: &ReplyTarget,
    ) {
        drop(server);
        // Give the aborted server task a moment to let go of its port.
        tokio::time::sleep(Duration::from_millis(50)).await;
        expect_retryable(responder.send(reply, target).await);
    }
}
