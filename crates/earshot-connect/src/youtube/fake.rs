//! A fake YouTube Data API v3 and Google token endpoint speaking the real wire protocol
//! (PROTOCOLS-2.md §5.8), for tests here and in other crates (feature `fake`). One axum server
//! on `127.0.0.1:0`: point `api_url` at [`FakeYouTube::base_url`] and `token_url` at
//! [`FakeYouTube::token_url`].
//!
//! `POST /token` takes the `refresh_token` grant (`invalid_grant` once revoked) and issues
//! 1-hour tokens. `GET /youtube/v3/commentThreads` takes exactly one filter
//! (`allThreadsRelatedToChannelId`, `videoId` or `id`), `part` (required), `order=time`,
//! `maxResults` 1–100 (not with `id`), `pageToken`, `textFormat` (`html` escapes the text
//! and links handles, `plainText` does not), and carries at most the 5 newest replies of a
//! thread. `GET /youtube/v3/comments` lists by `parentId` or `id`; `GET
//! /youtube/v3/channels?mine=true` names the token's channel (OAuth only). `POST
//! /youtube/v3/comments` inserts a reply under a *top-level* comment (`canReply`, length
//! ≤ 10,000) as the token's channel; `PUT` updates, `DELETE` deletes (owner only). An
//! `?key=` may read but not write. A quota ledger charges the real unit costs (1 per list,
//! 50 per write, at least 1 for a refused call) and answers `403 quotaExceeded` in the exact
//! envelope once spent, until [`FakeYouTube::reset_quota`] (midnight Pacific). 401
//! `authError` for expired tokens; scripted 5xx, `rateLimitExceeded` and dropped connections.

// The handlers answer a response either way (the error one is YouTube's envelope).
#![allow(clippy::result_large_err)]

use crate::fake_server::{
    bearer, cut_off, json_answer, page_start, page_token, FakeServer, IssuesTokens, Script,
    Scripted, Tokens, Trouble,
};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// A comment as the fake holds it.
#[derive(Debug, Clone)]
pub struct FakeComment {
    pub id: String,
    /// The thread's top-level comment, for a reply.
    pub parent: Option<String>,
    pub video: String,
    pub author_channel: String,
    pub author_name: String,
    pub text: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// The fake's state (its fields are the fake's own).
#[derive(Debug)]
pub struct YouTubeState {
    channel: String,
    refresh_token: String,
    revoked: bool,
    tokens: Tokens,
    comments: Vec<FakeComment>,
    closed_threads: Vec<String>,
    next_id: u64,
    daily_units: u32,
    spent: u32,
    script: Script,
    /// This fake's quota project, unique in the process: ledgers are shared process-wide by
    /// OAuth client, so a port reused by a later fake must not inherit an earlier one's.
    project: u64,
}

impl IssuesTokens for YouTubeState {
    fn tokens(&mut self) -> &mut Tokens {
        &mut self.tokens
    }
}

impl Scripted for YouTubeState {
    fn script(&mut self) -> &mut Script {
        &mut self.script
    }
}

/// The title of the fake's channel, as `channels.list` shows it.
pub const CHANNEL_TITLE: &str = "Acme Kettles";

/// A running fake; the server stops when this is dropped.
pub type FakeYouTube = FakeServer<YouTubeState>;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// YouTube's error envelope with a reason.
fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message,
        "errors": [{"message": message, "domain": "youtube.commentThread", "reason": reason}]}});
    json_answer(status, &body)
}

fn quota_exceeded() -> Response {
    let message = "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.";
    let body = json!({"error": {"code": 403, "message": message,
        "errors": [{"message": message, "domain": "youtube.quota", "reason": "quotaExceeded"}]}});
    json_answer(StatusCode::FORBIDDEN, &body)
}

impl FakeServer<YouTubeState> {
    /// A fake for `channel` whose owner consented with `refresh_token`.
    pub async fn start(channel: &str, refresh_token: &str) -> std::io::Result<Self> {
        let (channel, refresh_token) = (channel.to_owned(), refresh_token.to_owned());
        let state = move |_| YouTubeState {
            channel,
            refresh_token,
            revoked: false,
            tokens: Tokens::default(),
            comments: Vec::new(),
            closed_threads: Vec::new(),
            next_id: 1,
            daily_units: 10_000,
            spent: 0,
            script: Script::default(),
            project: {
                static PROJECTS: std::sync::atomic::AtomicU64 =
                    std::sync::atomic::AtomicU64::new(1);
                PROJECTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        };
        FakeServer::spawn(state, handle).await
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr())
    }

    /// An OAuth client id of this fake's own (each fake its own quota project).
    pub fn client_id(&self) -> String {
        format!(
            "{}-{}-fake.apps.googleusercontent.com",
            self.addr().port(),
            self.state().project
        )
    }

    /// A viewer starts a thread on `video`; returns its id.
    pub fn comment(
        &self,
        video: &str,
        author: (&str, &str),
        text: &str,
        minutes_ago: i64,
    ) -> String {
        self.add(None, video, author, text, minutes_ago)
    }

    /// A viewer replies in `thread`; returns the reply's id.
    pub fn reply(
        &self,
        thread: &str,
        author: (&str, &str),
        text: &str,
        minutes_ago: i64,
    ) -> String {
        let video = self
            .state()
            .comments
            .iter()
            .find(|c| c.id == thread)
            .map(|c| c.video.clone())
            .unwrap_or_default();
        self.add(Some(thread), &video, author, text, minutes_ago)
    }

    fn add(
        &self,
        parent: Option<&str>,
        video: &str,
        (channel, name): (&str, &str),
        text: &str,
        minutes_ago: i64,
    ) -> String {
        let mut s = self.state();
        let n = s.next_id;
        s.next_id += 1;
        let id = match parent {
            Some(p) => format!("{p}.AM{n:08}"),
            None => format!("Ugz{n:08}AaABAg"),
        };
        let at = Utc::now() - chrono::Duration::minutes(minutes_ago);
        s.comments.push(FakeComment {
            id: id.clone(),
            parent: parent.map(str::to_owned),
            video: video.into(),
            author_channel: channel.into(),
            author_name: name.into(),
            text: text.into(),
            published: at,
            updated: at,
        });
        id
    }

    /// The author edits comment `id`.
    pub fn edit(&self, id: &str, text: &str) {
        let mut s = self.state();
        if let Some(c) = s.comments.iter_mut().find(|c| c.id == id) {
            c.text = text.into();
            c.updated = Utc::now();
        }
    }

    /// The author deletes comment `id` (a thread goes with its replies).
    pub fn delete(&self, id: &str) {
        self.state()
            .comments
            .retain(|c| c.id != id && c.parent.as_deref() != Some(id));
    }

    /// Comments are turned off on the thread's video: no replies can be added.
    pub fn close_thread(&self, id: &str) {
        self.state().closed_threads.push(id.into());
    }

    /// Comments posted by the channel, in order.
    pub fn channel_replies(&self) -> Vec<FakeComment> {
        let s = self.state();
        s.comments
            .iter()
            .filter(|c| c.author_channel == s.channel)
            .cloned()
            .collect()
    }

    pub fn revoke(&self) {
        self.state().revoked = true;
    }

    pub fn set_daily_units(&self, units: u32) {
        self.state().daily_units = units;
    }

    /// Midnight Pacific: the project's units are whole again.
    pub fn reset_quota(&self) {
        self.state().spent = 0;
    }

    pub fn units_spent(&self) -> u32 {
        self.state().spent
    }
}

/// YouTube's answers to the trouble a [`Script`] makes.
fn troubled(trouble: Trouble) -> Response {
    match trouble {
        Trouble::CutOff => cut_off("{\"items\": ["),
        Trouble::RateLimited => error(
            StatusCode::FORBIDDEN,
            "rateLimitExceeded",
            "The request was sent too often.",
        ),
        Trouble::Failing(status) => error(status, "backendError", "Backend Error"),
    }
}

fn handle(
    s: &mut YouTubeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let pq = uri
        .path_and_query()
        .map_or(uri.path(), |p| p.as_str())
        .to_owned();
    let query: HashMap<String, String> = reqwest::Url::parse(&format!("http://x{pq}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    if uri.path() == "/token" && method == Method::POST {
        return token(s, body);
    }
    let Some(resource) = uri.path().strip_prefix("/youtube/v3/") else {
        return error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    let cost = match (method.as_str(), resource) {
        ("GET", _) => 1,
        _ => 50,
    };
    // Every request costs, even a refused one (at least 1 unit).
    if s.spent >= s.daily_units || s.spent + cost > s.daily_units {
        s.spent = s.daily_units;
        return quota_exceeded();
    }
    let owner = match (bearer(headers), query.contains_key("key")) {
        (Some(token), _) => {
            if !s.tokens.valid(token) {
                s.spent += 1;
                return error(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials");
            }
            true
        }
        (None, true) => false,
        (None, false) => {
            s.spent += 1;
            return error(StatusCode::UNAUTHORIZED, "required", "Login Required");
        }
    };
    if let Some(trouble) = s.script.trouble(false) {
        // A rate-limited or failed request costs a unit; this fake does not count a cut one.
        if trouble != Trouble::CutOff {
            s.spent += 1;
        }
        return troubled(trouble);
    }
    if method != Method::GET && !owner {
        s.spent += 1;
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "An API key cannot write: use OAuth.",
        );
    }
    let answer = match (method.as_str(), resource) {
        ("GET", "commentThreads") => threads(s, &query, owner),
        ("GET", "comments") => comments(s, &query),
        ("GET", "channels") => channels(s, &query, owner),
        ("POST", "comments") => insert(s, body),
        ("PUT", "comments") => update(s, body),
        ("DELETE", "comments") => delete(s, &query),
        _ => Err(error(StatusCode::NOT_FOUND, "notFound", "Not Found")),
    };
    match answer {
        Ok(r) => {
            s.spent += cost;
            r
        }
        Err(r) => {
            s.spent += 1;
            r
        }
    }
}

fn token(s: &mut YouTubeState, body: &Bytes) -> Response {
    let form: HashMap<String, String> =
        reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default();
    let bad = |error: &str, description: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return bad("unsupported_grant_type", "Invalid grant_type.");
    }
    if s.revoked || form.get("refresh_token") != Some(&s.refresh_token) {
        return bad("invalid_grant", "Token has been expired or revoked.");
    }
    let token = s.tokens.issue("ya29.a0fake", Duration::from_secs(3600));
    axum::Json(
        json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/youtube.force-ssl"}),
    )
    .into_response()
}

fn text_display(text: &str, html: bool) -> String {
    if !html {
        return text.to_owned();
    }
    html_escape::encode_text(text).replace('\n', "<br>")
}

fn comment_json(c: &FakeComment, html: bool, owner_view: bool) -> Value {
    let mut snippet = json!({
        "channelId": "", "videoId": c.video,
        "textDisplay": text_display(&c.text, html), "textOriginal": c.text,
        "authorDisplayName": format!("@{}", c.author_name),
        "authorChannelId": {"value": c.author_channel},
        "canRate": true, "viewerRating": "none", "likeCount": 0,
        "publishedAt": rfc3339(c.published), "updatedAt": rfc3339(c.updated),
    });
    if let Some(p) = &c.parent {
        snippet["parentId"] = json!(p);
    }
    if owner_view {
        snippet["moderationStatus"] = json!("published");
    }
    json!({"kind": "youtube#comment", "etag": "fake", "id": c.id, "snippet": snippet})
}

fn thread_json(s: &YouTubeState, top: &FakeComment, html: bool, owner: bool) -> Value {
    let mut replies: Vec<&FakeComment> = s
        .comments
        .iter()
        .filter(|c| c.parent.as_deref() == Some(&top.id))
        .collect();
    let total = replies.len();
    replies.sort_by_key(|c| c.published);
    // A listing carries only a subset: the 5 newest.
    let shown: Vec<Value> = replies
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|c| comment_json(c, html, owner))
        .collect();
    let mut thread = json!({
        "kind": "youtube#commentThread", "etag": "fake", "id": top.id,
        "snippet": {"channelId": s.channel, "videoId": top.video,
            "canReply": !s.closed_threads.contains(&top.id), "totalReplyCount": total, "isPublic": true,
            "topLevelComment": comment_json(top, html, owner)},
    });
    if !shown.is_empty() {
        thread["replies"] = json!({"comments": shown});
    }
    thread
}

fn page<T: Clone>(
    items: &[T],
    query: &HashMap<String, String>,
    default: usize,
) -> Result<(Vec<T>, Option<String>), Response> {
    let max = match query.get("maxResults").map(|m| m.parse::<usize>()) {
        None => default,
        Some(Ok(m @ 1..=100)) => m,
        Some(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalidMaxResults",
                "maxResults must be 1 to 100.",
            ))
        }
    };
    let start = match query.get("pageToken") {
        None => 0,
        Some(t) => page_start(t).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                "invalidPageToken",
                "The page token is not valid.",
            )
        })?,
    };
    let shown: Vec<T> = items.iter().skip(start).take(max).cloned().collect();
    let next = (start + max < items.len()).then(|| page_token(start + max));
    Ok((shown, next))
}

fn list_answer(kind: &str, items: Vec<Value>, next: Option<String>) -> Response {
    let mut doc = json!({"kind": kind, "etag": "fake",
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()}, "items": items});
    if let Some(n) = next {
        doc["nextPageToken"] = json!(n);
    }
    axum::Json(doc).into_response()
}

fn threads(
    s: &YouTubeState,
    query: &HashMap<String, String>,
    owner: bool,
) -> Result<Response, Response> {
    if !query
        .get("part")
        .is_some_and(|p| p.split(',').any(|p| p == "snippet" || p == "id"))
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalidPart",
            "The part parameter is required.",
        ));
    }
    let html = query.get("textFormat").map(String::as_str) != Some("plainText");
    let filters = ["allThreadsRelatedToChannelId", "videoId", "id"];
    let given: Vec<&str> = filters
        .iter()
        .copied()
        .filter(|f| query.contains_key(*f))
        .collect();
    if given.len() != 1 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "missingRequiredParameter",
            "Exactly one filter is required.",
        ));
    }
    let mut tops: Vec<&FakeComment> = s.comments.iter().filter(|c| c.parent.is_none()).collect();
    match given[0] {
        "allThreadsRelatedToChannelId" => {
            if query["allThreadsRelatedToChannelId"] != s.channel {
                return Err(error(
                    StatusCode::NOT_FOUND,
                    "channelNotFound",
                    "The channel could not be found.",
                ));
            }
        }
        "videoId" => tops.retain(|c| c.video == query["videoId"]),
        _ => {
            if query.contains_key("maxResults") {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "incompatibleParameters",
                    "maxResults cannot be used with id.",
                ));
            }
            let ids: Vec<&str> = query["id"].split(',').collect();
            tops.retain(|c| ids.contains(&c.id.as_str()));
        }
    }
    tops.sort_by_key(|c| std::cmp::Reverse(c.published));
    let (shown, next) = page(&tops, query, 20)?;
    let items = shown
        .iter()
        .map(|c| thread_json(s, c, html, owner))
        .collect();
    Ok(list_answer(
        "youtube#commentThreadListResponse",
        items,
        next,
    ))
}

/// `channels.list`: `mine=true` (the token's own channel) or `id=`; the title only.
fn channels(
    s: &YouTubeState,
    query: &HashMap<String, String>,
    owner: bool,
) -> Result<Response, Response> {
    let mine = query.get("mine").map(String::as_str) == Some("true");
    if mine && !owner {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "required",
            "Login Required: mine=true needs OAuth.",
        ));
    }
    let wanted = mine
        || query
            .get("id")
            .is_some_and(|ids| ids.split(',').any(|id| id == s.channel));
    let items = if wanted {
        vec![
            json!({"kind": "youtube#channel", "etag": "fake", "id": s.channel,
            "snippet": {"title": CHANNEL_TITLE, "customUrl": "@acmekettles"}}),
        ]
    } else {
        vec![]
    };
    Ok(list_answer("youtube#channelListResponse", items, None))
}

fn comments(s: &YouTubeState, query: &HashMap<String, String>) -> Result<Response, Response> {
    let html = query.get("textFormat").map(String::as_str) != Some("plainText");
    let mut found: Vec<&FakeComment> = match (query.get("parentId"), query.get("id")) {
        (Some(parent), None) => s
            .comments
            .iter()
            .filter(|c| c.parent.as_deref() == Some(parent.as_str()))
            .collect(),
        (None, Some(ids)) => {
            let ids: Vec<&str> = ids.split(',').collect();
            s.comments
                .iter()
                .filter(|c| ids.contains(&c.id.as_str()))
                .collect()
        }
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "missingRequiredParameter",
                "parentId or id is required.",
            ))
        }
    };
    found.sort_by_key(|c| c.published);
    let (shown, next) = page(&found, query, 20)?;
    let items = shown.iter().map(|c| comment_json(c, html, true)).collect();
    Ok(list_answer("youtube#commentListResponse", items, next))
}

/// The request's JSON body, or YouTube's `parseError` when it is not JSON.
fn json_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "parseError",
            "The request body is not JSON.",
        )
    })
}

fn insert(s: &mut YouTubeState, body: &Bytes) -> Result<Response, Response> {
    let doc = json_body(body)?;
    let parent = doc["snippet"]["parentId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let text = doc["snippet"]["textOriginal"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if parent.is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "parentIdMissing",
            "No parent id.",
        ));
    }
    if text.trim().is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "commentTextRequired",
            "The comment has no text.",
        ));
    }
    if text.chars().count() > 10_000 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "commentTextTooLong",
            "The comment is too long.",
        ));
    }
    let Some(top) = s.comments.iter().find(|c| c.id == parent).cloned() else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "parentCommentNotFound",
            "The parent comment could not be found.",
        ));
    };
    if top.parent.is_some() || s.closed_threads.contains(&parent) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "operationNotSupported",
            "The thread cannot take replies.",
        ));
    }
    let n = s.next_id;
    s.next_id += 1;
    let now = Utc::now();
    let comment = FakeComment {
        id: format!("{parent}.AMbrand{n:06}"),
        parent: Some(parent),
        video: top.video,
        author_channel: s.channel.clone(),
        author_name: "acme".into(),
        text,
        published: now,
        updated: now,
    };
    let answer = comment_json(&comment, false, true);
    s.comments.push(comment);
    Ok(axum::Json(answer).into_response())
}

fn update(s: &mut YouTubeState, body: &Bytes) -> Result<Response, Response> {
    let doc = json_body(body)?;
    let id = doc["id"].as_str().unwrap_or_default();
    let channel = s.channel.clone();
    let Some(c) = s.comments.iter_mut().find(|c| c.id == id) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            "commentNotFound",
            "The comment could not be found.",
        ));
    };
    if c.author_channel != channel {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the author can edit a comment.",
        ));
    }
    c.text = doc["snippet"]["textOriginal"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    c.updated = Utc::now();
    Ok(axum::Json(comment_json(c, false, true)).into_response())
}

fn delete(s: &mut YouTubeState, query: &HashMap<String, String>) -> Result<Response, Response> {
    let id = query.get("id").cloned().unwrap_or_default();
    let channel = s.channel.clone();
    match s.comments.iter().position(|c| c.id == id) {
        Some(i) if s.comments[i].author_channel == channel => {
            s.comments.remove(i);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(_) => Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the author can delete a comment.",
        )),
        None => Err(error(
            StatusCode::NOT_FOUND,
            "commentNotFound",
            "The comment could not be found.",
        )),
    }
}
