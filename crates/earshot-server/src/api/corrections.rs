//! Agents' corrections of what earshot understood of a post:
//! `POST /api/v1/posts/{id}/corrections` (`{"field": "intent", "value": "complaint"}`) and
//! `GET /api/v1/corrections` (newest first, paged by `before`), the export training reads.

use super::access::Caller;
use super::{ok, ApiError, AppState};
use crate::desk::corrections::{CorrectionOutcome, MAX_CORRECTIONS_PAGE};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use earshot_core::correction::{CorrectedPost, CorrectedValue};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// intent, sentiment or language
    field: String,
    /// A label of that field: see `earshot_core::correction::CorrectedField::values`.
    value: String,
}

fn post_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::bad_request(format!("{raw:?} is not a post id (a positive number)"))
    })
}

/// Stores the caller's correction: 201 with the post and its conversation as they read now;
/// 200 when the post already said so (nothing stored). Unknown field or value → 422.
pub async fn correct(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Json<CorrectionBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CorrectionOutcome>), ApiError> {
    let id = post_id(&id)?;
    let Json(body) = body?;
    let value = CorrectedValue::parse(&body.field, &body.value).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_label",
            e.to_string(),
        )
    })?;
    let outcome = state.desk.correct(id, &value, caller.actor()).await?;
    let status = if outcome.correction.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Corrections with an id below this (the previous page's `next_before`).
    before: Option<i64>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct CorrectionsPage {
    pub items: Vec<CorrectedPost>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<CorrectionsPage>, ApiError> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(100).clamp(1, MAX_CORRECTIONS_PAGE);
    let items = state.desk.corrections(p.before, limit).await?;
    let next_before = (items.len() == limit as usize)
        .then(|| items.last().map(|c| c.correction.id))
        .flatten();
    Ok(ok(CorrectionsPage { items, next_before }))
}
