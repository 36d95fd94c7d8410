//! Choosing the recipe of the shipped model without looking at what the evaluation reports:
//! the training pool (already free of every validation text) is cut by a hash of each
//! example's normalised text into a fitting part (four in five) and a tuning slice (one in
//! five); a recipe is trained on the fitting part and scored on the tuning slice, with the
//! same measures as the evaluation. The validation parts are not read here at all beyond
//! keeping them out of the pool.
//!
//! ```text
//! cargo run --release -p earshot-lab -- tune --epochs 10 --complaint-weight airline-tweets=0.2
//! ```

use crate::build::Recipe;
use crate::data::{self, Example, Split};
use crate::eval::{self, Report};
use crate::overlap::{self, norm_key};
use earshot_analyze::fingerprint::hash_bytes;
use earshot_analyze::train::train_model;
use earshot_analyze::{Analyzer, Terms};
use std::path::Path;

/// Whether a training example falls in the tuning slice (one in five, by normalised text, so
/// copies stay on one side).
pub fn in_tuning_slice(text: &str) -> bool {
    hash_bytes(0x7u64, norm_key(text).as_bytes()).is_multiple_of(5)
}

/// The training pool cut in two: (fitting part, tuning slice); the tuning slice's examples
/// are marked [`Split::Val`] so the evaluation's measures read them.
pub fn split_pool(pool: Vec<Example>) -> (Vec<Example>, Vec<Example>) {
    let (mut tune, fit): (Vec<Example>, Vec<Example>) =
        pool.into_iter().partition(|e| in_tuning_slice(&e.text));
    for e in &mut tune {
        e.split = Split::Val;
    }
    (fit, tune)
}

/// Trains `recipe` on the fitting part and scores it on the tuning slice.
pub fn tune(data_dir: &Path, recipe: &Recipe) -> Result<Report, Box<dyn std::error::Error>> {
    let examples = data::all(data_dir)?;
    let (pool, _) = overlap::training_pool(&examples);
    drop(examples);
    let (fit, tune) = split_pool(pool);
    let model = train_model("tune", "1", &recipe.labelled(&fit), &recipe.options, vec![])?;
    let terms = Terms::default();
    let analyzer = Analyzer::rules_only(&terms).with_model(model);
    Ok(eval::run(
        &tune,
        &[("recipe", &analyzer)],
        vec![format!(
            "fitting part {} examples, tuning slice {} (both from the training pool)",
            fit.len(),
            tune.len()
        )],
    ))
}

/// The figures the recipe is chosen on, in one line: complaint F1, feature request vs
/// complaint F1, TweetEval macro-recall, the mean over XLM-T languages, and every XLM-T
/// language.
pub fn summary(r: &Report) -> String {
    let intent = |set: &str, task: &str| {
        r.intent
            .iter()
            .find(|x| x.set == set && x.task.starts_with(task))
            .and_then(|x| x.scores.first())
            .map_or(f64::NAN, |s| 100.0 * s.f1)
    };
    let senti = |set: &str| {
        r.sentiment
            .iter()
            .find(|x| x.set == set)
            .and_then(|x| x.scores.first())
            .map_or(f64::NAN, |s| 100.0 * s.metrics.macro_recall)
    };
    let xlmt: Vec<(String, f64)> = r
        .sentiment
        .iter()
        .filter(|x| x.set.starts_with("xlmt-sentiment "))
        .filter_map(|x| {
            x.scores
                .first()
                .map(|s| (x.lang.clone(), 100.0 * s.metrics.macro_recall))
        })
        .collect();
    let mean_all = {
        let v: Vec<f64> = r
            .sentiment
            .iter()
            .filter_map(|x| x.scores.first().map(|s| 100.0 * s.metrics.macro_recall))
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let xmean = xlmt.iter().map(|x| x.1).sum::<f64>() / xlmt.len().max(1) as f64;
    format!(
        "complaint F1 {:.1} | clap fr-vs-complaint F1 {:.1} | tweeteval {:.1} | semeval16 {:.1} | xlmt mean {:.1} ({}) | all-sentiment mean {:.1}",
        intent("complaints-twitter", "complaint"),
        intent("clap-app-reviews", "feature_request"),
        senti("tweeteval-sentiment"),
        senti("semeval2016-devtest"),
        xmean,
        xlmt.iter()
            .map(|(l, m)| format!("{l} {m:.1}"))
            .collect::<Vec<_>>()
            .join(" "),
        mean_all
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tuning_slice_is_a_fifth_and_keeps_copies_together() {
        let texts: Vec<String> = (0..5000).map(|i| format!("post number {i} here")).collect();
        let n = texts.iter().filter(|t| in_tuning_slice(t)).count();
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(
            in_tuning_slice("Great service, thanks!"),
            in_tuning_slice("@brand great SERVICE thanks https://t.co/x")
        );
    }
}
