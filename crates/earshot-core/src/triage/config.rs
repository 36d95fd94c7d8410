//! The whole triage configuration as one TOML table, checked and compiled in one place.
//!
//! ```toml
//! [hours.care-eu]
//! timezone = "Europe/Copenhagen"
//! week = { "mon-fri" = "08:00-18:00" }
//! holidays_ics = "/etc/earshot/holidays.ics"
//!
//! [[policies]]                    # see policy.rs
//! [[routes]]                      # see routing.rs
//! [teams.care-eu]
//! strategy = "least_loaded"
//! hours = "care-eu"
//! agents = [{ name = "ana", capacity = 8 }, { name = "bo", capacity = 4, shift = "early" }]
//! [[schedules]]                   # see oncall.rs
//! [escalation.care-eu]            # see escalation.rs
//! [escalation_triggers]
//! [auto_reply]                    # see autoreply.rs
//! [jump]
//! followers_at_least = 100000
//! spike = true
//! ```
//!
//! Core does no I/O: [`TriageConfig::compile`] takes a function that reads the `.ics` files.

use super::assign::{Agent, JumpRule, Roster, Strategy};
use super::autoreply::AutoReplyConfig;
use super::escalation::{EscalationError, EscalationPolicy, TriggerRules};
use super::hours::{HoursConfig, HoursConfigError};
use super::oncall::{Coverage, ScheduleConfig, ScheduleError};
use super::policy::{PolicyConfig, PolicyError, PolicySet};
use super::routing::{self, Route, RouteError};
use crate::sla::{ResponseTargets, SlaClock};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

fn ten() -> u32 {
    10
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub name: String,
    /// Most open conversations at once.
    #[serde(default = "ten")]
    pub capacity: u32,
    /// An `[hours.NAME]` set: their shift. Absent: whenever the team works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    pub strategy: Strategy,
    /// The team's business hours (`[hours.NAME]`); absent: the default `[response]` clock.
    pub hours: Option<String>,
    pub agents: Vec<AgentConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    pub hours: BTreeMap<String, HoursConfig>,
    pub policies: Vec<PolicyConfig>,
    pub routes: Vec<Route>,
    pub teams: BTreeMap<String, TeamConfig>,
    pub schedules: Vec<ScheduleConfig>,
    pub escalation: BTreeMap<String, EscalationPolicy>,
    pub escalation_triggers: TriggerRules,
    pub auto_reply: Option<AutoReplyConfig>,
    pub jump: JumpRule,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TriageConfigError {
    #[error("hours.{name}: {source}")]
    Hours {
        name: String,
        source: HoursConfigError,
    },
    #[error("hours.{name}: cannot read holidays_ics {path:?}: {why}")]
    ReadIcs {
        name: String,
        path: String,
        why: String,
    },
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error(transparent)]
    Escalation(#[from] EscalationError),
    #[error("teams.{team}: {why}")]
    Team { team: String, why: String },
}

/// A team as compiled: its clock and agents.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub strategy: Strategy,
    pub clock: SlaClock,
    pub agents: Vec<Agent>,
}

/// Everything triage needs, checked and ready.
#[derive(Debug, Clone)]
pub struct Triage {
    pub clocks: BTreeMap<String, SlaClock>,
    pub default_clock: SlaClock,
    pub policies: PolicySet,
    pub routes: Vec<Route>,
    pub teams: BTreeMap<String, Team>,
    pub coverage: Coverage,
    pub escalation: BTreeMap<String, EscalationPolicy>,
    pub triggers: TriggerRules,
    pub auto_reply: Option<AutoReplyConfig>,
    pub jump: JumpRule,
    /// Things accepted but worth a look (e.g. .ics events skipped), for `earshot config check`.
    pub warnings: Vec<String>,
}

impl TriageConfig {
    /// Checks and compiles. `defaults` and `default_clock` are the existing `[response]`
    /// settings (for conversations no policy takes); `read_ics` reads a `holidays_ics` path;
    /// holidays recur over `years`.
    pub fn compile(
        &self,
        defaults: ResponseTargets,
        default_clock: SlaClock,
        read_ics: &dyn Fn(&str) -> Result<String, String>,
        years: RangeInclusive<i32>,
    ) -> Result<Triage, TriageConfigError> {
        let mut clocks = BTreeMap::new();
        let mut warnings = Vec::new();
        for (name, cfg) in &self.hours {
            let text = match &cfg.holidays_ics {
                Some(path) => Some(read_ics(path).map_err(|why| TriageConfigError::ReadIcs {
                    name: name.clone(),
                    path: path.clone(),
                    why,
                })?),
                None => None,
            };
            let (clock, w) = cfg
                .clock(text.as_deref(), years.clone())
                .map_err(|source| TriageConfigError::Hours {
                    name: name.clone(),
                    source,
                })?;
            warnings.extend(w.into_iter().map(|w| format!("hours.{name}: {w}")));
            clocks.insert(name.clone(), clock);
        }
        let policies = PolicySet::compile(
            &self.policies,
            &clocks,
            defaults,
            ("default", default_clock.clone()),
        )?;
        routing::validate(&self.routes, self.teams.keys().map(String::as_str))?;
        let mut teams = BTreeMap::new();
        for (name, cfg) in &self.teams {
            let clock_of =
                |hours: &Option<String>| -> Result<Option<SlaClock>, TriageConfigError> {
                    match hours {
                        None => Ok(None),
                        Some(h) => clocks.get(h).cloned().map(Some).ok_or_else(|| {
                            TriageConfigError::Team {
                                team: name.clone(),
                                why: format!("hours {h:?} are not defined under [hours]"),
                            }
                        }),
                    }
                };
            let clock = clock_of(&cfg.hours)?.unwrap_or_else(|| default_clock.clone());
            let mut agents = Vec::with_capacity(cfg.agents.len());
            for a in &cfg.agents {
                if agents.iter().any(|x: &Agent| x.name == a.name) {
                    return Err(TriageConfigError::Team {
                        team: name.clone(),
                        why: format!("agent {:?} is listed twice", a.name),
                    });
                }
                let mut agent = Agent::new(a.name.clone(), a.capacity);
                agent.shift = clock_of(&a.shift)?;
                agents.push(agent);
            }
            teams.insert(
                name.clone(),
                Team {
                    strategy: cfg.strategy,
                    clock,
                    agents,
                },
            );
        }
        let coverage = Coverage::compile(&self.schedules, &clocks)?;
        for (team, policy) in &self.escalation {
            policy.validate(team)?;
        }
        if let Some(a) = &self.auto_reply {
            a.when.validate().map_err(|e| TriageConfigError::Team {
                team: "auto_reply".into(),
                why: e.to_string(),
            })?;
        }
        Ok(Triage {
            clocks,
            default_clock,
            policies,
            routes: self.routes.clone(),
            teams,
            coverage,
            escalation: self.escalation.clone(),
            triggers: self.escalation_triggers.clone(),
            auto_reply: self.auto_reply.clone(),
            jump: self.jump.clone(),
            warnings,
        })
    }
}

impl Triage {
    /// The clock a team works on (its hours, or the default).
    pub fn team_clock(&self, team: Option<&str>) -> &SlaClock {
        team.and_then(|t| self.teams.get(t))
            .map_or(&self.default_clock, |t| &t.clock)
    }

    /// A team's roster with live state: `live(agent)` gives `(open conversations, away)`;
    /// `last_assigned` keeps the round-robin turn.
    pub fn roster(
        &self,
        team: &str,
        live: impl Fn(&str) -> (u32, bool),
        last_assigned: Option<String>,
    ) -> Option<Roster> {
        let t = self.teams.get(team)?;
        let agents = t
            .agents
            .iter()
            .map(|a| {
                let (open, away) = live(&a.name);
                Agent {
                    open,
                    away,
                    ..a.clone()
                }
            })
            .collect();
        Some(Roster {
            strategy: t.strategy,
            agents,
            last_assigned,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Intent;
    use crate::testing::at;
    use crate::triage::facts::Facts;
    use crate::triage::routing;

    const FULL: &str = r#"
        [hours.care-eu]
        timezone = "Europe/Copenhagen"
        week = { "mon-fri" = "09:00-17:00" }
        holidays = ["2024-12-24"]
        holidays_ics = "dk.ics"

        [hours.early]
        timezone = "Europe/Copenhagen"
        week = { "mon-fri" = "06:00-14:00" }

        [[policies]]
        name = "complaints"
        when = { intent = ["complaint"] }
        first_response = { within = "1h", hours = "care-eu" }

        [[routes]]
        name = "everything"
        team = "care-eu"

        [teams.care-eu]
        strategy = "least_loaded"
        hours = "care-eu"
        agents = [{ name = "ana", capacity = 8 }, { name = "bo", shift = "early" }]

        [[schedules]]
        team = "care-eu"
        timezone = "Europe/Copenhagen"
        [[schedules.layers]]
        name = "nights"
        members = ["ana", "bo"]
        starts = "2024-01-01"
        handoff = "09:00"
        outside_hours = "care-eu"

        [escalation.care-eu]
        levels = [{ notify = ["on-call"], ack_within = "10m" }, { notify = ["maria"], ack_within = "10m" }]

        [auto_reply]
        fallback = "Back at {opens}"
    "#;

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20241225\r\nDTEND;VALUE=DATE:20241227\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn read(path: &str) -> Result<String, String> {
        if path == "dk.ics" {
            Ok(ICS.into())
        } else {
            Err("no such file".into())
        }
    }

    #[test]
    fn a_full_config_compiles_and_works_end_to_end() {
        let cfg: TriageConfig = toml::from_str(FULL).unwrap_or_else(|e| panic!("{e}"));
        let t = cfg
            .compile(
                ResponseTargets::default(),
                SlaClock::Calendar,
                &read,
                2024..=2030,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // Monday 23 December 2024, 16:30: the 24th is off (list), the 25th and 26th (.ics).
        let clock = t.team_clock(Some("care-eu"));
        assert_eq!(
            clock.due(at("2024-12-23T16:30:00+01:00"), chrono::Duration::hours(1)),
            at("2024-12-27T09:30:00+01:00")
        );
        // The .ics rule recurs: Thursday 24 December 2026 is a working day, Friday 25 is not.
        assert_eq!(
            clock.due(at("2026-12-24T16:30:00+01:00"), chrono::Duration::hours(1)),
            at("2026-12-28T09:30:00+01:00")
        );
        let facts = Facts {
            intent: Intent::Complaint,
            ..Facts::default()
        };
        let routing = routing::route(&t.routes, &facts);
        assert_eq!(routing.team.as_deref(), Some("care-eu"));
        let (chosen, _) = t.policies.select(&facts);
        assert_eq!(chosen.policy.name, "complaints");
        let roster = t.roster(
            "care-eu",
            |name| (if name == "ana" { 7 } else { 0 }, false),
            None,
        );
        let pick = roster.and_then(|r| r.pick(at("2024-06-03T10:00:00+02:00")).ok());
        assert_eq!(
            pick.map(|p| p.agent).as_deref(),
            Some("bo"),
            "0/10 beats 7/8"
        );
        let late = t.roster("care-eu", |_| (0, false), None);
        let pick = late.and_then(|r| r.pick(at("2024-06-03T15:00:00+02:00")).ok());
        assert_eq!(
            pick.map(|p| p.agent).as_deref(),
            Some("ana"),
            "bo's shift ended at 14:00"
        );
        assert!(t
            .coverage
            .covered("care-eu", at("2024-06-03T22:00:00+02:00")));
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    }

    #[test]
    fn each_mistake_names_its_place() {
        let compile = |text: &str| {
            let cfg: TriageConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            cfg.compile(
                ResponseTargets::default(),
                SlaClock::Calendar,
                &read,
                2024..=2030,
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        let bad_ics = FULL.replace("dk.ics", "missing.ics");
        assert!(
            compile(&bad_ics).contains("hours.care-eu: cannot read holidays_ics \"missing.ics\"")
        );
        let bad_route = FULL.replace(
            "team = \"care-eu\"\n\n        [teams",
            "team = \"care-us\"\n\n        [teams",
        );
        assert!(
            compile(&bad_route).contains("care-us"),
            "{}",
            compile(&bad_route)
        );
        let bad_shift = FULL.replace("shift = \"early\"", "shift = \"late\"");
        assert!(compile(&bad_shift).contains("teams.care-eu: hours \"late\""));
        let no_levels = FULL.replace(
            "levels = [{ notify = [\"on-call\"], ack_within = \"10m\" }, { notify = [\"maria\"], ack_within = \"10m\" }]",
            "levels = []",
        );
        assert!(compile(&no_levels).contains("has no levels"));
        assert!(
            toml::from_str::<TriageConfig>("[polcies]").is_err(),
            "typos are refused"
        );
    }
}
