//! A request's figures are kept on its row (migration 0040) so the requests page does not
//! read every ask. These tests recount them here, from the asks the test itself made and
//! where it put them, after grouping, concurrent asks, moves, a split and merges, on SQLite
//! and PostgreSQL; and check that the migration's back-fill counts an existing store alike.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::{Intent, Language};
use earshot_core::feedback::{Request, RequestId, RequestStatus};
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{Analysis, Author, Network, NewPost};
use earshot_store::postgres::PgStore;
use earshot_store::sqlite::SqliteStore;
use earshot_store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

mod backends;
use backends::suite;

suite!(counters_equal_a_recount_after_grouping_moves_and_merges);

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-03-01T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Four weeks after the first ask: the trend windows split the asks.
fn now() -> DateTime<Utc> {
    start() + Duration::days(28)
}

/// What the test knows of one ask, to recount from.
#[derive(Clone)]
struct Ask {
    post_id: i64,
    network: Network,
    author: String,
    followers: u64,
    at: DateTime<Utc>,
    lang: String,
}

/// The asks and where the test put each one.
#[derive(Default)]
struct Model {
    asks: HashMap<i64, Ask>,
    home: HashMap<i64, RequestId>,
}

impl Model {
    /// The request's figures counted from its asks, as the page shows them.
    fn recount(&self, r: &Request, now: DateTime<Utc>) -> Request {
        let mine: Vec<&Ask> = self
            .home
            .iter()
            .filter(|(_, home)| **home == r.id)
            .map(|(post, _)| &self.asks[post])
            .collect();
        let mut reach: HashMap<(Network, &str), u64> = HashMap::new();
        let mut languages: BTreeMap<String, u32> = BTreeMap::new();
        for a in &mine {
            let top = reach.entry((a.network, a.author.as_str())).or_default();
            *top = (*top).max(a.followers);
            *languages.entry(a.lang.clone()).or_default() += 1;
        }
        let week = now - Duration::days(7);
        let fortnight = now - Duration::days(14);
        Request {
            askers: reach.len() as u32,
            posts: mine.len() as u32,
            reach: reach.values().sum(),
            first_ask_at: mine.iter().map(|a| a.at).min().unwrap_or(r.created_at),
            latest_ask_at: mine.iter().map(|a| a.at).max().unwrap_or(r.created_at),
            languages,
            asks_last_7d: mine.iter().filter(|a| a.at >= week).count() as u32,
            asks_prior_7d: mine
                .iter()
                .filter(|a| a.at >= fortnight && a.at < week)
                .count() as u32,
            ..r.clone()
        }
    }
}

/// Every request (merged ones too) as the store counts it, beside the recount.
async fn check(store: &Arc<dyn Store>, model: &Model, step: &str) {
    let now = now();
    let mut listed = store.requests(None, now).await.unwrap();
    listed.extend(
        store
            .requests(Some(RequestStatus::Merged), now)
            .await
            .unwrap(),
    );
    let homes: HashSet<RequestId> = model.home.values().copied().collect();
    for h in &homes {
        assert!(listed.iter().any(|r| r.id == *h), "{step}: {h} not listed");
    }
    for r in &listed {
        assert_eq!(*r, model.recount(r, now), "{step}: request {}", r.id);
        let one = store.request(r.id, now, 0).await.unwrap().unwrap().request;
        assert_eq!(one, *r, "{step}: request {} read alone", r.id);
    }
}

fn ask(i: usize) -> Incoming {
    // Eleven customers; every fifth ask comes from Mastodon, where the same id is another
    // customer. A customer's follower count changes from ask to ask.
    let author = format!("c{}", i % 11);
    let network = if i.is_multiple_of(5) {
        Network::Mastodon
    } else {
        Network::X
    };
    let mut analysis = Analysis::default();
    analysis.language.language = Language::new(["en", "da", "de"][i % 3]);
    analysis.intent.label = Intent::FeatureRequest;
    Incoming {
        post: NewPost {
            network,
            external_id: format!("ask-{i}"),
            author: Author {
                external_id: author.clone(),
                handle: author,
                display_name: None,
                followers: Some(100 * ((i as u64 * 7) % 13)),
                verified: false,
                bot: false,
            },
            text: format!("Please add feature number {}", i % 4),
            // Fourteen hours apart: 48 asks span four weeks.
            created_at: start() + Duration::hours(14 * i as i64),
            in_reply_to: None,
            lang: None,
            url: None,
            from_brand: Some(false),
            raw: None,
        },
        analysis,
        from_brand: false,
    }
}

async fn ingest(store: &Arc<dyn Store>, model: &mut Model, asks: std::ops::Range<usize>) {
    let batch: Vec<Incoming> = asks.map(ask).collect();
    let report = store
        .ingest(batch.clone(), &TriagePolicy::default(), now())
        .await
        .unwrap();
    for incoming in batch {
        let p = &incoming.post;
        let stored = report
            .posts
            .iter()
            .find(|s| s.external_id == p.external_id)
            .unwrap();
        model.asks.insert(
            stored.post_id,
            Ask {
                post_id: stored.post_id,
                network: p.network,
                author: p.author.external_id.clone(),
                followers: p.author.followers.unwrap(),
                at: p.created_at,
                lang: incoming.analysis.language.language.code().to_string(),
            },
        );
    }
}

async fn put(store: &Arc<dyn Store>, model: &mut Model, post: i64, to: RequestId, by: &str) {
    store
        .add_to_request(post, to, 0.8, by, now())
        .await
        .unwrap();
    model.home.insert(post, to);
}

async fn merge(store: &Arc<dyn Store>, model: &mut Model, from: RequestId, into: RequestId) {
    store
        .merge_requests(from, into, "maria", now())
        .await
        .unwrap();
    for home in model.home.values_mut() {
        if *home == from {
            *home = into;
        }
    }
}

/// Groups, moves, splits and merges asks, checking the counters after each step; returns
/// what the test knows.
async fn a_season_of_asks(store: &Arc<dyn Store>) -> Model {
    let mut model = Model::default();
    ingest(store, &mut model, 0..48).await;
    let at = start();
    let mut ids = Vec::new();
    for title in ["Dark mode", "Seat memory", "Export CSV", "Offline maps"] {
        ids.push(store.create_request(title, at).await.unwrap());
    }
    let [a, b, c, d] = [ids[0], ids[1], ids[2], ids[3]];
    check(store, &model, "requests with no asks").await;

    // Grouping: asks in id order, as the grouper hands them.
    let mut posts: Vec<Ask> = model.asks.values().cloned().collect();
    posts.sort_by_key(|a| a.post_id);
    for (i, p) in posts.iter().enumerate().take(40) {
        put(
            store,
            &mut model,
            p.post_id,
            [a, a, b, c][i % 4],
            "grouping",
        )
        .await;
    }
    check(store, &model, "after grouping").await;

    // Asks of the same customers arriving at once: each customer is one asker.
    let mut concurrent = Vec::new();
    for p in &posts[40..] {
        let store = store.clone();
        let post = p.post_id;
        concurrent.push(tokio::spawn(async move {
            store
                .add_to_request(post, a, 0.7, "grouping", now())
                .await
                .unwrap();
        }));
    }
    for task in concurrent {
        task.await.unwrap();
    }
    for p in &posts[40..] {
        model.home.insert(p.post_id, a);
    }
    check(store, &model, "after concurrent asks").await;

    // An agent moves asks: into an empty request, between requests, and one where it is.
    for p in &posts[..6] {
        put(store, &mut model, p.post_id, d, "maria").await;
    }
    put(store, &mut model, posts[8].post_id, b, "maria").await;
    let home = model.home[&posts[9].post_id];
    put(store, &mut model, posts[9].post_id, home, "maria").await;
    check(store, &model, "after moves").await;

    // A split: the customer with the largest audience leaves for a request of their own.
    let split = store
        .create_request("Dark mode on tablets", at)
        .await
        .unwrap();
    let loudest = posts
        .iter()
        .filter(|p| model.home[&p.post_id] == a)
        .max_by_key(|p| (p.followers, p.post_id))
        .unwrap()
        .post_id;
    put(store, &mut model, loudest, split, "maria").await;
    check(store, &model, "after a split").await;

    merge(store, &mut model, b, a).await;
    merge(store, &mut model, c, d).await;
    check(store, &model, "after merges").await;
    model
}

async fn counters_equal_a_recount_after_grouping_moves_and_merges(store: Arc<dyn Store>) {
    a_season_of_asks(&store).await;
}

/// Takes migration 0040 back out (the same SQL on both databases), so that opening the
/// store again applies it to the asks already there.
const BEFORE_0040: &str = "DROP INDEX request_posts_by_time; DROP TABLE request_languages; \
    ALTER TABLE requests DROP COLUMN asks; ALTER TABLE requests DROP COLUMN askers; \
    ALTER TABLE requests DROP COLUMN reach; ALTER TABLE requests DROP COLUMN first_ask_at; \
    ALTER TABLE requests DROP COLUMN latest_ask_at; \
    DELETE FROM schema_migrations WHERE version = 40;";

async fn everything(store: &Arc<dyn Store>) -> Vec<Request> {
    let mut all = store.requests(None, now()).await.unwrap();
    all.extend(
        store
            .requests(Some(RequestStatus::Merged), now())
            .await
            .unwrap(),
    );
    all.sort_by_key(|r| r.id);
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migration_back_fills_the_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("earshot.db");
    let path = path.to_str().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.unwrap());
    let model = a_season_of_asks(&store).await;
    let kept = everything(&store).await;
    drop(store);
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(BEFORE_0040)
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).await.unwrap());
    assert_eq!(everything(&store).await, kept);
    check(&store, &model, "back-filled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migration_back_fills_the_counters() {
    backends::on_fresh_postgres(|url| async move {
        let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
        let model = a_season_of_asks(&store).await;
        let kept = everything(&store).await;
        drop(store);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(BEFORE_0040).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(PgStore::connect(&url).await.unwrap());
        assert_eq!(everything(&store).await, kept);
        check(&store, &model, "back-filled").await;
    })
    .await;
}
