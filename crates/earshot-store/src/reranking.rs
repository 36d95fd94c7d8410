//! What both backends' re-ranking passes (`Store::rescore_open`) share: which waiting
//! conversations a pass reads, and what it writes back for each.
//!
//! Every conversation row carries `rescore_due`, the time its stored rank next goes stale
//! ([`threading::rank_moves_at`]; NULL: it does not move with time), written wherever the rank
//! is: ingest computes it, a pass recomputes it for every row it reads, and other writers
//! (an agent's action) leave it due at once. A pass reads only the rows due by its time, so
//! its work follows what can have changed, not how many conversations are waiting.
//!
//! Two things the due times cannot know: the ranking rules (targets, clock, `[ranking]`)
//! they were computed under, and the queue's pace that a fair turn is noted from. So a pass
//! reads every waiting row when the rules differ from those this process last ranked under
//! (its first pass, a reload), and rows still without a fair turn when its pace gives one.

use chrono::{DateTime, Duration, Utc};
use earshot_core::priority::RankingModel;
use earshot_core::threading::{self, TriagePolicy};
use earshot_core::{Conversation, ConversationId, ResponseTargets, SlaClock};
use std::sync::Mutex;

/// Written where the rank is stored without being timed (an agent's action): the next pass
/// ranks the row and times it.
pub(crate) const DUE_AT_ONCE: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// Before any due time: where a pass's walk over them starts.
pub(crate) fn before_any_due() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH - Duration::days(365 * 2000)
}

/// When `c`'s rank, stored as of `now`, next goes stale.
pub(crate) fn due(
    c: &Conversation,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    threading::rank_moves_at(&c.signals, c.awaiting_since, policy, now)
}

/// Which waiting conversations a pass reads, one walk each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sweep {
    /// All of them (by id): the rules changed, so a stored due time may be late.
    All,
    /// Those due by the pass's time (by due time, then id).
    Due,
    /// Those that started waiting within the hour without a fair turn (by id).
    TurnUnnoted,
}

/// The ranking rules a due time was computed under.
type Rules = (RankingModel, ResponseTargets, SlaClock);

/// The rules this process's last finished pass ranked under.
#[derive(Debug, Default)]
pub(crate) struct RankedUnder(Mutex<Option<Rules>>);

impl RankedUnder {
    fn rules(policy: &TriagePolicy) -> Rules {
        (policy.ranking.clone(), policy.targets, policy.clock.clone())
    }

    /// The walks a pass under `policy` at `now` makes.
    pub(crate) fn sweeps(&self, policy: &TriagePolicy, now: DateTime<Utc>) -> Vec<Sweep> {
        let last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref() != Some(&Self::rules(policy)) {
            return vec![Sweep::All];
        }
        let gives_turns = policy
            .pace
            .is_some_and(|pace| pace.fair_turn(now, policy.ranking.fair_turn).is_some());
        if gives_turns {
            vec![Sweep::Due, Sweep::TurnUnnoted]
        } else {
            vec![Sweep::Due]
        }
    }

    /// A pass under `policy` finished: every waiting row is timed under its rules.
    pub(crate) fn remember(&self, policy: &TriagePolicy) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Self::rules(policy));
    }
}

/// One batch re-ranked: the rows whose rank (or noted fair turn) changed, to write whole,
/// and the others, whose due time alone is written.
#[derive(Debug, Default)]
pub(crate) struct Reranked {
    pub changed: Vec<(Conversation, Option<DateTime<Utc>>)>,
    pub unchanged: Vec<(ConversationId, Option<DateTime<Utc>>)>,
}

/// Re-ranks `batch` as of `now`, each with the time its rank next goes stale.
pub(crate) fn rerank(
    batch: Vec<Conversation>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Reranked {
    let mut out = Reranked::default();
    for mut c in batch {
        let before = (c.priority.clone(), c.signals.fair_turn_at);
        threading::rescore(&mut c, policy, now);
        let due = due(&c, policy, now);
        // The fair turn is noted once (a conversation another process opened has none
        // until a pass notes it), so the signals are written with it.
        if (c.priority.clone(), c.signals.fair_turn_at) != before {
            out.changed.push((c, due));
        } else {
            out.unchanged.push((c.id, due));
        }
    }
    out
}
