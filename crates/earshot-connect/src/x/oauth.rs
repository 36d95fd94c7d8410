//! The brand's OAuth 2.0 user token and its renewal (PROTOCOLS.md §3.2).
//!
//! Access tokens live two hours. They are renewed with `POST /2/oauth2/token`
//! (`grant_type=refresh_token`, form-encoded; confidential clients authenticate with HTTP
//! Basic, public ones send `client_id`), before they expire when the expiry is known and
//! after a 401 otherwise. Refresh tokens are treated as **single-use**: the answer's new one
//! replaces the old in memory at once, and [`UserTokens::refresh_token`] hands it out so the
//! lead can persist it (watch [`UserTokens::rotations`]). Because a used refresh token is dead,
//! the source and the responder of one account must share one [`UserTokens`] (it is a cheap
//! clone), and renewals are single-flight.
//!
//! A refused refresh (revoked consent, a refresh token already used) is
//! [`TokenError::Revoked`]: an operator must authorise the app again.

use super::config::{Secret, XConfig};
use super::wire::{OAuthError, TokenAnswer};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why no usable user token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// X refused the refresh (or there is nothing to refresh with): the brand account must
    /// authorise the app again.
    #[error("the X user token was refused and cannot be renewed: {0}")]
    Revoked(String),
    /// The token endpoint could not be reached or failed on its side; try again later.
    #[error("the X token endpoint is unavailable: {0}")]
    Unavailable(String),
}

/// The brand's user token, renewed as needed; clones share the same token.
#[derive(Debug, Clone)]
pub struct UserTokens {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    token_url: String,
    client_id: String,
    client_secret: Option<Secret>,
    margin: Duration,
    user_agent: String,
    timeout: Duration,
    client: reqwest::Client,
    current: Mutex<Current>,
    /// Serialises renewals: a second caller waits and then finds the new token.
    renewing: tokio::sync::Mutex<()>,
    rotations: watch::Sender<u64>,
}

#[derive(Debug, Clone)]
struct Current {
    access: Secret,
    refresh: Option<Secret>,
    expires_at: Option<Instant>,
}

impl UserTokens {
    /// The tokens of `config.user_auth`; `None` when the connector has no user token.
    pub fn from_config(config: &XConfig) -> Result<Option<UserTokens>, reqwest::Error> {
        let Some(auth) = &config.user_auth else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(Some(UserTokens {
            inner: Arc::new(Inner {
                token_url: config.token_url.clone(),
                client_id: auth.client_id.clone(),
                client_secret: auth.client_secret.clone(),
                margin: config.token_refresh_margin,
                user_agent: config.user_agent.clone(),
                timeout: config.request_timeout,
                client,
                current: Mutex::new(Current {
                    access: auth.access_token.clone(),
                    refresh: auth.refresh_token.clone(),
                    expires_at: None,
                }),
                renewing: tokio::sync::Mutex::new(()),
                rotations: watch::channel(0).0,
            }),
        }))
    }

    fn current(&self) -> Current {
        match self.inner.current.lock() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The refresh token to persist: the newest one X issued (the configured one until then).
    pub fn refresh_token(&self) -> Option<Secret> {
        self.current().refresh
    }

    /// The access token in use now.
    pub fn access_token_now(&self) -> Secret {
        self.current().access
    }

    /// Counts renewals; changes each time a new refresh token must be persisted.
    pub fn rotations(&self) -> watch::Receiver<u64> {
        self.inner.rotations.subscribe()
    }

    /// An access token to send: the current one, renewed first when it is about to expire.
    pub async fn access_token(&self) -> Result<Secret, TokenError> {
        let current = self.current();
        let expiring = current
            .expires_at
            .is_some_and(|at| Instant::now() + self.inner.margin >= at);
        if expiring {
            self.renew_unless_changed(&current.access).await
        } else {
            Ok(current.access)
        }
    }

    /// X refused `refused`: renew, unless another caller already did (then use theirs).
    pub async fn renew_after_refusal(&self, refused: &Secret) -> Result<Secret, TokenError> {
        self.renew_unless_changed(refused).await
    }

    async fn renew_unless_changed(&self, stale: &Secret) -> Result<Secret, TokenError> {
        let _one_at_a_time = self.inner.renewing.lock().await;
        let current = self.current();
        if current.access != *stale {
            return Ok(current.access);
        }
        let Some(refresh) = current.refresh else {
            return Err(TokenError::Revoked(
                "no refresh token is configured (authorise with the offline.access scope)".into(),
            ));
        };
        let answer = self.post_refresh(&refresh).await?;
        let access = Secret::new(answer.access_token);
        {
            let mut slot = match self.inner.current.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            slot.access = access.clone();
            // Without a new refresh token in the answer the old one stays valid (no rotation).
            if let Some(next) = answer.refresh_token.filter(|t| !t.is_empty()) {
                slot.refresh = Some(Secret::new(next));
            }
            slot.expires_at = answer
                .expires_in
                .map(|secs| Instant::now() + Duration::from_secs(secs));
        }
        self.inner.rotations.send_modify(|n| *n += 1);
        tracing::info!("renewed the X user token");
        Ok(access)
    }

    async fn post_refresh(&self, refresh: &Secret) -> Result<TokenAnswer, TokenError> {
        let inner = &self.inner;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
        ];
        let mut request = inner
            .client
            .post(&inner.token_url)
            .timeout(inner.timeout)
            .header(reqwest::header::USER_AGENT, &inner.user_agent);
        match &inner.client_secret {
            Some(secret) => {
                request = request.basic_auth(&inner.client_id, Some(secret.expose()));
            }
            None => form.push(("client_id", inner.client_id.as_str())),
        }
        let response =
            request.form(&form).send().await.map_err(|e| {
                TokenError::Unavailable(format!("posting to the token endpoint: {e}"))
            })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| TokenError::Unavailable(format!("reading the token answer: {e}")))?;
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Unavailable(format!("HTTP {}", status.as_u16())));
        }
        if !status.is_success() {
            let error: OAuthError = serde_json::from_str(&body).unwrap_or_default();
            let words = [error.error, error.error_description]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            return Err(TokenError::Revoked(format!(
                "HTTP {}: {}",
                status.as_u16(),
                if words.is_empty() {
                    crate::de::shorten(body.trim()).to_owned()
                } else {
                    words
                }
            )));
        }
        let answer: TokenAnswer = serde_json::from_str(&body)
            .map_err(|e| TokenError::Unavailable(format!("unreadable token answer: {e}")))?;
        if answer.access_token.is_empty() {
            return Err(TokenError::Unavailable(
                "the token answer carries no access token".into(),
            ));
        }
        Ok(answer)
    }
}
