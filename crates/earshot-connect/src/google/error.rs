//! Google's JSON error envelope (PROTOCOLS-2.md §4.6, §5.6):
//! `{"error":{"code":403,"message":"…","status":"PERMISSION_DENIED","errors":[{"reason":"…"}]}}`
//! and the token endpoint's OAuth form `{"error":"invalid_grant","error_description":"…"}`.
//! Callers branch on the reason (`errors[0].reason`, else `status`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    error: Body,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Body {
    code: u16,
    message: String,
    status: String,
    errors: Vec<Item>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Item {
    reason: String,
}

/// What an error body said: the reason to branch on and the message to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleError {
    /// `errors[0].reason` (`quotaExceeded`), else `status` (`PERMISSION_DENIED`), else "".
    pub reason: String,
    pub message: String,
}

/// The OAuth token endpoint's error form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

impl GoogleError {
    /// The envelope in `body`; `None` when the body is not one.
    pub fn parse(body: &str) -> Option<GoogleError> {
        let e = serde_json::from_str::<Envelope>(body).ok()?.error;
        if e.code == 0 && e.message.is_empty() && e.status.is_empty() {
            return None;
        }
        let reason = e
            .errors
            .iter()
            .map(|i| i.reason.trim())
            .find(|r| !r.is_empty())
            .unwrap_or(e.status.trim())
            .to_owned();
        // YouTube's quota message carries an <a> tag: keep the words only.
        let message = crate::html::to_text(&e.message);
        Some(GoogleError { reason, message })
    }

    /// `reason: message`, for a log or health line.
    pub fn describe(&self) -> String {
        match (self.reason.is_empty(), self.message.is_empty()) {
            (false, false) => format!("{}: {}", self.reason, self.message),
            (false, true) => self.reason.clone(),
            _ => self.message.clone(),
        }
    }

    /// A spent daily quota (park until it resets).
    pub fn is_quota(&self) -> bool {
        matches!(self.reason.as_str(), "quotaExceeded" | "dailyLimitExceeded")
    }

    /// A short-term rate limit (back off).
    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self.reason.as_str(),
            "rateLimitExceeded" | "userRateLimitExceeded" | "RESOURCE_EXHAUSTED"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_comes_from_errors_else_status_and_html_is_dropped() {
        let quota = r#"{"error": {"code": 403,
            "message": "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
            "errors": [{"message": "x", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}"#;
        let e = GoogleError::parse(quota).unwrap();
        assert!(e.is_quota() && !e.is_rate_limit());
        assert_eq!(
            e.describe(),
            "quotaExceeded: The request cannot be completed because you have exceeded your quota."
        );
        let denied = r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(
            GoogleError::parse(denied).unwrap().reason,
            "PERMISSION_DENIED"
        );
        assert_eq!(GoogleError::parse("<html>"), None);
        assert_eq!(GoogleError::parse("{}"), None);
    }
}
