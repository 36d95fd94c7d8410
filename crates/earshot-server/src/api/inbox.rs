use super::{ok, ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::Utc;
use earshot_core::{Network, Status};
use earshot_store::{InboxFilter, InboxRow, Page, SearchHit, SearchQuery};
use serde::Deserialize;
use std::str::FromStr;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// Comma-separated: open, pending, resolved. Default: open.
    status: Option<String>,
    network: Option<String>,
    language: Option<String>,
    intent: Option<String>,
    sentiment: Option<String>,
    breached: Option<bool>,
    /// An agent's name, or `none` for unassigned.
    assignee: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// Search takes the post filters; conversation filters (status, assignee, breached) belong
/// to the inbox, and an unknown parameter is refused rather than silently ignored.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    q: Option<String>,
    network: Option<String>,
    language: Option<String>,
    intent: Option<String>,
    sentiment: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// A language filter: a code, matched in lower case; empty means any.
fn language(given: &Option<String>) -> Option<String> {
    given
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(str::to_ascii_lowercase)
}

fn parse<T: FromStr>(field: &str, value: &Option<String>) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|e| ApiError::bad_request(format!("{field}: {e}"))),
    }
}

fn limit(l: Option<u32>) -> Result<u32, ApiError> {
    match l.unwrap_or(50) {
        0 => Err(ApiError::bad_request("limit must be at least 1")),
        n if n > 500 => Err(ApiError::bad_request("limit must be at most 500")),
        n => Ok(n),
    }
}

/// `offset`, at most [`earshot_store::MAX_OFFSET`].
fn offset(o: Option<u64>) -> Result<u64, ApiError> {
    match o.unwrap_or(0) {
        n if n > earshot_store::MAX_OFFSET => Err(ApiError::bad_request(format!(
            "offset must be at most {}: narrow the filters (status, network, language, intent, assignee) or search instead",
            earshot_store::MAX_OFFSET
        ))),
        n => Ok(n),
    }
}

pub fn filter_from(p: &InboxParams) -> Result<InboxFilter, ApiError> {
    let status = match p.status.as_deref() {
        None | Some("") => vec![Status::Open],
        Some("all") => vec![Status::Open, Status::Pending, Status::Resolved],
        Some(list) => list
            .split(',')
            .map(|s| {
                s.parse::<Status>()
                    .map_err(|e| ApiError::bad_request(format!("status: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(InboxFilter {
        status,
        network: parse::<Network>("network", &p.network)?,
        language: language(&p.language),
        intent: parse("intent", &p.intent)?,
        sentiment: parse("sentiment", &p.sentiment)?,
        breached: p.breached,
        assignee: p.assignee.as_ref().map(|a| {
            if a == "none" {
                String::new()
            } else {
                a.clone()
            }
        }),
        limit: limit(p.limit)?,
        offset: offset(p.offset)?,
    })
}

pub async fn inbox(
    State(state): State<AppState>,
    params: Result<Query<InboxParams>, QueryRejection>,
) -> Result<Json<Page<InboxRow>>, ApiError> {
    let Query(params) = params?;
    let filter = filter_from(&params)?;
    Ok(ok(state.desk.store().inbox(&filter, Utc::now()).await?))
}

pub async fn search(
    State(state): State<AppState>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Page<SearchHit>>, ApiError> {
    let Query(p) = params?;
    let q = p.q.clone().unwrap_or_default();
    if q.trim().is_empty() {
        return Err(ApiError::bad_request(
            "q is required: the words to search for",
        ));
    }
    if q.len() > 500 {
        return Err(ApiError::bad_request("q is longer than 500 bytes"));
    }
    let query = SearchQuery {
        q,
        network: parse("network", &p.network)?,
        language: language(&p.language),
        intent: parse("intent", &p.intent)?,
        sentiment: parse("sentiment", &p.sentiment)?,
        limit: limit(p.limit)?,
        offset: offset(p.offset)?,
    };
    Ok(ok(state.desk.store().search(&query).await?))
}
