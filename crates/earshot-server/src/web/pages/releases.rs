//! Releases: what shipped, which requests it closed and who was told. Agents record a
//! release here, after a dry run that shows every customer who would be told (and who would
//! not, and why); a release's page lists each notification and where it stands.
//!
//! Recording is the desk's releases service and its paced background sending, exactly as
//! `POST /api/v1/releases` does it.

use super::Shown;
use crate::desk::releases::{Notification, ReleaseDraft, ReleaseOutcome};
use crate::desk::requests::rank;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::pages::requests::{request_id, status_badge};
use crate::web::{csrf, require_agent, PageError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use earshot_core::feedback::{
    NotificationPlan, NotificationState, Release, ReleaseId, ReleaseLink, ReleaseVersion, Request,
    RequestId, RequestStatus, Skip,
};
use maud::{html, Markup};
use std::collections::HashMap;

/// Releases listed (with their notification counts).
const SHOWN: usize = 50;
/// Requests offered in the form.
const CHOICES: usize = 150;

fn confirmation(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "recorded" => "Release recorded: its promises are kept and the askers are being told, a few a second.",
        "again" => "This version was recorded before: nothing new was recorded; anyone not yet told is being told now.",
        _ => return None,
    })
}

/// What the release form holds (kept when the page is shown again).
#[derive(Debug, Default, Clone, PartialEq)]
struct Draft {
    version: String,
    url: String,
    notes: String,
    requests: Vec<RequestId>,
}

/// The release form's fields; `requests` repeats, one per ticked request.
fn draft(fields: &[(String, String)]) -> Result<(Draft, String, String), String> {
    let mut d = Draft::default();
    let (mut token, mut mode) = (String::new(), String::new());
    for (k, v) in fields {
        match k.as_str() {
            "csrf" => token = v.clone(),
            "mode" => mode = v.clone(),
            "version" => d.version = v.trim().to_string(),
            "url" => d.url = v.trim().to_string(),
            "notes" => d.notes = v.chars().take(5_000).collect(),
            "requests" => {
                let id = request_id(v).map_err(|_| format!("{v:?} is not a request id"))?;
                if !d.requests.contains(&id) {
                    d.requests.push(id);
                }
            }
            _ => {}
        }
    }
    Ok((d, token, mode))
}

impl Draft {
    /// The form, checked by the same rules as the API's and the CLI's.
    fn check(&self) -> Result<ReleaseDraft, String> {
        let version = ReleaseVersion::parse(&self.version).map_err(|e| e.0)?;
        if self.requests.is_empty() {
            return Err("tick at least one request this release ships".into());
        }
        Ok(ReleaseDraft {
            version,
            shipped_at: None,
            notes: self.notes.clone(),
            link: ReleaseLink::parse_optional(Some(&self.url)).map_err(|e| e.0)?,
            requests: self.requests.clone(),
        })
    }
}

struct Listing {
    releases: Vec<Release>,
    /// Per listed release: (customers told, notifications in all).
    told: HashMap<ReleaseId, (usize, usize)>,
    /// Ranked, for titles and the form.
    requests: Vec<Request>,
}

async fn listing(state: &AppState) -> Result<Listing, PageError> {
    let store = state.desk.store();
    let now = Utc::now();
    let (mut releases, requests) = tokio::try_join!(store.releases(), store.requests(None, now))?;
    releases.sort_by_key(|r| std::cmp::Reverse(r.shipped_at));
    // One read per listed release (bounded, concurrent): the store has no count query.
    let counts = futures::future::try_join_all(
        releases
            .iter()
            .take(SHOWN)
            .map(|r| store.notifications(r.id)),
    )
    .await?;
    let told = releases
        .iter()
        .zip(counts)
        .map(|(r, n)| {
            let sent = n
                .iter()
                .filter(|n| n.state == NotificationState::Sent)
                .count();
            (r.id, (sent, n.len()))
        })
        .collect();
    Ok(Listing {
        releases,
        told,
        requests: rank(requests, now).into_iter().map(|r| r.request).collect(),
    })
}

pub async fn list(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let l = listing(&state).await?;
    Ok(render(
        &signed,
        &l,
        &Draft::default(),
        None,
        confirmation(shown.done.as_deref()),
        None,
    )
    .into_response())
}

fn titles(requests: &[Request]) -> HashMap<RequestId, &str> {
    requests.iter().map(|r| (r.id, r.title.as_str())).collect()
}

fn render(
    signed: &SignedIn,
    l: &Listing,
    draft: &Draft,
    preview: Option<&ReleaseOutcome>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let names = titles(&l.requests);
    let can_act = require_agent(signed).is_ok();
    let body = html! {
        div.loop-head {
            h1 { "Releases" }
            span.count { (l.releases.len()) " recorded" }
        }
        @if let Some(n) = notice { (layout::flash("ok", n)) }
        @if let Some(e) = error { (layout::flash("error", e)) }
        @if let Some(p) = preview { (preview_box(p, &names)) }
        @if can_act { (form(signed, l, draft)) }
        @if l.releases.is_empty() {
            (layout::empty("No releases yet.", html! {
                "Record a release when it ships: every customer who asked for what it contains is told, in the thread where they asked."
            }))
        } @else {
            div.table-wrap.tall {
                table.releases {
                    thead { tr { (layout::column_heads(&["Version", "Shipped", "Requests shipped", "Customers told", "Recorded by"])) } }
                    tbody {
                        @for r in l.releases.iter().take(SHOWN) {
                            tr {
                                td { a href=(format!("/releases/{}", r.id.0)) { (r.version) } }
                                td { (layout::time(r.shipped_at)) }
                                td {
                                    @for id in &r.request_ids {
                                        a href=(format!("/requests/{}", id.0)) { (layout::said(names.get(id).copied().unwrap_or("(merged request)"))) }
                                        br;
                                    }
                                }
                                td.num {
                                    @match l.told.get(&r.id) {
                                        Some((sent, all)) => { (sent) span.muted { " of " (all) } },
                                        None => { span.muted { "—" } },
                                    }
                                }
                                td { (r.created_by) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page("Releases", Some(signed), Nav::Releases, body)
}

fn form(signed: &SignedIn, l: &Listing, d: &Draft) -> Markup {
    // Requests still open or planned come first: those are what a release usually ships.
    let mut choices: Vec<&Request> = l
        .requests
        .iter()
        .filter(|r| matches!(r.status, RequestStatus::Open | RequestStatus::Planned))
        .chain(
            l.requests
                .iter()
                .filter(|r| !matches!(r.status, RequestStatus::Open | RequestStatus::Planned)),
        )
        .take(CHOICES)
        .collect();
    // A ticked request always stays offered.
    for id in &d.requests {
        if !choices.iter().any(|r| r.id == *id) {
            if let Some(r) = l.requests.iter().find(|r| r.id == *id) {
                choices.push(r);
            }
        }
    }
    html! {
        details.box.release-form open[!d.requests.is_empty() || !d.version.is_empty()] {
            summary { "Record a release" }
            form method="post" action="/releases" {
                (layout::csrf_field(signed))
                div.inline-form {
                    span { label for="rel-version" { "Version" } input #rel-version name="version" type="text" required maxlength="80" value=(d.version) placeholder="2024.36"; }
                    span { label for="rel-url" { "Release notes link" } input #rel-url name="url" type="url" maxlength="500" value=(d.url) placeholder="https://…"; }
                }
                label for="rel-notes" { "Notes" }
                textarea #rel-notes name="notes" rows="2" maxlength="5000" { (d.notes) }
                fieldset.choices {
                    legend { "Requests it ships" }
                    @if choices.is_empty() { p.muted { "No requests yet." } }
                    @for r in &choices {
                        @let id = format!("rel-req-{}", r.id.0);
                        div.check {
                            input id=(id) type="checkbox" name="requests" value=(r.id.0) checked[d.requests.contains(&r.id)];
                            label for=(id) { (layout::said(&r.title)) " " span.muted { (r.id) " · " (r.askers) " asked" } " " (status_badge(r.status)) }
                        }
                    }
                }
                div.buttons {
                    button type="submit" name="mode" value="preview" { "Preview who would be told" }
                    button.primary type="submit" name="mode" value="record" { "Record release and tell customers" }
                }
            }
        }
    }
}

fn skip_words(s: Skip) -> &'static str {
    match s {
        Skip::OptedOut => "asked not to hear back",
        Skip::AlreadyNotified => "already told",
        Skip::NoReplyChannel => "no way to answer on this network",
    }
}

fn preview_box(o: &ReleaseOutcome, names: &HashMap<RequestId, &str>) -> Markup {
    let told = o.notifications.iter().filter(|n| n.skip.is_none()).count();
    html! {
        section.box.preview aria-labelledby="preview-title" {
            h2 #preview-title { "Dry run: " (told) " customers would be told" }
            p.muted {
                "Nothing was recorded and nobody was told. "
                (o.notifications.len() - told) " skipped; " (o.promises_kept) " open promises would be kept."
            }
            (plans_table(&o.notifications, names))
        }
    }
}

fn plans_table(plans: &[NotificationPlan], names: &HashMap<RequestId, &str>) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead { tr { th scope="col" { "Customer" } th scope="col" { "Language" } th scope="col" { "Request" } th scope="col" { "What they would read" } } }
                tbody {
                    @for p in plans {
                        tr class=[p.skip.is_some().then_some("skipped")] {
                            td { (layout::network_badge(p.ask.network)) " "
                                a href=(format!("/c/{}", p.ask.conversation_id.0)) { (layout::handle(&p.ask.author_handle)) } }
                            td { (p.ask.language) }
                            td { (layout::said(names.get(&p.ask.request_id).copied().unwrap_or(""))) }
                            td {
                                @match p.skip {
                                    Some(s) => { span.muted { "not told: " (skip_words(s)) } },
                                    None => { (layout::said(&p.text)) },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Previews (`mode=preview`) or records a release from the form.
pub async fn submit(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let (d, token, mode) = match draft(&fields) {
        Ok(parsed) => parsed,
        Err(e) => {
            let token = fields
                .iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.as_str());
            csrf::check(&signed, &headers, token)?;
            require_agent(&signed)?;
            return Err(PageError::BadRequest(e));
        }
    };
    csrf::check(&signed, &headers, Some(&token))?;
    require_agent(&signed)?;
    let dry_run = match mode.as_str() {
        "preview" => true,
        "record" => false,
        other => {
            return Err(PageError::BadRequest(format!(
                "unknown mode {other:?}: preview or record"
            )))
        }
    };
    let release = match d.check() {
        Ok(release) => release,
        Err(e) => {
            let l = listing(&state).await?;
            let page = render(&signed, &l, &d, None, None, Some(&e));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let releases = state.desk.releases();
    let outcome = releases
        .record(release, &signed.user.username, dry_run)
        .await?;
    if dry_run {
        let l = listing(&state).await?;
        return Ok(render(&signed, &l, &d, Some(&outcome), None, None).into_response());
    }
    let Some(stored) = outcome.release.clone() else {
        return Err(PageError::Unavailable(
            "the release was not stored; try again".into(),
        ));
    };
    releases.notify_in_background(&outcome);
    let done = if outcome.newly_recorded {
        "recorded"
    } else {
        "again"
    };
    Ok(Redirect::to(&format!("/releases/{}?done={done}", stored.id.0)).into_response())
}

pub async fn detail(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ReleaseId)
        .ok_or_else(|| PageError::NotFound(format!("{id:?} is not a release")))?;
    let store = state.desk.store();
    let release = store
        .release(id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("release {id} not found")))?;
    let (notifications, asks, requests) = tokio::try_join!(
        store.notifications(id),
        store.asks(&release.request_ids),
        store.requests(None, Utc::now()),
    )?;
    let handles: HashMap<i64, &str> = asks
        .iter()
        .map(|a| (a.post_id, a.author_handle.as_str()))
        .collect();
    let names = titles(&requests);
    let count = |s: NotificationState| notifications.iter().filter(|n| n.state == s).count();
    let body = html! {
        div.conv-head {
            a.back href="/releases" { "← Releases" }
            h1 { "Release " (release.version) }
            span.muted { "shipped " (layout::time(release.shipped_at)) " · recorded by " (release.created_by) }
        }
        @if let Some(n) = confirmation(shown.done.as_deref()) { (layout::flash("ok", n)) }
        div.kpis {
            div.kpi { span.kpi-value { (count(NotificationState::Sent)) } span.kpi-label { "customers told" } }
            div.kpi { span.kpi-value { (count(NotificationState::Planned) + count(NotificationState::Queued)) } span.kpi-label { "still to tell" } }
            div.kpi { span.kpi-value { (count(NotificationState::Failed)) } span.kpi-label { "failed" } }
            div.kpi { span.kpi-value { (count(NotificationState::Skipped)) } span.kpi-label { "not told (opted out, no channel)" } }
        }
        section.box {
            h2 { "Ships" }
            ul {
                @for r in &release.request_ids {
                    li { a href=(format!("/requests/{}", r.0)) { (layout::said(names.get(r).copied().unwrap_or("(merged request)"))) } " " span.muted { (r) } }
                }
            }
            @if !release.notes.trim().is_empty() { p.post-text { (release.notes) } }
            @if let Some(u) = release.url.as_deref().and_then(layout::safe_url) {
                p { a href=(u) rel="noopener noreferrer" target="_blank" { "Release notes" } }
            }
        }
        h2 { "Who was told" }
        @if notifications.is_empty() {
            p.muted { "Nobody yet: nobody asked for these requests, or the notifications are still being planned." }
        } @else {
            div.table-wrap.tall { (notifications_table(&notifications, &handles, &names)) }
        }
    };
    Ok(layout::page(
        &format!("Release {}", release.version),
        Some(&signed),
        Nav::Releases,
        body,
    )
    .into_response())
}

fn notifications_table(
    notifications: &[Notification],
    handles: &HashMap<i64, &str>,
    names: &HashMap<RequestId, &str>,
) -> Markup {
    html! {
        table.notifications {
            thead { tr { (layout::column_heads(&["Network", "Customer", "Language", "Request", "Status", "Message"])) } }
            tbody {
                @for n in notifications {
                    tr {
                        td { (layout::network_badge(n.network)) }
                        td { a href=(format!("/c/{}", n.conversation_id.0)) {
                            @match handles.get(&n.post_id) { Some(h) => { "@" (h) }, None => { "conversation " (n.conversation_id.0) } }
                        } }
                        td { (n.language) }
                        td { (layout::said(names.get(&n.request_id).copied().unwrap_or(""))) }
                        td {
                            (layout::badge("notif", n.state.as_str(), n.state.as_str()))
                            @if let Some(why) = &n.skip_reason { br; span.muted.small { (why.replace('_', " ")) } }
                        }
                        td.small { (layout::said(&layout::excerpt(&n.text, 200))) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_reads_repeated_requests_once_each() {
        let (d, token, mode) = draft(&fields(&[
            ("csrf", "t"),
            ("version", " 2024.36 "),
            ("requests", "3"),
            ("requests", "R5"),
            ("requests", "3"),
            ("mode", "preview"),
        ]))
        .unwrap();
        assert_eq!(d.version, "2024.36");
        assert_eq!(d.requests, vec![RequestId(3), RequestId(5)]);
        assert_eq!((token.as_str(), mode.as_str()), ("t", "preview"));
        assert!(d.check().is_ok());
        assert!(draft(&fields(&[("requests", "x")])).is_err());
    }

    #[test]
    fn a_draft_needs_a_version_a_request_and_a_web_link() {
        let mut d = Draft {
            version: "1.0".into(),
            requests: vec![RequestId(1)],
            ..Draft::default()
        };
        assert!(d.check().is_ok());
        d.url = "javascript:alert(1)".into();
        assert!(d.check().is_err());
        d.url.clear();
        d.requests.clear();
        assert!(d.check().is_err());
    }
}
