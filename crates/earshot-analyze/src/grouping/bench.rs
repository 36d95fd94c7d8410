//! Throughput of [`Grouper::assign`] on one thread with a full grouper: 100,000 open requests
//! are loaded first, then real posts stream in. The baseline, measured in the same run on the
//! same texts, is what any grouping must do anyway: preparing the text (one pass, tokens) and
//! stemming every word. Phases alternate in rounds so frequency drift hits both alike.

use super::concepts::stemmer;
use super::grouper::Grouper;
use super::{GrouperStats, GroupingConfig};
use crate::lang::Lang;
use crate::text::Prepared;
use chrono::{DateTime, Duration as Span, Utc};
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One timed loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub posts: u64,
    pub seconds: f64,
    pub posts_per_sec: f64,
    /// Posts per second the thread actually ran (Linux), which a busy machine does not skew.
    pub posts_per_cpu_sec: Option<f64>,
}

impl Phase {
    fn new(posts: u64, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Phase {
            posts,
            seconds,
            posts_per_sec: posts as f64 / seconds,
            posts_per_cpu_sec: None,
        }
    }

    fn with_cpu(mut self, cpu: Option<Duration>) -> Self {
        self.posts_per_cpu_sec = cpu.map(|c| self.posts as f64 / c.as_secs_f64().max(1e-9));
        self
    }
}

/// Time this thread has spent on a CPU, from Linux's schedstat (`None` elsewhere).
fn thread_cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn add_cpu(total: &mut Option<Duration>, start: Option<Duration>) {
    *total = match (*total, start, thread_cpu_time()) {
        (Some(t), Some(a), Some(b)) => Some(t + b.saturating_sub(a)),
        _ => None,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupingBench {
    pub preload_texts: usize,
    pub stream_texts: usize,
    /// Opening the pre-loaded requests, one post each.
    pub preload: Phase,
    pub open_at_start: usize,
    pub open_at_end: usize,
    /// Baseline: `Prepared::new` plus Snowball stemming of every token.
    pub baseline: Phase,
    pub assign: Phase,
    /// `assign` posts/s divided by baseline posts/s.
    pub ratio: f64,
    /// Share of streamed posts that opened a new request.
    pub new_share: f64,
    /// Latency of one `assign`, in microseconds: median, 99th percentile, maximum.
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub stats: GrouperStats,
}

impl fmt::Display for GroupingBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "pre-loaded {} open requests from {} real texts in {:.1} s ({:.0} posts/s); streamed {} other real texts",
            self.open_at_start, self.preload_texts, self.preload.seconds, self.preload.posts_per_sec, self.stream_texts
        )?;
        writeln!(
            f,
            "\n| phase | posts | seconds | posts/s | posts per CPU-second |\n|---|---:|---:|---:|---:|"
        )?;
        for (name, p) in [
            ("tokenise + stem (baseline)", &self.baseline),
            ("assign (100k+ open requests)", &self.assign),
        ] {
            let cpu = p
                .posts_per_cpu_sec
                .map_or_else(|| "n/a".to_string(), |v| format!("{v:.0}"));
            writeln!(
                f,
                "| {name} | {} | {:.2} | {:.0} | {cpu} |",
                p.posts, p.seconds, p.posts_per_sec
            )?;
        }
        writeln!(
            f,
            "\nassign / baseline throughput ratio: {:.3}\nassign latency: p50 {:.1} µs, p99 {:.1} µs, max {:.0} µs\n\
             streamed posts opening a new request: {:.1}%\nopen requests: {} at start, {} at end\n\
             vocabulary {}, index entries {} (longest list {}), largest centroid {}, about {:.0} MiB held",
            self.ratio,
            self.p50_us,
            self.p99_us,
            self.max_us,
            100.0 * self.new_share,
            self.open_at_start,
            self.open_at_end,
            self.stats.vocabulary,
            self.stats.postings,
            self.stats.longest_postings,
            self.stats.largest_centroid,
            self.stats.approx_bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

fn time(i: usize) -> DateTime<Utc> {
    DateTime::<Utc>::default() + Span::seconds(i as i64)
}

/// Loads `requests` open requests from `preload` (text, language) — reusing texts in pairs
/// once they run out — then times `assign` over `stream` for about `seconds`.
pub fn run(
    config: GroupingConfig,
    preload: &[(String, String)],
    stream: &[(String, String)],
    requests: usize,
    seconds: f64,
) -> GroupingBench {
    let mut g = Grouper::new(config);
    let started = Instant::now();
    let mut post_id = 0i64;
    for i in 0..requests {
        let Some((text, lang)) = preload.get(i % preload.len().max(1)) else {
            break;
        };
        // Past the end of the texts, join two of them so every request is different.
        let joined;
        let text = if i < preload.len() {
            text.as_str()
        } else {
            let other = &preload[(i * 7 + 3) % preload.len()].0;
            joined = format!("{text} {other}");
            joined.as_str()
        };
        post_id += 1;
        g.open(post_id, text, Some(lang), time(i));
    }
    let preload_phase = Phase::new(requests as u64, started.elapsed());
    let open_at_start = g.open_requests();

    let langs: Vec<Option<Lang>> = stream.iter().map(|(_, l)| Lang::from_code(l)).collect();
    let rounds = 4;
    let slice = Duration::from_secs_f64(seconds.max(0.02) / (2 * rounds) as f64);
    let (mut base_n, mut base_t) = (0u64, Duration::ZERO);
    let (mut asg_n, mut asg_t) = (0u64, Duration::ZERO);
    let (mut base_cpu, mut asg_cpu) = (Some(Duration::ZERO), Some(Duration::ZERO));
    let (mut bi, mut ai) = (0usize, 0usize);
    let mut latencies: Vec<u32> = Vec::new();
    let mut new_requests = 0u64;
    if !stream.is_empty() {
        for _ in 0..rounds {
            let start = Instant::now();
            let cpu = thread_cpu_time();
            loop {
                for _ in 0..32 {
                    let k = bi % stream.len();
                    bi += 1;
                    let p = Prepared::new(black_box(&stream[k].0));
                    let st = stemmer(langs[k]);
                    for t in 0..p.tokens.len() {
                        black_box(st.stem(p.token_str(t)));
                    }
                }
                base_n += 32;
                if start.elapsed() >= slice {
                    break;
                }
            }
            base_t += start.elapsed();
            add_cpu(&mut base_cpu, cpu);

            let start = Instant::now();
            let cpu = thread_cpu_time();
            loop {
                for _ in 0..32 {
                    let (text, lang) = &stream[ai % stream.len()];
                    post_id += 1;
                    let t0 = Instant::now();
                    let a = g.assign(post_id, black_box(text), Some(lang), time(requests + ai));
                    latencies.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                    new_requests += a.new as u64;
                    ai += 1;
                }
                asg_n += 32;
                if start.elapsed() >= slice {
                    break;
                }
            }
            asg_t += start.elapsed();
            add_cpu(&mut asg_cpu, cpu);
        }
    }
    latencies.sort_unstable();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |ns| *ns as f64 / 1000.0)
    };
    let baseline = Phase::new(base_n, base_t).with_cpu(base_cpu);
    let assign = Phase::new(asg_n, asg_t).with_cpu(asg_cpu);
    GroupingBench {
        preload_texts: preload.len(),
        stream_texts: stream.len(),
        preload: preload_phase,
        open_at_start,
        open_at_end: g.open_requests(),
        ratio: assign.posts_per_sec / baseline.posts_per_sec.max(1e-9),
        new_share: new_requests as f64 / asg_n.max(1) as f64,
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        max_us: pct(1.0),
        baseline,
        assign,
        stats: g.stats(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_loads_requests_and_times_both_phases() {
        let texts: Vec<(String, String)> = [
            ("my order never arrived", "en"),
            ("the app crashes on start", "en"),
            ("sædet skal køre tilbage", "da"),
        ]
        .iter()
        .map(|(t, l)| (t.to_string(), l.to_string()))
        .collect();
        let r = run(GroupingConfig::default(), &texts, &texts, 10, 0.02);
        assert_eq!(r.open_at_start, 10);
        assert!(r.baseline.posts > 0 && r.assign.posts > 0);
        assert!(r.ratio > 0.0);
        assert!(r.to_string().contains("assign / baseline"));
        if cfg!(target_os = "linux") {
            assert!(r.assign.posts_per_cpu_sec.is_some_and(|v| v > 0.0));
        }
    }
}
