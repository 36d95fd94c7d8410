//! Slack incoming webhooks (PROTOCOLS.md §6.1): `POST <webhook URL>` with the alert's Block
//! Kit payload; `200 ok` is success, failures are plain-text codes.
//!
//! The URL is the credential, so it is a [`Secret`] and is stripped from every error. Slack
//! has no idempotency key for webhooks: a connection that drops after the request was sent
//! is retried and may show the alert twice, which is better than missing a page.

use super::http::{retry_after, short_body, transport_error};
use super::{Alert, Notifier, NotifyError};
use crate::Secret;
use async_trait::async_trait;
use chrono::Utc;
use reqwest::StatusCode;
use std::time::Duration;

/// One Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// `https://hooks.slack.com/services/T…/B…/…`: whoever has it can post to the channel.
    pub webhook_url: Secret,
    /// The most one POST may take.
    pub request_timeout: Duration,
}

impl SlackConfig {
    pub fn new(webhook_url: Secret) -> Self {
        SlackConfig {
            webhook_url,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Posts alerts to one Slack channel through its incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackNotifier {
    name: String,
    config: SlackConfig,
    client: reqwest::Client,
}

impl SlackNotifier {
    pub fn new(name: impl Into<String>, config: SlackConfig) -> Result<Self, NotifyError> {
        let name = name.into();
        let url = config.webhook_url.expose().trim();
        let valid = reqwest::Url::parse(url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if !valid {
            // The URL itself stays out of the message: it is the credential.
            return Err(NotifyError::misconfigured(
                &name,
                "webhook_url is not an http(s) URL: copy it from the Slack app's Incoming \
                 Webhooks page",
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| {
                NotifyError::misconfigured(&name, transport_error("building the HTTP client", e))
            })?;
        Ok(SlackNotifier {
            name,
            config,
            client,
        })
    }
}

/// What an operator should do about a Slack error code.
fn advice(code: &str) -> &'static str {
    match code {
        "no_service" | "no_team" | "invalid_token" => {
            "the webhook was revoked or deleted: create a new incoming webhook and update the target"
        }
        "channel_not_found" => "the channel is gone: point a new webhook at an existing channel",
        "channel_is_archived" => "the channel is archived: unarchive it or use another webhook",
        "action_prohibited" => "a Slack admin restricted posting to this channel",
        "invalid_payload" | "invalid_blocks" | "no_text" => {
            "Slack could not read the message (an earshot bug: please report it)"
        }
        _ => "see Slack's incoming-webhook errors",
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    #[tracing::instrument(skip_all, fields(target = %self.name, alert = %alert.dedupe_key))]
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError> {
        let response = self
            .client
            .post(self.config.webhook_url.expose().trim())
            .json(&alert.to_slack())
            .send()
            .await
            .map_err(|e| {
                NotifyError::retryable(&self.name, transport_error("posting to Slack", e), None)
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| {
            NotifyError::retryable(
                &self.name,
                transport_error("reading Slack's answer", e),
                None,
            )
        })?;
        let code = short_body(&body);
        if status.is_success() {
            if code != "ok" {
                // Slack documents `ok`; anything else on a 200 was still accepted.
                tracing::debug!(answer = %code, "slack accepted with an unusual body");
            }
            return Ok(());
        }
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            NotifyError::retryable(
                &self.name,
                format!("rate-limited (HTTP 429 {code})"),
                retry_after(&headers, Utc::now()),
            )
        } else if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            NotifyError::retryable(
                &self.name,
                format!("HTTP {}: {code}", status.as_u16()),
                None,
            )
        } else {
            NotifyError::refused(
                &self.name,
                format!("HTTP {} {code}: {}", status.as_u16(), advice(&code)),
            )
        };
        tracing::warn!(error = %error, "slack alert not delivered");
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_never_prints() {
        let config = SlackConfig::new(Secret::new("https://hooks.slack.com/services/T1/B2/s3cr3t"));
        let notifier = SlackNotifier::new("slack:ops", config).unwrap();
        assert!(!format!("{notifier:?}").contains("s3cr3t"));
        let bad = SlackNotifier::new(
            "slack:ops",
            SlackConfig::new(Secret::new("hooks.slack.com/services/T1/B2/s3cr3t")),
        )
        .unwrap_err();
        assert!(matches!(bad, NotifyError::Misconfigured { .. }));
        assert!(!bad.to_string().contains("s3cr3t"), "{bad}");
    }
}
