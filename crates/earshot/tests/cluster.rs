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

use earshot_lab::cluster::{Intake, Process, Services, Unavailable};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bound for a hand-over after the holder died.
const HAND_OVER_BOUND: Duration = Duration::from_secs(15);

/// One test's services: a fresh database and bus names no other test uses.
type Cluster = Arc<Services>;

/// Starts one `earshot serve` of `cluster` (its own data dir, a free port), listening.
fn serve(cluster: &Services) -> Process {
    cluster
        .serve_fresh(std::path::Path::new(env!("CARGO_BIN_EXE_earshot")))
        .unwrap()
}

fn skip_or_fail(e: Unavailable) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is required in CI: {}", e.what, e.why);
    }
    eprintln!(
        "SKIPPED (cluster test): {e}. Start it or set EARSHOT_TEST_NATS / EARSHOT_TEST_POSTGRES."
    );
}

/// Where the tests find PostgreSQL and NATS.
fn service_urls() -> (String, String) {
    let postgres = std::env::var("EARSHOT_TEST_POSTGRES")
        .unwrap_or_else(|_| earshot_lab::cluster::DEFAULT_POSTGRES.into());
    let nats = std::env::var("EARSHOT_TEST_NATS")
        .unwrap_or_else(|_| earshot_lab::cluster::DEFAULT_NATS.into());
    (postgres, nats)
}

/// Runs `test` on a fresh database and unique bus names, then removes both (also after a
/// failure, which is then reported).
async fn on_cluster<F, Fut>(test: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (postgres, nats) = service_urls();
    let services = match Services::open(&postgres, &nats).await {
        Ok(s) => Arc::new(s),
        Err(e) => return skip_or_fail(e),
    };
    let outcome = tokio::spawn(test(services.clone())).await;
    if let Ok(services) = Arc::try_unwrap(services) {
        services.close().await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn client() -> reqwest::Client {
    earshot_lab::cluster::client().unwrap()
}

fn post(id: &str, text: &str) -> Vec<u8> {
    earshot_lab::cluster::post(id, text)
}

/// Delivers `body` to `base` as the webhook delivery `delivery`; the status it got.
async fn deliver(base: &str, delivery: &str, body: &[u8]) -> reqwest::StatusCode {
    Intake::new()
        .unwrap()
        .deliver(base, delivery, body)
        .await
        .unwrap()
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
    earshot_lab::cluster::roles(&client(), base).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_to_one_process_shows_in_anothers_inbox_and_one_heard_by_both_is_stored_once() {
    on_cluster(|cluster| async move {
        let a = serve(&cluster);
        let b = serve(&cluster);

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
        let mut a = serve(&cluster);
        // The first process takes every role before its first housekeeping pass.
        until("A holding roles", Duration::from_secs(15), || async {
            !roles(&a.base).await.is_empty()
        })
        .await;
        let b = serve(&cluster);
        let ready = get_json(&b.base, "/readyz").await;
        assert_eq!(ready["ready"], true, "{ready}");
        let held_by_a = roles(&a.base).await;
        assert!(
            roles(&b.base).await.is_empty(),
            "one holder per role: A holds {held_by_a:?}"
        );

        // SIGKILL: no release, no goodbye; PostgreSQL frees the locks with the connection.
        a.kill();
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

/// `earshot bench cluster` small, with a kill: what its figures say must hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_bench_with_a_kill_loses_and_doubles_no_post_and_no_page() {
    let (postgres, nats) = service_urls();
    match Services::open(&postgres, &nats).await {
        Ok(s) => s.close().await,
        Err(e) => return skip_or_fail(e),
    }
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["bench", "cluster", "--processes", "2", "--posts", "300"])
        .args(["--rate", "200", "--kill-one", "--no-baseline", "--json"])
        .args(["--pg", &postgres, "--nats", &nats])
        .env_remove("EARSHOT_CONFIG")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let Some(last) = stdout.lines().last() else {
        panic!("the bench printed nothing; its log:\n{stderr}");
    };
    let summary: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("not the JSON summary ({e}): {last}\n{stderr}"));
    let c = &summary["cluster"];
    eprintln!("{c}");
    assert_eq!(c["processes"], 2, "{c}");
    assert_eq!(c["sent"], 300, "every post accepted by some process: {c}");
    assert_eq!(c["stored_once"], 300, "{c}");
    assert_eq!(c["lost"], 0, "{c}");
    assert_eq!(c["doubled"], 0, "{c}");
    // One post in 20 is urgent: 15 pages, each received once.
    assert_eq!(c["pages"]["expected"], 15, "{c}");
    assert_eq!(c["pages"]["received"], 15, "{c}");
    assert_eq!(c["pages"]["doubled"], 0, "{c}");
    assert_eq!(c["pages"]["refused"], 0, "{c}");
    let hand_over = c["hand_over_seconds"].as_f64();
    assert!(
        hand_over.is_some_and(|s| s <= HAND_OVER_BOUND.as_secs_f64()),
        "roles moved within 15 s: {c}"
    );
    assert!(!c["roles_moved"].as_array().unwrap().is_empty(), "{c}");
    assert!(c["latency"]["samples"].as_u64().unwrap() > 0, "{c}");
    assert!(run.status.success(), "{stderr}");
}
