//! Fake network → inbox latency (issue 3): `cargo run --release -p earshot-server --example
//! network_latency [-- NETWORK RATE SECONDS]`, e.g. `-- bluesky 1000 10` (the defaults) or
//! `-- mastodon 1000 5`.

// The fake networks are a dev-dependency: this bench lives beside the crate, not in it, so
// the release binary carries no fake servers.
mod latency;

use latency::LatencyNetwork;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let network = match args.first().map(|a| a.parse::<LatencyNetwork>()) {
        None => LatencyNetwork::Bluesky,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let number = |i: usize, default: u32| -> Result<u32, String> {
        args.get(i)
            .map(|a| {
                a.parse()
                    .map_err(|_| format!("{a:?} is not a whole number"))
            })
            .unwrap_or(Ok(default))
    };
    let (rate, seconds) = match (number(1, 1000), number(2, 10)) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match latency::run(network, rate, seconds).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
