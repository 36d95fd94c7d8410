use super::{actor, ok, ApiError, AppState};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use earshot_core::{AuditEntry, Conversation, ConversationEvent, ConversationId, Reply};
use earshot_store::ConversationDetail;
use serde::Deserialize;

fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ConversationId)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{raw:?} is not a conversation id (a positive number)"
            ))
        })
}

pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConversationDetail>, ApiError> {
    let id = conversation_id(&id)?;
    state
        .desk
        .store()
        .conversation(id)
        .await?
        .map(ok)
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    text: String,
    /// Also accepted as the `Idempotency-Key` header.
    idempotency_key: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ReplyBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Reply>), ApiError> {
    let id = conversation_id(&id)?;
    let Json(body) = body?;
    let key = body.idempotency_key.or_else(|| {
        headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    if key.as_ref().is_some_and(|k| k.len() > 200) {
        return Err(ApiError::bad_request(
            "idempotency_key is longer than 200 characters",
        ));
    }
    let reply = state
        .desk
        .reply(id, &body.text, &actor(&headers), key)
        .await?;
    Ok((StatusCode::CREATED, ok(reply)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// assign, unassign, pend, resolve, reopen
    action: String,
    /// The agent, for `assign`.
    to: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ActionBody>, JsonRejection>,
) -> Result<Json<Conversation>, ApiError> {
    let id = conversation_id(&id)?;
    let Json(body) = body?;
    let event = match body.action.as_str() {
        "assign" => {
            let to = body
                .to
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::bad_request("assign needs \"to\": the agent's name"))?;
            ConversationEvent::Assigned { to }
        }
        "unassign" => ConversationEvent::Unassigned,
        "pend" | "pending" => ConversationEvent::MarkedPending,
        "resolve" => ConversationEvent::Resolved,
        "reopen" => ConversationEvent::Reopened,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown action {other:?}: use assign, unassign, pend, resolve or reopen"
            )))
        }
    };
    Ok(ok(state.desk.act(id, event, &actor(&headers)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    conversation: Option<i64>,
    limit: Option<u32>,
}

pub async fn audit(
    State(state): State<AppState>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    Ok(ok(state
        .desk
        .store()
        .audit(p.conversation.map(ConversationId), limit)
        .await?))
}
