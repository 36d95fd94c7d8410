//! Who covers a team when: rotations with hand-offs at a local time of day, layers for nights
//! and weekends, and overrides for a date range.
//!
//! ```toml
//! [[schedules]]
//! team = "care-eu"
//! timezone = "Europe/Copenhagen"
//!
//! [[schedules.layers]]
//! name = "nights and weekends"
//! members = ["ana", "bo", "carl"]
//! starts = "2024-01-01"        # ana's first shift starts this day at the hand-off
//! handoff = "09:00"
//! every_days = 7               # weekly; 1 for daily
//! outside_hours = "care-eu"    # only outside these business hours (holidays included)
//!
//! [[schedules.overrides]]
//! who = "dana"
//! from = "2024-12-24T17:00"
//! until = "2024-12-26"         # a date alone: to the end of that day
//! ```
//!
//! Overrides come first (the first one covering the moment, restricted to its layer if it
//! names one); then the first layer whose window covers the moment.

use super::calendar::local_instant;
use crate::sla::{BusinessHours, HoursError, SlaClock};
use chrono::{DateTime, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub team: String,
    pub timezone: String,
    #[serde(default)]
    pub layers: Vec<LayerConfig>,
    #[serde(default)]
    pub overrides: Vec<OverrideConfig>,
}

fn weekly() -> u32 {
    7
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    pub name: String,
    pub members: Vec<String>,
    /// The local date the first member's first shift starts, at the hand-off time.
    pub starts: NaiveDate,
    /// Local time of the hand-off, `HH:MM`.
    pub handoff: String,
    /// Days each member covers before handing off.
    #[serde(default = "weekly")]
    pub every_days: u32,
    /// Only these weekly windows, e.g. `"mon-fri" = "00:00-09:00,17:00-24:00"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub during: BTreeMap<String, String>,
    /// Only outside these business hours (an `[hours.NAME]` set): nights, weekends, holidays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside_hours: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    pub who: String,
    /// `YYYY-MM-DD` (midnight) or `YYYY-MM-DDTHH:MM`, local.
    pub from: String,
    /// `YYYY-MM-DDTHH:MM` (exclusive), or `YYYY-MM-DD` for the end of that day.
    pub until: String,
    /// Only stands in for this layer; absent: covers the team whatever the layers say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule for {team:?}: unknown time zone {zone:?}")]
    TimeZone { team: String, zone: String },
    #[error("schedule for {team:?}, layer {layer:?}: {why}")]
    Layer {
        team: String,
        layer: String,
        why: String,
    },
    #[error("schedule for {team:?}: override for {who:?}: {why}")]
    Override {
        team: String,
        who: String,
        why: String,
    },
    #[error(transparent)]
    Hours(#[from] HoursError),
}

/// Members taking turns, handing off at a local time every `every_days` days.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub members: Vec<String>,
    pub tz: Tz,
    pub anchor: NaiveDate,
    pub handoff: NaiveTime,
    pub every_days: u32,
}

impl Rotation {
    fn handoff_at(&self, shift: i64) -> Option<DateTime<Utc>> {
        let days = shift.checked_mul(i64::from(self.every_days))?;
        let date = if days >= 0 {
            self.anchor
                .checked_add_days(Days::new(days.unsigned_abs()))?
        } else {
            self.anchor
                .checked_sub_days(Days::new(days.unsigned_abs()))?
        };
        Some(local_instant(self.tz, date.and_time(self.handoff)))
    }

    /// Who holds the rotation at `at`, with the shift's hand-off instants.
    pub fn shift_at(&self, at: DateTime<Utc>) -> Option<(&str, DateTime<Utc>, DateTime<Utc>)> {
        if self.members.is_empty() || self.every_days == 0 {
            return None;
        }
        let local = at.with_timezone(&self.tz).date_naive();
        let days = (local - self.anchor).num_days();
        let mut shift = days.div_euclid(i64::from(self.every_days));
        // The local date's shift may not have started yet (before today's hand-off).
        if self.handoff_at(shift)? > at {
            shift -= 1;
        }
        let since = self.handoff_at(shift)?;
        let until = self.handoff_at(shift + 1)?;
        let n = i64::try_from(self.members.len()).ok()?;
        let who = usize::try_from(shift.rem_euclid(n)).ok()?;
        Some((self.members[who].as_str(), since, until))
    }
}

/// When a layer covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Window {
    Always,
    /// Weekly windows.
    During(BusinessHours),
    /// Whenever these hours do not (nights, weekends, holidays).
    Outside(SlaClock),
}

impl Window {
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        match self {
            Window::Always => true,
            Window::During(h) => SlaClock::Business(h.clone()).is_covered(at),
            Window::Outside(c) => !c.is_covered(at),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub rotation: Rotation,
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub who: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub layer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub team: String,
    pub tz: Tz,
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

/// Who is on call, from when to when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnCall {
    pub person: String,
    pub layer: String,
    /// The shift's (or override's) start and end.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub why: String,
}

fn read_local(s: &str, end_of_day: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let date = if end_of_day { date.succ_opt()? } else { date };
    Some(date.and_time(NaiveTime::MIN))
}

impl Schedule {
    /// Builds a schedule; `clocks` are the named business hours that `outside_hours` refers to.
    pub fn compile(
        cfg: &ScheduleConfig,
        clocks: &BTreeMap<String, SlaClock>,
    ) -> Result<Self, ScheduleError> {
        let tz: Tz = cfg.timezone.parse().map_err(|_| ScheduleError::TimeZone {
            team: cfg.team.clone(),
            zone: cfg.timezone.clone(),
        })?;
        let mut layers = Vec::with_capacity(cfg.layers.len());
        for l in &cfg.layers {
            let bad = |why: String| ScheduleError::Layer {
                team: cfg.team.clone(),
                layer: l.name.clone(),
                why,
            };
            if l.members.is_empty() {
                return Err(bad("no members".into()));
            }
            if l.every_days == 0 {
                return Err(bad("every_days must be at least 1".into()));
            }
            let handoff = NaiveTime::parse_from_str(l.handoff.trim(), "%H:%M")
                .map_err(|_| bad(format!("hand-off {:?} is not a time like 09:00", l.handoff)))?;
            let window = match (&l.outside_hours, l.during.is_empty()) {
                (Some(_), false) => {
                    return Err(bad(
                        "give either `during` or `outside_hours`, not both".into()
                    ))
                }
                (Some(name), true) => {
                    Window::Outside(clocks.get(name).cloned().ok_or_else(|| {
                        bad(format!("hours {name:?} are not defined under [hours]"))
                    })?)
                }
                (None, false) => {
                    let days: Vec<(&str, &str)> = l
                        .during
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    Window::During(BusinessHours::parse(&cfg.timezone, &days, &[])?)
                }
                (None, true) => Window::Always,
            };
            layers.push(Layer {
                name: l.name.clone(),
                rotation: Rotation {
                    members: l.members.clone(),
                    tz,
                    anchor: l.starts,
                    handoff,
                    every_days: l.every_days,
                },
                window,
            });
        }
        let mut overrides = Vec::with_capacity(cfg.overrides.len());
        for o in &cfg.overrides {
            let bad = |why: String| ScheduleError::Override {
                team: cfg.team.clone(),
                who: o.who.clone(),
                why,
            };
            let from = read_local(&o.from, false).ok_or_else(|| {
                bad(format!(
                    "from {:?} is not like 2024-12-24 or 2024-12-24T17:00",
                    o.from
                ))
            })?;
            let until = read_local(&o.until, true).ok_or_else(|| {
                bad(format!(
                    "until {:?} is not like 2024-12-26 or 2024-12-26T09:00",
                    o.until
                ))
            })?;
            let (from, until) = (local_instant(tz, from), local_instant(tz, until));
            if until <= from {
                return Err(bad("it ends before it starts".into()));
            }
            if let Some(layer) = &o.layer {
                if !layers.iter().any(|l| &l.name == layer) {
                    return Err(bad(format!("there is no layer {layer:?}")));
                }
            }
            overrides.push(Override {
                who: o.who.clone(),
                from,
                until,
                layer: o.layer.clone(),
            });
        }
        Ok(Schedule {
            team: cfg.team.clone(),
            tz,
            layers,
            overrides,
        })
    }

    /// Who is on call for the team at `at`; `None` when no layer covers that moment.
    pub fn who_is_on_call(&self, at: DateTime<Utc>) -> Option<OnCall> {
        let active = self.layers.iter().find(|l| l.window.covers(at));
        for o in &self.overrides {
            if !(o.from <= at && at < o.until) {
                continue;
            }
            let applies = match &o.layer {
                None => true,
                Some(name) => active.is_some_and(|l| &l.name == name),
            };
            if applies {
                return Some(OnCall {
                    person: o.who.clone(),
                    layer: o.layer.clone().unwrap_or_else(|| "override".into()),
                    since: o.from,
                    until: o.until,
                    why: format!(
                        "override {} → {}",
                        o.from.with_timezone(&self.tz).format("%Y-%m-%d %H:%M"),
                        o.until.with_timezone(&self.tz).format("%Y-%m-%d %H:%M %Z")
                    ),
                });
            }
        }
        let layer = active?;
        let (who, since, until) = layer.rotation.shift_at(at)?;
        Some(OnCall {
            person: who.to_string(),
            layer: layer.name.clone(),
            since,
            until,
            why: format!(
                "{} rotation, shift {} → {}",
                layer.name,
                since.with_timezone(&self.tz).format("%a %Y-%m-%d %H:%M"),
                until.with_timezone(&self.tz).format("%a %Y-%m-%d %H:%M %Z")
            ),
        })
    }
}

/// Every team's schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub schedules: BTreeMap<String, Schedule>,
}

impl Coverage {
    pub fn compile(
        configs: &[ScheduleConfig],
        clocks: &BTreeMap<String, SlaClock>,
    ) -> Result<Self, ScheduleError> {
        let mut schedules = BTreeMap::new();
        for cfg in configs {
            schedules.insert(cfg.team.clone(), Schedule::compile(cfg, clocks)?);
        }
        Ok(Coverage { schedules })
    }

    pub fn who_is_on_call(&self, team: &str, at: DateTime<Utc>) -> Option<OnCall> {
        self.schedules.get(team)?.who_is_on_call(at)
    }

    /// Whether anyone covers the team at `at`.
    pub fn covered(&self, team: &str, at: DateTime<Utc>) -> bool {
        self.who_is_on_call(team, at).is_some()
    }
}

/// The next `count` shifts from `from`: who holds each and when it starts (for previews).
pub fn preview(
    rotation: &Rotation,
    from: DateTime<Utc>,
    count: usize,
) -> Vec<(String, DateTime<Utc>)> {
    let mut out = Vec::with_capacity(count);
    let mut t = from;
    for _ in 0..count {
        let Some((who, since, until)) = rotation.shift_at(t) else {
            break;
        };
        out.push((who.to_string(), since));
        t = until.max(t + Duration::seconds(1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    fn clocks() -> BTreeMap<String, SlaClock> {
        let christmas = NaiveDate::from_ymd_opt(2024, 12, 25).unwrap_or_default();
        let h = BusinessHours::parse(
            "Europe/Copenhagen",
            &[("mon-fri", "09:00-17:00")],
            &[christmas],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        [("care-eu".to_string(), SlaClock::Business(h))].into()
    }

    fn schedule(toml_text: &str) -> Schedule {
        let cfg: ScheduleConfig = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
        Schedule::compile(&cfg, &clocks()).unwrap_or_else(|e| panic!("{e}"))
    }

    const NIGHTS: &str = r#"
        team = "care-eu"
        timezone = "Europe/Copenhagen"
        [[layers]]
        name = "nights and weekends"
        members = ["ana", "bo", "carl"]
        starts = "2024-01-01"
        handoff = "09:00"
        every_days = 7
        outside_hours = "care-eu"
    "#;

    fn who(s: &Schedule, t: &str) -> Option<String> {
        s.who_is_on_call(at(t)).map(|o| o.person)
    }

    #[test]
    fn weekly_rotation_hands_off_monday_morning_and_skips_office_hours() {
        let s = schedule(NIGHTS);
        // 2024-01-01 is a Monday: ana until Monday 8 January 09:00, then bo, then carl.
        assert_eq!(who(&s, "2024-01-02T22:00:00+01:00").as_deref(), Some("ana"));
        assert_eq!(
            who(&s, "2024-01-06T12:00:00+01:00").as_deref(),
            Some("ana"),
            "Saturday"
        );
        assert_eq!(
            who(&s, "2024-01-08T08:59:00+01:00").as_deref(),
            Some("ana"),
            "Monday before the hand-off"
        );
        // Monday 09:00 is office hours: the team is at work, nobody is on call.
        assert_eq!(who(&s, "2024-01-08T10:00:00+01:00"), None);
        assert_eq!(who(&s, "2024-01-08T17:30:00+01:00").as_deref(), Some("bo"));
        assert_eq!(
            who(&s, "2024-01-15T17:30:00+01:00").as_deref(),
            Some("carl")
        );
        assert_eq!(
            who(&s, "2024-01-22T17:30:00+01:00").as_deref(),
            Some("ana"),
            "wraps round"
        );
        // The holiday on Wednesday 25 December is covered by the layer all day.
        assert!(who(&s, "2024-12-25T12:00:00+01:00").is_some());
        let o = s.who_is_on_call(at("2024-01-06T12:00:00+01:00"));
        assert_eq!(
            o.map(|o| (o.since, o.until)),
            Some((
                at("2024-01-01T09:00:00+01:00"),
                at("2024-01-08T09:00:00+01:00")
            ))
        );
    }

    #[test]
    fn daily_hand_off_across_midnight_and_dst() {
        let s = schedule(
            r#"
            team = "care-us"
            timezone = "America/New_York"
            [[layers]]
            name = "nights"
            members = ["dee", "eli"]
            starts = "2024-03-08"
            handoff = "18:00"
            every_days = 1
            during = { "mon-sun" = "18:00-08:00" }
        "#,
        );
        // Friday 8 March 18:00 dee takes the night; 01:00 Saturday is still dee's shift.
        assert_eq!(who(&s, "2024-03-09T01:00:00-05:00").as_deref(), Some("dee"));
        assert_eq!(
            who(&s, "2024-03-09T12:00:00-05:00"),
            None,
            "daytime is not covered"
        );
        assert_eq!(who(&s, "2024-03-09T19:00:00-05:00").as_deref(), Some("eli"));
        // Clocks spring forward on Sunday 10 March: the hand-off stays at 18:00 local (EDT).
        let sunday = s.who_is_on_call(at("2024-03-10T20:00:00-04:00"));
        assert_eq!(sunday.as_ref().map(|o| o.person.as_str()), Some("dee"));
        assert_eq!(
            sunday.map(|o| o.since),
            Some(at("2024-03-10T18:00:00-04:00"))
        );
    }

    #[test]
    fn overrides_win_for_their_range_and_layer() {
        let mut text = NIGHTS.to_string();
        text.push_str(
            r#"
            [[overrides]]
            who = "dana"
            from = "2024-12-24T17:00"
            until = "2024-12-26"
            layer = "nights and weekends"
        "#,
        );
        let s = schedule(&text);
        let regular = who(&s, "2024-12-24T16:59:00+01:00");
        assert_eq!(regular, None, "office hours on the 24th");
        assert_eq!(
            who(&s, "2024-12-24T17:00:00+01:00").as_deref(),
            Some("dana")
        );
        assert_eq!(
            who(&s, "2024-12-26T23:59:00+01:00").as_deref(),
            Some("dana"),
            "until the end of the 26th"
        );
        let after = who(&s, "2024-12-27T00:00:00+01:00");
        assert!(
            after.is_some() && after.as_deref() != Some("dana"),
            "{after:?}"
        );
        let o = s.who_is_on_call(at("2024-12-25T03:00:00+01:00"));
        assert!(o.is_some_and(|o| o.why.starts_with("override")));
    }

    #[test]
    fn bad_schedules_are_explained() {
        let cfg: ScheduleConfig = toml::from_str(
            r#"
            team = "t"
            timezone = "Europe/Copenhagen"
            [[layers]]
            name = "l"
            members = []
            starts = "2024-01-01"
            handoff = "09:00"
        "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = Schedule::compile(&cfg, &clocks())
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("no members")));
        let mut bad_hours = cfg.clone();
        bad_hours.layers[0].members = vec!["a".into()];
        bad_hours.layers[0].outside_hours = Some("nope".into());
        assert!(Schedule::compile(&bad_hours, &clocks()).is_err());
    }

    proptest::proptest! {
        /// At every moment of a rotation exactly one member holds it, shifts tile time without
        /// gaps, and members follow each other in order.
        #[test]
        fn rotation_shifts_tile_time(offset_h in 0i64..20_000, every in 1u32..15, n in 1usize..5) {
            let rotation = Rotation {
                members: (0..n).map(|i| format!("m{i}")).collect(),
                tz: chrono_tz::Europe::Copenhagen,
                anchor: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
                handoff: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
                every_days: every,
            };
            let t = at("2023-06-01T00:00:00Z") + Duration::hours(offset_h);
            let shifts = preview(&rotation, t, 3);
            proptest::prop_assert_eq!(shifts.len(), 3);
            let (_, since, until) = rotation.shift_at(t).unwrap_or_else(|| panic!("no shift"));
            proptest::prop_assert!(since <= t && t < until);
            proptest::prop_assert_eq!(shifts[1].1, until);
            let index = |name: &str| name[1..].parse::<usize>().unwrap_or(0);
            proptest::prop_assert_eq!(index(&shifts[1].0), (index(&shifts[0].0) + 1) % n);
        }
    }
}
