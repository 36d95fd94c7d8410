//! Answering a YouTube comment (PROTOCOLS-2.md §5.4): `comments.insert` with the thread's
//! top-level comment as `parentId` (threads are one level deep: an answer to a reply goes
//! under its thread), posted as the channel. It costs 50 units, paid from the project's
//! [`Ledger`] (where replies may use the reserve listening cannot).
//!
//! YouTube has no idempotency key. A reply key answered once is remembered; before posting,
//! the thread's replies are read (`comments.list?parentId=…`, one unit) and a reply by the
//! channel with the same text (whitespace normalised) is taken as this answer, so a retry
//! after a lost answer or a restart never posts twice. A thread whose comments are closed,
//! or a parent that is gone or private, is refused for good.

use super::config::YouTubeConfig;
use super::quota::{Ledger, Purpose, LIST_COST, WRITE_COST};
use super::wire::{Comment, ListPage};
use crate::google::Api;
use crate::problem::Problem;
use crate::responder::{Responder, SendError};
use crate::reviews::SentKeys;
use async_trait::async_trait;
use earshot_core::reply::ReplyText;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Replies under comment threads as the brand's channel.
#[derive(Debug)]
pub struct YouTubeResponder {
    config: YouTubeConfig,
    api: Api,
    ledger: Arc<Ledger>,
    memory: Mutex<SentKeys>,
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::YouTube, reason)
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::YouTube, reason)
}

fn failed(problem: Problem) -> SendError {
    match problem {
        Problem::Refused { reason, .. } => refused(format!(
            "{reason}; if comments are turned off on the video or the thread cannot take \
             replies, answer elsewhere"
        )),
        other => other.send_error(Network::YouTube, |r| {
            format!(
                "the comment is gone from YouTube (deleted by its author or held), so there \
                 is nothing to answer ({r})"
            )
        }),
    }
}

fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl YouTubeResponder {
    pub fn new(config: YouTubeConfig) -> Result<Self, String> {
        Ok(YouTubeResponder {
            api: config.api()?,
            ledger: config.ledger(),
            config,
            memory: Mutex::new(SentKeys::default()),
        })
    }

    async fn paid(
        &self,
        units: u32,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Problem> {
        self.ledger.spend(units, Purpose::Reply).await?;
        let answer = self.api.call(method, url, body).await;
        if matches!(answer, Err(Problem::Quota(_))) {
            self.ledger.exhaust().await;
        }
        answer
    }

    /// The channel's reply under `thread` saying `text`, if one is there already.
    async fn already_there(&self, thread: &str, text: &str) -> Result<Option<String>, Problem> {
        let body = self
            .paid(
                LIST_COST,
                Method::GET,
                &self.config.replies_url(thread, None),
                None,
            )
            .await?;
        let page: ListPage = serde_json::from_value(body).unwrap_or_default();
        let wanted = normalised(text);
        Ok(page
            .items
            .into_iter()
            .filter_map(|c| serde_json::from_value::<Comment>(c).ok())
            .find(|c| {
                c.author_channel() == Some(self.config.channel_id.trim())
                    && c.snippet
                        .text_original
                        .as_deref()
                        .or(c.snippet.text_display.as_deref())
                        .is_some_and(|t| normalised(t) == wanted)
            })
            .map(|c| c.id))
    }
}

#[async_trait]
impl Responder for YouTubeResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        // The thread is the conversation's root; a reply's id starts with its thread's.
        let thread = [target.root_external_id.trim(), reply.in_reply_to.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(|s| s.split('.').next().unwrap_or(s))
            .ok_or_else(|| refused("the reply names no comment to answer".into()))?;
        if thread.contains(['/', '?', '&', '#']) {
            return Err(refused(format!("{thread:?} is not a YouTube comment id")));
        }
        let text = ReplyText::parse(&reply.text, Network::YouTube)
            .map_err(|e| refused(format!("{e}: shorten the reply")))?;
        let text = text.as_str();
        let mut memory = self.memory.lock().await;
        if let Some(id) = memory.get(&reply.idempotency_key) {
            return Ok(id.clone());
        }
        if let Some(id) = self.already_there(thread, text).await.map_err(failed)? {
            memory.remember(&reply.idempotency_key, &id);
            return Ok(id);
        }
        let body = json!({"snippet": {"parentId": thread, "textOriginal": text}});
        let created = self
            .paid(
                WRITE_COST,
                Method::POST,
                &self.config.url("comments?part=snippet"),
                Some(&body),
            )
            .await
            .map_err(failed)?;
        let comment: Comment = serde_json::from_value(created).unwrap_or_default();
        if comment.id.is_empty() {
            return Err(retryable(
                "YouTube answered the reply without its id: the thread is read before the \
                 next try, so it is not posted twice"
                    .into(),
            ));
        }
        if comment
            .snippet
            .moderation_status
            .as_deref()
            .is_some_and(|s| s != "published")
        {
            tracing::warn!(comment = %comment.id, "the channel's reply is held for review on YouTube");
        }
        memory.remember(&reply.idempotency_key, &comment.id);
        Ok(comment.id)
    }
}
