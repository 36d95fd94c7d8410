//! Requests: what customers ask for, ranked by demand (askers, reach, recent asks), with the
//! week's trend and where each stands (status, promises, the engineering issue). A request's
//! page shows its asks, who asked, the promises made on it and its timeline; agents rename,
//! merge, set the status and hand it to engineering from there.
//!
//! Ranking and every change go through the same functions as `/api/v1/requests`.

use crate::desk::requests::{rank, RankedRequest};
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::{require_agent, PageError};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use earshot_core::feedback::{PromiseState, Request, RequestId, RequestStatus};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

mod request;
pub use request::{act, detail};

/// Rows on the list; the rest is a filter away.
const SHOWN: usize = 200;
/// Statuses an agent may set (merging has its own form).
const SETTABLE: [RequestStatus; 4] = [
    RequestStatus::Open,
    RequestStatus::Planned,
    RequestStatus::Shipped,
    RequestStatus::Declined,
];

/// A request id as people write it: `12` or `R12`.
pub(crate) fn request_id(raw: &str) -> Result<RequestId, PageError> {
    RequestId::parse(raw).map_err(|_| PageError::NotFound(format!("{raw:?} is not a request")))
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    language: Option<String>,
    q: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let mut problems = vec![];
    let status = nonempty(&q.status).and_then(|s| {
        RequestStatus::parse(s)
            .filter(|s| *s != RequestStatus::Merged)
            .or_else(|| {
                problems.push(format!("status {s:?}"));
                None
            })
    });
    let now = Utc::now();
    let store = state.desk.store();
    // Two reads for the whole page: the requests and every promise (grouped here).
    let (requests, promises) = tokio::try_join!(store.requests(status, now), store.promises(None))?;
    let language = nonempty(&q.language).map(str::to_ascii_lowercase);
    let words = nonempty(&q.q).map(str::to_lowercase);
    let mut languages: Vec<String> = requests
        .iter()
        .flat_map(|r| r.languages.keys().cloned())
        .collect();
    languages.sort();
    languages.dedup();
    // A request whose asks were all moved elsewhere has nothing to rank: say so, not list it.
    let emptied = requests.iter().filter(|r| r.posts == 0).count();
    let mut ranked: Vec<RankedRequest> = rank(requests, now)
        .into_iter()
        .filter(|r| r.request.posts > 0)
        .filter(|r| {
            language
                .as_deref()
                .is_none_or(|l| r.request.languages.contains_key(l))
        })
        .filter(|r| {
            words
                .as_deref()
                .is_none_or(|w| r.request.title.to_lowercase().contains(w))
        })
        .collect();
    // Where the askers spoke, read for the rows shown only.
    let shown = ranked.len().min(SHOWN);
    state
        .desk
        .requests()
        .where_asked(&mut ranked[..shown])
        .await?;
    let mut by_request: HashMap<RequestId, Vec<PromiseState>> = HashMap::new();
    for p in &promises {
        if let Some(r) = p.request_id {
            by_request.entry(r).or_default().push(p.state);
        }
    }
    // Corrections are offered to those who can make them.
    let suggested = if require_agent(&signed).is_ok() {
        suggestions(&state, &signed, None).await?
    } else {
        html! {}
    };
    let body = html! {
        div.loop-head {
            h1 { "Requests" }
            span.count {
                (ranked.len()) " requests, most wanted first"
                @if emptied > 0 { " · " (emptied) " left without asks (moved elsewhere) not shown" }
            }
        }
        @for p in &problems {
            (layout::flash("warning", &format!("Ignored {p}: not a value this filter knows.")))
        }
        (suggested)
        form.search-filters.loop-filters method="get" action="/requests" role="search" {
            label for="q" { "Title" }
            input #q name="q" type="search" value=(q.q.as_deref().unwrap_or("")) maxlength="200" placeholder="e.g. seat";
            label for="r-status" { "Status" }
            select #r-status name="status" {
                option value="" { "Any" }
                @for s in SETTABLE {
                    option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                }
            }
            label for="r-language" { "Language" }
            select #r-language name="language" {
                option value="" { "Any" }
                @for l in &languages {
                    option value=(l) selected[language.as_deref() == Some(l.as_str())] { (l) }
                }
            }
            button type="submit" { "Filter" }
        }
        @if ranked.is_empty() {
            (layout::empty("No requests here yet.", html! {
                "When customers ask for something (a feature, a change), their posts are grouped into requests here."
            }))
        } @else {
            div.table-wrap.tall {
                table.requests {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { "Request" }
                        th scope="col" title="askers, reach and recent asks, fading when quiet" { "Demand" }
                        th scope="col" { "Askers" }
                        th scope="col" title="askers per network" { "From" }
                        th scope="col" { "Reach" }
                        th scope="col" { "Last 7 days" }
                        th scope="col" { "Status" }
                        th scope="col" { "Promises" }
                        th scope="col" { "Tracker" }
                    } }
                    tbody {
                        @for (i, r) in ranked.iter().take(SHOWN).enumerate() {
                            (row(i + 1, r, by_request.get(&r.request.id).map(Vec::as_slice).unwrap_or(&[])))
                        }
                    }
                }
            }
            @if ranked.len() > SHOWN {
                p.muted { "Showing the first " (SHOWN) " of " (ranked.len()) "; filter to see the rest." }
            }
        }
    };
    Ok(layout::page("Requests", Some(&signed), Nav::Requests, body).into_response())
}

/// Suggestions shown on the list (all) and on a request's page (those touching it).
const SUGGESTED: usize = 5;

/// The suggestions box, with the titles and ask texts it names (`None`: every request).
async fn suggestions(
    state: &AppState,
    signed: &SignedIn,
    only: Option<RequestId>,
) -> Result<Markup, PageError> {
    let feedback = state.desk.feedback();
    let mut s = feedback
        .suggestions(if only.is_some() { 50 } else { SUGGESTED })
        .await?;
    if let Some(id) = only {
        s.merge.retain(|m| m.from == id || m.into == id);
        s.moves.retain(|m| m.from == id || m.to == Some(id));
        s.merge.truncate(SUGGESTED);
        s.moves.truncate(SUGGESTED);
    }
    let store = state.desk.store();
    let now = Utc::now();
    let mut titles = HashMap::new();
    let mut asks = HashMap::new();
    let ids: std::collections::BTreeSet<RequestId> = s
        .merge
        .iter()
        .flat_map(|m| [m.from, m.into])
        .chain(s.moves.iter().flat_map(|m| [Some(m.from), m.to]).flatten())
        .collect();
    for id in ids {
        let wanted: Vec<i64> = s
            .moves
            .iter()
            .filter(|m| m.from == id)
            .map(|m| m.post_id)
            .collect();
        let sample = if wanted.is_empty() { 1 } else { 500 };
        if let Some(d) = store.request(id, now, sample).await? {
            for p in d.posts.iter().filter(|p| wanted.contains(&p.id)) {
                asks.insert(p.id, p.text.clone());
            }
            titles.insert(id, d.request.title);
        }
    }
    Ok(crate::web::pages::request_suggestions::suggestions_box(
        signed,
        &s,
        &crate::web::pages::request_suggestions::Labels {
            titles: &titles,
            asks: &asks,
        },
    ))
}

fn row(rank: usize, r: &RankedRequest, promises: &[PromiseState]) -> Markup {
    let q = &r.request;
    html! {
        tr {
            td.num { (rank) }
            td {
                a href=(format!("/requests/{}", q.id.0)) { (layout::said(&q.title)) }
                " " span.muted.small { (q.id) }
            }
            td.num { (format!("{:.1}", r.demand)) }
            td.num title=(format!("{} posts", q.posts)) { (q.askers) }
            td.small {
                @for (i, (network, askers)) in r.networks.iter().enumerate() {
                    @if i > 0 { " · " }
                    span title=(format!("{askers} asked on {network}")) { (network) " " (askers) }
                }
            }
            td.num { (layout::compact(q.reach)) }
            td { (trend(q)) }
            td { (status_badge(q.status)) }
            td { (promise_summary(promises)) }
            td {
                @if let Some(u) = q.tracker_url.as_deref().and_then(layout::safe_url) {
                    a href=(u) rel="noopener noreferrer" target="_blank" { "issue" }
                } @else { span.muted { "—" } }
            }
        }
    }
}

pub(crate) fn status_badge(s: RequestStatus) -> Markup {
    layout::badge("rstatus", s.as_str(), s.as_str())
}

pub(crate) fn promise_badge(s: PromiseState) -> Markup {
    layout::badge("promise", s.as_str(), s.as_str())
}

/// Counts per state, in the ledger's order: "1 confirmed, 2 kept".
fn promise_summary(states: &[PromiseState]) -> Markup {
    let order = [
        PromiseState::Broken,
        PromiseState::Confirmed,
        PromiseState::Proposed,
        PromiseState::Kept,
    ];
    html! {
        @if states.iter().all(|s| *s == PromiseState::Dismissed) { span.muted { "—" } }
        @for s in order {
            @let n = states.iter().filter(|x| **x == s).count();
            @if n > 0 {
                span class=(format!("badge b-promise b-promise-{}", s.as_str())) title=(format!("{n} {} promises", s.as_str())) {
                    (n) " " (s.as_str())
                }
                " "
            }
        }
    }
}

/// The last week against the one before: an arrow, the counts, and two small bars.
pub(crate) fn trend(r: &Request) -> Markup {
    let (last, prior) = (r.asks_last_7d, r.asks_prior_7d);
    let (arrow, class, words) = match last.cmp(&prior) {
        std::cmp::Ordering::Greater => ("▲", "up", "rising"),
        std::cmp::Ordering::Less => ("▼", "down", "falling"),
        std::cmp::Ordering::Equal => ("▶", "flat", "steady"),
    };
    let max = f64::from(last.max(prior).max(1));
    let h = |v: u32| (14.0 * f64::from(v) / max).max(if v > 0 { 1.0 } else { 0.0 });
    html! {
        span class=(format!("trend trend-{class}")) title=(format!("{words}: {last} asks in the last 7 days, {prior} in the 7 before")) {
            svg.spark viewBox="0 0 20 16" width="20" height="16" aria-hidden="true" {
                rect.spark-prior x="2" y=(format!("{:.1}", 15.0 - h(prior))) width="7" height=(format!("{:.1}", h(prior))) {}
                rect.spark-last x="11" y=(format!("{:.1}", 15.0 - h(last))) width="7" height=(format!("{:.1}", h(last))) {}
            }
            " " span.arrow aria-hidden="true" { (arrow) } " " (last) span.muted { " vs " (prior) }
            span.visually-hidden { " (" (words) ")" }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_written_with_or_without_their_r() {
        assert_eq!(request_id("12").unwrap(), RequestId(12));
        assert_eq!(request_id("R12").unwrap(), RequestId(12));
        assert!(request_id("0").is_err());
        assert!(request_id("R").is_err());
        assert!(request_id("12; drop").is_err());
    }

    #[test]
    fn promise_summaries_count_each_state() {
        let html = promise_summary(&[
            PromiseState::Kept,
            PromiseState::Kept,
            PromiseState::Confirmed,
        ])
        .into_string();
        assert!(
            html.contains("2 kept") && html.contains("1 confirmed"),
            "{html}"
        );
        assert!(promise_summary(&[]).into_string().contains('—'));
    }
}
