//! `[response]`: the response targets, the clock they run on, and how the inbox ranks.

use super::ConfigError;
use chrono::NaiveDate;
use earshot_core::sla::{BusinessHours, ResponseTargets, SlaClock};
use earshot_core::threading::TriagePolicy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseSettings {
    /// `calendar` (every minute counts) or `business` (only covered hours count).
    pub clock: String,
    /// IANA time zone of the team's hours.
    pub timezone: String,
    /// Covered hours by day: `"mon-fri" = "09:00-17:00"`, `"sat" = "10:00-14:00"`.
    pub hours: BTreeMap<String, String>,
    /// Dates (YYYY-MM-DD) with no coverage.
    pub holidays: Vec<String>,
    pub targets: ResponseTargets,
    /// A customer's new post joins their open conversation if it was active within this many hours.
    pub merge_window_hours: u32,
    /// `[response.ranking]`: how the inbox ranks conversations (safety reports and urgency
    /// first, then waiting against the target, then intent and sentiment; reach a boost). Every
    /// setting has a default: see `earshot_core::priority::RankingModel`.
    pub ranking: earshot_core::priority::RankingModel,
}

impl Default for ResponseSettings {
    fn default() -> Self {
        ResponseSettings {
            clock: "calendar".into(),
            timezone: "UTC".into(),
            hours: BTreeMap::new(),
            holidays: vec![],
            targets: ResponseTargets::default(),
            merge_window_hours: 24,
            ranking: Default::default(),
        }
    }
}

impl ResponseSettings {
    /// The response targets and clock these settings describe, checked.
    pub fn triage_policy(&self) -> Result<TriagePolicy, ConfigError> {
        let r = self;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        let mut holidays = vec![];
        for h in &r.holidays {
            holidays.push(NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                invalid(
                    "response.holidays",
                    format!("{h:?} is not a date like 2026-12-24"),
                )
            })?);
        }
        let clock = match r.clock.as_str() {
            "calendar" => SlaClock::Calendar,
            "business" => {
                let days: Vec<(&str, &str)> = r
                    .hours
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if days.is_empty() {
                    return Err(invalid(
                        "response.hours",
                        "the business clock needs covered hours, e.g. \"mon-fri\" = \"09:00-17:00\"".into(),
                    ));
                }
                let hours = BusinessHours::parse(&r.timezone, &days, &holidays)
                    .map_err(|e| invalid("response.hours", e.to_string()))?;
                SlaClock::Business(hours)
            }
            other => {
                return Err(invalid(
                    "response.clock",
                    format!("{other:?}: use \"calendar\" or \"business\""),
                ))
            }
        };
        r.ranking
            .validate()
            .map_err(|e| invalid("response.ranking", e.to_string()))?;
        Ok(TriagePolicy {
            targets: r.targets,
            clock,
            merge_window: chrono::Duration::hours(i64::from(r.merge_window_hours)),
            ranking: r.ranking.clone(),
        })
    }
}
