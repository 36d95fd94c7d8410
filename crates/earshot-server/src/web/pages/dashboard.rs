//! The dashboard a product manager reads every morning: what customers wrote about (by
//! intent and sentiment, per day), how fast the team answered by weekday and hour (are
//! Friday nights and Sundays covered?), and the share answered within target. Every chart
//! has its numbers one click away and a CSV export. The figures come from
//! [`crate::metrics`], the same functions the JSON API and the CLI use.

use super::charts::{self, Series};
use crate::feedback::spikes::SpikeView;
use crate::metrics::{self, Metrics, ResponseStats};
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::layout::{self, Nav};
use crate::web::PageError;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::feedback::Request;
use earshot_store::survey::Satisfaction;
use earshot_store::{ResponseSample, VolumeCount};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::BTreeMap;

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Default, Deserialize)]
pub struct Range {
    /// Days back from now (7, 30, 90); ignored when `from` is given.
    days: Option<i64>,
    from: Option<String>,
    to: Option<String>,
}

impl Range {
    fn bounds(&self, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), PageError> {
        let parse = |field: &str, v: &Option<String>| -> Result<Option<DateTime<Utc>>, PageError> {
            match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => metrics::parse_bound(v).map(Some).ok_or_else(|| {
                    PageError::BadRequest(format!("{field}: {v:?} is not a date like 2026-11-01"))
                }),
            }
        };
        let to = parse("to", &self.to)?.unwrap_or(now);
        let days = self.days.unwrap_or(30).clamp(1, 366);
        let from = parse("from", &self.from)?.unwrap_or(to - Duration::days(days));
        if from >= to {
            return Err(PageError::BadRequest("from must be before to".into()));
        }
        if to - from > Duration::days(400) {
            return Err(PageError::BadRequest(
                "pick at most 400 days at a time".into(),
            ));
        }
        Ok((from, to))
    }

    fn query(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        format!(
            "from={}&to={}",
            from.format("%Y-%m-%dT%H:%M:%SZ"),
            to.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// Everything the charts draw, computed once per request.
pub struct Figures {
    pub metrics: Metrics,
    /// Day → sentiment → customer posts.
    pub sentiment_by_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// Weekday (Monday first) × hour, in the team's time zone.
    pub grid: Vec<Vec<ResponseStats>>,
}

pub fn figures(
    samples: &[ResponseSample],
    volume: &[VolumeCount],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Figures {
    let metrics = metrics::compute(samples, volume, from, to, tz, now);
    let mut sentiment_by_day: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for v in volume {
        *sentiment_by_day
            .entry(v.day.to_string())
            .or_default()
            .entry(v.sentiment.to_string())
            .or_default() += v.posts;
    }
    let mut cells: Vec<Vec<Vec<&ResponseSample>>> = vec![vec![vec![]; 24]; 7];
    for s in samples {
        let local = s.opened_at.with_timezone(&tz);
        cells[local.weekday().num_days_from_monday() as usize][local.hour() as usize].push(s);
    }
    let grid = cells
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| metrics::stats(cell.iter().copied(), now))
                .collect()
        })
        .collect();
    Figures {
        metrics,
        sentiment_by_day,
        grid,
    }
}

/// Every day in the range (so quiet days show as gaps, not as missing columns).
fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut out = vec![];
    let mut d = from.date_naive();
    let end = to.date_naive();
    while d <= end && out.len() < 400 {
        out.push(d.to_string());
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    out
}

pub async fn load(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Figures, PageError> {
    let store = state.desk.store();
    let (samples, volume) =
        tokio::try_join!(store.response_samples(from, to), store.volume(from, to))?;
    Ok(figures(
        &samples,
        &volume,
        from,
        to,
        state.timezone(),
        Utc::now(),
    ))
}

pub async fn page(
    State(state): State<AppState>,
    signed: SignedIn,
    Query(range): Query<Range>,
) -> Result<Response, PageError> {
    let (from, to) = range.bounds(Utc::now())?;
    let (f, sat, busiest) = tokio::try_join!(
        load(&state, from, to),
        satisfaction(&state, from, to),
        busiest_requests(&state, from, to),
    )?;
    let spikes = spikes_in(&state, from, to).await?;
    let loop_figures = LoopFigures { busiest, spikes };
    Ok(render(&signed, &range, &f, &sat, &loop_figures, from, to).into_response())
}

/// How many requests the "busiest requests" chart shows.
const BUSIEST: usize = 10;

/// The loop's share of the dashboard: the requests most asked for, and the spikes.
pub struct LoopFigures {
    pub busiest: Vec<Request>,
    pub spikes: Vec<SpikeView>,
}

/// How old the busiest-requests figures may be: aggregating every ask is the dashboard's
/// most expensive read (see `feedback::snapshot`).
const REQUESTS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Requests asked for within the range, most distinct askers first (merged ones left out),
/// as of at most a minute ago.
async fn busiest_requests(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Request>, PageError> {
    let all = state
        .desk
        .feedback()
        .requests_snapshot(REQUESTS_MAX_AGE)
        .await?;
    let mut all: Vec<Request> = all
        .iter()
        .filter(|r| r.merged_into.is_none() && r.posts > 0)
        .filter(|r| r.latest_ask_at >= from && r.first_ask_at <= to)
        .cloned()
        .collect();
    all.sort_by(|a, b| {
        b.askers
            .cmp(&a.askers)
            .then(b.posts.cmp(&a.posts))
            .then(a.id.cmp(&b.id))
    });
    all.truncate(BUSIEST);
    Ok(all)
}

/// Spikes (the last ones stored, see [`crate::feedback::spikes::LISTED`]) that began within
/// the range.
async fn spikes_in(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<SpikeView>, earshot_store::StoreError> {
    let mut v: Vec<SpikeView> = state
        .desk
        .feedback()
        .spikes(state.desk.alerts())
        .await?
        .into_iter()
        .filter(|s| s.spike.started_at >= from && s.spike.started_at <= to)
        .collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.spike.started_at));
    Ok(v)
}

/// The surveys' satisfaction over the range (see [`crate::survey`]).
async fn satisfaction(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Satisfaction, PageError> {
    Ok(crate::metrics::satisfaction_total(state.desk.store().as_ref(), from, to).await?)
}

/// Each score's share of the answers (`None` without answers).
fn score_shares(s: &Satisfaction) -> Vec<Option<f64>> {
    s.scores
        .iter()
        .map(|n| (s.answered > 0).then(|| *n as f64 / s.answered as f64))
        .collect()
}

fn pct(v: Option<f64>) -> String {
    v.map(|s| format!("{:.0}%", s * 100.0))
        .unwrap_or_else(|| "—".into())
}

fn secs(v: Option<i64>) -> String {
    v.map(layout::duration).unwrap_or_else(|| "—".into())
}

fn render(
    signed: &SignedIn,
    range: &Range,
    f: &Figures,
    sat: &Satisfaction,
    loop_figures: &LoopFigures,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Markup {
    let m = &f.metrics;
    let q = range.query(from, to);
    let columns = days(from, to);
    let intent_series: Vec<Series> = Intent::ALL
        .iter()
        .map(|i| Series {
            name: i.as_str(),
            class: format!("c-intent-{}", layout::css_token(i.as_str())),
            values: columns
                .iter()
                .map(|d| {
                    m.volume
                        .by_day
                        .get(d)
                        .and_then(|x| x.get(i.as_str()))
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
        })
        .collect();
    let sentiment_series: Vec<Series> = SentimentLabel::ALL
        .iter()
        .map(|s| Series {
            name: s.as_str(),
            class: format!("c-sent-{}", s.as_str()),
            values: columns
                .iter()
                .map(|d| {
                    f.sentiment_by_day
                        .get(d)
                        .and_then(|x| x.get(s.as_str()))
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
        })
        .collect();
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let heat: Vec<Vec<Option<i64>>> = f
        .grid
        .iter()
        .map(|row| row.iter().map(|c| c.median_first_response_secs).collect())
        .collect();
    let weekday_labels: Vec<String> = DAYS.iter().map(|d| d.to_string()).collect();
    let weekday_shares: Vec<Option<f64>> = m
        .by_weekday
        .iter()
        .map(|b| b.stats.within_target_share)
        .collect();
    let body = html! {
        div.dash-head {
            h1 { "Dashboard" }
            nav.ranges aria-label="Period" {
                @for d in [7, 30, 90] {
                    a href=(format!("/dashboard?days={d}")) aria-current=[(range.from.is_none() && range.days.unwrap_or(30) == d).then_some("page")] { "Last " (d) " days" }
                }
            }
            form.range method="get" action="/dashboard" {
                label for="from" { "From" }
                input #from name="from" type="date" value=(from.format("%Y-%m-%d").to_string());
                label for="to" { "To" }
                input #to name="to" type="date" value=(to.format("%Y-%m-%d").to_string());
                button type="submit" { "Show" }
            }
        }
        p.muted { (from.format("%b %d, %Y").to_string()) " – " (to.format("%b %d, %Y").to_string()) " · times in " (m.timezone) }
        div.kpis {
            div.kpi { span.kpi-value { (m.overall.conversations) } span.kpi-label { "conversations opened" } }
            div.kpi { span.kpi-value { (m.volume.total) } span.kpi-label { "customer posts" } }
            div.kpi { span.kpi-value { (secs(m.overall.median_first_response_secs)) } span.kpi-label { "median first response" } }
            div.kpi { span.kpi-value { (secs(m.overall.p90_first_response_secs)) } span.kpi-label { "90% answered within" } }
            div.kpi { span.kpi-value { (pct(m.overall.within_target_share)) } span.kpi-label { "answered within target" } }
        }
        div.charts {
            (chart("volume-intent", "What customers wrote about", &q, charts::stacked_bars("Customer posts per day by intent", &columns, &intent_series),
                table_by_day(&columns, &intent_series)))
            (chart("volume-sentiment", "How they felt", &q, charts::stacked_bars("Customer posts per day by sentiment", &columns, &sentiment_series),
                table_by_day(&columns, &sentiment_series)))
            (chart("first-response", "First response time by weekday and hour", &q,
                charts::heatmap("Median first response time by weekday and hour opened", &DAYS, &hours, &heat),
                table_grid(f)))
            (chart("within-target", "Answered within target, by weekday", &q,
                charts::share_bars("Share answered within target by weekday", &weekday_labels, &weekday_shares),
                table_weekdays(m)))
            (satisfaction_panel(sat, &q))
            (busiest_panel(&loop_figures.busiest, &q))
            (spikes_panel(&loop_figures.spikes))
        }
    };
    layout::page("Dashboard", Some(signed), Nav::Dashboard, body)
}

/// The requests most asked for in the range, as bars linking to each request.
fn busiest_panel(requests: &[Request], q: &str) -> Markup {
    let rows: Vec<(String, u64, String)> = requests
        .iter()
        .map(|r| {
            (
                r.title.clone(),
                u64::from(r.askers),
                format!("/requests/{}", r.id.0),
            )
        })
        .collect();
    let svg = if rows.is_empty() {
        html! { p.muted { "No product requests were asked for in this period." } }
    } else {
        charts::ranked_bars("Busiest requests: distinct customers who asked", &rows)
    };
    let table = html! {
        table {
            thead { tr { th scope="col" { "Request" } th scope="col" { "Customers" } th scope="col" { "Asks" } th scope="col" { "Last 7 days" } th scope="col" { "7 days before" } th scope="col" { "Status" } } }
            tbody {
                @for r in requests {
                    tr {
                        th scope="row" { a href=(format!("/requests/{}", r.id.0)) { (layout::said(&r.title)) } }
                        td { (r.askers) } td { (r.posts) } td { (r.asks_last_7d) } td { (r.asks_prior_7d) } td { (r.status.as_str()) }
                    }
                }
            }
        }
    };
    chart("busiest-requests", "Busiest requests", q, svg, table)
}

/// Spikes that began in the range: when, what about, how big; the chart of each is on /spikes.
fn spikes_panel(spikes: &[SpikeView]) -> Markup {
    html! {
        section.card.chart-card aria-labelledby="spikes-title" {
            div.card-head {
                h2 #spikes-title { "Spikes" }
                a href="/spikes" { "All spikes" }
            }
            @if spikes.is_empty() {
                p.muted { "No spike in this period (the 50 newest spikes are looked at)." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Began" } th scope="col" { "About" } th scope="col" { "Posts" } th scope="col" { "Per minute" } th scope="col" { "Usual" } th scope="col" { "State" } } }
                    tbody {
                        @for s in spikes.iter().take(10) {
                            tr {
                                td { (layout::time(s.spike.started_at)) }
                                th scope="row" { a href="/spikes" { (s.spike.label_terms.join(", ")) } }
                                td { (s.spike.posts) }
                                td { (format!("{:.1}", s.spike.rate_per_minute)) }
                                td { (format!("{:.1}", s.spike.baseline_per_minute)) }
                                td { @if s.active { strong.breach { "active" } } @else { "over" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn busiest_csv(requests: &[Request]) -> String {
    let mut out =
        String::from("request_id,title,customers,asks,asks_last_7d,asks_prior_7d,reach,status\n");
    for r in requests {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            r.id.0,
            earshot_core::csv::quoted(&r.title),
            r.askers,
            r.posts,
            r.asks_last_7d,
            r.asks_prior_7d,
            r.reach,
            r.status.as_str()
        ));
    }
    out
}

/// CSAT, mean score, would-buy-again and answers, with the scores' distribution.
fn satisfaction_panel(s: &Satisfaction, q: &str) -> Markup {
    let labels: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
    let mean = s
        .mean_score
        .map(|m| format!("{m:.1}"))
        .unwrap_or_else(|| "—".into());
    let svg = html! {
        div.kpis.satisfaction-kpis {
            div.kpi { span.kpi-value { (pct(s.csat)) } span.kpi-label { "CSAT (4–5 of 5)" } }
            div.kpi { span.kpi-value { (mean) } span.kpi-label { "mean score" } }
            div.kpi { span.kpi-value { (pct(s.buy_again_share)) } span.kpi-label { "would buy again" } }
            div.kpi { span.kpi-value { (s.answered) " / " (s.sent) } span.kpi-label { "surveys answered / sent" } }
        }
        (charts::share_bars("Share of answers by score, 1 (very unsatisfied) to 5 (very satisfied)", &labels, &score_shares(s)))
    };
    let table = html! {
        table {
            thead { tr { th scope="col" { "Score" } th scope="col" { "Answers" } th scope="col" { "Share" } } }
            tbody {
                @for (i, share) in score_shares(s).into_iter().enumerate() {
                    tr { th scope="row" { (i + 1) } td { (s.scores[i]) } td { (pct(share)) } }
                }
            }
        }
        p.muted {
            "Would buy again: " (s.buy_again_yes) " yes, " (s.buy_again_no) " no · response rate " (pct(s.response_rate))
        }
    };
    chart("satisfaction", "Satisfaction", q, svg, table)
}

/// The satisfaction chart's CSV: one line per score, then the summary figures.
fn satisfaction_csv(s: &Satisfaction) -> String {
    let mut out = String::from("score,answers,share\n");
    for (i, share) in score_shares(s).into_iter().enumerate() {
        out.push_str(&format!(
            "{},{},{}\n",
            i + 1,
            s.scores[i],
            opt(share.map(|v| format!("{v:.4}")))
        ));
    }
    out.push_str(&format!(
        "csat,,{}\nmean_score,,{}\nbuy_again_share,,{}\nsent,{},\nanswered,{},\n",
        opt(s.csat.map(|v| format!("{v:.4}"))),
        opt(s.mean_score.map(|v| format!("{v:.2}"))),
        opt(s.buy_again_share.map(|v| format!("{v:.4}"))),
        s.sent,
        s.answered
    ));
    out
}

fn chart(id: &str, title: &str, q: &str, svg: Markup, table: Markup) -> Markup {
    html! {
        section.card.chart-card aria-labelledby=(format!("{id}-title")) {
            div.card-head {
                h2 id=(format!("{id}-title")) { (title) }
                a.csv href=(format!("/dashboard/{id}.csv?{q}")) download { "CSV" }
            }
            (svg)
            details.numbers {
                summary { "Numbers" }
                div.table-wrap { (table) }
            }
        }
    }
}

fn table_by_day(columns: &[String], series: &[Series]) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Day" } @for s in series { th scope="col" { (s.name) } } th scope="col" { "total" } } }
            tbody {
                @for (i, d) in columns.iter().enumerate() {
                    tr {
                        th scope="row" { (d) }
                        @for s in series { td { (s.values.get(i).copied().unwrap_or(0)) } }
                        td { (series.iter().map(|s| s.values.get(i).copied().unwrap_or(0)).sum::<u64>()) }
                    }
                }
            }
        }
    }
}

fn table_grid(f: &Figures) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Weekday" } th scope="col" { "Hour" } th scope="col" { "Conversations" } th scope="col" { "Answered" } th scope="col" { "Median" } th scope="col" { "p90" } th scope="col" { "Within target" } } }
            tbody {
                @for (d, row) in f.grid.iter().enumerate() {
                    @for (h, c) in row.iter().enumerate() {
                        @if c.conversations > 0 {
                            tr {
                                th scope="row" { (DAYS[d]) }
                                td { (format!("{h:02}:00")) }
                                td { (c.conversations) } td { (c.answered) }
                                td { (secs(c.median_first_response_secs)) } td { (secs(c.p90_first_response_secs)) }
                                td { (pct(c.within_target_share)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn table_weekdays(m: &Metrics) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Weekday" } th scope="col" { "Within target" } th scope="col" { "Missed" } th scope="col" { "Share" } th scope="col" { "Median" } } }
            tbody {
                @for (i, b) in m.by_weekday.iter().enumerate() {
                    tr {
                        th scope="row" { (DAYS.get(i).copied().unwrap_or("?")) }
                        td { (b.stats.within_target) } td { (b.stats.missed_target) }
                        td { (pct(b.stats.within_target_share)) } td { (secs(b.stats.median_first_response_secs)) }
                    }
                }
            }
        }
    }
}

/// A chart's numbers as CSV: `/dashboard/{chart}.csv?from=…&to=…`.
pub async fn csv(
    State(state): State<AppState>,
    _signed: SignedIn,
    Path(chart): Path<String>,
    Query(range): Query<Range>,
) -> Result<Response, PageError> {
    let name = chart
        .strip_suffix(".csv")
        .ok_or_else(|| PageError::NotFound(format!("{chart} is not a CSV export")))?;
    let (from, to) = range.bounds(Utc::now())?;
    let body = if name == "satisfaction" {
        satisfaction_csv(&satisfaction(&state, from, to).await?)
    } else if name == "busiest-requests" {
        busiest_csv(&busiest_requests(&state, from, to).await?)
    } else {
        let f = load(&state, from, to).await?;
        csv_body(name, &f, from, to)
            .ok_or_else(|| PageError::NotFound(format!("there is no chart called {name:?}")))?
    };
    let filename = format!(
        "earshot-{name}-{}-{}.csv",
        from.format("%Y%m%d"),
        to.format("%Y%m%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV of one chart; `None` for an unknown chart. Every field is a date, a fixed label
/// or a number, so nothing needs quoting (and nothing can start a spreadsheet formula).
pub fn csv_body(name: &str, f: &Figures, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<String> {
    let mut out = String::new();
    let m = &f.metrics;
    match name {
        "volume-intent" | "volume-sentiment" => {
            let labels: Vec<&str> = if name == "volume-intent" {
                Intent::ALL.iter().map(|i| i.as_str()).collect()
            } else {
                SentimentLabel::ALL.iter().map(|s| s.as_str()).collect()
            };
            out.push_str("day,");
            out.push_str(&labels.join(","));
            out.push_str(",total\n");
            for d in days(from, to) {
                let row = if name == "volume-intent" {
                    m.volume.by_day.get(&d)
                } else {
                    f.sentiment_by_day.get(&d)
                };
                let values: Vec<u64> = labels
                    .iter()
                    .map(|l| row.and_then(|r| r.get(*l)).copied().unwrap_or(0))
                    .collect();
                let total: u64 = values.iter().sum();
                let cells: Vec<String> = values.iter().map(u64::to_string).collect();
                out.push_str(&format!("{d},{},{total}\n", cells.join(",")));
            }
        }
        "first-response" => {
            out.push_str("weekday,hour,conversations,answered,median_first_response_secs,p90_first_response_secs,within_target,missed_target,within_target_share\n");
            for (d, row) in f.grid.iter().enumerate() {
                for (h, c) in row.iter().enumerate() {
                    out.push_str(&format!(
                        "{},{h:02},{},{},{},{},{},{},{}\n",
                        DAYS[d].to_lowercase(),
                        c.conversations,
                        c.answered,
                        opt(c.median_first_response_secs),
                        opt(c.p90_first_response_secs),
                        c.within_target,
                        c.missed_target,
                        opt(c.within_target_share.map(|s| format!("{s:.4}")))
                    ));
                }
            }
        }
        "within-target" => {
            out.push_str("weekday,conversations,within_target,missed_target,within_target_share,median_first_response_secs\n");
            for b in &m.by_weekday {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    b.key,
                    b.stats.conversations,
                    b.stats.within_target,
                    b.stats.missed_target,
                    opt(b.stats.within_target_share.map(|s| format!("{s:.4}"))),
                    opt(b.stats.median_first_response_secs)
                ));
            }
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
