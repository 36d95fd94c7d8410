//! A routine question's fair turn: when it would have been answered had the team worked the
//! queue in arrival order. Ranking by content answers complaints and safety reports sooner,
//! but in a long burst of complaints a plain question can be passed over again and again
//! (the triage replay saw questions wait 13× their first-in-first-out wait). So when a
//! conversation starts waiting, earshot notes how many conversations were already waiting
//! and how fast the team was answering ([`QueuePace`]); from then on, a routine question
//! still unanswered `fair_turn` × that drain time later (10 minutes at the least) goes to the
//! top of the high band ([`crate::priority::RankingModel::fair_turn`]), above every complaint
//! but below every urgent conversation. `earshot bench triage` measures it on real
//! timelines (the README's triage table).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The least time a fair turn allows: below it, "it waited longer than in arrival order"
/// is noise of a few replies (the triage replay counts waits with the same floor).
pub const FAIR_TURN_FLOOR: Duration = Duration::minutes(10);

/// How busy the queue is: measured by the store every rescore pass, read when a
/// conversation starts waiting. Not a setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct QueuePace {
    /// Conversations waiting for an answer.
    pub waiting: u64,
    /// Conversations the brand answered in the last hour (each counted once however many
    /// answers it got: a lower bound on the team's pace, so turns come a little late rather
    /// than early). The triage replay counts the same way.
    pub answers_last_hour: u64,
}

impl QueuePace {
    /// How long the queue ahead would take to drain in arrival order at this pace; `None`
    /// when nobody answered in the last hour (off shift: no pace to judge a turn by).
    pub fn drain_time(&self) -> Option<Duration> {
        if self.waiting == 0 {
            return Some(Duration::zero());
        }
        if self.answers_last_hour == 0 {
            return None;
        }
        let secs = self.waiting as f64 * 3600.0 / self.answers_last_hour as f64;
        Some(Duration::seconds(secs.min(30.0 * 86_400.0) as i64))
    }

    /// The fair turn of a conversation that starts waiting at `since` with this queue ahead:
    /// `share` × the drain time after it, [`FAIR_TURN_FLOOR`] at the least. `None` when the
    /// guard is off (`share` 0) or the pace is unknown.
    pub fn fair_turn(&self, since: DateTime<Utc>, share: f32) -> Option<DateTime<Utc>> {
        if share <= 0.0 {
            return None;
        }
        let drain = self.drain_time()?;
        let wait = Duration::milliseconds((drain.num_milliseconds() as f64 * share as f64) as i64);
        Some(since + wait.max(FAIR_TURN_FLOOR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(min)
    }

    #[test]
    fn the_turn_is_the_queue_ahead_at_the_teams_pace() {
        // 30 waiting, 60 answers an hour: the queue drains in 30 minutes.
        let pace = QueuePace {
            waiting: 30,
            answers_last_hour: 60,
        };
        assert_eq!(pace.fair_turn(at(0), 1.0), Some(at(30)));
        assert_eq!(pace.fair_turn(at(0), 1.5), Some(at(45)));
    }

    #[test]
    fn a_short_queue_still_allows_the_floor() {
        let idle = QueuePace {
            waiting: 0,
            answers_last_hour: 0,
        };
        assert_eq!(idle.fair_turn(at(0), 1.0), Some(at(10)));
        let short = QueuePace {
            waiting: 1,
            answers_last_hour: 60,
        };
        assert_eq!(short.fair_turn(at(0), 1.0), Some(at(10)));
    }

    #[test]
    fn no_turn_without_a_pace_or_with_the_guard_off() {
        let off_shift = QueuePace {
            waiting: 12,
            answers_last_hour: 0,
        };
        assert_eq!(off_shift.fair_turn(at(0), 1.0), None);
        let busy = QueuePace {
            waiting: 12,
            answers_last_hour: 40,
        };
        assert_eq!(busy.fair_turn(at(0), 0.0), None);
    }
}
