//! Answering on Telegram: `sendMessage` into the customer's chat as a reply to their message
//! (`reply_parameters.message_id`, PROTOCOLS-2.md §1.6). A reply to a message in a forum
//! topic lands in that topic, so no `message_thread_id` is needed.
//!
//! The Bot API takes no idempotency key and a bot can read neither chat history nor its own
//! messages, so a repeat cannot be found after the fact. Instead:
//! - the responder remembers each reply key it has posted with the message's key, and a
//!   repeated key answers with it without posting again;
//! - it retries only failures that prove nothing was posted (`ok:false` answers, a refused
//!   connection, a 429 — waited out here when short, else handed back as retryable);
//! - an answer that leaves it open (a timeout after sending, a cut or unreadable answer) is
//!   remembered as unknown and refused with what to check, never sent again by itself.
//!
//! With a journal ([`TelegramResponder::with_journal`], as the server runs it) the memory
//! survives restarts: a key is journalled as `sending` before the call, so a reply a crash
//! cut short is not guessed at but refused with the same "look in the chat" (see
//! [`crate::reply_journal`]).

use super::config::TelegramConfig;
use super::http::{BotApi, Failure as Problem};
use super::wire::{message_key, parse_key};
use crate::reply_journal::{Outcome, ReplyMemory};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use earshot_core::{Network, Reply, ReplyTarget};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio::sync::Mutex;

/// Telegram's limit on a message's text, in UTF-16 code units (what its "characters" are).
pub const MAX_MESSAGE_UNITS: usize = 4096;

/// How many reply keys are remembered.
const REMEMBER: usize = 10_000;

/// Why a key journalled as `sending` and never settled is not sent again.
const CUT_SHORT: &str = "earshot stopped while this reply was being sent to Telegram, so it may \
    have been posted. Look in the chat: if the reply is not there, send it again as a new reply";

/// Posts replies as the bot.
#[derive(Debug)]
pub struct TelegramResponder {
    api: BotApi,
    /// Held for a whole send, so a key is never in flight twice (and the bot's sends are
    /// spaced, which Telegram's per-chat limits like).
    memory: Mutex<ReplyMemory>,
}

impl TelegramResponder {
    pub fn new(config: TelegramConfig) -> Result<Self, reqwest::Error> {
        Ok(TelegramResponder {
            api: BotApi::new(config)?,
            memory: Mutex::new(ReplyMemory::new(Network::Telegram, REMEMBER)),
        })
    }

    /// Keeps the reply keys in a journal at `path` (created if missing), read back now.
    pub fn with_journal(self, path: &Path) -> std::io::Result<Self> {
        let memory = self.memory.into_inner().with_journal(path, CUT_SHORT)?;
        Ok(TelegramResponder {
            api: self.api,
            memory: Mutex::new(memory),
        })
    }
}

/// The chat and message answered: the reply's target, else the conversation's root.
fn chat_and_message(reply: &Reply, target: &ReplyTarget) -> Result<(i64, i64), SendError> {
    let key = [&reply.in_reply_to, &target.root_external_id]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    parse_key(key).ok_or_else(|| {
        refused(format!(
            "{key:?} is not a Telegram message key (<chat id>:<message id>)"
        ))
    })
}

/// Checks the text against Telegram's limit before anything is sent.
pub fn check_text(text: &str) -> Result<&str, SendError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(refused("the reply text is empty".into()));
    }
    let units = text.encode_utf16().count();
    if units > MAX_MESSAGE_UNITS {
        return Err(refused(format!(
            "the reply is {units} characters as Telegram counts them (emoji count twice); a \
             message holds at most {MAX_MESSAGE_UNITS}: shorten it or send it in two replies"
        )));
    }
    Ok(text)
}

fn retryable(reason: String) -> SendError {
    SendError::Retryable {
        network: Network::Telegram,
        reason,
    }
}

fn refused(reason: String) -> SendError {
    SendError::Refused {
        network: Network::Telegram,
        reason,
    }
}

/// A refusal of `sendMessage` in words that say what happened and what to do.
fn explain_refusal(code: i64, description: &str, migrate_to: Option<i64>) -> String {
    let lower = description.to_ascii_lowercase();
    if let Some(new_chat) = migrate_to {
        return format!(
            "the group became a supergroup (its new chat id is {new_chat}) and Telegram no \
             longer takes messages for the old one; answer in the group itself ({code}: {description})"
        );
    }
    if lower.contains("message to be replied not found") {
        return format!(
            "the customer's message is gone from the chat (deleted), so there is nothing to \
             reply to ({code}: {description})"
        );
    }
    if lower.contains("kicked") || lower.contains("not a member") || lower.contains("blocked") {
        return format!(
            "the bot can no longer write there ({code}: {description}): add it back to the chat \
             (or ask the customer to unblock it) and send again"
        );
    }
    format!("Telegram refused the reply ({code}: {description})")
}

#[async_trait]
impl Responder for TelegramResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let (chat, message) = chat_and_message(reply, target)?;
        let text = check_text(&reply.text)?;
        let key = reply.idempotency_key.trim();
        let mut memory = self.memory.lock().await;
        match memory.outcome(key) {
            Some(Outcome::Posted(sent)) => {
                tracing::info!(message = %sent, "reply already on telegram; not posting again");
                return Ok(sent.clone());
            }
            Some(Outcome::Unknown(reason)) => return Err(refused(reason.clone())),
            None => {}
        }
        let body = json!({
            "chat_id": chat,
            "text": text,
            "reply_parameters": {"message_id": message, "allow_sending_without_reply": false},
            "link_preview_options": {"is_disabled": true},
        });
        memory.sending(key).map_err(|e| {
            retryable(format!(
                "could not journal the reply before sending it ({e}); nothing was posted"
            ))
        })?;
        let mut waited = false;
        loop {
            let answer = self.api.call("sendMessage", &body, Duration::ZERO).await;
            let problem = match answer {
                Ok(result) => match result.get("message_id").and_then(|v| v.as_i64()) {
                    Some(id) => {
                        let sent = message_key(chat, id);
                        memory.sent(key, &sent);
                        return Ok(sent);
                    }
                    None => Problem::Unclear("sendMessage answered ok without a message".into()),
                },
                Err(problem) => problem,
            };
            let unknown = matches!(
                problem,
                Problem::Unclear(_)
                    | Problem::Network {
                        maybe_done: true,
                        ..
                    }
            );
            // A short 429 posted nothing: wait as told and try once more.
            let wait_again = match &problem {
                Problem::RateLimited { wait, .. }
                    if !waited && *wait <= self.api.config().max_reply_wait =>
                {
                    Some(*wait)
                }
                _ => None,
            };
            if let Some(wait) = wait_again {
                waited = true;
                tokio::time::sleep(wait).await;
                continue;
            }
            if !unknown {
                memory.not_sent(key);
            }
            return Err(match problem {
                Problem::RateLimited { wait, reason } => retryable(format!(
                    "{reason} (nothing was posted; retry in {} s)",
                    wait.as_secs()
                )),
                Problem::Server(reason) => retryable(reason),
                Problem::Network {
                    reason,
                    maybe_done: false,
                } => retryable(reason),
                Problem::Network { reason, .. } | Problem::Unclear(reason) => {
                    let reason = format!(
                        "Telegram may have posted this reply, but its answer was lost ({reason}). \
                         Look in the chat: if the reply is not there, send it again as a new reply"
                    );
                    tracing::warn!(error = %reason, "telegram reply outcome unknown");
                    memory.unknown(key, &reason);
                    refused(reason)
                }
                Problem::Unauthorized(reason) | Problem::Conflict(reason) => refused(reason),
                Problem::Refused {
                    code,
                    description,
                    migrate_to,
                } => refused(explain_refusal(code, &description, migrate_to)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_is_counted_as_telegram_counts_it() {
        assert!(check_text(&"a".repeat(4096)).is_ok());
        let e = check_text(&"a".repeat(4097)).unwrap_err();
        assert!(e.to_string().contains("at most 4096"), "{e}");
        // 2100 emoji are 2100 chars but 4200 UTF-16 units.
        let emoji = "🫖".repeat(2100);
        assert_eq!(emoji.chars().count(), 2100);
        assert!(check_text(&emoji).is_err());
        assert!(check_text("  ").is_err());
    }

    #[test]
    fn refusals_say_what_to_do() {
        let gone = explain_refusal(400, "Bad Request: message to be replied not found", None);
        assert!(gone.contains("deleted"), "{gone}");
        let kicked = explain_refusal(
            403,
            "Forbidden: bot was kicked from the supergroup chat",
            None,
        );
        assert!(kicked.contains("add it back"), "{kicked}");
        let moved = explain_refusal(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            Some(-1001),
        );
        assert!(moved.contains("-1001"), "{moved}");
    }
}
