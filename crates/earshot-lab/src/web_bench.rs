//! How fast the pages are served from a given store: the inbox, the top conversation, the
//! dashboard and the ranked requests, each requested `iterations` times through the real
//! router (session lookup, queries, rendering), beside its baseline measured in the same
//! run: the JSON API answer for the same data. `earshot bench web` prints [`report`].
//!
//! The bench signs in as `earshot-bench` (a viewer created on first use, its password
//! random and never shown) and signs out when done.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use earshot_core::Secret;
use earshot_server::api::{self, AppState};
use earshot_server::config::Settings;
use earshot_server::desk::Desk;
use earshot_server::web::auth;
use earshot_store::people::Role;
use earshot_store::InboxFilter;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Store(#[from] earshot_store::StoreError),
    #[error("{path} answered {status}: is the store filled? ({body})")]
    Status {
        path: String,
        status: StatusCode,
        body: String,
    },
    #[error("the inbox is empty: fill the store first (earshot demo --no-serve, earshot import)")]
    Empty,
}

/// Latencies of one kind of request, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Size of one answer, in bytes.
    pub bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageTiming {
    /// `inbox`, `conversation`, `dashboard`, `requests`.
    pub page: &'static str,
    pub path: String,
    pub timing: Percentiles,
    pub baseline_path: String,
    pub baseline: Percentiles,
}

fn percentiles(mut ms: Vec<f64>, bytes: usize) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| -> f64 {
        if ms.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[rank.clamp(1, ms.len()) - 1]
    };
    Percentiles {
        p50_ms: at(50.0),
        p95_ms: at(95.0),
        max_ms: ms.last().copied().unwrap_or(0.0),
        bytes,
    }
}

/// The state the router needs, for a desk opened outside a running server.
pub fn state(settings: Settings, desk: Arc<Desk>) -> AppState {
    AppState {
        desk,
        http: Arc::new(settings.http_policy().unwrap_or_default()),
        settings: Arc::new(settings),
        verifier: None,
        connector_health: Arc::new(vec![]),
        bus: None,
        leases: earshot_server::lease::Leases::in_process(),
        telemetry: Arc::default(),
    }
}

/// Measures the three pages and their baselines, `iterations` requests each (after one
/// warm-up request that is not counted).
pub async fn run(state: AppState, iterations: usize) -> Result<Vec<PageTiming>, BenchError> {
    let store = state.desk.store().clone();
    let user = match store.credentials("earshot-bench").await? {
        Some(c) => c.user,
        None => {
            auth::create_user(
                &store,
                "earshot-bench",
                "Benchmark",
                Role::Viewer,
                &Secret::new(auth::random_token(24)),
            )
            .await?
        }
    };
    let session = auth::start_session(&store, &user).await?;
    let cookie = format!("{}={}", state.http.session_cookie(), session.expose());
    let top = store
        .inbox(
            &InboxFilter {
                limit: 1,
                ..InboxFilter::default()
            },
            chrono::Utc::now(),
        )
        .await?
        .items
        .into_iter()
        .next()
        .ok_or(BenchError::Empty)?
        .conversation
        .id;
    let router = api::router(state);
    let pairs = [
        (
            "inbox",
            "/inbox".to_string(),
            "/api/v1/inbox?limit=50".to_string(),
        ),
        (
            "conversation",
            format!("/c/{}", top.0),
            format!("/api/v1/conversations/{}", top.0),
        ),
        (
            "dashboard",
            "/dashboard".to_string(),
            "/api/v1/metrics".to_string(),
        ),
        (
            "requests",
            "/requests".to_string(),
            "/api/v1/requests".to_string(),
        ),
    ];
    let mut out = vec![];
    for (page, path, baseline_path) in pairs {
        let timing = measure(&router, &path, &cookie, iterations).await?;
        let baseline = measure(&router, &baseline_path, &cookie, iterations).await?;
        out.push(PageTiming {
            page,
            path,
            timing,
            baseline_path,
            baseline,
        });
    }
    store
        .delete_session(&auth::token_hash(session.expose()), chrono::Utc::now())
        .await?;
    Ok(out)
}

async fn measure(
    router: &axum::Router,
    path: &str,
    cookie: &str,
    iterations: usize,
) -> Result<Percentiles, BenchError> {
    let mut ms = Vec::with_capacity(iterations);
    let mut bytes = 0;
    for i in 0..=iterations {
        // The pages and the JSON API both read as the signed-in person, at a loopback host.
        let request = Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .map_err(|e| BenchError::Status {
                path: path.into(),
                status: StatusCode::BAD_REQUEST,
                body: e.to_string(),
            })?;
        let started = Instant::now();
        let response = router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        if status != StatusCode::OK {
            return Err(BenchError::Status {
                path: path.into(),
                status,
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        // The first request warms caches (prepared statements, pages) and is not counted.
        if i > 0 {
            ms.push(elapsed);
        }
        bytes = body.len();
    }
    Ok(percentiles(ms, bytes))
}

/// The results as a table, each page beside its baseline and their ratio.
pub fn report(results: &[PageTiming], iterations: usize) -> String {
    let mut out = format!(
        "{:<13} {:>9} {:>9} {:>9} {:>9}   {:<28} {:>9} {:>9}   {:>7}\n",
        "page",
        "p50 ms",
        "p95 ms",
        "max ms",
        "KiB",
        "baseline (JSON API)",
        "p50 ms",
        "p95 ms",
        "p95 ×"
    );
    for r in results {
        out.push_str(&format!(
            "{:<13} {:>9.2} {:>9.2} {:>9.2} {:>9.1}   {:<28} {:>9.2} {:>9.2}   {:>7.2}\n",
            r.page,
            r.timing.p50_ms,
            r.timing.p95_ms,
            r.timing.max_ms,
            r.timing.bytes as f64 / 1024.0,
            r.baseline_path,
            r.baseline.p50_ms,
            r.baseline.p95_ms,
            r.timing.p95_ms / r.baseline.p95_ms.max(0.001),
        ));
    }
    out.push_str(&format!(
        "{iterations} requests each through the router; targets: inbox and conversation ≤ 50 ms p95, dashboard ≤ 300 ms p95.\n"
    ));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = percentiles((1..=100).map(f64::from).collect(), 10);
        assert_eq!(p.p50_ms, 50.0);
        assert_eq!(p.p95_ms, 95.0);
        assert_eq!(p.max_ms, 100.0);
    }
}
