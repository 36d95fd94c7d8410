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
//! With a journal ([`DiscordResponder::with_journal`], as the server runs it) the posted keys
//! survive a restart, past the nonce's minutes: a key journalled as `sending` and never
//! settled (a crash mid-send) is refused with "look in the channel" rather than guessed at.
//!
//! Message keys are bare snowflakes, which do not name their channel, so the channel comes
//! from the conversation: first the thread opened on its first message (a thread's id is its
//! starter message's, and a forum post's its first message's), then the configured channels,
//! or every text channel of the guild when none are configured — each asked with
//! `GET …/messages?around=` (one call per channel, remembered).

use super::config::DiscordConfig;
use super::rest::{retry_after, Problem, Rest};
use crate::reply_journal::{Outcome, ReplyMemory};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use earshot_core::{Network, Reply, ReplyTarget};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::Mutex;

/// Discord's limit on a message's `content`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// 429s waited out for one reply before it is handed back.
const RATE_LIMIT_TRIES: u32 = 3;

/// How many reply keys are remembered.
const REMEMBER: usize = 10_000;

/// Why a key journalled as `sending` and never settled is not sent again.
const CUT_SHORT: &str = "earshot stopped while this reply was being sent to Discord, so it may \
    have been posted. Look in the channel: if the reply is not there, send it again as a new reply";

/// Discord's text and announcement channels: the kinds a customer's message can be in
/// (threads aside).
const TEXT_CHANNEL_TYPES: [u64; 2] = [0, 5];

/// Sends replies for one bot.
#[derive(Debug)]
pub struct DiscordResponder {
    rest: Rest,
    /// The longest `retry_after` waited here; longer ones go back to the outbox.
    max_reply_wait: Duration,
    /// Reply key → what became of it. Held for a whole send, so a key is never in flight twice.
    memory: Mutex<ReplyMemory>,
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
            memory: Mutex::new(ReplyMemory::new(Network::Discord, REMEMBER)),
            channels: Mutex::new(HashMap::new()),
        })
    }

    /// Keeps the reply keys in a journal at `path` (created if missing), read back now.
    pub fn with_journal(self, path: &Path) -> std::io::Result<Self> {
        let memory = self.memory.into_inner().with_journal(path, CUT_SHORT)?;
        Ok(DiscordResponder {
            memory: Mutex::new(memory),
            ..self
        })
    }

    pub fn with_max_reply_wait(mut self, wait: Duration) -> Self {
        self.max_reply_wait = wait;
        self
    }

    /// The channels `message` may be in, most likely first: the thread opened on the
    /// conversation's first message, then the configured channels or, with none configured,
    /// the guild's text channels.
    async fn candidates(&self, target: &ReplyTarget) -> Result<Vec<String>, SendError> {
        let config = self.rest.config();
        let root = target.root_external_id.trim();
        let mut candidates: Vec<String> = vec![root.to_owned()];
        let listed: Vec<String> = config
            .channels
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        if listed.is_empty() {
            let guild = config.guild_id.trim();
            let all = self
                .rest
                .get(&format!("/guilds/{guild}/channels"))
                .await
                .map_err(|problem| match problem {
                    Problem::Unauthorized(reason) => refused(reason),
                    Problem::RateLimited { reason, .. } => retryable(reason),
                    Problem::Other(reason) => retryable(format!(
                        "could not list the server's channels to find the message ({reason})"
                    )),
                })?;
            candidates.extend(
                all.as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        c["type"]
                            .as_u64()
                            .is_some_and(|t| TEXT_CHANNEL_TYPES.contains(&t))
                    })
                    .filter_map(|c| c["id"].as_str().map(str::to_owned)),
            );
        } else {
            candidates.extend(listed);
        }
        let mut seen = std::collections::HashSet::new();
        candidates.retain(|c| {
            !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && seen.insert(c.clone())
        });
        Ok(candidates)
    }

    /// The channel (or thread) that holds `message`, found from the conversation.
    async fn channel_of(&self, message: &str, target: &ReplyTarget) -> Result<String, SendError> {
        if let Some(channel) = self.channels.lock().await.get(message) {
            return Ok(channel.clone());
        }
        let candidates = self.candidates(target).await?;
        for channel in &candidates {
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
                // Not a thread (404), or a channel the bot cannot read (403): not this one.
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
                    .insert(message.to_owned(), channel.clone());
                return Ok(channel.clone());
            }
        }
        Err(refused(format!(
            "message {message} is in none of the channels earshot can read ({}): it was deleted, \
             or the bot lacks View Channel and Read Message History there",
            candidates.join(", ")
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
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
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
        let key = reply.idempotency_key.trim();
        let mut memory = self.memory.lock().await;
        match memory.outcome(key) {
            Some(Outcome::Posted(id)) => {
                tracing::info!(message = %id, "reply already on discord; not posting again");
                return Ok(id.clone());
            }
            Some(Outcome::Unknown(reason)) => return Err(refused(reason.clone())),
            None => {}
        }
        let channel = self.channel_of(&reply.in_reply_to, target).await?;
        memory.sending(key).map_err(|e| {
            retryable(format!(
                "could not journal the reply before sending it ({e}); nothing was posted"
            ))
        })?;
        let body = json!({
            "content": text,
            "message_reference": {"message_id": reply.in_reply_to, "fail_if_not_exists": true},
            "allowed_mentions": {"parse": [], "replied_user": true},
            "nonce": nonce(key),
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
                    memory.sent(key, id);
                    return Ok(id.to_owned());
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after(&answer);
                    limited += 1;
                    if wait > self.max_reply_wait || limited > RATE_LIMIT_TRIES {
                        memory.not_sent(key);
                        return Err(retryable(format!(
                            "discord rate limited the channel for {:.1} s",
                            wait.as_secs_f64()
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                StatusCode::UNAUTHORIZED => {
                    memory.not_sent(key);
                    return Err(refused(
                        "discord refused the bot token (401): reset it in the Developer Portal and put the new one in bot_token",
                    ));
                }
                StatusCode::FORBIDDEN => {
                    memory.not_sent(key);
                    return Err(refused(format!(
                        "the bot may not post in channel {channel} ({}): give it Send Messages and Read Message History there",
                        described(status, &answer)
                    )));
                }
                s if s.is_server_error() => return Err(retryable(described(s, &answer))),
                s => {
                    memory.not_sent(key);
                    return Err(refused(described(s, &answer)));
                }
            }
        }
    }
}
