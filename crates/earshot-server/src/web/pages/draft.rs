//! The conversation page's first draft (`d`): the same draft and sources as
//! `GET /api/v1/conversations/{id}/draft`, for a signed-in agent. The page fills the reply box
//! with it and says where it came from; sending stays the agent's act. Also the extractive
//! summaries shown at the top of a long thread and of a request.

use crate::desk::drafts::ConversationDraft;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout;
use crate::web::{require_agent, PageError};
use axum::extract::{Path, State};
use axum::Json;
use earshot_analyze::summary::{self, Commitment, SummaryPost};
use earshot_store::feedback::RequestDetail;
use earshot_store::ConversationDetail;
use maud::{html, Markup};

pub async fn draft(
    State(state): State<AppState>,
    signed: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ConversationDraft>, PageError> {
    require_agent(&signed)?;
    let id = super::conversation::conversation_id(&id)?;
    Ok(Json(state.desk.draft(id).await?))
}

/// Customer sentences shown at the top of a long thread.
const SUMMARY_POINTS: usize = 3;

fn promised_line(c: &Commitment) -> Markup {
    html! {
        li {
            (c.kind.replace('_', " ")) ": “" (layout::said(&c.evidence)) "” · " (layout::time(c.at))
            @if let Some(state) = &c.state { " · " (state) }
            @if let Some(due) = c.due_on { " · due " (due.format("%Y-%m-%d").to_string()) }
        }
    }
}

/// The summary at the top of a thread of [`summary::LONG_THREAD`] posts or more: the customer's
/// central ask, their main points and what the brand's replies committed to. Nothing for a
/// short thread.
pub fn thread_summary(detail: &ConversationDetail) -> Markup {
    let live: Vec<SummaryPost<'_>> = detail
        .posts
        .iter()
        .filter(|p| p.deleted_at.is_none())
        .map(SummaryPost::of)
        .collect();
    if live.len() < summary::LONG_THREAD {
        return html! {};
    }
    let s = summary::thread(&live, SUMMARY_POINTS);
    html! {
        section.summary #thread-summary aria-label="Summary" {
            h2 { "Summary" }
            p.muted { (s.customer_posts) " customer posts of " (s.posts)
                @if let Some(since) = s.since { " since " (layout::time(since)) }
                @if s.waiting { " · the customer is waiting for an answer" } }
            @if let Some(ask) = &s.ask { p { strong { "Asked: " } "“" (layout::said(&ask.text)) "”" } }
            @if !s.points.is_empty() {
                ul { @for p in &s.points { li { "“" (layout::said(&p.text)) "” · " (layout::time(p.at)) } } }
            }
            @if s.promised.is_empty() { p.muted { "Nothing promised in this thread." } }
            @else { p { strong { "Promised:" } } ul { @for c in &s.promised { (promised_line(c)) } } }
        }
    }
}

/// The summary at the top of a request: what is asked (the most central of its latest asks),
/// since when, by how many, and what was promised on it.
pub fn request_summary(d: &RequestDetail) -> Markup {
    let posts: Vec<SummaryPost<'_>> = d
        .posts
        .iter()
        .filter(|p| p.deleted_at.is_none())
        .map(SummaryPost::of)
        .collect();
    let s = summary::request(&posts, &d.promises);
    let r = &d.request;
    html! {
        section.summary #request-summary aria-label="Summary" {
            p {
                "Asked by " strong { (r.askers) } " customers in " (r.posts) " posts since " (layout::time(r.first_ask_at))
                @if let Some(ask) = &s.ask { ": “" (layout::said(&ask.text)) "”" }
            }
            @if s.promised.is_empty() { p.muted { "Nothing promised yet." } }
            @else { p { strong { "Promised:" } } ul { @for c in &s.promised { (promised_line(c)) } } }
        }
    }
}
