//! A fake X API v2 that speaks the real wire protocol (PROTOCOLS.md §0.4, §3.9), for tests
//! here and in other crates (feature `fake`).
//!
//! It binds `127.0.0.1:0` and serves:
//! - `GET|POST /2/tweets/search/stream/rules`: list (paged), add and delete, `dry_run`,
//!   `meta.summary` counts, duplicate and invalid rules in `errors[]`;
//! - `GET /2/tweets/search/stream`: `\r\n`-terminated JSON lines with `matching_rules`, a bare
//!   `\r\n` keep-alive at a configurable period, `409` without rules, `429 TooManyConnections`
//!   when a second connection opens, inline `operational-disconnect` lines;
//! - `GET /2/tweets/search/recent` and `GET /2/users/{id}/mentions` / `/tweets`: newest
//!   first, `since_id`, `max_results` ranges (`400` outside them), `next_token` paging,
//!   `meta`, no `data` when empty, `resource-not-found` for deleted referenced posts;
//! - `POST /2/tweets` (`201`, recorded; summoned-only replies, duplicate content, a per-user
//!   window), `GET /2/users/me`, `POST /2/oauth2/token` (two-hour tokens, rotating refresh).
//!
//! Every answer carries `x-rate-limit-limit/-remaining/-reset` (epoch seconds); tests script
//! 429s, 5xx bursts, answers delayed past a client's timeout, expired and revoked tokens.
//! Post ids are numeric strings that grow from 18 to 19 digits, so code that orders ids as
//! text shows up. Queries and rules are matched with a small subset of X's query language:
//! `@handle`, `from:user`, words, `"phrases"` and `#tags` joined by `OR` (`-is:retweet` and
//! other negations are accepted and ignored).

use crate::fake_server::{self, bearer, lock, serve_in_background};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use chrono::Utc;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The app's bearer token the fake accepts.
pub const BEARER: &str = "AAAAAAAAAAAAAAAAAAAAAfake-app-bearer";
/// The brand's user access token the fake accepts at start.
pub const USER_TOKEN: &str = "user-access-0";
/// The refresh token that goes with it.
pub const REFRESH_TOKEN: &str = "user-refresh-0";
/// The app's OAuth 2.0 client id (a public client unless a secret is set).
pub const CLIENT_ID: &str = "earshot-fake-client";
/// The brand account.
pub const BRAND_ID: &str = "1500000000000000001";
pub const BRAND_USERNAME: &str = "AcmeHelp";

/// The endpoints a failure can be scripted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Stream,
    Rules,
    Search,
    Mentions,
    UserPosts,
    CreatePost,
    Me,
    Token,
}

impl Endpoint {
    /// The documented 15-minute window (§3.7), reported in `x-rate-limit-limit`.
    fn window(self) -> u64 {
        match self {
            Endpoint::Stream => 50,
            Endpoint::Rules => 450,
            Endpoint::Search | Endpoint::Mentions => 450,
            Endpoint::UserPosts => 900,
            Endpoint::CreatePost => 100,
            Endpoint::Me => 75,
            Endpoint::Token => 1000,
        }
    }
}

#[derive(Debug, Clone)]
enum Scripted {
    /// Answer with this status and an X problem body.
    Status(u16),
    /// 429 with `x-rate-limit-reset` this far ahead.
    RateLimited(Duration),
}

/// A running fake; the server stops when this is dropped.
#[derive(Debug)]
pub struct FakeX {
    addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

#[derive(Debug)]
enum StreamCommand {
    Write(String),
    Close,
}

#[derive(Debug, Clone)]
struct FakeUser {
    id: String,
    username: String,
    name: String,
    followers: u64,
}

#[derive(Debug, Clone)]
struct StoredPost {
    id: u64,
    text: String,
    author_id: String,
    created_at: String,
    in_reply_to: Option<String>,
    edit_history: Vec<String>,
    /// A newer version of it exists (search shows the newest version only).
    superseded: bool,
    deleted: bool,
}

#[derive(Debug, Clone)]
struct FakeRule {
    id: String,
    value: String,
    tag: Option<String>,
}

#[derive(Debug)]
struct OpenStream {
    tx: mpsc::UnboundedSender<StreamCommand>,
    /// Stopped writing without closing (half-open). X reaps such connections, so they do
    /// not count against the connection limit.
    silent: Arc<std::sync::atomic::AtomicBool>,
}

#[derive(Debug)]
struct FakeState {
    users: Vec<FakeUser>,
    next_user: u64,
    next_post: u64,
    posts: Vec<StoredPost>,
    rules: Vec<FakeRule>,
    next_rule: u64,
    refused_rule_words: Vec<String>,
    streams: Vec<OpenStream>,
    stream_connects: usize,
    max_connections: usize,
    keep_alive: Duration,
    scripted: HashMap<Endpoint, VecDeque<Scripted>>,
    requests: HashMap<Endpoint, u64>,
    /// Valid user access tokens and when each expires.
    access_tokens: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    token_lifetime: Duration,
    client_secret: Option<String>,
    next_token: u64,
    refreshes: usize,
    received_posts: Vec<Value>,
    created: usize,
    summoned_only: bool,
    delay_post_answers: VecDeque<Duration>,
    post_window: u64,
    posts_in_window: u64,
}

/// A post to put on the fake.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// The author's username (created on first use; [`BRAND_USERNAME`] is the brand).
    pub author: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    /// Also write it on open streams (false: as if the stream lost it).
    pub live: bool,
}

impl NewPost {
    pub fn new(author: &str, text: &str) -> NewPost {
        NewPost {
            author: author.into(),
            text: text.into(),
            in_reply_to: None,
            live: true,
        }
    }

    pub fn replying_to(mut self, id: &str) -> NewPost {
        self.in_reply_to = Some(id.into());
        self
    }

    pub fn quiet(mut self) -> NewPost {
        self.live = false;
        self
    }
}

impl FakeX {
    /// Starts the fake with the brand account, [`BEARER`], [`USER_TOKEN`] (valid two hours)
    /// and [`REFRESH_TOKEN`]; keep-alives every 100 ms; one stream connection allowed.
    pub async fn start() -> std::io::Result<FakeX> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            users: vec![FakeUser {
                id: BRAND_ID.into(),
                username: BRAND_USERNAME.into(),
                name: "Acme Support".into(),
                followers: 250_000,
            }],
            next_user: 1_432_109_876_543_210_987,
            next_post: 999_999_999_999_999_998,
            posts: Vec::new(),
            rules: Vec::new(),
            next_rule: 2_090_348_106_350_755_840,
            refused_rule_words: Vec::new(),
            streams: Vec::new(),
            stream_connects: 0,
            max_connections: 1,
            keep_alive: Duration::from_millis(100),
            scripted: HashMap::new(),
            requests: HashMap::new(),
            access_tokens: HashMap::from([(
                USER_TOKEN.to_owned(),
                Instant::now() + Duration::from_secs(7200),
            )]),
            refresh_tokens: HashSet::from([REFRESH_TOKEN.to_owned()]),
            token_lifetime: Duration::from_secs(7200),
            client_secret: None,
            next_token: 1,
            refreshes: 0,
            received_posts: Vec::new(),
            created: 0,
            summoned_only: true,
            delay_post_answers: VecDeque::new(),
            post_window: 100,
            posts_in_window: 0,
        }));
        let app = Router::new()
            .route("/2/tweets/search/stream", get(stream))
            .route(
                "/2/tweets/search/stream/rules",
                get(list_rules).post(change_rules),
            )
            .route("/2/tweets/search/recent", get(search))
            .route("/2/users/me", get(me))
            .route("/2/users/{id}/mentions", get(mentions))
            .route("/2/users/{id}/tweets", get(user_posts))
            .route("/2/tweets", post(create_post))
            .route("/2/oauth2/token", post(token))
            .with_state(state.clone());
        let server = serve_in_background(listener, app, "fake X");
        Ok(FakeX {
            addr,
            state,
            server,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.state)
    }

    /// The keep-alive period of streams opened from now on.
    pub fn set_keep_alive(&self, every: Duration) {
        self.lock().keep_alive = every;
    }

    /// The next `n` requests to `endpoint` get `status` (e.g. 503) with a problem body.
    pub fn fail_next(&self, endpoint: Endpoint, n: usize, status: u16) {
        let mut s = self.lock();
        let queue = s.scripted.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(Scripted::Status(status), n));
    }

    /// The next `n` requests to `endpoint` get 429 with `x-rate-limit-reset` `reset_in` ahead
    /// (rounded up to whole seconds, as X's epoch-seconds header is).
    pub fn rate_limit_next(&self, endpoint: Endpoint, n: usize, reset_in: Duration) {
        let mut s = self.lock();
        let queue = s.scripted.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(Scripted::RateLimited(reset_in), n));
    }

    /// Requests `endpoint` has received (refused ones included).
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.lock().requests.get(&endpoint).copied().unwrap_or(0)
    }

    /// Creates (or finds) an account; returns its id.
    pub fn user(&self, username: &str, followers: u64) -> String {
        let mut s = self.lock();
        user_id(&mut s, username, followers)
    }

    /// Posts `post`; returns its id. Written on open streams whose rules match, unless quiet.
    pub fn post(&self, post: NewPost) -> String {
        let line = {
            let mut s = self.lock();
            let author_id = user_id(&mut s, &post.author, 812);
            let id = s.next_post;
            s.next_post += 1;
            s.posts.push(StoredPost {
                id,
                text: post.text.clone(),
                author_id,
                created_at: now_millis(),
                in_reply_to: post.in_reply_to.clone(),
                edit_history: vec![id.to_string()],
                superseded: false,
                deleted: false,
            });
            (post.live, id)
        };
        let (live, id) = line;
        if live {
            self.stream_post(&id.to_string());
        }
        id.to_string()
    }

    /// Edits post `id` (the newest version of it): a new id whose edit history starts with the
    /// original (§3.6). Returns the new id; streamed like a new post.
    pub fn edit(&self, id: &str, text: &str, live: bool) -> Option<String> {
        let new_id = {
            let mut s = self.lock();
            let new_id = s.next_post;
            let old = s.posts.iter_mut().find(|p| p.id.to_string() == id)?;
            old.superseded = true;
            let mut edited = old.clone();
            edited.id = new_id;
            edited.text = text.into();
            edited.superseded = false;
            edited.edit_history.push(new_id.to_string());
            s.next_post += 1;
            s.posts.push(edited);
            new_id.to_string()
        };
        if live {
            self.stream_post(&new_id);
        }
        Some(new_id)
    }

    /// Deletes post `id`: gone from search; posts referencing it report `resource-not-found`.
    /// Nothing is pushed on the stream (X does not, below Enterprise).
    pub fn delete(&self, id: &str) {
        let mut s = self.lock();
        if let Some(post) = s.posts.iter_mut().find(|p| p.id.to_string() == id) {
            post.deleted = true;
        }
    }

    /// Writes post `id`'s line on every open stream whose rules it matches (again, or late).
    pub fn stream_post(&self, id: &str) {
        let s = self.lock();
        if let Some(line) = stream_line(&s, id) {
            broadcast(&s, &(line + "\r\n"));
        }
    }

    /// Writes the first half of post `id`'s line, then closes every stream: the connection
    /// dies in the middle of a line.
    pub fn cut_stream_in(&self, id: &str) {
        let mut s = self.lock();
        if let Some(line) = stream_line(&s, id) {
            let mut cut = line.len() / 2;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            broadcast(&s, &line[..cut]);
        }
        close_all(&mut s);
    }

    /// Writes raw text on every open stream (an error line, garbage).
    pub fn stream_raw(&self, text: &str) {
        broadcast(&self.lock(), text);
    }

    /// Sends X's `operational-disconnect` error line, then closes every stream.
    pub fn disconnect_operationally(&self) {
        let mut s = self.lock();
        broadcast(&s, &(json!({"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.x.com/2/problems/operational-disconnect"}]}).to_string() + "\r\n"));
        close_all(&mut s);
    }

    /// Closes every stream cleanly.
    pub fn drop_streams(&self) {
        close_all(&mut self.lock());
    }

    /// Stops keep-alives and posts on every open stream without closing it (half-open).
    pub fn silence_streams(&self) {
        let mut s = self.lock();
        for stream in &s.streams {
            stream
                .silent
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // Silent streams are forgotten: nothing is written to them any more.
        s.streams.clear();
    }

    /// How many times the stream was opened (successfully).
    pub fn stream_connects(&self) -> usize {
        self.lock().stream_connects
    }

    /// Streams open now (from the fake's side).
    pub fn open_streams(&self) -> usize {
        let mut s = self.lock();
        s.streams.retain(|st| !st.tx.is_closed());
        s.streams.len()
    }

    /// Adds a rule as another tool sharing the app would.
    pub fn add_foreign_rule(&self, value: &str, tag: &str) -> String {
        let mut s = self.lock();
        let id = s.next_rule.to_string();
        s.next_rule += 1;
        s.rules.push(FakeRule {
            id: id.clone(),
            value: value.into(),
            tag: Some(tag.into()),
        });
        id
    }

    /// The rules on the app: (id, value, tag).
    pub fn rules(&self) -> Vec<(String, String, Option<String>)> {
        self.lock()
            .rules
            .iter()
            .map(|r| (r.id.clone(), r.value.clone(), r.tag.clone()))
            .collect()
    }

    /// Rules containing `word` are refused as invalid.
    pub fn refuse_rules_containing(&self, word: &str) {
        self.lock().refused_rule_words.push(word.into());
    }

    /// Every `POST /2/tweets` body received, in order.
    pub fn received_posts(&self) -> Vec<Value> {
        self.lock().received_posts.clone()
    }

    /// How many posts `POST /2/tweets` created.
    pub fn posts_created(&self) -> usize {
        self.lock().created
    }

    /// A post as `GET /2/tweets/{id}` would show it (`data` only).
    pub fn post_json(&self, id: &str) -> Option<Value> {
        let s = self.lock();
        s.posts
            .iter()
            .find(|p| p.id.to_string() == id)
            .map(post_data)
    }

    /// The next `POST /2/tweets` creates the post, then answers only after `delay` (a client
    /// with a shorter timeout sees an ambiguous failure).
    pub fn delay_next_post_answer(&self, delay: Duration) {
        self.lock().delay_post_answers.push_back(delay);
    }

    /// Whether replies are refused (403) unless the answered author mentioned the brand
    /// (the 2026 "summoned" rule, §3.1). On by default.
    pub fn set_summoned_only(&self, on: bool) {
        self.lock().summoned_only = on;
    }

    /// Posts the brand may create before `POST /2/tweets` answers 429.
    pub fn set_post_window(&self, posts: u64) {
        let mut s = self.lock();
        s.post_window = posts;
        s.posts_in_window = 0;
    }

    /// Every user access token issued so far stops working (as after two hours).
    pub fn expire_user_tokens(&self) {
        let now = Instant::now();
        for expiry in self.lock().access_tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Access tokens issued from now on expire after `lifetime` (`expires_in` says so).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.lock().token_lifetime = lifetime;
    }

    /// The user revoked the app: every refresh and access token stops working.
    pub fn revoke_user_tokens(&self) {
        let mut s = self.lock();
        s.refresh_tokens.clear();
        s.access_tokens.clear();
    }

    /// Require HTTP Basic client authentication on the token endpoint (a confidential client).
    pub fn set_client_secret(&self, secret: &str) {
        self.lock().client_secret = Some(secret.into());
    }

    /// Refresh grants served.
    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    /// Whether `token` is a refresh token the fake would still accept.
    pub fn accepts_refresh_token(&self, token: &str) -> bool {
        self.lock().refresh_tokens.contains(token)
    }
}

impl Drop for FakeX {
    fn drop(&mut self) {
        self.server.abort();
        close_all(&mut lock(&self.state));
    }
}

fn user_id(s: &mut FakeState, username: &str, followers: u64) -> String {
    if let Some(u) = s
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))
    {
        return u.id.clone();
    }
    let id = s.next_user.to_string();
    s.next_user += 1;
    let mut name = username.replace('_', " ");
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s.users.push(FakeUser {
        id: id.clone(),
        username: username.into(),
        name,
        followers,
    });
    id
}

fn now_millis() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn close_all(s: &mut FakeState) {
    for stream in s.streams.drain(..) {
        let _ = stream.tx.send(StreamCommand::Close);
    }
}

fn broadcast(s: &FakeState, text: &str) {
    for stream in &s.streams {
        let _ = stream.tx.send(StreamCommand::Write(text.to_owned()));
    }
}

fn user_json(u: &FakeUser) -> Value {
    json!({
        "id": u.id, "name": u.name, "username": u.username, "verified": false,
        "created_at": "2021-09-02T17:20:11.000Z",
        "public_metrics": {"followers_count": u.followers, "following_count": 390,
                           "tweet_count": 10421, "listed_count": 7, "like_count": 15200},
    })
}

fn post_data(p: &StoredPost) -> Value {
    let mut data = json!({
        "id": p.id.to_string(), "text": p.text, "author_id": p.author_id,
        "created_at": p.created_at, "lang": "en",
        "conversation_id": p.edit_history.first().cloned().unwrap_or_default(),
        "edit_history_tweet_ids": p.edit_history,
    });
    if let Some(parent) = &p.in_reply_to {
        data["referenced_tweets"] = json!([{"type": "replied_to", "id": parent}]);
    }
    data
}

/// `data` + `includes` + `errors` for some posts, as search and the stream shape them.
fn expand(s: &FakeState, posts: &[&StoredPost]) -> (Vec<Value>, Value, Vec<Value>) {
    let mut users: Vec<Value> = Vec::new();
    let mut seen_users: HashSet<&str> = HashSet::new();
    let mut referenced: Vec<Value> = Vec::new();
    let mut errors: Vec<Value> = Vec::new();
    for p in posts {
        if seen_users.insert(&p.author_id) {
            if let Some(u) = s.users.iter().find(|u| u.id == p.author_id) {
                users.push(user_json(u));
            }
        }
        if let Some(parent) = &p.in_reply_to {
            match s.posts.iter().find(|q| q.id.to_string() == *parent) {
                Some(q) if !q.deleted => referenced.push(post_data(q)),
                _ => errors.push(json!({
                    "value": parent,
                    "detail": format!("Could not find tweet with referenced_tweets.id: [{parent}]."),
                    "title": "Not Found Error", "resource_type": "tweet",
                    "parameter": "referenced_tweets.id", "resource_id": parent,
                    "type": "https://api.x.com/2/problems/resource-not-found",
                })),
            }
        }
    }
    let data = posts.iter().map(|p| post_data(p)).collect();
    (data, json!({"users": users, "tweets": referenced}), errors)
}

fn stream_line(s: &FakeState, id: &str) -> Option<String> {
    let post = s.posts.iter().find(|p| p.id.to_string() == id)?;
    let author = s.users.iter().find(|u| u.id == post.author_id)?;
    let matching: Vec<Value> = s
        .rules
        .iter()
        .filter(|r| query_matches(&r.value, post, &author.username))
        .map(|r| json!({"id": r.id, "tag": r.tag}))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let (data, includes, errors) = expand(s, &[post]);
    let mut line = json!({"data": data.first(), "includes": includes, "matching_rules": matching});
    if !errors.is_empty() {
        line["errors"] = Value::Array(errors);
    }
    Some(line.to_string())
}

/// The terms of an `OR` query: `@handle`, `from:user`, words and `"phrases"`; negated terms,
/// `OR`/`AND` and parentheses are dropped.
fn query_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let phrase: String = chars.by_ref().take_while(|c| *c != '"').collect();
                terms.push(format!("\"{phrase}"));
            }
            c if c.is_whitespace() || c == '(' || c == ')' => {}
            c => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || n == '(' || n == ')' {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                if word != "OR" && word != "AND" && !word.starts_with('-') {
                    terms.push(word);
                }
            }
        }
    }
    terms
}

fn query_matches(query: &str, post: &StoredPost, author: &str) -> bool {
    let text = post.text.to_lowercase();
    query_terms(query).iter().any(|term| {
        if let Some(user) = term.strip_prefix("from:") {
            author.eq_ignore_ascii_case(user)
        } else if let Some(phrase) = term.strip_prefix('"') {
            text.contains(&phrase.to_lowercase())
        } else {
            contains_word(&text, &term.to_lowercase())
        }
    })
}

/// `word` in `text` not glued to more word characters (`@acme` is not in `@acmehelp`).
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !glued(after) && (!glued(before) || word.starts_with(['@', '#']) && before != Some('@'))
    })
}

/// A post's text without the @mentions X puts in front of replies.
fn without_leading_mentions(text: &str) -> &str {
    let mut rest = text.trim_start();
    while rest.starts_with('@') {
        rest = rest
            .split_once(char::is_whitespace)
            .map_or("", |(_, tail)| tail)
            .trim_start();
    }
    rest
}

fn rule_problem(value: &str, refused: &[String]) -> Option<String> {
    if value.chars().count() > 1024 {
        return Some("Rules must not exceed 1024 characters.".into());
    }
    if value.matches('"').count() % 2 == 1 {
        return Some("There is an unmatched quote.".into());
    }
    if value.matches('(').count() != value.matches(')').count() {
        return Some("There are mismatched parentheses.".into());
    }
    refused
        .iter()
        .find(|w| value.contains(w.as_str()))
        .map(|w| format!("Reference to invalid operator '{w}'."))
}

// ---- answers ------------------------------------------------------------------------------

fn problem(status: StatusCode, title: &str, detail: &str, kind: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"title": title, "detail": detail, "type": kind, "status": status.as_u16()}),
        ),
    )
        .into_response()
}

fn epoch_in(d: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Rounded up: X's reset is whole seconds and never earlier than the real one.
    (now + d).as_secs() + u64::from((now + d).subsec_nanos() > 0)
}

fn rate_headers(response: &mut Response, limit: u64, remaining: u64, reset_in: Duration) {
    let h = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", limit),
        ("x-rate-limit-remaining", remaining),
        ("x-rate-limit-reset", epoch_in(reset_in)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            h.insert(name, v);
        }
    }
}

/// Adds the rate-limit headers of `endpoint`'s 15-minute window to a normal answer.
fn counted(s: &FakeState, endpoint: Endpoint, mut response: Response) -> Response {
    let used = s.requests.get(&endpoint).copied().unwrap_or(0);
    let limit = endpoint.window();
    rate_headers(
        &mut response,
        limit,
        limit.saturating_sub(used).max(1),
        Duration::from_secs(900),
    );
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    App,
    User,
}

/// Counts the request, then checks credentials and scripted failures: `Err` is the answer.
// The refusal is the HTTP answer itself, returned at once by every handler: boxing it would
// only add noise.
#[allow(clippy::result_large_err)]
fn gate(
    s: &mut FakeState,
    endpoint: Endpoint,
    headers: &HeaderMap,
    allowed: &[Caller],
) -> Result<Caller, Response> {
    *s.requests.entry(endpoint).or_default() += 1;
    let token = bearer(headers).unwrap_or("");
    let caller = if token == BEARER {
        Caller::App
    } else if s
        .access_tokens
        .get(token)
        .is_some_and(|expiry| Instant::now() < *expiry)
    {
        Caller::User
    } else {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            "about:blank",
        ));
    };
    if !allowed.contains(&caller) {
        let supported = if allowed.contains(&Caller::App) {
            "[OAuth 2.0 Application-Only]"
        } else {
            "[OAuth 1.0a User Context, OAuth 2.0 User Context]"
        };
        return Err(problem(
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
            &format!("Authenticating with this method is forbidden for this endpoint.  Supported authentication types are {supported}."),
            "https://api.x.com/2/problems/unsupported-authentication",
        ));
    }
    match s.scripted.get_mut(&endpoint).and_then(VecDeque::pop_front) {
        None => Ok(caller),
        Some(Scripted::RateLimited(reset_in)) => {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
                "about:blank",
            );
            rate_headers(&mut r, endpoint.window(), 0, reset_in);
            Err(r)
        }
        Some(Scripted::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let title = status.canonical_reason().unwrap_or("Error");
            Err(problem(status, title, title, "about:blank"))
        }
    }
}

/// The query (or form body) as a map: X reads each parameter once.
fn query_pairs(query: Option<&str>) -> HashMap<String, String> {
    fake_server::query_pairs(query.unwrap_or(""))
        .into_iter()
        .collect()
}

fn invalid_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.x.com/2/problems/invalid-request",
        })),
    )
        .into_response()
}

// ---- rules --------------------------------------------------------------------------------

async fn list_rules(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::Rules, &headers, &[Caller::App]) {
        return r;
    }
    let q = query_pairs(query.as_deref());
    let max = q
        .get("max_results")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000);
    if !(1..=1000).contains(&max) {
        return invalid_request(
            "The `max_results` query parameter value is not between 1 and 1000",
        );
    }
    let start = q
        .get("pagination_token")
        .and_then(|t| t.strip_prefix("rules-"))
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = s
        .rules
        .iter()
        .skip(start)
        .take(max)
        .map(|r| json!({"id": r.id, "value": r.value, "tag": r.tag}))
        .collect();
    let mut meta = json!({"sent": now_millis(), "result_count": page.len()});
    if start + page.len() < s.rules.len() {
        meta["next_token"] = json!(format!("rules-{}", start + page.len()));
    }
    let body = if page.is_empty() {
        json!({"meta": meta})
    } else {
        json!({"data": page, "meta": meta})
    };
    counted(&s, Endpoint::Rules, axum::Json(body).into_response())
}

async fn change_rules(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::Rules, &headers, &[Caller::App]) {
        return r;
    }
    let dry_run = query_pairs(query.as_deref())
        .get("dry_run")
        .is_some_and(|v| v == "true");
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("The request body is not valid JSON");
    };
    if let Some(ids) = body["delete"]["ids"].as_array() {
        let ids: Vec<String> = ids
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let mut errors = Vec::new();
        let mut deleted = 0;
        for id in &ids {
            if s.rules.iter().any(|r| &r.id == id) {
                deleted += 1;
                if !dry_run {
                    s.rules.retain(|r| &r.id != id);
                }
            } else {
                errors.push(json!({"errors":[{"parameters":{},"message":"Rule does not exist"}],"title":"Invalid Request","type":"https://api.x.com/2/problems/invalid-request","value":id}));
            }
        }
        let mut answer = json!({"meta": {"sent": now_millis(), "summary": {"deleted": deleted, "not_deleted": ids.len() - deleted}}});
        if !errors.is_empty() {
            answer["errors"] = Value::Array(errors);
        }
        return counted(&s, Endpoint::Rules, axum::Json(answer).into_response());
    }
    let Some(adds) = body["add"].as_array() else {
        return invalid_request("The request body must have `add` or `delete`");
    };
    let mut data = Vec::new();
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let refused = s.refused_rule_words.clone();
    for add in adds {
        let value = add["value"].as_str().unwrap_or("").to_owned();
        let tag = add["tag"].as_str().map(str::to_owned);
        if let Some(why) = rule_problem(&value, &refused) {
            errors.push(
                json!({"value": value, "details": [why], "title": "UnprocessableEntity",
                "type": "https://api.x.com/2/problems/invalid-rules"}),
            );
            continue;
        }
        if let Some(existing) = s.rules.iter().find(|r| r.value == value) {
            errors.push(
                json!({"value": value, "id": existing.id, "title": "DuplicateRule",
                "type": "https://api.x.com/2/problems/duplicate-rules"}),
            );
            continue;
        }
        if seen.contains(&value) {
            continue;
        }
        seen.push(value.clone());
        let id = s.next_rule.to_string();
        s.next_rule += 1;
        data.push(json!({"id": id, "value": value, "tag": tag}));
        if !dry_run {
            s.rules.push(FakeRule { id, value, tag });
        }
    }
    let invalid = errors
        .iter()
        .filter(|e| e["title"] == "UnprocessableEntity")
        .count();
    let summary = json!({"created": if dry_run { 0 } else { data.len() }, "not_created": errors.len(),
        "valid": data.len(), "invalid": invalid});
    let mut answer = json!({"meta": {"sent": now_millis(), "summary": summary}});
    if !data.is_empty() {
        answer["data"] = Value::Array(data);
    }
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    counted(&s, Endpoint::Rules, axum::Json(answer).into_response())
}

// ---- stream -------------------------------------------------------------------------------

struct Connection {
    commands: mpsc::UnboundedReceiver<StreamCommand>,
    keep_alive: tokio::time::Interval,
    silent: Arc<std::sync::atomic::AtomicBool>,
}

async fn stream(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let (rx, keep_alive, silent) = {
        let mut s = lock(&state);
        if let Err(r) = gate(&mut s, Endpoint::Stream, &headers, &[Caller::App]) {
            return r;
        }
        if s.rules.is_empty() {
            return problem(
                StatusCode::CONFLICT,
                "ConnectionException",
                "This stream has no rules. Add rules with POST /2/tweets/search/stream/rules before connecting.",
                "https://api.x.com/2/problems/streaming-connection",
            );
        }
        s.streams.retain(|st| !st.tx.is_closed());
        if s.streams.len() >= s.max_connections {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"title":"ConnectionException","detail":"This stream is currently at the maximum allowed connection limit.","connection_issue":"TooManyConnections","type":"https://api.x.com/2/problems/streaming-connection"})),
            )
                .into_response();
            let used = s.requests.get(&Endpoint::Stream).copied().unwrap_or(0);
            rate_headers(
                &mut r,
                50,
                50u64.saturating_sub(used),
                Duration::from_secs(900),
            );
            return r;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let silent = Arc::new(std::sync::atomic::AtomicBool::new(false));
        s.streams.push(OpenStream {
            tx,
            silent: silent.clone(),
        });
        s.stream_connects += 1;
        (rx, s.keep_alive, silent)
    };
    let mut keep_alive = tokio::time::interval(keep_alive.max(Duration::from_millis(1)));
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let connection = Connection {
        commands: rx,
        keep_alive,
        silent,
    };
    let body = futures::stream::unfold(connection, |mut c| async move {
        loop {
            let silent = c.silent.load(std::sync::atomic::Ordering::SeqCst);
            tokio::select! {
                command = c.commands.recv() => match command {
                    Some(StreamCommand::Write(text)) if !silent => {
                        return Some((Ok::<_, Infallible>(Bytes::from(text)), c));
                    }
                    Some(StreamCommand::Write(_)) => {}
                    Some(StreamCommand::Close) => return None,
                    // Forgotten by the fake (silenced): stay open and quiet, like a half-open socket.
                    None => std::future::pending::<()>().await,
                },
                _ = c.keep_alive.tick(), if !silent => {
                    return Some((Ok(Bytes::from_static(b"\r\n")), c));
                }
            }
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let s = lock(&state);
    counted(&s, Endpoint::Stream, response)
}

// ---- search, mentions, timelines ------------------------------------------------------------

/// Who may read the search and the user timelines: the app's bearer or the user's token.
const APP_OR_USER: &[Caller] = &[Caller::App, Caller::User];

/// Answers a timeline/search read: newest first, `since_id`, paging with `token_param`.
fn page_of(
    s: &FakeState,
    endpoint: Endpoint,
    matching: Vec<&StoredPost>,
    q: &HashMap<String, String>,
    range: std::ops::RangeInclusive<usize>,
    token_param: &str,
) -> Response {
    let max = match q.get("max_results").map(|m| m.parse::<usize>()) {
        None => 10,
        Some(Ok(m)) if range.contains(&m) => m,
        Some(_) => {
            return invalid_request(&format!(
                "The `max_results` query parameter value [{}] is not between {} and {}",
                q.get("max_results").map(String::as_str).unwrap_or(""),
                range.start(),
                range.end()
            ))
        }
    };
    let since = q.get("since_id").and_then(|v| v.parse::<u64>().ok());
    let mut newer: Vec<&StoredPost> = matching
        .into_iter()
        .filter(|p| !p.deleted && !p.superseded)
        .filter(|p| since.is_none_or(|since| p.id > since))
        .collect();
    newer.sort_by_key(|p| std::cmp::Reverse(p.id));
    let start = match q.get(token_param) {
        None => 0,
        Some(t) => match t
            .strip_prefix("7140dibdnow9c7btw4")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => {
                return invalid_request(&format!(
                    "The `{token_param}` query parameter value is invalid"
                ))
            }
        },
    };
    let page: Vec<&StoredPost> = newer.iter().skip(start).take(max).copied().collect();
    let mut meta = json!({"result_count": page.len()});
    if let (Some(first), Some(last)) = (page.first(), page.last()) {
        meta["newest_id"] = json!(first.id.to_string());
        meta["oldest_id"] = json!(last.id.to_string());
    }
    if start + page.len() < newer.len() {
        meta["next_token"] = json!(format!("7140dibdnow9c7btw4{}", start + page.len()));
    }
    let body = if page.is_empty() {
        json!({"meta": meta})
    } else {
        let (data, includes, errors) = expand(s, &page);
        let mut body = json!({"data": data, "includes": includes, "meta": meta});
        if !errors.is_empty() {
            body["errors"] = Value::Array(errors);
        }
        body
    };
    counted(s, endpoint, axum::Json(body).into_response())
}

async fn search(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::Search, &headers, APP_OR_USER) {
        return r;
    }
    let q = query_pairs(query.as_deref());
    let Some(text) = q.get("query").filter(|t| !t.trim().is_empty()) else {
        return invalid_request("The `query` query parameter can not be empty");
    };
    if text.chars().count() > 512 {
        return invalid_request("The `query` query parameter value is longer than 512 characters");
    }
    let matching: Vec<&StoredPost> = s
        .posts
        .iter()
        .filter(|p| {
            s.users
                .iter()
                .find(|u| u.id == p.author_id)
                .is_some_and(|u| query_matches(text, p, &u.username))
        })
        .collect();
    page_of(&s, Endpoint::Search, matching, &q, 10..=100, "next_token")
}

/// A page of a user's timeline (mentions, posts): 5 to 100 a page, `pagination_token`.
fn user_timeline(
    s: &FakeState,
    endpoint: Endpoint,
    matching: Vec<&StoredPost>,
    query: Option<&str>,
) -> Response {
    page_of(
        s,
        endpoint,
        matching,
        &query_pairs(query),
        5..=100,
        "pagination_token",
    )
}

async fn mentions(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::Mentions, &headers, APP_OR_USER) {
        return r;
    }
    let Some(user) = s.users.iter().find(|u| u.id == id).cloned() else {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            &format!("Could not find user with id: [{id}]."),
            "https://api.x.com/2/problems/resource-not-found",
        );
    };
    let mention = format!("@{}", user.username.to_lowercase());
    let matching: Vec<&StoredPost> = s
        .posts
        .iter()
        .filter(|p| contains_word(&p.text.to_lowercase(), &mention))
        .collect();
    user_timeline(&s, Endpoint::Mentions, matching, query.as_deref())
}

async fn user_posts(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::UserPosts, &headers, APP_OR_USER) {
        return r;
    }
    let matching: Vec<&StoredPost> = s.posts.iter().filter(|p| p.author_id == id).collect();
    user_timeline(&s, Endpoint::UserPosts, matching, query.as_deref())
}

async fn me(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = lock(&state);
    if let Err(r) = gate(&mut s, Endpoint::Me, &headers, &[Caller::User]) {
        return r;
    }
    let brand = s.users.iter().find(|u| u.id == BRAND_ID).cloned();
    let body = match brand {
        Some(u) => json!({"data": {"id": u.id, "name": u.name, "username": u.username}}),
        None => json!({}),
    };
    counted(&s, Endpoint::Me, axum::Json(body).into_response())
}

// ---- posting ------------------------------------------------------------------------------

async fn create_post(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let (response, delay, created) = {
        let mut s = lock(&state);
        if let Err(r) = gate(&mut s, Endpoint::CreatePost, &headers, &[Caller::User]) {
            return r;
        }
        let Ok(body) = serde_json::from_slice::<Value>(&body) else {
            return invalid_request("The request body is not valid JSON");
        };
        s.received_posts.push(body.clone());
        if s.posts_in_window >= s.post_window {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
                "about:blank",
            );
            rate_headers(&mut r, s.post_window, 0, Duration::from_secs(1));
            return r;
        }
        let text = body["text"].as_str().unwrap_or("").trim().to_owned();
        if text.is_empty() {
            return invalid_request("The `text` field can not be empty");
        }
        if super::text::weighted_length(&text) > super::text::MAX_WEIGHTED_LENGTH {
            return problem(StatusCode::FORBIDDEN, "Forbidden", "Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.", "about:blank");
        }
        let parent_id = body["reply"]["in_reply_to_tweet_id"]
            .as_str()
            .map(str::to_owned);
        let mut mention = String::new();
        if let Some(parent_id) = &parent_id {
            let parent = s
                .posts
                .iter()
                .find(|p| p.id.to_string() == *parent_id && !p.deleted)
                .cloned();
            let Some(parent) = parent else {
                return problem(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    "about:blank",
                );
            };
            let summoned = contains_word(
                &parent.text.to_lowercase(),
                &format!("@{}", BRAND_USERNAME.to_lowercase()),
            );
            if s.summoned_only && !summoned && parent.author_id != BRAND_ID {
                return problem(StatusCode::FORBIDDEN, "Forbidden", "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.", "about:blank");
            }
            if let Some(author) = s.users.iter().find(|u| u.id == parent.author_id) {
                if author.id != BRAND_ID {
                    // v2 puts the answered author into the reply's leading mentions.
                    mention = format!("@{} ", author.username);
                }
            }
        }
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let duplicate = s
            .posts
            .iter()
            .filter(|p| p.author_id == BRAND_ID && !p.deleted)
            .any(|p| without_leading_mentions(&p.text) == escaped);
        if duplicate {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
                "about:blank",
            );
        }
        let id = s.next_post;
        s.next_post += 1;
        let post = StoredPost {
            id,
            text: format!("{mention}{escaped}"),
            author_id: BRAND_ID.into(),
            created_at: now_millis(),
            in_reply_to: parent_id,
            edit_history: vec![id.to_string()],
            superseded: false,
            deleted: false,
        };
        let answer = json!({"data": {"id": id.to_string(), "text": post.text, "edit_history_tweet_ids": [id.to_string()]}});
        s.posts.push(post);
        s.created += 1;
        s.posts_in_window += 1;
        let delay = s.delay_post_answers.pop_front();
        let response = counted(
            &s,
            Endpoint::CreatePost,
            (StatusCode::CREATED, axum::Json(answer)).into_response(),
        );
        (response, delay, id.to_string())
    };
    // The brand's own post matches `from:` rules: streamed like any other.
    {
        let s = lock(&state);
        if let Some(line) = stream_line(&s, &created) {
            broadcast(&s, &(line + "\r\n"));
        }
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

// ---- OAuth 2.0 ----------------------------------------------------------------------------

async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = lock(&state);
    *s.requests.entry(Endpoint::Token).or_default() += 1;
    if let Some(Scripted::Status(code)) = s
        .scripted
        .get_mut(&Endpoint::Token)
        .and_then(VecDeque::pop_front)
    {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, "upstream error").into_response();
    }
    let form = query_pairs(std::str::from_utf8(&body).ok());
    let oauth_error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let client_ok = match &s.client_secret {
        Some(secret) => basic.as_deref() == Some(&format!("{CLIENT_ID}:{secret}")),
        None => form.get("client_id").map(String::as_str) == Some(CLIENT_ID),
    };
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter [grant_type].",
        );
    }
    let presented = form.get("refresh_token").cloned().unwrap_or_default();
    // Single use: the presented refresh token dies whatever happens next.
    if !s.refresh_tokens.remove(&presented) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the token was invalid.",
        );
    }
    let n = s.next_token;
    s.next_token += 1;
    let access = format!("user-access-{n}");
    let refresh = format!("user-refresh-{n}");
    let lifetime = s.token_lifetime;
    s.access_tokens
        .insert(access.clone(), Instant::now() + lifetime);
    s.refresh_tokens.insert(refresh.clone());
    s.refreshes += 1;
    axum::Json(json!({
        "token_type": "bearer", "expires_in": lifetime.as_secs(), "access_token": access,
        "scope": "tweet.write users.read tweet.read offline.access", "refresh_token": refresh,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::percent_decode;

    fn stored(text: &str) -> StoredPost {
        StoredPost {
            id: 1,
            text: text.into(),
            author_id: "9".into(),
            created_at: now_millis(),
            in_reply_to: None,
            edit_history: vec!["1".into()],
            superseded: false,
            deleted: false,
        }
    }

    #[test]
    fn queries_match_like_x() {
        let rule = "(@AcmeHelp OR from:AcmeHelp OR \"acme kettle\" OR #AcmeFail) -is:retweet";
        assert!(query_matches(rule, &stored("hey @acmehelp help"), "priya"));
        assert!(!query_matches(rule, &stored("hey @acmehelpdesk"), "priya"));
        assert!(query_matches(
            rule,
            &stored("my Acme Kettle broke"),
            "priya"
        ));
        assert!(query_matches(rule, &stored("so #acmefail"), "priya"));
        assert!(query_matches(rule, &stored("we shipped it"), "AcmeHelp"));
        assert!(!query_matches(rule, &stored("retweet this"), "priya"));
        assert_eq!(
            query_terms(rule),
            vec!["@AcmeHelp", "from:AcmeHelp", "\"acme kettle", "#AcmeFail"]
        );
    }

    #[test]
    fn percent_decoding_round_trips() {
        let q = "(@AcmeHelp OR \"a b\") -is:retweet";
        assert_eq!(percent_decode(&crate::x::rules::urlencode(q)), q);
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }
}
