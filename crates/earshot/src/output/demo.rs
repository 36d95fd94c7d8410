//! `earshot demo`: the scenario loaded, the server started, and the live loop that keeps the
//! demo moving.

use crate::cli::{settings, DemoArgs, Global};
use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use earshot_core::Status;
use earshot_server::config::Secret;
use earshot_server::desk::conversations::InboxFilter;
use std::path::Path;

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
