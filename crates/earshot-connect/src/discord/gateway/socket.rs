//! The socket's side of a gateway connection: HELLO, heartbeats, closing resumably, and what
//! a close code or a failed REST call means for the run; and the small notes a run keeps
//! (threads' parents, texts seen).

use super::{Run, Socket, Step, REMEMBERED_TEXTS};
use crate::discord::rest::Problem;
use crate::discord::wire::Message;
use crate::reconnect::Ended;
use crate::source::Failure;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Frame;

/// Notes a thread's parent from a channel object (`THREAD_CREATE`, `GUILD_CREATE`'s threads).
pub(super) fn learn_parent(parents: &mut HashMap<String, Option<String>>, channel: &Value) {
    let (Some(id), Some(kind)) = (channel["id"].as_str(), channel["type"].as_u64()) else {
        return;
    };
    let thread = matches!(kind, 10..=12);
    let parent = channel["parent_id"]
        .as_str()
        .filter(|p| thread && !p.is_empty());
    parents.insert(id.to_owned(), parent.map(str::to_owned));
}

pub(super) fn remember(texts: &mut HashMap<String, String>, message: &Message) {
    if texts.len() >= REMEMBERED_TEXTS {
        texts.clear();
    }
    texts.insert(message.id.clone(), message.content.clone());
}

pub(super) fn network(reason: String) -> Ended {
    Ended::Retry {
        failure: Failure::Network,
        reason,
        not_before: None,
    }
}

pub(super) fn rest_ended(problem: Problem) -> Ended {
    match problem {
        Problem::Unauthorized(reason) => Ended::Auth(reason),
        Problem::RateLimited { wait, reason } => Ended::Retry {
            failure: Failure::RateLimited,
            reason,
            not_before: Some(
                chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default(),
            ),
        },
        Problem::Other(reason) => Ended::Retry {
            failure: Failure::Http,
            reason,
            not_before: None,
        },
    }
}

/// Waits for HELLO (op 10); an op 7 before it ends the connection (§2.8).
pub(super) async fn hello(socket: &mut Socket, timeout: Duration) -> Result<Duration, Ended> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let frame = match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(network("no HELLO from the discord gateway".into())),
            Ok(Some(Ok(Frame::Text(text)))) => {
                serde_json::from_str::<Value>(text.as_str()).unwrap_or_default()
            }
            Ok(Some(Ok(Frame::Close(frame)))) => {
                let code = frame.map(|f| u16::from(f.code));
                return Err(closed(code, &mut Run::detached()));
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(network(format!("the discord gateway dropped: {e}"))),
            Ok(None) => return Err(network("the discord gateway closed before HELLO".into())),
        };
        match frame["op"].as_u64() {
            Some(10) => {
                let ms = frame["d"]["heartbeat_interval"]
                    .as_u64()
                    .unwrap_or(41_250)
                    .max(1);
                return Ok(Duration::from_millis(ms));
            }
            Some(7) => {
                return Err(Ended::dropped(
                    "discord asked to reconnect before HELLO".into(),
                ))
            }
            _ => {}
        }
    }
}

pub(super) async fn beat(socket: &mut Socket, seq: Option<u64>) -> Step {
    match socket
        .send(Frame::text(json!({"op": 1, "d": seq}).to_string()))
        .await
    {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(Ended::dropped(format!("sending a heartbeat: {e}"))),
    }
}

/// Closes with 4000, which keeps the session resumable.
pub(super) async fn close(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::from(4000),
        reason: "earshot reconnects".into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}

/// What a close code from the gateway means (§2.3).
pub(super) fn closed(code: Option<u16>, run: &mut Run) -> Ended {
    match code {
        Some(4004) => Ended::Auth(
            "discord refused the bot token (gateway close 4004): reset it in the Developer Portal (Bot → Reset Token) and put the new one in bot_token".into(),
        ),
        Some(4014) => Ended::Config(
            "discord refused the MESSAGE_CONTENT intent (gateway close 4014): turn on \"Message Content Intent\" under Bot → Privileged Gateway Intents in the Developer Portal, then restart".into(),
        ),
        Some(code @ 4010..=4013) => Ended::Config(format!(
            "discord refused the connection for good (gateway close {code}: shard, version or intents); this needs a new earshot release or a support look"
        )),
        Some(code @ (4007 | 4009)) => {
            run.cursor.forget_session();
            Ended::dropped(format!("discord ended the session (close {code}); identifying anew"))
        }
        code => Ended::dropped(format!("the discord gateway closed the connection (close {code:?}); resuming")),
    }
}
