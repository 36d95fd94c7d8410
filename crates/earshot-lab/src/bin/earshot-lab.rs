//! `earshot-lab`: the evaluation and the builder of the model earshot ships.
//!
//! ```text
//! cargo run --release -p earshot-lab -- eval
//! cargo run --release -p earshot-lab -- build-model
//! ```

use clap::{Parser, Subcommand};
use earshot_analyze::model::Model;
use earshot_analyze::{Analyzer, Terms};
use earshot_lab::build::LicenceFilter;
use earshot_lab::data::{self, Example, Split};
use earshot_lab::{build, eval, overlap};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "earshot-lab",
    about = "Measure earshot's understanding and build the model it ships."
)]
struct Cli {
    /// The shared data folder (default: $EARSHOT_DATA, else ../shared/data beside the repository).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sentiment per data set and language, complaint and feature-request intent, on
    /// validation parts that share no normalised text with the training pool: the rules, the
    /// shipped model, and any model files given.
    #[command(
        after_help = "Examples:\n  cargo run --release -p earshot-lab -- eval\n  cargo run --release -p earshot-lab -- eval --model /tmp/m/earshot-understand.bin"
    )]
    Eval {
        /// More model files to evaluate beside the shipped one.
        #[arg(long)]
        model: Vec<PathBuf>,
    },
    /// What agents' corrections in a new domain do: a model trained without one set, then
    /// adapted to N of its posts; macro-recall on that set's validation part and on every
    /// other one, before and after.
    #[command(
        after_help = "Example:\n  cargo run --release -p earshot-lab -- corrections --domain airline-tweets --n 200"
    )]
    Corrections {
        /// The set left out of training and then corrected (any sentiment set).
        #[arg(long, default_value = "airline-tweets")]
        domain: String,
        #[arg(long, default_value_t = 200)]
        n: usize,
        /// Try other adapting options than `earshot train`'s (for development on another domain).
        #[arg(long)]
        learning_rate: Option<f32>,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        unbalanced: bool,
        /// Also fold in this many other posts beside the corrections (replay against
        /// forgetting; `earshot train` does not).
        #[arg(long, default_value_t = 0)]
        replay: usize,
        /// Where replayed posts come from.
        #[arg(long, value_enum, default_value = "domain")]
        replay_from: build::ReplayFrom,
        /// What replayed posts are taught: the base model's reading or the set's label.
        #[arg(long, value_enum, default_value = "base")]
        replay_labels: build::ReplayLabels,
    },
    /// Choose the shipped model's recipe honestly: train a recipe (the shipped one, changed by
    /// the options given) on four fifths of the training pool and score it on the other fifth
    /// (the tuning slice), never on a validation part.
    #[command(
        after_help = "Examples:\n  cargo run --release -p earshot-lab -- tune\n  cargo run --release -p earshot-lab -- tune --epochs 10 --complaint-weight airline-tweets=0.2"
    )]
    Tune {
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long)]
        learning_rate: Option<f32>,
        #[arg(long)]
        bits: Option<u8>,
        /// SET=WEIGHT for the sentiment head (repeatable).
        #[arg(long, value_parser = parse_set_weight)]
        sentiment_weight: Vec<(&'static str, f32)>,
        /// SET=WEIGHT for the complaint head (repeatable; 0 leaves the set's labels out).
        #[arg(long, value_parser = parse_set_weight)]
        complaint_weight: Vec<(&'static str, f32)>,
        /// SET=WEIGHT for the feature-request head (repeatable).
        #[arg(long, value_parser = parse_set_weight)]
        feature_weight: Vec<(&'static str, f32)>,
        /// Train without class-balanced weights.
        #[arg(long)]
        unbalanced: bool,
        /// Print the whole table, not only the summary line.
        #[arg(long)]
        table: bool,
    },
    /// Train the model earshot ships and write it, its manifest and README.
    #[command(
        after_help = "Examples:\n  cargo run --release -p earshot-lab -- build-model\n  cargo run --release -p earshot-lab -- build-model --without-non-commercial --out /tmp/nonc-model"
    )]
    BuildModel {
        /// Leave out the non-commercial sets (CC BY-NC*, "research or hobby").
        #[arg(long, conflicts_with = "open_licences_only")]
        without_non_commercial: bool,
        /// Leave out every set without an explicit licence that allows commercial use.
        #[arg(long)]
        open_licences_only: bool,
        /// Where to write (default: crates/earshot-analyze/model, what the binary compiles in).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dir = cli.data.unwrap_or_else(data::default_dir);
    let result = match cli.command {
        Command::Eval { model } => run_eval(dir, model),
        Command::Corrections {
            domain,
            n,
            learning_rate,
            epochs,
            unbalanced,
            replay,
            replay_from,
            replay_labels,
        } => {
            let options = (learning_rate.is_some() || epochs.is_some() || unbalanced).then(|| {
                let d = earshot_analyze::train::corrections_options(n);
                earshot_analyze::train::TrainOptions {
                    learning_rate: learning_rate.unwrap_or(d.learning_rate),
                    epochs: epochs.unwrap_or(d.epochs),
                    balanced: !unbalanced,
                    ..d
                }
            });
            run_corrections(
                dir,
                &domain,
                n,
                options,
                build::Replay {
                    posts: replay,
                    from: replay_from,
                    labels: replay_labels,
                },
            )
        }
        Command::Tune {
            epochs,
            learning_rate,
            bits,
            sentiment_weight,
            complaint_weight,
            feature_weight,
            unbalanced,
            table,
        } => {
            let mut recipe = build::Recipe::default();
            let set = |list: &mut Vec<(&'static str, f32)>, given: Vec<(&'static str, f32)>| {
                for (name, w) in given {
                    list.retain(|(n, _)| *n != name);
                    list.push((name, w));
                }
            };
            set(&mut recipe.sentiment_weights, sentiment_weight);
            set(&mut recipe.complaint_weights, complaint_weight);
            set(&mut recipe.feature_weights, feature_weight);
            let o = &mut recipe.options;
            o.epochs = epochs.unwrap_or(o.epochs);
            o.learning_rate = learning_rate.unwrap_or(o.learning_rate);
            o.bits = bits.unwrap_or(o.bits);
            o.balanced &= !unbalanced;
            run_tune(dir, &recipe, table)
        }
        Command::BuildModel {
            without_non_commercial,
            open_licences_only,
            out,
        } => {
            let licences = if open_licences_only {
                LicenceFilter::OpenOnly
            } else if without_non_commercial {
                LicenceFilter::WithoutNonCommercial
            } else {
                LicenceFilter::All
            };
            run_build(dir, licences, out)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("earshot-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `SET=WEIGHT`, SET one of the known sets.
fn parse_set_weight(s: &str) -> Result<(&'static str, f32), String> {
    let (name, w) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected SET=WEIGHT"))?;
    let info = data::set_info(name.trim()).ok_or_else(|| format!("unknown set {name:?}"))?;
    let w: f32 = w.trim().parse().map_err(|e| format!("{w:?}: {e}"))?;
    Ok((info.name, w))
}

fn run_tune(
    dir: PathBuf,
    recipe: &build::Recipe,
    table: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let report = earshot_lab::tune::tune(&dir, recipe)?;
    if table {
        println!("{report}");
    }
    println!(
        "{}\n  ({:?}; {:.0} s)",
        earshot_lab::tune::summary(&report),
        recipe,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_build(
    dir: PathBuf,
    licences: LicenceFilter,
    out: Option<PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    let out = out.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../earshot-analyze/model")
    });
    let started = std::time::Instant::now();
    eprintln!("training from {} ...", dir.display());
    let built = build::build(&dir, licences)?;
    let path = build::write(&built, &out)?;
    println!(
        "{} written to {} ({} bytes, sha256 {}) in {:.0} s",
        built.manifest.id,
        path.display(),
        built.manifest.bytes,
        built.manifest.sha256,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_corrections(
    dir: PathBuf,
    domain: &str,
    n: usize,
    options: Option<earshot_analyze::train::TrainOptions>,
    replay: build::Replay,
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(info) = data::set_info(domain) else {
        return Err(format!(
            "unknown set {domain:?}; one of: {}",
            data::SETS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    };
    let trial = build::corrections_trial(&dir, info.name, n, options, replay)?;
    println!(
        "### {} corrections in {} (left out of training), sentiment macro-recall %\n",
        trial.corrections, trial.domain
    );
    println!("| validation part | before | after | change |\n|---|---:|---:|---:|");
    let mut general = (0.0, 0.0, 0usize);
    for (name, before, after) in &trial.rows {
        println!(
            "| {name} | {:.1} | {:.1} | {:+.1} |",
            100.0 * before,
            100.0 * after,
            100.0 * (after - before)
        );
        if !name.starts_with(&trial.domain) {
            general.0 += before;
            general.1 += after;
            general.2 += 1;
        }
    }
    let k = general.2.max(1) as f64;
    println!(
        "\nmean of the {} other parts: {:.1} before, {:.1} after ({:+.1})",
        general.2,
        100.0 * general.0 / k,
        100.0 * general.1 / k,
        100.0 * (general.1 - general.0) / k
    );
    Ok(())
}

fn run_eval(dir: PathBuf, models: Vec<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let examples = data::all(&dir)?;
    let (pool, removed) = overlap::training_pool(&examples);
    let val: Vec<Example> = examples
        .into_iter()
        .filter(|e| e.split == Split::Val)
        .collect();
    // The evaluation's own guard: what it reports on was never in the pool.
    let shared = overlap::shared_texts(&pool, &val);
    if shared != 0 {
        return Err(format!("{shared} training texts are in a validation part").into());
    }
    let terms = Terms::default();
    let rules = Analyzer::rules_only(&terms);
    let shipped = Analyzer::new(&terms);
    let mut named: Vec<(String, Analyzer)> = vec![
        ("rules".into(), rules),
        (
            shipped
                .model()
                .map_or("shipped (none)".into(), |m| format!("shipped {}", m.id())),
            shipped,
        ),
    ];
    for p in models {
        let m = Model::load(&p)?;
        named.push((m.id(), Analyzer::rules_only(&terms).with_model(m)));
    }
    let analyzers: Vec<(&str, &Analyzer)> = named.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let notes = vec![format!(
        "training pool: {} examples; {} removed because their normalised text is in a validation part, {} with no words; 0 validation texts in the pool (checked)",
        pool.len(),
        removed.overlapping,
        removed.empty
    )];
    println!("{}", eval::run(&val, &analyzers, notes));
    Ok(())
}
