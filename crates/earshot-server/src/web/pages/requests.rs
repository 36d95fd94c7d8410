//! Requests: what customers ask for, ranked by demand (askers, reach, recent asks), with the
//! week's trend and where each stands (status, promises, the engineering issue). A request's
//! page shows its asks, who asked, the promises made on it and its timeline; agents rename,
//! merge, set the status and hand it to engineering from there.
//!
//! Ranking and every change go through the same functions as `/api/v1/requests`.

use crate::desk::requests::{rank, RankedRequest};
use crate::feedback::tracker::TrackerError;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::{csrf, require_agent, PageError};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use earshot_core::feedback::{
    Ask, Promise, PromiseState, Release, Request, RequestId, RequestStatus, RequestTitle,
    TrackerUrl,
};
use earshot_store::feedback::RequestDetail;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Rows on the list; the rest is a filter away.
const SHOWN: usize = 200;
/// Asks shown on a request's page (newest first).
const SAMPLE: u32 = 50;
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

#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    done: Option<String>,
}

/// What just happened, from a fixed list: never echoed as given.
fn confirmation(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "renamed" => "Renamed.",
        "merged" => "Merged: its asks are part of this request now.",
        "moved" => "Moved: the ask is part of this request now.",
        "moved_out" => "Moved: the ask is a request of its own now.",
        "status" => "Status saved.",
        "tracker" => "Tracker link saved.",
        "handed_off" => "Handed to engineering: the issue is linked below.",
        _ => return None,
    })
}

/// One customer who asked, from their asks.
struct Asker<'a> {
    ask: &'a Ask,
    asks: usize,
}

fn askers(asks: &[Ask]) -> Vec<Asker<'_>> {
    let mut by_customer: BTreeMap<(&str, &str), Asker<'_>> = BTreeMap::new();
    for a in asks {
        by_customer
            .entry((a.network.as_str(), a.author_external_id.as_str()))
            .and_modify(|c| {
                c.asks += 1;
                if a.asked_at > c.ask.asked_at {
                    c.ask = a;
                }
            })
            .or_insert(Asker { ask: a, asks: 1 });
    }
    let mut out: Vec<_> = by_customer.into_values().collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.ask.asked_at));
    out
}

/// What happened to a request, oldest first.
fn timeline(d: &RequestDetail, releases: &[&Release]) -> Vec<(DateTime<Utc>, String)> {
    let r = &d.request;
    let mut events = vec![(r.first_ask_at, "First asked".to_string())];
    if r.latest_ask_at > r.first_ask_at {
        events.push((r.latest_ask_at, "Latest ask".to_string()));
    }
    for p in &d.promises {
        events.push((
            p.made_at,
            format!(
                "Promise {} made ({})",
                p.id,
                p.kind.as_str().replace('_', " ")
            ),
        ));
        if let (Some(at), Some(by)) = (p.confirmed_at, p.confirmed_by.as_deref()) {
            events.push((at, format!("Promise {} confirmed by {by}", p.id)));
        }
        if let Some(at) = p.kept_at {
            events.push((at, format!("Promise {} kept", p.id)));
        }
    }
    for rel in releases {
        events.push((rel.shipped_at, format!("Shipped in {}", rel.version)));
    }
    events.sort_by_key(|e| e.0);
    events
}

pub async fn detail(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let id = request_id(&id)?;
    let now = Utc::now();
    let store = state.desk.store();
    let ids = [id];
    let (detail, asks, releases, others) = tokio::try_join!(
        store.request(id, now, SAMPLE),
        store.asks(&ids),
        store.releases(),
        store.requests(None, now),
    )?;
    let d = detail.ok_or_else(|| PageError::NotFound(format!("request {id} not found")))?;
    let shipped_in: Vec<&Release> = releases
        .iter()
        .filter(|r| r.request_ids.contains(&id))
        .collect();
    let others: Vec<Request> = rank(others, now)
        .into_iter()
        .map(|r| r.request)
        .filter(|r| r.id != id)
        .collect();
    let tracker_on = !state.settings.tracker.kind.trim().is_empty();
    let suggested = if require_agent(&signed).is_ok() && d.request.merged_into.is_none() {
        suggestions(&state, &signed, Some(id)).await?
    } else {
        html! {}
    };
    Ok(render(
        &signed,
        &d,
        &asks,
        &shipped_in,
        &others,
        tracker_on,
        confirmation(shown.done.as_deref()),
        now,
        suggested,
    )
    .into_response())
}

#[allow(clippy::too_many_arguments)]
fn render(
    signed: &SignedIn,
    d: &RequestDetail,
    asks: &[Ask],
    shipped_in: &[&Release],
    others: &[Request],
    tracker_on: bool,
    notice: Option<&str>,
    now: DateTime<Utc>,
    suggested: Markup,
) -> Markup {
    let r = &d.request;
    let can_act = require_agent(signed).is_ok();
    let people = askers(asks);
    let body = html! {
        div.conv-head {
            a.back href="/requests" { "← Requests" }
            h1 #request-title { (layout::said(&r.title)) }
            span.muted { (r.id) }
            (status_badge(r.status))
        }
        @if let Some(n) = notice { (layout::flash("ok", n)) }
        @if let Some(into) = r.merged_into {
            (layout::flash("warning", &format!("This request was merged into {into}.")))
            p { a href=(format!("/requests/{}", into.0)) { "Open " (into) } }
        }
        (suggested)
        div.conv-layout {
            section.thread aria-label="Asks" {
                (super::draft::request_summary(d))
                div.kpis {
                    div.kpi { span.kpi-value { (format!("{:.1}", r.demand(now))) } span.kpi-label { "demand" } }
                    div.kpi { span.kpi-value { (r.askers) } span.kpi-label { "customers asked" } }
                    div.kpi { span.kpi-value { (r.posts) } span.kpi-label { "posts" } }
                    div.kpi { span.kpi-value { (layout::compact(r.reach)) } span.kpi-label { "combined reach" } }
                    div.kpi { span.kpi-value { (trend(r)) } span.kpi-label { "last 7 days vs the 7 before" } }
                }
                h2 #asks-title { "Asks" @if d.posts.len() < r.posts as usize { span.muted { " (newest " (d.posts.len()) " of " (r.posts) ")" } } }
                @if d.posts.is_empty() { p.muted { "No posts in this request any more." } }
                ol.posts aria-labelledby="asks-title" {
                    @for p in &d.posts {
                        li.post.customer {
                            div.post-meta {
                                strong { (layout::said(p.author.display_name.as_deref().unwrap_or(&p.author.handle))) }
                                " " (layout::handle(&p.author.handle)) " · " (layout::network_badge(p.network)) " · " (layout::time(p.created_at))
                                " " (layout::badge("lang", p.analysis.language.language.code(), p.analysis.language.language.code()))
                                @if let Some(c) = p.conversation_id {
                                    " · " a href=(format!("/c/{}#post-{}", c.0, p.id)) { "open conversation" }
                                }
                            }
                            @if p.deleted_at.is_some() {
                                div.post-text.muted { "The customer deleted this post." }
                            } @else {
                                div.post-text { (layout::said(&layout::excerpt(&p.text, 600))) }
                            }
                        }
                    }
                }
            }
            aside.side aria-label="About this request" {
                @if can_act { (actions(signed, r, others, tracker_on)) }
                section.box aria-labelledby="facts-title" {
                    h2 #facts-title { "Request" }
                    dl.facts {
                        dt { "Status" } dd { (status_badge(r.status)) }
                        dt { "Languages" } dd {
                            @for (l, n) in &r.languages { (layout::badge("lang", l, &format!("{l} {n}"))) " " }
                        }
                        dt { "First asked" } dd { (layout::time(r.first_ask_at)) }
                        dt { "Latest ask" } dd { (layout::time(r.latest_ask_at)) }
                        dt { "Tracker" } dd {
                            @match r.tracker_url.as_deref().and_then(layout::safe_url) {
                                Some(u) => { a href=(u) rel="noopener noreferrer" target="_blank" { (u) } },
                                None => { span.muted { "not handed off" } },
                            }
                        }
                    }
                }
                (promises_box(&d.promises))
                section.box aria-labelledby="askers-title" {
                    h2 #askers-title { "Who asked (" (people.len()) ")" }
                    ul.history {
                        @for a in people.iter().take(100) {
                            li {
                                (layout::network_badge(a.ask.network)) " "
                                a href=(format!("/c/{}", a.ask.conversation_id.0)) { (layout::handle(&a.ask.author_handle)) }
                                " " (layout::badge("lang", &a.ask.language, &a.ask.language))
                                @if a.asks > 1 { " " span.muted { (a.asks) " asks" } }
                                @if a.ask.opted_out { " " span.badge.b-optout title="asked not to hear back" { "no updates" } }
                            }
                        }
                    }
                    @if people.len() > 100 { p.muted { "and " (people.len() - 100) " more" } }
                }
                section.box aria-labelledby="timeline-title" {
                    h2 #timeline-title { "Timeline" }
                    ol.timeline {
                        @for (at, what) in timeline(d, shipped_in) {
                            li { (layout::time(at)) " " (what) }
                        }
                    }
                    @for rel in shipped_in {
                        p { a href=(format!("/releases/{}", rel.id.0)) { "Release " (rel.version) } ": who was told" }
                    }
                }
            }
        }
    };
    layout::page(
        &format!("{} · request", r.title),
        Some(signed),
        Nav::Requests,
        body,
    )
}

fn promises_box(promises: &[Promise]) -> Markup {
    html! {
        section.box aria-labelledby="promises-title" {
            h2 #promises-title { "Promises (" (promises.len()) ")" }
            @if promises.is_empty() { p.muted { "Nobody has promised anything on this request yet." } }
            ul.history {
                @for p in promises {
                    li {
                        (promise_badge(p.state)) " "
                        a href=(format!("/c/{}", p.conversation_id.0)) { "“" (layout::excerpt(&p.evidence, 120)) "”" }
                        @if let Some(due) = p.due_on { " " span.muted { "due " (due.to_string()) } }
                        @if let Some(v) = &p.target_release { " " span.muted { "in " (v) } }
                    }
                }
            }
            p.small { a href="/promises" { "The promise ledger" } }
        }
    }
}

fn actions(signed: &SignedIn, r: &Request, others: &[Request], tracker_on: bool) -> Markup {
    let to = format!("/requests/{}/act", r.id.0);
    html! {
        section.box aria-labelledby="ract-title" {
            h2 #ract-title { "Actions" }
            form.stack method="post" action=(to) {
                (layout::csrf_field(signed))
                input type="hidden" name="action" value="rename";
                label for="r-title" { "Title" }
                input #r-title name="title" type="text" value=(r.title) required maxlength="200";
                button type="submit" { "Rename" }
            }
            form.stack method="post" action=(to) {
                (layout::csrf_field(signed))
                input type="hidden" name="action" value="status";
                label for="r-set-status" { "Status" }
                select #r-set-status name="status" {
                    @for s in SETTABLE {
                        option value=(s.as_str()) selected[r.status == s] { (s.as_str()) }
                    }
                }
                button type="submit" { "Set status" }
            }
            @if r.merged_into.is_none() && !others.is_empty() {
                form.stack method="post" action=(to) {
                    (layout::csrf_field(signed))
                    input type="hidden" name="action" value="merge";
                    label for="r-into" { "Merge into (the same ask, worded differently)" }
                    select #r-into name="into" required {
                        option value="" { "Choose a request…" }
                        @for o in others.iter().take(300) {
                            option value=(o.id.0) { (o.id) " · " (layout::excerpt(&o.title, 70)) " (" (o.askers) ")" }
                        }
                    }
                    button type="submit" { "Merge" }
                }
            }
            @if tracker_on {
                form.stack method="post" action=(to) {
                    (layout::csrf_field(signed))
                    input type="hidden" name="action" value="handoff";
                    button type="submit" disabled[r.tracker_url.is_some()] { "Hand off to engineering" }
                }
            }
            form.stack method="post" action=(to) {
                (layout::csrf_field(signed))
                input type="hidden" name="action" value="tracker";
                label for="r-url" { "Link an existing issue" }
                input #r-url name="url" type="url" value=(r.tracker_url.as_deref().unwrap_or("")) placeholder="https://…" required maxlength="500";
                button type="submit" { "Save link" }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    title: Option<String>,
    into: Option<String>,
    status: Option<String>,
    url: Option<String>,
    post: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    require_agent(&signed)?;
    let id = request_id(&id)?;
    let who = signed.user.username.as_str();
    let requests = state.desk.requests();
    let missing = |what: &str| PageError::BadRequest(format!("{what} is missing"));
    let post = || {
        f.post
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| PageError::BadRequest("the ask to move is missing".into()))
    };
    let (landing, done) = match f.action.as_str() {
        "move" => {
            // Into this request, from wherever the ask is.
            requests.move_post(post()?, id, who).await?;
            (id, "moved")
        }
        "move_out" => (requests.move_out(id, post()?, who).await?, "moved_out"),
        "rename" => {
            let title = RequestTitle::parse(f.title.as_deref().unwrap_or(""))?;
            requests.rename(id, &title).await?;
            (id, "renamed")
        }
        "merge" => {
            let into = request_id(
                f.into
                    .as_deref()
                    .ok_or_else(|| missing("the request to merge into"))?,
            )
            .map_err(|_| PageError::BadRequest("choose the request to merge into".into()))?;
            requests.merge(id, into, who).await?;
            (into, "merged")
        }
        "status" => {
            let raw = f.status.as_deref().unwrap_or("");
            let status = RequestStatus::parse(raw)
                .filter(|s| SETTABLE.contains(s))
                .ok_or_else(|| {
                    PageError::BadRequest(
                        "status is one of open, planned, shipped, declined (merge with the merge form)"
                            .into(),
                    )
                })?;
            requests.set_status(id, status).await?;
            (id, "status")
        }
        "tracker" => {
            let url = TrackerUrl::parse(f.url.as_deref().unwrap_or(""))?;
            requests.link_tracker(id, &url).await?;
            (id, "tracker")
        }
        "handoff" => {
            match requests.hand_off(&state.settings.tracker, id).await {
                Ok(_) => {}
                Err(TrackerError::Store(e)) => return Err(e.into()),
                Err(e @ (TrackerError::NotConfigured | TrackerError::Config(_))) => {
                    return Err(PageError::BadRequest(e.to_string()))
                }
                Err(e) => {
                    tracing::warn!(request = %id, error = %e, "hand-off failed");
                    return Err(PageError::Unavailable(e.to_string()));
                }
            }
            (id, "handed_off")
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "unknown action {other:?}: use rename, merge, move, move_out, status, tracker or handoff"
            )))
        }
    };
    Ok(Redirect::to(&format!("/requests/{}?done={done}", landing.0)).into_response())
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
    fn confirmations_are_fixed_words_only() {
        assert_eq!(
            confirmation(Some("merged")).map(|s| s.starts_with("Merged")),
            Some(true)
        );
        assert_eq!(confirmation(Some("<b>")), None);
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
