//! What operators and their tools ask a running process: `/readyz` (may this process take
//! traffic?) and `/metrics` (Prometheus text format).
//!
//! - `/readyz` is open like `/healthz`, for load balancers and orchestrators that carry no
//!   credentials. It says only whether each check passed and which lease roles this process
//!   holds: no counts, no settings, no error text (which could name hosts or users); the log
//!   has the details.
//! - `/metrics` needs a caller like the rest of the API (a token with the `read` scope, the
//!   `api.token`, or a signed-in session): its counts say how much the team hears and answers,
//!   which is the brand's business, and the house rule is closed by default. Prometheus sends
//!   the token with `authorization: { credentials: <token> }` in its scrape config.
//!
//! Counters are what this process itself did since it started (a restart resets them;
//! Prometheus's `rate()` copes): posts stored, conversation events by action (replies sent
//! and failed among them), spikes begun. In cluster mode the events other processes fan out
//! reach this process's live pages but not its counters, so `sum()` over the processes
//! counts each post once. Gauges are read at scrape time with bounded queries.

use crate::state::AppState;
use crate::telemetry::Counts;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::fmt::Write as _;

use std::time::Duration;

/// A check slower than this fails: a load balancer should not wait on a stuck database.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Queue gauges count up to this many rows, so a scrape never walks a huge backlog.
const QUEUE_CAP: u32 = 1000;

/// One check of `/readyz`: its name and whether it passed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
}

/// The store answers a one-row read by primary key in time: it is reachable without a scan.
async fn store_reachable(state: &AppState) -> bool {
    let read = state.desk.store().cursor("earshot:readiness");
    matches!(tokio::time::timeout(CHECK_TIMEOUT, read).await, Ok(Ok(_)))
}

/// `GET /readyz`: 200 when every check passes, 503 naming the failing one otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = vec![Check {
        name: "store",
        ok: store_reachable(&state).await,
    }];
    // In cluster mode heard posts reach the store only through the bus: a process cut off
    // from NATS answers the intake with 503, so it is not ready for traffic.
    if let Some(bus) = &state.bus {
        checks.push(Check {
            name: "bus",
            ok: bus.connected(),
        });
    }
    let failing: Vec<&str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        tracing::warn!(failing = ?failing, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": failing.is_empty(),
        "failing": failing,
        "checks": checks,
        "roles": state.leases.held(),
    });
    (status, axum::Json(body)).into_response()
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The bus's figures for `/metrics`: connected always; the consumer's counts only when NATS
/// answered in time (a missing sample says "unknown", a zero would say "empty").
async fn bus_figures(
    bus: &crate::bus::Bus,
    family: &mut impl FnMut(&str, &str, &str, Vec<(String, f64)>),
) {
    family(
        "earshot_bus_connected",
        "gauge",
        "1 while this process is connected to NATS.",
        vec![(String::new(), f64::from(u8::from(bus.connected())))],
    );
    let health = match tokio::time::timeout(CHECK_TIMEOUT, bus.health()).await {
        Ok(Ok(h)) => Some(h),
        _ => None,
    };
    let sample = |f: fn(&crate::bus::BusHealth) -> u64| match &health {
        Some(h) => vec![(String::new(), f(h) as f64)],
        None => vec![],
    };
    family(
        "earshot_bus_pending",
        "gauge",
        "Heard posts in the stream not yet delivered to any ingest worker (all processes).",
        sample(|h| h.pending),
    );
    family(
        "earshot_bus_in_flight",
        "gauge",
        "Heard posts delivered to an ingest worker and not yet acknowledged (all processes).",
        sample(|h| h.in_flight),
    );
    family(
        "earshot_bus_dead_letters",
        "gauge",
        "Heard posts in the dead-letter subject, kept until an operator removes them.",
        sample(|h| h.dead_letters),
    );
    family(
        "earshot_bus_dead_lettered_total",
        "counter",
        "Heard posts this process moved to the dead letters since it started.",
        sample(|h| h.dead_lettered_here),
    );
}

/// `GET /metrics`: Prometheus text exposition format 0.0.4.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let store = state.desk.store();
    let up = store_reachable(&state).await;
    family(
        "earshot_store_up",
        "gauge",
        "1 when the store answered a read within 2 s.",
        vec![(String::new(), f64::from(u8::from(up)))],
    );
    let queue = |n: Result<Result<usize, _>, _>| match n {
        Ok(Ok(n)) => vec![(String::new(), n as f64)],
        _ => vec![],
    };
    let queued = tokio::time::timeout(CHECK_TIMEOUT, store.queued_replies(QUEUE_CAP))
        .await
        .map(|r| r.map(|v| v.len()));
    family(
        "earshot_replies_queued",
        "gauge",
        "Replies stored but not yet sent (counted up to 1000).",
        queue(queued),
    );
    let due = tokio::time::timeout(CHECK_TIMEOUT, store.due_replies(Utc::now(), QUEUE_CAP))
        .await
        .map(|r| r.map(|v| v.len()));
    family(
        "earshot_replies_due_for_retry",
        "gauge",
        "Failed replies whose next attempt is due (counted up to 1000).",
        queue(due),
    );
    let undelivered = tokio::time::timeout(
        CHECK_TIMEOUT,
        store.unsettled_alerts("", Utc::now(), QUEUE_CAP as usize),
    )
    .await
    .map(|r| r.map(|v| v.len()));
    family(
        "earshot_alerts_undelivered",
        "gauge",
        "Alerts a person must get (on-call pages, spikes, overdue promises, replies not sent) claimed and not yet settled by every target: on their way, or left by a process that stopped (counted up to 1000).",
        queue(undelivered),
    );
    let held = state.leases.held();
    family(
        "earshot_lease_held",
        "gauge",
        "1 for each singleton role this process holds now, 0 for one held elsewhere.",
        state
            .leases
            .known()
            .into_iter()
            .map(|role| {
                let v = f64::from(u8::from(held.contains(&role)));
                (format!("{{role=\"{}\"}}", escape(&role)), v)
            })
            .collect(),
    );
    if let Some(bus) = &state.bus {
        bus_figures(bus, &mut family).await;
    }
    let Counts {
        posts_stored: posts,
        conversation_events: events,
        spikes_started: spikes,
        missed,
    } = state.telemetry.counts_now();
    family(
        "earshot_posts_stored_total",
        "counter",
        "Posts this process committed to the store since it started, by network; other processes' posts are not counted (sum over processes for the cluster).",
        posts
            .into_iter()
            .map(|(n, v)| (format!("{{network=\"{}\"}}", escape(&n)), v as f64))
            .collect(),
    );
    let outcome = |action: &str| events.get(action).copied().unwrap_or(0) as f64;
    family(
        "earshot_replies_total",
        "counter",
        "Reply attempts this process made since it started, by outcome; other processes' are not counted.",
        vec![
            ("{outcome=\"sent\"}".into(), outcome("replied")),
            ("{outcome=\"failed\"}".into(), outcome("reply_failed")),
        ],
    );
    family(
        "earshot_conversation_events_total",
        "counter",
        "Conversation changes this process made since it started, by action; other processes' are not counted.",
        events
            .into_iter()
            .map(|(a, v)| (format!("{{action=\"{}\"}}", escape(&a)), v as f64))
            .collect(),
    );
    family(
        "earshot_spikes_started_total",
        "counter",
        "Bursts of similar posts this process saw begin since it started; other processes' are not counted.",
        vec![(String::new(), spikes as f64)],
    );
    family(
        "earshot_events_missed_total",
        "counter",
        "This process's own pipeline events these counters missed because they fell behind.",
        vec![(String::new(), missed as f64)],
    );
    family(
        "earshot_process_start_time_seconds",
        "gauge",
        "When this process started, in seconds since the Unix epoch.",
        vec![(String::new(), state.telemetry.started().timestamp() as f64)],
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
