//! Sharing a team's conversations among its agents, and the order of the waiting queue.
//!
//! Agents who are away, off shift or at their capacity are skipped. Round-robin goes down the
//! roster after whoever got the last one; least-loaded picks the agent with the lowest share
//! of their capacity in use (ties: round-robin order), so an agent with capacity 10 and 5 open
//! is as loaded as one with capacity 4 and 2 open. When no agent can take more, conversations
//! wait: a post from a high-reach author or one that is part of a spike goes first within its band.

use super::facts::Facts;
use crate::conversation::ConversationId;
use crate::priority::PriorityBand;
use crate::sla::SlaClock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    RoundRobin,
    LeastLoaded,
}

/// An agent as the assigner sees them now.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub name: String,
    /// The most open conversations they take at once.
    pub capacity: u32,
    /// Open conversations assigned to them now.
    pub open: u32,
    /// Marked away by themselves or a lead.
    pub away: bool,
    /// Their shift; `None`: whenever the team works.
    pub shift: Option<SlaClock>,
}

impl Agent {
    pub fn new(name: impl Into<String>, capacity: u32) -> Self {
        Agent {
            name: name.into(),
            capacity,
            open: 0,
            away: false,
            shift: None,
        }
    }

    /// Why this agent cannot take a conversation at `at`, if they cannot.
    pub fn unavailable(&self, at: DateTime<Utc>) -> Option<Skip> {
        if self.away {
            Some(Skip::Away)
        } else if self.shift.as_ref().is_some_and(|s| !s.is_covered(at)) {
            Some(Skip::OffShift)
        } else if self.open >= self.capacity {
            Some(Skip::Full {
                open: self.open,
                capacity: self.capacity,
            })
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Skip {
    Away,
    OffShift,
    Full { open: u32, capacity: u32 },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Away => f.write_str("away"),
            Skip::OffShift => f.write_str("off shift"),
            Skip::Full { open, capacity } => write!(f, "full ({open}/{capacity})"),
        }
    }
}

/// Who got a conversation, and who was passed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub agent: String,
    pub why: String,
    pub skipped: Vec<(String, Skip)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("nobody in the team can take it now: {}", describe(.skipped))]
pub struct NoAgent {
    pub skipped: Vec<(String, Skip)>,
}

fn describe(skipped: &[(String, Skip)]) -> String {
    if skipped.is_empty() {
        return "the team has no agents".into();
    }
    skipped
        .iter()
        .map(|(n, s)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A team's agents and where its round-robin stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Roster {
    pub strategy: Strategy,
    pub agents: Vec<Agent>,
    /// Who got the last conversation (by name, so adding or removing agents keeps the turn).
    pub last_assigned: Option<String>,
}

impl Roster {
    pub fn new(strategy: Strategy, agents: Vec<Agent>) -> Self {
        Roster {
            strategy,
            agents,
            last_assigned: None,
        }
    }

    /// Agent indexes in turn order: starting after the last one assigned.
    fn turn_order(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.agents.len();
        let after = self
            .last_assigned
            .as_ref()
            .and_then(|last| self.agents.iter().position(|a| &a.name == last))
            .map_or(0, |i| i + 1);
        (0..n).map(move |k| (after + k) % n)
    }

    /// Who should get the next conversation at `at`.
    pub fn pick(&self, at: DateTime<Utc>) -> Result<Pick, NoAgent> {
        let mut skipped = Vec::new();
        let mut best: Option<usize> = None;
        for i in self.turn_order() {
            let agent = &self.agents[i];
            if let Some(skip) = agent.unavailable(at) {
                skipped.push((agent.name.clone(), skip));
                continue;
            }
            match self.strategy {
                Strategy::RoundRobin => {
                    best = Some(i);
                    break;
                }
                Strategy::LeastLoaded => {
                    let lighter = best.is_none_or(|b| {
                        let (x, y) = (&self.agents[i], &self.agents[b]);
                        // open_x / cap_x < open_y / cap_y, without floating point.
                        let lhs = u64::from(x.open) * u64::from(y.capacity);
                        let rhs = u64::from(y.open) * u64::from(x.capacity);
                        lhs.cmp(&rhs) == Ordering::Less
                    });
                    if lighter {
                        best = Some(i);
                    }
                }
            }
        }
        let Some(i) = best else {
            return Err(NoAgent { skipped });
        };
        let agent = &self.agents[i];
        let why = match self.strategy {
            Strategy::RoundRobin => format!(
                "round-robin: next in turn ({}/{} open)",
                agent.open, agent.capacity
            ),
            Strategy::LeastLoaded => {
                format!("least loaded ({}/{} open)", agent.open, agent.capacity)
            }
        };
        // Only those passed over before the pick matter for round-robin; least-loaded looked at all.
        Ok(Pick {
            agent: agent.name.clone(),
            why,
            skipped,
        })
    }

    /// Picks and records the assignment (their load goes up; the turn moves on).
    pub fn assign(&mut self, at: DateTime<Utc>) -> Result<Pick, NoAgent> {
        let pick = self.pick(at)?;
        if let Some(a) = self.agents.iter_mut().find(|a| a.name == pick.agent) {
            a.open = a.open.saturating_add(1);
        }
        self.last_assigned = Some(pick.agent.clone());
        Ok(pick)
    }
}

/// Who may jump the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JumpRule {
    /// Authors with at least this many followers go first; `None` turns it off.
    pub followers_at_least: Option<u64>,
    /// Posts that are part of a spike go first.
    pub spike: bool,
}

impl Default for JumpRule {
    fn default() -> Self {
        JumpRule {
            followers_at_least: Some(100_000),
            spike: true,
        }
    }
}

impl JumpRule {
    /// Why this conversation goes to the front, if it does.
    pub fn reason(&self, facts: &Facts) -> Option<String> {
        match (self.followers_at_least, facts.followers) {
            (Some(min), Some(f)) if f >= min => return Some(format!("{f} followers ≥ {min}")),
            _ => {}
        }
        (self.spike && facts.spike).then(|| "part of a spike".to_string())
    }
}

/// A conversation waiting for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub conversation: ConversationId,
    /// When the customer started waiting (network time).
    pub since: DateTime<Utc>,
    pub band: PriorityBand,
    /// Set from [`JumpRule::reason`].
    pub jump: Option<String>,
}

/// Queue order: by band (urgent first), then jumpers, then whoever waited longest. A jump
/// (a big account, a spike) goes first within its band, never above a more pressing one: a
/// routine question from a big account waits behind a safety report.
pub fn queue_order(a: &Waiting, b: &Waiting) -> Ordering {
    a.band
        .cmp(&b.band)
        .then(b.jump.is_some().cmp(&a.jump.is_some()))
        .then(a.since.cmp(&b.since))
        .then(a.conversation.cmp(&b.conversation))
}

/// Hands waiting conversations to agents with room, in queue order, until nobody can take more.
/// What could not be placed stays in `queue`.
pub fn dispatch(
    queue: &mut Vec<Waiting>,
    roster: &mut Roster,
    at: DateTime<Utc>,
) -> Vec<(ConversationId, Pick)> {
    queue.sort_by(queue_order);
    let mut placed = Vec::new();
    let mut rest = Vec::new();
    let mut full = false;
    for w in queue.drain(..) {
        if full {
            rest.push(w);
            continue;
        }
        match roster.assign(at) {
            Ok(pick) => placed.push((w.conversation, pick)),
            Err(_) => {
                full = true;
                rest.push(w);
            }
        }
    }
    *queue = rest;
    placed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::BusinessHours;
    use crate::testing::at;

    fn team(strategy: Strategy) -> Roster {
        Roster::new(
            strategy,
            vec![
                Agent::new("ana", 3),
                Agent::new("bo", 3),
                Agent::new("carl", 3),
            ],
        )
    }

    #[test]
    fn round_robin_takes_turns_and_skips_the_unavailable() {
        let now = at("2024-06-03T10:00:00Z");
        let mut r = team(Strategy::RoundRobin);
        r.agents[1].away = true;
        let names: Vec<String> = (0..4)
            .map(|_| r.assign(now).map(|p| p.agent).unwrap_or_default())
            .collect();
        assert_eq!(names, ["ana", "carl", "ana", "carl"]);
        let p = r.assign(now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.agent.as_str(), p.skipped.len()),
            ("ana", 0),
            "after carl comes ana"
        );
        let p = r.pick(now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.agent, "carl");
        assert_eq!(p.skipped, vec![("bo".to_string(), Skip::Away)]);
        // bo is back: the turn after ana is bo's, then carl's.
        r.agents[1].away = false;
        assert_eq!(r.assign(now).map(|p| p.agent).ok().as_deref(), Some("bo"));
        assert_eq!(r.assign(now).map(|p| p.agent).ok().as_deref(), Some("carl"));
        // ana has 3 of 3 now: passed over as full.
        let p = r.pick(now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.agent, "bo");
        assert_eq!(
            p.skipped,
            vec![(
                "ana".to_string(),
                Skip::Full {
                    open: 3,
                    capacity: 3
                }
            )]
        );
    }

    #[test]
    fn capacity_is_never_exceeded_and_a_full_team_says_who_is_full() {
        let now = at("2024-06-03T10:00:00Z");
        let mut r = team(Strategy::RoundRobin);
        for _ in 0..9 {
            assert!(r.assign(now).is_ok());
        }
        assert!(r.agents.iter().all(|a| a.open == 3));
        let err = r
            .assign(now)
            .err()
            .unwrap_or_else(|| panic!("should be full"));
        assert_eq!(err.skipped.len(), 3);
        assert!(err.to_string().contains("ana full (3/3)"), "{err}");
    }

    #[test]
    fn least_loaded_balances_by_share_of_capacity() {
        let now = at("2024-06-03T10:00:00Z");
        let mut r = Roster::new(
            Strategy::LeastLoaded,
            vec![Agent::new("senior", 8), Agent::new("junior", 2)],
        );
        r.agents[0].open = 3;
        let picks: Vec<String> = (0..5)
            .map(|_| {
                r.assign(now)
                    .map(|p| p.agent)
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        // 3/8 vs 0/2 → junior; 3/8 vs 1/2 → senior; 4/8 = 1/2, a tie → the turn (junior);
        // then junior is full and senior takes the rest.
        assert_eq!(picks, ["junior", "senior", "junior", "senior", "senior"]);
        assert_eq!((r.agents[0].open, r.agents[1].open), (6, 2));
    }

    #[test]
    fn agents_off_shift_are_skipped() {
        let day = BusinessHours::parse("Europe/Copenhagen", &[("mon-fri", "08:00-16:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut r = team(Strategy::RoundRobin);
        r.agents[0].shift = Some(SlaClock::Business(day));
        let evening = at("2024-06-03T19:00:00+02:00");
        let p = r.pick(evening).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.agent, "bo");
        assert_eq!(p.skipped, vec![("ana".to_string(), Skip::OffShift)]);
        assert_eq!(
            r.pick(at("2024-06-03T09:00:00+02:00"))
                .map(|p| p.agent)
                .ok()
                .as_deref(),
            Some("ana")
        );
    }

    #[test]
    fn big_accounts_and_spikes_jump_the_queue() {
        let rule = JumpRule::default();
        let vip = Facts {
            followers: Some(120_000),
            ..Facts::default()
        };
        let spike = Facts {
            spike: true,
            ..Facts::default()
        };
        assert!(rule
            .reason(&vip)
            .is_some_and(|r| r.contains("120000 followers")));
        assert_eq!(rule.reason(&spike).as_deref(), Some("part of a spike"));
        assert_eq!(rule.reason(&Facts::default()), None);

        let w = |id: i64, since: &str, band: PriorityBand, jump: Option<&str>| Waiting {
            conversation: ConversationId(id),
            since: at(since),
            band,
            jump: jump.map(String::from),
        };
        let mut queue = vec![
            w(1, "2024-06-03T08:00:00Z", PriorityBand::Normal, None),
            w(2, "2024-06-03T08:05:00Z", PriorityBand::Urgent, None),
            w(
                3,
                "2024-06-03T09:00:00Z",
                PriorityBand::Normal,
                Some("120000 followers"),
            ),
            w(4, "2024-06-03T07:00:00Z", PriorityBand::Normal, None),
            w(
                5,
                "2024-06-03T06:00:00Z",
                PriorityBand::Low,
                Some("2M followers"),
            ),
        ];
        let mut r = Roster::new(
            Strategy::RoundRobin,
            vec![Agent::new("ana", 2), Agent::new("bo", 1)],
        );
        let placed = dispatch(&mut queue, &mut r, at("2024-06-03T10:00:00Z"));
        let ids: Vec<i64> = placed.iter().map(|(c, _)| c.0).collect();
        // Capacity 3: the urgent one, then the jumper first among the normal ones, then the
        // longest-waiting normal one; a jumper in a lower band waits its turn.
        assert_eq!(ids, [2, 3, 4]);
        assert_eq!(
            queue.iter().map(|w| w.conversation.0).collect::<Vec<_>>(),
            [1, 5]
        );
    }

    proptest::proptest! {
        /// Round-robin over available agents with room is fair: after any number of
        /// assignments, loads differ by at most one, and nobody exceeds their capacity.
        #[test]
        fn round_robin_is_fair_and_respects_capacity(n in 1usize..6, k in 0usize..40, cap in 1u32..10) {
            let agents = (0..n).map(|i| Agent::new(format!("a{i}"), cap)).collect();
            let mut r = Roster::new(Strategy::RoundRobin, agents);
            let now = at("2024-06-03T10:00:00Z");
            let mut placed = 0usize;
            for _ in 0..k {
                if r.assign(now).is_ok() {
                    placed += 1;
                }
            }
            let max = r.agents.iter().map(|a| a.open).max().unwrap_or(0);
            let min = r.agents.iter().map(|a| a.open).min().unwrap_or(0);
            proptest::prop_assert!(max - min <= 1);
            proptest::prop_assert!(max <= cap);
            proptest::prop_assert_eq!(placed, k.min(n * cap as usize));
        }
    }
}
