//! `earshot-lab`: the evaluation and the builders of what earshot ships.
//!
//! ```text
//! cargo run --release -p earshot-lab -- eval --data ../shared/data
//! ```

use clap::{Parser, Subcommand};
use earshot_analyze::train::{train, Model, Task};
use earshot_analyze::Analyzer;
use earshot_lab::data::{self, Example, Split};
use earshot_lab::{eval, overlap};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "earshot-lab",
    about = "Measure earshot's understanding and build what it ships."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sentiment per data set and language, complaint and feature-request intent, on
    /// validation parts that share no normalised text with the training pool.
    #[command(
        after_help = "Example:\n  cargo run --release -p earshot-lab -- eval --data ../shared/data"
    )]
    Eval {
        /// The shared data folder (default: $EARSHOT_DATA, else ../shared/data beside the repository).
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn intent_label(e: &Example) -> Option<&'static str> {
    match (e.feature_request, e.complaint) {
        (Some(true), _) => Some("feature_request"),
        (_, Some(true)) => Some("complaint"),
        (Some(false), _) | (_, Some(false)) => Some("other"),
        _ => None,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval { data } => run_eval(data.unwrap_or_else(data::default_dir)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("earshot-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_eval(dir: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let examples = data::all(&dir)?;
    let (pool, removed) = overlap::training_pool(&examples);
    let val: Vec<Example> = examples
        .into_iter()
        .filter(|e| e.split == Split::Val)
        .collect();
    let sent: Vec<(String, String)> = pool
        .iter()
        .filter_map(|e| e.sentiment.map(|s| (e.text.clone(), s.to_string())))
        .collect();
    let intent: Vec<(String, String)> = pool
        .iter()
        .filter(|e| e.set != "airline-tweets")
        .filter_map(|e| intent_label(e).map(|l| (e.text.clone(), l.to_string())))
        .collect();
    let model = Model::new("lab-trained", "1")
        .with_task(train(Task::Sentiment, &sent)?)
        .with_task(train(Task::Intent, &intent)?);
    let rules = Analyzer::default();
    let trained = Analyzer::default().with_model(model);
    let notes = vec![
        format!(
            "training pool: {} examples; {} removed because their normalised text is in a validation part, {} with no words",
            pool.len(),
            removed.overlapping,
            removed.empty
        ),
        format!("trained: sentiment on {} examples, intent on {}", sent.len(), intent.len()),
    ];
    let report = eval::run(&val, &[("rules", &rules), ("trained", &trained)], notes);
    println!("{report}");
    Ok(())
}
