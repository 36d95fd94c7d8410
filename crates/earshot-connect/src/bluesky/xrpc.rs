//! The XRPC dialect shared by the session, the source and the responder (PROTOCOLS.md §2.4,
//! §2.6, §2.7): the `{"error","message"}` envelope, `RateLimit-Reset` in epoch seconds, and
//! what each failure means for a caller.

use super::wire::XrpcErrorBody;
use crate::reconnect::retry_after_at;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// Why an XRPC call failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CallError {
    /// The credentials were refused for good (after a refresh and a new login were tried):
    /// an operator must act.
    #[error("{0}")]
    Refused(String),
    /// 429: try again after `until` (when the server said).
    #[error("rate-limited{}: {reason}", until.map(|t| format!(" until {}", t.to_rfc3339())).unwrap_or_default())]
    RateLimited {
        until: Option<DateTime<Utc>>,
        reason: String,
    },
    /// The network, a timeout or a 5xx: worth another try.
    #[error("{0}")]
    Unavailable(String),
    /// The server refused this request itself (a 4xx other than 401/403/429).
    #[error("HTTP {status} {error}: {message}")]
    Rejected {
        status: u16,
        error: String,
        message: String,
    },
    /// The server answered 2xx with something that is not the documented body.
    #[error("{0}")]
    Unreadable(String),
}

/// A server's answer, read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn error_body(&self) -> XrpcErrorBody {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    /// The access token expired (Bluesky says so with 400 `ExpiredToken`, not 401) or is no
    /// longer accepted (401): a refresh may help.
    pub fn token_refused(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            || (self.status == StatusCode::BAD_REQUEST
                && matches!(
                    self.error_body().error.as_str(),
                    "ExpiredToken" | "InvalidToken"
                ))
    }

    /// The body as `T` when the call succeeded; otherwise the failure, classified.
    pub fn json<T: serde::de::DeserializeOwned>(self, what: &str) -> Result<T, CallError> {
        if !self.status.is_success() {
            return Err(self.into_error(what));
        }
        serde_json::from_str(&self.body)
            .map_err(|e| CallError::Unreadable(format!("{what}: unreadable answer: {e}")))
    }

    /// Classifies a non-2xx answer.
    pub fn into_error(self, what: &str) -> CallError {
        let body = self.error_body();
        let text = if body.error.is_empty() && body.message.is_empty() {
            crate::de::shorten(self.body.trim()).to_owned()
        } else if body.message.is_empty() {
            body.error.clone()
        } else {
            format!("{}: {}", body.error, body.message)
        };
        match self.status {
            StatusCode::TOO_MANY_REQUESTS => CallError::RateLimited {
                until: rate_limit_reset(
                    |name| self.headers.get(name).and_then(|v| v.to_str().ok()),
                    Utc::now(),
                ),
                reason: format!("{what}: {text}"),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                CallError::Refused(format!("{what}: HTTP {}: {text}", self.status.as_u16()))
            }
            s if s.is_server_error() => {
                CallError::Unavailable(format!("{what}: HTTP {}: {text}", s.as_u16()))
            }
            s => CallError::Rejected {
                status: s.as_u16(),
                error: body.error,
                message: if body.message.is_empty() {
                    format!("{what}: {text}")
                } else {
                    format!("{what}: {}", body.message)
                },
            },
        }
    }
}

/// Sends `request` and reads the whole answer; a failure to connect or read is `Unavailable`.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<Answer, CallError> {
    let response = request
        .send()
        .await
        .map_err(|e| CallError::Unavailable(format!("{what}: {e}")))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .text()
        .await
        .map_err(|e| CallError::Unavailable(format!("{what}: reading the answer: {e}")))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// When a rate limit resets: `RateLimit-Reset` (unix epoch **seconds** on Bluesky), else
/// `Retry-After` (seconds). `header` looks a header up by its (case-insensitive) name.
pub(crate) fn rate_limit_reset<'h>(
    header: impl Fn(&str) -> Option<&'h str>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Some(at) = header("ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
    {
        return Some(at);
    }
    retry_after_at(header("retry-after")?, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn answer(status: u16, body: &str, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.into(),
        }
    }

    #[test]
    fn the_reset_header_is_epoch_seconds() {
        let now = DateTime::from_timestamp(1_787_217_000, 0).unwrap();
        let a = answer(
            429,
            r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
            &[
                ("RateLimit-Reset", "1787217300"),
                ("RateLimit-Policy", "100;w=300"),
            ],
        );
        match a.into_error("posting") {
            CallError::RateLimited { until, reason } => {
                assert_eq!(until, DateTime::from_timestamp(1_787_217_300, 0));
                assert_eq!(reason, "posting: RateLimitExceeded: Rate Limit Exceeded");
            }
            other => panic!("{other:?}"),
        }
        let retry_after = rate_limit_reset(|n| (n == "retry-after").then_some("7"), now);
        assert_eq!(retry_after, Some(now + chrono::Duration::seconds(7)));
        assert_eq!(rate_limit_reset(|_| None, now), None);
    }

    #[test]
    fn failures_are_sorted_by_what_helps() {
        let expired = answer(
            400,
            r#"{"error":"ExpiredToken","message":"Token has expired"}"#,
            &[],
        );
        assert!(expired.token_refused());
        assert!(answer(401, r#"{"error":"AuthenticationRequired"}"#, &[]).token_refused());
        let invalid = answer(
            400,
            r#"{"error":"InvalidRequest","message":"bad rkey"}"#,
            &[],
        );
        assert!(!invalid.token_refused());
        assert_eq!(
            invalid.into_error("posting"),
            CallError::Rejected {
                status: 400,
                error: "InvalidRequest".into(),
                message: "posting: bad rkey".into()
            }
        );
        assert!(matches!(
            answer(502, "Bad Gateway", &[]).into_error("x"),
            CallError::Unavailable(m) if m == "x: HTTP 502: Bad Gateway"
        ));
        assert!(matches!(
            answer(401, r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#, &[]).into_error("login"),
            CallError::Refused(m) if m.contains("Invalid identifier or password")
        ));
        let ok = answer(200, r#"{"uri":"at://x"}"#, &[]);
        let created: crate::bluesky::wire::CreatedRecord = ok.json("posting").unwrap();
        assert_eq!(created.uri, "at://x");
        assert!(matches!(
            answer(200, "<html>", &[]).json::<crate::bluesky::wire::CreatedRecord>("posting"),
            Err(CallError::Unreadable(_))
        ));
    }
}
