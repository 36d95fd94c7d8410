//! Answering on Reddit: `POST /api/comment` with `api_type=json`, `thing_id` = the fullname
//! answered and `text` (PROTOCOLS.md §4.4).
//!
//! Reddit honours no idempotency key, so a retry is made safe by looking before posting:
//! before every post, and again after an answer that leaves it open whether the comment was
//! made (a timeout, a dropped connection, a 5xx, an unreadable 200), the brand's newest
//! comments (`GET /user/{name}/comments`) are searched for one under the same parent with
//! the same text; if there is one, its fullname is the result and nothing is posted.
//!
//! Refusals come as HTTP 200 with `json.errors`: `RATELIMIT` is worth a retry after the wait
//! it names; `THREAD_LOCKED`, `DELETED_COMMENT` and every other code are final.

use super::config::RedditConfig;
use super::http::{Failure as Problem, RedditApi};
use super::wire::{ApiError, ApiResponse, Listing};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use earshot_core::{Network, Reply, ReplyTarget};
use std::time::Duration;

/// The longest a reply waits for Reddit's request budget before it is handed back as
/// retryable: well inside the two-minute claim a sender holds on a reply.
const MAX_BUDGET_WAIT: Duration = Duration::from_secs(20);

/// Posts replies as the brand account.
#[derive(Debug)]
pub struct RedditResponder {
    api: RedditApi,
}

impl RedditResponder {
    pub fn new(config: RedditConfig) -> Result<Self, reqwest::Error> {
        Ok(RedditResponder {
            api: RedditApi::with_max_pace(config, MAX_BUDGET_WAIT)?,
        })
    }

    /// The brand's comment under `parent` with `text`, if one exists among its newest.
    async fn find_ours(&self, parent: &str, text: &str) -> Result<Option<String>, SendError> {
        let path = format!(
            "/user/{}/comments?sort=new&limit=100&raw_json=1",
            self.api.config().account()
        );
        let body = self.api.get(&path).await.map_err(|p| match p {
            Problem::Auth(reason) => refused(reason),
            other => retryable(format!(
                "could not check for an earlier copy of this reply, so it was not posted: {}",
                other.reason()
            )),
        })?;
        let listing: Listing = serde_json::from_str(&body).map_err(|e| {
            retryable(format!(
                "could not read the brand's comments to check for an earlier copy: {e}"
            ))
        })?;
        Ok(listing
            .data
            .children
            .into_iter()
            .find(|t| {
                t.kind == "t1"
                    && t.data.parent_id.as_deref() == Some(parent)
                    && t.data.body.trim() == text
            })
            .map(|t| t.data.name))
    }

    /// After an answer that leaves the outcome open: the comment if it was made, else `error`.
    async fn settle(
        &self,
        parent: &str,
        text: &str,
        error: SendError,
    ) -> Result<String, SendError> {
        match self.find_ours(parent, text).await? {
            Some(existing) => {
                tracing::info!(comment = %existing, "the reply was posted although the answer was lost");
                Ok(existing)
            }
            None => Err(error),
        }
    }
}

/// The fullname to answer: the reply's target, else the conversation's root.
fn thread_reference(reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
    let target = [&reply.in_reply_to, &target.root_external_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    if is_fullname(target) {
        Ok(target.to_owned())
    } else {
        Err(refused(format!(
            "{target:?} is not a Reddit fullname (t1_…, t3_… or t4_…)"
        )))
    }
}

fn is_fullname(s: &str) -> bool {
    let Some((kind, id)) = s.split_once('_') else {
        return false;
    };
    matches!(kind, "t1" | "t3" | "t4")
        && !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// The wait a `RATELIMIT` message names ("Try again in 9 minutes.", "in 30 seconds"): the
/// first number followed by a unit of time.
pub(crate) fn ratelimit_wait(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).find_map(|pair| {
        let amount: u64 = pair[0].parse().ok()?;
        let unit = pair[1];
        if unit.starts_with("millisecond") {
            Some(Duration::from_millis(amount))
        } else if unit.starts_with("second") {
            Some(Duration::from_secs(amount))
        } else if unit.starts_with("minute") {
            Some(Duration::from_secs(amount.saturating_mul(60)))
        } else if unit.starts_with("hour") {
            Some(Duration::from_secs(amount.saturating_mul(3600)))
        } else {
            None
        }
    })
}

/// Maps `json.errors`: `RATELIMIT` is retryable, every other code final.
fn refusal(errors: &[ApiError]) -> SendError {
    let described: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.code, e.message))
        .collect();
    let described = described.join("; ");
    if let Some(limit) = errors.iter().find(|e| e.code == "RATELIMIT") {
        let wait = ratelimit_wait(&limit.message)
            .map(|w| format!(" (retry in {} s)", w.as_secs()))
            .unwrap_or_default();
        return retryable(format!("{described}{wait}"));
    }
    refused(described)
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::Reddit, reason)
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::Reddit, reason)
}

#[async_trait]
impl Responder for RedditResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let parent = thread_reference(reply, target)?;
        let text = reply.text.trim();
        if text.is_empty() {
            return Err(refused("the reply text is empty".into()));
        }
        // An earlier attempt may have posted it and lost the answer (or crashed after).
        if let Some(existing) = self.find_ours(&parent, text).await? {
            tracing::info!(comment = %existing, "reply already on reddit; not posting again");
            return Ok(existing);
        }
        let answer = self
            .api
            .post_form(
                "/api/comment",
                &[("api_type", "json"), ("thing_id", &parent), ("text", text)],
            )
            .await;
        let body = match answer {
            Ok(body) => body,
            Err(Problem::Auth(reason)) | Err(Problem::Forbidden(reason)) => {
                return Err(refused(reason))
            }
            Err(Problem::RateLimited { reason, .. }) => return Err(retryable(reason)),
            Err(Problem::Network {
                reason,
                maybe_sent: false,
            }) => return Err(retryable(reason)),
            Err(Problem::Http { status, reason }) if status < 500 => return Err(refused(reason)),
            // A timeout, a drop after sending, a 5xx: the comment may exist.
            Err(open) => return self.settle(&parent, text, retryable(open.reason())).await,
        };
        let parsed: ApiResponse = match serde_json::from_str(&body) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = retryable(format!("unreadable answer to the comment: {e}"));
                return self.settle(&parent, text, error).await;
            }
        };
        let errors = parsed.json.errors();
        if !errors.is_empty() {
            let error = refusal(&errors);
            tracing::warn!(error = %error, "reddit reply not sent");
            return Err(error);
        }
        match parsed
            .json
            .data
            .things
            .into_iter()
            .map(|t| t.data.name)
            .find(|name| !name.is_empty())
        {
            Some(fullname) => Ok(fullname),
            None => {
                let error = retryable("the answer names no created comment".into());
                self.settle(&parent, text, error).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratelimit_messages_name_their_wait() {
        assert_eq!(
            ratelimit_wait("You're doing that too much. Try again in 9 minutes."),
            Some(Duration::from_secs(540))
        );
        assert_eq!(
            ratelimit_wait("Take a break for 30 seconds before trying again."),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            ratelimit_wait("try again in 1 minute"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(ratelimit_wait("You're doing that too much."), None);
    }

    #[test]
    fn only_ratelimit_is_worth_a_retry() {
        let limited = refusal(&[ApiError {
            code: "RATELIMIT".into(),
            message: "Try again in 2 minutes.".into(),
        }]);
        assert!(
            matches!(&limited, SendError::Retryable { reason, .. } if reason.contains("retry in 120 s")),
            "{limited:?}"
        );
        for code in ["THREAD_LOCKED", "DELETED_COMMENT", "SOMETHING_NEW"] {
            let e = refusal(&[ApiError {
                code: code.into(),
                message: "no".into(),
            }]);
            assert!(
                matches!(&e, SendError::Refused { reason, .. } if reason.starts_with(code)),
                "{e:?}"
            );
        }
    }

    #[test]
    fn fullnames_are_recognised() {
        assert!(is_fullname("t1_n8x2k1q"));
        assert!(is_fullname("t3_1mv0x7q"));
        assert!(!is_fullname("t2_1a2b3c4d"));
        assert!(!is_fullname("n8x2k1q"));
        assert!(!is_fullname("t1_"));
        assert!(!is_fullname("t1_abc&text=x"));
    }
}
