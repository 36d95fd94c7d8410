//! Precision and recall of promise detection on hand-labelled brand replies.
//!
//! `cargo run --release -p earshot-analyze --example promise_eval [-- --errors tune|report|synthetic]`
//!
//! Reads `crates/earshot-analyze/data/promises.jsonl`: real brand replies from shared/data
//! (twcs samples, twcs-labeled-topics, ibm-care-conversations), labelled by hand, split by a
//! hash of their id into a `tune` half (the only one whose errors were looked at while writing
//! the rules) and a `report` half; plus a small *synthetic* multilingual set (written for this
//! evaluation, not real posts). Real replies get the language earshot's analyzer detects, as
//! the server would; synthetic ones their declared language.

use chrono::NaiveDate;
use earshot_analyze::promises::{detect_promise, CommitmentKind, DueHint, PromiseSettings};
use earshot_analyze::Analyzer;
use serde::Deserialize;
use std::process::ExitCode;

#[derive(Deserialize)]
struct Row {
    source: String,
    id: String,
    written_on: NaiveDate,
    text: String,
    #[serde(default)]
    lang: Option<String>,
    label: String,
    synthetic: bool,
    sample: String,
    split: String,
    #[serde(default)]
    due: Option<String>,
}

const LABELS: [&str; 6] = ["feature", "fix", "policy", "follow_up", "passed_on", "none"];

fn label_of(kind: Option<CommitmentKind>) -> &'static str {
    kind.map_or("none", |k| k.as_str())
}

fn due_label(d: &DueHint) -> String {
    match d {
        DueHint::Date(day) => format!("date:{day}"),
        DueHint::Within(n) => format!("within:{n}"),
        DueHint::Release(Some(v)) => format!("release:{v}"),
        DueHint::Release(None) => "release".into(),
    }
}

struct Scored<'a> {
    row: &'a Row,
    pred: &'static str,
    proposed: bool,
    due: Option<String>,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "–".into()
    } else {
        format!("{:.1}", 100.0 * n as f64 / d as f64)
    }
}

fn table(title: &str, rows: &[&Scored<'_>]) {
    println!("\n### {title} (n = {})\n", rows.len());
    println!("| kind | gold | predicted | correct | precision % | recall % |");
    println!("|---|---:|---:|---:|---:|---:|");
    for l in LABELS {
        let gold = rows.iter().filter(|s| s.row.label == l).count();
        let pred = rows.iter().filter(|s| s.pred == l).count();
        let tp = rows
            .iter()
            .filter(|s| s.row.label == l && s.pred == l)
            .count();
        println!(
            "| {l} | {gold} | {pred} | {tp} | {} | {} |",
            pct(tp, pred),
            pct(tp, gold)
        );
    }
    let product = |l: &str| matches!(l, "feature" | "fix" | "policy");
    let binary = |name: &str, f: &dyn Fn(&str) -> bool| {
        let gold = rows.iter().filter(|s| f(&s.row.label)).count();
        let pred = rows.iter().filter(|s| f(s.pred)).count();
        let tp = rows.iter().filter(|s| f(&s.row.label) && f(s.pred)).count();
        println!(
            "| {name} | {gold} | {pred} | {tp} | {} | {} |",
            pct(tp, pred),
            pct(tp, gold)
        );
    };
    binary("product promise (feature/fix/policy)", &product);
    binary("any commitment (not none)", &|l| l != "none");
    let gold = rows
        .iter()
        .filter(|s| {
            matches!(
                s.row.label.as_str(),
                "feature" | "fix" | "policy" | "follow_up"
            )
        })
        .count();
    let pred = rows.iter().filter(|s| s.proposed).count();
    let tp = rows
        .iter()
        .filter(|s| {
            s.proposed
                && matches!(
                    s.row.label.as_str(),
                    "feature" | "fix" | "policy" | "follow_up"
                )
        })
        .count();
    println!(
        "| proposed with default settings vs gold feature/fix/policy/follow_up | {gold} | {pred} | {tp} | {} | {} |",
        pct(tp, pred),
        pct(tp, gold)
    );
    let correct = rows.iter().filter(|s| s.row.label == s.pred).count();
    println!(
        "\nexact kind accuracy: {}% ({correct}/{})",
        pct(correct, rows.len()),
        rows.len()
    );
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut show_errors: Option<String> = None;
    while let Some(a) = args.next() {
        if a == "--errors" {
            show_errors = args.next();
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/promises.jsonl");
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("promise_eval: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match serde_json::from_str::<Row>(line) {
            Ok(r) => rows.push(r),
            Err(e) => {
                eprintln!("promise_eval: {path}:{}: {e}", n + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    let analyzer = Analyzer::default();
    let settings = PromiseSettings::default();
    let scored: Vec<Scored<'_>> = rows
        .iter()
        .map(|row| {
            let lang = match &row.lang {
                Some(l) => Some(l.clone()),
                None => {
                    let a = analyzer.analyze_text(&row.text, None, None);
                    let code = a.language.language.code().to_string();
                    (code != "und").then_some(code)
                }
            };
            let p = detect_promise(&row.text, lang.as_deref(), row.written_on);
            Scored {
                row,
                pred: label_of(p.as_ref().map(|p| p.kind)),
                proposed: p.as_ref().is_some_and(|p| settings.proposal(p).is_some()),
                due: p.as_ref().and_then(|p| p.due.as_ref()).map(due_label),
            }
        })
        .collect();

    let real: Vec<&Scored<'_>> = scored.iter().filter(|s| !s.row.synthetic).collect();
    let of_split = |split: &str| -> Vec<&Scored<'_>> {
        real.iter()
            .copied()
            .filter(|s| s.row.split == split)
            .collect()
    };
    let random: Vec<&Scored<'_>> = real
        .iter()
        .copied()
        .filter(|s| s.row.sample == "random")
        .collect();
    let synthetic: Vec<&Scored<'_>> = scored.iter().filter(|s| s.row.synthetic).collect();
    println!(
        "promise detection on {} labelled replies ({} real, {} synthetic)",
        scored.len(),
        real.len(),
        synthetic.len()
    );
    table(
        "Real brand replies, report half (errors never inspected)",
        &of_split("report"),
    );
    table("Real brand replies, tune half", &of_split("tune"));
    table("Real brand replies, all", &real);
    table(
        "Real brand replies, uniform random sample only (both halves)",
        &random,
    );
    table(
        "SYNTHETIC multilingual replies (written for this test; not real posts)",
        &synthetic,
    );

    let with_due: Vec<&&Scored<'_>> = synthetic.iter().filter(|s| s.row.due.is_some()).collect();
    let due_ok = with_due.iter().filter(|s| s.due == s.row.due).count();
    println!("\nsynthetic due hints: {due_ok}/{} exact", with_due.len());
    let mut langs: Vec<String> = synthetic
        .iter()
        .filter_map(|s| s.row.lang.clone())
        .collect();
    langs.sort();
    langs.dedup();
    println!("\n| synthetic language | n | exact kind |");
    println!("|---|---:|---:|");
    for l in &langs {
        let of: Vec<_> = synthetic
            .iter()
            .filter(|s| s.row.lang.as_deref() == Some(l))
            .collect();
        let ok = of.iter().filter(|s| s.row.label == s.pred).count();
        println!("| {l} | {} | {ok} |", of.len());
    }

    if let Some(split) = show_errors {
        println!("\nerrors in split {split}:");
        for s in scored.iter().filter(|s| s.row.split == split) {
            if s.row.label != s.pred || (s.row.due.is_some() && s.due != s.row.due) {
                println!(
                    "  [{} {}] gold {} / got {} (due {:?} / {:?}): {}",
                    s.row.source,
                    s.row.id,
                    s.row.label,
                    s.pred,
                    s.row.due,
                    s.due,
                    s.row.text.replace('\n', " ")
                );
            }
        }
    }
    ExitCode::SUCCESS
}
