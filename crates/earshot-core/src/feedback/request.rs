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
}
