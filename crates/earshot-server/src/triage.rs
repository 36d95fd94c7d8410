//! Triage at work: the pure rules of `earshot_core::triage` applied to stored conversations.
//!
//! - [`TriageDesk::route_new`] runs after each ingest: conversations that opened unassigned get
//!   their team, labels and priority bump from the routing rules, and an assignee (the rule's,
//!   or the team's roster while the team is at work). The assignment goes through the store's
//!   `apply` exactly as `Desk::act` does, so it is audited (actor `routing:<rules>`).
//! - [`TriageDesk::assess`] says which policy applies to a conversation, why, and how each
//!   target stands (the `/policy` endpoint).
//! - [`TriageDesk::on_housekeeping`] pages the on-call person for conversations about to
//!   breach, breached, or urgent/high-reach after hours, and escalates while nobody
//!   acknowledges. Acknowledged = the conversation is assigned or answered (no longer open).
//!
//! State kept in memory, not in the store: escalations in progress and each conversation's
//! routing (team, labels, band). Both are re-derived after a restart — routing is
//! deterministic, and an escalation starts again at level 1 on the next pass (the alert
//! dedupe window keeps that from paging twice within it).

use crate::pipeline::{LiveEvent, Pipeline};
use chrono::{DateTime, Utc};
use earshot_connect::notify::{Alert, AlertKind};
use earshot_core::triage::report::{Dimension, Report, ResponseRecord};
use earshot_core::triage::timeline::{ClockEvent, Moment, Progress};
use earshot_core::triage::{routing, Assessment, EscalationState, Facts, Routing, Triage};
use earshot_core::{ConversationEvent, ConversationId, Status};
use earshot_store::{ConversationDetail, InboxFilter, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Open conversations looked at per housekeeping pass, at most.
const SCAN_LIMIT: u32 = 1000;
/// Conversations a report reads, at most.
const REPORT_LIMIT: usize = 20_000;

/// Which policy applies to a conversation and how it stands.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    pub conversation: ConversationId,
    pub routing: Routing,
    pub assessment: Assessment,
    /// The soonest due time among running targets.
    pub next_due: Option<DateTime<Utc>>,
    pub escalation: Option<EscalationState>,
}

/// A page sent by a housekeeping pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged {
    pub conversation: ConversationId,
    pub person: String,
    pub level: usize,
    pub reason: String,
}

/// The compiled triage rules and the in-memory state they need at run time.
pub struct TriageDesk {
    rules: Triage,
    escalations: Mutex<HashMap<ConversationId, EscalationState>>,
    routed: Mutex<HashMap<ConversationId, Routing>>,
    /// The round-robin turn per team.
    last_assigned: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not stop paging: the maps hold plain data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The clock events of a stored conversation: posts at the networks' times, agents' actions
/// at theirs.
pub fn history_of(detail: &ConversationDetail) -> Vec<Moment> {
    let mut h: Vec<Moment> = detail
        .posts
        .iter()
        .map(|p| {
            let event = if p.from_brand {
                ClockEvent::BrandReply
            } else {
                ClockEvent::CustomerPost
            };
            Moment::new(p.created_at, event)
        })
        .collect();
    h.extend(
        detail
            .audit
            .iter()
            .filter_map(|a| Moment::from_action(&a.action, a.at)),
    );
    h.sort_by_key(|m| m.at);
    h
}

impl TriageDesk {
    pub fn new(rules: Triage) -> Self {
        TriageDesk {
            rules,
            escalations: Mutex::new(HashMap::new()),
            routed: Mutex::new(HashMap::new()),
            last_assigned: Mutex::new(HashMap::new()),
        }
    }

    pub fn rules(&self) -> &Triage {
        &self.rules
    }

    /// The facts rules see, before routing (no team or labels yet).
    fn base_facts(&self, detail: &ConversationDetail) -> Facts {
        let latest = detail.posts.iter().rev().find(|p| !p.from_brand);
        let facts = Facts::of_conversation(
            &detail.conversation,
            latest.map(|p| (p.text.as_str(), &p.analysis)),
        );
        let written = latest.map_or(detail.conversation.opened_at, |p| p.created_at);
        facts.on_clock(&self.rules.default_clock, written)
    }

    /// Routing (remembered, or computed afresh: it is deterministic) and the facts after it.
    fn routed_facts(&self, detail: &ConversationDetail) -> (Routing, Facts) {
        let base = self.base_facts(detail);
        let id = detail.conversation.id;
        let routing = lock(&self.routed)
            .get(&id)
            .cloned()
            .unwrap_or_else(|| routing::route(&self.rules.routes, &base));
        let mut facts = base.with_labels(routing.labels.clone());
        facts.band = routing.band;
        if let Some(team) = &routing.team {
            let latest = detail.posts.iter().rev().find(|p| !p.from_brand);
            let written = latest.map_or(detail.conversation.opened_at, |p| p.created_at);
            facts = facts
                .with_team(team.clone())
                .on_clock(self.rules.team_clock(Some(team.as_str())), written);
        }
        (routing, facts)
    }

    /// Which policy applies, why, and each target's state at `now`.
    pub fn assess(&self, detail: &ConversationDetail, now: DateTime<Utc>) -> PolicyView {
        let (routing, facts) = self.routed_facts(detail);
        let assessment = self.rules.policies.assess(&facts, &history_of(detail), now);
        let id = detail.conversation.id;
        PolicyView {
            conversation: id,
            routing,
            next_due: assessment.next_due().map(|(_, d)| d),
            assessment,
            escalation: lock(&self.escalations).get(&id).cloned(),
        }
    }

    /// Routes the conversations a batch touched that are open, unassigned and not yet routed.
    /// Returns the ones it assigned.
    pub async fn route_new(
        &self,
        pipeline: &Pipeline,
        touched: &[ConversationId],
        now: DateTime<Utc>,
    ) -> Result<Vec<(ConversationId, String)>, StoreError> {
        let mut assigned = Vec::new();
        for &id in touched {
            if lock(&self.routed).contains_key(&id) {
                continue;
            }
            let Some(detail) = pipeline.store().conversation(id).await? else {
                continue;
            };
            let c = &detail.conversation;
            if c.status != Status::Open {
                continue;
            }
            let base = self.base_facts(&detail);
            let trace = routing::test(&self.rules.routes, &base);
            let mut routing = trace.routing.clone();
            if c.assignee.is_none() && routing.assignee.is_none() {
                routing.assignee = self
                    .pick_agent(pipeline, routing.team.as_deref(), now)
                    .await?;
            }
            let matched: Vec<&str> = trace
                .steps
                .iter()
                .filter(|s| matches!(s.verdict, routing::Verdict::Matched { .. }))
                .map(|s| s.rule.as_str())
                .collect();
            if let (None, Some(to)) = (&c.assignee, &routing.assignee) {
                let actor = if matched.is_empty() {
                    "routing".to_string()
                } else {
                    format!("routing:{}", matched.join(","))
                };
                let event = ConversationEvent::Assigned { to: to.clone() };
                pipeline.store().apply(id, event, &actor, now).await?;
                pipeline.publish(LiveEvent::ConversationChanged {
                    conversation_id: id,
                    action: "assigned".into(),
                });
                if let Some(team) = &routing.team {
                    lock(&self.last_assigned).insert(team.clone(), to.clone());
                }
                assigned.push((id, to.clone()));
            }
            tracing::info!(conversation = %id, team = ?routing.team, assignee = ?routing.assignee,
                labels = ?routing.labels, band = %routing.band, "routed");
            lock(&self.routed).insert(id, routing);
        }
        Ok(assigned)
    }

    /// An agent from the team's roster, only while the team is at work: after hours the
    /// on-call person is paged instead, and an assignment would count as acknowledged.
    async fn pick_agent(
        &self,
        pipeline: &Pipeline,
        team: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(team) = team else { return Ok(None) };
        if !self.rules.team_clock(Some(team)).is_covered(now) {
            return Ok(None);
        }
        let Some(members) = self.rules.teams.get(team) else {
            return Ok(None);
        };
        let mut open = HashMap::new();
        for a in &members.agents {
            let filter = InboxFilter {
                assignee: Some(a.name.clone()),
                limit: 1,
                ..InboxFilter::default()
            };
            let page = pipeline.store().inbox(&filter, now).await?;
            let n = page.total.unwrap_or(page.items.len() as u64);
            open.insert(a.name.clone(), u32::try_from(n).unwrap_or(u32::MAX));
        }
        let turn = lock(&self.last_assigned).get(team).cloned();
        let roster = self.rules.roster(
            team,
            |name| (open.get(name).copied().unwrap_or(0), false),
            turn,
        );
        Ok(roster.and_then(|r| r.pick(now).ok()).map(|p| p.agent))
    }

    /// One pass: starts paging where a trigger holds, escalates what nobody acknowledged,
    /// and settles what was assigned or answered. Returns the pages sent.
    pub async fn on_housekeeping(
        &self,
        pipeline: &Pipeline,
        now: DateTime<Utc>,
    ) -> Result<Vec<Paged>, StoreError> {
        let mut paged = Vec::new();
        let filter = InboxFilter {
            limit: SCAN_LIMIT,
            ..InboxFilter::default()
        };
        let open = pipeline.store().inbox(&filter, now).await?;
        let mut seen = std::collections::HashSet::new();
        for row in &open.items {
            let id = row.conversation.id;
            seen.insert(id);
            let Some(detail) = pipeline.store().conversation(id).await? else {
                continue;
            };
            paged.extend(self.check_one(pipeline, &detail, now));
        }
        // Escalations whose conversation left the open inbox were answered or resolved.
        let gone: Vec<ConversationId> = lock(&self.escalations)
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(mut state) = lock(&self.escalations).remove(&id) {
                state.close(now);
                tracing::info!(conversation = %id, "escalation closed: answered or resolved");
            }
        }
        Ok(paged)
    }

    fn check_one(
        &self,
        pipeline: &Pipeline,
        detail: &ConversationDetail,
        now: DateTime<Utc>,
    ) -> Vec<Paged> {
        let c = &detail.conversation;
        let id = c.id;
        let mut escalations = lock(&self.escalations);
        if let Some(state) = escalations.get_mut(&id) {
            if let Some(who) = &c.assignee {
                state.acknowledge(who.clone(), now);
                tracing::info!(conversation = %id, by = %who, "page acknowledged");
                escalations.remove(&id);
                return vec![];
            }
        } else {
            if c.assignee.is_some() {
                return vec![];
            }
            let (routing, facts) = self.routed_facts(detail);
            let Some(team) = routing.team else {
                return vec![];
            };
            if !self.rules.escalation.contains_key(&team) {
                return vec![];
            }
            let assessment = self.rules.policies.assess(&facts, &history_of(detail), now);
            let at_work = self.rules.team_clock(Some(team.as_str())).is_covered(now);
            let Some(trigger) = self.rules.triggers.check(&facts, &assessment, at_work, now) else {
                return vec![];
            };
            escalations.insert(id, EscalationState::start(team, trigger, now));
        }
        let Some(state) = escalations.get_mut(&id) else {
            return vec![];
        };
        let Some(policy) = self.rules.escalation.get(&state.team) else {
            return vec![];
        };
        let Some(page) = policy.next_page(state, now) else {
            return vec![];
        };
        let people = page.recipients(&state.team, &self.rules.coverage);
        let mut sent = Vec::new();
        for person in &people {
            let alert = Alert::new(
                AlertKind::Page {
                    on_call: person.clone(),
                },
                format!("Conversation {id} needs {person}: {}", page.reason),
                format!(
                    "{} on {} wrote; nobody has taken it. Level {} (round {}); acknowledge by assigning or answering before {}.",
                    c.customer.handle,
                    c.network,
                    page.level,
                    page.round + 1,
                    page.ack_by.format("%Y-%m-%d %H:%M UTC")
                ),
                format!("page:{id}:{}:{}:{person}", page.level, page.round),
            )
            .at(now)
            .with_fact("conversation", id.to_string())
            .with_fact("team", state.team.clone())
            .with_fact("level", page.level.to_string());
            pipeline.alerts().raise(alert);
            sent.push(Paged {
                conversation: id,
                person: person.clone(),
                level: page.level,
                reason: page.reason.clone(),
            });
        }
        if people.is_empty() {
            tracing::warn!(conversation = %id, level = page.level, "nobody to page at this level");
        }
        state.record(page);
        sent
    }

    /// Response times of conversations opened in `[from, to)`, grouped by `group_by` (all
    /// dimensions when `None`), with breaches and their reasons.
    pub async fn report(
        &self,
        pipeline: &Pipeline,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: Option<Dimension>,
        now: DateTime<Utc>,
    ) -> Result<Report, StoreError> {
        let samples = pipeline.store().response_samples(from, to).await?;
        let mut records = Vec::with_capacity(samples.len().min(REPORT_LIMIT));
        for s in samples.iter().take(REPORT_LIMIT) {
            let Some(detail) = pipeline.store().conversation(s.conversation_id).await? else {
                continue;
            };
            let view = self.assess(&detail, now);
            let c = &detail.conversation;
            let resolved_at = view
                .assessment
                .resolution
                .as_ref()
                .and_then(|r| match r.progress {
                    Progress::Met { at } => Some(at),
                    _ => None,
                });
            records.push(
                ResponseRecord {
                    conversation: c.id.to_string(),
                    team: view.routing.team.clone().unwrap_or_else(|| "(none)".into()),
                    agent: c.assignee.clone(),
                    network: c.network,
                    intent: c.intent,
                    opened_at: c.opened_at,
                    first_response_at: c.first_response_at,
                    resolved_at: resolved_at.or(c.resolved_at),
                    policy: None,
                    targets: vec![],
                }
                .with_assessment(&view.assessment),
            );
        }
        let clock = &self.rules.default_clock;
        let mut report = earshot_core::triage::report::build(&records, clock.tz(), clock, now);
        if let Some(d) = group_by {
            report.groups.retain(|g| g.dimension == d);
        }
        Ok(report)
    }
}

/// A hand-written post for `earshot rules test` and `POST /api/v1/rules/test`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplePost {
    pub text: String,
    /// Default: webhook.
    #[serde(default)]
    pub network: Option<earshot_core::Network>,
    #[serde(default)]
    pub followers: Option<u64>,
    /// The language the network declared (else detected).
    #[serde(default)]
    pub lang: Option<String>,
    /// When it was written (default: now): decides business hours.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// Analyses a sample exactly as the pipeline analyses a post and routes it, explaining every
/// rule's outcome.
pub fn test_sample(
    rules: &Triage,
    analyzer: &earshot_analyze::Analyzer,
    sample: &SamplePost,
) -> (Facts, routing::Trace) {
    let at = sample.at.unwrap_or_else(Utc::now);
    let network = sample.network.unwrap_or(earshot_core::Network::Webhook);
    let post = earshot_core::NewPost {
        network,
        external_id: "sample".into(),
        author: earshot_core::Author {
            external_id: "sample".into(),
            handle: "sample".into(),
            display_name: None,
            followers: sample.followers,
            verified: false,
            bot: false,
        },
        text: sample.text.clone(),
        created_at: at,
        in_reply_to: None,
        lang: sample.lang.clone(),
        url: None,
        from_brand: Some(false),
        raw: None,
    };
    let analysis = analyzer.analyze(&post);
    let signals = earshot_core::threading::signals_of(&analysis);
    let facts = Facts {
        band: earshot_core::priority::band(&signals),
        intent: analysis.intent.label,
        sentiment: analysis.sentiment.label,
        network,
        language: analysis.language.language.code().to_string(),
        followers: sample.followers,
        reach: signals.reach_tier,
        text: sample.text.clone(),
        terms: analysis.matches.iter().map(|m| m.term.clone()).collect(),
        ..Facts::default()
    }
    .on_clock(&rules.default_clock, at);
    let trace = routing::test(&rules.routes, &facts);
    (facts, trace)
}

/// The pipeline's hook after a committed batch: routes the conversations it touched. A
/// failure is logged; the posts are stored either way.
pub async fn after_ingest(
    triage: &TriageDesk,
    pipeline: &Pipeline,
    report: &earshot_store::IngestReport,
) {
    let mut touched: Vec<ConversationId> = report
        .posts
        .iter()
        .filter(|p| !p.duplicate)
        .filter_map(|p| p.conversation_id)
        .collect();
    touched.sort();
    touched.dedup();
    if let Err(e) = triage.route_new(pipeline, &touched, Utc::now()).await {
        tracing::warn!(error = %e, "routing new conversations failed");
    }
}

/// `team`, `agent`, `network`, `intent`, `weekday`, `hour`, or `business`/`hours`.
pub fn parse_dimension(word: &str) -> Option<Dimension> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "team" => Dimension::Team,
        "agent" => Dimension::Agent,
        "network" => Dimension::Network,
        "intent" => Dimension::Intent,
        "weekday" => Dimension::Weekday,
        "hour" => Dimension::Hour,
        "business" | "hours" => Dimension::Hours,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_grouping_word_is_understood() {
        for w in [
            "team", "agent", "network", "intent", "weekday", "hour", "business",
        ] {
            assert!(parse_dimension(w).is_some(), "{w}");
        }
        assert_eq!(parse_dimension("Business"), Some(Dimension::Hours));
        assert_eq!(parse_dimension("colour"), None);
    }
}
