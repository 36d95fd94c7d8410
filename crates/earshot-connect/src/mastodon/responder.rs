//! Answering on Mastodon: `POST /api/v1/statuses` in the customer's thread (PROTOCOLS.md §1.6).
//!
//! The reply carries the stored reply's `Idempotency-Key`, so a retry after a crash or a
//! timeout never posts twice. Its text starts with the customer's `@acct` (the API does not
//! add it), and its visibility is never wider than the parent's: the parent is looked up first
//! and mirrored, and anything unrecognised becomes `unlisted`.

use super::config::MastodonConfig;
use super::http::{error_text, rate_limit_reset};
use super::wire::Status;
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::StatusCode;

/// Posts replies to one Mastodon instance as the brand account.
#[derive(Debug, Clone)]
pub struct MastodonResponder {
    config: MastodonConfig,
    client: reqwest::Client,
}

impl MastodonResponder {
    pub fn new(config: MastodonConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(MastodonResponder { config, client })
    }

    /// The visibility the parent allows: its own, or `unlisted` when it is unknown.
    async fn parent_visibility(&self, parent_id: &str) -> Result<&'static str, SendError> {
        let url = self
            .config
            .api_url(&format!("/api/v1/statuses/{parent_id}"));
        let response = self
            .client
            .get(url)
            .header(reqwest::header::AUTHORIZATION, self.config.bearer())
            .send()
            .await
            .map_err(|e| retryable(format!("looking up status {parent_id}: {e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| retryable(format!("reading status {parent_id}: {e}")))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &body));
        }
        let parent: Status = serde_json::from_str(&body).unwrap_or_default();
        Ok(narrowest_allowed(&parent.visibility))
    }
}

/// A reply never widens the parent's audience; unknown values fall back to `unlisted`.
fn narrowest_allowed(parent: &str) -> &'static str {
    match parent {
        "public" => "public",
        "private" => "private",
        "direct" => "direct",
        _ => "unlisted",
    }
}

/// `text` starting with `@acct `, unless it already mentions `acct`.
pub(crate) fn with_mention(text: &str, acct: &str) -> String {
    let acct = acct.trim().trim_start_matches('@');
    if acct.is_empty() {
        return text.to_owned();
    }
    let mention = format!("@{acct}");
    let lower = text.to_lowercase();
    let wanted = mention.to_lowercase();
    let present = lower.match_indices(&wanted).any(|(i, m)| {
        // `@lena` inside `@lena@fosstodon.example` or `@lenab` is someone else.
        let mut rest = lower[i + m.len()..].chars();
        match rest.next() {
            None => true,
            // A full stop ends a sentence unless a domain goes on after it.
            Some('.') => rest.next().is_none_or(char::is_whitespace),
            Some(c) => !(c.is_alphanumeric() || c == '_' || c == '@'),
        }
    });
    if present {
        text.to_owned()
    } else {
        format!("{mention} {text}")
    }
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::Mastodon, reason)
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::Mastodon, reason)
}

/// Maps a failed response: 429 and 5xx are worth retrying, every other refusal is final.
fn classify(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> SendError {
    let text = error_text(body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let until = rate_limit_reset(headers, Utc::now())
            .map(|at| format!(" until {}", at.to_rfc3339()))
            .unwrap_or_default();
        return retryable(format!("rate-limited{until}: {text}"));
    }
    if status.is_server_error() {
        return retryable(format!("HTTP {}: {text}", status.as_u16()));
    }
    refused(format!("HTTP {}: {text}", status.as_u16()))
}

#[async_trait]
impl Responder for MastodonResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let visibility = self.parent_visibility(&reply.in_reply_to).await?;
        let body = serde_json::json!({
            "status": with_mention(&reply.text, &target.customer.handle),
            "in_reply_to_id": reply.in_reply_to,
            "visibility": visibility,
        });
        let response = self
            .client
            .post(self.config.api_url("/api/v1/statuses"))
            .header(reqwest::header::AUTHORIZATION, self.config.bearer())
            .header("Idempotency-Key", &reply.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| retryable(format!("posting the reply: {e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| retryable(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let error = classify(status, &headers, &text);
            tracing::warn!(error = %error, "mastodon reply not sent");
            return Err(error);
        }
        // The post exists now; an answer we cannot read is still retried under the same key,
        // which returns the same status instead of a second one.
        let created: Status = serde_json::from_str(&text)
            .map_err(|e| retryable(format!("unreadable status in the answer: {e}")))?;
        if created.id.is_empty() {
            return Err(retryable("the answer carries no status id".into()));
        }
        Ok(created.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_customer_is_mentioned_once() {
        assert_eq!(
            with_mention("Thanks!", "lena@fosstodon.example"),
            "@lena@fosstodon.example Thanks!"
        );
        assert_eq!(
            with_mention("@Lena@fosstodon.example thanks", "lena@fosstodon.example"),
            "@Lena@fosstodon.example thanks"
        );
        // A longer handle that starts the same is someone else.
        assert_eq!(with_mention("@lenab hi", "lena"), "@lena @lenab hi");
        assert_eq!(with_mention("hi @lena.", "lena"), "hi @lena.");
        assert_eq!(with_mention("hi", ""), "hi");
    }

    #[test]
    fn visibility_never_widens() {
        assert_eq!(narrowest_allowed("direct"), "direct");
        assert_eq!(narrowest_allowed("private"), "private");
        assert_eq!(narrowest_allowed("public"), "public");
        assert_eq!(narrowest_allowed(""), "unlisted");
        assert_eq!(narrowest_allowed("local"), "unlisted");
    }
}
