//! First drafts measured on real care conversations: each brand's answers after a cut-off are
//! held out and drafted for from the answers before it (see `earshot_lab::drafts`).
//!
//! `cargo run --release -p earshot-lab --example draft_eval [-- /work/shared/data [min rows per brand]]`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let data = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(earshot_lab::data::default_dir);
    let min_rows = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    match earshot_lab::drafts::run(&data) {
        Ok(reports) => {
            print!("{}", earshot_lab::drafts::render(&reports, min_rows));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("draft_eval: {e} (pass the shared data folder as the first argument)");
            ExitCode::FAILURE
        }
    }
}
