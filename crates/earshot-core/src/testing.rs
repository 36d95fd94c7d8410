//! What the crate's unit tests share.

use chrono::{DateTime, Utc};

/// An RFC 3339 time, written the way the tests read best.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}
