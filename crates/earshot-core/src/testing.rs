//! What the crate's unit tests share.

use crate::sla::SlaClock;
use crate::triage::policy::{PolicyConfig, PolicyError, PolicySet};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// An RFC 3339 time, written the way the tests read best.
pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"))
}

/// The policies of a `[[policies]]` file over these named clocks (calendar time by default).
pub fn policies_over(
    toml_text: &str,
    clocks: &BTreeMap<String, SlaClock>,
) -> Result<PolicySet, PolicyError> {
    #[derive(Deserialize)]
    struct File {
        policies: Vec<PolicyConfig>,
    }
    let file: File = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    PolicySet::compile(
        &file.policies,
        clocks,
        Default::default(),
        ("calendar", SlaClock::Calendar),
    )
}

/// One policy, `name`, for everyone: a first response `within` (say "1h"), calendar time.
pub fn one_policy(name: &str, within: &str) -> PolicySet {
    let text =
        format!("[[policies]]\nname = \"{name}\"\nfirst_response = {{ within = \"{within}\" }}");
    policies_over(&text, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"))
}
