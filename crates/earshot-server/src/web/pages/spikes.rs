//! Spikes: sudden bursts of similar posts (hundreds of people at once asking for flights to a
//! festival), active first, each with its volume chart, what it is about, how many posts and
//! people, and a suggested reply an agent can adapt for all of them. The inbox shows a banner
//! while one is active.

use crate::feedback::spikes::SpikeView;
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::pages::charts::nice_max;
use crate::web::{url_encode, PageError};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use earshot_analyze::spikes::SpikeChart;
use maud::{html, Markup};

const W: f64 = 480.0;
const H: f64 = 120.0;
const LEFT: f64 = 32.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;

/// When the spike's last counted bucket ends.
fn last_seen(c: &SpikeChart) -> DateTime<Utc> {
    let buckets = i64::try_from(c.counts.len()).unwrap_or(i64::MAX / 2);
    c.start + Duration::seconds(i64::from(c.bucket_seconds).saturating_mul(buckets))
}

/// Spikes still active that had posts in the last hour: what the inbox banner announces.
pub fn current(spikes: &[SpikeView], now: DateTime<Utc>) -> Vec<&SpikeView> {
    spikes
        .iter()
        .filter(|s| {
            s.active
                && (last_seen(&s.spike.chart) >= now - Duration::hours(1)
                    || s.spike.detected_at >= now - Duration::hours(1))
        })
        .collect()
}

/// The inbox's banner: one line per active spike, linking to this page.
pub fn banner(spikes: &[SpikeView], now: DateTime<Utc>) -> Option<Markup> {
    let active = current(spikes, now);
    if active.is_empty() {
        return None;
    }
    Some(html! {
        div.flash.flash-warning.spike-banner role="status" {
            strong { "Spike: " }
            @for (i, s) in active.iter().take(3).enumerate() {
                @if i > 0 { "; " }
                (s.spike.posts) " posts from " (s.spike.authors) " people about "
                em { (about(s)) }
            }
            " · " a href="/spikes" { "See the spike and a reply for all of them" }
        }
    })
}

fn about(s: &SpikeView) -> String {
    if s.spike.label_terms.is_empty() {
        "the same thing".into()
    } else {
        s.spike.label_terms.join(", ")
    }
}

pub async fn page(State(state): State<AppState>, signed: SignedIn) -> Result<Response, PageError> {
    let spikes = state.desk.feedback().spikes(state.desk.alerts()).await?;
    let now = Utc::now();
    let body = html! {
        div.loop-head {
            h1 { "Spikes" }
            span.count { (spikes.iter().filter(|s| s.active).count()) " active, " (spikes.len()) " recent" }
        }
        @if spikes.is_empty() {
            (layout::empty("No spikes.", html! {
                "When many people suddenly post about the same thing, it shows here within a minute, with a reply you can send to all of them."
            }))
        }
        div.spikes {
            @for s in &spikes { (card(s, now)) }
        }
    };
    Ok(layout::page("Spikes", Some(&signed), Nav::Spikes, body).into_response())
}

fn card(s: &SpikeView, now: DateTime<Utc>) -> Markup {
    let sp = &s.spike;
    let id = format!("spike-{}", sp.id.0);
    html! {
        section.card.spike id=(id) aria-labelledby=(format!("{id}-title")) {
            div.card-head {
                h2 id=(format!("{id}-title")) { (about(s)) }
                @if s.active { span.badge.b-spike-active { "active" } } @else { span.badge.b-spike-ended { "ended" } }
            }
            p.muted {
                (sp.posts) " posts from " (sp.authors) " people · "
                (format!("{:.0}", sp.rate_per_minute)) " a minute (usually " (format!("{:.1}", sp.baseline_per_minute)) ") · started "
                (layout::time(sp.started_at)) ", noticed " (layout::time(sp.detected_at))
                @if let Some(l) = &sp.language { " · " (layout::badge("lang", l, l)) }
                @if !s.active { " · quiet since " (layout::duration((now - last_seen(&sp.chart)).num_seconds())) }
            }
            (chart(&sp.chart, &about(s)))
            @if !sp.label_terms.is_empty() {
                p { "Find the posts: "
                    @for t in &sp.label_terms {
                        a href=(format!("/search?q={}", url_encode(t))) { (t) } " "
                    }
                }
            }
            label for=(format!("{id}-reply")) { "Suggested reply for all of them (edit before sending)" }
            textarea.suggested id=(format!("{id}-reply")) rows="3" readonly { (s.suggested_reply) }
        }
    }
}

/// Posts per bucket as bars; each bar's time and count in its tooltip.
fn chart(c: &SpikeChart, what: &str) -> Markup {
    let n = c.counts.len().max(1);
    let max = nice_max(f64::from(c.counts.iter().copied().max().unwrap_or(0)));
    let plot_w = W - LEFT - 4.0;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.8).max(1.0);
    let at = |i: usize| {
        c.start
            + Duration::seconds(
                i64::from(c.bucket_seconds).saturating_mul(i64::try_from(i).unwrap_or(0)),
            )
    };
    let title = format!("Posts about {what}, every {} seconds", c.bucket_seconds);
    html! {
        svg.chart.spike-chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
            title { (title) }
            @for i in 0..=2 {
                @let y = TOP + plot_h - plot_h * f64::from(i) / 2.0;
                line.grid x1=(LEFT) x2=(W - 4.0) y1=(y) y2=(y) {}
                text.axis x=(LEFT - 4.0) y=(y + 4.0) text-anchor="end" { (format!("{:.0}", max * f64::from(i) / 2.0)) }
            }
            @for (i, v) in c.counts.iter().enumerate() {
                @let h = plot_h * f64::from(*v) / max;
                @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                rect.c-spike x=(format!("{x:.1}")) y=(format!("{:.1}", TOP + plot_h - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                    title { (at(i).format("%H:%M:%S").to_string()) ": " (v) " posts" }
                }
            }
            text.axis x=(LEFT) y=(H - 4.0) { (c.start.format("%H:%M").to_string()) " UTC" }
            text.axis x=(W - 4.0) y=(H - 4.0) text-anchor="end" { (at(c.counts.len()).format("%H:%M").to_string()) }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use earshot_analyze::spikes::{Spike, SpikeId};

    fn view(active: bool, start: DateTime<Utc>, terms: &[&str]) -> SpikeView {
        SpikeView {
            active,
            spike: Spike {
                id: SpikeId(1),
                label_terms: terms.iter().map(|t| t.to_string()).collect(),
                request_ids: vec![],
                sample_post_ids: vec![],
                started_at: start,
                detected_at: start + Duration::seconds(40),
                rate_per_minute: 60.0,
                baseline_per_minute: 0.5,
                score: 20.0,
                posts: 90,
                authors: 80,
                language: Some("en".into()),
                chart: SpikeChart {
                    start,
                    bucket_seconds: 10,
                    counts: vec![1, 0, 12, 30],
                },
            },
            suggested_reply: "Hi!".into(),
        }
    }

    #[test]
    fn the_banner_shows_only_spikes_active_in_the_last_hour() {
        let now = Utc::now();
        assert!(banner(
            &[view(
                true,
                now - Duration::minutes(5),
                &["flights roskilde"]
            )],
            now
        )
        .unwrap()
        .into_string()
        .contains("flights roskilde"));
        assert!(banner(&[view(false, now - Duration::minutes(5), &["x"])], now).is_none());
        assert!(banner(&[view(true, now - Duration::hours(3), &["x"])], now).is_none());
    }

    #[test]
    fn the_chart_draws_a_bar_per_bucket_and_escapes_terms() {
        let now = Utc::now();
        let html = card(&view(true, now, &["<b>x</b>"]), now).into_string();
        assert_eq!(html.matches("<rect").count(), 4);
        assert!(html.contains(": 30 posts"));
        assert!(!html.contains("<b>x</b>"));
    }
}
