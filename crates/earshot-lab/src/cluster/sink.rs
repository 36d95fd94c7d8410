//! The on-call page target the bench runs: a local HTTP endpoint that takes earshot's signed
//! alert webhook (Standard Webhooks) and remembers every page it got.
//!
//! A page is known by its key (`page:<conversation>:<level>:<round>:<person>`). Every retry
//! of one delivery carries the same `webhook-id`, which receivers dedupe on; the same page
//! sent again (after a hand-over, say) carries a new one. So a page *doubled* is a key that
//! arrived under more than one `webhook-id`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use earshot_server::signature::Verifier;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// The signing secret the processes' alert target uses (a test value).
pub const PAGE_SECRET: &str = "whsec_cGFnZS1zaW5rLWJlbmNoLXNlY3JldC0wMDAwMDE=";

/// Pages received, by key: the distinct delivery ids each came under.
#[derive(Default)]
struct Received {
    pages: BTreeMap<String, BTreeSet<String>>,
    refused: usize,
}

/// What the sink got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageCounts {
    /// Distinct pages (keys).
    pub pages: usize,
    /// Pages that came again under another delivery id (each extra time counts once).
    pub doubled: usize,
    /// Deliveries whose signature did not verify (never counted as pages).
    pub refused: usize,
}

#[derive(Clone)]
pub struct PageSink {
    received: Arc<Mutex<Received>>,
    /// `http://127.0.0.1:<port>/pages`.
    pub url: String,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for PageSink {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

#[derive(Clone)]
struct SinkState {
    received: Arc<Mutex<Received>>,
    verifier: Verifier,
}

impl PageSink {
    pub async fn start() -> anyhow::Result<PageSink> {
        let received = Arc::new(Mutex::new(Received::default()));
        let state = SinkState {
            received: received.clone(),
            verifier: Verifier::new(PAGE_SECRET, 300)?,
        };
        let router = axum::Router::new()
            .route("/pages", axum::routing::post(take))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/pages", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(PageSink {
            received,
            url,
            task: Arc::new(task),
        })
    }

    pub fn counts(&self) -> PageCounts {
        let r = self.received.lock().unwrap_or_else(|p| p.into_inner());
        PageCounts {
            pages: r.pages.len(),
            doubled: r.pages.values().map(|ids| ids.len() - 1).sum(),
            refused: r.refused,
        }
    }
}

async fn take(State(state): State<SinkState>, headers: HeaderMap, body: String) -> StatusCode {
    let now = chrono::Utc::now().timestamp();
    let Ok(delivery) = state.verifier.verify(&headers, body.as_bytes(), now) else {
        state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refused += 1;
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(alert) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if alert["alert"]["kind"] == "page" {
        let key = alert["alert"]["dedupe_key"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        state
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pages
            .entry(key)
            .or_default()
            .insert(delivery.id);
    }
    StatusCode::NO_CONTENT
}
