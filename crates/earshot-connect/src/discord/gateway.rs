//! Hearing a Discord bot through gateway v10 (PROTOCOLS-2.md §2.3–§2.5).
//!
//! One connection: HELLO → a first heartbeat after `interval × jitter`, then every
//! `interval`; a beat whose ACK has not come before the next one means a zombie connection
//! (closed with 4000, kept resumable). A new session IDENTIFYs (intents with
//! `MESSAGE_CONTENT`), a known one RESUMEs on its `resume_gateway_url` and the gateway replays
//! what was missed. Dispatches `MESSAGE_CREATE` (a post), `MESSAGE_UPDATE` (an edit, only when
//! the text changed as far as this process saw) and `MESSAGE_DELETE` in the configured guild
//! and channels go to the sink.
//!
//! Cursor `{"v":1,"session_id","resume_gateway_url","seq","channels":{id: last message id}}`,
//! stored with each delivery, so `seq` and the channel's last id only advance after the sink
//! committed. Every new session (first start, `op 9 false`, close 4007/4009, a restart whose
//! session expired) fills the gap per stored channel with REST (`GET …/messages?after=`).
//! A message at or below its channel's last id is passed over: replays, duplicate
//! dispatches and the gap fill's overlap never double.
//!
//! Threads and forum posts are channels of their own (§2.4): a thread is heard when its parent
//! channel is (the parent from `THREAD_CREATE`/`GUILD_CREATE`, else asked once with
//! `GET /channels/{id}`), and a message in it that answers nothing in particular answers the
//! thread's starter message (whose id the thread has), so the thread is one conversation with
//! the message it was opened on.
//!
//! Close codes 4004 (token) and 4010–4014 (shard, version, intents) end the run with what to
//! do; everything else reconnects through the shared [`Reconnect`] loop.

use super::config::{DiscordConfig, INTENTS};
use super::rest::{Problem, Rest};
use super::wire::Message;
use crate::reconnect::{scaled, unit_jitter, Ended, Reconnect};
use crate::source::{stopped, Failure, Health, Hearing, Sink, Source, SourceError};
use crate::stored_cursor::StoredCursor;
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::{Amendment, Network, NewPost, PostKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use socket::{beat, close, closed, hello, learn_parent, network, remember, rest_ended};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as Frame;

mod cursor;
mod socket;
#[cfg(test)]
mod tests;

pub(crate) use cursor::Cursor;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Message texts remembered to tell a real edit from an embed resolving (§2.4).
const REMEMBERED_TEXTS: usize = 10_000;

/// Hears one bot in one guild.
#[derive(Debug)]
pub struct DiscordSource {
    name: String,
    rest: Rest,
}

/// What lives across the connections of one run.
struct Run {
    cursor: Cursor,
    bot_id: String,
    texts: HashMap<String, String>,
    /// The last session was refused (`op 9 false`): wait 1–5 s before identifying.
    identify_later: bool,
    /// Channel id → its parent when it is a thread, `None` when it is not.
    parents: HashMap<String, Option<String>>,
}

/// How one frame is handled: carry on, or end the connection.
type Step = ControlFlow<Ended>;

impl DiscordSource {
    pub fn new(config: DiscordConfig) -> Result<Self, reqwest::Error> {
        Ok(DiscordSource {
            name: config.source_name(),
            rest: Rest::new(config)?,
        })
    }

    fn config(&self) -> &DiscordConfig {
        self.rest.config()
    }

    /// Where to connect: the session's resume URL, or `/gateway/bot`'s after checking the
    /// IDENTIFY budget (exhausting it resets the token, §2.3).
    async fn gateway_url(&self, run: &Run) -> Result<(String, bool), Ended> {
        if let (Some(_), Some(url)) = (&run.cursor.session_id, &run.cursor.resume_gateway_url) {
            return Ok((url.clone(), true));
        }
        let bot = self.rest.gateway_bot().await.map_err(rest_ended)?;
        if bot.session_start_limit.remaining == Some(0) {
            let wait = bot.session_start_limit.reset_after.unwrap_or(60_000);
            return Err(Ended::Retry {
                failure: Failure::RateLimited,
                reason: "discord's daily IDENTIFY budget is spent; waiting for it to refill (identifying anyway would reset the token)".into(),
                not_before: Some(chrono::Utc::now() + chrono::Duration::milliseconds(wait as i64)),
            });
        }
        Ok((bot.url, false))
    }

    /// One connection, from opening to its end.
    async fn connect(
        &self,
        run: &mut Run,
        sink: &dyn Sink,
        health: &Health,
        stop: &mut watch::Receiver<bool>,
        connected_at: &mut Option<Instant>,
    ) -> Ended {
        let (base, resuming) = match self.gateway_url(run).await {
            Ok(found) => found,
            Err(ended) => return ended,
        };
        if !resuming && std::mem::take(&mut run.identify_later) {
            let wait = scaled(
                Duration::from_millis(1000 + (unit_jitter() * 4000.0) as u64),
                self.config().backoff_scale,
            );
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(stop) => return Ended::Stopped,
            }
        }
        let url = format!("{}/?v=10&encoding=json", base.trim_end_matches('/'));
        let timeout = self.config().request_timeout;
        let mut socket =
            match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url.as_str()))
                .await
            {
                Ok(Ok((socket, _))) => socket,
                Ok(Err(e)) => return network(format!("opening the discord gateway: {e}")),
                Err(_) => return network("opening the discord gateway timed out".into()),
            };
        let interval = match hello(&mut socket, timeout).await {
            Ok(interval) => interval,
            Err(ended) => return ended,
        };
        let token = self.config().token.expose().trim().to_owned();
        let opening = match (&run.cursor.session_id, resuming) {
            (Some(session), true) => {
                json!({"op": 6, "d": {"token": token, "session_id": session, "seq": run.cursor.seq}})
            }
            _ => {
                run.cursor.forget_session();
                json!({"op": 2, "d": {"token": token, "intents": INTENTS,
                    "properties": {"os": std::env::consts::OS, "browser": "earshot", "device": "earshot"}}})
            }
        };
        if let Err(e) = socket.send(Frame::text(opening.to_string())).await {
            return network(format!("sending IDENTIFY/RESUME: {e}"));
        }
        let mut next_beat = tokio::time::Instant::now() + interval.mul_f64(unit_jitter());
        let mut acked = true;
        loop {
            let step = tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Frame::Text(text))) => {
                        self.frame(text.as_str(), run, sink, health, &mut socket, &mut acked, connected_at).await
                    }
                    Some(Ok(Frame::Close(frame))) => ControlFlow::Break(closed(frame.map(|f| u16::from(f.code)), run)),
                    Some(Ok(_)) => ControlFlow::Continue(()),
                    Some(Err(e)) => ControlFlow::Break(Ended::dropped(format!("the discord gateway dropped: {e}"))),
                    None => ControlFlow::Break(Ended::dropped("the discord gateway closed without a close frame".into())),
                },
                _ = tokio::time::sleep_until(next_beat) => {
                    if !acked {
                        close(&mut socket).await;
                        ControlFlow::Break(Ended::dropped("no heartbeat ACK from the discord gateway (a zombie connection); resuming".into()))
                    } else {
                        acked = false;
                        next_beat += interval;
                        beat(&mut socket, run.cursor.seq).await
                    }
                },
                _ = stopped(stop) => {
                    // Not 1000/1001: those end the session, and a restart should resume it.
                    close(&mut socket).await;
                    ControlFlow::Break(Ended::Stopped)
                }
            };
            if let ControlFlow::Break(ended) = step {
                return ended;
            }
        }
    }

    /// One text frame of the gateway.
    #[allow(clippy::too_many_arguments)]
    async fn frame(
        &self,
        text: &str,
        run: &mut Run,
        sink: &dyn Sink,
        health: &Health,
        socket: &mut Socket,
        acked: &mut bool,
        connected_at: &mut Option<Instant>,
    ) -> Step {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            tracing::warn!(source = %self.name, frame = %crate::de::shorten(text), "unreadable discord gateway frame");
            return ControlFlow::Continue(());
        };
        match frame["op"].as_u64() {
            Some(0) => {
                let seq = frame["s"].as_u64();
                let kind = frame["t"].as_str().unwrap_or("");
                let d = &frame["d"];
                let step = match kind {
                    "READY" => {
                        run.cursor.session_id = d["session_id"].as_str().map(Into::into);
                        run.cursor.resume_gateway_url =
                            d["resume_gateway_url"].as_str().map(Into::into);
                        run.bot_id = d["user"]["id"].as_str().unwrap_or("").to_owned();
                        run.cursor.seq = seq;
                        *connected_at = Some(Instant::now());
                        health.connected();
                        match self.fill_gap(run, sink, health).await {
                            ControlFlow::Continue(()) => {
                                // The session, stored so a restart can resume it.
                                let mut next = run.cursor.clone();
                                next.seq = seq;
                                match sink
                                    .deliver(&self.name, Vec::new(), Some(next.encode()))
                                    .await
                                {
                                    Ok(()) => ControlFlow::Continue(()),
                                    Err(e) => ControlFlow::Break(Ended::Sink(e)),
                                }
                            }
                            stop => stop,
                        }
                    }
                    "RESUMED" => {
                        *connected_at = Some(Instant::now());
                        health.connected();
                        ControlFlow::Continue(())
                    }
                    "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => {
                        self.message(kind, d, seq, run, sink, health).await
                    }
                    "THREAD_CREATE" | "THREAD_UPDATE" | "CHANNEL_CREATE" => {
                        learn_parent(&mut run.parents, d);
                        ControlFlow::Continue(())
                    }
                    "GUILD_CREATE" => {
                        for thread in d["threads"].as_array().into_iter().flatten() {
                            learn_parent(&mut run.parents, thread);
                        }
                        ControlFlow::Continue(())
                    }
                    _ => ControlFlow::Continue(()),
                };
                if step.is_continue() && seq.is_some() {
                    run.cursor.seq = seq.max(run.cursor.seq);
                }
                step
            }
            Some(1) => beat(socket, run.cursor.seq).await,
            Some(7) => ControlFlow::Break(Ended::dropped(
                "discord asked to reconnect (op 7); resuming".into(),
            )),
            Some(9) => {
                if frame["d"].as_bool() != Some(true) {
                    run.cursor.forget_session();
                    run.identify_later = true;
                }
                close(socket).await;
                ControlFlow::Break(Ended::dropped(
                    "discord invalidated the session (op 9)".into(),
                ))
            }
            Some(11) => {
                *acked = true;
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// A message dispatch: delivered with the cursor that includes it.
    async fn message(
        &self,
        kind: &str,
        d: &Value,
        seq: Option<u64>,
        run: &mut Run,
        sink: &dyn Sink,
        health: &Health,
    ) -> Step {
        let message: Message = match serde_json::from_value(d.clone()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(source = %self.name, error = %e, "unreadable discord message skipped");
                return ControlFlow::Continue(());
            }
        };
        let thread = match self
            .where_heard(run, message.guild_id.as_deref(), &message.channel_id)
            .await
        {
            Ok(Some(thread)) => thread,
            Ok(None) => return ControlFlow::Continue(()),
            Err(ended) => return ControlFlow::Break(ended),
        };
        let mut next = run.cursor.clone();
        next.seq = seq.max(next.seq);
        let result = match kind {
            "MESSAGE_DELETE" => {
                let key = PostKey::new(Network::Discord, message.id.clone());
                sink.amend(
                    &self.name,
                    vec![Amendment::Deleted(key)],
                    Some(next.encode()),
                )
                .await
            }
            "MESSAGE_UPDATE" => {
                // An update without `content`, or with the text already seen, is an embed resolving.
                let Some(text) = d.get("content").and_then(Value::as_str) else {
                    return ControlFlow::Continue(());
                };
                if run.texts.get(&message.id).is_some_and(|seen| seen == text) {
                    return ControlFlow::Continue(());
                }
                let Some(post) = self.post(&message, &run.bot_id, thread) else {
                    return ControlFlow::Continue(());
                };
                remember(&mut run.texts, &message);
                sink.amend(
                    &self.name,
                    vec![Amendment::Edited(post)],
                    Some(next.encode()),
                )
                .await
            }
            _ => {
                if run.cursor.seen(&message.channel_id, &message.id) {
                    return ControlFlow::Continue(());
                }
                next.advance(&message.channel_id, &message.id);
                let posts: Vec<NewPost> = self
                    .post(&message, &run.bot_id, thread)
                    .into_iter()
                    .collect();
                let heard = posts.len() as u64;
                let delivered = sink.deliver(&self.name, posts, Some(next.encode())).await;
                if delivered.is_ok() {
                    remember(&mut run.texts, &message);
                    if heard > 0 {
                        health.heard(heard);
                    }
                }
                delivered
            }
        };
        match result {
            Ok(()) => {
                run.cursor = next;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(Ended::Sink(e)),
        }
    }

    /// Whether a message in `channel` is heard: `Some(in_thread)` when it is, `None` when not.
    /// A thread is heard when its parent is; its parent is asked for once when no gateway
    /// event named it.
    async fn where_heard(
        &self,
        run: &mut Run,
        guild: Option<&str>,
        channel: &str,
    ) -> Result<Option<bool>, Ended> {
        if guild.is_some_and(|g| g != self.config().guild_id.trim()) {
            return Ok(None);
        }
        // A listed channel is heard as it is; only other channels may be threads of one.
        if self.config().channels.iter().any(|c| c.trim() == channel) {
            return Ok(Some(false));
        }
        let parent = match run.parents.get(channel) {
            Some(parent) => parent.clone(),
            None => {
                let parent = match self.rest.parent_of(channel).await {
                    Ok(parent) => parent,
                    // Gone or hidden (404/403): heard as a channel of its own, if at all.
                    Err(Problem::Other(reason)) => {
                        tracing::debug!(source = %self.name, %channel, %reason, "channel not found; not a thread");
                        None
                    }
                    Err(problem) => return Err(rest_ended(problem)),
                };
                run.parents.insert(channel.to_owned(), parent.clone());
                parent
            }
        };
        let heard = match &parent {
            Some(parent) => self.config().hears(None, parent),
            None => self.config().hears(None, channel),
        };
        Ok(heard.then_some(parent.is_some()))
    }

    /// The post of `message`; in a thread, a message answering nothing in particular answers
    /// the thread's starter (the thread's id), so the thread stays one conversation.
    fn post(&self, message: &Message, bot_id: &str, in_thread: bool) -> Option<NewPost> {
        match message.to_new_post(bot_id) {
            Ok(mut post) => {
                if in_thread && post.in_reply_to.is_none() && message.id != message.channel_id {
                    post.in_reply_to = Some(message.channel_id.clone());
                }
                Some(post)
            }
            Err(NotAPost::Skipped(reason)) => {
                tracing::debug!(message = %message.id, %reason, "skipped");
                None
            }
            Err(NotAPost::Invalid(e)) => {
                tracing::warn!(source = %self.name, message = %message.id, error = %e, "invalid discord message skipped");
                None
            }
        }
    }

    /// After a new session: every stored channel's messages since its last id, by REST.
    async fn fill_gap(&self, run: &mut Run, sink: &dyn Sink, health: &Health) -> Step {
        let channels: Vec<(String, String)> = run.cursor.channels.clone().into_iter().collect();
        for (channel, after) in channels {
            let thread = match self.where_heard(run, None, &channel).await {
                Ok(Some(thread)) => thread,
                Ok(None) => continue,
                Err(ended) => return ControlFlow::Break(ended),
            };
            let messages = match self.rest.messages_after(&channel, &after).await {
                Ok(messages) => messages,
                Err(problem) => return ControlFlow::Break(rest_ended(problem)),
            };
            let Some(last) = messages.last().map(|m| m.id.clone()) else {
                continue;
            };
            let guild = self.config().guild_id.trim();
            let posts: Vec<NewPost> = messages
                .iter()
                .filter(|m| {
                    m.channel_id == channel && m.guild_id.as_deref().is_none_or(|g| g == guild)
                })
                .filter_map(|m| self.post(m, &run.bot_id, thread))
                .collect();
            let mut next = run.cursor.clone();
            next.advance(&channel, &last);
            let count = posts.len() as u64;
            if let Err(e) = sink.deliver(&self.name, posts, Some(next.encode())).await {
                return ControlFlow::Break(Ended::Sink(e));
            }
            tracing::info!(source = %self.name, %channel, heard = count, "discord gap filled");
            if count > 0 {
                health.heard(count);
            }
            for m in &messages {
                remember(&mut run.texts, m);
            }
            run.cursor = next;
        }
        ControlFlow::Continue(())
    }
}

impl Run {
    fn detached() -> Run {
        Run {
            cursor: Cursor::default(),
            bot_id: String::new(),
            texts: HashMap::new(),
            identify_later: false,
            parents: HashMap::new(),
        }
    }
}

#[async_trait]
impl Source for DiscordSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let problems = self.config().problems();
        if !problems.is_empty() {
            let reason = problems.join("; ");
            hearing.health.failed(&reason, None);
            return Err(SourceError::Config(reason));
        }
        let cursor = match hearing.sink.cursor(&self.name).await? {
            None => Cursor { v: 1, ..Cursor::default() },
            Some(stored) => Cursor::parse(&stored).unwrap_or_else(|| {
                tracing::warn!(source = %self.name, "stored discord cursor unreadable; starting a new session without gap fill");
                Cursor { v: 1, ..Cursor::default() }
            }),
        };
        let mut run = Run {
            cursor,
            ..Run::detached()
        };
        let mut reconnect =
            Reconnect::new(&self.name, "discord gateway", self.config().backoff_scale);
        loop {
            if reconnect.stopped(&hearing.stop, &hearing.health) {
                return Ok(());
            }
            let mut connected_at = None;
            let ended = self
                .connect(
                    &mut run,
                    hearing.sink.as_ref(),
                    &hearing.health,
                    &mut hearing.stop,
                    &mut connected_at,
                )
                .await;
            if let ControlFlow::Break(result) = reconnect
                .after(ended, connected_at, &hearing.health, &mut hearing.stop)
                .await
            {
                return result;
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
