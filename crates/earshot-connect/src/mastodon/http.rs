//! Small pieces of the Mastodon HTTP dialect shared by the source and the responder: the
//! ISO-8601 `X-RateLimit-Reset` header (§0.2), the `{"error": ...}` body (§1.7), and the
//! documented id order (length, then lexically; §1.5).

use crate::reconnect::retry_after_at;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use std::cmp::Ordering;

/// When the rate limit resets: `X-RateLimit-Reset` (ISO-8601), else `Retry-After` (seconds).
pub(crate) fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(reset) = header("x-ratelimit-reset") {
        if let Ok(at) = DateTime::parse_from_rfc3339(reset.trim()) {
            return Some(at.with_timezone(&Utc));
        }
    }
    retry_after_at(header("retry-after")?, now)
}

/// The `error` text of a Mastodon error body, or the body itself (shortened) when it is not one.
pub(crate) fn error_text(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => crate::de::shorten(body.trim()).to_owned(),
    }
}

/// Mastodon's documented id order: shorter ids are older; equal lengths compare lexically.
pub(crate) fn id_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconnect::until;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    #[test]
    fn the_reset_header_is_iso_8601() {
        let now = DateTime::parse_from_rfc3339("2026-08-20T09:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-RateLimit-Reset",
            HeaderValue::from_static("2026-08-20T09:20:00.000000Z"),
        );
        let at = rate_limit_reset(&headers, now).unwrap();
        assert_eq!(until(at, now), Duration::from_secs(300));
        crate::reconnect::assert_retry_after_fallback(rate_limit_reset, now);
    }

    #[test]
    fn ids_compare_by_length_then_lexically() {
        assert_eq!(id_cmp("99999999", "100000000"), Ordering::Less);
        assert_eq!(id_cmp("412098765", "412098764"), Ordering::Greater);
        assert_eq!(id_cmp("7", "7"), Ordering::Equal);
    }

    #[test]
    fn error_bodies_are_read() {
        assert_eq!(
            error_text(r#"{"error":"Validation failed: Text can't be blank"}"#),
            "Validation failed: Text can't be blank"
        );
        assert_eq!(error_text("  Bad Gateway "), "Bad Gateway");
    }
}
