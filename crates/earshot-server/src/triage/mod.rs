//! Triage at work: the pure rules of `earshot_core::triage` applied to stored conversations.
//!
//! - [`TriageDesk::route_new`] runs after each ingest: conversations that opened unassigned get
//!   their team, labels and priority bump from the routing rules, and an assignee (the rule's,
//!   or the team's roster while the team is at work). Jumpers ([`jump`]: a high-reach author,
//!   a post of a spike going on now) go to the front of the inbox and are assigned first. The
//!   assignment goes through the store's `apply` exactly as `Desk::act` does, so it is audited
//!   (actor `routing:<rules>`). Outside covered hours the customer gets one automatic answer
//!   ([`autoreply`]) that does not stop the first-response clock.
//! - [`TriageDesk::assess`] says which policy applies to a conversation, why, and how each
//!   target stands (the `/policy` endpoint).
//! - [`TriageDesk::on_housekeeping`] pages the on-call person for conversations about to
//!   breach, breached, or urgent/high-reach after hours, and escalates while nobody
//!   acknowledges. Acknowledged = the conversation is assigned or answered (no longer open).
//!   A page is claimed in the store with its alert before it is sent and settled once every
//!   alert target is done with it; the holder of paging sends again what a process that died
//!   left unsettled (`alerts/kept.rs`), unless its conversation was answered or assigned since.
//!
//! What must outlive the process is in the store (`TriageStateStore`, migration 0008): each
//! conversation's routing (team, rules, band; its labels also in the conversation's labels),
//! escalations in progress (a restart pages the next level, not level 1 again), each
//! customer's last automatic answer, and jumps (in the priority signals). The maps here are
//! caches of it.

pub mod autoreply;
/// Paging and escalation ([`TriageDesk::on_housekeeping`]).
mod escalation;
pub mod jump;
/// Routing what a batch opened ([`TriageDesk::route_new`]).
mod route;

use crate::alerts::Alerts;
use crate::feedback::FeedbackLoop;
use crate::outbox::Outbox;
use crate::pipeline::{AfterCommit, Committed, LiveEvent, Pipeline};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_connect::notify::{Alert, AlertKind};
use earshot_core::reply::{AUTO_REPLY_AUTHOR, AUTO_REPLY_KEY_PREFIX};
use earshot_core::triage::assign::queue_order;
use earshot_core::triage::report::{Dimension, Report, ResponseRecord};
use earshot_core::triage::timeline::{ClockEvent, Moment, Progress};
use earshot_core::triage::{routing, Assessment, EscalationState, Facts, Routing, Triage, Waiting};
use earshot_core::{ConversationEvent, ConversationId, Status};
use earshot_store::triage_state::RoutedConversation;
use earshot_store::{ConversationDetail, InboxFilter, Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Open conversations looked at per housekeeping pass, at most.
const SCAN_LIMIT: u32 = 1000;

/// Conversations a report reads, at most.
const REPORT_LIMIT: usize = 20_000;

/// Which policy applies to a conversation and how it stands.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    pub conversation: ConversationId,
    /// The team routing sent it to (also in `routing`), kept across restarts.
    pub team: Option<String>,
    pub routing: Routing,
    pub assessment: Assessment,
    /// The soonest due time among running targets.
    pub next_due: Option<DateTime<Utc>>,
    pub escalation: Option<EscalationState>,
    /// Why it jumped the queue, if it did.
    pub jump: Option<String>,
}

/// A page sent by a housekeeping pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged {
    pub conversation: ConversationId,
    pub person: String,
    pub level: usize,
    pub reason: String,
}

/// The compiled triage rules and the state they need at run time (cached from the store).
pub struct TriageDesk {
    rules: Triage,
    escalations: Mutex<HashMap<ConversationId, EscalationState>>,
    routed: Mutex<HashMap<ConversationId, Routing>>,
    /// The round-robin turn per team.
    last_assigned: Mutex<HashMap<String, String>>,
    /// Whether the escalations in progress were read back from the store (after a start).
    restored: AtomicBool,
    /// Where pages go (only the log until wired).
    alerts: Arc<Alerts>,
    /// The loop, for the spikes going on now (a post of one jumps the queue).
    feedback: Option<Arc<FeedbackLoop>>,
    /// Where automatic answers go out; without it none is sent.
    outbox: Option<Arc<Outbox>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not stop paging: the maps hold plain data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a stored post is earshot's own automatic answer (its reply says so).
fn is_automatic(detail: &ConversationDetail, post: &earshot_core::Post) -> bool {
    post.from_brand
        && detail.replies.iter().any(|r| {
            r.author == AUTO_REPLY_AUTHOR
                && r.idempotency_key.starts_with(AUTO_REPLY_KEY_PREFIX)
                && r.external_id.as_deref() == Some(post.external_id.as_str())
        })
}

/// The clock events of a stored conversation: posts at the networks' times, agents' actions
/// at theirs. Automatic answers are acknowledgements, not answers: the clock runs on.
pub fn history_of(detail: &ConversationDetail) -> Vec<Moment> {
    let mut h: Vec<Moment> = detail
        .posts
        .iter()
        .filter(|p| !is_automatic(detail, p))
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

/// A conversation that opened and waits to be routed, in queue order.
struct Candidate {
    detail: ConversationDetail,
    base: Facts,
    waiting: Waiting,
}

impl TriageDesk {
    pub fn new(rules: Triage) -> Self {
        TriageDesk {
            rules,
            escalations: Mutex::new(HashMap::new()),
            routed: Mutex::new(HashMap::new()),
            last_assigned: Mutex::new(HashMap::new()),
            restored: AtomicBool::new(false),
            alerts: Arc::new(Alerts::log_only()),
            feedback: None,
            outbox: None,
        }
    }

    pub fn rules(&self) -> &Triage {
        &self.rules
    }

    /// Pages go to `alerts`, spikes are read from `feedback`, automatic answers go out
    /// through `outbox` (`Desk::build` wires these; a triage desk without them only reads).
    pub fn wired(
        mut self,
        alerts: Arc<Alerts>,
        feedback: Arc<FeedbackLoop>,
        outbox: Arc<Outbox>,
    ) -> Self {
        self.alerts = alerts;
        self.feedback = Some(feedback);
        self.outbox = Some(outbox);
        self
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

    /// The facts after routing.
    fn facts_with(&self, detail: &ConversationDetail, base: Facts, routing: &Routing) -> Facts {
        let mut facts = base.with_labels(routing.labels.clone());
        facts.band = routing.band;
        if let Some(team) = &routing.team {
            let latest = detail.posts.iter().rev().find(|p| !p.from_brand);
            let written = latest.map_or(detail.conversation.opened_at, |p| p.created_at);
            facts = facts
                .with_team(team.clone())
                .on_clock(self.rules.team_clock(Some(team.as_str())), written);
        }
        facts
    }

    /// Where routing sent a conversation: remembered, stored (after a restart), or computed
    /// afresh for one never routed (it is deterministic).
    async fn routing_of(
        &self,
        store: &dyn Store,
        detail: &ConversationDetail,
    ) -> Result<Routing, StoreError> {
        let id = detail.conversation.id;
        if let Some(r) = lock(&self.routed).get(&id).cloned() {
            return Ok(r);
        }
        if let Some(stored) = store.routing(id).await? {
            lock(&self.routed).insert(id, stored.routing.clone());
            return Ok(stored.routing);
        }
        Ok(routing::route(&self.rules.routes, &self.base_facts(detail)))
    }

    async fn routed_facts(
        &self,
        store: &dyn Store,
        detail: &ConversationDetail,
    ) -> Result<(Routing, Facts), StoreError> {
        let routing = self.routing_of(store, detail).await?;
        let facts = self.facts_with(detail, self.base_facts(detail), &routing);
        Ok((routing, facts))
    }

    /// Reads the escalations in progress back from the store, once after a start, so a
    /// restart continues at the level it reached.
    /// Forgets the escalations remembered here; the next pass reads them back from the
    /// store. Run when this process takes over paging: another process may have paged since.
    pub fn forget_escalations(&self) {
        lock(&self.escalations).clear();
        self.restored.store(false, Ordering::Release);
    }

    async fn restore(&self, store: &dyn Store) -> Result<(), StoreError> {
        if self.restored.load(Ordering::Acquire) {
            return Ok(());
        }
        let open = store.open_escalations().await?;
        let mut escalations = lock(&self.escalations);
        for e in open {
            // What this process started since is newer than what it reads back.
            escalations.entry(e.conversation).or_insert(e.state);
        }
        self.restored.store(true, Ordering::Release);
        Ok(())
    }

    /// Which policy applies, why, and each target's state at `now`.
    pub async fn assess(
        &self,
        store: &dyn Store,
        detail: &ConversationDetail,
        now: DateTime<Utc>,
    ) -> Result<PolicyView, StoreError> {
        let (routing, facts) = self.routed_facts(store, detail).await?;
        let assessment = self.rules.policies.assess(&facts, &history_of(detail), now);
        let id = detail.conversation.id;
        let remembered = lock(&self.escalations).get(&id).cloned();
        let escalation = match remembered {
            Some(e) => Some(e),
            None => store.escalation(id).await?.map(|e| e.state),
        };
        Ok(PolicyView {
            conversation: id,
            team: routing.team.clone(),
            routing,
            next_due: assessment.next_due().map(|(_, d)| d),
            assessment,
            escalation,
            jump: detail.conversation.signals.jump.clone(),
        })
    }

    /// The conversation's waiting entry, with its jump reason (reach, or a spike going on).
    fn candidate(&self, detail: ConversationDetail) -> Candidate {
        let mut base = self.base_facts(&detail);
        let c = &detail.conversation;
        let mut spike_label = None;
        if self.rules.jump.spike {
            if let Some(latest) = detail.posts.iter().rev().find(|p| !p.from_brand) {
                let language = latest.analysis.language.language.code();
                if let Some(view) = self
                    .feedback
                    .as_ref()
                    .and_then(|f| f.active_spike_for(&latest.text, Some(language)))
                {
                    base.spike = true;
                    spike_label = Some(view.spike.label_terms.join(" "));
                }
            }
        }
        let jump = c
            .signals
            .jump
            .clone()
            .or_else(|| jump::reason(&self.rules.jump, &base, spike_label.as_deref()));
        let waiting = Waiting {
            conversation: c.id,
            since: c.awaiting_since.unwrap_or(c.opened_at),
            band: base.band,
            jump,
        };
        Candidate {
            detail,
            base,
            waiting,
        }
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
            let view = self.assess(pipeline.store().as_ref(), &detail, now).await?;
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
        lang: sample.lang.clone(),
        from_brand: Some(false),
        ..earshot_core::NewPost::new(
            network,
            "sample",
            earshot_core::Author {
                external_id: "sample".into(),
                handle: "sample".into(),
                display_name: None,
                followers: sample.followers,
                verified: false,
                bot: false,
            },
            sample.text.clone(),
            at,
        )
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

/// Routing is the step after grouping and spikes in the pipeline: it routes the
/// conversations a committed batch touched. A failure is logged; the posts are stored either
/// way.
#[async_trait]
impl AfterCommit for TriageDesk {
    async fn on_commit(&self, pipeline: &Pipeline, batch: &mut Committed) {
        let mut touched: Vec<ConversationId> = batch
            .report
            .posts
            .iter()
            .filter(|p| !p.duplicate)
            .filter_map(|p| p.conversation_id)
            .collect();
        touched.sort();
        touched.dedup();
        if let Err(e) = self.route_new(pipeline, &touched, Utc::now()).await {
            tracing::warn!(error = %e, "routing new conversations failed");
        }
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
