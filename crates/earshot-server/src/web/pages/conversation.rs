//! One conversation: the whole thread in order, the customer and their earlier
//! conversations, the reply box (templates, the network's length counter), assign, status,
//! labels, notes for colleagues, and a warning when someone else is replying too.

use super::Shown;
use crate::desk::DeskError;
use crate::state::AppState;
use crate::triage::PolicyView;
use crate::web::auth::SignedIn;
use crate::web::csrf::{NoFields, Posted};
use crate::web::layout::{self, Nav};
use crate::web::{require_agent, PageError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use earshot_core::triage::timeline::Progress;
use earshot_core::{ConversationEvent, ConversationId, Network, Post, ReplyState, Status};
use earshot_store::people::{CustomerConversation, Note};
use earshot_store::ConversationDetail;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// What the page's forms post: replies, retries, actions, labels, notes, typing notices.
mod forms;
pub use forms::*;

/// Posts longer than this show their start, with the rest one click away.
const LONG_POST: usize = 2_000;

/// Answers an agent starts from; `{name}` becomes the customer's first name in the page.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("Looking into it", "Hi {name}, thanks for letting us know. We're looking into it and will get back to you here shortly."),
    ("Ask for details by DM", "Hi {name}, sorry about this! Could you send us a DM with your order or VIN number so we can take a closer look?"),
    ("Passed to the product team", "Thanks {name}, great suggestion! We've passed it on to the product team."),
    ("Fixed in an update", "Hi {name}, good news: this is fixed in the latest software update. Let us know if it still happens after updating."),
    ("Glad to hear it", "Thank you {name}, that's great to hear! Enjoy the drive."),
];

pub(super) fn conversation_id(raw: &str) -> Result<ConversationId, PageError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ConversationId)
        .ok_or_else(|| PageError::NotFound(format!("{raw:?} is not a conversation")))
}

fn confirmation(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "replied" => "Reply sent.",
        "retried" => "Reply sent on the second try.",
        "assigned" => "Assigned to you.",
        "unassigned" => "Unassigned.",
        "pending" => "Marked pending: waiting on the customer.",
        "resolved" => "Resolved.",
        "reopened" => "Reopened: an answer is owed again.",
        "labelled" => "Labels saved.",
        "noted" => "Note added.",
        "corrected" => "Correction saved: earshot learns from it at the next retrain.",
        _ => return None,
    })
}

struct Loaded {
    detail: ConversationDetail,
    /// Which response-time policy applies and how its targets stand (with `[triage]`).
    policy: Option<PolicyView>,
    notes: Vec<Note>,
    labels: Vec<String>,
    history: Vec<CustomerConversation>,
}

async fn load(state: &AppState, id: ConversationId) -> Result<Loaded, PageError> {
    let store = state.desk.store();
    let detail = store
        .conversation(id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("conversation {id} not found")))?;
    let c = &detail.conversation;
    let (notes, labels, history) = tokio::try_join!(
        store.notes(id),
        store.labels(id),
        store.customer_conversations(c.network, &c.customer.external_id, 11),
    )?;
    let policy = match state.desk.triage() {
        Some(t) => Some(t.assess(store.as_ref(), &detail, Utc::now()).await?),
        None => None,
    };
    Ok(Loaded {
        detail,
        policy,
        notes,
        labels,
        history,
    })
}

pub async fn page(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<WebState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Result<Response, PageError> {
    let id = conversation_id(&id)?;
    let loaded = load(&state, id).await?;
    let others = web.presence.others(id, &signed.user.username);
    let brand = brand_handle(&state);
    Ok(render(
        &signed,
        &loaded,
        &others,
        &brand,
        confirmation(shown.done.as_deref()),
        None,
        "",
        Utc::now(),
    )
    .into_response())
}

fn brand_handle(state: &AppState) -> String {
    state.brand_handle().unwrap_or_else(|| "brand".into())
}

#[allow(clippy::too_many_arguments)]
fn render(
    signed: &SignedIn,
    l: &Loaded,
    others: &[String],
    brand: &str,
    notice: Option<&str>,
    error: Option<&str>,
    draft: &str,
    now: DateTime<Utc>,
) -> Markup {
    let c = &l.detail.conversation;
    let name = c
        .customer
        .display_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| c.customer.handle.clone());
    let first_name = name
        .split_whitespace()
        .next()
        .unwrap_or("there")
        .to_string();
    let can_act = require_agent(signed).is_ok();
    let body = html! {
        div.conv-head {
            a.back href="/inbox" { "← Inbox" }
            h1 { (layout::said(&name)) span.handle { " " (layout::handle(&c.customer.handle)) } }
            (status_pill(c.status))
            (band(c))
            (layout::clock(c, now))
            @if let Some(a) = &c.assignee { span.assignee { "assigned to " strong { (a) } } }
        }
        @if let Some(n) = notice { (layout::flash("ok", n)) }
        @if let Some(e) = error { (layout::flash("error", e)) }
        div #presence.flash.flash-warning role="status" aria-live="polite" hidden[others.is_empty()] {
            @if !others.is_empty() { (others.join(", ")) " is replying to this conversation right now." }
        }
        div.conv-layout data-conversation=(c.id.0) {
            section.thread aria-label="Thread" {
                (rank_line(c))
                (super::draft::thread_summary(&l.detail))
                ol.posts {
                    @for p in &l.detail.posts { (post_item(p, can_act.then_some((signed, c.id)))) }
                    @for r in l.detail.replies.iter().filter(|r| r.state != ReplyState::Sent) {
                        (unsent_reply(signed, c.id, brand, r, can_act))
                    }
                }
                @if can_act { (reply_box(signed, c.id, c.network, brand, &first_name, draft)) }
                @else { p.muted { "You can read this conversation; answering needs the agent role." } }
            }
            aside.side aria-label="About this conversation" {
                @if can_act { (actions(signed, c.id, c.status, c.assignee.as_deref())) }
                @if let Some(view) = &l.policy { (policy_box(view, now)) }
                (labels_box(signed, c.id, &l.labels, can_act))
                (notes_box(signed, c.id, &l.notes, can_act))
                (profile(l))
                (history_box(c.id, &l.history))
                details.audit {
                    summary { "History (" (l.detail.audit.len()) ")" }
                    ol {
                        @for a in &l.detail.audit {
                            li { (layout::time(a.at)) " " strong { (a.actor) } " " (a.action.replace('_', " ")) }
                        }
                    }
                }
            }
        }
        (layout::key_hints(&[("r", "reply"), ("d", "draft from past answers"), ("ctrl+enter", "send"), ("a", "assign to me"), ("e", "resolve"), ("j/k", "pick a post"), ("i/s/l", "correct its intent / sentiment / language"), ("u", "back to inbox")]))
    };
    layout::page(
        &format!("{name} · conversation {}", c.id),
        Some(signed),
        Nav::Inbox,
        body,
    )
}

/// Why the conversation ranks where it does (drawn again after a correction re-ranks it).
pub(super) fn rank_line(c: &earshot_core::Conversation) -> Markup {
    html! {
        p #rank.why { "Ranked " strong { (c.priority.band.as_str()) } " (" (format!("{:.0}", c.priority.score)) "): " (c.priority.explain()) }
    }
}

/// The conversation's band, as the head shows it.
pub(super) fn band(c: &earshot_core::Conversation) -> Markup {
    html! { span #band { (layout::band_badge(c.priority.band)) } }
}

fn status_pill(s: Status) -> Markup {
    layout::badge("status", s.as_str(), s.as_str())
}

/// Post text for a page. Mastodon status HTML that reached the store unconverted (a webhook
/// relaying raw statuses) is turned into text first; everything is escaped by maud after.
fn post_text(p: &Post) -> String {
    let t = p.text.trim_start();
    if p.network == Network::Mastodon && t.starts_with("<p>") {
        earshot_connect::html::to_text(t)
    } else {
        p.text.clone()
    }
}

/// One post of the thread; a customer's with its labels and, for an agent (`correcting`), the
/// chooser that corrects them (see [`super::correct`]).
pub(super) fn post_item(p: &Post, correcting: Option<(&SignedIn, ConversationId)>) -> Markup {
    let text = post_text(p);
    let len = text.chars().count();
    let who = p
        .author
        .display_name
        .clone()
        .unwrap_or_else(|| p.author.handle.clone());
    html! {
        li class=(if p.from_brand { "post brand" } else { "post customer" }) id=(format!("post-{}", p.id)) data-post=[(!p.from_brand).then_some(p.id)] tabindex=[(!p.from_brand).then_some("-1")] {
            div.post-meta {
                strong { (layout::said(&who)) } " " (layout::handle(&p.author.handle)) " · " (layout::time(p.created_at))
                @if let Some(u) = p.url.as_deref().and_then(layout::safe_url) {
                    " · " a href=(u) rel="noopener noreferrer nofollow" target="_blank" { "view on " (layout::network_name(p.network)) }
                }
                @if p.edited_at.is_some() { " · " span.muted { "edited" } }
                @if !p.from_brand { " " (super::correct::labels(p)) }
            }
            @if p.deleted_at.is_some() {
                div.post-text.muted { "The customer deleted this post." }
            } @else if len > LONG_POST {
                div.post-text { (layout::said(&layout::excerpt(&text, LONG_POST))) }
                details.more {
                    summary { "Show all " (len) " characters" }
                    div.post-text { (layout::said(&text)) }
                }
            } @else {
                div.post-text { (layout::said(&text)) }
            }
            @if let (Some((signed, conversation)), false, None) = (correcting, p.from_brand, p.deleted_at) {
                (super::correct::chooser(signed, conversation, p))
            }
        }
    }
}

/// A reply nobody has posted yet, said plainly: not sent (and why), failed (and when earshot
/// tries again, or that it stopped), or still queued; with its text to copy and a retry.
fn unsent_reply(
    signed: &SignedIn,
    id: ConversationId,
    brand: &str,
    r: &earshot_core::Reply,
    can_act: bool,
) -> Markup {
    let (label, explain) = match r.state {
        ReplyState::NotSent => ("not sent", "Nothing was posted."),
        ReplyState::Failed if r.next_attempt_at.is_some() => (
            "failed",
            "The network did not take it; earshot tries again by itself.",
        ),
        ReplyState::Failed => (
            "failed",
            "The network did not take it and earshot stopped trying.",
        ),
        _ => ("sending", "Waiting to be sent."),
    };
    let text_id = format!("reply-text-{}", r.id);
    html! {
        li.post.brand.unsent id=(format!("reply-{}", r.id)) {
            div.post-meta {
                strong { "@" (brand) } " · reply by " (r.author) " · " (layout::time(r.created_at)) " · "
                span class=(format!("badge b-reply-{}", r.state.as_str())) { (label) }
            }
            p.unsent-why {
                strong { (explain) }
                @if let Some(e) = &r.error { " " (e) }
                @if let Some(at) = r.next_attempt_at { " Next try " (layout::time(at)) "." }
                @if r.attempts > 0 { " (" (r.attempts) " attempt" @if r.attempts != 1 { "s" } " so far.)" }
            }
            div.post-text id=(text_id) { (layout::said(&r.text)) }
            @if can_act && r.state != ReplyState::Queued {
                div.buttons {
                    form method="post" action=(format!("/c/{}/replies/{}/retry", id.0, r.id)) {
                        (layout::csrf_field(signed))
                        button type="submit" { "Retry" }
                    }
                    button type="button" data-copy=(text_id) { "Copy text" }
                }
            }
        }
    }
}

fn reply_box(
    signed: &SignedIn,
    id: ConversationId,
    network: Network,
    brand: &str,
    first_name: &str,
    draft: &str,
) -> Markup {
    let limit = network.reply_limit();
    html! {
        form #reply-form.reply method="post" action=(format!("/c/{}/reply", id.0)) data-limit=(limit) data-name=(earshot_core::bidi::balanced(first_name)) {
            (layout::csrf_field(signed))
            // A fresh key per page: pressing send twice sends once.
            input type="hidden" name="key" value=(uuid::Uuid::new_v4().to_string());
            div.reply-head {
                label for="reply" { "Reply on " (layout::network_name(network)) " as @" (brand) }
                label.visually-hidden for="template" { "Start from a template" }
                select #template {
                    option value="" { "Templates…" }
                    @for (title, text) in TEMPLATES {
                        option value=(text) { (title) }
                    }
                }
            }
            textarea #reply name="text" rows="4" required aria-describedby="reply-count" { (draft) }
            div.reply-foot {
                span #reply-count.counter aria-live="polite" { (draft.chars().count()) " / " (limit) }
                button.primary type="submit" title="ctrl+enter" { "Send reply" }
            }
        }
    }
}

fn action_button(
    signed: &SignedIn,
    id: ConversationId,
    action: &str,
    label: &str,
    key: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(format!("/c/{}/act", id.0)) {
            (layout::csrf_field(signed))
            input type="hidden" name="action" value=(action);
            button type="submit" data-action=(action) aria-keyshortcuts=[key] { (label) }
        }
    }
}

fn actions(
    signed: &SignedIn,
    id: ConversationId,
    status: Status,
    assignee: Option<&str>,
) -> Markup {
    let me = signed.user.username.as_str();
    html! {
        section.box aria-labelledby="act-title" {
            h2 #act-title { "Actions" }
            div.buttons {
                @if assignee != Some(me) { (action_button(signed, id, "assign_me", "Assign to me", Some("a"))) }
                @if assignee.is_some() { (action_button(signed, id, "unassign", "Unassign", None)) }
                @if status == Status::Open { (action_button(signed, id, "pend", "Mark pending", None)) }
                @if status != Status::Resolved { (action_button(signed, id, "resolve", "Resolve", Some("e"))) }
                @else { (action_button(signed, id, "reopen", "Reopen", None)) }
            }
        }
    }
}

/// The policy that applies, why, and each target: met, running (due when), paused, breached.
fn policy_box(view: &PolicyView, now: DateTime<Utc>) -> Markup {
    let a = &view.assessment;
    let targets = std::iter::once(&a.first_response)
        .chain(&a.resolution)
        .chain(a.next_responses.last());
    html! {
        section.box aria-labelledby="policy-title" {
            h2 #policy-title { "Response targets" }
            p { strong { (a.policy) } @if let Some(team) = &view.team { " · team " strong { (team) } } }
            p.muted.small { (a.why) }
            @if let Some(j) = &view.jump { p.small { "Jumped the queue: " (j) } }
            dl.facts {
                @for t in targets {
                    dt { (t.kind.as_str().replace('_', " ")) " (" (layout::duration(t.target_secs)) ")" }
                    dd {
                        @match &t.progress {
                            Progress::Met { at } => { "met " (layout::time(*at)) }
                            Progress::Running { due } => {
                                @if *due > now { "due in " (layout::duration((*due - now).num_seconds())) }
                                @else { "due " (layout::time(*due)) }
                            }
                            Progress::Paused { remaining_secs } => { "paused, " (layout::duration(*remaining_secs)) " left" }
                            Progress::Cancelled { .. } => { "not needed" }
                            Progress::NotStarted => { "not started" }
                        }
                        @if let Some(b) = t.breached_at { " · " strong.breach { "breached " (layout::time(b)) } }
                    }
                }
            }
            @if let Some(e) = &view.escalation {
                @if e.closed_at.is_none() {
                    p.small {
                        "On-call: " (e.trigger) "; paged "
                        @for (i, page) in e.pages.iter().enumerate() {
                            @if i > 0 { ", " }
                            "level " (page.level) " " (layout::time(page.at))
                        }
                        @if let Some((who, _)) = &e.acknowledged { "; acknowledged by " (who) }
                    }
                }
            }
        }
    }
}

fn labels_box(signed: &SignedIn, id: ConversationId, labels: &[String], can_act: bool) -> Markup {
    html! {
        section.box aria-labelledby="labels-title" {
            h2 #labels-title { "Labels" }
            @if labels.is_empty() { p.muted { "No labels yet." } }
            @else { p { @for l in labels { span.badge.b-label { (l) } " " } } }
            @if can_act {
                form method="post" action=(format!("/c/{}/labels", id.0)) {
                    (layout::csrf_field(signed))
                    label for="labels" { "Labels, separated by commas" }
                    input #labels name="labels" type="text" value=(labels.join(", ")) maxlength="400";
                    button type="submit" { "Save labels" }
                }
            }
        }
    }
}

fn notes_box(signed: &SignedIn, id: ConversationId, notes: &[Note], can_act: bool) -> Markup {
    html! {
        section.box aria-labelledby="notes-title" {
            h2 #notes-title { "Notes for colleagues" }
            @if notes.is_empty() { p.muted { "Notes stay inside the team; the customer never sees them." } }
            ol.notes {
                @for n in notes {
                    li { div.post-meta { strong { (n.author) } " · " (layout::time(n.created_at)) } div.post-text { (layout::said(&n.text)) } }
                }
            }
            @if can_act {
                form method="post" action=(format!("/c/{}/notes", id.0)) {
                    (layout::csrf_field(signed))
                    label for="note" { "Add a note" }
                    textarea #note name="text" rows="2" required maxlength="5000" {}
                    button type="submit" { "Add note" }
                }
            }
        }
    }
}

fn profile(l: &Loaded) -> Markup {
    let c = &l.detail.conversation;
    let a = &c.customer;
    html! {
        section.box aria-labelledby="profile-title" {
            h2 #profile-title { "Customer" }
            dl.facts {
                dt { "Name" } dd { (layout::said(a.display_name.as_deref().unwrap_or("—"))) }
                dt { "Handle" } dd { (layout::handle(&a.handle)) " on " (layout::network_name(c.network)) }
                dt { "Reach" } dd { (layout::reach_badge(a.followers.or(c.signals.followers), c.signals.reach_tier)) }
                @if a.verified { dt { "Verified" } dd { "yes" } }
                @if a.bot { dt { "Automated" } dd { "this account says it is a bot" } }
                dt { "Language" } dd { (c.language) }
                dt { "First heard" } dd { (layout::time(c.opened_at)) }
                @if let Some(secs) = c.first_response_secs { dt { "First answer" } dd { "after " (layout::duration(secs)) } }
            }
        }
    }
}

fn history_box(current: ConversationId, history: &[CustomerConversation]) -> Markup {
    let earlier: Vec<_> = history
        .iter()
        .filter(|h| h.id != current)
        .take(10)
        .collect();
    html! {
        section.box aria-labelledby="history-title" {
            h2 #history-title { "Earlier conversations" }
            @if earlier.is_empty() { p.muted { "None: this is the first time we hear from them here." } }
            ul.history {
                @for h in earlier {
                    li {
                        a href=(format!("/c/{}", h.id.0)) { (layout::time(h.opened_at)) }
                        " " (layout::badge("intent", h.intent.as_str(), &h.intent.as_str().replace('_', " ")))
                        " " (layout::badge("status", h.status.as_str(), h.status.as_str()))
                        " " span.muted { (h.post_count) " posts" }
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

    #[test]
    fn confirmations_are_fixed_words_only() {
        assert_eq!(confirmation(Some("replied")), Some("Reply sent."));
        assert_eq!(confirmation(Some("<script>")), None);
        assert_eq!(confirmation(None), None);
    }

    #[test]
    fn ids_must_be_positive_numbers() {
        assert!(conversation_id("42").is_ok());
        assert!(conversation_id("0").is_err());
        assert!(conversation_id("x").is_err());
    }
}
