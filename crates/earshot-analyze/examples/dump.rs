//! Writes every analysis of the bench's texts as JSON lines (the shipped model, then the
//! rules alone, both with the pinned terms): diff two runs' output to prove a speed-up changed
//! nothing. `cargo run --release -p earshot-analyze --example dump -- ../shared/data > out.jsonl`

#[path = "../tests/pinned/common.rs"]
#[allow(dead_code)]
mod common;

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let data = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let path = data.join("twcs-sample-head").join("dev.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("twcs csv");
    let col = rdr
        .headers()
        .expect("headers")
        .iter()
        .position(|h| h == "text")
        .expect("text column");
    let mut texts: Vec<String> = rdr
        .records()
        .filter_map(|r| r.ok().and_then(|r| r.get(col).map(str::to_string)))
        .collect();
    let train = earshot_analyze::eval::tweeteval(&data, "train").expect("tweeteval");
    texts.extend(train.into_iter().map(|(t, _)| t));
    let (model, rules) = common::analyzers();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    for analyzer in [&model, &rules] {
        for (i, t) in texts.iter().enumerate() {
            let lang = [None, Some("en"), Some("da")][i % 7 / 3 % 3];
            let a = analyzer.analyze(&common::post(i, t, lang));
            let json = serde_json::to_string(&a).expect("json");
            writeln!(out, "{json}").expect("write");
        }
    }
}
