//! Requests: what customers ask for, ranked by demand, and the agents' corrections of the
//! grouping (rename, merge, move an ask) and of the status. A status changes only through
//! `earshot_core::feedback::Request::apply` (via `FeedbackStore::apply_request`).

use super::{Desk, DeskError};
use crate::feedback::grouping::Suggestions;
use crate::feedback::tracker::{self, TrackerError, TrackerSettings};
use chrono::{DateTime, Utc};
use earshot_core::feedback::{
    Request, RequestEvent, RequestId, RequestStatus, RequestTitle, TrackerUrl,
};
use earshot_core::Network;
pub use earshot_store::feedback::RequestDetail;
use earshot_store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;

/// The asks shown with one request.
pub const ASKS_SHOWN: u32 = 20;

/// A request with what ranks it.
#[derive(Debug, Clone, Serialize)]
pub struct RankedRequest {
    #[serde(flatten)]
    pub request: Request,
    pub demand: f64,
    pub trend: Option<f64>,
    /// Where its askers spoke: distinct askers per network (an App Store review and a
    /// Mastodon post can ask for the same thing). Filled for the requests shown only, by
    /// [`Requests::where_asked`].
    pub networks: BTreeMap<Network, u32>,
}

/// Most wanted first (ties: the older request first).
pub fn rank(requests: Vec<Request>, now: DateTime<Utc>) -> Vec<RankedRequest> {
    let mut ranked: Vec<RankedRequest> = requests
        .into_iter()
        .map(|r| RankedRequest {
            demand: r.demand(now),
            trend: r.trend(),
            request: r,
            networks: BTreeMap::new(),
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.demand
            .total_cmp(&a.demand)
            .then(a.request.id.cmp(&b.request.id))
    });
    ranked
}

/// The requests service (see [`Desk::requests`]).
pub struct Requests<'a> {
    desk: &'a Desk,
}

impl Desk {
    /// Requests: ranking, grouping corrections, status and tracker links.
    pub fn requests(&self) -> Requests<'_> {
        Requests { desk: self }
    }
}

impl Requests<'_> {
    /// Requests ranked by demand, `status` filtered (all but merged ones by default).
    pub async fn ranked(
        &self,
        status: Option<RequestStatus>,
    ) -> Result<Vec<RankedRequest>, DeskError> {
        let now = Utc::now();
        Ok(rank(self.desk.store().requests(status, now).await?, now))
    }

    /// Fills in where the askers of `shown` spoke, with one read bounded by them.
    pub async fn where_asked(&self, shown: &mut [RankedRequest]) -> Result<(), DeskError> {
        let ids: Vec<RequestId> = shown.iter().map(|r| r.request.id).collect();
        let counts = self.desk.store().askers_by_network(&ids).await?;
        for (id, network, askers) in counts {
            if let Some(r) = shown.iter_mut().find(|r| r.request.id == id) {
                r.networks.insert(network, askers);
            }
        }
        Ok(())
    }

    /// One request with its newest `asks` and its promises.
    pub async fn detail(&self, id: RequestId, asks: u32) -> Result<RequestDetail, DeskError> {
        self.desk
            .store()
            .request(id, Utc::now(), asks)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("request {id}")).into())
    }

    pub async fn rename(&self, id: RequestId, title: &RequestTitle) -> Result<(), DeskError> {
        Ok(self.desk.store().rename_request(id, title.as_str()).await?)
    }

    /// Folds `from` into `into` (its asks and promises move); the grouper learns from it.
    pub async fn merge(&self, from: RequestId, into: RequestId, by: &str) -> Result<(), DeskError> {
        // The rules first (not into itself, not a merged one again); the store moves the rest.
        let mut request = self.detail(from, 0).await?.request;
        request
            .apply(&RequestEvent::MergedInto(into))
            .map_err(|e| DeskError::Refused(e.to_string()))?;
        Ok(self.desk.feedback().merge(from, into, by).await?)
    }

    /// Moves an ask into `to`, from wherever it is; the grouper learns from it.
    pub async fn move_post(&self, post_id: i64, to: RequestId, by: &str) -> Result<(), DeskError> {
        Ok(self.desk.feedback().move_post(post_id, to, by).await?)
    }

    /// Moves an ask of `from` out into a new request of its own; returns the new request.
    pub async fn move_out(
        &self,
        from: RequestId,
        post_id: i64,
        by: &str,
    ) -> Result<RequestId, DeskError> {
        if self.desk.store().request_of_post(post_id).await? != Some(from) {
            return Err(
                StoreError::Invalid(format!("post {post_id} is not in request {from}")).into(),
            );
        }
        Ok(self.desk.feedback().move_out(post_id, by).await?)
    }

    /// An agent sets open, planned, shipped or declined.
    pub async fn set_status(
        &self,
        id: RequestId,
        status: RequestStatus,
    ) -> Result<Request, DeskError> {
        Ok(self
            .desk
            .store()
            .apply_request(id, &RequestEvent::StatusSet(status))
            .await?)
    }

    /// Links the engineering issue an agent filed by hand.
    pub async fn link_tracker(&self, id: RequestId, url: &TrackerUrl) -> Result<(), DeskError> {
        Ok(self.desk.store().set_tracker_url(id, url.as_str()).await?)
    }

    /// Hands the request to engineering (a GitHub issue or the configured webhook) and links it.
    pub async fn hand_off(
        &self,
        settings: &TrackerSettings,
        id: RequestId,
    ) -> Result<String, TrackerError> {
        tracker::hand_off(settings, &**self.desk.store(), id).await
    }

    /// Corrections worth making, best first (at most `limit` of each kind).
    pub async fn suggestions(&self, limit: usize) -> Result<Suggestions, DeskError> {
        Ok(self.desk.feedback().suggestions(limit).await?)
    }
}
