//! The outbox: everything earshot posts goes out here — agents' replies, automatic answers,
//! satisfaction surveys, release notices — through one path: **queue** (stored under its
//! idempotency key before anything is posted) → **claim** (a lease, so one sender at a time,
//! across processes) → **send** (the network's responder) → **mark** (sent with the network's
//! id, or failed/not sent with the reason) → **thread** (the sent reply becomes the brand's
//! post in its conversation, through the pipeline, which is what stops the response clock).
//! Then its after-sent steps ([`AfterSent`]) run in order: a release notice or a survey that
//! waited on the reply counts as delivered, a commitment in it is proposed as a promise.
//!
//! Retries: a retryable failure is tried again after [`retry_backoff`] (1, 4, 16, 64, 256
//! minutes) by the housekeeping tick [`Outbox::retry_due`], up to [`MAX_SEND_ATTEMPTS`];
//! then the team is alerted. Replies left queued by a crash go out from
//! [`Outbox::resend_queued`] once their claim has expired. A sent reply is never sent again
//! for the same key.
//!
//! The outbox does not hold the pipeline: the caller passes it. The pipeline's after-commit
//! steps (routing, which sends automatic answers) hold the outbox, so holding the pipeline
//! here would make a loop of owners. This is also where a message bus plugs in: the queued
//! reply is what a bus would carry to a sending worker.

use crate::alerts::Alerts;
use crate::pipeline::{LiveEvent, Pipeline};
use crate::responder::{Responders, SendError};
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::reply::{ReplyText, ReplyTextError};
use earshot_core::{Author, Conversation, ConversationId, NewPost, Reply, ReplyState};
use earshot_store::{ConversationDetail, NewReply, ReplyMiss, Store, StoreError};
use std::sync::Arc;

/// The key prefix of reply-failed alerts kept in the store (`reply_failed:<reply>:<attempts>`).
const REPLY_FAILED_ALERTS: &str = "reply_failed:";

/// Says, in a `StoreError::Conflict`, that another sender holds the reply right now.
pub const BEING_SENT: &str = "is being sent right now";

/// How long a sender may hold a reply before another may try it again.
const SEND_LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// Attempts at sending one reply before earshot stops retrying by itself (the first included).
pub const MAX_SEND_ATTEMPTS: u32 = 6;

/// The wait before the next automatic attempt after `attempts` failed ones: 1, 4, 16, 64 and
/// 256 minutes.
pub fn retry_backoff(attempts: u32) -> chrono::Duration {
    chrono::Duration::minutes(4i64.pow(attempts.saturating_sub(1).min(6)))
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    ReplyText(#[from] ReplyTextError),
    /// The reply is stored (state `failed`); sending it again with the same key is safe, and
    /// earshot does so by itself while `reply.next_attempt_at` is set.
    #[error("reply {} was stored but not sent: {error}", reply.id)]
    SendFailed { reply: Box<Reply>, error: SendError },
    /// Nothing was posted: earshot has no way to answer on this network. The reply is stored
    /// as `not_sent` with the reason.
    #[error("reply {} was not sent: {reason}", reply.id)]
    NotSent { reply: Box<Reply>, reason: String },
}

/// A step after a reply went out (see the module doc). Failures are the step's to log: the
/// reply is sent either way.
#[async_trait]
pub trait AfterSent: Send + Sync {
    async fn on_sent(&self, reply: &Reply, conversation: &Conversation);
}

pub struct Outbox {
    store: Arc<dyn Store>,
    responders: Responders,
    /// The brand account replies are posted as (the first configured handle).
    brand_handle: String,
    /// Where "stopped trying" goes.
    alerts: Arc<Alerts>,
    after_sent: Vec<Arc<dyn AfterSent>>,
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        responders: Responders,
        brand_handle: impl Into<String>,
        alerts: Arc<Alerts>,
    ) -> Self {
        Outbox {
            store,
            responders,
            brand_handle: brand_handle.into(),
            alerts,
            after_sent: vec![],
        }
    }

    /// Adds a step after each sent reply, after those already there.
    pub fn with_after_sent(mut self, step: Arc<dyn AfterSent>) -> Self {
        self.after_sent.push(step);
        self
    }

    /// Whether earshot can post on `network` at all (a connector, or a reply address).
    pub fn can_answer(&self, network: earshot_core::Network) -> bool {
        self.responders.can_answer(network)
    }

    /// Queues a reply to a conversation and sends it: stored (queued) before it is sent, then
    /// marked sent with the network's id and threaded as the brand's post. The same
    /// `idempotency_key` never posts twice: a sent reply is returned as it is; a queued or
    /// failed one is sent again.
    #[tracing::instrument(skip(self, pipeline, text), fields(conversation = %id))]
    pub async fn send(
        &self,
        pipeline: &Pipeline,
        id: ConversationId,
        text: &str,
        author: &str,
        idempotency_key: Option<String>,
    ) -> Result<Reply, OutboxError> {
        let detail = self.conversation(id).await?;
        let text = ReplyText::parse(text, detail.conversation.network)?;
        let key = idempotency_key
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let reply = self
            .store
            .queue_reply(NewReply {
                conversation_id: id,
                text: text.as_str().to_string(),
                author: author.to_string(),
                idempotency_key: key,
                created_at: Utc::now(),
            })
            .await?;
        if reply.text != text.as_str() {
            return Err(StoreError::Conflict(format!(
                "idempotency key {:?} was already used for reply {} with different text",
                reply.idempotency_key, reply.id
            ))
            .into());
        }
        if reply.state == ReplyState::Sent {
            // Sent before: make sure it is threaded (a crash may have come between), then done.
            self.thread_sent(pipeline, &reply).await?;
            return Ok(reply);
        }
        self.claim_and_send(pipeline, reply, &detail.conversation)
            .await
    }

    /// Threads a sent reply as the brand's post in its conversation; idempotent by the
    /// network's id for it.
    async fn thread_sent(&self, pipeline: &Pipeline, reply: &Reply) -> Result<(), OutboxError> {
        let Some(external_id) = reply.external_id.clone() else {
            return Ok(());
        };
        let post = NewPost {
            in_reply_to: Some(reply.in_reply_to.clone()),
            from_brand: Some(true),
            ..NewPost::new(
                reply.network,
                external_id,
                Author::new(self.brand_handle.clone(), self.brand_handle.clone()),
                reply.text.clone(),
                reply.sent_at.unwrap_or_else(Utc::now),
            )
        };
        pipeline.ingest(vec![post]).await?;
        Ok(())
    }

    async fn claim_and_send(
        &self,
        pipeline: &Pipeline,
        reply: Reply,
        conversation: &Conversation,
    ) -> Result<Reply, OutboxError> {
        // Claim it in the store first: a retry, the housekeeping loop or another earshot
        // process that finds the claim leaves the reply alone, so it is never sent twice at once.
        // A crash mid-send leaves a claim that expires, and the reply is sent again (with the
        // same idempotency key, which networks that honour one use to drop the repeat).
        let now = Utc::now();
        let id = reply.id;
        let Some(reply) = self.store.claim_reply(id, now + SEND_LEASE, now).await? else {
            return Err(StoreError::Conflict(format!(
                "reply {id} {BEING_SENT}; ask again in a moment"
            ))
            .into());
        };
        self.send_claimed(pipeline, reply, conversation).await
    }

    async fn send_claimed(
        &self,
        pipeline: &Pipeline,
        reply: Reply,
        conversation: &Conversation,
    ) -> Result<Reply, OutboxError> {
        let store = &self.store;
        let id = reply.id;
        let responder = match self.responders.for_network(reply.network) {
            Ok(r) => r,
            Err(reason) => {
                // Nothing is posted, and nothing says otherwise: the agent sees why.
                tracing::warn!(reply = id, network = %reply.network, "reply not sent: no way to answer on this network");
                let unsent = store
                    .mark_reply_unsent(
                        id,
                        &ReplyMiss::NotSent {
                            reason: reason.clone(),
                        },
                    )
                    .await?;
                return Err(OutboxError::NotSent {
                    reply: Box::new(unsent),
                    reason,
                });
            }
        };
        match responder.send(&reply, &conversation.reply_target()).await {
            Ok(external_id) => {
                let sent = store.mark_reply_sent(id, &external_id, Utc::now()).await?;
                // The answer is also a brand post in the thread: threading it records the
                // response time exactly as if the network had echoed it back (and when it does
                // echo it, the same key makes that a duplicate).
                self.thread_sent(pipeline, &sent).await?;
                for step in &self.after_sent {
                    step.on_sent(&sent, conversation).await;
                }
                pipeline.publish(LiveEvent::ConversationChanged {
                    conversation_id: sent.conversation_id,
                    action: "replied".into(),
                });
                Ok(sent)
            }
            Err(error) => {
                let attempts = reply.attempts + 1;
                let retry_at = match &error {
                    SendError::Retryable { .. } if attempts < MAX_SEND_ATTEMPTS => {
                        Some(Utc::now() + retry_backoff(attempts))
                    }
                    _ => None,
                };
                tracing::warn!(reply = id, attempts, error = %error, retry_at = ?retry_at, "reply not sent");
                let failed = store
                    .mark_reply_unsent(
                        id,
                        &ReplyMiss::Failed {
                            error: error.to_string(),
                            retry_at,
                        },
                    )
                    .await?;
                if retry_at.is_none() {
                    self.report_given_up(&failed, conversation).await;
                }
                pipeline.publish(LiveEvent::ConversationChanged {
                    conversation_id: failed.conversation_id,
                    action: "reply_failed".into(),
                });
                Err(OutboxError::SendFailed {
                    reply: Box::new(failed),
                    error,
                })
            }
        }
    }

    /// earshot stopped trying: the team is told through `[alerts]` (the page shows it too).
    /// The alert is kept until delivered (`alerts/kept.rs`): one per give-up, so a retry by
    /// hand that fails again tells the team again. A failure to keep or send it is logged:
    /// the reply's state, stored already, is what the agent sees.
    async fn report_given_up(&self, reply: &Reply, conversation: &Conversation) {
        use earshot_connect::notify::{Alert, AlertKind};
        let alert = Alert::new(
            AlertKind::ReplyFailed,
            format!(
                "A reply to @{} was not sent",
                conversation.customer.handle
            ),
            format!(
                "earshot stopped trying after {} attempt(s): {}. Open the conversation to retry or copy the text.",
                reply.attempts,
                reply.error.as_deref().unwrap_or("no reason given")
            ),
            format!("{REPLY_FAILED_ALERTS}{}:{}", reply.id, reply.attempts),
        )
        .with_fact("conversation", conversation.id.to_string())
        .with_fact("network", reply.network.to_string())
        .with_fact("author", reply.author.clone());
        let sent = self
            .alerts
            .claim_and_send(&self.store, alert, Some(conversation.id), Utc::now())
            .await;
        if let Err(e) = sent {
            tracing::error!(reply = reply.id, error = %e, "the team could not be told a reply was not sent");
        }
    }

    /// Sends again a reply that was not sent (failed, not sent, or stuck queued), under its
    /// own key. A reply already sent is returned as it is.
    pub async fn retry(
        &self,
        pipeline: &Pipeline,
        id: ConversationId,
        reply_id: i64,
    ) -> Result<Reply, OutboxError> {
        let detail = self.conversation(id).await?;
        let reply = detail
            .replies
            .into_iter()
            .find(|r| r.id == reply_id)
            .ok_or_else(|| {
                StoreError::NotFound(format!("reply {reply_id} in conversation {id}"))
            })?;
        if reply.state == ReplyState::Sent {
            return Ok(reply);
        }
        self.claim_and_send(pipeline, reply, &detail.conversation)
            .await
    }

    /// Sends failed replies whose next automatic attempt is due (see [`retry_backoff`]).
    /// Returns how many went out.
    pub async fn retry_due(
        &self,
        pipeline: &Pipeline,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, OutboxError> {
        // Alerts of replies given up on that a process claimed and never delivered.
        self.alerts
            .send_unsettled(&self.store, REPLY_FAILED_ALERTS, now)
            .await;
        let due = self.store.due_replies(now, 100).await?;
        self.send_each(pipeline, due).await
    }

    /// Sends replies left queued by a crash between storing and sending (older than a minute,
    /// so a reply an agent is sending right now is not picked up). Returns how many went out.
    pub async fn resend_queued(&self, pipeline: &Pipeline) -> Result<usize, OutboxError> {
        let settled = Utc::now() - chrono::Duration::minutes(1);
        // Claimed replies are skipped by the claim itself; this only avoids racing a fresh one.
        let mut queued = self.store.queued_replies(100).await?;
        queued.retain(|reply| reply.created_at <= settled);
        self.send_each(pipeline, queued).await
    }

    /// The stored conversation, or why not (a conversation that is not stored is not found).
    async fn conversation(&self, id: ConversationId) -> Result<ConversationDetail, OutboxError> {
        let detail = self.store.conversation(id).await?;
        detail.ok_or_else(|| StoreError::NotFound(format!("conversation {id}")).into())
    }

    /// Claims and sends each reply whose conversation is still stored, in order; one that
    /// fails waits for its next retry. Returns how many went out.
    async fn send_each(
        &self,
        pipeline: &Pipeline,
        replies: Vec<Reply>,
    ) -> Result<usize, OutboxError> {
        let mut sent = 0;
        for reply in replies {
            let Some(detail) = self.store.conversation(reply.conversation_id).await? else {
                continue;
            };
            if self
                .claim_and_send(pipeline, reply, &detail.conversation)
                .await
                .is_ok()
            {
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// What a release notice or a survey waits on: the reply carrying its key going out (at once,
/// or later from a retry).
pub struct Delivered(pub Arc<dyn Store>);

#[async_trait]
impl AfterSent for Delivered {
    async fn on_sent(&self, reply: &Reply, _: &Conversation) {
        let store = &self.0;
        let key = reply.idempotency_key.as_str();
        let result = if key.starts_with("release:") {
            store
                .update_notification(
                    key,
                    earshot_core::feedback::NotificationState::Sent,
                    Some(reply.id),
                )
                .await
        } else if key.starts_with("survey:") {
            match store.survey_of_conversation(reply.conversation_id).await {
                Ok(Some(survey)) if survey.sent_at.is_none() => store
                    .survey_sent(survey.id, reply.id, Utc::now())
                    .await
                    .map(|_| ()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(reply = reply.id, error = %e, "recording what the sent reply delivered failed");
        }
    }
}
