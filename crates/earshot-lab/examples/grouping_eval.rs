//! Request grouping on the labelled set of real asks: the threshold sweep on the tuning half,
//! then the streamed figures (B-cubed, pure requests, merges left) and the pairwise figures on
//! the evaluation half with the settings earshot ships.
//!
//! `cargo run --release -p earshot-lab --example grouping_eval`

use earshot_analyze::grouping::GroupingConfig;
use earshot_lab::grouping::{report, LabelledSet};
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("grouping_eval: prints request-grouping figures on earshot-lab/data/grouping (no arguments)");
        return ExitCode::SUCCESS;
    }
    let set = match LabelledSet::shipped() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("grouping_eval: the labelled set does not read: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("replaying {} asks desk by desk…", set.asks.len());
    println!("{}", report::run(&set, &GroupingConfig::default()));
    ExitCode::SUCCESS
}
