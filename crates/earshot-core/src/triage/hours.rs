//! A team's covered hours as an admin writes them, and the clock built from them.
//!
//! ```toml
//! [hours.care-eu]
//! timezone = "Europe/Copenhagen"
//! week = { "mon-fri" = "08:00-20:00", "sat" = "10:00-16:00" }
//! holidays = ["2026-12-24"]
//! holidays_ics = "/etc/earshot/dk-holidays.ics"   # read by the caller: core does no I/O
//! ```

use super::calendar::{parse_ics, IcsError};
use crate::sla::{BusinessHours, HoursError, SlaClock};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursConfig {
    /// IANA zone the hours are written in.
    pub timezone: String,
    /// Covered hours by day: `"mon-fri" = "09:00-17:00"`; `22:00-06:00` wraps past midnight.
    pub week: BTreeMap<String, String>,
    /// Days off, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// An iCalendar file of days (and hours) off; its text is handed to [`HoursConfig::build`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays_ics: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursConfigError {
    #[error(transparent)]
    Hours(#[from] HoursError),
    #[error("holiday {0:?} is not a date like 2026-12-24")]
    Holiday(String),
    #[error("no covered hours: write at least one day, e.g. \"mon-fri\" = \"09:00-17:00\"")]
    Empty,
    #[error(transparent)]
    Calendar(#[from] IcsError),
}

/// What building hours noticed but did not refuse (an .ics event it could not read).
pub type Warnings = Vec<String>;

impl HoursConfig {
    /// The business hours, with the `.ics` text (if `holidays_ics` is set, the caller reads the
    /// file) expanded for `years`.
    pub fn build(
        &self,
        ics_text: Option<&str>,
        years: RangeInclusive<i32>,
    ) -> Result<(BusinessHours, Warnings), HoursConfigError> {
        if self.week.is_empty() {
            return Err(HoursConfigError::Empty);
        }
        let holidays = self
            .holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                    .map_err(|_| HoursConfigError::Holiday(h.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let days: Vec<(&str, &str)> = self
            .week
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut hours = BusinessHours::parse(&self.timezone, &days, &holidays)?;
        let mut warnings = Vec::new();
        if let Some(text) = ics_text {
            let calendar = parse_ics(text, hours.tz, years)?;
            hours = hours.with_holidays(calendar.days).close(calendar.closures);
            warnings = calendar.warnings;
        }
        Ok((hours, warnings))
    }

    pub fn clock(
        &self,
        ics_text: Option<&str>,
        years: RangeInclusive<i32>,
    ) -> Result<(SlaClock, Warnings), HoursConfigError> {
        self.build(ics_text, years)
            .map(|(h, w)| (SlaClock::Business(h), w))
    }
}
