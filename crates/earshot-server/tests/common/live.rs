//! A real app with live connectors, for the network end-to-end tests: settings parsed as the
//! server parses its file, the app started on a random port, and waits on its API.

use super::with_api_token;
use earshot_server::config::{MastodonSettings, Secret};
use earshot_server::{App, Settings};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(15);

/// Settings for a server on a random port over `data_dir`, with `connectors` (earshot.toml
/// syntax) parsed exactly as the server parses its file.
pub fn settings(data_dir: &Path, brand: &str, connectors: &str) -> Settings {
    let mut s: Settings = toml::from_str(connectors).unwrap();
    s.data_dir = data_dir.to_path_buf();
    s.listen = "127.0.0.1:0".into();
    s.brand.handles = vec![brand.into()];
    with_api_token(&mut s);
    s
}

/// A Mastodon connector for `brand_acct` on the fake at `base_url`, which accepts the token
/// `brand-token`; it polls rarely (the fake streams) and calls the stream stalled after 5 s.
pub fn mastodon(base_url: String, brand_acct: &str) -> MastodonSettings {
    MastodonSettings {
        base_url,
        brand_acct: brand_acct.into(),
        access_token: Secret::new("brand-token"),
        access_token_env: None,
        hashtags: vec![],
        poll_interval_seconds: 600,
        stall_timeout_seconds: 5,
        transport: None,
        history: None,
    }
}

/// Starts the real app; its base URL.
pub async fn serve(settings: Settings) -> String {
    let app = App::build(settings).await.unwrap();
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    base
}

/// Starts the real app over `settings` and waits until connector `name` reports connected:
/// the base URL, an API client and the connector's health.
pub async fn serve_connected(settings: Settings, name: &str) -> (String, reqwest::Client, Value) {
    let base = serve(settings).await;
    let client = super::api_client();
    let health = connected(&client, &base, name).await;
    (base, client, health)
}

pub async fn get(client: &reqwest::Client, url: &str) -> Value {
    let r = client.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.unwrap()
}

pub async fn wait_for<F: Fn(&Value) -> bool>(client: &reqwest::Client, url: &str, ok: F) -> Value {
    let started = Instant::now();
    loop {
        let v = get(client, url).await;
        if ok(&v) {
            return v;
        }
        assert!(started.elapsed() < WAIT, "timed out waiting on {url}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The named connector's health, once it reports `connected`.
pub async fn connected(client: &reqwest::Client, base: &str, name: &str) -> Value {
    let all = wait_for(client, &format!("{base}/api/v1/connectors"), |v| {
        v.as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["name"] == name && c["state"] == "connected")
        })
    })
    .await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap()
}

/// The inbox rows of `network`, once there are `n` of them.
pub async fn inbox(client: &reqwest::Client, base: &str, network: &str, n: usize) -> Vec<Value> {
    let v = wait_for(
        client,
        &format!("{base}/api/v1/inbox?network={network}"),
        |v| v["items"].as_array().is_some_and(|i| i.len() >= n),
    )
    .await;
    v["items"].as_array().unwrap().clone()
}

/// Answers conversation `conv` twice with the same idempotency key, as an agent double-clicking
/// (or a client retrying after a timeout) would; both calls must succeed.
pub async fn answer_twice(client: &reqwest::Client, base: &str, conv: i64, text: &str, key: &str) {
    let body = json!({"text": text, "idempotency_key": key});
    for _ in 0..2 {
        let r = client
            .post(format!("{base}/api/v1/conversations/{conv}/replies"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}

/// The connector still reports connected after the exchange, with what it heard counted.
pub async fn assert_heard(client: &reqwest::Client, base: &str, name: &str, at_least: u64) {
    let health = wait_for(client, &format!("{base}/api/v1/connectors"), |v| {
        v.as_array().is_some_and(|a| {
            a.iter().any(|c| {
                c["name"] == name && c["events_total"].as_u64().is_some_and(|n| n >= at_least)
            })
        })
    })
    .await;
    let mine = health
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    assert_eq!(mine["state"], "connected", "{mine}");
    assert!(mine["last_event_at"].is_string(), "{mine}");
}
