//! Paging and escalation: who is paged for a conversation about to breach, breached, or
//! urgent after hours, and the next level while nobody acknowledges.

use super::*;

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
        // Owed pages first; a store error there is logged and must not stop new paging.
        if let Err(e) = self.send_owed_pages(store, now).await {
            tracing::error!(error = %e, "pages never delivered could not be looked at");
        }
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
            let stored = async {
                for (alert, page) in due {
                    // Claimed in the store before it is sent: a process that took paging over
                    // after this one died between sending and saving the escalation computes
                    // the same page again, and must not send it twice.
                    let key = alert.dedupe_key.clone();
                    if self
                        .alerts
                        .claim_and_send(store, alert, Some(id), now)
                        .await?
                    {
                        paged.push(page);
                    } else {
                        tracing::info!(conversation = %id, page = %key,
                            "page already claimed by an earlier holder of paging: not sent again");
                    }
                }
                if let Some(state) = changed {
                    store.save_escalation(id, &state, &people, now).await?;
                }
                Ok::<(), StoreError>(())
            };
            if let Err(e) = stored.await {
                // `check_one` already counted these pages as sent in memory: forget that, so
                // the next pass reads the escalation back as stored and pages whoever this
                // pass did not claim (the claims it made keep those from being sent twice).
                self.forget_escalations();
                return Err(e);
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

    /// Pages a process claimed and never delivered (it stopped, or a full queue dropped
    /// them): sent by whoever pages now, unless their conversation was answered or assigned
    /// meanwhile (then they are settled `moot`).
    async fn send_owed_pages(
        &self,
        store: &Arc<dyn Store>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (claim, alert) in self.alerts.owed(store, "page:", now).await? {
            let still_waiting = match claim.conversation {
                Some(id) => store.conversation(id).await.map(|d| {
                    d.is_some_and(|d| {
                        d.conversation.status == Status::Open && d.conversation.assignee.is_none()
                    })
                }),
                None => Ok(true),
            };
            let done = match still_waiting {
                Ok(true) => self.alerts.resend(store, &claim, alert, now).await,
                Ok(false) => {
                    tracing::info!(page = %claim.key,
                        "a page never delivered is not sent now: its conversation was answered or assigned");
                    store.settle_alert(&claim.key, "moot", now).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = done {
                tracing::error!(page = %claim.key, error = %e, "an owed page was not sent again");
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
