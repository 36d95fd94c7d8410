//! Hearing the comments on a brand's channel (PROTOCOLS-2.md §5.3). There is no "since"
//! parameter: each walk reads `commentThreads.list?allThreadsRelatedToChannelId=…&order=time`
//! pages until a thread was started before the newest comment seen minus an overlap.
//!
//! New replies do not bring an old thread back to the top, so every thread heard is
//! *followed* for [`YouTubeConfig::follow_for`] (a week): every `rescan_interval` followed
//! threads are read again by id (50 to a request, one unit), which also shows edits of their
//! top-level comment; a thread no longer there was deleted (a tombstone for its comment).
//! When a listing carries only a subset of a thread's replies, `comments.list?parentId=…`
//! reads them all. Comments are keyed by id and versioned by `updatedAt` in the shared
//! [`crate::reviews`] cursor (marks kept as long as threads are followed), so nothing is heard
//! twice across walks or restarts.
//!
//! Every request is paid from the project's [`Ledger`] as listening, which may not touch the
//! units kept for replies. A spent quota (earshot's or YouTube's `quotaExceeded`) waits until
//! midnight Pacific time; health's note shows the day's units.

use super::config::YouTubeConfig;
use super::quota::{next_reset, Ledger, Purpose, LIST_COST};
use super::wire::{Comment, ListPage, Thread};
use crate::google::Api;
use crate::problem::Problem;
use crate::reconnect::Ended;
use crate::reviews::{self, Cursor, Poller, Walk};
use crate::source::{Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::Network;
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// At most this many thread pages per walk, and reply pages per thread.
const MAX_PAGES: usize = 20;
const MAX_REPLY_PAGES: usize = 5;
/// Thread ids per `commentThreads.list?id=` request.
const IDS_PER_REQUEST: usize = 50;
/// At most this many followed threads read again per walk (quota: one unit per 50).
const RESCANS_PER_WALK: usize = 200;

/// Hears one channel's comment threads.
#[derive(Debug)]
pub struct YouTubeSource {
    name: String,
    config: YouTubeConfig,
    api: Api,
    ledger: Arc<Ledger>,
}

impl YouTubeSource {
    pub fn new(config: YouTubeConfig) -> Result<Self, String> {
        Ok(YouTubeSource {
            name: config.source_name(),
            api: config.api()?,
            ledger: config.ledger(),
            config,
        })
    }

    pub fn tokens_minted(&self) -> u64 {
        self.api.tokens_minted()
    }

    /// One listing request, paid from the ledger; a spent quota waits for midnight Pacific.
    async fn get(&self, url: &str) -> Result<Value, Ended> {
        let until_midnight = |reason| Ended::Retry {
            failure: crate::source::Failure::RateLimited,
            reason,
            not_before: Some(next_reset(Utc::now())),
        };
        // Our own count refusing: listening has spent its share, and the reserve stays for
        // replies (only YouTube saying the day is spent spends the whole day).
        match self.ledger.spend(LIST_COST, Purpose::Listen).await {
            Ok(()) => {}
            Err(Problem::Quota(reason)) => return Err(until_midnight(reason)),
            Err(problem) => return Err(reviews::ended(problem)),
        }
        match self.api.call(Method::GET, url, None).await {
            Ok(body) => Ok(body),
            Err(Problem::Quota(reason)) => {
                self.ledger.exhaust().await;
                Err(until_midnight(reason))
            }
            Err(problem) => Err(reviews::ended(problem)),
        }
    }

    async fn page(&self, url: &str) -> Result<ListPage, Ended> {
        let body = self.get(url).await?;
        serde_json::from_value(body).map_err(|e| {
            reviews::ended(Problem::Unclear(format!(
                "a YouTube comment page could not be read: {e}"
            )))
        })
    }

    /// The newest threads, down to `floor`.
    async fn newest(&self, floor: chrono::DateTime<Utc>) -> Result<Vec<Thread>, Ended> {
        let mut threads = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .page(&self.config.threads_url(token.as_deref()))
                .await?;
            let mut reached_floor = false;
            for thread in parse_threads(&page.items) {
                match thread.published_at() {
                    Some(at) if at < floor => reached_floor = true,
                    _ => threads.push(thread),
                }
            }
            token = page.next_page_token;
            if reached_floor || token.is_none() {
                break;
            }
        }
        Ok(threads)
    }

    /// Followed threads due a read, read again by id; returns them and the ids gone.
    async fn rescan(&self, due: &[String]) -> Result<(Vec<Thread>, Vec<String>), Ended> {
        let mut found = Vec::new();
        let mut gone = Vec::new();
        for chunk in due.chunks(IDS_PER_REQUEST) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let page = self.page(&self.config.threads_by_id_url(&ids)).await?;
            let threads = parse_threads(&page.items);
            let present: HashSet<&str> = threads.iter().map(|t| t.id.as_str()).collect();
            gone.extend(
                ids.iter()
                    .filter(|id| !present.contains(*id))
                    .map(|id| id.to_string()),
            );
            found.extend(threads);
        }
        Ok((found, gone))
    }

    /// All replies of a thread whose listing carried only some.
    async fn replies(&self, thread: &str) -> Result<Vec<Comment>, Ended> {
        let mut replies = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_REPLY_PAGES {
            let page = self
                .page(&self.config.replies_url(thread, token.as_deref()))
                .await?;
            replies.extend(
                page.items
                    .into_iter()
                    .filter_map(|c| serde_json::from_value::<Comment>(c).ok()),
            );
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        Ok(replies)
    }

    async fn walk(&self, before: &Cursor) -> Result<Walk, Ended> {
        let now = Utc::now();
        let follow = chrono::Duration::from_std(self.config.follow_for).unwrap_or_default();
        let rescan = chrono::Duration::from_std(self.config.rescan_interval).unwrap_or_default();
        let floor = before.floor(self.config.overlap, self.config.follow_for);
        let mut threads = self.newest(floor).await?;
        let listed: HashSet<String> = threads.iter().map(|t| t.id.clone()).collect();
        let due: Vec<String> = before
            .threads
            .iter()
            .filter(|(id, (published, read))| {
                !listed.contains(*id)
                    && *published >= (now - follow).timestamp()
                    && *read <= (now - rescan).timestamp()
            })
            .map(|(id, _)| id.clone())
            .take(RESCANS_PER_WALK)
            .collect();
        let (again, gone) = self.rescan(&due).await?;
        threads.extend(again);
        // (comment, the thread's video) for every comment heard.
        let mut comments: Vec<(Comment, Option<String>)> = Vec::new();
        let mut followed = BTreeMap::new();
        for thread in &threads {
            let video = thread.snippet.video_id.clone();
            let published = thread
                .published_at()
                .map_or(now.timestamp(), |t| t.timestamp());
            followed.insert(thread.id.clone(), (published, now.timestamp()));
            if thread.has_more_replies() {
                comments.push((thread.snippet.top_level_comment.clone(), video.clone()));
                for reply in self.replies(&thread.id).await? {
                    comments.push((reply, video.clone()));
                }
            } else {
                comments.extend(thread.comments().map(|c| (c.clone(), video.clone())));
            }
        }
        let mut walk = Walk::from(before);
        for id in &gone {
            walk.cursor.threads.remove(id);
            walk.deleted(Network::YouTube, id);
        }
        walk.cursor.threads.extend(followed);
        walk.cursor
            .threads
            .retain(|_, (published, _)| *published >= (now - follow).timestamp());
        // Oldest first, so a thread's story reads in order.
        comments.sort_by_key(|(c, _)| c.published_at());
        for (comment, video) in comments {
            match comment.to_new_post(video.as_deref(), &self.config.channel_id) {
                Ok(post) => {
                    let at = post.created_at;
                    walk.take(post, &comment.mark(), at);
                }
                Err(NotAPost::Skipped(reason)) => {
                    tracing::debug!(comment = %comment.id, %reason, "skipped");
                }
                Err(NotAPost::Invalid(e)) => {
                    tracing::warn!(source = %self.name, comment = %comment.id, error = %e, "unreadable comment skipped");
                }
            }
        }
        // Marks live as long as their threads are followed: a reply read again is no double.
        walk.cursor.prune(self.config.follow_for);
        Ok(walk)
    }
}

fn parse_threads(items: &[Value]) -> Vec<Thread> {
    items
        .iter()
        .filter_map(|t| match serde_json::from_value::<Thread>(t.clone()) {
            Ok(thread) => Some(thread),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable comment thread skipped");
                None
            }
        })
        .collect()
}

#[async_trait]
impl Poller for YouTubeSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn what(&self) -> &'static str {
        "youtube comments"
    }

    fn poll_interval(&self) -> Duration {
        self.config.poll_interval
    }

    fn backoff_scale(&self) -> f64 {
        self.config.backoff_scale
    }

    fn problems(&self) -> Vec<String> {
        self.config.problems()
    }

    async fn poll(&self, sink: &dyn Sink, health: &Health) -> Result<(), Ended> {
        let before = Cursor::load(sink, &self.name).await.map_err(Ended::Sink)?;
        let walk = self.walk(&before).await;
        health.note(self.ledger.note());
        walk?
            .deliver(&self.name, sink, health)
            .await
            .map_err(Ended::Sink)
    }
}

#[async_trait]
impl Source for YouTubeSource {
    async fn run(&self, hearing: Hearing) -> Result<(), SourceError> {
        hearing.health.note(self.ledger.note());
        reviews::run(self, hearing).await
    }

    fn name(&self) -> &str {
        &self.name
    }
}
