//! Fakes of the three notification peers, speaking their real wire protocols (PROTOCOLS.md
//! §6), for tests here and in other crates (feature `fake`):
//!
//! - [`FakeSlack`]: an incoming webhook at `/services/T…/B…/<secret>`. `200 ok` for a JSON
//!   payload with a `text`; plain-text error codes otherwise (`invalid_payload` 400,
//!   `no_service` 404 for an unknown URL, as for a revoked webhook).
//! - [`FakeWebhookReceiver`]: verifies Standard Webhooks signatures (`webhook-id`,
//!   `webhook-timestamp` within ±5 min, `webhook-signature: v1,<base64>` list) with its own
//!   HMAC code, answers `401` when they fail and `202` when they pass, and dedupes on
//!   `webhook-id` as receivers must.
//! - [`FakeSmtp`]: an SMTP server (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP,
//!   QUIT) that records each message.
//!
//! Each takes a script of failures for its next requests or connections: 429 with
//! `Retry-After`, 5xx, refusals, a hang past the client's timeout, and a connection dropped
//! after the request arrived without any answer. All bind `127.0.0.1:0`.

mod smtp;

pub use smtp::{FakeSmtp, ReceivedMail, SmtpFailure};

use crate::fake_server::lock;
use crate::Secret;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A scripted answer for the next request to an HTTP fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// `429` with `Retry-After: <seconds>`.
    RateLimited { retry_after_secs: u64 },
    /// A 5xx (or any status) with a short plain-text body.
    Status(u16),
    /// Slack's error: `status` with the plain-text `code` (`no_service`, `invalid_payload`).
    SlackError { status: u16, code: &'static str },
    /// Answer `200` only after this long (past the client's timeout: it gives up).
    Hang(Duration),
    /// Read the whole request, then close the connection without a byte of answer. Slack
    /// has not posted it; the webhook receiver has processed it (only the answer is lost).
    Drop,
}

// ---- A listener whose connections a handler can cut -------------------------------------

/// Per-connection switch: once set, the connection fails every read and write, so the
/// client sees the socket close with no answer at all.
#[derive(Debug, Clone, Default)]
struct Cut(Arc<AtomicBool>);

struct CuttableStream {
    inner: TcpStream,
    cut: Cut,
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.cut.0.load(Ordering::SeqCst) {
            return Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.cut.0.load(Ordering::SeqCst) {
            return Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct CuttableListener(TcpListener);

impl axum::serve::Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = Cut;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, _)) => {
                    let cut = Cut::default();
                    return (
                        CuttableStream {
                            inner,
                            cut: cut.clone(),
                        },
                        cut,
                    );
                }
                // Out of file descriptors and the like: wait a moment, as axum's own does.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Cut::default())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, CuttableListener>>
    for Cut
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, CuttableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Serves `app` on `127.0.0.1:0`; handlers can cut their connection through `ConnectInfo<Cut>`.
async fn serve(app: Router) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<Cut>();
        if let Err(e) = axum::serve(CuttableListener(listener), service).await {
            tracing::warn!(error = %e, "fake notification peer stopped");
        }
    });
    Ok((addr, server))
}

/// Plays a scripted failure; `None` means answer normally.
async fn play(failure: Option<HttpFailure>, cut: &Cut) -> Option<Response> {
    let failure = failure?;
    Some(match failure {
        HttpFailure::RateLimited { retry_after_secs } => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "rate_limited").into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        HttpFailure::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, status.canonical_reason().unwrap_or("error")).into_response()
        }
        HttpFailure::SlackError { status, code } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, code).into_response()
        }
        HttpFailure::Hang(wait) => {
            tokio::time::sleep(wait).await;
            return None;
        }
        HttpFailure::Drop => {
            cut.0.store(true, Ordering::SeqCst);
            StatusCode::OK.into_response()
        }
    })
}

// ---- Slack -----------------------------------------------------------------------------

const SLACK_TEAM: &str = "T0FAKE0001";
const SLACK_HOOK: &str = "B0FAKE0002";

#[derive(Debug, Default)]
struct SlackState {
    secret: String,
    script: VecDeque<HttpFailure>,
    attempts: usize,
    messages: Vec<Value>,
}

/// A fake Slack incoming webhook; stops when dropped.
#[derive(Debug)]
pub struct FakeSlack {
    addr: SocketAddr,
    state: Arc<Mutex<SlackState>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeSlack {
    pub async fn start() -> std::io::Result<FakeSlack> {
        let state = Arc::new(Mutex::new(SlackState {
            secret: "xFakeWebhookSecret0123456789abcd".into(),
            ..SlackState::default()
        }));
        let app = Router::new()
            .route("/services/{team}/{hook}/{secret}", post(slack_hook))
            .with_state(state.clone());
        let (addr, server) = serve(app).await?;
        Ok(FakeSlack {
            addr,
            state,
            server,
        })
    }

    /// The webhook URL to configure (it carries the secret, as Slack's does).
    pub fn webhook_url(&self) -> Secret {
        let secret = lock(&self.state).secret.clone();
        Secret::new(format!(
            "http://{}/services/{SLACK_TEAM}/{SLACK_HOOK}/{secret}",
            self.addr
        ))
    }

    /// A URL Slack does not know (a revoked webhook): answers `404 no_service`.
    pub fn revoked_url(&self) -> Secret {
        Secret::new(format!(
            "http://{}/services/{SLACK_TEAM}/{SLACK_HOOK}/revoked0000000000000000",
            self.addr
        ))
    }

    /// Answers the next requests with these failures, in order, then normally again.
    pub fn script(&self, failures: impl IntoIterator<Item = HttpFailure>) {
        lock(&self.state).script.extend(failures);
    }

    /// Every message Slack accepted (answered `200 ok`), in order.
    pub fn messages(&self) -> Vec<Value> {
        lock(&self.state).messages.clone()
    }

    /// Every POST to the webhook URL, accepted or not.
    pub fn attempts(&self) -> usize {
        lock(&self.state).attempts
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn slack_error(status: StatusCode, code: &'static str) -> Response {
    (status, code).into_response()
}

async fn slack_hook(
    State(state): State<Arc<Mutex<SlackState>>>,
    ConnectInfo(cut): ConnectInfo<Cut>,
    Path((team, hook, secret)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let failure = {
        let mut s = lock(&state);
        if team != SLACK_TEAM || hook != SLACK_HOOK || secret != s.secret {
            return slack_error(StatusCode::NOT_FOUND, "no_service");
        }
        s.attempts += 1;
        s.script.pop_front()
    };
    if let Some(response) = play(failure, &cut).await {
        return response;
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return slack_error(StatusCode::BAD_REQUEST, "invalid_payload");
    };
    // `text` is the notification fallback and required even with blocks (§6.1).
    let has_text = payload["text"]
        .as_str()
        .is_some_and(|t| !t.trim().is_empty());
    if !is_json || !has_text {
        return slack_error(StatusCode::BAD_REQUEST, "invalid_payload");
    }
    // Block Kit's limit on a section's text (unverified code name, see PROTOCOLS.md §7).
    let too_long = payload["blocks"].as_array().is_some_and(|blocks| {
        blocks.iter().any(|b| {
            b["text"]["text"]
                .as_str()
                .is_some_and(|t| t.chars().count() > 3000)
        })
    });
    if too_long {
        return slack_error(StatusCode::BAD_REQUEST, "invalid_blocks");
    }
    lock(&state).messages.push(payload);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], "ok").into_response()
}

// ---- Generic webhook receiver ---------------------------------------------------------------

/// The receiver's path.
const HOOK_PATH: &str = "/hooks/earshot";
/// Standard Webhooks' recommended tolerance for `webhook-timestamp`.
const TOLERANCE_SECS: i64 = 300;

/// One request as the fake receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: Option<String>,
    pub webhook_timestamp: Option<String>,
    pub webhook_signature: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    /// The raw body bytes as text.
    pub body: String,
    /// `Ok` when the signature verified, else why not.
    pub verified: Result<(), String>,
    /// The status the fake answered (`0` while it has not, and for a dropped connection).
    pub status: u16,
}

impl Delivery {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug)]
struct ReceiverState {
    key: Vec<u8>,
    script: VecDeque<HttpFailure>,
    deliveries: Vec<Delivery>,
    seen_ids: HashSet<String>,
    events: Vec<Value>,
}

/// A customer's system receiving earshot's signed webhooks; stops when dropped.
#[derive(Debug)]
pub struct FakeWebhookReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeWebhookReceiver {
    /// Starts a receiver that verifies with `secret` (`whsec_<base64>`, or raw bytes).
    pub async fn start(secret: &str) -> std::io::Result<FakeWebhookReceiver> {
        let key = match secret.strip_prefix("whsec_") {
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            None => secret.as_bytes().to_vec(),
        };
        let state = Arc::new(Mutex::new(ReceiverState {
            key,
            script: VecDeque::new(),
            deliveries: Vec::new(),
            seen_ids: HashSet::new(),
            events: Vec::new(),
        }));
        let app = Router::new()
            .route(HOOK_PATH, post(receive))
            .with_state(state.clone());
        let (addr, server) = serve(app).await?;
        Ok(FakeWebhookReceiver {
            addr,
            state,
            server,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}{HOOK_PATH}", self.addr)
    }

    /// Answers the next verified requests with these failures, in order.
    pub fn script(&self, failures: impl IntoIterator<Item = HttpFailure>) {
        lock(&self.state).script.extend(failures);
    }

    /// Every request, in order, with what the fake made of it.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.state).deliveries.clone()
    }

    /// The events accepted, once per `webhook-id` (what a receiver that dedupes keeps).
    pub fn events(&self) -> Vec<Value> {
        lock(&self.state).events.clone()
    }
}

impl Drop for FakeWebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Standard Webhooks verification, written apart from earshot's signer so that a bug there
/// cannot hide itself here.
fn verify(key: &[u8], headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), String> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = get("webhook-id").ok_or("no webhook-id")?;
    let ts = get("webhook-timestamp").ok_or("no webhook-timestamp")?;
    let signatures = get("webhook-signature").ok_or("no webhook-signature")?;
    let t: i64 = ts.parse().map_err(|_| format!("bad timestamp {ts:?}"))?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(format!(
            "timestamp {t} is more than {TOLERANCE_SECS} s from now"
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    for candidate in signatures.split(' ') {
        let Some(b64) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        if mac.clone().verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err("no v1 signature matches".into())
}

async fn receive(
    State(state): State<Arc<Mutex<ReceiverState>>>,
    ConnectInfo(cut): ConnectInfo<Cut>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let get = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (verified, failure) = {
        let mut s = lock(&state);
        let verified = verify(&s.key, &headers, &body, chrono::Utc::now().timestamp());
        // A real receiver checks the signature before anything else, scripts included.
        let failure = if verified.is_ok() {
            s.script.pop_front()
        } else {
            None
        };
        (verified, failure)
    };
    let delivery = Delivery {
        webhook_id: get(header::HeaderName::from_static("webhook-id")),
        webhook_timestamp: get(header::HeaderName::from_static("webhook-timestamp")),
        webhook_signature: get(header::HeaderName::from_static("webhook-signature")),
        user_agent: get(header::USER_AGENT),
        content_type: get(header::CONTENT_TYPE),
        body: String::from_utf8_lossy(&body).into_owned(),
        verified: verified.clone(),
        status: 0,
    };
    // Recorded on arrival: a request whose answer hangs past the client's patience counts.
    let index = {
        let mut s = lock(&state);
        s.deliveries.push(delivery.clone());
        s.deliveries.len() - 1
    };
    let dropping = failure == Some(HttpFailure::Drop);
    let accept = |delivery: &Delivery| {
        let mut s = lock(&state);
        let id = delivery.webhook_id.clone().unwrap_or_default();
        if s.seen_ids.insert(id) {
            s.events.push(delivery.json());
        }
    };
    let response = if let Err(why) = verified {
        (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": why}))).into_response()
    } else if dropping {
        // The receiver processed it and the answer was lost: the sender cannot tell, and its
        // retry must be recognised by `webhook-id`.
        accept(&delivery);
        play(failure, &cut).await.unwrap_or_default()
    } else if let Some(response) = play(failure, &cut).await {
        response
    } else {
        accept(&delivery);
        StatusCode::ACCEPTED.into_response()
    };
    if !dropping {
        if let Some(d) = lock(&state).deliveries.get_mut(index) {
            d.status = response.status().as_u16();
        }
    }
    response
}
