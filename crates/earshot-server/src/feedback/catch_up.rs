//! Where the process holding the grouping lease reads stored asks from, and its loop.
//!
//! Several processes store posts; only the lease holder groups (see
//! [`super::FeedbackLoop::group_under`]). It reads the asks nobody grouped from the posts'
//! primary key onwards. Ids are handed out when a post is written, not when its transaction
//! commits, so an ask can become visible below an id already read: every
//! [`SETTLE`] a pass starts again from where reading stood one [`SETTLE`] earlier. An ask
//! whose commit trails a later post's by more than that is found at the next gain of the
//! lease (which reads from the first post), not before.

use super::FeedbackLoop;
use crate::lease::Lease;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Asks grouped in one pass at most (a backlog is worked off a page a pass).
pub const PAGE: u32 = 500;
/// How often the holder looks for asks other processes stored.
pub const EVERY: Duration = Duration::from_secs(1);
/// How far behind a late commit is still found by the regular re-reads.
pub const SETTLE: Duration = Duration::from_secs(60);

/// The catch-up's place in the posts (a new one reads from the first post).
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// Read up to here.
    read: i64,
    /// Where reading stood at the last re-read, and when that was.
    mark: i64,
    marked: Option<Instant>,
}

impl Cursor {
    /// Where this pass reads from: where the last stopped, or once a [`SETTLE`] from the
    /// mark one [`SETTLE`] old (then the mark moves up to now).
    pub(crate) fn after(&mut self, now: Instant) -> i64 {
        match self.marked {
            Some(at) if now.duration_since(at) < SETTLE => self.read,
            Some(_) => {
                let from = self.mark;
                self.mark = self.read;
                self.marked = Some(now);
                from
            }
            None => {
                self.marked = Some(now);
                self.read
            }
        }
    }

    pub(crate) fn read_to(&mut self, id: i64) {
        self.read = self.read.max(id);
    }

    /// Where the next re-read will start: nothing below it is read again.
    pub(crate) fn rereads_from(&self) -> i64 {
        self.mark
    }

    /// A cursor that starts at `id` (at `now`): nothing up to it is read.
    pub(crate) fn starting_at(id: i64, now: Instant) -> Cursor {
        Cursor {
            read: id,
            mark: id,
            marked: Some(now),
        }
    }
}

/// Groups what other processes stored while this process holds `lease` (a pass every
/// [`EVERY`]), until `stop`. Started only where several processes share the store.
pub fn spawn(
    feedback: Arc<FeedbackLoop>,
    lease: Lease,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    feedback.group_under(lease.clone());
    tokio::spawn(lease.run_while_held(stop, EVERY, move || {
        let feedback = feedback.clone();
        async move {
            match feedback.group_waiting_asks().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(asks = n, "grouped asks other processes stored"),
                Err(e) => tracing::warn!(error = %e, "grouping stored asks failed; retrying"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_on_from_where_it_stopped_and_rereads_a_settle_back_now_and_then() {
        let t0 = Instant::now();
        let mut c = Cursor::default();
        assert_eq!(c.after(t0), 0);
        c.read_to(10);
        assert_eq!(c.after(t0 + Duration::from_secs(1)), 10);
        c.read_to(20);
        // A settle later: back to the mark (0), the mark moves to 20.
        assert_eq!(c.after(t0 + SETTLE), 0);
        c.read_to(25);
        assert_eq!(c.after(t0 + SETTLE + Duration::from_secs(1)), 25);
        c.read_to(30);
        assert_eq!(c.after(t0 + SETTLE * 2), 20);
        c.read_to(5);
        assert_eq!(c.after(t0 + SETTLE * 2 + Duration::from_secs(1)), 30);
    }
}
