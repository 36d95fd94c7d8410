//! The JSON API under `/api/v1`, its OpenAPI document at `/api/openapi.json`.

pub mod access;
mod conversations;
mod corrections;
pub mod error;
pub(crate) mod events;
pub mod feedback;
mod inbox;
mod metrics;
pub mod openapi;
mod posts;
pub mod survey;
mod triage;

use crate::config::Settings;
use crate::desk::Desk;
use crate::signature::Verifier;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
pub use error::ApiError;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub desk: Arc<Desk>,
    pub settings: Arc<Settings>,
    /// `None` when no webhook secret is configured: signed posts are then refused with a hint.
    pub verifier: Option<Verifier>,
    /// Health of each configured connector.
    pub connector_health: Arc<Vec<earshot_connect::source::Health>>,
    /// `[http]`: hosts served, proxies trusted, cookies, session idle time.
    pub http: Arc<crate::http_policy::HttpPolicy>,
}

impl AppState {
    /// The brand's first handle in force (an admin's edit from the Settings page, see
    /// `crate::overrides`, else earshot.toml's): who replies are sent as.
    pub fn brand_handle(&self) -> Option<String> {
        match self.desk.pipeline().in_force() {
            Some(f) => f.brand.handles.first().cloned(),
            None => self.settings.brand.handles.first().cloned(),
        }
    }

    /// The team's time zone in force (charts and metrics are drawn in it).
    pub fn timezone(&self) -> chrono_tz::Tz {
        match self.desk.pipeline().in_force() {
            Some(f) => f.response.timezone.parse().unwrap_or(chrono_tz::UTC),
            None => self.settings.timezone(),
        }
    }
}

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
        .route("/api/v1/events", get(events::events))
        .route("/api/v1/stats", get(metrics::counts))
        .route("/api/v1/connectors", get(connectors))
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
        .route(
            "/api/v1/tracker/github",
            post(feedback::github_webhook).layer(DefaultBodyLimit::max(1024 * 1024)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .merge(protected)
        .merge(crate::web::router())
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /api/openapi.json",
            )
        })
        // Outermost: a request for a host that is not ours is turned away before anything.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::http_policy::guard_host,
        ))
        .with_state(state)
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
