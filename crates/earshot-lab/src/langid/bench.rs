//! The cost of language identification, beside baselines measured in the same run: parsing
//! a post from JSON (what every import does anyway), preparing its text (which the analyzer
//! does once for every step), and the whole analysis.

use earshot_analyze::lang::ngrams::NgramModel;
use earshot_analyze::text::Prepared;
use earshot_analyze::Analyzer;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

/// Nanoseconds per text of `f` over `texts`, cycled for about `seconds`.
fn time_per_text<T>(texts: &[T], seconds: f64, mut f: impl FnMut(&T)) -> f64 {
    if texts.is_empty() {
        return 0.0;
    }
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for t in texts {
            f(t);
        }
        n += texts.len() as u64;
        if start.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
    start.elapsed().as_secs_f64() * 1e9 / n as f64
}

/// Times each phase for about `seconds` on `texts` (one thread) and reports ns per post and
/// posts per second. `models` are the language models to time (the shipped one, and any
/// candidates beside it), each named.
pub fn run(models: &[(String, NgramModel)], texts: &[String], seconds: f64) -> String {
    let mut out = String::new();
    let whole = earshot_analyze::bench::run_with(&Analyzer::default(), texts, seconds);
    let prepared: Vec<Prepared> = texts.iter().map(|t| Prepared::new(t)).collect();
    let prepare = time_per_text(texts, seconds / 2.0, |t| {
        black_box(Prepared::new(black_box(t)));
    });
    let ngrams: Vec<(String, f64)> = models
        .iter()
        .map(|(name, model)| {
            let ns = time_per_text(&prepared, seconds / 2.0, |p| {
                black_box(model.score(black_box(&p.clean)));
            });
            (
                format!("n-gram language model {name} on a prepared text"),
                ns,
            )
        })
        .collect();
    let detector = whatlang::Detector::new();
    let whatlang = time_per_text(texts, seconds / 2.0, |t| {
        black_box(detector.detect(black_box(t)));
    });
    let _ = writeln!(
        out,
        "language-ID benchmark, one thread, {} texts (mean {:.0} bytes)\n",
        whole.texts, whole.mean_bytes
    );
    let _ = writeln!(out, "| phase | ns/post | posts/s |");
    let _ = writeln!(out, "|---|---:|---:|");
    let mut rows = vec![
        (
            "parse JSON → NewPost (baseline)".to_string(),
            whole.parse.ns_per_post,
        ),
        (
            "Prepared::new (baseline: the text pass every step shares)".to_string(),
            prepare,
        ),
    ];
    rows.extend(ngrams.iter().cloned());
    rows.push((
        "whatlang::detect, all its languages (earshot before)".to_string(),
        whatlang,
    ));
    rows.push((
        "full analysis (Analyzer::analyze, shipped model)".to_string(),
        whole.analyze.ns_per_post,
    ));
    for (name, ns) in &rows {
        let _ = writeln!(out, "| {name} | {ns:.0} | {:.0} |", 1e9 / ns.max(1e-9));
    }
    if let Some((_, shipped)) = ngrams.first() {
        let _ = writeln!(
            out,
            "\nshipped language model / full analysis: {:.3}; / Prepared::new: {:.3}; / parse: {:.3}",
            shipped / whole.analyze.ns_per_post.max(1e-9),
            shipped / prepare.max(1e-9),
            shipped / whole.parse.ns_per_post.max(1e-9)
        );
    }
    out
}
