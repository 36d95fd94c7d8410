//! A fake Reddit that speaks the real wire protocol (PROTOCOLS.md §0.4, §4.7), for tests here
//! and in other crates (feature `fake`). One axum server on `127.0.0.1:0` plays both hosts:
//! point `www_url` and `oauth_url` at [`FakeReddit::base_url`].
//!
//! www: `POST /api/v1/access_token` checks HTTP basic auth (client id/secret) and the
//! password grant; a wrong password gets **200** `{"error": "invalid_grant"}`, a revoked app
//! 401. Tokens really expire after their `expires_in`.
//!
//! oauth: `bearer` tokens only, a Reddit-style User-Agent required (a generic one gets 429),
//! `X-Ratelimit-Used`/`-Remaining` (a float)/`-Reset` (seconds until the window ends) on
//! every answer, 429 when the window's budget is spent. Listings `/r/{sub}/new`,
//! `/r/{sub}/comments`, `/r/{sub}/search` and `/search` with `limit`/`after`/`before`
//! (Reddit's semantics: an anchor that left the listing gives an empty page), text
//! HTML-escaped unless `raw_json=1`; `/api/info`, `/user/{name}/comments`, `/api/v1/me`;
//! `POST /api/comment` answering with the `json.errors` envelope. Scripts: 429 with reset,
//! 5xx bursts, a body cut mid-JSON, expired tokens, a revoked app, comment errors, and a
//! comment made whose answer is lost.

use crate::fake_server::{half_then_reset, lock, serve_in_background};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running fake; the server stops when this is dropped.
#[derive(Debug)]
pub struct FakeReddit {
    addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<FakeState>>;

#[derive(Debug)]
struct FakeThing {
    kind: &'static str,
    data: Value,
    /// Whether listings show it (deleted and removed things leave them).
    listed: bool,
}

impl FakeThing {
    fn created(&self) -> f64 {
        self.data["created_utc"].as_f64().unwrap_or(0.0)
    }
    fn fullname(&self) -> &str {
        self.data["name"].as_str().unwrap_or_default()
    }
    fn subreddit(&self) -> &str {
        self.data["subreddit"].as_str().unwrap_or_default()
    }
}

#[derive(Debug)]
struct FakeState {
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
    app_revoked: bool,
    token_lifetime: Duration,
    tokens: HashMap<String, Instant>,
    tokens_issued: usize,
    /// Things in the order they were made.
    things: Vec<FakeThing>,
    next_id: u64,
    clock: f64,
    authors: HashMap<String, String>,
    locked: Vec<String>,
    private: Vec<String>,
    window: Duration,
    per_window: u32,
    window_started: Instant,
    used: u32,
    rate_limited: u32,
    rate_limit_reset: u64,
    failing: Vec<u16>,
    cut: u32,
    comment_errors: Vec<(String, String, String)>,
    lose_comment_answers: u32,
    received: Vec<ReceivedComment>,
    comments_created: usize,
    requests: Vec<String>,
    served_401: usize,
    served_429: usize,
}

/// A `POST /api/comment` as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedComment {
    pub api_type: String,
    pub thing_id: String,
    pub text: String,
    pub user_agent: String,
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl FakeState {
    fn next_id(&mut self) -> String {
        self.next_id += 1;
        base36(self.next_id)
    }

    /// The next `created_utc`: now, and at least a second after the last one, so things
    /// made in one test have distinct, ordered times.
    fn tick(&mut self) -> f64 {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        self.clock = (self.clock + 1.0).max(now).floor();
        self.clock
    }

    fn author_fullname(&mut self, author: &str) -> String {
        let next = self.authors.len() as u64;
        self.authors
            .entry(author.to_owned())
            .or_insert_with(|| format!("t2_{}", base36(1_000_000_000 + next * 7919)))
            .clone()
    }

    fn find(&self, fullname: &str) -> Option<&FakeThing> {
        self.things.iter().find(|t| t.fullname() == fullname)
    }

    fn find_mut(&mut self, fullname: &str) -> Option<&mut FakeThing> {
        self.things.iter_mut().find(|t| t.fullname() == fullname)
    }

    fn add_link(
        &mut self,
        sub: &str,
        author: &str,
        title: &str,
        selftext: &str,
        at: f64,
    ) -> String {
        let id = self.next_id();
        let name = format!("t3_{id}");
        let author_fullname = self.author_fullname(author);
        let slug: String = title
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(30)
            .collect();
        let data = json!({
            "id": id, "name": name, "author": author, "author_fullname": author_fullname,
            "title": title, "selftext": selftext, "url": format!("https://www.reddit.com/r/{sub}/comments/{id}/{slug}/"),
            "domain": format!("self.{sub}"), "is_self": true, "num_comments": 0,
            "created_utc": at, "edited": false,
            "permalink": format!("/r/{sub}/comments/{id}/{slug}/"),
            "subreddit": sub, "subreddit_name_prefixed": format!("r/{sub}"),
            "score": 1, "over_18": false, "locked": false, "stickied": false,
            "removed_by_category": null,
        });
        self.things.push(FakeThing {
            kind: "t3",
            data,
            listed: true,
        });
        name
    }

    fn add_comment(&mut self, parent: &str, author: &str, body: &str, at: f64) -> Option<String> {
        let parent_thing = self.find(parent)?;
        let sub = parent_thing.subreddit().to_owned();
        let link_id = if parent_thing.kind == "t3" {
            parent.to_owned()
        } else {
            parent_thing.data["link_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let link_title = self
            .find(&link_id)
            .and_then(|l| l.data["title"].as_str())
            .unwrap_or_default()
            .to_owned();
        let link_permalink = self
            .find(&link_id)
            .and_then(|l| l.data["permalink"].as_str())
            .unwrap_or_default()
            .to_owned();
        let id = self.next_id();
        let name = format!("t1_{id}");
        let author_fullname = self.author_fullname(author);
        let data = json!({
            "id": id, "name": name, "author": author, "author_fullname": author_fullname,
            "body": body, "created_utc": at, "edited": false,
            "link_id": link_id, "parent_id": parent, "link_title": link_title,
            "permalink": format!("{link_permalink}{id}/"),
            "subreddit": sub, "subreddit_id": "t5_2qh0u", "subreddit_name_prefixed": format!("r/{sub}"),
            "score": 1, "locked": false, "stickied": false, "distinguished": null, "over_18": false,
        });
        self.things.push(FakeThing {
            kind: "t1",
            data,
            listed: true,
        });
        Some(name)
    }
}

impl FakeReddit {
    /// Starts the fake for one script app and account.
    pub async fn start(
        client_id: &str,
        client_secret: &str,
        username: &str,
        password: &str,
    ) -> std::io::Result<FakeReddit> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            username: username.into(),
            password: password.into(),
            app_revoked: false,
            token_lifetime: Duration::from_secs(86_400),
            tokens: HashMap::new(),
            tokens_issued: 0,
            things: Vec::new(),
            next_id: 2_000_000_000,
            clock: 0.0,
            authors: HashMap::new(),
            locked: Vec::new(),
            private: Vec::new(),
            window: Duration::from_secs(600),
            per_window: 1_000,
            window_started: Instant::now(),
            used: 0,
            rate_limited: 0,
            rate_limit_reset: 1,
            failing: Vec::new(),
            cut: 0,
            comment_errors: Vec::new(),
            lose_comment_answers: 0,
            received: Vec::new(),
            comments_created: 0,
            requests: Vec::new(),
            served_401: 0,
            served_429: 0,
        }));
        let app = Router::new()
            .route("/api/v1/access_token", post(access_token))
            .route("/api/v1/me", get(me))
            .route("/r/{sub}/new", get(subreddit_new))
            .route("/r/{sub}/comments", get(subreddit_comments))
            .route("/r/{sub}/search", get(subreddit_search))
            .route("/search", get(search))
            .route("/api/info", get(info))
            .route("/user/{name}/comments", get(user_comments))
            .route("/api/comment", post(comment))
            .with_state(state.clone());
        let server = serve_in_background(listener, app, "fake reddit");
        Ok(FakeReddit {
            addr,
            state,
            server,
        })
    }

    /// Both hosts: `www_url` and `oauth_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A self post in `sub`; its fullname.
    pub fn submit(&self, sub: &str, author: &str, title: &str, selftext: &str) -> String {
        let mut s = lock(&self.state);
        let at = s.tick();
        s.add_link(sub, author, title, selftext, at)
    }

    /// A self post written at `created_utc` (earlier than others: a late-approved post).
    pub fn submit_at(&self, sub: &str, author: &str, title: &str, created_utc: f64) -> String {
        lock(&self.state).add_link(sub, author, title, "", created_utc)
    }

    /// A comment under `parent` (a `t3_` or `t1_` fullname); its fullname.
    pub fn comment(&self, parent: &str, author: &str, body: &str) -> String {
        let mut s = lock(&self.state);
        let at = s.tick();
        s.add_comment(parent, author, body, at).unwrap_or_default()
    }

    /// The author edits: new text, and `edited` becomes the edit's time.
    pub fn edit(&self, fullname: &str, text: &str) {
        let mut s = lock(&self.state);
        let at = s.tick();
        if let Some(t) = s.find_mut(fullname) {
            let field = if t.kind == "t1" { "body" } else { "selftext" };
            t.data[field] = json!(text);
            t.data["edited"] = json!(at);
        }
    }

    /// The author deletes: `[deleted]` text and author; it leaves the listings.
    pub fn delete(&self, fullname: &str) {
        self.tombstone(fullname, "[deleted]", true);
    }

    /// A moderator removes: `[removed]` text; it leaves the listings.
    pub fn remove(&self, fullname: &str) {
        self.tombstone(fullname, "[removed]", false);
    }

    fn tombstone(&self, fullname: &str, text: &str, author_too: bool) {
        let mut s = lock(&self.state);
        if let Some(t) = s.find_mut(fullname) {
            let field = if t.kind == "t1" { "body" } else { "selftext" };
            t.data[field] = json!(text);
            if author_too {
                t.data["author"] = json!("[deleted]");
                t.data["author_fullname"] = Value::Null;
            }
            if t.kind == "t3" {
                t.data["removed_by_category"] =
                    json!(if author_too { "deleted" } else { "moderator" });
            }
            t.listed = false;
        }
    }

    /// Locks a thread: comments under it are refused with `THREAD_LOCKED`.
    pub fn lock_thread(&self, link: &str) {
        lock(&self.state).locked.push(link.to_owned());
    }

    /// Makes a subreddit private: its listings answer 403.
    pub fn make_private(&self, sub: &str) {
        lock(&self.state).private.push(sub.to_lowercase());
    }

    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.state).token_lifetime = lifetime;
    }

    /// Every token issued so far stops working (as if expired or invalidated early).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// The app's access is revoked: no tokens work and none are issued.
    pub fn revoke_app(&self) {
        let mut s = lock(&self.state);
        s.app_revoked = true;
        s.tokens.clear();
    }

    /// Each `window` allows `per_window` API requests; beyond them 429.
    pub fn set_rate_budget(&self, per_window: u32, window: Duration) {
        let mut s = lock(&self.state);
        s.per_window = per_window;
        s.window = window;
        s.window_started = Instant::now();
        s.used = 0;
    }

    /// The next `n` API requests get 429 with `X-Ratelimit-Reset: reset_secs`.
    pub fn rate_limit_next(&self, n: u32, reset_secs: u64) {
        let mut s = lock(&self.state);
        s.rate_limited = n;
        s.rate_limit_reset = reset_secs;
    }

    /// The next `n` API requests fail with `status` (a 5xx burst).
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.state).failing = vec![status; n];
    }

    /// The next `n` listing answers are cut in the middle of the JSON (connection dropped).
    pub fn cut_next(&self, n: u32) {
        lock(&self.state).cut = n;
    }

    /// The next `/api/comment` answers 200 with this `[code, message, field]` error.
    pub fn comment_error_next(&self, code: &str, message: &str, field: &str) {
        lock(&self.state)
            .comment_errors
            .push((code.into(), message.into(), field.into()));
    }

    /// The next `/api/comment` makes the comment but answers 504, as a timed-out gateway would.
    pub fn lose_next_comment_answer(&self) {
        lock(&self.state).lose_comment_answers += 1;
    }

    pub fn received_comments(&self) -> Vec<ReceivedComment> {
        lock(&self.state).received.clone()
    }

    pub fn comments_created(&self) -> usize {
        lock(&self.state).comments_created
    }

    pub fn tokens_issued(&self) -> usize {
        lock(&self.state).tokens_issued
    }

    /// Every API request's path and query, in order (token requests excluded).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// How many 401 and 429 answers the API gave.
    pub fn served_401(&self) -> usize {
        lock(&self.state).served_401
    }

    pub fn served_429(&self) -> usize {
        lock(&self.state).served_429
    }

    /// A thing as `/api/info` shows it.
    pub fn thing(&self, fullname: &str) -> Option<Value> {
        lock(&self.state).find(fullname).map(|t| t.data.clone())
    }
}

impl Drop for FakeReddit {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": "Unauthorized", "error": 401})),
    )
        .into_response()
}

/// `platform:app id:version (by /u/name)`, as Reddit asks every client to send.
fn is_reddit_style_agent(agent: &str) -> bool {
    let Some((left, right)) = agent.split_once(" (by /u/") else {
        return false;
    };
    let parts: Vec<&str> = left.split(':').collect();
    parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && !p.contains(' '))
        && right.strip_suffix(')').is_some_and(|u| !u.is_empty())
}

async fn access_token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let expected = format!(
        "Basic {}",
        base64(format!("{}:{}", s.client_id, s.client_secret).as_bytes())
    );
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if s.app_revoked || basic != Some(expected.as_str()) {
        return unauthorized();
    }
    if form.get("grant_type").map(String::as_str) != Some("password") {
        return axum::Json(json!({"error": "unsupported_grant_type"})).into_response();
    }
    if form.get("username") != Some(&s.username) || form.get("password") != Some(&s.password) {
        // Reddit's way: HTTP 200 all the same.
        return axum::Json(json!({"error": "invalid_grant"})).into_response();
    }
    s.tokens_issued += 1;
    let token = format!(
        "{}-Zx9kQf3Lw8Hn0P5tRv7Yb{}",
        2_648_751 + s.tokens_issued,
        s.tokens_issued
    );
    let lifetime = s.token_lifetime;
    s.tokens.insert(token.clone(), Instant::now() + lifetime);
    axum::Json(json!({
        "access_token": token, "token_type": "bearer",
        "expires_in": lifetime.as_secs(), "scope": "*",
    }))
    .into_response()
}

/// Headers describing the window's budget after this request.
fn budget_headers(s: &FakeState, response: &mut Response) {
    let left = s.window.saturating_sub(s.window_started.elapsed());
    let remaining = s.per_window.saturating_sub(s.used);
    let h = response.headers_mut();
    let pairs = [
        ("X-Ratelimit-Used", s.used.to_string()),
        ("X-Ratelimit-Remaining", format!("{remaining}.0")),
        ("X-Ratelimit-Reset", left.as_secs_f64().ceil().to_string()),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

/// Token, User-Agent, scripted failures and the budget, before every API answer: `Some` is
/// the refusal.
fn gate(state: &Shared, headers: &HeaderMap, request: String) -> Option<Response> {
    let mut s = lock(state);
    s.requests.push(request);
    let now = Instant::now();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bearer "));
    let valid = token.is_some_and(|t| s.tokens.get(t).is_some_and(|until| *until > now));
    if !valid {
        s.served_401 += 1;
        return Some(unauthorized());
    }
    if s.window_started.elapsed() >= s.window {
        s.window_started = now;
        s.used = 0;
    }
    s.used += 1;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let over_budget = s.used > s.per_window;
    if !is_reddit_style_agent(agent) || s.rate_limited > 0 || over_budget {
        let scripted = s.rate_limited > 0;
        s.rate_limited = s.rate_limited.saturating_sub(1);
        s.served_429 += 1;
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<html><body><h1>whoa there, pardner!</h1></body></html>",
        )
            .into_response();
        budget_headers(&s, &mut response);
        if scripted {
            if let Ok(v) = HeaderValue::from_str(&s.rate_limit_reset.to_string()) {
                response.headers_mut().insert("X-Ratelimit-Reset", v);
            }
            response
                .headers_mut()
                .insert("X-Ratelimit-Remaining", HeaderValue::from_static("0.0"));
        }
        return Some(response);
    }
    if !s.failing.is_empty() {
        let status = s.failing.remove(0);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<html><body>all of our servers are busy right now</body></html>",
        )
            .into_response();
        budget_headers(&s, &mut response);
        return Some(response);
    }
    None
}

fn with_budget(state: &Shared, mut response: Response) -> Response {
    budget_headers(&lock(state), &mut response);
    response
}

fn describe(path: &str, query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    format!("{path}?{}", pairs.join("&"))
}

/// HTML-escapes the text fields, as Reddit does without `raw_json=1`.
fn escaped(mut data: Value) -> Value {
    for field in ["body", "title", "selftext"] {
        if let Some(text) = data[field].as_str() {
            let text = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            data[field] = json!(text);
        }
    }
    data
}

fn thing_json(t: &FakeThing, raw: bool) -> Value {
    let data = if raw {
        t.data.clone()
    } else {
        escaped(t.data.clone())
    };
    json!({"kind": t.kind, "data": data})
}

/// A listing page with Reddit's `after`/`before`/`limit` semantics over `matching` (newest
/// first).
fn listing(
    state: &Shared,
    query: &HashMap<String, String>,
    matching: impl Fn(&FakeThing) -> bool,
) -> Response {
    let mut s = lock(state);
    let raw = query.get("raw_json").map(String::as_str) == Some("1");
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let mut all: Vec<&FakeThing> = s
        .things
        .iter()
        .filter(|t| t.listed && matching(t))
        .collect();
    // Newest first; the later-made first among equals.
    all.reverse();
    all.sort_by(|a, b| b.created().total_cmp(&a.created()));
    let position = |anchor: &str| all.iter().position(|t| t.fullname() == anchor);
    let (start, end) = if let Some(after) = query.get("after") {
        match position(after) {
            Some(i) => (i + 1, (i + 1 + limit).min(all.len())),
            None => (0, 0),
        }
    } else if let Some(before) = query.get("before") {
        match position(before) {
            Some(i) => (i.saturating_sub(limit), i),
            None => (0, 0),
        }
    } else {
        (0, limit.min(all.len()))
    };
    let page = &all[start..end];
    let after = (end < all.len() && !page.is_empty())
        .then(|| page.last().map(|t| t.fullname().to_owned()))
        .flatten();
    let before = (start > 0 && !page.is_empty())
        .then(|| page.first().map(|t| t.fullname().to_owned()))
        .flatten();
    let children: Vec<Value> = page.iter().map(|t| thing_json(t, raw)).collect();
    let body = json!({
        "kind": "Listing",
        "data": {"after": after, "before": before, "dist": children.len(), "modhash": "", "geo_filter": "", "children": children},
    })
    .to_string();
    if s.cut > 0 {
        s.cut -= 1;
        // Half the JSON reaches the client with the headers, then the connection drops.
        let mut response = Response::new(half_then_reset(body.as_bytes()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        budget_headers(&s, &mut response);
        return response;
    }
    let mut response = (
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        body,
    )
        .into_response();
    budget_headers(&s, &mut response);
    response
}

/// Reddit's answer for a private subreddit's listings.
/// The gate of a `/r/{sub}/{listing}` request, then Reddit's 403 when the subreddit is
/// private: every subreddit listing is refused the same two ways, in this order.
fn subreddit_gate(
    state: &Shared,
    headers: &HeaderMap,
    sub: &str,
    listing: &str,
    query: &HashMap<String, String>,
) -> Option<Response> {
    gate(
        state,
        headers,
        describe(&format!("/r/{sub}/{listing}"), query),
    )
    .or_else(|| private(state, sub))
}

fn private(state: &Shared, sub: &str) -> Option<Response> {
    let s = lock(state);
    if !s.private.contains(&sub.to_lowercase()) {
        return None;
    }
    let mut response = (
        StatusCode::FORBIDDEN,
        axum::Json(json!({"reason": "private", "message": "Forbidden", "error": 403})),
    )
        .into_response();
    budget_headers(&s, &mut response);
    Some(response)
}

fn matches_query(t: &FakeThing, q: &str) -> bool {
    let q = q.trim().trim_matches('"').to_lowercase();
    let text = format!(
        "{} {}",
        t.data["title"].as_str().unwrap_or_default(),
        t.data["selftext"].as_str().unwrap_or_default()
    )
    .to_lowercase();
    !q.is_empty() && text.contains(&q)
}

async fn subreddit_new(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(sub): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = subreddit_gate(&state, &headers, &sub, "new", &query) {
        return refused;
    }
    listing(&state, &query, |t| {
        t.kind == "t3" && t.subreddit().eq_ignore_ascii_case(&sub)
    })
}

async fn subreddit_comments(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(sub): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = subreddit_gate(&state, &headers, &sub, "comments", &query) {
        return refused;
    }
    listing(&state, &query, |t| {
        t.kind == "t1" && t.subreddit().eq_ignore_ascii_case(&sub)
    })
}

async fn subreddit_search(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(sub): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = subreddit_gate(&state, &headers, &sub, "search", &query) {
        return refused;
    }
    let q = query.get("q").cloned().unwrap_or_default();
    let restrict = query.get("restrict_sr").map(String::as_str) == Some("1");
    listing(&state, &query, |t| {
        t.kind == "t3"
            && matches_query(t, &q)
            && (!restrict || t.subreddit().eq_ignore_ascii_case(&sub))
    })
}

async fn search(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gate(&state, &headers, describe("/search", &query)) {
        return refused;
    }
    let q = query.get("q").cloned().unwrap_or_default();
    listing(&state, &query, |t| t.kind == "t3" && matches_query(t, &q))
}

async fn user_comments(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gate(
        &state,
        &headers,
        describe(&format!("/user/{name}/comments"), &query),
    ) {
        return refused;
    }
    listing(&state, &query, |t| {
        t.kind == "t1"
            && t.data["author"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(&name))
    })
}

async fn info(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gate(&state, &headers, describe("/api/info", &query)) {
        return refused;
    }
    let raw = query.get("raw_json").map(String::as_str) == Some("1");
    let s = lock(&state);
    let children: Vec<Value> = query
        .get("id")
        .map(|ids| {
            ids.split(',')
                .take(100)
                .filter_map(|id| s.find(id.trim()))
                .map(|t| thing_json(t, raw))
                .collect()
        })
        .unwrap_or_default();
    drop(s);
    with_budget(
        &state,
        axum::Json(json!({"kind": "Listing", "data": {"after": null, "before": null, "dist": children.len(), "children": children}}))
            .into_response(),
    )
}

async fn me(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(refused) = gate(&state, &headers, "/api/v1/me".into()) {
        return refused;
    }
    let mut s = lock(&state);
    let username = s.username.clone();
    let fullname = s.author_fullname(&username);
    let id = fullname.trim_start_matches("t2_").to_owned();
    drop(s);
    with_budget(
        &state,
        axum::Json(json!({"name": username, "id": id, "link_karma": 12, "comment_karma": 345, "created_utc": 1_600_000_000.0}))
            .into_response(),
    )
}

fn api_errors(errors: &[(String, String, String)]) -> Response {
    let triples: Vec<Value> = errors.iter().map(|(c, m, f)| json!([c, m, f])).collect();
    axum::Json(json!({"json": {"errors": triples}})).into_response()
}

async fn comment(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = gate(&state, &headers, "/api/comment".into()) {
        return refused;
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let received = ReceivedComment {
        api_type: field("api_type"),
        thing_id: field("thing_id"),
        text: field("text"),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    let mut s = lock(&state);
    s.received.push(received.clone());
    if !s.comment_errors.is_empty() {
        let error = s.comment_errors.remove(0);
        drop(s);
        return with_budget(&state, api_errors(&[error]));
    }
    let parent = s.find(&received.thing_id).map(|p| {
        (
            p.data["body"]
                .as_str()
                .or(p.data["selftext"].as_str())
                .unwrap_or_default()
                .to_owned(),
            p.kind,
            p.data["link_id"]
                .as_str()
                .unwrap_or(p.fullname())
                .to_owned(),
        )
    });
    let refusal = match &parent {
        None => Some(("DELETED_COMMENT", "that comment has been deleted", "parent")),
        Some((text, _, _)) if text == "[deleted]" || text == "[removed]" => {
            Some(("DELETED_COMMENT", "that comment has been deleted", "parent"))
        }
        Some((_, _, link)) if s.locked.contains(link) => {
            Some(("THREAD_LOCKED", "Comments are locked.", "parent"))
        }
        _ => None,
    };
    if let Some((code, message, field)) = refusal {
        drop(s);
        return with_budget(
            &state,
            api_errors(&[(code.into(), message.into(), field.into())]),
        );
    }
    if received.text.trim().is_empty() {
        drop(s);
        return with_budget(
            &state,
            api_errors(&[(
                "NO_TEXT".into(),
                "we need something here".into(),
                "text".into(),
            )]),
        );
    }
    let at = s.tick();
    let username = s.username.clone();
    let Some(name) = s.add_comment(&received.thing_id, &username, received.text.trim(), at) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    s.comments_created += 1;
    if s.lose_comment_answers > 0 {
        s.lose_comment_answers -= 1;
        drop(s);
        return with_budget(
            &state,
            (StatusCode::GATEWAY_TIMEOUT, "upstream request timeout").into_response(),
        );
    }
    let created = s
        .find(&name)
        .map(|t| thing_json(t, true))
        .unwrap_or(Value::Null);
    drop(s);
    with_budget(
        &state,
        axum::Json(json!({"json": {"errors": [], "data": {"things": [created]}}})).into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_reddit() {
        assert_eq!(
            base64(b"p-jcoLKBynTLew:gko_LXELoV07ZBNUXrvWZfzE3aI"),
            "cC1qY29MS0J5blRMZXc6Z2tvX0xYRUxvVjA3WkJOVVhydldaZnpFM2FJ"
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert!(is_reddit_style_agent(
            "linux:io.earshot.connector:v0.4.2 (by /u/acme_support)"
        ));
        assert!(!is_reddit_style_agent("reqwest/0.12"));
        assert!(!is_reddit_style_agent("python-requests/2.31 (by /u/x)"));
        assert_eq!(base36(2_000_000_001), "x2qxvl");
    }
}
