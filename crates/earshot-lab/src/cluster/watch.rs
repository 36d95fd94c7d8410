//! Watching a process's live inbox: its server-sent events (`GET /api/v1/events`), as the
//! inbox page of an agent signed in there gets them. Each `post_stored` is noted with the
//! moment it arrived, so the bench can time a post taken by one process until it is visible
//! in another's inbox.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// When each stored post (by store id) first showed in one process's live inbox, and how
/// often the stream said it lagged (events it dropped for a slow reader).
#[derive(Default)]
pub struct Sightings {
    seen: Mutex<HashMap<i64, Instant>>,
    lagged: AtomicUsize,
}

impl Sightings {
    fn saw(&self, post_id: i64, at: Instant) {
        self.lock().entry(post_id).or_insert(at);
    }

    pub fn lagged(&self) -> usize {
        self.lagged.load(Ordering::Relaxed)
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    pub fn when(&self, post_id: i64) -> Option<Instant> {
        self.lock().get(&post_id).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Instant>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Subscribes to the live events of the process at `base` and notes every stored post in
/// `into` until the stream ends (the process stopped) or the task is aborted. Returns once
/// the subscription is open, so nothing stored after it is missed.
pub async fn watch(
    base: &str,
    into: Arc<Sightings>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    // No overall timeout: the stream stays open for the whole run.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", super::TOKEN).parse()?,
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()?;
    let mut response = client
        .get(format!("{base}/api/v1/events"))
        .send()
        .await?
        .error_for_status()?;
    Ok(tokio::spawn(async move {
        let mut pending = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let at = Instant::now();
            pending.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line; keep an unfinished one for the next chunk.
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if let Some(post_id) = stored_post(&event) {
                    into.saw(post_id, at);
                } else if event.lines().any(|l| l.trim() == "event: lagged") {
                    into.lagged.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }))
}

/// The store id of a `post_stored` event.
fn stored_post(event: &str) -> Option<i64> {
    let mut name = "";
    let mut data = String::new();
    for line in event.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim());
        }
    }
    if name != "post_stored" {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(&data).ok()?;
    value["post_id"].as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_stored_event_gives_its_post_and_other_events_nothing() {
        let event = "event: post_stored\ndata: {\"type\":\"post_stored\",\"post_id\":42,\"conversation_id\":7,\"network\":\"x\"}\n\n";
        assert_eq!(stored_post(event), Some(42));
        let changed = "event: conversation_changed\ndata: {\"conversation_id\":7}\n\n";
        assert_eq!(stored_post(changed), None);
        assert_eq!(stored_post(": keep-alive\n\n"), None);
    }
}
