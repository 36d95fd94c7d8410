//! The desk: what an agent does, one service per action, as plain async functions that the
//! JSON API, the web pages and the CLI share (each door parses its input, calls the desk and
//! renders what comes back; none of them talks to the store).
//!
//! - conversations (this module and [`conversations`]): answer, assign, pend, resolve, read;
//! - [`corrections`]: an agent's correction of a post's intent, sentiment or language;
//! - [`requests`]: rank, rename, merge, move asks, status, tracker links;
//! - [`promises`]: the ledger, confirm, dismiss;
//! - [`releases`]: record a release, tell the askers;
//! - [`people`]: who may sign in, their roles and API tokens.
//!
//! Everything the desk posts goes through the [`Outbox`]; what runs after a batch is
//! committed is the pipeline's list of steps, and what runs every minute is the list of
//! [`Tick`]s from [`Desk::ticks`]. [`Desk::build`] wires them, in their order.
//!
//! Input rules live in core types with a `parse` (`RequestTitle`, `ReleaseVersion`,
//! `TrackerUrl`, `ReplyText`, ...), so a rule cannot differ by door.

pub mod conversations;
pub mod corrections;
pub mod drafts;
pub mod people;
pub mod promises;
pub mod releases;
pub mod requests;

use crate::alerts::Alerts;
use crate::feedback::steps::{Grouping, OptOuts, Promises, Spikes};
use crate::feedback::FeedbackLoop;
use crate::housekeeping::Tick;
pub use crate::outbox::{retry_backoff, BEING_SENT, MAX_SEND_ATTEMPTS};
use crate::outbox::{Delivered, Outbox, OutboxError};
use crate::pipeline::{LiveEvent, Pipeline};
use crate::responder::{Responders, SendError};
use crate::survey::Surveys;
use crate::triage::TriageDesk;
use chrono::Utc;
use earshot_core::reply::ReplyTextError;
use earshot_core::{Conversation, ConversationEvent, ConversationId, Reply};
use earshot_store::{Store, StoreError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    ReplyText(#[from] ReplyTextError),
    /// What was typed breaks a rule (a title too long, a link that is not http(s)).
    #[error("{0}")]
    Input(#[from] earshot_core::feedback::InputError),
    /// The rules refuse the change in the record's current state (a kept promise confirmed).
    #[error("{0}")]
    Refused(String),
    /// The reply is stored (state `failed`); sending it again with the same key is safe, and
    /// earshot does so by itself while `reply.next_attempt_at` is set.
    #[error("reply {} was stored but not sent: {error}", reply.id)]
    SendFailed { reply: Box<Reply>, error: SendError },
    /// Nothing was posted: earshot has no way to answer on this network. The reply is stored
    /// as `not_sent` with the reason; its text can be copied, or it can be retried once a
    /// connector is configured.
    #[error("reply {} was not sent: {reason}", reply.id)]
    NotSent { reply: Box<Reply>, reason: String },
}

impl From<OutboxError> for DeskError {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::Store(e) => DeskError::Store(e),
            OutboxError::ReplyText(e) => DeskError::ReplyText(e),
            OutboxError::SendFailed { reply, error } => DeskError::SendFailed { reply, error },
            OutboxError::NotSent { reply, reason } => DeskError::NotSent { reply, reason },
        }
    }
}

pub struct Desk {
    pipeline: Arc<Pipeline>,
    outbox: Arc<Outbox>,
    feedback: Arc<FeedbackLoop>,
    alerts: Arc<Alerts>,
    /// `[triage]` routing and paging; `None` without a `[triage]` section.
    triage: Option<Arc<TriageDesk>>,
    /// `[survey]`, when enabled: a satisfaction survey after resolution.
    surveys: Option<Arc<Surveys>>,
    /// Past answers indexed for first drafts (see [`drafts`]).
    drafts: drafts::DraftCache,
}

/// The parts of a desk before they are wired together (see [`Desk::build`]).
pub struct DeskBuilder {
    pipeline: Pipeline,
    responders: Responders,
    brand_handle: String,
    feedback: Option<FeedbackLoop>,
    alerts: Option<Alerts>,
    triage: Option<TriageDesk>,
    surveys: Option<Surveys>,
}

impl DeskBuilder {
    /// The loop with its templates, pacing and spike settings (a default one otherwise).
    pub fn feedback(mut self, feedback: FeedbackLoop) -> Self {
        self.feedback = Some(feedback);
        self
    }

    /// Where alerts go (only the log otherwise).
    pub fn alerts(mut self, alerts: Alerts) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// Routing and paging by `[triage]`.
    pub fn triage(mut self, triage: TriageDesk) -> Self {
        self.triage = Some(triage);
        self
    }

    /// Satisfaction surveys after resolution (see [`crate::survey`]), when enabled.
    pub fn surveys(mut self, surveys: Option<Surveys>) -> Self {
        self.surveys = surveys;
        self
    }

    /// Wires the parts: the outbox with its after-sent steps (deliveries, then promises), and
    /// the pipeline's after-commit steps in the order they have always run — opt-outs,
    /// grouping, spikes, routing (the live feed comes last by itself). Each part holds only
    /// what is below it: nothing points back up to the desk.
    pub fn finish(self) -> Desk {
        let store = self.pipeline.store().clone();
        let feedback = Arc::new(
            self.feedback
                .unwrap_or_else(|| FeedbackLoop::new(store.clone())),
        );
        let alerts = Arc::new(self.alerts.unwrap_or_else(Alerts::log_only));
        let outbox = Arc::new(
            Outbox::new(
                store.clone(),
                self.responders,
                self.brand_handle,
                alerts.clone(),
            )
            .with_after_sent(Arc::new(Delivered(store)))
            .with_after_sent(Arc::new(Promises(feedback.clone()))),
        );
        let triage = self
            .triage
            .map(|t| Arc::new(t.wired(alerts.clone(), feedback.clone(), outbox.clone())));
        let mut pipeline = self
            .pipeline
            .with_after_commit(Arc::new(OptOuts(feedback.clone())))
            .with_after_commit(Arc::new(Grouping(feedback.clone())))
            .with_after_commit(Arc::new(Spikes {
                feedback: feedback.clone(),
                alerts: alerts.clone(),
            }));
        if let Some(t) = &triage {
            pipeline = pipeline.with_after_commit(t.clone());
        }
        Desk {
            pipeline: Arc::new(pipeline),
            outbox,
            feedback,
            alerts,
            triage,
            surveys: self.surveys.map(Arc::new),
            drafts: drafts::DraftCache::default(),
        }
    }
}

impl Desk {
    /// A desk over `pipeline` with the default loop, alerts to the log only, no triage and
    /// no surveys (see [`Desk::build`] for more).
    pub fn new(
        pipeline: Pipeline,
        responders: Responders,
        brand_handle: impl Into<String>,
    ) -> Self {
        Desk::build(pipeline, responders, brand_handle).finish()
    }

    /// Starts wiring a desk: replies go out through `responders` as `brand_handle`.
    pub fn build(
        pipeline: Pipeline,
        responders: Responders,
        brand_handle: impl Into<String>,
    ) -> DeskBuilder {
        DeskBuilder {
            pipeline,
            responders,
            brand_handle: brand_handle.into(),
            feedback: None,
            alerts: None,
            triage: None,
            surveys: None,
        }
    }

    pub fn surveys(&self) -> Option<&Arc<Surveys>> {
        self.surveys.as_ref()
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.pipeline.store()
    }

    /// Where everything earshot posts goes out.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// The loop: requests, promises, releases, spikes.
    pub fn feedback(&self) -> &Arc<FeedbackLoop> {
        &self.feedback
    }

    /// Where alerts go.
    pub fn alerts(&self) -> &Arc<Alerts> {
        &self.alerts
    }

    /// `[triage]` routing and paging, when configured.
    pub fn triage(&self) -> Option<&Arc<TriageDesk>> {
        self.triage.as_ref()
    }

    /// Answers a conversation on its network, through the [`Outbox`]: stored (queued) before
    /// it is sent, then marked sent with the network's id and threaded as the brand's post,
    /// which starts or stops the response clock like any brand answer. The same
    /// `idempotency_key` never posts twice.
    pub async fn reply(
        &self,
        id: ConversationId,
        text: &str,
        author: &str,
        idempotency_key: Option<String>,
    ) -> Result<Reply, DeskError> {
        Ok(self
            .outbox
            .send(&self.pipeline, id, text, author, idempotency_key)
            .await?)
    }

    /// Whether earshot can post on `network` at all (a connector, or a reply address).
    pub fn can_answer(&self, network: earshot_core::Network) -> bool {
        self.outbox.can_answer(network)
    }

    /// An agent's retry of a reply that was not sent (failed, not sent, or stuck queued):
    /// sent again under its own key. A reply already sent is returned as it is.
    pub async fn retry(&self, id: ConversationId, reply_id: i64) -> Result<Reply, DeskError> {
        Ok(self.outbox.retry(&self.pipeline, id, reply_id).await?)
    }

    /// Sends failed replies whose next automatic attempt is due (see [`retry_backoff`]).
    /// Returns how many went out.
    pub async fn retry_due(&self, now: chrono::DateTime<Utc>) -> Result<usize, DeskError> {
        Ok(self.outbox.retry_due(&self.pipeline, now).await?)
    }

    /// Sends replies left queued by a crash between storing and sending. Returns how many
    /// went out.
    pub async fn resend_queued(&self) -> Result<usize, DeskError> {
        Ok(self.outbox.resend_queued(&self.pipeline).await?)
    }

    /// Offers the satisfaction survey for a resolved conversation, when surveys are on.
    pub async fn offer_survey(
        &self,
        id: ConversationId,
    ) -> Result<Option<crate::survey::Outcome>, DeskError> {
        match &self.surveys {
            Some(s) => Ok(Some(s.offer(&self.outbox, &self.pipeline, id).await?)),
            None => Ok(None),
        }
    }

    /// Assign, unassign, pend, resolve or reopen, with the actor in the audit trail.
    pub async fn act(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
    ) -> Result<Conversation, DeskError> {
        let action = event.name().to_string();
        let resolved = matches!(event, ConversationEvent::Resolved);
        let conversation = self.store().apply(id, event, actor, Utc::now()).await?;
        self.pipeline.publish(LiveEvent::ConversationChanged {
            conversation_id: id,
            action,
        });
        if let Some(surveys) = self
            .surveys
            .as_ref()
            .filter(|s| resolved && s.at_resolution())
        {
            // The resolve stands whatever happens to the survey: a failure is logged.
            if let Err(e) = surveys.offer(&self.outbox, &self.pipeline, id).await {
                tracing::warn!(conversation = %id, error = %e, "survey not sent");
            }
        }
        Ok(conversation)
    }

    /// The desk's housekeeping, in the order it runs every minute: promises past due, spike
    /// alerts a stopped process never delivered (alone on the store), on-call paging,
    /// re-ranking the inbox, replies left queued, replies due for a retry, old sign-in and
    /// delivery records, surveys due.
    pub fn ticks(self: &Arc<Self>) -> Vec<Tick> {
        let mut ticks = vec![];
        let desk = self.clone();
        ticks.push(Tick::new("checking promises for due dates", move |now| {
            let desk = desk.clone();
            async move {
                desk.feedback
                    .check_promises(&desk.alerts, now)
                    .await
                    .map(drop)
            }
        }));
        let desk = self.clone();
        ticks.push(Tick::new(
            "re-sending spike alerts never delivered",
            move |now| {
                let desk = desk.clone();
                async move {
                    desk.feedback
                        .send_unsettled_spike_alerts(&desk.alerts, now)
                        .await;
                    Ok::<(), std::convert::Infallible>(())
                }
            },
        ));
        if self.triage.is_some() {
            let desk = self.clone();
            let forget = self.clone();
            ticks.push(
                Tick::new("paging on-call", move |now| {
                    let desk = desk.clone();
                    async move {
                        match &desk.triage {
                            Some(t) => t.on_housekeeping(&desk.pipeline, now).await.map(drop),
                            None => Ok(()),
                        }
                    }
                })
                // Taken over from another process: its pages are in the store, not here.
                .resuming(move || {
                    if let Some(t) = &forget.triage {
                        t.forget_escalations();
                    }
                }),
            );
        }
        let desk = self.clone();
        ticks.push(Tick::new("re-ranking the inbox", move |_| {
            let desk = desk.clone();
            async move { desk.pipeline.rescore().await.map(drop) }
        }));
        let desk = self.clone();
        ticks.push(Tick::new("re-sending queued replies", move |_| {
            let desk = desk.clone();
            async move { desk.resend_queued().await.map(drop) }
        }));
        let desk = self.clone();
        ticks.push(Tick::new("retrying failed replies", move |now| {
            let desk = desk.clone();
            async move { desk.retry_due(now).await.map(drop) }
        }));
        let desk = self.clone();
        ticks.push(Tick::new(
            "forgetting old sign-in and delivery records",
            move |now| {
                let desk = desk.clone();
                async move { desk.store().prune_guards(now).await.map(drop) }
            },
        ));
        if self.surveys.is_some() {
            let desk = self.clone();
            ticks.push(Tick::new("sending due surveys", move |now| {
                let desk = desk.clone();
                async move {
                    match &desk.surveys {
                        Some(s) => s
                            .send_due(&desk.outbox, &desk.pipeline, now)
                            .await
                            .map(drop),
                        None => Ok(()),
                    }
                }
            }));
        }
        ticks
    }
}
