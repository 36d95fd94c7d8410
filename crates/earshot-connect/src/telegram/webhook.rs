//! Hearing a Telegram bot by webhook (PROTOCOLS-2.md §1.4), the option to long polling for
//! an earshot that a public HTTPS address reaches.
//!
//! The source sets the webhook (`setWebhook` with the `secret_token`, the update kinds heard
//! and `max_connections`; pending updates are kept, never dropped) and then asks
//! `getWebhookInfo` every `check_every`: a delivery error Telegram reports since then shows
//! in health as failing, with what Telegram said and how many updates wait, until the
//! waiting updates are delivered. A webhook that
//! no longer points at earshot is set again through the reconnect loop.
//!
//! Deliveries reach the server's `POST /hooks/telegram/<bot>`, which admits only the secret
//! ([`Webhook::admits`], constant time) and hands the body to [`hear_delivery`]: the update
//! is sorted like a polled one and stored before the server answers, so Telegram's retry of
//! anything but a 2xx can never lose it, and a repeated delivery is absorbed by the store.
//! There is no cursor: Telegram confirms a delivery by its 2xx.

use super::config::{TelegramConfig, Webhook};
use super::http::{BotApi, Failure as Problem};
use super::source::{ended, Batch, ALLOWED_UPDATES};
use crate::reconnect::Ended;
use crate::source::{stopped, Health, Sink, SinkError};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a delivery was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Not a JSON update: Telegram never sends one, so nothing is stored.
    #[error("the delivery is not a Telegram update: {0}")]
    Unreadable(String),
    /// The store failed: the server answers so that Telegram delivers it again.
    #[error("could not store the update: {0}")]
    Sink(#[from] SinkError),
}

/// Stores one delivered update (the body of a webhook POST whose secret was admitted) and
/// says how many messages it held. Updates of other chats or kinds are taken and passed over.
pub async fn hear_delivery(
    config: &TelegramConfig,
    body: &[u8],
    sink: &dyn Sink,
    health: &Health,
) -> Result<usize, DeliveryError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| DeliveryError::Unreadable(e.to_string()))?;
    if raw.get("update_id").and_then(Value::as_i64).is_none() {
        return Err(DeliveryError::Unreadable("it has no update_id".into()));
    }
    let name = config.source_name();
    let mut batch = Batch::default();
    batch.take(config, &name, raw);
    Ok(batch.deliver(&name, sink, health, None).await?)
}

/// Sets the webhook, then watches Telegram's view of its deliveries until `stop` or a call
/// fails: why it ended, for the reconnect loop. `since` is set once the webhook is set.
pub(crate) async fn watch(
    api: &BotApi,
    hook: &Webhook,
    health: &Health,
    since: &mut Option<Instant>,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let set_at = chrono::Utc::now().timestamp();
    let url = hook.url.trim();
    let params = json!({
        "url": url,
        "secret_token": hook.secret.expose(),
        "max_connections": hook.max_connections,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": false,
    });
    match api.call("setWebhook", &params, Duration::ZERO).await {
        Ok(_) => {}
        Err(Problem::Refused { description, .. }) => {
            return Ended::Config(format!(
                "Telegram refused the webhook ({description}): check webhook_url (public \
                 HTTPS on port 443, 80, 88 or 8443) and webhook_secret"
            ))
        }
        Err(problem) => return ended(problem),
    }
    tracing::info!(bot = %api.config().bot(), %url, "telegram webhook set");
    since.get_or_insert_with(Instant::now);
    health.connected();
    let mut last_error = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(hook.check_every) => {}
            _ = stopped(stop) => return Ended::Stopped,
        }
        let info = match api.call("getWebhookInfo", &json!({}), Duration::ZERO).await {
            Ok(info) => info,
            Err(problem) => return ended(problem),
        };
        let now_set = info["url"].as_str().unwrap_or_default();
        if now_set != url {
            return Ended::dropped(format!(
                "the bot's webhook is now {now_set:?}, not earshot's webhook_url; setting it again"
            ));
        }
        let pending = info["pending_update_count"].as_u64().unwrap_or(0);
        // Telegram keeps its last error: it counts while it is new or updates still wait.
        match info["last_error_date"].as_i64().filter(|at| *at >= set_at) {
            Some(at) if pending > 0 || last_error != Some(at) => {
                last_error = Some(at);
                let said = info["last_error_message"]
                    .as_str()
                    .unwrap_or("no reason given");
                health.failed(
                    &format!(
                        "Telegram cannot deliver to the webhook ({said}; {pending} updates \
                         waiting): check that the proxy forwards {url} to earshot"
                    ),
                    None,
                );
            }
            _ => health.connected(),
        }
    }
}
