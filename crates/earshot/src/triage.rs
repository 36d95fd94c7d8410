//! `earshot rules test` and `earshot report`: the `[triage]` rules from the command line.

use crate::cli::{settings, Global};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use earshot_server::triage::{parse_dimension, test_sample, SamplePost, TriageDesk};

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Run the routing rules on a sample post and explain each rule's outcome.
    #[command(
        after_help = "Example:\n  earshot rules test --text \"@acme my order never came\" --network x --followers 150000 --lang en"
    )]
    Test {
        /// The sample post's text.
        #[arg(long)]
        text: String,
        /// x, mastodon, bluesky, reddit, rss or webhook.
        #[arg(long)]
        network: Option<String>,
        /// The author's followers.
        #[arg(long)]
        followers: Option<u64>,
        /// The language the network declared (else detected).
        #[arg(long)]
        lang: Option<String>,
        /// Print the facts and each rule's outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Date (2026-11-01) or RFC 3339 time; default 30 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Date or RFC 3339 time; default now.
    #[arg(long)]
    pub to: Option<String>,
    /// team, agent, network, intent, weekday, hour or business (default: all).
    #[arg(long)]
    pub group_by: Option<String>,
    /// CSV instead of JSON.
    #[arg(long)]
    pub csv: bool,
}

fn rules(g: &Global) -> anyhow::Result<earshot_core::triage::Triage> {
    settings(g)?.triage()?.context(
        "no [triage] section in the configuration: see the README's \"Triage: targets, routing, on-call\"",
    )
}

pub async fn rules_command(g: &Global, cmd: RulesCommand) -> anyhow::Result<()> {
    let RulesCommand::Test {
        text,
        network,
        followers,
        lang,
        json,
    } = cmd;
    let network = match network {
        None => None,
        Some(n) => Some(
            serde_json::from_value(serde_json::Value::String(n.to_ascii_lowercase())).map_err(
                |_| {
                    anyhow::anyhow!(
                        "--network {n:?}: use x, mastodon, bluesky, reddit, rss or webhook"
                    )
                },
            )?,
        ),
    };
    let s = settings(g)?;
    let rules = rules(g)?;
    let analyzer = earshot_server::app::analyzer(&s)?;
    let sample = SamplePost {
        text,
        network,
        followers,
        lang,
        at: None,
    };
    let (facts, trace) = test_sample(&rules, &analyzer, &sample);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"facts": facts, "trace": trace}))?
        );
    } else {
        println!(
            "sample: {} · {} · {} · band {} · {} followers · {}",
            facts.network,
            facts.language,
            facts.intent.as_str(),
            facts.band,
            facts.followers.map_or("?".into(), |f| f.to_string()),
            if facts.business_hours {
                "business hours"
            } else {
                "off hours"
            }
        );
        println!("{trace}");
    }
    Ok(())
}

pub async fn report(g: &Global, args: ReportArgs) -> anyhow::Result<()> {
    let s = settings(g)?;
    let rules = match s.triage()? {
        Some(rules) => rules,
        // Without [triage], every conversation is held to the [response] targets.
        None => {
            let mut plain = s.clone();
            plain.triage = Some(Default::default());
            plain
                .triage()?
                .context("the [response] settings cannot make a report")?
        }
    };
    let now = chrono::Utc::now();
    let bound = |flag: &str, v: &str| {
        earshot_server::metrics::parse_bound(v)
            .with_context(|| format!("--{flag} {v:?} is not a date (2026-11-01) or RFC 3339 time"))
    };
    let to = args
        .to
        .as_deref()
        .map(|v| bound("to", v))
        .transpose()?
        .unwrap_or(now);
    let from = match args.from.as_deref() {
        Some(v) => bound("from", v)?,
        None => to - chrono::Duration::days(30),
    };
    if from >= to {
        bail!("--from must be before --to");
    }
    let group_by = match args.group_by.as_deref() {
        None => None,
        Some(w) => Some(parse_dimension(w).with_context(|| {
            format!("--group-by {w:?}: use team, agent, network, intent, weekday, hour or business")
        })?),
    };
    let desk = earshot_server::app::desk(&s).await?;
    let report = TriageDesk::new(rules)
        .report(desk.pipeline(), from, to, group_by, now)
        .await?;
    if args.csv {
        print!("{}", report.to_csv());
    } else {
        println!("{}", report.to_json()?);
    }
    Ok(())
}
