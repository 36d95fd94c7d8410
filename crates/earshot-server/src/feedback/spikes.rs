//! Spikes of new demand: every new customer post is counted by the analyzer's
//! [`SpikeDetector`]; a burst that starts raises an alert with a suggested bulk reply and is
//! listed (with its volume chart) for the inbox until it ends.
//!
//! One detector counts. Alone on its store, it is this process's, fed by each committed batch;
//! where several processes share the store, it runs in the process holding the `spikes`
//! lease, which reads the posts every process stored ([`spawn`]). Each spike it follows is
//! written to the store as it starts, grows and ends, and every process lists the spikes from
//! there, so all show the same ones, and a restart keeps them. A spike's alert is claimed in
//! the store before it is sent: alerted once, whichever process detects it.
//!
//! A detector that starts (the server starts, or the lease moves) starts afresh: it learns the
//! usual rates again (its warm-up) before it alarms. Its spikes get their ids from the store,
//! so they never collide with another detector's (a command-line import counts too). The
//! server ends the spikes an earlier detector left active when it starts counting
//! ([`FeedbackLoop::end_spikes_left_active`]): nobody follows them any more.

use super::FeedbackLoop;
use crate::lease::Lease;
use earshot_analyze::spikes::{suggest_bulk_reply, Spike, SpikeConfig, SpikeDetector, SpikeEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Spikes listed (active first, then the recently ended).
pub const LISTED: u32 = 50;

/// The key prefix of spike alerts kept in the store (`spike:<id>`).
const SPIKE_ALERTS: &str = "spike:";

/// Posts counted in one pass of the lease holder at most (a backlog is worked off a page a pass).
pub const PAGE: u32 = 2_000;
/// How often the lease holder counts what the processes stored.
pub const EVERY: Duration = Duration::from_millis(500);

/// A spike as the inbox shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpikeView {
    pub active: bool,
    #[serde(flatten)]
    pub spike: Spike,
    /// A reply an agent can adapt and send to everyone in it.
    pub suggested_reply: String,
}

/// One customer post, as the detector counts it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub post_id: i64,
    pub author: String,
    pub text: String,
    pub language: String,
    pub request: Option<i64>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What the detector saw happen to a spike, to be written to the store.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The detector's own id of the spike (the view carries the stored one once known).
    pub own: u64,
    pub view: SpikeView,
    pub started: bool,
}

/// The detector, and the store's ids of the spikes it follows.
pub(crate) struct Detector {
    config: SpikeConfig,
    detector: SpikeDetector,
    /// The detector's own ids (which start at 1) → the store's.
    stored: HashMap<u64, i64>,
    /// The lease term it was started in; `None` until it is.
    term: Option<u64>,
}

impl Detector {
    pub(crate) fn new(config: SpikeConfig) -> Self {
        Detector {
            detector: SpikeDetector::new(config.clone()),
            config,
            stored: HashMap::new(),
            term: None,
        }
    }

    pub(crate) fn started_in(&self) -> Option<u64> {
        self.term
    }

    /// Starts afresh for `term`.
    pub(crate) fn restart(&mut self, term: u64) {
        self.detector = SpikeDetector::new(self.config.clone());
        self.stored.clear();
        self.term = Some(term);
    }

    /// The store's id of a spike (`None`: not stored yet).
    pub(crate) fn stored_id(&self, own: u64) -> Option<i64> {
        self.stored.get(&own).copied()
    }

    pub(crate) fn note_stored(&mut self, own: u64, id: i64) {
        self.stored.insert(own, id);
    }

    /// Counts the posts; returns what changed.
    pub(crate) fn observe(&mut self, posts: &[Observed]) -> Vec<Change> {
        let mut changes = Vec::new();
        for p in posts {
            let request = p.request.and_then(|r| u64::try_from(r).ok());
            for event in self.detector.observe(
                p.post_id,
                &p.author,
                &p.text,
                Some(&p.language),
                request,
                p.at,
            ) {
                changes.push(self.change(event));
            }
        }
        changes
    }

    /// Lets spikes end when the posts stop.
    pub(crate) fn tick(&mut self, now: chrono::DateTime<chrono::Utc>) -> Vec<Change> {
        let events = self.detector.tick(now);
        events.into_iter().map(|e| self.change(e)).collect()
    }

    fn view(&self, mut spike: Spike, active: bool) -> SpikeView {
        if let Some(id) = self.stored_id(spike.id.0) {
            spike.id.0 = u64::try_from(id).unwrap_or_default();
        }
        SpikeView {
            active,
            suggested_reply: suggest_bulk_reply(&spike),
            spike,
        }
    }

    fn change(&self, event: SpikeEvent) -> Change {
        let (spike, active, started) = match event {
            SpikeEvent::Started(s) => (s, true, true),
            SpikeEvent::Growing(s) => (s, true, false),
            SpikeEvent::Ended(s) => (s, false, false),
        };
        Change {
            own: spike.id.0,
            view: self.view(spike, active),
            started,
        }
    }

    /// The active spike a post with this text belongs to, if any (for the queue jump).
    pub(crate) fn spike_of(&mut self, text: &str, language: Option<&str>) -> Option<SpikeView> {
        let spike = self.detector.spike_of(text, language)?;
        Some(self.view(spike, true))
    }
}

/// Where the lease holder reads the stored posts from: the grouping catch-up's cursor
/// ([`super::catch_up::Cursor`], which every [`SETTLE`](super::catch_up::SETTLE) reads again
/// from where reading stood one settle earlier, for posts whose commit came late), and the posts counted since the
/// last re-read started, so none is counted twice.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    reading: super::catch_up::Cursor,
    /// Posts counted at or above where the last re-read started.
    counted: BTreeSet<i64>,
    /// The lease term it reads in.
    term: Option<u64>,
}

impl Cursor {
    /// Starts at `newest` in `term` (at `now`): posts stored before are not counted.
    pub(crate) fn at(newest: i64, term: u64, now: Instant) -> Cursor {
        Cursor {
            reading: super::catch_up::Cursor::starting_at(newest, now),
            counted: BTreeSet::new(),
            term: Some(term),
        }
    }

    /// Where this pass reads from.
    pub(crate) fn after(&mut self, now: Instant) -> i64 {
        let from = self.reading.after(now);
        // What lies below both this read and the next re-read is never read again.
        let kept_from = from.min(self.reading.rereads_from());
        if self.counted.first().is_some_and(|&first| first < kept_from) {
            self.counted = self.counted.split_off(&kept_from);
        }
        from
    }

    /// Notes a post as counted: `false` when it already was.
    pub(crate) fn count(&mut self, post: i64) -> bool {
        self.counted.insert(post)
    }

    pub(crate) fn read_to(&mut self, id: i64) {
        self.reading.read_to(id);
    }
}

impl FeedbackLoop {
    /// Counts spikes under `lease` from now on: a process that does not hold it counts
    /// nothing (the holder reads what every process stored, see [`spawn`]). Set once, before
    /// posts are heard. Not set when the process is alone on its store: it counts each
    /// committed batch at once.
    pub fn count_spikes_under(&self, lease: Lease) {
        if self.spike_lease.set(lease).is_err() {
            tracing::warn!("spikes are already counted under a lease: the second one is ignored");
        }
    }

    /// The lease term this process counts spikes in: 1 alone on its store (no lease); under
    /// a lease, the lease's term while it is held, `None` otherwise.
    fn spike_term(&self) -> Option<u64> {
        match self.spike_lease.get() {
            None => Some(1),
            Some(lease) => lease.is_held().then(|| lease.term()),
        }
    }

    /// Starts the detector afresh when this is a new term.
    fn start_detector(&self, term: u64) {
        let mut detector = self.detector();
        if detector.started_in() != Some(term) {
            detector.restart(term);
        }
    }

    /// Ends the spikes stored as active that no detector follows any more: those an earlier
    /// run of the server left (called when a server starts counting: at its start alone on
    /// its store, at each gain of the spikes lease otherwise). Spikes this process's detector
    /// follows stay active.
    pub async fn end_spikes_left_active(&self) -> Result<u64, earshot_store::StoreError> {
        let _writing = self.spike_writes.lock().await;
        let following: Vec<i64> = self.detector().stored.values().copied().collect();
        let ended = self
            .store
            .end_spikes_but(&following, chrono::Utc::now())
            .await?;
        if ended > 0 {
            tracing::info!(
                ended,
                "spikes an earlier detector followed are listed as ended"
            );
        }
        Ok(ended)
    }

    /// Spike alerts a process claimed and never delivered, where this process counts alone
    /// (under a lease, [`FeedbackLoop::count_stored_posts`] sends them, once a minute).
    pub async fn send_unsettled_spike_alerts(
        &self,
        alerts: &crate::alerts::Alerts,
        now: chrono::DateTime<chrono::Utc>,
    ) -> usize {
        if self.spike_lease.get().is_some() {
            return 0;
        }
        alerts.send_unsettled(&self.store, SPIKE_ALERTS, now).await
    }

    pub(crate) fn detector(&self) -> std::sync::MutexGuard<'_, Detector> {
        self.spikes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts new customer posts for spikes (alone on its store; under a lease, see
    /// [`FeedbackLoop::count_stored_posts`]) and writes what changed; a spike that starts is
    /// alerted once (when it is recent: replayed history is listed but does not page anyone)
    /// and returned.
    pub async fn observe(
        &self,
        posts: &[Observed],
        alerts: &crate::alerts::Alerts,
    ) -> Result<Vec<SpikeView>, earshot_store::StoreError> {
        // Under a lease the holder counts what every process stored (its own batches too).
        if posts.is_empty() || self.spike_lease.get().is_some() {
            return Ok(vec![]);
        }
        let _writing = self.spike_writes.lock().await;
        self.start_detector(1);
        let changes = self.detector().observe(posts);
        self.write_spikes(changes, alerts).await
    }

    /// Lets spikes end when the posts stop (alone on the store).
    async fn end_quiet_spikes(
        &self,
        alerts: &crate::alerts::Alerts,
    ) -> Result<(), earshot_store::StoreError> {
        let _writing = self.spike_writes.lock().await;
        self.start_detector(1);
        let changes = self.detector().tick(chrono::Utc::now());
        self.write_spikes(changes, alerts).await.map(drop)
    }

    async fn write_spikes(
        &self,
        changes: Vec<Change>,
        alerts: &crate::alerts::Alerts,
    ) -> Result<Vec<SpikeView>, earshot_store::StoreError> {
        let now = chrono::Utc::now();
        let mut started = Vec::new();
        for change in changes {
            let mut view = change.view;
            let json = serde_json::to_value(&view)
                .map_err(|e| earshot_store::StoreError::Invalid(e.to_string()))?;
            let known = self.detector().stored_id(change.own);
            // A spike stored for the first time while active counts as started even when
            // its start was not written (a failed write before): its alert is claimed once
            // either way, so it is never silently skipped.
            let starts = change.started || (known.is_none() && view.active);
            let id = self
                .store
                .save_spike(known, view.active, view.spike.detected_at, &json, now)
                .await?;
            if known.is_none() {
                // (The stored view carries the detector's own id: lists read the row's.)
                self.detector().note_stored(change.own, id);
                view.spike.id.0 = u64::try_from(id).unwrap_or_default();
            }
            if !starts {
                continue;
            }
            let s = &view.spike;
            let recent = now - s.detected_at <= chrono::Duration::minutes(10);
            if recent {
                let alert = spike_alert(&view);
                let text = crate::alerts::kept::kept(&alert)?;
                if self
                    .store
                    .claim_spike_alert(id, &alert.dedupe_key, &text, now)
                    .await?
                {
                    alerts.send_kept(&self.store, alert, now).await?;
                }
            }
            started.push(view);
        }
        Ok(started)
    }

    /// The spike going on now that a customer post with this text belongs to, if any (known
    /// where this process counts spikes).
    pub fn active_spike_for(&self, text: &str, language: Option<&str>) -> Option<SpikeView> {
        self.detector().spike_of(text, language)
    }

    /// Active spikes first, then recently ended ones, as stored (the same in every process).
    pub async fn spikes(
        &self,
        alerts: &crate::alerts::Alerts,
    ) -> Result<Vec<SpikeView>, earshot_store::StoreError> {
        // Where this process counts alone, spikes end when listed after the posts stopped.
        if self.spike_lease.get().is_none() {
            self.end_quiet_spikes(alerts).await?;
        }
        let stored = self.store.spikes(LISTED).await?;
        Ok(stored
            .into_iter()
            .filter_map(|s| {
                let mut view: SpikeView = serde_json::from_value(s.view)
                    .map_err(|e| tracing::warn!(spike = s.id, error = %e, "a stored spike this build cannot read"))
                    .ok()?;
                view.active = s.active;
                view.spike.id.0 = u64::try_from(s.id).ok()?;
                Some(view)
            })
            .collect())
    }

    /// One pass of the process holding the spikes lease: counts the customer posts every
    /// process stored since the last pass (at most [`PAGE`]), lets quiet spikes end, and
    /// returns the spikes that started. Nothing without the lease.
    pub async fn count_stored_posts(
        &self,
        alerts: &crate::alerts::Alerts,
    ) -> Result<Vec<SpikeView>, earshot_store::StoreError> {
        let Some(term) = self.spike_term() else {
            return Ok(vec![]);
        };
        if self.spike_cursor().term != Some(term) {
            // A new term: a fresh detector, what an earlier holder followed is over, and
            // counting starts with what is stored from now on.
            let newest = self.store.newest_post_id().await?;
            self.start_detector(term);
            self.end_spikes_left_active().await?;
            *self.spike_cursor() = Cursor::at(newest, term, Instant::now());
        }
        let _writing = self.spike_writes.lock().await;
        // Spike alerts an earlier holder claimed and never delivered: sent by the holder now
        // (looked for once a minute, not on every pass).
        let due = {
            let mut checked = self
                .spike_alerts_checked
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let due = checked.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60));
            if due {
                *checked = Some(Instant::now());
            }
            due
        };
        if due {
            alerts
                .send_unsettled(&self.store, SPIKE_ALERTS, chrono::Utc::now())
                .await;
        }
        let after = self.spike_cursor().after(Instant::now());
        let (posts, read_to) = self.store.customer_posts_after(after, PAGE).await?;
        let now = chrono::Utc::now();
        let observed: Vec<Observed> = {
            let mut cursor = self.spike_cursor();
            posts
                .into_iter()
                .filter(|p| cursor.count(p.post_id))
                .map(|p| Observed {
                    post_id: p.post_id,
                    author: format!("{}:{}", p.network, p.author),
                    text: p.text,
                    language: p.language,
                    request: p.request_id,
                    // A post from the future (a skewed clock) counts as now.
                    at: p.created_at.min(now),
                })
                .collect()
        };
        let mut changes = self.detector().observe(&observed);
        changes.extend(self.detector().tick(now));
        let started = self.write_spikes(changes, alerts).await?;
        self.spike_cursor().read_to(read_to);
        Ok(started)
    }

    fn spike_cursor(&self) -> std::sync::MutexGuard<'_, Cursor> {
        self.spike_cursor.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the alert targets are told when a spike starts.
fn spike_alert(view: &SpikeView) -> earshot_connect::notify::Alert {
    let s = &view.spike;
    let about = s.label_terms.join(", ");
    earshot_connect::notify::Alert::new(
        earshot_connect::notify::AlertKind::Spike,
        format!("Spike: {} posts about {about}", s.posts),
        format!(
            "{:.0} posts a minute from {} people (usually {:.1}). Suggested reply:\n{}",
            s.rate_per_minute, s.authors, s.baseline_per_minute, view.suggested_reply
        ),
        format!("{SPIKE_ALERTS}{}", s.id.0),
    )
    .with_severity(earshot_connect::notify::Severity::Critical)
}

/// Counts the posts every process stores while this process holds `lease` (a pass every
/// [`EVERY`]), announcing each spike that starts live (to every process, through the bus),
/// until `stop`. Started only where several processes share the store.
pub fn spawn(
    feedback: Arc<FeedbackLoop>,
    alerts: Arc<crate::alerts::Alerts>,
    pipeline: Arc<crate::pipeline::Pipeline>,
    lease: Lease,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    feedback.count_spikes_under(lease.clone());
    tokio::spawn(lease.run_while_held(stop, EVERY, move || {
        let (feedback, alerts, pipeline) = (feedback.clone(), alerts.clone(), pipeline.clone());
        async move {
            match feedback.count_stored_posts(&alerts).await {
                Ok(started) => {
                    for view in started {
                        pipeline.publish(crate::pipeline::LiveEvent::SpikeStarted {
                            spike_id: view.spike.id.0,
                            label: view.spike.label_terms.join(", "),
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "counting stored posts for spikes failed; retrying")
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::catch_up::SETTLE;

    #[test]
    fn the_cursor_reads_again_behind_and_counts_each_post_once() {
        let t0 = Instant::now();
        let mut c = Cursor::at(10, 1, t0);
        assert_eq!(c.after(t0), 10);
        assert!(c.count(11) && c.count(12) && c.count(14));
        c.read_to(14);
        assert_eq!(c.after(t0 + Duration::from_secs(1)), 14);
        // A settle later: read again from where reading stood at the mark (10).
        assert_eq!(c.after(t0 + SETTLE), 10);
        assert!(!c.count(12), "counted before");
        assert!(c.count(13), "a late commit below what was read is counted");
        c.read_to(14);
        // The next re-read starts where reading stood at the last one: what is below is
        // never read again, so it is forgotten.
        assert_eq!(c.after(t0 + SETTLE * 2), 14);
        assert!(!c.count(14));
        assert!(!c.counted.contains(&13));
    }
}
