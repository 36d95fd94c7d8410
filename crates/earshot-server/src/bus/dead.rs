//! The dead letters, looked at and replayed: heard posts that failed `max_deliveries` times
//! wait on `<subjects>.dead.heard` with why (`Earshot-Reason`), where they were heard
//! (`Earshot-Subject`) and how often they were tried (`Earshot-Deliveries`). `earshot bus
//! dead-letters` lists them; `--replay` publishes each post again to the heard stream, then
//! removes its letter. Replaying is safe: ingest is idempotent, so a post stored meanwhile
//! (or replayed twice) is stored once.

use super::Bus;
use chrono::{DateTime, Utc};
use earshot_core::NewPost;
use serde::Serialize;

/// One dead letter.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Its place in the stream (what `--replay` removes once the post is back on the bus).
    pub sequence: u64,
    /// When it became a dead letter.
    pub at: DateTime<Utc>,
    /// Why the post failed the last time.
    pub reason: String,
    /// Where it was heard (`<subjects>.heard.<network>`).
    pub subject: String,
    /// How often it was tried.
    pub deliveries: Option<u64>,
    /// `network:external_id` when the letter holds a heard post; `None` when it is no post
    /// this build can read (it cannot be replayed).
    pub post: Option<String>,
    pub bytes: usize,
}

/// What a replay did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Replayed {
    /// Published to the heard stream again and removed from the dead letters.
    pub replayed: Vec<DeadLetter>,
    /// Left in the dead letters, with why.
    pub kept: Vec<(DeadLetter, String)>,
}

fn header(letter: &async_nats::jetstream::message::StreamMessage, name: &str) -> Option<String> {
    letter.headers.get(name).map(|v| v.as_str().to_string())
}

impl Bus {
    /// The dead letters, oldest first (at most `limit`), each with the post it holds.
    pub async fn dead_letter_posts(
        &self,
        limit: usize,
    ) -> anyhow::Result<Vec<(DeadLetter, Option<NewPost>)>> {
        let stream = self.jetstream.get_stream(&self.names.stream).await?;
        let subject = self.names.dead_letters();
        let mut out = Vec::new();
        let mut from = 1;
        while out.len() < limit {
            let letter = match stream
                .get_first_raw_message_by_subject(&subject, from)
                .await
            {
                Ok(letter) => letter,
                Err(e)
                    if matches!(
                        e.kind(),
                        async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e.into()),
            };
            from = letter.sequence + 1;
            let post: Option<NewPost> = serde_json::from_slice(&letter.payload).ok();
            let at =
                DateTime::from_timestamp(letter.time.unix_timestamp(), letter.time.nanosecond())
                    .unwrap_or_default();
            out.push((
                DeadLetter {
                    sequence: letter.sequence,
                    at,
                    reason: header(&letter, "Earshot-Reason").unwrap_or_default(),
                    subject: header(&letter, "Earshot-Subject").unwrap_or_default(),
                    deliveries: header(&letter, "Earshot-Deliveries").and_then(|d| d.parse().ok()),
                    post: post
                        .as_ref()
                        .map(|p| format!("{}:{}", p.network.as_str(), p.external_id)),
                    bytes: letter.payload.len(),
                },
                post,
            ));
        }
        Ok(out)
    }

    /// Publishes each dead letter's post to the heard stream again (acknowledged by
    /// JetStream), then removes the letter. A letter that holds no post is kept. At most
    /// `limit` letters, oldest first.
    pub async fn replay_dead_letters(&self, limit: usize) -> anyhow::Result<Replayed> {
        let stream = self.jetstream.get_stream(&self.names.stream).await?;
        let mut done = Replayed::default();
        for (letter, post) in self.dead_letter_posts(limit).await? {
            let Some(post) = post else {
                done.kept.push((
                    letter,
                    "not a heard post this build can read: replaying it would fail again".into(),
                ));
                continue;
            };
            let payload = serde_json::to_vec(&post)?;
            // Its own message id: the original one may still be in the dedup window, and a
            // replay interrupted before the letter's removal publishes nothing twice.
            let replay_id = format!("replay:{}", letter.sequence);
            let ack = self.send_heard(&post, payload, replay_id).await?;
            ack.await?;
            stream.delete_message(letter.sequence).await?;
            done.replayed.push(letter);
        }
        Ok(done)
    }
}
