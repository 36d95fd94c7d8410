use super::access::Caller;
use super::{ok, ApiError, AppState};
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

/// A first draft from the brand's past answers, with its sources, and a summary of a long
/// thread. Nothing is sent.
pub async fn draft(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<crate::desk::drafts::ConversationDraft>, ApiError> {
    let id = conversation_id(&id)?;
    Ok(Json(state.desk.draft(id).await?))
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
    caller: Caller,
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
        .reply(id, &body.text, caller.actor(), key)
        .await?;
    Ok((StatusCode::CREATED, ok(reply)))
}

/// An agent's retry of a reply that was not sent (or copy its text from the reply instead).
pub async fn retry_reply(
    State(state): State<AppState>,
    Path((id, reply_id)): Path<(String, String)>,
) -> Result<Json<Reply>, ApiError> {
    let id = conversation_id(&id)?;
    let reply_id = reply_id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{reply_id:?} is not a reply id")))?;
    Ok(ok(state.desk.retry(id, reply_id).await?))
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
    caller: Caller,
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
            ConversationEvent::Assigned {
                to: assignee(&state, &to).await?,
            }
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
    Ok(ok(state.desk.act(id, event, caller.actor()).await?))
}

/// The person a conversation is assigned to: someone on the team, active, who may answer.
async fn assignee(state: &AppState, name: &str) -> Result<String, ApiError> {
    let unprocessable =
        |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_assignee", m);
    let Some(person) = state.desk.store().credentials(name).await? else {
        return Err(unprocessable(format!(
            "nobody is called {name:?}: assign to a person an admin created in Settings"
        )));
    };
    let user = person.user;
    if user.disabled_at.is_some() {
        return Err(unprocessable(format!(
            "{} is disabled: assign to someone active",
            user.username
        )));
    }
    if !user.role.can_act() {
        return Err(unprocessable(format!(
            "{} is a viewer and cannot answer: assign to an agent or an admin",
            user.username
        )));
    }
    Ok(user.username)
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
