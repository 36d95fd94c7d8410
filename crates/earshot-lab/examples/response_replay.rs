//! Replays real brand answers through earshot and checks every first-response time against
//! an independent reference computed from the raw files (see `earshot_lab::replay`).
//!
//! `cargo run --release -p earshot-lab --example response_replay -- [DATA_DIR] [--out DIR]`
//!
//! DATA_DIR defaults to `../shared/data`. Exits non-zero when earshot and the reference
//! differ on any conversation.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match earshot_lab::replay::main_with_args(std::env::args().skip(1)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("response_replay failed: {e}");
            ExitCode::FAILURE
        }
    }
}
