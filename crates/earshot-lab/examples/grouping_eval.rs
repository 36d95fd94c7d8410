//! Request grouping on the labelled set of real asks: the streamed and pairwise figures.
//!
//! `cargo run --release -p earshot-lab --example grouping_eval`

use earshot_analyze::grouping::GroupingConfig;
use earshot_lab::grouping::{Company, Half, LabelledSet, Replay};
use std::process::ExitCode;

fn main() -> ExitCode {
    let set = match LabelledSet::shipped() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("grouping_eval: {e}");
            return ExitCode::FAILURE;
        }
    };
    let replay = Replay::new(&set);
    let config = GroupingConfig::default();
    for half in [Half::Tuning, Half::Evaluation] {
        let s = replay.scores(&config, half, Company::HalfOnly);
        let p = replay.pairwise(&config, half);
        println!("{} {:?}", half.name(), s);
        println!("  pairwise {:?} P {:.3} R {:.3}", p, p.precision(), p.recall());
    }
    ExitCode::SUCCESS
}
