//! Prints the evaluation report (markdown) for the data under the given `shared/data` dir.
//!
//! `cargo run --release -p earshot-analyze --example eval -- /work/shared/data`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    match earshot_analyze::eval::run(&dir) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eval failed: {e}");
            ExitCode::FAILURE
        }
    }
}
