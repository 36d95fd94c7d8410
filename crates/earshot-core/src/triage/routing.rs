//! Routing rules: conditions → team, assignee, labels and a priority bump.
//!
//! ```toml
//! [[routes]]
//! name = "big accounts"
//! when = { followers_at_least = 100000 }
//! labels = ["vip"]
//! bump = 1
//! continue = true          # keep going: later rules still pick the team
//!
//! [[routes]]
//! name = "danish complaints"
//! when = { language = ["da"], intent = ["complaint"] }
//! team = "care-dk"
//! ```
//!
//! Rules run in order. A rule that holds applies its actions to the facts (so later rules see
//! its team, labels and band) and stops the run unless it says `continue = true`. Later
//! actions override earlier ones for team and assignee; labels add up; bumps add up, never
//! past urgent. [`test`] explains every rule's outcome for `earshot rules test`.

use super::condition::{Condition, ConditionError, Why, WhyNot};
use super::facts::Facts;
use crate::priority::PriorityBand;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub name: String,
    #[serde(default)]
    pub when: Condition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// A named agent (skips the team's round-robin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Raise the priority band this many steps towards urgent.
    #[serde(default)]
    pub bump: u8,
    /// Keep evaluating later rules after this one held.
    #[serde(default, rename = "continue")]
    pub keep_going: bool,
}

/// Where routing sent a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    /// The band after bumps.
    pub band: PriorityBand,
    pub bumped_by: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    Matched {
        why: Why,
        /// What the rule did, e.g. `team → care-dk`.
        applied: Vec<String>,
        /// Whether evaluation stopped here.
        stopped: bool,
    },
    NotMatched {
        because: WhyNot,
    },
    /// An earlier rule stopped the run.
    NotReached {
        stopped_by: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStep {
    pub rule: String,
    pub verdict: Verdict,
}

/// Every rule's outcome for one sample, and where it ended up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub steps: Vec<RuleStep>,
    pub routing: Routing,
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            match &step.verdict {
                Verdict::Matched {
                    why,
                    applied,
                    stopped,
                } => {
                    writeln!(f, "{n}. {}: MATCHED ({why})", step.rule)?;
                    for a in applied {
                        writeln!(f, "     {a}")?;
                    }
                    if *stopped {
                        writeln!(f, "     stop")?;
                    }
                }
                Verdict::NotMatched { because } => {
                    writeln!(f, "{n}. {}: no ({because})", step.rule)?;
                }
                Verdict::NotReached { stopped_by } => {
                    writeln!(
                        f,
                        "{n}. {}: not reached (stopped by {stopped_by})",
                        step.rule
                    )?;
                }
            }
        }
        let r = &self.routing;
        write!(
            f,
            "→ team {}, assignee {}, labels [{}], band {}{}",
            r.team.as_deref().unwrap_or("(none)"),
            r.assignee.as_deref().unwrap_or("(team decides)"),
            r.labels.join(", "),
            r.band,
            if r.bumped_by > 0 {
                format!(" (bumped {})", r.bumped_by)
            } else {
                String::new()
            }
        )
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("route {route:?} sends to team {team:?}, which is not defined under [teams]")]
    UnknownTeam { route: String, team: String },
    #[error("route {route:?}: {source}")]
    Condition {
        route: String,
        source: ConditionError,
    },
    #[error("two routes are called {0:?}: names must be unique so traces can tell them apart")]
    Duplicate(String),
}

/// Checks routes against the configured teams before the server uses them.
pub fn validate<'a>(
    routes: &[Route],
    teams: impl IntoIterator<Item = &'a str>,
) -> Result<(), RouteError> {
    let teams: BTreeSet<&str> = teams.into_iter().collect();
    let mut names = BTreeSet::new();
    for r in routes {
        if !names.insert(r.name.as_str()) {
            return Err(RouteError::Duplicate(r.name.clone()));
        }
        r.when.validate().map_err(|source| RouteError::Condition {
            route: r.name.clone(),
            source,
        })?;
        if let Some(team) = &r.team {
            if !teams.contains(team.as_str()) {
                return Err(RouteError::UnknownTeam {
                    route: r.name.clone(),
                    team: team.clone(),
                });
            }
        }
    }
    Ok(())
}

/// One band closer to urgent, `steps` times.
pub fn raise(band: PriorityBand, steps: u8) -> PriorityBand {
    let i = PriorityBand::ALL
        .iter()
        .position(|&b| b == band)
        .unwrap_or(0);
    PriorityBand::ALL[i.saturating_sub(usize::from(steps))]
}

/// Runs the rules on a sample and explains each one's outcome.
pub fn test(rules: &[Route], sample: &Facts) -> Trace {
    let mut facts = sample.clone();
    let mut routing = Routing {
        team: sample.team.clone(),
        assignee: None,
        labels: vec![],
        band: sample.band,
        bumped_by: 0,
    };
    let mut steps = Vec::with_capacity(rules.len());
    let mut stopped_by: Option<&str> = None;
    for rule in rules {
        if let Some(by) = stopped_by {
            steps.push(RuleStep {
                rule: rule.name.clone(),
                verdict: Verdict::NotReached {
                    stopped_by: by.to_string(),
                },
            });
            continue;
        }
        let why = match rule.when.check(&facts) {
            Ok(why) => why,
            Err(because) => {
                steps.push(RuleStep {
                    rule: rule.name.clone(),
                    verdict: Verdict::NotMatched { because },
                });
                continue;
            }
        };
        let mut applied = Vec::new();
        if let Some(team) = &rule.team {
            applied.push(match &routing.team {
                Some(old) if old != team => format!("team {old} → {team}"),
                _ => format!("team → {team}"),
            });
            routing.team = Some(team.clone());
            facts.team = Some(team.clone());
        }
        if let Some(agent) = &rule.assign {
            applied.push(format!("assignee → {agent}"));
            routing.assignee = Some(agent.clone());
        }
        for label in &rule.labels {
            if !routing.labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                applied.push(format!("label + {label}"));
                routing.labels.push(label.clone());
                facts.labels.push(label.clone());
            }
        }
        if rule.bump > 0 {
            let before = routing.band;
            routing.band = raise(routing.band, rule.bump);
            routing.bumped_by = routing.bumped_by.saturating_add(rule.bump);
            facts.band = routing.band;
            applied.push(format!("band {before} → {}", routing.band));
        }
        let stopped = !rule.keep_going;
        if stopped {
            stopped_by = Some(&rule.name);
        }
        steps.push(RuleStep {
            rule: rule.name.clone(),
            verdict: Verdict::Matched {
                why,
                applied,
                stopped,
            },
        });
    }
    Trace { steps, routing }
}

/// Where the rules send a conversation (the trace without the explanations).
pub fn route(rules: &[Route], facts: &Facts) -> Routing {
    test(rules, facts).routing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Intent;

    fn rules(toml_text: &str) -> Vec<Route> {
        #[derive(Deserialize)]
        struct File {
            routes: Vec<Route>,
        }
        toml::from_str::<File>(toml_text)
            .map(|f| f.routes)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    const RULES: &str = r#"
        [[routes]]
        name = "big accounts"
        when = { followers_at_least = 100000 }
        labels = ["vip"]
        bump = 1
        continue = true

        [[routes]]
        name = "vip complaints"
        when = { labels = ["vip"], intent = ["complaint"] }
        team = "escalations"
        assign = "maria"

        [[routes]]
        name = "danish"
        when = { language = ["da"] }
        team = "care-dk"

        [[routes]]
        name = "everything else"
        team = "care-en"
    "#;

    #[test]
    fn continue_rules_feed_later_rules_and_first_stop_wins() {
        let rules = rules(RULES);
        let sample = Facts {
            followers: Some(250_000),
            intent: Intent::Complaint,
            language: "da".into(),
            ..Facts::default()
        };
        let trace = test(&rules, &sample);
        assert_eq!(trace.routing.team.as_deref(), Some("escalations"));
        assert_eq!(trace.routing.assignee.as_deref(), Some("maria"));
        assert_eq!(trace.routing.labels, vec!["vip".to_string()]);
        assert_eq!(trace.routing.band, PriorityBand::High);
        assert!(matches!(
            trace.steps[0].verdict,
            Verdict::Matched { stopped: false, .. }
        ));
        assert!(matches!(
            trace.steps[1].verdict,
            Verdict::Matched { stopped: true, .. }
        ));
        // The Danish rule would have held, but the run had stopped.
        assert_eq!(
            trace.steps[2].verdict,
            Verdict::NotReached {
                stopped_by: "vip complaints".into()
            }
        );
        let shown = trace.to_string();
        assert!(
            shown.contains("1. big accounts: MATCHED (250000 followers ≥ 100000)"),
            "{shown}"
        );
        assert!(shown.contains("band normal → high"), "{shown}");
        assert!(
            shown.contains("3. danish: not reached (stopped by vip complaints)"),
            "{shown}"
        );
    }

    #[test]
    fn a_small_account_falls_through_to_language_then_catch_all() {
        let rules = rules(RULES);
        let dk = Facts {
            followers: Some(300),
            language: "da".into(),
            ..Facts::default()
        };
        let trace = test(&rules, &dk);
        assert_eq!(trace.routing.team.as_deref(), Some("care-dk"));
        assert!(matches!(
            &trace.steps[0].verdict,
            Verdict::NotMatched { because } if because.0 == "300 followers < 100000"
        ));
        let en = Facts {
            language: "en".into(),
            ..dk
        };
        assert_eq!(route(&rules, &en).team.as_deref(), Some("care-en"));
        assert_eq!(route(&rules, &en).band, PriorityBand::Normal);
    }

    #[test]
    fn bumps_stop_at_urgent_and_validation_names_unknown_teams() {
        assert_eq!(raise(PriorityBand::Low, 2), PriorityBand::High);
        assert_eq!(raise(PriorityBand::High, 9), PriorityBand::Urgent);
        let rules = rules(RULES);
        assert!(validate(&rules, ["escalations", "care-dk", "care-en"]).is_ok());
        assert_eq!(
            validate(&rules, ["care-dk", "care-en"]),
            Err(RouteError::UnknownTeam {
                route: "vip complaints".into(),
                team: "escalations".into()
            })
        );
    }
}
