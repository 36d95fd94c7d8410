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
//! Input rules live in core types with a `parse` (`RequestTitle`, `ReleaseVersion`,
//! `TrackerUrl`, `ReplyText`, ...), so a rule cannot differ by door.

pub mod conversations;
pub mod corrections;
pub mod drafts;
pub mod people;
pub mod promises;
pub mod releases;
pub mod requests;

use crate::pipeline::{LiveEvent, Pipeline};
use crate::responder::{Responders, SendError};
use chrono::Utc;
use earshot_core::reply::{ReplyText, ReplyTextError};
use earshot_core::{
    Author, Conversation, ConversationEvent, ConversationId, NewPost, Reply, ReplyState,
};
use earshot_store::{NewReply, ReplyMiss, Store, StoreError};
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

pub struct Desk {
    pipeline: Arc<Pipeline>,
    responders: Responders,
    /// The brand account replies are posted as (the first configured handle).
    brand_handle: String,
    /// `[survey]`, when enabled: a satisfaction survey after resolution.
    surveys: Option<Arc<crate::survey::Surveys>>,
    /// Past answers indexed for first drafts (see [`drafts`]).
    drafts: drafts::DraftCache,
}

impl Desk {
    pub fn new(
        pipeline: Arc<Pipeline>,
        responders: Responders,
        brand_handle: impl Into<String>,
    ) -> Self {
        Desk {
            pipeline,
            responders,
            brand_handle: brand_handle.into(),
            surveys: None,
            drafts: drafts::DraftCache::default(),
        }
    }

    /// Sends satisfaction surveys after resolution (see [`crate::survey`]).
    pub fn with_surveys(mut self, surveys: Option<crate::survey::Surveys>) -> Self {
        self.surveys = surveys.map(Arc::new);
        self
    }

    pub fn surveys(&self) -> Option<&Arc<crate::survey::Surveys>> {
        self.surveys.as_ref()
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.pipeline.store()
    }

    /// Answers a conversation on its network: the reply is stored (queued) before it is sent,
    /// then marked sent with the network's id and threaded as the brand's post, which starts
    /// or stops the response clock like any brand answer. The same `idempotency_key` never
    /// posts twice: a sent reply is returned as it is; a queued or failed one is sent again.
    #[tracing::instrument(skip(self, text), fields(conversation = %id))]
    pub async fn reply(
        &self,
        id: ConversationId,
        text: &str,
        author: &str,
        idempotency_key: Option<String>,
    ) -> Result<Reply, DeskError> {
        let store = self.store();
        let detail = store
            .conversation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
        let text = ReplyText::parse(text, detail.conversation.network)?;
        let key = idempotency_key
            .filter(|k| !k.trim().is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let reply = store
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
            self.thread_sent(&reply).await?;
            return Ok(reply);
        }
        self.send(reply, &detail.conversation).await
    }

    /// Threads a sent reply as the brand's post in its conversation; idempotent by the
    /// network's id for it.
    async fn thread_sent(&self, reply: &Reply) -> Result<(), DeskError> {
        let Some(external_id) = reply.external_id.clone() else {
            return Ok(());
        };
        let post = NewPost {
            network: reply.network,
            external_id,
            author: Author {
                external_id: self.brand_handle.clone(),
                handle: self.brand_handle.clone(),
                display_name: None,
                followers: None,
                verified: false,
                bot: false,
            },
            text: reply.text.clone(),
            created_at: reply.sent_at.unwrap_or_else(Utc::now),
            in_reply_to: Some(reply.in_reply_to.clone()),
            lang: None,
            url: None,
            from_brand: Some(true),
            raw: None,
        };
        self.pipeline.ingest(vec![post]).await?;
        Ok(())
    }

    async fn send(&self, reply: Reply, conversation: &Conversation) -> Result<Reply, DeskError> {
        // Claim it in the store first: a retry, the housekeeping loop or another earshot
        // process that finds the claim leaves the reply alone, so it is never sent twice at once.
        // A crash mid-send leaves a claim that expires, and the reply is sent again (with the
        // same idempotency key, which networks that honour one use to drop the repeat).
        let now = Utc::now();
        let id = reply.id;
        let Some(reply) = self.store().claim_reply(id, now + SEND_LEASE, now).await? else {
            return Err(StoreError::Conflict(format!(
                "reply {id} {BEING_SENT}; ask again in a moment"
            ))
            .into());
        };
        self.send_claimed(reply, conversation).await
    }

    async fn send_claimed(
        &self,
        reply: Reply,
        conversation: &Conversation,
    ) -> Result<Reply, DeskError> {
        let store = self.store();
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
                return Err(DeskError::NotSent {
                    reply: Box::new(unsent),
                    reason,
                });
            }
        };
        match responder.send(&reply, conversation).await {
            Ok(external_id) => {
                let sent = store.mark_reply_sent(id, &external_id, Utc::now()).await?;
                // The answer is also a brand post in the thread: threading it records the
                // response time exactly as if the network had echoed it back (and when it does
                // echo it, the same key makes that a duplicate).
                self.thread_sent(&sent).await?;
                self.after_sent(&sent).await;
                // "We will add that": a promise is proposed for an agent to confirm.
                match self
                    .pipeline
                    .feedback()
                    .on_reply_sent(&sent, conversation)
                    .await
                {
                    Ok(Some(promise)) => {
                        tracing::info!(promise = %promise.id, kind = promise.kind.as_str(), "promise proposed")
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "reading the reply for promises failed"),
                }
                self.pipeline.publish(LiveEvent::ConversationChanged {
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
                    self.report_given_up(&failed, conversation);
                }
                self.pipeline.publish(LiveEvent::ConversationChanged {
                    conversation_id: failed.conversation_id,
                    action: "reply_failed".into(),
                });
                Err(DeskError::SendFailed {
                    reply: Box::new(failed),
                    error,
                })
            }
        }
    }

    /// What waits on a reply being sent: a release notification or a survey sent by a retry
    /// counts only now (their replies carry their keys).
    async fn after_sent(&self, reply: &Reply) {
        let store = self.store();
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

    /// earshot stopped trying: the team is told through `[alerts]` (the page shows it too).
    fn report_given_up(&self, reply: &Reply, conversation: &Conversation) {
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
            format!("reply_failed:{}", reply.id),
        )
        .with_fact("conversation", conversation.id.to_string())
        .with_fact("network", reply.network.to_string())
        .with_fact("author", reply.author.clone());
        self.pipeline.alerts().raise(alert);
    }

    /// Whether earshot can post on `network` at all (a connector, or a reply address).
    pub fn can_answer(&self, network: earshot_core::Network) -> bool {
        self.responders.can_answer(network)
    }

    /// An agent's retry of a reply that was not sent (failed, not sent, or stuck queued):
    /// sent again under its own key. A reply already sent is returned as it is.
    pub async fn retry(&self, id: ConversationId, reply_id: i64) -> Result<Reply, DeskError> {
        let detail = self
            .store()
            .conversation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")))?;
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
        self.send(reply, &detail.conversation).await
    }

    /// Sends failed replies whose next automatic attempt is due (see [`retry_backoff`]).
    /// Returns how many went out.
    pub async fn retry_due(&self, now: chrono::DateTime<Utc>) -> Result<usize, DeskError> {
        let mut sent = 0;
        for reply in self.store().due_replies(now, 100).await? {
            let Some(detail) = self.store().conversation(reply.conversation_id).await? else {
                continue;
            };
            if self.send(reply, &detail.conversation).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends replies left queued by a crash between storing and sending (older than a minute,
    /// so a reply an agent is sending right now is not picked up). Returns how many went out.
    pub async fn resend_queued(&self) -> Result<usize, DeskError> {
        let mut sent = 0;
        let settled = Utc::now() - chrono::Duration::minutes(1);
        // Claimed replies are skipped by `send` itself; this only avoids racing a fresh one.
        for reply in self.store().queued_replies(100).await? {
            if reply.created_at > settled {
                continue;
            }
            let Some(detail) = self.store().conversation(reply.conversation_id).await? else {
                continue;
            };
            if self.send(reply, &detail.conversation).await.is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
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
            if let Err(e) = surveys.offer(self, id).await {
                tracing::warn!(conversation = %id, error = %e, "survey not sent");
            }
        }
        Ok(conversation)
    }
}
