//! A public commitment an agent made on a request, and what became of it.

use super::request::RequestId;
use crate::conversation::ConversationId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromiseId(pub i64);

impl fmt::Display for PromiseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.0)
    }
}

/// What was promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseKind {
    /// "We will add that."
    Feature,
    /// "We will fix that."
    Fix,
    /// "We will change how we ..." (the idle cars at chargers).
    Policy,
    /// "We will get back to you": owed to one customer, not to a release.
    FollowUp,
}

impl PromiseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseKind::Feature => "feature",
            PromiseKind::Fix => "fix",
            PromiseKind::Policy => "policy",
            PromiseKind::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "feature" => PromiseKind::Feature,
            "fix" => PromiseKind::Fix,
            "policy" => PromiseKind::Policy,
            "follow_up" => PromiseKind::FollowUp,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseState {
    /// earshot read a commitment in a reply; an agent has not confirmed it yet.
    Proposed,
    /// An agent confirmed it: it is on the ledger, with a due date or a target release.
    Confirmed,
    /// A release shipped it.
    Kept,
    /// Its due date passed without a release (it can still be kept late).
    Broken,
    /// Not a real promise (earshot misread the reply), or withdrawn.
    Dismissed,
}

impl PromiseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PromiseState::Proposed => "proposed",
            PromiseState::Confirmed => "confirmed",
            PromiseState::Kept => "kept",
            PromiseState::Broken => "broken",
            PromiseState::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "proposed" => PromiseState::Proposed,
            "confirmed" => PromiseState::Confirmed,
            "kept" => PromiseState::Kept,
            "broken" => PromiseState::Broken,
            "dismissed" => PromiseState::Dismissed,
            _ => return None,
        })
    }

    /// Still owed: on the ledger and neither kept nor dismissed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            PromiseState::Proposed | PromiseState::Confirmed | PromiseState::Broken
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromiseTransitionError {
    #[error("promise {0} is {1}: only a proposed promise can be confirmed or dismissed")]
    NotProposed(PromiseId, &'static str),
    #[error("promise {0} was dismissed")]
    Dismissed(PromiseId),
    #[error("promise {0} needs a due date or a target release to be confirmed")]
    NoDeadline(PromiseId),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promise {
    pub id: PromiseId,
    pub request_id: Option<RequestId>,
    pub conversation_id: ConversationId,
    /// The reply that made the promise: its evidence.
    pub reply_id: Option<i64>,
    /// The words that commit (a span of the reply).
    pub evidence: String,
    pub kind: PromiseKind,
    pub state: PromiseState,
    /// When the reply was written: the promise's start.
    pub made_at: DateTime<Utc>,
    pub due_on: Option<NaiveDate>,
    pub target_release: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The release that kept it.
    pub release_id: Option<i64>,
    pub kept_at: Option<DateTime<Utc>>,
}

impl Promise {
    /// An agent puts the proposed promise on the ledger. A promise owed to a release needs a due
    /// date or a target release, or nobody can tell when it is broken.
    pub fn confirm(
        &mut self,
        by: &str,
        due_on: Option<NaiveDate>,
        target_release: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), PromiseTransitionError> {
        if self.state != PromiseState::Proposed {
            return Err(PromiseTransitionError::NotProposed(
                self.id,
                self.state.as_str(),
            ));
        }
        let due_on = due_on.or(self.due_on);
        let target_release = target_release.or_else(|| self.target_release.clone());
        if due_on.is_none() && target_release.is_none() {
            return Err(PromiseTransitionError::NoDeadline(self.id));
        }
        self.state = PromiseState::Confirmed;
        self.due_on = due_on;
        self.target_release = target_release;
        self.confirmed_by = Some(by.to_string());
        self.confirmed_at = Some(at);
        Ok(())
    }

    pub fn dismiss(&mut self) -> Result<(), PromiseTransitionError> {
        if !matches!(self.state, PromiseState::Proposed | PromiseState::Confirmed) {
            return Err(PromiseTransitionError::NotProposed(
                self.id,
                self.state.as_str(),
            ));
        }
        self.state = PromiseState::Dismissed;
        Ok(())
    }

    /// A release shipped what was promised. Proposed promises are kept too: the customer was
    /// told, whether or not an agent got round to confirming it. Keeping twice changes nothing.
    pub fn keep(
        &mut self,
        release_id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, PromiseTransitionError> {
        match self.state {
            PromiseState::Dismissed => Err(PromiseTransitionError::Dismissed(self.id)),
            PromiseState::Kept => Ok(false),
            _ => {
                self.state = PromiseState::Kept;
                self.release_id = Some(release_id);
                self.kept_at = Some(at);
                Ok(true)
            }
        }
    }

    /// Past its due date (the whole day counts) and not kept.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        matches!(self.state, PromiseState::Confirmed | PromiseState::Broken)
            && self.due_on.is_some_and(|due| today > due)
    }

    /// Marks an overdue promise broken; returns whether it changed (so the alert fires once).
    pub fn break_if_overdue(&mut self, today: NaiveDate) -> bool {
        if self.state == PromiseState::Confirmed && self.is_overdue(today) {
            self.state = PromiseState::Broken;
            return true;
        }
        false
    }

    /// Kept by its due date? `None` while open or without a due date.
    pub fn kept_on_time(&self) -> Option<bool> {
        let kept = self.kept_at?;
        let due = self.due_on?;
        Some(kept.date_naive() <= due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn proposed() -> Promise {
        Promise {
            id: PromiseId(7),
            request_id: Some(RequestId(3)),
            conversation_id: ConversationId(11),
            reply_id: Some(5),
            evidence: "we will add that in an upcoming release".into(),
            kind: PromiseKind::Feature,
            state: PromiseState::Proposed,
            made_at: at("2017-08-19T04:11:00Z"),
            due_on: None,
            target_release: None,
            confirmed_by: None,
            confirmed_at: None,
            release_id: None,
            kept_at: None,
        }
    }

    /// Ann confirms the promise on 19 August, due on the 25th.
    fn confirm_due_25th(p: &mut Promise) {
        p.confirm(
            "ann",
            Some(day("2017-08-25")),
            None,
            at("2017-08-19T05:00:00Z"),
        )
        .unwrap();
    }

    #[test]
    fn a_promise_needs_a_deadline_to_be_confirmed() {
        let mut p = proposed();
        assert_eq!(
            p.confirm("ann", None, None, at("2017-08-19T05:00:00Z")),
            Err(PromiseTransitionError::NoDeadline(PromiseId(7)))
        );
        confirm_due_25th(&mut p);
        assert_eq!(p.state, PromiseState::Confirmed);
        assert!(p
            .confirm("bo", None, Some("9.0".into()), at("2017-08-19T06:00:00Z"))
            .is_err());
    }

    #[test]
    fn overdue_breaks_once_and_a_late_release_still_keeps() {
        let mut p = proposed();
        confirm_due_25th(&mut p);
        assert!(
            !p.is_overdue(day("2017-08-25")),
            "the due day itself is on time"
        );
        assert!(p.break_if_overdue(day("2017-08-26")));
        assert!(
            !p.break_if_overdue(day("2017-08-27")),
            "broken once, alerted once"
        );
        assert_eq!(p.state, PromiseState::Broken);
        assert!(p.keep(4, at("2017-08-28T10:00:00Z")).unwrap());
        assert_eq!(p.kept_on_time(), Some(false));
        assert!(
            !p.keep(4, at("2017-08-29T10:00:00Z")).unwrap(),
            "keeping twice changes nothing"
        );
    }

    #[test]
    fn kept_in_six_days_is_on_time() {
        let mut p = proposed();
        p.kind = PromiseKind::Policy;
        confirm_due_25th(&mut p);
        p.keep(1, at("2017-08-25T09:00:00Z")).unwrap();
        assert_eq!(p.kept_on_time(), Some(true));
        let mut dismissed = proposed();
        dismissed.dismiss().unwrap();
        assert!(dismissed.keep(1, at("2017-08-25T09:00:00Z")).is_err());
    }
}
