//! One App Store Connect request with its bearer token (PROTOCOLS-2.md §3.2, §3.5): the token
//! is signed when needed and re-signed once after a 401 (a token past its time, a clock that
//! drifted); the JSON:API error envelope and the status become a [`Problem`] in words; the
//! `X-Rate-Limit` header is kept. The token never appears in a message.

use super::config::AppStoreConfig;
use super::jwt::TokenSigner;
use super::wire::{rate_limit, ErrorDocument};
use reqwest::Method;
use serde_json::Value;
use std::sync::Mutex;

pub use crate::problem::Problem;

/// What the key was told it may still spend this hour, as the last answer said.
pub type RateLimit = Option<(u32, u32)>;

#[derive(Debug)]
pub struct Api {
    config: AppStoreConfig,
    client: reqwest::Client,
    signer: TokenSigner,
    rate: Mutex<RateLimit>,
}

impl Api {
    pub fn new(config: AppStoreConfig) -> Result<Self, String> {
        let signer = config.signer().map_err(|e| e.to_string())?;
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("could not build an HTTP client: {e}"))?;
        Ok(Api {
            config,
            client,
            signer,
            rate: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &AppStoreConfig {
        &self.config
    }

    /// How many tokens were signed so far.
    pub fn tokens_signed(&self) -> u64 {
        self.signer.signed()
    }

    /// `(limit, remaining)` per rolling hour from the last answer.
    pub fn rate_limit(&self) -> RateLimit {
        *self.rate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one request; `Ok` holds the body of a 2xx answer (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, Problem> {
        match self.once(method.clone(), url, body).await {
            // The token may have run out under us (or the clock moved): sign anew once.
            Err(Problem::Unauthorized(first)) => {
                tracing::info!(reason = %first, "app store connect refused the token; signing a new one");
                self.signer.forget();
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
        let token = self
            .signer
            .token()
            .map_err(|e| Problem::Key(e.to_string()))?;
        let (status, headers, text) = crate::problem::exchange_bearer(
            &self.client,
            method,
            url,
            token.expose(),
            body,
            "App Store Connect",
        )
        .await?;
        if let Some(limit) = headers
            .get("x-rate-limit")
            .and_then(|h| h.to_str().ok())
            .and_then(rate_limit)
        {
            *self.rate.lock().unwrap_or_else(|p| p.into_inner()) = Some(limit);
        }
        if (200..300).contains(&status) {
            return crate::problem::success_json("App Store Connect", status, &text);
        }
        let said = ErrorDocument::describe(&text)
            .unwrap_or_else(|| format!("HTTP {status} without an error body"));
        Err(match status {
            401 => Problem::Unauthorized(format!(
                "App Store Connect refused the API key ({said}): check issuer_id, key_id and the \
                 private key, that the key is not revoked (Users and Access → Integrations) and \
                 that this machine's clock is right"
            )),
            403 => Problem::Forbidden(format!(
                "the API key may not do this ({said}): give it a role that can read and answer \
                 customer reviews (Admin, App Manager or Customer Support)"
            )),
            404 => Problem::NotFound(format!("not found ({said})")),
            429 => Problem::RateLimited(format!(
                "the API key's hourly request budget is spent ({said}); earshot waits"
            )),
            500..=599 => Problem::Server(format!("App Store Connect failed ({status}: {said})")),
            _ => Problem::Refused {
                status,
                reason: format!("App Store Connect refused the request ({status}: {said})"),
            },
        })
    }
}
