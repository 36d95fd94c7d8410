//! Hearing a brand hashtag: the stream `GET /api/v1/streaming/hashtag?tag=<tag>` (events
//! `update`, `status.update`, `delete`) plus REST catch-up from the tag timeline
//! `GET /api/v1/timelines/tag/<tag>?min_id=<cursor>` (PROTOCOLS.md §1.3, §1.5, §1.8).
//!
//! Same shape as the mention source: open the stream first, then catch up from the cursor
//! (the highest status id delivered, kept under `mastodon:<brand>#<tag>`), then read; the
//! catch-up repeats every `poll_interval`. A status is delivered once per run however often
//! the stream and the timeline repeat it. An edit (`status.update`, the full new status)
//! becomes [`Amendment::Edited`], once per `edited_at`; a `delete` (a bare id) becomes
//! [`Amendment::Deleted`]. Boosts are skipped; the brand's own posts are marked `from_brand`.
//!
//! Late remote posts can reach the stream out of id order: they are delivered as they come
//! (the cursor only moves forward), so nothing heard live is dropped for being "old".

use super::config::{normalise_tag, MastodonConfig};
use super::conn::{drive, Ended, Listener, Pager, DELIVERED_MEMORY};
use super::http::id_cmp;
use super::stream::{Channel, SseEvent};
use super::wire::Status;
use crate::source::{Health, Hearing, Sink, Source, SourceError};
use crate::NotAPost;
use async_trait::async_trait;
use earshot_core::{Amendment, Network, NewPost, PostKey};
use std::collections::HashSet;
use std::sync::Arc;

/// Hears the public posts carrying one hashtag, as the brand's instance sees them.
#[derive(Debug)]
pub struct MastodonHashtagSource {
    name: String,
    tag: String,
    config: MastodonConfig,
    client: reqwest::Client,
}

/// What one run remembers across reconnects.
pub(super) struct TagState {
    sink: Arc<dyn Sink>,
    health: Health,
    cursor: Option<String>,
    /// Status ids delivered, and `edit:<id>@<edited_at>` / `delete:<id>` amendments sent.
    seen: HashSet<String>,
}

impl TagState {
    fn remember(&mut self, key: String) {
        if self.seen.len() > DELIVERED_MEMORY {
            // Forgetting only risks a redelivery, which the store absorbs.
            self.seen.clear();
        }
        self.seen.insert(key);
    }
}

impl MastodonHashtagSource {
    /// `tag` with or without `#`; matched case-insensitively, as Mastodon does.
    pub fn new(config: MastodonConfig, tag: &str) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()?;
        Ok(MastodonHashtagSource {
            name: config.hashtag_source_name(tag),
            tag: normalise_tag(tag),
            config,
            client,
        })
    }

    /// The tag heard (lowercase, without `#`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    fn pager(&self) -> Result<Pager<'_>, Ended> {
        let mut url =
            reqwest::Url::parse(&self.config.api_url("/api/v1/timelines/tag/")).map_err(|e| {
                Ended::Retry {
                    failure: crate::source::Failure::Http,
                    reason: format!("bad base_url: {e}"),
                    not_before: None,
                }
            })?;
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.tag);
        }
        Ok(Pager {
            client: &self.client,
            config: &self.config,
            endpoint: url.to_string(),
            filter: "",
            what: "the tag timeline",
        })
    }

    /// Catches up from the cursor with `min_id` until an empty page; with no cursor yet,
    /// takes the newest `history` tagged posts first.
    async fn catch_up(&self, state: &mut TagState) -> Result<(), Ended> {
        let pager = self.pager()?;
        if state.cursor.is_none() {
            let want = self.config.history;
            let newest: Vec<Status> = if want == 0 {
                pager.page(1, None).await?
            } else {
                pager.newest(want).await?
            };
            if want == 0 {
                // Start from now: remember where "now" is without delivering it.
                if let Some(s) = newest.first() {
                    state.remember(s.id.clone());
                    state
                        .sink
                        .deliver(&self.name, Vec::new(), Some(s.id.clone()))
                        .await
                        .map_err(Ended::Sink)?;
                    state.cursor = Some(s.id.clone());
                }
            } else {
                self.deliver(newest, state).await?;
            }
        }
        while let Some(cursor) = state.cursor.clone() {
            let page: Vec<Status> = pager.after(&cursor).await?;
            if page.is_empty() {
                break;
            }
            self.deliver(page, state).await?;
            if state.cursor.as_deref() == Some(cursor.as_str()) {
                // A server that ignores `min_id` would page forever.
                break;
            }
        }
        Ok(())
    }

    fn to_post(&self, status: Status) -> Option<NewPost> {
        let id = status.id.clone();
        let from_brand = self.config.is_brand(&status.account.acct);
        match status.into_new_post() {
            Ok(mut post) => {
                if from_brand {
                    post.from_brand = Some(true);
                }
                Some(post)
            }
            Err(NotAPost::Skipped(reason)) => {
                tracing::debug!(status = %id, %reason, "skipped");
                None
            }
            Err(NotAPost::Invalid(e)) => {
                tracing::warn!(source = %self.name, status = %id, error = %e, "invalid status skipped");
                None
            }
        }
    }

    /// Delivers the statuses not yet delivered in this run, oldest first; the cursor moves
    /// to the highest id among them (never back).
    async fn deliver(&self, mut statuses: Vec<Status>, state: &mut TagState) -> Result<(), Ended> {
        statuses.sort_by(|a, b| id_cmp(&a.id, &b.id));
        let mut cursor = state.cursor.clone();
        let mut posts = Vec::new();
        let mut fresh = Vec::new();
        for status in statuses {
            if status.id.is_empty() || state.seen.contains(&status.id) || fresh.contains(&status.id)
            {
                continue;
            }
            if cursor
                .as_deref()
                .is_none_or(|c| id_cmp(&status.id, c).is_gt())
            {
                cursor = Some(status.id.clone());
            }
            fresh.push(status.id.clone());
            posts.extend(self.to_post(status));
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let count = posts.len() as u64;
        state
            .sink
            .deliver(&self.name, posts, cursor.clone())
            .await
            .map_err(Ended::Sink)?;
        for id in fresh {
            state.remember(id);
        }
        state.cursor = cursor;
        if count > 0 {
            state.health.heard(count);
        }
        Ok(())
    }

    async fn amend(
        &self,
        key: String,
        amendment: Amendment,
        state: &mut TagState,
    ) -> Result<(), Ended> {
        if state.seen.contains(&key) {
            return Ok(());
        }
        state
            .sink
            .amend(&self.name, vec![amendment], state.cursor.clone())
            .await
            .map_err(Ended::Sink)?;
        state.remember(key);
        state.health.heard(1);
        Ok(())
    }

    async fn on_event(&self, event: SseEvent, state: &mut TagState) -> Result<(), Ended> {
        match event.name.as_str() {
            "update" => match serde_json::from_str::<Status>(&event.data) {
                Ok(status) => self.deliver(vec![status], state).await,
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "unreadable status");
                    Ok(())
                }
            },
            "status.update" => match serde_json::from_str::<Status>(&event.data) {
                Ok(status) => {
                    let key = format!(
                        "edit:{}@{}",
                        status.id,
                        status.edited_at.as_deref().unwrap_or_default()
                    );
                    // An edit of a post never heard (e.g. before the first start) still
                    // carries the whole post: the store keeps it as an edit it cannot place,
                    // or as a new version when it knows the key.
                    match self.to_post(status) {
                        Some(post) => self.amend(key, Amendment::Edited(post), state).await,
                        None => Ok(()),
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "unreadable edit");
                    Ok(())
                }
            },
            "delete" => {
                // A bare id on SSE; tolerate a quoted one too.
                let id = event.data.trim().trim_matches('"').to_owned();
                if id.is_empty() {
                    return Ok(());
                }
                let key = format!("delete:{id}");
                let deleted = Amendment::Deleted(PostKey::new(Network::Mastodon, id));
                self.amend(key, deleted, state).await
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Listener for MastodonHashtagSource {
    type State = TagState;

    fn name(&self) -> &str {
        &self.name
    }

    fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn config(&self) -> &MastodonConfig {
        &self.config
    }

    fn channel(&self) -> Channel<'_> {
        Channel::Hashtag(&self.tag)
    }

    async fn catch_up(&self, state: &mut Self::State) -> Result<(), Ended> {
        self.catch_up(state).await
    }

    async fn on_event(&self, event: SseEvent, state: &mut Self::State) -> Result<(), Ended> {
        MastodonHashtagSource::on_event(self, event, state).await
    }
}

#[async_trait]
impl Source for MastodonHashtagSource {
    async fn run(&self, mut hearing: Hearing) -> Result<(), SourceError> {
        let state = TagState {
            cursor: hearing.sink.cursor(&self.name).await?,
            sink: hearing.sink,
            health: hearing.health.clone(),
            seen: HashSet::new(),
        };
        drive(self, state, &hearing.health, &mut hearing.stop).await
    }

    fn name(&self) -> &str {
        &self.name
    }
}
