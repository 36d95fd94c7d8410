//! Cluster mode's bus against real NATS JetStream and PostgreSQL: heard posts are stored once
//! however often they are published or delivered, a post that keeps failing ends in the dead
//! letters, and a post heard by one process shows live in another's feed.
//!
//! NATS is found at `nats://127.0.0.1:4222` (or `EARSHOT_TEST_NATS`), PostgreSQL at
//! `postgres://postgres@127.0.0.1:5432/test` (or `EARSHOT_TEST_POSTGRES`); each test gets a
//! fresh database and its own stream, consumer and subjects, removed after. When either
//! cannot be reached a test is skipped with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::postgres;
use earshot_connect::notify::fake::FakeWebhookReceiver;
use earshot_core::{Author, Network, NewPost};
use earshot_server::bus::Bus;
use earshot_server::cluster::BusSettings;
use earshot_server::config::{Secret, Settings};
use earshot_server::pipeline::LiveEvent;
use earshot_server::signature::Verifier;
use earshot_server::{App, Desk};
use futures::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";
const SECRET: &str = "bus-tests-secret-0123456789abcdef";

/// One test's services: a fresh database and bus names no other test uses.
struct Cluster {
    db_url: String,
    nats_url: String,
    /// Unique to the test: the stream, consumer and subject prefix are made from it.
    tag: String,
}

impl Cluster {
    fn bus_settings(&self) -> BusSettings {
        BusSettings {
            url: self.nats_url.clone(),
            stream: format!("T_{}", self.tag),
            consumer: format!("ingest_{}", self.tag),
            subjects: format!("t{}", self.tag),
            max_deliveries: 3,
            ack_wait_seconds: 1,
        }
    }

    fn settings(&self, dir: &std::path::Path) -> Settings {
        let mut s = Settings {
            data_dir: dir.to_path_buf(),
            db: self.db_url.clone(),
            listen: "127.0.0.1:0".into(),
            bus: self.bus_settings(),
            ..Settings::default()
        };
        s.brand.handles = vec!["voltra".into()];
        s.webhook.secret = Secret::new(SECRET);
        common::with_api_token(&mut s);
        s
    }

    /// One process's desk on the shared database.
    async fn desk(&self, dir: &std::path::Path) -> Arc<Desk> {
        earshot_server::app::desk(&self.settings(dir))
            .await
            .unwrap()
    }

    async fn bus(&self) -> Arc<Bus> {
        Arc::new(Bus::connect(&self.bus_settings()).await.unwrap())
    }
}

fn skip_or_fail(what: &str, why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required in CI: {why}");
    }
    eprintln!("SKIPPED (bus test): {what}: {why}. Start it or set EARSHOT_TEST_NATS / EARSHOT_TEST_POSTGRES.");
}

/// Runs `test` with a fresh database and unique bus names, then removes both (also after a
/// failure, which is then reported).
async fn on_cluster<F, Fut>(test: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
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
    let base = postgres::base_url();
    let admin = match postgres::connect_admin(&base).await {
        Ok(admin) => admin,
        Err(why) => return skip_or_fail(&format!("PostgreSQL at {base}"), &why),
    };
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let db = format!("earshot_bus_{tag}");
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    let cluster = Cluster {
        db_url: postgres::with_database(&base, &db),
        nats_url,
        tag: tag.clone(),
    };
    let outcome = tokio::spawn(test(cluster)).await;
    let jetstream = async_nats::jetstream::new(nats);
    let _ = jetstream.delete_stream(format!("T_{tag}")).await;
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn heard(id: &str, text: &str) -> NewPost {
    NewPost::new(
        Network::X,
        id,
        Author::new(format!("u-{id}"), format!("customer{id}")),
        text,
        Utc::now(),
    )
}

/// Polls `check` every 50 ms until it holds; fails naming `what` after `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < until,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn posts_stored(desk: &Desk) -> u64 {
    desk.store().counts().await.unwrap().posts
}

/// Heard posts neither waiting for a worker nor held by one.
async fn drained(bus: &Bus) -> bool {
    let h = bus.health().await.unwrap();
    h.pending == 0 && h.in_flight == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_published_twice_is_one_message_and_stored_once() {
    on_cluster(|c| async move {
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        let post = heard("1001", "@voltra my charger stopped working");
        let first = bus
            .publish_heard(std::slice::from_ref(&post))
            .await
            .unwrap();
        let again = bus
            .publish_heard(std::slice::from_ref(&post))
            .await
            .unwrap();
        assert_eq!((first.queued, first.already_queued), (1, 0));
        assert_eq!(
            (again.queued, again.already_queued),
            (0, 1),
            "JetStream drops the second publish by its message id"
        );
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let workers = bus.start_ingest(desk.pipeline().clone(), stop);
        eventually("the post is stored", Duration::from_secs(10), || async {
            posts_stored(&desk).await == 1
        })
        .await;
        eventually("the bus is drained", Duration::from_secs(10), || {
            drained(&bus)
        })
        .await;
        assert_eq!(posts_stored(&desk).await, 1);
        assert_eq!(desk.store().counts().await.unwrap().conversations, 1);
        // An edit (same id, new text) is not swallowed as a repeat: it is stored as an edit.
        let edited = heard("1001", "@voltra my charger stopped working again");
        let published = bus.publish_heard(&[edited]).await.unwrap();
        assert_eq!(published.queued, 1);
        eventually("the edit is taken", Duration::from_secs(10), || {
            drained(&bus)
        })
        .await;
        assert_eq!(posts_stored(&desk).await, 1, "an edit is no second post");
        stop_tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
    })
    .await;
}

/// One pull of at most one heard post, as a worker makes it: `None` when none came within
/// `expires`.
async fn take_one(
    consumer: &async_nats::jetstream::consumer::PullConsumer,
    expires: Duration,
) -> Option<async_nats::jetstream::Message> {
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(expires)
        .messages()
        .await
        .unwrap();
    batch.next().await.and_then(Result::ok)
}

/// The next post JetStream delivers (again), waited for up to 10 s.
async fn delivered_again(
    consumer: &async_nats::jetstream::consumer::PullConsumer,
) -> async_nats::jetstream::Message {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = take_one(consumer, Duration::from_millis(500)).await {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the post was not delivered again within 10 s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ack_wait_reaches_the_consumer_an_earlier_start_made() {
    on_cluster(|c| async move {
        let mut settings = c.bus_settings();
        settings.ack_wait_seconds = 30;
        let first = Bus::connect(&settings).await.unwrap();
        let mut consumer = first.consumer().await.unwrap();
        assert_eq!(
            consumer.info().await.unwrap().config.ack_wait,
            Duration::from_secs(30)
        );
        // The next start is configured with 1 s: the same durable consumer now waits 1 s.
        let again = c.bus().await;
        let mut consumer = again.consumer().await.unwrap();
        assert_eq!(
            consumer.info().await.unwrap().config.ack_wait,
            Duration::from_secs(1)
        );
        // And posts still flow through it.
        again
            .publish_heard(&[heard("2001", "@voltra where is my parcel?")])
            .await
            .unwrap();
        assert!(take_one(&consumer, Duration::from_secs(5)).await.is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_still_committing_keeps_its_posts_past_ack_wait() {
    on_cluster(|c| async move {
        let bus = c.bus().await;
        bus.publish_heard(&[heard("2101", "@voltra my order never arrived")])
            .await
            .unwrap();
        let consumer = bus.consumer().await.unwrap();
        let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
        let held = batch.next().await.unwrap().unwrap();
        drop(batch);
        let post: NewPost = serde_json::from_slice(&held.payload).unwrap();
        let held = [(held, post)];
        // A commit that lasts 2.5 × ack_wait (1 s), while another worker asks for posts.
        let another_worker = async {
            let until = tokio::time::Instant::now() + Duration::from_millis(2500);
            let mut taken = 0;
            while tokio::time::Instant::now() < until {
                if take_one(&consumer, Duration::from_millis(300))
                    .await
                    .is_some()
                {
                    taken += 1;
                }
            }
            taken
        };
        let ((), taken) = tokio::join!(
            bus.holding(&held, tokio::time::sleep(Duration::from_millis(2500))),
            another_worker
        );
        assert_eq!(
            taken, 0,
            "a post still being committed went to another worker"
        );
        // Once nobody says it is working on it (and it was never acknowledged), it comes back.
        let again = delivered_again(&consumer).await;
        assert_eq!(again.info().unwrap().delivered, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_delivered_again_after_its_commit_is_stored_once() {
    on_cluster(|c| async move {
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        bus.publish_heard(&[heard("2002", "@voltra the app logs me out")])
            .await
            .unwrap();
        // A worker that commits and dies before its ack: the post is stored, not acknowledged.
        let consumer = bus.consumer().await.unwrap();
        let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
        let first = batch.next().await.unwrap().unwrap();
        assert_eq!(first.info().unwrap().delivered, 1);
        let post: NewPost = serde_json::from_slice(&first.payload).unwrap();
        desk.pipeline().ingest(vec![post]).await.unwrap();
        assert_eq!(posts_stored(&desk).await, 1);
        drop(batch);
        // After ack_wait (1 s) JetStream delivers it again, to the next worker.
        let again = delivered_again(&consumer).await;
        assert_eq!(again.info().unwrap().delivered, 2);
        bus.ingest_batch(desk.pipeline(), vec![again]).await;
        assert_eq!(
            posts_stored(&desk).await,
            1,
            "the redelivery stored nothing new"
        );
        assert_eq!(desk.store().counts().await.unwrap().conversations, 1);
        eventually(
            "the redelivery is acknowledged",
            Duration::from_secs(5),
            || drained(&bus),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_keeps_failing_goes_to_the_dead_letters_after_max_deliveries() {
    on_cluster(|c| async move {
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        // Not a post at all: every worker fails on it.
        let jetstream = async_nats::jetstream::new(async_nats::connect(&c.nats_url).await.unwrap());
        jetstream
            .publish(
                bus.names().heard(Network::X),
                "{\"not\": \"a post\"}".into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        // A good post beside it is stored as usual.
        bus.publish_heard(&[heard("3003", "@voltra where is my refund")])
            .await
            .unwrap();
        assert_eq!(bus.dead_letters().await.unwrap(), 0);
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let workers = bus.start_ingest(desk.pipeline().clone(), stop);
        eventually(
            "the bad post is a dead letter",
            Duration::from_secs(20),
            || async { bus.dead_letters().await.unwrap() == 1 },
        )
        .await;
        eventually("the bus is drained", Duration::from_secs(10), || {
            drained(&bus)
        })
        .await;
        let health = bus.health().await.unwrap();
        assert_eq!((health.dead_letters, health.dead_lettered_here), (1, 1));
        assert_eq!(posts_stored(&desk).await, 1);
        // The letter keeps the post as sent, why it failed and how often it was tried.
        let stream = jetstream
            .get_stream(&c.bus_settings().stream)
            .await
            .unwrap();
        let letter = stream
            .get_last_raw_message_by_subject(&bus.names().dead_letters())
            .await
            .unwrap();
        assert_eq!(&letter.payload[..], b"{\"not\": \"a post\"}");
        let headers = letter.headers;
        assert_eq!(
            headers.get("Earshot-Deliveries").map(|v| v.as_str()),
            Some("3")
        );
        let reason = headers.get("Earshot-Reason").unwrap().as_str().to_string();
        assert!(reason.contains("not a heard post"), "{reason}");
        stop_tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
    })
    .await;
}

/// The post ids of the `PostStored` events a feed shows: the first must come within `limit`,
/// the rest are collected for `window` after it (a second showing would come then).
async fn stored_events(
    feed: &mut broadcast::Receiver<LiveEvent>,
    limit: Duration,
    window: Duration,
) -> Vec<i64> {
    let mut seen = vec![];
    let mut until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, feed.recv()).await {
            Ok(Ok(LiveEvent::PostStored { post_id, .. })) => {
                if seen.is_empty() {
                    until = tokio::time::Instant::now() + window;
                }
                seen.push(post_id);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("live feed: {e}"),
            Err(_) => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_heard_by_one_process_shows_live_in_the_other_once() {
    on_cluster(|c| async move {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (desk_a, desk_b) = (c.desk(dir_a.path()).await, c.desk(dir_b.path()).await);
        let (bus_a, bus_b) = (c.bus().await, c.bus().await);
        let a = App::with_desk_on_bus(c.settings(dir_a.path()), desk_a.clone(), bus_a)
            .await
            .unwrap();
        let b = App::with_desk_on_bus(c.settings(dir_b.path()), desk_b.clone(), bus_b)
            .await
            .unwrap();
        let base_a = a.address();
        tokio::spawn(a.run_until_stopped());
        tokio::spawn(b.run_until_stopped());
        let mut feed_a = desk_a.pipeline().subscribe();
        let mut feed_b = desk_b.pipeline().subscribe();

        // Signed and sent to process A only; it answers once the bus took the post.
        let body = serde_json::to_vec(&serde_json::json!({
            "network": "x", "id": "4004",
            "author": {"id": "u-4004", "handle": "ana", "name": "Ana"},
            "text": "@voltra my order never arrived", "created_at": Utc::now().to_rfc3339()
        }))
        .unwrap();
        let ts = Utc::now().timestamp();
        let signature = Verifier::new(SECRET, 300)
            .unwrap()
            .sign("msg-4004", ts, &body);
        let response = reqwest::Client::new()
            .post(format!("{base_a}/api/v1/posts"))
            .header("content-type", "application/json")
            .header("webhook-id", "msg-4004")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            (answer["queued"].as_u64(), answer["already_queued"].as_u64()),
            (Some(1), Some(0)),
            "{answer}"
        );

        // Whichever process's worker stored it, both feeds show it, each exactly once.
        let window = Duration::from_millis(1500);
        let in_a = stored_events(&mut feed_a, Duration::from_secs(10), window).await;
        let in_b = stored_events(&mut feed_b, Duration::from_secs(10), window).await;
        assert_eq!(
            in_a.len(),
            1,
            "process A's feed shows the post once: {in_a:?}"
        );
        assert_eq!(in_a, in_b, "process B's feed shows the same post once");
        assert_eq!(posts_stored(&desk_b).await, 1);

        // Health shows the bus to a signed-in caller, and nothing to a stranger.
        let stranger = reqwest::get(format!("{base_a}/api/v1/bus")).await.unwrap();
        assert_eq!(stranger.status(), 401);
        let health: serde_json::Value =
            common::live::get(&common::api_client(), &format!("{base_a}/api/v1/bus")).await;
        assert_eq!(health["connected"], true, "{health}");
        assert_eq!(health["dead_letters"], 0, "{health}");
    })
    .await;
}

/// A NATS server of the test's own (so it can be stopped), on a free port, storing in `dir`.
struct OwnNats {
    child: std::process::Child,
    url: String,
}

impl OwnNats {
    /// `None` (after saying why) when `nats-server` is not installed, outside CI.
    fn start(dir: &std::path::Path, port: u16) -> Option<OwnNats> {
        let child = std::process::Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match child {
            Ok(child) => Some(OwnNats {
                child,
                url: format!("nats://127.0.0.1:{port}"),
            }),
            Err(e) => {
                skip_or_fail("nats-server (to stop and restart one)", &e.to_string());
                None
            }
        }
    }

    async fn ready(&self) {
        let addr = self.url.trim_start_matches("nats://").to_string();
        eventually("nats-server listens", Duration::from_secs(10), || {
            let addr = addr.clone();
            async move { tokio::net::TcpStream::connect(addr).await.is_ok() }
        })
        .await;
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intake_refuses_while_the_bus_is_down_and_takes_the_retry_after() {
    on_cluster(|mut c| async move {
        let store_dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let Some(nats) = OwnNats::start(store_dir.path(), port) else {
            return;
        };
        nats.ready().await;
        c.nats_url = nats.url.clone();
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        let app = App::with_desk_on_bus(c.settings(dir.path()), desk.clone(), bus.clone())
            .await
            .unwrap();
        let base = app.address();
        tokio::spawn(app.run_until_stopped());
        let body = serde_json::to_vec(&serde_json::json!({
            "network": "x", "id": "5005",
            "author": {"id": "u-5005", "handle": "bo", "name": "Bo"},
            "text": "@voltra is the outage over?", "created_at": Utc::now().to_rfc3339()
        }))
        .unwrap();
        let send = |ts: i64| {
            let signature = Verifier::new(SECRET, 300)
                .unwrap()
                .sign("msg-5005", ts, &body);
            reqwest::Client::new()
                .post(format!("{base}/api/v1/posts"))
                .header("content-type", "application/json")
                .header("webhook-id", "msg-5005")
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature)
                .body(body.clone())
                .send()
        };

        nats.stop();
        let refused = send(Utc::now().timestamp()).await.unwrap();
        assert_eq!(refused.status(), 503);
        let why: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(why["error"], "bus_unavailable", "{why}");
        assert!(why["message"].as_str().unwrap().contains("retry"), "{why}");
        assert_eq!(posts_stored(&desk).await, 0);

        // NATS back (same storage): the sender's retry of the same delivery is taken.
        let nats = OwnNats::start(store_dir.path(), port).unwrap();
        nats.ready().await;
        eventually("the bus reconnects", Duration::from_secs(20), || async {
            bus.connected()
        })
        .await;
        let taken = send(Utc::now().timestamp()).await.unwrap();
        assert_eq!(taken.status(), 202, "{:?}", taken.text().await);
        eventually("the post is stored", Duration::from_secs(15), || async {
            posts_stored(&desk).await == 1
        })
        .await;
        nats.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_delivers_through_the_bus_and_its_cursor_moves_after() {
    use earshot_connect::source::Sink;
    on_cluster(|c| async move {
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        let sink =
            earshot_server::sink::PipelineSink::through(bus.clone(), desk.pipeline().clone());
        let batch = vec![
            heard("6001", "@voltra app crashes on start"),
            heard("6002", "@voltra still crashing"),
        ];
        sink.deliver("mastodon:voltra", batch.clone(), Some("cursor-6002".into()))
            .await
            .unwrap();
        // Taken by the bus, cursor stored; stored by whichever worker picks it up.
        assert_eq!(
            sink.cursor("mastodon:voltra").await.unwrap().as_deref(),
            Some("cursor-6002")
        );
        assert_eq!(bus.health().await.unwrap().pending, 2);
        // A source replaying the batch after a crash adds nothing to the bus.
        sink.deliver("mastodon:voltra", batch, Some("cursor-6002".into()))
            .await
            .unwrap();
        assert_eq!(bus.health().await.unwrap().pending, 2);
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let workers = bus.start_ingest(desk.pipeline().clone(), stop);
        eventually("both posts are stored", Duration::from_secs(10), || async {
            posts_stored(&desk).await == 2
        })
        .await;
        eventually("the bus is drained", Duration::from_secs(10), || {
            drained(&bus)
        })
        .await;
        stop_tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
    })
    .await;
}

// ---- what lived in one process's memory: spikes and presence ----

const HOOK_SECRET: &str = "whsec_YnVzLXRlc3RzLXNwaWtlcy1ob29rLTI0Yg==";

/// One process as `serve` runs it on the cluster: its base URL and desk.
async fn serve_on(c: &Cluster, settings: Settings) -> (String, Arc<Desk>) {
    let desk = earshot_server::app::desk(&settings).await.unwrap();
    let app = App::with_desk_on_bus(settings, desk.clone(), c.bus().await)
        .await
        .unwrap();
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    (base, desk)
}

/// Whether the process at `base` holds the role `role` (what `/readyz` lists).
async fn holds(base: &str, role: &str) -> bool {
    let v: serde_json::Value = reqwest::get(format!("{base}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["roles"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(role)))
}

/// The spikes a process lists through its API: (id, active, label terms).
async fn spikes_of(base: &str) -> Vec<(u64, bool, String)> {
    let v = common::live::get(&common::api_client(), &format!("{base}/api/v1/spikes")).await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_u64().unwrap(),
                s["active"].as_bool().unwrap(),
                s["label_terms"].to_string(),
            )
        })
        .collect()
}

fn customer_post(id: &str, author: &str, text: &str, at: chrono::DateTime<Utc>) -> NewPost {
    NewPost {
        from_brand: Some(false),
        lang: Some("en".into()),
        ..NewPost::new(
            Network::X,
            id,
            Author::new(format!("u-{author}"), author.to_string()),
            text,
            at,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_heard_through_two_processes_is_one_spike_both_list_alerted_once() {
    on_cluster(|c| async move {
        let hook = FakeWebhookReceiver::start(HOOK_SECRET).await.unwrap();
        let dirs = [(); 3].map(|()| tempfile::tempdir().unwrap());
        let settings = |dir: &std::path::Path| {
            let mut s = c.settings(dir);
            s.alerts.targets.push(common::alert_target(
                "ops",
                "webhook",
                &hook.url(),
                HOOK_SECRET,
            ));
            s
        };
        let (base_a, desk_a) = serve_on(&c, settings(dirs[0].path())).await;
        let (base_b, _desk_b) = serve_on(&c, settings(dirs[1].path())).await;
        // One of them counts spikes; its first pass starts from the newest post (none yet).
        eventually(
            "a process holds the spikes lease",
            Duration::from_secs(15),
            || async { holds(&base_a, "spikes").await || holds(&base_b, "spikes").await },
        )
        .await;
        assert!(
            !(holds(&base_a, "spikes").await && holds(&base_b, "spikes").await),
            "one holder"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;

        // A quiet night: the usual questions, one every two minutes, heard by A.
        let now = Utc::now();
        let t0 = now - chrono::Duration::hours(10);
        let quiet = common::quiet_night(t0, customer_post);
        let bus_a = c.bus().await;
        let bus_b = c.bus().await;
        bus_a.publish_heard(&quiet).await.unwrap();
        eventually("the night is stored", Duration::from_secs(30), || async {
            posts_stored(&desk_a).await == 300
        })
        .await;
        // Then 60 people in the last minute ask for flights to a festival, half of them
        // heard by each process.
        let onset = now - chrono::Duration::seconds(60);
        let surge: Vec<NewPost> = (0..60i64)
            .map(|i| {
                customer_post(
                    &format!("s-{i}"),
                    &format!("fan{i}"),
                    &format!("Any extra flights to Roskilde Festival? #{i}"),
                    onset + chrono::Duration::seconds(i),
                )
            })
            .collect();
        bus_a.publish_heard(&surge[..30]).await.unwrap();
        bus_b.publish_heard(&surge[30..]).await.unwrap();

        // Both list the same one spike.
        eventually(
            "both processes list the spike",
            Duration::from_secs(30),
            || async {
                let (a, b) = (spikes_of(&base_a).await, spikes_of(&base_b).await);
                a.len() == 1 && a == b && a[0].1
            },
        )
        .await;
        let listed = spikes_of(&base_a).await;
        assert!(
            listed[0].2.contains("roskild") || listed[0].2.contains("flight"),
            "{listed:?}"
        );

        // Alerted once (whichever process counted it; nothing more follows).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let alerted: Vec<String> = hook
            .deliveries()
            .iter()
            .map(|d| d.json())
            .filter_map(|e| e["alert"]["dedupe_key"].as_str().map(str::to_string))
            .filter(|k| k.starts_with("spike:"))
            .collect();
        assert_eq!(alerted, [format!("spike:{}", listed[0].0)]);

        // A process started later (a restart) lists the stored spike as it is.
        let (base_c, _desk_c) = serve_on(&c, settings(dirs[2].path())).await;
        assert_eq!(spikes_of(&base_c).await, listed);
    })
    .await;
}

/// A signed-in session of `user` on the process at `base`: (cookie, CSRF token).
async fn session(desk: &Desk, base: &str, user: &str) -> (String, String) {
    use earshot_server::web::auth;
    let person = desk.store().credentials(user).await.unwrap().unwrap().user;
    let token = auth::start_session(desk.store(), &person).await.unwrap();
    let cookie = format!("{}={}", auth::SESSION_COOKIE, token.expose());
    let inbox = reqwest::Client::new()
        .get(format!("{base}/inbox"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200, "{user} is signed in");
    let csrf = common::field(&inbox.text().await.unwrap(), "csrf");
    (cookie, csrf)
}

/// Reports (`active`) or asks who else is replying to `conversation`: the others.
async fn typing(
    base: &str,
    (cookie, csrf): &(String, String),
    conversation: i64,
    active: bool,
) -> Vec<String> {
    let r = reqwest::Client::new()
        .post(format!("{base}/c/{conversation}/typing"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("active", if active { "1" } else { "0" }),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    serde_json::from_value(v["others"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_replying_on_one_process_is_seen_on_the_other() {
    use earshot_store::people::Role;
    on_cluster(|c| async move {
        let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (base_a, desk_a) = serve_on(&c, c.settings(dir_a.path())).await;
        let (base_b, desk_b) = serve_on(&c, c.settings(dir_b.path())).await;
        common::add_people(&desk_a, &[("maria", Role::Agent), ("bo", Role::Agent)]).await;
        let conversation = desk_a
            .pipeline()
            .ingest(vec![heard("7007", "@voltra I was charged twice")])
            .await
            .unwrap()
            .posts[0]
            .conversation_id
            .unwrap()
            .0;
        let maria = session(&desk_a, &base_a, "maria").await;
        let bo = session(&desk_b, &base_b, "bo").await;
        let mut feed_b = desk_b.pipeline().subscribe();

        // Maria types on A; bo, whose page is served by B, is told.
        assert!(typing(&base_a, &maria, conversation, true).await.is_empty());
        let event = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(LiveEvent::Replying {
                    conversation_id,
                    person,
                }) = feed_b.recv().await
                {
                    break (conversation_id.0, person);
                }
            }
        })
        .await
        .expect("B's live feed shows maria replying");
        assert_eq!(event, (conversation, "maria".to_string()));
        eventually("B names maria replying", Duration::from_secs(5), || async {
            typing(&base_b, &bo, conversation, false).await == ["maria"]
        })
        .await;
        // And the other way round.
        typing(&base_b, &bo, conversation, true).await;
        eventually("A sees bo replying", Duration::from_secs(5), || async {
            typing(&base_a, &maria, conversation, false).await == ["bo"]
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_with_their_reason_and_replayed_into_the_store() {
    on_cluster(|c| async move {
        let dir = tempfile::tempdir().unwrap();
        let desk = c.desk(dir.path()).await;
        let bus = c.bus().await;
        // A post whose store is gone fails every try and becomes a dead letter; so does
        // something that is no post.
        let good = heard("8008", "@voltra my parcel is lost");
        let gone = postgres::fresh_database("earshot_bus_gone").await.unwrap();
        let gone_url = gone.url.clone();
        let failing = earshot_server::app::desk(&Settings {
            db: gone_url,
            ..c.settings(dir.path())
        })
        .await
        .unwrap();
        gone.drop_database().await;
        bus.publish_heard(std::slice::from_ref(&good))
            .await
            .unwrap();
        let jetstream = async_nats::jetstream::new(async_nats::connect(&c.nats_url).await.unwrap());
        jetstream
            .publish(bus.names().heard(Network::X), "not a post".into())
            .await
            .unwrap()
            .await
            .unwrap();
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let workers = bus.start_ingest(failing.pipeline().clone(), stop);
        eventually("both are dead letters", Duration::from_secs(30), || async {
            bus.dead_letters().await.unwrap() == 2
        })
        .await;
        stop_tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }

        let letters = bus.dead_letter_posts(10).await.unwrap();
        assert_eq!(letters.len(), 2);
        // In the order they failed.
        let (post_letter, post) = letters.iter().find(|(_, p)| p.is_some()).unwrap();
        let other = letters.iter().find(|(_, p)| p.is_none()).unwrap();
        assert_eq!(post_letter.post.as_deref(), Some("x:8008"));
        assert_eq!(post.as_ref().unwrap().text, good.text);
        assert!(!post_letter.reason.is_empty(), "{post_letter:?}");
        assert_eq!(post_letter.deliveries, Some(3));
        assert_eq!(post_letter.subject, bus.names().heard(Network::X));
        assert_eq!(other.0.post, None, "not a post: {:?}", other.0);
        assert!(other.0.reason.contains("not a heard post"), "{:?}", other.0);

        // The store is back: replayed, the post is stored once and its letter is gone; what
        // is no post stays.
        let done = bus.replay_dead_letters(10).await.unwrap();
        assert_eq!(done.replayed.len(), 1);
        assert_eq!(done.kept.len(), 1);
        assert_eq!(bus.dead_letters().await.unwrap(), 1);
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let workers = bus.start_ingest(desk.pipeline().clone(), stop);
        eventually(
            "the replayed post is stored",
            Duration::from_secs(10),
            || async { posts_stored(&desk).await == 1 },
        )
        .await;
        // Replaying again (nothing left to replay) and the post heard again add nothing.
        assert!(bus
            .replay_dead_letters(10)
            .await
            .unwrap()
            .replayed
            .is_empty());
        bus.publish_heard(&[good]).await.unwrap();
        eventually("the bus is drained", Duration::from_secs(10), || {
            drained(&bus)
        })
        .await;
        assert_eq!(posts_stored(&desk).await, 1);
        stop_tx.send(true).unwrap();
        for w in workers {
            w.await.unwrap();
        }
    })
    .await;
}
