//! Throughput of [`Analyzer::analyze`] on one thread, reported against a baseline measured in
//! the same run: parsing the same posts from canonical JSON lines into `NewPost` (what every
//! import and webhook does anyway). The ratio says how many times more expensive
//! understanding a post is than reading it; absolute posts/s depend on the machine.

use crate::analyzer::{Analyzer, Marks, Step};
use chrono::{TimeZone, Utc};
use earshot_core::network::Network;
use earshot_core::post::{Author, NewPost};
use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One timed loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub posts: u64,
    pub seconds: f64,
    pub posts_per_sec: f64,
    pub ns_per_post: f64,
    /// Seconds this thread was on a CPU during the loop (Linux; `None` elsewhere). On a
    /// shared, loaded machine the wall clock also counts the time other processes ran.
    pub cpu_seconds: Option<f64>,
}

impl Phase {
    fn new(posts: u64, elapsed: Duration, cpu: Option<Duration>) -> Self {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        Phase {
            posts,
            seconds,
            posts_per_sec: posts as f64 / seconds,
            ns_per_post: seconds * 1e9 / posts.max(1) as f64,
            cpu_seconds: cpu.map(|c| c.as_secs_f64()),
        }
    }

    /// Posts per second of this thread's own CPU time (wall-clock posts/s where unknown).
    pub fn posts_per_cpu_sec(&self) -> f64 {
        match self.cpu_seconds {
            Some(c) if c > 0.0 => self.posts as f64 / c,
            _ => self.posts_per_sec,
        }
    }
}

/// This thread's time on a CPU so far (the first field of `/proc/thread-self/schedstat`).
pub fn thread_cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Adds the CPU time between two readings to `total` (stays `None` once one is missing).
fn add_cpu(total: &mut Option<Duration>, from: Option<Duration>, to: Option<Duration>) {
    *total = match (*total, from, to) {
        (Some(t), Some(a), Some(b)) => Some(t + b.saturating_sub(a)),
        _ => None,
    };
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Distinct texts cycled through.
    pub texts: usize,
    pub mean_bytes: f64,
    /// Baseline: `serde_json::from_str::<NewPost>` over the canonical JSON of each post.
    pub parse: Phase,
    /// `Analyzer::analyze` over the parsed posts.
    pub analyze: Phase,
    /// `analyze` posts/s divided by `parse` posts/s.
    pub ratio: f64,
    /// `builtin` or the model id.
    pub model: String,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| phase ({} texts, mean {:.0} bytes, model {}) | posts | seconds | posts/s | ns/post | on-CPU s | posts per CPU-s |",
            self.texts, self.mean_bytes, self.model
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|")?;
        for (name, p) in [
            ("parse JSON → NewPost (baseline)", &self.parse),
            ("analyze", &self.analyze),
        ] {
            writeln!(
                f,
                "| {name} | {} | {:.2} | {:.0} | {:.0} | {} | {:.0} |",
                p.posts,
                p.seconds,
                p.posts_per_sec,
                p.ns_per_post,
                p.cpu_seconds.map_or("-".to_string(), |c| format!("{c:.2}")),
                p.posts_per_cpu_sec()
            )?;
        }
        writeln!(
            f,
            "\nanalyze / parse throughput ratio: {:.3} (wall clock), {:.3} (on-CPU time)",
            self.ratio,
            self.analyze.posts_per_cpu_sec() / self.parse.posts_per_cpu_sec().max(1e-9)
        )
    }
}

/// Times the built-in analyzer on `texts` for about `seconds` in all (one thread).
pub fn run(texts: &[String], seconds: f64) -> BenchReport {
    run_with(&Analyzer::default(), texts, seconds)
}

/// Times `analyzer` on `texts` for about `seconds` in all (one thread).
pub fn run_with(analyzer: &Analyzer, texts: &[String], seconds: f64) -> BenchReport {
    let posts: Vec<NewPost> = texts.iter().enumerate().map(|(i, t)| post(i, t)).collect();
    let lines: Vec<String> = posts
        .iter()
        .map(|p| serde_json::to_string(p).unwrap_or_default())
        .collect();
    let model = analyzer.model().map_or("builtin".to_string(), |m| m.id());
    let mean_bytes =
        texts.iter().map(|t| t.len()).sum::<usize>() as f64 / texts.len().max(1) as f64;
    if posts.is_empty() {
        let zero = Phase::new(0, Duration::from_secs(1), None);
        return BenchReport {
            texts: 0,
            mean_bytes,
            parse: zero.clone(),
            analyze: zero,
            ratio: 0.0,
            model,
        };
    }
    // Warm caches and the lexicon.
    for p in posts.iter().take(200) {
        black_box(analyzer.analyze(p));
    }
    // Alternate the phases in rounds so that frequency drift hits both alike.
    let rounds = 4;
    let slice = Duration::from_secs_f64((seconds.max(0.02)) / (2 * rounds) as f64);
    let (mut parse_n, mut parse_t, mut parse_cpu) = (0u64, Duration::ZERO, Some(Duration::ZERO));
    let (mut an_n, mut an_t, mut an_cpu) = (0u64, Duration::ZERO, Some(Duration::ZERO));
    let mut pi = 0usize;
    let mut ai = 0usize;
    for _ in 0..rounds {
        let cpu = thread_cpu_time();
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                let line = &lines[pi % lines.len()];
                pi += 1;
                black_box(serde_json::from_str::<NewPost>(black_box(line)).ok());
            }
            parse_n += 64;
            if start.elapsed() >= slice {
                break;
            }
        }
        parse_t += start.elapsed();
        add_cpu(&mut parse_cpu, cpu, thread_cpu_time());

        let cpu = thread_cpu_time();
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                let p = &posts[ai % posts.len()];
                ai += 1;
                black_box(analyzer.analyze(black_box(p)));
            }
            an_n += 64;
            if start.elapsed() >= slice {
                break;
            }
        }
        an_t += start.elapsed();
        add_cpu(&mut an_cpu, cpu, thread_cpu_time());
    }
    let parse = Phase::new(parse_n, parse_t, parse_cpu);
    let analyze = Phase::new(an_n, an_t, an_cpu);
    BenchReport {
        texts: posts.len(),
        mean_bytes,
        ratio: analyze.posts_per_sec / parse.posts_per_sec.max(1e-9),
        parse,
        analyze,
        model,
    }
}

/// Where one analysis spends its time: nanoseconds per post in each [`Step`], over every
/// text once (after a warm-up pass). The clock reads add a little to each step.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseReport {
    pub texts: usize,
    pub model: String,
    /// (step, ns per post), in step order (wall clock, clock reads included).
    pub steps: Vec<(Step, f64)>,
    /// This thread's on-CPU ns per post over the whole run, when known: the steps' shares of
    /// it are what they cost on an idle core.
    pub cpu_ns: Option<f64>,
}

impl PhaseReport {
    pub fn total_ns(&self) -> f64 {
        self.steps.iter().map(|(_, ns)| ns).sum()
    }
}

impl fmt::Display for PhaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_ns().max(1e-9);
        let cpu = self.cpu_ns.unwrap_or(total);
        writeln!(
            f,
            "| step ({} texts, model {}) | wall ns/post | share | on-CPU ns/post (share × CPU) |",
            self.texts, self.model
        )?;
        writeln!(f, "|---|---:|---:|---:|")?;
        for (step, ns) in &self.steps {
            writeln!(
                f,
                "| {} | {ns:.0} | {:.1}% | {:.0} |",
                step.as_str(),
                100.0 * ns / total,
                cpu * ns / total
            )?;
        }
        writeln!(f, "| **all** | {total:.0} | 100% | {cpu:.0} |")
    }
}

struct Clock {
    last: Instant,
    spent: [Duration; Step::ALL.len()],
}

impl Marks for Clock {
    #[inline]
    fn mark(&mut self, step: Step) {
        let now = Instant::now();
        self.spent[step as usize] += now - self.last;
        self.last = now;
    }
}

/// Times each step of `analyzer` on `texts`, `passes` times over.
pub fn phases(analyzer: &Analyzer, texts: &[String], passes: usize) -> PhaseReport {
    let posts: Vec<NewPost> = texts.iter().enumerate().map(|(i, t)| post(i, t)).collect();
    for p in posts.iter().take(200) {
        black_box(analyzer.analyze(p));
    }
    let mut clock = Clock {
        last: Instant::now(),
        spent: [Duration::ZERO; Step::ALL.len()],
    };
    let cpu_start = thread_cpu_time();
    for _ in 0..passes.max(1) {
        for p in &posts {
            clock.last = Instant::now();
            let a = analyzer.analyze_with_marks(black_box(p), &mut clock);
            black_box(a);
        }
    }
    let n = (posts.len() * passes.max(1)).max(1) as f64;
    let cpu_ns = match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a).as_nanos() as f64 / n),
        _ => None,
    };
    PhaseReport {
        texts: posts.len(),
        model: analyzer.model().map_or("builtin".to_string(), |m| m.id()),
        steps: Step::ALL
            .iter()
            .map(|s| (*s, clock.spent[*s as usize].as_nanos() as f64 / n))
            .collect(),
        cpu_ns,
    }
}

fn post(i: usize, text: &str) -> NewPost {
    NewPost::new(
        Network::X,
        format!("{}", 1_000_000 + i),
        Author {
            followers: Some((i as u64 * 7919) % 50_000),
            ..Author::new(format!("u{i}"), format!("customer{i}"))
        },
        text,
        Utc.timestamp_opt(1_509_000_000 + i as i64, 0)
            .single()
            .unwrap_or_default(),
    )
}

/// Each rules step alone over every text (`passes` times), on inputs prepared beforehand:
/// ns per post, without the per-step clock reads of [`phases`].
pub fn isolated(texts: &[String], passes: usize) -> Vec<(&'static str, f64)> {
    use crate::lexicon::Lexicon;
    use crate::text::Prepared;
    let n = (texts.len() * passes.max(1)).max(1) as f64;
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..passes.max(1) {
            f();
        }
        t.elapsed().as_nanos() as f64 / n
    };
    let prepared: Vec<Prepared> = texts.iter().map(|t| Prepared::new(t)).collect();
    let lex = Lexicon::global();
    let mut out = Vec::new();
    out.push((
        "prepare",
        time(&mut || {
            for t in texts {
                black_box(Prepared::new(black_box(t)));
            }
        }),
    ));
    let mut raw = Vec::new();
    out.push((
        "lexicon scan",
        time(&mut || {
            for p in &prepared {
                raw.clear();
                lex.scan(black_box(p), &mut raw);
                black_box(&raw);
            }
        }),
    ));
    out.push((
        "safety",
        time(&mut || {
            for p in &prepared {
                black_box(crate::safety::assess(black_box(p), "en"));
            }
        }),
    ));
    let detector = crate::lang::LanguageDetector::new();
    let votes = [0f32; 11];
    out.push((
        "language",
        time(&mut || {
            for p in &prepared {
                black_box(detector.detect(None, black_box(p), &votes));
            }
        }),
    ));
    out.push((
        "fingerprint",
        time(&mut || {
            for p in &prepared {
                black_box(crate::fingerprint::simhash(black_box(p)));
            }
        }),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_runs_and_reports_both_phases() {
        let texts: Vec<String> = [
            "@AmazonHelp my order never arrived!!",
            "Grazie mille, servizio fantastico!",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = run(&texts, 0.05);
        assert!(r.parse.posts > 0 && r.analyze.posts > 0);
        assert!(r.ratio > 0.0);
        assert!(r.to_string().contains("analyze / parse"));
        assert_eq!(run(&[], 0.01).texts, 0);
    }
}
