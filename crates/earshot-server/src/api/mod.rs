//! The JSON API under `/api/v1`, its OpenAPI document at `/api/openapi.json`.

mod conversations;
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
            "/api/v1/conversations/{id}/replies",
            post(conversations::reply),
        )
        .route(
            "/api/v1/conversations/{id}/actions",
            post(conversations::act),
        )
        .route("/api/v1/audit", get(conversations::audit))
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
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
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
        .route("/api/openapi.json", get(openapi::document))
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

fn unauthorized() -> Response {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "send Authorization: Bearer <api token> (api.token / EARSHOT__API__TOKEN, or a token an admin created in Settings)",
    )
    .into_response()
}

/// Who may use the protected routes: a bearer equal to `api.token`, or an API token from the
/// store with the scope the request needs (its person then acts, whatever `X-Earshot-Agent`
/// says). With no `api.token` configured, a request without a bearer passes (localhost use);
/// a bearer that is sent is always checked.
async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = state.settings.api.token.expose();
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(given) = given else {
        return if token.is_empty() {
            next.run(request).await
        } else {
            unauthorized()
        };
    };
    // Constant-time comparison: the token is a secret.
    if !token.is_empty() && crate::web::auth::same(&given, token) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    match crate::web::auth::api_token(state.desk.store(), &given, &method, &path).await {
        Ok(crate::web::auth::ApiAuth::Allowed(caller)) => {
            if let Ok(v) = axum::http::HeaderValue::from_str(&caller.user.username) {
                request.headers_mut().insert("x-earshot-agent", v);
            }
            next.run(request).await
        }
        Ok(crate::web::auth::ApiAuth::Forbidden(scope)) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token does not have the {scope:?} scope this request needs"),
        )
        .into_response(),
        Ok(crate::web::auth::ApiAuth::Unknown) => unauthorized(),
        Err(e) => ApiError::from(e).into_response(),
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
