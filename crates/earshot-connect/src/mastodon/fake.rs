//! A fake Mastodon instance that speaks the real wire protocol (PROTOCOLS.md §0.4, §1.9), for
//! tests here and in other crates (feature `fake`).
//!
//! It binds `127.0.0.1:0` and serves: the SSE stream `/api/v1/streaming/user/notification`
//! (`:)` then `:thump` at a configurable cadence), `/api/v1/streaming/health`,
//! `/api/v2/instance`, `/api/v1/notifications` (`min_id`/`max_id`/`since_id`, `types[]`,
//! `limit`, `Link` headers), `GET /api/v1/statuses/{id}` and `POST /api/v1/statuses` (honours
//! `Idempotency-Key`: the same key returns the same status with 200, and every request is
//! recorded). Unknown tokens get `401`; [`FakeMastodon::rate_limit_next`] answers `429` with an
//! ISO-8601 `X-RateLimit-Reset`. Tests script the live streams: inject mentions, send the same
//! event twice, cut a connection in the middle of an event, or go silent without closing.
//!
//! Hashtags: the SSE stream `/api/v1/streaming/hashtag?tag=<tag>` and the tag timeline
//! `/api/v1/timelines/tag/{tag}` (same paging as notifications); tests post tagged statuses,
//! edit them (`status.update`), delete them (`delete`, bare id) and replay them out of order.
//!
//! WebSocket: like a separate streaming host, the fake serves `/api/v1/streaming?stream=…`
//! (`user:notification`, or `hashtag` with `tag`) on its own port,
//! [`FakeMastodon::websocket_base_url`], with the `{"stream","event","payload"}` envelope whose
//! payload is a JSON-encoded string, `Authorization: Bearer` checked at the handshake (401),
//! the scripted 429 there too, and `{"error":"Unknown stream type","status":400}` for other
//! streams. It sends no pings of its own, as the real server does not.
//!
//! Ids are numeric strings; notification ids start at 8 digits and grow to 9, so code that
//! orders ids as numbers of equal length (or as integers) shows up.

use crate::fake_server::{bearer, lock, percent_decode, serve_in_background};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A running fake instance; the server stops when this is dropped.
#[derive(Debug)]
pub struct FakeMastodon {
    addr: SocketAddr,
    ws_addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
    ws_server: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

#[derive(Debug, Clone)]
enum StreamCommand {
    /// An event, framed as the connection's transport frames it.
    Event {
        name: String,
        data: String,
    },
    /// Raw text: SSE bytes, or one WebSocket text frame.
    Write(String),
    /// Half an event, then the connection dies (SSE); a WebSocket dies without a close frame.
    Cut {
        name: String,
        data: String,
    },
    Close,
    Silence,
}

/// What a live connection listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FakeChannel {
    Notifications,
    /// Lowercase tag.
    Hashtag(String),
}

#[derive(Debug)]
struct FakeState {
    base_url: String,
    tokens: HashSet<String>,
    heartbeat: Duration,
    next_status: u64,
    next_notification: u64,
    /// (id, notification JSON), oldest first.
    notifications: Vec<(u64, Value)>,
    statuses: HashMap<String, Value>,
    by_idempotency_key: HashMap<String, String>,
    received: Vec<ReceivedStatus>,
    created: usize,
    streams: Vec<(FakeChannel, mpsc::UnboundedSender<StreamCommand>)>,
    stream_connects: usize,
    websocket_connects: usize,
    /// (id, status JSON) of statuses carrying hashtags, in posting order.
    tagged: Vec<(u64, Value)>,
    rate_limited: u32,
    rate_limit_reset_in: Duration,
}

/// A `POST /api/v1/statuses` as the fake received it.
#[derive(Debug, Clone)]
pub struct ReceivedStatus {
    pub idempotency_key: Option<String>,
    pub body: Value,
}

/// A mention to put on the fake.
#[derive(Debug, Clone)]
pub struct NewMention {
    /// Who writes it (`lena@fosstodon.example`).
    pub acct: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub visibility: String,
    /// Also send it on the live streams (false: as if the stream lost it).
    pub live: bool,
}

impl NewMention {
    pub fn new(acct: &str, text: &str) -> Self {
        NewMention {
            acct: acct.into(),
            text: text.into(),
            in_reply_to: None,
            visibility: "public".into(),
            live: true,
        }
    }
}

/// The ids a mention got on the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentioned {
    pub notification_id: String,
    pub status_id: String,
}

impl FakeMastodon {
    /// Starts the fake on `127.0.0.1:0`, accepting `token`, with a 100 ms heartbeat.
    pub async fn start(token: &str) -> std::io::Result<FakeMastodon> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            base_url: format!("http://{addr}"),
            tokens: HashSet::from([token.to_owned()]),
            heartbeat: Duration::from_millis(100),
            next_status: 115_000_000_000_000_000,
            next_notification: 99_999_998,
            notifications: Vec::new(),
            statuses: HashMap::new(),
            by_idempotency_key: HashMap::new(),
            received: Vec::new(),
            created: 0,
            streams: Vec::new(),
            stream_connects: 0,
            websocket_connects: 0,
            tagged: Vec::new(),
            rate_limited: 0,
            rate_limit_reset_in: Duration::from_millis(300),
        }));
        let app = Router::new()
            .route("/api/v1/streaming/user/notification", get(stream))
            .route("/api/v1/streaming/hashtag", get(hashtag_stream))
            .route("/api/v1/timelines/tag/{tag}", get(tag_timeline))
            .route("/api/v1/streaming/health", get(|| async { "OK" }))
            .route("/api/v2/instance", get(instance))
            .route("/api/v1/notifications", get(notifications))
            .route(
                "/api/v1/accounts/verify_credentials",
                get(verify_credentials),
            )
            .route("/api/v1/statuses", axum::routing::post(create_status))
            .route("/api/v1/statuses/{id}", get(show_status))
            .with_state(state.clone());
        let server = serve_in_background(listener, app, "fake mastodon");
        let ws_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let ws_addr = ws_listener.local_addr()?;
        let ws_state = state.clone();
        let ws_server = tokio::spawn(async move {
            while let Ok((tcp, _)) = ws_listener.accept().await {
                tokio::spawn(websocket::serve(tcp, ws_state.clone()));
            }
        });
        Ok(FakeMastodon {
            addr,
            ws_addr,
            state,
            server,
            ws_server,
        })
    }

    /// The WebSocket streaming host (`http://…`; a client turns it into `ws://…`).
    pub fn websocket_base_url(&self) -> String {
        format!("http://{}", self.ws_addr)
    }

    /// How many WebSocket streams were opened (successfully).
    pub fn websocket_connects(&self) -> usize {
        lock(&self.state).websocket_connects
    }

    /// Posts a status carrying `post.tags`: on the tag timelines at once, and on those tags'
    /// live streams as an `update` unless `post.live` is false. Returns its id.
    pub fn post_tagged(&self, post: NewTagged) -> String {
        let (id, status) = {
            let mut s = lock(&self.state);
            let id = s.next_status;
            s.next_status += 1;
            let mut status = status_json(id, &post.acct, &post.text, &post.tags, None);
            if let Some(boosted) = post.boost_of.as_ref().and_then(|b| s.statuses.get(b)) {
                status["reblog"] = boosted.clone();
                status["content"] = json!("");
            }
            s.statuses.insert(id.to_string(), status.clone());
            s.tagged.push((id, status.clone()));
            (id.to_string(), status)
        };
        if post.live {
            self.send_tagged(&status, "update", status.to_string());
        }
        id
    }

    /// Sends the `update` event of an existing tagged status again (a duplicate, or a late
    /// arrival out of id order).
    pub fn stream_status(&self, id: &str) {
        if let Some(status) = self.status(id) {
            self.send_tagged(&status, "update", status.to_string());
        }
    }

    /// Posts a tagged status whose `update` event is cut in half before every stream dies.
    pub fn post_tagged_cut_mid_event(&self, mut post: NewTagged) -> String {
        post.live = false;
        let id = self.post_tagged(post);
        if let Some(status) = self.status(&id) {
            self.broadcast(StreamCommand::Cut {
                name: "update".into(),
                data: status.to_string(),
            });
        }
        id
    }

    /// The author edits a status: new text, `edited_at` set, `status.update` on its streams.
    pub fn edit_status(&self, id: &str, text: &str) {
        let edited = {
            let mut s = lock(&self.state);
            let Some(status) = s.statuses.get_mut(id) else {
                return;
            };
            let tags: Vec<String> = status["tags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|t| t["name"].as_str())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            status["content"] = json!(content_html(text, &tags));
            status["edited_at"] = json!(now());
            let edited = status.clone();
            for (tid, t) in s.tagged.iter_mut() {
                if tid.to_string() == id {
                    *t = edited.clone();
                }
            }
            edited
        };
        self.send_tagged(&edited, "status.update", edited.to_string());
    }

    /// The author deletes a status: gone from the API, `delete` (bare id) on its streams.
    pub fn delete_status(&self, id: &str) {
        let removed = {
            let mut s = lock(&self.state);
            s.tagged.retain(|(tid, _)| tid.to_string() != id);
            s.statuses.remove(id)
        };
        if let Some(status) = removed {
            self.send_tagged(&status, "delete", id.to_owned());
        }
    }

    /// Sends an event on every live stream, framed per transport (e.g. a `delete` of an id
    /// never posted: delete before create).
    pub fn push_event(&self, name: &str, data: &str) {
        self.broadcast(StreamCommand::Event {
            name: name.into(),
            data: data.into(),
        });
    }

    fn send_tagged(&self, status: &Value, name: &str, data: String) {
        let tags: Vec<String> = status["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["name"].as_str())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        self.send_where(
            |c| matches!(c, FakeChannel::Hashtag(tag) if tags.contains(tag)),
            StreamCommand::Event {
                name: name.into(),
                data,
            },
        );
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `:thump` cadence for streams opened from now on.
    pub fn set_heartbeat(&self, every: Duration) {
        lock(&self.state).heartbeat = every;
    }

    /// Answers the next `n` authorised requests with 429, resetting `reset_in` later.
    pub fn rate_limit_next(&self, n: u32, reset_in: Duration) {
        let mut s = lock(&self.state);
        s.rate_limited = n;
        s.rate_limit_reset_in = reset_in;
    }

    /// Posts a mention of the brand: a status plus its `mention` notification, streamed live
    /// unless `mention.live` is false.
    pub fn mention(&self, mention: NewMention) -> Mentioned {
        let (mentioned, data) = self.store_mention(&mention);
        if mention.live {
            self.send_where(
                |c| *c == FakeChannel::Notifications,
                StreamCommand::Event {
                    name: "notification".into(),
                    data,
                },
            );
        }
        mentioned
    }

    /// Posts a mention and writes only the first half of its event before closing every
    /// stream: the connection dies in the middle of an SSE block.
    pub fn mention_cut_mid_event(&self, mention: NewMention) -> Mentioned {
        let (mentioned, data) = self.store_mention(&mention);
        self.broadcast(StreamCommand::Cut {
            name: "notification".into(),
            data,
        });
        mentioned
    }

    /// Sends the event of an existing notification on the live streams again.
    pub fn replay(&self, notification_id: &str) {
        let event = {
            let s = lock(&self.state);
            s.notifications
                .iter()
                .find(|(id, _)| id.to_string() == notification_id)
                .map(|(_, n)| n.to_string())
        };
        if let Some(data) = event {
            self.send_where(
                |c| *c == FakeChannel::Notifications,
                StreamCommand::Event {
                    name: "notification".into(),
                    data,
                },
            );
        }
    }

    /// Writes raw bytes on every live stream (a `delete` event, a comment, garbage).
    pub fn push_raw(&self, text: &str) {
        self.broadcast(StreamCommand::Write(text.to_owned()));
    }

    /// Closes every live stream cleanly.
    pub fn drop_streams(&self) {
        self.broadcast(StreamCommand::Close);
    }

    /// Stops heartbeats and events on every live stream without closing it (half-open).
    pub fn silence_streams(&self) {
        self.broadcast(StreamCommand::Silence);
    }

    /// How many times the stream was opened (successfully).
    pub fn stream_connects(&self) -> usize {
        lock(&self.state).stream_connects
    }

    /// Every `POST /api/v1/statuses` received, in order.
    pub fn received(&self) -> Vec<ReceivedStatus> {
        lock(&self.state).received.clone()
    }

    /// How many statuses the posts created (replays under a known key create none).
    pub fn statuses_created(&self) -> usize {
        lock(&self.state).created
    }

    /// A status by id, as `GET /api/v1/statuses/{id}` would show it.
    pub fn status(&self, id: &str) -> Option<Value> {
        lock(&self.state).statuses.get(id).cloned()
    }

    fn broadcast(&self, command: StreamCommand) {
        self.send_where(|_| true, command);
    }

    fn send_where(&self, wanted: impl Fn(&FakeChannel) -> bool, command: StreamCommand) {
        let ends = matches!(command, StreamCommand::Close | StreamCommand::Cut { .. });
        let mut s = lock(&self.state);
        s.streams.retain(|(channel, tx)| {
            if !wanted(channel) {
                return true;
            }
            tx.send(command.clone()).is_ok() && !ends
        });
    }

    fn store_mention(&self, mention: &NewMention) -> (Mentioned, String) {
        let mut s = lock(&self.state);
        let status_id = s.next_status.to_string();
        s.next_status += 1;
        let notification_id = s.next_notification;
        s.next_notification += 1;
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let (user, domain) = mention
            .acct
            .split_once('@')
            .unwrap_or((mention.acct.as_str(), "fake.example"));
        let account = json!({
            "id": format!("1098765432{:08}", notification_id % 100_000_000),
            "username": user, "acct": mention.acct, "display_name": user.to_uppercase(),
            "bot": false, "url": format!("https://{domain}/@{user}"),
            "followers_count": 42, "following_count": 7, "statuses_count": 100,
        });
        let status = json!({
            "id": status_id,
            "uri": format!("https://{domain}/users/{user}/statuses/{status_id}"),
            "url": format!("https://{domain}/@{user}/{status_id}"),
            "created_at": now, "edited_at": null,
            "in_reply_to_id": mention.in_reply_to, "in_reply_to_account_id": null,
            "sensitive": false, "spoiler_text": "", "visibility": mention.visibility, "language": null,
            "content": format!("<p>{}</p>", html_escape::encode_text(&mention.text)),
            "reblog": null, "account": account,
            "mentions": [{"id": "110000000000000001", "username": "acme", "acct": "acme", "url": "https://fake.example/@acme"}],
            "tags": [], "media_attachments": [], "emojis": [],
        });
        let notification = json!({
            "id": notification_id.to_string(), "type": "mention",
            "group_key": format!("ungrouped-{notification_id}"), "created_at": now,
            "account": account, "status": status,
        });
        s.statuses.insert(status_id.clone(), status);
        let event = notification.to_string();
        s.notifications.push((notification_id, notification));
        (
            Mentioned {
                notification_id: notification_id.to_string(),
                status_id,
            },
            event,
        )
    }
}

impl Drop for FakeMastodon {
    fn drop(&mut self) {
        self.server.abort();
        self.ws_server.abort();
        lock(&self.state).streams.clear();
    }
}

fn sse_event(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn error(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "error": text }))).into_response()
}

/// The bearer check and the scripted 429, run before every API answer: `Some` is the refusal.
fn gate(state: &Shared, headers: &HeaderMap) -> Option<Response> {
    let mut s = lock(state);
    match refusal(&mut s, headers)? {
        Refusal::BadToken => Some(error(
            StatusCode::UNAUTHORIZED,
            "The access token is invalid",
        )),
        Refusal::RateLimited { reset } => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            rate_limit_headers(response.headers_mut(), &reset);
            Some(response)
        }
    }
}

/// Why a request is refused before it is read, the REST API and the streaming upgrade alike.
enum Refusal {
    BadToken,
    /// A scripted rate limit, spent until `reset` (Mastodon's timestamp format).
    RateLimited {
        reset: String,
    },
}

/// The refusal of a request with `headers`, if any: its bearer token first, then a scripted
/// rate limit (used up by this request).
fn refusal(s: &mut FakeState, headers: &HeaderMap) -> Option<Refusal> {
    if !bearer(headers).is_some_and(|t| s.tokens.contains(t)) {
        return Some(Refusal::BadToken);
    }
    if s.rate_limited == 0 {
        return None;
    }
    s.rate_limited -= 1;
    let reset = Utc::now() + chrono::Duration::from_std(s.rate_limit_reset_in).unwrap_or_default();
    Some(Refusal::RateLimited {
        reset: reset.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    })
}

/// Mastodon's `X-RateLimit-*` headers on a 429: the budget is spent until `reset`.
fn rate_limit_headers(h: &mut HeaderMap, reset: &str) {
    h.insert("X-RateLimit-Limit", HeaderValue::from_static("300"));
    h.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
    if let Ok(v) = HeaderValue::from_str(reset) {
        h.insert("X-RateLimit-Reset", v);
    }
}

struct Connection {
    commands: mpsc::UnboundedReceiver<StreamCommand>,
    heartbeat: tokio::time::Interval,
    greeted: bool,
    silent: bool,
}

async fn stream(State(state): State<Shared>, headers: HeaderMap) -> Response {
    sse(state, &headers, FakeChannel::Notifications)
}

async fn hashtag_stream(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref().unwrap_or(""));
    match pairs.iter().find(|(k, _)| k == "tag") {
        Some((_, tag)) if !tag.is_empty() => sse(
            state,
            &headers,
            FakeChannel::Hashtag(percent_decode(tag).to_lowercase()),
        ),
        _ => error(StatusCode::BAD_REQUEST, "Missing tag name parameter"),
    }
}

fn sse(state: Shared, headers: &HeaderMap, channel: FakeChannel) -> Response {
    if let Some(refused) = gate(&state, headers) {
        return refused;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let heartbeat = {
        let mut s = lock(&state);
        s.streams.push((channel, tx));
        s.stream_connects += 1;
        s.heartbeat
    };
    let mut heartbeat = tokio::time::interval(heartbeat.max(Duration::from_millis(1)));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let connection = Connection {
        commands: rx,
        heartbeat,
        greeted: false,
        silent: false,
    };
    let body = futures::stream::unfold(connection, |mut c| async move {
        if !c.greeted {
            c.greeted = true;
            c.heartbeat.tick().await; // The first tick is immediate.
            return Some((Ok::<_, Infallible>(Bytes::from(":)\n")), c));
        }
        loop {
            tokio::select! {
                command = c.commands.recv() => match command {
                    Some(StreamCommand::Silence) => c.silent = true,
                    Some(StreamCommand::Close) | None => return None,
                    Some(_) if c.silent => {}
                    Some(StreamCommand::Write(text)) => {
                        return Some((Ok(Bytes::from(text)), c));
                    }
                    Some(StreamCommand::Event { name, data }) => {
                        return Some((Ok(Bytes::from(sse_event(&name, &data))), c));
                    }
                    Some(StreamCommand::Cut { name, data }) => {
                        let event = sse_event(&name, &data);
                        let mut cut = event.len() / 2;
                        while !event.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        // Half the block, then the stream ends on the next poll.
                        c.commands.close();
                        c.silent = true;
                        return Some((Ok(Bytes::from(event[..cut].to_owned())), c));
                    }
                },
                _ = c.heartbeat.tick(), if !c.silent => {
                    return Some((Ok(Bytes::from_static(b":thump\n\n")), c));
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// The brand account the token belongs to.
async fn verify_credentials(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&state, &headers) {
        return refused;
    }
    axum::Json(json!({
        "id": "1",
        "username": "acme",
        "acct": "acme",
        "display_name": "Acme Support",
        "followers_count": 1200,
    }))
    .into_response()
}

async fn instance(State(state): State<Shared>) -> Response {
    let base = lock(&state).base_url.clone();
    axum::Json(json!({
        "domain": "fake.example",
        "configuration": {
            "urls": { "streaming": base.replace("http://", "ws://") },
            "statuses": { "max_characters": 500 },
        },
    }))
    .into_response()
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                k.replace("%5B%5D", "[]").replace("%5b%5d", "[]"),
                v.to_owned(),
            )
        })
        .collect()
}

/// The number the query gives `name`, if it gives one.
fn number(pairs: &[(String, String)], name: &str) -> Option<u64> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse::<u64>().ok())
}

async fn notifications(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = gate(&state, &headers) {
        return refused;
    }
    let pairs = query_pairs(query.as_deref().unwrap_or(""));
    let get = |name: &str| number(&pairs, name);
    let types: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "types[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let limit = get("limit").unwrap_or(40).clamp(1, 80) as usize;
    let s = lock(&state);
    let matching = s
        .notifications
        .iter()
        .filter(|(_, n)| types.is_empty() || types.iter().any(|t| n["type"] == *t));
    let base = format!("{}/api/v1/notifications", s.base_url);
    timeline_page(matching, get, limit, &base)
}

/// One page of `matching` (in id order) as Mastodon pages its timelines: `max_id` bounds it
/// from above, `min_id` asks for the page right after the cursor, `since_id` for the newest
/// page after it; either way newest first, with `Link` headers to the pages around it at
/// `base`. Notifications and the tag timeline are paged alike.
fn timeline_page<'a>(
    matching: impl Iterator<Item = &'a (u64, Value)>,
    get: impl Fn(&str) -> Option<u64>,
    limit: usize,
    base: &str,
) -> Response {
    let matching: Vec<&(u64, Value)> = matching
        .filter(|(id, _)| get("max_id").is_none_or(|max| *id < max))
        .collect();
    let mut page: Vec<&(u64, Value)> = if let Some(min) = get("min_id") {
        matching
            .into_iter()
            .filter(|(id, _)| *id > min)
            .take(limit)
            .collect()
    } else {
        let newer: Vec<_> = matching
            .into_iter()
            .filter(|(id, _)| get("since_id").is_none_or(|since| *id > since))
            .collect();
        let skip = newer.len().saturating_sub(limit);
        newer.into_iter().skip(skip).collect()
    };
    page.reverse();
    let mut response =
        axum::Json(page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>()).into_response();
    if let (Some((newest, _)), Some((oldest, _))) = (page.first(), page.last()) {
        let link = format!(
            "<{base}?max_id={oldest}>; rel=\"next\", <{base}?min_id={newest}>; rel=\"prev\""
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

async fn show_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = gate(&state, &headers) {
        return refused;
    }
    match lock(&state).statuses.get(&id) {
        Some(status) => axum::Json(status.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "Record not found"),
    }
}

async fn create_status(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = gate(&state, &headers) {
        return refused;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid JSON"),
    };
    let mut s = lock(&state);
    s.received.push(ReceivedStatus {
        idempotency_key: key.clone(),
        body: body.clone(),
    });
    if let Some(existing) = key
        .as_ref()
        .and_then(|k| s.by_idempotency_key.get(k))
        .and_then(|id| s.statuses.get(id))
    {
        return axum::Json(existing.clone()).into_response();
    }
    let text = body["status"].as_str().unwrap_or("").trim().to_owned();
    if text.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Text can't be blank",
        );
    }
    let in_reply_to = body["in_reply_to_id"].as_str().map(str::to_owned);
    if in_reply_to
        .as_ref()
        .is_some_and(|id| !s.statuses.contains_key(id))
    {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let id = s.next_status.to_string();
    s.next_status += 1;
    let status = json!({
        "id": id,
        "uri": format!("https://fake.example/users/acme/statuses/{id}"),
        "url": format!("https://fake.example/@acme/{id}"),
        "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "in_reply_to_id": in_reply_to,
        "visibility": body["visibility"].as_str().unwrap_or("public"),
        "content": format!("<p>{}</p>", html_escape::encode_text(&text)),
        "account": {"id": "110000000000000001", "username": "acme", "acct": "acme"},
        "mentions": [], "tags": [], "reblog": null,
    });
    s.statuses.insert(id.clone(), status.clone());
    if let Some(key) = key {
        s.by_idempotency_key.insert(key, id);
    }
    s.created += 1;
    axum::Json(status).into_response()
}

/// A status with hashtags to put on the fake.
#[derive(Debug, Clone)]
pub struct NewTagged {
    /// Who writes it (`lena@fosstodon.example`; `acme` is the brand itself).
    pub acct: String,
    pub text: String,
    /// Tags without `#`.
    pub tags: Vec<String>,
    /// Also send it on the live streams (false: as if the stream lost it).
    pub live: bool,
    /// Makes it a boost of this status id.
    pub boost_of: Option<String>,
}

impl NewTagged {
    pub fn new(acct: &str, text: &str, tag: &str) -> Self {
        NewTagged {
            acct: acct.into(),
            text: text.into(),
            tags: vec![tag.into()],
            live: true,
            boost_of: None,
        }
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn status_json(
    id: u64,
    acct: &str,
    text: &str,
    tags: &[String],
    in_reply_to: Option<&str>,
) -> Value {
    let (user, domain) = acct.split_once('@').unwrap_or((acct, "fake.example"));
    let tag_list: Vec<Value> = tags
        .iter()
        .map(|t| json!({"name": t.to_lowercase(), "url": format!("https://fake.example/tags/{t}")}))
        .collect();
    json!({
        "id": id.to_string(),
        "uri": format!("https://{domain}/users/{user}/statuses/{id}"),
        "url": format!("https://{domain}/@{user}/{id}"),
        "created_at": now(), "edited_at": null,
        "in_reply_to_id": in_reply_to, "in_reply_to_account_id": null,
        "sensitive": false, "spoiler_text": "", "visibility": "public", "language": "en",
        "content": content_html(text, tags),
        "reblog": null,
        "account": {
            "id": format!("10987654321{:07}", user.len()), "username": user, "acct": acct,
            "display_name": user.to_uppercase(), "bot": false,
            "url": format!("https://{domain}/@{user}"), "followers_count": 42,
        },
        "mentions": [], "tags": tag_list, "media_attachments": [], "emojis": [],
    })
}

/// A status's HTML as Mastodon renders it: the text, then each tag as a hashtag link.
fn content_html(text: &str, tags: &[String]) -> String {
    let links: Vec<String> = tags
        .iter()
        .map(|t| {
            format!(
                "<a href=\"https://fake.example/tags/{t}\" class=\"mention hashtag\" rel=\"tag\">#<span>{t}</span></a>"
            )
        })
        .collect();
    format!(
        "<p>{} {}</p>",
        html_escape::encode_text(text),
        links.join(" ")
    )
}

/// `GET /api/v1/timelines/tag/{tag}`: the tagged statuses, paged like notifications
/// (`min_id`, `max_id`, `since_id`, `limit`), newest first, with `Link` headers.
async fn tag_timeline(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(refused) = gate(&state, &headers) {
        return refused;
    }
    let tag = tag.to_lowercase();
    let pairs = query_pairs(query.as_deref().unwrap_or(""));
    let get = |name: &str| number(&pairs, name);
    let limit = get("limit").unwrap_or(20).clamp(1, 40) as usize;
    let s = lock(&state);
    let mut matching: Vec<&(u64, Value)> = s
        .tagged
        .iter()
        .filter(|(_, st)| {
            st["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["name"] == tag.as_str()))
        })
        .collect();
    matching.sort_by_key(|(id, _)| *id);
    let base = format!("{}/api/v1/timelines/tag/{tag}", s.base_url);
    timeline_page(matching.into_iter(), get, limit, &base)
}

/// The WebSocket streaming endpoint, on its own listener.
mod websocket {
    use super::{
        lock, percent_decode, query_pairs, rate_limit_headers, refusal, FakeChannel, Refusal,
        Shared, StreamCommand,
    };
    use futures::{SinkExt, StreamExt};
    use serde_json::json;
    use std::sync::{Arc, Mutex};
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::handshake::server::{
        ErrorResponse, Request, Response as WsResponse,
    };
    use tokio_tungstenite::tungstenite::{http, Message};

    /// What the handshake decided: listen to a channel, or answer with an error frame.
    enum Accepted {
        Listen(FakeChannel, String),
        Unknown,
    }

    // The handshake callback's error type is fixed by tungstenite's `Callback` trait.
    #[allow(clippy::result_large_err)]
    pub(super) async fn serve(tcp: tokio::net::TcpStream, state: Shared) {
        let (tx, mut rx) = mpsc::unbounded_channel::<StreamCommand>();
        let accepted: Arc<Mutex<Option<Accepted>>> = Arc::new(Mutex::new(None));
        let seen = accepted.clone();
        let shared = state.clone();
        let callback =
            move |request: &Request, response: WsResponse| -> Result<WsResponse, ErrorResponse> {
                let refuse = |status: u16, text: &str| {
                    let mut r = http::Response::new(Some(json!({ "error": text }).to_string()));
                    *r.status_mut() =
                        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    r
                };
                if request.uri().path() != "/api/v1/streaming" {
                    return Err(refuse(404, "Not Found"));
                }
                let mut s = lock(&shared);
                match refusal(&mut s, request.headers()) {
                    Some(Refusal::BadToken) => {
                        return Err(refuse(401, "The access token is invalid"));
                    }
                    Some(Refusal::RateLimited { reset }) => {
                        let mut r = refuse(429, "Too many requests");
                        rate_limit_headers(r.headers_mut(), &reset);
                        return Err(r);
                    }
                    None => {}
                }
                let pairs = query_pairs(request.uri().query().unwrap_or(""));
                let value = |k: &str| {
                    pairs
                        .iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| percent_decode(v))
                };
                let decision = match (value("stream").as_deref(), value("tag")) {
                    (Some("user:notification"), _) => {
                        Accepted::Listen(FakeChannel::Notifications, "user:notification".into())
                    }
                    (Some("hashtag"), Some(tag)) if !tag.is_empty() => {
                        let tag = tag.to_lowercase();
                        Accepted::Listen(FakeChannel::Hashtag(tag.clone()), tag)
                    }
                    _ => Accepted::Unknown,
                };
                // Registered before the 101 goes out, so nothing posted after the client sees the
                // connection open can miss it.
                if let Accepted::Listen(channel, _) = &decision {
                    s.streams.push((channel.clone(), tx.clone()));
                    s.stream_connects += 1;
                    s.websocket_connects += 1;
                }
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(decision);
                Ok(response)
            };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
            return;
        };
        let decision = accepted.lock().unwrap_or_else(|p| p.into_inner()).take();
        let stream_name = match decision {
            Some(Accepted::Listen(FakeChannel::Notifications, _)) => json!(["user:notification"]),
            Some(Accepted::Listen(FakeChannel::Hashtag(_), tag)) => json!(["hashtag", tag]),
            Some(Accepted::Unknown) | None => {
                let frame = json!({"error": "Unknown stream type", "status": 400});
                let _ = ws.send(Message::text(frame.to_string())).await;
                let _ = ws.close(None).await;
                return;
            }
        };
        let mut silent = false;
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    None | Some(StreamCommand::Close) => {
                        let _ = ws.close(None).await;
                        return;
                    }
                    // A dead connection: no close frame, the TCP just goes away.
                    Some(StreamCommand::Cut { .. }) => return,
                    Some(StreamCommand::Silence) => silent = true,
                    Some(_) if silent => {}
                    Some(StreamCommand::Write(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                    Some(StreamCommand::Event { name, data }) => {
                        // The payload is a JSON-encoded string, parsed twice by clients.
                        let frame = json!({"stream": stream_name, "event": name, "payload": data});
                        if ws.send(Message::text(frame.to_string())).await.is_err() {
                            return;
                        }
                    }
                },
                frame = ws.next(), if !silent => match frame {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    // tungstenite queues the pong; flushing sends it now.
                    Some(Ok(_)) => {
                        if ws.flush().await.is_err() {
                            return;
                        }
                    }
                },
            }
        }
    }
}
