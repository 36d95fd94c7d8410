//! The X HTTP dialect shared by the source, the responder and the credential check: the
//! `x-rate-limit-*` headers (epoch seconds, §0.2), problem-JSON error bodies (§3.7), how a
//! failed answer is classified, and the numeric order of post ids.

use super::wire::Problem;
use crate::reconnect::retry_after_at;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::cmp::Ordering;

/// When the rate limit resets: `x-rate-limit-reset` (Unix seconds), else `Retry-After`.
pub(crate) fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(reset) = header("x-rate-limit-reset") {
        if let Ok(secs) = reset.trim().parse::<i64>() {
            if let Some(at) = Utc.timestamp_opt(secs, 0).single() {
                return Some(at);
            }
        }
    }
    retry_after_at(header("retry-after")?, now)
}

/// `x-rate-limit-remaining`, when the answer carries it.
pub(crate) fn rate_limit_remaining(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-rate-limit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// When the next request to this endpoint may go out: the reset, once the window is used up.
pub(crate) fn exhausted_until(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if rate_limit_remaining(headers) == Some(0) {
        rate_limit_reset(headers, now).filter(|at| *at > now)
    } else {
        None
    }
}

/// X post ids are decimal numbers kept as strings: shorter is older, equal lengths compare
/// lexically (no leading zeros), which is numeric order without parsing.
pub(crate) fn id_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The newer of `cursor` and `id`.
pub(crate) fn newest(cursor: Option<String>, id: &str) -> Option<String> {
    match cursor {
        Some(c) if id_cmp(id, &c) != Ordering::Greater => Some(c),
        _ if id.is_empty() => None,
        _ => Some(id.to_owned()),
    }
}

/// An error answer's problem JSON (or a stand-in made of the body's first words).
pub(crate) fn problem(body: &str) -> Problem {
    match serde_json::from_str::<Problem>(body) {
        Ok(p) if p.title.is_some() || p.detail.is_some() || !p.errors.is_empty() => p,
        _ => Problem {
            detail: Some(crate::de::shorten(body.trim()).to_owned()),
            ..Problem::default()
        },
    }
}

/// The words of a problem for logs and errors: "title: detail" plus the first item's message.
pub(crate) fn problem_text(p: &Problem) -> String {
    let mut text = p.summary();
    if let Some(first) = p.errors.first() {
        text.push_str(" (");
        text.push_str(&first.summary());
        text.push(')');
    }
    text
}

/// A request that did not get the answer it wanted, classified for the caller's policy.
#[derive(Debug, Clone)]
pub(crate) enum CallError {
    /// 401/403: the credentials were refused (or lack the access the endpoint needs).
    Refused { status: u16, text: String },
    /// 429: a rate limit, the usage cap (credits used up), or too many stream connections.
    RateLimited {
        text: String,
        reset: Option<DateTime<Utc>>,
        /// `TooManyConnections`: back off ≥ 60 s instead of hammering (§3.8).
        too_many_connections: bool,
    },
    /// Any other status.
    Status {
        status: u16,
        text: String,
        problem: Box<Problem>,
    },
    /// No answer: connection refused, reset, timed out, unreadable body.
    Network { text: String, ambiguous: bool },
}

impl CallError {
    /// Reads a non-success answer into its class.
    pub(crate) async fn from_response(response: reqwest::Response) -> CallError {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        CallError::classify(status, &headers, &body)
    }

    pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> CallError {
        let problem = problem(body);
        let text = format!("HTTP {}: {}", status.as_u16(), problem_text(&problem));
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CallError::Refused {
                status: status.as_u16(),
                text,
            },
            StatusCode::TOO_MANY_REQUESTS => {
                let too_many_connections = problem.connection_issue.as_deref()
                    == Some("TooManyConnections")
                    || problem.is("streaming-connection");
                let text = if problem.is("usage-capped") {
                    format!("{text} (the app's usage cap or credits are used up: top up or raise the cap)")
                } else {
                    text
                };
                CallError::RateLimited {
                    text,
                    reset: rate_limit_reset(headers, Utc::now()),
                    too_many_connections,
                }
            }
            _ => CallError::Status {
                status: status.as_u16(),
                text,
                problem: Box::new(problem),
            },
        }
    }

    /// A transport failure; `ambiguous` when the request may have reached X (anything but a
    /// refused connection).
    pub(crate) fn network(what: &str, e: &reqwest::Error) -> CallError {
        CallError::Network {
            text: format!("{what}: {e}"),
            ambiguous: !e.is_connect(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        match self {
            CallError::Refused { text, .. }
            | CallError::RateLimited { text, .. }
            | CallError::Status { text, .. }
            | CallError::Network { text, .. } => text,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::until;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    #[test]
    fn the_reset_header_is_epoch_seconds() {
        let now = Utc.timestamp_opt(1_786_000_000, 0).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1786000042"));
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
        let at = rate_limit_reset(&headers, now).unwrap();
        assert_eq!(until(at, now), Duration::from_secs(42));
        assert_eq!(exhausted_until(&headers, now), Some(at));
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("3"));
        assert_eq!(exhausted_until(&headers, now), None);
        crate::reconnect::assert_retry_after_fallback(rate_limit_reset, now);
    }

    #[test]
    fn ids_compare_as_numbers() {
        assert_eq!(
            id_cmp("999999999999999999", "1000000000000000000"),
            Ordering::Less
        );
        assert_eq!(
            id_cmp("2090366968135249920", "2090366968135249919"),
            Ordering::Greater
        );
        assert_eq!(newest(Some("99".into()), "100").as_deref(), Some("100"));
        assert_eq!(newest(Some("100".into()), "99").as_deref(), Some("100"));
        assert_eq!(newest(None, "7").as_deref(), Some("7"));
        assert_eq!(newest(None, ""), None);
    }

    #[test]
    fn failures_are_classified_from_status_and_problem_type() {
        let headers = HeaderMap::new();
        let body = r#"{"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.x.com/2/problems/streaming-connection"}"#;
        match CallError::classify(StatusCode::TOO_MANY_REQUESTS, &headers, body) {
            CallError::RateLimited {
                too_many_connections,
                text,
                ..
            } => {
                assert!(too_many_connections);
                assert!(text.contains("maximum allowed connection limit"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let capped = r#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.x.com/2/problems/usage-capped"}"#;
        match CallError::classify(StatusCode::TOO_MANY_REQUESTS, &headers, capped) {
            CallError::RateLimited { text, .. } => assert!(text.contains("credits"), "{text}"),
            other => panic!("{other:?}"),
        }
        let invalid = r#"{"errors":[{"parameters":{"max_results":["1"]},"message":"The `max_results` query parameter value [1] is not between 10 and 100"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}"#;
        let e = CallError::classify(StatusCode::BAD_REQUEST, &headers, invalid);
        assert!(e.text().contains("not between 10 and 100"), "{e}");
        assert!(matches!(
            CallError::classify(StatusCode::UNAUTHORIZED, &headers, "Unauthorized"),
            CallError::Refused { status: 401, .. }
        ));
        assert!(
            CallError::classify(StatusCode::BAD_GATEWAY, &headers, "<html>")
                .text()
                .contains("HTTP 502")
        );
    }
}
