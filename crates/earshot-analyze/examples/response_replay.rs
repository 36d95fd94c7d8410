//! Replays real brand answers through earshot's response clock and report, and checks them
//! against the times read straight from the data's timestamps.
//!
//! `cargo run --release -p earshot-analyze --example response_replay -- [DATA_DIR] [--out DIR]`
//!
//! DATA_DIR defaults to `../shared/data` (the shared data next to the repository). With
//! `--out`, the report is also written as `report.json`, `report.csv` and `breaches.csv`.
//!
//! Two paths, kept apart on purpose:
//! - report path: each conversation becomes a history of clock events, a policy is assessed
//!   on it (`earshot_core::triage`), and the first answer and resolution times come from the
//!   assessment; `triage::report::build` groups them.
//! - direct path: the first answer time is subtracted from the first customer post's time
//!   right here, and percentiles are taken by sorting.
//!
//! They must agree to the second. Then a sample policy (1 h in business hours for complaints,
//! 4 h for the rest; US office hours with US holidays from an .ics) shows what would have
//! been flagged as breached.

use chrono::{DateTime, Duration, TimeZone, Utc};
use earshot_analyze::Analyzer;
use earshot_core::analysis::Intent;
use earshot_core::network::Network;
use earshot_core::priority;
use earshot_core::sla::{ResponseTargets, SlaClock};
use earshot_core::threading::signals_of;
use earshot_core::triage::condition::Condition;
use earshot_core::triage::hours::HoursConfig;
use earshot_core::triage::policy::{PolicyConfig, PolicySet, TargetConfig};
use earshot_core::triage::report::{self, Dimension, ResponseRecord};
use earshot_core::triage::timeline::{ClockEvent, Moment, Progress};
use earshot_core::triage::{Assessment, Facts};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// US federal holidays as a calendar feed would publish them (RRULEs, not a list of dates).
const US_HOLIDAYS_ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//earshot//replay//EN\r\n\
BEGIN:VEVENT\r\nUID:ny\r\nSUMMARY:New Year's Day\r\nDTSTART;VALUE=DATE:20170101\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:mlk\r\nSUMMARY:Martin Luther King Jr. Day\r\nDTSTART;VALUE=DATE:20170116\r\nRRULE:FREQ=YEARLY;BYMONTH=1;BYDAY=3MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:pres\r\nSUMMARY:Presidents' Day\r\nDTSTART;VALUE=DATE:20170220\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:mem\r\nSUMMARY:Memorial Day\r\nDTSTART;VALUE=DATE:20170529\r\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:ind\r\nSUMMARY:Independence Day\r\nDTSTART;VALUE=DATE:20170704\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:lab\r\nSUMMARY:Labor Day\r\nDTSTART;VALUE=DATE:20170904\r\nRRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=1MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:tg\r\nSUMMARY:Thanksgiving\r\nDTSTART;VALUE=DATE:20171123\r\nDTEND;VALUE=DATE:20171125\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:xmas\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20171225\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

/// The sample policies, as an admin would write them in TOML:
///
/// ```toml
/// [[policies]]
/// name = "complaints 1h"
/// when = { intent = ["complaint"] }
/// first_response = { within = "1h", hours = "us-office" }
/// resolution = { within = "8h", hours = "us-office" }
///
/// [[policies]]
/// name = "everything else 4h"
/// first_response = { within = "4h", hours = "us-office" }
/// resolution = { within = "16h", hours = "us-office" }
/// ```
fn sample_policies() -> Result<Vec<PolicyConfig>, String> {
    let target = |within: &str| -> Result<TargetConfig, String> {
        Ok(TargetConfig {
            within: within.parse().map_err(|e| format!("{e}"))?,
            hours: Some("us-office".into()),
        })
    };
    Ok(vec![
        PolicyConfig {
            name: "complaints 1h".into(),
            when: Condition {
                intent: vec![Intent::Complaint],
                ..Condition::default()
            },
            first_response: target("1h")?,
            resolution: Some(target("8h")?),
            next_response: None,
        },
        PolicyConfig {
            name: "everything else 4h".into(),
            when: Condition::default(),
            first_response: target("4h")?,
            resolution: Some(target("16h")?),
            next_response: None,
        },
    ])
}

// ---------- the data's own shapes ----------

#[derive(Deserialize)]
struct IbmConversation {
    #[serde(rename = "agentURL")]
    agent_url: IbmFinal,
    #[serde(rename = "dialogContent")]
    turns: Vec<HashMap<String, String>>,
    #[serde(rename = "dialogHeader")]
    header: IbmHeader,
}

#[derive(Deserialize)]
struct IbmFinal {
    #[serde(rename = "tweet_ID")]
    tweet_id: String,
}

#[derive(Deserialize)]
struct IbmHeader {
    company: String,
    #[serde(rename = "conversationDateTime")]
    started: String,
    duration: String,
    #[serde(rename = "sessionID")]
    session: String,
}

/// A conversation reduced to what both paths need.
struct Replayed {
    id: String,
    brand: String,
    /// (time, from the brand?) in the data's order.
    posts: Vec<(DateTime<Utc>, bool)>,
    /// When the conversation ended (IBM: the agent's final, document-linking answer).
    ended_at: Option<DateTime<Utc>>,
    first_text: String,
    /// Direct path: first brand answer time minus first customer time, computed from the raw
    /// fields (not from `posts`).
    direct_first_response: Option<i64>,
}

fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A tweet id's own timestamp (X/Twitter snowflake: milliseconds since 2010-11-04 in the top bits).
fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let id: u64 = id.trim().parse().ok()?;
    let ms = i64::try_from(id >> 22).ok()? + 1_288_834_974_657;
    Utc.timestamp_millis_opt(ms).single()
}

/// `HH:MM:SS.s` (the IBM header's duration); negative values occur in the data.
fn parse_duration(s: &str) -> Option<Duration> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut parts = s.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.trim_end_matches('.').parse().ok()?;
    let d = Duration::hours(h)
        + Duration::minutes(m)
        + Duration::milliseconds((sec * 1000.0).round() as i64);
    Some(if neg { -d } else { d })
}

struct HeaderCheck {
    agree: usize,
    whole_days_off: usize,
    other: usize,
}

fn load_ibm(dir: &Path) -> Result<(Vec<Replayed>, HeaderCheck), String> {
    let path = dir.join("ibm-care-conversations/dev.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: Vec<IbmConversation> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::with_capacity(raw.len());
    let mut check = HeaderCheck {
        agree: 0,
        whole_days_off: 0,
        other: 0,
    };
    for c in raw {
        let final_at = snowflake_time(&c.agent_url.tweet_id);
        // The README's rule (start + duration) against the tweet id's own clock.
        if let (Some(start), Some(d), Some(fin)) = (
            parse_utc(&c.header.started),
            parse_duration(&c.header.duration),
            final_at,
        ) {
            let off = (fin - (start + d)).num_milliseconds().abs();
            if off <= 1_000 {
                check.agree += 1;
            } else if (off % 86_400_000).min(86_400_000 - off % 86_400_000) <= 1_000 {
                check.whole_days_off += 1;
            } else {
                check.other += 1;
            }
        }
        let mut posts = Vec::with_capacity(c.turns.len() + 1);
        let mut first_customer: Option<DateTime<Utc>> = None;
        let mut first_agent_turn: Option<DateTime<Utc>> = None;
        let mut first_text = String::new();
        for turn in &c.turns {
            let Some(at) = turn.get("datetime").and_then(|s| parse_utc(s)) else {
                continue;
            };
            let from_brand = turn.contains_key("agent");
            if from_brand {
                first_agent_turn = Some(first_agent_turn.map_or(at, |t| t.min(at)));
            } else {
                if first_customer.is_none_or(|t| at < t) {
                    first_text = turn.get("message").cloned().unwrap_or_default();
                }
                first_customer = Some(first_customer.map_or(at, |t| t.min(at)));
            }
            posts.push((at, from_brand));
        }
        if let Some(fin) = final_at {
            posts.push((fin, true));
        }
        let direct_first_response = first_customer.and_then(|c0| {
            let answers = [first_agent_turn, final_at];
            answers
                .iter()
                .flatten()
                .filter(|&&t| t >= c0)
                .min()
                .map(|&t| (t - c0).num_seconds())
        });
        out.push(Replayed {
            id: c.header.session,
            brand: c.header.company,
            posts,
            ended_at: final_at,
            first_text,
            direct_first_response,
        });
    }
    Ok((out, check))
}

#[derive(Deserialize)]
struct TwcsRow {
    tweet_id: String,
    author_id: String,
    inbound: String,
    created_at: String,
    text: String,
    in_response_to_tweet_id: String,
}

fn twcs_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct TwcsStats {
    threads: usize,
    answered_direct: usize,
    /// Threads where no brand tweet replies to the opening tweet (it answered a later one).
    root_not_answered: usize,
}

fn load_twcs(dir: &Path) -> Result<(Vec<Replayed>, TwcsStats), String> {
    let path = dir.join("twcs-sample-head/dev.csv");
    let mut reader =
        csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows: HashMap<String, (TwcsRow, DateTime<Utc>)> = HashMap::new();
    for row in reader.deserialize::<TwcsRow>() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(t) = twcs_time(&row.created_at) {
            rows.insert(row.tweet_id.clone(), (row, t));
        }
    }
    // The root of a tweet: follow in_response_to while the parent is in the file.
    let root_of = |id: &str| -> String {
        let mut cur = id.to_string();
        for _ in 0..1000 {
            match rows
                .get(&cur)
                .map(|(r, _)| r.in_response_to_tweet_id.clone())
            {
                Some(p) if !p.is_empty() && rows.contains_key(&p) => cur = p,
                _ => break,
            }
        }
        cur
    };
    let mut threads: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in rows.keys() {
        threads.entry(root_of(id)).or_default().push(id.clone());
    }
    let mut out = Vec::new();
    let mut stats = TwcsStats {
        threads: 0,
        answered_direct: 0,
        root_not_answered: 0,
    };
    for (root, members) in threads {
        let Some((root_row, root_at)) = rows.get(&root) else {
            continue;
        };
        // Conversations start with a customer; threads opened by a brand tweet are not replayed.
        if root_row.inbound != "True" {
            continue;
        }
        let mut posts: Vec<(DateTime<Utc>, bool)> = Vec::new();
        let mut brand = None;
        for id in &members {
            if let Some((r, t)) = rows.get(id) {
                let from_brand = r.inbound != "True";
                if from_brand && brand.is_none() {
                    brand = Some(r.author_id.clone());
                }
                posts.push((*t, from_brand));
            }
        }
        let Some(brand) = brand else { continue };
        stats.threads += 1;
        // Direct path: the brand's replies to the opening tweet itself.
        let direct_first_response = members
            .iter()
            .filter_map(|id| rows.get(id))
            .filter(|(r, _)| r.inbound != "True" && r.in_response_to_tweet_id == root)
            .map(|(_, t)| (*t - *root_at).num_seconds())
            .min();
        if direct_first_response.is_some() {
            stats.answered_direct += 1;
        } else {
            stats.root_not_answered += 1;
        }
        out.push(Replayed {
            id: root.clone(),
            brand,
            posts,
            ended_at: None,
            first_text: root_row.text.clone(),
            direct_first_response,
        });
    }
    Ok((out, stats))
}

// ---------- the report path ----------

fn history(c: &Replayed) -> Vec<Moment> {
    let mut h: Vec<Moment> = c
        .posts
        .iter()
        .map(|&(at, brand)| {
            Moment::new(
                at,
                if brand {
                    ClockEvent::BrandReply
                } else {
                    ClockEvent::CustomerPost
                },
            )
        })
        .collect();
    if let Some(end) = c.ended_at {
        h.push(Moment::new(end, ClockEvent::Resolved));
    }
    h
}

fn facts(c: &Replayed, analyzer: &Analyzer, clock: &SlaClock) -> Facts {
    let a = analyzer.analyze_text(&c.first_text, None, None);
    let signals = signals_of(&a);
    let opened = c.posts.iter().filter(|p| !p.1).map(|p| p.0).min();
    let f = Facts {
        band: priority::band(&signals),
        intent: a.intent.label,
        sentiment: a.sentiment.label,
        network: Network::X,
        language: a.language.language.code().to_string(),
        text: c.first_text.clone(),
        team: Some(c.brand.clone()),
        ..Facts::default()
    };
    match opened {
        Some(t) => f.on_clock(clock, t),
        None => f,
    }
}

fn record(c: &Replayed, f: &Facts, a: &Assessment) -> Option<ResponseRecord> {
    let opened_at = a.first_response.started_at?;
    let first_response_at = match a.first_response.progress {
        Progress::Met { at } => Some(at),
        _ => None,
    };
    let resolved_at = a.resolution.as_ref().and_then(|r| match r.progress {
        Progress::Met { at } => Some(at),
        _ => None,
    });
    Some(
        ResponseRecord {
            conversation: c.id.clone(),
            team: c.brand.clone(),
            agent: None,
            network: Network::X,
            intent: f.intent,
            opened_at,
            first_response_at,
            resolved_at,
            policy: None,
            targets: vec![],
        }
        .with_assessment(a),
    )
}

// ---------- the direct path's own arithmetic ----------

struct Direct {
    count: usize,
    mean: f64,
    p50: i64,
    p90: i64,
    p95: i64,
}

fn direct_stats(mut v: Vec<i64>) -> Option<Direct> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    // Nearest rank, written out: the smallest value with at least p % of values at or below it.
    let nearest = |p: usize| {
        let mut rank = p * n / 100;
        if rank * 100 < p * n {
            rank += 1;
        }
        v[rank.max(1) - 1]
    };
    Some(Direct {
        count: n,
        mean: v.iter().sum::<i64>() as f64 / n as f64,
        p50: nearest(50),
        p90: nearest(90),
        p95: nearest(95),
    })
}

fn mins(s: Option<i64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{:.1}", s as f64 / 60.0))
}

fn compare(
    title: &str,
    convs: &[Replayed],
    records: &BTreeMap<String, ResponseRecord>,
    min_per_brand: usize,
) -> (usize, usize) {
    println!("\n## {title}: first response per brand, report path vs direct (minutes)\n");
    println!(
        "| brand | n | report p50 | direct p50 | report p90 | direct p90 | report p95 | direct p95 | report mean | direct mean | max |diff| s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut by_brand: BTreeMap<&str, Vec<&Replayed>> = BTreeMap::new();
    for c in convs {
        by_brand.entry(&c.brand).or_default().push(c);
    }
    // Per brand, the pairs where both paths have an answer time; busiest brands first.
    let mut brands: Vec<(&str, Vec<(i64, i64)>)> = by_brand
        .into_iter()
        .map(|(brand, cs)| {
            let pairs = cs
                .iter()
                .filter_map(|c| {
                    let rep = records.get(&c.id)?.first_response_secs()?;
                    Some((rep, c.direct_first_response?))
                })
                .collect();
            (brand, pairs)
        })
        .collect();
    brands.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let (mut compared, mut mismatched) = (0, 0);
    let mut shown_rest = 0;
    for (brand, pairs) in &brands {
        compared += pairs.len();
        mismatched += pairs.iter().filter(|(a, b)| a != b).count();
        let rep = report::Distribution::of(pairs.iter().map(|p| p.0));
        let Some(dir) = direct_stats(pairs.iter().map(|p| p.1).collect()) else {
            continue;
        };
        if pairs.len() < min_per_brand {
            shown_rest += 1;
            continue;
        }
        let max_diff = pairs.iter().map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
        println!(
            "| {brand} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {max_diff} |",
            dir.count,
            mins(rep.p50_secs),
            mins(Some(dir.p50)),
            mins(rep.p90_secs),
            mins(Some(dir.p90)),
            mins(rep.p95_secs),
            mins(Some(dir.p95)),
            rep.mean_secs.unwrap_or(0.0) / 60.0,
            dir.mean / 60.0,
        );
    }
    if shown_rest > 0 {
        println!("\n({shown_rest} brands with fewer than {min_per_brand} answered conversations not listed; they are in the totals.)");
    }
    (compared, mismatched)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("response_replay failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from("../shared/data");
    let mut out_dir: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        if a == "--out" {
            out_dir = args.next().map(PathBuf::from);
        } else {
            dir = PathBuf::from(a);
        }
    }

    let hours = HoursConfig {
        timezone: "America/New_York".into(),
        week: [("mon-fri".to_string(), "09:00-17:00".to_string())].into(),
        holidays: vec![],
        holidays_ics: Some("us-holidays.ics (embedded)".into()),
    };
    let (office, warnings) = hours
        .clock(Some(US_HOLIDAYS_ICS), 2017..=2021)
        .map_err(|e| e.to_string())?;
    if !warnings.is_empty() {
        return Err(format!("holiday calendar warnings: {warnings:?}"));
    }
    let clocks: BTreeMap<String, SlaClock> = [("us-office".to_string(), office.clone())].into();
    let policies = PolicySet::compile(
        &sample_policies()?,
        &clocks,
        ResponseTargets::default(),
        ("calendar", SlaClock::Calendar),
    )
    .map_err(|e| e.to_string())?;
    let analyzer = Analyzer::default();

    let (ibm, header) = load_ibm(&dir)?;
    let (twcs, twcs_stats) = load_twcs(&dir)?;
    // The report's "now": a day after the last event, so nothing is judged before it happened.
    let now = ibm
        .iter()
        .chain(&twcs)
        .flat_map(|c| c.posts.iter().map(|p| p.0))
        .max()
        .unwrap_or_else(Utc::now)
        + Duration::days(1);

    println!("# Response-time replay\n");
    println!("Data: {} (IBM care conversations dev split: {} conversations; TWCS head dev split: {} threads answered by a brand).", dir.display(), ibm.len(), twcs_stats.threads);
    println!("Sample policies: complaints (intent read by earshot-analyze) 1 h first answer / 8 h resolution, others 4 h / 16 h; business hours Mon–Fri 09:00–17:00 America/New_York minus US federal holidays from an .ics (RRULE:FREQ=YEARLY).");
    println!(
        "\nIBM data check: the final answer's time is taken from its tweet id (snowflake); the README's `conversationDateTime + duration` agrees for {} of {} conversations, is off by whole days for {} (the duration field drops days) and otherwise off for {} (negative or garbled durations).",
        header.agree,
        header.agree + header.whole_days_off + header.other,
        header.whole_days_off,
        header.other
    );

    let mut all_records = Vec::new();
    let mut by_id: BTreeMap<String, ResponseRecord> = BTreeMap::new();
    let mut why_of: BTreeMap<String, String> = BTreeMap::new();
    for c in ibm.iter().chain(&twcs) {
        let f = facts(c, &analyzer, &office);
        let a = policies.assess(&f, &history(c), now);
        if let Some(r) = record(c, &f, &a) {
            why_of.insert(c.id.clone(), a.why.clone());
            by_id.insert(c.id.clone(), r.clone());
            all_records.push(r);
        }
    }

    let (n1, bad1) = compare("IBM care conversations", &ibm, &by_id, 5);
    println!("\nIBM: {n1} conversations compared, {bad1} differ.");
    let (n2, bad2) = compare("TWCS head (Oct–Nov 2017)", &twcs, &by_id, 20);
    println!(
        "\nTWCS: {n2} threads compared, {bad2} differ. Direct = the brand's earliest reply to the opening tweet ({} threads have one). In the other {} threads the brand only replied to a later customer tweet: they have no direct value and are left out of this comparison (the report still times them from the first customer post).",
        twcs_stats.answered_direct, twcs_stats.root_not_answered
    );

    let ibm_records: Vec<ResponseRecord> = ibm
        .iter()
        .filter_map(|c| by_id.get(&c.id).cloned())
        .collect();
    let rep = report::build(&ibm_records, office.tz(), &office, now);
    println!("\n## What the sample policy flags (IBM conversations)\n");
    println!("| brand | n | complaints | first answer within target | breached first answer | resolution within target |");
    println!("|---|---:|---:|---:|---:|---:|");
    let share = |s: Option<report::Share>| {
        s.map_or_else(
            || "-".into(),
            |s| format!("{}/{} ({:.0} %)", s.met, s.decided, s.ratio * 100.0),
        )
    };
    let mut teams: Vec<&report::Group> = rep
        .groups
        .iter()
        .filter(|g| g.dimension == Dimension::Team)
        .collect();
    teams.sort_by(|a, b| {
        b.summary
            .conversations
            .cmp(&a.summary.conversations)
            .then(a.key.cmp(&b.key))
    });
    for g in teams.iter().filter(|g| g.summary.conversations >= 10) {
        let complaints = ibm_records
            .iter()
            .filter(|r| r.team == g.key && r.intent == Intent::Complaint)
            .count();
        let breached = rep
            .breaches
            .iter()
            .filter(|b| {
                b.team == g.key && b.target == earshot_core::triage::TargetKind::FirstResponse
            })
            .count();
        println!(
            "| {} | {} | {complaints} | {} | {breached} | {} |",
            g.key,
            g.summary.conversations,
            share(g.summary.first_response_within_target),
            share(g.summary.resolution_within_target)
        );
    }
    println!(
        "| **all** | {} | {} | {} | {} | {} |",
        rep.overall.conversations,
        ibm_records
            .iter()
            .filter(|r| r.intent == Intent::Complaint)
            .count(),
        share(rep.overall.first_response_within_target),
        rep.breaches
            .iter()
            .filter(|b| b.target == earshot_core::triage::TargetKind::FirstResponse)
            .count(),
        share(rep.overall.resolution_within_target)
    );
    println!("\nBy when the customer wrote (New York time):\n");
    println!("| group | n | p50 min | p90 min | within target |");
    println!("|---|---:|---:|---:|---:|");
    for g in rep
        .groups
        .iter()
        .filter(|g| matches!(g.dimension, Dimension::Hours | Dimension::Weekday))
    {
        println!(
            "| {} {} | {} | {} | {} | {} |",
            g.dimension.as_str(),
            g.key,
            g.summary.conversations,
            mins(g.summary.first_response.p50_secs),
            mins(g.summary.first_response.p90_secs),
            share(g.summary.first_response_within_target)
        );
    }
    println!("\nSome breaches, with the reason and why that policy applied:\n");
    for b in rep
        .breaches
        .iter()
        .filter(|b| b.target == earshot_core::triage::TargetKind::FirstResponse)
        .take(6)
    {
        println!(
            "- {} ({}): {}. Policy chosen because {}",
            b.conversation,
            b.team,
            b.reason,
            why_of.get(&b.conversation).map_or("?", String::as_str)
        );
    }

    if let Some(out) = out_dir {
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let full = report::build(&all_records, office.tz(), &office, now);
        let json = full.to_json().map_err(|e| e.to_string())?;
        for (name, body) in [
            ("report.json", json),
            ("report.csv", full.to_csv()),
            ("breaches.csv", full.breaches_csv()),
        ] {
            let p = out.join(name);
            std::fs::write(&p, body).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        println!(
            "\nWrote report.json, report.csv and breaches.csv (IBM and TWCS together) to {}.",
            out.display()
        );
    }
    if bad1 + bad2 > 0 {
        return Err(format!(
            "{bad1} IBM conversations and {bad2} TWCS threads differ between the report and the direct computation"
        ));
    }
    Ok(())
}
