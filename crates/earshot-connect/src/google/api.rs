//! One request to a Google API with its bearer token (PROTOCOLS-2.md §4.6, §5.6): the token is
//! minted when needed and minted anew once after a 401; the status and the error envelope's
//! reason become a [`Problem`] in words. Google sends no rate-limit headers, and a spent quota
//! is a 403 (`quotaExceeded`) as often as a 429: both are read.

use super::error::GoogleError;
use super::token::Tokens;
use crate::problem::Problem;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// What to tell an operator, per network: its name and what to fix.
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// "Google Play", "YouTube".
    pub network: &'static str,
    /// What to check after a 401 with a fresh token.
    pub unauthorized: &'static str,
    /// What to grant after a 403.
    pub forbidden: &'static str,
}

#[derive(Debug)]
pub struct Api {
    client: reqwest::Client,
    tokens: Tokens,
    wording: Wording,
}

impl Api {
    pub fn new(tokens: Tokens, timeout: Duration, wording: Wording) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not build an HTTP client: {e}"))?;
        Ok(Api {
            client,
            tokens,
            wording,
        })
    }

    /// How many access tokens were minted so far.
    pub fn tokens_minted(&self) -> u64 {
        self.tokens.minted()
    }

    /// Sends one request; `Ok` holds the body of a 2xx answer (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, Problem> {
        match self.once(method.clone(), url, body).await {
            // The token may have run out under us: mint a new one, once.
            Err(Problem::Unauthorized(first)) => {
                tracing::info!(reason = %first, network = self.wording.network, "access token refused; minting a new one");
                self.tokens.forget().await;
                self.once(method, url, body).await
            }
            other => other,
        }
    }

    async fn once(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, Problem> {
        let network = self.wording.network;
        let token = self.tokens.token(&self.client).await?;
        let (status, _, text) = crate::problem::exchange_bearer(
            &self.client,
            method,
            url,
            token.expose(),
            body,
            network,
        )
        .await?;
        if (200..300).contains(&status) {
            return crate::problem::success_json(network, status, &text);
        }
        Err(self.problem(status, &text))
    }

    fn problem(&self, status: u16, body: &str) -> Problem {
        let network = self.wording.network;
        let error = GoogleError::parse(body);
        let said = error
            .as_ref()
            .map(GoogleError::describe)
            .unwrap_or_else(|| format!("HTTP {status} without an error body"));
        let quota = error.as_ref().is_some_and(GoogleError::is_quota);
        let rate = error.as_ref().is_some_and(GoogleError::is_rate_limit);
        match status {
            _ if quota => Problem::Quota(format!(
                "{network}'s daily quota is spent ({said}); earshot waits for it to reset"
            )),
            429 => Problem::RateLimited(format!(
                "{network}'s request quota is spent for now ({said}); earshot waits"
            )),
            403 if rate => Problem::RateLimited(format!(
                "{network}'s request quota is spent for now ({said}); earshot waits"
            )),
            401 => Problem::Unauthorized(format!(
                "{network} refused the access token ({said}): {}",
                self.wording.unauthorized
            )),
            403 => Problem::Forbidden(format!(
                "{network} does not allow this ({said}): {}",
                self.wording.forbidden
            )),
            404 => Problem::NotFound(format!("not found on {network} ({said})")),
            500..=599 => Problem::Server(format!("{network} failed ({status}: {said})")),
            _ => Problem::Refused {
                status,
                reason: format!("{network} refused the request ({status}: {said})"),
            },
        }
    }
}
