//! A fake Google Play Developer API and Google token endpoint speaking the real wire protocol
//! (PROTOCOLS-2.md §4.8), for tests here and in other crates (feature `fake`). One axum server
//! on `127.0.0.1:0`: point `api_url` and `token_url` at [`FakeGooglePlay::base_url`] and
//! [`FakeGooglePlay::token_url`].
//!
//! `POST /token` checks the `jwt-bearer` assertion ([`verify_assertion`]: RS256 by the test
//! key, `kid`, `aud`, `exp − iat ≤ 3600`, the androidpublisher scope) and issues 1-hour
//! tokens; a revoked key answers `400 invalid_grant`. `GET …/applications/{pkg}/reviews` lists
//! the last 7 days, newest-modified first, hides reviews without text, joins `title\tbody`,
//! writes `lastModified.seconds` as a string, pages with `maxResults` (≤ 100) and
//! `token`/`tokenPagination.nextPageToken`, and translates with `translationLanguage`
//! (keeping `originalText`). `GET …/reviews/{id}` answers a bare review; `POST
//! …/reviews/{id}:reply` (the colon raw or `%3A`) overwrites the single reply, strips HTML
//! and refuses over 350 characters (400 `INVALID_ARGUMENT`). Google error envelopes; 401
//! `UNAUTHENTICATED` for expired or unknown tokens; an hourly GET and a daily POST counter
//! answering 429 `RESOURCE_EXHAUSTED`; scripted 429s, 5xx and dropped connections.

use crate::fake_server::{
    bearer, cut_off, json_answer, page_start, page_token, FakeServer, IssuesTokens, Script,
    Scripted, Tokens, Trouble,
};
use crate::google::token::{testing, verify_assertion};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A customer's review as the fake holds it.
#[derive(Debug, Clone)]
pub struct FakePlayReview {
    pub id: String,
    pub author: String,
    pub rating: u8,
    pub title: Option<String>,
    /// Empty: a star-only rating, which the API never shows.
    pub body: String,
    pub language: String,
    pub modified: DateTime<Utc>,
    pub app_version: Option<(u64, String)>,
    /// (code name, product name, manufacturer).
    pub device: Option<(String, String, String)>,
    pub android_api: Option<u32>,
    /// The brand's reply and when it was set.
    pub reply: Option<(String, DateTime<Utc>)>,
}

impl FakePlayReview {
    /// A review by `author` modified `minutes_ago`, with app version and device.
    pub fn new(id: &str, author: &str, rating: u8, minutes_ago: i64, body: &str) -> Self {
        FakePlayReview {
            id: id.into(),
            author: author.into(),
            rating,
            title: None,
            body: body.into(),
            language: "en".into(),
            modified: Utc::now() - chrono::Duration::minutes(minutes_ago),
            app_version: Some((30102, "3.1.2".into())),
            device: Some(("panther".into(), "Pixel 7".into(), "Google".into())),
            android_api: Some(35),
            reply: None,
        }
    }
}

/// The fake's state (its fields are the fake's own).
#[derive(Debug)]
pub struct PlayState {
    public_key: Vec<u8>,
    client_email: String,
    package: String,
    key_revoked: bool,
    token_lifetime: Duration,
    tokens: Tokens,
    reviews: Vec<FakePlayReview>,
    gets: Vec<Instant>,
    get_limit: u32,
    posts_today: u32,
    post_limit: u32,
    script: Script,
    base: String,
}

impl IssuesTokens for PlayState {
    fn tokens(&mut self) -> &mut Tokens {
        &mut self.tokens
    }
}

impl Scripted for PlayState {
    fn script(&mut self) -> &mut Script {
        &mut self.script
    }
}

/// A running fake; the server stops when this is dropped.
pub type FakeGooglePlay = FakeServer<PlayState>;

/// Google's error envelope.
fn error(status: StatusCode, google_status: &str, message: &str) -> Response {
    let body =
        json!({"error": {"code": status.as_u16(), "message": message, "status": google_status}});
    json_answer(status, &body)
}

fn timestamp(t: DateTime<Utc>) -> Value {
    json!({"seconds": t.timestamp().to_string(), "nanos": t.timestamp_subsec_nanos()})
}

impl FakeServer<PlayState> {
    /// A fake for app `package` that accepts assertions of service account `client_email`
    /// signed with the test key ([`testing::key_file`]).
    pub async fn start(client_email: &str, package: &str) -> std::io::Result<Self> {
        let (client_email, package) = (client_email.to_owned(), package.to_owned());
        let state = move |addr| PlayState {
            public_key: testing::public_key(),
            client_email,
            package,
            key_revoked: false,
            token_lifetime: Duration::from_secs(3600),
            tokens: Tokens::default(),
            reviews: Vec::new(),
            gets: Vec::new(),
            get_limit: 200,
            posts_today: 0,
            post_limit: 2000,
            script: Script::default(),
            base: format!("http://{addr}"),
        };
        FakeServer::spawn(state, handle).await
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr())
    }

    /// The service account's key file, its `token_uri` pointing here.
    pub fn key_file(&self) -> crate::Secret {
        testing::key_file(&self.state().client_email, &self.token_url())
    }

    /// A customer writes (or rewrites) a review.
    pub fn review(&self, review: FakePlayReview) {
        let mut s = self.state();
        s.reviews.retain(|r| r.id != review.id);
        s.reviews.push(review);
    }

    /// The customer edits review `id`: new rating and text, modified now.
    pub fn edit(&self, id: &str, rating: u8, body: &str) {
        let mut s = self.state();
        if let Some(r) = s.reviews.iter_mut().find(|r| r.id == id) {
            r.rating = rating;
            r.body = body.into();
            r.modified = Utc::now();
        }
    }

    /// The brand's reply to review `id`, as it stands.
    pub fn reply_of(&self, id: &str) -> Option<String> {
        let s = self.state();
        let r = s.reviews.iter().find(|r| r.id == id)?;
        r.reply.as_ref().map(|(t, _)| t.clone())
    }

    /// The key is deleted in Cloud Console: assertions answer `invalid_grant`.
    pub fn revoke_key(&self) {
        self.state().key_revoked = true;
    }

    pub fn set_get_limit(&self, per_hour: u32) {
        self.state().get_limit = per_hour;
    }
}

/// Google Play's answers to the trouble a [`Script`] makes.
fn troubled(trouble: Trouble) -> Response {
    match trouble {
        Trouble::CutOff => cut_off("{\"reviews\": ["),
        Trouble::RateLimited => error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Queries'.",
        ),
        Trouble::Failing(status) => error(
            status,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        ),
    }
}

fn handle(
    s: &mut PlayState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map_or(uri.path(), |p| p.as_str())
        .to_owned();
    if uri.path() == "/token" && method == Method::POST {
        return token(s, body);
    }
    let token = bearer(headers).unwrap_or_default();
    if !s.tokens.valid(token) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        );
    }
    if let Some(trouble) = s.script.trouble(false) {
        return troubled(trouble);
    }
    let prefix = format!("/androidpublisher/v3/applications/{}/reviews", s.package);
    let Some(rest) = uri.path().strip_prefix(&prefix) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Package not found.");
    };
    let rest = rest.replace("%3A", ":").replace("%3a", ":");
    let query: HashMap<String, String> = reqwest::Url::parse(&format!("http://x{path_and_query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    if method == Method::GET {
        let now = Instant::now();
        s.gets
            .retain(|at| now.duration_since(*at) < Duration::from_secs(3600));
        if s.gets.len() >= s.get_limit as usize {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Hourly quota for reviews GET requests exceeded.",
            );
        }
        s.gets.push(now);
    }
    match (method.as_str(), rest.as_str()) {
        ("GET", "") => list(s, &query),
        ("GET", id) => match visible(s)
            .into_iter()
            .find(|r| Some(r.id.as_str()) == id.strip_prefix('/'))
        {
            Some(r) => axum::Json(review_json(r, query.get("translationLanguage"))).into_response(),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Review not found."),
        },
        ("POST", id) if id.ends_with(":reply") => {
            let id = id
                .trim_start_matches('/')
                .trim_end_matches(":reply")
                .to_owned();
            reply(s, &id, body)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The URL path is not valid.",
        ),
    }
}

fn token(s: &mut PlayState, body: &Bytes) -> Response {
    let form: HashMap<String, String> = url_form(body);
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return oauth_error("unsupported_grant_type", "Invalid grant_type.");
    }
    let now = Utc::now().timestamp().max(0) as u64;
    let audience = format!("{}/token", s.base);
    let checked = verify_assertion(
        form.get("assertion").map_or("", String::as_str),
        &s.public_key,
        testing::TEST_KEY_ID,
        &audience,
        now,
    );
    let assertion = match checked {
        Ok(a) if !s.key_revoked => a,
        Ok(_) => return oauth_error("invalid_grant", "Invalid JWT Signature."),
        Err(reason) => return oauth_error("invalid_grant", &reason),
    };
    if assertion.client_email != s.client_email || assertion.scope != super::config::SCOPE {
        return oauth_error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let lifetime = s.token_lifetime;
    let token = s.tokens.issue("ya29.c.fake", lifetime);
    axum::Json(json!({"access_token": token, "expires_in": lifetime.as_secs() - 1, "token_type": "Bearer"}))
        .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `application/x-www-form-urlencoded` pairs.
fn url_form(body: &Bytes) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body)))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// What the API shows: reviews with text, modified in the last 7 days, newest first.
fn visible(s: &PlayState) -> Vec<&FakePlayReview> {
    let since = Utc::now() - chrono::Duration::days(7);
    let mut shown: Vec<&FakePlayReview> = s
        .reviews
        .iter()
        .filter(|r| !r.body.trim().is_empty() && r.modified >= since)
        .collect();
    shown.sort_by_key(|r| std::cmp::Reverse(r.modified));
    shown
}

fn review_json(r: &FakePlayReview, translate_to: Option<&String>) -> Value {
    let words = match &r.title {
        Some(title) => format!("{title}\t{}", r.body),
        None => r.body.clone(),
    };
    let mut user = json!({
        "text": words, "lastModified": timestamp(r.modified), "starRating": r.rating,
        "reviewerLanguage": r.language, "thumbsUpCount": 0, "thumbsDownCount": 0,
    });
    if let Some(lang) = translate_to.filter(|l| **l != r.language) {
        user["text"] = json!(format!("[{lang}] {words}"));
        user["originalText"] = json!(words);
    }
    if let Some((code, name)) = &r.app_version {
        user["appVersionCode"] = json!(code);
        user["appVersionName"] = json!(name);
    }
    if let Some((device, product, maker)) = &r.device {
        user["device"] = json!(device);
        user["deviceMetadata"] =
            json!({"productName": product, "manufacturer": maker, "deviceClass": "phone"});
    }
    if let Some(api) = r.android_api {
        user["androidOsVersion"] = json!(api);
    }
    let mut comments = vec![json!({"userComment": user})];
    if let Some((text, at)) = &r.reply {
        comments.push(json!({"developerComment": {"text": text, "lastModified": timestamp(*at)}}));
    }
    json!({"reviewId": r.id, "authorName": r.author, "comments": comments})
}

fn list(s: &PlayState, query: &HashMap<String, String>) -> Response {
    let max: usize = match query.get("maxResults").map(|m| m.parse::<usize>()) {
        None => 100,
        Some(Ok(m @ 1..=100)) => m,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "maxResults must be 1 to 100.",
            )
        }
    };
    let start = match query.get("token") {
        None => query
            .get("startIndex")
            .and_then(|i| i.parse().ok())
            .unwrap_or(0),
        Some(t) => match page_start(t) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "Invalid page token.",
                )
            }
        },
    };
    let shown = visible(s);
    let page: Vec<Value> = shown
        .iter()
        .skip(start)
        .take(max)
        .map(|r| review_json(r, query.get("translationLanguage")))
        .collect();
    let mut doc = json!({
        "reviews": page,
        "pageInfo": {"totalResults": shown.len(), "resultPerPage": max, "startIndex": start},
    });
    if start + max < shown.len() {
        doc["tokenPagination"] = json!({"nextPageToken": page_token(start + max)});
    }
    axum::Json(doc).into_response()
}

/// Tags dropped, as Google does with HTML in a reply.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn reply(s: &mut PlayState, id: &str, body: &Bytes) -> Response {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received.",
        );
    };
    let text = strip_tags(doc["replyText"].as_str().unwrap_or_default());
    if text.trim().is_empty() || text.chars().count() > 350 {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Reply text must be 1 to 350 characters.",
        );
    }
    if s.posts_today >= s.post_limit {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Daily quota for review replies exceeded.",
        );
    }
    let now = Utc::now();
    let Some(review) = s
        .reviews
        .iter_mut()
        .find(|r| r.id == id && !r.body.trim().is_empty())
    else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Review not found.");
    };
    // One reply per review: a reply on an answered review overwrites it.
    review.reply = Some((text.clone(), now));
    s.posts_today += 1;
    axum::Json(json!({"result": {"replyText": text, "lastEdited": timestamp(now)}})).into_response()
}
