//! Cluster mode as real processes: several built `earshot serve` on one PostgreSQL database
//! and one NATS JetStream stream. A post taken by one process shows in another's inbox, a post
//! heard by two processes is stored once, and when the process holding the work that must run
//! once is killed with SIGKILL, another takes its roles over within 15 s.
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test` (or
//! `EARSHOT_TEST_POSTGRES`), NATS at `nats://127.0.0.1:4222` (or `EARSHOT_TEST_NATS`). Each test
//! makes its own database and stream (unique names) and removes them after. Without either
//! service a test is skipped with the reason, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use earshot_server::signature::Verifier;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_Y2x1c3Rlci10ZXN0cy1zZWNyZXQtMDAwMDAx";
const TOKEN: &str = "cluster-tests-api-token-0123456789abcdef";
const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The bound for a hand-over after the holder died.
const HAND_OVER_BOUND: Duration = Duration::from_secs(15);

/// One test's services: a fresh database and bus names no other test uses.
struct Cluster {
    db_url: String,
    nats_url: String,
    tag: String,
}

/// A running `earshot serve`; killed (SIGKILL) when dropped, so a failing test leaves none.
struct Process {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Cluster {
    /// Starts one `earshot serve` of this cluster (its own data dir, a free port) and waits
    /// until it listens.
    fn serve(&self) -> Process {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("EARSHOT_CONFIG")
            .env("EARSHOT__DB", &self.db_url)
            .env("EARSHOT__BUS__URL", &self.nats_url)
            .env("EARSHOT__BUS__STREAM", format!("C_{}", self.tag))
            .env("EARSHOT__BUS__CONSUMER", format!("ingest_{}", self.tag))
            .env("EARSHOT__BUS__SUBJECTS", format!("c{}", self.tag))
            .env("EARSHOT__BRAND__HANDLES", "[\"acme\"]")
            .env("EARSHOT__WEBHOOK__SECRET", SECRET)
            .env("EARSHOT__API__TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let base = listening_at(&mut child);
        Process {
            child,
            base,
            _data: data,
        }
    }
}

/// Reads the server's log until it says where it listens (then keeps draining it).
fn listening_at(child: &mut Child) -> String {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut last = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.strip_prefix("earshot is listening on ") {
                if !sent {
                    let _ = tx.send(Ok(at.split_whitespace().next().unwrap_or_default().into()));
                    sent = true;
                }
            } else if !sent {
                last.push(line);
            }
        }
        if !sent {
            let _ = tx.send(Err(last.join("\n")));
        }
    });
    match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(Ok(base)) => base,
        Ok(Err(log)) => panic!("earshot serve stopped before it listened:\n{log}"),
        Err(_) => panic!("earshot serve did not listen within 90 s"),
    }
}

fn skip_or_fail(what: &str, why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required in CI: {why}");
    }
    eprintln!(
        "SKIPPED (cluster test): {what}: {why}. Start it or set EARSHOT_TEST_NATS / EARSHOT_TEST_POSTGRES."
    );
}

/// Runs `test` on a fresh database and unique bus names, then removes both (also after a
/// failure, which is then reported).
async fn on_cluster<F, Fut>(test: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let nats_url = std::env::var("EARSHOT_TEST_NATS").unwrap_or_else(|_| DEFAULT_NATS.into());
    let nats = match tokio::time::timeout(
        Duration::from_secs(5),
        async_nats::connect(nats_url.as_str()),
    )
    .await
    {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return skip_or_fail(&format!("NATS at {nats_url}"), &e.to_string()),
        Err(_) => return skip_or_fail(&format!("NATS at {nats_url}"), "timed out after 5 s"),
    };
    let base = std::env::var("EARSHOT_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    let (admin, connection) = match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_postgres::connect(&base, tokio_postgres::NoTls),
    )
    .await
    {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return skip_or_fail(&format!("PostgreSQL at {base}"), &e.to_string()),
        Err(_) => return skip_or_fail(&format!("PostgreSQL at {base}"), "timed out after 10 s"),
    };
    tokio::spawn(connection);
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let db = format!("earshot_cluster_{tag}");
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let cluster = Cluster {
        db_url: with_database(&base, &db),
        nats_url,
        tag: tag.clone(),
    };
    let outcome = tokio::spawn(test(cluster)).await;
    let _ = async_nats::jetstream::new(nats)
        .delete_stream(format!("C_{tag}"))
        .await;
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(base);
    format!("{root}/{db}{query}")
}

fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {TOKEN}").parse().unwrap();
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A customer's post as the signed intake takes it.
fn post(id: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"network": "x", "id": id,
        "author": {"id": format!("u-{id}"), "handle": format!("user-{id}")},
        "text": text, "created_at": chrono::Utc::now().to_rfc3339()}))
    .unwrap()
}

/// Delivers `body` to `base` as the webhook delivery `delivery`; the status it got.
async fn deliver(base: &str, delivery: &str, body: &[u8]) -> reqwest::StatusCode {
    let verifier = Verifier::new(SECRET, 300).unwrap();
    let ts = chrono::Utc::now().timestamp();
    client()
        .post(format!("{base}/api/v1/posts"))
        .header("content-type", "application/json")
        .header("webhook-id", delivery)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", verifier.sign(delivery, ts, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn get(base: &str, path: &str) -> (reqwest::StatusCode, String) {
    let r = client().get(format!("{base}{path}")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn get_json(base: &str, path: &str) -> serde_json::Value {
    let (status, body) = get(base, path).await;
    assert!(status.is_success(), "GET {path}: {status} {body}");
    serde_json::from_str(&body).unwrap()
}

/// Polls `check` every 100 ms until it holds; panics naming `what` after `limit`.
async fn until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn inbox_texts(base: &str) -> Vec<String> {
    let inbox = get_json(base, "/api/v1/inbox?limit=100").await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["latest_text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Nothing waits in the shared consumer: every heard post was ingested and acknowledged.
async fn drained(base: &str) -> bool {
    let bus = get_json(base, "/api/v1/bus").await;
    bus["pending"] == 0 && bus["in_flight"] == 0
}

async fn roles(base: &str) -> Vec<String> {
    let ready = get_json(base, "/readyz").await;
    serde_json::from_value(ready["roles"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_to_one_process_shows_in_anothers_inbox_and_one_heard_by_both_is_stored_once() {
    on_cluster(|cluster| async move {
        let a = cluster.serve();
        let b = cluster.serve();

        // Taken by A (202: on the bus), ingested by whichever worker, read through B.
        let text = "@acme my charger from order 41 is broken";
        let status = deliver(&a.base, "d-a-1", &post("p-41", text)).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED);
        let took = until("the post in B's inbox", Duration::from_secs(15), || async {
            inbox_texts(&b.base).await.iter().any(|t| t == text)
        })
        .await;
        eprintln!("post to A visible in B's inbox after {took:?}");

        // The same post heard by both processes (two deliveries, one post id): stored once.
        let twice = "@acme the app logs me out every hour";
        let body = post("p-42", twice);
        let (to_a, to_b) = tokio::join!(
            deliver(&a.base, "d-a-2", &body),
            deliver(&b.base, "d-b-2", &body)
        );
        assert_eq!(
            (to_a, to_b),
            (reqwest::StatusCode::ACCEPTED, reqwest::StatusCode::ACCEPTED)
        );
        until(
            "the repeated post in A's inbox",
            Duration::from_secs(15),
            || async { inbox_texts(&a.base).await.iter().any(|t| t == twice) },
        )
        .await;
        until("the stream drained", Duration::from_secs(15), || {
            drained(&a.base)
        })
        .await;
        for p in [&a, &b] {
            let counts = get_json(&p.base, "/api/v1/stats").await;
            assert_eq!(counts["posts"], 2, "each post once: {counts}");
            assert_eq!(counts["conversations"], 2, "{counts}");
            let texts = inbox_texts(&p.base).await;
            assert_eq!(texts.iter().filter(|t| *t == twice).count(), 1, "{texts:?}");
        }

        // Both processes report the bus: ready with it, and its figures in /metrics.
        for p in [&a, &b] {
            let ready = get_json(&p.base, "/readyz").await;
            let bus_check = ready["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "bus")
                .cloned();
            assert_eq!(
                bus_check,
                Some(serde_json::json!({"name": "bus", "ok": true})),
                "{ready}"
            );
            let (status, metrics) = get(&p.base, "/metrics").await;
            assert!(status.is_success(), "{status} {metrics}");
            for line in [
                "earshot_bus_connected 1",
                "earshot_bus_pending 0",
                "earshot_bus_in_flight 0",
                "earshot_bus_dead_letters 0",
            ] {
                assert!(
                    metrics.lines().any(|l| l == line),
                    "{line} missing in:\n{metrics}"
                );
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_process_holding_the_roles_hands_them_to_another_within_15_s() {
    on_cluster(|cluster| async move {
        let mut a = cluster.serve();
        // The first process takes every role before its first housekeeping pass.
        until("A holding roles", Duration::from_secs(15), || async {
            !roles(&a.base).await.is_empty()
        })
        .await;
        let b = cluster.serve();
        let ready = get_json(&b.base, "/readyz").await;
        assert_eq!(ready["ready"], true, "{ready}");
        let held_by_a = roles(&a.base).await;
        assert!(
            roles(&b.base).await.is_empty(),
            "one holder per role: A holds {held_by_a:?}"
        );

        // SIGKILL: no release, no goodbye; PostgreSQL frees the locks with the connection.
        a.child.kill().unwrap();
        a.child.wait().unwrap();
        let hand_over = until("B holding A's roles", HAND_OVER_BOUND, || async {
            let held = roles(&b.base).await;
            held_by_a.iter().all(|r| held.contains(r))
        })
        .await;
        eprintln!(
            "hand-over after kill -9: {} ms ({} roles: {held_by_a:?})",
            hand_over.as_millis(),
            held_by_a.len()
        );

        // The survivor goes on taking and storing posts on its own.
        let text = "@acme still waiting for my refund";
        let status = deliver(&b.base, "d-b-after", &post("p-after", text)).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED);
        until(
            "the post stored by the survivor",
            Duration::from_secs(15),
            || async { inbox_texts(&b.base).await.iter().any(|t| t == text) },
        )
        .await;
    })
    .await;
}
