//! The one reconnect loop every listening connector runs between connections (or polling
//! spells): stop when asked, end the run on refused credentials or a configuration the
//! network rejects (an operator must act), and otherwise wait as [`Backoff`] says — or until
//! the reset the network named — and try again, keeping [`Health`] current.
//!
//! A failing sink (the store briefly down) is backed off like a server error: nothing was
//! acknowledged, so the same events are heard again from the stored cursor rather than the
//! source going deaf.

use crate::source::{jitter, Backoff, Failure, Health, SinkError, SourceError};
use chrono::{DateTime, Utc};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connection that lasted this long counts as a success: the backoff regimes start over.
/// One that fails at once keeps growing the delay, so a flapping server is not hammered.
pub const HEALTHY_CONNECTION: Duration = Duration::from_secs(1);

/// Why one connection (or polling spell) ended.
#[derive(Debug)]
pub enum Ended {
    /// `stop` turned true.
    Stopped,
    /// Credentials refused for good: an operator must act.
    Auth(String),
    /// The configuration cannot work (a refused rule, say): an operator must act.
    Config(String),
    /// The sink failed: the pipeline is broken, not the network.
    Sink(SinkError),
    /// The network refuses until a person acts elsewhere (a Telegram webhook another tool
    /// set): health says failing, and the source looks again after `wait` (scaled) so it
    /// recovers by itself once they have.
    Blocked { reason: String, wait: Duration },
    /// Worth another attempt after a delay.
    Retry {
        failure: Failure,
        reason: String,
        /// When the network said its rate limit resets.
        not_before: Option<DateTime<Utc>>,
    },
}

impl Ended {
    /// An established connection dropped.
    pub fn dropped(reason: String) -> Ended {
        Ended::Retry {
            failure: Failure::Dropped,
            reason,
            not_before: None,
        }
    }
}

/// A delay times a connector's `backoff_scale` (tests shorten waits with it). A scale that is
/// not a finite number above 0 counts as 1 (a zero would hammer the network), so a bad setting can never panic the loop.
pub fn scaled(delay: Duration, scale: f64) -> Duration {
    let scale = if scale.is_finite() && scale > 0.0 {
        scale.min(1_000.0)
    } else {
        1.0
    };
    delay.mul_f64(scale)
}

/// How long from `now` until `at` (zero when it has passed).
pub fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (at - now).to_std().unwrap_or(Duration::ZERO)
}

/// When a `Retry-After` of whole seconds (`value`) ends, counted from `now`; a negative one
/// is now. The fallback of every network whose own reset header is missing.
pub fn retry_after_at(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let secs: i64 = value.trim().parse().ok()?;
    Some(now + chrono::Duration::seconds(secs.max(0)))
}

/// Checks a network's `rate_limit_reset` on headers with no reset header of the network's
/// own: `Retry-After: 7` is 7 s from now, and no header at all is no reset.
#[cfg(test)]
pub(crate) fn assert_retry_after_fallback(
    rate_limit_reset: impl Fn(&reqwest::header::HeaderMap, DateTime<Utc>) -> Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    use reqwest::header::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    headers.insert("Retry-After", HeaderValue::from_static("7"));
    assert_eq!(
        until(rate_limit_reset(&headers, now).unwrap(), now),
        Duration::from_secs(7)
    );
    assert_eq!(rate_limit_reset(&HeaderMap::new(), now), None);
}

/// A jitter fraction in `[0, 1)` without a random-number dependency: the clock's nanoseconds.
pub fn unit_jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// One source's reconnect state: its backoff regimes and how it names itself in logs.
#[derive(Debug)]
pub struct Reconnect<'a> {
    source: &'a str,
    /// What is down, for the log ("mastodon stream", "jetstream").
    what: &'static str,
    scale: f64,
    reset_floor: Duration,
    backoff: Backoff,
}

impl<'a> Reconnect<'a> {
    /// `source`: the source's configured name; `what`: what connects, for the log;
    /// `scale`: the connector's `backoff_scale`.
    pub fn new(source: &'a str, what: &'static str, scale: f64) -> Self {
        Reconnect {
            source,
            what,
            scale,
            reset_floor: Duration::ZERO,
            backoff: Backoff::default(),
        }
    }

    /// The least wait after a rate-limit reset the network named, even one already past
    /// (X's resets are whole seconds; a server that keeps answering 429 is not hammered).
    /// Scaled like every other delay.
    pub fn with_reset_floor(mut self, floor: Duration) -> Self {
        self.reset_floor = scaled(floor, self.scale);
        self
    }

    /// True (and health says stopped) once `stop` is set: check it before each connection.
    pub fn stopped(&self, stop: &watch::Receiver<bool>, health: &Health) -> bool {
        let stopped = *stop.borrow();
        if stopped {
            health.stopped();
        }
        stopped
    }

    /// After a connection ended: `Break` with the run's result when it must end, otherwise
    /// waits the backoff delay (or until `stop`) and returns `Continue`. `connected_at`: when
    /// the connection that ended was established, if it was.
    pub async fn after(
        &mut self,
        ended: Ended,
        connected_at: Option<Instant>,
        health: &Health,
        stop: &mut watch::Receiver<bool>,
    ) -> ControlFlow<Result<(), SourceError>> {
        let (failure, reason, not_before) = match ended {
            Ended::Stopped => {
                health.stopped();
                return ControlFlow::Break(Ok(()));
            }
            Ended::Auth(reason) => {
                tracing::error!(source = %self.source, error = %reason, "{} refused the credentials", self.what);
                health.failed(&reason, None);
                return ControlFlow::Break(Err(SourceError::Auth(reason)));
            }
            Ended::Config(reason) => {
                tracing::error!(source = %self.source, error = %reason, "{} refused the configuration", self.what);
                health.failed(&reason, None);
                return ControlFlow::Break(Err(SourceError::Config(reason)));
            }
            Ended::Blocked { reason, wait } => {
                tracing::error!(source = %self.source, error = %reason, "{} refused; a person must act", self.what);
                health.failed(&reason, None);
                self.wait(scaled(wait, self.scale), stop).await;
                return ControlFlow::Continue(());
            }
            Ended::Sink(e) => (
                Failure::Http,
                format!("could not store what was heard: {e}"),
                None,
            ),
            Ended::Retry {
                failure,
                reason,
                not_before,
            } => (failure, reason, not_before),
        };
        if connected_at.is_some_and(|at| at.elapsed() >= HEALTHY_CONNECTION) {
            self.backoff.reset();
        }
        let delay = self.delay(failure, not_before, Utc::now());
        tracing::warn!(source = %self.source, error = %reason, delay_ms = delay.as_millis() as u64, "{} down; retrying", self.what);
        health.failed(&reason, Some(delay));
        self.wait(delay, stop).await;
        ControlFlow::Continue(())
    }

    /// Sleeps `delay`, or less when `stop` changes.
    async fn wait(&self, delay: Duration, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {}
        }
    }

    /// The wait before the next attempt: until the network's reset when it named one (at
    /// least the floor), otherwise the backoff regime with jitter.
    fn delay(
        &mut self,
        failure: Failure,
        not_before: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Duration {
        match not_before {
            Some(at) => until(at, now).max(self.reset_floor),
            None => scaled(
                jitter(self.backoff.next(failure), unit_jitter()),
                self.scale,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_scale_counts_as_one_and_never_panics() {
        let s = Duration::from_secs(10);
        assert_eq!(scaled(s, 0.01), Duration::from_millis(100));
        for bad in [0.0, f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(scaled(s, bad), s, "scale {bad}");
        }
        assert_eq!(scaled(s, 1e9), s * 1000);
    }

    #[test]
    fn a_named_reset_is_waited_for_with_a_floor() {
        let now = Utc::now();
        let mut r = Reconnect::new("x", "X stream", 1.0).with_reset_floor(Duration::from_secs(1));
        let later = now + chrono::Duration::seconds(30);
        assert_eq!(
            r.delay(Failure::RateLimited, Some(later), now),
            Duration::from_secs(30)
        );
        let past = now - chrono::Duration::seconds(5);
        assert_eq!(
            r.delay(Failure::RateLimited, Some(past), now),
            Duration::from_secs(1)
        );
        // Without a reset the regime decides: an HTTP error waits 5 s ± 10 %.
        let d = r.delay(Failure::Http, None, now);
        assert!(d >= Duration::from_millis(4_500) && d <= Duration::from_millis(5_500));
    }

    #[tokio::test]
    async fn refused_credentials_end_the_run_and_a_drop_waits_then_continues() {
        let health = Health::new("t");
        let (_tx, mut stop) = watch::channel(false);
        let mut r = Reconnect::new("t", "test stream", 0.001);
        let auth = r
            .after(Ended::Auth("bad token".into()), None, &health, &mut stop)
            .await;
        assert!(matches!(
            auth,
            ControlFlow::Break(Err(SourceError::Auth(_)))
        ));
        assert_eq!(health.report().last_error.as_deref(), Some("bad token"));
        let dropped = r
            .after(Ended::dropped("eof".into()), None, &health, &mut stop)
            .await;
        assert!(matches!(dropped, ControlFlow::Continue(())));
        let sink = r
            .after(
                Ended::Sink(SinkError("db down".into())),
                None,
                &health,
                &mut stop,
            )
            .await;
        assert!(matches!(sink, ControlFlow::Continue(())));
        assert!(health
            .report()
            .last_error
            .is_some_and(|e| e.contains("could not store what was heard: db down")));
    }
}
