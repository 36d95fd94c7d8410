//! A conversation's history as the response clock sees it, and how a target fares against it.
//!
//! The clock for a target runs while the brand owes something and stops while the
//! conversation waits on the customer (status pending): an agent's "pending", or a brand answer
//! (earshot marks an answered conversation pending). It resumes when the customer writes or the
//! conversation is reopened, with whatever covered time was left.

use crate::sla::SlaClock;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// What happened, as far as the response clock cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockEvent {
    CustomerPost,
    BrandReply,
    /// An agent marked the conversation as waiting on the customer.
    Pending,
    Resolved,
    Reopened,
}

/// One event at the network's (or the agent's) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub event: ClockEvent,
}

impl Moment {
    pub fn new(at: DateTime<Utc>, event: ClockEvent) -> Self {
        Moment { at, event }
    }

    /// An audit row's action (`pending`, `resolved`, `reopened`) as a clock event.
    pub fn from_action(action: &str, at: DateTime<Utc>) -> Option<Self> {
        let event = match action {
            "pending" => ClockEvent::Pending,
            "resolved" => ClockEvent::Resolved,
            "reopened" => ClockEvent::Reopened,
            _ => return None,
        };
        Some(Moment { at, event })
    }
}

/// Which target is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// From the first customer post to the first brand answer.
    FirstResponse,
    /// From each customer post that finds nothing owed to the brand's next answer.
    NextResponse,
    /// From the first customer post to resolved.
    Resolution,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::FirstResponse => "first_response",
            TargetKind::NextResponse => "next_response",
            TargetKind::Resolution => "resolution",
        }
    }
}

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Progress {
    /// Done at `at` (answered, or resolved).
    Met { at: DateTime<Utc> },
    /// The clock is running and ends at `due`.
    Running { due: DateTime<Utc> },
    /// Waiting on the customer with `remaining_secs` of covered time left.
    Paused { remaining_secs: i64 },
    /// Resolved before the brand answered: nothing more is owed.
    Cancelled { at: DateTime<Utc> },
    /// The clock never started (no customer post yet).
    NotStarted,
}

/// One target measured against a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub kind: TargetKind,
    pub target_secs: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    /// Covered time the clock has counted (up to `now` while running).
    pub used_secs: i64,
    /// When the target was missed; `None` while it holds.
    pub breached_at: Option<DateTime<Utc>>,
}

impl TargetStatus {
    pub fn breached(&self) -> bool {
        self.breached_at.is_some()
    }

    /// When the brand must act by (while running).
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match self.progress {
            Progress::Running { due } => Some(due),
            _ => None,
        }
    }
}

/// A target's budget of covered time, spent while its clock runs.
struct Budget<'c> {
    clock: &'c SlaClock,
    target: Duration,
    remaining: Duration,
    started_at: Option<DateTime<Utc>>,
    running_since: Option<DateTime<Utc>>,
    breached_at: Option<DateTime<Utc>>,
}

impl<'c> Budget<'c> {
    fn new(clock: &'c SlaClock, target: Duration) -> Self {
        Budget {
            clock,
            target,
            remaining: target,
            started_at: None,
            running_since: None,
            breached_at: None,
        }
    }

    fn run(&mut self, at: DateTime<Utc>) {
        self.started_at.get_or_insert(at);
        if self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    /// Stops the clock at `at`, keeping what is left; a stop after the due time is a breach.
    fn stop(&mut self, at: DateTime<Utc>) {
        if let Some(since) = self.running_since.take() {
            let due = self.clock.due(since, self.remaining);
            if at > due && self.breached_at.is_none() {
                self.breached_at = Some(due);
            }
            self.remaining = (self.remaining - self.clock.elapsed(since, at)).max(Duration::zero());
        }
    }

    fn status(
        mut self,
        kind: TargetKind,
        ended: Option<Progress>,
        now: DateTime<Utc>,
    ) -> TargetStatus {
        let progress = match (ended, self.running_since) {
            (Some(p), _) => p,
            (None, Some(since)) => {
                let due = self.clock.due(since, self.remaining);
                self.stop(now);
                Progress::Running { due }
            }
            (None, None) if self.started_at.is_some() => Progress::Paused {
                remaining_secs: self.remaining.num_seconds(),
            },
            (None, None) => Progress::NotStarted,
        };
        TargetStatus {
            kind,
            target_secs: self.target.num_seconds(),
            started_at: self.started_at,
            progress,
            used_secs: (self.target - self.remaining).num_seconds(),
            breached_at: self.breached_at,
        }
    }
}

/// Events in time order; equal times keep their given order (a reply and a resolve in the
/// same second: the reply first, as the agent did).
pub fn sorted(history: &[Moment]) -> Vec<Moment> {
    let mut h = history.to_vec();
    h.sort_by_key(|m| m.at);
    h
}

/// The first-response target: runs from the first customer post until the first brand answer,
/// paused while an agent has marked the conversation pending.
pub fn first_response(
    clock: &SlaClock,
    target: Duration,
    history: &[Moment],
    now: DateTime<Utc>,
) -> TargetStatus {
    let mut budget = Budget::new(clock, target);
    let mut ended = None;
    for m in sorted(history) {
        if m.at > now {
            break;
        }
        match m.event {
            ClockEvent::CustomerPost | ClockEvent::Reopened => budget.run(m.at),
            ClockEvent::Pending => budget.stop(m.at),
            ClockEvent::BrandReply if budget.started_at.is_some() => {
                budget.stop(m.at);
                ended = Some(Progress::Met { at: m.at });
                break;
            }
            ClockEvent::BrandReply => {}
            ClockEvent::Resolved if budget.started_at.is_some() => {
                budget.stop(m.at);
                ended = Some(Progress::Cancelled { at: m.at });
                break;
            }
            ClockEvent::Resolved => {}
        }
    }
    budget.status(TargetKind::FirstResponse, ended, now)
}

/// The resolution target: runs from the first customer post while the brand owes something,
/// pauses while waiting on the customer, and is met when the conversation is resolved
/// (for good: a reopen resumes it).
pub fn resolution(
    clock: &SlaClock,
    target: Duration,
    history: &[Moment],
    now: DateTime<Utc>,
) -> TargetStatus {
    let mut budget = Budget::new(clock, target);
    let mut resolved_at = None;
    for m in sorted(history) {
        if m.at > now {
            break;
        }
        match m.event {
            ClockEvent::CustomerPost | ClockEvent::Reopened => {
                resolved_at = None;
                budget.run(m.at);
            }
            ClockEvent::BrandReply | ClockEvent::Pending => budget.stop(m.at),
            ClockEvent::Resolved if budget.started_at.is_some() => {
                budget.stop(m.at);
                resolved_at = Some(m.at);
            }
            ClockEvent::Resolved => {}
        }
    }
    let ended = resolved_at.map(|at| Progress::Met { at });
    budget.status(TargetKind::Resolution, ended, now)
}

/// Every later answer owed: each customer post that finds nothing owed (after a brand answer,
/// a pending or a resolve) starts a fresh target, met by the brand's next answer.
pub fn next_responses(
    clock: &SlaClock,
    target: Duration,
    history: &[Moment],
    now: DateTime<Utc>,
) -> Vec<TargetStatus> {
    let mut done = Vec::new();
    let mut current: Option<Budget<'_>> = None;
    let mut answered_once = false;
    for m in sorted(history) {
        if m.at > now {
            break;
        }
        match m.event {
            ClockEvent::CustomerPost | ClockEvent::Reopened => {
                if answered_once {
                    current
                        .get_or_insert_with(|| Budget::new(clock, target))
                        .run(m.at);
                }
            }
            ClockEvent::BrandReply => {
                answered_once = true;
                if let Some(mut b) = current.take() {
                    b.stop(m.at);
                    done.push(b.status(
                        TargetKind::NextResponse,
                        Some(Progress::Met { at: m.at }),
                        now,
                    ));
                }
            }
            ClockEvent::Pending => {
                answered_once = true;
                if let Some(b) = current.as_mut() {
                    b.stop(m.at);
                }
            }
            ClockEvent::Resolved => {
                answered_once = true;
                if let Some(mut b) = current.take() {
                    b.stop(m.at);
                    done.push(b.status(
                        TargetKind::NextResponse,
                        Some(Progress::Cancelled { at: m.at }),
                        now,
                    ));
                }
            }
        }
    }
    if let Some(b) = current {
        done.push(b.status(TargetKind::NextResponse, None, now));
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::BusinessHours;
    use crate::testing::at;
    use ClockEvent::*;

    fn office() -> SlaClock {
        let h = BusinessHours::parse("Europe/Copenhagen", &[("mon-fri", "09:00-17:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        SlaClock::Business(h)
    }

    fn m(s: &str, e: ClockEvent) -> Moment {
        Moment::new(at(s), e)
    }

    fn hours(n: i64) -> Duration {
        Duration::hours(n)
    }

    /// Still running, due at `due`.
    fn running(due: &str) -> Progress {
        Progress::Running { due: at(due) }
    }

    #[test]
    fn first_response_met_within_business_hours() {
        // Monday 16:30 post, answered Tuesday 09:20: 30 + 20 = 50 covered minutes of 60.
        let h = [
            m("2024-06-03T16:30:00+02:00", CustomerPost),
            m("2024-06-04T09:20:00+02:00", BrandReply),
        ];
        let s = first_response(&office(), hours(1), &h, at("2024-06-05T00:00:00Z"));
        assert_eq!(
            s.progress,
            Progress::Met {
                at: at("2024-06-04T09:20:00+02:00")
            }
        );
        assert_eq!(s.used_secs, 50 * 60);
        assert!(!s.breached());
    }

    #[test]
    fn late_answer_is_breached_at_the_due_time() {
        let h = [
            m("2024-06-03T16:30:00+02:00", CustomerPost),
            m("2024-06-04T09:45:00+02:00", BrandReply),
        ];
        let s = first_response(&office(), hours(1), &h, at("2024-06-05T00:00:00Z"));
        assert_eq!(s.breached_at, Some(at("2024-06-04T09:30:00+02:00")));
        assert_eq!(s.used_secs, 3600, "the budget is spent, not overdrawn");
    }

    #[test]
    fn pending_pauses_the_clock_and_the_customer_resumes_it() {
        // 20 minutes run, pending for two days, customer writes Wednesday 10:00: 40 left → 10:40.
        let h = [
            m("2024-06-03T10:00:00+02:00", CustomerPost),
            m("2024-06-03T10:20:00+02:00", Pending),
            m("2024-06-05T10:00:00+02:00", CustomerPost),
        ];
        let clock = office();
        let paused = first_response(
            &clock,
            Duration::hours(1),
            &h[..2],
            at("2024-06-04T12:00:00+02:00"),
        );
        assert_eq!(
            paused.progress,
            Progress::Paused {
                remaining_secs: 40 * 60
            }
        );
        assert!(!paused.breached());
        let resumed = first_response(&clock, hours(1), &h, at("2024-06-05T10:05:00+02:00"));
        assert_eq!(resumed.progress, running("2024-06-05T10:40:00+02:00"));
        assert_eq!(resumed.used_secs, 25 * 60);
        let late = first_response(&clock, hours(1), &h, at("2024-06-05T11:00:00+02:00"));
        assert_eq!(late.breached_at, Some(at("2024-06-05T10:40:00+02:00")));
    }

    #[test]
    fn resolution_pauses_while_the_customer_is_answered() {
        let h = [
            m("2024-06-03T09:00:00Z", CustomerPost),
            m("2024-06-03T10:00:00Z", BrandReply),
            // The customer takes a day; that does not count against the brand.
            m("2024-06-04T10:00:00Z", CustomerPost),
            m("2024-06-04T10:30:00Z", BrandReply),
            m("2024-06-04T10:31:00Z", Resolved),
        ];
        let s = resolution(
            &SlaClock::Calendar,
            hours(2),
            &h,
            at("2024-06-10T00:00:00Z"),
        );
        assert_eq!(
            s.progress,
            Progress::Met {
                at: at("2024-06-04T10:31:00Z")
            }
        );
        assert_eq!(s.used_secs, 90 * 60);
        assert!(!s.breached());
        // Reopened: the clock runs again from what was left.
        let mut more = h.to_vec();
        more.push(m("2024-06-05T08:00:00Z", Reopened));
        let s = resolution(
            &SlaClock::Calendar,
            hours(2),
            &more,
            at("2024-06-05T09:00:00Z"),
        );
        assert_eq!(s.progress, running("2024-06-05T08:30:00Z"));
        assert_eq!(s.breached_at, Some(at("2024-06-05T08:30:00Z")));
    }

    #[test]
    fn resolved_without_answer_cancels_first_response() {
        let h = [
            m("2024-06-03T09:00:00Z", CustomerPost),
            m("2024-06-03T09:10:00Z", Resolved),
        ];
        let s = first_response(
            &SlaClock::Calendar,
            hours(1),
            &h,
            at("2024-06-04T00:00:00Z"),
        );
        assert_eq!(
            s.progress,
            Progress::Cancelled {
                at: at("2024-06-03T09:10:00Z")
            }
        );
        assert!(!s.breached());
    }

    #[test]
    fn next_responses_each_get_their_own_clock() {
        let h = [
            m("2024-06-03T09:00:00Z", CustomerPost),
            m("2024-06-03T09:05:00Z", BrandReply),
            m("2024-06-03T12:00:00Z", CustomerPost),
            m("2024-06-03T12:10:00Z", CustomerPost),
            m("2024-06-03T14:00:00Z", BrandReply),
            m("2024-06-03T15:00:00Z", CustomerPost),
        ];
        let s = next_responses(
            &SlaClock::Calendar,
            hours(1),
            &h,
            at("2024-06-03T15:30:00Z"),
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].started_at, Some(at("2024-06-03T12:00:00Z")));
        assert_eq!(s[0].breached_at, Some(at("2024-06-03T13:00:00Z")));
        assert_eq!(s[1].progress, running("2024-06-03T16:00:00Z"));
        assert!(!s[1].breached());
    }

    #[test]
    fn events_after_now_are_not_known_yet() {
        let h = [
            m("2024-06-03T09:00:00Z", CustomerPost),
            m("2024-06-03T09:50:00Z", BrandReply),
        ];
        let s = first_response(
            &SlaClock::Calendar,
            hours(1),
            &h,
            at("2024-06-03T09:30:00Z"),
        );
        assert_eq!(s.progress, running("2024-06-03T10:00:00Z"));
        assert_eq!(s.used_secs, 30 * 60);
    }

    proptest::proptest! {
        /// However a history pauses and resumes, the clock counts exactly the covered time of
        /// its running stretches (capped at the target), and breaches exactly when that time
        /// exceeds the target.
        #[test]
        fn pauses_count_only_running_stretches(
            gaps in proptest::collection::vec((1i64..600, 0u8..3), 1..12),
            answer_after in 1i64..5_000,
        ) {
            let clock = office();
            let start = at("2024-06-03T08:00:00Z");
            let target = Duration::minutes(90);
            let mut t = start;
            let mut h = vec![Moment::new(t, CustomerPost)];
            // Covered time while running, summed independently of the Budget.
            let mut running_since = Some(start);
            let mut covered = Duration::zero();
            for (mins, kind) in gaps {
                t += Duration::minutes(mins);
                let e = match kind { 0 => Pending, 1 => CustomerPost, _ => Reopened };
                match (e, running_since) {
                    (Pending, Some(since)) => {
                        covered += clock.elapsed(since, t);
                        running_since = None;
                    }
                    (CustomerPost | Reopened, None) => running_since = Some(t),
                    _ => {}
                }
                h.push(Moment::new(t, e));
            }
            let answer = t + Duration::minutes(answer_after);
            if let Some(since) = running_since {
                covered += clock.elapsed(since, answer);
            }
            h.push(Moment::new(answer, BrandReply));
            let s = first_response(&clock, target, &h, answer + Duration::days(30));
            proptest::prop_assert_eq!(s.progress, Progress::Met { at: answer });
            proptest::prop_assert_eq!(s.used_secs, covered.min(target).num_seconds());
            if covered < target {
                proptest::prop_assert!(!s.breached());
            }
            if covered > target {
                proptest::prop_assert!(s.breached());
            }
            // Without pauses, the verdict equals comparing the answer with SlaClock::due.
            let plain = [Moment::new(start, CustomerPost), Moment::new(answer, BrandReply)];
            let p = first_response(&clock, target, &plain, answer + Duration::days(30));
            let due = clock.due(start, target);
            proptest::prop_assert_eq!(p.breached(), answer > due);
            if p.breached() {
                proptest::prop_assert_eq!(p.breached_at, Some(due));
            }
        }
    }
}
