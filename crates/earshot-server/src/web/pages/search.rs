//! Search over every post (answered, resolved, brand posts too) with the inbox's post filters.

use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::{url_encode, PageError};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::Network;
use earshot_store::{Page, SearchHit, SearchQuery};
use maud::{html, Markup};
use serde::Deserialize;

const PAGE_SIZE: u32 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    network: Option<String>,
    language: Option<String>,
    intent: Option<String>,
    sentiment: Option<String>,
    offset: Option<u64>,
}

fn pick<T: std::str::FromStr>(v: &Option<String>) -> Option<T> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(|v| v.parse().ok())
}

pub async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(p): Query<SearchParams>,
) -> Result<Response, PageError> {
    let q = p.q.clone().unwrap_or_default();
    let query = SearchQuery {
        q: q.chars().take(500).collect(),
        network: pick(&p.network),
        language: p
            .language
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_ascii_lowercase),
        intent: pick(&p.intent),
        sentiment: pick(&p.sentiment),
        limit: PAGE_SIZE,
        offset: p.offset.unwrap_or(0).min(earshot_store::MAX_OFFSET),
    };
    let hits = if query.q.trim().is_empty() {
        None
    } else {
        Some(state.desk.store().search(&query).await?)
    };
    Ok(render(&signed, &p, &query, hits.as_ref()).into_response())
}

fn render(
    signed: &SignedIn,
    p: &SearchParams,
    query: &SearchQuery,
    hits: Option<&Page<SearchHit>>,
) -> Markup {
    let body = html! {
        div.narrow.wide {
            h1 { "Search" }
            form.search-form role="search" method="get" action="/search" {
                label for="q" { "Words to find in any post" }
                div.search-row {
                    input #q name="q" type="search" value=(query.q) autofocus placeholder="e.g. charger broken, sædet" maxlength="500";
                    button.primary type="submit" { "Search" }
                }
                div.search-filters {
                    label for="s-network" { "Network" }
                    select #s-network name="network" {
                        option value="" { "Any" }
                        @for n in Network::ALL { option value=(n.as_str()) selected[query.network == Some(n)] { (layout::network_name(n)) } }
                    }
                    label for="s-language" { "Language" }
                    input #s-language name="language" type="text" size="4" maxlength="8" value=(query.language.as_deref().unwrap_or("")) placeholder="da";
                    label for="s-intent" { "Intent" }
                    select #s-intent name="intent" {
                        option value="" { "Any" }
                        @for i in Intent::ALL { option value=(i.as_str()) selected[query.intent == Some(*i)] { (i.as_str().replace('_', " ")) } }
                    }
                    label for="s-sentiment" { "Sentiment" }
                    select #s-sentiment name="sentiment" {
                        option value="" { "Any" }
                        @for s in SentimentLabel::ALL { option value=(s.as_str()) selected[query.sentiment == Some(*s)] { (s.as_str()) } }
                    }
                }
            }
            @match hits {
                None => { (layout::empty("Type a few words to search every post.", html! { "Search finds words in any language, accents or not: " em { "saedet" } " finds " em { "sædet" } "." })) }
                Some(h) if h.items.is_empty() => { (layout::empty("No post has these words.", html! { "Try fewer words, or remove a filter." })) }
                Some(h) => {
                    p.count { (h.items.len()) @if let Some(t) = h.total { " of " (t) } " posts, newest first" }
                    ol.results {
                        @for hit in &h.items { (result(hit)) }
                    }
                    (pager(p, h))
                }
            }
        }
    };
    layout::page("Search", Some(signed), Nav::Search, body)
}

fn result(hit: &SearchHit) -> Markup {
    let post = &hit.post;
    html! {
        li.result {
            div.post-meta {
                (layout::network_badge(post.network))
                " " strong { (layout::said(post.author.display_name.as_deref().unwrap_or(&post.author.handle))) }
                " " (layout::handle(&post.author.handle)) " · " (layout::time(post.created_at))
                @if post.from_brand { " · " span.badge.b-brand { "brand" } }
                " " (layout::badge("intent", post.analysis.intent.label.as_str(), &post.analysis.intent.label.as_str().replace('_', " ")))
                (layout::badge("sent", post.analysis.sentiment.label.as_str(), post.analysis.sentiment.label.as_str()))
            }
            p.excerpt {
                @match post.conversation_id {
                    Some(c) => { a href=(format!("/c/{}#post-{}", c.0, post.id)) { (layout::said(&layout::excerpt(&post.text, 400))) } }
                    None => { (layout::said(&layout::excerpt(&post.text, 400))) }
                }
            }
        }
    }
}

fn pager(p: &SearchParams, h: &Page<SearchHit>) -> Markup {
    let mut base = format!("/search?q={}", url_encode(p.q.as_deref().unwrap_or("")));
    for (k, v) in [
        ("network", &p.network),
        ("language", &p.language),
        ("intent", &p.intent),
        ("sentiment", &p.sentiment),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            base.push_str(&format!("&{k}={}", url_encode(v)));
        }
    }
    html! {
        nav.pager aria-label="Pages" {
            @if h.offset > 0 { a href=(format!("{base}&offset={}", h.offset.saturating_sub(u64::from(PAGE_SIZE)))) { "← Newer" } }
            @if h.items.len() as u32 == h.limit && h.offset + u64::from(PAGE_SIZE) <= earshot_store::MAX_OFFSET { a href=(format!("{base}&offset={}", h.offset + u64::from(PAGE_SIZE))) { "Older →" } }
        }
    }
}
