//! A fake App Store Connect that speaks the real wire protocol (PROTOCOLS-2.md §3.7), for
//! tests here and in other crates (feature `fake`). One axum server on `127.0.0.1:0`: point
//! `api_url` at [`FakeAppStore::base_url`].
//!
//! Every request must carry `Authorization: Bearer <ES256 JWT>` that verifies with the
//! team key's public half ([`super::jwt::verify`]: `kid`, `iss`, `aud`, `exp − now ≤ 20 min`),
//! else 401 `NOT_AUTHORIZED`. `GET /v1/apps/{id}/customerReviews` with `sort`
//! (`±createdDate`, `±rating`), `filter[rating]`, `filter[territory]`,
//! `exists[publishedResponse]`, `limit` (≤ 200, else 400 `PARAMETER_ERROR.INVALID`),
//! `include=response` (+ `included[]`) and an opaque `cursor` in `links.next`;
//! `GET /v1/customerReviews/{id}` and `/response` (404 when none); `POST
//! /v1/customerReviewResponses` (201, overwrites the review's single response, 409
//! `ENTITY_ERROR` for an empty or over-5,970-character body, 404 for an unknown review;
//! `PENDING_PUBLISH` turning `PUBLISHED` after [`FakeAppStore::set_publish_delay`]); `DELETE
//! /v1/customerReviewResponses/{id}` (204). `X-Rate-Limit` on every answer with a
//! rolling-hour counter, 429 `RATE_LIMIT_EXCEEDED` once it is spent or when scripted; JSON:API
//! error bodies with a string `status`.
//!
//! Scripts: 429s, 5xx and cut-off answers for the next requests (see
//! [`crate::fake_server`]), a revoked key, the next N tokens refused (as for a clock that
//! drifted).

use super::jwt::verify;
use crate::fake_server::{
    bearer, cut_off, json_answer, page_start, page_token, FakeServer, Script, Scripted, Trouble,
};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A customer's review as the fake holds it.
#[derive(Debug, Clone)]
pub struct FakeReview {
    pub id: String,
    pub rating: u8,
    pub title: Option<String>,
    pub body: Option<String>,
    pub nickname: String,
    pub created: DateTime<Utc>,
    pub territory: String,
}

/// The brand's response to a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeResponse {
    pub id: String,
    pub review_id: String,
    pub body: String,
    created: Instant,
}

/// The fake's state (its fields are the fake's own).
#[derive(Debug)]
pub struct FakeState {
    public_key: Vec<u8>,
    key_id: String,
    issuer_id: String,
    app_id: String,
    revoked: bool,
    refuse_tokens: u32,
    reviews: Vec<FakeReview>,
    responses: HashMap<String, FakeResponse>,
    next_response: u64,
    publish_delay: Duration,
    hour_limit: u32,
    spent: Vec<Instant>,
    script: Script,
    tokens: Vec<String>,
}

impl Scripted for FakeState {
    fn script(&mut self) -> &mut Script {
        &mut self.script
    }
}

/// A running fake; the server stops when this is dropped.
pub type FakeAppStore = FakeServer<FakeState>;

fn error(status: StatusCode, code: &str, title: &str) -> Response {
    let body = json!({"errors": [{
        "id": "fake", "status": status.as_u16().to_string(), "code": code, "title": title,
        "detail": title,
    }]});
    json_answer(status, &body)
}

impl FakeServer<FakeState> {
    /// A fake for app `app_id` that accepts tokens of key `key_id` of team `issuer_id`
    /// signed by the key whose public half is `public_key`.
    pub async fn start(
        public_key: Vec<u8>,
        key_id: &str,
        issuer_id: &str,
        app_id: &str,
    ) -> std::io::Result<Self> {
        let (key_id, issuer_id, app_id) =
            (key_id.to_owned(), issuer_id.to_owned(), app_id.to_owned());
        let state = move |_| FakeState {
            public_key,
            key_id,
            issuer_id,
            app_id,
            revoked: false,
            refuse_tokens: 0,
            reviews: Vec::new(),
            responses: HashMap::new(),
            next_response: 1,
            publish_delay: Duration::from_secs(3600),
            hour_limit: 3600,
            spent: Vec::new(),
            script: Script::default(),
            tokens: Vec::new(),
        };
        FakeServer::spawn(state, handle).await
    }

    /// A customer writes a review.
    pub fn review(&self, review: FakeReview) {
        self.state().reviews.push(review);
    }

    /// The customer edits review `id` (same id and date, new text and rating).
    pub fn edit(&self, id: &str, rating: u8, body: &str) {
        let mut s = self.state();
        if let Some(r) = s.reviews.iter_mut().find(|r| r.id == id) {
            r.rating = rating;
            r.body = Some(body.into());
        }
    }

    /// Review `id` disappears from the list (its author deleted it, or Apple removed it).
    pub fn remove(&self, id: &str) {
        self.state().reviews.retain(|r| r.id != id);
    }

    pub fn revoke(&self) {
        self.state().revoked = true;
    }

    /// The next `n` tokens are refused with 401 although they verify.
    pub fn refuse_next_tokens(&self, n: u32) {
        self.state().refuse_tokens = n;
    }

    pub fn set_hour_limit(&self, limit: u32) {
        self.state().hour_limit = limit;
    }

    pub fn set_publish_delay(&self, delay: Duration) {
        self.state().publish_delay = delay;
    }

    /// Distinct bearer tokens seen, in order.
    pub fn tokens(&self) -> Vec<String> {
        self.state().tokens.clone()
    }

    /// The responses as they stand now, by review id.
    pub fn responses(&self) -> HashMap<String, FakeResponse> {
        self.state().responses.clone()
    }
}

fn review_json(r: &FakeReview, response: Option<&FakeResponse>) -> Value {
    json!({
        "type": "customerReviews", "id": r.id,
        "attributes": {"rating": r.rating, "title": r.title, "body": r.body,
            "reviewerNickname": r.nickname, "createdDate": r.created.to_rfc3339(),
            "territory": r.territory},
        "relationships": {"response": {"data": response.map(|p| json!({"type": "customerReviewResponses", "id": p.id}))}},
    })
}

fn response_json(p: &FakeResponse, delay: Duration) -> Value {
    let state = if p.created.elapsed() >= delay {
        "PUBLISHED"
    } else {
        "PENDING_PUBLISH"
    };
    json!({
        "type": "customerReviewResponses", "id": p.id,
        "attributes": {"responseBody": p.body, "lastModifiedDate": Utc::now().to_rfc3339(), "state": state},
        "relationships": {"review": {"data": {"type": "customerReviews", "id": p.review_id}}},
    })
}

/// App Store Connect's answers to the trouble a [`Script`] makes.
fn troubled(trouble: Trouble) -> Response {
    match trouble {
        Trouble::CutOff => cut_off("{\"data\": ["),
        Trouble::RateLimited => error(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            "The request rate limit has been reached.",
        ),
        Trouble::Failing(status) => error(
            status,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred on the server side.",
        ),
    }
}

fn handle(
    s: &mut FakeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let base = format!("http://{host}");
    let mut query: HashMap<String, String> = reqwest::Url::parse(&format!("{base}{uri}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    query.insert("\0base".into(), base);
    // The rolling hour: requests older than an hour no longer count.
    s.spent
        .retain(|at| at.elapsed() < Duration::from_secs(3600));
    s.spent.push(Instant::now());
    let remaining = s.hour_limit.saturating_sub(s.spent.len() as u32);
    let limit_header = format!("user-hour-lim:{};user-hour-rem:{remaining};", s.hour_limit);
    let used = s.spent.len() as u32;
    let mut answer = answer(s, method, &path, &query, headers, body, used);
    if let Ok(value) = limit_header.parse() {
        answer.headers_mut().insert("x-rate-limit", value);
    }
    answer
}

fn answer(
    s: &mut FakeState,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    used: u32,
) -> Response {
    let token = bearer(headers).unwrap_or_default().to_owned();
    let now = Utc::now().timestamp().max(0) as u64;
    if let Err(reason) = verify(&token, &s.public_key, &s.key_id, &s.issuer_id, now) {
        return error(
            StatusCode::UNAUTHORIZED,
            "NOT_AUTHORIZED",
            &format!("Authentication credentials are missing or invalid: {reason}"),
        );
    }
    if !s.tokens.contains(&token) {
        s.tokens.push(token);
        if s.refuse_tokens > 0 {
            s.refuse_tokens -= 1;
            return error(
                StatusCode::UNAUTHORIZED,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
            );
        }
    }
    if s.revoked {
        return error(
            StatusCode::UNAUTHORIZED,
            "NOT_AUTHORIZED",
            "Authentication credentials are missing or invalid.",
        );
    }
    if let Some(trouble) = s.script.trouble(used > s.hour_limit) {
        return troubled(trouble);
    }
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["v1", "apps", app, "customerReviews"]) => list(s, app, query),
        ("GET", ["v1", "customerReviews", id]) => {
            let Some(r) = s.reviews.iter().find(|r| r.id == *id) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "The specified resource does not exist.",
                );
            };
            let doc = json!({"data": review_json(r, s.responses.get(*id))});
            (StatusCode::OK, axum::Json(doc)).into_response()
        }
        ("GET", ["v1", "customerReviews", id, "response"]) => match s.responses.get(*id) {
            Some(p) => (
                StatusCode::OK,
                axum::Json(json!({"data": response_json(p, s.publish_delay)})),
            )
                .into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "The specified resource does not exist.",
            ),
        },
        ("POST", ["v1", "customerReviewResponses"]) => create(s, body),
        ("DELETE", ["v1", "customerReviewResponses", id]) => {
            let review = s
                .responses
                .iter()
                .find(|(_, p)| p.id == *id)
                .map(|(k, _)| k.clone());
            match review {
                Some(review) => {
                    s.responses.remove(&review);
                    StatusCode::NO_CONTENT.into_response()
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "The specified resource does not exist.",
                ),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The URL path is not valid.",
        ),
    }
}

fn list(s: &FakeState, app: &str, query: &HashMap<String, String>) -> Response {
    if app != s.app_id {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "There is no resource of type 'apps' with this id.",
        );
    }
    let limit: usize = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l @ 1..=200)) => l,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.INVALID",
                "limit must be 1 to 200.",
            )
        }
    };
    let mut reviews: Vec<&FakeReview> = s.reviews.iter().collect();
    if let Some(ratings) = query.get("filter[rating]") {
        let wanted: Vec<u8> = ratings.split(',').filter_map(|r| r.parse().ok()).collect();
        reviews.retain(|r| wanted.contains(&r.rating));
    }
    if let Some(t) = query.get("filter[territory]") {
        reviews.retain(|r| t.split(',').any(|t| t == r.territory));
    }
    if let Some(e) = query.get("exists[publishedResponse]") {
        let want = e == "true";
        reviews.retain(|r| s.responses.contains_key(&r.id) == want);
    }
    match query.get("sort").map(String::as_str) {
        Some("-createdDate") | None => reviews.sort_by_key(|r| std::cmp::Reverse(r.created)),
        Some("createdDate") => reviews.sort_by_key(|r| r.created),
        Some("rating") => reviews.sort_by_key(|r| r.rating),
        Some("-rating") => reviews.sort_by_key(|r| std::cmp::Reverse(r.rating)),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.INVALID",
                "sort is not one of the allowed values.",
            )
        }
    }
    let start = match query.get("cursor") {
        None => 0,
        Some(c) => match page_start(c) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "PARAMETER_ERROR.INVALID",
                    "cursor is not valid.",
                )
            }
        },
    };
    let page: Vec<&FakeReview> = reviews.iter().skip(start).take(limit).copied().collect();
    let include = query
        .get("include")
        .is_some_and(|i| i.split(',').any(|i| i == "response"));
    let data: Vec<Value> = page
        .iter()
        .map(|r| review_json(r, s.responses.get(&r.id)))
        .collect();
    let included: Vec<Value> = if include {
        page.iter()
            .filter_map(|r| s.responses.get(&r.id))
            .map(|p| response_json(p, s.publish_delay))
            .collect()
    } else {
        Vec::new()
    };
    let mut links = json!({"self": "fake"});
    if start + limit < reviews.len() {
        let base = query.get("\0base").cloned().unwrap_or_default();
        let mut next: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "cursor" && !k.starts_with('\0'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        next.sort();
        next.push(("cursor".into(), page_token(start + limit)));
        if let Ok(url) =
            reqwest::Url::parse_with_params(&format!("{base}/v1/apps/{app}/customerReviews"), &next)
        {
            links["next"] = json!(url.to_string());
        }
    }
    let doc = json!({"data": data, "included": included, "links": links,
        "meta": {"paging": {"total": reviews.len(), "limit": limit}}});
    (StatusCode::OK, axum::Json(doc)).into_response()
}

fn create(s: &mut FakeState, body: &Bytes) -> Response {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "PARAMETER_ERROR.INVALID",
            "The request body is not JSON.",
        );
    };
    let data = &doc["data"];
    if data["type"] != "customerReviewResponses" {
        return error(
            StatusCode::CONFLICT,
            "ENTITY_ERROR.INCLUDED.INVALID",
            "data.type must be customerReviewResponses.",
        );
    }
    let text = data["attributes"]["responseBody"]
        .as_str()
        .unwrap_or_default();
    if text.trim().is_empty() || text.chars().count() > 5970 {
        return error(
            StatusCode::CONFLICT,
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            "responseBody must be 1 to 5970 characters.",
        );
    }
    let review = data["relationships"]["review"]["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !s.reviews.iter().any(|r| r.id == review) {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "There is no resource of type 'customerReviews' with this id.",
        );
    }
    let id = format!("resp-{:04}", s.next_response);
    s.next_response += 1;
    let response = FakeResponse {
        id,
        review_id: review.clone(),
        body: text.to_owned(),
        created: Instant::now(),
    };
    let doc = json!({"data": response_json(&response, s.publish_delay), "links": {"self": "fake"}});
    // One response per review: a POST on an answered review overwrites it.
    s.responses.insert(review, response);
    (StatusCode::CREATED, axum::Json(doc)).into_response()
}
