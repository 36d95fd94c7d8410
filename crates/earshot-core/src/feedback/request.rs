//! A product request: many customers asking for the same thing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub i64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Customers are asking; nobody has committed to anything.
    Open,
    /// Someone promised it (or engineering took it on).
    Planned,
    /// A release shipped it.
    Shipped,
    /// The team decided not to do it.
    Declined,
    /// Folded into another request by an agent.
    Merged,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Planned => "planned",
            RequestStatus::Shipped => "shipped",
            RequestStatus::Declined => "declined",
            RequestStatus::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => RequestStatus::Open,
            "planned" => RequestStatus::Planned,
            "shipped" => RequestStatus::Shipped,
            "declined" => RequestStatus::Declined,
            "merged" => RequestStatus::Merged,
            _ => return None,
        })
    }
}

/// A request with its demand, as the requests page and `earshot requests` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub title: String,
    pub status: RequestStatus,
    /// Distinct customers who asked.
    pub askers: u32,
    /// Posts grouped into it (a customer may ask twice).
    pub posts: u32,
    /// The askers' combined followers: how many people saw the ask.
    pub reach: u64,
    pub first_ask_at: DateTime<Utc>,
    pub latest_ask_at: DateTime<Utc>,
    /// Asks per language code.
    pub languages: BTreeMap<String, u32>,
    /// Asks in the last 7 days and in the 7 days before: the trend.
    pub asks_last_7d: u32,
    pub asks_prior_7d: u32,
    /// Where it went when merged.
    pub merged_into: Option<RequestId>,
    /// The engineering issue it was handed to, if any.
    pub tracker_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Request {
    /// Demand used to rank requests: distinct askers first, weighted by a dampened reach, and
    /// by how recent the asks are, so a big old request does not bury a fast-growing new one.
    pub fn demand(&self, now: DateTime<Utc>) -> f64 {
        let reach = (1.0 + self.reach as f64).log10();
        let days_quiet = (now - self.latest_ask_at).num_hours().max(0) as f64 / 24.0;
        let recency = 1.0 / (1.0 + days_quiet / 30.0);
        (f64::from(self.askers) + 0.5 * reach + f64::from(self.asks_last_7d)) * recency
    }

    /// Growth over the last week, as a ratio (1.0 = flat); `None` with no earlier asks.
    pub fn trend(&self) -> Option<f64> {
        (self.asks_prior_7d > 0)
            .then(|| f64::from(self.asks_last_7d) / f64::from(self.asks_prior_7d))
    }
}

/// What changes a request's status. Every status change goes through [`Request::apply`]:
/// an agent's choice, a hand-off to engineering, the tracker's word, a merge or a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestEvent {
    /// An agent sets open, planned, shipped or declined (merging is [`RequestEvent::MergedInto`]).
    StatusSet(RequestStatus),
    /// Handed to engineering: an open request becomes planned; any other keeps its status.
    HandedOff,
    /// The tracker's issue was closed (shipped or declined) or reopened (planned).
    TrackerChanged(RequestStatus),
    /// Folded into another request by an agent.
    MergedInto(RequestId),
    /// A release shipped it.
    Shipped,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestTransitionError {
    #[error("{0} was merged into {1}: change {1} instead")]
    Merged(RequestId, RequestId),
    #[error("status is one of open, planned, shipped, declined (merge with merge_into)")]
    MergeIsNoStatus,
    #[error("a request cannot be merged into itself")]
    MergedIntoItself,
}

impl Request {
    /// Applies a change of status; one that makes no sense is refused and changes nothing. Setting
    /// the status a request already has is allowed (agents and trackers repeat themselves).
    pub fn apply(&mut self, event: &RequestEvent) -> Result<(), RequestTransitionError> {
        if self.status == RequestStatus::Merged {
            // A merged request lives on only as a pointer: its asks and promises moved.
            let into = self.merged_into.unwrap_or(self.id);
            return Err(RequestTransitionError::Merged(self.id, into));
        }
        match event {
            RequestEvent::StatusSet(RequestStatus::Merged)
            | RequestEvent::TrackerChanged(RequestStatus::Merged) => {
                return Err(RequestTransitionError::MergeIsNoStatus)
            }
            RequestEvent::StatusSet(status) | RequestEvent::TrackerChanged(status) => {
                self.status = *status;
            }
            RequestEvent::HandedOff => {
                if self.status == RequestStatus::Open {
                    self.status = RequestStatus::Planned;
                }
            }
            RequestEvent::MergedInto(into) => {
                if *into == self.id {
                    return Err(RequestTransitionError::MergedIntoItself);
                }
                self.status = RequestStatus::Merged;
                self.merged_into = Some(*into);
            }
            RequestEvent::Shipped => self.status = RequestStatus::Shipped,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(askers: u32, reach: u64, latest: &str, last7: u32, prior7: u32) -> Request {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        Request {
            id: RequestId(1),
            title: "Move the seat back when parked".into(),
            status: RequestStatus::Open,
            askers,
            posts: askers,
            reach,
            first_ask_at: at("2024-01-01T00:00:00Z"),
            latest_ask_at: at(latest),
            languages: BTreeMap::new(),
            asks_last_7d: last7,
            asks_prior_7d: prior7,
            merged_into: None,
            tracker_url: None,
            created_at: at("2024-01-01T00:00:00Z"),
        }
    }

    #[test]
    fn demand_favours_many_recent_askers() {
        let now = DateTime::parse_from_rfc3339("2024-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let big_old = request(40, 10_000, "2023-09-01T00:00:00Z", 0, 0);
        let growing = request(25, 5_000, "2024-02-29T00:00:00Z", 20, 2);
        assert!(growing.demand(now) > big_old.demand(now));
        assert_eq!(growing.trend(), Some(10.0));
        assert_eq!(big_old.trend(), None);
        let loud_one = request(1, 5_000_000, "2024-02-29T00:00:00Z", 1, 0);
        assert!(
            growing.demand(now) > loud_one.demand(now),
            "one famous asker is not demand"
        );
    }

    #[test]
    fn status_round_trips() {
        for s in [
            RequestStatus::Open,
            RequestStatus::Planned,
            RequestStatus::Shipped,
            RequestStatus::Declined,
            RequestStatus::Merged,
        ] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn status_changes_follow_the_rules() {
        let mut r = request(3, 10, "2024-02-29T00:00:00Z", 1, 0);
        r.apply(&RequestEvent::HandedOff).unwrap();
        assert_eq!(r.status, RequestStatus::Planned);
        r.apply(&RequestEvent::StatusSet(RequestStatus::Declined))
            .unwrap();
        r.apply(&RequestEvent::HandedOff).unwrap();
        assert_eq!(
            r.status,
            RequestStatus::Declined,
            "a hand-off plans only an open request"
        );
        assert_eq!(
            r.apply(&RequestEvent::StatusSet(RequestStatus::Merged)),
            Err(RequestTransitionError::MergeIsNoStatus)
        );
        assert_eq!(
            r.apply(&RequestEvent::MergedInto(r.id)),
            Err(RequestTransitionError::MergedIntoItself)
        );
        assert_eq!(
            r.status,
            RequestStatus::Declined,
            "a refused change changes nothing"
        );
        r.apply(&RequestEvent::MergedInto(RequestId(9))).unwrap();
        assert_eq!(
            (r.status, r.merged_into),
            (RequestStatus::Merged, Some(RequestId(9)))
        );
        for e in [
            RequestEvent::Shipped,
            RequestEvent::StatusSet(RequestStatus::Open),
            RequestEvent::TrackerChanged(RequestStatus::Shipped),
            RequestEvent::MergedInto(RequestId(4)),
        ] {
            assert_eq!(
                r.apply(&e),
                Err(RequestTransitionError::Merged(RequestId(1), RequestId(9)))
            );
        }
    }
}
