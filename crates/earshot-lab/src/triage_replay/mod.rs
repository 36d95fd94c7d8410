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
mod render;
pub mod sim;

use chrono::Duration;
use earshot_analyze::Analyzer;
use earshot_core::priority::{PriorityBand, RankingModel};
use earshot_core::threading::{signals_of, TriagePolicy};
use earshot_core::{Analysis, BusinessHours, Intent, ResponseTargets, SlaClock};
use sim::{simulate, Order, Team};
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
    /// Seeds of the handling-time draws: every team setting runs once per seed.
    pub seeds: Vec<u64>,
    /// How earshot ranks (`[response.ranking]`; the defaults unless a config says otherwise).
    pub ranking: RankingModel,
    /// The response targets per band (`[response.targets]`).
    pub targets: ResponseTargets,
    /// Whose waits are measured (every post is replayed either way).
    pub part: Part,
}

/// Which conversations the figures are measured on. The whole timeline is always replayed
/// (the queue needs every post); the figures count only the posts of one half of the
/// conversations, split by a stable hash of the conversation, so settings can be tuned on one
/// half and reported on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    All,
    Tuning,
    Evaluation,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::All => "all conversations",
            Part::Tuning => "the tuning half of the conversations",
            Part::Evaluation => "the evaluation half of the conversations",
        }
    }

    /// Whether a conversation's posts are measured.
    pub fn holds(self, thread: &str) -> bool {
        // FNV-1a: the same split on every machine and every run.
        let hash = thread.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        match self {
            Part::All => true,
            Part::Tuning => hash % 2 == 0,
            Part::Evaluation => hash % 2 == 1,
        }
    }
}

impl ReplayConfig {
    /// The default ranking and targets.
    pub fn new(
        data: PathBuf,
        team_sizes: Vec<usize>,
        shifts: Vec<Shifts>,
        seeds: Vec<u64>,
    ) -> Self {
        ReplayConfig {
            data,
            team_sizes,
            shifts,
            seeds,
            ranking: RankingModel::default(),
            targets: ResponseTargets::default(),
            part: Part::All,
        }
    }
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

/// One team setting's runs with one seed.
#[derive(Debug, Clone)]
pub struct TeamRun {
    pub agents: usize,
    pub shifts: Shifts,
    pub seed: u64,
    /// Per order, per class.
    pub figures: Vec<(Order, Vec<(Class, Figures)>)>,
    pub routine_questions: usize,
    /// The largest earshot/FIFO wait ratio among routine questions (same floor).
    pub worst_ratio: f64,
    /// The routine questions that waited more than twice their FIFO wait, longest ratio
    /// first: what a lead tuning the ranking wants to read.
    pub starved_posts: Vec<StarvedPost>,
    /// Share of urgent/harm posts written when a shift is on or starts within 30 minutes:
    /// the most any order can answer within 30 minutes (nobody works the uncovered hours).
    pub urgent_reachable: f64,
}

/// A routine question earshot's order left waiting more than twice its FIFO wait.
#[derive(Debug, Clone)]
pub struct StarvedPost {
    pub at: chrono::DateTime<chrono::Utc>,
    pub text: String,
    pub earshot_secs: i64,
    pub fifo_secs: i64,
    /// The ratio with the 10-minute floor on the FIFO wait.
    pub ratio: f64,
    /// When the question joined a conversation already waiting in earshot's order (it is
    /// answered with that conversation's earlier posts): the earliest of them, and whether it
    /// was a complaint. Such a question waits as its conversation does, not as a question.
    pub joined: Option<(chrono::DateTime<chrono::Utc>, bool)>,
}

/// Whether post `i` arrived while an earlier post of its conversation still waited for the
/// simulated answer (`secs`: each post's response seconds in that order, `i64::MAX` for
/// never): the earliest such
/// post's time, and whether it is a complaint.
fn joined_waiting(
    t: &data::Timeline,
    analyses: &[Analysis],
    secs: &[i64],
    i: usize,
) -> Option<(chrono::DateTime<chrono::Utc>, bool)> {
    let post = &t.posts[i];
    t.posts[..i]
        .iter()
        .enumerate()
        .filter(|(j, p)| {
            p.thread == post.thread
                && p.at < post.at
                && secs
                    .get(*j)
                    .is_some_and(|s| *s == i64::MAX || p.at + Duration::seconds(*s) > post.at)
        })
        .map(|(j, p)| (p.at, analyses[j].intent.label == Intent::Complaint))
        .min_by_key(|(at, _)| *at)
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
    pub seeds: Vec<u64>,
    pub part: Part,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("no care conversations under {0}: expected twcs-sample-head/dev.csv or ibm-care-conversations/dev.json (pass --data)")]
    NoData(PathBuf),
    #[error("shift hours: {0}")]
    Shifts(String),
    #[error("{0}: fix the [response.ranking] settings")]
    Ranking(#[from] earshot_core::priority::RankingError),
    #[error("no seeds: pass --seeds 1,2,3")]
    NoSeeds,
}

/// Runs the replay; `progress` hears a line per simulation.
pub fn run(cfg: &ReplayConfig, progress: &mut dyn FnMut(&str)) -> Result<Report, ReplayError> {
    cfg.ranking.validate()?;
    if cfg.seeds.is_empty() {
        return Err(ReplayError::NoSeeds);
    }
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
        let base_policy = TriagePolicy {
            ranking: cfg.ranking.clone(),
            targets: cfg.targets,
            ..TriagePolicy::default()
        };
        let mut members: Vec<(Class, Vec<usize>)> =
            Class::ALL.iter().map(|c| (*c, Vec::new())).collect();
        for (i, a) in analyses.iter().enumerate() {
            if !cfg.part.holds(&t.posts[i].thread) {
                continue;
            }
            for c in classes(a, &base_policy) {
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
                ..base_policy.clone()
            };
            for (&agents, &seed) in cfg
                .team_sizes
                .iter()
                .flat_map(|a| cfg.seeds.iter().map(move |s| (a, s)))
            {
                let team = Team {
                    agents,
                    shifts: clock.clone(),
                    handling_seconds: handling.clone(),
                    seed,
                };
                let mut per_order = Vec::new();
                let mut fifo_secs = Vec::new();
                let mut earshot_secs = Vec::new();
                for order in Order::ALL {
                    progress(&format!(
                        "{}: {agents} agent(s), {}, seed {seed}, {}",
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
                let mut starved_posts = Vec::new();
                let mut worst = 0f64;
                for &i in routine {
                    let (Some(&e), Some(&f)) = (earshot_secs.get(i), fifo_secs.get(i)) else {
                        continue;
                    };
                    let ratio = e as f64 / (f as f64).max(floor);
                    worst = worst.max(ratio);
                    if ratio > 2.0 {
                        starved_posts.push(StarvedPost {
                            at: t.posts[i].at,
                            text: t.posts[i].text.clone(),
                            earshot_secs: e,
                            fifo_secs: f,
                            ratio,
                            joined: joined_waiting(t, &analyses, &earshot_secs, i),
                        });
                    }
                }
                starved_posts.sort_by(|a, b| b.ratio.total_cmp(&a.ratio));
                runs.push(TeamRun {
                    agents,
                    shifts: shifts.clone(),
                    seed,
                    figures: per_order,
                    starved_posts,
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
        seeds: cfg.seeds.clone(),
        part: cfg.part,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::render::get;
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
    fn a_question_that_joins_a_waiting_complaint_is_told_apart() {
        let t = sim::tests::timeline(&[
            (
                "a",
                "@brand my order never came and nobody answers, useless",
                0,
            ),
            ("b", "@brand where can I find my invoice?", 1),
            ("a", "@brand now what?", 5),
            ("a", "@brand and how do I get a refund?", 90),
        ]);
        let t0 = t.posts[0].at;
        let analyses = sim::tests::analyses(&t);
        assert_eq!(analyses[0].intent.label, Intent::Complaint);
        // The complaint is answered at minute 60: the question at minute 5 joined it; the one at
        // minute 90 opened a new wait, and "b" is another conversation.
        let secs = [3600, 600, 3300, 300];
        assert_eq!(joined_waiting(&t, &analyses, &secs, 2), Some((t0, true)));
        assert_eq!(joined_waiting(&t, &analyses, &secs, 3), None);
        assert_eq!(joined_waiting(&t, &analyses, &secs, 1), None);
        // A post never answered (no simulated reply) waits still.
        assert_eq!(
            joined_waiting(&t, &analyses, &[i64::MAX, 600, 3300, 300], 3),
            Some((t0, true))
        );
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
        let cfg = ReplayConfig::new(
            dir.path().to_path_buf(),
            vec![1],
            vec![Shifts::Covered],
            vec![7],
        );
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
        assert!(
            !text.contains("per seed"),
            "one seed, no per-seed table: {text}"
        );
        // Several seeds: a run per team setting and seed, each reported, then the worst case.
        let seeds = ReplayConfig {
            seeds: vec![1, 2, 3],
            team_sizes: vec![1, 2],
            ..cfg.clone()
        };
        let r = run(&seeds, &mut |_| {}).unwrap();
        let runs = &r.timelines[0].runs;
        assert_eq!(runs.len(), 6);
        assert_eq!(
            runs.iter().map(|r| (r.agents, r.seed)).collect::<Vec<_>>(),
            vec![(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
        );
        let text = r.render();
        assert!(text.contains("per seed"), "{text}");
        assert_eq!(text.matches("worst case:").count(), 2, "{text}");
        // The figures are measured on one half of the conversations or the other, never both.
        let sizes = |part: Part| {
            let r = run(
                &ReplayConfig {
                    part,
                    ..cfg.clone()
                },
                &mut |_| {},
            )
            .unwrap();
            get(
                &r.timelines[0]
                    .class_sizes
                    .iter()
                    .map(|(c, n)| {
                        (
                            *c,
                            Figures {
                                posts: *n,
                                ..Figures::default()
                            },
                        )
                    })
                    .collect::<Vec<_>>(),
                Class::All,
            )
            .posts
        };
        assert_eq!(
            sizes(Part::Tuning) + sizes(Part::Evaluation),
            sizes(Part::All)
        );
        // A ranking a config got wrong is refused, not replayed.
        let bad = ReplayConfig {
            ranking: RankingModel {
                escalate_after_targets: -1.0,
                ..RankingModel::default()
            },
            ..cfg.clone()
        };
        assert!(matches!(
            run(&bad, &mut |_| {}),
            Err(ReplayError::Ranking(_))
        ));
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

    #[test]
    fn the_halves_split_conversations_stably() {
        let threads: Vec<String> = (0..200).map(|i| format!("brand/customer{i}")).collect();
        let tuning = threads.iter().filter(|t| Part::Tuning.holds(t)).count();
        assert!((70..=130).contains(&tuning), "{tuning} of 200");
        for t in &threads {
            assert_ne!(Part::Tuning.holds(t), Part::Evaluation.holds(t));
            assert!(Part::All.holds(t));
        }
        assert_eq!(
            Part::Tuning.holds("AppleSupport/115712"),
            Part::Tuning.holds("AppleSupport/115712")
        );
    }
}
