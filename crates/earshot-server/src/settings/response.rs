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
            pace: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    /// `earshot config check` refuses a wrong ageing setting, naming the key and saying what
    /// to write; the defaults are the ones `earshot bench triage` measured.
    #[test]
    fn the_ageing_settings_are_checked_with_what_to_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("earshot.toml");
        std::fs::write(
            &path,
            "[response.ranking]\nescalate_after_targets = 0.1\nwaiting_stops_at_targets = 4\n",
        )
        .expect("write");
        let s = Settings::load_with_env(Some(&path), Vec::<(String, String)>::new())
            .expect("valid ageing settings load");
        let ranking = s.triage_policy().expect("policy").ranking;
        assert_eq!(ranking.escalate_after_targets, 0.1);
        assert_eq!(ranking.waiting_stops_at_targets, 4.0);
        let defaults = Settings::default().triage_policy().expect("policy").ranking;
        assert_eq!(defaults.escalate_after_targets, 0.05);
        assert_eq!(defaults.waiting_stops_at_targets, 2.0);
        std::fs::write(&path, "[response.ranking]\nescalate_after_targets = -1\n").expect("write");
        let err = Settings::load_with_env(Some(&path), Vec::<(String, String)>::new())
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("response.ranking")
                && err.contains("escalate_after_targets")
                && err.contains("e.g. 0.05"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[response.ranking]\nwaiting_stops_at_targets = 5000\n",
        )
        .expect("write");
        let err = Settings::load_with_env(Some(&path), Vec::<(String, String)>::new())
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("waiting_stops_at_targets") && err.contains("e.g. 2;"),
            "{err}"
        );
    }
}
