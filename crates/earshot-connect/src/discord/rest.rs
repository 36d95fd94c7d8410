//! Discord's REST dialect (PROTOCOLS-2.md §2.2, §2.5, §2.7) as the source, the responder and
//! the credentials check use it: `GET /gateway/bot`, `/users/@me`, `/channels/{id}` and the
//! gap fill `GET /channels/{id}/messages?after=`.
//!
//! Every request carries `Authorization: Bot <token>` and the required
//! `User-Agent: DiscordBot (url, version)`. A 429 waits its `retry_after` (float seconds) and
//! tries again, a few times; a 401 is final. No error holds the token.
//!
//! Per-route buckets (§2.7): each answer's `X-RateLimit-Bucket` names the bucket of its route,
//! and a bucket's budget is per top-level resource (the channel, the guild). When an answer
//! says a bucket has nothing left for a resource, the next request of that route and
//! resource waits for `X-RateLimit-Reset-After` instead of running into a 429; other channels
//! go on at once.
//!
//! The global limit (§2.7): at most 50 requests a second per bot, across every route, so a
//! 51st request in a second waits for the oldest to leave it; and a global 429
//! (`X-RateLimit-Global: true` or `"global": true`) holds every request of the bot, whatever
//! its route or channel, for its `retry_after`. The limits are the bot's, not one client's:
//! every `Rest` of one bot (the gateway's gap fill, the responder, the check) shares one set
//! of buckets ([`Rest::new`]).

use super::config::DiscordConfig;
use super::wire::Message;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// A bucket wait longer than this is not waited out before sending: the call goes and its
/// 429 says what to do.
const MAX_BUCKET_WAIT: Duration = Duration::from_secs(60);

/// Discord's global limit: requests a second per bot, all routes together.
const GLOBAL_PER_SECOND: usize = 50;
const SECOND: Duration = Duration::from_secs(1);

/// The `retry_after` of a 429 body (float seconds; 1 s when missing, at most an hour).
pub(crate) fn retry_after(body: &Value) -> Duration {
    Duration::from_secs_f64(
        body["retry_after"]
            .as_f64()
            .unwrap_or(1.0)
            .clamp(0.0, 3600.0),
    )
}

/// What Discord said about its per-route buckets (§2.7).
#[derive(Debug, Default)]
struct Buckets {
    /// `"METHOD /route/{id}"` → the bucket Discord named for it.
    routes: HashMap<String, String>,
    /// (bucket, top-level resource) → when it has requests again, while it has none left.
    empty_until: HashMap<(String, String), Instant>,
    /// When the bot may send again after a global 429.
    global_until: Option<Instant>,
    /// When the requests of the last second went, oldest first.
    sent: VecDeque<Instant>,
}

/// A request's route (ids replaced, query dropped) and its top-level resource (the id after
/// `channels`, `guilds` or `webhooks`): Discord keys its limits by both.
fn route(method: &reqwest::Method, path: &str) -> (String, String) {
    let path = path.split('?').next().unwrap_or_default();
    let mut major = String::new();
    let mut previous = "";
    let mut parts = Vec::new();
    for part in path.split('/') {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            if major.is_empty() && matches!(previous, "channels" | "guilds" | "webhooks") {
                major = part.to_owned();
            }
            parts.push("{id}");
        } else {
            parts.push(part);
        }
        previous = part;
    }
    (format!("{method} {}", parts.join("/")), major)
}

impl Buckets {
    /// How long a request of `route` on `major` must wait for its bucket.
    fn wait(&self, route: &str, major: &str) -> Option<Duration> {
        let bucket = self.routes.get(route)?;
        let until = self.empty_until.get(&(bucket.clone(), major.to_owned()))?;
        until.checked_duration_since(Instant::now())
    }

    /// How long any request must wait at `now` for the bot's global limit: a global 429's
    /// hold, or the oldest of the last second's 50 requests leaving the second.
    fn global_wait(&mut self, now: Instant) -> Option<Duration> {
        while self
            .sent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= SECOND)
        {
            self.sent.pop_front();
        }
        let held = self
            .global_until
            .and_then(|until| until.checked_duration_since(now));
        let paced = (self.sent.len() >= GLOBAL_PER_SECOND)
            .then(|| self.sent.front())
            .flatten()
            .and_then(|oldest| (*oldest + SECOND).checked_duration_since(now));
        held.max(paced).filter(|w| !w.is_zero())
    }

    /// Counts a request sent at `now` against the global limit.
    fn sending(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// A 429 that says it is the bot's global limit holds every request for `retry_after`.
    fn hold_globally(&mut self, retry_after: Duration, now: Instant) {
        let until = now + retry_after.min(MAX_BUCKET_WAIT);
        self.global_until = Some(self.global_until.map_or(until, |u| u.max(until)));
    }

    /// Learns from an answer's `X-RateLimit-*` headers.
    fn learn(&mut self, route: String, major: &str, headers: &reqwest::header::HeaderMap) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(bucket) = header("x-ratelimit-bucket") else {
            return;
        };
        let key = (bucket.to_owned(), major.to_owned());
        let remaining = header("x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
        let reset_after = header("x-ratelimit-reset-after")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0);
        match (remaining, reset_after) {
            (Some(0), Some(after)) => {
                let after = Duration::from_secs_f64(after.min(3600.0));
                self.empty_until.insert(key, Instant::now() + after);
            }
            _ => {
                self.empty_until.remove(&key);
            }
        }
        self.routes.insert(route, bucket.to_owned());
    }
}

/// REST calls for one bot.
#[derive(Debug)]
pub(crate) struct Rest {
    client: reqwest::Client,
    config: DiscordConfig,
    /// Shared by every `Rest` of this bot (see [`bot_buckets`]).
    buckets: Arc<Mutex<Buckets>>,
}

/// The buckets of the bot behind `config`: one per bot token and API, so the source and the
/// responder of one bot, which run side by side, never send more than the bot's 50 a second
/// together, and a global 429 one of them meets holds the other too. Keyed by a digest, so
/// the map holds no token.
fn bot_buckets(config: &DiscordConfig) -> Arc<Mutex<Buckets>> {
    /// A digest of (API, token) → that bot's buckets.
    type Bots = HashMap<[u8; 32], Arc<Mutex<Buckets>>>;
    static BOTS: OnceLock<Mutex<Bots>> = OnceLock::new();
    let key: [u8; 32] = Sha256::new()
        .chain_update(config.api_url.trim_end_matches('/').as_bytes())
        .chain_update([0u8])
        .chain_update(config.token.expose().trim().as_bytes())
        .finalize()
        .into();
    let bots = BOTS.get_or_init(Default::default);
    let mut bots = bots.lock().unwrap_or_else(|p| p.into_inner());
    bots.entry(key).or_default().clone()
}

impl Rest {
    pub fn new(config: DiscordConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.request_timeout)
            .build()?;
        Ok(Rest {
            client,
            buckets: bot_buckets(&config),
            config,
        })
    }

    pub fn config(&self) -> &DiscordConfig {
        &self.config
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, Buckets> {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request as it went: the status and the JSON body (`Null` when not JSON), or why
    /// no answer came. Waits first when the route's bucket is empty for this resource.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), String> {
        let (route, major) = route(&method, path);
        let wait = self.buckets().wait(&route, &major);
        if let Some(wait) = wait.filter(|w| *w <= MAX_BUCKET_WAIT) {
            tracing::debug!(%route, wait_ms = wait.as_millis() as u64, "discord bucket empty; waiting for it");
            tokio::time::sleep(wait).await;
        }
        loop {
            let wait = {
                let mut buckets = self.buckets();
                let now = Instant::now();
                let wait = buckets.global_wait(now);
                if wait.is_none() {
                    buckets.sending(now);
                }
                wait
            };
            let Some(wait) = wait else { break };
            tracing::debug!(%route, wait_ms = wait.as_millis() as u64, "discord global limit; waiting");
            tokio::time::sleep(wait).await;
        }
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
        let global_header = sent
            .headers()
            .get("x-ratelimit-global")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        self.buckets().learn(route, &major, sent.headers());
        let body = sent.json().await.unwrap_or(Value::Null);
        if status == StatusCode::TOO_MANY_REQUESTS && (global_header || body["global"] == true) {
            let wait = retry_after(&body);
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                "discord global rate limit; every request waits"
            );
            self.buckets().hold_globally(wait, Instant::now());
        }
        Ok((status, body))
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
                    let wait = retry_after(&body);
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

    /// The bot's own user (`GET /users/@me`).
    pub async fn me(&self) -> Result<Value, Problem> {
        self.get("/users/@me").await
    }

    /// A channel's parent (`GET /channels/{id}`): `Some(parent)` for a thread or forum post,
    /// `None` for a channel of its own.
    pub async fn parent_of(&self, channel: &str) -> Result<Option<String>, Problem> {
        let body = self.get(&format!("/channels/{channel}")).await?;
        let thread = matches!(body["type"].as_u64(), Some(10..=12));
        Ok(body["parent_id"]
            .as_str()
            .filter(|p| thread && !p.is_empty())
            .map(str::to_owned))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_keyed_without_ids_and_by_their_top_level_resource() {
        let (post, major) = route(
            &reqwest::Method::POST,
            "/channels/1201111111111111111/messages",
        );
        assert_eq!(post, "POST /channels/{id}/messages");
        assert_eq!(major, "1201111111111111111");
        let (get, major) = route(
            &reqwest::Method::GET,
            "/channels/12/messages?around=5&limit=1",
        );
        assert_eq!(
            (get.as_str(), major.as_str()),
            ("GET /channels/{id}/messages", "12")
        );
        assert_eq!(route(&reqwest::Method::GET, "/users/@me").1, "");
    }

    #[test]
    fn an_empty_bucket_holds_its_resource_only_until_its_reset() {
        let mut buckets = Buckets::default();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-bucket", "abcd".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset-after", "2.5".parse().unwrap());
        let post = "POST /channels/{id}/messages";
        buckets.learn(post.into(), "12", &headers);
        let wait = buckets.wait(post, "12").unwrap();
        assert!(wait > Duration::from_secs(2) && wait <= Duration::from_millis(2500));
        assert_eq!(
            buckets.wait(post, "13"),
            None,
            "another channel has its own budget"
        );
        assert_eq!(buckets.wait("GET /users/@me", "12"), None);
        headers.insert("x-ratelimit-remaining", "4".parse().unwrap());
        buckets.learn(post.into(), "12", &headers);
        assert_eq!(buckets.wait(post, "12"), None, "refilled");
        assert_eq!(
            retry_after(&serde_json::json!({"retry_after": 64.57})),
            Duration::from_secs_f64(64.57)
        );
        assert_eq!(retry_after(&Value::Null), Duration::from_secs(1));
    }

    #[test]
    fn the_global_limit_paces_fifty_a_second_and_a_global_429_holds_every_route() {
        let mut buckets = Buckets::default();
        let t0 = Instant::now();
        for i in 0..50 {
            let at = t0 + Duration::from_millis(i * 10);
            assert_eq!(buckets.global_wait(at), None, "request {i}");
            buckets.sending(at);
        }
        // The 51st inside the second waits for the first to leave it.
        let at = t0 + Duration::from_millis(600);
        assert_eq!(buckets.global_wait(at), Some(Duration::from_millis(400)));
        assert_eq!(buckets.global_wait(t0 + SECOND), None);

        let mut buckets = Buckets::default();
        buckets.hold_globally(Duration::from_secs_f64(2.5), t0);
        assert_eq!(
            buckets.global_wait(t0 + SECOND),
            Some(Duration::from_millis(1500))
        );
        // A shorter later hold does not cut the longer one short.
        buckets.hold_globally(Duration::from_millis(100), t0 + SECOND);
        assert_eq!(
            buckets.global_wait(t0 + Duration::from_secs(2)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(buckets.global_wait(t0 + Duration::from_secs(3)), None);
    }

    #[test]
    fn every_client_of_one_bot_shares_its_limits_and_another_bot_does_not() {
        let config = |token: &str| {
            let mut c = DiscordConfig::new(crate::Secret::new(token), "1");
            c.api_url = "http://127.0.0.1:9/shared-buckets-test".into();
            c
        };
        let source = Rest::new(config("bot.one")).unwrap();
        let responder = Rest::new(config("bot.one")).unwrap();
        let other_bot = Rest::new(config("bot.two")).unwrap();
        let now = Instant::now();
        responder
            .buckets()
            .hold_globally(Duration::from_secs(2), now);
        assert!(
            source.buckets().global_wait(now).is_some(),
            "the source waits out the responder's global 429"
        );
        assert_eq!(other_bot.buckets().global_wait(now), None);
    }

    #[tokio::test]
    async fn after_a_global_429_a_request_on_another_route_and_channel_waits_it_out() {
        let fake = crate::discord::fake::FakeDiscord::start("tok.en", "1397012345678901234", "1")
            .await
            .unwrap();
        let mut config = DiscordConfig::new(crate::Secret::new("tok.en"), "1");
        config.api_url = fake.api_url();
        let rest = Rest::new(config).unwrap();
        fake.rate_limit_globally(1, 0.4);
        let (status, body) = rest
            .raw(reqwest::Method::GET, "/users/@me", None)
            .await
            .unwrap();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body["global"], true);
        let started = Instant::now();
        let (status, _) = rest
            .raw(reqwest::Method::GET, "/channels/1200000000000000000", None)
            .await
            .unwrap();
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            started.elapsed() >= Duration::from_millis(350),
            "held for the global retry_after: {:?}",
            started.elapsed()
        );
    }
}
