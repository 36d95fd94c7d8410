//! The JSON API under `/api/v1`, its OpenAPI document at `/api/openapi.json`.

pub mod access;
mod conversations;
mod corrections;
pub mod error;
pub mod feedback;
mod inbox;
mod metrics;
pub mod openapi;
mod posts;
pub mod survey;
mod telegram_hook;
mod triage;

pub use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
pub use error::ApiError;

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.webhook.max_body_bytes;
    let protected = Router::new()
        .route("/api/v1/inbox", get(inbox::inbox))
        .route("/api/v1/search", get(inbox::search))
        .route("/api/v1/conversations/{id}", get(conversations::show))
        .route(
            "/api/v1/conversations/{id}/draft",
            get(conversations::draft),
        )
        .route(
            "/api/v1/conversations/{id}/replies",
            post(conversations::reply),
        )
        .route(
            "/api/v1/conversations/{id}/replies/{reply}/retry",
            post(conversations::retry_reply),
        )
        .route(
            "/api/v1/conversations/{id}/actions",
            post(conversations::act),
        )
        .route("/api/v1/audit", get(conversations::audit))
        .route("/api/v1/posts/{id}/corrections", post(corrections::correct))
        .route("/api/v1/corrections", get(corrections::list))
        .route("/api/v1/metrics", get(metrics::metrics))
        .route("/api/v1/metrics/satisfaction", get(survey::satisfaction))
        .route("/api/v1/events", get(crate::live::api_events))
        .route("/api/v1/stats", get(metrics::counts))
        .route("/api/v1/connectors", get(connectors))
        .route("/api/v1/bus", get(bus_health))
        .route("/api/v1/requests", get(feedback::requests))
        .route("/api/v1/requests/suggestions", get(feedback::suggestions))
        .route("/api/v1/requests/{id}", get(feedback::request))
        .route(
            "/api/v1/requests/{id}/actions",
            post(feedback::request_action),
        )
        .route("/api/v1/requests/{id}/handoff", post(feedback::hand_off))
        .route("/api/v1/promises", get(feedback::promises))
        .route(
            "/api/v1/promises/{id}/actions",
            post(feedback::promise_action),
        )
        .route(
            "/api/v1/releases",
            get(feedback::list_releases).post(feedback::record_release),
        )
        .route("/api/v1/releases/{id}", get(feedback::release))
        .route("/api/v1/spikes", get(feedback::spikes))
        .route("/api/v1/metrics/loop", get(feedback::loop_metrics))
        .route("/api/v1/conversations/{id}/policy", get(triage::policy))
        .route(
            "/api/v1/reports/response-times",
            get(triage::response_times),
        )
        .route("/api/v1/rules/test", post(triage::rules_test))
        .route("/api/openapi.json", get(openapi::document))
        // Closed: the counts are the brand's business (see `crate::operations`).
        .route("/metrics", get(crate::operations::metrics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_caller,
        ))
        .layer(DefaultBodyLimit::max(64 * 1024));
    Router::new()
        .route(
            "/api/v1/posts",
            post(posts::receive).layer(DefaultBodyLimit::max(max_body)),
        )
        // Open like the signed intake: Telegram holds no session, the secret header is checked.
        .route(
            "/hooks/telegram/{bot}",
            post(telegram_hook::receive).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route(
            "/api/v1/tracker/github",
            post(feedback::github_webhook).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::operations::readyz))
        .merge(protected)
        .merge(crate::web::router(&state))
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /api/openapi.json",
            )
        })
        // Outermost: a request for a host that is not ours is turned away before anything.
        .layer(middleware::from_fn_with_state(state.clone(), guard_host))
        .with_state(state)
}

/// Middleware: requests for a host name that is not this server's get 421 (Misdirected
/// Request). Health checks are answered whatever they name.
pub async fn guard_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    match crate::http_policy::request_host(&request) {
        Some(host) if state.http.host_allowed(&host) => next.run(request).await,
        host => {
            tracing::warn!(host = ?host.as_deref().map(crate::http_policy::host_name), "request for a host this server does not serve");
            let message = "this server does not answer to that host name: if it is yours, add it \
                           to [http] allowed_hosts (or set http.public_url)";
            if request.uri().path().starts_with("/api/") {
                ApiError::new(StatusCode::MISDIRECTED_REQUEST, "misdirected", message)
                    .into_response()
            } else {
                (StatusCode::MISDIRECTED_REQUEST, message).into_response()
            }
        }
    }
}

/// Unknown addresses: the API answers in JSON, everything else with the web's HTML page.
async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found("no such endpoint: see /api/openapi.json").into_response()
    } else {
        crate::web::not_found().await
    }
}

pub(crate) fn ok<T: serde::Serialize>(value: T) -> Json<T> {
    Json(value)
}

/// Health of every configured connector: state, last event, events and errors, next retry.
async fn connectors(
    State(state): State<AppState>,
) -> Json<Vec<earshot_connect::source::HealthReport>> {
    Json(crate::connectors::reports(&state.connector_health))
}

/// Cluster mode's bus: connected, heard posts pending and in flight, dead letters waiting.
/// One process alone has no bus: 404 says so.
async fn bus_health(
    State(state): State<AppState>,
) -> Result<Json<crate::bus::BusHealth>, ApiError> {
    let Some(bus) = &state.bus else {
        return Err(ApiError::not_found(
            "no bus: this process runs alone (set [bus] url with a PostgreSQL db for cluster mode)",
        ));
    };
    let health = bus.health().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "bus_unavailable",
            format!("cannot read the bus's state: {e}"),
        )
    })?;
    Ok(Json(health))
}
