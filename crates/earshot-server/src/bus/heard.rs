//! Heard posts on the bus: published by the intake and the connectors, ingested by the
//! workers of every process through one shared durable consumer.
//!
//! A worker fetches a batch, commits it through [`Pipeline::ingest`], then double-acks each
//! message (the server confirms the ack, so a confirmed post is never delivered again). A
//! worker that dies between the commit and the ack leaves the message to be delivered again
//! after `ack_wait`: ingest is idempotent, so the redelivery stores nothing twice.

use super::Bus;
use crate::pipeline::Pipeline;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::context::{PublishAckFuture, PublishError};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Message};
use async_trait::async_trait;
use earshot_core::NewPost;
use futures::{FutureExt, StreamExt};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Heard posts one worker takes and commits together.
const BATCH: usize = 64;
/// How long a worker waits for a batch to fill before it commits what it has: when fewer than
/// a batch arrive within it, this is what batching adds to a post's way to the inbox.
const BATCH_WAIT: Duration = Duration::from_millis(50);
/// How long past a batch's expiry a worker still waits for the server to say that the batch
/// is over. The client's own fallback is five seconds, and an end it missed held the posts
/// already received that long (the cluster bench's p99 was 5.2 s at 300 posts/s, where most
/// batches end by expiry, not by count).
const BATCH_GRACE: Duration = Duration::from_millis(250);
/// The first retry of a failed post waits this long, each later one twice as long, at most
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Workers in each process (the store is the bottleneck, not the fetch).
pub const WORKERS: usize = 2;

/// Why the bus did not take heard posts: the caller must refuse them (503), never drop them.
#[derive(Debug, thiserror::Error)]
#[error("the bus did not accept the heard posts ({0}): nothing was taken; retry in a moment")]
pub struct NotAccepted(pub String);

/// What the bus did with published posts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Stored in the stream for the first time.
    pub queued: usize,
    /// Already in the stream (same message id within the dedup window): dropped by JetStream.
    pub already_queued: usize,
}

/// The JetStream message id of a heard post: `network:external_id`, then `#` and a digest of
/// its text. The same post heard twice is one message; an author's edit (same id, new text)
/// is another one, so the dedup window never swallows an edit.
pub fn message_id(post: &NewPost) -> String {
    let digest = Sha256::digest(post.text.as_bytes());
    format!(
        "{}:{}#{}",
        post.network.as_str(),
        post.external_id,
        hex::encode(&digest[..8])
    )
}

impl Bus {
    /// Publishes heard posts and waits until JetStream acknowledged every one. An error
    /// means some may not be on the bus: the sender must send them all again (what is
    /// already there is dropped by message id, so a retry doubles nothing).
    pub async fn publish_heard(&self, posts: &[NewPost]) -> Result<Published, NotAccepted> {
        // Known to be away: refuse now rather than after the publish timeout (5 s).
        if !self.connected() {
            return Err(NotAccepted("not connected to NATS".into()));
        }
        let mut acks = Vec::with_capacity(posts.len());
        for post in posts {
            let payload =
                serde_json::to_vec(post).map_err(|e| NotAccepted(format!("encoding: {e}")))?;
            let ack = self
                .send_heard(post, payload, message_id(post))
                .await
                .map_err(|e| NotAccepted(e.to_string()))?;
            acks.push(ack);
        }
        let mut published = Published::default();
        for ack in acks {
            let ack = ack.await.map_err(|e| NotAccepted(e.to_string()))?;
            if ack.duplicate {
                published.already_queued += 1;
            } else {
                published.queued += 1;
            }
        }
        Ok(published)
    }

    /// Sends one encoded heard post to its network's subject under `message_id` (JetStream
    /// drops a repeated id within its window); the future it gives resolves on the ack.
    pub(super) async fn send_heard(
        &self,
        post: &NewPost,
        payload: Vec<u8>,
        message_id: String,
    ) -> Result<PublishAckFuture, PublishError> {
        let message = PublishMessage::build()
            .payload(payload.into())
            .message_id(message_id);
        self.jetstream
            .send_publish(self.names.heard(post.network), message)
            .await
    }

    /// Starts [`WORKERS`] ingest workers committing heard posts through `pipeline`; they stop
    /// when `stop` turns true (a batch in hand is finished first).
    pub fn start_ingest(
        self: &Arc<Self>,
        pipeline: Arc<Pipeline>,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..WORKERS)
            .map(|_| tokio::spawn(self.clone().ingest_worker(pipeline.clone(), stop.clone())))
            .collect()
    }

    async fn ingest_worker(
        self: Arc<Self>,
        pipeline: Arc<Pipeline>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut failures = 0u32;
        // Looked up once, and again after a failure (the stream may have been recreated).
        let mut consumer = None;
        while !*stop.borrow() {
            let fetched = tokio::select! {
                _ = stop.changed() => break,
                fetched = self.fetch(&mut consumer) => fetched,
            };
            match fetched {
                Ok(messages) => {
                    failures = 0;
                    self.ingest_batch(&pipeline, messages).await;
                }
                Err(e) => {
                    // NATS away: the client reconnects by itself; wait longer each time.
                    consumer = None;
                    failures = failures.saturating_add(1);
                    let wait = backoff(failures);
                    tracing::warn!(error = %e, retry_in = ?wait, "cannot fetch heard posts from the bus");
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    async fn fetch(&self, consumer: &mut Option<PullConsumer>) -> anyhow::Result<Vec<Message>> {
        let consumer = match consumer {
            Some(c) => c,
            None => consumer.insert(self.consumer().await?),
        };
        let mut batch = consumer
            .batch()
            .max_messages(BATCH)
            .expires(BATCH_WAIT)
            .messages()
            .await?;
        let mut messages = Vec::new();
        let deadline = tokio::time::Instant::now() + BATCH_WAIT + BATCH_GRACE;
        loop {
            let message = match tokio::time::timeout_at(deadline, batch.next()).await {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(_) => {
                    // The batch expired on the server and its end never came: take what
                    // has arrived and go on. The server sends nothing for an expired
                    // request, so nothing more is owed to this one (a post still on the
                    // wire would come back after ack_wait, never lost).
                    while let Some(Some(Ok(m))) = batch.next().now_or_never() {
                        messages.push(m);
                    }
                    tracing::debug!(
                        posts = messages.len(),
                        "a fetch from the bus did not end by itself: taking what arrived"
                    );
                    break;
                }
            };
            match message {
                Ok(m) => messages.push(m),
                // What was fetched before the error is still ours to handle.
                Err(e) if messages.is_empty() => return Err(anyhow::anyhow!(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "a fetch from the bus ended early");
                    break;
                }
            }
        }
        Ok(messages)
    }

    /// Commits a batch: all together when it goes through, else one post at a time so one
    /// bad post fails alone.
    pub async fn ingest_batch(&self, pipeline: &Pipeline, messages: Vec<Message>) {
        let mut ready = Vec::with_capacity(messages.len());
        for message in messages {
            let delivered = deliveries(&message);
            if delivered > i64::from(self.max_deliveries) {
                // Delivered and never acknowledged that often: it takes its workers down.
                self.dead_letter(&message, "never acknowledged (a worker stopped with it)")
                    .await;
                continue;
            }
            match serde_json::from_slice::<NewPost>(&message.payload) {
                Ok(post) => ready.push((message, post)),
                // Not readable here: perhaps a newer process wrote it during an upgrade, so
                // another process may read it; it is retried like any failure.
                Err(e) => {
                    self.failed(message, &format!("not a heard post: {e}"))
                        .await
                }
            }
        }
        if ready.is_empty() {
            return;
        }
        let posts: Vec<NewPost> = ready.iter().map(|(_, p)| p.clone()).collect();
        let committed = self.holding(&ready, pipeline.ingest(posts)).await;
        match committed {
            Ok(_) => {
                for (message, _) in ready {
                    acknowledge(&message).await;
                }
            }
            Err(e) if ready.len() == 1 => {
                let (message, _) = ready.remove(0);
                self.failed(message, &e.to_string()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, posts = ready.len(), "a heard batch failed: committing its posts one by one");
                for (message, post) in ready {
                    match pipeline.ingest(vec![post]).await {
                        Ok(_) => acknowledge(&message).await,
                        Err(e) => self.failed(message, &e.to_string()).await,
                    }
                }
            }
        }
    }

    /// Runs `work` (the commit of `held`) and, while it lasts, tells JetStream every third of
    /// `ack_wait` that the posts are still being worked on: a slow commit keeps its posts
    /// rather than having them handed to another worker (which would store nothing twice, but
    /// would count a delivery towards the dead letters). So `ack_wait` can stay short, and
    /// the posts a killed process held come back soon. (Public for the bus tests.)
    pub async fn holding<T>(
        &self,
        held: &[(Message, NewPost)],
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let every = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = tick.tick() => {
                    for (message, _) in held {
                        if let Err(e) = message.ack_with(AckKind::Progress).await {
                            tracing::debug!(error = %e, "cannot tell the bus a post is still being committed");
                        }
                    }
                }
            }
        }
    }

    /// A post that could not be committed: tried again later, or moved to the dead letters
    /// once it was delivered `max_deliveries` times.
    async fn failed(&self, message: Message, reason: &str) {
        let delivered = deliveries(&message);
        if delivered >= i64::from(self.max_deliveries) {
            self.dead_letter(&message, reason).await;
            return;
        }
        let wait = backoff(u32::try_from(delivered).unwrap_or(u32::MAX));
        tracing::warn!(reason, delivered, retry_in = ?wait, "a heard post failed: it will be tried again");
        if let Err(e) = message.ack_with(AckKind::Nak(Some(wait))).await {
            // Not told: JetStream delivers it again after ack_wait anyway.
            tracing::warn!(error = %e, "cannot ask the bus to retry a heard post later");
        }
    }

    /// Keeps the post on the dead-letter subject (with why), then acknowledges the original.
    /// If the dead letter cannot be stored, the original stays unacknowledged and comes back.
    async fn dead_letter(&self, message: &Message, reason: &str) {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Earshot-Reason", one_line(reason).as_str());
        headers.insert("Earshot-Subject", message.subject.as_str());
        headers.insert(
            "Earshot-Deliveries",
            deliveries(message).to_string().as_str(),
        );
        let mut publish = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers);
        if let Ok(info) = message.info() {
            // A second worker moving the same post (after a redelivery) adds no second letter.
            publish = publish.message_id(format!("dead:{}", info.stream_sequence));
        }
        let stored = match self
            .jetstream
            .send_publish(self.names.dead_letters(), publish)
            .await
        {
            Ok(ack) => ack.await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match stored {
            Ok(_) => {
                self.dead_lettered.fetch_add(1, Ordering::Relaxed);
                tracing::error!(reason, subject = %self.names.dead_letters(), "a heard post failed too often: moved to the dead letters (see health)");
                acknowledge(message).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store a dead letter: the post stays on the bus")
            }
        }
    }
}

/// Deliveries of a message so far, this one included.
fn deliveries(message: &Message) -> i64 {
    message.info().map(|i| i.delivered).unwrap_or(1)
}

/// Acknowledges a committed post and waits for the server to confirm it (double-ack); an
/// ack that is not confirmed means one harmless redelivery.
async fn acknowledge(message: &Message) {
    if let Err(e) = message.double_ack().await {
        tracing::warn!(error = %e, "a committed post was not acknowledged: it will be delivered again and found stored");
    }
}

fn backoff(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    RETRY_FIRST.saturating_mul(factor).min(RETRY_MAX)
}

/// Header values are one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

/// The bus takes heard posts on for every process's pipeline (cluster mode).
#[async_trait]
impl crate::sink::Publish for Bus {
    async fn publish(&self, posts: &[NewPost]) -> Result<(), String> {
        self.publish_heard(posts)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_limit() {
        assert_eq!(backoff(1), RETRY_FIRST);
        assert_eq!(backoff(2), RETRY_FIRST * 2);
        assert!(backoff(3) > backoff(2));
        assert_eq!(backoff(40), RETRY_MAX);
    }

    #[test]
    fn an_edit_is_another_message_a_repeat_is_not() {
        let post: NewPost = serde_json::from_value(serde_json::json!({
            "network": "x", "external_id": "42",
            "author": {"external_id": "a1", "handle": "ana"},
            "text": "my parcel is late", "created_at": "2026-12-01T10:00:00Z"
        }))
        .unwrap();
        let id = message_id(&post);
        assert!(id.starts_with("x:42#"), "{id}");
        let edited = NewPost {
            text: "my parcel is very late".into(),
            ..post
        };
        assert_ne!(id, message_id(&edited));
    }
}
