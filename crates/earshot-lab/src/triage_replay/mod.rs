//! `earshot bench triage`: does earshot's order get the right customers answered first?
//!
//! The real customer posts of the care conversations in `../shared/data` (TWCS dev samples,
//! IBM validation conversations) are replayed in their real order and times ([`data`]) to a
//! simulated team ([`sim`]) working the queue in earshot's order, first-in-first-out and
//! newest-first, in the same run, with the same arrivals and handling times. Every post is
//! read by earshot's analyzer and classed by what earshot made of it:
//! - **urgent/harm**: its content band is urgent (a safety report, or critical urgency);
//! - **complaint**: its intent is a complaint;
//! - **routine question**: a question whose band is normal or low.
//!
//! For each order: the share of each class answered within 30 minutes and the first-response
//! p50/p90; beside them what the real brands did on the same posts (their real reply times).
//! The goal (issue 14): with the same team, earshot's order answers ≥ 90 % of urgent/harm posts
//! within 30 minutes, improves the complaint p90 over FIFO by ≥ 2×, and no routine question
//! waits more than 2× its FIFO wait (counted with a 10-minute floor on the FIFO wait).
//!
//! The classes come from earshot's own reading of each post, so they measure whether the
//! team reaches what earshot flags; how well it flags is measured elsewhere (the safety
//! sample in `data/safety`, the analyzer's evaluation).

pub mod data;
pub mod sim;

use chrono::Duration;
use earshot_analyze::Analyzer;
use earshot_core::priority::PriorityBand;
use earshot_core::threading::{signals_of, TriagePolicy};
use earshot_core::{Analysis, BusinessHours, Intent, SlaClock};
use sim::{simulate, Order, Team};
use std::fmt::Write as _;
use std::path::PathBuf;

/// When the simulated agents work.
#[derive(Debug, Clone, PartialEq)]
pub enum Shifts {
    /// Around the clock, every day.
    Covered,
    /// Weekdays only, in a time zone ("mon-fri", "08:00-20:00", "America/New_York"): nights
    /// and weekends uncovered.
    Weekdays { hours: String, timezone: String },
}

impl Shifts {
    fn clock(&self) -> Result<SlaClock, String> {
        match self {
            Shifts::Covered => Ok(SlaClock::Calendar),
            Shifts::Weekdays { hours, timezone } => {
                BusinessHours::parse(timezone, &[("mon-fri", hours.as_str())], &[])
                    .map(SlaClock::Business)
                    .map_err(|e| e.to_string())
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Shifts::Covered => "around the clock, 7 days".into(),
            Shifts::Weekdays { hours, timezone } => {
                format!("mon–fri {hours} {timezone} (nights and weekends uncovered)")
            }
        }
    }
}

/// What to replay and with which teams.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub data: PathBuf,
    pub team_sizes: Vec<usize>,
    pub shifts: Vec<Shifts>,
    pub seed: u64,
}

/// The classes figures are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    UrgentHarm,
    Complaint,
    RoutineQuestion,
    All,
}

impl Class {
    pub const ALL: [Class; 4] = [
        Class::UrgentHarm,
        Class::Complaint,
        Class::RoutineQuestion,
        Class::All,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Class::UrgentHarm => "urgent/harm",
            Class::Complaint => "complaint",
            Class::RoutineQuestion => "routine question",
            Class::All => "all",
        }
    }
}

/// The classes a post is in, by earshot's reading of it.
pub fn classes(a: &Analysis, policy: &TriagePolicy) -> Vec<Class> {
    let band = policy.ranking.band(&signals_of(a));
    let mut out = vec![Class::All];
    if band == PriorityBand::Urgent {
        out.push(Class::UrgentHarm);
    }
    if a.intent.label == Intent::Complaint {
        out.push(Class::Complaint);
    }
    if a.intent.label == Intent::Question && band >= PriorityBand::Normal {
        out.push(Class::RoutineQuestion);
    }
    out
}

/// First-response figures for one class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub posts: usize,
    /// Posts with a response (the real brands leave some unanswered).
    pub answered: usize,
    /// Share of all the class's posts answered within 30 minutes.
    pub within_30_min: f64,
    pub p50_minutes: f64,
    pub p90_minutes: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Figures over the posts of `members` with these response seconds (`None`: no answer).
pub fn figures(responses: &[Option<i64>], members: &[usize]) -> Figures {
    let mut minutes: Vec<f64> = members
        .iter()
        .filter_map(|&i| responses.get(i).copied().flatten())
        .map(|s| s.max(0) as f64 / 60.0)
        .collect();
    minutes.sort_by(f64::total_cmp);
    let within = minutes.iter().filter(|m| **m <= 30.0).count();
    Figures {
        posts: members.len(),
        answered: minutes.len(),
        within_30_min: if members.is_empty() {
            f64::NAN
        } else {
            within as f64 / members.len() as f64
        },
        p50_minutes: percentile(&minutes, 0.5),
        p90_minutes: percentile(&minutes, 0.9),
    }
}

/// One team setting's runs.
#[derive(Debug, Clone)]
pub struct TeamRun {
    pub agents: usize,
    pub shifts: Shifts,
    /// Per order, per class.
    pub figures: Vec<(Order, Vec<(Class, Figures)>)>,
    /// Routine questions whose earshot wait exceeds twice their FIFO wait (10-minute floor).
    pub starved: usize,
    pub routine_questions: usize,
    /// The largest earshot/FIFO wait ratio among routine questions (same floor).
    pub worst_ratio: f64,
    /// Share of urgent/harm posts written when a shift is on or starts within 30 minutes:
    /// the most any order can answer within 30 minutes (nobody works the uncovered hours).
    pub urgent_reachable: f64,
}

/// One timeline's results.
#[derive(Debug, Clone)]
pub struct TimelineReport {
    pub name: String,
    pub posts: usize,
    pub first: Option<chrono::DateTime<chrono::Utc>>,
    pub last: Option<chrono::DateTime<chrono::Utc>>,
    pub class_sizes: Vec<(Class, usize)>,
    pub real: Vec<(Class, Figures)>,
    pub runs: Vec<TeamRun>,
}

/// The whole replay.
#[derive(Debug, Clone)]
pub struct Report {
    pub handling: Vec<f64>,
    pub timelines: Vec<TimelineReport>,
    pub seed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("no care conversations under {0}: expected twcs-sample-head/dev.csv or ibm-care-conversations/dev.json (pass --data)")]
    NoData(PathBuf),
    #[error("shift hours: {0}")]
    Shifts(String),
}

/// Runs the replay; `progress` hears a line per simulation.
pub fn run(cfg: &ReplayConfig, progress: &mut dyn FnMut(&str)) -> Result<Report, ReplayError> {
    let timelines = data::timelines(&cfg.data)?;
    if timelines.iter().all(|t| t.posts.is_empty()) {
        return Err(ReplayError::NoData(cfg.data.clone()));
    }
    let handling = data::handling_seconds(&cfg.data)?;
    let analyzer = Analyzer::default();
    let mut out = Vec::new();
    for t in &timelines {
        progress(&format!("{}: reading {} posts", t.name, t.posts.len()));
        let analyses: Vec<Analysis> = t
            .posts
            .iter()
            .map(|p| analyzer.analyze_text(&p.text, None, None))
            .collect();
        let default_policy = TriagePolicy::default();
        let mut members: Vec<(Class, Vec<usize>)> =
            Class::ALL.iter().map(|c| (*c, Vec::new())).collect();
        for (i, a) in analyses.iter().enumerate() {
            for c in classes(a, &default_policy) {
                if let Some(m) = members.iter_mut().find(|(k, _)| *k == c) {
                    m.1.push(i);
                }
            }
        }
        let real_secs: Vec<Option<i64>> = t
            .posts
            .iter()
            .map(|p| p.real_reply_at.map(|r| (r - p.at).num_seconds()))
            .collect();
        let real = members
            .iter()
            .map(|(c, m)| (*c, figures(&real_secs, m)))
            .collect();
        let mut runs = Vec::new();
        for shifts in &cfg.shifts {
            let clock = shifts.clock().map_err(ReplayError::Shifts)?;
            let policy = TriagePolicy {
                clock: clock.clone(),
                ..TriagePolicy::default()
            };
            for &agents in &cfg.team_sizes {
                let team = Team {
                    agents,
                    shifts: clock.clone(),
                    handling_seconds: handling.clone(),
                    seed: cfg.seed,
                };
                let mut per_order = Vec::new();
                let mut fifo_secs = Vec::new();
                let mut earshot_secs = Vec::new();
                for order in Order::ALL {
                    progress(&format!(
                        "{}: {agents} agent(s), {}, {}",
                        t.name,
                        shifts.describe(),
                        order.as_str()
                    ));
                    let secs = simulate(t, &analyses, order, &team, &policy);
                    let opt: Vec<Option<i64>> = secs
                        .iter()
                        .map(|s| (*s != i64::MAX).then_some(*s))
                        .collect();
                    per_order.push((
                        order,
                        members
                            .iter()
                            .map(|(c, m)| (*c, figures(&opt, m)))
                            .collect(),
                    ));
                    match order {
                        Order::Fifo => fifo_secs = secs,
                        Order::Earshot => earshot_secs = secs,
                        Order::NewestFirst => {}
                    }
                }
                let floor = Duration::minutes(10).num_seconds() as f64;
                let routine = members
                    .iter()
                    .find(|(c, _)| *c == Class::RoutineQuestion)
                    .map(|(_, m)| m.as_slice())
                    .unwrap_or(&[]);
                let urgent = members
                    .iter()
                    .find(|(c, _)| *c == Class::UrgentHarm)
                    .map(|(_, m)| m.as_slice())
                    .unwrap_or(&[]);
                let reachable = urgent
                    .iter()
                    .filter(|&&i| {
                        let at = t.posts[i].at;
                        clock
                            .next_open(at)
                            .is_some_and(|o| o - at <= Duration::minutes(30))
                    })
                    .count();
                let mut starved = 0;
                let mut worst = 0f64;
                for &i in routine {
                    let (Some(&e), Some(&f)) = (earshot_secs.get(i), fifo_secs.get(i)) else {
                        continue;
                    };
                    let ratio = e as f64 / (f as f64).max(floor);
                    worst = worst.max(ratio);
                    if ratio > 2.0 {
                        starved += 1;
                    }
                }
                runs.push(TeamRun {
                    agents,
                    shifts: shifts.clone(),
                    figures: per_order,
                    starved,
                    routine_questions: routine.len(),
                    worst_ratio: worst,
                    urgent_reachable: if urgent.is_empty() {
                        f64::NAN
                    } else {
                        reachable as f64 / urgent.len() as f64
                    },
                });
            }
        }
        out.push(TimelineReport {
            name: t.name.clone(),
            posts: t.posts.len(),
            first: t.posts.first().map(|p| p.at),
            last: t.posts.last().map(|p| p.at),
            class_sizes: members.iter().map(|(c, m)| (*c, m.len())).collect(),
            real,
            runs,
        });
    }
    Ok(Report {
        handling,
        timelines: out,
        seed: cfg.seed,
    })
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.0}%", x * 100.0)
    }
}

fn mins(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 120.0 {
        format!("{:.1} h", x / 60.0)
    } else {
        format!("{x:.0} min")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b <= 0.0 {
        "–".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

fn get(f: &[(Class, Figures)], c: Class) -> Figures {
    f.iter()
        .find(|(k, _)| *k == c)
        .map(|(_, v)| *v)
        .unwrap_or_default()
}

fn row(out: &mut String, name: &str, f: &[(Class, Figures)]) {
    let u = get(f, Class::UrgentHarm);
    let c = get(f, Class::Complaint);
    let q = get(f, Class::RoutineQuestion);
    let a = get(f, Class::All);
    let _ = writeln!(
        out,
        "  {:<20} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8}",
        name,
        pct(u.within_30_min),
        pct(c.within_30_min),
        mins(c.p50_minutes),
        mins(c.p90_minutes),
        mins(q.p50_minutes),
        mins(q.p90_minutes),
        mins(a.p50_minutes),
        mins(a.p90_minutes),
    );
}

impl Report {
    /// The report as the terminal prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let h = &self.handling;
        let _ = writeln!(
            out,
            "handling time per reply: {} samples from the brands' signed agents (TWCS), p50 {:.1} min, p90 {:.1} min; seed {}",
            h.len(),
            percentile(h, 0.5) / 60.0,
            percentile(h, 0.9) / 60.0,
            self.seed
        );
        for t in &self.timelines {
            let _ = writeln!(out);
            let span = match (t.first, t.last) {
                (Some(a), Some(b)) => {
                    format!("{} → {}", a.format("%Y-%m-%d"), b.format("%Y-%m-%d"))
                }
                _ => String::new(),
            };
            let sizes: Vec<String> = t
                .class_sizes
                .iter()
                .map(|(c, n)| format!("{} {n}", c.as_str()))
                .collect();
            let _ = writeln!(out, "== {} ({} customer posts, {span})", t.name, t.posts);
            let _ = writeln!(out, "   classes by earshot's reading: {}", sizes.join(", "));
            let header = format!(
                "  {:<20} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8}",
                "",
                "urg≤30m",
                "cmp≤30m",
                "cmp p50",
                "cmp p90",
                "rtQ p50",
                "rtQ p90",
                "all p50",
                "all p90"
            );
            let real = get(&t.real, Class::All);
            let _ = writeln!(
                out,
                "   real brands on the same posts ({} of {} answered in the data):",
                real.answered, real.posts
            );
            let _ = writeln!(out, "{header}");
            row(&mut out, "real brands", &t.real);
            for r in &t.runs {
                let _ = writeln!(
                    out,
                    "   simulated team: {} agent(s), {}",
                    r.agents,
                    r.shifts.describe()
                );
                let _ = writeln!(out, "{header}");
                for (order, f) in &r.figures {
                    row(&mut out, order.as_str(), f);
                }
                let of = |o: Order| {
                    r.figures
                        .iter()
                        .find(|(k, _)| *k == o)
                        .map(|(_, f)| f.as_slice())
                        .unwrap_or(&[])
                };
                let e = of(Order::Earshot);
                let fifo = of(Order::Fifo);
                let urgent = get(e, Class::UrgentHarm);
                let gain =
                    get(fifo, Class::Complaint).p90_minutes / get(e, Class::Complaint).p90_minutes;
                let (eq, fq) = (
                    get(e, Class::RoutineQuestion),
                    get(fifo, Class::RoutineQuestion),
                );
                let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
                let _ = writeln!(
                    out,
                    "   goals: urgent/harm ≤30 min {} (≥ 90%: {}; {} of them written within 30 min of a shift); complaint p90 FIFO/earshot {:.2}× (≥ 2×: {})",
                    pct(urgent.within_30_min),
                    verdict(urgent.within_30_min >= 0.9),
                    pct(r.urgent_reachable),
                    gain,
                    verdict(gain >= 2.0),
                );
                let _ = writeln!(
                    out,
                    "          routine questions: p50 {} / p90 {} of FIFO's (≤ 2×: {}); per post, {} of {} wait > 2× their FIFO wait (10-min floor; worst {:.1}×; none: {})",
                    ratio(eq.p50_minutes, fq.p50_minutes),
                    ratio(eq.p90_minutes, fq.p90_minutes),
                    verdict(eq.p50_minutes <= 2.0 * fq.p50_minutes.max(10.0) && eq.p90_minutes <= 2.0 * fq.p90_minutes.max(10.0)),
                    r.starved,
                    r.routine_questions,
                    r.worst_ratio,
                    verdict(r.starved == 0),
                );
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_the_unanswered_against_the_share() {
        let r = vec![Some(60), Some(3600), None, Some(600)];
        let f = figures(&r, &[0, 1, 2, 3]);
        assert_eq!(f.posts, 4);
        assert_eq!(f.answered, 3);
        assert_eq!(f.within_30_min, 0.5);
        assert_eq!(f.p50_minutes, 10.0);
        assert_eq!(f.p90_minutes, 60.0);
        assert!(figures(&r, &[]).within_30_min.is_nan());
    }

    #[test]
    fn the_replay_runs_on_a_small_timeline_with_every_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("twcs-sample-head");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("dev.csv"),
            "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
             1,111,True,Tue Oct 31 22:00:00 +0000 2017,@Brand how do I change my address?,4,\n\
             2,112,True,Tue Oct 31 22:01:00 +0000 2017,@Brand can I pay by card?,,\n\
             3,113,True,Tue Oct 31 22:02:00 +0000 2017,@Brand my charger caught fire! it is dangerous,5,\n\
             4,Brand,False,Tue Oct 31 22:20:00 +0000 2017,@111 here is how ^AB,,1\n\
             5,Brand,False,Tue Oct 31 22:23:00 +0000 2017,@113 so sorry ^AB,,3\n",
        )
        .unwrap();
        let cfg = ReplayConfig {
            data: dir.path().to_path_buf(),
            team_sizes: vec![1],
            shifts: vec![Shifts::Covered],
            seed: 7,
        };
        let mut lines = 0;
        let r = run(&cfg, &mut |_| lines += 1).unwrap();
        assert!(lines >= 4);
        let t = &r.timelines[0];
        assert_eq!(t.posts, 3);
        assert_eq!(get(&t.real, Class::All).answered, 2);
        assert_eq!(
            get(
                &t.class_sizes
                    .iter()
                    .map(|(c, n)| (
                        *c,
                        Figures {
                            posts: *n,
                            ..Figures::default()
                        }
                    ))
                    .collect::<Vec<_>>(),
                Class::UrgentHarm
            )
            .posts,
            1
        );
        let e = &t.runs[0]
            .figures
            .iter()
            .find(|(o, _)| *o == Order::Earshot)
            .unwrap()
            .1;
        let fifo = &t.runs[0]
            .figures
            .iter()
            .find(|(o, _)| *o == Order::Fifo)
            .unwrap()
            .1;
        // One agent, 3 posts a minute apart: earshot answers the fire second, FIFO third.
        assert!(get(e, Class::UrgentHarm).p50_minutes < get(fifo, Class::UrgentHarm).p50_minutes);
        let text = r.render();
        assert!(
            text.contains("real brands") && text.contains("goals:"),
            "{text}"
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            run(
                &ReplayConfig {
                    data: empty.path().to_path_buf(),
                    ..cfg
                },
                &mut |_| {}
            ),
            Err(ReplayError::NoData(_))
        ));
    }
}
