//! What the CLI prints: tables for people, `--json` for scripts.

use crate::cli::InboxArgs;
use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, ContentArrangement, Table};
use earshot_core::priority::human;
use earshot_core::{ConversationId, Network, Status};
use earshot_server::config::Settings;
use earshot_server::desk::conversations::{InboxFilter, SearchQuery};
use earshot_server::Desk;

mod demo;
mod train;

pub use demo::demo;
pub use train::{train, train_from_corrections};

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().map(Cell::new));
    t
}

fn snippet(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max - 1).collect::<String>())
    }
}

fn parse_opt<T: std::str::FromStr>(name: &str, v: &Option<String>) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    v.as_deref()
        .map(|s| s.parse::<T>().map_err(|e| anyhow::anyhow!("--{name}: {e}")))
        .transpose()
}

pub async fn inbox(desk: &Desk, a: InboxArgs) -> anyhow::Result<()> {
    let status = if a.status == "all" {
        vec![Status::Open, Status::Pending, Status::Resolved]
    } else {
        a.status
            .split(',')
            .map(|s| {
                s.parse::<Status>()
                    .map_err(|e| anyhow::anyhow!("--status: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let filter = InboxFilter {
        status,
        network: parse_opt::<Network>("network", &a.network)?,
        language: a.language.map(|l| l.to_lowercase()),
        intent: parse_opt("intent", &a.intent)?,
        sentiment: parse_opt("sentiment", &a.sentiment)?,
        breached: a.breached.then_some(true),
        assignee: a
            .assignee
            .map(|s| if s == "none" { String::new() } else { s }),
        limit: a.limit.clamp(1, 500),
        offset: a.offset,
    };
    let now = Utc::now();
    let page = desk.inbox(&filter, now).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if page.items.is_empty() {
        println!("Nothing here: no conversation matches. Try --status all, or import posts with `earshot import`.");
        return Ok(());
    }
    let mut t = table(&[
        "id",
        "score",
        "network",
        "customer",
        "lang",
        "intent",
        "sentiment",
        "due",
        "assignee",
        "latest",
        "why",
    ]);
    for row in &page.items {
        let c = &row.conversation;
        let due = match c.response_due {
            Some(d) if d < now => Cell::new(format!("overdue {}", human(now - d))).fg(Color::Red),
            Some(d) if d - now < Duration::minutes(15) => {
                Cell::new(format!("in {}", human(d - now))).fg(Color::Yellow)
            }
            Some(d) => Cell::new(format!("in {}", human(d - now))),
            None => Cell::new("-"),
        };
        let who = match c.customer.followers {
            Some(f) => format!("@{} ({f})", c.customer.handle),
            None => format!("@{}", c.customer.handle),
        };
        t.add_row(vec![
            Cell::new(c.id),
            Cell::new(format!("{:.0} {}", c.priority.score, c.priority.band)),
            Cell::new(c.network),
            Cell::new(snippet(&who, 28)),
            Cell::new(&c.language),
            Cell::new(c.intent),
            Cell::new(c.sentiment),
            due,
            Cell::new(c.assignee.as_deref().unwrap_or("-")),
            Cell::new(snippet(&row.latest_text, 60)),
            Cell::new(snippet(&c.priority.explain(), 60)),
        ]);
    }
    println!("{t}");
    let total = page.total.map(|t| format!(" of {t}")).unwrap_or_default();
    println!("{} conversations shown{total}. `earshot show ID` to read one, `earshot reply ID \"…\"` to answer.", page.items.len());
    Ok(())
}

pub async fn show(desk: &Desk, id: ConversationId, json: bool) -> anyhow::Result<()> {
    let detail = desk
        .conversation(id)
        .await
        .with_context(|| format!("conversation {id}: `earshot inbox --status all` lists them"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(());
    }
    let c = &detail.conversation;
    println!(
        "Conversation {} on {} with @{} — {}, priority {:.0} ({})",
        c.id, c.network, c.customer.handle, c.status, c.priority.score, c.priority.band
    );
    println!("  why: {}", c.priority.explain());
    if let Some(secs) = c.first_response_secs {
        println!("  first response after {}", human(Duration::seconds(secs)));
    }
    if let Some(due) = c.response_due {
        println!("  answer due {}", due.format("%Y-%m-%d %H:%M UTC"));
    }
    println!();
    for p in &detail.posts {
        let who = if p.from_brand {
            format!("@{} (brand)", p.author.handle)
        } else {
            format!("@{}", p.author.handle)
        };
        println!(
            "{}  {who}  [{} · {} · {}]",
            p.created_at.format("%Y-%m-%d %H:%M"),
            p.analysis.language.language.code(),
            p.analysis.intent.label,
            p.analysis.sentiment.label
        );
        println!("    {}", p.text.replace('\n', "\n    "));
    }
    if !detail.replies.is_empty() {
        println!("\nReplies:");
        for r in &detail.replies {
            println!(
                "  #{} by {} — {}{}: {}",
                r.id,
                r.author,
                r.state,
                r.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
                snippet(&r.text, 80)
            );
        }
    }
    if !detail.audit.is_empty() {
        println!("\nAudit:");
        for a in &detail.audit {
            println!(
                "  {} {} {} {}",
                a.at.format("%Y-%m-%d %H:%M"),
                a.actor,
                a.action,
                a.detail
            );
        }
    }
    Ok(())
}

pub async fn search(desk: &Desk, q: &str, limit: u32, json: bool) -> anyhow::Result<()> {
    let page = desk
        .search(&SearchQuery {
            q: q.to_string(),
            network: None,
            language: None,
            intent: None,
            sentiment: None,
            limit: limit.clamp(1, 500),
            offset: 0,
        })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    let mut t = table(&["post", "conversation", "when", "author", "text"]);
    for hit in &page.items {
        let p = &hit.post;
        t.add_row(vec![
            Cell::new(p.id),
            Cell::new(
                p.conversation_id
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::new(p.created_at.format("%Y-%m-%d %H:%M")),
            Cell::new(format!("@{}", p.author.handle)),
            Cell::new(snippet(&p.text, 90)),
        ]);
    }
    println!("{t}");
    Ok(())
}

fn parse_time(v: &str) -> anyhow::Result<DateTime<Utc>> {
    earshot_server::metrics::parse_bound(v)
        .with_context(|| format!("{v:?} is not a date like 2026-11-01 or an RFC 3339 time"))
}

pub async fn metrics(
    desk: &Desk,
    s: &Settings,
    from: Option<String>,
    to: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let to = to.as_deref().map(parse_time).transpose()?.unwrap_or(now);
    let from = from
        .as_deref()
        .map(parse_time)
        .transpose()?
        .or_else(|| to.checked_sub_signed(Duration::days(30)))
        .context("--to is too early: give --from as well")?;
    if from >= to {
        bail!("--from must be before --to");
    }
    let (samples, volume) = desk.report_inputs(from, to).await?;
    let m = earshot_server::metrics::compute(&samples, &volume, from, to, s.timezone(), now);
    if json {
        println!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(());
    }
    let secs = |v: Option<i64>| {
        v.map(|s| human(Duration::seconds(s)))
            .unwrap_or_else(|| "-".into())
    };
    let share = |v: Option<f64>| {
        v.map(|s| format!("{:.0}%", s * 100.0))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "{} to {} ({})",
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d"),
        m.timezone
    );
    println!(
        "conversations {} · answered {} · first response median {} · p90 {} · within target {}",
        m.overall.conversations,
        m.overall.answered,
        secs(m.overall.median_first_response_secs),
        secs(m.overall.p90_first_response_secs),
        share(m.overall.within_target_share)
    );
    let mut t = table(&["weekday", "conversations", "median", "p90", "within target"]);
    for b in &m.by_weekday {
        t.add_row(vec![
            Cell::new(&b.key),
            Cell::new(b.stats.conversations),
            Cell::new(secs(b.stats.median_first_response_secs)),
            Cell::new(secs(b.stats.p90_first_response_secs)),
            Cell::new(share(b.stats.within_target_share)),
        ]);
    }
    println!("{t}");
    let bar =
        |n: u64, max: u64| "█".repeat(((n as f64 / max.max(1) as f64) * 30.0).round() as usize);
    let max_hour = m
        .by_hour
        .iter()
        .map(|b| b.stats.conversations)
        .max()
        .unwrap_or(1);
    println!("conversations opened by hour ({}):", m.timezone);
    for b in &m.by_hour {
        println!(
            "  {}  {:>5}  {:<30}  median {}",
            b.key,
            b.stats.conversations,
            bar(b.stats.conversations, max_hour),
            secs(b.stats.median_first_response_secs)
        );
    }
    println!(
        "volume by intent: {}",
        m.volume
            .by_intent
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    println!(
        "volume by sentiment: {}",
        m.volume
            .by_sentiment
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    Ok(())
}

pub async fn connectors_status(
    s: &Settings,
    url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let base = url.unwrap_or_else(|| format!("http://{}", s.listen));
    let mut request =
        reqwest::Client::new().get(format!("{}/api/v1/connectors", base.trim_end_matches('/')));
    if !s.api.token.is_empty() {
        request = request.bearer_auth(s.api.token.expose());
    }
    let response = request.send().await.with_context(|| {
        format!("cannot reach earshot at {base}: is `earshot serve` running? (or pass --url)")
    })?;
    if !response.status().is_success() {
        bail!(
            "{base} answered {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let reports: Vec<serde_json::Value> = response.json().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    if reports.is_empty() {
        println!("No connectors configured: add a [[connectors.mastodon]] block to earshot.toml (see the README).");
        return Ok(());
    }
    let mut t = table(&[
        "connector",
        "state",
        "last event",
        "events",
        "errors",
        "last error",
        "next retry",
    ]);
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string).unwrap_or_else(|| "-".into());
    for r in &reports {
        let state = text(&r["state"]);
        let colour = match state.as_str() {
            "connected" => Color::Green,
            "backing_off" | "starting" => Color::Yellow,
            _ => Color::Red,
        };
        t.add_row(vec![
            Cell::new(text(&r["name"])),
            Cell::new(&state).fg(colour),
            Cell::new(text(&r["last_event_at"])),
            Cell::new(r["events_total"].as_u64().unwrap_or(0)),
            Cell::new(r["errors_total"].as_u64().unwrap_or(0)),
            Cell::new(snippet(&text(&r["last_error"]), 60)),
            Cell::new(text(&r["next_retry_at"])),
        ]);
    }
    println!("{t}");
    Ok(())
}
