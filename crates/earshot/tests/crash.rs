//! Crashes as real processes: the built `earshot` is killed with SIGKILL in the middle of an
//! import, of a burst of signed posts and of release notifications, then run again; every post
//! must be stored once and every customer told once.
//!
//! Where the kill lands is left to timing, so each test checks that it landed where it meant
//! to (some of the work done, not all) and otherwise tries again with another delay: the kill
//! point is retried, the assertions never are.
#![allow(clippy::unwrap_used)]

use earshot_connect::mastodon::fake::{FakeMastodon, NewMention};
use earshot_server::signature::Verifier;
use earshot_store::Store;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_c2VjcmV0LWZvci1lYXJzaG90LWFwaS10ZXN0cy0wMDAx";

fn earshot(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
    c.arg("--data-dir")
        .arg(data)
        .env("EARSHOT__BRAND__HANDLES", "[\"acme\"]")
        .env("EARSHOT__WEBHOOK__SECRET", SECRET)
        .env_remove("EARSHOT_CONFIG");
    c
}

/// SIGKILL: no destructor, no flush, nothing.
fn kill9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn store(data: &Path) -> Arc<dyn Store> {
    earshot_store::open(&data.join("earshot.db").display().to_string())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Import.

/// Customers writing, the brand answering every third of them: canonical JSONL.
fn timeline(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let at = chrono::DateTime::from_timestamp(1_704_067_200 + i as i64 * 30, 0)
            .unwrap()
            .to_rfc3339();
        let line = if i % 3 == 2 {
            serde_json::json!({"network": "x", "id": format!("p{i}"), "author": {"id": "acme", "handle": "acme"},
                "text": "@c We are on it!", "created_at": at, "in_reply_to": format!("p{}", i - 1), "from_brand": true})
        } else {
            serde_json::json!({"network": "x", "id": format!("p{i}"), "author": {"id": format!("c{}", i % 997), "handle": format!("c{}", i % 997)},
                "text": format!("@acme my charger number {i} is broken"), "created_at": at})
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn import(data: &Path, file: &Path) -> Child {
    earshot(data)
        .args(["import", "--batch", "500", "--json"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_midway_and_run_again_stores_every_post_once() {
    const N: usize = 12_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("timeline.jsonl");
    std::fs::write(&file, timeline(N)).unwrap();

    // What a clean import makes of the file.
    let clean = dir.path().join("clean");
    assert!(import(&clean, &file).wait().unwrap().success());
    let expected = store(&clean).await.counts().await.unwrap();
    assert_eq!(expected.posts, N as u64);

    // Killed somewhere in the middle: retry the kill point until some but not all is stored.
    let mut delay = Duration::from_millis(400);
    let mut crashed = None;
    for attempt in 0..12 {
        let data = dir.path().join(format!("crash-{attempt}"));
        let mut child = import(&data, &file);
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        kill9(&mut child);
        let stored = if data.join("earshot.db").exists() {
            store(&data).await.counts().await.unwrap().posts
        } else {
            0
        };
        if !finished && stored > 0 && stored < N as u64 {
            crashed = Some((data, stored));
            break;
        }
        delay = if stored == 0 { delay * 2 } else { delay / 2 };
    }
    let (data, before) = crashed.expect("no kill landed in the middle of the import");

    // Run again: the rest comes in, nothing twice.
    let again = import(&data, &file).wait_with_output().unwrap();
    assert!(again.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["new"], N as u64 - before, "{summary}");
    assert_eq!(summary["duplicates"], before, "{summary}");
    let after = store(&data).await.counts().await.unwrap();
    assert_eq!(after.posts, expected.posts);
    assert_eq!(
        after.conversations, expected.conversations,
        "threaded as a clean import"
    );
    assert_eq!(after.open_conversations, expected.open_conversations);
}

// ---------------------------------------------------------------------------------------
// A burst of signed posts.

/// `earshot serve` on a free port; its base URL once it listens.
fn serve(data: &Path, config: Option<&Path>) -> (Child, String) {
    let mut cmd = earshot(data);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.strip_prefix("earshot is listening on ") {
                if !sent {
                    let _ = tx.send(at.split_whitespace().next().unwrap_or_default().to_string());
                    sent = true;
                }
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server said where it listens");
    (child, base)
}

fn signed_post(i: usize) -> (String, Vec<u8>) {
    let body = serde_json::json!({"network": "x", "id": format!("burst-{i}"),
        "author": {"id": format!("u{i}"), "handle": format!("user{i}")},
        "text": format!("@acme order {i} never came"), "created_at": chrono::Utc::now().to_rfc3339()});
    (format!("burst-{i}"), serde_json::to_vec(&body).unwrap())
}

/// Sends post `i` until the server takes it, following the server to its new address after
/// a restart. Each try is a new delivery (its own webhook id), as a sender's retry would be.
async fn deliver(client: &reqwest::Client, base: &tokio::sync::RwLock<String>, i: usize) {
    let verifier = Verifier::new(SECRET, 300).unwrap();
    let (_, body) = signed_post(i);
    let started = Instant::now();
    for attempt in 0.. {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "post {i} never taken"
        );
        let id = format!("msg-{i}-{attempt}");
        let ts = chrono::Utc::now().timestamp();
        let url = format!("{}/api/v1/posts", base.read().await);
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", verifier.sign(&id, ts, &body))
            .body(body.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) if r.status().is_client_error() => {
                panic!(
                    "post {i} refused: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_in_a_burst_of_signed_posts_keeps_each_post_once() {
    const N: usize = 240;
    const SENDERS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut server, first) = serve(&data, None);
    let base = Arc::new(tokio::sync::RwLock::new(first));
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let mut senders = vec![];
    for s in 0..SENDERS {
        let (base, taken, client) = (base.clone(), taken.clone(), client.clone());
        senders.push(tokio::spawn(async move {
            for i in (s..N).step_by(SENDERS) {
                deliver(&client, &base, i).await;
                taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    // Killed mid-burst, while requests are in flight; then started again on the same store.
    let started = Instant::now();
    while taken.load(std::sync::atomic::Ordering::SeqCst) < N / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the burst did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    kill9(&mut server);
    let at_kill = taken.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        at_kill < N,
        "the kill came after the burst: nothing to test"
    );
    let (mut server, second) = serve(&data, None);
    *base.write().await = second;
    for s in senders {
        s.await.unwrap();
    }
    kill9(&mut server);

    let store = store(&data).await;
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.posts, N as u64, "every post once");
    assert_eq!(
        counts.conversations, N as u64,
        "one conversation each, none doubled"
    );
}

// ---------------------------------------------------------------------------------------
// Release notifications.

const ASKERS: usize = 6;

fn config(dir: &Path, fake: &FakeMastodon) -> PathBuf {
    let path = dir.join("earshot.toml");
    std::fs::write(
        &path,
        format!(
            "[[connectors.mastodon]]\nbase_url = \"{}\"\nbrand_acct = \"acme\"\naccess_token = \"brand-token\"\npoll_interval_seconds = 1\n",
            fake.base_url()
        ),
    )
    .unwrap();
    path
}

fn release(data: &Path, config: &Path, ships: &str) -> Child {
    earshot(data)
        .arg("--config")
        .arg(config)
        .args(["release", "crash-1.0", "--ships", ships])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The brand's distinct replies on the fake, by the status they answer.
fn told(fake: &FakeMastodon) -> Vec<String> {
    let mut keys: Vec<String> = fake
        .received()
        .iter()
        .filter_map(|r| r.idempotency_key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_notifications_killed_midway_tell_every_asker_once_after_a_rerun() {
    let fake = FakeMastodon::start("brand-token").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &fake);
    for i in 0..ASKERS {
        fake.mention(NewMention::new(
            &format!("asker{i}@social.example"),
            "@acme please add a dark mode to the app",
        ));
    }

    // The server hears the asks and groups them; then it stops.
    let data = dir.path().join("data");
    let (mut server, _) = serve(&data, Some(&config));
    let started = Instant::now();
    let ships = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the asks were never grouped"
        );
        let out = earshot(&data)
            .arg("--config")
            .arg(&config)
            .args(["requests", "list", "--json"])
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let requests = list.as_array().cloned().unwrap_or_default();
        let askers: u64 = requests
            .iter()
            .map(|r| r["askers"].as_u64().unwrap_or(0))
            .sum();
        if askers == ASKERS as u64 {
            break requests
                .iter()
                .map(|r| r["id"].to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join(",");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    kill9(&mut server);
    assert_eq!(told(&fake).len(), 0);

    // Killed while telling them (paced a second apart): retry until some but not all are told.
    let mut crashed = false;
    for _ in 0..10 {
        let mut child = release(&data, &config, &ships);
        let started = Instant::now();
        while told(&fake).is_empty() && started.elapsed() < Duration::from_secs(60) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(1_300)).await;
        let finished = child.try_wait().unwrap().is_some();
        kill9(&mut child);
        let n = told(&fake).len();
        if !finished && n > 0 && n < ASKERS {
            crashed = true;
            break;
        }
        assert!(
            n < ASKERS,
            "every asker was told before the kill: nothing to test"
        );
    }
    assert!(crashed, "no kill landed in the middle of the notifications");

    // Run again: the rest are told, nobody twice.
    assert!(release(&data, &config, &ships).wait().unwrap().success());
    assert_eq!(told(&fake).len(), ASKERS, "every asker told");
    assert_eq!(fake.statuses_created(), ASKERS, "each of them once");
}
