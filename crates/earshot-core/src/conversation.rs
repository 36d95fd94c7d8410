//! A conversation: the thread between one customer and the brand, with its response clock.
//!
//! Agents change a conversation only through [`Conversation::apply`], one `match` over
//! [`ConversationEvent`]; the store records each applied event in the audit trail.

use crate::analysis::{Intent, SentimentLabel};
use crate::network::Network;
use crate::post::Author;
use crate::priority::{Priority, PriorityBand, PrioritySignals};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub i64);

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The customer is owed an answer.
    Open,
    /// Answered; waiting on the customer.
    Pending,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = crate::analysis::UnknownLabel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Status::Open),
            "pending" => Ok(Status::Pending),
            "resolved" => Ok(Status::Resolved),
            other => Err(crate::analysis::UnknownLabel {
                kind: "Status",
                value: other.into(),
                expected: &["open", "pending", "resolved"],
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub network: Network,
    /// The customer who started it.
    pub customer: Author,
    /// External id of the post that opened it.
    pub root_external_id: String,
    pub status: Status,
    pub assignee: Option<String>,
    pub priority: Priority,
    /// What the latest customer post said, kept so the score can be recomputed as time passes.
    pub signals: PrioritySignals,
    pub language: String,
    pub intent: Intent,
    pub sentiment: SentimentLabel,
    /// The first customer post's time (the network's timestamp, not when earshot heard it).
    pub opened_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// When the customer's still-unanswered post was written; `None` when no answer is owed.
    pub awaiting_since: Option<DateTime<Utc>>,
    /// When the owed answer is due.
    pub response_due: Option<DateTime<Utc>>,
    /// The first response target, fixed when the conversation opened.
    pub first_response_due: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// Seconds (calendar time, what the customer lived through) from opening to the first brand
    /// answer; whether it was within target is judged on the SLA clock via `first_response_due`.
    pub first_response_secs: Option<i64>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub post_count: u32,
    /// When the customer last wrote (network time).
    pub last_customer_at: DateTime<Utc>,
    /// When the brand last wrote (network time): posts arriving out of order are judged against these two.
    pub last_brand_at: Option<DateTime<Utc>>,
    /// The external id of the post its opening post answers, while that post has not been
    /// heard: when it comes, it joins this conversation (see `threading`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaits_parent: Option<String>,
}

impl Conversation {
    /// A conversation `customer` just opened with the post `root_external_id`, written at
    /// `opened_at`: open, unassigned, one post, owed a first answer by `due`. It has no id yet
    /// (the store gives it one) and no analysis: English, neutral, intent other, scored on no
    /// signals; threading fills those in from the opening post.
    pub fn opened(
        network: Network,
        customer: Author,
        root_external_id: String,
        opened_at: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> Self {
        let signals = PrioritySignals::default();
        Conversation {
            id: ConversationId(0),
            network,
            customer,
            root_external_id,
            status: Status::Open,
            assignee: None,
            priority: crate::priority::score(&signals, None, None),
            signals,
            language: "en".into(),
            intent: Intent::Other,
            sentiment: SentimentLabel::Neutral,
            opened_at,
            last_activity_at: opened_at,
            awaiting_since: Some(opened_at),
            response_due: Some(due),
            first_response_due: due,
            first_response_at: None,
            first_response_secs: None,
            resolved_at: None,
            post_count: 1,
            last_customer_at: opened_at,
            last_brand_at: None,
            awaits_parent: None,
        }
    }

    /// Whether the response target has been missed: answered late, or owed and overdue now.
    pub fn breached(&self, now: DateTime<Utc>) -> bool {
        if let Some(first) = self.first_response_at {
            if first > self.first_response_due {
                return true;
            }
        }
        matches!(self.response_due, Some(due) if self.awaiting_since.is_some() && now > due)
    }

    pub fn band(&self) -> PriorityBand {
        self.priority.band
    }

    /// Applies an agent's action; an action that makes no sense in the current state is refused.
    pub fn apply(
        &mut self,
        event: &ConversationEvent,
        at: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        match event {
            ConversationEvent::Assigned { to } => {
                if self.assignee.as_deref() == Some(to.as_str()) {
                    return Err(TransitionError::AlreadyAssigned(to.clone()));
                }
                self.assignee = Some(to.clone());
            }
            ConversationEvent::Unassigned => {
                if self.assignee.is_none() {
                    return Err(TransitionError::NotAssigned);
                }
                self.assignee = None;
            }
            ConversationEvent::MarkedPending => {
                if self.status != Status::Open {
                    return Err(TransitionError::Illegal {
                        from: self.status,
                        action: "pend",
                    });
                }
                // Waiting on the customer: no answer is owed, so the clock stops.
                self.status = Status::Pending;
                self.nothing_owed();
            }
            ConversationEvent::Resolved => {
                if self.status == Status::Resolved {
                    return Err(TransitionError::Illegal {
                        from: self.status,
                        action: "resolve",
                    });
                }
                self.status = Status::Resolved;
                self.resolved_at = Some(at);
                self.nothing_owed();
            }
            ConversationEvent::Reopened => {
                if self.status == Status::Open {
                    return Err(TransitionError::Illegal {
                        from: self.status,
                        action: "reopen",
                    });
                }
                self.status = Status::Open;
                self.resolved_at = None;
                // Reopened means an answer is owed again, with the same target as the first.
                if self.awaiting_since.is_none() {
                    self.awaiting_since = Some(at);
                    let target =
                        (self.first_response_due - self.opened_at).max(chrono::Duration::zero());
                    self.response_due = at.checked_add_signed(target);
                }
            }
        }
        self.last_activity_at = self.last_activity_at.max(at);
        Ok(())
    }

    /// No answer is owed: the clock stops, and what was noted for the wait (the fair turn, a
    /// question waiting) goes with it, so a reopen starts a wait of its own.
    fn nothing_owed(&mut self) {
        self.awaiting_since = None;
        self.response_due = None;
        self.signals.fair_turn_at = None;
        self.signals.question_waiting = false;
    }
}

/// What an agent can do to a conversation. Posts and replies arriving are threading's job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ConversationEvent {
    Assigned { to: String },
    Unassigned,
    MarkedPending,
    Resolved,
    Reopened,
}

impl ConversationEvent {
    pub fn name(&self) -> &'static str {
        match self {
            ConversationEvent::Assigned { .. } => "assigned",
            ConversationEvent::Unassigned => "unassigned",
            ConversationEvent::MarkedPending => "pending",
            ConversationEvent::Resolved => "resolved",
            ConversationEvent::Reopened => "reopened",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("conversation is already assigned to {0}")]
    AlreadyAssigned(String),
    #[error("conversation is not assigned to anyone")]
    NotAssigned,
    #[error("cannot {action} a conversation that is {from}")]
    Illegal { from: Status, action: &'static str },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample(opened: DateTime<Utc>) -> Conversation {
        let due = opened + chrono::Duration::minutes(30);
        Conversation {
            id: ConversationId(1),
            ..Conversation::opened(Network::X, Author::default(), "1".into(), opened, due)
        }
    }

    #[test]
    fn transitions_table() {
        let t0 = Utc::now();
        let cases: Vec<(Status, ConversationEvent, Result<Status, ()>)> = vec![
            (
                Status::Open,
                ConversationEvent::MarkedPending,
                Ok(Status::Pending),
            ),
            (Status::Pending, ConversationEvent::MarkedPending, Err(())),
            (
                Status::Open,
                ConversationEvent::Resolved,
                Ok(Status::Resolved),
            ),
            (Status::Resolved, ConversationEvent::Resolved, Err(())),
            (
                Status::Resolved,
                ConversationEvent::Reopened,
                Ok(Status::Open),
            ),
            (Status::Open, ConversationEvent::Reopened, Err(())),
            (
                Status::Pending,
                ConversationEvent::Resolved,
                Ok(Status::Resolved),
            ),
        ];
        for (from, event, expect) in cases {
            let mut c = sample(t0);
            c.status = from;
            let got = c.apply(&event, t0).map(|_| c.status).map_err(|_| ());
            assert_eq!(got, expect, "{from:?} + {event:?}");
        }
    }

    /// Pending or resolved, nothing is owed: the wait's fair turn and the question that kept
    /// one go, so a reopened conversation is not lifted by a turn from its old wait.
    #[test]
    fn pending_or_resolved_forgets_the_waits_turn() {
        let t0 = Utc::now();
        for event in [
            ConversationEvent::MarkedPending,
            ConversationEvent::Resolved,
        ] {
            let mut c = sample(t0);
            c.awaiting_since = Some(t0);
            c.signals.fair_turn_at = Some(t0 + chrono::Duration::minutes(10));
            c.signals.question_waiting = true;
            c.apply(&event, t0).unwrap();
            assert_eq!(c.awaiting_since, None);
            assert_eq!(c.signals.fair_turn_at, None, "{event:?}");
            assert!(!c.signals.question_waiting, "{event:?}");
            c.apply(&ConversationEvent::Reopened, t0).unwrap();
            assert_eq!(c.awaiting_since, Some(t0));
            assert!(c.signals.fair_turn_at.is_none() && !c.signals.question_waiting);
        }
    }

    #[test]
    fn assigning_twice_to_the_same_agent_is_refused() {
        let mut c = sample(Utc::now());
        let e = ConversationEvent::Assigned { to: "maria".into() };
        assert!(c.apply(&e, Utc::now()).is_ok());
        assert_eq!(
            c.apply(&e, Utc::now()),
            Err(TransitionError::AlreadyAssigned("maria".into()))
        );
    }

    #[test]
    fn breach_is_late_first_answer_or_overdue_wait() {
        let t0 = Utc::now() - chrono::Duration::hours(2);
        let c = sample(t0);
        assert!(c.breached(Utc::now()));
        assert!(!c.breached(t0 + chrono::Duration::minutes(10)));
    }
}
