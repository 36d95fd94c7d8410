use crate::output;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use earshot_core::{ConversationEvent, ConversationId};
use earshot_server::config::Settings;
use earshot_server::{App, Desk};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "earshot",
    version,
    about = "Hear every customer, answer where they spoke, close the loop.",
    long_about = "earshot hears customers who mention your company on social networks, understands each post \
(language, sentiment, intent, urgency, reach), ranks them in an inbox with response targets, lets agents \
answer where the customer spoke, and measures how fast and how well the team answers.",
    after_help = "Examples:
  earshot demo                                  # a demo server with three weeks of realistic posts
  earshot serve --config earshot.toml           # run the server
  earshot import twcs.csv mentions.jsonl        # take in posts from files (format detected)
  earshot inbox --breached                      # what is past its response target
  earshot reply 42 \"Thanks, a fix is on its way\" --as maria
  earshot resolve 42 --as maria
  earshot metrics --from 2026-11-01

Settings come from earshot.toml (or --config) and EARSHOT__SECTION__KEY environment variables;
`earshot config check` explains what is wrong with them."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Log what happens (or set EARSHOT_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Config file (default: ./earshot.toml when it exists).
    #[arg(long, global = true, env = "EARSHOT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store URL: a SQLite file path, or postgres://user@host/db. Overrides `db` in the config.
    #[arg(long, global = true)]
    pub db: Option<String>,
    /// Data directory for the embedded store and trained models.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: API on --listen, re-ranking and reply retries in the background.
    #[command(
        after_help = "Examples:\n  earshot serve\n  earshot serve --db postgres://earshot@db/earshot\n\nBeyond 127.0.0.1 earshot needs a TLS-terminating proxy in front:\n  EARSHOT__HTTP__PUBLIC_URL=https://care.example.com EARSHOT__HTTP__TRUSTED_PROXIES='[\"10.0.0.2\"]' \\\n    earshot serve --listen 0.0.0.0:8080"
    )]
    Serve {
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Start a server on a fresh embedded store filled with a realistic scenario.
    #[command(
        after_help = "Examples:\n  earshot demo\n  earshot demo --listen 127.0.0.1:9090 --posts 5000"
    )]
    Demo(DemoArgs),
    /// Take in posts from files: canonical JSONL, the "Customer Support on Twitter" CSV,
    /// Mastodon statuses/notifications, Bluesky Jetstream events, X API v2 stream lines,
    /// Telegram Bot API updates, Discord message objects, Google Play reviews or YouTube comments.
    #[command(
        after_help = "Examples:\n  earshot import twcs.csv\n  earshot import jetstream.jsonl mastodon.json --batch 2000\n  earshot import telegram-updates.json discord-messages.json\n  earshot import play-reviews.json youtube-threads.json\n\nA malformed line is reported with its line number and skipped; everything else is kept.\nImporting the same file twice stores nothing new."
    )]
    Import {
        /// Files to read; each file's format is detected from its content.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Posts per transaction.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The ranked inbox: conversations owed an answer, most pressing first.
    #[command(
        after_help = "Examples:\n  earshot inbox\n  earshot inbox --language da --intent complaint\n  earshot inbox --breached --json\n  earshot inbox --assignee none --status open,pending"
    )]
    Inbox(InboxArgs),
    /// Show one conversation: its posts, replies and audit trail.
    #[command(after_help = "Example:\n  earshot show 42")]
    Show {
        /// The conversation's number (as the inbox lists it).
        id: i64,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer a conversation on the customer's network (stored before sending).
    #[command(
        after_help = "Examples:\n  earshot reply 42 \"Thanks! A fix ships on Monday.\" --as maria\n  earshot reply 42 \"...\" --key retry-42-1   # same key never posts twice"
    )]
    Reply {
        /// The conversation's number.
        id: i64,
        /// The answer, as the customer will read it (checked against the network's length limit).
        text: String,
        /// Who is answering (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        agent: String,
        /// Idempotency key: sending again with the same key never posts twice.
        #[arg(long)]
        key: Option<String>,
    },
    /// Assign a conversation to an agent.
    #[command(after_help = "Example:\n  earshot assign 42 maria --as lead")]
    Assign {
        /// The conversation's number.
        id: i64,
        /// Who takes it.
        agent: String,
        /// Who is assigning (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Remove the assignee.
    #[command(after_help = "Example:\n  earshot unassign 42 --as maria")]
    Unassign {
        /// The conversation's number.
        id: i64,
        /// Who is acting (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Mark a conversation pending (waiting on the customer): the response clock stops.
    #[command(after_help = "Example:\n  earshot pend 42 --as maria")]
    Pend {
        /// The conversation's number.
        id: i64,
        /// Who is acting (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Resolve a conversation.
    #[command(after_help = "Example:\n  earshot resolve 42 --as maria")]
    Resolve {
        /// The conversation's number.
        id: i64,
        /// Who is acting (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Reopen a resolved or pending conversation: an answer is owed again.
    #[command(after_help = "Example:\n  earshot reopen 42 --as maria")]
    Reopen {
        /// The conversation's number.
        id: i64,
        /// Who is acting (for the audit trail).
        #[arg(long = "as", default_value = "cli")]
        actor: String,
    },
    /// Full-text search over every post.
    #[command(
        after_help = "Examples:\n  earshot search \"charger broken\"\n  earshot search sædet --json"
    )]
    Search {
        /// Words to find; every word must occur (a word is matched with its other endings).
        query: String,
        /// At most this many posts.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Response-time metrics: first response median and p90, share within target, volume.
    #[command(
        after_help = "Examples:\n  earshot metrics\n  earshot metrics --from 2026-11-01 --to 2026-11-08 --json"
    )]
    Metrics {
        /// Start: a date (2026-11-01) or an RFC 3339 time; default 30 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// End: a date or an RFC 3339 time; default now.
        #[arg(long)]
        to: Option<String>,
        /// Print the metrics as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What earshot understands of each line of a file or of standard input: language,
    /// sentiment with its probability, intent, urgency, safety and the evidence.
    #[command(
        after_help = "Examples:\n  earshot analyze posts.txt\n  cat mentions.jsonl | earshot analyze --format jsonl -\n  earshot analyze big.jsonl --format jsonl --output analysed.jsonl\n\nA line is plain text or a canonical JSON post (as `earshot import` reads). Each input line\ngives one output line in order; a JSON line without a text gives {\"line\": n, \"error\": ..}.\nThe shipped model is used, or your adapted one from `earshot train`."
    )]
    Analyze(crate::analyze::AnalyzeArgs),
    /// Adapt the shipped model to your own labelled posts (CSV or JSONL of text,label), or to
    /// your agents' corrections (--corrections).
    #[command(
        after_help = "Examples:\n  earshot train labelled.csv --task sentiment\n  earshot train tickets.jsonl --task intent\n  earshot train --corrections\n\nIntent labels: complaint, feature_request, question, praise, other. Sentiment labels:\nnegative, neutral, positive. The shipped model (or your earlier adaptation) is the\nstarting point, so what it learned from public data is kept. The result is saved in the\ndata directory and used by every later run; delete it to go back to the shipped model.\n\n--corrections folds the intent and sentiment corrections agents made (conversation page,\nPOST /api/v1/posts/{id}/corrections) into the shipped model, or into your adaptation from a\nfile (kept as model.base.bin), and saves the result as the team's model. `serve` can do it\nby itself: [analysis] retrain_from_corrections = \"daily\"."
    )]
    Train {
        /// Labelled examples: a CSV with `text,label` columns, or JSONL with those fields.
        #[arg(
            required_unless_present = "corrections",
            conflicts_with = "corrections"
        )]
        file: Option<PathBuf>,
        /// sentiment or intent
        #[arg(long, required_unless_present = "corrections")]
        task: Option<String>,
        /// Learn from the corrections agents stored instead of a file.
        #[arg(long)]
        corrections: bool,
        /// Where to write the model (default: <data-dir>/model.bin).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure earshot's speed; each figure is reported beside a baseline from the same run.
    #[command(
        subcommand,
        after_help = "Examples:\n  earshot bench analyze --data ../shared/data\n  earshot bench import --posts 200000\n  earshot bench latency --rate 1000\n  earshot --data-dir /tmp/earshot-1m bench query\n  earshot bench triage --data ../shared/data"
    )]
    Bench(crate::bench::BenchCommand),
    /// The network connectors: their health on a running server.
    #[command(
        subcommand,
        after_help = "Example:\n  earshot connectors status\n  earshot connectors status --url http://10.0.0.5:8080"
    )]
    Connectors(ConnectorsCommand),
    /// The cluster bus (cluster mode): the heard posts that failed too often, and replaying them.
    #[command(subcommand)]
    Bus(crate::bus::BusCommand),
    /// Check the configuration and say what is wrong.
    #[command(
        subcommand,
        after_help = "Example:\n  EARSHOT__RESPONSE__CLOCK=business earshot config check"
    )]
    Config(ConfigCommand),
    /// People and API tokens: create the first admin, list, create and revoke tokens.
    #[command(
        subcommand,
        after_help = "Examples:\n  earshot admin create-user anna --role admin\n  earshot admin create-token --user maria --name export --scopes read"
    )]
    Admin(crate::admin::AdminCommand),
    /// Alert targets: send a test alert to each (Slack, signed webhook, email).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Product requests: what customers ask for, grouped and ranked by demand.
    #[command(subcommand)]
    Requests(crate::feedback::RequestsCommand),
    /// The promise ledger: proposed, confirmed, kept, broken.
    #[command(
        after_help = "Examples:\n  earshot promises\n  earshot promises --state broken --json"
    )]
    Promises {
        /// Only promises in this state: proposed, confirmed, kept, broken or dismissed.
        #[arg(long)]
        state: Option<String>,
        /// Print the ledger as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record a release: its requests ship, their promises are kept, and every customer who asked is told.
    #[command(
        after_help = "Examples:\n  earshot release 2026.48 --ships R12,R15 --dry-run\n  earshot release 2026.48 --ships R12 --url https://example.com/changelog/2026.48"
    )]
    Release(crate::feedback::ReleaseArgs),
    /// Routing rules ([triage]): test them on a sample post.
    #[command(subcommand)]
    Rules(crate::triage::RulesCommand),
    /// Response times by team, agent, network, intent, weekday, hour or business hours, with breaches.
    #[command(
        after_help = "Examples:\n  earshot report --from 2026-11-01 --group-by team\n  earshot report --group-by business --csv"
    )]
    Report(crate::triage::ReportArgs),
}

#[derive(Subcommand, Debug)]
pub enum ConnectorsCommand {
    /// Try each configured credential against its network and say plainly what is wrong.
    #[command(
        after_help = "Example:\n  earshot connectors check\n  EARSHOT__CONNECTORS__X__0__MODE=poll earshot connectors check --json"
    )]
    Check {
        /// Print each connector's result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running server how each connector is doing: state, last event, events, errors, next retry.
    #[command(after_help = "Example:\n  earshot connectors status --json")]
    Status {
        /// The server (default: http://<listen> from the config).
        #[arg(long)]
        url: Option<String>,
        /// Print the connectors' states as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Send a test alert to every configured target and say which arrived.
    #[command(after_help = "Example:\n  earshot alerts test")]
    Test,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Load the config and environment overrides, check them, and print the result (secrets hidden).
    #[command(
        after_help = "Examples:\n  earshot config check\n  earshot --config /etc/earshot/earshot.toml config check"
    )]
    Check,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Address to listen on; a free port is picked if it is taken.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Customer posts to generate (brand answers and follow-ups come on top).
    #[arg(long, default_value_t = 3000)]
    pub posts: usize,
    /// Seed of the scenario: the same seed gives the same posts.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Fill the store and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Args, Debug)]
pub struct InboxArgs {
    /// open, pending, resolved (comma-separated) or all.
    #[arg(long, default_value = "open")]
    pub status: String,
    /// Only one network: x, mastodon, bluesky, reddit, rss or webhook.
    #[arg(long)]
    pub network: Option<String>,
    /// Only one language (ISO 639-1 code, e.g. da).
    #[arg(long)]
    pub language: Option<String>,
    /// Only one intent: question, complaint, feature_request, praise or other.
    #[arg(long)]
    pub intent: Option<String>,
    /// Only one sentiment: negative, neutral or positive.
    #[arg(long)]
    pub sentiment: Option<String>,
    /// Only conversations past their response target.
    #[arg(long)]
    pub breached: bool,
    /// An agent, or `none` for unassigned.
    #[arg(long)]
    pub assignee: Option<String>,
    /// At most this many conversations.
    #[arg(long, default_value_t = 25)]
    pub limit: u32,
    /// Skip this many first (for the next page).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Print the page as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn settings(global: &Global) -> anyhow::Result<Settings> {
    let mut s = Settings::load(global.config.as_deref())?;
    if let Some(db) = &global.db {
        s.db = db.clone();
    }
    if let Some(d) = &global.data_dir {
        s.data_dir = d.clone();
    }
    Ok(s)
}

async fn desk(global: &Global) -> anyhow::Result<Arc<Desk>> {
    let s = settings(global)?;
    earshot_server::app::desk(&s).await
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Serve { listen } => {
            let mut s = settings(g)?;
            if let Some(l) = listen {
                s.listen = l;
            }
            s.check()?;
            let app = App::build(s).await?;
            eprintln!("earshot is listening on {} (Ctrl-C to stop)", app.address());
            // A fresh install: say how anyone gets in (the API and pages need a person).
            let people = app.desk().people().list().await?;
            if people.iter().all(|u| u.disabled_at.is_some()) {
                eprintln!(
                    "nobody can sign in yet: create the first admin with `earshot admin create-user NAME --role admin`"
                );
            }
            app.run_until_stopped().await
        }
        Command::Demo(args) => crate::demo::run(g, args).await,
        Command::Import { files, batch, json } => crate::import::run(g, &files, batch, json).await,
        Command::Inbox(args) => output::inbox(&*desk(g).await?, args).await,
        Command::Show { id, json } => {
            output::show(&*desk(g).await?, ConversationId(id), json).await
        }
        Command::Reply {
            id,
            text,
            agent,
            key,
        } => {
            let desk = desk(g).await?;
            match desk.reply(ConversationId(id), &text, &agent, key).await {
                Ok(reply) => {
                    println!(
                        "reply {} to conversation {} is {} (id on the network: {})",
                        reply.id,
                        id,
                        reply.state,
                        reply.external_id.as_deref().unwrap_or("-")
                    );
                    Ok(())
                }
                Err(earshot_server::desk::DeskError::NotSent { reply, reason }) => bail!(
                    "reply {} to conversation {id} was NOT sent: {reason}. It is kept as not_sent; \
                     once a connector is configured, run this again with --key {} to send it",
                    reply.id,
                    reply.idempotency_key
                ),
                Err(e) => Err(e.into()),
            }
        }
        Command::Assign { id, agent, actor } => {
            act(g, id, ConversationEvent::Assigned { to: agent }, &actor).await
        }
        Command::Unassign { id, actor } => act(g, id, ConversationEvent::Unassigned, &actor).await,
        Command::Pend { id, actor } => act(g, id, ConversationEvent::MarkedPending, &actor).await,
        Command::Resolve { id, actor } => act(g, id, ConversationEvent::Resolved, &actor).await,
        Command::Reopen { id, actor } => act(g, id, ConversationEvent::Reopened, &actor).await,
        Command::Search { query, limit, json } => {
            output::search(&*desk(g).await?, &query, limit, json).await
        }
        Command::Metrics { from, to, json } => {
            let s = settings(g)?;
            output::metrics(&*desk(g).await?, &s, from, to, json).await
        }
        Command::Analyze(args) => {
            let s = settings(g)?;
            let analyzer = earshot_server::app::analyzer(&s)?;
            crate::analyze::run(&analyzer, args)
        }
        Command::Train {
            file,
            task,
            corrections,
            out,
        } => {
            let s = settings(g)?;
            match (corrections, file, task) {
                (true, _, _) => crate::output::train_from_corrections(&s, out).await,
                (false, Some(file), Some(task)) => crate::output::train(&s, &file, &task, out),
                _ => bail!("give a labelled FILE and --task, or --corrections"),
            }
        }
        Command::Bench(cmd) => crate::bench::run(g, cmd).await,
        Command::Bus(cmd) => crate::bus::run(g, cmd).await,
        Command::Connectors(ConnectorsCommand::Status { url, json }) => {
            let s = settings(g)?;
            crate::output::connectors_status(&s, url, json).await
        }
        Command::Admin(cmd) => crate::admin::run(g, cmd).await,
        Command::Connectors(ConnectorsCommand::Check { json }) => {
            let s = settings(g)?;
            let reports = earshot_server::connectors::check_credentials(&s).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else if reports.is_empty() {
                println!("No connectors are configured: add [[connectors.mastodon]], [[connectors.bluesky]], [[connectors.x]], [[connectors.reddit]], [[connectors.telegram]], [[connectors.googleplay]], [[connectors.youtube]] or [[connectors.rss]] to earshot.toml (see the README).");
            } else {
                for r in &reports {
                    println!(
                        "{} {:<28} {}",
                        if r.ok { "ok  " } else { "FAIL" },
                        r.connector,
                        r.detail
                    );
                }
            }
            if reports.iter().any(|r| !r.ok) {
                bail!(
                    "some connectors cannot work with their credentials: fix what is listed above"
                );
            }
            Ok(())
        }
        Command::Alerts(AlertsCommand::Test) => {
            let s = settings(g)?;
            let results = earshot_server::alerts::test_targets(&s.alerts).await?;
            if results.is_empty() {
                println!("No alert targets: add [[alerts.targets]] (kind = \"slack\", \"webhook\" or \"email\") to earshot.toml.");
            }
            let mut failed = false;
            for (name, r) in results {
                match r {
                    Ok(m) => println!("ok   {name:<20} {m}"),
                    Err(e) => {
                        failed = true;
                        println!("FAIL {name:<20} {e}")
                    }
                }
            }
            if failed {
                bail!("some alert targets did not take the test alert");
            }
            Ok(())
        }
        Command::Requests(cmd) => crate::feedback::requests(g, cmd).await,
        Command::Promises { state, json } => crate::feedback::promises(g, state, json).await,
        Command::Release(args) => crate::feedback::release(g, args).await,
        Command::Rules(cmd) => crate::triage::rules_command(g, cmd).await,
        Command::Report(args) => crate::triage::report(g, args).await,
        Command::Config(ConfigCommand::Check) => {
            let s = settings(g).context("the configuration has a problem")?;
            s.check()?;
            println!(
                "configuration is valid:\n{}",
                toml::to_string_pretty(&s).unwrap_or_default()
            );
            println!(
                "{}",
                earshot_server::retrain::describe(s.analysis.retrain_from_corrections)
            );
            println!("{}", s.describe_mode()?);
            if let Some(store) = s.store.describe(&s.db_url())? {
                println!("{store}");
            }
            // Settings edited on the web Settings page win over the file: say so.
            match earshot_server::overrides::describe_stored(&s).await {
                Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                Err(e) => println!("note: cannot read settings stored from the web: {e:#}"),
            }
            Ok(())
        }
    }
}

async fn act(g: &Global, id: i64, event: ConversationEvent, actor: &str) -> anyhow::Result<()> {
    if actor.trim().is_empty() {
        bail!("--as needs a name");
    }
    let desk = desk(g).await?;
    let name = event.name();
    let c = desk.act(ConversationId(id), event, actor).await?;
    println!(
        "conversation {} {} by {actor}: now {}{}",
        c.id,
        name,
        c.status,
        c.assignee
            .map(|a| format!(", assigned to {a}"))
            .unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every text `--help` prints for a command: its about, its examples and its options.
    fn texts(cmd: &clap::Command) -> Vec<(String, String)> {
        let mut out = vec![];
        for (what, t) in [
            ("about", cmd.get_about()),
            ("long about", cmd.get_long_about()),
            ("after help", cmd.get_after_help()),
        ] {
            if let Some(t) = t {
                out.push((what.to_string(), t.to_string()));
            }
        }
        for a in cmd.get_arguments() {
            if let Some(h) = a.get_help() {
                out.push((format!("--{}", a.get_id()), h.to_string()));
            }
        }
        out
    }

    fn walk(cmd: &clap::Command, path: &str, problems: &mut Vec<String>) {
        for (what, text) in texts(cmd) {
            if text.contains("\\\"") {
                problems.push(format!("`{path}` {what} prints a literal \\\": {text}"));
            }
        }
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if matches!(id, "help" | "version") || a.is_global_set() && path != "earshot" {
                continue;
            }
            if a.get_help().is_none() && a.get_long_help().is_none() {
                problems.push(format!("`{path}` has `{id}` without a description"));
            }
        }
        let leaf = !cmd.has_subcommands();
        let examples = cmd
            .get_after_help()
            .is_some_and(|h| h.to_string().contains("Example"));
        if leaf && !examples {
            problems.push(format!("`{path} --help` shows no example"));
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), problems);
        }
    }

    #[test]
    fn every_help_text_reads_cleanly_and_describes_every_option() {
        let mut problems = vec![];
        walk(&Cli::command(), "earshot", &mut problems);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
