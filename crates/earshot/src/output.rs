//! What the CLI prints: tables for people, `--json` for scripts.

use crate::cli::{settings, DemoArgs, Global, InboxArgs};
use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Color, ContentArrangement, Table};
use earshot_core::priority::human;
use earshot_core::{ConversationId, Network, Status};
use earshot_server::config::{Secret, Settings};
use earshot_server::desk::conversations::{InboxFilter, SearchQuery};
use earshot_server::Desk;
use std::path::{Path, PathBuf};

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

pub fn train(s: &Settings, file: &Path, task: &str, out: Option<PathBuf>) -> anyhow::Result<()> {
    use earshot_analyze::train::{self as t, Task};
    use earshot_analyze::Model;
    let task: Task = task.parse().map_err(|e| anyhow::anyhow!("--task: {e}"))?;
    let out = out.unwrap_or_else(|| earshot_server::app::model_path(&s.data_dir));
    let examples = t::read_examples(file)
        .with_context(|| format!("cannot read labelled examples from {}", file.display()))?;
    let started = std::time::Instant::now();
    // Adapt what is in use now: an earlier adaptation (so sentiment and intent files can be
    // taught one after the other), else the model compiled into earshot.
    // A model folded from agents' corrections is not adapted again: its base is (see
    // `earshot_server::retrain`), so corrections are never counted twice.
    let default_out = out == earshot_server::app::model_path(&s.data_dir);
    let base_file = earshot_server::retrain::base_path(&s.data_dir);
    let from = if default_out && base_file.exists() {
        &base_file
    } else {
        &out
    };
    let base = match Model::load(from) {
        Ok(existing) if existing.header().name != earshot_server::retrain::CORRECTIONS_MODEL => {
            existing
        }
        _ => Model::shipped()
            .map_err(|e| anyhow::anyhow!("the shipped model does not load: {e}"))?
            .clone(),
    };
    let version = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let model = t::adapt(&base, "earshot-trained", &version, task, &examples)
        .with_context(|| format!("training {task} from {}", file.display()))?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    model
        .save(&out)
        .with_context(|| format!("cannot save the model to {}", out.display()))?;
    if default_out {
        // What agents' corrections are folded into from now on.
        model
            .save(&base_file)
            .with_context(|| format!("cannot save the model to {}", base_file.display()))?;
    }
    println!(
        "adapted {} to {} {task} examples in {:.1} s; model {} saved to {}",
        base.id(),
        examples.len(),
        started.elapsed().as_secs_f64(),
        model.id(),
        out.display()
    );
    println!("earshot uses it from the next start (serve, import, demo, analyze).");
    if default_out {
        println!("agents' corrections are folded into it by `earshot train --corrections`.");
    }
    Ok(())
}

/// `earshot train --corrections`: folds the agents' stored corrections into the team's base
/// model and saves the result as the team's model (or at `out`).
pub async fn train_from_corrections(s: &Settings, out: Option<PathBuf>) -> anyhow::Result<()> {
    use earshot_server::retrain;
    let started = std::time::Instant::now();
    let desk = earshot_server::app::desk(s).await?;
    let folded = match out {
        None => retrain::retrain(&desk, &s.data_dir).await?,
        Some(out) => {
            let corrections = desk.current_corrections().await?;
            let base = retrain::base_model(&s.data_dir)?;
            let version = Utc::now().format("%Y%m%d%H%M%S").to_string();
            let folded = retrain::fold(&base, &corrections, &version)?;
            if let Ok(r) = &folded {
                if let Some(parent) = out.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                r.model
                    .save(&out)
                    .with_context(|| format!("cannot save the model to {}", out.display()))?;
            }
            folded
        }
    };
    match folded {
        Ok(r) => {
            println!(
                "folded {} agents' corrections ({} intent, {} sentiment) on {} posts into {} in {:.1} s; model {} is the team's model now",
                r.intent + r.sentiment,
                r.intent,
                r.sentiment,
                r.posts,
                r.base,
                started.elapsed().as_secs_f64(),
                r.model.id(),
            );
            if r.language_not_learned > 0 {
                println!(
                    "{} language corrections are kept and shown but not learned (the language model is not adapted).",
                    r.language_not_learned
                );
            }
            println!("earshot uses it from the next start (serve, import, demo, analyze).");
            Ok(())
        }
        Err(why) => bail!("nothing trained: {why}"),
    }
}

/// Fills a fresh store with the scenario and serves it; `crate::demo::run` chose the data
/// directory and removes it afterwards when it was a temporary one.
pub async fn demo(g: &Global, args: DemoArgs) -> anyhow::Result<()> {
    let mut s = settings(g)?;
    if g.db.is_none() {
        s.db = String::new();
    }
    std::fs::create_dir_all(&s.data_dir)
        .with_context(|| format!("cannot create {}", s.data_dir.display()))?;
    let db = s.db_url();
    if !db.starts_with("postgres") && Path::new(&db).exists() {
        bail!("{db} already exists: the demo needs a fresh store (pass another --data-dir, or delete it)");
    }
    use earshot_server::demo;
    s.brand.handles = vec![demo::BRAND_HANDLE.into()];
    s.brand.names = demo::BRAND_NAMES.iter().map(|n| n.to_string()).collect();
    s.brand.keywords = demo::KEYWORDS.iter().map(|n| n.to_string()).collect();
    s.response.clock = "business".into();
    s.response.timezone = demo::TIMEZONE.into();
    if s.triage.is_none() {
        s.triage = Some(demo::triage().context("the demo's [triage] does not parse")?);
    }
    s.response.hours = [("mon-sun".to_string(), "08:00-23:00".to_string())]
        .into_iter()
        .collect();
    if s.webhook.secret.is_empty() {
        s.webhook.secret = Secret::new(format!(
            "demo-{}",
            earshot_server::web::auth::random_token(24)
        ));
    }
    s.listen = args.listen.clone();
    let config = crate::demo::write_config(&s)?;

    let desk = earshot_server::app::desk(&s).await?;
    let posts = demo::scenario(args.seed, Utc::now(), args.posts);
    let bar = indicatif::ProgressBar::new(posts.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "filling the demo store {bar:40} {pos}/{len} posts ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for chunk in posts.chunks(1000) {
        desk.pipeline().ingest(chunk.to_vec()).await?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    // Like a real team, the demo's agents have closed answered conversations that went quiet.
    let quiet = Utc::now() - Duration::days(3);
    let pending = desk
        .inbox(
            &InboxFilter {
                status: vec![Status::Pending],
                limit: 500,
                ..InboxFilter::default()
            },
            Utc::now(),
        )
        .await?;
    let mut offset = 0;
    let mut page = pending;
    loop {
        let n = page.items.len();
        for row in &page.items {
            if row.conversation.last_activity_at < quiet {
                desk.act(
                    row.conversation.id,
                    earshot_core::ConversationEvent::Resolved,
                    "demo-agent",
                )
                .await?;
            } else {
                offset += 1;
            }
        }
        if n < 500 {
            break;
        }
        page = desk
            .inbox(
                &InboxFilter {
                    status: vec![Status::Pending],
                    limit: 500,
                    offset,
                    ..InboxFilter::default()
                },
                Utc::now(),
            )
            .await?;
    }
    desk.pipeline().rescore().await?;
    demo_loop(&desk).await?;
    demo::answer_surveys(&desk, args.seed).await?;
    // People to sign in with: the web inbox needs an account; the API a token.
    let people = desk.people().demo_people().await?;
    let token = desk.people().demo_token(&people.agent.0).await?;
    let counts = desk.counts().await?;
    println!(
        "demo store ready: {} posts, {} conversations ({} open) in {}",
        counts.posts,
        counts.conversations,
        counts.open_conversations,
        s.data_dir.display()
    );
    println!(
        "  its settings: earshot --config {} inbox   (or report, metrics, search …){}",
        config.display(),
        if g.db.is_some() {
            ", with the same --db"
        } else {
            ""
        }
    );
    if args.no_serve {
        return Ok(());
    }
    let app = match earshot_server::App::with_desk(s.clone(), desk.clone()).await {
        Ok(app) => app,
        Err(_) => {
            // The port is taken: any free one will do for a demo.
            s.listen = "127.0.0.1:0".into();
            earshot_server::App::with_desk(s.clone(), desk).await?
        }
    };
    let addr = app.address();
    println!("\nearshot demo is running at {addr}\n");
    println!("  open {addr}/ in a browser and sign in:");
    println!(
        "    agent: {} / {}",
        people.agent.0,
        people.agent.1.expose()
    );
    println!(
        "    admin: {} / {}\n",
        people.admin.0,
        people.admin.1.expose()
    );
    println!(
        "  the API takes a token; this one acts as {} (read, reply, act):",
        people.agent.0
    );
    println!("    export EARSHOT_TOKEN={}", token.expose());
    let auth = "-H \"Authorization: Bearer $EARSHOT_TOKEN\"";
    println!("  ranked inbox:   curl -s {auth} '{addr}/api/v1/inbox?limit=5'");
    println!("  breached:       curl -s {auth} '{addr}/api/v1/inbox?breached=true'");
    println!("  search:         curl -s {auth} '{addr}/api/v1/search?q=s%C3%A6det'");
    println!("  metrics:        curl -s {auth} '{addr}/api/v1/metrics'");
    println!("  API document:   curl -s {auth} '{addr}/api/openapi.json'");
    println!(
        "  webhook secret: {} (sign POST /api/v1/posts with it)",
        s.webhook.secret.expose()
    );
    println!(
        "\n  replies: the demo has no network connectors, so a reply is kept as \"not sent\" with\n  the reason (nothing pretends to post it); add [[connectors.*]] to answer for real."
    );
    println!("\nCtrl-C to stop.");
    app.run_until_stopped().await
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

/// The loop in the demo: the most wanted request gets a promise from an agent's reply, the
/// second one has shipped (its askers told), so the requests, promise and release pages show
/// real entries.
async fn demo_loop(desk: &std::sync::Arc<earshot_server::Desk>) -> anyhow::Result<()> {
    use earshot_core::feedback::{PromiseState, ReleaseVersion};
    use earshot_server::desk::promises::Confirmation;
    use earshot_server::desk::releases::ReleaseDraft;
    let ranked = desk.requests().ranked(None).await?;
    let mut top = ranked.iter().map(|r| r.request.id);
    if let Some(wanted) = top.next() {
        let detail = desk.requests().detail(wanted, 1).await?;
        // A promise is made by a reply that went out: only where earshot can post.
        let answerable = detail
            .posts
            .iter()
            .find(|p| desk.can_answer(p.network))
            .and_then(|p| p.conversation_id);
        if let Some(ask) = answerable {
            let reply =
                "Good point, we will add that in an upcoming release. Thanks for telling us!";
            if desk
                .reply(
                    ask,
                    reply,
                    "demo-agent",
                    Some(format!("demo-promise-{}", wanted.0)),
                )
                .await
                .is_ok()
            {
                let proposed = desk
                    .promises()
                    .ledger(Some(PromiseState::Proposed))
                    .await?
                    .into_iter()
                    .find(|p| p.promise.request_id == Some(wanted));
                if let Some(p) = proposed {
                    let due = (Utc::now() + Duration::days(14)).date_naive();
                    let c = Confirmation {
                        due_on: Some(due),
                        ..Confirmation::default()
                    };
                    desk.promises()
                        .confirm(p.promise.id, "demo-agent", c)
                        .await?;
                }
            }
        }
    }
    if let Some(shipped) = top.next() {
        let release = ReleaseDraft {
            version: ReleaseVersion::parse("demo-2026.1")?,
            shipped_at: None,
            notes: "What customers asked for most".into(),
            link: None,
            requests: vec![shipped],
        };
        let releases = desk.releases();
        let outcome = releases.record(release, "demo-pm", false).await?;
        if let Some(r) = outcome.release.clone().filter(|_| outcome.newly_recorded) {
            releases
                .notify_now(
                    r,
                    outcome.notifications,
                    earshot_server::feedback::NotifyPace::none(),
                )
                .await?;
        }
    }
    Ok(())
}
