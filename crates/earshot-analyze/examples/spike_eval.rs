//! Detection delay, recall and false alarms of the spike detector on a replay of real traffic
//! with injected surges, and its throughput against tokenising alone (same run).
//!
//! `cargo run --release -p earshot-analyze --example spike_eval [-- /work/shared/data]`
//!
//! Background: the 10,248 real tweets of airline-tweets/dev.csv (six US airlines, Feb 16–24
//! 2015), replayed in time order with their real timestamps. The file has minute resolution
//! and no author ids: each tweet gets a second inside its minute from a hash of its id, and
//! counts as its own author (which makes the author rule weaker here than in live use, so
//! false alarms are, if anything, overstated). A second replay compresses the background ten
//! times (a brand ten times busier; a day then lasts 2.4 hours, so ordinary cycles come ten
//! times faster); injected surges keep their real speed.
//!
//! Surges: each is injected into its own replay (so one cannot hide another), at a seeded
//! random time after the first day (the warm-up), some forced into the night (01–05 h of the
//! file's clock, its quietest hours). Novel-topic surges reuse real tweets that ask about
//! flights to/from a place, with the place replaced by a festival that never occurs in the
//! data ("flights to Roskilde Festival"); known-topic surges re-time real "Lost Luggage"
//! complaints (a topic with a high usual rate). Shapes: `step` (constant rate) and `ramp`
//! (rate rising linearly from zero, so the first minute holds only 4% of the posts).
//! A surge counts as detected when a spike whose sample posts are mostly its posts starts
//! after its onset; the delay is from its first post to the post that triggered detection.

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use earshot_analyze::spikes::{suggest_bulk_reply, SpikeConfig, SpikeDetector, SpikeEvent};
use earshot_analyze::text::Prepared;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone)]
struct Post {
    id: i64,
    at: DateTime<Utc>,
    author: String,
    text: String,
}

/// SplitMix64, seeded: the same surges every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn load_airline(data: &Path) -> Result<Vec<(Post, String)>, String> {
    let path = data.join("airline-tweets").join("dev.csv");
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no {name} column", path.display()))
    };
    let (c_id, c_text, c_time, c_reason) = (
        col("tweet_id")?,
        col("text")?,
        col("tweet_created")?,
        col("negativereason")?,
    );
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let id_text = rec.get(c_id).unwrap_or("");
        let Ok(minute) =
            NaiveDateTime::parse_from_str(rec.get(c_time).unwrap_or(""), "%m/%d/%Y %H:%M")
        else {
            continue;
        };
        let id: i64 = id_text.parse().unwrap_or(0);
        // The file keeps minutes only: spread each minute's tweets over its seconds.
        let second = (id.unsigned_abs() / 7 % 60) as i64;
        out.push((
            Post {
                id: out.len() as i64 + 1,
                at: minute.and_utc() + Duration::seconds(second),
                author: format!("tw{id_text}"),
                text: rec.get(c_text).unwrap_or("").to_string(),
            },
            rec.get(c_reason).unwrap_or("").to_string(),
        ));
    }
    out.sort_by_key(|(p, _)| p.at);
    Ok(out)
}

/// Real tweets that name a place after "flights to" and the like: the templates of
/// novel-topic surges.
fn place_templates(posts: &[(Post, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (p, _) in posts {
        let words: Vec<&str> = p.text.split(' ').collect();
        for i in 1..words.len().saturating_sub(1) {
            let prev = words[i - 1].to_ascii_lowercase();
            let verb_before = [
                "flight", "flights", "fly", "flying", "ticket", "tickets", "trip", "get", "going",
                "service", "seats",
            ]
            .contains(&prev.as_str())
                || (i >= 2
                    && ["flight", "flights", "fly", "flying", "tickets"]
                        .contains(&words[i - 2].to_ascii_lowercase().as_str()));
            let prep = matches!(words[i], "to" | "into" | "from");
            let place = words[i + 1];
            if verb_before
                && prep
                && place.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && place.len() >= 3
            {
                let before = words[..=i].join(" ");
                let after = words[i + 2..].join(" ");
                out.push((before, after));
                break;
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Step,
    Ramp,
}

struct Surge {
    name: String,
    known: bool,
    shape: Shape,
    size: usize,
    onset: DateTime<Utc>,
    posts: Vec<Post>,
}

const FESTIVALS: [&str; 8] = [
    "Roskilde",
    "Glastonbury",
    "Tomorrowland",
    "Sziget",
    "Wacken",
    "Lollapalooza",
    "Primavera",
    "Bonnaroo",
];

#[allow(clippy::too_many_arguments)]
fn build_surge(
    rng: &mut Rng,
    idx: usize,
    onset: DateTime<Utc>,
    size: usize,
    shape: Shape,
    known: bool,
    templates: &[(String, String)],
    luggage: &[&Post],
) -> Surge {
    let topic = if known {
        "lost luggage"
    } else {
        FESTIVALS[idx % FESTIVALS.len()]
    };
    let secs = 300.0;
    let mut posts = Vec::with_capacity(size);
    for i in 0..size {
        let frac = (i as f64 + 0.5) / size as f64;
        let offset = match shape {
            Shape::Step => secs * frac,
            // Rate rising linearly: the cumulative share of posts grows with time squared.
            Shape::Ramp => secs * frac.sqrt(),
        };
        let text = if known {
            luggage[rng.below(luggage.len() as u64) as usize]
                .text
                .clone()
        } else {
            let (before, after) = &templates[rng.below(templates.len() as u64) as usize];
            format!("{before} {topic} Festival {after}")
        };
        // Most people post once; some twice.
        let author = if rng.below(10) == 0 && i > 0 {
            format!("fan{idx}-{}", rng.below(i as u64))
        } else {
            format!("fan{idx}-{i}")
        };
        posts.push(Post {
            id: 1_000_000_000 + (idx as i64) * 10_000 + i as i64,
            at: onset + Duration::milliseconds((offset * 1000.0) as i64),
            author,
            text,
        });
    }
    Surge {
        name: format!(
            "{}{} {} {}",
            if known { "known:" } else { "" },
            topic,
            size,
            if shape == Shape::Step { "step" } else { "ramp" }
        ),
        known,
        shape,
        size,
        onset,
        posts,
    }
}

/// Replays the background (time-compressed by `compress`) merged with `inject`.
fn replay(
    background: &[Post],
    compress: i64,
    inject: &[Post],
    config: &SpikeConfig,
) -> (Vec<SpikeEvent>, SpikeDetector) {
    let mut d = SpikeDetector::new(config.clone());
    let start = background.first().map_or(DateTime::UNIX_EPOCH, |p| p.at);
    let squeeze = |t: DateTime<Utc>| {
        start + Duration::milliseconds((t - start).num_milliseconds() / compress)
    };
    let mut events = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < background.len() || j < inject.len() {
        let take_bg = j >= inject.len()
            || (i < background.len() && squeeze(background[i].at) <= inject[j].at);
        let (p, at) = if take_bg {
            i += 1;
            (&background[i - 1], squeeze(background[i - 1].at))
        } else {
            j += 1;
            (&inject[j - 1], inject[j - 1].at)
        };
        events.extend(d.observe(p.id, &p.author, &p.text, Some("en"), None, at));
    }
    (events, d)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// Which surges a row of the summary counts.
type Pick = fn(&Surge) -> bool;

struct Outcome {
    surge: String,
    hour: u32,
    detected: Option<(f64, Vec<String>)>,
}

fn evaluate(
    name: &str,
    background: &[Post],
    compress: i64,
    surges: &[Surge],
    config: &SpikeConfig,
) {
    let start = background.first().map_or(DateTime::UNIX_EPOCH, |p| p.at);
    let end = background.last().map_or(start, |p| p.at);
    let squeezed_end = start + Duration::milliseconds((end - start).num_milliseconds() / compress);
    let warm_until =
        start + Duration::milliseconds(Duration::hours(24).num_milliseconds() / compress);
    let (events, d) = replay(background, compress, &[], config);
    let alarms: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SpikeEvent::Started(s) if s.detected_at >= warm_until => Some(s),
            _ => None,
        })
        .collect();
    let all_alarms = events
        .iter()
        .filter(|e| matches!(e, SpikeEvent::Started(_)))
        .count();
    let days = (squeezed_end - warm_until).num_seconds() as f64 / 86_400.0;
    println!("\n## {name}\n");
    println!(
        "background: {} real posts over {:.2} days; after the first (warm-up) {:.2} h: {} false alarms = {:.2} per day ({} including warm-up); detector memory {:.1} MiB, {} keys tracked at the end",
        background.len(),
        (squeezed_end - start).num_seconds() as f64 / 86_400.0,
        (warm_until - start).num_seconds() as f64 / 3600.0,
        alarms.len(),
        alarms.len() as f64 / days.max(1e-9),
        all_alarms,
        d.stats().memory_bytes as f64 / (1024.0 * 1024.0),
        d.stats().tracked_keys,
    );
    for s in &alarms {
        println!(
            "  alarm {} ({:02}h): {:?}, {} posts by {} authors, {:.1}/min vs usual {:.2}/min",
            s.detected_at.format("%a %d %H:%M:%S"),
            s.detected_at.hour(),
            s.label_terms,
            s.posts,
            s.authors,
            s.rate_per_minute,
            s.baseline_per_minute
        );
    }
    let mut outcomes = Vec::new();
    for s in surges {
        let (events, _) = replay(background, compress, &s.posts, config);
        let is_ours = |ids: &[i64]| {
            let ours = ids
                .iter()
                .filter(|id| **id >= s.posts[0].id && **id < s.posts[0].id + 10_000)
                .count();
            ours * 2 > ids.len()
        };
        let hit = events.iter().find_map(|e| match e {
            SpikeEvent::Started(sp)
                if sp.detected_at >= s.onset && is_ours(&sp.sample_post_ids) =>
            {
                Some((
                    (sp.detected_at - s.onset).num_milliseconds() as f64 / 1000.0,
                    sp.label_terms.clone(),
                ))
            }
            _ => None,
        });
        outcomes.push(Outcome {
            surge: s.name.clone(),
            hour: s.onset.hour(),
            detected: hit,
        });
    }
    println!("\n| surge | onset hour | detected | delay s | label |");
    println!("|---|---:|---|---:|---|");
    for o in &outcomes {
        match &o.detected {
            Some((delay, label)) => println!(
                "| {} | {:02} | yes | {:.0} | {} |",
                o.surge,
                o.hour,
                delay,
                label.join(", ")
            ),
            None => println!("| {} | {:02} | **no** | – | – |", o.surge, o.hour),
        }
    }
    let groups: [(&str, Pick); 7] = [
        ("all surges", |_| true),
        ("novel topic, 300 posts / 5 min, step", |s| {
            !s.known && s.size == 300 && s.shape == Shape::Step
        }),
        ("novel topic, 300 posts / 5 min, ramp", |s| {
            !s.known && s.size == 300 && s.shape == Shape::Ramp
        }),
        ("known topic (lost luggage), 300 / 5 min", |s| s.known),
        ("novel topic, 100 / 5 min", |s| !s.known && s.size == 100),
        ("novel topic, 50 / 5 min", |s| !s.known && s.size == 50),
        ("night onsets (01–05 h)", |s| {
            (1..5).contains(&s.onset.hour())
        }),
    ];
    println!(
        "\n| surges | n | recall % | within 60 s % | delay p50 s | delay p90 s | delay max s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, pick) in groups {
        let picked: Vec<&Outcome> = surges
            .iter()
            .zip(&outcomes)
            .filter(|(s, _)| pick(s))
            .map(|(_, o)| o)
            .collect();
        if picked.is_empty() {
            continue;
        }
        let mut ds: Vec<f64> = picked
            .iter()
            .filter_map(|o| o.detected.as_ref().map(|d| d.0))
            .collect();
        ds.sort_by(f64::total_cmp);
        let w = ds.iter().filter(|d| **d <= 60.0).count();
        println!(
            "| {label} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            picked.len(),
            100.0 * ds.len() as f64 / picked.len() as f64,
            100.0 * w as f64 / picked.len() as f64,
            percentile(&ds, 0.5),
            percentile(&ds, 0.9),
            ds.last().copied().unwrap_or(f64::NAN)
        );
    }
}

fn main() -> ExitCode {
    let data = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data"));
    let rows = match load_airline(&data) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spike_eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    let templates = place_templates(&rows);
    let luggage: Vec<&Post> = rows
        .iter()
        .filter(|(_, r)| r == "Lost Luggage")
        .map(|(p, _)| p)
        .collect();
    let background: Vec<Post> = rows.iter().map(|(p, _)| p.clone()).collect();
    let start = background[0].at;
    let end = background[background.len() - 1].at;
    println!(
        "spike detection: airline-tweets/dev.csv, {} posts from {} to {}; {} real 'flights to <place>' templates, {} real lost-luggage tweets",
        background.len(),
        start.format("%Y-%m-%d %H:%M"),
        end.format("%Y-%m-%d %H:%M"),
        templates.len(),
        luggage.len()
    );
    let config = SpikeConfig::default();
    println!(
        "config: {}",
        serde_json::to_string(&config).unwrap_or_default()
    );

    // Onsets: after the first day, at least 2 h from the end; some forced into the night.
    let mut rng = Rng(20_240_611);
    let span_start = start + Duration::hours(24);
    let span_secs = (end - Duration::hours(2) - span_start).num_seconds().max(1) as u64;
    let onset = |rng: &mut Rng, night: bool| -> DateTime<Utc> {
        loop {
            let t = span_start + Duration::seconds(rng.below(span_secs) as i64);
            let h = t.hour();
            if !night || (1..5).contains(&h) {
                return t;
            }
        }
    };
    let mut plan: Vec<(DateTime<Utc>, usize, Shape, bool)> = Vec::new();
    for k in 0..12 {
        let night = k % 4 == 0;
        plan.push((
            onset(&mut rng, night),
            300,
            if k % 2 == 0 { Shape::Step } else { Shape::Ramp },
            false,
        ));
    }
    for k in 0..4 {
        plan.push((
            onset(&mut rng, k == 0),
            300,
            if k % 2 == 0 { Shape::Step } else { Shape::Ramp },
            true,
        ));
    }
    for k in 0..6 {
        plan.push((
            onset(&mut rng, k == 0),
            100,
            if k % 2 == 0 { Shape::Step } else { Shape::Ramp },
            false,
        ));
    }
    for k in 0..6 {
        plan.push((
            onset(&mut rng, k == 0),
            50,
            if k % 2 == 0 { Shape::Step } else { Shape::Ramp },
            false,
        ));
    }
    let surges: Vec<Surge> = plan
        .iter()
        .enumerate()
        .map(|(i, &(at, size, shape, known))| {
            build_surge(&mut rng, i, at, size, shape, known, &templates, &luggage)
        })
        .collect();
    if let Some(s) = surges.first() {
        println!("example injected post: {}", s.posts[0].text);
    }

    evaluate("Real-time replay", &background, 1, &surges, &config);

    // Ten times busier: the same background compressed; surges re-timed into its span.
    let compressed_span = Duration::milliseconds((end - start).num_milliseconds() / 10);
    let warm = Duration::milliseconds(Duration::hours(24).num_milliseconds() / 10);
    let mut rng = Rng(7);
    let surges10: Vec<Surge> = plan
        .iter()
        .enumerate()
        .map(|(i, &(_, size, shape, known))| {
            let usable = (compressed_span - warm - Duration::minutes(15))
                .num_seconds()
                .max(1) as u64;
            let at = start + warm + Duration::seconds(rng.below(usable) as i64);
            build_surge(&mut rng, i, at, size, shape, known, &templates, &luggage)
        })
        .collect();
    evaluate(
        "Replay compressed ×10 (a brand ten times busier)",
        &background,
        10,
        &surges10,
        &config,
    );

    // Throughput: tokenising alone vs the whole detector, same posts, one thread.
    let laps = 20;
    let t = Instant::now();
    let mut words = 0usize;
    for _ in 0..laps {
        for p in &background {
            words += Prepared::new(&p.text).tokens.len();
        }
    }
    let tokenise = (laps * background.len()) as f64 / t.elapsed().as_secs_f64();
    let mut d = SpikeDetector::new(config.clone());
    let t = Instant::now();
    let mut events = 0usize;
    for lap in 0..laps {
        let shift = Duration::days(9 * lap as i64);
        for p in &background {
            events += d
                .observe(
                    p.id + lap as i64 * 100_000,
                    &p.author,
                    &p.text,
                    Some("en"),
                    None,
                    p.at + shift,
                )
                .len();
        }
    }
    let observe = (laps * background.len()) as f64 / t.elapsed().as_secs_f64();
    let stats = d.stats();
    println!(
        "\n## Throughput (one thread, {} posts, {} words)\n",
        laps * background.len(),
        words / laps
    );
    println!("| step | posts/s | vs tokenising |");
    println!("|---|---:|---:|");
    println!("| tokenising alone (`text::Prepared::new`) | {tokenise:.0} | 1.00 |");
    println!(
        "| `SpikeDetector::observe` (tokenise, keys, baseline, judge) | {observe:.0} | {:.2} |",
        observe / tokenise
    );
    println!(
        "\ndetector after the throughput run: {} keys tracked, {:.1} MiB, {events} events",
        stats.tracked_keys,
        stats.memory_bytes as f64 / (1024.0 * 1024.0)
    );

    if let Some(s) = surges.first() {
        let (events, _) = replay(&background, 1, &s.posts, &config);
        if let Some(sp) = events.iter().find_map(|e| match e {
            SpikeEvent::Started(sp) => Some(sp),
            _ => None,
        }) {
            println!(
                "\nexample bulk reply for {:?}: {}",
                sp.label_terms,
                suggest_bulk_reply(sp)
            );
            println!(
                "example chart (10 s bars from {}): {:?}",
                sp.chart.start.format("%H:%M:%S"),
                sp.chart.counts
            );
        }
    }
    ExitCode::SUCCESS
}
