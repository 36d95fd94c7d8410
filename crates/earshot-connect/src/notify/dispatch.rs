//! The [`Dispatcher`]: one entry point for alerts, fanned out to every target.
//!
//! - Dedupe: an alert whose key was sent within the window is dropped, unless it is more
//!   severe than the one sent (an escalation is news). The window runs from the alert that
//!   went out, so a connector flapping for hours alerts once per window.
//! - Never blocks: [`Dispatcher::dispatch`] is a plain function that queues and returns.
//!   Each target has its own bounded queue and worker, so a slow Slack never delays email;
//!   when a queue is full the oldest alert of the lowest severity gives way (or the new one,
//!   if it is the least severe), and the drop is counted.
//! - Retries: a [`NotifyError::Retryable`] is tried again after the policy's delays (or the
//!   target's `Retry-After`), in order; a refusal is recorded and not retried.
//! - Status: each target keeps its last success and last error for the health page.
//!
//! Alerts live in memory only: a restart forgets queued ones (the conditions that raised
//! them raise them again). A sender that must not lose one (an on-call page) keeps it in its
//! store and uses [`Dispatcher::dispatch_tracked`], which says when every target has settled
//! it, so it can send again what a dead process left unsettled.

use super::{Alert, Notifier, NotifyConfig, NotifyError, RetryPolicy, Severity};
// The dispatcher stops on the same signal as a source: the value turns true or the sender goes.
use crate::source::stopped;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch, Notify};

/// What became of a dispatched alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// Queued for this many targets.
    Queued { targets: usize },
    /// The same key went out within the window.
    Deduplicated,
    /// No target takes alerts of this severity.
    NoTarget,
}

/// How a tracked alert ended at the targets it was queued for
/// ([`Dispatcher::dispatch_tracked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settled {
    /// Targets that took it.
    pub delivered: usize,
    /// Targets that refused it, or were out of retries.
    pub failed: usize,
    /// Targets whose full queue dropped it.
    pub dropped: usize,
}

impl Settled {
    /// How it ended, for a sender that keeps it: `Some("delivered")` when a target took it,
    /// `Some("failed")` when every target refused it or ran out of retries (each shows as
    /// failing on the health page), and `None` when no target took it and a full queue
    /// dropped it somewhere: this process's own choice, not a target's answer, so the alert
    /// is still owed and should be sent again.
    pub fn outcome(&self) -> Option<&'static str> {
        if self.delivered > 0 {
            Some("delivered")
        } else if self.dropped > 0 {
            None
        } else {
            Some("failed")
        }
    }
}

/// How one target was done with an alert.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Delivered,
    Failed,
    Dropped,
}

/// An alert in the targets' queues, and, when tracked, who waits to hear how it ended.
struct Queued {
    alert: Alert,
    tracker: Option<Tracker>,
}

struct Tracker {
    /// Targets not done with it yet.
    left: AtomicUsize,
    tally: Mutex<Settled>,
    done: Mutex<Option<oneshot::Sender<Settled>>>,
}

impl Queued {
    #[cfg(test)]
    fn untracked(alert: Alert) -> Queued {
        Queued {
            alert,
            tracker: None,
        }
    }

    /// One target is done with it; the last one tells the waiter. An alert still queued when
    /// the dispatcher stops is never settled: its waiter sees the sender go instead.
    fn settle(&self, outcome: Outcome) {
        let Some(t) = &self.tracker else { return };
        {
            let mut tally = t.tally.lock().unwrap_or_else(|p| p.into_inner());
            match outcome {
                Outcome::Delivered => tally.delivered += 1,
                Outcome::Failed => tally.failed += 1,
                Outcome::Dropped => tally.dropped += 1,
            }
        }
        // Each target counts before it decrements, so the one that reaches zero reads a tally
        // every target is in.
        if t.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let tally = *t.tally.lock().unwrap_or_else(|p| p.into_inner());
            let done = t.done.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(done) = done {
                // The waiter may have gone (a shutdown): nothing to tell.
                let _ = done.send(tally);
            }
        }
    }
}

impl Deref for Queued {
    type Target = Alert;

    fn deref(&self) -> &Alert {
        &self.alert
    }
}

/// How a target is doing, for the health page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Nothing sent yet.
    Ready,
    /// The last alert arrived.
    Ok,
    /// The last attempt failed; another is scheduled.
    Retrying,
    /// The last alert was refused or given up on: a person must look at this target.
    Failing,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub state: TargetState,
    pub min_severity: Severity,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Alerts delivered.
    pub sent_total: u64,
    /// Attempts that failed and were tried again.
    pub retries_total: u64,
    /// Alerts never delivered: refused, or out of retries.
    pub failed_total: u64,
    /// Alerts dropped because the queue was full.
    pub dropped_total: u64,
    /// Alerts waiting, including one being delivered.
    pub queued: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatcherStats {
    pub deduplicated_total: u64,
    pub dropped_total: u64,
    pub targets: Vec<TargetStatus>,
}

/// One target handed to [`Dispatcher::with_targets`].
#[derive(Clone)]
pub struct Target {
    pub notifier: Arc<dyn Notifier>,
    pub min_severity: Severity,
}

struct Slot {
    notifier: Arc<dyn Notifier>,
    min_severity: Severity,
    state: Mutex<SlotState>,
    wakeup: Notify,
}

struct SlotState {
    queue: VecDeque<Arc<Queued>>,
    in_flight: bool,
    status: TargetStatus,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A poisoned lock only means a panic elsewhere mid-update; the queue is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self) -> TargetStatus {
        let s = self.lock();
        let mut status = s.status.clone();
        status.queued = s.queue.len() + usize::from(s.in_flight);
        status
    }

    fn take(&self) -> Option<Arc<Queued>> {
        let mut s = self.lock();
        let next = s.queue.pop_front();
        s.in_flight = next.is_some();
        next
    }

    fn finish(&self) {
        self.lock().in_flight = false;
    }

    fn succeeded(&self) {
        let mut s = self.lock();
        s.status.state = TargetState::Ok;
        s.status.last_success_at = Some(Utc::now());
        s.status.next_retry_at = None;
        s.status.sent_total += 1;
    }

    fn retrying(&self, error: &NotifyError, wait: Duration) {
        let mut s = self.lock();
        let now = Utc::now();
        s.status.state = TargetState::Retrying;
        s.status.last_error = Some(error.to_string());
        s.status.last_error_at = Some(now);
        s.status.next_retry_at = chrono::Duration::from_std(wait).ok().map(|d| now + d);
        s.status.retries_total += 1;
    }

    fn failed(&self, error: &NotifyError) {
        let mut s = self.lock();
        s.status.state = TargetState::Failing;
        s.status.last_error = Some(error.to_string());
        s.status.last_error_at = Some(Utc::now());
        s.status.next_retry_at = None;
        s.status.failed_total += 1;
    }
}

/// Remembers which keys went out when, and at what severity.
#[derive(Debug)]
pub(crate) struct Dedupe {
    window: Duration,
    sent: HashMap<String, (Instant, Severity)>,
}

/// Keys remembered before old ones are swept: plenty for real alert rates.
const DEDUPE_SWEEP_AT: usize = 1024;

impl Dedupe {
    pub(crate) fn new(window: Duration) -> Self {
        Dedupe {
            window,
            sent: HashMap::new(),
        }
    }

    /// Whether an alert with `key` and `severity` should go out at `now`; records it if so.
    pub(crate) fn admit(&mut self, key: &str, severity: Severity, now: Instant) -> bool {
        if self.sent.len() >= DEDUPE_SWEEP_AT {
            let window = self.window;
            self.sent
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < window);
        }
        if let Some((at, sent_severity)) = self.sent.get(key) {
            if now.saturating_duration_since(*at) < self.window && severity <= *sent_severity {
                return false;
            }
        }
        self.sent.insert(key.to_owned(), (now, severity));
        true
    }
}

struct Shared {
    slots: Vec<Arc<Slot>>,
    dedupe: Mutex<Dedupe>,
    capacity: usize,
    retry: RetryPolicy,
    deduplicated: AtomicU64,
    dropped: AtomicU64,
    /// Signalled whenever a worker finishes an alert (for [`Dispatcher::idle`]).
    progress: Notify,
}

/// Fans alerts out to every target; see the module doc. Stops its workers when dropped.
pub struct Dispatcher {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .shared
            .slots
            .iter()
            .map(|s| s.notifier.name())
            .collect();
        f.debug_struct("Dispatcher")
            .field("targets", &names)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// Builds every configured target and starts their workers (inside a tokio runtime).
    pub fn start(config: &NotifyConfig) -> Result<Dispatcher, NotifyError> {
        let targets = config
            .targets
            .iter()
            .map(|t| {
                Ok(Target {
                    notifier: t.notifier()?,
                    min_severity: t.min_severity,
                })
            })
            .collect::<Result<Vec<_>, NotifyError>>()?;
        Ok(Dispatcher::with_targets(targets, config))
    }

    /// Starts workers for `targets` (any [`Notifier`]), with `config`'s window, queue size
    /// and retry policy; `config.targets` is not used. Must run inside a tokio runtime.
    pub fn with_targets(targets: Vec<Target>, config: &NotifyConfig) -> Dispatcher {
        let slots: Vec<Arc<Slot>> = targets
            .into_iter()
            .map(|t| {
                Arc::new(Slot {
                    state: Mutex::new(SlotState {
                        queue: VecDeque::new(),
                        in_flight: false,
                        status: TargetStatus {
                            name: t.notifier.name().to_owned(),
                            state: TargetState::Ready,
                            min_severity: t.min_severity,
                            last_success_at: None,
                            last_error: None,
                            last_error_at: None,
                            next_retry_at: None,
                            sent_total: 0,
                            retries_total: 0,
                            failed_total: 0,
                            dropped_total: 0,
                            queued: 0,
                        },
                    }),
                    notifier: t.notifier,
                    min_severity: t.min_severity,
                    wakeup: Notify::new(),
                })
            })
            .collect();
        let shared = Arc::new(Shared {
            slots,
            dedupe: Mutex::new(Dedupe::new(config.dedupe_window)),
            capacity: config.queue_capacity.max(1),
            retry: config.retry.clone(),
            deduplicated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            progress: Notify::new(),
        });
        let (stop, stopped) = watch::channel(false);
        for slot in &shared.slots {
            tokio::spawn(work(shared.clone(), slot.clone(), stopped.clone()));
        }
        Dispatcher { shared, stop }
    }

    /// Queues `alert` for every target that takes its severity; never waits.
    pub fn dispatch(&self, alert: Alert) -> Dispatched {
        self.queue(alert, false).0
    }

    /// Like [`dispatch`](Self::dispatch), and when the alert was queued, a receiver that gets
    /// its [`Settled`] tally once every target is done with it (delivered, refused, out of
    /// retries or dropped). The sender goes unanswered when the dispatcher stops first. No
    /// dedupe window: a tracked alert is sent once by its sender's own claim, and one sent
    /// again (it was dropped, or its first sender stopped) must go out.
    pub fn dispatch_tracked(
        &self,
        alert: Alert,
    ) -> (Dispatched, Option<oneshot::Receiver<Settled>>) {
        self.queue(alert, true)
    }

    fn queue(&self, alert: Alert, track: bool) -> (Dispatched, Option<oneshot::Receiver<Settled>>) {
        let eligible: Vec<&Arc<Slot>> = self
            .shared
            .slots
            .iter()
            .filter(|s| alert.severity >= s.min_severity)
            .collect();
        if eligible.is_empty() {
            return (Dispatched::NoTarget, None);
        }
        let admitted = track
            || self
                .shared
                .dedupe
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .admit(&alert.dedupe_key, alert.severity, Instant::now());
        if !admitted {
            self.shared.deduplicated.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(key = %alert.dedupe_key, "alert deduplicated");
            return (Dispatched::Deduplicated, None);
        }
        let (tracker, settled) = if track {
            let (done, settled) = oneshot::channel();
            let tracker = Tracker {
                left: AtomicUsize::new(eligible.len()),
                tally: Mutex::new(Settled::default()),
                done: Mutex::new(Some(done)),
            };
            (Some(tracker), Some(settled))
        } else {
            (None, None)
        };
        let alert = Arc::new(Queued { alert, tracker });
        for slot in &eligible {
            let dropped = {
                let mut s = slot.lock();
                let dropped = enqueue(&mut s.queue, alert.clone(), self.shared.capacity);
                if dropped.is_some() {
                    s.status.dropped_total += 1;
                }
                dropped
            };
            if let Some(dropped) = dropped {
                dropped.settle(Outcome::Dropped);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target = slot.notifier.name(),
                    dropped = %dropped.dedupe_key,
                    severity = %dropped.severity,
                    "alert queue full: dropped the oldest least severe alert"
                );
            }
            slot.wakeup.notify_one();
        }
        let queued = Dispatched::Queued {
            targets: eligible.len(),
        };
        (queued, settled)
    }

    /// Sends a test alert to the target named `name` (`slack:ops` or just `ops`) now, once,
    /// bypassing dedupe and the queue, and records the outcome in its status.
    pub async fn check(&self, name: &str) -> Result<String, NotifyError> {
        let slot = self
            .shared
            .slots
            .iter()
            .find(|s| {
                let full = s.notifier.name();
                full == name || full.split_once(':').is_some_and(|(_, short)| short == name)
            })
            .ok_or_else(|| NotifyError::UnknownTarget(name.to_owned()))?;
        let alert = Alert::test(slot.notifier.name());
        match attempt(&self.shared.retry, slot, &alert).await {
            Ok(()) => {
                slot.succeeded();
                Ok(format!(
                    "sent a test alert to {} ({})",
                    slot.notifier.name(),
                    alert.event_id()
                ))
            }
            Err(e) => {
                slot.failed(&e);
                Err(e)
            }
        }
    }

    pub fn status(&self) -> DispatcherStats {
        DispatcherStats {
            deduplicated_total: self.shared.deduplicated.load(Ordering::Relaxed),
            dropped_total: self.shared.dropped.load(Ordering::Relaxed),
            targets: self.shared.slots.iter().map(|s| s.status()).collect(),
        }
    }

    /// The status of one target by its full name (`slack:ops`).
    pub fn target_status(&self, name: &str) -> Option<TargetStatus> {
        self.shared
            .slots
            .iter()
            .find(|s| s.notifier.name() == name)
            .map(|s| s.status())
    }

    /// Waits until every queue is empty and nothing is being delivered; `false` if that
    /// took longer than `within` (for a graceful shutdown, and tests).
    pub async fn idle(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let progress = self.shared.progress.notified();
            tokio::pin!(progress);
            // Registered before looking, so a worker finishing in between still wakes us.
            progress.as_mut().enable();
            if self.shared.slots.iter().all(|s| s.status().queued == 0) {
                return true;
            }
            if tokio::time::timeout_at(deadline, progress).await.is_err() {
                return false;
            }
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Queues `alert`; when full, drops the oldest alert of the lowest severity, or `alert`
/// itself when it is less severe than everything queued. Within a severity an untracked alert
/// gives way before a tracked one: a tracked alert dropped is only sent again later by its
/// sender (churn), an untracked one's condition raises it again. Returns what was dropped.
fn enqueue(
    queue: &mut VecDeque<Arc<Queued>>,
    alert: Arc<Queued>,
    capacity: usize,
) -> Option<Arc<Queued>> {
    if queue.len() < capacity {
        queue.push_back(alert);
        return None;
    }
    let worth = |a: &Queued| (a.severity, a.tracker.is_some());
    let lowest = queue.iter().map(|a| worth(a)).min()?;
    if worth(&alert) < lowest {
        return Some(alert);
    }
    let oldest_lowest = queue.iter().position(|a| worth(a) == lowest)?;
    let dropped = queue.remove(oldest_lowest);
    queue.push_back(alert);
    dropped
}

/// One attempt, bounded by the policy's attempt timeout.
async fn attempt(policy: &RetryPolicy, slot: &Slot, alert: &Alert) -> Result<(), NotifyError> {
    match tokio::time::timeout(policy.attempt_timeout, slot.notifier.notify(alert)).await {
        Ok(result) => result,
        Err(_) => Err(NotifyError::Retryable {
            target: slot.notifier.name().to_owned(),
            reason: format!("no answer within {:?}", policy.attempt_timeout),
            retry_after: None,
        }),
    }
}

/// Delivers one alert with retries; `None` when the dispatcher stopped meanwhile.
async fn deliver(
    policy: &RetryPolicy,
    slot: &Slot,
    alert: &Alert,
    stop: &mut watch::Receiver<bool>,
) -> Option<Outcome> {
    let mut retries = 0usize;
    loop {
        let error = match attempt(policy, slot, alert).await {
            Ok(()) => {
                slot.succeeded();
                tracing::debug!(target = slot.notifier.name(), key = %alert.dedupe_key, "alert sent");
                return Some(Outcome::Delivered);
            }
            Err(e) => e,
        };
        let delay = match &error {
            NotifyError::Retryable { retry_after, .. } => policy.delays.get(retries).map(|d| {
                retry_after.map_or_else(
                    || crate::source::jitter(*d, crate::reconnect::unit_jitter()),
                    |wish| wish.min(policy.max_retry_after),
                )
            }),
            _ => None,
        };
        let Some(delay) = delay else {
            slot.failed(&error);
            tracing::error!(
                target = slot.notifier.name(),
                key = %alert.dedupe_key,
                error = %error,
                retries,
                "alert not delivered"
            );
            return Some(Outcome::Failed);
        };
        retries += 1;
        slot.retrying(&error, delay);
        tracing::warn!(
            target = slot.notifier.name(),
            error = %error,
            retry_in = ?delay,
            "alert delivery failed; retrying"
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(stop) => return None,
        }
    }
}

/// A target's worker: takes alerts in order and delivers each, until the dispatcher stops.
async fn work(shared: Arc<Shared>, slot: Arc<Slot>, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let Some(alert) = slot.take() else {
            tokio::select! {
                () = slot.wakeup.notified() => continue,
                () = stopped(&mut stop) => return,
            }
        };
        let outcome = deliver(&shared.retry, &slot, &alert, &mut stop).await;
        if let Some(outcome) = outcome {
            alert.settle(outcome);
        }
        slot.finish();
        shared.progress.notify_waiters();
        if outcome.is_none() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::AlertKind;

    fn alert(key: &str, severity: Severity) -> Arc<Queued> {
        Arc::new(Queued::untracked(
            Alert::new(AlertKind::Spike, key, "", key).with_severity(severity),
        ))
    }

    #[test]
    fn dedupe_suppresses_within_the_window_and_admits_after_it_or_on_escalation() {
        let start = Instant::now();
        let window = Duration::from_secs(60);
        let mut d = Dedupe::new(window);
        let key = "connector-down:mastodon:acme";
        assert!(d.admit(key, Severity::Warning, start));
        // A flapping connector: 100 more within the window, none goes out.
        let flaps = (1..=100)
            .filter(|i| {
                d.admit(
                    key,
                    Severity::Warning,
                    start + Duration::from_millis(i * 500),
                )
            })
            .count();
        assert_eq!(flaps, 0);
        assert!(d.admit("connector-down:bluesky:acme", Severity::Warning, start));
        // An escalation is news even within the window; the same severity again is not.
        assert!(d.admit(key, Severity::Critical, start + Duration::from_secs(10)));
        assert!(!d.admit(key, Severity::Critical, start + Duration::from_secs(20)));
        // The window runs from the last alert that went out (10 s), not the first.
        assert!(!d.admit(key, Severity::Warning, start + Duration::from_secs(65)));
        assert!(d.admit(key, Severity::Warning, start + Duration::from_secs(71)));
    }

    #[test]
    fn within_a_severity_an_untracked_alert_gives_way_before_a_tracked_one() {
        let tracked = |key: &str| {
            let (done, _settled) = oneshot::channel();
            Arc::new(Queued {
                alert: Alert::new(AlertKind::Spike, key, "", key).with_severity(Severity::Warning),
                tracker: Some(Tracker {
                    left: AtomicUsize::new(1),
                    tally: Mutex::new(Settled::default()),
                    done: Mutex::new(Some(done)),
                }),
            })
        };
        let mut q = VecDeque::new();
        assert!(enqueue(&mut q, tracked("promise-overdue:1"), 2).is_none());
        assert!(enqueue(&mut q, alert("connector-down:x", Severity::Warning), 2).is_none());
        let dropped = enqueue(&mut q, alert("c1", Severity::Critical), 2).unwrap();
        assert_eq!(dropped.dedupe_key, "connector-down:x");
        // An untracked warning arriving now is worth less than the tracked one queued.
        let dropped = enqueue(&mut q, alert("connector-down:y", Severity::Warning), 2).unwrap();
        assert_eq!(dropped.dedupe_key, "connector-down:y");
        let keys: Vec<&str> = q.iter().map(|a| a.dedupe_key.as_str()).collect();
        assert_eq!(keys, ["promise-overdue:1", "c1"]);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_least_severe_alert() {
        let mut q = VecDeque::new();
        for (key, sev) in [
            ("c1", Severity::Critical),
            ("w1", Severity::Warning),
            ("w2", Severity::Warning),
        ] {
            assert!(enqueue(&mut q, alert(key, sev), 3).is_none());
        }
        let dropped = enqueue(&mut q, alert("c2", Severity::Critical), 3).unwrap();
        assert_eq!(dropped.dedupe_key, "w1");
        // An info alert is less severe than everything queued: it is the one dropped.
        let dropped = enqueue(&mut q, alert("i1", Severity::Info), 3).unwrap();
        assert_eq!(dropped.dedupe_key, "i1");
        let keys: Vec<&str> = q.iter().map(|a| a.dedupe_key.as_str()).collect();
        assert_eq!(keys, ["c1", "w2", "c2"]);
    }
}
