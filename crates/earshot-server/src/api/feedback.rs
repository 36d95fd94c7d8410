//! The loop over HTTP: requests ranked by demand, the promise ledger, releases and who was told.

use super::access::Caller;
use super::{ok, ApiError, AppState};
use crate::desk::promises::{Confirmation, LedgerEntry};
use crate::desk::releases::{ReleaseDetail, ReleaseDraft, ReleaseOutcome};
pub use crate::desk::requests::{rank, RankedRequest};
use crate::desk::requests::{RequestDetail, ASKS_SHOWN};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use earshot_core::feedback::{
    InputError, Promise, PromiseId, PromiseState, Release, ReleaseId, ReleaseLink, ReleaseVersion,
    RequestId, RequestStatus, RequestTitle, TrackerUrl,
};
use serde::Deserialize;

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        ApiError::bad_request(e.0)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    status: Option<String>,
    limit: Option<usize>,
}

/// Requests ranked by demand (most wanted first).
pub async fn requests(
    State(state): State<AppState>,
    query: Result<Query<RequestsQuery>, QueryRejection>,
) -> Result<Json<Vec<RankedRequest>>, ApiError> {
    let Query(q) = query?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            RequestStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status {s:?} is not one of open, planned, shipped, declined, merged"
                ))
            })
        })
        .transpose()?;
    let mut ranked = state.desk.requests().ranked(status).await?;
    ranked.truncate(q.limit.unwrap_or(100).min(1_000));
    state.desk.requests().where_asked(&mut ranked).await?;
    Ok(ok(ranked))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    limit: Option<usize>,
}

/// Corrections worth making, best first: requests that look like one (merge `from` into
/// `into` with a `merge_into` action) and asks that may not belong (`move_post` into `to`, or
/// `move_out` when `to` is null).
pub async fn suggestions(
    State(state): State<AppState>,
    query: Result<Query<SuggestionsQuery>, QueryRejection>,
) -> Result<Json<crate::feedback::grouping::Suggestions>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(10).clamp(1, 100);
    Ok(ok(state.desk.requests().suggestions(limit).await?))
}

pub async fn request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = RequestId::parse(&id)?;
    Ok(ok(state.desk.requests().detail(id, ASKS_SHOWN).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "action", rename_all = "snake_case")]
pub enum RequestAction {
    Rename {
        title: String,
    },
    MergeInto {
        into: i64,
    },
    MovePost {
        post_id: i64,
    },
    /// Moves a post of this request into a new request of its own.
    MoveOut {
        post_id: i64,
    },
    Status {
        status: String,
    },
    Tracker {
        url: String,
    },
}

/// Agents correct the grouping: rename, merge into another request, move a post here, set
/// the status, link an engineering issue.
pub async fn request_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Json<RequestAction>, JsonRejection>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = RequestId::parse(&id)?;
    let Json(action) = body?;
    let who = caller.actor();
    let requests = state.desk.requests();
    let shown = match action {
        RequestAction::Rename { title } => {
            requests.rename(id, &RequestTitle::parse(&title)?).await?;
            id
        }
        RequestAction::MergeInto { into } => {
            requests.merge(id, RequestId(into), who).await?;
            id
        }
        RequestAction::MovePost { post_id } => {
            requests.move_post(post_id, id, who).await?;
            id
        }
        RequestAction::MoveOut { post_id } => requests.move_out(id, post_id, who).await?,
        RequestAction::Status { status } => {
            let status = RequestStatus::parse(&status).ok_or_else(|| {
                ApiError::bad_request(
                    "status is one of open, planned, shipped, declined (merge with merge_into)",
                )
            })?;
            requests.set_status(id, status).await?;
            id
        }
        RequestAction::Tracker { url } => {
            requests.link_tracker(id, &TrackerUrl::parse(&url)?).await?;
            id
        }
    };
    Ok(ok(requests.detail(shown, ASKS_SHOWN).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromisesQuery {
    state: Option<String>,
}

/// The promise ledger: open, kept and broken promises (filter with `state`).
pub async fn promises(
    State(state): State<AppState>,
    query: Result<Query<PromisesQuery>, QueryRejection>,
) -> Result<Json<Vec<LedgerEntry>>, ApiError> {
    let Query(q) = query?;
    let filter = q
        .state
        .as_deref()
        .map(|s| {
            PromiseState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "state {s:?} is not one of proposed, confirmed, kept, broken, dismissed"
                ))
            })
        })
        .transpose()?;
    Ok(ok(state.desk.promises().ledger(filter).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "action", rename_all = "snake_case")]
pub enum PromiseAction {
    Confirm {
        due_on: Option<NaiveDate>,
        target_release: Option<String>,
        request_id: Option<i64>,
    },
    Dismiss,
}

pub async fn promise_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Json<PromiseAction>, JsonRejection>,
) -> Result<Json<Promise>, ApiError> {
    let id = PromiseId::parse(&id)?;
    let Json(action) = body?;
    let who = caller.actor();
    let promises = state.desk.promises();
    let promise = match action {
        PromiseAction::Confirm {
            due_on,
            target_release,
            request_id,
        } => {
            let c = Confirmation {
                due_on,
                target_release: target_release
                    .as_deref()
                    .map(ReleaseVersion::parse)
                    .transpose()?,
                request: request_id.map(RequestId),
            };
            promises.confirm(id, who, c).await?
        }
        PromiseAction::Dismiss => promises.dismiss(id, who).await?,
    };
    Ok(ok(promise))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    version: String,
    /// Defaults to now.
    shipped_at: Option<DateTime<Utc>>,
    #[serde(default)]
    notes: String,
    url: Option<String>,
    requests: Vec<i64>,
    /// Plan who would be told, record nothing, send nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Records a release: its requests are shipped, their promises kept, and every customer who
/// asked is told in their thread (paced, in the background). `dry_run` previews it all.
pub async fn record_release(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ReleaseBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ReleaseOutcome>), ApiError> {
    let Json(body) = body?;
    let draft = ReleaseDraft {
        version: ReleaseVersion::parse(&body.version)?,
        shipped_at: body.shipped_at,
        notes: body.notes,
        link: ReleaseLink::parse_optional(body.url.as_deref())?,
        requests: body.requests.into_iter().map(RequestId).collect(),
    };
    let releases = state.desk.releases();
    let outcome = releases.record(draft, caller.actor(), body.dry_run).await?;
    releases.notify_in_background(&outcome);
    let status = if outcome.newly_recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(outcome)))
}

pub async fn list_releases(State(state): State<AppState>) -> Result<Json<Vec<Release>>, ApiError> {
    Ok(ok(state.desk.releases().list().await?))
}

pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReleaseDetail>, ApiError> {
    let id = ReleaseId::parse(&id)?;
    Ok(ok(state.desk.releases().detail(id).await?))
}

/// Bursts of similar posts: active first, each with its volume chart and a suggested bulk reply.
pub async fn spikes(
    State(state): State<AppState>,
) -> Result<Json<Vec<crate::feedback::spikes::SpikeView>>, ApiError> {
    Ok(ok(state
        .desk
        .feedback()
        .spikes(state.desk.alerts())
        .await?))
}

/// How fast the loop closes: first ask → promise → release → customers told; promises kept on time.
pub async fn loop_metrics(
    State(state): State<AppState>,
) -> Result<Json<crate::feedback::measure::LoopMetrics>, ApiError> {
    Ok(ok(crate::feedback::measure::compute(
        &**state.desk.store(),
        Utc::now(),
    )
    .await?))
}

/// Hands a request to engineering (a GitHub issue or the configured webhook) and links it.
pub async fn hand_off(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use crate::feedback::tracker::TrackerError;
    let id = RequestId::parse(&id)?;
    match state
        .desk
        .requests()
        .hand_off(&state.settings.tracker, id)
        .await
    {
        Ok(url) => Ok(ok(
            serde_json::json!({ "request_id": id.0, "tracker_url": url }),
        )),
        Err(TrackerError::Store(e)) => Err(e.into()),
        Err(e @ (TrackerError::NotConfigured | TrackerError::Config(_))) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            e.to_string(),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "tracker_failed",
            e.to_string(),
        )),
    }
}

/// GitHub's `issues` webhook: a closed issue ships its request (signed with the repository
/// webhook's secret).
pub async fn github_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    use crate::feedback::tracker::{self, TrackerError};
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    let delivery = headers
        .get("x-github-delivery")
        .and_then(|v| v.to_str().ok());
    match tracker::github_event(
        &state.settings.tracker,
        &**state.desk.store(),
        signature,
        delivery,
        &body,
    )
    .await
    {
        Ok(changed) => Ok(ok(
            serde_json::json!({ "request_id": changed.map(|r| r.0) }),
        )),
        Err(TrackerError::Signature(m)) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", m))
        }
        Err(TrackerError::Replayed(id)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "replayed",
            format!("GitHub delivery {id} was received before: a replay is refused"),
        )),
        Err(TrackerError::NotConfigured) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            "set tracker.webhook_secret to receive GitHub events",
        )),
        Err(e) => Err(ApiError::bad_request(e.to_string())),
    }
}
