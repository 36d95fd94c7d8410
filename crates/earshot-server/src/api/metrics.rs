use super::{ok, ApiError, AppState};
use crate::metrics::{compute, Metrics};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::Utc;
use earshot_store::StoreCounts;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsParams {
    /// RFC 3339 time or YYYY-MM-DD; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 time or YYYY-MM-DD; default now.
    to: Option<String>,
}

/// The metrics with the surveys' satisfaction beside them (an added field).
#[derive(Debug, serde::Serialize)]
pub struct MetricsWithSatisfaction {
    #[serde(flatten)]
    pub metrics: Metrics,
    /// CSAT, mean score and would-buy-again share of the surveys sent in the range.
    pub satisfaction: earshot_store::survey::Satisfaction,
}

pub async fn metrics(
    State(state): State<AppState>,
    params: Result<Query<MetricsParams>, QueryRejection>,
) -> Result<Json<MetricsWithSatisfaction>, ApiError> {
    let Query(p) = params?;
    let now = Utc::now();
    let (from, to) = super::survey::range(p.from.as_deref(), p.to.as_deref(), now)?;
    let store = state.desk.store();
    let samples = store.response_samples(from, to).await?;
    let volume = store.volume(from, to).await?;
    let satisfaction =
        crate::metrics::satisfaction_total(state.desk.store().as_ref(), from, to).await?;
    Ok(ok(MetricsWithSatisfaction {
        metrics: compute(&samples, &volume, from, to, state.timezone(), now),
        satisfaction,
    }))
}

pub async fn counts(State(state): State<AppState>) -> Result<Json<StoreCounts>, ApiError> {
    Ok(ok(state.desk.store().counts().await?))
}
