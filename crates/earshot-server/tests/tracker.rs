//! Handing a request to engineering through a fake GitHub (the REST API's shape), and the
//! status coming back through GitHub's signed `issues` webhook.
#![allow(clippy::unwrap_used)]

use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use earshot_core::{Author, Network, NewPost};
use earshot_server::config::Secret;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

mod common;

/// The repository webhook's secret (GitHub: at least 24 bytes, as earshot asks).
const HOOK_SECRET: &str = "gh-hook-secret-of-the-tests-0001";

type Issues = Arc<Mutex<Vec<(String, Value)>>>;

async fn fake_github() -> (String, Issues) {
    let issues: Issues = Arc::default();
    let seen = issues.clone();
    let app = Router::new().route(
        "/repos/{owner}/{repo}/issues",
        post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let mut all = seen.lock().unwrap();
                all.push((auth, body));
                let n = all.len();
                (
                    axum::http::StatusCode::CREATED,
                    Json(json!({"number": n, "html_url": format!("https://github.example/voltra/app/issues/{n}")})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, issues)
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_becomes_a_github_issue_and_ships_when_it_closes() {
    let (github, issues) = fake_github().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    s.tracker.kind = "github".into();
    s.tracker.api_url = github;
    s.tracker.repo = "voltra/app".into();
    s.tracker.token = Secret::new("ghp_test_token");
    s.tracker.webhook_secret = Secret::new(HOOK_SECRET);
    common::with_api_token(&mut s);
    s.tracker.public_url = "https://earshot.voltra.example".into();
    let (base, desk) = common::start(s).await;

    let report = desk
        .pipeline()
        .ingest(vec![NewPost {
            from_brand: Some(false),
            ..NewPost::new(
                Network::X,
                "1",
                Author {
                    followers: Some(1520),
                    ..Author::new("u1", "paulfranks")
                },
                "@voltra Can you add an option to move the seat back when the car is parked?",
                Utc::now(),
            )
        }])
        .await
        .unwrap();
    let post_id = report.posts[0].post_id;
    let request = desk
        .store()
        .request_of_post(post_id)
        .await
        .unwrap()
        .expect("the ask is grouped");

    let client = common::api_client();
    let handoff = |id: i64| {
        client
            .post(format!("{base}/api/v1/requests/{id}/handoff"))
            .send()
    };
    let r = handoff(request.0).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["tracker_url"],
        "https://github.example/voltra/app/issues/1"
    );
    // Handing off again links the same issue, it does not open a second one.
    handoff(request.0).await.unwrap();
    let sent = issues.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "Bearer ghp_test_token");
    let issue_body = sent[0].1["body"].as_str().unwrap();
    assert!(issue_body.contains("move the seat back"), "{issue_body}");
    assert!(
        issue_body.contains("https://earshot.voltra.example/requests/"),
        "links back: {issue_body}"
    );
    assert!(
        !issue_body.contains("@voltra"),
        "mentions are neutralised: {issue_body}"
    );

    // GitHub tells us the issue closed: the request is shipped. A forged event changes nothing.
    let event = serde_json::to_vec(&json!({
        "action": "closed",
        "issue": {"html_url": "https://github.example/voltra/app/issues/1", "state_reason": "completed"}
    }))
    .unwrap();
    let forged = client
        .post(format!("{base}/api/v1/tracker/github"))
        .header("x-hub-signature-256", sign("wrong", &event))
        .body(event.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let stored = || stored_request(&desk, request);
    assert_eq!(
        stored().await.status,
        earshot_core::feedback::RequestStatus::Planned
    );
    let deliver = |delivery: &str| {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/tracker/github"))
            .header("x-hub-signature-256", sign(HOOK_SECRET, &event))
            .header("x-github-delivery", delivery)
            .body(event.clone())
            .send()
    };
    let real = deliver("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .await
        .unwrap();
    assert_eq!(real.status(), 200);
    // The captured delivery played again (say after the issue was reopened) is refused.
    let replay = deliver("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);
    let detail = stored().await;
    assert_eq!(
        detail.status,
        earshot_core::feedback::RequestStatus::Shipped
    );
    assert_eq!(
        detail.tracker_url.as_deref(),
        Some("https://github.example/voltra/app/issues/1")
    );
}

/// The request as stored now.
async fn stored_request(
    desk: &earshot_server::Desk,
    id: earshot_core::feedback::RequestId,
) -> earshot_core::feedback::Request {
    let detail = desk.store().request(id, Utc::now(), 0).await.unwrap();
    detail.unwrap().request
}
