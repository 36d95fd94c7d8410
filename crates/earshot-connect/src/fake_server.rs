//! What the fake review-network servers share (App Store Connect, Google Play, YouTube;
//! feature `fake`): one axum server on `127.0.0.1:0` that hands every request to the fake's
//! handler over its state and stops when dropped, and the trouble a test can script on any
//! of them: the next requests rate limited, failing with 5xx, or cut off mid-answer, and the
//! log of the requests received.
//!
//! A fake is a [`FakeServer`] over its own state (`FakeGooglePlay` is
//! `FakeServer<PlayState>`); what only that network does (reviews, tokens, quotas) is an
//! `impl` block on it beside its handler.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The handler of a fake: every request, with the fake's state (locked for the whole
/// request, and the request already noted in its [`Script`]).
pub type Handler<S> = fn(&mut S, &Method, &Uri, &HeaderMap, &Bytes) -> Response;

/// A running fake; the server stops when this is dropped.
#[derive(Debug)]
pub struct FakeServer<S> {
    addr: SocketAddr,
    state: Arc<Mutex<S>>,
    server: tokio::task::JoinHandle<()>,
}

impl<S> Drop for FakeServer<S> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `app` on `listener` in the background until the task is aborted (the fakes abort
/// it when dropped); `what` names the fake in the warning if serving stops on its own.
pub fn serve_in_background(
    listener: tokio::net::TcpListener,
    app: Router,
    what: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "{what} stopped");
        }
    })
}

/// The state, even after a panic in a handler (the test that caused it reports it).
pub fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: Send + 'static> FakeServer<S> {
    /// Binds a port, makes the state knowing its address, and serves `handle`; every request
    /// is noted in the state's [`Script`] first, whatever the handler then answers.
    pub(crate) async fn spawn(
        state: impl FnOnce(SocketAddr) -> S,
        handle: Handler<S>,
    ) -> std::io::Result<Self>
    where
        S: Scripted,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state(addr)));
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let mut s = lock(&state);
                    s.script().heard(&method, &uri);
                    handle(&mut s, &method, &uri, &headers, &body)
                }
            },
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeServer {
            addr,
            state,
            server,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }
}

/// The review fakes' page token: where the next page starts, as `at:<index>` in unpadded
/// URL-safe base64 (opaque to the client, like the real APIs' tokens).
pub fn page_token(start: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("at:{start}"))
}

/// Where the page of a [`page_token`] starts; `None` when it is not one.
pub fn page_start(token: &str) -> Option<usize> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("at:").and_then(|n| n.parse::<usize>().ok()))
}

/// The trouble scripted for the next requests, and the requests received.
#[derive(Debug, Default)]
pub struct Script {
    failing: Vec<u16>,
    rate_limited: u32,
    dropping: u32,
    requests: Vec<String>,
}

impl Script {
    /// Notes a request as `METHOD path?query`.
    pub fn heard(&mut self, method: &Method, uri: &Uri) {
        let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        self.requests.push(format!("{method} {pq}"));
    }

    /// The trouble this request is to meet, if any, in the order every fake applies it: a
    /// cut connection, then a rate limit (scripted, or `over_budget`: the fake's own count
    /// of requests says so), then a scripted 5xx. Only the trouble met is used up.
    pub fn trouble(&mut self, over_budget: bool) -> Option<Trouble> {
        if self.dropped() {
            return Some(Trouble::CutOff);
        }
        if self.rate_limited() || over_budget {
            return Some(Trouble::RateLimited);
        }
        self.failure().map(Trouble::Failing)
    }

    /// Whether this request is to be rate limited (and one fewer after it).
    fn rate_limited(&mut self) -> bool {
        take(&mut self.rate_limited)
    }

    /// Whether this request's connection is to be cut mid-answer (and one fewer after it).
    fn dropped(&mut self) -> bool {
        take(&mut self.dropping)
    }

    /// The 5xx this request is to fail with, if one is scripted.
    fn failure(&mut self) -> Option<StatusCode> {
        if self.failing.is_empty() {
            return None;
        }
        let status = self.failing.remove(0);
        Some(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
    }
}

/// What a [`Script`] makes of one request; each fake answers it in its network's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The connection is cut mid-answer ([`cut_off`]).
    CutOff,
    /// The network's rate-limit answer.
    RateLimited,
    /// This 5xx.
    Failing(StatusCode),
}

fn take(n: &mut u32) -> bool {
    let scripted = *n > 0;
    *n = n.saturating_sub(1);
    scripted
}

/// An answer that promises more than it sends, starting with `start`: the client sees the
/// connection cut mid-answer.
pub fn cut_off(start: &'static str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("content-length", "4096")
        .body(Body::from(start))
        .unwrap_or_default()
}

/// The token of the request's `Authorization: Bearer …` header, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// `k=v&k=v` pairs of a query string or form body, in order and percent-decoded.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decodes a query part: `%XX` is the byte, `+` a space; a `%` without two hex
/// digits after it stays as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `body` as the JSON answer with `status`: how the fakes send their networks' error envelopes.
pub fn json_answer(status: StatusCode, body: &serde_json::Value) -> Response {
    use axum::response::IntoResponse;
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A body that sends the first half of `body`, pauses so that half reaches the client with
/// the headers, then resets the connection: an answer cut mid-way, as a flaky network cuts it.
pub fn half_then_reset(body: &[u8]) -> Body {
    let half = Bytes::from(body[..body.len() / 2].to_vec());
    let stream = futures::stream::unfold(Some(half), |half| async move {
        match half {
            Some(half) => Some((Ok::<_, std::io::Error>(half), None)),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let reset =
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut by the script");
                Some((Err(reset), None))
            }
        }
    });
    Body::from_stream(stream)
}

/// A fake's state that carries a [`Script`].
pub trait Scripted {
    fn script(&mut self) -> &mut Script;
}

impl<S: Scripted + Send + 'static> FakeServer<S> {
    /// The next `n` requests answer the network's rate-limit error.
    pub fn rate_limit_next(&self, n: u32) {
        self.state().script().rate_limited = n;
    }

    /// The next requests answer these 5xx statuses, one each.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state().script().failing.extend_from_slice(statuses);
    }

    /// The next `n` requests have their connection cut mid-answer.
    pub fn drop_next(&self, n: u32) {
        self.state().script().dropping = n;
    }

    /// `METHOD path?query` of every request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state().script().requests.clone()
    }
}

/// The access tokens a fake OAuth token endpoint issued (Google's, for Google Play and
/// YouTube), each valid until its expiry.
#[derive(Debug, Default)]
pub struct Tokens {
    until: std::collections::HashMap<String, std::time::Instant>,
    issued: u64,
}

impl Tokens {
    /// A new token `<prefix><n>`, valid for `lifetime`.
    pub fn issue(&mut self, prefix: &str, lifetime: std::time::Duration) -> String {
        self.issued += 1;
        let token = format!("{prefix}{}", self.issued);
        self.until
            .insert(token.clone(), std::time::Instant::now() + lifetime);
        token
    }

    /// Whether `token` was issued here and has not expired.
    pub fn valid(&self, token: &str) -> bool {
        self.until
            .get(token)
            .is_some_and(|until| *until > std::time::Instant::now())
    }
}

/// A fake's state that issues [`Tokens`].
pub trait IssuesTokens {
    fn tokens(&mut self) -> &mut Tokens;
}

impl<S: IssuesTokens + Send + 'static> FakeServer<S> {
    /// Every access token issued so far expires now.
    pub fn expire_tokens(&self) {
        let now = std::time::Instant::now();
        for until in self.state().tokens().until.values_mut() {
            *until = now;
        }
    }

    pub fn tokens_issued(&self) -> u64 {
        self.state().tokens().issued
    }
}
