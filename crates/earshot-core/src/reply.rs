//! An answer written by an agent, stored before it is sent.

use crate::conversation::{Conversation, ConversationId};
use crate::network::Network;
use crate::post::Author;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyState {
    /// Stored, not yet confirmed by the network.
    Queued,
    /// The network accepted it; `external_id` holds its id.
    Sent,
    /// The network refused it; `error` says why. A retry reuses the idempotency key; while
    /// `next_attempt_at` is set, earshot tries again by itself then.
    Failed,
    /// Nothing was posted: earshot has no way to answer on this network (no connector
    /// configured, or a listen-only source such as RSS); `error` says why. An agent copies the
    /// text and answers by hand, or retries once a connector is configured.
    NotSent,
}

impl ReplyState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyState::Queued => "queued",
            ReplyState::Sent => "sent",
            ReplyState::Failed => "failed",
            ReplyState::NotSent => "not_sent",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(ReplyState::Queued),
            "sent" => Some(ReplyState::Sent),
            "failed" => Some(ReplyState::Failed),
            "not_sent" => Some(ReplyState::NotSent),
            _ => None,
        }
    }
}

impl fmt::Display for ReplyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The idempotency keys of earshot's automatic replies (`auto:<conversation>`): threading
/// counts their posts as acknowledgements, not answers, so the response clock keeps running.
pub const AUTO_REPLY_KEY_PREFIX: &str = "auto:";
/// The author (and audit actor) of automatic replies.
pub const AUTO_REPLY_AUTHOR: &str = "auto-reply";

/// Where a reply goes on its network: the little of a conversation a responder reads (the
/// thread's opening post, the customer it answers, the language to label the reply with).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyTarget {
    /// External id of the post that opened the thread.
    pub root_external_id: String,
    /// The customer the reply answers (mentioned by handle where the network wants it).
    pub customer: Author,
    /// The conversation's language tag (`und` when unknown).
    pub language: String,
}

impl Conversation {
    /// Where a reply in this conversation goes.
    pub fn reply_target(&self) -> ReplyTarget {
        ReplyTarget {
            root_external_id: self.root_external_id.clone(),
            customer: self.customer.clone(),
            language: self.language.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub network: Network,
    /// The external id of the post being answered.
    pub in_reply_to: String,
    pub text: String,
    pub author: String,
    pub state: ReplyState,
    /// Sent to the network with the reply so a retry never posts twice.
    pub idempotency_key: String,
    pub external_id: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// After a failure worth retrying: when earshot sends it again by itself. `None` once it
    /// gave up (or for any other state).
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl Reply {
    /// A reply just stored and not yet sent: no attempt made, no external id, no error. The
    /// store gives it its `id` (0 until then).
    pub fn queued(
        conversation_id: ConversationId,
        network: Network,
        in_reply_to: String,
        text: String,
        author: String,
        idempotency_key: String,
        created_at: DateTime<Utc>,
    ) -> Self {
        Reply {
            id: 0,
            conversation_id,
            network,
            in_reply_to,
            text,
            author,
            state: ReplyState::Queued,
            idempotency_key,
            external_id: None,
            error: None,
            attempts: 0,
            created_at,
            sent_at: None,
            next_attempt_at: None,
        }
    }
}

/// Reply text checked against the network's length limit: made only through [`ReplyText::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyTextError {
    #[error("reply text is empty")]
    Empty,
    #[error("reply is {len} characters; {network} allows at most {limit}")]
    TooLong {
        len: usize,
        limit: usize,
        network: Network,
    },
}

impl ReplyText {
    pub fn parse(text: &str, network: Network) -> Result<Self, ReplyTextError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ReplyTextError::Empty);
        }
        let len = text.chars().count();
        let limit = network.reply_limit();
        if len > limit {
            return Err(ReplyTextError::TooLong {
                len,
                limit,
                network,
            });
        }
        Ok(ReplyText(text.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_text_is_checked_against_the_network() {
        assert_eq!(
            ReplyText::parse("  ", Network::X),
            Err(ReplyTextError::Empty)
        );
        let long = "å".repeat(281);
        assert!(matches!(
            ReplyText::parse(&long, Network::X),
            Err(ReplyTextError::TooLong { len: 281, .. })
        ));
        assert!(ReplyText::parse(&long, Network::Mastodon).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn accepted_text_fits(s in "\\PC{0,600}") {
            if let Ok(t) = ReplyText::parse(&s, Network::Bluesky) {
                proptest::prop_assert!(t.as_str().chars().count() <= 300);
                proptest::prop_assert!(!t.as_str().is_empty());
            }
        }
    }
}
