//! The page shell (head, top bar, navigation, key hints) and the small pieces every page
//! shares: badges, times, the response clock. Everything goes through maud, which escapes
//! text; nothing a customer wrote is ever inserted as HTML.

use super::assets;
use super::auth::SignedIn;
use chrono::{DateTime, Utc};
use earshot_core::analysis::ReachTier;
use earshot_core::{Conversation, Network, PriorityBand};
use maud::{html, Markup, DOCTYPE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Inbox,
    Search,
    Dashboard,
    Requests,
    Promises,
    Releases,
    Spikes,
    Settings,
    None,
}

/// A whole page: `title` names it in the tab, `body` is the main content.
pub fn page(title: &str, signed: Option<&SignedIn>, active: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = signed {
                    meta name="csrf-token" content=(s.csrf);
                    meta name="user" content=(s.user.username);
                }
                title { (earshot_core::bidi::balanced(title)) " · earshot" }
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
            }
            body data-page=(page_name(active)) {
                a.skip href="#main" { "Skip to content" }
                @if let Some(s) = signed {
                    (top_bar(s, active))
                }
                main id="main" tabindex="-1" { (body) }
            }
        }
    }
}

fn page_name(active: Nav) -> &'static str {
    match active {
        Nav::Inbox => "inbox",
        Nav::Search => "search",
        Nav::Dashboard => "dashboard",
        Nav::Requests => "requests",
        Nav::Promises => "promises",
        Nav::Releases => "releases",
        Nav::Spikes => "spikes",
        Nav::Settings => "settings",
        Nav::None => "other",
    }
}

fn top_bar(s: &SignedIn, active: Nav) -> Markup {
    let link = |nav: Nav, href: &str, label: &str, key: &str| {
        html! {
            a href=(href) aria-current=[(nav == active).then_some("page")] title=(key) { (label) }
        }
    };
    html! {
        header.topbar {
            a.app-name href="/inbox" { span.logo aria-hidden="true" { "◉" } " earshot" }
            nav aria-label="Main" {
                (link(Nav::Inbox, "/inbox", "Inbox", "g i"))
                (link(Nav::Search, "/search", "Search", "/"))
                (link(Nav::Dashboard, "/dashboard", "Dashboard", "g d"))
                (link(Nav::Requests, "/requests", "Requests", "g r — what customers ask for, most wanted first"))
                (link(Nav::Promises, "/promises", "Promises", "g p — what we told customers we would do"))
                (link(Nav::Releases, "/releases", "Releases", "what shipped and who was told"))
                (link(Nav::Spikes, "/spikes", "Spikes", "sudden bursts of similar posts"))
                @if s.user.role.is_admin() {
                    (link(Nav::Settings, "/settings", "Settings", "g s"))
                }
            }
            form.topsearch role="search" action="/search" method="get" {
                label.visually-hidden for="top-q" { "Search all posts" }
                input #top-q type="search" name="q" placeholder="Search posts  /" autocomplete="off";
            }
            div.who {
                span title=(format!("signed in as {} ({})", s.user.username, s.user.role)) {
                    (s.user.display_name) " · " span.role { (s.user.role) }
                }
                form action="/logout" method="post" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button.link type="submit" { "Sign out" }
                }
            }
        }
    }
}

/// A small labelled pill; its colours come from `app.css` by kind and value.
pub fn badge(kind: &str, value: &str, label: &str) -> Markup {
    html! {
        span class=(format!("badge b-{kind} b-{kind}-{}", css_token(value))) title=(format!("{kind}: {label}")) { (label) }
    }
}

/// A value as a CSS class fragment: letters, digits and `-` only.
pub fn css_token(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub fn network_badge(n: Network) -> Markup {
    badge("net", n.as_str(), network_name(n))
}

pub fn network_name(n: Network) -> &'static str {
    n.display_name()
}

pub fn band_badge(b: PriorityBand) -> Markup {
    badge("band", b.as_str(), b.as_str())
}

pub fn reach_badge(followers: Option<u64>, tier: ReachTier) -> Markup {
    let label = match followers {
        Some(f) => format!("{} followers", compact(f)),
        None => "reach unknown".into(),
    };
    badge("reach", tier.as_str(), &label)
}

/// 1520 → "1.5k", 2_300_000 → "2.3M".
pub fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => trim_zero(format!("{:.1}", n as f64 / 1_000.0)) + "k",
        _ => trim_zero(format!("{:.1}", n as f64 / 1_000_000.0)) + "M",
    }
}

fn trim_zero(s: String) -> String {
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// "3 min", "2 h 05 min", "4 d 2 h" — how people say a duration.
pub fn duration(secs: i64) -> String {
    let s = secs.abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

/// The response clock's state: how much of the window is left decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Nothing owed.
    Idle,
    Ok,
    /// Less than a quarter of the window (or 15 minutes) left.
    Amber,
    Overdue,
}

impl Clock {
    pub fn of(c: &Conversation, now: DateTime<Utc>) -> Clock {
        let (Some(since), Some(due)) = (c.awaiting_since, c.response_due) else {
            return Clock::Idle;
        };
        let left = (due - now).num_seconds();
        let window = (due - since).num_seconds().max(1);
        if left < 0 {
            Clock::Overdue
        } else if left * 4 < window || left < 15 * 60 {
            Clock::Amber
        } else {
            Clock::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Idle => "idle",
            Clock::Ok => "ok",
            Clock::Amber => "amber",
            Clock::Overdue => "overdue",
        }
    }
}

/// How long the customer has waited, said once: the calendar time since their unanswered
/// post ("waiting 3 h 10 min"), then where that stands against the response target ("· 40 min
/// left" or "· past target"). The target may run on business hours; its due time is in the
/// tooltip, so no second "overdue" figure competes with the first. The page's script updates
/// it every half minute.
pub fn clock(c: &Conversation, now: DateTime<Utc>) -> Markup {
    let state = Clock::of(c, now);
    let text = match (state, c.awaiting_since, c.response_due) {
        (Clock::Idle, _, _) | (_, None, _) | (_, _, None) => "no answer owed".to_string(),
        (state, Some(since), Some(due)) => {
            let waited = format!("waiting {}", duration((now - since).num_seconds().max(0)));
            if state == Clock::Overdue {
                format!("{waited} · past target")
            } else {
                format!("{waited} · {} left", duration((due - now).num_seconds()))
            }
        }
    };
    let title = match c.response_due.filter(|_| state != Clock::Idle) {
        Some(due) => format!(
            "the customer's wait (calendar time); response target due {}",
            due.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "nothing is owed to the customer".to_string(),
    };
    html! {
        span class=(format!("badge clock b-clock-{}", state.as_str()))
            data-due=[c.response_due.filter(|_| state != Clock::Idle).map(|d| d.to_rfc3339())]
            data-since=[c.awaiting_since.map(|d| d.to_rfc3339())]
            title=(title) { (text) }
    }
}

/// A timestamp shown in UTC with the full time on hover; the script shows it in local time.
pub fn time(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339()) title=(t.format("%Y-%m-%d %H:%M:%S UTC").to_string()) {
            (t.format("%b %d, %H:%M").to_string())
        }
    }
}

/// Text cut to `max` characters on a character boundary, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// People's words — a name, a handle, a post — isolated in `<bdi>` so a right-to-left
/// character in them cannot reorder the rest of the line, and without the bidi controls that
/// are never closed (`earshot_core::bidi`).
pub fn said(text: &str) -> Markup {
    html! { bdi { (earshot_core::bidi::balanced(text)) } }
}

/// A handle as people write it, `@` included, isolated like [`said`].
pub fn handle(handle: &str) -> Markup {
    html! { bdi { "@" (earshot_core::bidi::balanced(handle)) } }
}

/// A link target from the network, only when it is plain http(s): a `javascript:` URL in a
/// post's metadata must never become a link.
pub fn safe_url(url: &str) -> Option<&str> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url.trim_start())
}

/// The keys a page answers to, shown at its foot so nobody has to read a manual.
pub fn key_hints(keys: &[(&str, &str)]) -> Markup {
    html! {
        footer.keys aria-label="Keyboard shortcuts" {
            @for (k, what) in keys {
                span { kbd { (k) } " " (what) }
            }
            span { kbd { "?" } " all keys" }
        }
    }
}

/// A notice at the top of a page.
pub fn flash(kind: &str, text: &str) -> Markup {
    html! { div class=(format!("flash flash-{kind}")) role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// An empty-state message that says what to do next.
pub fn empty(title: &str, hint: Markup) -> Markup {
    html! { div.empty { p.empty-title { (title) } p { (hint) } } }
}

/// A table's column heads, each a plain label.
pub fn column_heads(labels: &[&str]) -> Markup {
    html! { @for label in labels { th scope="col" { (label) } } }
}

/// A hidden CSRF field for a form.
pub fn csrf_field(s: &SignedIn) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_like_people_say_them() {
        assert_eq!(compact(950), "950");
        assert_eq!(compact(1520), "1.5k");
        assert_eq!(compact(2_000_000), "2M");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(300), "5 min");
        assert_eq!(duration(7_500), "2 h 05 min");
        assert_eq!(duration(90_000), "1 d 1 h");
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("sædet kører", 4), "sæde…");
        assert_eq!(excerpt("kort", 10), "kort");
    }

    #[test]
    fn only_web_links_become_links() {
        assert_eq!(safe_url("https://x.com/a"), Some("https://x.com/a"));
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url(" JAVASCRIPT:alert(1)"), None);
        assert_eq!(safe_url("data:text/html,hi"), None);
    }

    #[test]
    fn badge_classes_cannot_break_out() {
        assert_eq!(css_token("feature_request"), "feature-request");
        assert_eq!(css_token("\"><script>"), "---script-");
    }
}
