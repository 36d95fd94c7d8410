//! Discord's REST dialect (PROTOCOLS-2.md §2.2, §2.5, §2.7) as the source uses it:
//! `GET /gateway/bot` and the gap fill `GET /channels/{id}/messages?after=`.
//!
//! Every request carries `Authorization: Bot <token>` and the required
//! `User-Agent: DiscordBot (url, version)`. A 429 waits its `retry_after` (float seconds) and
//! tries again, a few times; a 401 is final. No error holds the token.

use super::config::DiscordConfig;
use super::wire::Message;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

pub(crate) const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/earshot/earshot, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// 429s waited out in a row before the call is given up as rate limited.
const RATE_LIMIT_TRIES: u32 = 5;

/// Why a REST call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Problem {
    /// 401: the token is wrong or was reset.
    Unauthorized(String),
    /// 429 more often than [`RATE_LIMIT_TRIES`] in a row; `wait` is the last `retry_after`.
    RateLimited { wait: Duration, reason: String },
    /// Any other refusal or failure; worth a later retry.
    Other(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GatewayBot {
    pub url: String,
    pub session_start_limit: StartLimit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StartLimit {
    pub remaining: Option<u64>,
    /// Milliseconds until `remaining` is full again.
    pub reset_after: Option<u64>,
}

/// REST calls for one bot.
#[derive(Debug)]
pub(crate) struct Rest {
    client: reqwest::Client,
    config: DiscordConfig,
}

impl Rest {
    pub fn new(config: DiscordConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.request_timeout)
            .build()?;
        Ok(Rest { client, config })
    }

    pub fn config(&self) -> &DiscordConfig {
        &self.config
    }

    /// One request as it went: the status and the JSON body (`Null` when not JSON), or why
    /// no answer came.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = self.client.request(method, self.config.url(path)).header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", self.config.token.expose().trim()),
        );
        if let Some(body) = body {
            request = request.json(body);
        }
        // Without the URL: it holds no token, but a proxy's might.
        let sent = request
            .send()
            .await
            .map_err(|e| format!("discord unreachable: {}", e.without_url()))?;
        let status = sent.status();
        Ok((status, sent.json().await.unwrap_or(Value::Null)))
    }

    /// One GET, 429s waited out (`retry_after` exactly, as Discord asks).
    pub async fn get(&self, path: &str) -> Result<Value, Problem> {
        let mut tries = 0;
        loop {
            let (status, body) = self
                .raw(reqwest::Method::GET, path, None)
                .await
                .map_err(Problem::Other)?;
            let message = body["message"].as_str().unwrap_or("").to_owned();
            match status {
                s if s.is_success() => return Ok(body),
                StatusCode::UNAUTHORIZED => {
                    return Err(Problem::Unauthorized(
                        "discord refused the bot token (401): reset it in the Developer Portal and put the new one in bot_token".into(),
                    ))
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = Duration::from_secs_f64(
                        body["retry_after"].as_f64().unwrap_or(1.0).clamp(0.0, 3600.0),
                    );
                    tries += 1;
                    let reason = format!("discord rate limited {path} ({message})");
                    if tries >= RATE_LIMIT_TRIES || wait > Duration::from_secs(60) {
                        return Err(Problem::RateLimited { wait, reason });
                    }
                    tracing::debug!(%path, wait_ms = wait.as_millis() as u64, "discord 429; waiting");
                    tokio::time::sleep(wait).await;
                }
                s => {
                    return Err(Problem::Other(format!(
                        "discord answered {path} with {s}: {message} (code {})",
                        body["code"]
                    )))
                }
            }
        }
    }

    pub async fn gateway_bot(&self) -> Result<GatewayBot, Problem> {
        let body = self.get("/gateway/bot").await?;
        serde_json::from_value(body)
            .map_err(|e| Problem::Other(format!("unreadable /gateway/bot answer: {e}")))
    }

    /// Every message of `channel` after `after`, oldest first: pages of 100 walked forward
    /// until one is short (§2.5).
    pub async fn messages_after(
        &self,
        channel: &str,
        after: &str,
    ) -> Result<Vec<Message>, Problem> {
        let mut all: Vec<Message> = Vec::new();
        let mut after = after.to_owned();
        loop {
            let body = self
                .get(&format!(
                    "/channels/{channel}/messages?after={after}&limit=100"
                ))
                .await?;
            let mut page: Vec<Message> = serde_json::from_value(body).map_err(|e| {
                Problem::Other(format!("unreadable messages of channel {channel}: {e}"))
            })?;
            let full = page.len() >= 100;
            page.sort_by_key(|m| snowflake(&m.id));
            let Some(last) = page.last().map(|m| m.id.clone()) else {
                return Ok(all);
            };
            all.extend(page);
            if !full {
                return Ok(all);
            }
            after = last;
        }
    }
}

/// A snowflake's number (0 when it is not one), for ordering ids.
pub(crate) fn snowflake(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}
