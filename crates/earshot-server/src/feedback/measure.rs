//! How fast the loop closes: first ask → promise, promise → release, release → customers told,
//! and how many promises were kept on time — per request and overall.

use chrono::{DateTime, Utc};
use earshot_core::feedback::{PromiseState, RequestId};
use earshot_store::{Store, StoreError};
use serde::Serialize;
use std::collections::HashMap;

/// A duration summary in hours.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Hours {
    pub count: usize,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Hours {
    fn of(mut values: Vec<f64>) -> Hours {
        values.sort_by(f64::total_cmp);
        let at = |q: f64| -> Option<f64> {
            if values.is_empty() {
                return None;
            }
            let i = ((values.len() - 1) as f64 * q).round() as usize;
            values.get(i).copied()
        };
        Hours {
            count: values.len(),
            median: at(0.5),
            p90: at(0.9),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestTimings {
    pub request_id: RequestId,
    pub title: String,
    pub ask_to_promise_hours: Option<f64>,
    pub promise_to_release_hours: Option<f64>,
    pub release_to_told_hours: Option<f64>,
    pub kept_on_time: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoopMetrics {
    pub ask_to_promise: Hours,
    pub promise_to_release: Hours,
    pub release_to_told: Hours,
    pub promises_open: usize,
    pub promises_kept: usize,
    pub promises_kept_on_time: usize,
    pub promises_broken: usize,
    /// Kept on time among promises with a due date that were kept or broken.
    pub kept_on_time_share: Option<f64>,
    pub requests: Vec<RequestTimings>,
}

fn hours(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / 3600.0
}

/// Reads promises, their requests, releases and notifications, and measures the loop.
pub async fn compute(store: &dyn Store, now: DateTime<Utc>) -> Result<LoopMetrics, StoreError> {
    let promises = store.promises(None).await?;
    // Every request but merged ones (shipped ones included): one read.
    let requests: HashMap<RequestId, _> = store
        .requests(None, now)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    // When each release's first customer was told (its notifications' earliest send).
    let mut told: HashMap<i64, DateTime<Utc>> = HashMap::new();
    let mut shipped: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for release in store.releases().await? {
        shipped.insert(release.id.0, release.shipped_at);
        let first_sent = store
            .notifications(release.id)
            .await?
            .into_iter()
            .filter(|n| n.state == earshot_core::feedback::NotificationState::Sent)
            .map(|n| n.created_at)
            .min();
        if let Some(at) = first_sent {
            told.insert(release.id.0, at);
        }
    }
    let (mut a2p, mut p2r, mut r2t) = (vec![], vec![], vec![]);
    let mut per_request: HashMap<RequestId, RequestTimings> = HashMap::new();
    let (mut open, mut kept, mut on_time, mut broken, mut judged) = (0, 0, 0, 0, 0);
    for p in promises
        .iter()
        .filter(|p| p.state != PromiseState::Dismissed)
    {
        match p.state {
            PromiseState::Kept => kept += 1,
            PromiseState::Broken => broken += 1,
            _ => open += 1,
        }
        if let Some(ok) = p.kept_on_time() {
            judged += 1;
            if ok {
                on_time += 1;
            }
        } else if p.state == PromiseState::Broken {
            judged += 1;
        }
        let Some(request) = p.request_id.and_then(|r| requests.get(&r)) else {
            continue;
        };
        let ask_to_promise = hours(request.first_ask_at, p.made_at);
        let released = p.release_id.and_then(|r| shipped.get(&r)).copied();
        let promise_to_release = released.map(|r| hours(p.made_at, r));
        let release_to_told = match (released, p.release_id.and_then(|r| told.get(&r))) {
            (Some(r), Some(t)) => Some(hours(r, *t)),
            _ => None,
        };
        a2p.push(ask_to_promise);
        p2r.extend(promise_to_release);
        r2t.extend(release_to_told);
        per_request.entry(request.id).or_insert(RequestTimings {
            request_id: request.id,
            title: request.title.clone(),
            ask_to_promise_hours: Some(ask_to_promise),
            promise_to_release_hours: promise_to_release,
            release_to_told_hours: release_to_told,
            kept_on_time: p.kept_on_time(),
        });
    }
    let mut requests: Vec<RequestTimings> = per_request.into_values().collect();
    requests.sort_by_key(|r| r.request_id);
    Ok(LoopMetrics {
        ask_to_promise: Hours::of(a2p),
        promise_to_release: Hours::of(p2r),
        release_to_told: Hours::of(r2t),
        promises_open: open,
        promises_kept: kept,
        promises_kept_on_time: on_time,
        promises_broken: broken,
        kept_on_time_share: (judged > 0).then(|| on_time as f64 / judged as f64),
        requests,
    })
}
