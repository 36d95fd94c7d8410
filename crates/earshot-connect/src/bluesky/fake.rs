//! A fake Bluesky that speaks the real wire protocols (PROTOCOLS.md §0.4, §2.9), for tests
//! here and in other crates (feature `fake`).
//!
//! Two servers on `127.0.0.1:0`:
//! - **Jetstream v1** ([`FakeBluesky::jetstream_url`]): WebSocket `/subscribe` honouring
//!   `wantedCollections` (including `prefix.*`), `wantedDids` (identity and account events
//!   pass regardless of collections), `cursor` (replay from the in-memory log by `time_us`; a
//!   too-old cursor is clamped silently) and `options_update` frames; compression is refused.
//!   It answers pings with pongs, and tests script: events, the same event twice, events out
//!   of order, broken JSON, a frame cut in the middle (then the TCP connection dies), a close
//!   frame with a code, a close without one (1006), silence without closing (no pongs
//!   either), and failed handshakes (503, 429).
//! - **PDS + AppView** ([`FakeBluesky::base_url`], axum): `createSession`, `refreshSession`
//!   (rotates both tokens; the old refresh token then answers 400 `ExpiredToken`),
//!   `createRecord` (validates `reply.root/parent` strong refs, grapheme and byte limits, facet
//!   byte ranges on UTF-8 boundaries, TID record keys; a taken key answers 500 like the
//!   reference PDS's MST), `getRecord`, `getProfile(s)`, `getPosts`, `listNotifications`.
//!   Access tokens expire after a configurable TTL (400 `ExpiredToken`); the app password can
//!   be revoked (401 `AuthenticationRequired`, every token dead); per-endpoint 429 with
//!   `RateLimit-*` headers (reset in epoch seconds) and 5xx bursts can be scripted.

use super::tid::encode_tid;
use super::wire::POST_COLLECTION;
use crate::fake_server::{bearer, lock, query_pairs, serve_in_background};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{http, Message};
use unicode_segmentation::UnicodeSegmentation;

/// A running fake; both servers stop when it is dropped.
#[derive(Debug)]
pub struct FakeBluesky {
    jetstream: SocketAddr,
    xrpc: SocketAddr,
    state: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

type Shared = Arc<Mutex<FakeState>>;

#[derive(Debug)]
struct FakeState {
    base_url: String,
    brand: Account,
    app_password: Option<String>,
    accounts: HashMap<String, Account>,
    tokens: HashMap<String, Token>,
    access_ttl: Duration,
    next_token: u64,
    next_cid: u64,
    /// Every post, by URI, as the PDS and AppView know it.
    posts: HashMap<String, Stored>,
    /// The Jetstream log, in the order events happened (not necessarily by `time_us`).
    log: Vec<Logged>,
    last_time_us: i64,
    /// The brand's notifications, oldest first.
    notifications: Vec<Value>,
    streams: Vec<mpsc::UnboundedSender<Command>>,
    subscriptions: Vec<String>,
    handshake_failures: VecDeque<u16>,
    rate_limited: HashMap<String, (u32, Duration)>,
    failing: HashMap<String, (u32, u16)>,
    lose_next_create_answer: bool,
    profile_delay: Duration,
    calls: HashMap<String, usize>,
    received: Vec<Value>,
    created: usize,
    logins: usize,
    refreshes: usize,
}

#[derive(Debug, Clone)]
struct Account {
    did: String,
    handle: String,
    followers: u64,
}

#[derive(Debug, Clone)]
struct Token {
    refresh: bool,
    did: String,
    expires: Option<Instant>,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct Stored {
    did: String,
    cid: String,
    record: Value,
    indexed_at: String,
}

#[derive(Debug, Clone)]
struct Logged {
    time_us: i64,
    did: String,
    /// `None` for identity and account events.
    collection: Option<String>,
    json: String,
}

#[derive(Debug)]
enum Command {
    Send(Logged),
    Raw(String),
    Cut(String),
    Close(u16, String),
    Drop,
    Silence,
}

impl Command {
    fn copy(&self) -> Command {
        match self {
            Command::Send(l) => Command::Send(l.clone()),
            Command::Raw(t) => Command::Raw(t.clone()),
            Command::Cut(t) => Command::Cut(t.clone()),
            Command::Close(c, r) => Command::Close(*c, r.clone()),
            Command::Drop => Command::Drop,
            Command::Silence => Command::Silence,
        }
    }
}

/// A post on the fake, as tests refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePost {
    pub uri: String,
    pub cid: String,
    pub did: String,
    pub rkey: String,
    pub time_us: i64,
}

/// A post to put on the fake.
#[derive(Debug, Clone)]
pub struct PostSpec {
    /// The author's DID.
    pub author: String,
    pub text: String,
    pub langs: Vec<String>,
    /// The post this one answers (the thread root is taken from it).
    pub reply_to: Option<FakePost>,
    /// DIDs of accounts whose `@handle` appears in the text: each gets a mention facet at the
    /// handle's byte offsets.
    pub mentions: Vec<String>,
    /// The event time; by default the clock, kept increasing.
    pub time_us: Option<i64>,
    /// Also send it on the live streams (false: as if the stream lost it; replays still have it).
    pub live: bool,
}

impl PostSpec {
    pub fn new(author: &str, text: &str) -> Self {
        PostSpec {
            author: author.into(),
            text: text.into(),
            langs: vec!["en".into()],
            reply_to: None,
            mentions: Vec::new(),
            time_us: None,
            live: true,
        }
    }
}

impl FakeBluesky {
    /// Starts both servers with the brand account `brand_handle`/`brand_did`, which logs in
    /// with `app_password`. Access tokens live 120 minutes unless [`Self::set_access_ttl`].
    pub async fn start(
        brand_handle: &str,
        brand_did: &str,
        app_password: &str,
    ) -> std::io::Result<FakeBluesky> {
        let jetstream = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let xrpc = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let (jetstream_addr, xrpc_addr) = (jetstream.local_addr()?, xrpc.local_addr()?);
        let brand = Account {
            did: brand_did.into(),
            handle: brand_handle.into(),
            followers: 1520,
        };
        let state = Arc::new(Mutex::new(FakeState {
            base_url: format!("http://{xrpc_addr}"),
            accounts: HashMap::from([(brand.did.clone(), brand.clone())]),
            brand,
            app_password: Some(app_password.into()),
            tokens: HashMap::new(),
            access_ttl: Duration::from_secs(120 * 60),
            next_token: 1,
            next_cid: 1,
            posts: HashMap::new(),
            log: Vec::new(),
            last_time_us: 0,
            notifications: Vec::new(),
            streams: Vec::new(),
            subscriptions: Vec::new(),
            handshake_failures: VecDeque::new(),
            rate_limited: HashMap::new(),
            failing: HashMap::new(),
            lose_next_create_answer: false,
            profile_delay: Duration::ZERO,
            calls: HashMap::new(),
            received: Vec::new(),
            created: 0,
            logins: 0,
            refreshes: 0,
        }));
        let app = Router::new()
            .route(
                "/xrpc/com.atproto.server.createSession",
                post(create_session),
            )
            .route(
                "/xrpc/com.atproto.server.refreshSession",
                post(refresh_session),
            )
            .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
            .route("/xrpc/com.atproto.repo.getRecord", get(get_record))
            .route("/xrpc/app.bsky.actor.getProfile", get(get_profile))
            .route("/xrpc/app.bsky.actor.getProfiles", get(get_profiles))
            .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
            .route(
                "/xrpc/app.bsky.notification.listNotifications",
                get(list_notifications),
            )
            .with_state(state.clone());
        let http_task = serve_in_background(xrpc, app, "fake bluesky xrpc");
        let ws_state = state.clone();
        let ws_task = tokio::spawn(async move {
            while let Ok((tcp, _)) = jetstream.accept().await {
                tokio::spawn(serve_subscriber(tcp, ws_state.clone()));
            }
        });
        Ok(FakeBluesky {
            jetstream: jetstream_addr,
            xrpc: xrpc_addr,
            state,
            tasks: vec![http_task, ws_task],
        })
    }

    /// The Jetstream host, `ws://127.0.0.1:<port>`.
    pub fn jetstream_url(&self) -> String {
        format!("ws://{}", self.jetstream)
    }

    /// The PDS, entryway and AppView (one server).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.xrpc)
    }

    /// An account the AppView knows (for profiles and handle resolution).
    pub fn add_account(&self, did: &str, handle: &str, followers: u64) {
        lock(&self.state).accounts.insert(
            did.into(),
            Account {
                did: did.into(),
                handle: handle.into(),
                followers,
            },
        );
    }

    /// Publishes a post: stored for the PDS/AppView, logged for replays, sent live unless
    /// `spec.live` is false, and a notification when it mentions or answers the brand.
    pub fn post(&self, spec: PostSpec) -> FakePost {
        let (post, logged) = self.store_post(&spec, "create");
        if spec.live {
            self.broadcast(Command::Send(logged));
        }
        post
    }

    /// Publishes a post, but its live frame is cut in the middle and every connection dies.
    pub fn post_cut_mid_frame(&self, spec: PostSpec) -> FakePost {
        let (post, logged) = self.store_post(&spec, "create");
        self.broadcast(Command::Cut(logged.json));
        post
    }

    /// The author edits `post` (an `update` commit with a new CID).
    pub fn update(&self, post: &FakePost, text: &str) -> FakePost {
        let mut s = lock(&self.state);
        let time_us = s.next_time(None);
        let cid = s.cid();
        let Some(stored) = s.posts.get_mut(&post.uri) else {
            return post.clone();
        };
        stored.record["text"] = json!(text);
        stored.cid = cid.clone();
        let record = stored.record.clone();
        let logged = s.log_commit(
            time_us,
            &post.did,
            "update",
            &post.rkey,
            Some((&record, &cid)),
        );
        drop(s);
        self.broadcast(Command::Send(logged));
        FakePost {
            cid,
            time_us,
            ..post.clone()
        }
    }

    /// The author deletes `post`; returns the event's `time_us`. `time_us` overrides the clock.
    pub fn delete(&self, post: &FakePost, time_us: Option<i64>) -> i64 {
        let mut s = lock(&self.state);
        let time_us = s.next_time(time_us);
        s.posts.remove(&post.uri);
        let logged = s.log_commit(time_us, &post.did, "delete", &post.rkey, None);
        drop(s);
        self.broadcast(Command::Send(logged));
        time_us
    }

    /// A like (another collection), which a `wantedCollections` filter keeps away.
    pub fn like(&self, author: &str, subject: &FakePost) {
        let mut s = lock(&self.state);
        let time_us = s.next_time(None);
        let rkey = encode_tid((time_us as u64) << 10);
        let record = json!({"$type": "app.bsky.feed.like", "subject": {"uri": subject.uri, "cid": subject.cid},
            "createdAt": now_text()});
        let cid = s.cid();
        let event = json!({"did": author, "time_us": time_us, "kind": "commit",
            "commit": {"rev": rkey, "operation": "create", "collection": "app.bsky.feed.like",
                "rkey": rkey, "record": record, "cid": cid}});
        let logged = s.push_log(
            time_us,
            author,
            Some("app.bsky.feed.like"),
            event.to_string(),
        );
        drop(s);
        self.broadcast(Command::Send(logged));
    }

    /// An identity event (the account's handle changed).
    pub fn identity(&self, did: &str, handle: &str) {
        let mut s = lock(&self.state);
        let time_us = s.next_time(None);
        if let Some(a) = s.accounts.get_mut(did) {
            a.handle = handle.into();
        }
        let event = json!({"did": did, "time_us": time_us, "kind": "identity",
            "identity": {"did": did, "handle": handle, "seq": time_us / 1000, "time": now_text()}});
        let logged = s.push_log(time_us, did, None, event.to_string());
        drop(s);
        self.broadcast(Command::Send(logged));
    }

    /// An account event (`active:false` with a status, or reactivation).
    pub fn account_status(&self, did: &str, active: bool, status: Option<&str>) {
        let mut s = lock(&self.state);
        let time_us = s.next_time(None);
        let mut account =
            json!({"active": active, "did": did, "seq": time_us / 1000, "time": now_text()});
        if let Some(status) = status {
            account["status"] = json!(status);
        }
        let event = json!({"did": did, "time_us": time_us, "kind": "account", "account": account});
        let logged = s.push_log(time_us, did, None, event.to_string());
        drop(s);
        self.broadcast(Command::Send(logged));
    }

    /// Sends the logged event with `time_us` on the live streams again (a redelivery).
    pub fn resend(&self, time_us: i64) {
        let logged = lock(&self.state)
            .log
            .iter()
            .find(|l| l.time_us == time_us)
            .cloned();
        if let Some(logged) = logged {
            self.broadcast(Command::Send(logged));
        }
    }

    /// Writes a text frame as it is (broken JSON, an unknown kind) on every live stream.
    pub fn push_raw(&self, text: &str) {
        self.broadcast(Command::Raw(text.into()));
    }

    /// Closes every live stream with a close frame.
    pub fn close_streams(&self, code: u16, reason: &str) {
        self.broadcast(Command::Close(code, reason.into()));
    }

    /// Drops every live stream's TCP connection without a close frame (a 1006 for the client).
    pub fn drop_streams(&self) {
        self.broadcast(Command::Drop);
    }

    /// Every live stream goes quiet without closing: no events, no pongs (a half-open socket).
    pub fn silence_streams(&self) {
        self.broadcast(Command::Silence);
    }

    /// The next WebSocket handshakes fail with these HTTP statuses, one each.
    pub fn fail_handshakes(&self, statuses: &[u16]) {
        lock(&self.state).handshake_failures.extend(statuses);
    }

    /// The query string of every accepted subscription, in order.
    pub fn subscriptions(&self) -> Vec<String> {
        lock(&self.state).subscriptions.clone()
    }

    /// Access tokens issued from now on expire after `ttl`.
    pub fn set_access_ttl(&self, ttl: Duration) {
        lock(&self.state).access_ttl = ttl;
    }

    /// The app password is revoked: logins are refused and every token is dead.
    pub fn revoke_app_password(&self) {
        let mut s = lock(&self.state);
        s.app_password = None;
        for token in s.tokens.values_mut() {
            token.revoked = true;
        }
    }

    /// The next `n` calls of `nsid` answer 429 with `RateLimit-*` headers resetting `reset_in`
    /// from now (in whole epoch seconds, as Bluesky sends them).
    pub fn rate_limit_next(&self, nsid: &str, n: u32, reset_in: Duration) {
        lock(&self.state)
            .rate_limited
            .insert(nsid.into(), (n, reset_in));
    }

    /// The next `n` calls of `nsid` answer `status` (a 5xx burst).
    pub fn fail_next(&self, nsid: &str, n: u32, status: u16) {
        lock(&self.state).failing.insert(nsid.into(), (n, status));
    }

    /// The next `createRecord` creates the record but answers 502, as if the answer was lost.
    pub fn lose_next_create_answer(&self) {
        lock(&self.state).lose_next_create_answer = true;
    }

    /// Profile lookups take this long (a slow AppView).
    pub fn set_profile_delay(&self, delay: Duration) {
        lock(&self.state).profile_delay = delay;
    }

    /// How many times `nsid` was called.
    pub fn calls(&self, nsid: &str) -> usize {
        lock(&self.state).calls.get(nsid).copied().unwrap_or(0)
    }

    /// Every `createRecord` body received, in order.
    pub fn received(&self) -> Vec<Value> {
        lock(&self.state).received.clone()
    }

    /// How many records `createRecord` created.
    pub fn records_created(&self) -> usize {
        lock(&self.state).created
    }

    /// Successful `createSession` and `refreshSession` calls.
    pub fn logins(&self) -> usize {
        lock(&self.state).logins
    }

    pub fn refreshes(&self) -> usize {
        lock(&self.state).refreshes
    }

    /// A record as the PDS holds it.
    pub fn record(&self, uri: &str) -> Option<Value> {
        lock(&self.state).posts.get(uri).map(|p| p.record.clone())
    }

    fn store_post(&self, spec: &PostSpec, operation: &str) -> (FakePost, Logged) {
        let mut s = lock(&self.state);
        let time_us = s.next_time(spec.time_us);
        let rkey = encode_tid(((time_us as u64) << 10) | (s.next_cid & 0x3ff));
        let cid = s.cid();
        let uri = format!("at://{}/{POST_COLLECTION}/{rkey}", spec.author);
        let mut record =
            json!({"$type": POST_COLLECTION, "text": spec.text, "createdAt": now_text()});
        if !spec.langs.is_empty() {
            record["langs"] = json!(spec.langs);
        }
        let facets: Vec<Value> = spec
            .mentions
            .iter()
            .filter_map(|did| {
                let handle = format!("@{}", s.accounts.get(did)?.handle);
                let start = spec.text.find(&handle)?;
                Some(
                    json!({"index": {"byteStart": start, "byteEnd": start + handle.len()},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]}),
                )
            })
            .collect();
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if let Some(parent) = &spec.reply_to {
            let root = s
                .posts
                .get(&parent.uri)
                .and_then(|p| p.record.get("reply").map(|r| r["root"].clone()))
                .unwrap_or_else(|| json!({"uri": parent.uri, "cid": parent.cid}));
            record["reply"] =
                json!({"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}});
        }
        let brand = s.brand.did.clone();
        let reason = if spec.mentions.contains(&brand) {
            Some("mention")
        } else if spec.reply_to.as_ref().is_some_and(|p| p.did == brand) {
            Some("reply")
        } else {
            None
        };
        let indexed_at = now_text();
        if let (Some(reason), true) = (reason, spec.author != brand) {
            let author = s.profile_view(&spec.author);
            let notification = json!({"uri": uri, "cid": cid, "author": author, "reason": reason,
                "record": record, "isRead": false, "indexedAt": indexed_at, "labels": []});
            s.notifications.push(notification);
        }
        s.posts.insert(
            uri.clone(),
            Stored {
                did: spec.author.clone(),
                cid: cid.clone(),
                record: record.clone(),
                indexed_at,
            },
        );
        let logged = s.log_commit(
            time_us,
            &spec.author,
            operation,
            &rkey,
            Some((&record, &cid)),
        );
        let post = FakePost {
            uri,
            cid,
            did: spec.author.clone(),
            rkey,
            time_us,
        };
        (post, logged)
    }

    fn broadcast(&self, command: Command) {
        let mut s = lock(&self.state);
        s.streams.retain(|tx| tx.send(command.copy()).is_ok());
        if matches!(
            command,
            Command::Cut(_) | Command::Close(..) | Command::Drop
        ) {
            s.streams.clear();
        }
    }
}

impl Drop for FakeBluesky {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        lock(&self.state).streams.clear();
    }
}

impl FakeState {
    fn next_time(&mut self, wanted: Option<i64>) -> i64 {
        let t = wanted.unwrap_or_else(|| Utc::now().timestamp_micros().max(self.last_time_us + 1));
        self.last_time_us = self.last_time_us.max(t);
        t
    }

    fn cid(&mut self) -> String {
        const A: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
        let mut n = self.next_cid.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.next_cid += 1;
        let tail: String = (0..52)
            .map(|i| {
                if i % 12 == 0 {
                    n = n.rotate_left(17) ^ 0x5bd1_e995;
                }
                let c = A[(n >> ((i % 12) * 5) & 31) as usize];
                char::from(c)
            })
            .collect();
        format!("bafyrei{tail}")
    }

    fn log_commit(
        &mut self,
        time_us: i64,
        did: &str,
        operation: &str,
        rkey: &str,
        record: Option<(&Value, &str)>,
    ) -> Logged {
        let rev = encode_tid((time_us as u64) << 10);
        let mut commit = json!({"rev": rev, "operation": operation, "collection": POST_COLLECTION, "rkey": rkey});
        if let Some((record, cid)) = record {
            commit["record"] = record.clone();
            commit["cid"] = json!(cid);
        }
        let event = json!({"did": did, "time_us": time_us, "kind": "commit", "commit": commit});
        self.push_log(time_us, did, Some(POST_COLLECTION), event.to_string())
    }

    fn push_log(
        &mut self,
        time_us: i64,
        did: &str,
        collection: Option<&str>,
        json: String,
    ) -> Logged {
        let logged = Logged {
            time_us,
            did: did.into(),
            collection: collection.map(str::to_owned),
            json,
        };
        self.log.push(logged.clone());
        logged
    }

    fn profile_view(&self, did: &str) -> Value {
        match self.accounts.get(did) {
            Some(a) => {
                json!({"did": a.did, "handle": a.handle, "displayName": a.handle.split('.').next().unwrap_or("").to_uppercase(),
                "description": "", "followersCount": a.followers, "followsCount": 12, "postsCount": 345,
                "indexedAt": "2026-01-01T00:00:00.000Z", "createdAt": "2025-01-01T00:00:00.000Z", "labels": []})
            }
            None => json!({"did": did, "handle": "handle.invalid", "labels": []}),
        }
    }

    fn issue_tokens(&mut self, did: &str) -> (String, String) {
        let n = self.next_token;
        self.next_token += 1;
        let access = format!(
            "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.eyJzY29wZSI6ImNvbS5hdHByb3RvLmFwcFBhc3MiLCJuIjoi{n:08}In0.c2lnbmF0dXJl"
        );
        let refresh = format!(
            "eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.eyJzY29wZSI6ImNvbS5hdHByb3RvLnJlZnJlc2giLCJuIjoi{n:08}In0.c2lnbmF0dXJl"
        );
        let expires = Instant::now() + self.access_ttl;
        self.tokens.insert(
            access.clone(),
            Token {
                refresh: false,
                did: did.into(),
                expires: Some(expires),
                revoked: false,
            },
        );
        self.tokens.insert(
            refresh.clone(),
            Token {
                refresh: true,
                did: did.into(),
                expires: None,
                revoked: false,
            },
        );
        (access, refresh)
    }

    fn session_body(&self, access: &str, refresh: &str) -> Value {
        json!({
            "did": self.brand.did, "handle": self.brand.handle,
            "accessJwt": access, "refreshJwt": refresh,
            "didDoc": {"@context": ["https://www.w3.org/ns/did/v1"], "id": self.brand.did,
                "alsoKnownAs": [format!("at://{}", self.brand.handle)],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.base_url}]},
            "active": true, "email": "social@acme.example", "emailConfirmed": true,
        })
    }
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "message": message})),
    )
        .into_response()
}

/// Counts the call and answers a scripted 5xx or 429 for `nsid`, if one is due.
fn gate(state: &Shared, nsid: &str) -> Option<Response> {
    let mut s = lock(state);
    *s.calls.entry(nsid.into()).or_insert(0) += 1;
    if let Some((n, status)) = s.failing.get_mut(nsid).filter(|(n, _)| *n > 0) {
        *n -= 1;
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
        return Some(xrpc_error(
            status,
            "InternalServerError",
            "Internal Server Error",
        ));
    }
    if let Some((n, reset_in)) = s.rate_limited.get_mut(nsid).filter(|(n, _)| *n > 0) {
        *n -= 1;
        // Epoch seconds, rounded up so the client never retries before the real reset.
        let reset = (Utc::now() + chrono::Duration::from_std(*reset_in).unwrap_or_default())
            .timestamp()
            + 1;
        let mut response = xrpc_error(
            StatusCode::TOO_MANY_REQUESTS,
            "RateLimitExceeded",
            "Rate Limit Exceeded",
        );
        let h = response.headers_mut();
        h.insert("RateLimit-Limit", HeaderValue::from_static("100"));
        h.insert("RateLimit-Remaining", HeaderValue::from_static("0"));
        h.insert("RateLimit-Policy", HeaderValue::from_static("100;w=300"));
        if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
            h.insert("RateLimit-Reset", v);
        }
        return Some(response);
    }
    None
}

/// Why the PDS refused a token: status, XRPC error name, message.
type Refusal = (StatusCode, &'static str, &'static str);

/// The DID behind a valid access token, or the PDS's refusal.
fn authorise(state: &Shared, headers: &HeaderMap) -> Result<String, Refusal> {
    let s = lock(state);
    let Some(token) = bearer(headers) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        ));
    };
    match s.tokens.get(token) {
        Some(t) if t.refresh => Err((
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Invalid token type",
        )),
        Some(t) if t.revoked => Err((
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has been revoked",
        )),
        Some(t) if t.expires.is_some_and(|e| Instant::now() >= e) => {
            Err((StatusCode::BAD_REQUEST, "ExpiredToken", "Token has expired"))
        }
        Some(t) => Ok(t.did.clone()),
        None => Err((
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
            "Token could not be verified",
        )),
    }
}

async fn create_session(State(state): State<Shared>, body: Bytes) -> Response {
    if let Some(r) = gate(&state, "com.atproto.server.createSession") {
        return r;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut s = lock(&state);
    let identifier = body["identifier"].as_str().unwrap_or("").to_lowercase();
    let who_ok = identifier == s.brand.handle.to_lowercase() || identifier == s.brand.did;
    let password_ok = s
        .app_password
        .as_deref()
        .is_some_and(|p| body["password"].as_str() == Some(p));
    if !(who_ok && password_ok) {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    }
    let did = s.brand.did.clone();
    let (access, refresh) = s.issue_tokens(&did);
    s.logins += 1;
    axum::Json(s.session_body(&access, &refresh)).into_response()
}

async fn refresh_session(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&state, "com.atproto.server.refreshSession") {
        return r;
    }
    let mut s = lock(&state);
    let token = bearer(&headers).unwrap_or("").to_owned();
    let did = match s.tokens.get(&token) {
        Some(t) if t.refresh && !t.revoked => t.did.clone(),
        Some(t) if t.refresh => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "ExpiredToken",
                "Token has been revoked",
            )
        }
        Some(_) => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "InvalidToken",
                "Invalid token type",
            )
        }
        None => {
            return xrpc_error(
                StatusCode::UNAUTHORIZED,
                "InvalidToken",
                "Token could not be verified",
            )
        }
    };
    // Rotation: the old refresh token is revoked once used.
    if let Some(old) = s.tokens.get_mut(&token) {
        old.revoked = true;
    }
    let (access, refresh) = s.issue_tokens(&did);
    s.refreshes += 1;
    axum::Json(s.session_body(&access, &refresh)).into_response()
}

/// Checks a post record as the PDS's lexicon validation would (the parts earshot sends).
fn invalid_record(record: &Value) -> Option<String> {
    if record["$type"] != POST_COLLECTION {
        return Some("Record/$type must be app.bsky.feed.post".into());
    }
    let Some(text) = record["text"].as_str() else {
        return Some("Record must have the property \"text\"".into());
    };
    if text.graphemes(true).count() > 300 {
        return Some("Record/text must not be longer than 300 graphemes".into());
    }
    if text.len() > 3000 {
        return Some("Record/text must not be longer than 3000 characters".into());
    }
    match record["createdAt"].as_str() {
        Some(t) if chrono::DateTime::parse_from_rfc3339(t).is_ok() => {}
        _ => return Some("Record/createdAt must be an valid atproto datetime".into()),
    }
    if let Some(reply) = record.get("reply") {
        for part in ["root", "parent"] {
            let r = &reply[part];
            let uri_ok = r["uri"].as_str().is_some_and(|u| u.starts_with("at://"));
            let cid_ok = r["cid"].as_str().is_some_and(|c| !c.is_empty());
            if !uri_ok || !cid_ok {
                return Some(format!(
                    "Record/reply/{part} must be a strongRef {{uri, cid}}"
                ));
            }
        }
    }
    for (i, facet) in record["facets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let start = facet["index"]["byteStart"].as_u64().unwrap_or(u64::MAX) as usize;
        let end = facet["index"]["byteEnd"].as_u64().unwrap_or(0) as usize;
        if start >= end || text.get(start..end).is_none() {
            return Some(format!(
                "Record/facets/{i}/index must be a byte range on UTF-8 boundaries of the text"
            ));
        }
        let features_ok = facet["features"]
            .as_array()
            .is_some_and(|f| !f.is_empty() && f.iter().all(|f| f["$type"].is_string()));
        if !features_ok {
            return Some(format!("Record/facets/{i}/features must be typed"));
        }
    }
    None
}

async fn create_record(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = gate(&state, "com.atproto.repo.createRecord") {
        return r;
    }
    let did = match authorise(&state, &headers) {
        Ok(did) => did,
        Err((status, error, message)) => return xrpc_error(status, error, message),
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid JSON");
    };
    let mut s = lock(&state);
    s.received.push(body.clone());
    if body["repo"].as_str() != Some(did.as_str()) && body["repo"].as_str() != Some(&s.brand.handle)
    {
        return xrpc_error(StatusCode::FORBIDDEN, "InvalidRequest", "Invalid repo");
    }
    if body["collection"] != POST_COLLECTION {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid collection",
        );
    }
    let record = body["record"].clone();
    if let Some(problem) = invalid_record(&record) {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("Invalid app.bsky.feed.post record: {problem}"),
        );
    }
    let rkey = match body["rkey"].as_str() {
        Some(k) if super::tid::is_tid(k) => k.to_owned(),
        Some(_) => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Invalid record key",
            )
        }
        None => {
            let t = s.next_time(None);
            encode_tid((t as u64) << 10)
        }
    };
    let uri = format!("at://{did}/{POST_COLLECTION}/{rkey}");
    if s.posts.contains_key(&uri) {
        // The reference PDS's MST throws "There is already a value at key", surfacing as a 500.
        return xrpc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    }
    let cid = s.cid();
    let time_us = s.next_time(None);
    s.posts.insert(
        uri.clone(),
        Stored {
            did: did.clone(),
            cid: cid.clone(),
            record: record.clone(),
            indexed_at: now_text(),
        },
    );
    s.created += 1;
    let logged = s.log_commit(time_us, &did, "create", &rkey, Some((&record, &cid)));
    s.streams
        .retain(|tx| tx.send(Command::Send(logged.clone())).is_ok());
    if std::mem::take(&mut s.lose_next_create_answer) {
        return xrpc_error(
            StatusCode::BAD_GATEWAY,
            "UpstreamFailure",
            "Upstream Failure",
        );
    }
    let rev = encode_tid((time_us as u64) << 10);
    axum::Json(json!({"uri": uri, "cid": cid, "commit": {"cid": s.cid(), "rev": rev}, "validationStatus": "valid"}))
        .into_response()
}

async fn get_record(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = gate(&state, "com.atproto.repo.getRecord") {
        return r;
    }
    let q = query_pairs(query.as_deref().unwrap_or(""));
    let one = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let uri = format!("at://{}/{}/{}", one("repo"), one("collection"), one("rkey"));
    match lock(&state).posts.get(&uri) {
        Some(p) => axum::Json(json!({"uri": uri, "cid": p.cid, "value": p.record})).into_response(),
        None => xrpc_error(
            StatusCode::BAD_REQUEST,
            "RecordNotFound",
            &format!("Could not locate record: {uri}"),
        ),
    }
}

async fn profile_delay(state: &Shared) {
    let delay = lock(state).profile_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

fn find_account<'s>(s: &'s FakeState, actor: &str) -> Option<&'s Account> {
    s.accounts
        .values()
        .find(|a| a.did == actor || a.handle.eq_ignore_ascii_case(actor))
}

async fn get_profile(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = gate(&state, "app.bsky.actor.getProfile") {
        return r;
    }
    profile_delay(&state).await;
    let q = query_pairs(query.as_deref().unwrap_or(""));
    let actor = q
        .iter()
        .find(|(k, _)| k == "actor")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let s = lock(&state);
    match find_account(&s, &actor) {
        Some(a) => axum::Json(s.profile_view(&a.did)).into_response(),
        None => xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Profile not found",
        ),
    }
}

async fn get_profiles(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = gate(&state, "app.bsky.actor.getProfiles") {
        return r;
    }
    profile_delay(&state).await;
    let q = query_pairs(query.as_deref().unwrap_or(""));
    let actors: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "actors")
        .map(|(_, v)| v.as_str())
        .collect();
    if actors.len() > 25 {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Error: actors must not have more than 25 elements",
        );
    }
    let s = lock(&state);
    let profiles: Vec<Value> = actors
        .iter()
        .filter_map(|a| find_account(&s, a))
        .map(|a| s.profile_view(&a.did))
        .collect();
    axum::Json(json!({ "profiles": profiles })).into_response()
}

async fn get_posts(State(state): State<Shared>, RawQuery(query): RawQuery) -> Response {
    if let Some(r) = gate(&state, "app.bsky.feed.getPosts") {
        return r;
    }
    let q = query_pairs(query.as_deref().unwrap_or(""));
    let s = lock(&state);
    let posts: Vec<Value> = q
        .iter()
        .filter(|(k, _)| k == "uris")
        .filter_map(|(_, uri)| {
            let p = s.posts.get(uri)?;
            Some(json!({"uri": uri, "cid": p.cid, "author": s.profile_view(&p.did), "record": p.record,
                "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
                "indexedAt": p.indexed_at, "labels": []}))
        })
        .collect();
    axum::Json(json!({ "posts": posts })).into_response()
}

async fn list_notifications(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = gate(&state, "app.bsky.notification.listNotifications") {
        return r;
    }
    if let Err((status, error, message)) = authorise(&state, &headers) {
        return xrpc_error(status, error, message);
    }
    let q = query_pairs(query.as_deref().unwrap_or(""));
    let reasons: HashSet<&str> = q
        .iter()
        .filter(|(k, _)| k == "reasons")
        .map(|(_, v)| v.as_str())
        .collect();
    let limit = q
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let s = lock(&state);
    let page: Vec<Value> = s
        .notifications
        .iter()
        .rev()
        .filter(|n| reasons.is_empty() || n["reason"].as_str().is_some_and(|r| reasons.contains(r)))
        .take(limit)
        .cloned()
        .collect();
    let mut body = json!({ "notifications": page, "priority": false });
    if page.len() == limit {
        body["cursor"] = json!(page
            .last()
            .and_then(|n| n["indexedAt"].as_str())
            .unwrap_or(""));
    }
    axum::Json(body).into_response()
}

// --- Jetstream ---------------------------------------------------------------------------

/// What one subscriber asked for.
#[derive(Debug, Clone, Default)]
struct Filters {
    collections: Vec<String>,
    dids: Vec<String>,
}

impl Filters {
    fn wants(&self, event: &Logged) -> bool {
        let did_ok = self.dids.is_empty() || self.dids.contains(&event.did);
        let collection_ok = match &event.collection {
            None => true, // Identity and account events ignore wantedCollections.
            Some(c) => {
                self.collections.is_empty()
                    || self.collections.iter().any(|w| match w.strip_suffix(".*") {
                        Some(prefix) => c.starts_with(&format!("{prefix}.")),
                        None => w == c,
                    })
            }
        };
        did_ok && collection_ok
    }
}

/// What the handshake accepted: the filters and the replay cut at that moment.
type Accepted = Arc<Mutex<Option<(Filters, Vec<Logged>)>>>;

// The handshake callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn serve_subscriber(tcp: tokio::net::TcpStream, state: Shared) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let accepted: Accepted = Arc::new(Mutex::new(None));
    let seen = accepted.clone();
    let shared = state.clone();
    let callback = move |request: &Request,
                         response: WsResponse|
          -> Result<WsResponse, ErrorResponse> {
        let query = request.uri().query().unwrap_or("").to_owned();
        let refuse = |status: u16, text: &str| {
            let mut r = http::Response::new(Some(text.to_owned()));
            *r.status_mut() =
                http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
            r
        };
        if request.uri().path() != "/subscribe" {
            return Err(refuse(404, "404 page not found"));
        }
        let mut s = lock(&shared);
        if let Some(status) = s.handshake_failures.pop_front() {
            let mut r = refuse(status, "upstream unavailable");
            if status == 429 {
                r.headers_mut()
                    .insert("Retry-After", http::HeaderValue::from_static("1"));
            }
            return Err(r);
        }
        let pairs = query_pairs(&query);
        let all = |k: &str| -> Vec<String> {
            pairs
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        if all("compress").iter().any(|v| v == "true") {
            return Err(refuse(400, "this fake does not speak zstd"));
        }
        let filters = Filters {
            collections: all("wantedCollections"),
            dids: all("wantedDids"),
        };
        // Registered before the 101 goes out, so nothing published after the client sees the
        // connection open can miss it; the replay is cut at the same moment.
        let replay: Vec<Logged> = match all("cursor").first().and_then(|c| c.parse::<i64>().ok()) {
            Some(cursor) => s
                .log
                .iter()
                .filter(|l| l.time_us >= cursor)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        s.streams.push(tx.clone());
        s.subscriptions.push(query);
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((filters, replay));
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let Some((mut filters, replay)) = accepted.lock().unwrap_or_else(|p| p.into_inner()).take()
    else {
        return;
    };
    for event in replay.iter().filter(|e| filters.wants(e)) {
        if ws.send(Message::text(event.json.clone())).await.is_err() {
            return;
        }
    }
    let mut silent = false;
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                None | Some(Command::Drop) => return,
                Some(_) if silent => {}
                Some(Command::Send(event)) => {
                    if filters.wants(&event) && ws.send(Message::text(event.json)).await.is_err() {
                        return;
                    }
                }
                Some(Command::Raw(text)) => {
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Some(Command::Cut(json)) => {
                    let _ = ws.flush().await;
                    let payload = json.as_bytes();
                    let half = &payload[..payload.len() / 2];
                    // A text frame header announcing the whole payload, then only half of it.
                    let mut frame = vec![0x81u8];
                    match payload.len() {
                        n if n < 126 => frame.push(n as u8),
                        n if n <= 0xffff => {
                            frame.push(126);
                            frame.extend_from_slice(&(n as u16).to_be_bytes());
                        }
                        n => {
                            frame.push(127);
                            frame.extend_from_slice(&(n as u64).to_be_bytes());
                        }
                    }
                    frame.extend_from_slice(half);
                    let tcp = ws.get_mut();
                    let _ = tcp.write_all(&frame).await;
                    let _ = tcp.flush().await;
                    let _ = tcp.shutdown().await;
                    return;
                }
                Some(Command::Close(code, reason)) => {
                    let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() })).await;
                    return;
                }
                Some(Command::Silence) => silent = true,
            },
            message = ws.next(), if !silent => match message {
                Some(Ok(Message::Text(text))) => {
                    // `options_update` changes the filters live; anything invalid disconnects.
                    let update: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    if update["type"] != "options_update" {
                        let _ = ws.close(Some(CloseFrame { code: CloseCode::Policy, reason: "invalid message".into() })).await;
                        return;
                    }
                    let list = |k: &str| -> Vec<String> {
                        update["payload"][k].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                    };
                    filters = Filters { collections: list("wantedCollections"), dids: list("wantedDids") };
                }
                Some(Ok(_)) => {} // Pings are answered by the library as it reads.
                Some(Err(_)) | None => return,
            },
        }
    }
}
