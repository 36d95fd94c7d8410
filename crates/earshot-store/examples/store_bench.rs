//! Measures the store on synthetic traffic: ingest throughput (against the plain-insert
//! baseline, as a ratio) and inbox/search latency on a large store.
//!
//! ```text
//! cargo run --release -p earshot-store --example store_bench -- [ingest POSTS] [fill PATH POSTS] [latency PATH POSTS]
//! ```
//! `ingest 200000` ingests that many posts into a fresh temporary SQLite file;
//! `fill PATH N` adds N posts to the store at PATH and reports the rate;
//! `latency /tmp/earshot-1m.db 1000000` fills (or reuses) a store of that size and reports
//! p50/p95 of the hot reads;
//! `writers postgres://postgres@127.0.0.1:5432/postgres 100000` ingests that many posts in
//! batches of 64 (a cluster ingest worker's) by 1 and by 4 concurrent writers, into SQLite
//! and into fresh PostgreSQL databases made on that server, and prints each rate beside
//! SQLite's one writer.

use chrono::{DateTime, Duration as Span, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::threading::TriagePolicy;
use earshot_core::{Network, Status};
use earshot_store::bench::{fill, fill_sqlite, plain_insert_sqlite, synthetic_batch};
use earshot_store::postgres::PgStore;
use earshot_store::sqlite::SqliteStore;
use earshot_store::{InboxFilter, SearchQuery, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    if args.is_empty() {
        eprintln!("usage: store_bench [ingest POSTS] [fill PATH POSTS] [latency PATH POSTS] [writers PG_URL POSTS]");
    }
    while i < args.len() {
        match args[i].as_str() {
            "ingest" => {
                let n = args
                    .get(i + 1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(200_000);
                ingest(n).await?;
                i += 2;
            }
            "fill" => {
                let path = args
                    .get(i + 1)
                    .cloned()
                    .unwrap_or_else(|| "/tmp/earshot-latency.db".into());
                let n = args
                    .get(i + 2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(100_000);
                let store = SqliteStore::open(&path).await?;
                let have = store.counts().await?.posts;
                let spent = fill(&store, have, n, 5_000).await?;
                println!(
                    "fill: {n} posts into a store of {have} in {:.2} s = {:.0} posts/s ({:.1} µs/post in ingest)",
                    spent.as_secs_f64(),
                    n as f64 / spent.as_secs_f64(),
                    spent.as_secs_f64() * 1e6 / n as f64
                );
                i += 3;
            }
            "pg" => {
                // A PostgreSQL database to fill and query (it must exist; migrations run at connect).
                let url = args
                    .get(i + 1)
                    .cloned()
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/earshot_bench".into());
                let n = args
                    .get(i + 2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(100_000);
                let store = PgStore::connect(&url).await?;
                let have = store.counts().await?.posts;
                if have < n {
                    let spent = fill(&store, have, n - have, 5_000).await?;
                    let added = n - have;
                    println!(
                        "fill (PostgreSQL): {added} posts in {:.2} s = {:.0} posts/s ({:.1} µs/post in ingest)",
                        spent.as_secs_f64(),
                        added as f64 / spent.as_secs_f64(),
                        spent.as_secs_f64() * 1e6 / added as f64
                    );
                }
                reads(&store, &url).await?;
                i += 3;
            }
            "writers" => {
                let url = args
                    .get(i + 1)
                    .cloned()
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let n = args
                    .get(i + 2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(100_000);
                writers(&url, n).await?;
                i += 3;
            }
            "latency" => {
                let path = args
                    .get(i + 1)
                    .cloned()
                    .unwrap_or_else(|| "/tmp/earshot-latency.db".into());
                let n = args
                    .get(i + 2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1_000_000);
                latency(&path, n).await?;
                i += 3;
            }
            other => {
                eprintln!("unknown argument {other:?}");
                i += 1;
            }
        }
    }
    Ok(())
}

async fn ingest(n: u64) -> Result<(), StoreError> {
    let dir = std::env::temp_dir().join(format!("earshot-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(dir.join("store.db").to_str().unwrap_or("store.db")).await?;
    let spent = fill(&store, 0, n, 5_000).await?;
    let posts: Vec<_> = synthetic_batch(0, n as usize)
        .into_iter()
        .map(|i| i.post)
        .collect();
    let plain = plain_insert_sqlite(dir.join("plain.db"), &posts)?;
    let rate = n as f64 / spent.as_secs_f64();
    println!(
        "ingest: {n} posts in {:.2} s = {:.0} posts/s ({:.1} µs/post); plain insert {:.2} s; ratio {:.2}x",
        spent.as_secs_f64(),
        rate,
        spent.as_secs_f64() * 1e6 / n as f64,
        plain.as_secs_f64(),
        spent.as_secs_f64() / plain.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Posts per ingest in `writers`: what one cluster ingest worker takes from the stream.
const WORKER_BATCH: u64 = 64;

/// `n` synthetic posts ingested by `count` writers at once, each taking the next batch of
/// the stream (so neighbouring batches, with replies across them, run side by side).
/// Returns posts/s over the wall clock, after checking each post was stored once.
async fn race(store: Arc<dyn Store>, count: usize, n: u64) -> Result<f64, StoreError> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (store, next) = (Arc::clone(&store), Arc::clone(&next));
            tokio::spawn(async move {
                let policy = TriagePolicy::default();
                loop {
                    let first = next.fetch_add(WORKER_BATCH, Ordering::SeqCst);
                    if first >= n {
                        return Ok::<_, StoreError>(());
                    }
                    let batch = synthetic_batch(first, WORKER_BATCH.min(n - first) as usize);
                    let now = batch.last().map_or_else(Utc::now, |p| p.post.created_at);
                    store.ingest(batch, &policy, now).await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await
            .map_err(|e| StoreError::Database(format!("writer failed: {e}")))??;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let counts = store.counts().await?;
    // Six customers open a conversation in each run of ten posts.
    let want = n / 10 * 6 + (n % 10).min(6);
    if counts.posts != n || counts.conversations != want {
        return Err(StoreError::Invalid(format!(
            "{count} writers stored {} posts in {} conversations, not {n} in {want}",
            counts.posts, counts.conversations
        )));
    }
    Ok(rate)
}

/// Ingest by 1 and 4 concurrent writers on SQLite and PostgreSQL, in one run.
async fn writers(url: &str, n: u64) -> Result<(), StoreError> {
    let dir = std::env::temp_dir().join(format!("earshot-writers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    println!("ingest, {n} posts in batches of {WORKER_BATCH}, each post stored once (checked):");
    let mut baseline = None;
    for count in [1, 4] {
        let path = dir.join(format!("w{count}.db"));
        let sqlite = SqliteStore::open(path.to_str().unwrap_or("w.db")).await?;
        let rate = race(Arc::new(sqlite), count, n).await?;
        let baseline = *baseline.get_or_insert(rate);
        show("SQLite", count, rate, baseline);
        let db = format!("earshot_writers_{}_{count}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await?;
        let pg_url = with_database(url, &db);
        let outcome = match PgStore::connect(&pg_url).await {
            Ok(pg) => race(Arc::new(pg), count, n).await,
            Err(e) => Err(e),
        };
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await?;
        show("PostgreSQL", count, outcome?, baseline);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn show(db: &str, writers: usize, rate: f64, baseline: f64) {
    println!(
        "  {db:10} {writers} writer{} {rate:>9.0} posts/s  {:.2}x SQLite's one writer",
        if writers == 1 { " " } else { "s" },
        rate / baseline
    );
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let start = base.find("://").map_or(0, |i| i + 3);
    let host = base[start..].find('/').map_or(base, |i| &base[..start + i]);
    if query.is_empty() {
        format!("{host}/{db}")
    } else {
        format!("{host}/{db}?{query}")
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.95), at(1.0))
}

async fn time<F, Fut, T>(runs: usize, mut f: F) -> Result<(f64, f64, f64, T), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f().await?);
        samples.push(start.elapsed());
    }
    let (p50, p95, max) = percentiles(samples);
    let last = last.ok_or_else(|| StoreError::Invalid("no runs".into()))?;
    Ok((p50, p95, max, last))
}

async fn latency(path: &str, n: u64) -> Result<(), StoreError> {
    let start = Instant::now();
    let store = fill_sqlite(path, n).await?;
    println!(
        "store {path} ready in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    reads(&store, path).await
}

/// p50/p95 of the hot reads on a filled store.
async fn reads(store: &dyn Store, name: &str) -> Result<(), StoreError> {
    let counts = store.counts().await?;
    println!(
        "{name}: {} posts, {} conversations ({} open)",
        counts.posts, counts.conversations, counts.open_conversations
    );
    let base: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    let now = base + Span::seconds(2 * counts.posts as i64) + Span::hours(1);
    let runs = 200;
    let inboxes: Vec<(&str, InboxFilter)> = vec![
        ("inbox open", InboxFilter::default()),
        (
            "inbox open+pending",
            InboxFilter {
                status: vec![Status::Open, Status::Pending],
                ..InboxFilter::default()
            },
        ),
        (
            "inbox all statuses",
            InboxFilter {
                status: vec![],
                ..InboxFilter::default()
            },
        ),
        (
            "inbox page 10",
            InboxFilter {
                offset: 450,
                ..InboxFilter::default()
            },
        ),
        (
            "inbox network=x",
            InboxFilter {
                network: Some(Network::X),
                ..InboxFilter::default()
            },
        ),
        (
            "inbox language=da",
            InboxFilter {
                language: Some("da".into()),
                ..InboxFilter::default()
            },
        ),
        (
            "inbox intent=complaint",
            InboxFilter {
                intent: Some(Intent::Complaint),
                ..InboxFilter::default()
            },
        ),
        (
            "inbox breached",
            InboxFilter {
                breached: Some(true),
                ..InboxFilter::default()
            },
        ),
        (
            "inbox unassigned",
            InboxFilter {
                assignee: Some(String::new()),
                ..InboxFilter::default()
            },
        ),
        (
            "inbox assignee=maria (none)",
            InboxFilter {
                assignee: Some("maria".into()),
                ..InboxFilter::default()
            },
        ),
    ];
    for (name, filter) in inboxes {
        let (p50, p95, max, page) = time(runs, || store.inbox(&filter, now)).await?;
        println!(
            "{name:32} p50 {p50:7.2} ms  p95 {p95:7.2} ms  max {max:7.2} ms  ({} rows, total {:?})",
            page.items.len(),
            page.total
        );
    }
    let q = |text: &str| SearchQuery {
        q: text.into(),
        network: None,
        language: None,
        intent: None,
        sentiment: None,
        limit: 50,
        offset: 0,
    };
    let searches: Vec<(&str, SearchQuery)> = vec![
        ("search common word", q("seat")),
        ("search two words", q("seat charger")),
        ("search danish", q("søger")),
        ("search folded accent", q("perche")),
        ("search rare/absent", q("zeppelin")),
        (
            "search + network",
            SearchQuery {
                network: Some(Network::X),
                ..q("battery")
            },
        ),
        (
            "search + language=it",
            SearchQuery {
                language: Some("it".into()),
                ..q("grazie")
            },
        ),
        (
            "search + intent+sentiment",
            SearchQuery {
                intent: Some(Intent::Complaint),
                sentiment: Some(SentimentLabel::Negative),
                ..q("refund")
            },
        ),
        (
            "search page 5",
            SearchQuery {
                offset: 200,
                ..q("seat")
            },
        ),
    ];
    for (name, query) in searches {
        let (p50, p95, max, page) = time(runs, || store.search(&query)).await?;
        println!(
            "{name:32} p50 {p50:7.2} ms  p95 {p95:7.2} ms  max {max:7.2} ms  ({} hits)",
            page.items.len()
        );
    }
    let (p50, p95, max, _) = time(20, || store.counts()).await?;
    println!(
        "{:32} p50 {p50:7.2} ms  p95 {p95:7.2} ms  max {max:7.2} ms",
        "counts"
    );
    Ok(())
}
