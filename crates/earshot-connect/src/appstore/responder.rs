//! Answering a review (PROTOCOLS-2.md §3.4): a review has at most one public response, so
//! "reply" means *set the review's response*.
//!
//! Each send first reads the review's response (`GET /v1/customerReviews/{id}/response`):
//! - none (404) → `POST /v1/customerReviewResponses` creates it;
//! - the same text already → that response is the answer, nothing is posted (a retry after a
//!   lost answer, or after a restart, never doubles);
//! - another text → the reply *replaces* it: the old response is deleted
//!   (`DELETE /v1/customerReviewResponses/{id}`) and the new one created. Apple's POST is
//!   documented as "create or update", but deleting first does not depend on that, and the
//!   customer may have read the old text (logged here; the conversation keeps both replies).
//!
//! A reply key answered once is remembered with its response id and answered again without
//! a request. Text is checked against Apple's limit first (5,970 characters, §3.4).

use super::config::AppStoreConfig;
use super::http::{Api, Problem};
use super::wire::{ResponseDocument, ReviewResponse};
use crate::responder::{Responder, SendError};
use crate::reviews::{answered_review, SentKeys};
use async_trait::async_trait;
use earshot_core::reply::ReplyText;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;

/// Sets review responses as the team's API key.
#[derive(Debug)]
pub struct AppStoreResponder {
    api: Api,
    /// Held for a whole send: one request in flight per key (Apple dislikes parallel calls)
    /// and a key never sent twice at once.
    memory: Mutex<SentKeys>,
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::AppStore, reason)
}

/// A failed request as a send error. Every send reads the response before writing, so a
/// request that may have been carried out is safe to retry.
fn failed(problem: Problem) -> SendError {
    problem.send_error(Network::AppStore, |r| {
        format!(
            "the review is gone from the App Store (the customer deleted it), so there is \
             nothing to answer ({r})"
        )
    })
}

impl AppStoreResponder {
    pub fn new(config: AppStoreConfig) -> Result<Self, String> {
        Ok(AppStoreResponder {
            api: Api::new(config)?,
            memory: Mutex::new(SentKeys::default()),
        })
    }

    /// The review's current response, if it has one.
    async fn current(&self, review: &str) -> Result<Option<ReviewResponse>, Problem> {
        let url = self
            .api
            .config()
            .url(&format!("/v1/customerReviews/{review}/response"));
        match self.api.call(Method::GET, &url, None).await {
            Ok(body) => {
                let doc: ResponseDocument = serde_json::from_value(body).map_err(|e| {
                    Problem::Unclear(format!("the review's response could not be read: {e}"))
                })?;
                Ok(Some(doc.data).filter(|r| !r.id.is_empty()))
            }
            Err(Problem::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create(&self, review: &str, text: &str) -> Result<String, Problem> {
        let body = json!({"data": {
            "type": "customerReviewResponses",
            "attributes": {"responseBody": text},
            "relationships": {"review": {"data": {"type": "customerReviews", "id": review}}},
        }});
        let url = self.api.config().url("/v1/customerReviewResponses");
        let answer = self.api.call(Method::POST, &url, Some(&body)).await?;
        let doc: ResponseDocument = serde_json::from_value(answer).map_err(|e| {
            Problem::Unclear(format!("the created response could not be read: {e}"))
        })?;
        if doc.data.id.is_empty() {
            return Err(Problem::Unclear(
                "App Store Connect created a response without an id".into(),
            ));
        }
        Ok(doc.data.id)
    }

    async fn delete(&self, response: &str) -> Result<(), Problem> {
        let url = self
            .api
            .config()
            .url(&format!("/v1/customerReviewResponses/{response}"));
        match self.api.call(Method::DELETE, &url, None).await {
            // Gone already (a retry after a lost answer): what we wanted.
            Ok(_) | Err(Problem::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Responder for AppStoreResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let review = answered_review(reply, target)
            .ok_or_else(|| refused("the reply names no review to answer".into()))?;
        if review.contains('/') || review.contains('?') {
            return Err(refused(format!("{review:?} is not an App Store review id")));
        }
        let text = ReplyText::parse(&reply.text, Network::AppStore)
            .map_err(|e| refused(format!("{e}: an App Store response is one text per review")))?;
        let text = text.as_str();
        let mut memory = self.memory.lock().await;
        if let Some(id) = memory.get(&reply.idempotency_key) {
            return Ok(id.clone());
        }
        let id = match self.current(review).await.map_err(failed)? {
            Some(existing) if existing.attributes.response_body.as_deref() == Some(text) => {
                existing.id
            }
            Some(existing) => {
                tracing::info!(review, old = %existing.id, "replacing the review's response: the customer may have read the old one");
                self.delete(&existing.id).await.map_err(failed)?;
                self.create(review, text).await.map_err(failed)?
            }
            None => self.create(review, text).await.map_err(failed)?,
        };
        memory.remember(&reply.idempotency_key, &id);
        Ok(id)
    }
}
