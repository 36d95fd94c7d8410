//! The loop's records: requests and the posts that ask for them, promises, releases, the
//! notifications that tell askers, and customers who opted out ([`FeedbackStore`]).
//!
//! Invariants: a post belongs to at most one request; a reply proposes at most one promise; a
//! release version is recorded once; a notification key (release × customer) is stored once,
//! so a re-run of a release can never tell anyone twice.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::feedback::{
    Ask, NotificationPlan, NotificationState, Promise, PromiseId, PromiseKind, PromiseState,
    Release, ReleaseId, Request, RequestEvent, RequestId, RequestStatus, RequestTransitionError,
};
use earshot_core::{ConversationId, Network, Post};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

mod counters;
mod sql;

/// A promise read in a reply, before an agent looked at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPromise {
    pub request_id: Option<RequestId>,
    pub conversation_id: ConversationId,
    pub reply_id: Option<i64>,
    pub evidence: String,
    pub kind: PromiseKind,
    pub made_at: DateTime<Utc>,
    pub due_on: Option<chrono::NaiveDate>,
    pub target_release: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRelease {
    pub version: String,
    pub shipped_at: DateTime<Utc>,
    pub notes: String,
    pub url: Option<String>,
    pub request_ids: Vec<RequestId>,
    pub created_by: String,
}

/// One notification as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: i64,
    pub key: String,
    pub release_id: ReleaseId,
    pub request_id: RequestId,
    pub post_id: i64,
    pub conversation_id: ConversationId,
    pub network: Network,
    pub language: String,
    pub text: String,
    pub state: NotificationState,
    pub skip_reason: Option<String>,
    pub reply_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A grouped post, to rebuild the grouper when the server starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestMember {
    pub request_id: RequestId,
    pub post_id: i64,
    pub text: String,
    pub language: String,
    pub created_at: DateTime<Utc>,
}

/// A customer ask in no request yet (see [`FeedbackStore::asks_not_grouped`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UngroupedAsk {
    pub post_id: i64,
    pub text: String,
    pub language: String,
    pub created_at: DateTime<Utc>,
}

/// A request with sample asks, for its page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestDetail {
    pub request: Request,
    /// Newest first.
    pub posts: Vec<Post>,
    pub promises: Vec<Promise>,
}

#[async_trait]
pub trait FeedbackStore: Send + Sync {
    /// Opens a request titled `title` (the first ask usually names it).
    async fn create_request(&self, title: &str, at: DateTime<Utc>)
        -> Result<RequestId, StoreError>;

    /// Puts `post_id` in `request_id` (moving it if it was elsewhere). `by` is `grouping` or an agent.
    async fn add_to_request(
        &self,
        post_id: i64,
        request_id: RequestId,
        similarity: f32,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Moves every post of `from` into `into`; `from` becomes `merged`.
    async fn merge_requests(
        &self,
        from: RequestId,
        into: RequestId,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn rename_request(&self, id: RequestId, title: &str) -> Result<(), StoreError>;
    /// Writes a status [`Request::apply`] decided: call [`FeedbackStore::apply_request`].
    async fn set_request_status(
        &self,
        id: RequestId,
        status: RequestStatus,
    ) -> Result<(), StoreError>;

    /// Changes a request's status through the core rules ([`Request::apply`]), written once
    /// for both backends: a change the rules refuse writes nothing. Returns the request as it
    /// now stands.
    async fn apply_request(
        &self,
        id: RequestId,
        event: &RequestEvent,
    ) -> Result<Request, StoreError> {
        let mut request = self
            .request(id, Utc::now(), 0)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?
            .request;
        request.apply(event).map_err(|e| match e {
            RequestTransitionError::Merged(..) => StoreError::Conflict(e.to_string()),
            _ => StoreError::Invalid(e.to_string()),
        })?;
        self.set_request_status(id, request.status).await?;
        Ok(request)
    }
    async fn set_tracker_url(&self, id: RequestId, url: &str) -> Result<(), StoreError>;

    /// Requests with their demand (not merged ones), `status` filtered; unranked (the caller
    /// ranks by [`Request::demand`]).
    async fn requests(
        &self,
        status: Option<RequestStatus>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Request>, StoreError>;

    async fn request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
        sample: u32,
    ) -> Result<Option<RequestDetail>, StoreError>;

    /// The posts of open and planned requests, oldest first (at most `limit`), so the grouper
    /// can be rebuilt after a restart.
    async fn request_members(&self, limit: u32) -> Result<Vec<RequestMember>, StoreError>;

    /// Customer asks (intent `feature_request`, not deleted) with an id above `after` that
    /// are in no request, lowest id first (at most `limit`), for the process that groups to
    /// catch up with asks other processes stored. Ids are handed out when a post is written,
    /// not when it commits: a slow commit can land below ids already read, so a reader keeps
    /// its `after` some way behind what it has seen (see the server's grouping loop).
    /// Returns them with the id read up to, the next call's `after` when nothing is late.
    async fn asks_not_grouped(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<UngroupedAsk>, i64), StoreError>;

    /// The request a post was grouped into.
    async fn request_of_post(&self, post_id: i64) -> Result<Option<RequestId>, StoreError>;

    /// Every customer ask on these requests, with the customers' opt-outs.
    async fn asks(&self, requests: &[RequestId]) -> Result<Vec<Ask>, StoreError>;

    /// Where the askers of these requests (the ones a page shows) spoke: distinct askers per
    /// network, by request then network. One query, bounded by `requests`; a request's
    /// counts add up to its `askers`.
    async fn askers_by_network(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<(RequestId, Network, u32)>, StoreError>;

    /// Stores a proposed promise; a second proposal from the same reply returns the first.
    async fn propose_promise(&self, promise: NewPromise) -> Result<Promise, StoreError>;
    async fn promise(&self, id: PromiseId) -> Result<Option<Promise>, StoreError>;
    /// Writes a promise's state, due date, confirmation and keeping (after the core rules ran).
    async fn save_promise(&self, promise: &Promise, actor: &str) -> Result<(), StoreError>;
    async fn promises(&self, state: Option<PromiseState>) -> Result<Vec<Promise>, StoreError>;
    async fn promises_for_requests(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<Promise>, StoreError>;

    /// Records a release; the same version again returns the stored one (and `false`).
    async fn record_release(
        &self,
        release: NewRelease,
        at: DateTime<Utc>,
    ) -> Result<(Release, bool), StoreError>;
    async fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError>;
    async fn releases(&self) -> Result<Vec<Release>, StoreError>;

    /// Keys of the notifications a release is done with: sent, or skipped. One still queued
    /// or failed (a run killed before its reply went out) is planned again.
    async fn notified_keys(&self, release: ReleaseId) -> Result<HashSet<String>, StoreError>;
    /// Stores a planned notification; `false` if its key was already stored (nothing changes).
    async fn record_notification(
        &self,
        release: ReleaseId,
        plan: &NotificationPlan,
        state: NotificationState,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn update_notification(
        &self,
        key: &str,
        state: NotificationState,
        reply_id: Option<i64>,
    ) -> Result<(), StoreError>;
    async fn notifications(&self, release: ReleaseId) -> Result<Vec<Notification>, StoreError>;

    /// The customer does not want to hear back (they said so, or an agent recorded it).
    async fn opt_out(
        &self,
        network: Network,
        author_external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------
// Assembling requests from rows, shared by both backends so their figures cannot drift.

pub(crate) struct RequestRow {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub merged_into: Option<i64>,
    pub tracker_url: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The counters kept on the row (see `counters`).
    pub asks: i64,
    /// Distinct askers (network × author).
    pub askers: i64,
    /// Each asker's largest follower count, summed.
    pub reach: i64,
    pub first_ask_at: Option<DateTime<Utc>>,
    pub latest_ask_at: Option<DateTime<Utc>>,
}

/// A request's asks in the last 7 days and in the 7 before.
pub(crate) struct WindowRow {
    pub request_id: i64,
    pub last_7d: i64,
    pub prior_7d: i64,
}

/// Asks of one request in one language: `(request, language, asks)`.
pub(crate) type LanguageRow = (i64, String, i64);

pub(crate) fn assemble(
    rows: Vec<RequestRow>,
    windows: Vec<WindowRow>,
    languages: Vec<LanguageRow>,
) -> Result<Vec<Request>, StoreError> {
    use std::collections::HashMap;
    let clamp = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    let mut out: Vec<Request> = Vec::with_capacity(rows.len());
    let mut index = HashMap::with_capacity(rows.len());
    for r in rows {
        let status = RequestStatus::parse(&r.status).ok_or_else(|| {
            StoreError::Corrupt(format!("request {} has status {:?}", r.id, r.status))
        })?;
        index.insert(r.id, out.len());
        out.push(Request {
            id: RequestId(r.id),
            title: r.title,
            status,
            askers: clamp(r.askers),
            posts: clamp(r.asks),
            reach: u64::try_from(r.reach.max(0)).unwrap_or(0),
            first_ask_at: r.first_ask_at.unwrap_or(r.created_at),
            latest_ask_at: r.latest_ask_at.unwrap_or(r.created_at),
            languages: Default::default(),
            asks_last_7d: 0,
            asks_prior_7d: 0,
            merged_into: r.merged_into.map(RequestId),
            tracker_url: r.tracker_url,
            created_at: r.created_at,
        });
    }
    for w in windows {
        if let Some(&i) = index.get(&w.request_id) {
            out[i].asks_last_7d = clamp(w.last_7d);
            out[i].asks_prior_7d = clamp(w.prior_7d);
        }
    }
    for (request, language, asks) in languages {
        if let Some(&i) = index.get(&request) {
            out[i].languages.insert(language, clamp(asks));
        }
    }
    Ok(out)
}

pub(crate) fn parse_kind(s: &str) -> Result<PromiseKind, StoreError> {
    PromiseKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown promise kind {s:?}")))
}

pub(crate) fn parse_state(s: &str) -> Result<PromiseState, StoreError> {
    PromiseState::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown promise state {s:?}")))
}

pub(crate) fn parse_notification_state(s: &str) -> Result<NotificationState, StoreError> {
    NotificationState::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown notification state {s:?}")))
}

pub(crate) fn skip_name(plan: &NotificationPlan) -> Option<String> {
    plan.skip.map(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{s:?}"))
    })
}
