//! `earshot requests`, `earshot promises`, `earshot release`: the loop from the command line.

use crate::cli::{settings, Global};
use anyhow::{bail, Context};
use clap::Subcommand;
use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};
use earshot_core::feedback::{
    PromiseState, ReleaseVersion, RequestId, RequestStatus, RequestTitle, Skip,
};
use earshot_server::desk::releases::ReleaseDraft;
use earshot_server::desk::requests::ASKS_SHOWN;
use earshot_server::feedback::NotifyPace;

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    t
}

fn request_id(raw: &str) -> anyhow::Result<RequestId> {
    RequestId::parse(raw).with_context(|| "see `earshot requests list`")
}

#[derive(Subcommand, Debug)]
pub enum RequestsCommand {
    /// Requests ranked by demand: how many asked, their reach, the trend, the languages.
    #[command(
        after_help = "Examples:\n  earshot requests list\n  earshot requests list --status shipped --json"
    )]
    List {
        /// open, planned, shipped, declined (default: all but merged).
        #[arg(long)]
        status: Option<String>,
        /// At most this many requests.
        #[arg(long, default_value_t = 25)]
        limit: usize,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// One request: its asks (newest first) and its promises.
    #[command(after_help = "Example:\n  earshot requests show R12")]
    Show {
        /// The request's id, e.g. R12.
        id: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fold one request into another (the grouping learns from it).
    #[command(after_help = "Example:\n  earshot requests merge R14 --into R12 --as maria")]
    Merge {
        /// The request to fold in, e.g. R14.
        id: String,
        /// The request that keeps its asks and promises, e.g. R12.
        #[arg(long)]
        into: String,
        /// Who is merging (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Give a request a clearer title.
    #[command(
        after_help = "Example:\n  earshot requests rename R12 \"Move the seat back when parked\""
    )]
    Rename {
        /// The request's id, e.g. R12.
        id: String,
        /// The new title.
        title: String,
    },
}

pub async fn requests(g: &Global, cmd: RequestsCommand) -> anyhow::Result<()> {
    let desk = earshot_server::app::desk(&settings(g)?).await?;
    let requests = desk.requests();
    match cmd {
        RequestsCommand::List {
            status,
            limit,
            json,
        } => {
            let status = status
                .as_deref()
                .map(|s| {
                    RequestStatus::parse(s).with_context(|| {
                        format!("--status {s:?}: use open, planned, shipped, declined or merged")
                    })
                })
                .transpose()?;
            let ranked: Vec<_> = requests
                .ranked(status)
                .await?
                .into_iter()
                .take(limit)
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&ranked)?);
                return Ok(());
            }
            if ranked.is_empty() {
                println!("No requests yet: they appear as customers ask for things (feature requests are grouped as they arrive).");
                return Ok(());
            }
            let mut t = table(&[
                "id",
                "askers",
                "reach",
                "last 7 d",
                "trend",
                "languages",
                "status",
                "title",
            ]);
            for r in &ranked {
                let q = &r.request;
                let langs: Vec<String> = q
                    .languages
                    .iter()
                    .map(|(l, n)| format!("{l}:{n}"))
                    .collect();
                t.add_row(vec![
                    q.id.to_string(),
                    q.askers.to_string(),
                    q.reach.to_string(),
                    q.asks_last_7d.to_string(),
                    r.trend
                        .map(|x| format!("×{x:.1}"))
                        .unwrap_or_else(|| "new".into()),
                    langs.join(" "),
                    q.status.as_str().to_string(),
                    q.title.clone(),
                ]);
            }
            println!("{t}");
        }
        RequestsCommand::Show { id, json } => {
            let id = request_id(&id)?;
            let detail = requests
                .detail(id, ASKS_SHOWN)
                .await
                .context("see `earshot requests list`")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
                return Ok(());
            }
            let r = &detail.request;
            println!("{} {} [{}]", r.id, r.title, r.status.as_str());
            println!(
                "{} customers asked ({} posts), reach {}, first {}, latest {}",
                r.askers,
                r.posts,
                r.reach,
                r.first_ask_at.format("%Y-%m-%d %H:%M"),
                r.latest_ask_at.format("%Y-%m-%d %H:%M")
            );
            for p in &detail.promises {
                println!(
                    "  promise {} ({}, {}): {}",
                    p.id,
                    p.kind.as_str(),
                    p.state.as_str(),
                    p.evidence
                );
            }
            for p in &detail.posts {
                println!(
                    "  [{} {} @{}] {}",
                    p.network,
                    p.analysis.language.language.code(),
                    p.author.handle,
                    p.text.chars().take(140).collect::<String>()
                );
            }
        }
        RequestsCommand::Merge { id, into, actor } => {
            let (from, into) = (request_id(&id)?, request_id(&into)?);
            requests.merge(from, into, &actor).await?;
            println!("{from} is now part of {into}.");
        }
        RequestsCommand::Rename { id, title } => {
            let id = request_id(&id)?;
            let title = RequestTitle::parse(&title)?;
            requests.rename(id, &title).await?;
            println!("{id} is now titled {:?}.", title.as_str());
        }
    }
    Ok(())
}

/// `earshot promises`: the ledger.
pub async fn promises(g: &Global, state: Option<String>, json: bool) -> anyhow::Result<()> {
    let desk = earshot_server::app::desk(&settings(g)?).await?;
    let state = state
        .as_deref()
        .map(|s| {
            PromiseState::parse(s).with_context(|| {
                format!("--state {s:?}: use proposed, confirmed, kept, broken or dismissed")
            })
        })
        .transpose()?;
    let ledger = desk.promises().ledger(state).await?;
    let promises: Vec<_> = ledger.iter().map(|e| &e.promise).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&promises)?);
        return Ok(());
    }
    if promises.is_empty() {
        println!("No promises on the ledger. They are proposed when a reply commits to something (\"we will add that\").");
        return Ok(());
    }
    let mut t = table(&["id", "state", "kind", "request", "due", "made", "evidence"]);
    for entry in &ledger {
        let p = &entry.promise;
        let due = match (p.due_on, &p.target_release) {
            (Some(d), _) if entry.overdue => format!("{d} OVERDUE"),
            (Some(d), _) => d.to_string(),
            (None, Some(r)) => format!("release {r}"),
            (None, None) => "-".into(),
        };
        t.add_row(vec![
            p.id.to_string(),
            p.state.as_str().to_string(),
            p.kind.as_str().to_string(),
            p.request_id
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            due,
            p.made_at.format("%Y-%m-%d").to_string(),
            p.evidence.clone(),
        ]);
    }
    println!("{t}");
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The version shipped, e.g. 2026.48.
    pub version: String,
    /// Requests it ships (comma-separated ids).
    #[arg(long, value_delimiter = ',', required = true)]
    pub ships: Vec<String>,
    /// Release notes, kept with the release.
    #[arg(long, default_value = "")]
    pub notes: String,
    /// A public page about the release, linked in the notifications.
    #[arg(long)]
    pub url: Option<String>,
    /// Show who would be told what; record and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Who records it (for the audit trail).
    #[arg(long = "as", default_value = "cli")]
    pub actor: String,
    /// Print the plan or the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `earshot release`: record it, keep its promises, tell everyone who asked.
pub async fn release(g: &Global, a: ReleaseArgs) -> anyhow::Result<()> {
    let desk = earshot_server::app::desk(&settings(g)?).await?;
    let request_ids = a
        .ships
        .iter()
        .map(|s| request_id(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let draft = ReleaseDraft {
        version: ReleaseVersion::parse(&a.version)?,
        shipped_at: None,
        notes: a.notes,
        link: earshot_core::feedback::ReleaseLink::parse_optional(a.url.as_deref())?,
        requests: request_ids,
    };
    let releases = desk.releases();
    let outcome = releases.record(draft, &a.actor, a.dry_run).await?;
    if a.json && a.dry_run {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
        return Ok(());
    }
    let to_tell = outcome
        .notifications
        .iter()
        .filter(|n| n.skip.is_none())
        .count();
    for n in &outcome.notifications {
        let why = match n.skip {
            None => "tell".to_string(),
            Some(Skip::OptedOut) => "skip: opted out".into(),
            Some(Skip::AlreadyNotified) => "skip: already told".into(),
            Some(Skip::NoReplyChannel) => "skip: cannot reply there".into(),
        };
        if !a.json {
            println!(
                "{:<24} {:<9} @{:<20} {}",
                why,
                n.ask.network.as_str(),
                n.ask.author_handle,
                n.text
            );
        }
    }
    if a.dry_run {
        println!("Dry run: {to_tell} customers would be told, {} promises kept. Nothing was recorded or sent.", outcome.promises_kept);
        return Ok(());
    }
    let Some(release) = outcome.release.clone() else {
        bail!("the release was not recorded");
    };
    if !outcome.newly_recorded {
        eprintln!(
            "Release {} was recorded before: telling only those not yet told.",
            release.version
        );
    }
    let sent = releases
        .notify_now(
            release.clone(),
            outcome.notifications.clone(),
            NotifyPace::default(),
        )
        .await?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"release": release, "promises_kept": outcome.promises_kept, "sent": sent})
            )?
        );
    } else {
        println!(
            "Release {} recorded: {} promises kept, {sent} of {to_tell} customers told (failed sends are retried with the same key).",
            release.version, outcome.promises_kept
        );
    }
    Ok(())
}
