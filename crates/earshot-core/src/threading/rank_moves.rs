//! When a waiting conversation's stored rank next goes stale, so the re-ranking pass reads
//! only the conversations whose rank can have moved instead of every one owed an answer.
//!
//! How the rank depends on time (see [`crate::priority`]): with the content fixed, only the
//! wait moves it. What an agent sees of it moves in steps:
//! - the band: a low or normal conversation joins the band above once it has waited
//!   `escalate_after_targets` of its target;
//! - a routine question's fair turn: at that instant it goes to the top of the high band;
//! - the "why" of the waiting factor: whole percents of the target below 1×, tenths above
//!   ("waited 35% of target", "waited 1.5× target"), and "(counts up to 2×)" past the cap;
//!   and past its turn, "by 12 min" (whole minutes for a day, then hours).
//!
//! The score itself is continuous: waiting points grow with the wait until
//! `waiting_stops_at_targets` (linearly, or with the logarithm of it), and past its turn a
//! question creeps towards the band's top. Within a band the waiting conversations climb at
//! one pace, so the stored scores keep their order; what a stale score can get wrong is only
//! a pair whose true scores are closer than the staleness. The choice here: re-rank at every
//! step above (so the band and the reasons shown are never stale, and a test can compare them
//! with a fresh ranking) and whenever the waiting points shown whole ("waited 35% of target
//! +5") would change, so no stored score is more than [`SCORE_STALE_POINTS`] waiting points
//! (a quarter of a score point) behind. With the default targets a conversation is read every
//! 1 % of its target (2.4 min for a normal one, 18 s for an urgent one) or point of waiting
//! until it has waited its target, then every tenth of it, instead of every pass.

use super::TriagePolicy;
use crate::priority::{PriorityBand, PrioritySignals};
use chrono::{DateTime, Duration, Utc};

/// How many waiting points (out of 100 within the band; the score moves by a quarter of them)
/// a stored rank may fall behind between its re-rankings.
pub const SCORE_STALE_POINTS: f32 = 1.0;

/// When the rank of a conversation with these signals, waiting since `awaiting_since`, next
/// shows something other than it does at `now` (its band, or a reason as
/// [`visible_reasons`] reads it) or its score has fallen [`SCORE_STALE_POINTS`] behind; always
/// after `now`. `None`: nothing is owed, so the rank
/// does not move with time.
pub fn rank_moves_at(
    signals: &PrioritySignals,
    awaiting_since: Option<DateTime<Utc>>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let since = awaiting_since?;
    let m = &policy.ranking;
    let band = m.band(signals);
    // The model's own arithmetic: whole seconds, a minute at the least, in f32.
    let secs = |d: Duration| d.num_seconds().max(60) as f64;
    let target = secs(policy.targets.target_for(band));
    let raised = secs(policy.targets.target_for(band.raised()));
    let waited = policy.clock.elapsed(since, now).num_seconds().max(0) as f64;
    // The instant the covered wait reaches `w` seconds (on a business clock, in covered hours).
    // Rounded down: a step a second early costs a read, a second late shows a stale rank.
    let waited_reaches = |w: f64| {
        let w = w.floor().clamp(0.0, 1e11) as i64;
        policy.clock.due(since, Duration::seconds(w))
    };
    let mut steps: Vec<DateTime<Utc>> = Vec::new();

    // The words of the waiting factor.
    let share32 = waited as f32 / target as f32;
    let share = f64::from(share32);
    steps.push(waited_reaches(next_shown_share(share32) * target));

    // The band: joined one higher after a share of the target.
    let k = f64::from(m.escalate_after_targets);
    let can_escalate = k > 0.0 && matches!(band, PriorityBand::Low | PriorityBand::Normal);
    let escalated = can_escalate && share >= k;
    if can_escalate && !escalated {
        steps.push(waited_reaches(k * target));
    }

    // The waiting points: the next whole number shown, up to the cap, and the cap's note just
    // past it.
    let pace = if escalated { raised } else { target };
    let counted = waited / pace;
    let stops = f64::from(m.waiting_stops_at_targets);
    if counted <= stops {
        steps.push(waited_reaches(stops * pace + 1.0));
        if m.waiting > 0.0 {
            let next = next_whole_points(m, (waited as f32) / (pace as f32)).min(stops);
            steps.push(waited_reaches(next * pace));
        }
    }

    // A routine question's fair turn, and the words of how long ago it came.
    if let (true, Some(turn)) = (m.fair_turn_applies(signals), signals.fair_turn_at) {
        if turn > now {
            steps.push(turn);
        } else {
            // `priority::human`: whole minutes for the first day, then whole hours.
            let late = (now - turn).num_minutes();
            let next = if late < 24 * 60 {
                Duration::minutes(late + 1)
            } else {
                Duration::hours(late / 60 + 1)
            };
            steps.push(turn + next);
        }
    }

    // Never at or before `now`: a pass that rewrites a row must leave it behind (a rounding
    // that lands a step a second early costs one more read, never a lost one).
    steps
        .into_iter()
        .min()
        .map(|t| t.max(now + Duration::seconds(1)))
}

/// The reasons of a rank an agent reads ([`crate::priority::Priority::explain`]), each with
/// its whole points, except a fair turn's (what lifts it to the top of its band: they move
/// with the other factors' fractions). [`rank_moves_at`] keeps these, and the band, exact.
pub fn visible_reasons(p: &crate::priority::Priority) -> Vec<String> {
    p.factors
        .iter()
        .filter(|f| {
            matches!(f.name.as_str(), "band" | "escalated" | "fair_turn") || f.points.abs() >= 0.5
        })
        .map(|f| {
            if f.points.abs() >= 0.5 && f.name != "fair_turn" {
                format!("{} {:+.0}", f.why, f.points)
            } else {
                f.why.clone()
            }
        })
        .collect()
}

/// The number a display of `v` with `decimals` shows (as the model formats it: a tie
/// rounds the way `format!` does, so the next number is found from what is shown).
fn as_shown(v: f32, decimals: usize) -> f64 {
    format!("{v:.decimals$}").parse().unwrap_or(f64::from(v))
}

/// The share of the target at which "waited N% of target" / "waited N.N× target" next shows
/// another number: half a step past the number shown.
fn next_shown_share(share: f32) -> f64 {
    if share >= 1.0 {
        as_shown(share, 1) + 0.05
    } else {
        ((as_shown(share * 100.0, 0) + 0.5) / 100.0).min(1.0)
    }
}

/// The counted wait (in targets) at which the waiting points, shown whole ("+5"), next show
/// another number: half a point past the number shown. `counted` as the model computes it.
fn next_whole_points(m: &crate::priority::RankingModel, counted: f32) -> f64 {
    let counted = counted.min(m.waiting_stops_at_targets);
    let full32 = m.waiting_full_at_targets.max(0.01);
    let full = f64::from(full32);
    let waiting = f64::from(m.waiting);
    if m.weigh_content_by_waiting {
        // points = waiting × ln(1 + c/b) ÷ ln(1 + full/b)
        let b32 = m.fresh_weight_targets.max(0.001);
        let points = m.waiting * (1.0 + counted / b32).ln() / (1.0 + full32 / b32).ln();
        let b = f64::from(b32);
        let scale = waiting / (1.0 + full / b).ln();
        b * (((as_shown(points, 0) + 0.5) / scale).exp() - 1.0)
    } else {
        // points = waiting × c ÷ full
        let points = m.waiting * counted / full32;
        (as_shown(points, 0) + 0.5) * full / waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Intent, SentimentLabel};
    use crate::fair_turn::QueuePace;
    use crate::priority::Priority;
    use crate::threading::{rank, visible_reasons};

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(min)
    }

    /// What an agent sees of a rank: its band and the reasons `Priority::explain` shows, with
    /// their whole points (a fair turn's own points, what lifts it to the top of the band,
    /// left out: they follow the other factors' fractions).
    fn shown(p: &Priority) -> (PriorityBand, Vec<String>) {
        (p.band, visible_reasons(p))
    }

    fn question() -> PrioritySignals {
        PrioritySignals {
            intent: Intent::Question,
            ..PrioritySignals::default()
        }
    }

    fn complaint() -> PrioritySignals {
        PrioritySignals {
            intent: Intent::Complaint,
            sentiment: SentimentLabel::Negative,
            sentiment_score: -0.7,
            ..PrioritySignals::default()
        }
    }

    /// Walks a wait second by second from `start` for `minutes`: between two re-rankings the
    /// visible rank never changes and the score never gains a step; each re-ranking is
    /// scheduled after the moment it was made.
    fn never_stale(signals: &PrioritySignals, policy: &TriagePolicy, minutes: i64) -> usize {
        let since = at(0);
        let mut ranked_at = since;
        let mut stored = rank(signals, Some(since), policy, since);
        let mut due = rank_moves_at(signals, Some(since), policy, since).unwrap();
        let mut reads = 1;
        let end = since + Duration::minutes(minutes);
        let mut t = since;
        while t < end {
            t += Duration::seconds(1);
            if t >= due {
                stored = rank(signals, Some(since), policy, t);
                ranked_at = t;
                due = rank_moves_at(signals, Some(since), policy, t).unwrap();
                assert!(due > t, "scheduled after the re-ranking at {t}");
                reads += 1;
                continue;
            }
            let fresh = rank(signals, Some(since), policy, t);
            assert_eq!(
                shown(&fresh),
                shown(&stored),
                "re-ranked at {ranked_at}, still due at {due}, but it moved by {t}"
            );
            assert!(
                fresh.score - stored.score <= SCORE_STALE_POINTS / 4.0 + 1e-3,
                "score {} → {} by {t} (re-ranked at {ranked_at}, due {due})",
                stored.score,
                fresh.score
            );
        }
        reads
    }

    #[test]
    fn a_question_is_read_again_only_when_its_rank_shows_a_change() {
        let policy = TriagePolicy::default();
        // Eight hours of a normal question (band raised after 12 min, capped after 2 h of
        // the high band's pace), checked each second.
        let reads = never_stale(&question(), &policy, 8 * 60);
        assert!(reads < 8 * 60 / 2, "{reads} reads in 8 h");
    }

    #[test]
    fn a_complaint_and_the_logarithmic_model_are_never_stale_either() {
        let policy = TriagePolicy::default();
        never_stale(&complaint(), &policy, 3 * 60);
        let mut log = TriagePolicy::default();
        log.ranking.weigh_content_by_waiting = true;
        log.ranking.waiting_stops_at_targets = 1000.0;
        never_stale(&question(), &log, 3 * 60);
    }

    #[test]
    fn a_fair_turn_is_a_step_and_its_words_after_it_too() {
        let policy = TriagePolicy {
            pace: Some(QueuePace {
                waiting: 10,
                answers_last_hour: 20,
            }),
            ..TriagePolicy::default()
        };
        let mut signals = question();
        signals.fair_turn_at = Some(at(30));
        never_stale(&signals, &policy, 2 * 60);
    }

    #[test]
    fn nothing_owed_never_moves() {
        assert_eq!(
            rank_moves_at(&question(), None, &TriagePolicy::default(), at(0)),
            None
        );
    }
}
