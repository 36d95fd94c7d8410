//! Routing what a batch opened: the rules' team, labels and bump, jumpers to the front, an
//! assignee from the rule or the team's roster, and one automatic answer after hours.

use super::*;

impl TriageDesk {
    /// Routes the conversations a batch touched that are open, unassigned and not yet routed,
    /// jumpers first. Returns the ones it assigned.
    pub async fn route_new(
        &self,
        pipeline: &Pipeline,
        touched: &[ConversationId],
        now: DateTime<Utc>,
    ) -> Result<Vec<(ConversationId, String)>, StoreError> {
        let store = pipeline.store();
        let unrouted: Vec<ConversationId> = touched
            .iter()
            .copied()
            .filter(|id| !lock(&self.routed).contains_key(id))
            .collect();
        // The stored routings of the batch, then the details of the rest, each read together
        // (one round trip each for the whole batch: reading them one by one held up the
        // ingest worker routing its batch). Only reads: the routing itself stays one at a time.
        let mut routed: HashMap<ConversationId, Routing> = store
            .routings(&unrouted)
            .await?
            .into_iter()
            .map(|r| (r.conversation, r.routing))
            .collect();
        let rest: Vec<ConversationId> = unrouted
            .iter()
            .copied()
            .filter(|id| !routed.contains_key(id))
            .collect();
        let mut details: HashMap<ConversationId, ConversationDetail> = store
            .conversations(&rest)
            .await?
            .into_iter()
            .map(|d| (d.conversation.id, d))
            .collect();
        let mut queue = Vec::new();
        // In the batch's order.
        for id in unrouted {
            if let Some(routing) = routed.remove(&id) {
                // Routed before (by another process, or before a restart): routing happens once.
                lock(&self.routed).insert(id, routing);
            } else if let Some(detail) = details.remove(&id) {
                if detail.conversation.status == Status::Open {
                    queue.push(self.candidate(detail));
                }
            }
        }
        queue.sort_by(|a, b| queue_order(&a.waiting, &b.waiting));
        let mut assigned = Vec::new();
        for candidate in queue {
            let id = candidate.waiting.conversation;
            // One conversation's trouble must not leave the rest of the batch unrouted.
            match self.route_one(pipeline, candidate, now).await {
                Ok(Some(to)) => assigned.push(to),
                Ok(None) => {}
                Err(e) => tracing::warn!(conversation = %id, error = %e, "routing failed"),
            }
        }
        Ok(assigned)
    }

    pub(super) async fn route_one(
        &self,
        pipeline: &Pipeline,
        candidate: Candidate,
        now: DateTime<Utc>,
    ) -> Result<Option<(ConversationId, String)>, StoreError> {
        let store = pipeline.store();
        let Candidate {
            detail,
            base,
            waiting,
        } = candidate;
        let c = &detail.conversation;
        let id = c.id;
        let trace = routing::test(&self.rules.routes, &base);
        let mut routing = trace.routing.clone();
        if c.assignee.is_none() && routing.assignee.is_none() {
            routing.assignee = self
                .pick_agent(pipeline, routing.team.as_deref(), now)
                .await?;
        }
        let matched: Vec<String> = trace
            .steps
            .iter()
            .filter(|s| matches!(s.verdict, routing::Verdict::Matched { .. }))
            .map(|s| s.rule.clone())
            .collect();
        let actor = if matched.is_empty() {
            "routing".to_string()
        } else {
            format!("routing:{}", matched.join(","))
        };
        // Stored first: a crash after this leaves a routed conversation, never a second routing.
        store
            .save_routing(&RoutedConversation {
                conversation: id,
                routing: routing.clone(),
                rules: matched.clone(),
                routed_at: now,
            })
            .await?;
        lock(&self.routed).insert(id, routing.clone());
        if !routing.labels.is_empty() {
            if let Err(e) = self
                .add_labels(store.as_ref(), id, &routing.labels, &actor, now)
                .await
            {
                tracing::warn!(conversation = %id, error = %e, "labelling from routing failed");
            }
        }
        if let Some(why) = waiting.jump.as_deref().filter(|_| c.signals.jump.is_none()) {
            match self.jump(pipeline, id, why, now).await {
                Ok(()) => tracing::info!(conversation = %id, why = %why, "jumped the queue"),
                Err(e) => {
                    tracing::warn!(conversation = %id, error = %e, "jumping the queue failed")
                }
            }
        }
        let mut assigned = None;
        if let (None, Some(to)) = (&c.assignee, &routing.assignee) {
            let event = ConversationEvent::Assigned { to: to.clone() };
            store.apply(id, event, &actor, now).await?;
            pipeline.publish(LiveEvent::ConversationChanged {
                conversation_id: id,
                action: "assigned".into(),
            });
            if let Some(team) = &routing.team {
                lock(&self.last_assigned).insert(team.clone(), to.clone());
            }
            assigned = Some((id, to.clone()));
        }
        tracing::info!(conversation = %id, team = ?routing.team, assignee = ?routing.assignee,
            labels = ?routing.labels, band = %routing.band, jump = ?waiting.jump, "routed");
        let facts = self.facts_with(&detail, base, &routing);
        if let Err(e) = self.auto_reply(pipeline, &detail, &facts, now).await {
            tracing::warn!(conversation = %id, error = %e, "automatic answer failed");
        }
        Ok(assigned)
    }

    /// Moves a conversation to the front of the inbox, audited.
    pub(super) async fn jump(
        &self,
        pipeline: &Pipeline,
        id: ConversationId,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let store = pipeline.store();
        store.mark_jump(id, why, &pipeline.policy(), now).await?;
        store
            .audit_triage(
                id,
                "triage",
                "jumped",
                &serde_json::json!({ "why": why }),
                now,
            )
            .await?;
        pipeline.publish(LiveEvent::ConversationChanged {
            conversation_id: id,
            action: "jumped".into(),
        });
        Ok(())
    }

    /// Adds routing's labels to those the conversation has (agents may have added some).
    pub(super) async fn add_labels(
        &self,
        store: &dyn Store,
        id: ConversationId,
        add: &[String],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut labels = store.labels(id).await?;
        for l in add {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        store.set_labels(id, &labels, actor, now).await?;
        Ok(())
    }

    /// Sends the automatic answer outside covered hours, when one is configured and due.
    pub(super) async fn auto_reply(
        &self,
        pipeline: &Pipeline,
        detail: &ConversationDetail,
        facts: &Facts,
        now: DateTime<Utc>,
    ) -> Result<(), autoreply::AutoReplyError> {
        let Some(config) = &self.rules.auto_reply else {
            return Ok(());
        };
        let c = &detail.conversation;
        let clock = self.rules.team_clock(facts.team.as_deref());
        let Some((reply, written)) = autoreply::due(config, detail, facts, clock, now) else {
            return Ok(());
        };
        let Some(outbox) = &self.outbox else {
            tracing::warn!(conversation = %c.id, "automatic answer due but no outbox is wired");
            return Ok(());
        };
        if !outbox.can_answer(c.network) {
            // No connector to post it with: an acknowledgement nobody sends is not made.
            tracing::debug!(conversation = %c.id, network = %c.network, "automatic answer skipped: earshot cannot post on this network");
            return Ok(());
        }
        let store = pipeline.store();
        let claimed = store
            .claim_auto_reply(
                c.network,
                &c.customer.external_id,
                c.id,
                written,
                config.every.0,
            )
            .await?;
        if !claimed {
            tracing::info!(conversation = %c.id, customer = %c.customer.handle,
                "automatic answer skipped: the customer had one recently");
            return Ok(());
        }
        let sent = autoreply::send(outbox, pipeline, c.id, &reply.text).await?;
        store
            .audit_triage(
                c.id,
                AUTO_REPLY_AUTHOR,
                "auto_replied",
                &serde_json::json!({
                    "reply": sent.id,
                    "template": reply.template,
                    "opens_at": reply.opens_at,
                }),
                now,
            )
            .await?;
        tracing::info!(conversation = %c.id, template = %reply.template, "automatic answer sent");
        Ok(())
    }

    /// An agent from the team's roster, only while the team is at work: after hours the
    /// on-call person is paged instead, and an assignment would count as acknowledged.
    pub(super) async fn pick_agent(
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
}
