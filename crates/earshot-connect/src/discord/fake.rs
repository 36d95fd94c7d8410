//! A fake Discord (PROTOCOLS-2.md §2.9) for tests here and in other crates (feature `fake`):
//! a REST API (axum) under [`FakeDiscord::api_url`] and a gateway v10 (tokio-tungstenite) on
//! two ports: the one `/gateway/bot` names, and the `resume_gateway_url` READY names, so a
//! test proves a resume goes there.
//!
//! REST: `GET /gateway/bot` (with `session_start_limit`), `GET /channels/{id}/messages`
//! (`after`/`before`/`limit`, newest first), `POST /channels/{id}/messages` (2000-char check
//! as a nested `50035`, `message_reference` checked with `fail_if_not_exists`,
//! `nonce` + `enforce_nonce` answering the first message again, dispatches
//! `MESSAGE_CREATE`), `GET /users/@me`, `GET /channels/{id}` (threads name their parent),
//! `GET /guilds/{id}/channels`, 401 without `Authorization: Bot <token>`, scripted 429s with
//! `retry_after` and bucket headers (or the bot's global 429), and an optional per-channel budget of posts whose
//! bucket headers say when it is spent (a post past it gets a 429).
//!
//! Gateway: HELLO with a configurable interval, ACKs (or none, to make a zombie), IDENTIFY
//! checked (token → 4004, `MESSAGE_CONTENT` without the portal switch → 4014), READY,
//! sequence numbers, RESUME replaying what the session missed then RESUMED, `op 9 false` for
//! an expired session, `op 7`, close codes and abrupt drops on demand, a duplicate dispatch.

use crate::fake_server::lock;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Frame;

const MESSAGE_CONTENT: u64 = 1 << 15;

/// A running fake; its servers stop when this is dropped.
#[derive(Debug)]
pub struct FakeDiscord {
    rest: SocketAddr,
    gateway: SocketAddr,
    state: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

type Shared = Arc<Mutex<FakeState>>;

/// What the live connection is told to do.
#[derive(Debug)]
enum Command {
    Send(String),
    /// The TCP goes away without a close frame.
    Drop,
    Close(u16),
}

#[derive(Debug)]
struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session, for RESUME's replay.
    log: Vec<(u64, String)>,
}

#[derive(Debug)]
struct FakeState {
    token: String,
    bot_id: String,
    guild_id: String,
    gateway_url: String,
    resume_url: String,
    heartbeat_ms: u64,
    ack: bool,
    message_content_allowed: bool,
    next_id: u64,
    next_session: u64,
    channels: HashMap<String, Vec<Value>>,
    session: Option<Session>,
    live: Option<(u64, mpsc::UnboundedSender<Command>)>,
    next_connection: u64,
    identifies: u32,
    /// One entry per accepted RESUME: whether it came on the resume port.
    resumes: Vec<bool>,
    start_remaining: u64,
    heartbeats: u32,
    rate_limited: u32,
    retry_after: f64,
    /// The scripted 429s are the bot's global limit (§2.7), not a route's.
    global_limit: bool,
    message_gets: Vec<String>,
    user_agents: Vec<String>,
    nonces: HashMap<String, Value>,
    /// Thread id → its parent channel.
    threads: HashMap<String, String>,
    /// Posts allowed per channel per window (seconds), when limited.
    post_limit: Option<(u32, f64)>,
    /// Channel → (posts left, when the window ends).
    post_budget: HashMap<String, (u32, std::time::Instant)>,
    served_429: u32,
}

impl FakeState {
    fn mint(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// A dispatch to the session (logged for RESUME) and to its live connection, if any.
    fn dispatch(&mut self, t: &str, d: Value) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.seq += 1;
        let frame = json!({"op": 0, "s": session.seq, "t": t, "d": d}).to_string();
        session.log.push((session.seq, frame.clone()));
        if let Some((_, live)) = &self.live {
            let _ = live.send(Command::Send(frame));
        }
    }

    fn message(
        &mut self,
        channel: &str,
        author: Value,
        text: &str,
        reply_to: Option<&str>,
    ) -> Value {
        let id = self.mint();
        let mut m = json!({
            "id": id, "channel_id": channel, "guild_id": self.guild_id, "type": if reply_to.is_some() { 19 } else { 0 },
            "author": author, "content": text, "timestamp": chrono::Utc::now().to_rfc3339(),
            "edited_timestamp": null, "mentions": [], "attachments": [], "embeds": [], "tts": false,
        });
        if let Some(parent) = reply_to {
            m["message_reference"] = json!({"type": 0, "message_id": parent, "channel_id": channel, "guild_id": self.guild_id});
        }
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .push(m.clone());
        self.dispatch("MESSAGE_CREATE", m.clone());
        m
    }

    fn send(&self, command: Command) {
        if let Some((_, live)) = &self.live {
            let _ = live.send(command);
        }
    }
}

impl FakeDiscord {
    /// A fake for the bot `token` (user `bot_id`) in guild `guild_id`.
    pub async fn start(token: &str, bot_id: &str, guild_id: &str) -> std::io::Result<Self> {
        let rest = TcpListener::bind("127.0.0.1:0").await?;
        let gateway = TcpListener::bind("127.0.0.1:0").await?;
        let resume = TcpListener::bind("127.0.0.1:0").await?;
        let (rest_addr, gateway_addr) = (rest.local_addr()?, gateway.local_addr()?);
        let now_ms = chrono::Utc::now().timestamp_millis().max(1_420_070_400_000) as u64;
        let state: Shared = Arc::new(Mutex::new(FakeState {
            token: token.into(),
            bot_id: bot_id.into(),
            guild_id: guild_id.into(),
            gateway_url: format!("ws://{gateway_addr}"),
            resume_url: format!("ws://{}", resume.local_addr()?),
            heartbeat_ms: 200,
            ack: true,
            message_content_allowed: true,
            next_id: (now_ms - 1_420_070_400_000) << 22,
            next_session: 0,
            channels: HashMap::new(),
            session: None,
            live: None,
            next_connection: 0,
            identifies: 0,
            resumes: Vec::new(),
            start_remaining: 1000,
            heartbeats: 0,
            rate_limited: 0,
            retry_after: 0.05,
            global_limit: false,
            message_gets: Vec::new(),
            user_agents: Vec::new(),
            nonces: HashMap::new(),
            threads: HashMap::new(),
            post_limit: None,
            post_budget: HashMap::new(),
            served_429: 0,
        }));
        let app = Router::new()
            .route("/api/v10/gateway/bot", get(gateway_bot))
            .route("/api/v10/channels/{id}/messages", get(list).post(create))
            .route("/api/v10/channels/{id}", get(channel_info))
            .route("/api/v10/users/@me", get(me))
            .route("/api/v10/guilds/{id}/channels", get(guild_channels))
            .with_state(state.clone());
        let mut tasks = vec![tokio::spawn(async move {
            let _ = axum::serve(rest, app).await;
        })];
        for (listener, resume_port) in [(gateway, false), (resume, true)] {
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    tokio::spawn(connection(tcp, state.clone(), resume_port));
                }
            }));
        }
        Ok(FakeDiscord {
            rest: rest_addr,
            gateway: gateway_addr,
            state,
            tasks,
        })
    }

    /// The REST base (`…/api/v10`) for `DiscordConfig::api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v10", self.rest)
    }

    pub fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway)
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.state)
    }

    /// A customer (`user_id`, `username`) writes in `channel`; returns the message id.
    pub fn say(&self, channel: &str, user_id: &str, username: &str, text: &str) -> String {
        let author =
            json!({"id": user_id, "username": username, "global_name": null, "bot": false});
        self.lock().message(channel, author, text, None)["id"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// A customer answers `parent` in `channel`.
    pub fn reply(
        &self,
        channel: &str,
        parent: &str,
        user_id: &str,
        username: &str,
        text: &str,
    ) -> String {
        let author = json!({"id": user_id, "username": username, "bot": false});
        self.lock().message(channel, author, text, Some(parent))["id"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// A thread is opened on the message `starter` of `parent` (its id is the starter's, as
    /// on Discord). `announce`: a `THREAD_CREATE` goes out (else the client must ask REST).
    pub fn open_thread(&self, parent: &str, starter: &str, announce: bool) -> String {
        let mut s = self.lock();
        s.threads.insert(starter.to_owned(), parent.to_owned());
        s.channels.entry(starter.to_owned()).or_default();
        if announce {
            let thread = json!({"id": starter, "parent_id": parent, "guild_id": s.guild_id, "type": 11, "name": "thread"});
            s.dispatch("THREAD_CREATE", thread);
        }
        starter.to_owned()
    }

    /// Each channel takes `posts` messages per `window` seconds; the answers' bucket headers
    /// say how many are left and when the window ends.
    pub fn limit_posts(&self, posts: u32, window: f64) {
        self.lock().post_limit = Some((posts, window));
    }

    /// Discord's nonce window passes: a nonce seen before no longer finds its message.
    pub fn forget_nonces(&self) {
        self.lock().nonces.clear();
    }

    /// How many 429s were answered.
    pub fn served_429(&self) -> u32 {
        self.lock().served_429
    }

    /// The author edits a message (`MESSAGE_UPDATE` with `edited_timestamp`).
    pub fn edit(&self, channel: &str, id: &str, text: &str) {
        let mut s = self.lock();
        let Some(m) = s
            .channels
            .get_mut(channel)
            .and_then(|ms| ms.iter_mut().find(|m| m["id"] == id))
        else {
            return;
        };
        m["content"] = json!(text);
        m["edited_timestamp"] = json!(chrono::Utc::now().to_rfc3339());
        let m = m.clone();
        s.dispatch("MESSAGE_UPDATE", m);
    }

    /// An embed resolves: a `MESSAGE_UPDATE` with the text unchanged.
    pub fn embed_resolved(&self, channel: &str, id: &str) {
        let mut s = self.lock();
        if let Some(m) = s
            .channels
            .get(channel)
            .and_then(|ms| ms.iter().find(|m| m["id"] == id))
            .cloned()
        {
            s.dispatch("MESSAGE_UPDATE", m);
        }
    }

    /// The last dispatch goes out once more (with a new sequence number), as Discord may.
    pub fn duplicate_last(&self) {
        let mut s = self.lock();
        let last = s
            .session
            .as_ref()
            .and_then(|x| x.log.last())
            .map(|(_, f)| f.clone());
        if let Some(frame) = last.and_then(|f| serde_json::from_str::<Value>(&f).ok()) {
            let t = frame["t"].as_str().unwrap_or("").to_owned();
            s.dispatch(&t, frame["d"].clone());
        }
    }

    /// The live connection's TCP goes away (no close frame).
    pub fn drop_connection(&self) {
        self.lock().send(Command::Drop);
    }

    /// The gateway closes the live connection with `code`.
    pub fn close_with(&self, code: u16) {
        self.lock().send(Command::Close(code));
    }

    /// `op 7` RECONNECT on the live connection.
    pub fn ask_to_reconnect(&self) {
        self.lock()
            .send(Command::Send(json!({"op": 7, "d": null}).to_string()));
    }

    /// The session ends on Discord's side: a RESUME gets `op 9 false`, what was said meanwhile
    /// is only in the channels' history.
    pub fn expire_session(&self) {
        self.lock().session = None;
    }

    /// Whether heartbeats are answered (`false`: a zombie connection).
    pub fn acks(&self, ack: bool) {
        self.lock().ack = ack;
    }

    /// The portal's Message Content Intent switch.
    pub fn allow_message_content(&self, allowed: bool) {
        self.lock().message_content_allowed = allowed;
    }

    pub fn set_heartbeat_ms(&self, ms: u64) {
        self.lock().heartbeat_ms = ms;
    }

    /// The next `n` REST calls answer 429 with `retry_after` seconds.
    pub fn rate_limit(&self, n: u32, retry_after: f64) {
        let mut s = self.lock();
        s.rate_limited = n;
        s.retry_after = retry_after;
        s.global_limit = false;
    }

    /// The next `n` REST calls answer the bot's global 429 (`"global": true`,
    /// `X-RateLimit-Global: true`, scope `global`, no bucket headers).
    pub fn rate_limit_globally(&self, n: u32, retry_after: f64) {
        self.rate_limit(n, retry_after);
        self.lock().global_limit = true;
    }

    pub fn identifies(&self) -> u32 {
        self.lock().identifies
    }

    /// Accepted RESUMEs: `true` for each that came on the resume port.
    pub fn resumes(&self) -> Vec<bool> {
        self.lock().resumes.clone()
    }

    pub fn heartbeats(&self) -> u32 {
        self.lock().heartbeats
    }

    /// The query strings of every `GET /channels/{id}/messages`, `channel?query`.
    pub fn message_gets(&self) -> Vec<String> {
        self.lock().message_gets.clone()
    }

    /// The `User-Agent` of every REST call.
    pub fn user_agents(&self) -> Vec<String> {
        self.lock().user_agents.clone()
    }

    /// The bot's messages in `channel`, oldest first.
    pub fn sent(&self, channel: &str) -> Vec<Value> {
        let s = self.lock();
        let bot = s.bot_id.clone();
        s.channels
            .get(channel)
            .map(|ms| {
                ms.iter()
                    .filter(|m| m["author"]["id"] == bot.as_str())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a gateway connection is identified or resumed right now.
    pub fn live(&self) -> bool {
        self.lock().live.is_some()
    }
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

/// The REST checks every call shares: the token, a 429 script; records the User-Agent.
/// `Some` refusal when the call is not let through.
fn admit(state: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut s = lock(state);
    let agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    s.user_agents.push(agent);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bot {}", s.token) {
        return Some(error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"));
    }
    if s.rate_limited > 0 {
        s.rate_limited -= 1;
        s.served_429 += 1;
        let retry = s.retry_after;
        let global = s.global_limit;
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(json!({"message": "You are being rate limited.", "retry_after": retry, "global": global}))).into_response();
        let h = r.headers_mut();
        let headers: Vec<(&str, String)> = if global {
            vec![
                ("retry-after", format!("{}", retry.ceil() as u64)),
                ("x-ratelimit-global", "true".into()),
                ("x-ratelimit-scope", "global".into()),
            ]
        } else {
            vec![
                ("retry-after", format!("{}", retry.ceil() as u64)),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset-after", format!("{retry:.3}")),
                ("x-ratelimit-bucket", "fake-bucket".into()),
                ("x-ratelimit-scope", "user".into()),
            ]
        };
        for (name, value) in headers {
            if let Ok(v) = value.parse() {
                h.insert(name, v);
            }
        }
        return Some(r);
    }
    None
}

async fn gateway_bot(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let s = lock(&state);
    Json(json!({"url": s.gateway_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": s.start_remaining, "reset_after": 14_400_000, "max_concurrency": 1}}))
    .into_response()
}

async fn list(
    State(state): State<Shared>,
    Path(channel): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let mut s = lock(&state);
    let mut query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    query.sort();
    s.message_gets
        .push(format!("{channel}?{}", query.join("&")));
    let Some(messages) = s.channels.get(&channel) else {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let n = |v: &Value| {
        v["id"]
            .as_str()
            .and_then(|i| i.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let after = q.get("after").and_then(|a| a.parse::<u64>().ok());
    let before = q.get("before").and_then(|b| b.parse::<u64>().ok());
    let mut page: Vec<Value> = messages
        .iter()
        .filter(|m| after.is_none_or(|a| n(m) > a) && before.is_none_or(|b| n(m) < b))
        .cloned()
        .collect();
    // `around`: the messages nearest it; `after` pages start just after it; the others end
    // at the newest.
    if let Some(around) = q.get("around").and_then(|a| a.parse::<u64>().ok()) {
        page.sort_by_key(|m| n(m).abs_diff(around));
        page.truncate(limit);
        page.sort_by_key(|m| n(m));
    } else if after.is_some() {
        page.truncate(limit);
    } else {
        let skip = page.len().saturating_sub(limit);
        page.drain(..skip);
    }
    page.reverse();
    Json(Value::Array(page)).into_response()
}

async fn create(
    State(state): State<Shared>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let Some(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let mut s = lock(&state);
    if !s.channels.contains_key(&channel) {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    let budget = match spend_post(&mut s, &channel) {
        Ok(budget) => budget,
        Err(refusal) => return *refusal,
    };
    let content = body["content"].as_str().unwrap_or("");
    if content.chars().count() > 2000 || content.trim().is_empty() {
        let why = if content.trim().is_empty() {
            "Cannot send an empty message"
        } else {
            "Must be 2000 or fewer in length."
        };
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 50035, "message": "Invalid Form Body",
            "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": why}]}}}))).into_response();
    }
    let nonce = body["nonce"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| body["nonce"].as_i64().map(|n| n.to_string()));
    if body["enforce_nonce"] == true {
        if let Some(earlier) = nonce.as_ref().and_then(|n| s.nonces.get(n)) {
            return Json(earlier.clone()).into_response();
        }
    }
    let parent = body["message_reference"]["message_id"]
        .as_str()
        .map(str::to_owned);
    if let Some(parent) = &parent {
        let exists = s
            .channels
            .get(&channel)
            .is_some_and(|ms| ms.iter().any(|m| m["id"] == parent.as_str()));
        if !exists && body["message_reference"]["fail_if_not_exists"] != false {
            return (StatusCode::BAD_REQUEST, Json(json!({"code": 50035, "message": "Invalid Form Body",
                "errors": {"message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}}}))).into_response();
        }
    }
    let author = json!({"id": s.bot_id, "username": "earshot-bot", "bot": true});
    let mut m = s.message(&channel, author, content, parent.as_deref());
    if let Some(nonce) = nonce {
        m["nonce"] = json!(nonce);
        s.nonces.insert(nonce, m.clone());
    }
    let mut answer = Json(m).into_response();
    if let Some((left, reset_after)) = budget {
        bucket_headers(&mut answer, left, reset_after);
    }
    answer
}

/// Takes one post from `channel`'s budget: `(left, seconds to reset)`, or the 429 when spent.
fn spend_post(s: &mut FakeState, channel: &str) -> Result<Option<(u32, f64)>, Box<Response>> {
    let Some((posts, window)) = s.post_limit else {
        return Ok(None);
    };
    let now = std::time::Instant::now();
    let window = std::time::Duration::from_secs_f64(window);
    let (left, until) = s
        .post_budget
        .entry(channel.to_owned())
        .or_insert((posts, now + window));
    if *until <= now {
        (*left, *until) = (posts, now + window);
    }
    let reset_after = until.duration_since(now).as_secs_f64();
    if *left == 0 {
        s.served_429 += 1;
        let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(json!({"message": "You are being rate limited.", "retry_after": reset_after, "global": false}))).into_response();
        bucket_headers(&mut r, 0, reset_after);
        return Err(Box::new(r));
    }
    *left -= 1;
    Ok(Some((*left, reset_after)))
}

/// The `X-RateLimit-*` headers of the post bucket (one bucket; its budget per channel).
fn bucket_headers(r: &mut Response, left: u32, reset_after: f64) {
    let h = r.headers_mut();
    for (name, value) in [
        ("x-ratelimit-remaining", left.to_string()),
        ("x-ratelimit-reset-after", format!("{reset_after:.3}")),
        ("x-ratelimit-bucket", "fake-post-bucket".into()),
    ] {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    }
}

async fn me(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let s = lock(&state);
    Json(json!({"id": s.bot_id, "username": "earshot-bot", "discriminator": "0", "bot": true}))
        .into_response()
}

async fn channel_info(
    State(state): State<Shared>,
    Path(channel): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let s = lock(&state);
    if !s.channels.contains_key(&channel) {
        return error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    }
    match s.threads.get(&channel) {
        Some(parent) => {
            Json(json!({"id": channel, "type": 11, "guild_id": s.guild_id, "parent_id": parent}))
        }
        None => Json(json!({"id": channel, "type": 0, "guild_id": s.guild_id, "parent_id": null})),
    }
    .into_response()
}

/// The guild's text channels (threads are not listed here, as on Discord).
async fn guild_channels(
    State(state): State<Shared>,
    Path(guild): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &headers) {
        return r;
    }
    let s = lock(&state);
    if guild != s.guild_id {
        return error(StatusCode::FORBIDDEN, 50001, "Missing Access");
    }
    let mut ids: Vec<&String> = s
        .channels
        .keys()
        .filter(|c| !s.threads.contains_key(*c))
        .collect();
    ids.sort();
    let list: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({"id": id, "type": 0, "guild_id": s.guild_id}))
        .collect();
    Json(Value::Array(list)).into_response()
}

/// One gateway connection.
async fn connection(tcp: tokio::net::TcpStream, state: Shared, resume_port: bool) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Command>();
    let (me, interval) = {
        let mut s = lock(&state);
        s.next_connection += 1;
        (s.next_connection, s.heartbeat_ms)
    };
    let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}, "s": null, "t": null});
    if ws.send(Frame::text(hello.to_string())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(Frame::Text(text))) = frame else {
                    if matches!(frame, Some(Ok(_))) { continue; }
                    break;
                };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                if let Some(code) = opcode(&state, &frame, me, &tx, resume_port) {
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: "".into() })).await;
                    break;
                }
            }
            command = rx.recv() => match command {
                Some(Command::Send(text)) => {
                    if ws.send(Frame::text(text)).await.is_err() { break; }
                }
                Some(Command::Close(code)) => {
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: "".into() })).await;
                    break;
                }
                Some(Command::Drop) | None => break,
            }
        }
    }
    let mut s = lock(&state);
    if s.live.as_ref().is_some_and(|(id, _)| *id == me) {
        s.live = None;
    }
}

/// Handles one client frame; `Some(code)` closes the connection with it.
fn opcode(
    state: &Shared,
    frame: &Value,
    me: u64,
    tx: &mpsc::UnboundedSender<Command>,
    resume_port: bool,
) -> Option<u16> {
    let mut s = lock(state);
    let d = &frame["d"];
    match frame["op"].as_u64() {
        Some(1) => {
            s.heartbeats += 1;
            if s.ack {
                let _ = tx.send(Command::Send(json!({"op": 11}).to_string()));
            }
        }
        Some(2) => {
            s.identifies += 1;
            s.start_remaining = s.start_remaining.saturating_sub(1);
            if d["token"].as_str() != Some(s.token.as_str()) {
                return Some(4004);
            }
            let intents = d["intents"].as_u64().unwrap_or(0);
            if intents & MESSAGE_CONTENT != 0 && !s.message_content_allowed {
                return Some(4014);
            }
            s.next_session += 1;
            s.session = Some(Session {
                id: format!("fake-session-{}", s.next_session),
                seq: 0,
                log: Vec::new(),
            });
            s.live = Some((me, tx.clone()));
            let ready = json!({"v": 10, "user": {"id": s.bot_id, "username": "earshot-bot", "bot": true},
                "guilds": [{"id": s.guild_id, "unavailable": true}],
                "session_id": format!("fake-session-{}", s.next_session), "resume_gateway_url": s.resume_url,
                "shard": [0, 1], "application": {"id": s.bot_id, "flags": 0}});
            s.dispatch("READY", ready);
        }
        Some(6) => {
            if d["token"].as_str() != Some(s.token.as_str()) {
                return Some(4004);
            }
            let from = d["seq"].as_u64().unwrap_or(0);
            let matches = s
                .session
                .as_ref()
                .is_some_and(|x| Some(x.id.as_str()) == d["session_id"].as_str());
            if !matches {
                let _ = tx.send(Command::Send(json!({"op": 9, "d": false}).to_string()));
                return None;
            }
            s.resumes.push(resume_port);
            s.live = Some((me, tx.clone()));
            let missed: Vec<String> = s
                .session
                .as_ref()
                .map(|x| {
                    x.log
                        .iter()
                        .filter(|(seq, _)| *seq > from)
                        .map(|(_, f)| f.clone())
                        .collect()
                })
                .unwrap_or_default();
            for frame in missed {
                let _ = tx.send(Command::Send(frame));
            }
            s.dispatch("RESUMED", json!({}));
        }
        _ => return Some(4001),
    }
    None
}
