//! Single-thread throughput of request grouping with 100,000 open requests, against tokenising
//! and stemming the same posts (measured in the same run).
//!
//! `cargo run --release -p earshot-lab --example grouping_bench -- [shared/data folder] [seconds]`
//! (the folder defaults to `$EARSHOT_DATA`, else `shared/data` beside the repository)
//!
//! Texts: real posts of shared/data (app reviews, customer tweets, airline tweets, complaints,
//! xlm-t tweets in seven languages) plus tweeteval's rebuilt train texts. Every fifth text is
//! kept for the stream; the rest pre-load the requests.

use earshot_analyze::grouping::{bench, GroupingConfig};
use earshot_lab::grouping::texts;
use std::path::PathBuf;
use std::process::ExitCode;

const OPEN_REQUESTS: usize = 100_000;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let data = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(earshot_lab::data::default_dir);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(8.0);
    let mut texts = match texts::benchmark_texts(&data) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("grouping_bench: {e} (pass the shared/data folder as the first argument)");
            return ExitCode::FAILURE;
        }
    };
    match earshot_analyze::eval::tweeteval(&data, "train") {
        Ok(t) => texts.extend(t.into_iter().map(|(text, _)| (text, "en".to_string()))),
        Err(e) => {
            eprintln!("grouping_bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    let (mut preload, mut stream) = (Vec::new(), Vec::new());
    for (i, t) in texts.into_iter().enumerate() {
        if i % 5 == 0 {
            stream.push(t);
        } else {
            preload.push(t);
        }
    }
    let report = bench::run(
        GroupingConfig::default(),
        &preload,
        &stream,
        OPEN_REQUESTS,
        seconds,
    );
    println!("{report}");
    ExitCode::SUCCESS
}
