//! A simulated team working a queue: customer posts arrive at their real times; each agent,
//! while on shift, takes the next conversation in the queue's order and answers every post
//! of it waiting so far in one reply, which takes a handling time drawn from the brands' own
//! pace. Orders compared in the same run: earshot's ranking, first-in-first-out and
//! newest-first, each facing the same arrivals and the same sequence of handling times.
//!
//! earshot's order is the real one: each post is read by `earshot_analyze::Analyzer`, folded
//! into its conversation by `threading::fold_customer_post` and ranked by `threading::rank`
//! under the policy's `RankingModel`, exactly as the inbox ranks it.

use super::data::Timeline;
use chrono::{DateTime, Duration, Utc};
use earshot_core::fair_turn::QueuePace;
use earshot_core::priority::PrioritySignals;
use earshot_core::threading::{fold_customer_post, rank, signals_of, TriagePolicy};
use earshot_core::{Analysis, SlaClock};
use std::collections::HashMap;

/// How the queue is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Order {
    /// earshot's ranking (`threading::rank`), the highest score first.
    Earshot,
    /// The conversation whose oldest unanswered post is oldest first.
    Fifo,
    /// The conversation with the most recent unanswered post first.
    NewestFirst,
}

impl Order {
    pub const ALL: [Order; 3] = [Order::Earshot, Order::Fifo, Order::NewestFirst];
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Earshot => "earshot",
            Order::Fifo => "first-in-first-out",
            Order::NewestFirst => "newest-first",
        }
    }
}

/// The simulated team.
#[derive(Debug, Clone)]
pub struct Team {
    pub agents: usize,
    /// When they work (calendar: around the clock).
    pub shifts: SlaClock,
    /// Seconds per reply, drawn in turn from these (cycled with a seeded shuffle).
    pub handling_seconds: Vec<f64>,
    pub seed: u64,
}

struct Thread {
    signals: PrioritySignals,
    /// The oldest unanswered post's time.
    since: Option<DateTime<Utc>>,
    newest: DateTime<Utc>,
    waiting: Vec<usize>,
    /// An agent is writing its reply until then; posts arriving meanwhile wait for the next.
    busy_until: Option<DateTime<Utc>>,
}

/// Seconds from each post to the simulated reply that answered it.
pub fn simulate(
    timeline: &Timeline,
    analyses: &[Analysis],
    order: Order,
    team: &Team,
    policy: &TriagePolicy,
) -> Vec<i64> {
    let posts = &timeline.posts;
    let mut response = vec![i64::MAX; posts.len()];
    let Some(first) = posts.first() else {
        return Vec::new();
    };
    // The same handling times, in the same order, whatever the queue's order.
    let mut draws = team.handling_seconds.clone();
    if draws.is_empty() {
        draws.push(300.0);
    }
    let mut rng = crate::spike_eval::Rng(team.seed);
    for i in (1..draws.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        draws.swap(i, j);
    }
    let mut next_draw = 0usize;

    let mut threads: Vec<Thread> = Vec::new();
    let mut thread_ix: HashMap<&str, usize> = HashMap::new();
    let mut free_at = vec![first.at; team.agents.max(1)];
    let mut next_post = 0usize;
    let mut pending_replies: Vec<(DateTime<Utc>, usize, Vec<usize>)> = Vec::new();
    // When each thread was last answered, for the queue's pace (as the store measures it).
    let mut answered_at: Vec<Option<DateTime<Utc>>> = Vec::new();
    let horizon = posts.last().map_or(first.at, |p| p.at) + Duration::days(60);
    // The simulation's clock: the latest event handled (nothing is picked before it arrived).
    let mut now = first.at;

    loop {
        // The agent who can start soonest, on shift.
        let (agent, avail) = free_at
            .iter()
            .enumerate()
            .map(|(i, t)| (i, team.shifts.next_open((*t).max(now)).unwrap_or(horizon)))
            .min_by_key(|&(i, t)| (t, i))
            .unwrap_or((0, horizon));
        let queued: Vec<usize> = (0..threads.len())
            .filter(|&i| {
                let t = &threads[i];
                !t.waiting.is_empty() && t.busy_until.is_none_or(|b| b <= avail)
            })
            .collect();
        let next_arrival = posts.get(next_post).map(|p| p.at);
        let pick_at = if queued.is_empty() {
            // Nothing to take: the next thing that happens is an arrival or a reply landing.
            let landing = threads
                .iter()
                .filter(|t| !t.waiting.is_empty())
                .filter_map(|t| t.busy_until)
                .min();
            match (next_arrival, landing) {
                (None, None) => break,
                (a, l) => {
                    let t = a.into_iter().chain(l).min().unwrap_or(avail).max(avail);
                    team.shifts.next_open(t).unwrap_or(horizon)
                }
            }
        } else {
            avail
        };
        if pick_at >= horizon {
            break;
        }
        // Replies written by then land and settle their threads.
        pending_replies.retain(|(at, th, answered)| {
            if *at <= pick_at {
                for &p in answered {
                    response[p] = (*at - posts[p].at).num_seconds();
                }
                if let Some(t) = threads.get_mut(*th) {
                    if t.busy_until == Some(*at) {
                        t.busy_until = None;
                    }
                }
                false
            } else {
                true
            }
        });
        if let Some(at) = next_arrival.filter(|a| *a <= pick_at) {
            now = now.max(at);
            let p = &posts[next_post];
            let is_new = !thread_ix.contains_key(p.thread.as_str());
            let ix = *thread_ix.entry(p.thread.as_str()).or_insert_with(|| {
                threads.push(Thread {
                    signals: PrioritySignals::default(),
                    since: None,
                    newest: at,
                    waiting: Vec::new(),
                    busy_until: None,
                });
                answered_at.push(None);
                threads.len() - 1
            });
            // The pace the rescore pass would have measured: threads waiting, and threads
            // answered in the hour before (a reply lands when its agent finishes it).
            let pace = QueuePace {
                waiting: threads.iter().filter(|t| !t.waiting.is_empty()).count() as u64,
                answers_last_hour: answered_at
                    .iter()
                    .flatten()
                    .filter(|a| **a <= at && **a > at - Duration::hours(1))
                    .count() as u64,
            };
            let t = &mut threads[ix];
            if is_new {
                // A new conversation reads its first post (as `threading::plan` opens one).
                t.signals = signals_of(&analyses[next_post]);
            } else {
                let owed = !t.waiting.is_empty();
                fold_customer_post(&mut t.signals, &analyses[next_post], owed, &policy.ranking);
            }
            if t.waiting.is_empty() {
                t.since = Some(at);
                t.signals.fair_turn_at = pace.fair_turn(at, policy.ranking.fair_turn);
            }
            t.newest = at;
            t.waiting.push(next_post);
            next_post += 1;
            continue;
        }
        let queued: Vec<usize> = queued
            .into_iter()
            .filter(|&i| threads[i].busy_until.is_none_or(|b| b <= pick_at))
            .collect();
        let choice = match order {
            Order::Earshot => queued.iter().copied().max_by(|&a, &b| {
                let (ta, tb) = (&threads[a], &threads[b]);
                let ra = rank(&ta.signals, ta.since, policy, pick_at).score;
                let rb = rank(&tb.signals, tb.since, policy, pick_at).score;
                ra.total_cmp(&rb)
                    .then_with(|| tb.since.cmp(&ta.since))
                    .then_with(|| b.cmp(&a))
            }),
            Order::Fifo => queued
                .iter()
                .copied()
                .min_by_key(|&i| (threads[i].since, i)),
            Order::NewestFirst => queued
                .iter()
                .copied()
                .max_by_key(|&i| (threads[i].newest, std::cmp::Reverse(i))),
        };
        let Some(th) = choice else {
            // Everything queued is being answered: wait for the soonest reply to land.
            free_at[agent] = pick_at + Duration::seconds(1);
            continue;
        };
        now = now.max(pick_at);
        let secs = draws[next_draw % draws.len()].max(1.0);
        next_draw += 1;
        let reply_at = pick_at + Duration::milliseconds((secs * 1000.0) as i64);
        let t = &mut threads[th];
        let answered = std::mem::take(&mut t.waiting);
        t.since = None;
        t.signals.chases = 0;
        t.signals.fair_turn_at = None;
        t.signals.question_waiting = false;
        answered_at[th] = Some(reply_at);
        t.busy_until = Some(reply_at);
        pending_replies.push((reply_at, th, answered));
        free_at[agent] = reply_at;
    }
    for (at, _, answered) in pending_replies {
        for p in answered {
            response[p] = (at - posts[p].at).num_seconds();
        }
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::super::data::CustomerPost;
    use super::*;
    use earshot_analyze::Analyzer;

    /// A timeline of (conversation, text, minute after 10:00) posts, in that order.
    pub(in crate::triage_replay) fn timeline(posts: &[(&str, &str, i64)]) -> Timeline {
        let t0 = DateTime::parse_from_rfc3339("2025-03-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Timeline {
            name: "t".into(),
            posts: posts
                .iter()
                .enumerate()
                .map(|(i, (thread, text, minute))| CustomerPost {
                    id: i.to_string(),
                    thread: (*thread).to_string(),
                    at: t0 + Duration::minutes(*minute),
                    text: (*text).to_string(),
                    real_reply_at: None,
                })
                .collect(),
        }
    }

    /// Each post of `t` as the default analyzer reads it.
    pub(in crate::triage_replay) fn analyses(t: &Timeline) -> Vec<Analysis> {
        let a = Analyzer::default();
        t.posts
            .iter()
            .map(|p| a.analyze_text(&p.text, None, None))
            .collect()
    }

    fn run(t: &Timeline, order: Order, agents: usize) -> Vec<i64> {
        let analyses = analyses(t);
        let team = Team {
            agents,
            shifts: SlaClock::Calendar,
            handling_seconds: vec![600.0],
            seed: 1,
        };
        simulate(t, &analyses, order, &team, &TriagePolicy::default())
    }

    #[test]
    fn one_agent_answers_in_the_order_asked() {
        // Three questions at once, then a safety report while the agent is busy.
        let t = timeline(&[
            ("a", "@brand how do I change my delivery address?", 0),
            ("b", "@brand can I pay with a gift card?", 0),
            ("c", "@brand where do I find my invoice?", 0),
            (
                "d",
                "@brand my charger caught fire last night, this is dangerous",
                1,
            ),
        ]);
        let fifo = run(&t, Order::Fifo, 1);
        assert_eq!(fifo, vec![600, 1200, 1800, 2340]);
        let earshot = run(&t, Order::Earshot, 1);
        assert_eq!(earshot[3], 1140, "the safety report goes next: {earshot:?}");
        let newest = run(&t, Order::NewestFirst, 1);
        assert_eq!(newest[3], 1140, "{newest:?}");
        // Every post is answered once, whatever the order.
        for r in [fifo, earshot, newest] {
            assert!(r.iter().all(|s| *s > 0 && *s < i64::MAX), "{r:?}");
        }
    }

    #[test]
    fn one_reply_answers_every_waiting_post_of_a_conversation() {
        let t = timeline(&[
            ("a", "@brand my order is late", 0),
            ("a", "@brand hello??", 2),
            ("b", "@brand how do I reset my password?", 3),
        ]);
        let r = run(&t, Order::Fifo, 1);
        // The agent starts on "a" at minute 0 (one post waiting); "hello??" waits for the next
        // reply to "a", which comes before "b" (its wait began first).
        assert_eq!(r, vec![600, 1200 - 120, 1800 - 180]);
        let two = run(&t, Order::Fifo, 2);
        assert_eq!(two[2], 600);
    }

    #[test]
    fn nobody_answers_outside_the_shift() {
        let hours =
            earshot_core::BusinessHours::parse("UTC", &[("mon-fri", "11:00-17:00")], &[]).unwrap();
        let t = timeline(&[("a", "@brand where is my parcel?", 0)]);
        let a = Analyzer::default();
        let analyses = vec![a.analyze_text(&t.posts[0].text, None, None)];
        let team = Team {
            agents: 1,
            shifts: SlaClock::Business(hours),
            handling_seconds: vec![60.0],
            seed: 1,
        };
        let r = simulate(&t, &analyses, Order::Fifo, &team, &TriagePolicy::default());
        assert_eq!(r, vec![3600 + 60], "the shift starts at 11:00");
    }
}
