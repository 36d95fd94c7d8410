//! Single-thread throughput of `Analyzer::analyze` on real tweets, against parsing the same
//! posts from JSON (measured in the same run).
//!
//! `cargo run --release -p earshot-analyze --example bench -- /work/shared/data [seconds]`
//! (`... -- /work/shared/data 8 --phases`: where the time goes, step by step, instead.)
//!
//! Texts: the `text` column of twcs-sample-head/dev.csv and tweeteval's rebuilt train texts.
//! The first run is the default analyzer (the shipped model); a second one the rules alone.

use earshot_analyze::{bench, eval, Analyzer};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn twcs_texts(data: &Path) -> Result<Vec<String>, String> {
    let path = data.join("twcs-sample-head").join("dev.csv");
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = headers
        .iter()
        .position(|h| h == "text")
        .ok_or_else(|| format!("{}: no text column", path.display()))?;
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(t) = rec.get(col) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let data = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let seconds: f64 = args
        .next()
        .and_then(|s| s.to_str().and_then(|s| s.parse().ok()))
        .unwrap_or(6.0);
    let mut texts = match twcs_texts(&data) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let twcs = texts.len();
    let train_set = match eval::tweeteval(&data, "train") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    texts.extend(train_set.into_iter().map(|(t, _)| t));
    println!(
        "texts: {twcs} from twcs-sample-head/dev.csv + {} from tweeteval train\n",
        texts.len() - twcs
    );

    if let Some(n) = std::env::args()
        .skip_while(|a| a != "--profile")
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok())
    {
        // For a profiler (`valgrind --tool=callgrind`): the default analyzer over `n` texts
        // spread over the set (every 7th, wrapping), once; two runs with different `n` differ
        // by the cost of the posts alone.
        let analyzer = Analyzer::default();
        let mut sum = 0u64;
        for i in 0..n {
            let t = &texts[i * 7 % texts.len()];
            sum ^= analyzer.analyze_text(t, None, Some(100)).fingerprint;
        }
        println!("{sum:x}");
        return ExitCode::SUCCESS;
    }
    if std::env::args().any(|a| a == "--isolated") {
        for (name, ns) in bench::isolated(&texts, 3) {
            println!("{name}: {ns:.0} ns/post");
        }
        return ExitCode::SUCCESS;
    }
    if std::env::args().any(|a| a == "--phases") {
        let analyzer = Analyzer::default();
        println!("{}", bench::phases(&analyzer, &texts, 2));
        let rules = Analyzer::rules_only(&earshot_analyze::Terms::default());
        println!("{}", bench::phases(&rules, &texts, 2));
        return ExitCode::SUCCESS;
    }
    let report = bench::run(&texts, seconds);
    println!("{report}");

    let rules = Analyzer::rules_only(&earshot_analyze::Terms::default());
    println!("{}", bench::run_with(&rules, &texts, seconds));
    ExitCode::SUCCESS
}
