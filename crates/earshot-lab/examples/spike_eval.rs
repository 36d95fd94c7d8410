//! Spike detection: time to alert at 10× and 50× the usual rate, false alarms on normal weeks
//! of real traffic, throughput (see `earshot_lab::spike_eval`).
//!
//! `cargo run --release -p earshot-lab --example spike_eval [-- /work/shared/data ['{"min_posts": 8}']]`
//!
//! A second argument, JSON, overrides settings of the detector's defaults to compare them.
//! With `EARSHOT_SPIKE_TUNING=1` it measures the week settings are tried on
//! (`twcs-sample-head`) instead of the reported ones.

use earshot_analyze::spikes::SpikeConfig;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let data = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/data"));
    let config: SpikeConfig = match std::env::args().nth(2) {
        Some(json) => match serde_json::from_str(&json) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("spike_eval: the settings {json:?} do not parse: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => SpikeConfig::default(),
    };
    let tuning = std::env::var("EARSHOT_SPIKE_TUNING").is_ok_and(|v| v == "1");
    let report = if tuning {
        earshot_lab::spike_eval::run_tuning(&data, &config)
    } else {
        earshot_lab::spike_eval::run(&data, &config)
    };
    match report {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("spike_eval: {e} (pass the shared data folder as the first argument)");
            ExitCode::FAILURE
        }
    }
}
