//! Paging and escalation: who is paged for a conversation about to breach, breached, or
//! urgent after hours, and the next level while nobody acknowledges.

use super::*;
use crate::alerts::Raised;

/// How long a claimed page may go unsettled before the holder of paging sends it again: well
/// past a delivery that works (seconds), so a page on its way in a live process is not doubled.
const REDELIVER_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Unsettled pages sent again per pass, at most.
const REDELIVER_LIMIT: usize = 100;

impl TriageDesk {
    /// One pass: starts paging where a trigger holds, escalates what nobody acknowledged,
    /// and settles what was assigned or answered. Returns the pages sent. Every change to an
    /// escalation is stored before the next pass.
    pub async fn on_housekeeping(
        &self,
        pipeline: &Pipeline,
        now: DateTime<Utc>,
    ) -> Result<Vec<Paged>, StoreError> {
        let store = pipeline.store();
        self.restore(store.as_ref()).await?;
        self.send_unsettled_pages(store, now).await?;
        let mut paged = Vec::new();
        let filter = InboxFilter {
            limit: SCAN_LIMIT,
            ..InboxFilter::default()
        };
        let open = store.inbox(&filter, now).await?;
        let mut seen = std::collections::HashSet::new();
        for row in &open.items {
            let id = row.conversation.id;
            seen.insert(id);
            let Some(detail) = store.conversation(id).await? else {
                continue;
            };
            let (routing, facts) = self.routed_facts(store.as_ref(), &detail).await?;
            let (due, changed) = self.check_one(&detail, routing, facts, now);
            let people: Vec<String> = due.iter().map(|(_, p)| p.person.clone()).collect();
            for (alert, page) in due {
                // Claimed in the store before it is sent: a process that took paging over
                // after this one died between sending and saving the escalation computes the
                // same page again, and must not send it twice.
                let kept = serde_json::to_string(&alert)
                    .map_err(|e| StoreError::Invalid(format!("page {}: {e}", alert.dedupe_key)))?;
                if store.claim_page(&alert.dedupe_key, id, &kept, now).await? {
                    self.send_page(store, alert, now).await?;
                    paged.push(page);
                } else {
                    tracing::info!(conversation = %id, page = %alert.dedupe_key,
                        "page already claimed by an earlier holder of paging: not sent again");
                }
            }
            if let Some(state) = changed {
                store.save_escalation(id, &state, &people, now).await?;
            }
        }
        // Escalations whose conversation left the open inbox were answered or resolved.
        let gone: Vec<ConversationId> = lock(&self.escalations)
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for id in gone {
            let closed = lock(&self.escalations).remove(&id).map(|mut state| {
                state.close(now);
                state
            });
            if let Some(state) = closed {
                store.save_escalation(id, &state, &[], now).await?;
                tracing::info!(conversation = %id, "escalation closed: answered or resolved");
            }
        }
        Ok(paged)
    }

    /// Hands a claimed page to the alert targets, and settles it in the store once they are
    /// done with it (in the background: a slow target never holds up the pass). A dispatcher
    /// that stops first leaves it unsettled, for [`send_unsettled_pages`](Self::send_unsettled_pages).
    async fn send_page(
        &self,
        store: &Arc<dyn Store>,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = alert.dedupe_key.clone();
        match self.alerts.raise_tracked(alert) {
            Raised::Tracked(settled) => {
                lock(&self.pages_in_flight).insert(key.clone());
                let (store, in_flight) = (store.clone(), self.pages_in_flight.clone());
                tokio::spawn(async move {
                    if let Ok(tally) = settled.await {
                        if let Err(e) = store.settle_page(&key, tally.outcome(), Utc::now()).await {
                            // Left unsettled: the next holder of paging sends it once more.
                            tracing::error!(page = %key, error = %e, "could not mark the page settled");
                        }
                    }
                    lock(&in_flight).remove(&key);
                });
            }
            // No target takes pages: the log line is all there is to deliver.
            Raised::Nowhere => store.settle_page(&key, "logged", now).await?,
            // Handed over in this process within the window: that hand-over settles it.
            Raised::Deduplicated => {}
        }
        Ok(())
    }

    /// Sends again the pages claimed more than [`REDELIVER_AFTER`] ago and never settled: a
    /// process claimed them and stopped (or lost paging) before every target had them.
    async fn send_unsettled_pages(
        &self,
        store: &Arc<dyn Store>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let unsettled = store
            .unsettled_pages(now - REDELIVER_AFTER, REDELIVER_LIMIT)
            .await?;
        for page in unsettled {
            if lock(&self.pages_in_flight).contains(&page.key) {
                continue;
            }
            let alert = page.alert.as_deref().map(serde_json::from_str::<Alert>);
            match alert {
                Some(Ok(alert)) => {
                    tracing::warn!(page = %page.key, conversation = %page.conversation,
                        claimed_at = %page.claimed_at,
                        "page claimed but never settled (its sender stopped): sending it again");
                    self.send_page(store, alert, now).await?;
                }
                other => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no alert kept".to_string(),
                    };
                    tracing::error!(page = %page.key, error = %why,
                        "an unsettled page cannot be read back: not sent again");
                    store.settle_page(&page.key, "unreadable", now).await?;
                }
            }
        }
        Ok(())
    }

    /// Pages due for one conversation (to claim, then send), and its escalation when that
    /// changed (to store).
    pub(super) fn check_one(
        &self,
        detail: &ConversationDetail,
        routing: Routing,
        facts: Facts,
        now: DateTime<Utc>,
    ) -> (Vec<(Alert, Paged)>, Option<EscalationState>) {
        let c = &detail.conversation;
        let id = c.id;
        let mut escalations = lock(&self.escalations);
        if let Some(state) = escalations.get_mut(&id) {
            if let Some(who) = &c.assignee {
                state.acknowledge(who.clone(), now);
                tracing::info!(conversation = %id, by = %who, "page acknowledged");
                return (vec![], escalations.remove(&id));
            }
        } else {
            if c.assignee.is_some() {
                return (vec![], None);
            }
            let Some(team) = routing.team else {
                return (vec![], None);
            };
            if !self.rules.escalation.contains_key(&team) {
                return (vec![], None);
            }
            let assessment = self.rules.policies.assess(&facts, &history_of(detail), now);
            let at_work = self.rules.team_clock(Some(team.as_str())).is_covered(now);
            let Some(trigger) = self.rules.triggers.check(&facts, &assessment, at_work, now) else {
                return (vec![], None);
            };
            escalations.insert(id, EscalationState::start(team, trigger, now));
        }
        let Some(state) = escalations.get_mut(&id) else {
            return (vec![], None);
        };
        let Some(policy) = self.rules.escalation.get(&state.team) else {
            return (vec![], None);
        };
        let Some(page) = policy.next_page(state, now) else {
            return (vec![], None);
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
            let paged = Paged {
                conversation: id,
                person: person.clone(),
                level: page.level,
                reason: page.reason.clone(),
            };
            sent.push((alert, paged));
        }
        if people.is_empty() {
            tracing::warn!(conversation = %id, level = page.level, "nobody to page at this level");
        }
        state.record(page);
        (sent, Some(state.clone()))
    }
}
