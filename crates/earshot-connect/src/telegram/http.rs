//! The Bot API's HTTP dialect (PROTOCOLS-2.md §1.2, §1.8), shared by the source, the
//! responder and the credentials check: `POST {api_url}/bot<token>/<method>` with a JSON body,
//! answered by the `{"ok": …, "result" | "error_code", "description", "parameters"}` envelope.
//!
//! The token is in every URL, so no URL ever reaches an error or a log: reqwest's errors are
//! stripped of theirs and every message is scrubbed of the token besides.

use super::config::TelegramConfig;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Why a Bot API call failed, which decides what the caller does next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// 401 (revoked or reset token) or 404 (malformed token path): an operator must act.
    Unauthorized(String),
    /// 409: a webhook is set, or another program polls the same bot.
    Conflict(String),
    /// 429 with `parameters.retry_after`.
    RateLimited { wait: Duration, reason: String },
    /// An `ok:false` 4xx answer: Telegram refused this call (chat not found, message too
    /// long, the bot was kicked). `migrate_to` when a group became a supergroup.
    Refused {
        code: i64,
        description: String,
        migrate_to: Option<i64>,
    },
    /// An `ok:false` 5xx answer: Telegram says it did not do it; worth a retry.
    Server(String),
    /// No answer. `maybe_done`: the request may have reached Telegram (a timeout, a
    /// connection dropped after sending), so a `sendMessage` may have happened.
    Network { reason: String, maybe_done: bool },
    /// An answer that is not the envelope (cut short, an HTML error page from a front end):
    /// the call may or may not have been done.
    Unclear(String),
}

impl Failure {
    pub fn reason(&self) -> String {
        match self {
            Failure::Unauthorized(r)
            | Failure::Conflict(r)
            | Failure::RateLimited { reason: r, .. }
            | Failure::Server(r)
            | Failure::Network { reason: r, .. }
            | Failure::Unclear(r) => r.clone(),
            Failure::Refused {
                code, description, ..
            } => format!("Telegram refused it ({code}): {description}"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    ok: bool,
    result: Value,
    error_code: Option<i64>,
    #[serde(deserialize_with = "crate::de::null_default")]
    description: String,
    parameters: Option<Parameters>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Parameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

/// Calls Bot API methods for one bot.
#[derive(Debug)]
pub(crate) struct BotApi {
    client: reqwest::Client,
    config: TelegramConfig,
}

impl BotApi {
    pub fn new(config: TelegramConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(BotApi { client, config })
    }

    pub fn config(&self) -> &TelegramConfig {
        &self.config
    }

    /// `method` with `params`, given `extra` time beyond the request timeout (a long poll's
    /// `timeout`): its `result`, or why not.
    pub async fn call(
        &self,
        method: &str,
        params: &Value,
        extra: Duration,
    ) -> Result<Value, Failure> {
        let sent = self
            .client
            .post(self.config.method_url(method))
            .timeout(self.config.request_timeout + extra)
            .json(params)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                // Only a refused connection proves nothing was sent.
                let maybe_done = !e.is_connect();
                return Err(Failure::Network {
                    reason: self.scrub(&format!(
                        "{method}: Telegram could not be reached: {}",
                        e.without_url()
                    )),
                    maybe_done,
                });
            }
        };
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| {
            Failure::Unclear(self.scrub(&format!(
                "{method}: the answer was cut off: {}",
                e.without_url()
            )))
        })?;
        let envelope: Envelope = serde_json::from_str(&body).map_err(|_| {
            Failure::Unclear(self.scrub(&format!(
                "{method}: HTTP {status} with an answer that is not the Bot API's: {}",
                crate::de::shorten(body.trim())
            )))
        })?;
        if envelope.ok {
            return Ok(envelope.result);
        }
        let code = envelope.error_code.unwrap_or(i64::from(status));
        let description = self.scrub(&envelope.description);
        let parameters = envelope.parameters.unwrap_or_default();
        Err(match code {
            401 | 404 => Failure::Unauthorized(format!(
                "Telegram refused the bot token ({code} {description}): it was revoked, reset or \
                 mistyped; copy the bot's current token from @BotFather (/token) into bot_token"
            )),
            409 => Failure::Conflict(conflict(&description)),
            429 => {
                let wait = Duration::from_secs(parameters.retry_after.unwrap_or(5));
                Failure::RateLimited {
                    wait,
                    reason: format!(
                        "{method}: Telegram limits the bot ({description}); waiting {} s",
                        wait.as_secs()
                    ),
                }
            }
            500.. => Failure::Server(format!("{method}: Telegram failed ({code} {description})")),
            _ => Failure::Refused {
                code,
                description,
                migrate_to: parameters.migrate_to_chat_id,
            },
        })
    }

    /// `text` with the token (and its secret half alone) replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        let token = self.config.token.expose().trim();
        let mut out = text.to_owned();
        if !token.is_empty() {
            out = out.replace(token, "***");
            if let Some((_, secret)) = token.split_once(':') {
                if secret.len() >= 8 {
                    out = out.replace(secret, "***");
                }
            }
        }
        out
    }
}

/// A 409 in words that say what to do: a webhook is set, or two programs poll one bot.
fn conflict(description: &str) -> String {
    if description.to_ascii_lowercase().contains("webhook") {
        format!(
            "a webhook is set for this bot, so Telegram refuses long polling ({description}). \
             If no other system uses it, remove it (the Bot API's deleteWebhook) and earshot \
             picks up where it left off; earshot does not remove it itself, it may be another \
             integration's"
        )
    } else {
        format!(
            "another program polls this bot's updates ({description}): only one may. Stop the \
             other earshot (or script) using this bot token, or give each its own bot"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_say_what_to_do() {
        let webhook = conflict("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
        assert!(
            webhook.contains("webhook is set") && webhook.contains("deleteWebhook"),
            "{webhook}"
        );
        let twice = conflict("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
        assert!(twice.contains("only one may"), "{twice}");
    }
}
