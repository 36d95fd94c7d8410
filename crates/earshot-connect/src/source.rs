//! What every live source provides, and what it delivers to.
//!
//! A source hears a network and hands posts to a [`Sink`] with its resume cursor. The sink
//! commits the posts first and the cursor after (the store's invariant: a crash loses nothing
//! and doubles nothing); a source resumes from [`Sink::cursor`] after a restart. Sources keep
//! their [`Health`] current so `GET /api/v1/connectors` can show it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
pub use earshot_core::Amendment;
use earshot_core::NewPost;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

#[async_trait]
pub trait Sink: Send + Sync {
    /// Stores `posts` (idempotently), then `cursor` for `source`; returns once both are durable.
    async fn deliver(
        &self,
        source: &str,
        posts: Vec<NewPost>,
        cursor: Option<String>,
    ) -> Result<(), SinkError>;
    /// Applies edits and deletions of posts heard before (idempotently), then `cursor`.
    /// Sources deliver in the order they heard: a post's creation before its amendments.
    async fn amend(
        &self,
        source: &str,
        amendments: Vec<Amendment>,
        cursor: Option<String>,
    ) -> Result<(), SinkError>;
    /// Where `source` left off.
    async fn cursor(&self, source: &str) -> Result<Option<String>, SinkError>;
}

/// Why `earshot connectors check` could not vouch for a connector's credentials, in words
/// an operator can act on (which setting, which permission, which URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The network answered and refused the credentials (401/403, a revoked token, a
    /// missing scope).
    #[error("refused: {0}")]
    Refused(String),
    /// The network could not be reached or answered with an error of its own.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The settings themselves are wrong (a bad URL, an empty handle).
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Credentials refused (401/403): retrying in a loop will not help; an operator must act.
    #[error("credentials refused: {0}")]
    Auth(String),
    #[error("misconfigured: {0}")]
    Config(String),
    #[error("{0}")]
    Sink(#[from] SinkError),
}

/// What a running source works with: the sink it delivers to, the health it keeps current
/// and the signal to stop (true when it should return).
pub struct Hearing {
    pub sink: Arc<dyn Sink>,
    pub health: Health,
    pub stop: tokio::sync::watch::Receiver<bool>,
}

#[async_trait]
pub trait Source: Send + Sync {
    /// Hears until `hearing.stop` turns true, reconnecting with backoff; returns on stop or
    /// on an error retrying cannot fix.
    async fn run(&self, hearing: Hearing) -> Result<(), SourceError>;
    /// A stable name, used as the cursor key and in health reports (e.g. `mastodon:acme`).
    fn name(&self) -> &str;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorState {
    Starting,
    Connected,
    BackingOff,
    /// Credentials refused or config wrong: needs a person.
    Failing,
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub name: String,
    pub state: ConnectorState,
    pub last_event_at: Option<DateTime<Utc>>,
    pub events_total: u64,
    pub errors_total: u64,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When a polling source last finished a poll, new posts or not (a quiet app store is
    /// told apart from a stuck one by this). Streaming sources leave it empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_poll_at: Option<DateTime<Utc>>,
    /// What an operator should know about this connector beside its state (a network that
    /// keeps only a week of history, a daily quota and what is left of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Shared, cheap-to-clone health of one connector.
#[derive(Debug, Clone)]
pub struct Health(Arc<Mutex<HealthReport>>);

impl Health {
    pub fn new(name: impl Into<String>) -> Self {
        Health(Arc::new(Mutex::new(HealthReport {
            name: name.into(),
            state: ConnectorState::Starting,
            last_event_at: None,
            events_total: 0,
            errors_total: 0,
            last_error: None,
            next_retry_at: None,
            last_poll_at: None,
            note: None,
        })))
    }

    fn with(&self, f: impl FnOnce(&mut HealthReport)) {
        // A poisoned lock only means another thread panicked mid-update: keep reporting.
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard);
    }

    pub fn report(&self) -> HealthReport {
        match self.0.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn connected(&self) {
        self.with(|h| {
            h.state = ConnectorState::Connected;
            h.next_retry_at = None;
        });
    }

    /// A poll finished (whatever it found).
    pub fn polled(&self) {
        self.with(|h| h.last_poll_at = Some(Utc::now()));
    }

    pub fn heard(&self, events: u64) {
        self.with(|h| {
            h.events_total += events;
            h.last_event_at = Some(Utc::now());
        });
    }

    pub fn failed(&self, error: &str, retry_in: Option<Duration>) {
        self.with(|h| {
            h.errors_total += 1;
            h.last_error = Some(error.to_string());
            match retry_in {
                Some(d) => {
                    h.state = ConnectorState::BackingOff;
                    h.next_retry_at = chrono::Duration::from_std(d).ok().map(|d| Utc::now() + d);
                }
                None => {
                    h.state = ConnectorState::Failing;
                    h.next_retry_at = None;
                }
            }
        });
    }

    pub fn stopped(&self) {
        self.with(|h| h.state = ConnectorState::Stopped);
    }

    /// Sets the connector's note (see [`HealthReport::note`]).
    pub fn note(&self, note: impl Into<String>) {
        let note = note.into();
        self.with(|h| h.note = Some(note));
    }
}

/// Reconnect delays after PROTOCOLS.md §0.3 (X's documented rules, used everywhere).
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    network_failures: u32,
    http_failures: u32,
    rate_limited: u32,
}

/// Why the last attempt failed, which decides the next delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An established connection dropped: reconnect at once (the first time).
    Dropped,
    /// TCP/TLS/DNS failure: linear, +250 ms per attempt, cap 16 s.
    Network,
    /// HTTP error other than 429: exponential from 5 s, cap 320 s.
    Http,
    /// HTTP 429: exponential from 60 s.
    RateLimited,
}

impl Backoff {
    /// The delay before the next attempt (without jitter; see [`jitter`]).
    pub fn next(&mut self, failure: Failure) -> Duration {
        match failure {
            Failure::Dropped => {
                self.network_failures += 1;
                if self.network_failures == 1 {
                    Duration::ZERO
                } else {
                    Duration::from_millis((250 * u64::from(self.network_failures - 1)).min(16_000))
                }
            }
            Failure::Network => {
                self.network_failures += 1;
                Duration::from_millis((250 * u64::from(self.network_failures)).min(16_000))
            }
            Failure::Http => {
                self.http_failures += 1;
                Duration::from_secs((5u64 << (self.http_failures - 1).min(6)).min(320))
            }
            Failure::RateLimited => {
                self.rate_limited += 1;
                Duration::from_secs(60u64 << (self.rate_limited - 1).min(10))
            }
        }
    }

    /// A success resets every regime.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// ±10 % jitter, from a caller-supplied fraction in `[0, 1)` so this stays deterministic in tests.
pub fn jitter(d: Duration, unit: f64) -> Duration {
    let factor = 0.9 + 0.2 * unit.clamp(0.0, 1.0);
    d.mul_f64(factor)
}

/// Resolves when `stop` turns true or its sender is gone (either way: stop). What every
/// loop that waits on something else selects beside its wait.
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// A [`Sink`] that keeps everything in memory, for connector tests (here and in other
/// crates, with the `fake` feature).
#[cfg(any(test, feature = "fake"))]
pub mod testing {
    use super::*;
    use std::collections::HashMap;
    use std::time::Instant;

    /// Records deliveries and amendments and keeps cursors, like the store would. Set
    /// `fail_next` to make the next delivery fail, as a store that is briefly down would.
    #[derive(Default)]
    pub struct MemorySink {
        inner: Mutex<Recorded>,
    }

    #[derive(Default)]
    struct Recorded {
        posts: Vec<NewPost>,
        amendments: Vec<Amendment>,
        cursors: HashMap<String, String>,
        fail_next: u32,
        fail_amendments: u32,
    }

    impl MemorySink {
        fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
            self.inner.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Every post delivered, in order (duplicates included: a test can assert none).
        pub fn posts(&self) -> Vec<NewPost> {
            self.lock().posts.clone()
        }

        pub fn amendments(&self) -> Vec<Amendment> {
            self.lock().amendments.clone()
        }

        pub fn cursor_of(&self, source: &str) -> Option<String> {
            self.lock().cursors.get(source).cloned()
        }

        pub fn set_cursor(&self, source: &str, cursor: &str) {
            self.lock().cursors.insert(source.into(), cursor.into());
        }

        /// The next `n` deliveries (posts or amendments) fail with a [`SinkError`].
        pub fn fail_next(&self, n: u32) {
            self.lock().fail_next = n;
        }

        /// The next `n` amendment writes fail with a [`SinkError`]; posts are still taken.
        pub fn fail_next_amendments(&self, n: u32) {
            self.lock().fail_amendments = n;
        }

        /// Waits until at least `n` posts have arrived; panics (failing the test) after `wait`.
        pub async fn wait_for(&self, n: usize, wait: Duration) -> Vec<NewPost> {
            wait_for_n("posts", n, wait, || self.posts()).await
        }

        /// Waits until at least `n` amendments have arrived; panics after [`WAIT`].
        pub async fn wait_for_amendments(&self, n: usize) -> Vec<Amendment> {
            wait_for_n("amendments", n, WAIT, || self.amendments()).await
        }

        /// Waits for the first amendment, which must be an edit; returns the post as edited.
        pub async fn first_edit(&self) -> NewPost {
            match &self.wait_for_amendments(1).await[0] {
                Amendment::Edited(post) => post.clone(),
                other => panic!("expected an edit, got {other:?}"),
            }
        }

        fn take_failure(r: &mut Recorded) -> Result<(), SinkError> {
            if r.fail_next > 0 {
                r.fail_next -= 1;
                return Err(SinkError("the store is unavailable (scripted)".into()));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Sink for MemorySink {
        async fn deliver(
            &self,
            source: &str,
            posts: Vec<NewPost>,
            cursor: Option<String>,
        ) -> Result<(), SinkError> {
            let mut r = self.lock();
            Self::take_failure(&mut r)?;
            r.posts.extend(posts);
            if let Some(cursor) = cursor {
                r.cursors.insert(source.to_owned(), cursor);
            }
            Ok(())
        }

        async fn amend(
            &self,
            source: &str,
            amendments: Vec<Amendment>,
            cursor: Option<String>,
        ) -> Result<(), SinkError> {
            let mut r = self.lock();
            Self::take_failure(&mut r)?;
            if r.fail_amendments > 0 {
                r.fail_amendments -= 1;
                return Err(SinkError("the store is unavailable (scripted)".into()));
            }
            r.amendments.extend(amendments);
            if let Some(cursor) = cursor {
                r.cursors.insert(source.to_owned(), cursor);
            }
            Ok(())
        }

        async fn cursor(&self, source: &str) -> Result<Option<String>, SinkError> {
            Ok(self.lock().cursors.get(source).cloned())
        }
    }

    /// How long a connector test waits for something before failing.
    pub const WAIT: Duration = Duration::from_secs(5);

    /// What `read` returns, once it holds at least `n` items; panics after `wait`.
    async fn wait_for_n<T: std::fmt::Debug>(
        what: &str,
        n: usize,
        wait: Duration,
        read: impl Fn() -> Vec<T>,
    ) -> Vec<T> {
        let deadline = Instant::now() + wait;
        loop {
            let items = read();
            if items.len() >= n {
                return items;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} {what}, got {}: {items:?}",
                items.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The external ids of `posts`, in order.
    pub fn ids(posts: &[NewPost]) -> Vec<String> {
        posts.iter().map(|p| p.external_id.clone()).collect()
    }

    /// Fails the test when a post was delivered twice.
    pub fn assert_no_duplicates(posts: &[NewPost]) {
        let mut seen = ids(posts);
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!(before, seen.len(), "delivered twice: {:?}", ids(posts));
    }

    /// Fails the test unless `report`'s last error names `needle`.
    pub fn assert_last_error(report: &HealthReport, needle: &str) {
        let error = report.last_error.as_deref().unwrap_or_default();
        assert!(error.contains(needle), "{needle:?} not in {report:?}");
    }

    /// Starts a source on a fresh [`MemorySink`] through `start` and waits until it is
    /// connected: how most connector tests begin.
    pub async fn start_connected<S: Source + ?Sized + 'static>(
        start: impl FnOnce(Arc<MemorySink>) -> Running<S>,
    ) -> (Arc<MemorySink>, Running<S>) {
        let sink = Arc::new(MemorySink::default());
        let running = start(sink.clone());
        running.connected().await;
        (sink, running)
    }

    /// A source running in the background against a [`MemorySink`], as the server runs it:
    /// the connector tests of every network start, watch and stop their source through this.
    pub struct Running<S: ?Sized> {
        pub source: Arc<S>,
        pub health: Health,
        stop: tokio::sync::watch::Sender<bool>,
        task: tokio::task::JoinHandle<Result<(), SourceError>>,
    }

    impl<S: Source + ?Sized + 'static> Running<S> {
        pub fn start(source: Arc<S>, sink: Arc<MemorySink>) -> Self {
            let health = Health::new(source.name());
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let (h, s) = (health.clone(), source.clone());
            let hearing = Hearing {
                sink,
                health: h,
                stop: stopped,
            };
            let task = tokio::spawn(async move { s.run(hearing).await });
            Running {
                source,
                health,
                stop,
                task,
            }
        }

        /// Waits until `check` holds, failing the test (with the health report) after [`WAIT`].
        pub async fn until(&self, what: &str, check: impl Fn(&Self) -> bool) {
            let deadline = Instant::now() + WAIT;
            while !check(self) {
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}: {:?}",
                    self.health.report()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }

        pub async fn connected(&self) {
            self.until("connected", |r| {
                r.health.report().state == ConnectorState::Connected
            })
            .await;
        }

        pub async fn state(&self, state: ConnectorState) {
            self.until(&format!("{state:?}"), |r| r.health.report().state == state)
                .await;
        }

        /// Waits until the last error names `needle`.
        pub async fn until_error(&self, what: &str, needle: &str) {
            self.until(what, |r| r.error().contains(needle)).await;
        }

        /// Waits until the source backs off, with a retry time and an error naming `reason`.
        pub async fn backs_off_saying(&self, reason: &str) {
            self.state(ConnectorState::BackingOff).await;
            let report = self.health.report();
            assert!(report.next_retry_at.is_some(), "{report:?}");
            assert_last_error(&report, reason);
        }

        /// After the fake silenced the stream and `lost` was posted into it: waits until the
        /// stream is `reopened`, then for `lost` to arrive by the catch-up (and alone), and
        /// checks the source said the stream had stalled.
        pub async fn recovers_from_stall(
            &self,
            sink: &MemorySink,
            reopened: impl Fn() -> bool,
            lost: &str,
        ) {
            self.until("a reconnect after the stall", |_| reopened())
                .await;
            let posts = sink.wait_for(1, WAIT).await;
            assert_eq!(ids(&posts), vec![lost.to_owned()]);
            self.assert_last_error("stalled");
        }

        /// Fails the test unless the last error reported now names `needle`.
        pub fn assert_last_error(&self, needle: &str) {
            assert_last_error(&self.health.report(), needle);
        }

        /// The last error the health report holds, or "".
        pub fn error(&self) -> String {
            self.health.report().last_error.unwrap_or_default()
        }

        /// Tells the source to stop; it must end cleanly, reporting `Stopped`.
        pub async fn stop(self) {
            let _ = self.stop.send(true);
            let result = tokio::time::timeout(WAIT, self.task)
                .await
                .expect("source stops when told")
                .expect("the source task does not panic");
            assert!(result.is_ok(), "{result:?}");
            assert_eq!(self.health.report().state, ConnectorState::Stopped);
        }

        /// Waits for the run to end on its own on a refused credential (a person must act):
        /// checks it reports `Failing`; returns the reason and the last report.
        pub async fn ended_on_auth(self) -> (String, HealthReport) {
            let (result, health) = self.ended().await;
            let report = health.report();
            match result {
                Err(SourceError::Auth(reason)) => {
                    assert_eq!(report.state, ConnectorState::Failing, "{report:?}");
                    (reason, report)
                }
                other => panic!("expected an auth error, got {other:?}"),
            }
        }

        /// Waits for the run to end on its own; returns how, and its health.
        pub async fn ended(self) -> (Result<(), SourceError>, Health) {
            let result = tokio::time::timeout(WAIT, self.task)
                .await
                .expect("the run ends on its own")
                .expect("the source task does not panic");
            (result, self.health)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_documented_regimes() {
        let mut b = Backoff::default();
        assert_eq!(b.next(Failure::Dropped), Duration::ZERO);
        assert_eq!(b.next(Failure::Network), Duration::from_millis(500));
        for _ in 0..100 {
            b.next(Failure::Network);
        }
        assert_eq!(b.next(Failure::Network), Duration::from_secs(16));
        let mut b = Backoff::default();
        let http: Vec<u64> = (0..8).map(|_| b.next(Failure::Http).as_secs()).collect();
        assert_eq!(http, vec![5, 10, 20, 40, 80, 160, 320, 320]);
        let mut b = Backoff::default();
        assert_eq!(b.next(Failure::RateLimited), Duration::from_secs(60));
        assert_eq!(b.next(Failure::RateLimited), Duration::from_secs(120));
        b.reset();
        assert_eq!(b.next(Failure::RateLimited), Duration::from_secs(60));
        let j = jitter(Duration::from_secs(10), 0.0);
        assert_eq!(j, Duration::from_secs(9));
    }

    #[test]
    fn health_reports_state_changes() {
        let h = Health::new("mastodon:acme");
        h.connected();
        h.heard(3);
        h.failed("token expired", None);
        let r = h.report();
        assert_eq!(r.events_total, 3);
        assert_eq!(r.state, ConnectorState::Failing);
        assert_eq!(r.last_error.as_deref(), Some("token expired"));
    }
}
