//! Spikes that matter: how soon `earshot_analyze::spikes::SpikeDetector` notices a burst of
//! new demand, and how often it cries wolf on normal traffic.
//!
//! `cargo run --release -p earshot-lab --example spike_eval [-- /work/shared/data]`
//!
//! **Backgrounds** (real posts, real times):
//! - *airline week*: the 10,248 tweets of `airline-tweets/dev.csv` (six US airlines, Feb 16–24
//!   2015), minute resolution (each tweet gets a second inside its minute from its id), each
//!   tweet its own author (which makes the author rule weaker than live, so false alarms are
//!   if anything overstated);
//! - *airline ×10*: the same compressed ten times (a brand ten times busier);
//! - *TWCS week*: the customer posts of `twcs-sample-random/dev.csv` (a random sample over
//!   Oct–Dec 2017, ~100 brands) laid onto one week by their weekday and time of day, so the
//!   week keeps its real daily and weekly rhythm; authors are the data's.
//!
//! **Bursts**: a topic nobody configured (real "flights to <place>" tweets with the place
//! replaced by a festival that never occurs in the data) arriving at **10×** and **50×** the
//! background's usual rate at that hour of the week, for 10 minutes, each injected into its
//! own replay at a seeded time after the first day (a third of them at night, 01–05 h). The
//! delay is from the burst's first post to the post at which the detector reports it.
//!
//! **False alarms**: spikes started on the background alone after the first day (the warm-up).
//!
//! **Speed**: the detector's throughput on one thread beside tokenising alone (same posts).

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use earshot_analyze::spikes::{SpikeConfig, SpikeDetector, SpikeEvent};
use std::fmt::Write as _;
use std::path::Path;

/// A post as the detector sees it.
#[derive(Debug, Clone)]
pub struct Post {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub author: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpikeEvalError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> SpikeEvalError {
    SpikeEvalError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// SplitMix64, seeded: the same draws every run (the bursts here, the replay's shuffles).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
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

/// The airline tweets, oldest first, with their complaint reason ("Lost Luggage", ...).
pub fn load_airline(data: &Path) -> Result<Vec<(Post, String)>, SpikeEvalError> {
    let path = data.join("airline-tweets").join("dev.csv");
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| read_err(&path, e))?;
    let headers = rdr.headers().map_err(|e| read_err(&path, e))?.clone();
    let names = ["tweet_id", "text", "tweet_created", "negativereason"];
    let [c_id, c_text, c_time, c_reason] = crate::data::columns(&headers, names, |name| {
        read_err(&path, format!("no {name} column"))
    })?;
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| read_err(&path, e))?;
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

/// Which TWCS rows a replay lays onto its week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwcsSample {
    /// `twcs-sample-random/dev.csv`: the reported week.
    Random,
    /// `twcs-sample-head/dev.csv`: the first rows of the corpus (a busy Tuesday), the week
    /// settings are tried on so that the reported week is not tuned on.
    Head,
}

impl TwcsSample {
    fn file(self) -> &'static str {
        match self {
            TwcsSample::Random => "twcs-sample-random",
            TwcsSample::Head => "twcs-sample-head",
        }
    }
}

/// The customer posts of the random TWCS sample laid onto one week (Mon 2017-11-06 00:00 UTC
/// onwards) by weekday and time of day.
pub fn load_twcs_week(data: &Path) -> Result<Vec<Post>, SpikeEvalError> {
    load_twcs_sample_week(data, TwcsSample::Random)
}

/// The customer posts of a TWCS sample laid onto one week by weekday and time of day.
pub fn load_twcs_sample_week(data: &Path, sample: TwcsSample) -> Result<Vec<Post>, SpikeEvalError> {
    let path = data.join(sample.file()).join("dev.csv");
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| read_err(&path, e))?;
    let headers = rdr.headers().map_err(|e| read_err(&path, e))?.clone();
    let names = ["author_id", "inbound", "created_at", "text"];
    let [c_author, c_in, c_at, c_text] = crate::data::columns(&headers, names, |name| {
        read_err(&path, format!("no {name} column"))
    })?;
    let monday = Utc
        .with_ymd_and_hms(2017, 11, 6, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| read_err(&path, e))?;
        if !rec.get(c_in).unwrap_or("").eq_ignore_ascii_case("true") {
            continue;
        }
        let Ok(at) =
            DateTime::parse_from_str(rec.get(c_at).unwrap_or(""), "%a %b %d %H:%M:%S %z %Y")
        else {
            continue;
        };
        let at = at.with_timezone(&Utc);
        let offset = Duration::days(i64::from(at.weekday().num_days_from_monday()))
            + Duration::seconds(i64::from(at.num_seconds_from_midnight()));
        out.push(Post {
            id: out.len() as i64 + 1,
            at: monday + offset,
            author: format!("c{}", rec.get(c_author).unwrap_or("")),
            text: rec.get(c_text).unwrap_or("").to_string(),
        });
    }
    out.sort_by_key(|p| p.at);
    for (i, p) in out.iter_mut().enumerate() {
        p.id = i as i64 + 1;
    }
    Ok(out)
}

/// Real tweets that name a place after "flights to" and the like: the templates of
/// novel-topic bursts.
pub fn place_templates(posts: &[Post]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in posts {
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
                out.push((words[..=i].join(" "), words[i + 2..].join(" ")));
                break;
            }
        }
    }
    out
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

/// An injected burst.
#[derive(Debug, Clone)]
pub struct Burst {
    pub name: String,
    /// What it is about, lowercase ("roskilde").
    pub topic: String,
    pub onset: DateTime<Utc>,
    pub posts: Vec<Post>,
    /// Posts per minute of the burst, and of the background around its onset.
    pub rate_per_minute: f64,
    pub base_per_minute: f64,
}

/// A novel-topic burst of `n` posts spread evenly (`ramp`: rising linearly) over `secs`.
fn burst(
    rng: &mut Rng,
    idx: usize,
    onset: DateTime<Utc>,
    n: usize,
    secs: f64,
    ramp: bool,
    templates: &[(String, String)],
) -> Vec<Post> {
    let topic = FESTIVALS[idx % FESTIVALS.len()];
    (0..n)
        .map(|i| {
            let frac = (i as f64 + 0.5) / n as f64;
            let offset = if ramp {
                secs * frac.sqrt()
            } else {
                secs * frac
            };
            let (before, after) = &templates[rng.below(templates.len() as u64) as usize];
            // Most people post once; some twice.
            let author = if rng.below(10) == 0 && i > 0 {
                format!("fan{idx}-{}", rng.below(i as u64))
            } else {
                format!("fan{idx}-{i}")
            };
            Post {
                id: 1_000_000_000 + (idx as i64) * 10_000 + i as i64,
                at: onset + Duration::milliseconds((offset * 1000.0) as i64),
                author,
                text: format!("{before} {topic} Festival {after}"),
            }
        })
        .collect()
}

/// The background's posts per minute in the hour around `at` (at least one per hour).
fn base_rate(background: &[Post], at: DateTime<Utc>) -> f64 {
    let from = at - Duration::minutes(30);
    let to = at + Duration::minutes(30);
    let n = background
        .iter()
        .filter(|p| p.at >= from && p.at < to)
        .count();
    (n as f64 / 60.0).max(1.0 / 60.0)
}

/// Replays the background merged with `inject`.
fn replay(background: &[Post], inject: &[Post], config: &SpikeConfig) -> Vec<SpikeEvent> {
    let mut d = SpikeDetector::new(config.clone());
    let mut events = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < background.len() || j < inject.len() {
        let take_bg =
            j >= inject.len() || (i < background.len() && background[i].at <= inject[j].at);
        let p = if take_bg {
            i += 1;
            &background[i - 1]
        } else {
            j += 1;
            &inject[j - 1]
        };
        events.extend(d.observe(p.id, &p.author, &p.text, Some("en"), None, p.at));
    }
    events
}

/// A background squeezed `k` times: the same posts, `k` times closer together.
pub fn compress(background: &[Post], k: i64) -> Vec<Post> {
    let Some(start) = background.first().map(|p| p.at) else {
        return Vec::new();
    };
    background
        .iter()
        .map(|p| Post {
            at: start + Duration::milliseconds((p.at - start).num_milliseconds() / k.max(1)),
            ..p.clone()
        })
        .collect()
}

/// What happened to one burst.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub burst: Burst,
    /// Seconds from its first post to the alert, and the alert's label.
    pub detected: Option<(f64, Vec<String>)>,
}

/// False alarms after the warm-up day: (count, days counted, their labels).
pub fn false_alarms(
    background: &[Post],
    config: &SpikeConfig,
    warm_up: Duration,
) -> (usize, f64, Vec<String>) {
    let Some(start) = background.first().map(|p| p.at) else {
        return (0, 0.0, Vec::new());
    };
    let end = background.last().map_or(start, |p| p.at);
    let warm_until = start + warm_up;
    let alarms: Vec<String> = replay(background, &[], config)
        .iter()
        .filter_map(|e| match e {
            SpikeEvent::Started(s) if s.detected_at >= warm_until => Some(format!(
                "{} {:?} ({} posts, {} authors)",
                s.detected_at.format("%a %H:%M"),
                s.label_terms,
                s.posts,
                s.authors
            )),
            _ => None,
        })
        .collect();
    let days = (end - warm_until).num_seconds() as f64 / 86_400.0;
    (alarms.len(), days, alarms)
}

/// Injects each burst into its own replay and times its detection.
pub fn detect(background: &[Post], bursts: &[Burst], config: &SpikeConfig) -> Vec<Outcome> {
    bursts
        .iter()
        .map(|b| {
            let first = b.posts.first().map_or(0, |p| p.id);
            // The alert is this burst's when its label names the topic, or most of its sample
            // posts are the burst's (a busy background shares words like "flight").
            let ours = |ids: &[i64], label: &[String]| {
                let n = ids
                    .iter()
                    .filter(|id| **id >= first && **id < first + 10_000)
                    .count();
                n * 2 > ids.len() || label.iter().any(|l| l.contains(b.topic.as_str()))
            };
            let detected = replay(background, &b.posts, config)
                .iter()
                .find_map(|e| match e {
                    SpikeEvent::Started(s)
                        if s.detected_at >= b.onset && ours(&s.sample_post_ids, &s.label_terms) =>
                    {
                        Some((
                            (s.detected_at - b.onset).num_milliseconds() as f64 / 1000.0,
                            s.label_terms.clone(),
                        ))
                    }
                    _ => None,
                });
            Outcome {
                burst: b.clone(),
                detected,
            }
        })
        .collect()
}

/// Bursts at `multiple` × the background's rate around each onset, 10 minutes long (at least
/// 10 posts), after `warm_up`, a third of them at night (01–05 h) where the span has nights.
pub fn rate_bursts(
    background: &[Post],
    templates: &[(String, String)],
    multiple: f64,
    count: usize,
    seed: u64,
    warm_up: Duration,
) -> Vec<Burst> {
    let mut rng = Rng(seed);
    let (Some(start), Some(end)) = (
        background.first().map(|p| p.at),
        background.last().map(|p| p.at),
    ) else {
        return Vec::new();
    };
    let span_start = start + warm_up;
    let span = (end - Duration::minutes(20) - span_start)
        .num_seconds()
        .max(1) as u64;
    (0..count)
        .map(|k| {
            let night = k % 3 == 0;
            let mut onset = span_start;
            for _ in 0..10_000 {
                onset = span_start + Duration::seconds(rng.below(span) as i64);
                if !night || (1..5).contains(&onset.hour()) {
                    break;
                }
            }
            let base = base_rate(background, onset);
            let rate = base * multiple;
            let n = ((rate * 10.0).round() as usize).max(10);
            let posts = burst(
                &mut rng,
                k,
                onset,
                n,
                n as f64 / rate * 60.0,
                false,
                templates,
            );
            Burst {
                name: format!("{multiple}× at {:02}h", onset.hour()),
                topic: FESTIVALS[k % FESTIVALS.len()].to_lowercase(),
                onset,
                posts,
                rate_per_minute: rate,
                base_per_minute: base,
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

fn summarise(out: &mut String, label: &str, outcomes: &[Outcome]) {
    let mut ds: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.detected.as_ref().map(|d| d.0))
        .collect();
    ds.sort_by(f64::total_cmp);
    let within = ds.iter().filter(|d| **d <= 60.0).count();
    let n = outcomes.len().max(1) as f64;
    let rate: f64 = outcomes
        .iter()
        .map(|o| o.burst.rate_per_minute)
        .sum::<f64>()
        / n;
    let base: f64 = outcomes
        .iter()
        .map(|o| o.burst.base_per_minute)
        .sum::<f64>()
        / n;
    let _ = writeln!(
        out,
        "| {label} | {} | {:.2} | {:.1} | {:.0}% | {:.0}% | {:.0} | {:.0} | {:.0} |",
        outcomes.len(),
        base,
        rate,
        100.0 * ds.len() as f64 / n,
        100.0 * within as f64 / n,
        percentile(&ds, 0.5),
        percentile(&ds, 0.9),
        ds.last().copied().unwrap_or(f64::NAN),
    );
}

/// The whole evaluation as the terminal prints it.
pub fn run(data: &Path, config: &SpikeConfig) -> Result<String, SpikeEvalError> {
    let rows = load_airline(data)?;
    let airline: Vec<Post> = rows.iter().map(|(p, _)| p.clone()).collect();
    let templates = place_templates(&airline);
    let airline10 = compress(&airline, 10);
    let twcs = load_twcs_week(data)?;
    let backgrounds: [(&str, &[Post], Duration); 3] = [
        ("airline week (real time)", &airline, Duration::hours(24)),
        (
            "airline ×10 (a brand ten times busier)",
            &airline10,
            Duration::hours(24) / 10,
        ),
        (
            "TWCS week (twcs-sample-random laid onto one week)",
            &twcs,
            Duration::hours(24),
        ),
    ];
    Ok(report(&backgrounds, &templates, &airline, config))
}

/// The same measurements on the week settings are tried on, which the reported figures never
/// use: `twcs-sample-head` laid onto one week, as it is and ten times busier.
pub fn run_tuning(data: &Path, config: &SpikeConfig) -> Result<String, SpikeEvalError> {
    let rows = load_airline(data)?;
    let airline: Vec<Post> = rows.iter().map(|(p, _)| p.clone()).collect();
    let templates = place_templates(&airline);
    let head = load_twcs_sample_week(data, TwcsSample::Head)?;
    let head10 = compress(&head, 10);
    let backgrounds: [(&str, &[Post], Duration); 2] = [
        (
            "tuning: TWCS head week (twcs-sample-head laid onto one week)",
            &head,
            Duration::hours(24),
        ),
        ("tuning: TWCS head ×10", &head10, Duration::hours(24) / 10),
    ];
    Ok(report(&backgrounds, &templates, &airline, config))
}

fn report(
    backgrounds: &[(&str, &[Post], Duration)],
    templates: &[(String, String)],
    airline: &[Post],
    config: &SpikeConfig,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "spike detection (`cargo run --release -p earshot-lab --example spike_eval`)\nconfig: {}",
        serde_json::to_string(config).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "\n## False alarms on normal traffic (after the warm-up)\n"
    );
    let _ = writeln!(
        out,
        "| background | posts | days counted | false alarms | per day |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let mut alarm_lists = Vec::new();
    for (name, bg, warm) in backgrounds {
        let (n, days, list) = false_alarms(bg, config, *warm);
        let _ = writeln!(
            out,
            "| {name} | {} | {days:.2} | {n} | {:.2} |",
            bg.len(),
            n as f64 / days.max(1e-9)
        );
        alarm_lists.push((name.to_string(), list));
    }
    for (name, list) in &alarm_lists {
        for a in list {
            let _ = writeln!(out, "  - {name}: {a}");
        }
    }
    let _ = writeln!(
        out,
        "\n## Time to alert at 10× and 50× the usual rate (novel topic, 10 minutes)\n"
    );
    let _ = writeln!(
        out,
        "| background, burst | n | usual posts/min | burst posts/min | detected | within 60 s | delay p50 s | p90 s | max s |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, bg, warm) in backgrounds {
        for (m, seed) in [(10.0, 20_250_610u64), (50.0, 20_250_611u64)] {
            let bursts = rate_bursts(bg, templates, m, 12, seed, *warm);
            let outcomes = detect(bg, &bursts, config);
            summarise(&mut out, &format!("{name}, {m}×"), &outcomes);
        }
    }
    // Throughput: tokenising alone vs the whole detector, same posts, one thread.
    let laps = 10;
    let t = std::time::Instant::now();
    let mut words = 0usize;
    for _ in 0..laps {
        for p in airline {
            words += earshot_analyze::text::Prepared::new(&p.text).tokens.len();
        }
    }
    let tokenise = (laps * airline.len()) as f64 / t.elapsed().as_secs_f64();
    let mut d = SpikeDetector::new(config.clone());
    let t = std::time::Instant::now();
    for lap in 0..laps {
        let shift = Duration::days(9 * lap as i64);
        for p in airline {
            d.observe(
                p.id + lap as i64 * 100_000,
                &p.author,
                &p.text,
                Some("en"),
                None,
                p.at + shift,
            );
        }
    }
    let observe = (laps * airline.len()) as f64 / t.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "\n## Throughput (one thread, {} posts, {} words per lap)\n\n| step | posts/s | vs tokenising |\n|---|---:|---:|\n| tokenising alone (`text::Prepared::new`) | {tokenise:.0} | 1.00 |\n| `SpikeDetector::observe` | {observe:.0} | {:.2} |",
        laps * airline.len(),
        words / laps,
        observe / tokenise
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn quiet_week() -> Vec<Post> {
        let t0 = Utc.with_ymd_and_hms(2024, 6, 24, 0, 0, 0).unwrap();
        let usual = [
            "Where is my bag?",
            "Can I change my seat?",
            "Is my flight on time?",
        ];
        (0..8000i64)
            .map(|i| Post {
                id: i + 1,
                at: t0 + Duration::seconds(30 * i),
                author: format!("c{i}"),
                text: usual[i as usize % 3].to_string(),
            })
            .collect()
    }

    #[test]
    fn a_burst_at_fifty_times_the_usual_rate_is_timed_and_a_quiet_week_raises_no_alarm() {
        let bg = quiet_week();
        let templates = vec![(
            "Any extra flights to".to_string(),
            "this summer?".to_string(),
        )];
        let config = SpikeConfig::default();
        let (n, days, _) = false_alarms(&bg, &config, Duration::hours(24));
        assert_eq!(n, 0);
        assert!(days > 1.5);
        let bursts = rate_bursts(&bg, &templates, 50.0, 2, 1, Duration::hours(24));
        assert_eq!(bursts.len(), 2);
        assert!((bursts[0].rate_per_minute / bursts[0].base_per_minute - 50.0).abs() < 1e-6);
        let outcomes = detect(&bg, &bursts, &config);
        for o in &outcomes {
            let (delay, label) = o.detected.clone().unwrap();
            assert!(delay <= 60.0, "{delay}");
            assert!(
                label
                    .iter()
                    .any(|l| l.contains("festival") || l.contains("flights")),
                "{label:?}"
            );
        }
    }
}
