//! Request grouping on labelled pairs of real posts: tunes on the validation half, reports the
//! held-out half (markdown).
//!
//! `cargo run --release -p earshot-analyze --example grouping_eval -- /work/shared/data [--build] [--distractors=N]`
//!
//! `--build` rebuilds `data/grouping_pairs.jsonl` from shared/data and `data/grouping_asks.tsv`
//! first (the file is committed, so a plain run only reads it).

use earshot_analyze::grouping::eval::{self, Corpus};
use earshot_analyze::grouping::GroupingConfig;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Unlabelled customer posts streamed with the validation and held-out posts (by default).
const DISTRACTORS: usize = 3_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let build = args.iter().any(|a| a == "--build");
    let distractors = args
        .iter()
        .find_map(|a| a.strip_prefix("--distractors="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(DISTRACTORS);
    let data = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let pairs_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/grouping_pairs.jsonl");
    let corpus = match Corpus::read(&data) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("grouping_eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    if build || !pairs_path.exists() {
        let built = eval::build_pairs(&corpus, eval::ASKS_TSV)
            .and_then(|pairs| eval::write_pairs(&pairs_path, &pairs).map(|_| pairs.len()));
        match built {
            Ok(n) => eprintln!("wrote {n} pairs to {}", pairs_path.display()),
            Err(e) => {
                eprintln!("grouping_eval: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let pairs = match eval::read_pairs(&pairs_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("grouping_eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = eval::run(&pairs, &corpus, &GroupingConfig::default(), distractors);
    println!("{report}");
    ExitCode::SUCCESS
}
