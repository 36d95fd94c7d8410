//! `earshot bench query` and `earshot bench web`: the inbox, search and the pages over a large
//! store, on SQLite, PostgreSQL or both in one run (the same generated posts, the same
//! requests, one table per database and the two side by side).

use crate::bench::{api_client, bench_settings, percentile};
use crate::cli::Global;
use anyhow::{bail, Context};
use chrono::Utc;
use earshot_server::config::Settings;
use earshot_server::desk::conversations::{InboxFilter, SearchQuery};
use earshot_server::desk::Desk;
use std::sync::Arc;
use std::time::Instant;

/// Which databases a store benchmark measures.
#[derive(clap::Args, Debug, Clone)]
pub struct Databases {
    /// Also measure PostgreSQL at this URL (a database of its own: the posts are built there
    /// once, like the SQLite store in --data-dir, and reused).
    #[arg(long, value_name = "URL")]
    pub pg: Option<String>,
    /// sqlite, postgres or both (default: both with --pg, else sqlite).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Both,
}

/// One database to measure: its name in the output and its `db` setting.
struct Database {
    name: &'static str,
    db: String,
}

impl Databases {
    fn chosen(&self) -> anyhow::Result<Vec<Database>> {
        let which = self.backend.unwrap_or(match self.pg {
            Some(_) => Backend::Both,
            None => Backend::Sqlite,
        });
        let sqlite = Database {
            name: "SQLite",
            db: String::new(),
        };
        let postgres = || match &self.pg {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Database {
                    name: "PostgreSQL",
                    db: url.clone(),
                })
            }
            Some(url) => bail!("--pg {url:?} is not a postgres:// URL"),
            None => bail!(
                "--backend {} needs the database: add --pg postgres://user@host/db",
                if which == Backend::Both {
                    "both"
                } else {
                    "postgres"
                }
            ),
        };
        Ok(match which {
            Backend::Sqlite => vec![sqlite],
            Backend::Postgres => vec![postgres()?],
            Backend::Both => vec![sqlite, postgres()?],
        })
    }
}

/// A store with at least `n` posts (SQLite in `--data-dir`, default a temporary folder; or
/// the PostgreSQL database `db`), built from back-to-back demo scenarios the first time and
/// reused afterwards.
async fn large_store(g: &Global, n: usize, db: &Database) -> anyhow::Result<(Settings, Arc<Desk>)> {
    let dir = g
        .data_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("earshot-bench-query"));
    let mut s = bench_settings(&dir);
    s.listen = "127.0.0.1:0".into();
    s.db = db.db.clone();
    let desk = earshot_server::app::desk(&s)
        .await
        .with_context(|| format!("opening the {} store", db.name))?;
    let have = desk.counts().await?.posts as usize;
    if have < n {
        eprintln!(
            "building a {} store with {n} posts (reused next time)…",
            db.name
        );
        let bar = indicatif::ProgressBar::new((n - have) as u64);
        let end = Utc::now();
        // Many scenarios back to back, each three weeks, so the store spans years like a real one.
        let mut made = have;
        let mut seed = 1000 + have as u64;
        while made < n {
            let mut posts = earshot_server::demo::scenario(
                seed,
                end - chrono::Duration::days(21 * (seed as i64 - 1000)),
                20_000,
            );
            // The demo reuses a few thousand customer names; here every customer post gets its
            // own author so a million posts make hundreds of thousands of conversations, not a
            // few thousand very long ones.
            for (i, p) in posts.iter_mut().enumerate() {
                p.external_id = format!("{seed}-{}", p.external_id);
                if let Some(r) = &mut p.in_reply_to {
                    *r = format!("{seed}-{r}");
                }
                if p.author.handle != earshot_server::demo::BRAND_HANDLE {
                    p.author.external_id = format!("c{seed}-{i}");
                    p.author.handle = format!("{}{seed}x{i}", p.author.handle);
                }
            }
            posts.truncate(n - made);
            for chunk in posts.chunks(5000) {
                desk.pipeline().ingest(chunk.to_vec()).await?;
                bar.inc(chunk.len() as u64);
            }
            made += posts.len();
            seed += 1;
        }
        bar.finish_and_clear();
        // As after an import: the planner sees the new rows (PostgreSQL; nothing on SQLite).
        desk.store().refresh_statistics().await?;
    }
    Ok((s, desk))
}

async fn describe(desk: &Desk, db: &Database) -> anyhow::Result<String> {
    let counts = desk.counts().await?;
    Ok(format!(
        "{} posts, {} conversations ({} open), {}",
        counts.posts, counts.conversations, counts.open_conversations, db.name
    ))
}

pub async fn web(
    g: &Global,
    n: usize,
    iterations: usize,
    databases: &Databases,
) -> anyhow::Result<()> {
    let mut tables = Vec::new();
    for db in databases.chosen()? {
        let (s, desk) = large_store(g, n, &db).await?;
        println!(
            "web benchmark over {}, {iterations} requests per page",
            describe(&desk, &db).await?
        );
        let state = earshot_lab::web_bench::state(s, desk);
        let results = earshot_lab::web_bench::run(state, iterations).await?;
        print!("{}", earshot_lab::web_bench::report(&results, iterations));
        tables.push((
            db.name,
            results
                .iter()
                .map(|r| (r.page, r.timing.p95_ms, r.baseline.p95_ms))
                .collect::<Vec<_>>(),
        ));
    }
    if let [(a, first), (b, second)] = tables.as_slice() {
        println!("side by side, p95 (page · its JSON API):");
        for ((page, a_page, a_api), (_, b_page, b_api)) in first.iter().zip(second) {
            println!(
                "  {page:<14} {a} {a_page:>7.2} · {a_api:>7.2} ms   {b} {b_page:>7.2} · {b_api:>7.2} ms"
            );
        }
    }
    Ok(())
}

async fn time_get(client: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let r = client.get(url).send().await?;
        if !r.status().is_success() {
            bail!("{url} answered {}", r.status());
        }
        r.bytes().await?;
        v.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}

/// The measured reads: a name and a path under the API.
fn cases(some_conversation: i64) -> Vec<(&'static str, String)> {
    vec![
        (
            "baseline: GET one conversation by id",
            format!("/api/v1/conversations/{some_conversation}"),
        ),
        ("inbox first page (open)", "/api/v1/inbox".into()),
        (
            "inbox first page, language=da",
            "/api/v1/inbox?language=da".into(),
        ),
        (
            "inbox first page, breached",
            "/api/v1/inbox?breached=true".into(),
        ),
        (
            "inbox first page, all statuses",
            "/api/v1/inbox?status=all".into(),
        ),
        ("search \"charge\"", "/api/v1/search?q=charge".into()),
        (
            "search \"sædet park\"",
            "/api/v1/search?q=s%C3%A6det%20park".into(),
        ),
        (
            "search \"delivery delayed\"",
            "/api/v1/search?q=delivery%20delayed".into(),
        ),
        (
            "search a word no post has",
            "/api/v1/search?q=zyxwvutsrq".into(),
        ),
        ("requests ranked", "/api/v1/requests".into()),
    ]
}

/// One measured read: its name, p50 and p95 in milliseconds.
type Timing = (&'static str, f64, f64);

/// Inbox p95 ≤ 20 ms and search p95 ≤ 50 ms; other reads have no target.
fn target(name: &str) -> Option<f64> {
    if name.starts_with("inbox") {
        Some(20.0)
    } else if name.starts_with("search") {
        Some(50.0)
    } else {
        None
    }
}

async fn query_one(
    g: &Global,
    n: usize,
    requests: usize,
    db: &Database,
) -> anyhow::Result<Vec<Timing>> {
    let (s, desk) = large_store(g, n, db).await?;
    let about = describe(&desk, db).await?;
    let app = earshot_server::App::with_desk(s, desk.clone()).await?;
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    let client = api_client()?;
    let first = desk.inbox(&InboxFilter::default(), Utc::now()).await?;
    let some_id = first
        .items
        .first()
        .map(|r| r.conversation.id.0)
        .unwrap_or(1);
    println!("query benchmark over {about}, via HTTP, {requests} requests each");
    let mut baseline_p95 = f64::NAN;
    let mut timings = Vec::new();
    for (name, path) in cases(some_id) {
        let t = time_get(&client, &format!("{base}{path}"), requests).await?;
        let (p50, p95) = (percentile(&t, 50.0), percentile(&t, 95.0));
        if baseline_p95.is_nan() {
            baseline_p95 = p95;
        }
        let verdict = match target(name) {
            Some(limit) if p95 > limit => "  MISSED",
            _ => "",
        };
        println!(
            "  {name:<40} p50 {p50:>6.2} ms  p95 {p95:>6.2} ms  ({:.1}× baseline){verdict}",
            p95 / baseline_p95
        );
        timings.push((name, p50, p95));
    }
    // Store-level search without HTTP, for the record.
    let t0 = Instant::now();
    let q = SearchQuery {
        q: "charger broken".into(),
        network: None,
        language: None,
        intent: None,
        sentiment: None,
        limit: 50,
        offset: 0,
    };
    for _ in 0..50 {
        desk.search(&q).await?;
    }
    println!(
        "  store-level search \"charger broken\": {:.2} ms mean",
        t0.elapsed().as_secs_f64() * 1000.0 / 50.0
    );
    Ok(timings)
}

pub async fn query(
    g: &Global,
    n: usize,
    requests: usize,
    databases: &Databases,
) -> anyhow::Result<()> {
    let mut tables = Vec::new();
    for db in databases.chosen()? {
        tables.push((db.name, query_one(g, n, requests, &db).await?));
    }
    if let [(a, first), (b, second)] = tables.as_slice() {
        println!("side by side, p95:");
        for ((name, _, a95), (_, _, b95)) in first.iter().zip(second) {
            println!(
                "  {name:<40} {a} {a95:>7.2} ms   {b} {b95:>7.2} ms   ({:.2}×)",
                b95 / a95
            );
        }
    }
    println!("  targets: inbox first page p95 ≤ 20 ms, search p95 ≤ 50 ms");
    Ok(())
}
