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
use super::http::CallError;
use super::intake::Intake;
use super::oauth::UserTokens;
use super::rules::OurRules;
use crate::reconnect::Reconnect;
use crate::source::{Failure, Hearing, Source, SourceError};
use async_trait::async_trait;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Hears the brand's mentions, its own posts and its keywords on X.
#[derive(Debug)]
pub struct XSource {
    pub(crate) name: String,
    pub(crate) api: Api,
}

pub(crate) use crate::reconnect::Ended;

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
    /// A search or mentions window was used up during a stream's gap fill: its reconcile
    /// reads wait until then (the stream itself is not torn down for it).
    pub reconcile_after: Option<chrono::DateTime<chrono::Utc>>,
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
}

#[async_trait]
impl Source for XSource {
    async fn run(&self, hearing: Hearing) -> Result<(), SourceError> {
        let Hearing {
            sink,
            health,
            mut stop,
        } = hearing;
        let mut state = RunState {
            intake: Intake::new(
                &self.name,
                &self.api.config.brand_user_id,
                sink.cursor(&self.name).await?,
            ),
            rules: None,
            connected_at: None,
            reconcile_after: None,
        };
        // X's reset is whole seconds; a reset already past still waits a moment.
        let mut reconnect = Reconnect::new(&self.name, "X", self.api.config.backoff_scale)
            .with_reset_floor(Duration::from_secs(1));
        loop {
            if reconnect.stopped(&stop, &health) {
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
            let connected_at = state.connected_at.take();
            if let ControlFlow::Break(done) = reconnect
                .after(ended, connected_at, &health, &mut stop)
                .await
            {
                return done;
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
