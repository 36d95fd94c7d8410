//! One request's page: its asks, who asked, the promises made on it and its timeline, and the
//! agents' changes to it (rename, merge, move an ask, status, tracker link, hand-off).

use super::{promise_badge, request_id, status_badge, suggestions, trend, SETTABLE};
use crate::desk::requests::rank;
use crate::feedback::tracker::TrackerError;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::csrf::Posted;
use crate::web::layout::{self, Nav};
use crate::web::pages::Shown;
use crate::web::{require_agent, PageError};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use earshot_core::feedback::{
    Ask, Promise, Release, Request, RequestStatus, RequestTitle, TrackerUrl,
};
use earshot_store::feedback::RequestDetail;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Asks shown on a request's page (newest first).
const SAMPLE: u32 = 50;

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
                (super::super::draft::request_summary(d))
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
    action: String,
    title: Option<String>,
    into: Option<String>,
    status: Option<String>,
    url: Option<String>,
    post: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<ActForm>,
) -> Result<Response, PageError> {
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
mod tests {
    use super::*;

    #[test]
    fn confirmations_are_fixed_words_only() {
        assert_eq!(
            confirmation(Some("merged")).map(|s| s.starts_with("Merged")),
            Some(true)
        );
        assert_eq!(confirmation(Some("<b>")), None);
    }
}
