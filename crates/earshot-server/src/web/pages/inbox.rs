//! The inbox: open conversations, most pressing first, live. Each row says who wrote, where,
//! how far they reach, what they want and how they feel, how long is left to answer, and
//! why the row ranks where it does. Filters, built-in and saved views on the left.

use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::csrf::{NoFields, Posted};
use crate::web::layout::{self, Nav};
use crate::web::{local_path, url_encode, PageError};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::{Network, Status};
use earshot_store::people::SavedView;
use earshot_store::{InboxFilter, InboxRow, Page};
use maud::{html, Markup};
use serde::Deserialize;

pub const PAGE_SIZE: u32 = 50;

/// The inbox's query string. Unknown values are ignored with a notice rather than refused:
/// a person typed or bookmarked it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InboxQuery {
    pub status: Option<String>,
    pub network: Option<String>,
    pub language: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    /// `me`, `none` (unassigned) or a user name.
    pub assignee: Option<String>,
    pub breached: Option<String>,
    pub offset: Option<u64>,
    /// `rows`: only the list, for the live refresh.
    pub fragment: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl InboxQuery {
    /// The store's filter for this query, and what in it was not understood.
    pub fn filter(&self, me: &str) -> (InboxFilter, Vec<String>) {
        let mut problems = vec![];
        let status = match nonempty(&self.status) {
            None => vec![Status::Open],
            Some("all") => vec![Status::Open, Status::Pending, Status::Resolved],
            Some(list) => {
                let parsed: Vec<Status> = list.split(',').filter_map(|s| s.parse().ok()).collect();
                if parsed.is_empty() {
                    problems.push(format!("status {list:?}"));
                    vec![Status::Open]
                } else {
                    parsed
                }
            }
        };
        let network = nonempty(&self.network).and_then(|v| {
            v.parse::<Network>()
                .map_err(|_| problems.push(format!("network {v:?}")))
                .ok()
        });
        let intent = nonempty(&self.intent).and_then(|v| {
            v.parse::<Intent>()
                .map_err(|_| problems.push(format!("intent {v:?}")))
                .ok()
        });
        let sentiment = nonempty(&self.sentiment).and_then(|v| {
            v.parse::<SentimentLabel>()
                .map_err(|_| problems.push(format!("sentiment {v:?}")))
                .ok()
        });
        let assignee = nonempty(&self.assignee).map(|a| match a {
            "me" => me.to_string(),
            "none" => String::new(),
            other => other.to_lowercase(),
        });
        let breached = match nonempty(&self.breached) {
            Some("true" | "on" | "1" | "yes") => Some(true),
            _ => None,
        };
        (
            InboxFilter {
                status,
                network,
                language: nonempty(&self.language).map(|l| l.to_ascii_lowercase()),
                intent,
                sentiment,
                breached,
                assignee,
                limit: PAGE_SIZE,
                offset: self.offset.unwrap_or(0).min(earshot_store::MAX_OFFSET),
            },
            problems,
        )
    }

    /// The query string without paging or fragment: what a saved view keeps.
    pub fn canonical(&self) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("status", &self.status),
            ("network", &self.network),
            ("language", &self.language),
            ("intent", &self.intent),
            ("sentiment", &self.sentiment),
            ("assignee", &self.assignee),
            ("breached", &self.breached),
        ] {
            if let Some(v) = nonempty(v) {
                parts.push(format!("{k}={}", url_encode(v)));
            }
        }
        parts.join("&")
    }
}

/// The views every inbox has, by their query strings.
const BUILT_IN: &[(&str, &str)] = &[
    ("Open", ""),
    ("Mine", "assignee=me"),
    ("Unassigned", "assignee=none"),
    ("Breached", "breached=true"),
    ("Complaints", "intent=complaint"),
    ("Questions", "intent=question"),
    ("Feature requests", "intent=feature_request"),
    ("Pending", "status=pending"),
];

/// Languages offered in the filter (any code typed in the URL works too).
const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("da", "Danish"),
    ("de", "German"),
    ("it", "Italian"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("nl", "Dutch"),
    ("sv", "Swedish"),
    ("nb", "Norwegian"),
    ("pt", "Portuguese"),
];

pub async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let (filter, problems) = q.filter(&signed.user.username);
    let now = Utc::now();
    let store = state.desk.store();
    let inbox = store.inbox(&filter, now).await?;
    if q.fragment.as_deref() == Some("rows") {
        return Ok(rows(&inbox, &q, now).into_response());
    }
    let views = store.saved_views(signed.user.id).await?;
    let spikes = state.desk.feedback().spikes(state.desk.alerts()).await?;
    let banner = super::spikes::banner(&spikes, now);
    Ok(render(&signed, &q, &filter, &inbox, &views, &problems, banner, now).into_response())
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    signed: &SignedIn,
    q: &InboxQuery,
    filter: &InboxFilter,
    inbox: &Page<InboxRow>,
    views: &[SavedView],
    problems: &[String],
    spike_banner: Option<Markup>,
    now: DateTime<Utc>,
) -> Markup {
    let current = q.canonical();
    let title = BUILT_IN
        .iter()
        .find(|(_, query)| *query == current)
        .map(|(name, _)| name.to_string())
        .or_else(|| {
            views
                .iter()
                .find(|v| v.query == current)
                .map(|v| v.name.clone())
        })
        .unwrap_or_else(|| "Filtered".into());
    let body = html! {
        div.inbox-layout {
            aside.sidebar aria-label="Views and filters" {
                h2.side-title { "Views" }
                ul.views {
                    @for (name, query) in BUILT_IN {
                        li { a href=(format!("/inbox?{query}")) aria-current=[(*query == current).then_some("page")] { (name) } }
                    }
                }
                @if !views.is_empty() {
                    h2.side-title { "Saved views" }
                    ul.views {
                        @for v in views {
                            li.saved {
                                a href=(format!("/inbox?{}", v.query)) aria-current=[(v.query == current).then_some("page")] { (v.name) }
                                form method="post" action=(format!("/views/{}/delete", v.id)) {
                                    (layout::csrf_field(signed))
                                    button.link.small type="submit" aria-label=(format!("Delete view {}", v.name)) { "×" }
                                }
                            }
                        }
                    }
                }
                (filters(signed, q, filter))
            }
            section.inbox aria-labelledby="inbox-title" {
                div.inbox-head {
                    h1 #inbox-title { (title) }
                    span.count aria-live="polite" {
                        (inbox.items.len())
                        @match inbox.total { Some(t) => { " of " (t) }, None => { "+" } }
                        " conversations"
                    }
                    span #live.live title="New posts appear here as they arrive" { "● live" }
                }
                @if let Some(b) = spike_banner { (b) }
                @for p in problems {
                    (layout::flash("warning", &format!("Ignored {p}: not a value this filter knows.")))
                }
                div #rows-wrap data-query=(current) { (rows(inbox, q, now)) }
                (pager(inbox, q))
            }
        }
        (layout::key_hints(&[("j / k", "move"), ("enter", "open"), ("a", "assign to me"), ("r", "reply"), ("e", "resolve"), ("/", "search")]))
    };
    layout::page("Inbox", Some(signed), Nav::Inbox, body)
}

fn filters(signed: &SignedIn, q: &InboxQuery, filter: &InboxFilter) -> Markup {
    let sel = |v: &Option<String>, option: &str| nonempty(v) == Some(option);
    html! {
        form.filters method="get" action="/inbox" {
            h2.side-title { "Filter" }
            label for="f-status" { "Status" }
            select #f-status name="status" {
                @for (value, label) in [("", "Open"), ("pending", "Pending"), ("resolved", "Resolved"), ("all", "All")] {
                    option value=(value) selected[sel(&q.status, value)] { (label) }
                }
            }
            label for="f-network" { "Network" }
            select #f-network name="network" {
                option value="" { "Any" }
                @for n in Network::ALL {
                    option value=(n.as_str()) selected[filter.network == Some(n)] { (layout::network_name(n)) }
                }
            }
            label for="f-language" { "Language" }
            select #f-language name="language" {
                option value="" { "Any" }
                @for (code, name) in LANGUAGES {
                    option value=(code) selected[filter.language.as_deref() == Some(*code)] { (name) }
                }
                @if let Some(l) = filter.language.as_deref().filter(|l| !LANGUAGES.iter().any(|(c, _)| c == l)) {
                    option value=(l) selected { (l) }
                }
            }
            label for="f-intent" { "Intent" }
            select #f-intent name="intent" {
                option value="" { "Any" }
                @for i in Intent::ALL {
                    option value=(i.as_str()) selected[filter.intent == Some(*i)] { (i.as_str().replace('_', " ")) }
                }
            }
            label for="f-sentiment" { "Sentiment" }
            select #f-sentiment name="sentiment" {
                option value="" { "Any" }
                @for s in SentimentLabel::ALL {
                    option value=(s.as_str()) selected[filter.sentiment == Some(*s)] { (s.as_str()) }
                }
            }
            label for="f-assignee" { "Assigned to" }
            select #f-assignee name="assignee" {
                option value="" { "Anyone" }
                option value="me" selected[sel(&q.assignee, "me")] { "Me" }
                option value="none" selected[sel(&q.assignee, "none")] { "Nobody" }
            }
            div.check {
                input #f-breached type="checkbox" name="breached" value="true" checked[filter.breached == Some(true)];
                label for="f-breached" { "Past response target" }
            }
            button type="submit" { "Apply filters" }
        }
        form.save-view method="post" action="/views" {
            (layout::csrf_field(signed))
            input type="hidden" name="query" value=(q.canonical());
            label for="view-name" { "Save this view as" }
            input #view-name name="name" type="text" maxlength="60" placeholder="e.g. Danish complaints" required;
            button type="submit" { "Save view" }
        }
    }
}

/// The list itself: what the live refresh replaces.
pub fn rows(inbox: &Page<InboxRow>, q: &InboxQuery, now: DateTime<Utc>) -> Markup {
    html! {
        @if inbox.items.is_empty() {
            (layout::empty("Nothing here right now.", html! {
                @if q.canonical().is_empty() { "New mentions appear here the moment they arrive." }
                @else { "No conversation matches these filters. " a href="/inbox" { "Show all open conversations" } }
            }))
        } @else {
            ol #rows.rows aria-label="Conversations, most pressing first" {
                @for (i, row) in inbox.items.iter().enumerate() {
                    (row_item(row, i, now))
                }
            }
        }
    }
}

fn row_item(row: &InboxRow, index: usize, now: DateTime<Utc>) -> Markup {
    let c = &row.conversation;
    let name = c
        .customer
        .display_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| c.customer.handle.clone());
    let why = c.priority.explain();
    html! {
        li.row data-id=(c.id.0) data-index=(index) data-status=(c.status.as_str()) {
            div.row-rank {
                (layout::band_badge(c.priority.band))
                span.score title="priority score: urgent 75–100, high 50–75, normal 25–50, low 0–25" { (format!("{:.0}", c.priority.score)) }
            }
            div.row-main {
                div.row-top {
                    a.row-link href=(format!("/c/{}", c.id.0)) {
                        span.cust-name { (layout::said(&name)) }
                        span.handle { " " (layout::handle(&c.customer.handle)) }
                    }
                    (layout::network_badge(c.network))
                    (layout::reach_badge(c.customer.followers.or(c.signals.followers), c.signals.reach_tier))
                    (layout::badge("lang", &c.language, &c.language))
                    (layout::badge("intent", c.intent.as_str(), &c.intent.as_str().replace('_', " ")))
                    (layout::badge("sent", c.sentiment.as_str(), c.sentiment.as_str()))
                }
                p.excerpt { (layout::said(&layout::excerpt(&row.latest_text, 240))) }
                p.why { span.visually-hidden { "Ranked here because: " } (if why.is_empty() { "no strong signal".to_string() } else { why }) }
            }
            div.row-side {
                (layout::clock(c, now))
                span.assignee {
                    @match &c.assignee { Some(a) => { "→ " (a) }, None => { span.muted { "unassigned" } } }
                }
                (layout::time(row.latest_at))
            }
        }
    }
}

fn pager(inbox: &Page<InboxRow>, q: &InboxQuery) -> Markup {
    let offset = inbox.offset;
    let base = q.canonical();
    let sep = if base.is_empty() { "" } else { "&" };
    // Pages end at the deepest offset the store is asked to walk; filters go further.
    let more = inbox.items.len() as u32 == inbox.limit
        && offset + u64::from(PAGE_SIZE) <= earshot_store::MAX_OFFSET;
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a href=(format!("/inbox?{base}{sep}offset={}", offset.saturating_sub(u64::from(PAGE_SIZE)))) { "← Previous" }
            }
            @if more {
                a href=(format!("/inbox?{base}{sep}offset={}", offset + u64::from(PAGE_SIZE))) { "Next →" }
            }
        }
    }
}

/// Live updates for the pages, for a signed-in person: the JSON API's event stream, plus who
/// is typing (presence).
pub async fn live(state: State<AppState>, _signed: SignedIn) -> impl IntoResponse {
    crate::live::events(state, crate::live::Audience::Pages).await
}

#[derive(Deserialize)]
pub struct SaveView {
    name: String,
    query: String,
}

pub async fn save_view(
    State(state): State<AppState>,
    Posted(signed, f): Posted<SaveView>,
) -> Result<Response, PageError> {
    // Keep only what the inbox understands, in its own order.
    let query: InboxQuery = serde_urlencoded_query(&f.query);
    let view = state
        .desk
        .store()
        .save_view(signed.user.id, &f.name, &query.canonical())
        .await?;
    Ok(Redirect::to(&local_path(Some(&format!("/inbox?{}", view.query)))).into_response())
}

fn serde_urlencoded_query(raw: &str) -> InboxQuery {
    Query::<InboxQuery>::try_from_uri(
        &format!("/inbox?{raw}")
            .parse()
            .unwrap_or_else(|_| axum::http::Uri::from_static("/inbox")),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

pub async fn delete_view(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(signed, _): Posted<NoFields>,
) -> Result<Response, PageError> {
    state.desk.store().delete_view(signed.user.id, id).await?;
    Ok(Redirect::to("/inbox").into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_filters_and_back() {
        let q = InboxQuery {
            assignee: Some("me".into()),
            language: Some("DA".into()),
            intent: Some("complaint".into()),
            breached: Some("true".into()),
            network: Some("myspace".into()),
            ..InboxQuery::default()
        };
        let (f, problems) = q.filter("maria");
        assert_eq!(f.assignee.as_deref(), Some("maria"));
        assert_eq!(f.language.as_deref(), Some("da"));
        assert_eq!(f.intent, Some(Intent::Complaint));
        assert_eq!(f.breached, Some(true));
        assert_eq!(f.status, vec![Status::Open]);
        assert_eq!(problems, vec!["network \"myspace\""]);
        assert_eq!(
            q.canonical(),
            "network=myspace&language=DA&intent=complaint&assignee=me&breached=true"
        );
        let unassigned = InboxQuery {
            assignee: Some("none".into()),
            ..InboxQuery::default()
        };
        assert_eq!(unassigned.filter("maria").0.assignee.as_deref(), Some(""));
    }

    /// A customer who wrote on Friday evening, read on Monday morning on a Mon–Fri clock:
    /// 2 days 14 hours of calendar waiting, 2 hours of business time. The row says how long
    /// the customer has waited once, labelled, and "why" compares it to the target without a
    /// second duration (issue 14: two unlabelled "overdue" figures on one row).
    #[test]
    fn a_row_shows_the_wait_once() {
        use earshot_core::threading::{plan, Incoming, Known, TriagePolicy};
        use earshot_core::{Analysis, Author, BusinessHours, Network, NewPost, SlaClock};
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let hours =
            BusinessHours::parse("Europe/Copenhagen", &[("mon-fri", "08:00-18:00")], &[]).unwrap();
        let policy = TriagePolicy {
            clock: SlaClock::Business(hours),
            ..TriagePolicy::default()
        };
        let mut analysis = Analysis::default();
        analysis.intent.label = Intent::Question;
        analysis.urgency.score = 0.25;
        let written = at("2025-03-07T19:00:00Z"); // Friday 20:00 in Copenhagen
        let now = at("2025-03-10T09:00:00Z"); // Monday 10:00
        let incoming = Incoming {
            post: NewPost {
                from_brand: Some(false),
                ..NewPost::new(
                    Network::X,
                    "1",
                    Author::new("u1", "paul"),
                    "@voltra how do I transfer my charging credits?",
                    written,
                )
            },
            analysis,
            from_brand: false,
        };
        let c = plan(&[incoming], &Known::default(), &policy, now)
            .new_conversations
            .remove(0);
        let page = Page {
            items: vec![InboxRow {
                conversation: c,
                latest_text: "@voltra how do I transfer my charging credits?".into(),
                latest_at: written,
                breached: false,
            }],
            total: Some(1),
            limit: 50,
            offset: 0,
        };
        let html = rows(&page, &InboxQuery::default(), now).into_string();
        // The clock: the customer's wait in calendar time, then the target (Monday, on the
        // business clock) as time left.
        assert!(html.contains(">waiting 2 d 14 h · "), "{html}");
        assert!(html.contains(" left<"), "{html}");
        assert!(!html.contains("overdue"), "{html}");
        // "Why": the wait against the target as a share, no second duration.
        let why = html.split("<p class=\"why\">").nth(1).unwrap();
        let why = why.split("</p>").next().unwrap();
        assert!(why.contains("waited 50% of target"), "{why}");
        let has_duration = why.char_indices().any(|(i, c)| {
            c.is_ascii_digit()
                && [" h", " min", " d "]
                    .iter()
                    .any(|u| why[i + 1..].starts_with(u))
        });
        assert!(!has_duration, "{why}");
    }

    #[test]
    fn saved_queries_are_reparsed() {
        let q = serde_urlencoded_query("intent=question&bogus=1&language=da");
        assert_eq!(q.canonical(), "language=da&intent=question");
    }
}
