//! A fake Telegram Bot API that speaks the real wire protocol (PROTOCOLS-2.md §1.10), for
//! tests here and in other crates (feature `fake`). One axum server on `127.0.0.1:0`: point
//! `api_url` at [`FakeTelegram::base_url`].
//!
//! Every method lives at `/bot<token>/<method>` (name case-insensitive), takes its
//! parameters as a JSON body or a query string, and answers with the `ok`/`result` envelope;
//! every error is `{"ok":false,"error_code","description"[,"parameters"]}` with the same HTTP
//! status. A path without `bot` is 404 "Not Found"; an unknown or revoked token 401.
//!
//! `getUpdates` has the real semantics: an `offset` confirms (forgets) every update below it,
//! a negative one keeps only the last `-offset`; `limit`; the request is held up to `timeout`
//! seconds and answered as soon as an update is queued; updates expire after a TTL (24 h
//! unless set); a second poll cuts the waiting one with 409, and so does a set webhook.
//! `setWebhook`/`deleteWebhook`/`getWebhookInfo` keep the webhook; [`FakeTelegram::deliver_webhook`]
//! is its sender: each queued update POSTed with `X-Telegram-Bot-Api-Secret-Token` to a local
//! address (standing in for the public HTTPS one and its proxy), forgotten only on a 2xx, a
//! failure reported by `getWebhookInfo` as Telegram does. `sendMessage` checks the chat, the text (empty; over 4096 UTF-16 units)
//! and `reply_parameters.message_id` against the chat's messages (400 "message to be replied
//! not found"), and puts a reply to a forum-topic message in that topic. The bot's own
//! messages are not sent back as updates, as on Telegram. `editMessageText`, `getMe`.
//!
//! Scripts: 429 with `retry_after`, `ok:false` 5xx, an answer cut mid-body (connection
//! dropped), a sent message whose answer is lost, a revoked token, update ids that restart
//! lower.

use crate::fake_server::{half_then_reset, lock, serve_in_background};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running fake; the server stops when this is dropped.
#[derive(Debug)]
pub struct FakeTelegram {
    addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

/// A person writing in a chat.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

impl FakeUser {
    pub fn new(id: i64, first_name: &str, username: Option<&str>) -> Self {
        FakeUser {
            id,
            first_name: first_name.into(),
            username: username.map(Into::into),
        }
    }

    fn json(&self) -> Value {
        json!({"id": self.id, "is_bot": false, "first_name": self.first_name, "username": self.username, "language_code": "en"})
    }
}

/// A message the bot sent, as the fake received and stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
    /// `reply_parameters.message_id` (or the older `reply_to_message_id`).
    pub reply_to: Option<i64>,
    /// The forum topic it landed in.
    pub thread_id: Option<i64>,
}

#[derive(Debug)]
struct FakeChat {
    json: Value,
    next_message_id: i64,
    messages: HashMap<i64, Value>,
}

#[derive(Debug)]
struct Queued {
    id: i64,
    update: Value,
    at: Instant,
}

#[derive(Debug, Default)]
struct Script {
    rate_limited: u32,
    retry_after: u64,
    failing: Vec<u16>,
    cut: u32,
}

#[derive(Debug)]
struct FakeState {
    token: String,
    bot_id: i64,
    bot_username: String,
    revoked: bool,
    privacy: bool,
    next_update_id: i64,
    queue: Vec<Queued>,
    ttl: Duration,
    chats: HashMap<i64, FakeChat>,
    webhook: Option<(String, String)>,
    /// The last failed delivery: when, and what went wrong.
    webhook_error: Option<(i64, String)>,
    poll_generation: u64,
    scripts: HashMap<String, Script>,
    lose_send_answers: u32,
    sent: Vec<SentMessage>,
    requests: Vec<String>,
    offsets: Vec<Option<i64>>,
    statuses: Vec<u16>,
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The `ok:false` envelope with its HTTP status.
fn error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// Half of `body`, then the connection is reset.
fn cut(body: String) -> Response {
    let mut response = Response::new(half_then_reset(body.as_bytes()));
    if let Ok(v) = "application/json".parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

impl FakeState {
    fn queue_update(&mut self, kind: &str, message: Value) {
        let id = self.next_update_id;
        self.next_update_id += 1;
        self.queue.push(Queued {
            id,
            update: json!({"update_id": id, kind: message}),
            at: Instant::now(),
        });
    }

    fn new_message(
        &mut self,
        chat_id: i64,
        from: Option<Value>,
        text: &str,
        reply_to: Option<i64>,
        topic: Option<i64>,
    ) -> Option<Value> {
        let chat = self.chats.get_mut(&chat_id)?;
        let id = chat.next_message_id;
        chat.next_message_id += 1;
        let mut message =
            json!({"message_id": id, "chat": chat.json, "date": now_unix(), "text": text});
        match from {
            Some(from) => message["from"] = from,
            None => message["sender_chat"] = chat.json.clone(),
        }
        let parent = reply_to.and_then(|r| chat.messages.get(&r)).cloned();
        let thread = topic.or_else(|| parent.as_ref()?.get("message_thread_id")?.as_i64());
        if let Some(mut parent) = parent {
            // One level deep, as Telegram sends it.
            if let Some(p) = parent.as_object_mut() {
                p.remove("reply_to_message");
            }
            message["reply_to_message"] = parent;
        }
        if let Some(thread) = thread {
            message["message_thread_id"] = json!(thread);
            message["is_topic_message"] = json!(true);
        }
        chat.messages.insert(id, message.clone());
        Some(message)
    }
}

impl FakeTelegram {
    /// Starts the fake for one bot: `token` (`<bot id>:<secret>`) and its @username.
    pub async fn start(token: &str, bot_username: &str) -> std::io::Result<FakeTelegram> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let bot_id = token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(7_012_345_678);
        let state = Arc::new(Mutex::new(FakeState {
            token: token.into(),
            bot_id,
            bot_username: bot_username.trim_start_matches('@').into(),
            revoked: false,
            privacy: false,
            next_update_id: 884_213_377,
            queue: Vec::new(),
            ttl: Duration::from_secs(24 * 3600),
            chats: HashMap::new(),
            webhook: None,
            webhook_error: None,
            poll_generation: 0,
            scripts: HashMap::new(),
            lose_send_answers: 0,
            sent: Vec::new(),
            requests: Vec::new(),
            offsets: Vec::new(),
            statuses: Vec::new(),
        }));
        let app = Router::new()
            .route("/{bot}/{method}", any(method))
            .with_state(state.clone());
        let server = serve_in_background(listener, app, "fake telegram");
        Ok(FakeTelegram {
            addr,
            state,
            server,
        })
    }

    /// The `api_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A chat the bot is in: `kind` is `private`, `group`, `supergroup` or `channel`.
    pub fn add_chat(&self, id: i64, kind: &str, title: &str, username: Option<&str>) {
        let mut chat = json!({"id": id, "type": kind});
        if kind != "private" {
            chat["title"] = json!(title);
        }
        if let Some(u) = username {
            chat["username"] = json!(u);
        }
        lock(&self.state).chats.insert(
            id,
            FakeChat {
                json: chat,
                next_message_id: 5_000,
                messages: HashMap::new(),
            },
        );
    }

    /// `user` writes `text` in `chat` (a `message` update); its message id.
    pub fn say(&self, chat: i64, user: &FakeUser, text: &str) -> i64 {
        self.write(chat, Some(user), text, None, None)
    }

    /// `user` answers message `parent` in `chat`.
    pub fn reply(&self, chat: i64, parent: i64, user: &FakeUser, text: &str) -> i64 {
        self.write(chat, Some(user), text, Some(parent), None)
    }

    /// `user` writes in forum topic `topic` of `chat`.
    pub fn say_in_topic(&self, chat: i64, topic: i64, user: &FakeUser, text: &str) -> i64 {
        self.write(chat, Some(user), text, None, Some(topic))
    }

    /// The channel itself posts (a `channel_post` update, `sender_chat` set).
    pub fn channel_post(&self, chat: i64, text: &str) -> i64 {
        self.write(chat, None, text, None, None)
    }

    fn write(
        &self,
        chat: i64,
        user: Option<&FakeUser>,
        text: &str,
        reply_to: Option<i64>,
        topic: Option<i64>,
    ) -> i64 {
        let mut s = lock(&self.state);
        let channel = s
            .chats
            .get(&chat)
            .is_some_and(|c| c.json["type"] == "channel");
        let Some(message) = s.new_message(chat, user.map(FakeUser::json), text, reply_to, topic)
        else {
            panic!("fake telegram: add_chat({chat}, …) first");
        };
        let id = message["message_id"].as_i64().unwrap_or_default();
        s.queue_update(if channel { "channel_post" } else { "message" }, message);
        id
    }

    /// The author edits message `id` in `chat` (an `edited_message` update).
    pub fn edit(&self, chat: i64, id: i64, text: &str) {
        let mut s = lock(&self.state);
        let Some(message) = s.chats.get_mut(&chat).and_then(|c| c.messages.get_mut(&id)) else {
            panic!("fake telegram: no message {id} in chat {chat}");
        };
        message["text"] = json!(text);
        message["edit_date"] = json!(now_unix());
        let message = message.clone();
        let kind = if message["chat"]["type"] == "channel" {
            "edited_channel_post"
        } else {
            "edited_message"
        };
        s.queue_update(kind, message);
    }

    /// A raw update queued as is (for kinds earshot skips, or broken ones).
    pub fn queue_raw(&self, kind: &str, payload: Value) {
        lock(&self.state).queue_update(kind, payload);
    }

    /// The next `n` calls of `method` get 429 with `retry_after` seconds.
    pub fn rate_limit_next(&self, method: &str, n: u32, retry_after: u64) {
        let mut s = lock(&self.state);
        let script = s.scripts.entry(method.to_ascii_lowercase()).or_default();
        script.rate_limited = n;
        script.retry_after = retry_after;
    }

    /// The next `n` calls of `method` fail with `status` (an `ok:false` envelope).
    pub fn fail_next(&self, method: &str, n: usize, status: u16) {
        let mut s = lock(&self.state);
        let script = s.scripts.entry(method.to_ascii_lowercase()).or_default();
        script.failing = vec![status; n];
    }

    /// The next `n` answers to `method` are cut mid-body (the connection dropped); nothing
    /// is done for them (a cut `getUpdates` confirms nothing).
    pub fn cut_next(&self, method: &str, n: u32) {
        let mut s = lock(&self.state);
        s.scripts
            .entry(method.to_ascii_lowercase())
            .or_default()
            .cut = n;
    }

    /// The next `sendMessage` posts the message, then its answer is lost (connection dropped).
    pub fn lose_next_send_answer(&self) {
        lock(&self.state).lose_send_answers += 1;
    }

    /// The token is revoked (@BotFather /revoke): every call gets 401.
    pub fn revoke_token(&self) {
        lock(&self.state).revoked = true;
    }

    /// Privacy mode, as `getMe`'s `can_read_all_group_messages` reports it.
    pub fn set_privacy(&self, on: bool) {
        lock(&self.state).privacy = on;
    }

    /// Sets a webhook as another tool would (polling then gets 409).
    pub fn set_webhook(&self, url: &str) {
        lock(&self.state).webhook = Some((url.into(), String::new()));
    }

    /// Removes the webhook as its owner would (`deleteWebhook`).
    pub fn delete_webhook(&self) {
        lock(&self.state).webhook = None;
    }

    /// The secret the webhook was set with.
    pub fn webhook_secret(&self) -> Option<String> {
        lock(&self.state).webhook.as_ref().map(|w| w.1.clone())
    }

    /// Sends every queued update to `to` (the address the webhook's public URL leads to) as
    /// Telegram does: one POST each with the secret header, oldest first. An update answered
    /// 2xx is forgotten; any other answer keeps it queued and is reported by
    /// `getWebhookInfo`. The statuses, in order.
    pub async fn deliver_webhook(&self, to: &str) -> Vec<u16> {
        let (secret, updates) = {
            let s = lock(&self.state);
            let Some((_, secret)) = s.webhook.clone() else {
                return Vec::new();
            };
            let updates: Vec<(i64, Value)> =
                s.queue.iter().map(|q| (q.id, q.update.clone())).collect();
            (secret, updates)
        };
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for (id, update) in updates {
            let answer = client
                .post(to)
                .header("X-Telegram-Bot-Api-Secret-Token", &secret)
                .json(&update)
                .send()
                .await;
            let status = answer.map(|a| a.status().as_u16()).unwrap_or(0);
            let mut s = lock(&self.state);
            if (200..300).contains(&status) {
                s.queue.retain(|q| q.id != id);
            } else {
                s.webhook_error = Some((
                    now_unix(),
                    format!("Wrong response from the webhook: {status}"),
                ));
            }
            statuses.push(status);
        }
        statuses
    }

    pub fn webhook(&self) -> Option<String> {
        lock(&self.state).webhook.as_ref().map(|w| w.0.clone())
    }

    /// How long an unconfirmed update is kept (24 h on Telegram).
    pub fn set_update_ttl(&self, ttl: Duration) {
        lock(&self.state).ttl = ttl;
    }

    /// The next update id restarts lower (as Telegram may after a quiet week).
    pub fn restart_update_ids(&self, next: i64) {
        lock(&self.state).next_update_id = next;
    }

    /// What the bot sent, in order.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        lock(&self.state).sent.clone()
    }

    /// The methods called, in order (lower case; never the token).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// The `offset` of every `getUpdates`, in order.
    pub fn offsets(&self) -> Vec<Option<i64>> {
        lock(&self.state).offsets.clone()
    }

    /// Updates queued and not yet confirmed.
    pub fn pending_updates(&self) -> usize {
        lock(&self.state).queue.len()
    }

    /// How many answers had `status`.
    pub fn served(&self, status: u16) -> usize {
        lock(&self.state)
            .statuses
            .iter()
            .filter(|s| **s == status)
            .count()
    }

    /// The stored message `id` of `chat`.
    pub fn message(&self, chat: i64, id: i64) -> Option<Value> {
        lock(&self.state)
            .chats
            .get(&chat)
            .and_then(|c| c.messages.get(&id))
            .cloned()
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The parameters of a call: a JSON body, else the query string (values read as JSON where
/// they are: numbers, objects).
/// `None` for a body that is not JSON.
fn params(query: HashMap<String, String>, body: &Bytes) -> Option<Value> {
    if !body.is_empty() {
        return serde_json::from_slice(body).ok();
    }
    let mut map = serde_json::Map::new();
    for (k, v) in query {
        let value = serde_json::from_str(&v).unwrap_or(Value::String(v));
        map.insert(k, value);
    }
    Some(Value::Object(map))
}

async fn method(
    State(state): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.to_ascii_lowercase();
    let response = answer(&state, &bot, &method, query, &body).await;
    let mut s = lock(&state);
    s.requests.push(method);
    s.statuses.push(response.status().as_u16());
    response
}

async fn answer(
    state: &Shared,
    bot: &str,
    method: &str,
    query: HashMap<String, String>,
    body: &Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot") else {
        return error(404, "Not Found", None);
    };
    let Some(p) = params(query, body) else {
        return error(400, "Bad Request: can't parse JSON body", None);
    };
    {
        let mut s = lock(state);
        if s.revoked || token != s.token {
            return error(401, "Unauthorized", None);
        }
        if let Some(script) = s.scripts.get_mut(method) {
            if script.rate_limited > 0 {
                script.rate_limited -= 1;
                let wait = script.retry_after;
                return error(
                    429,
                    &format!("Too Many Requests: retry after {wait}"),
                    Some(json!({"retry_after": wait})),
                );
            }
            if !script.failing.is_empty() {
                let status = script.failing.remove(0);
                return error(status, "Internal Server Error", None);
            }
            if script.cut > 0 {
                script.cut -= 1;
                return cut(json!({"ok": true, "result": []}).to_string());
            }
        }
    }
    match method {
        "getme" => get_me(state),
        "getupdates" => get_updates(state, &p).await,
        "sendmessage" => send_message(state, &p),
        "editmessagetext" => edit_message_text(state, &p),
        "setwebhook" => set_webhook(state, &p),
        "deletewebhook" => {
            lock(state).webhook = None;
            ok(json!(true))
        }
        "getwebhookinfo" => {
            let s = lock(state);
            ok(json!({
                "url": s.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": s.queue.len(),
                "max_connections": 40,
                "last_error_date": s.webhook_error.as_ref().map(|e| e.0),
                "last_error_message": s.webhook_error.as_ref().map(|e| e.1.clone()),
            }))
        }
        _ => error(404, "Not Found: method not found", None),
    }
}

fn get_me(state: &Shared) -> Response {
    let s = lock(state);
    ok(json!({
        "id": s.bot_id, "is_bot": true, "first_name": "Acme Support", "username": s.bot_username,
        "can_join_groups": true, "can_read_all_group_messages": !s.privacy,
        "supports_inline_queries": false,
    }))
}

async fn get_updates(state: &Shared, p: &Value) -> Response {
    let offset = p.get("offset").and_then(Value::as_i64);
    let limit = p
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(100)
        .clamp(1, 100) as usize;
    let timeout = Duration::from_secs(p.get("timeout").and_then(Value::as_u64).unwrap_or(0));
    let generation = {
        let mut s = lock(state);
        s.offsets.push(offset);
        if s.webhook.is_some() {
            return error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", None);
        }
        // A newer poll cuts the one waiting (it sees the generation move on).
        s.poll_generation += 1;
        let ttl = s.ttl;
        s.queue.retain(|q| q.at.elapsed() < ttl);
        match offset {
            Some(o) if o < 0 => {
                let keep = o.unsigned_abs() as usize;
                let len = s.queue.len();
                s.queue.drain(..len.saturating_sub(keep));
            }
            // Confirms every update below it.
            Some(o) => s.queue.retain(|q| q.id >= o),
            None => {}
        }
        s.poll_generation
    };
    let deadline = Instant::now() + timeout;
    loop {
        {
            let s = lock(state);
            if s.poll_generation != generation {
                return error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running", None);
            }
            if !s.queue.is_empty() || Instant::now() >= deadline {
                let updates: Vec<Value> = s
                    .queue
                    .iter()
                    .take(limit)
                    .map(|q| q.update.clone())
                    .collect();
                return ok(Value::Array(updates));
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn chat_id(p: &Value, s: &FakeState) -> Option<i64> {
    match p.get("chat_id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(name) => name.parse().ok().or_else(|| {
            let name = name.trim_start_matches('@');
            s.chats
                .iter()
                .find(|(_, c)| c.json["username"].as_str() == Some(name))
                .map(|(id, _)| *id)
        }),
        _ => None,
    }
}

fn send_message(state: &Shared, p: &Value) -> Response {
    let mut s = lock(state);
    let Some(chat) = chat_id(p, &s).filter(|c| s.chats.contains_key(c)) else {
        return error(400, "Bad Request: chat not found", None);
    };
    let text = p.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return error(400, "Bad Request: message text is empty", None);
    }
    if text.encode_utf16().count() > 4096 {
        return error(400, "Bad Request: message is too long", None);
    }
    let reply = p.get("reply_parameters");
    let reply_to = reply
        .and_then(|r| r.get("message_id"))
        .or_else(|| p.get("reply_to_message_id"))
        .and_then(Value::as_i64);
    let anyway = reply
        .and_then(|r| r.get("allow_sending_without_reply"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let target_exists = reply_to.is_some_and(|r| {
        s.chats
            .get(&chat)
            .is_some_and(|c| c.messages.contains_key(&r))
    });
    if reply_to.is_some() && !target_exists && !anyway {
        return error(400, "Bad Request: message to be replied not found", None);
    }
    let topic = p.get("message_thread_id").and_then(Value::as_i64);
    let from = json!({"id": s.bot_id, "is_bot": true, "first_name": "Acme Support", "username": s.bot_username});
    let target = reply_to.filter(|_| target_exists);
    let Some(message) = s.new_message(chat, Some(from), text, target, topic) else {
        return error(400, "Bad Request: chat not found", None);
    };
    s.sent.push(SentMessage {
        chat_id: chat,
        message_id: message["message_id"].as_i64().unwrap_or_default(),
        text: text.into(),
        reply_to: target,
        thread_id: message["message_thread_id"].as_i64(),
    });
    if s.lose_send_answers > 0 {
        s.lose_send_answers -= 1;
        return cut(json!({"ok": true, "result": message}).to_string());
    }
    ok(message)
}

fn edit_message_text(state: &Shared, p: &Value) -> Response {
    let mut s = lock(state);
    let bot_id = s.bot_id;
    let chat = chat_id(p, &s);
    let id = p.get("message_id").and_then(Value::as_i64);
    let text = p
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(message) = chat
        .and_then(|c| s.chats.get_mut(&c))
        .and_then(|c| c.messages.get_mut(&id.unwrap_or_default()))
    else {
        return error(400, "Bad Request: message to edit not found", None);
    };
    if message["from"]["id"].as_i64() != Some(bot_id) {
        return error(400, "Bad Request: message can't be edited", None);
    }
    if message["text"].as_str() == Some(text.as_str()) {
        return error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message", None);
    }
    message["text"] = json!(text);
    message["edit_date"] = json!(now_unix());
    let message = message.clone();
    if let Some(sent) = s
        .sent
        .iter_mut()
        .find(|m| Some(m.chat_id) == chat && Some(m.message_id) == message["message_id"].as_i64())
    {
        sent.text = text;
    }
    ok(message)
}

fn set_webhook(state: &Shared, p: &Value) -> Response {
    let url = p.get("url").and_then(Value::as_str).unwrap_or_default();
    let secret = p
        .get("secret_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if url.is_empty() {
        lock(state).webhook = None;
        return ok(json!(true));
    }
    if !url.starts_with("https://") {
        return error(
            400,
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
            None,
        );
    }
    if secret.len() > 256
        || !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return error(
            400,
            "Bad Request: bad webhook: secret token contains unallowed characters",
            None,
        );
    }
    lock(state).webhook = Some((url.into(), secret.into()));
    ok(json!(true))
}
