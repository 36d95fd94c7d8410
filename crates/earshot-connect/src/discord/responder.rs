//! Answering on Discord: Create Message in the customer's channel as a reply to their message
//! (`message_reference` with `fail_if_not_exists`, PROTOCOLS-2.md §2.6).
//!
//! Never a double: the text is checked against the 2000-character limit before any call; a
//! reply key already posted by this process answers with its message without posting; every
//! post carries a `nonce` derived from the key with `enforce_nonce`, so a retry of a call whose
//! answer was lost (in Discord's nonce window) gets the first message back instead of a second.
//! A 429 waits its `retry_after` (up to `max_reply_wait`) and tries again with the same nonce;
//! a longer wait hands the reply back as retryable.
//!
//! Message keys are bare snowflakes, which do not name their channel: the channel of the
//! answered message is found among the configured channels with `GET …/messages?around=`
//! (one call per channel, remembered).

use super::config::DiscordConfig;
use super::rest::{Problem, Rest};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use earshot_core::{Conversation, Network, Reply};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;

/// Discord's limit on a message's `content`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// 429s waited out for one reply before it is handed back.
const RATE_LIMIT_TRIES: u32 = 3;

/// Sends replies for one bot.
#[derive(Debug)]
pub struct DiscordResponder {
    rest: Rest,
    /// The longest `retry_after` waited here; longer ones go back to the outbox.
    max_reply_wait: Duration,
    /// Reply key → the message posted for it.
    posted: Mutex<HashMap<String, String>>,
    /// Message id → its channel.
    channels: Mutex<HashMap<String, String>>,
}

fn refused(reason: impl Into<String>) -> SendError {
    SendError::Refused {
        network: Network::Discord,
        reason: reason.into(),
    }
}

fn retryable(reason: impl Into<String>) -> SendError {
    SendError::Retryable {
        network: Network::Discord,
        reason: reason.into(),
    }
}

/// The `nonce` for a reply key: at most 25 characters, the same for every retry.
pub fn nonce(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("es{}", &hex[..23])
}

impl DiscordResponder {
    pub fn new(config: DiscordConfig) -> Result<Self, reqwest::Error> {
        Ok(DiscordResponder {
            rest: Rest::new(config)?,
            max_reply_wait: Duration::from_secs(10),
            posted: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
        })
    }

    pub fn with_max_reply_wait(mut self, wait: Duration) -> Self {
        self.max_reply_wait = wait;
        self
    }

    /// The configured channel that holds `message`.
    async fn channel_of(&self, message: &str) -> Result<String, SendError> {
        if let Some(channel) = self.channels.lock().await.get(message) {
            return Ok(channel.clone());
        }
        let config = self.rest.config();
        for channel in config.channels.iter().map(|c| c.trim()) {
            let page = match self
                .rest
                .get(&format!(
                    "/channels/{channel}/messages?around={message}&limit=1"
                ))
                .await
            {
                Ok(page) => page,
                Err(Problem::Unauthorized(reason)) => return Err(refused(reason)),
                Err(Problem::RateLimited { reason, .. }) => return Err(retryable(reason)),
                // A channel the bot cannot read (403) or that is gone (404): not this one.
                Err(Problem::Other(reason)) => {
                    tracing::debug!(%channel, %reason, "channel passed over looking for a message");
                    continue;
                }
            };
            let found = page
                .as_array()
                .is_some_and(|ms| ms.iter().any(|m| m["id"] == message));
            if found {
                self.channels
                    .lock()
                    .await
                    .insert(message.to_owned(), channel.to_owned());
                return Ok(channel.to_owned());
            }
        }
        Err(refused(format!(
            "message {message} is in none of the channels earshot hears ({}): it was deleted, or its channel is not listed in [[connectors.discord]] channels",
            config.channels.join(", ")
        )))
    }
}

/// Discord's `{"code","message","errors"}` in words.
fn described(status: StatusCode, body: &Value) -> String {
    let mut text = format!(
        "{status}: {} (code {})",
        body["message"].as_str().unwrap_or("no message"),
        body["code"]
    );
    if let Some(errors) = body.get("errors") {
        text.push_str(&format!(" {errors}"));
    }
    text
}

#[async_trait]
impl Responder for DiscordResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, _conversation: &Conversation) -> Result<String, SendError> {
        let text = reply.text.trim();
        let chars = text.chars().count();
        if text.is_empty() {
            return Err(refused("the reply is empty"));
        }
        if chars > MAX_MESSAGE_CHARS {
            return Err(refused(format!(
                "the reply is {chars} characters; Discord takes at most {MAX_MESSAGE_CHARS}: shorten it"
            )));
        }
        let key = reply.idempotency_key.clone();
        if let Some(id) = self.posted.lock().await.get(&key) {
            return Ok(id.clone());
        }
        let channel = self.channel_of(&reply.in_reply_to).await?;
        let body = json!({
            "content": text,
            "message_reference": {"message_id": reply.in_reply_to, "fail_if_not_exists": true},
            "allowed_mentions": {"parse": [], "replied_user": true},
            "nonce": nonce(&key),
            "enforce_nonce": true,
        });
        let path = format!("/channels/{channel}/messages");
        let mut limited = 0;
        loop {
            let (status, answer) = self
                .rest
                .raw(reqwest::Method::POST, &path, Some(&body))
                .await
                // The nonce makes the retry safe when the call did get through.
                .map_err(retryable)?;
            match status {
                s if s.is_success() => {
                    let Some(id) = answer["id"].as_str().filter(|id| !id.is_empty()) else {
                        return Err(retryable(
                            "discord answered without the message id (the same nonce makes a retry safe)",
                        ));
                    };
                    self.posted.lock().await.insert(key, id.to_owned());
                    return Ok(id.to_owned());
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = Duration::from_secs_f64(
                        answer["retry_after"].as_f64().unwrap_or(1.0).clamp(0.0, 3600.0),
                    );
                    limited += 1;
                    if wait > self.max_reply_wait || limited > RATE_LIMIT_TRIES {
                        return Err(retryable(format!(
                            "discord rate limited the channel for {:.1} s",
                            wait.as_secs_f64()
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                StatusCode::UNAUTHORIZED => {
                    return Err(refused(
                        "discord refused the bot token (401): reset it in the Developer Portal and put the new one in bot_token",
                    ))
                }
                StatusCode::FORBIDDEN => {
                    return Err(refused(format!(
                        "the bot may not post in channel {channel} ({}): give it Send Messages and Read Message History there",
                        described(status, &answer)
                    )))
                }
                s if s.is_server_error() => return Err(retryable(described(s, &answer))),
                s => return Err(refused(described(s, &answer))),
            }
        }
    }
}
