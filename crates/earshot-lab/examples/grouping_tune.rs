//! Tuning the grouper on the tuning half of the labelled asks only: each setting given as JSON
//! (fields of `GroupingConfig` over the shipped defaults) streamed desk by desk, with the
//! threshold swept, printing B-cubed precision and recall on the tuning half. It never streams
//! or scores an evaluation ask (the evaluation half is read once, by `grouping_eval`).
//!
//! `cargo run --release -p earshot-lab --example grouping_tune -- '{}' '{"concept_weight": 3.0}'`
//!
//! `-- --misses` lists, for each tuning request of two or more asks that the shipped settings
//! split, its asks with the request each landed in and the features each was read as.

use earshot_analyze::grouping::{Grouper, GroupingConfig};
use earshot_lab::grouping::{Company, Half, LabelledSet, Replay};
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Tuning requests split by the stream, each ask with where it landed and its features.
fn misses(set: &LabelledSet, replay: &Replay<'_>) {
    let config = GroupingConfig::default();
    let streamed = replay.stream(&config, Half::Tuning, Company::HalfOnly);
    let mut by_gold: BTreeMap<&str, Vec<(usize, u64)>> = BTreeMap::new();
    for &(i, r) in &streamed {
        by_gold
            .entry(set.asks[i].request.as_str())
            .or_default()
            .push((i, r));
    }
    let mut g = Grouper::new(config);
    for (gold, asks) in by_gold {
        let mut opened: Vec<u64> = asks.iter().map(|a| a.1).collect();
        opened.sort_unstable();
        opened.dedup();
        if asks.len() < 2 || opened.len() < 2 {
            continue;
        }
        println!(
            "\n## {gold}: {} asks in {} requests",
            asks.len(),
            opened.len()
        );
        for (i, r) in asks {
            let ask = &set.asks[i];
            let feats: Vec<String> = g
                .features(&ask.text, Some(&replay.langs[i]))
                .into_iter()
                .map(|f| {
                    if f.concept {
                        f.label.to_uppercase()
                    } else {
                        f.label
                    }
                })
                .collect();
            println!(
                "- r{} [{}] {}",
                r & 0xff_ffff,
                feats.join(" "),
                ask.text.replace('\n', " ")
            );
        }
    }
}

fn main() -> ExitCode {
    let set = match LabelledSet::shipped() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("grouping_tune: the labelled set does not read: {e}");
            return ExitCode::FAILURE;
        }
    };
    let replay = Replay::new(&set);
    if std::env::args().nth(1).as_deref() == Some("--misses") {
        misses(&set, &replay);
        return ExitCode::SUCCESS;
    }
    let all = std::env::var("EARSHOT_TUNE_ALL").is_ok_and(|v| v == "1");
    let mut settings: Vec<String> = std::env::args().skip(1).collect();
    if settings.is_empty() {
        settings.push("{}".into());
    }
    println!("| setting | threshold | P % | R % | P 2+ % | R 2+ % | merges left |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for json in &settings {
        let base: GroupingConfig = match serde_json::from_str(json) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("grouping_tune: {json:?} does not parse: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut best: Option<(f32, f64, f64, f64)> = None;
        for step in 8..=32 {
            let threshold = step as f32 * 0.025;
            let config = GroupingConfig {
                threshold,
                ..base.clone()
            };
            let s = replay.scores(&config, Half::Tuning, Company::HalfOnly);
            if all {
                println!(
                    "| {json} | {threshold:.3} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                    100.0 * s.precision,
                    100.0 * s.recall,
                    100.0 * s.shared_precision,
                    100.0 * s.shared_recall,
                    s.merges
                );
            }
            if s.precision >= 0.90 && best.is_none_or(|b| s.recall > b.2) {
                best = Some((threshold, s.precision, s.recall, s.shared_recall));
            }
        }
        if let Some((t, p, r, r2)) = best {
            println!(
                "best at P >= 90 %: {json} threshold {t:.3}: P {:.1} R {:.1} R 2+ {:.1}",
                100.0 * p,
                100.0 * r,
                100.0 * r2
            );
        }
    }
    ExitCode::SUCCESS
}
