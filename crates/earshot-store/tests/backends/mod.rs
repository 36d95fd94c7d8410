//! Running one behaviour on each database, shared by the store's test files: SQLite (a
//! temporary file) and PostgreSQL (a fresh database per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use earshot_core::analysis::{Intent, Language, SentimentLabel};
use earshot_core::threading::Incoming;
use earshot_core::{Analysis, Author, Network, NewPost};
use earshot_store::postgres::PgStore;
use earshot_store::sqlite::SqliteStore;
use earshot_store::{SearchQuery, Store};
use std::future::Future;
use std::sync::Arc;

/// `suite!(a, b)` runs the async fns `a` and `b` (each taking an `Arc<dyn Store>`) once on
/// SQLite (`sqlite::a`) and once on PostgreSQL (`postgres::a`).
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::backends::on_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::backends::on_postgres(super::$name).await;
                }
            )*
        }
    };
}
pub(crate) use suite;

pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("earshot.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    test(Arc::new(store)).await;
}

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

/// A fresh, empty database for one test: `(admin client, its name, its URL)`, or `None`
/// (after saying why) when PostgreSQL cannot be reached outside CI.
pub async fn fresh_database() -> Option<(tokio_postgres::Client, String, String)> {
    let base =
        std::env::var("EARSHOT_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio_postgres::connect(&base, tokio_postgres::NoTls),
    )
    .await;
    let (admin, connection) = match connect {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => {
            let why = match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            };
            return unreachable_postgres(&base, &why);
        }
        Err(_) => return unreachable_postgres(&base, "timed out after 10 s"),
    };
    tokio::spawn(connection);
    let name = format!("earshot_t_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = with_database(&base, &name);
    Some((admin, name, url))
}

fn unreachable_postgres<T>(url: &str, why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("PostgreSQL is required in CI but {url} cannot be reached: {why}");
    }
    eprintln!("SKIPPED (PostgreSQL half of {}): cannot reach {url}: {why}. Start PostgreSQL or set EARSHOT_TEST_POSTGRES.", env!("CARGO_CRATE_NAME"));
    None
}

/// Runs `test` with the address of a fresh PostgreSQL database (skipped as `fresh_database`
/// says), dropping the database after, whether it passed or not.
pub async fn on_fresh_postgres<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((admin, name, url)) = fresh_database().await else {
        return;
    };
    let outcome = tokio::spawn(test(url)).await;
    drop_and_report(&admin, &name, outcome).await;
}

pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((admin, name, url)) = fresh_database().await else {
        return;
    };
    let outcome = match PgStore::connect(&url).await {
        Ok(store) => tokio::spawn(test(Arc::new(store))).await,
        Err(e) => {
            drop_database(&admin, &name).await;
            panic!("cannot connect to the fresh database {url}: {e}");
        }
    };
    drop_and_report(&admin, &name, outcome).await;
}

/// Drops a test's database.
pub async fn drop_database(admin: &tokio_postgres::Client, name: &str) {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

/// Drops a test's database, then fails as the test's task did, if it did: passed or not, the
/// database does not outlive the test.
pub async fn drop_and_report(
    admin: &tokio_postgres::Client,
    name: &str,
    outcome: Result<(), tokio::task::JoinError>,
) {
    drop_database(admin, name).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building what the store hears.

/// The stored id of post `external_id` in an ingest's report.
pub fn post_id_of(report: &earshot_store::IngestReport, external_id: &str) -> i64 {
    report
        .posts
        .iter()
        .find(|p| p.external_id == external_id)
        .unwrap_or_else(|| panic!("post {external_id} is not in the report"))
        .post_id
}

/// A search for `q` with no filters: the first `limit` hits.
pub fn search(q: &str, limit: u32) -> SearchQuery {
    SearchQuery {
        q: q.into(),
        network: None,
        language: None,
        intent: None,
        sentiment: None,
        limit,
        offset: 0,
    }
}

/// An RFC 3339 time.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A customer's post on X, as threading receives it: `post <id>` by `author` (10 followers),
/// written at `at`, read as English with no intent. [`Tweak`] changes what a test needs.
pub fn heard(id: &str, author: &str, at: &str) -> Incoming {
    let mut analysis = Analysis::default();
    analysis.language.language = Language::new("en");
    Incoming {
        post: NewPost {
            from_brand: Some(false),
            ..NewPost::new(
                Network::X,
                id,
                Author {
                    followers: Some(10),
                    ..Author::new(format!("id-{author}"), author)
                },
                format!("post {id}"),
                t(at),
            )
        },
        analysis,
        from_brand: false,
    }
}

/// Changes one thing about a heard post.
pub trait Tweak {
    fn reply_to(self, id: &str) -> Self;
    fn network(self, n: Network) -> Self;
    fn lang(self, l: &str) -> Self;
    fn intent(self, i: Intent) -> Self;
    fn sentiment(self, s: SentimentLabel, score: f32) -> Self;
    fn urgency(self, score: f32) -> Self;
    fn followers(self, n: u64) -> Self;
    fn text(self, text: &str) -> Self;
}

impl Tweak for Incoming {
    fn reply_to(mut self, id: &str) -> Self {
        self.post.in_reply_to = Some(id.into());
        self
    }
    fn network(mut self, n: Network) -> Self {
        self.post.network = n;
        self
    }
    fn lang(mut self, l: &str) -> Self {
        self.analysis.language.language = Language::new(l);
        self
    }
    fn intent(mut self, i: Intent) -> Self {
        self.analysis.intent.label = i;
        self
    }
    fn sentiment(mut self, s: SentimentLabel, score: f32) -> Self {
        self.analysis.sentiment.label = s;
        self.analysis.sentiment.score = score;
        self
    }
    fn urgency(mut self, score: f32) -> Self {
        self.analysis.urgency.score = score;
        self
    }
    fn followers(mut self, n: u64) -> Self {
        self.post.author.followers = Some(n);
        self
    }
    fn text(mut self, text: &str) -> Self {
        self.post.text = text.into();
        self
    }
}
