//! Answering on X: `POST /2/tweets` with `reply.in_reply_to_tweet_id` (PROTOCOLS.md §3.5),
//! as the brand's user token (renewed on 401 through [`UserTokens`]).
//!
//! The reply goes under the post the stored reply names (`reply.in_reply_to`: the
//! conversation's latest customer post, as for Mastodon). The text is sent as the agent wrote
//! it: X v2 puts the author of the answered post into the reply's mentions itself (that is
//! what `exclude_reply_user_ids` removes), so prefixing `@customer` would name them twice.
//! Texts over 280 weighted characters ([`weighted_length`]) are refused before anything is sent.
//!
//! **X has no idempotency key.** A retry is made safe by looking first: when the reply may
//! have gone out already (an earlier attempt of it failed ambiguously here — a timeout, a
//! reset connection, a 5xx, an unreadable 201 —, the store says it was tried before, or it
//! is old enough to be a re-send after a crash), our own recent posts
//! (`GET /2/users/{id}/tweets?since_id=<parent>`) are searched for one answering that post
//! with the same text, and its id is returned instead of posting again. If the lookup itself
//! fails, nothing is posted (retry later). X's duplicate-content 403 counts as "already
//! posted" only when that lookup finds the post.

use super::api::{Api, As};
use super::config::XConfig;
use super::http::CallError;
use super::oauth::UserTokens;
use super::rules::urlencode;
use super::text::{weighted_length, MAX_WEIGHTED_LENGTH};
use super::wire::{One, Page, Tweet};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::{Network, Reply, ReplyTarget};
use std::collections::HashSet;
use std::sync::Mutex;

/// A reply this old when sent is a re-send (the desk sends fresh replies at once; the
/// housekeeping loop re-sends ones a crash left queued after a minute).
const FRESH: chrono::Duration = chrono::Duration::seconds(60);

/// Pages of our own timeline searched for an earlier copy of a reply.
const LOOKUP_PAGES: usize = 3;

/// Posts replies as the brand account.
#[derive(Debug)]
pub struct XResponder {
    api: Api,
    /// Idempotency keys whose last attempt here may have posted (see the module docs).
    uncertain: Mutex<HashSet<String>>,
}

impl XResponder {
    /// A responder with its own user token; use [`XResponder::with_tokens`] to share the
    /// source's (refresh tokens are single-use).
    pub fn new(config: XConfig) -> Result<XResponder, reqwest::Error> {
        let tokens = UserTokens::from_config(&config)?;
        XResponder::with_tokens(config, tokens)
    }

    pub fn with_tokens(
        config: XConfig,
        tokens: Option<UserTokens>,
    ) -> Result<XResponder, reqwest::Error> {
        Ok(XResponder {
            api: Api::new(config, tokens)?,
            uncertain: Mutex::new(HashSet::new()),
        })
    }

    /// The user token this responder renews (to persist its rotating refresh token).
    pub fn tokens(&self) -> Option<&UserTokens> {
        self.api.tokens.as_ref()
    }

    fn uncertain(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.uncertain.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn may_have_posted(&self, reply: &Reply) -> bool {
        reply.attempts > 0
            || reply.error.is_some()
            || Utc::now() - reply.created_at > FRESH
            || self.uncertain().contains(&reply.idempotency_key)
    }

    /// Our earlier post answering `parent` with `text`, if there is one.
    async fn find_sent(&self, parent: &str, text: &str) -> Result<Option<String>, SendError> {
        let config = &self.api.config;
        let base = format!(
            "{}?since_id={parent}&max_results=100&tweet.fields=created_at,referenced_tweets,edit_history_tweet_ids",
            config.api(&format!("/2/users/{}/tweets", config.brand_user_id))
        );
        let wanted = comparable(text);
        let mut token: Option<String> = None;
        for _ in 0..LOOKUP_PAGES {
            let url = match &token {
                Some(t) => format!("{base}&pagination_token={}", urlencode(t)),
                None => base.clone(),
            };
            let (page, _): (Page, _) = self
                .api
                .get_json(
                    self.api.owner_reads(),
                    "looking for an earlier copy of the reply",
                    &url,
                )
                .await
                .map_err(|e| {
                    // Not knowing whether it went out, posting could double it: try later.
                    retryable(format!(
                        "could not check whether the reply was already posted: {e}"
                    ))
                })?;
            if let Some(found) = page
                .data
                .iter()
                .find(|t| t.replied_to() == Some(parent) && comparable(&t.text) == wanted)
            {
                return Ok(Some(found.id.clone()));
            }
            match page.meta.next_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(None)
    }

    async fn post(&self, reply: &Reply) -> Result<String, NotPosted> {
        let body = serde_json::json!({
            "text": reply.text.trim(),
            "reply": {"in_reply_to_tweet_id": reply.in_reply_to},
        });
        let url = self.api.config.api("/2/tweets");
        let timeout = self.api.config.request_timeout;
        let key = reply.idempotency_key.clone();
        let response = self
            .api
            .send(As::User, "posting the reply", |c| {
                c.post(&url).timeout(timeout).json(&body)
            })
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Err(self.failed(reply, e)),
        };
        // Created: from here on, an unreadable answer still means the post exists.
        let answer = response.text().await;
        let created = answer
            .ok()
            .and_then(|body| serde_json::from_str::<One<Tweet>>(&body).ok())
            .map(|one| one.data.id)
            .filter(|id| !id.is_empty());
        match created {
            Some(id) => {
                self.uncertain().remove(&key);
                Ok(id)
            }
            None => {
                self.uncertain().insert(key);
                Err(NotPosted::Failed(retryable(
                    "X accepted the reply but its answer was unreadable; the retry will find it"
                        .into(),
                )))
            }
        }
    }

    fn failed(&self, reply: &Reply, e: CallError) -> NotPosted {
        let ambiguous = match &e {
            CallError::Network { ambiguous, .. } => *ambiguous,
            CallError::Status { status, .. } => *status >= 500,
            _ => false,
        };
        if ambiguous {
            self.uncertain().insert(reply.idempotency_key.clone());
        }
        NotPosted::Failed(match e {
            CallError::RateLimited { text, reset, .. } => {
                let until = reset
                    .map(|at| format!(" until {}", at.to_rfc3339()))
                    .unwrap_or_default();
                retryable(format!("rate-limited{until}: {text}"))
            }
            CallError::Network { text, .. } => retryable(text),
            CallError::Status { status, text, .. } if status >= 500 => retryable(text),
            // Historically "You are not allowed to create a Tweet with duplicate content."
            // (unverified for v2, §3.5): the wording is all there is to go on.
            CallError::Refused { status: 403, text }
                if text.to_lowercase().contains("duplicate") =>
            {
                return NotPosted::Duplicate(text)
            }
            CallError::Refused { text, .. } | CallError::Status { text, .. } => refused(text),
        })
    }
}

/// Why `POST /2/tweets` did not give us a new post.
enum NotPosted {
    /// X refused the text as a duplicate of one of our recent posts.
    Duplicate(String),
    Failed(SendError),
}

/// A text as X may echo it back: HTML entities X escapes decoded, the leading @mentions X adds
/// to replies dropped, links (which X wraps in t.co) reduced to a marker, spaces collapsed.
fn comparable(text: &str) -> String {
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let mut words = decoded.split_whitespace().peekable();
    while words
        .peek()
        .is_some_and(|w| w.starts_with('@') && w.len() > 1)
    {
        words.next();
    }
    words
        .map(|w| {
            if w.starts_with("http://") || w.starts_with("https://") {
                "<link>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::X, reason)
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::X, reason)
}

#[async_trait]
impl Responder for XResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, _target: &ReplyTarget) -> Result<String, SendError> {
        let text = reply.text.trim();
        if text.is_empty() {
            return Err(refused("the reply text is empty".into()));
        }
        let weight = weighted_length(text);
        if weight > MAX_WEIGHTED_LENGTH {
            return Err(refused(format!(
                "the reply is {weight} characters as X counts them (links 23, emoji and CJK 2); X allows {MAX_WEIGHTED_LENGTH}"
            )));
        }
        if reply.in_reply_to.trim().is_empty() {
            return Err(refused("the reply names no post to answer".into()));
        }
        if self.may_have_posted(reply) {
            if let Some(id) = self.find_sent(&reply.in_reply_to, text).await? {
                tracing::info!(post = %id, "the reply was already posted; not posting it again");
                self.uncertain().remove(&reply.idempotency_key);
                return Ok(id);
            }
        }
        match self.post(reply).await {
            Ok(id) => Ok(id),
            Err(NotPosted::Duplicate(why)) => {
                // A copy is up only if we find it; otherwise the text clashes with another post.
                match self.find_sent(&reply.in_reply_to, text).await? {
                    Some(id) => {
                        tracing::info!(post = %id, "X refused a duplicate of a reply already posted");
                        self.uncertain().remove(&reply.idempotency_key);
                        Ok(id)
                    }
                    None => Err(refused(format!(
                        "{why} (no earlier copy of this reply was found: reword it)"
                    ))),
                }
            }
            Err(NotPosted::Failed(e)) => {
                tracing::warn!(error = %e, "X reply not sent");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_texts_compare_equal() {
        assert_eq!(
            comparable("@priya_n Sorry &amp; thanks,  see https://t.co/abc123"),
            comparable("Sorry & thanks, see https://acme.example/help/lids")
        );
        assert_ne!(comparable("Sorry, Priya"), comparable("Sorry, Sam"));
        // Only leading mentions are X's; one inside the text is the agent's.
        assert_ne!(comparable("ask @support"), comparable("ask"));
    }
}
