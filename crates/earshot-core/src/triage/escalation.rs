//! Escalation: page level 1; if nobody acknowledges within N minutes, page level 2; ...
//!
//! ```toml
//! [escalation.care-eu]
//! repeat = 1    # after the last level, start again from level 1 this many times
//! levels = [
//!   { notify = ["on-call"], ack_within = "10m" },
//!   { notify = ["on-call:escalations", "maria"], ack_within = "15m" },
//! ]
//!
//! [escalation_triggers]
//! before_breach = "15m"                    # page when a target is this close to due
//! after_hours_bands = ["urgent"]           # and for these bands when nobody is at work
//! after_hours_followers_at_least = 100000  # and for big accounts when nobody is at work
//! ```
//!
//! The policy is a pure state machine: [`EscalationPolicy::next_page`] says which page is due
//! given what has been sent and acknowledged; the caller sends it and records it with
//! [`EscalationState::record`]. [`EscalationPolicy::next_check`] says when to ask again.

use super::facts::Facts;
use super::oncall::Coverage;
use super::policy::{Assessment, Within};
use super::timeline::TargetKind;
use crate::priority::PriorityBand;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whom a page goes to: `on-call` (the conversation's team), `on-call:TEAM`, or a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageTarget {
    OnCall { team: Option<String> },
    Person(String),
}

impl fmt::Display for PageTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageTarget::OnCall { team: None } => f.write_str("on-call"),
            PageTarget::OnCall { team: Some(t) } => write!(f, "on-call:{t}"),
            PageTarget::Person(p) => f.write_str(p),
        }
    }
}

impl std::str::FromStr for PageTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("an empty page target".into());
        }
        Ok(match s.split_once(':') {
            Some(("on-call", team)) if !team.trim().is_empty() => PageTarget::OnCall {
                team: Some(team.trim().to_string()),
            },
            _ if s == "on-call" => PageTarget::OnCall { team: None },
            _ => PageTarget::Person(s.to_string()),
        })
    }
}

impl<'de> Deserialize<'de> for PageTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for PageTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub notify: Vec<PageTarget>,
    pub ack_within: Within,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    pub levels: Vec<Level>,
    /// Times to go round again after the last level.
    #[serde(default)]
    pub repeat: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    #[error("escalation for {0:?} has no levels")]
    NoLevels(String),
    #[error("escalation for {team:?}, level {level}: notifies nobody")]
    NobodyToNotify { team: String, level: usize },
}

impl EscalationPolicy {
    pub fn validate(&self, team: &str) -> Result<(), EscalationError> {
        if self.levels.is_empty() {
            return Err(EscalationError::NoLevels(team.to_string()));
        }
        if let Some(i) = self.levels.iter().position(|l| l.notify.is_empty()) {
            return Err(EscalationError::NobodyToNotify {
                team: team.to_string(),
                level: i + 1,
            });
        }
        Ok(())
    }
}

/// A page to send now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// 1-based, as people say it.
    pub level: usize,
    /// 0 on the first pass, 1 on the first repeat, ...
    pub round: u32,
    pub notify: Vec<PageTarget>,
    pub at: DateTime<Utc>,
    /// If nobody acknowledges by then, the next level is paged.
    pub ack_by: DateTime<Utc>,
    pub reason: String,
}

impl Page {
    /// The people to reach: on-call targets resolved with the team's schedule at `at`.
    /// On-call targets with nobody on call resolve to nobody (the next level will follow).
    pub fn recipients(&self, team: &str, coverage: &Coverage) -> Vec<String> {
        let mut people: Vec<String> = Vec::new();
        for t in &self.notify {
            let person = match t {
                PageTarget::Person(p) => Some(p.clone()),
                PageTarget::OnCall { team: other } => coverage
                    .who_is_on_call(other.as_deref().unwrap_or(team), self.at)
                    .map(|o| o.person),
            };
            if let Some(p) = person {
                if !people.contains(&p) {
                    people.push(p);
                }
            }
        }
        people
    }
}

/// Why paging started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    AboutToBreach {
        target: TargetKind,
        due: DateTime<Utc>,
    },
    Breached {
        target: TargetKind,
        at: DateTime<Utc>,
    },
    AfterHours {
        why: String,
    },
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::AboutToBreach { target, due } => {
                write!(
                    f,
                    "{} due at {}",
                    target.as_str(),
                    due.format("%Y-%m-%d %H:%M UTC")
                )
            }
            Trigger::Breached { target, at } => {
                write!(
                    f,
                    "{} missed at {}",
                    target.as_str(),
                    at.format("%Y-%m-%d %H:%M UTC")
                )
            }
            Trigger::AfterHours { why } => write!(f, "after hours: {why}"),
        }
    }
}

/// One conversation's escalation so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationState {
    pub team: String,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    /// Pages sent, oldest first.
    pub pages: Vec<Page>,
    pub acknowledged: Option<(String, DateTime<Utc>)>,
    /// The conversation was answered or resolved: nothing more to page about.
    pub closed_at: Option<DateTime<Utc>>,
}

impl EscalationState {
    pub fn start(team: impl Into<String>, trigger: Trigger, at: DateTime<Utc>) -> Self {
        EscalationState {
            team: team.into(),
            trigger,
            started_at: at,
            pages: vec![],
            acknowledged: None,
            closed_at: None,
        }
    }

    pub fn record(&mut self, page: Page) {
        self.pages.push(page);
    }

    pub fn acknowledge(&mut self, who: impl Into<String>, at: DateTime<Utc>) {
        self.acknowledged.get_or_insert((who.into(), at));
    }

    pub fn close(&mut self, at: DateTime<Utc>) {
        self.closed_at.get_or_insert(at);
    }

    fn settled(&self, now: DateTime<Utc>) -> bool {
        self.acknowledged.as_ref().is_some_and(|(_, at)| *at <= now)
            || self.closed_at.is_some_and(|at| at <= now)
    }
}

impl EscalationPolicy {
    /// The level and round after the last page, or the first; `None` when exhausted.
    fn following(&self, state: &EscalationState) -> Option<(usize, u32)> {
        match state.pages.last() {
            None => Some((0, 0)),
            Some(p) if p.level < self.levels.len() => Some((p.level, p.round)),
            Some(p) if p.round < self.repeat => Some((0, p.round + 1)),
            Some(_) => None,
        }
    }

    /// The page due at `now`, if any: the first level at once, the next one once the last
    /// page went unacknowledged past its `ack_by`. Nothing once acknowledged or closed.
    pub fn next_page(&self, state: &EscalationState, now: DateTime<Utc>) -> Option<Page> {
        if state.settled(now) || now < state.started_at {
            return None;
        }
        if let Some(last) = state.pages.last() {
            if now < last.ack_by {
                return None;
            }
        }
        let (index, round) = self.following(state)?;
        let level = self.levels.get(index)?;
        Some(Page {
            level: index + 1,
            round,
            notify: level.notify.clone(),
            at: now,
            ack_by: now + level.ack_within.0,
            reason: state.trigger.to_string(),
        })
    }

    /// When `next_page` could next return a page (for the caller's timer).
    pub fn next_check(&self, state: &EscalationState) -> Option<DateTime<Utc>> {
        if state.acknowledged.is_some() || state.closed_at.is_some() {
            return None;
        }
        self.following(state)?;
        Some(state.pages.last().map_or(state.started_at, |p| p.ack_by))
    }
}

/// When escalation starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerRules {
    /// Page when a running target is due within this long.
    pub before_breach: Within,
    /// Page for these bands when the team is not at work.
    pub after_hours_bands: Vec<PriorityBand>,
    /// Page for authors this big when the team is not at work.
    pub after_hours_followers_at_least: Option<u64>,
}

impl Default for TriggerRules {
    fn default() -> Self {
        TriggerRules {
            before_breach: Within(Duration::minutes(15)),
            after_hours_bands: vec![PriorityBand::Urgent],
            after_hours_followers_at_least: Some(100_000),
        }
    }
}

impl TriggerRules {
    /// Whether a conversation should start paging at `now`. `team_at_work` is the team's
    /// business clock at `now`. Only conversations still owed an answer page.
    pub fn check(
        &self,
        facts: &Facts,
        assessment: &Assessment,
        team_at_work: bool,
        now: DateTime<Utc>,
    ) -> Option<Trigger> {
        let owed: Vec<_> = std::iter::once(&assessment.first_response)
            .chain(&assessment.next_responses)
            .chain(&assessment.resolution)
            .filter(|t| t.due().is_some())
            .collect();
        if owed.is_empty() {
            return None;
        }
        if let Some(t) = owed.iter().find(|t| t.breached()) {
            return Some(Trigger::Breached {
                target: t.kind,
                at: t.breached_at.unwrap_or(now),
            });
        }
        let soonest = owed
            .iter()
            .filter_map(|t| t.due().map(|d| (t.kind, d)))
            .min_by_key(|&(_, d)| d);
        if let Some((target, due)) = soonest {
            if due > now && due - now <= self.before_breach.0 {
                return Some(Trigger::AboutToBreach { target, due });
            }
        }
        if team_at_work {
            return None;
        }
        if self.after_hours_bands.contains(&facts.band) {
            return Some(Trigger::AfterHours {
                why: format!("{} conversation", facts.band),
            });
        }
        match (self.after_hours_followers_at_least, facts.followers) {
            (Some(min), Some(f)) if f >= min => Some(Trigger::AfterHours {
                why: format!("{f} followers ≥ {min}"),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::SlaClock;
    use crate::testing::{at, one_policy};
    use crate::triage::oncall::{Schedule, ScheduleConfig};
    use crate::triage::timeline::{ClockEvent, Moment};
    use std::collections::BTreeMap;

    fn policy() -> EscalationPolicy {
        let p: EscalationPolicy = toml::from_str(
            r#"
            repeat = 1
            levels = [
              { notify = ["on-call"], ack_within = "10m" },
              { notify = ["on-call:escalations", "maria"], ack_within = "15m" },
            ]
        "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.validate("care-eu").is_ok());
        p
    }

    /// Runs the state machine minute by minute, as a caller's timer would.
    fn run(
        policy: &EscalationPolicy,
        state: &mut EscalationState,
        from: DateTime<Utc>,
        minutes: i64,
    ) {
        for m in 0..=minutes {
            let now = from + Duration::minutes(m);
            if let Some(page) = policy.next_page(state, now) {
                state.record(page);
            }
        }
    }

    #[test]
    fn unacknowledged_pages_climb_levels_then_repeat_then_stop() {
        let p = policy();
        let t0 = at("2024-06-08T02:00:00Z");
        let trigger = Trigger::AfterHours {
            why: "urgent conversation".into(),
        };
        let mut s = EscalationState::start("care-eu", trigger, t0);
        run(&p, &mut s, t0, 120);
        let sent: Vec<(usize, u32, i64)> = s
            .pages
            .iter()
            .map(|pg| (pg.level, pg.round, (pg.at - t0).num_minutes()))
            .collect();
        // Level 1 at 0, level 2 after 10 min, level 1 again after 15 more, level 2 after 10 more.
        assert_eq!(sent, [(1, 0, 0), (2, 0, 10), (1, 1, 25), (2, 1, 35)]);
        assert_eq!(p.next_check(&s), None, "exhausted");
        assert_eq!(s.pages[0].reason, "after hours: urgent conversation");
    }

    #[test]
    fn acknowledgement_stops_paging() {
        let p = policy();
        let t0 = at("2024-06-08T02:00:00Z");
        let mut s = EscalationState::start("care-eu", Trigger::AfterHours { why: "x".into() }, t0);
        run(&p, &mut s, t0, 5);
        assert_eq!(p.next_check(&s), Some(t0 + Duration::minutes(10)));
        assert_eq!(p.next_page(&s, t0 + Duration::minutes(9)), None, "not yet");
        s.acknowledge("ana", t0 + Duration::minutes(9));
        run(&p, &mut s, t0 + Duration::minutes(6), 60);
        assert_eq!(s.pages.len(), 1);
        assert_eq!(p.next_check(&s), None);
    }

    #[test]
    fn pages_reach_whoever_is_on_call_then() {
        let hours: BTreeMap<String, SlaClock> = BTreeMap::new();
        let cfg = |team: &str, who: &str| -> ScheduleConfig {
            toml::from_str(&format!(
                r#"
                team = "{team}"
                timezone = "Europe/Copenhagen"
                [[layers]]
                name = "all"
                members = ["{who}"]
                starts = "2024-01-01"
                handoff = "09:00"
            "#
            ))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let mut coverage = Coverage::default();
        for (team, who) in [("care-eu", "ana"), ("escalations", "maria")] {
            let s = Schedule::compile(&cfg(team, who), &hours).unwrap_or_else(|e| panic!("{e}"));
            coverage.schedules.insert(team.into(), s);
        }
        let p = policy();
        let t0 = at("2024-06-08T02:00:00Z");
        let mut s = EscalationState::start("care-eu", Trigger::AfterHours { why: "x".into() }, t0);
        run(&p, &mut s, t0, 11);
        assert_eq!(s.pages[0].recipients("care-eu", &coverage), ["ana"]);
        // on-call:escalations is maria, and maria is named too: she is paged once.
        assert_eq!(s.pages[1].recipients("care-eu", &coverage), ["maria"]);
    }

    #[test]
    fn triggers_about_to_breach_and_after_hours() {
        let set = one_policy("all", "1h");
        let t0 = at("2024-06-08T02:00:00Z");
        let history = [Moment::new(t0, ClockEvent::CustomerPost)];
        let rules = TriggerRules::default();
        let normal = Facts::default();
        let check = |facts: &Facts, mins: i64, at_work: bool| {
            let now = t0 + Duration::minutes(mins);
            rules.check(facts, &set.assess(facts, &history, now), at_work, now)
        };
        assert_eq!(check(&normal, 10, false), None);
        assert_eq!(
            check(&normal, 45, true),
            Some(Trigger::AboutToBreach {
                target: TargetKind::FirstResponse,
                due: t0 + Duration::hours(1)
            })
        );
        assert!(matches!(
            check(&normal, 61, true),
            Some(Trigger::Breached { .. })
        ));
        let urgent = Facts {
            band: PriorityBand::Urgent,
            ..Facts::default()
        };
        assert!(matches!(
            check(&urgent, 1, false),
            Some(Trigger::AfterHours { .. })
        ));
        assert_eq!(check(&urgent, 1, true), None, "the team is at work");
        let big = Facts {
            followers: Some(150_000),
            ..Facts::default()
        };
        assert!(check(&big, 1, false).is_some_and(|t| t.to_string().contains("150000 followers")));
        // Answered: nothing owed, nothing to page about.
        let answered = [
            history[0],
            Moment::new(t0 + Duration::minutes(5), ClockEvent::BrandReply),
        ];
        let now = t0 + Duration::minutes(6);
        assert_eq!(
            rules.check(&urgent, &set.assess(&urgent, &answered, now), false, now),
            None
        );
    }

    #[test]
    fn page_targets_read_from_text() {
        assert_eq!("on-call".parse(), Ok(PageTarget::OnCall { team: None }));
        assert_eq!(
            "on-call:escalations".parse(),
            Ok(PageTarget::OnCall {
                team: Some("escalations".into())
            })
        );
        assert_eq!("maria".parse(), Ok(PageTarget::Person("maria".into())));
        assert!("".parse::<PageTarget>().is_err());
    }
}
