//! The X source: one type for both modes ([`XMode::Stream`] and [`XMode::Poll`]), with the
//! reconnect policy of PROTOCOLS.md §0.3 around them.
//!
//! A dropped stream reconnects at once (then +250 ms a try); a refused connection backs off
//! linearly; HTTP errors exponentially from 5 s; 429 waits until `x-rate-limit-reset` (or
//! exponentially from 60 s without it), and `TooManyConnections` waits at least the 60 s
//! regime. A stored-delivery failure (the sink) backs off like an HTTP error and resumes from
//! the last stored cursor. Credentials refused for good (the app bearer, or the user token
//! after a failed renewal) and a refused stream rule stop the source with health `Failing`.

use super::api::Api;
use super::config::{XConfig, XMode};
use super::http::{until, CallError};
use super::intake::Intake;
use super::oauth::UserTokens;
use super::rules::OurRules;
use crate::source::{jitter, Backoff, Failure, Health, Sink, SinkError, Source, SourceError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connection (or polling spell) that lasted this long counts as a success for [`Backoff`].
const HEALTHY_CONNECTION: Duration = Duration::from_secs(1);

/// Hears the brand's mentions, its own posts and its keywords on X.
#[derive(Debug)]
pub struct XSource {
    pub(crate) name: String,
    pub(crate) api: Api,
}

/// Why one connection (or polling spell) ended.
#[derive(Debug)]
pub(crate) enum Ended {
    Stopped,
    /// Credentials refused for good: an operator must act.
    Auth(String),
    /// The config cannot work (a refused rule): an operator must act.
    Config(String),
    /// The sink failed: back off and hear the same posts again.
    Sink(SinkError),
    /// Worth another attempt after a delay.
    Retry {
        failure: Failure,
        reason: String,
        /// When X said its rate limit resets.
        not_before: Option<DateTime<Utc>>,
    },
}

impl Ended {
    pub(crate) fn dropped(reason: String) -> Ended {
        Ended::Retry {
            failure: Failure::Dropped,
            reason,
            not_before: None,
        }
    }
}

impl From<CallError> for Ended {
    fn from(e: CallError) -> Ended {
        match e {
            CallError::Refused { text, .. } => Ended::Auth(text),
            CallError::RateLimited {
                text,
                too_many_connections: true,
                ..
            } => Ended::Retry {
                // The reset header belongs to the connect window, not to the connection
                // limit: wait the 429 regime (≥ 60 s) for the old connection to be reaped.
                failure: Failure::RateLimited,
                reason: format!("rate-limited: {text}"),
                not_before: None,
            },
            CallError::RateLimited { text, reset, .. } => Ended::Retry {
                failure: Failure::RateLimited,
                reason: match reset {
                    Some(at) => format!("rate-limited until {}: {text}", at.to_rfc3339()),
                    None => format!("rate-limited: {text}"),
                },
                not_before: reset,
            },
            CallError::Status { text, .. } => Ended::Retry {
                failure: Failure::Http,
                reason: text,
                not_before: None,
            },
            CallError::Network { text, .. } => Ended::Retry {
                failure: Failure::Network,
                reason: text,
                not_before: None,
            },
        }
    }
}

/// What one run keeps across reconnects.
#[derive(Debug)]
pub(crate) struct RunState {
    pub intake: Intake,
    /// The rules as last synced; `None` until the first sync (and after a 409).
    pub rules: Option<OurRules>,
    /// When the current connection got going, if it did.
    pub connected_at: Option<Instant>,
}

impl XSource {
    /// A source for `config`, with its own user token (when configured). Use
    /// [`XSource::with_tokens`] to share one with the responder: refresh tokens are single-use.
    pub fn new(config: XConfig) -> Result<XSource, reqwest::Error> {
        let tokens = UserTokens::from_config(&config)?;
        XSource::with_tokens(config, tokens)
    }

    /// A source that renews the user token through `tokens` (shared with the responder).
    pub fn with_tokens(
        config: XConfig,
        tokens: Option<UserTokens>,
    ) -> Result<XSource, reqwest::Error> {
        Ok(XSource {
            name: config.source_name(),
            api: Api::new(config, tokens)?,
        })
    }

    /// The user token this source renews (to persist its rotating refresh token).
    pub fn tokens(&self) -> Option<&UserTokens> {
        self.api.tokens.as_ref()
    }

    fn scaled(&self, d: Duration) -> Duration {
        let scale = self.api.config.backoff_scale;
        if scale.is_finite() && scale > 0.0 {
            d.mul_f64(scale)
        } else {
            d
        }
    }
}

#[async_trait]
impl Source for XSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(
        &self,
        sink: Arc<dyn Sink>,
        health: Health,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), SourceError> {
        let mut state = RunState {
            intake: Intake::new(
                &self.name,
                &self.api.config.brand_user_id,
                sink.cursor(&self.name).await?,
            ),
            rules: None,
            connected_at: None,
        };
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                health.stopped();
                return Ok(());
            }
            let ended = match self.api.config.mode {
                XMode::Stream => {
                    self.stream(sink.as_ref(), &health, &mut state, &mut stop)
                        .await
                }
                XMode::Poll => {
                    self.poll(sink.as_ref(), &health, &mut state, &mut stop)
                        .await
                }
            };
            let (failure, reason, not_before) = match ended {
                Ended::Stopped => {
                    health.stopped();
                    return Ok(());
                }
                Ended::Auth(reason) => {
                    tracing::error!(source = %self.name, error = %reason, "X refused the credentials");
                    health.failed(&reason, None);
                    return Err(SourceError::Auth(reason));
                }
                Ended::Config(reason) => {
                    tracing::error!(source = %self.name, error = %reason, "X connector misconfigured");
                    health.failed(&reason, None);
                    return Err(SourceError::Config(reason));
                }
                // The store is busy or briefly down: nothing was acknowledged, so back off
                // and hear the same posts again from the cursor, rather than going deaf.
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
            // A connection that stayed up a while was a success: start the regimes over. One
            // that fails at once keeps growing the delay, so a flapping server is not hammered.
            if state
                .connected_at
                .take()
                .is_some_and(|at| at.elapsed() >= HEALTHY_CONNECTION)
            {
                backoff.reset();
            }
            let regime = self.scaled(jitter(backoff.next(failure), unit_jitter()));
            let delay = match not_before {
                // X's reset is whole seconds; a reset already past still waits a moment, so a
                // server that keeps answering 429 is not hammered.
                Some(at) => until(at, Utc::now()).max(self.scaled(Duration::from_secs(1))),
                None => regime,
            };
            tracing::warn!(source = %self.name, error = %reason, delay_ms = delay.as_millis() as u64, "X connection down; retrying");
            health.failed(&reason, Some(delay));
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// A jitter fraction in `[0, 1)` without a random-number dependency: the clock's nanoseconds.
fn unit_jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}
