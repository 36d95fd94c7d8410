//! The conversation page's first draft (`d`): the same draft and sources as
//! `GET /api/v1/conversations/{id}/draft`, for a signed-in agent. The page fills the reply box
//! with it and says where it came from; sending stays the agent's act.

use crate::api::AppState;
use crate::desk::drafts::ConversationDraft;
use crate::web::auth::SignedIn;
use crate::web::{require_agent, PageError};
use axum::extract::{Path, State};
use axum::Json;
use earshot_core::ConversationId;

pub async fn draft(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ConversationDraft>, PageError> {
    require_agent(&signed)?;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ConversationId)
        .ok_or_else(|| PageError::NotFound(format!("{id:?} is not a conversation")))?;
    Ok(Json(state.desk.draft(id).await?))
}
