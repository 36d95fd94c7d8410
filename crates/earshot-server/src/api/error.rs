//! One error type for the API: `{"error": "snake_code", "message": "…"}` with the right status.

use crate::desk::DeskError;
use crate::signature::SignatureError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use earshot_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, error = %self.message, "request failed");
        }
        let mut body = json!({"error": self.code, "message": self.message});
        if let (Some(extra), Some(obj)) = (self.extra, body.as_object_mut()) {
            if let Some(e) = extra.as_object() {
                for (k, v) in e {
                    obj.insert(k.clone(), v.clone());
                }
            }
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "store_error",
                other.to_string(),
            ),
        }
    }
}

impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::Store(s) => s.into(),
            DeskError::Input(e) => ApiError::bad_request(e.to_string()),
            DeskError::Refused(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            DeskError::ReplyText(t) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_reply",
                t.to_string(),
            ),
            DeskError::NotSent { reply, reason } => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_sent",
                    format!(
                        "reply {} is stored but nothing was posted: {reason}",
                        reply.id
                    ),
                );
                err.extra = Some(json!({ "reply": reply }));
                err
            }
            DeskError::SendFailed { reply, error } => {
                let mut err = ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "send_failed",
                    format!(
                        "reply {} is stored but the network did not take it: {error}. {}",
                        reply.id,
                        match reply.next_attempt_at {
                            Some(at) => format!("earshot tries again by itself at {}; or retry now: POST /api/v1/conversations/{}/replies/{}/retry", at.to_rfc3339(), reply.conversation_id, reply.id),
                            None => format!("earshot stopped trying: retry with POST /api/v1/conversations/{}/replies/{}/retry, or copy the text", reply.conversation_id, reply.id),
                        }
                    ),
                );
                err.extra = Some(json!({ "reply": reply }));
                err
            }
        }
    }
}

impl From<SignatureError> for ApiError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::NoSecret | SignatureError::WeakSecret(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                e.to_string(),
            ),
            SignatureError::Replayed(_) => {
                ApiError::new(StatusCode::CONFLICT, "replayed", e.to_string())
            }
            _ => ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection::*;
        match r {
            MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send Content-Type: application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "request body is larger than the limit",
            ),
            other => ApiError::bad_request(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request(format!("invalid query: {}", r.body_text()))
    }
}
