//! The promise ledger: everything we told a customer we would do, read from our own replies
//! ("we will add that in an upcoming release"), with its state, whom it was made to, when it
//! is due and the reply that made it. Agents confirm a proposed promise (with a due date or
//! a target release) or dismiss one that was not a promise; overdue ones stand out.
//!
//! State changes go through the core rules (`Promise::confirm`, `Promise::dismiss`), as in
//! `/api/v1/promises/{id}/actions`.

use crate::desk::promises::Confirmation;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::csrf::Posted;
use crate::web::layout::{self, Nav};
use crate::web::pages::requests::promise_badge;
use crate::web::{require_agent, PageError};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use earshot_core::feedback::{Promise, PromiseId, PromiseState, ReleaseVersion, RequestId};
use earshot_core::{ConversationId, Network};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// Rows on the ledger; filter by state for the rest.
const SHOWN: usize = 100;

const STATES: [PromiseState; 5] = [
    PromiseState::Proposed,
    PromiseState::Confirmed,
    PromiseState::Kept,
    PromiseState::Broken,
    PromiseState::Dismissed,
];

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    state: Option<String>,
    done: Option<String>,
}

fn confirmation(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "confirmed" => "Promise confirmed: it is on the clock now.",
        "dismissed" => "Dismissed: it was not a promise.",
        _ => return None,
    })
}

/// Counts per state and how many kept promises were kept by their due date.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    by_state: HashMap<PromiseState, usize>,
    overdue: usize,
    kept_judged: usize,
    kept_on_time: usize,
}

fn tally(promises: &[Promise], today: NaiveDate) -> Tally {
    let mut t = Tally::default();
    for p in promises {
        *t.by_state.entry(p.state).or_default() += 1;
        if p.is_overdue(today) {
            t.overdue += 1;
        }
        if let Some(on_time) = p.kept_on_time() {
            t.kept_judged += 1;
            t.kept_on_time += usize::from(on_time);
        }
    }
    t
}

/// Who a promise was made to: the customer's network and handle.
type Customers = HashMap<ConversationId, (Network, String)>;

/// The customers of `shown`: one read of the asks on their requests, then (concurrently) the
/// conversations of promises made outside a request.
async fn customers(state: &AppState, shown: &[&Promise]) -> Result<Customers, PageError> {
    let store = state.desk.store();
    let requests: Vec<RequestId> = shown
        .iter()
        .filter_map(|p| p.request_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out: Customers = HashMap::new();
    if !requests.is_empty() {
        for a in store.asks(&requests).await? {
            out.entry(a.conversation_id)
                .or_insert((a.network, a.author_handle));
        }
    }
    let missing: HashSet<ConversationId> = shown
        .iter()
        .map(|p| p.conversation_id)
        .filter(|c| !out.contains_key(c))
        .collect();
    let details =
        futures::future::try_join_all(missing.into_iter().map(|c| store.conversation(c))).await?;
    for d in details.into_iter().flatten() {
        let c = d.conversation;
        out.insert(c.id, (c.network, c.customer.handle));
    }
    Ok(out)
}

pub async fn ledger(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(q): Query<LedgerQuery>,
) -> Result<Response, PageError> {
    let filter = q
        .state
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "overdue");
    let only_overdue = q.state.as_deref() == Some("overdue");
    let filter = match filter {
        Some(s) => Some(PromiseState::parse(s).ok_or_else(|| {
            PageError::BadRequest(format!(
                "state {s:?} is not one of proposed, confirmed, kept, broken, dismissed, overdue"
            ))
        })?),
        None => None,
    };
    let today = Utc::now().date_naive();
    let all = state.desk.store().promises(None).await?;
    let t = tally(&all, today);
    let mut rows: Vec<&Promise> = all
        .iter()
        .filter(|p| filter.is_none_or(|s| p.state == s))
        .filter(|p| !only_overdue || p.is_overdue(today))
        .collect();
    // Overdue first, then the ones that still need a decision, newest first within each.
    rows.sort_by_key(|p| {
        (
            !p.is_overdue(today),
            p.state != PromiseState::Proposed,
            std::cmp::Reverse(p.made_at),
        )
    });
    let total = rows.len();
    rows.truncate(SHOWN);
    let people = customers(&state, &rows).await?;
    let can_act = require_agent(&signed).is_ok();
    let current = if only_overdue {
        "overdue"
    } else {
        filter.map(PromiseState::as_str).unwrap_or("")
    };
    let body = html! {
        div.loop-head {
            h1 { "Promises" }
            span.count { (all.len()) " promises made in replies" }
        }
        @if let Some(n) = confirmation(q.done.as_deref()) { (layout::flash("ok", n)) }
        div.kpis {
            @for s in STATES {
                a.kpi.kpi-link href=(format!("/promises?state={}", s.as_str())) aria-current=[(current == s.as_str()).then_some("page")] {
                    span.kpi-value { (t.by_state.get(&s).copied().unwrap_or(0)) }
                    span.kpi-label { (s.as_str()) }
                }
            }
            a.kpi.kpi-link.kpi-overdue href="/promises?state=overdue" aria-current=[only_overdue.then_some("page")] {
                span.kpi-value { (t.overdue) } span.kpi-label { "overdue" }
            }
            div.kpi {
                span.kpi-value {
                    @if t.kept_judged == 0 { "—" }
                    @else { (format!("{:.0}%", 100.0 * t.kept_on_time as f64 / t.kept_judged as f64)) }
                }
                span.kpi-label { "kept on time (" (t.kept_on_time) " of " (t.kept_judged) " with a due date)" }
            }
        }
        @if !current.is_empty() { p { a href="/promises" { "Show all promises" } } }
        @if rows.is_empty() {
            (layout::empty("No promises here.", html! {
                "When a reply commits to something (“we will add that in an upcoming release”), it is proposed here for an agent to confirm."
            }))
        } @else {
            div.table-wrap.tall {
                table.ledger {
                    thead { tr {
                        (layout::column_heads(&["Promise", "State", "Kind", "Customer", "What we said", "Due"]))
                        @if can_act { th scope="col" { "Decide" } }
                    } }
                    tbody {
                        @for p in &rows {
                            (row(&signed, p, people.get(&p.conversation_id), p.is_overdue(today), can_act))
                        }
                    }
                }
            }
            @if total > SHOWN { p.muted { "Showing " (SHOWN) " of " (total) "; pick a state above to narrow it." } }
        }
    };
    Ok(layout::page("Promises", Some(&signed), Nav::Promises, body).into_response())
}

fn row(
    signed: &SignedIn,
    p: &Promise,
    customer: Option<&(Network, String)>,
    overdue: bool,
    can_act: bool,
) -> Markup {
    html! {
        tr class=[overdue.then_some("overdue")] id=(format!("promise-{}", p.id.0)) {
            td {
                (p.id)
                @if let Some(r) = p.request_id {
                    br; a.small href=(format!("/requests/{}", r.0)) { "request " (r) }
                }
            }
            td {
                (promise_badge(p.state))
                @if overdue { " " span.badge.b-overdue { "overdue" } }
            }
            td { (p.kind.as_str().replace('_', " ")) }
            td {
                @match customer {
                    Some((n, handle)) => { (layout::network_badge(*n)) " " (layout::handle(handle)) },
                    None => { span.muted { "unknown" } },
                }
            }
            td {
                a href=(format!("/c/{}", p.conversation_id.0)) { "“" (layout::excerpt(&p.evidence, 160)) "”" }
                br; span.muted.small { (layout::time(p.made_at)) }
                @if let Some(by) = &p.confirmed_by { span.muted.small { " · confirmed by " (by) } }
            }
            td {
                @if let Some(d) = p.due_on { (d.to_string()) }
                @if let Some(v) = &p.target_release { @if p.due_on.is_some() { br; } "in " (v) }
                @if p.due_on.is_none() && p.target_release.is_none() { span.muted { "—" } }
                @if let Some(at) = p.kept_at { br; span.muted.small { "kept " (layout::time(at)) } }
            }
            @if can_act { td { (decide(signed, p)) } }
        }
    }
}

fn decide(signed: &SignedIn, p: &Promise) -> Markup {
    let to = format!("/promises/{}/act", p.id.0);
    let due = format!("due-{}", p.id.0);
    let release = format!("release-{}", p.id.0);
    html! {
        @if p.state == PromiseState::Proposed {
            form.inline-form.confirm method="post" action=(to) {
                (layout::csrf_field(signed))
                input type="hidden" name="action" value="confirm";
                span { label for=(due) { "Due" } input id=(due) name="due_on" type="date" value=[p.due_on.map(|d| d.to_string())]; }
                span { label for=(release) { "or release" } input id=(release) name="target_release" type="text" size="8" maxlength="40" value=[p.target_release.as_deref()]; }
                button type="submit" { "Confirm" }
            }
        }
        @if matches!(p.state, PromiseState::Proposed | PromiseState::Confirmed) {
            form method="post" action=(to) {
                (layout::csrf_field(signed))
                input type="hidden" name="action" value="dismiss";
                button.link type="submit" { "Dismiss: not a promise" }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ActForm {
    action: String,
    due_on: Option<String>,
    target_release: Option<String>,
}

pub async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<ActForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = PromiseId::parse(&id)
        .map_err(|_| PageError::NotFound(format!("{id:?} is not a promise")))?;
    let who = signed.user.username.as_str();
    let promises = state.desk.promises();
    let done = match f.action.as_str() {
        "confirm" => {
            let due_on = match f.due_on.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    PageError::BadRequest(format!("{d:?} is not a date (YYYY-MM-DD)"))
                })?),
                None => None,
            };
            let target_release = f
                .target_release
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(ReleaseVersion::parse)
                .transpose()?;
            let c = Confirmation {
                due_on,
                target_release,
                request: None,
            };
            promises.confirm(id, who, c).await?;
            "confirmed"
        }
        "dismiss" => {
            promises.dismiss(id, who).await?;
            "dismissed"
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "unknown action {other:?}: use confirm or dismiss"
            )))
        }
    };
    Ok(Redirect::to(&format!("/promises?done={done}#promise-{}", id.0)).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use earshot_core::feedback::PromiseKind;

    fn promise(id: i64, state: PromiseState, due: Option<&str>, kept: Option<&str>) -> Promise {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        Promise {
            id: PromiseId(id),
            request_id: None,
            conversation_id: ConversationId(1),
            reply_id: None,
            evidence: "we will add that".into(),
            kind: PromiseKind::Feature,
            state,
            made_at: at("2024-05-01T10:00:00Z"),
            due_on: due.map(day),
            target_release: None,
            confirmed_by: None,
            confirmed_at: None,
            release_id: None,
            kept_at: kept.map(at),
        }
    }

    #[test]
    fn the_tally_counts_states_overdue_and_kept_on_time() {
        let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let t = tally(
            &[
                promise(
                    1,
                    PromiseState::Kept,
                    Some("2024-05-10"),
                    Some("2024-05-09T00:00:00Z"),
                ),
                promise(
                    2,
                    PromiseState::Kept,
                    Some("2024-05-10"),
                    Some("2024-05-20T00:00:00Z"),
                ),
                promise(3, PromiseState::Confirmed, Some("2024-05-20"), None),
                promise(4, PromiseState::Proposed, None, None),
            ],
            today,
        );
        assert_eq!(t.by_state[&PromiseState::Kept], 2);
        assert_eq!(t.overdue, 1);
        assert_eq!((t.kept_on_time, t.kept_judged), (1, 2));
    }

    #[test]
    fn confirmations_are_fixed_words_only() {
        assert!(confirmation(Some("confirmed")).is_some());
        assert_eq!(confirmation(Some("<script>")), None);
    }
}
