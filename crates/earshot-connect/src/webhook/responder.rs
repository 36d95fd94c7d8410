//! Replies to posts that came from a generic webhook source (network `webhook`): handed back to
//! the system that sent them, at `[webhook] reply_url`, signed with Standard Webhooks headers
//! like earshot's alert webhooks (`notify::webhook`). That system posts the answer where its
//! customer is.
//!
//! `webhook-id` is the reply's idempotency key, the same on every retry, so the receiver drops
//! a repeat; the body is built from the stored reply alone, so each retry sends the same bytes.
//! Any 2xx is success: a JSON answer's `"id"` names the reply on the other side, else the
//! `webhook-id` does. 408, 409, 429, 5xx and dropped connections are worth another try;
//! other 4xx are refused.

use crate::notify::http::{short_body, transport_error};
use crate::notify::webhook::{post_signed, Signer};
use crate::responder::{Responder, SendError};
use crate::Secret;
use async_trait::async_trait;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// The `schema` of the body, so receivers can tell versions apart.
pub const SCHEMA: &str = "earshot.reply.v1";

/// Why a webhook responder cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookReplyError {
    #[error("webhook.reply_url {0:?} is not an http(s) URL")]
    Url(String),
    #[error("webhook.reply_secret is empty or not valid whsec_<base64>: generate one with `openssl rand -base64 32` and prefix it with whsec_")]
    Secret,
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Hands replies on network `webhook` to one receiving endpoint.
#[derive(Debug, Clone)]
pub struct WebhookResponder {
    url: reqwest::Url,
    signer: Signer,
    client: reqwest::Client,
}

impl WebhookResponder {
    pub fn new(url: &str, secret: &Secret) -> Result<WebhookResponder, WebhookReplyError> {
        let parsed = reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| WebhookReplyError::Url(url.to_string()))?;
        let signer = Signer::new(secret).ok_or(WebhookReplyError::Secret)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("earshot-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookReplyError::Client(transport_error("building", e)))?;
        Ok(WebhookResponder {
            url: parsed,
            signer,
            client,
        })
    }
}

/// The JSON body for a reply, as receivers get it.
pub fn body(reply: &Reply, target: &ReplyTarget) -> Value {
    json!({
        "schema": SCHEMA,
        "id": reply.idempotency_key,
        "type": "reply.created",
        "occurred_at": reply.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "reply": {
            "id": reply.id,
            "conversation_id": reply.conversation_id,
            "in_reply_to": reply.in_reply_to,
            "text": reply.text,
            "author": reply.author,
            "customer": {
                "id": target.customer.external_id,
                "handle": target.customer.handle,
            },
        },
    })
}

fn retryable(reason: String) -> SendError {
    SendError::Retryable {
        network: Network::Webhook,
        reason,
    }
}

#[async_trait]
impl Responder for WebhookResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let id = reply.idempotency_key.clone();
        let bytes = serde_json::to_vec(&body(reply, target)).map_err(|e| SendError::Refused {
            network: Network::Webhook,
            reason: format!("the reply could not be encoded: {e}"),
        })?;
        let response = post_signed(&self.client, &self.url, &self.signer, &id, bytes)
            .await
            .map_err(|e| retryable(transport_error("handing the reply over", e)))?;
        let status = response.status();
        // The body explains a failure or names the reply; failing to read it changes nothing.
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let theirs = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| match &v["id"] {
                    Value::String(s) if !s.is_empty() && s.len() <= 200 => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            return Ok(theirs.unwrap_or(id));
        }
        let text = short_body(&text);
        Err(match status {
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => {
                retryable(format!("HTTP {} {text}", status.as_u16()))
            }
            s if s.is_server_error() => retryable(format!("HTTP {} {text}", status.as_u16())),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SendError::Refused {
                network: Network::Webhook,
                reason: format!(
                    "HTTP {} {text}: the receiver rejected the signature; check that both sides \
                     share the same whsec_ secret and that this machine's clock is right",
                    status.as_u16()
                ),
            },
            _ => SendError::Refused {
                network: Network::Webhook,
                reason: format!("HTTP {} {text}", status.as_u16()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::fake::{FakeWebhookReceiver, HttpFailure};
    use chrono::Utc;
    use earshot_core::{Author, ConversationId};

    const SECRET: &str = "whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

    fn reply() -> (Reply, ReplyTarget) {
        let now = Utc::now();
        let queued = Reply::queued(
            ConversationId(3),
            Network::Webhook,
            "crm-991".into(),
            "Thanks Lena, a technician calls you tomorrow.".into(),
            "maria".into(),
            "k-7".into(),
            now,
        );
        let c = ReplyTarget {
            root_external_id: "crm-991".into(),
            customer: Author::new("cust-1", "lena"),
            language: "en".into(),
        };
        (Reply { id: 7, ..queued }, c)
    }

    #[tokio::test]
    async fn replies_are_signed_once_per_key_and_retries_are_told_apart() {
        let fake = FakeWebhookReceiver::start(SECRET).await.unwrap();
        let responder = WebhookResponder::new(&fake.url(), &Secret::new(SECRET)).unwrap();
        let (reply, conversation) = reply();
        fake.script([HttpFailure::Status(503)]);
        let err = responder.send(&reply, &conversation).await.unwrap_err();
        assert!(matches!(err, SendError::Retryable { .. }), "{err}");
        let id = responder.send(&reply, &conversation).await.unwrap();
        assert_eq!(
            id, "k-7",
            "the webhook-id names the reply when the receiver does not"
        );
        let deliveries = fake.deliveries();
        assert_eq!(deliveries.len(), 2);
        assert!(deliveries.iter().all(|d| d.verified.is_ok()));
        assert!(deliveries
            .iter()
            .all(|d| d.webhook_id.as_deref() == Some("k-7")));
        assert_eq!(
            deliveries[0].body, deliveries[1].body,
            "a retry sends the same bytes"
        );
        let event = &fake.events()[0];
        assert_eq!(event["type"], "reply.created");
        assert_eq!(event["reply"]["text"], reply.text);
        assert_eq!(event["reply"]["in_reply_to"], "crm-991");
        assert_eq!(event["reply"]["customer"]["id"], "cust-1");

        let wrong = WebhookResponder::new(
            &fake.url(),
            &Secret::new("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC0xMjM0NQ=="),
        )
        .unwrap();
        let err = wrong.send(&reply, &conversation).await.unwrap_err();
        assert!(matches!(err, SendError::Refused { .. }), "{err}");
        assert!(WebhookResponder::new("ftp://x", &Secret::new(SECRET)).is_err());
        assert!(WebhookResponder::new("https://crm.example", &Secret::new("")).is_err());
    }
}
