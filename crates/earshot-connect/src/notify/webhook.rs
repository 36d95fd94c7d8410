//! The signed generic outbound webhook (PROTOCOLS.md §6.3): earshot → a customer's system.
//!
//! Standard Webhooks headers (§5.2): `webhook-id` is the alert's event id, the same on every
//! retry so receivers can dedupe; `webhook-timestamp` is signed afresh on each attempt (a
//! receiver rejects stale ones); `webhook-signature: v1,<base64 HMAC-SHA256(key,
//! "<id>.<timestamp>.<body>")>`. The body bytes are built once per alert, so every attempt
//! signs and sends the same bytes. Any 2xx is success; 408, 409, 429 and 5xx are retried;
//! every other 4xx is refused (410 means the receiver disabled this endpoint).

use super::http::{retry_after, short_body, transport_error};
use super::{Alert, AlertKind, Notifier, NotifyError};
use crate::Secret;
use async_trait::async_trait;
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;
use std::time::Duration;

/// The `schema` of the body, so receivers can tell versions apart.
pub const SCHEMA: &str = "earshot.alert.v1";

/// One receiving endpoint.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    /// `whsec_<base64 key>` as Standard Webhooks shares it (other text is used as raw bytes,
    /// matching what earshot's inbound verifier accepts).
    pub secret: Secret,
    /// PROTOCOLS.md §6.3: success is a 2xx within 10 s.
    pub request_timeout: Duration,
}

impl WebhookConfig {
    pub fn new(url: impl Into<String>, secret: Secret) -> Self {
        WebhookConfig {
            url: url.into(),
            secret,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Signs Standard Webhooks messages with one key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// Decodes a `whsec_` secret; `None` when it is empty or its base64 is broken.
    pub fn new(secret: &Secret) -> Option<Signer> {
        let secret = secret.expose().trim();
        let key = match secret.strip_prefix("whsec_") {
            Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).ok()?,
            None => secret.as_bytes().to_vec(),
        };
        (!key.is_empty()).then_some(Signer { key })
    }

    /// The `webhook-signature` value: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

/// POSTs `body` to `url` with the Standard Webhooks headers: `webhook-id` as given (the same
/// on every retry), `webhook-timestamp` now, and the signature over both and the bytes. Shared
/// by the alert webhook and the reply webhook (`crate::webhook::responder`).
pub(crate) async fn post_signed(
    client: &reqwest::Client,
    url: &reqwest::Url,
    signer: &Signer,
    id: &str,
    body: Vec<u8>,
) -> Result<reqwest::Response, reqwest::Error> {
    let timestamp = Utc::now().timestamp();
    client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signer.sign(id, timestamp, &body))
        .body(body)
        .send()
        .await
}

/// The JSON body for an alert, as receivers get it.
pub fn body(alert: &Alert) -> serde_json::Value {
    let on_call = match &alert.kind {
        AlertKind::Page { on_call } => Some(on_call.as_str()),
        _ => None,
    };
    json!({
        "schema": SCHEMA,
        "id": alert.event_id(),
        "type": format!("alert.{}", alert.kind.name()),
        "occurred_at": alert.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "alert": {
            "kind": alert.kind.name(),
            "severity": alert.severity,
            "title": alert.title,
            "body": alert.body,
            "link": alert.link,
            "dedupe_key": alert.dedupe_key,
            "on_call": on_call,
            "facts": alert.facts,
        },
    })
}

/// Delivers alerts to one signed webhook endpoint.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    name: String,
    url: reqwest::Url,
    signer: Signer,
    client: reqwest::Client,
}

impl WebhookNotifier {
    pub fn new(name: impl Into<String>, config: WebhookConfig) -> Result<Self, NotifyError> {
        let name = name.into();
        let misconfigured = |reason: String| NotifyError::misconfigured(&name, reason);
        let url = reqwest::Url::parse(config.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| misconfigured("url is not an http(s) URL".into()))?;
        let signer = Signer::new(&config.secret).ok_or_else(|| {
            misconfigured(
                "secret is empty or not valid whsec_<base64>: generate one with \
                 `openssl rand -base64 32` and prefix it with whsec_"
                    .into(),
            )
        })?;
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("earshot-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| misconfigured(transport_error("building the HTTP client", e)))?;
        Ok(WebhookNotifier {
            name,
            url,
            signer,
            client,
        })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    #[tracing::instrument(skip_all, fields(target = %self.name, alert = %alert.dedupe_key))]
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError> {
        let id = alert.event_id();
        let bytes = serde_json::to_vec(&body(alert)).map_err(|e| {
            NotifyError::refused(&self.name, format!("the alert could not be encoded: {e}"))
        })?;
        let response = post_signed(&self.client, &self.url, &self.signer, &id, bytes)
            .await
            .map_err(|e| {
                NotifyError::retryable(
                    &self.name,
                    transport_error("delivering the webhook", e),
                    None,
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        // The answer's body only explains a failure; failing to read it changes nothing.
        let text = short_body(&response.text().await.unwrap_or_default());
        let error = match status {
            StatusCode::TOO_MANY_REQUESTS => NotifyError::retryable(
                &self.name,
                format!("rate-limited (HTTP 429) {text}"),
                retry_after(&headers, Utc::now()),
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT => {
                NotifyError::retryable(&self.name, format!("HTTP {} {text}", status.as_u16()), None)
            }
            s if s.is_server_error() => {
                NotifyError::retryable(&self.name, format!("HTTP {} {text}", status.as_u16()), None)
            }
            StatusCode::GONE => NotifyError::Refused {
                target: self.name.clone(),
                reason: "HTTP 410: the receiver disabled this endpoint; remove the target or \
                         ask its owner for a new URL"
                    .into(),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => NotifyError::Refused {
                target: self.name.clone(),
                reason: format!(
                    "HTTP {} {text}: the receiver rejected the signature; check that both sides \
                     share the same whsec_ secret and that this machine's clock is right",
                    status.as_u16()
                ),
            },
            _ => NotifyError::Refused {
                target: self.name.clone(),
                reason: format!("HTTP {} {text}", status.as_u16()),
            },
        };
        tracing::warn!(error = %error, webhook_id = %id, "webhook alert not delivered");
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_vector_from_protocols_5_2() {
        let signer = Signer::new(&Secret::new("whsec_czNjcjN0LWZvci10ZXN0cw==")).unwrap();
        let body =
            br#"{"id":"evt_01J9Z7","type":"mention.created","occurred_at":"2026-08-20T09:15:02Z"}"#;
        assert_eq!(body.len(), 81);
        assert_eq!(
            signer.sign("evt_01J9Z7", 1787217302, body),
            "v1,PwAmgygF4hX9Pjr8jSPoScDpbs6n3zWXbLl1hd6+IAs="
        );
        assert!(Signer::new(&Secret::new("whsec_%%%")).is_none());
        assert!(Signer::new(&Secret::new("")).is_none());
        assert!(!format!("{signer:?}").contains("czNj"));
    }

    #[test]
    fn the_body_carries_the_event_id_type_and_alert() {
        let alert = Alert::new(
            AlertKind::Page {
                on_call: "priya".into(),
            },
            "Paged",
            "b",
            "page:7",
        )
        .with_fact("conversation", "8812");
        let b = body(&alert);
        assert_eq!(b["id"], alert.event_id());
        assert_eq!(b["type"], "alert.page");
        assert_eq!(b["alert"]["severity"], "critical");
        assert_eq!(b["alert"]["on_call"], "priya");
        assert_eq!(b["alert"]["facts"][0]["name"], "conversation");
        let bad = WebhookNotifier::new(
            "webhook:crm",
            WebhookConfig::new("https://crm.example/hook", Secret::new("whsec_!!")),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("whsec_"), "{bad}");
    }
}
