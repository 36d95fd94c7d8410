//! `earshot bench`: the speed figures in the README, each beside a baseline from the same run.

use crate::cli::Global;
use anyhow::{bail, Context};
use chrono::Utc;
use clap::Subcommand;
use earshot_connect::import::{Importer, Record};
use earshot_core::NewPost;
use earshot_server::config::{Secret, Settings};
use earshot_server::signature::Verifier;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Analyzer throughput on one core over real tweets, beside the cost of parsing them.
    #[command(after_help = "Example:\n  earshot bench analyze --data ../shared/data")]
    Analyze {
        /// The shared data folder (twcs-sample-head/dev.csv and tweeteval-sentiment are read).
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// Passes over the input.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Import into SQLite with analysis, threading and the search index, beside plain inserts.
    #[command(after_help = "Example:\n  earshot bench import --posts 200000")]
    Import {
        /// Posts to import (a generated scenario written as canonical JSONL).
        #[arg(long, default_value_t = 200_000)]
        posts: usize,
    },
    /// Signed POST → visible in the inbox, while a steady load arrives.
    #[command(after_help = "Example:\n  earshot bench latency --rate 1000 --seconds 20")]
    Latency {
        /// Background posts per second.
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        /// How long to measure.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Inbox, search and ranked-requests latency over a large store (built once, then
    /// reused), on SQLite, PostgreSQL (--pg) or both side by side.
    #[command(
        after_help = "Examples:\n  earshot --data-dir /tmp/earshot-1m bench query --posts 1000000\n  earshot --data-dir /tmp/earshot-1m bench query --posts 1000000 --pg postgres://postgres@127.0.0.1/earshot_1m"
    )]
    Query {
        /// Posts in the store (built once in --data-dir, then reused; shared with `bench web`).
        #[arg(long, default_value_t = 1_000_000)]
        posts: usize,
        /// Requests per measured query.
        #[arg(long, default_value_t = 300)]
        requests: usize,
        #[command(flatten)]
        databases: crate::bench_store::Databases,
    },
    /// The web pages (inbox, a conversation, the dashboard, the requests) over a large store,
    /// through the real router with a signed-in session, beside the JSON API for the same
    /// data; on SQLite, PostgreSQL (--pg) or both side by side.
    #[command(
        after_help = "Examples:\n  earshot --data-dir /tmp/earshot-1m bench web --posts 1000000\n  earshot --data-dir /tmp/earshot-1m bench web --posts 1000000 --iterations 500\n  earshot --data-dir /tmp/earshot-1m bench web --posts 1000000 --pg postgres://postgres@127.0.0.1/earshot_1m"
    )]
    Web {
        /// Posts in the store (built once in --data-dir, then reused; shared with `bench query`).
        #[arg(long, default_value_t = 1_000_000)]
        posts: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        #[command(flatten)]
        databases: crate::bench_store::Databases,
    },
    /// Triage on real timelines: the customer posts of real care conversations replayed in
    /// their real order and times to a simulated team working the queue in earshot's order,
    /// first-in-first-out and newest-first; beside them the real brands' reply times.
    #[command(
        after_help = "Examples:\n  earshot bench triage --data ../shared/data\n  earshot bench triage --agents 4,8 --seeds 1,2,3,4,5 --config earshot.toml\n  earshot bench triage --agents 1,2,4 --shifts weekdays --hours 09:00-17:00 --timezone Europe/London"
    )]
    Triage(crate::bench_triage::TriageArgs),
    /// Several `earshot serve` processes on PostgreSQL + NATS JetStream under a steady load of
    /// signed posts spread across them, one optionally killed with SIGKILL mid-load and
    /// restarted: posts and pages sent once, lost or doubled; post → visible in another
    /// process's live inbox (p50/p99); how long the roles took to move; throughput beside
    /// one process under the same command in the same run, with CPU seconds per process.
    #[command(
        after_help = "Examples:\n  earshot bench cluster --processes 3 --posts 4000 --kill-one\n  earshot bench cluster --processes 3 --posts 4000 --rate 1000 --pg postgres://postgres@127.0.0.1:5432/test --nats nats://127.0.0.1:4222\n  earshot bench cluster --processes 2 --posts 300 --kill-one --json\n\nEach round makes its own database (dropped after) and its own NATS stream and subjects.\nExits with an error when a post or page was lost or doubled."
    )]
    Cluster(earshot_lab::cluster::bench::ClusterArgs),
}

pub async fn run(g: &Global, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Analyze { data, rounds } => analyze(&data, rounds),
        BenchCommand::Import { posts } => import(g, posts).await,
        BenchCommand::Latency { rate, seconds } => latency(rate, seconds).await,
        BenchCommand::Query {
            posts,
            requests,
            databases,
        } => crate::bench_store::query(g, posts, requests, &databases).await,
        BenchCommand::Web {
            posts,
            iterations,
            databases,
        } => crate::bench_store::web(g, posts, iterations, &databases).await,
        BenchCommand::Triage(args) => crate::bench_triage::triage(g, args),
        BenchCommand::Cluster(args) => cluster(args).await,
    }
}

async fn cluster(args: earshot_lab::cluster::bench::ClusterArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding the earshot executable to start")?;
    let s = earshot_lab::cluster::bench::run(args, &exe).await?;
    let c = &s.cluster;
    if c.lost + c.doubled + c.pages.lost + c.pages.doubled > 0 {
        bail!(
            "{} posts lost, {} doubled; {} pages lost, {} doubled",
            c.lost,
            c.doubled,
            c.pages.lost,
            c.pages.doubled
        );
    }
    Ok(())
}

pub(crate) use earshot_lab::metrics::percentile;

fn analyze(data: &Path, rounds: usize) -> anyhow::Result<()> {
    let csv = data.join("twcs-sample-head/dev.csv");
    let tweets = data.join("tweeteval-sentiment/train_reconstructed_text.txt");
    if !csv.exists() {
        bail!(
            "{} not found: pass --data with the path to shared/data",
            csv.display()
        );
    }
    // Baseline: parsing the CSV into posts (the work any import does anyway), read straight
    // from the file, which the first pass leaves in the page cache.
    let parse = || -> anyhow::Result<Vec<NewPost>> {
        Ok(Importer::open(&csv)?
            .filter_map(|r| match r {
                Record::Post { post, .. } => Some(post),
                _ => None,
            })
            .collect())
    };
    let mut posts = parse()?;
    if let Ok(text) = std::fs::read_to_string(&tweets) {
        let template = posts.first().cloned().context("no posts parsed")?;
        posts.extend(text.lines().take(20_000).enumerate().map(|(i, t)| NewPost {
            external_id: format!("tw{i}"),
            text: t.to_string(),
            ..template.clone()
        }));
    }
    let analyzer = earshot_analyze::Analyzer::new(&earshot_analyze::Terms {
        brands: vec!["AppleSupport".into(), "Amazon".into(), "Spotify".into()],
        handles: vec!["sprintcare".into(), "AmazonHelp".into()],
        keywords: (0..1000).map(|i| format!("keyword{i}")).collect(),
    });

    let t = Instant::now();
    let mut parsed = 0;
    for _ in 0..rounds {
        parsed += parse()?.len();
    }
    let parse_rate = parsed as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut n = 0usize;
    let mut checksum = 0u64;
    for _ in 0..rounds {
        for p in &posts {
            checksum ^= analyzer.analyze(p).fingerprint;
            n += 1;
        }
    }
    let analyze_rate = n as f64 / t.elapsed().as_secs_f64();
    println!(
        "analyzer benchmark (one thread, {} real posts × {rounds} rounds, checksum {checksum:x})",
        posts.len()
    );
    println!("  parse only (TWCS CSV → posts): {parse_rate:>10.0} posts/s");
    println!("  analyze (lang, sentiment, intent, urgency, reach, fingerprint, 1,003 terms): {analyze_rate:>10.0} posts/s");
    println!(
        "  analysis costs {:.2}× the time of parsing",
        parse_rate / analyze_rate
    );
    println!(
        "  model: {}; peak memory (VmHWM): {}",
        analyzer
            .model()
            .map_or("rules only".to_string(), |m| m.id()),
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
    println!(
        "  target ≥ 150,000 posts/s on one core: {}",
        if analyze_rate >= 150_000.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

/// The process's peak resident memory, from /proc (Linux).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}

fn canonical_line(p: &NewPost) -> serde_json::Value {
    serde_json::json!({
        "network": p.network, "id": p.external_id,
        "author": {"id": p.author.external_id, "handle": p.author.handle, "name": p.author.display_name, "followers": p.author.followers},
        "text": p.text, "created_at": p.created_at.to_rfc3339(), "in_reply_to": p.in_reply_to, "lang": p.lang, "url": p.url,
        "from_brand": p.from_brand,
    })
}

fn write_jsonl(path: &Path, posts: &[NewPost]) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for p in posts {
        serde_json::to_writer(&mut w, &canonical_line(p))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// The bench servers' `api.token`: the API answers nobody without one.
const BENCH_TOKEN: &str = "earshot-bench-token-0000001";
/// Signing secrets are at least 24 bytes.
const BENCH_SECRET: &str = "earshot-bench-signing-secret";

/// An HTTP client for a bench server's API (it sends [`BENCH_TOKEN`]).
pub(crate) fn api_client() -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {BENCH_TOKEN}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(64)
        .build()?)
}

pub(crate) fn bench_settings(dir: &Path) -> Settings {
    let mut s = Settings {
        data_dir: dir.to_path_buf(),
        ..Settings::default()
    };
    s.api.token = Secret::new(BENCH_TOKEN);
    s.brand.handles = vec![earshot_server::demo::BRAND_HANDLE.into()];
    s.brand.keywords = earshot_server::demo::KEYWORDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    s
}

async fn import(_g: &Global, n: usize) -> anyhow::Result<()> {
    let dir = tempdir()?;
    // Customer posts are ~55% of a scenario (the rest are answers and follow-ups).
    let mut posts = earshot_server::demo::scenario(11, Utc::now(), n * 55 / 100);
    posts.truncate(n);
    let file = dir.join("posts.jsonl");
    write_jsonl(&file, &posts)?;
    eprintln!("{} posts written to {}", posts.len(), file.display());

    let baseline = earshot_lab::store_bench::plain_insert_sqlite(dir.join("plain.db"), &posts)?;
    let plain_rate = posts.len() as f64 / baseline.as_secs_f64();

    let s = bench_settings(&dir.join("full"));
    let desk = earshot_server::app::desk(&s).await?;
    let summary = crate::import::import_files(
        desk.pipeline().clone(),
        std::slice::from_ref(&file),
        2000,
        false,
    )
    .await?;
    let full_rate = summary.read as f64 / summary.seconds;
    println!(
        "import benchmark ({} posts, SQLite, 2 threads: read+analyse | thread+store)",
        posts.len()
    );
    println!("  plain inserts of the same rows (one table, no index, one transaction): {plain_rate:>9.0} posts/s");
    println!(
        "  earshot import (parse, analyse, thread, FTS index, conversations):    {full_rate:>9.0} posts/s  ({} new, {} conversations)",
        summary.new, summary.conversations_opened
    );
    println!("  ratio to plain inserts: {:.2}", full_rate / plain_rate);
    println!(
        "  target ≥ 20,000 posts/s: {}",
        if full_rate >= 20_000.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "earshot-bench-{}-{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn probe_post(i: usize, network: &str) -> serde_json::Value {
    serde_json::json!({
        "network": network, "id": format!("{network}-{i}-{}", uuid::Uuid::new_v4()),
        "author": {"id": format!("u{i}"), "handle": format!("customer{i}"), "followers": 120},
        "text": "@voltra my car will not charge since the update and the app is broken, please help",
        "created_at": Utc::now().to_rfc3339(),
    })
}

async fn latency(rate: u32, seconds: u64) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let mut s = bench_settings(&dir);
    s.listen = "127.0.0.1:0".into();
    s.webhook.secret = Secret::new(BENCH_SECRET);
    let verifier = Verifier::new(BENCH_SECRET, 300)?;
    let app = earshot_server::App::build(s).await?;
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    let client = api_client()?;

    let send = |client: reqwest::Client,
                body: serde_json::Value,
                verifier: Verifier,
                base: String| async move {
        let body = serde_json::to_vec(&body)?;
        let ts = Utc::now().timestamp();
        let id = uuid::Uuid::new_v4().to_string();
        let sig = verifier.sign(&id, ts, &body);
        let r = client
            .post(format!("{base}/api/v1/posts"))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "POST answered {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        let v: serde_json::Value = r.json().await?;
        Ok::<serde_json::Value, anyhow::Error>(v)
    };

    // Background load: `rate` posts per second on the webhook network, each its own request.
    let stop = Instant::now() + Duration::from_secs(seconds);
    let load = {
        let (client, verifier, base) = (client.clone(), verifier.clone(), base.clone());
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_micros(1_000_000 / u64::from(rate.max(1))));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = 0usize;
            let mut failed = 0usize;
            let mut inflight = tokio::task::JoinSet::new();
            while Instant::now() < stop {
                tick.tick().await;
                let f = send(
                    client.clone(),
                    probe_post(sent, "webhook"),
                    verifier.clone(),
                    base.clone(),
                );
                inflight.spawn(f);
                sent += 1;
                while let Some(r) = inflight.try_join_next() {
                    if !matches!(r, Ok(Ok(_))) {
                        failed += 1;
                    }
                }
            }
            while let Some(r) = inflight.join_next().await {
                if !matches!(r, Ok(Ok(_))) {
                    failed += 1;
                }
            }
            (sent, failed)
        })
    };

    // Probes: one at a time on their own network, timed from sending until the inbox shows them.
    let mut latencies = vec![];
    let mut i = 0;
    while Instant::now() < stop {
        let body = probe_post(i, "rss");
        let ext = body["id"].as_str().unwrap_or_default().to_string();
        let t0 = Instant::now();
        let reply = send(client.clone(), body, verifier.clone(), base.clone()).await?;
        let conv = reply["stored"][0]["conversation_id"].as_i64();
        loop {
            let page: serde_json::Value = client
                .get(format!("{base}/api/v1/inbox?network=rss&limit=50"))
                .send()
                .await?
                .json()
                .await?;
            let seen = page["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|it| it["conversation"]["root_external_id"] == ext.as_str())
            });
            if seen {
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if t0.elapsed() > Duration::from_secs(5) {
                bail!("probe {ext} not in the inbox after 5 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if let Some(c) = conv {
            client
                .post(format!("{base}/api/v1/conversations/{c}/actions"))
                .json(&serde_json::json!({"action": "resolve"}))
                .send()
                .await?;
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (sent, failed) = load.await?;
    // Baseline: an unauthenticated health check round trip in the same run.
    let mut health = vec![];
    for _ in 0..200 {
        let t0 = Instant::now();
        client
            .get(format!("{base}/healthz"))
            .send()
            .await?
            .text()
            .await?;
        health.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    health.sort_by(f64::total_cmp);
    let p99 = percentile(&latencies, 99.0);
    println!("latency benchmark: signed POST → visible in GET /api/v1/inbox, SQLite, {seconds} s");
    println!(
        "  background load: {sent} posts at {rate}/s ({failed} failed), achieved {:.0}/s",
        sent as f64 / seconds as f64
    );
    println!(
        "  probes: {} · p50 {:.1} ms · p90 {:.1} ms · p99 {:.1} ms · max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        p99,
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  baseline GET /healthz round trip: p50 {:.2} ms · p99 {:.2} ms",
        percentile(&health, 50.0),
        percentile(&health, 99.0)
    );
    println!(
        "  p99 ratio to health-check p99: {:.1}",
        p99 / percentile(&health, 99.0)
    );
    println!(
        "  target p99 ≤ 100 ms: {}",
        if p99 <= 100.0 { "met" } else { "MISSED" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
