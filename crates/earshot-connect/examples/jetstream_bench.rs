//! Parse + filter throughput of the Bluesky Jetstream hot path, against reading the same
//! bytes without parsing. Run with
//! `cargo run --release -p earshot-connect --example jetstream_bench [events]`.
//!
//! Post texts are real tweets from `$EARSHOT_DATA/xlmt-sentiment/*/train_text.txt` (eight
//! languages; `EARSHOT_DATA` defaults to `../shared/data`), or built-in ones when absent.

use earshot_connect::bluesky::bench::jetstream_throughput;
use std::path::PathBuf;

fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300_000);
    let data = std::env::var_os("EARSHOT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let mut texts = Vec::new();
    if let Ok(languages) = std::fs::read_dir(data.join("xlmt-sentiment")) {
        for language in languages.flatten() {
            if let Ok(file) = std::fs::read_to_string(language.path().join("train_text.txt")) {
                texts.extend(
                    file.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_owned),
                );
            }
        }
    }
    let source = if texts.is_empty() {
        "built-in texts".to_owned()
    } else {
        format!("{} real post texts", texts.len())
    };
    let r = jetstream_throughput(events, &texts, 3);
    println!(
        "jetstream bench: {} events ({:.1} MiB, {source}), {} brand terms, best of 3",
        r.events,
        r.bytes as f64 / (1024.0 * 1024.0),
        r.brand_terms
    );
    println!(
        "  (a) baseline, read bytes:   {:>12.0} events/s",
        r.baseline_events_per_sec
    );
    println!(
        "  (b) parse + filter:         {:>12.0} events/s",
        r.parse_filter_events_per_sec
    );
    println!("  (a)/(b):                    {:>12.1}x", r.slowdown);
    println!("  matched (posts built):      {:>12}", r.matched);
}
