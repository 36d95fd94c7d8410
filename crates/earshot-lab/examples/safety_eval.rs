//! Precision and recall of the safety/harm signal on the hand-labelled sample
//! (`crates/earshot-lab/data/safety`).
//!
//! `cargo run --release -p earshot-lab --example safety_eval -- [--split tune|tune2|eval|all] [--errors]`

use earshot_analyze::Analyzer;
use earshot_lab::safety;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--split")
        .and_then(|i| args.get(i + 1))
        .map_or("eval", String::as_str);
    if !matches!(split, "tune" | "tune2" | "eval" | "all") {
        eprintln!("--split takes tune, tune2, eval or all (got {split:?})");
        return ExitCode::FAILURE;
    }
    let posts = match safety::read(safety::POSTS_TSV) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let report = safety::evaluate(&posts, &Analyzer::default(), split);
    println!("safety/harm signal on the {split} half of the labelled sample (built-in analyzer)");
    print!("{report}");
    if args.iter().any(|a| a == "--errors") {
        for (p, found) in &report.errors {
            let why: Vec<String> = found
                .evidence
                .iter()
                .map(|e| format!("{}={:?}:{:.2}", e.rule, e.text, e.weight))
                .collect();
            println!(
                "{} [{}] score {:.2} {}\n    {}",
                if p.harm { "MISSED" } else { "FALSE " },
                p.source,
                found.score,
                why.join(" "),
                p.text
            );
        }
    }
    ExitCode::SUCCESS
}
