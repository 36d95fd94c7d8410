//! The script app's password grant (PROTOCOLS.md §4.2): `POST /api/v1/access_token` on the
//! www host with HTTP basic auth, a token cached until shortly before it expires.
//!
//! The grant has no refresh token: an expiring token is simply requested again. Reddit
//! answers a wrong password with HTTP 200 and `{"error": "invalid_grant"}`, so the body is
//! read, not just the status; a deleted or revoked app gets 401.

use super::config::RedditConfig;
use super::http::{rate_limit_wait, short, Failure};
use super::wire::TokenResponse;
use crate::Secret;
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Used when Reddit omits `expires_in` (it never has; one hour is its old default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    /// Replace it from this moment on (expiry less the configured margin).
    renew_at: Instant,
}

/// A cached access token for one account.
#[derive(Debug)]
pub(crate) struct OAuth {
    cached: Mutex<Option<Token>>,
    issued: std::sync::atomic::AtomicU64,
}

impl OAuth {
    pub fn new() -> Self {
        OAuth {
            cached: Mutex::new(None),
            issued: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many tokens this cache has fetched.
    pub fn tokens_fetched(&self) -> u64 {
        self.issued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A token valid for a while yet: the cached one, or a new one.
    pub async fn token(
        &self,
        client: &reqwest::Client,
        config: &RedditConfig,
    ) -> Result<Secret, Failure> {
        // Held across the request so concurrent callers wait for one fetch, not start several.
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.value.clone());
            }
            tracing::debug!("reddit token due for renewal");
        }
        let (value, lifetime) = fetch(client, config).await?;
        self.issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let usable = lifetime.saturating_sub(config.token_refresh_margin);
        *cached = Some(Token {
            value: value.clone(),
            renew_at: Instant::now() + usable,
        });
        Ok(value)
    }

    /// Forgets `rejected` (the API answered 401 to it), so the next call fetches a new one.
    /// A token fetched meanwhile by someone else is kept.
    pub async fn forget(&self, rejected: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|t| &t.value == rejected) {
            *cached = None;
        }
    }
}

/// One password-grant request.
async fn fetch(
    client: &reqwest::Client,
    config: &RedditConfig,
) -> Result<(Secret, Duration), Failure> {
    let response = client
        .post(config.token_url())
        .basic_auth(&config.client_id, Some(config.client_secret.expose()))
        .header(reqwest::header::USER_AGENT, config.user_agent())
        .form(&[
            ("grant_type", "password"),
            ("username", config.account()),
            ("password", config.password.expose()),
        ])
        .send()
        .await
        .map_err(|e| Failure::network("requesting a token", &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .text()
        .await
        .map_err(|e| Failure::network("reading the token answer", &e))?;
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(Failure::Auth(format!(
                "Reddit refused the app's client id/secret (HTTP {}): check client_id and client_secret at reddit.com/prefs/apps; the app may have been deleted or its API access revoked",
                status.as_u16()
            )))
        }
        StatusCode::TOO_MANY_REQUESTS => {
            return Err(Failure::RateLimited {
                wait: rate_limit_wait(&headers),
                reason: "rate-limited while requesting a token".into(),
            })
        }
        s if !s.is_success() => {
            return Err(Failure::Http {
                status: s.as_u16(),
                reason: format!("token request: HTTP {}: {}", s.as_u16(), short(&body)),
            })
        }
        _ => {}
    }
    let answer: TokenResponse = serde_json::from_str(&body).map_err(|_| Failure::Http {
        status: status.as_u16(),
        reason: format!("the token answer is not JSON: {}", short(&body)),
    })?;
    if let Some(error) = answer.error {
        let code = error
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| error.to_string());
        return Err(Failure::Auth(if code == "invalid_grant" {
            format!(
                "Reddit refused the username or password of u/{} (invalid_grant): check username and password (an account with two-factor login cannot use a script app)",
                config.account()
            )
        } else {
            format!("Reddit refused the token request: {code}")
        }));
    }
    let token = answer
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Http {
            status: status.as_u16(),
            reason: "the token answer carries no access_token".into(),
        })?;
    let lifetime = answer
        .expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_LIFETIME);
    tracing::debug!(expires_in_s = lifetime.as_secs(), "reddit token issued");
    Ok((Secret::new(token), lifetime))
}
