//! What `earshot bench cluster` found, as figures (`--json`) and as text.

use serde::Serialize;

/// One round: N processes under the same load.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub processes: usize,
    /// Posts the bench meant to send, and the pace asked for (0: as fast as taken).
    pub posts: usize,
    pub rate: u32,
    pub killed_one: bool,
    /// Posts the intake accepted (202), after retries on another process where one failed.
    pub sent: usize,
    /// Posts no process accepted within the retries (never counted as sent).
    pub refused: usize,
    /// Deliveries tried again on another process (a killed process, a 503).
    pub retried: usize,
    /// Accepted posts stored exactly once / not at all / more than once (from the store).
    pub stored_once: usize,
    pub lost: usize,
    pub doubled: usize,
    pub pages: PageFigures,
    pub latency: Latency,
    /// Seconds from the kill until the survivors held every role the killed process held.
    pub hand_over_seconds: Option<f64>,
    /// The roles that moved.
    pub roles_moved: Vec<String>,
    /// Seconds from the first post sent until the last one was visible in an inbox.
    pub seconds: f64,
    /// Posts stored per second over `seconds`.
    pub throughput: f64,
    /// CPU seconds per process (all its incarnations), and the bench's own.
    pub cpu: Vec<ProcessCpu>,
    pub bench_cpu_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageFigures {
    /// Pages the escalation rule calls for: one per urgent post accepted.
    pub expected: usize,
    /// Distinct pages the on-call target received.
    pub received: usize,
    pub lost: usize,
    pub doubled: usize,
    /// Deliveries to the target whose signature did not verify.
    pub refused: usize,
}

/// Post accepted by one process → visible in the live inbox of the next one.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// "another process", or "the same process" when there is only one.
    pub watched_in: String,
    pub samples: usize,
    /// Posts without a sample: the watching process was down (killed) when they were stored,
    /// or its live stream dropped them.
    pub unwatched: usize,
    /// Stored posts each process's live stream showed, and its `lagged` notices.
    pub seen_per_process: Vec<usize>,
    pub lagged: usize,
    /// The intake's answer (post sent → 202), which the latency above starts after.
    pub intake_p50_ms: f64,
    pub intake_p99_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessCpu {
    pub process: usize,
    pub incarnations: usize,
    pub cpu_seconds: f64,
}

/// The whole run: the one-process baseline (same command, same run) and the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub baseline: Option<Round>,
    pub cluster: Round,
    /// Cluster throughput ÷ baseline throughput.
    pub ratio: Option<f64>,
    /// Replies are not driven by this bench (see the output's note).
    pub replies: &'static str,
    /// The housekeeping pass interval the processes ran with (paging runs in it).
    pub housekeeping_seconds: u64,
}

pub const REPLIES_NOTE: &str = "not measured: the bench drives the intake and paging; replies \
     sent once across a kill are covered by the outbox's claims and the crash test, not here";

fn round_lines(r: &Round) -> Vec<String> {
    let mut lines = vec![
        format!(
            "{} process{} · {} posts at {} · {}",
            r.processes,
            if r.processes == 1 { "" } else { "es" },
            r.posts,
            if r.rate == 0 {
                "full speed".to_string()
            } else {
                format!("{}/s", r.rate)
            },
            if r.killed_one {
                "one killed (kill -9) mid-load and restarted"
            } else {
                "no kill"
            }
        ),
        format!(
            "  posts: sent {} · stored once {} · lost {} · doubled {} · refused {} · retried on another process {}",
            r.sent, r.stored_once, r.lost, r.doubled, r.refused, r.retried
        ),
        format!(
            "  pages: expected {} · received {} · lost {} · doubled {}{}",
            r.pages.expected,
            r.pages.received,
            r.pages.lost,
            r.pages.doubled,
            if r.pages.refused > 0 {
                format!(" · {} with a bad signature", r.pages.refused)
            } else {
                String::new()
            }
        ),
        format!(
            "  post accepted (202) → visible in {}'s live inbox: p50 {:.0} ms · p99 {:.0} ms · max {:.0} ms ({} posts{})",
            r.latency.watched_in,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.latency.samples,
            if r.latency.unwatched > 0 {
                format!("; {} not seen there", r.latency.unwatched)
            } else {
                String::new()
            }
        ),
        format!(
            "  intake answer (sent → 202): p50 {:.0} ms · p99 {:.0} ms; live streams showed {:?} posts, lagged {} times",
            r.latency.intake_p50_ms,
            r.latency.intake_p99_ms,
            r.latency.seen_per_process,
            r.latency.lagged
        ),
        format!(
            "  throughput: {:.0} posts/s ({} stored in {:.1} s)",
            r.throughput, r.stored_once, r.seconds
        ),
    ];
    if r.killed_one {
        lines.push(match r.hand_over_seconds {
            Some(s) => format!(
                "  hand-over after the kill: {s:.1} s ({} roles)",
                r.roles_moved.len()
            ),
            None => "  hand-over after the kill: NOT within 30 s".into(),
        });
    }
    let cpu: Vec<String> = r
        .cpu
        .iter()
        .map(|c| {
            let restarts = if c.incarnations > 1 { " (2 runs)" } else { "" };
            format!("#{} {:.1} s{restarts}", c.process + 1, c.cpu_seconds)
        })
        .collect();
    lines.push(format!(
        "  CPU seconds: {}{}",
        cpu.join(" · "),
        r.bench_cpu_seconds
            .map(|s| format!(" · the bench itself {s:.1} s"))
            .unwrap_or_default()
    ));
    lines
}

/// The report as text; the last line is the one-line verdict.
pub fn text(s: &Summary) -> String {
    let mut lines = vec![format!(
        "cluster benchmark: earshot serve processes on PostgreSQL + NATS JetStream (housekeeping every {} s)",
        s.housekeeping_seconds
    )];
    if let Some(b) = &s.baseline {
        lines.push("baseline, same command:".into());
        lines.extend(round_lines(b));
    }
    lines.push("cluster:".into());
    lines.extend(round_lines(&s.cluster));
    lines.push(format!("  replies: {}", s.replies));
    let c = &s.cluster;
    let mut last = format!(
        "posts {} · lost {} · doubled {} · pages doubled {} · p99 {:.0} ms",
        c.sent, c.lost, c.doubled, c.pages.doubled, c.latency.p99_ms
    );
    if let Some(h) = c.hand_over_seconds {
        last.push_str(&format!(" · hand-over {h:.0} s"));
    }
    if let Some(r) = s.ratio {
        last.push_str(&format!(" · {r:.1}× one process"));
    }
    lines.push(last);
    lines.join("\n")
}
