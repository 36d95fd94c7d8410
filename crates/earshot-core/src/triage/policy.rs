//! Response-target policies: which targets a conversation is held to, chosen by conditions
//! in order, and how it is doing against them.
//!
//! ```toml
//! [[policies]]
//! name = "complaints"
//! when = { intent = ["complaint"] }
//! first_response = { within = "1h", hours = "care-eu" }   # business hours of care-eu
//! resolution = { within = "2d" }                          # calendar time
//! next_response = { within = "4h", hours = "care-eu" }
//! ```
//!
//! The first policy whose `when` holds applies; when none does, the per-band defaults
//! ([`ResponseTargets`]) on the default clock apply, and the "why" says so.

use super::condition::{Condition, ConditionError};
use super::facts::Facts;
use super::timeline::{self, Moment, TargetKind, TargetStatus};
use crate::priority::{human, PriorityBand};
use crate::sla::{ResponseTargets, SlaClock};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A target length as an admin writes it: `"90m"`, `"1h"`, `"1h30m"`, `"2d"`, or minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Within(pub Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {0:?} as a length of time: write it like 30m, 1h, 1h30m or 2d")]
pub struct WithinError(pub String);

impl std::str::FromStr for Within {
    type Err = WithinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || WithinError(s.to_string());
        let text = s.trim().to_ascii_lowercase().replace(' ', "");
        if text.is_empty() {
            return Err(bad());
        }
        let mut total = Duration::zero();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let part = match unit {
                "d" | "day" | "days" => Duration::try_days(n),
                "h" | "hour" | "hours" => Duration::try_hours(n),
                "m" | "min" | "mins" | "minute" | "minutes" => Duration::try_minutes(n),
                _ => None,
            };
            total = total.checked_add(&part.ok_or_else(bad)?).ok_or_else(bad)?;
        }
        if total <= Duration::zero() || total > Duration::days(3650) {
            return Err(bad());
        }
        Ok(Within(total))
    }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mins = self.0.num_minutes();
        let (d, h, m) = (mins / 1440, (mins % 1440) / 60, mins % 60);
        let mut out = String::new();
        if d > 0 {
            out.push_str(&format!("{d}d"));
        }
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 || out.is_empty() {
            out.push_str(&format!("{m}m"));
        }
        f.write_str(&out)
    }
}

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Minutes(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Minutes(0) => Err(serde::de::Error::custom(
                "a target of 0 minutes is always missed",
            )),
            Raw::Minutes(m) => Ok(Within(Duration::minutes(i64::from(m)))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Within {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub within: Within,
    /// An `[hours.NAME]` set: counted in its business hours. Absent: calendar time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub name: String,
    #[serde(default)]
    pub when: Condition,
    pub first_response: TargetConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<TargetConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_response: Option<TargetConfig>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {policy:?} counts in hours {hours:?}, which are not defined under [hours]")]
    UnknownHours { policy: String, hours: String },
    #[error("policy {policy:?}: {source}")]
    Condition {
        policy: String,
        source: ConditionError,
    },
    #[error("two policies are called {0:?}: names must be unique so reports can tell them apart")]
    Duplicate(String),
}

/// A target and the clock it is counted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub within: Duration,
    pub clock: SlaClock,
    /// `calendar` or the hours set's name, for explanations.
    pub clock_name: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.clock {
            SlaClock::Calendar => write!(f, "{} (calendar time)", human(self.within)),
            SlaClock::Business(_) => {
                write!(
                    f,
                    "{} ({} business hours)",
                    human(self.within),
                    self.clock_name
                )
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub when: Condition,
    pub first_response: Target,
    pub resolution: Option<Target>,
    pub next_response: Option<Target>,
}

/// The policies in order, and the per-band defaults for conversations none of them takes.
#[derive(Debug, Clone)]
pub struct PolicySet {
    policies: Vec<Policy>,
    /// One default policy per band, in [`PriorityBand::ALL`] order.
    defaults: Vec<Policy>,
}

/// Which policy applies and why.
#[derive(Debug, Clone, Copy)]
pub struct Chosen<'a> {
    pub policy: &'a Policy,
    pub is_default: bool,
}

/// How a conversation is doing against its policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub policy: String,
    /// Why this policy: the clauses that held, or why none did.
    pub why: String,
    pub first_response: TargetStatus,
    pub resolution: Option<TargetStatus>,
    pub next_responses: Vec<TargetStatus>,
}

impl Assessment {
    /// Every target missed.
    pub fn breaches(&self) -> impl Iterator<Item = &TargetStatus> {
        std::iter::once(&self.first_response)
            .chain(&self.resolution)
            .chain(&self.next_responses)
            .filter(|t| t.breached())
    }

    pub fn breached(&self) -> bool {
        self.breaches().next().is_some()
    }

    /// The soonest due time among running targets, and which.
    pub fn next_due(&self) -> Option<(TargetKind, DateTime<Utc>)> {
        std::iter::once(&self.first_response)
            .chain(&self.resolution)
            .chain(&self.next_responses)
            .filter_map(|t| t.due().map(|d| (t.kind, d)))
            .min_by_key(|&(_, d)| d)
    }
}

fn target(
    policy: &str,
    cfg: &TargetConfig,
    clocks: &BTreeMap<String, SlaClock>,
) -> Result<Target, PolicyError> {
    let (clock, clock_name) = match &cfg.hours {
        None => (SlaClock::Calendar, "calendar".to_string()),
        Some(name) => (
            clocks
                .get(name)
                .cloned()
                .ok_or_else(|| PolicyError::UnknownHours {
                    policy: policy.to_string(),
                    hours: name.clone(),
                })?,
            name.clone(),
        ),
    };
    Ok(Target {
        within: cfg.within.0,
        clock,
        clock_name,
    })
}

impl PolicySet {
    /// Compiles policies against the named business-hours clocks. `defaults` and
    /// `default_clock` serve conversations no policy takes (the existing `[response]` settings).
    pub fn compile(
        configs: &[PolicyConfig],
        clocks: &BTreeMap<String, SlaClock>,
        defaults: ResponseTargets,
        default_clock: (&str, SlaClock),
    ) -> Result<Self, PolicyError> {
        let mut names = BTreeSet::new();
        let mut policies = Vec::with_capacity(configs.len());
        for cfg in configs {
            if !names.insert(cfg.name.as_str()) {
                return Err(PolicyError::Duplicate(cfg.name.clone()));
            }
            cfg.when
                .validate()
                .map_err(|source| PolicyError::Condition {
                    policy: cfg.name.clone(),
                    source,
                })?;
            policies.push(Policy {
                name: cfg.name.clone(),
                when: cfg.when.clone(),
                first_response: target(&cfg.name, &cfg.first_response, clocks)?,
                resolution: cfg
                    .resolution
                    .as_ref()
                    .map(|t| target(&cfg.name, t, clocks))
                    .transpose()?,
                next_response: cfg
                    .next_response
                    .as_ref()
                    .map(|t| target(&cfg.name, t, clocks))
                    .transpose()?,
            });
        }
        let (clock_name, clock) = default_clock;
        let defaults = PriorityBand::ALL
            .iter()
            .map(|&band| {
                let first = Target {
                    within: defaults.target_for(band),
                    clock: clock.clone(),
                    clock_name: clock_name.to_string(),
                };
                Policy {
                    name: format!("default {band}"),
                    when: Condition {
                        band: vec![band],
                        ..Condition::default()
                    },
                    // Later answers are held to the same target as the first, as before policies.
                    next_response: Some(first.clone()),
                    first_response: first,
                    resolution: None,
                }
            })
            .collect();
        Ok(PolicySet { policies, defaults })
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The first policy whose conditions hold, or the band's default, with the reason.
    pub fn select(&self, facts: &Facts) -> (Chosen<'_>, String) {
        let mut misses = Vec::new();
        for p in &self.policies {
            match p.when.check(facts) {
                Ok(why) => {
                    return (
                        Chosen {
                            policy: p,
                            is_default: false,
                        },
                        format!("policy {:?}: {why}", p.name),
                    )
                }
                Err(not) => misses.push(format!("{}: {not}", p.name)),
            }
        }
        let index = PriorityBand::ALL
            .iter()
            .position(|&b| b == facts.band)
            .unwrap_or(2);
        let policy = &self.defaults[index.min(self.defaults.len() - 1)];
        let why = if misses.is_empty() {
            format!("no policies configured; {} band default", facts.band)
        } else {
            format!(
                "no policy matched ({}); {} band default",
                misses.join("; "),
                facts.band
            )
        };
        (
            Chosen {
                policy,
                is_default: true,
            },
            why,
        )
    }

    /// Which policy applies, why, and how the conversation's history fares against it by `now`.
    pub fn assess(&self, facts: &Facts, history: &[Moment], now: DateTime<Utc>) -> Assessment {
        let (chosen, why) = self.select(facts);
        assess_with(chosen.policy, why, history, now)
    }
}

/// Measures a history against one policy.
pub fn assess_with(
    policy: &Policy,
    why: String,
    history: &[Moment],
    now: DateTime<Utc>,
) -> Assessment {
    let first = &policy.first_response;
    Assessment {
        policy: policy.name.clone(),
        why,
        first_response: timeline::first_response(&first.clock, first.within, history, now),
        resolution: policy
            .resolution
            .as_ref()
            .map(|t| timeline::resolution(&t.clock, t.within, history, now)),
        next_responses: policy
            .next_response
            .as_ref()
            .map(|t| timeline::next_responses(&t.clock, t.within, history, now))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Intent;
    use crate::network::Network;
    use crate::sla::BusinessHours;
    use crate::testing::at;
    use crate::triage::timeline::{ClockEvent, Progress};

    fn clocks() -> BTreeMap<String, SlaClock> {
        let h = BusinessHours::parse("Europe/Copenhagen", &[("mon-fri", "09:00-17:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        [("care-eu".to_string(), SlaClock::Business(h))].into()
    }

    fn set(toml_text: &str) -> Result<PolicySet, PolicyError> {
        crate::testing::policies_over(toml_text, &clocks())
    }

    const POLICIES: &str = r#"
        [[policies]]
        name = "vip"
        when = { followers_at_least = 100000 }
        first_response = { within = "15m" }

        [[policies]]
        name = "complaints"
        when = { intent = ["complaint"], network = ["x", "bluesky"] }
        first_response = { within = "1h", hours = "care-eu" }
        resolution = { within = "2d" }
        next_response = { within = "4h", hours = "care-eu" }
    "#;

    #[test]
    fn first_matching_policy_applies_in_order() {
        let set = set(POLICIES).unwrap_or_else(|e| panic!("{e}"));
        let complaint = Facts {
            intent: Intent::Complaint,
            network: Network::X,
            followers: Some(200_000),
            ..Facts::default()
        };
        let (chosen, why) = set.select(&complaint);
        assert_eq!(chosen.policy.name, "vip", "earlier policy wins: {why}");
        let (chosen, why) = set.select(&Facts {
            followers: Some(50),
            ..complaint.clone()
        });
        assert_eq!(chosen.policy.name, "complaints");
        assert!(
            why.contains("intent complaint is one of [complaint]"),
            "{why}"
        );
        assert_eq!(
            chosen.policy.first_response.to_string(),
            "1 h (care-eu business hours)"
        );
        let (chosen, why) = set.select(&Facts {
            band: PriorityBand::High,
            ..Facts::default()
        });
        assert!(chosen.is_default);
        assert_eq!(chosen.policy.first_response.within, Duration::minutes(60));
        assert!(why.contains("no policy matched"), "{why}");
        assert!(
            why.contains("complaints: intent other is not one of [complaint]"),
            "{why}"
        );
    }

    #[test]
    fn assessment_uses_the_chosen_policys_clock() {
        let set = set(POLICIES).unwrap_or_else(|e| panic!("{e}"));
        let complaint = Facts {
            intent: Intent::Complaint,
            network: Network::Bluesky,
            ..Facts::default()
        };
        // Friday 16:45 in Copenhagen: 15 minutes Friday, 45 on Monday → due Monday 09:45.
        let history = [Moment::new(
            at("2024-06-07T16:45:00+02:00"),
            ClockEvent::CustomerPost,
        )];
        let a = set.assess(&complaint, &history, at("2024-06-08T12:00:00+02:00"));
        assert_eq!(a.policy, "complaints");
        assert_eq!(
            a.first_response.progress,
            Progress::Running {
                due: at("2024-06-10T09:45:00+02:00")
            }
        );
        assert!(!a.breached());
        // Resolution (2 calendar days: Sunday 16:45) falls due before the first answer does.
        assert_eq!(
            a.next_due(),
            Some((TargetKind::Resolution, at("2024-06-09T16:45:00+02:00")))
        );
        let a = set.assess(&complaint, &history, at("2024-06-10T10:00:00+02:00"));
        let missed: Vec<(TargetKind, Option<DateTime<Utc>>)> =
            a.breaches().map(|t| (t.kind, t.breached_at)).collect();
        // Resolution counts calendar time: 2 days from Friday 16:45 is Sunday 16:45.
        assert_eq!(
            missed,
            vec![
                (
                    TargetKind::FirstResponse,
                    Some(at("2024-06-10T09:45:00+02:00"))
                ),
                (
                    TargetKind::Resolution,
                    Some(at("2024-06-09T16:45:00+02:00"))
                ),
            ]
        );
    }

    #[test]
    fn config_mistakes_are_named() {
        let unknown = set(r#"[[policies]]
            name = "x"
            first_response = { within = "1h", hours = "care-us" }"#);
        assert!(
            matches!(unknown, Err(PolicyError::UnknownHours { ref hours, .. }) if hours == "care-us")
        );
        let dup = set(r#"[[policies]]
            name = "x"
            first_response = { within = 30 }
            [[policies]]
            name = "x"
            first_response = { within = "1h" }"#);
        assert_eq!(dup.err(), Some(PolicyError::Duplicate("x".into())));
    }

    #[test]
    fn target_lengths_read_like_people_write_them() {
        let ok = |s: &str| {
            s.parse::<Within>()
                .map(|w| w.0)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(ok("90m"), Duration::minutes(90));
        assert_eq!(ok("1h30m"), Duration::minutes(90));
        assert_eq!(ok("1 h 30 min"), Duration::minutes(90));
        assert_eq!(ok("2d"), Duration::days(2));
        assert_eq!(Within(Duration::minutes(1530)).to_string(), "1d1h30m");
        for bad in ["", "1x", "h", "0m", "99999d", "-1h"] {
            assert!(bad.parse::<Within>().is_err(), "{bad}");
        }
    }
}
