//! Answering a Google Play review (PROTOCOLS-2.md §4.4): a review has at most one public
//! reply, and `reviews.reply` sets or overwrites it, so a retry is idempotent by nature.
//!
//! Each send first reads the review (`reviews.get`): when its `developerComment` already says
//! this text (a retry after a lost answer, a restart), nothing is posted. Otherwise the reply
//! is posted, replacing any earlier one (logged: the customer may have read it). Text is
//! checked against Play's 350 characters first, in Unicode scalar values.
//!
//! The id earshot stores for the reply is `<reviewId>/reply`: Google gives a reply no id of
//! its own, and a review has only one.

use super::config::GooglePlayConfig;
use super::wire::{ReplyResult, Review};
use crate::google::Api;
use crate::problem::Problem;
use crate::responder::{Responder, SendError};
use crate::reviews::{answered_review, SentKeys};
use async_trait::async_trait;
use earshot_core::reply::ReplyText;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;

/// Sets review replies as the service account.
#[derive(Debug)]
pub struct GooglePlayResponder {
    config: GooglePlayConfig,
    api: Api,
    /// Held for a whole send: a key is never sent twice at once.
    memory: Mutex<SentKeys>,
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::GooglePlay, reason)
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::GooglePlay, reason)
}

/// A failed request as a send error. A reply overwrites, so one that may have been carried
/// out is safe to send again.
fn failed(problem: Problem) -> SendError {
    problem.send_error(Network::GooglePlay, |r| {
        format!(
            "the review is gone from Google Play (deleted, or older than the API shows), so \
             it cannot be answered here: answer in Play Console ({r})"
        )
    })
}

impl GooglePlayResponder {
    pub fn new(config: GooglePlayConfig) -> Result<Self, String> {
        Ok(GooglePlayResponder {
            api: config.api()?,
            config,
            memory: Mutex::new(SentKeys::default()),
        })
    }

    /// The text of the review's reply, if it has one.
    async fn current(&self, review: &str) -> Result<Option<String>, Problem> {
        let body = self
            .api
            .call(Method::GET, &self.config.review_url(review), None)
            .await?;
        let review: Review = serde_json::from_value(body)
            .map_err(|e| Problem::Unclear(format!("the review could not be read: {e}")))?;
        Ok(review.developer_comment().and_then(|c| c.text.clone()))
    }
}

#[async_trait]
impl Responder for GooglePlayResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let review = answered_review(reply, target)
            .ok_or_else(|| refused("the reply names no review to answer".into()))?;
        if review.contains(['/', '?', '#']) {
            return Err(refused(format!(
                "{review:?} is not a Google Play review id"
            )));
        }
        let text = ReplyText::parse(&reply.text, Network::GooglePlay).map_err(|e| {
            refused(format!(
                "{e}: a Google Play reply is one short text per review, shorten it"
            ))
        })?;
        let text = text.as_str();
        let answer_id = format!("{review}/reply");
        let mut memory = self.memory.lock().await;
        if let Some(id) = memory.get(&reply.idempotency_key) {
            return Ok(id.clone());
        }
        match self.current(review).await.map_err(failed)? {
            Some(existing) if existing.trim() == text.trim() => {}
            existing => {
                if existing.is_some() {
                    tracing::info!(
                        review,
                        "overwriting the review's reply: the customer may have read the old one"
                    );
                }
                let answer = self
                    .api
                    .call(
                        Method::POST,
                        &self.config.reply_url(review),
                        Some(&json!({"replyText": text})),
                    )
                    .await
                    .map_err(failed)?;
                let result: ReplyResult = serde_json::from_value(answer).unwrap_or_default();
                if result.result.and_then(|r| r.reply_text).is_none() {
                    return Err(retryable(
                        "Google Play answered the reply without its text: it is read again \
                         before the next try"
                            .into(),
                    ));
                }
            }
        }
        memory.remember(&reply.idempotency_key, &answer_id);
        Ok(answer_id)
    }
}
