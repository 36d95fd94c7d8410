//! Triage endpoints: a conversation's policy, response-time reports, and routing rule tests.

use super::{ok, ApiError, AppState};
use crate::triage::{parse_dimension, test_sample, PolicyView, SamplePost, TriageDesk};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use earshot_core::triage::routing::Trace;
use earshot_core::triage::Facts;
use earshot_core::ConversationId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

fn triage(state: &AppState) -> Result<Arc<TriageDesk>, ApiError> {
    state.desk.triage().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "triage_not_configured",
            "no [triage] section is configured: see the README's \"Triage: targets, routing, on-call\"",
        )
    })
}

/// `GET /api/v1/conversations/{id}/policy`: which policy applies and why, each target's
/// state and due time, the routing and any escalation in progress.
pub async fn policy(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PolicyView>, ApiError> {
    let triage = triage(&state)?;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ConversationId)
        .ok_or_else(|| ApiError::bad_request(format!("{id:?} is not a conversation id")))?;
    let detail = state
        .desk
        .store()
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("conversation {id} not found")))?;
    Ok(ok(triage
        .assess(state.desk.store().as_ref(), &detail, Utc::now())
        .await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// RFC 3339 time or YYYY-MM-DD; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 time or YYYY-MM-DD; default now.
    to: Option<String>,
    /// team, agent, network, intent, weekday, hour or business; default all.
    group_by: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
}

/// `GET /api/v1/reports/response-times`.
pub async fn response_times(
    State(state): State<AppState>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params?;
    let triage = triage(&state)?;
    let now = Utc::now();
    let (from, to) = super::survey::range(p.from.as_deref(), p.to.as_deref(), now)?;
    let group_by = match p.group_by.as_deref() {
        None | Some("") => None,
        Some(w) => Some(parse_dimension(w).ok_or_else(|| {
            ApiError::bad_request(format!(
                "group_by: {w:?}: use team, agent, network, intent, weekday, hour or business"
            ))
        })?),
    };
    let report = triage
        .report(state.desk.pipeline(), from, to, group_by, now)
        .await?;
    super::survey::json_or_csv(p.format.as_deref(), &report, || report.to_csv())
}

#[derive(Debug, Serialize)]
pub struct RuleTest {
    pub facts: Facts,
    pub trace: Trace,
    /// The trace as `earshot rules test` prints it.
    pub explained: String,
}

/// `POST /api/v1/rules/test`: a sample post → every routing rule's outcome.
pub async fn rules_test(
    State(state): State<AppState>,
    body: Result<Json<SamplePost>, JsonRejection>,
) -> Result<Json<RuleTest>, ApiError> {
    let Json(sample) = body?;
    if sample.text.trim().is_empty() {
        return Err(ApiError::bad_request("text: give the sample post's text"));
    }
    let triage = triage(&state)?;
    let (facts, trace) = test_sample(triage.rules(), &state.desk.pipeline().analyzer(), &sample);
    Ok(ok(RuleTest {
        facts,
        explained: trace.to_string(),
        trace,
    }))
}
