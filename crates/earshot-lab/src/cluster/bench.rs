//! `earshot bench cluster`: N real `earshot serve` processes on PostgreSQL and NATS under a
//! steady load of signed posts spread round-robin across them, optionally one killed with
//! SIGKILL mid-load and restarted; then what the store and the on-call target say: posts
//! stored once, lost, doubled; pages sent once; post → visible in another process's live
//! inbox; how long the roles took to move; throughput beside one process under the same
//! command in the same run, with the CPU each process used.
//!
//! Each round runs on a fresh database and fresh bus names (see [`Services`]), so rounds and
//! runs never see each other. One post in [`URGENT_EVERY`] is urgent (someone hurt): the
//! escalation rule pages on-call for it once, through a signed webhook to the bench's own
//! [`PageSink`].

use super::report::{self, Latency, PageFigures, ProcessCpu, Round, Summary};
use super::sink::{PageSink, PAGE_SECRET};
use super::watch::{watch, Sightings};
use super::{Intake, Process, Services};
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One post in this many is urgent and calls for a page.
pub const URGENT_EVERY: usize = 20;
/// How often the processes run their housekeeping pass, paging included (60 s by default;
/// shorter here so pages go out while the load runs and a kill can land in a pass).
pub const HOUSEKEEPING_SECONDS: u64 = 2;
/// Requests in flight at most (a steady rate the processes cannot take queues here).
const MAX_IN_FLIGHT: usize = 256;
/// Tries per post across the processes before it counts as refused.
const MAX_TRIES: u32 = 12;
/// The bound for the roles of a killed process to move before the bench says they did not.
const HAND_OVER_LIMIT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// `earshot serve` processes to run (a one-process baseline runs first when more than one).
    #[arg(long, default_value_t = 3)]
    pub processes: usize,
    /// Signed posts to send.
    #[arg(long, default_value_t = 4000)]
    pub posts: usize,
    /// Posts per second, spread round-robin across the processes (0: as fast as they take them).
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Kill -9 the process holding the roles halfway through, and restart it.
    #[arg(long)]
    pub kill_one: bool,
    /// PostgreSQL to make the run's database on (its database part is replaced).
    #[arg(long, env = "EARSHOT_TEST_PG", default_value = super::DEFAULT_POSTGRES)]
    pub pg: String,
    /// NATS with JetStream (the run uses its own stream and subjects).
    #[arg(long, default_value = super::DEFAULT_NATS)]
    pub nats: String,
    /// Print the figures as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Skip the one-process baseline (no ratio then).
    #[arg(long)]
    pub no_baseline: bool,
}

/// Runs the bench with `exe` as `earshot serve` and prints the result.
pub async fn run(args: ClusterArgs, exe: &Path) -> anyhow::Result<Summary> {
    if args.processes == 0 || args.posts == 0 {
        bail!("--processes and --posts must be at least 1");
    }
    let baseline = if args.processes > 1 && !args.no_baseline {
        Some(round(&args, exe, 1, false).await?)
    } else {
        None
    };
    let cluster = round(&args, exe, args.processes, args.kill_one).await?;
    let ratio = baseline
        .as_ref()
        .map(|b| cluster.throughput / b.throughput)
        .filter(|r| r.is_finite());
    let summary = Summary {
        baseline,
        cluster,
        ratio,
        replies: report::REPLIES_NOTE,
        housekeeping_seconds: HOUSEKEEPING_SECONDS,
    };
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{}", report::text(&summary));
    }
    Ok(summary)
}

/// The config every process of a round reads: paging through the sink, one team that is
/// never at work, so an urgent post pages its on-call person (once: acknowledging takes 8 h).
/// Hours need a covered day: the team's is a holiday from yesterday to tomorrow.
fn config(sink: &PageSink) -> String {
    let today = chrono::Utc::now().date_naive();
    let holidays: Vec<String> = [-1, 0, 1]
        .iter()
        .map(|d| format!("\"{}\"", today + chrono::Duration::days(*d)))
        .collect();
    format!(
        r#"[alerts]
[[alerts.targets]]
name = "on-call"
kind = "webhook"
url = "{url}"
secret = "{PAGE_SECRET}"

[housekeeping]
every_seconds = {HOUSEKEEPING_SECONDS}

[triage.hours.never]
timezone = "UTC"
week = {{ "mon-sun" = "09:00-17:00" }}
holidays = [{holidays}]

[[triage.routes]]
name = "everything"
team = "care"

[triage.teams.care]
hours = "never"
agents = [{{ name = "ana", capacity = 8 }}]

[triage.escalation.care]
levels = [{{ notify = ["dana"], ack_within = "8h" }}]

[triage.escalation_triggers]
after_hours_bands = ["urgent"]
"#,
        url = sink.url,
        holidays = holidays.join(", ")
    )
}

/// The `i`th post of a run: its own customer, urgent one time in [`URGENT_EVERY`].
fn post(tag: &str, i: usize) -> (String, Vec<u8>, bool) {
    const ROUTINE: [&str; 4] = [
        "@acme where is my order? it was due on monday",
        "@acme the app logs me out every hour, can you fix it",
        "@acme how do I change the address on my account",
        "@acme love the new charger, but the cable is short",
    ];
    let urgent = i.is_multiple_of(URGENT_EVERY);
    let text = if urgent {
        "@acme your charger caught fire in our kitchen and burned my son's hand, he is hurt"
    } else {
        ROUTINE[i % ROUTINE.len()]
    };
    let id = format!("{tag}-{i}");
    (id.clone(), super::post(&id, text), urgent)
}

/// The processes of a round by slot; `None` while one is down.
type Slots = Arc<Mutex<Vec<Option<Process>>>>;

fn base_of(slots: &Slots, slot: usize) -> Option<String> {
    let slots = slots.lock().unwrap_or_else(|p| p.into_inner());
    slots
        .get(slot)
        .and_then(|p| p.as_ref().map(|p| p.base.clone()))
}

/// What happened to one post at the intake.
struct Sent {
    id: String,
    urgent: bool,
    /// When the first try left, and when a process accepted it.
    at: Instant,
    accepted_at: Instant,
    /// The slot that accepted it.
    by: Option<usize>,
    tries: u32,
}

/// Sends a post to `slot`, and on a failure (no answer, 5xx, 429) to the next process after
/// a back-off, as a load balancer in front of the cluster would.
async fn send(
    intake: Intake,
    slots: Slots,
    n: usize,
    slot: usize,
    i: usize,
    body: Vec<u8>,
) -> (Option<usize>, u32) {
    for attempt in 0..MAX_TRIES {
        let target = (slot + attempt as usize) % n;
        if let Some(base) = base_of(&slots, target) {
            // A new delivery id per try: the post id keeps it stored once.
            let delivery = format!("d-{i}-{attempt}");
            match intake.deliver(&base, &delivery, &body).await {
                Ok(s) if s.is_success() => return (Some(target), attempt + 1),
                // Refused for what it is (not for load): another try would be refused too.
                Ok(s) if s.is_client_error() && s != 429 && s != 408 => return (None, attempt + 1),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt.min(5))).await;
    }
    (None, MAX_TRIES)
}

struct Killed {
    hand_over: Option<Duration>,
    roles: Vec<String>,
    /// The restarted process's live inbox, watched into the killed one's sightings.
    watcher: tokio::task::JoinHandle<()>,
}

/// Kills the process holding the roles (the first when none says so), waits until the
/// others hold its roles, then restarts it in its data directory and watches it again.
async fn kill_and_restart(
    services: Arc<Services>,
    slots: Slots,
    (exe, config): (PathBuf, PathBuf),
    sightings: Vec<Arc<Sightings>>,
    cpu_before_kill: Arc<Mutex<HashMap<usize, f64>>>,
) -> anyhow::Result<Killed> {
    let client = super::client()?;
    let n = slots.lock().unwrap_or_else(|p| p.into_inner()).len();
    let mut victim = (0, Vec::new());
    for slot in 0..n {
        let Some(base) = base_of(&slots, slot) else {
            continue;
        };
        let held = super::roles(&client, &base).await.unwrap_or_default();
        if held.len() > victim.1.len() {
            victim = (slot, held);
        }
    }
    let (slot, roles) = victim;
    let process = slots.lock().unwrap_or_else(|p| p.into_inner())[slot].take();
    let Some(mut process) = process else {
        bail!("process {} is not running", slot + 1);
    };
    if let Some(cpu) = super::cpu_seconds(process.child.id()) {
        *cpu_before_kill
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(slot)
            .or_default() += cpu;
    }
    process.kill();
    let killed_at = Instant::now();
    let mut hand_over = None;
    while killed_at.elapsed() < HAND_OVER_LIMIT && !roles.is_empty() {
        let mut held = Vec::new();
        for other in (0..n).filter(|s| *s != slot) {
            if let Some(base) = base_of(&slots, other) {
                held.extend(super::roles(&client, &base).await.unwrap_or_default());
            }
        }
        if roles.iter().all(|r| held.contains(r)) {
            hand_over = Some(killed_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let data = process.data.clone();
    drop(process);
    let restarted =
        tokio::task::spawn_blocking(move || services.serve(&exe, &data, Some(&config))).await??;
    let watcher = watch(&restarted.base, sightings[slot].clone()).await?;
    slots.lock().unwrap_or_else(|p| p.into_inner())[slot] = Some(restarted);
    Ok(Killed {
        hand_over,
        roles,
        watcher,
    })
}

async fn round(args: &ClusterArgs, exe: &Path, n: usize, kill: bool) -> anyhow::Result<Round> {
    let services = Services::open(&args.pg, &args.nats).await.map_err(|e| {
        anyhow::anyhow!("{e}\nStart it, or point the bench at it with --pg / --nats.")
    })?;
    let services = Arc::new(services);
    let outcome = run_round(args, exe, n, kill, services.clone()).await;
    match Arc::try_unwrap(services) {
        Ok(s) => s.close().await,
        Err(s) => eprintln!(
            "the run's database {} was left behind: a task still held it",
            s.tag
        ),
    }
    outcome
}

async fn run_round(
    args: &ClusterArgs,
    exe: &Path,
    n: usize,
    kill: bool,
    services: Arc<Services>,
) -> anyhow::Result<Round> {
    let work = tempfile::tempdir()?;
    let sink = PageSink::start().await?;
    let config_path = work.path().join("earshot.toml");
    std::fs::write(&config_path, config(&sink))?;

    let progress = ProgressBar::new(args.posts as u64);
    progress.set_style(
        ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_prefix(format!("{n} process{}", if n == 1 { "" } else { "es" }));
    progress.set_message("starting");

    let slots: Slots = Arc::new(Mutex::new(Vec::new()));
    for k in 0..n {
        let data = work.path().join(format!("p{}", k + 1));
        std::fs::create_dir_all(&data)?;
        let (s, exe, config) = (services.clone(), exe.to_path_buf(), config_path.clone());
        let p = tokio::task::spawn_blocking(move || s.serve(&exe, &data, Some(&config)))
            .await?
            .with_context(|| format!("starting process {}", k + 1))?;
        slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Some(p));
    }
    // Every process's live inbox, watched from before the first post.
    let sightings: Vec<Arc<Sightings>> = (0..n).map(|_| Arc::default()).collect();
    let mut watchers = Vec::new();
    for (k, seen) in sightings.iter().enumerate() {
        let base = base_of(&slots, k).context("a process stopped at start")?;
        watchers.push(watch(&base, seen.clone()).await?);
    }

    progress.set_message("sending");
    let intake = Intake::new()?;
    let cpu_before_kill = Arc::new(Mutex::new(HashMap::new()));
    let gate = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = (args.rate > 0).then(|| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        t
    });
    let mut in_flight = tokio::task::JoinSet::new();
    let mut killer = None;
    let started = Instant::now();
    for i in 0..args.posts {
        if let Some(t) = tick.as_mut() {
            t.tick().await;
        }
        if kill && i == args.posts / 2 {
            killer = Some(tokio::spawn(kill_and_restart(
                services.clone(),
                slots.clone(),
                (exe.to_path_buf(), config_path.clone()),
                sightings.clone(),
                cpu_before_kill.clone(),
            )));
        }
        let permit = gate.clone().acquire_owned().await?;
        let (id, body, urgent) = post(&services.tag, i);
        let (intake, slots, progress) = (intake.clone(), slots.clone(), progress.clone());
        in_flight.spawn(async move {
            let at = Instant::now();
            let (by, tries) = send(intake, slots, n, i % n, i, body).await;
            let accepted_at = Instant::now();
            drop(permit);
            progress.inc(1);
            Sent {
                id,
                urgent,
                at,
                accepted_at,
                by,
                tries,
            }
        });
    }
    let mut sent = Vec::with_capacity(args.posts);
    while let Some(s) = in_flight.join_next().await {
        sent.push(s?);
    }
    let killed = match killer {
        Some(k) => {
            progress.set_message("waiting for the roles to move");
            let killed = k.await??;
            Some(killed)
        }
        None => None,
    };

    progress.set_message("waiting until everything is stored");
    let accepted: Vec<&Sent> = sent.iter().filter(|s| s.by.is_some()).collect();
    let store = services.store().await?;
    // Until every accepted post is stored, or none more was for 30 s (then the rest is lost).
    let (mut stored_before, mut quiet_since) = (0, Instant::now());
    let stored_at = loop {
        let row = store
            .query_one("SELECT count(DISTINCT external_id) FROM posts", &[])
            .await?;
        let stored = usize::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        if stored > stored_before {
            (stored_before, quiet_since) = (stored, Instant::now());
        }
        if stored >= accepted.len() || quiet_since.elapsed() > Duration::from_secs(30) {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // What the store holds, per post id.
    let rows = store
        .query(
            "SELECT external_id, min(id), count(*) FROM posts GROUP BY external_id",
            &[],
        )
        .await?;
    let mut in_store: HashMap<String, (i64, i64)> = HashMap::new();
    for r in rows {
        in_store.insert(r.get(0), (r.get(1), r.get(2)));
    }
    let lost = accepted
        .iter()
        .filter(|s| !in_store.contains_key(&s.id))
        .count();
    let doubled: usize = in_store
        .values()
        .map(|(_, c)| (*c as usize).saturating_sub(1))
        .sum();
    let stored_once = accepted
        .iter()
        .filter(|s| in_store.get(&s.id).is_some_and(|(_, c)| *c == 1))
        .count();

    // Visible elsewhere: each post in the live inbox of the process after the one that took
    // it. Stored is not yet shown everywhere: the live streams catch up until all are seen
    // or nothing new arrived for 5 s (a post stored while its watcher was down never shows).
    let watched = |s: &&Sent| {
        let post = s.by.zip(in_store.get(&s.id));
        post.is_none_or(|(by, (post_id, _))| sightings[(by + 1) % n].when(*post_id).is_some())
    };
    let seen_total = || sightings.iter().map(|w| w.count()).sum::<usize>();
    let (mut seen_before, mut quiet_since) = (seen_total(), Instant::now());
    while !accepted.iter().all(watched) && quiet_since.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if seen_total() > seen_before {
            (seen_before, quiet_since) = (seen_total(), Instant::now());
        }
    }
    let mut latencies = Vec::new();
    let mut last_seen = None::<Instant>;
    let mut seen_anywhere = 0;
    for s in &accepted {
        let (Some(by), Some((post_id, _))) = (s.by, in_store.get(&s.id)) else {
            continue;
        };
        let first_anywhere = sightings.iter().filter_map(|w| w.when(*post_id)).min();
        if let Some(t) = first_anywhere {
            last_seen = Some(last_seen.map_or(t, |l| l.max(t)));
            seen_anywhere += 1;
        }
        if let Some(t) = sightings[(by + 1) % n].when(*post_id) {
            latencies.push(t.saturating_duration_since(s.accepted_at).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let mut intake: Vec<f64> = accepted
        .iter()
        .map(|s| (s.accepted_at - s.at).as_secs_f64() * 1000.0)
        .collect();
    intake.sort_by(f64::total_cmp);
    // The last post's first sighting times the run; when some were seen nowhere (stored
    // while every watcher was down), the moment the store held them all does, to 100 ms.
    let done = match last_seen {
        Some(t) if seen_anywhere + lost == accepted.len() => t,
        _ => stored_at,
    };
    let seconds = done.saturating_duration_since(started).as_secs_f64();

    // Pages: one per urgent post; late copies get two more passes to show up.
    progress.set_message("waiting for the pages");
    let expected = accepted.iter().filter(|s| s.urgent).count();
    let page_deadline = Instant::now() + Duration::from_secs(30 + 4 * HOUSEKEEPING_SECONDS);
    while sink.counts().pages < expected && Instant::now() < page_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2 * HOUSEKEEPING_SECONDS)).await;
    let pages = sink.counts();

    // CPU: the live processes now, plus what killed ones used before they died.
    let before = cpu_before_kill
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut cpu = Vec::new();
    for slot in 0..n {
        let pid = slots.lock().unwrap_or_else(|p| p.into_inner())[slot]
            .as_ref()
            .map(|p| p.child.id());
        let now = pid.and_then(super::cpu_seconds).unwrap_or(0.0);
        cpu.push(ProcessCpu {
            process: slot,
            incarnations: 1 + usize::from(before.contains_key(&slot)),
            cpu_seconds: now + before.get(&slot).copied().unwrap_or(0.0),
        });
    }
    progress.finish_and_clear();
    for w in watchers {
        w.abort();
    }
    if let Some(k) = &killed {
        k.watcher.abort();
    }
    slots.lock().unwrap_or_else(|p| p.into_inner()).clear();

    Ok(Round {
        processes: n,
        posts: args.posts,
        rate: args.rate,
        killed_one: kill,
        sent: accepted.len(),
        refused: sent.len() - accepted.len(),
        retried: sent.iter().filter(|s| s.tries > 1).count(),
        stored_once,
        lost,
        doubled,
        pages: PageFigures {
            expected,
            received: pages.pages,
            lost: expected.saturating_sub(pages.pages),
            doubled: pages.doubled,
            refused: pages.refused,
        },
        latency: Latency {
            watched_in: if n == 1 {
                "the same process"
            } else {
                "another process"
            }
            .into(),
            samples: latencies.len(),
            unwatched: accepted.len() - lost - latencies.len(),
            p50_ms: crate::metrics::percentile(&latencies, 50.0),
            p99_ms: crate::metrics::percentile(&latencies, 99.0),
            max_ms: latencies.last().copied().unwrap_or(f64::NAN),
            seen_per_process: sightings.iter().map(|w| w.count()).collect(),
            lagged: sightings.iter().map(|w| w.lagged()).sum(),
            intake_p50_ms: crate::metrics::percentile(&intake, 50.0),
            intake_p99_ms: crate::metrics::percentile(&intake, 99.0),
        },
        hand_over_seconds: killed
            .as_ref()
            .and_then(|k| k.hand_over.map(|d| d.as_secs_f64())),
        roles_moved: killed.map(|k| k.roles).unwrap_or_default(),
        seconds,
        throughput: stored_once as f64 / seconds.max(f64::EPSILON),
        cpu,
        bench_cpu_seconds: super::cpu_seconds(std::process::id()),
    })
}
