//! One live Mastodon stream, read as server-sent events or over the WebSocket variant
//! (PROTOCOLS.md §1.3); either way it yields the same `(event, payload)` pairs.
//!
//! SSE: `GET /api/v1/streaming/<channel>`, `event:`/`data:` blocks, `:thump` comments as
//! heartbeats. WebSocket: `GET /api/v1/streaming?stream=<channel>` with the bearer token in the
//! `Authorization` header; each text frame is `{"stream": [...], "event": ..., "payload": ...}`
//! whose `payload` is itself a JSON-encoded string (the bare id for `delete`). The server sends
//! no pings there, so we send our own every third of the stall timeout: their pongs keep a
//! quiet but healthy socket from looking stalled. No byte (event, heartbeat, pong) for
//! `stall_timeout` means the connection is half-open: it is dropped and reopened.

use super::config::{MastodonConfig, Transport};
use super::conn::{dropped, failed_response, network_failure, refusal, Ended, MIN_PERIOD};
use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// What to listen to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Channel<'a> {
    /// The brand's notifications (`user:notification`).
    Notifications,
    /// Public posts with this tag (already normalised).
    Hashtag(&'a str),
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Wire {
    Sse {
        response: reqwest::Response,
        parser: SseParser,
    },
    WebSocket {
        socket: Box<Socket>,
        ping: tokio::time::Interval,
    },
}

/// An open stream.
pub(super) struct LiveStream {
    wire: Wire,
    pending: VecDeque<SseEvent>,
    stall_timeout: Duration,
    last_heard: Instant,
}

impl LiveStream {
    /// Opens the stream; a refusal maps as REST refusals do (401 final, 429 until reset).
    pub async fn open(
        client: &reqwest::Client,
        config: &MastodonConfig,
        channel: Channel<'_>,
    ) -> Result<LiveStream, Ended> {
        let stall_timeout = config.stall_timeout.max(MIN_PERIOD);
        let wire = match config.transport {
            Transport::Sse => open_sse(client, config, channel).await?,
            Transport::WebSocket => open_websocket(config, channel, stall_timeout).await?,
        };
        Ok(LiveStream {
            wire,
            pending: VecDeque::new(),
            stall_timeout,
            last_heard: Instant::now(),
        })
    }

    /// The next complete event. Cancel-safe: a read cut short by another `select!` branch
    /// loses nothing, because bytes are parsed into `pending` before anything else awaits.
    pub async fn next(&mut self) -> Result<SseEvent, Ended> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(event);
            }
            let deadline = self.last_heard + self.stall_timeout;
            let stalled = || {
                dropped(format!(
                    "stream stalled: nothing for {:?}",
                    self.stall_timeout
                ))
            };
            match &mut self.wire {
                Wire::Sse { response, parser } => {
                    let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                        Err(_) => return Err(stalled()),
                        Ok(Err(e)) => return Err(dropped(format!("stream broke: {e}"))),
                        Ok(Ok(None)) => return Err(dropped("stream closed by the server".into())),
                        Ok(Ok(Some(chunk))) => chunk,
                    };
                    self.last_heard = Instant::now();
                    self.pending.extend(parser.feed(&chunk));
                }
                Wire::WebSocket { socket, ping } => {
                    tokio::select! {
                        _ = ping.tick() => {
                            if let Err(e) = socket.send(Message::Ping(Vec::new().into())).await {
                                return Err(dropped(format!("stream broke: {e}")));
                            }
                        }
                        frame = tokio::time::timeout_at(deadline, socket.next()) => {
                            let frame = match frame {
                                Err(_) => return Err(stalled()),
                                Ok(None) => return Err(dropped("stream closed by the server".into())),
                                Ok(Some(Err(e))) => return Err(dropped(format!("stream broke: {e}"))),
                                Ok(Some(Ok(frame))) => frame,
                            };
                            self.last_heard = Instant::now();
                            match frame {
                                Message::Text(text) => {
                                    if let Some(event) = envelope(text.as_str())? {
                                        self.pending.push_back(event);
                                    }
                                }
                                Message::Close(frame) => {
                                    let why = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                                    return Err(dropped(format!("stream closed by the server {why}").trim_end().to_owned()));
                                }
                                // Pongs and pings (tungstenite answers pings) only prove life.
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn open_sse(
    client: &reqwest::Client,
    config: &MastodonConfig,
    channel: Channel<'_>,
) -> Result<Wire, Ended> {
    let request = match channel {
        Channel::Notifications => {
            client.get(config.streaming_url("/api/v1/streaming/user/notification"))
        }
        Channel::Hashtag(tag) => client
            .get(config.streaming_url("/api/v1/streaming/hashtag"))
            .query(&[("tag", tag)]),
    };
    let opened = request
        .header(reqwest::header::AUTHORIZATION, config.bearer())
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await;
    match opened {
        Ok(r) if r.status().is_success() => Ok(Wire::Sse {
            response: r,
            parser: SseParser::default(),
        }),
        Ok(r) => Err(failed_response(r).await),
        Err(e) => Err(network_failure(format!("opening the stream: {e}"))),
    }
}

async fn open_websocket(
    config: &MastodonConfig,
    channel: Channel<'_>,
    stall_timeout: Duration,
) -> Result<Wire, Ended> {
    let query = match channel {
        Channel::Notifications => "stream=user:notification".to_owned(),
        Channel::Hashtag(tag) => format!("stream=hashtag&tag={}", encode(tag)),
    };
    let url = config.websocket_url(&format!("/api/v1/streaming?{query}"));
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Ended::Retry {
            failure: crate::source::Failure::Http,
            reason: format!("bad streaming URL: {e}"),
            not_before: None,
        })?;
    // The header, not `?access_token=`, so the token never lands in a proxy's access log.
    let bearer = HeaderValue::from_str(&config.bearer()).map_err(|_| {
        Ended::Auth("the access token contains characters a header cannot carry".into())
    })?;
    request
        .headers_mut()
        .insert(tungstenite::http::header::AUTHORIZATION, bearer);
    let opened = tokio::time::timeout(
        config.request_timeout.max(MIN_PERIOD),
        tokio_tungstenite::connect_async(request),
    )
    .await;
    let socket = match opened {
        Err(_) => return Err(network_failure("opening the stream timed out".into())),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let mut headers = HeaderMap::new();
            for (name, value) in response.headers() {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_str().as_bytes()),
                    HeaderValue::from_bytes(value.as_bytes()),
                ) {
                    headers.insert(n, v);
                }
            }
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let status = reqwest::StatusCode::from_u16(response.status().as_u16())
                .unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
            return Err(refusal(status, &headers, &body));
        }
        Ok(Err(e)) => return Err(network_failure(format!("opening the stream: {e}"))),
        Ok(Ok((socket, _))) => socket,
    };
    let every = (stall_timeout / 3).max(MIN_PERIOD);
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Ok(Wire::WebSocket {
        socket: Box::new(socket),
        ping,
    })
}

/// Percent-encodes a tag for a query string (tags may hold any Unicode letter).
fn encode(tag: &str) -> String {
    let mut out = String::new();
    for b in tag.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads one WebSocket frame: `Some` event, `None` for frames without one, `Err` for the
/// server's error frame (`{"error":"Unknown stream type","status":400}`).
fn envelope(text: &str) -> Result<Option<SseEvent>, Ended> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        event: Option<String>,
        payload: Option<serde_json::Value>,
        error: Option<String>,
        status: Option<u16>,
    }
    let Ok(frame) = serde_json::from_str::<Envelope>(text) else {
        tracing::warn!(frame = %crate::de::shorten(text), "unreadable mastodon stream frame");
        return Ok(None);
    };
    if let Some(error) = frame.error {
        let status = frame.status.unwrap_or(400);
        let status =
            reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_REQUEST);
        let body = serde_json::json!({ "error": error }).to_string();
        return Err(refusal(status, &HeaderMap::new(), &body));
    }
    let Some(name) = frame.event else {
        return Ok(None);
    };
    // The payload is a JSON-encoded string to be parsed again by the caller, exactly as an
    // SSE `data:` line; `filters_changed` has none at all.
    let data = match frame.payload {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    Ok(Some(SseEvent { name, data }))
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub name: String,
    pub data: String,
}

/// Turns SSE bytes into events. Comments (`:)`, `:thump`) are dropped; a block cut off by a
/// disconnect is never emitted, because only a blank line completes an event.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    name: String,
    data: Vec<String>,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                continue;
            }
            let raw = std::mem::take(&mut self.line);
            let line = String::from_utf8_lossy(&raw);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                if !self.data.is_empty() || !self.name.is_empty() {
                    let name = std::mem::take(&mut self.name);
                    events.push(SseEvent {
                        name: if name.is_empty() {
                            "message".into()
                        } else {
                            name
                        },
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
            } else if line.starts_with(':') {
                // A comment: the greeting or a heartbeat.
            } else {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => self.name = value.to_owned(),
                    "data" => self.data.push(value.to_owned()),
                    _ => {}
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_blocks_and_comments_are_parsed() {
        let mut p = SseParser::default();
        let mut events = p.feed(b":)\n:thump\n\nevent: notification\ndata: {\"id\":\"1\"}\n");
        assert!(events.is_empty());
        events.extend(p.feed(b"\nevent: delete\r\ndata: 115063412345678901\r\n\r\n:thump\n"));
        assert_eq!(
            events,
            vec![
                SseEvent {
                    name: "notification".into(),
                    data: "{\"id\":\"1\"}".into()
                },
                SseEvent {
                    name: "delete".into(),
                    data: "115063412345678901".into()
                },
            ]
        );
        // A block cut off mid-way is never emitted.
        assert!(p.feed(b"event: notification\ndata: {\"id\":").is_empty());
    }

    #[test]
    fn websocket_frames_are_parsed_twice() {
        let frame = r#"{"stream":["hashtag","acme"],"event":"update","payload":"{\"id\":\"7\",\"content\":\"<p>hi</p>\"}"}"#;
        let event = envelope(frame).unwrap().unwrap();
        assert_eq!(event.name, "update");
        let status: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(status["id"], "7");
        let delete = envelope(
            r#"{"stream":["user:notification"],"event":"delete","payload":"115063412345678901"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(delete.data, "115063412345678901");
        let filters = envelope(r#"{"stream":["user"],"event":"filters_changed"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(filters.data, "");
        assert!(envelope("not json").unwrap().is_none());
        match envelope(r#"{"error":"Unknown stream type","status":400}"#) {
            Err(Ended::Retry { reason, .. }) => assert!(reason.contains("Unknown stream type")),
            other => panic!("expected a retry, got {other:?}"),
        }
        assert_eq!(encode("café_1"), "caf%C3%A9_1");
    }
}
