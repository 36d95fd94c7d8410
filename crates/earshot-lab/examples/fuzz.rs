//! Fuzzes every parser that takes outside bytes for as long as asked, and reports the
//! inputs each took and the panics and broken invariants found (see `earshot_lab::fuzz`).
//!
//! `cargo run --release -p earshot-lab --example fuzz -- [--minutes 30] [--only NAME] [--seed N] [--out DIR]`
//!
//! The time is shared evenly between the targets. Failing inputs are written to DIR
//! (default `fuzz-failures`), one file each. Exits non-zero when anything failed.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut minutes = 10.0_f64;
    let mut only: Option<String> = None;
    let mut seed = 1_u64;
    let mut out = std::path::PathBuf::from("fuzz-failures");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next();
        match (a.as_str(), value) {
            ("--minutes", Some(v)) => minutes = v.parse().unwrap_or(minutes),
            ("--only", Some(v)) => only = Some(v),
            ("--seed", Some(v)) => seed = v.parse().unwrap_or(seed),
            ("--out", Some(v)) => out = v.into(),
            _ => {
                eprintln!("usage: fuzz [--minutes 30] [--only NAME] [--seed N] [--out DIR]");
                return ExitCode::FAILURE;
            }
        }
    }
    let targets: Vec<_> = earshot_lab::fuzz::targets()
        .into_iter()
        .filter(|t| only.as_deref().is_none_or(|o| t.name.contains(o)))
        .collect();
    if targets.is_empty() {
        eprintln!("no target matches {only:?}");
        return ExitCode::FAILURE;
    }
    // Panics are caught and counted; their default message would drown the report.
    std::panic::set_hook(Box::new(|_| {}));
    let each = Duration::from_secs_f64(minutes * 60.0 / targets.len() as f64);
    println!(
        "fuzzing {} targets for {minutes} minutes ({:.0} s each, seed {seed})\n",
        targets.len(),
        each.as_secs_f64()
    );
    println!("| target | inputs tried | panics | broken invariants |");
    println!("|---|---:|---:|---:|");
    let mut failed = 0;
    let mut total = 0;
    for (i, t) in targets.iter().enumerate() {
        let tally = earshot_lab::fuzz::run_for(t, each, seed.wrapping_add(i as u64));
        println!(
            "| {} | {} | {} | {} |",
            t.name, tally.inputs, tally.panics, tally.broken
        );
        total += tally.inputs;
        failed += tally.panics + tally.broken;
        for (n, (input, why)) in tally.failures.iter().enumerate() {
            let _ = std::fs::create_dir_all(&out);
            let file = out.join(format!("target{i}-{n}.bin"));
            let _ = std::fs::write(&file, input);
            eprintln!("  {}: {why} (input in {})", t.name, file.display());
        }
    }
    println!("\n{total} inputs, {failed} failures");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
