//! The JSON API under `/api/v1`, its OpenAPI document at `/api/openapi.json`.

mod conversations;
pub mod error;
mod events;
mod inbox;
mod metrics;
pub mod openapi;
mod posts;

use crate::config::Settings;
use crate::desk::Desk;
use crate::signature::Verifier;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
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
}

pub fn router(state: AppState) -> Router {
    let max_body = state.settings.webhook.max_body_bytes;
    let protected = Router::new()
        .route("/api/v1/inbox", get(inbox::inbox))
        .route("/api/v1/search", get(inbox::search))
        .route("/api/v1/conversations/{id}", get(conversations::show))
        .route(
            "/api/v1/conversations/{id}/replies",
            post(conversations::reply),
        )
        .route(
            "/api/v1/conversations/{id}/actions",
            post(conversations::act),
        )
        .route("/api/v1/audit", get(conversations::audit))
        .route("/api/v1/metrics", get(metrics::metrics))
        .route("/api/v1/events", get(events::events))
        .route("/api/v1/stats", get(metrics::counts))
        .route("/api/v1/connectors", get(connectors))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(DefaultBodyLimit::max(64 * 1024));
    Router::new()
        .route(
            "/api/v1/posts",
            post(posts::receive).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(|| async { "ok" }))
        .merge(protected)
        .fallback(|| async { ApiError::not_found("no such endpoint: see /api/openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /api/openapi.json",
            )
        })
        .with_state(state)
}

/// When `api.token` is set, every protected route needs `Authorization: Bearer <token>`.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = state.settings.api.token.expose();
    if token.is_empty() {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant-time comparison: the token is a secret.
    let ok = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if ok {
        next.run(request).await
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <api token> (the token is in api.token / EARSHOT__API__TOKEN)",
        )
        .into_response()
    }
}

/// The agent acting, from the `X-Earshot-Agent` header (until sign-in lands), else `api`.
pub(crate) fn actor(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-earshot-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .unwrap_or("api")
        .to_string()
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
