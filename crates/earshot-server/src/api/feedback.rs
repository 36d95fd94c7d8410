//! The loop over HTTP: requests ranked by demand, the promise ledger, releases and who was told.

use super::access::Caller;
use super::{ok, ApiError, AppState};
use crate::feedback::releases::{self, ReleaseOutcome};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use earshot_core::feedback::{
    Promise, PromiseId, PromiseState, Release, ReleaseId, Request, RequestId, RequestStatus,
};
use earshot_store::feedback::{NewRelease, Notification, RequestDetail};
use serde::{Deserialize, Serialize};

fn positive(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.trim_start_matches(['R', 'P'])
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::bad_request(format!("{raw:?} is not a {what} id (a positive number)"))
        })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    status: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct RankedRequest {
    #[serde(flatten)]
    pub request: Request,
    pub demand: f64,
    pub trend: Option<f64>,
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
    let now = Utc::now();
    let ranked = rank(state.desk.store().requests(status, now).await?, now);
    Ok(ok(ranked
        .into_iter()
        .take(q.limit.unwrap_or(100).min(1_000))
        .collect()))
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
    Ok(ok(state
        .desk
        .pipeline()
        .feedback()
        .suggestions(limit)
        .await?))
}

pub fn rank(requests: Vec<Request>, now: DateTime<Utc>) -> Vec<RankedRequest> {
    let mut ranked: Vec<RankedRequest> = requests
        .into_iter()
        .map(|r| RankedRequest {
            demand: r.demand(now),
            trend: r.trend(),
            request: r,
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.demand
            .total_cmp(&a.demand)
            .then(a.request.id.cmp(&b.request.id))
    });
    ranked
}

pub async fn request(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = RequestId(positive(&id, "request")?);
    state
        .desk
        .store()
        .request(id, Utc::now(), 20)
        .await?
        .map(ok)
        .ok_or_else(|| ApiError::not_found(format!("request {id} not found")))
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
    let id = RequestId(positive(&id, "request")?);
    let Json(action) = body?;
    let who = caller.actor().to_string();
    let store = state.desk.store();
    let feedback = state.desk.pipeline().feedback();
    match action {
        RequestAction::Rename { title } => {
            let title = title.trim();
            if title.is_empty() || title.len() > 200 {
                return Err(ApiError::bad_request("a title is 1 to 200 characters"));
            }
            store.rename_request(id, title).await?;
        }
        RequestAction::MergeInto { into } => {
            feedback.merge(id, RequestId(into), &who).await?;
        }
        RequestAction::MovePost { post_id } => {
            feedback.move_post(post_id, id, &who).await?;
        }
        RequestAction::MoveOut { post_id } => {
            if store.request_of_post(post_id).await? != Some(id) {
                return Err(ApiError::bad_request(format!(
                    "post {post_id} is not in request {id}"
                )));
            }
            let new = feedback.move_out(post_id, &who).await?;
            return store
                .request(new, Utc::now(), 20)
                .await?
                .map(ok)
                .ok_or_else(|| ApiError::not_found(format!("request {new} not found")));
        }
        RequestAction::Status { status } => {
            let status = RequestStatus::parse(&status)
                .filter(|s| *s != RequestStatus::Merged)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "status is one of open, planned, shipped, declined (merge with merge_into)",
                    )
                })?;
            store.set_request_status(id, status).await?;
        }
        RequestAction::Tracker { url } => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ApiError::bad_request(
                    "the tracker link must be an http(s) URL",
                ));
            }
            store.set_tracker_url(id, &url).await?;
        }
    }
    store
        .request(id, Utc::now(), 20)
        .await?
        .map(ok)
        .ok_or_else(|| ApiError::not_found(format!("request {id} not found")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromisesQuery {
    state: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LedgerEntry {
    #[serde(flatten)]
    pub promise: Promise,
    pub overdue: bool,
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
    let today = Utc::now().date_naive();
    let promises = state.desk.store().promises(filter).await?;
    Ok(ok(promises
        .into_iter()
        .map(|p| LedgerEntry {
            overdue: p.is_overdue(today),
            promise: p,
        })
        .collect()))
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
    let id = PromiseId(positive(&id, "promise")?);
    let Json(action) = body?;
    let who = caller.actor().to_string();
    let store = state.desk.store();
    let mut promise = store
        .promise(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("promise {id} not found")))?;
    let result = match action {
        PromiseAction::Confirm {
            due_on,
            target_release,
            request_id,
        } => {
            if let Some(r) = request_id {
                promise.request_id = Some(RequestId(r));
            }
            promise.confirm(&who, due_on, target_release, Utc::now())
        }
        PromiseAction::Dismiss => promise.dismiss(),
    };
    result.map_err(|e| ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()))?;
    store.save_promise(&promise, &who).await?;
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
    if body.requests.is_empty() {
        return Err(ApiError::bad_request(
            "a release ships at least one request (requests: [id, ...])",
        ));
    }
    let release = NewRelease {
        version: body.version.trim().to_string(),
        shipped_at: body.shipped_at.unwrap_or_else(Utc::now),
        notes: body.notes,
        url: body.url,
        request_ids: body.requests.into_iter().map(RequestId).collect(),
        created_by: caller.actor().to_string(),
    };
    let feedback = state.desk.pipeline().feedback();
    let outcome =
        releases::record(&state.desk, release, feedback.templates(), body.dry_run).await?;
    if let Some(release) = outcome.release.clone().filter(|_| !outcome.dry_run) {
        feedback.notify_in_background(state.desk.clone(), release, outcome.notifications.clone());
    }
    let status = if outcome.newly_recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ok(outcome)))
}

pub async fn list_releases(State(state): State<AppState>) -> Result<Json<Vec<Release>>, ApiError> {
    Ok(ok(state.desk.store().releases().await?))
}

#[derive(Debug, Serialize)]
pub struct ReleaseDetail {
    pub release: Release,
    pub notifications: Vec<Notification>,
}

pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReleaseDetail>, ApiError> {
    let id = ReleaseId(positive(&id, "release")?);
    let store = state.desk.store();
    let release = store
        .release(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("release {id} not found")))?;
    let notifications = store.notifications(id).await?;
    Ok(ok(ReleaseDetail {
        release,
        notifications,
    }))
}

/// Bursts of similar posts: active first, each with its volume chart and a suggested bulk reply.
pub async fn spikes(
    State(state): State<AppState>,
) -> Result<Json<Vec<crate::feedback::spikes::SpikeView>>, ApiError> {
    Ok(ok(state.desk.pipeline().feedback().spikes()))
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
    use crate::feedback::tracker::{self, TrackerError};
    let id = RequestId(positive(&id, "request")?);
    match tracker::hand_off(&state.settings.tracker, &**state.desk.store(), id).await {
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
