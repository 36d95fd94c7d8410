//! `langid`: builds, checks, measures and times earshot's language identification.

use anyhow::Context;
use clap::{Parser, Subcommand};
use earshot_analyze::lang::ngrams::{FeatureSpec, NgramModel, MAX_ORDER};
use earshot_lab::data;
use earshot_lab::langid::build::{self, BuildConfig, Built};
use earshot_lab::langid::corpus::{self, Corpus, Kind, Options};
use earshot_lab::langid::{bench, eval};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    about = "Build, check, measure and time earshot's language identification",
    after_help = "Examples:\n  langid build --data ../shared/data\n  langid build --check --data ../shared/data\n  langid eval --data ../shared/data --peer langid=/tmp/langid.txt\n  langid export --data ../shared/data --out /tmp/measured.tsv\n  langid bench --data ../shared/data"
)]
struct Cli {
    /// The shared data folder (default: EARSHOT_DATA, else shared/data beside the repository).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Leave out the sets licensed for non-commercial use only.
    #[arg(long, global = true)]
    commercial_only: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Learn the model from the training texts and write it with its README.
    #[command(
        after_help = "Examples:\n  langid build --data ../shared/data\n  langid build --check\n  langid build --out /tmp/try.bin --orders 1,2,3 --bucket-bits 15"
    )]
    Build {
        /// Where to write the model (its README.md goes beside it).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing: fail unless the rebuilt bytes equal the shipped model's.
        #[arg(long)]
        check: bool,
        /// Character n-gram lengths, e.g. 1,2,3,4.
        #[arg(long, value_delimiter = ',', default_values_t = [3u8])]
        orders: Vec<u8>,
        /// Fits averaged into the model.
        #[arg(long)]
        fits: Option<u32>,
        /// Seed of the shuffles.
        #[arg(long)]
        seed: Option<u64>,
        /// Leave whole words out of the features.
        #[arg(long)]
        no_words: bool,
        /// log2 of the number of hash buckets.
        #[arg(long, default_value_t = 16)]
        bucket_bits: u8,
        #[arg(long)]
        epochs: Option<u32>,
        #[arg(long)]
        learning_rate: Option<f32>,
        /// 0 weighs every text alike, 1 every language alike.
        #[arg(long)]
        balance: Option<f32>,
        /// L2 penalty on the weights of each text's features.
        #[arg(long)]
        l2: Option<f32>,
        /// Each text also teaches a window of 1..=N of its words.
        #[arg(long)]
        short_windows: Option<u32>,
        /// At most N texts of one language from one set learn (0: all).
        #[arg(long)]
        cap_per_set: Option<usize>,
        /// Also print up to N texts per measured set that the model gets wrong.
        #[arg(long, default_value_t = 0)]
        show_errors: usize,
    },
    /// Print the accuracy table: earshot, whatlang and any peers, per set and per language.
    #[command(
        after_help = "Example:\n  langid eval --data ../shared/data --peer langid=/tmp/langid.txt"
    )]
    Eval {
        /// NAME=FILE: a peer's answers, one code per line in `export` order.
        #[arg(long)]
        peer: Vec<String>,
    },
    /// Write the measured texts (set, expected code, text; tab-separated) for a peer.
    #[command(after_help = "Example:\n  langid export --out /tmp/measured.tsv")]
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Show what earshot answers for each TEXT, with the model's probabilities.
    #[command(after_help = "Example:\n  langid detect '@brand ok?' 'Hvor er min pakke?'")]
    Detect { texts: Vec<String> },
    /// Time the language model beside parsing, text preparation and the whole analysis.
    #[command(
        after_help = "Examples:\n  langid bench --seconds 4\n  langid bench --model /tmp/candidate.bin"
    )]
    Bench {
        #[arg(long, default_value_t = 4.0)]
        seconds: f64,
        /// Also time this model file (e.g. one `build --out` wrote), beside the shipped one.
        #[arg(long)]
        model: Vec<PathBuf>,
    },
}

fn shipped_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../earshot-analyze/src/lang/langid.bin")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Detect { texts } = &cli.command {
        print!("{}", detect(texts)?);
        return Ok(());
    }
    let data_dir = cli.data.clone().unwrap_or_else(data::default_dir);
    if !data_dir.join("xlmt-sentiment").is_dir() {
        anyhow::bail!(
            "{} is not the shared data folder: pass --data with the path to shared/data",
            data_dir.display()
        );
    }
    let options = Options {
        commercial_only: cli.commercial_only,
    };
    eprintln!("reading {}", data_dir.display());
    let corpus = Corpus::load(&data_dir, options)?;
    match cli.command {
        Command::Build {
            out,
            check,
            orders,
            no_words,
            bucket_bits,
            epochs,
            learning_rate,
            balance,
            l2,
            short_windows,
            cap_per_set,
            show_errors,
            seed,
            fits,
        } => {
            let mut cfg = BuildConfig::default();
            let mut mask = 0u8;
            for n in orders {
                if !(1..=MAX_ORDER).contains(&n) {
                    anyhow::bail!("n-gram length {n} is outside 1..={MAX_ORDER}");
                }
                mask |= 1 << (n - 1);
            }
            if !(10..=22).contains(&bucket_bits) {
                anyhow::bail!("--bucket-bits {bucket_bits} is outside 10..=22");
            }
            cfg.spec = FeatureSpec {
                orders: mask,
                words: !no_words,
                bucket_bits,
            };
            cfg.epochs = epochs.unwrap_or(cfg.epochs);
            cfg.learning_rate = learning_rate.unwrap_or(cfg.learning_rate);
            cfg.balance = balance.unwrap_or(cfg.balance);
            cfg.l2 = l2.unwrap_or(cfg.l2);
            cfg.short_windows = short_windows.unwrap_or(cfg.short_windows);
            cfg.cap_per_set = cap_per_set.unwrap_or(cfg.cap_per_set);
            cfg.seed = seed.unwrap_or(cfg.seed);
            cfg.fits = fits.unwrap_or(cfg.fits);
            let built = build::build(&corpus, &cfg, |m| eprintln!("{m}"));
            print!("{}", model_figures(&corpus, &built.model(), show_errors));
            let path = out.unwrap_or_else(shipped_path);
            if check {
                let shipped =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let (want, got) = (build::sha256_hex(&shipped), built.sha256());
                if want != got {
                    anyhow::bail!(
                        "rebuilt model {got} differs from {} ({want}): the data or the builder changed; run `langid build` and commit both files",
                        path.display()
                    );
                }
                println!("rebuilt model equals {} (sha256 {got})", path.display());
            } else {
                std::fs::write(&path, &built.bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                let readme = path.with_file_name("README.md");
                std::fs::write(&readme, model_readme(&corpus, &cfg, &built, options))
                    .with_context(|| format!("writing {}", readme.display()))?;
                println!(
                    "wrote {} ({} bytes, sha256 {}) and {}",
                    path.display(),
                    built.bytes.len(),
                    built.sha256(),
                    readme.display()
                );
            }
        }
        Command::Eval { peer } => {
            let mut systems = vec![eval::earshot(&corpus.eval), eval::whatlang(&corpus.eval)];
            for p in peer {
                let (name, file) = p
                    .split_once('=')
                    .context("--peer takes NAME=FILE, e.g. langid=/tmp/langid.txt")?;
                systems.push(eval::read_peer(name, Path::new(file), &corpus.eval)?);
            }
            print!("{}", eval::report(&corpus, &systems));
            print!("{}", eval::short_posts(&corpus.eval, &[1, 2, 3, 5]));
        }
        Command::Export { out } => {
            std::fs::write(&out, eval::export(&corpus.eval))
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        Command::Detect { .. } => {}
        Command::Bench { seconds, model } => {
            let shipped = earshot_analyze::lang::shipped_model()
                .map_err(|e| anyhow::anyhow!("the shipped model does not load: {e}"))?;
            let mut models = vec![("(shipped)".to_string(), shipped.clone())];
            for path in model {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let m = NgramModel::from_bytes(&bytes)
                    .with_context(|| format!("reading {}", path.display()))?;
                models.push((path.display().to_string(), m));
            }
            let texts: Vec<String> = corpus
                .eval
                .iter()
                .flat_map(|s| s.texts.iter().cloned())
                .collect();
            print!("{}", bench::run(&models, &texts, seconds));
        }
    }
    Ok(())
}

/// Probabilities the quick view reports answers at: below one, a detector says `und`.
const THRESHOLDS: [f32; 4] = [0.4, 0.5, 0.6, 0.7];

/// The model's own answers per measured set of a Latin-script language: how often its best
/// language is right, and right / wrong when it answers only at or above each of
/// [`THRESHOLDS`] (the detector in `lang.rs` uses `MIN_PROBABILITY`). A quick view while
/// building; `langid eval` measures the whole detector.
fn model_figures(corpus: &Corpus, model: &NgramModel, show_errors: usize) -> String {
    let mut out = String::new();
    let mut errors = String::new();
    let cols: Vec<String> = THRESHOLDS
        .iter()
        .map(|t| format!("right ≥{t} | wrong ≥{t}"))
        .collect();
    let _ = writeln!(out, "| set | n | best right | {} |", cols.join(" | "));
    let _ = writeln!(
        out,
        "|---|---:|---:|{}",
        "---:|".repeat(2 * THRESHOLDS.len())
    );
    let classes = model.classes();
    for s in &corpus.eval {
        let Some(k) = classes.iter().position(|l| l.code() == s.expected) else {
            continue;
        };
        let mut right = 0usize;
        let mut at = [(0usize, 0usize); THRESHOLDS.len()];
        let mut shown = 0;
        for t in &s.texts {
            let p = earshot_analyze::text::Prepared::new(t);
            let ((best, prob), _) = model.score(&p.clean).top_two(classes.len());
            right += (best == k) as usize;
            if best != k && shown < show_errors {
                shown += 1;
                let _ = writeln!(
                    errors,
                    "{} → {} {prob:.2}: {}",
                    s.name,
                    classes[best].code(),
                    t.replace('\n', " ")
                );
            }
            for (i, th) in THRESHOLDS.iter().enumerate() {
                if prob >= *th {
                    if best == k {
                        at[i].0 += 1;
                    } else {
                        at[i].1 += 1;
                    }
                }
            }
        }
        let n = s.texts.len().max(1) as f64;
        let cells: Vec<String> = at
            .iter()
            .map(|(r, w)| format!("{:.3} | {:.3}", *r as f64 / n, *w as f64 / n))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} | {} |",
            s.name,
            s.texts.len(),
            right as f64 / n,
            cells.join(" | ")
        );
    }
    out.push_str(&errors);
    out
}

fn model_readme(corpus: &Corpus, cfg: &BuildConfig, built: &Built, options: Options) -> String {
    let mut out = String::new();
    let orders: Vec<String> = (1..=MAX_ORDER)
        .filter(|n| cfg.spec.orders & (1 << (n - 1)) != 0)
        .map(|n| n.to_string())
        .collect();
    let _ = writeln!(
        out,
        "# langid.bin: earshot's language-identification model\n"
    );
    let _ = writeln!(
        out,
        "Written by `cargo run --release -p earshot-lab --bin langid -- build{}` (checked by `... build --check`); do not edit by hand.\n",
        if options.commercial_only { " --commercial-only" } else { "" }
    );
    let _ = writeln!(out, "sha256: {}\n", built.sha256());
    let _ = writeln!(
        out,
        "A multinomial logistic regression over hashed character n-grams (lengths {}){} of the Latin-script words of a post, {} buckets × {} languages, one signed byte per weight ({} bytes). Format: `ngrams.rs`.\n",
        orders.join(", "),
        if cfg.spec.words { " and whole words" } else { "" },
        cfg.spec.buckets(),
        built.classes.len(),
        built.bytes.len()
    );
    let _ = writeln!(
        out,
        "Training: at most {} texts of a language from one set; each text also teaches a window of 1 to {} of its words; {} epochs of AdaGrad (learning rate {}, L2 {}); language weight (mean/texts)^{}; weights clipped at the {} quantile; seed {}.\n",
        cfg.cap_per_set, cfg.short_windows, cfg.epochs, cfg.learning_rate, cfg.l2, cfg.balance, cfg.clip_quantile, cfg.seed
    );
    let _ = writeln!(out, "| language | training texts |\n|---|---:|");
    for (l, n) in built.classes.iter().zip(&built.texts) {
        let _ = writeln!(out, "| {} | {n} |", l.code());
    }
    let _ = writeln!(
        out,
        "\n{} training texts whose normalised text is also in a measured set were left out.\n",
        corpus.removed.overlapping
    );
    let _ = writeln!(
        out,
        "## Sets that trained it\n\n| set | kind | texts learned | licence |\n|---|---|---:|---|"
    );
    for (set, used) in &built.per_source {
        let terms = match *set {
            corpus::LINGUA => corpus::LINGUA_TERMS,
            corpus::LEXICON => corpus::LEXICON_TERMS,
            name => data::set_info(name).map_or("see its README", |s| s.terms),
        };
        let _ = writeln!(
            out,
            "| {set} | {} | {used} | {terms} |",
            Kind::of(set).as_str()
        );
    }
    let _ = writeln!(
        out,
        "\nDutch has no posts in the shared data: its only text is the Lingua sentences and word pairs (prose). Danish has the LCC sentences and Lingua's; Norwegian NoReC review sentences and Lingua's Bokmål and Nynorsk. Arabic is not in this model: it is told by its script (`lang.rs`)."
    );
    out
}

fn detect(texts: &[String]) -> anyhow::Result<String> {
    let model = earshot_analyze::lang::shipped_model()
        .map_err(|e| anyhow::anyhow!("the shipped model does not load: {e}"))?;
    let analyzer = earshot_analyze::Analyzer::default();
    let mut out = String::new();
    for t in texts {
        let found = analyzer.analyze_text(t, None, None).language;
        let scores = model.score(&earshot_analyze::text::Prepared::new(t).clean);
        let mut ranked: Vec<(f32, &str)> = model
            .classes()
            .iter()
            .enumerate()
            .map(|(i, l)| (scores.probabilities[i], l.code()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top: Vec<String> = ranked
            .iter()
            .take(3)
            .map(|(p, c)| format!("{c} {p:.2}"))
            .collect();
        let _ = writeln!(
            out,
            "{} {:.2} ({}; model: {}, {} features): {t}",
            found.language.code(),
            found.confidence,
            found.source,
            top.join(", "),
            scores.features
        );
    }
    Ok(out)
}
