//! Grouping is one truth across processes: two desks on one PostgreSQL database, asks of one
//! request heard by both at once, end in one stored request; when the process that groups
//! goes away, the other takes the lease and groups the next asks into that same request.
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points; each test gets a fresh database, dropped after. Without
//! PostgreSQL the tests are skipped with a message, except when `CI=true`: then they fail.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::postgres::fresh_database;
use earshot_core::feedback::RequestId;
use earshot_core::{Author, Network, NewPost};
use earshot_server::config::Settings;
use earshot_server::desk::Desk;
use earshot_server::feedback::catch_up;
use earshot_server::lease::Leases;
use earshot_server::responder::Responders;
use earshot_store::postgres::PgOptions;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a hand-over may take at most (issue 15).
const HAND_OVER_BOUND: Duration = Duration::from_secs(15);

/// One "process": a desk on the shared database, its leases, and its grouping loop as
/// `serve` starts it where processes share a store.
struct Process {
    desk: Arc<Desk>,
    leases: Leases,
    stop: tokio::sync::watch::Sender<bool>,
    grouping: tokio::task::JoinHandle<()>,
}

async fn process(url: &str) -> Process {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings {
        data_dir: dir.path().to_path_buf(),
        ..Settings::default()
    };
    s.db = url.to_string();
    s.brand.handles = vec!["voltra".into()];
    let store = earshot_store::open(url).await.unwrap();
    let pipeline = common::pipeline(&s, store);
    let desk = Arc::new(Desk::new(pipeline, Responders::default(), "voltra"));
    let leases = Leases::postgres(url, PgOptions::default());
    let stop = tokio::sync::watch::channel(false).0;
    let grouping = catch_up::spawn(
        desk.feedback().clone(),
        leases.role("grouping"),
        stop.subscribe(),
    );
    Process {
        desk,
        leases,
        stop,
        grouping,
    }
}

/// The same ask, as different customers word it.
const ASKS: [&str; 3] = [
    "@voltra please add a dark mode to the app, the white screen hurts my eyes at night",
    "@voltra can you please add a dark mode to the app? the white screen hurts my eyes at night",
    "@voltra please add dark mode to the app, the white screen hurts my eyes at night!",
];

fn ask(n: usize) -> NewPost {
    NewPost {
        from_brand: Some(false),
        ..NewPost::new(
            Network::X,
            format!("ask-{n}"),
            Author {
                followers: Some(100),
                ..Author::new(format!("id-customer{n}"), format!("customer{n}"))
            },
            ASKS[n % ASKS.len()],
            Utc::now(),
        )
    }
}

/// Asks about other things, heard before the rest.
const WARM_UP: [&str; 2] = [
    "@voltra please add apple carplay support to the app, I need it in the car",
    "@voltra please add spotify support to the app, I want my music in the car",
];

async fn p_hear(p: &Process, id: &str, text: &str) -> i64 {
    let mut post = ask(0);
    post.external_id = id.to_string();
    post.author.external_id = format!("id-{id}");
    post.author.handle = id.to_string();
    post.text = text.to_string();
    p.desk.pipeline().ingest(vec![post]).await.unwrap().posts[0].post_id
}

/// Hears asks `range` through `p`, one post per batch.
async fn hear(p: &Process, range: std::ops::Range<usize>) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in range {
        let report = p.desk.pipeline().ingest(vec![ask(n)]).await.unwrap();
        ids.push(report.posts[0].post_id);
    }
    ids
}

/// The requests the posts are in, once every one is in one (or the deadline passed).
async fn requests_of(p: &Process, posts: &[i64]) -> Vec<Option<RequestId>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut found = Vec::new();
        for &post in posts {
            found.push(p.desk.store().request_of_post(post).await.unwrap());
        }
        if found.iter().all(Option::is_some) || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_requests(p: &Process) -> Vec<RequestId> {
    let mut open: Vec<RequestId> = p
        .desk
        .store()
        .requests(None, Utc::now())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    open.sort();
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_heard_by_two_processes_at_once_are_one_request_and_stay_one_after_a_hand_over() {
    let Some(db) = fresh_database("earshot_grouping").await else {
        return;
    };
    let mut a = process(&db.url).await;
    let b = process(&db.url).await;
    a.leases.keep().await.unwrap();
    b.leases.keep().await.unwrap();
    assert_eq!(a.leases.held(), ["grouping"]);
    assert!(b.leases.held().is_empty());

    // Each process has grouped before (a grouper loaded once per process would not see a
    // request another process opens after that).
    let warm_a = p_hear(&a, "warm-a", WARM_UP[0]).await;
    let warm_b = p_hear(&b, "warm-b", WARM_UP[1]).await;
    let warm = requests_of(&a, &[warm_a, warm_b]).await;
    assert!(
        warm.iter().all(Option::is_some),
        "warm-up asks grouped: {warm:?}"
    );
    let warm: BTreeSet<_> = warm.into_iter().flatten().collect();

    // Both processes hear asks of one new request at the same time.
    let (from_a, from_b) = tokio::join!(hear(&a, 0..8), hear(&b, 8..16));
    let posts: Vec<i64> = from_a.iter().chain(&from_b).copied().collect();
    let placed = requests_of(&a, &posts).await;
    assert!(
        placed.iter().all(Option::is_some),
        "every ask is grouped (the holder catches up with the other's): {placed:?}"
    );
    let distinct: BTreeSet<_> = placed.iter().flatten().copied().collect();
    assert_eq!(distinct.len(), 1, "one request for one ask: {placed:?}");
    let request = *distinct.first().unwrap();
    assert!(
        !warm.contains(&request),
        "dark mode is a request of its own"
    );
    let mut expected: Vec<_> = warm.iter().copied().chain([request]).collect();
    expected.sort();
    assert_eq!(open_requests(&b).await, expected);

    // The holder goes away (its leases released as at shutdown): the other takes over.
    let _ = a.stop.send(true);
    (&mut a.grouping).await.unwrap();
    a.leases.release_all().await;
    let started = Instant::now();
    while b.leases.held().is_empty() {
        assert!(
            started.elapsed() < HAND_OVER_BOUND,
            "grouping not taken over"
        );
        let _ = b.leases.keep().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.leases.held(), ["grouping"]);

    // Asks heard by both after the hand-over join the stored request: the new holder's
    // grouper was reloaded from the store, and the old one no longer groups.
    let (late_a, late_b) = tokio::join!(hear(&a, 16..20), hear(&b, 20..24));
    let late: Vec<i64> = late_a.iter().chain(&late_b).copied().collect();
    let placed = requests_of(&b, &late).await;
    assert!(
        placed.iter().all(|r| *r == Some(request)),
        "asks after the hand-over join request {request}: {placed:?}"
    );
    assert_eq!(open_requests(&b).await, expected);

    let _ = b.stop.send(true);
    b.grouping.await.unwrap();
    b.leases.release_all().await;
    db.drop_database().await;
}
