//! The corrections agents are offered on the requests pages, one click each: "these two
//! requests look like one" (merge) and "this ask may not belong" (move it where it fits, or
//! into a request of its own). Ranked by the grouper (`feedback::grouping::Suggestions`); the
//! buttons post to the request actions every other correction uses, so the grouper learns
//! from them as from any merge or move.

use crate::feedback::grouping::Suggestions;
use crate::web::auth::SignedIn;
use crate::web::layout;
use earshot_core::feedback::RequestId;
use maud::{html, Markup};
use std::collections::HashMap;

/// What the box needs besides the suggestions: request titles and the moved asks' texts.
pub struct Labels<'a> {
    pub titles: &'a HashMap<RequestId, String>,
    pub asks: &'a HashMap<i64, String>,
}

fn request_link(id: RequestId, labels: &Labels<'_>) -> Markup {
    let title = labels.titles.get(&id).map(String::as_str).unwrap_or("");
    html! {
        a href=(format!("/requests/{}", id.0)) { (id) } " " span.muted { (layout::said(&layout::excerpt(title, 60))) }
    }
}

fn percent(x: f32) -> String {
    format!("{:.0}%", 100.0 * x.clamp(0.0, 1.0))
}

/// The suggestions box; nothing when there is nothing to suggest.
pub fn suggestions_box(signed: &SignedIn, s: &Suggestions, labels: &Labels<'_>) -> Markup {
    if s.merge.is_empty() && s.moves.is_empty() {
        return html! {};
    }
    html! {
        section.box.suggestions aria-labelledby="sugg-title" {
            h2 #sugg-title { "Suggested corrections" }
            @if !s.merge.is_empty() {
                h3 { "These requests look like one" }
                ol.suggestion-list {
                    @for m in &s.merge {
                        li {
                            (request_link(m.from, labels)) " and " (request_link(m.into, labels))
                            " " span.badge title="how alike their asks are" { (percent(m.similarity)) " alike" }
                            form.suggest-action method="post" action=(format!("/requests/{}/act", m.from.0)) {
                                (layout::csrf_field(signed))
                                input type="hidden" name="action" value="merge";
                                input type="hidden" name="into" value=(m.into.0);
                                button type="submit" { "Merge " (m.from) " into " (m.into) }
                            }
                        }
                    }
                }
            }
            @if !s.moves.is_empty() {
                h3 { "These asks may not belong" }
                ol.suggestion-list {
                    @for m in &s.moves {
                        li {
                            q { (layout::said(&layout::excerpt(labels.asks.get(&m.post_id).map(String::as_str).unwrap_or("(an ask)"), 120))) }
                            " in " (request_link(m.from, labels))
                            " " span.badge title="how well it fits the rest of its request" { (percent(m.fit)) " fit" }
                            @match m.to {
                                Some(to) => {
                                    form.suggest-action method="post" action=(format!("/requests/{}/act", to.0)) {
                                        (layout::csrf_field(signed))
                                        input type="hidden" name="action" value="move";
                                        input type="hidden" name="post" value=(m.post_id);
                                        button type="submit" { "Move to " (to) }
                                    }
                                    " " span.muted { "(" (request_link(to, labels)) ", " (percent(m.fit_there.unwrap_or(0.0))) " fit)" }
                                }
                                None => {
                                    form.suggest-action method="post" action=(format!("/requests/{}/act", m.from.0)) {
                                        (layout::csrf_field(signed))
                                        input type="hidden" name="action" value="move_out";
                                        input type="hidden" name="post" value=(m.post_id);
                                        button type="submit" { "Move to a new request" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
