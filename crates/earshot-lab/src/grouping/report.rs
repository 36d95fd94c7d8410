//! The threshold sweep (tuning half only), the evaluation-half figures with the shipped
//! settings, and the markdown the example prints.

use super::replay::{Company, Replay, SuggestionQuality};
use super::score::{GroupingScores, PairCounts};
use super::set::{Half, LabelledSet};
use earshot_analyze::grouping::{GroupingConfig, MERGE_SUGGESTION_MIN, MISFIT_MAX};
use std::collections::BTreeMap;
use std::fmt;

/// The precision the threshold is chosen to keep on the tuning half.
pub const PRECISION_GOAL: f64 = 0.90;
/// The threshold `earshot` shipped before this set existed, replayed as a baseline.
pub const PREVIOUS_THRESHOLD: f32 = 0.15;
/// Bridging minimums tried on the tuning half (above 1: no bridging).
pub const BRIDGE_SWEEP: &[f32] = &[0.3, 0.4, 0.5, 0.6, 0.7, 2.0];

/// One threshold tried on the tuning half.
#[derive(Debug, Clone, PartialEq)]
pub struct Tried {
    pub threshold: f32,
    pub scores: GroupingScores,
}

/// Everything the example prints.
#[derive(Debug, Clone)]
pub struct Report {
    pub asks: [usize; 2],
    pub requests: [usize; 2],
    pub languages: BTreeMap<String, [usize; 2]>,
    pub sweep: Vec<Tried>,
    /// `bridge_min` tried on the tuning half with the shipped threshold (`threshold` holds it).
    pub bridge_sweep: Vec<Tried>,
    /// The lowest threshold that keeps [`PRECISION_GOAL`] on the tuning half.
    pub chosen: Option<f32>,
    pub shipped: GroupingConfig,
    /// Evaluation half, streamed alone, with the shipped settings.
    pub evaluation: GroupingScores,
    /// The same asks streamed among all of their desk's asks (tuning asks as company).
    pub evaluation_among_all: GroupingScores,
    /// The previous default threshold on the evaluation half (same run, same lexicon).
    pub previous: GroupingScores,
    /// The shipped settings without bridging, on the evaluation half (same run).
    pub without_bridging: GroupingScores,
    pub pairwise: PairCounts,
    pub per_desk: BTreeMap<String, GroupingScores>,
    /// The corrections offered after the evaluation stream, checked against the labels.
    pub suggestions: SuggestionQuality,
}

/// Sweeps thresholds on the tuning half, then measures the evaluation half with `shipped`.
pub fn run(set: &LabelledSet, shipped: &GroupingConfig) -> Report {
    let replay = Replay::new(set);
    let sweep: Vec<Tried> = (3..=14)
        .map(|step| {
            let threshold = step as f32 * 0.05;
            let config = GroupingConfig {
                threshold,
                ..shipped.clone()
            };
            Tried {
                threshold,
                scores: replay.scores(&config, Half::Tuning, Company::HalfOnly),
            }
        })
        .collect();
    let bridge_sweep: Vec<Tried> = BRIDGE_SWEEP
        .iter()
        .map(|&bridge_min| Tried {
            threshold: bridge_min,
            scores: replay.scores(
                &GroupingConfig {
                    bridge_min,
                    ..shipped.clone()
                },
                Half::Tuning,
                Company::HalfOnly,
            ),
        })
        .collect();
    let chosen = sweep
        .iter()
        .find(|t| t.scores.precision >= PRECISION_GOAL)
        .map(|t| t.threshold);
    let mut languages: BTreeMap<String, [usize; 2]> = BTreeMap::new();
    for a in &set.asks {
        languages.entry(a.lang.clone()).or_default()[(a.half == Half::Evaluation) as usize] += 1;
    }
    let previous = GroupingConfig {
        threshold: PREVIOUS_THRESHOLD,
        ..shipped.clone()
    };
    let mut per_desk = BTreeMap::new();
    let streamed = replay.stream(shipped, Half::Evaluation, Company::HalfOnly);
    for desk in set.desks().keys() {
        let s = replay.score_streamed(&streamed, |i| {
            set.asks[i].half == Half::Evaluation && set.asks[i].desk == *desk
        });
        per_desk.insert(desk.to_string(), s);
    }
    Report {
        asks: [set.count(Half::Tuning), set.count(Half::Evaluation)],
        requests: [
            set.requests(Half::Tuning).len(),
            set.requests(Half::Evaluation).len(),
        ],
        languages,
        sweep,
        bridge_sweep,
        chosen,
        shipped: shipped.clone(),
        evaluation: replay.score_streamed(&streamed, |i| set.asks[i].half == Half::Evaluation),
        evaluation_among_all: replay.scores(shipped, Half::Evaluation, Company::AllAsks),
        previous: replay.scores(&previous, Half::Evaluation, Company::HalfOnly),
        without_bridging: replay.scores(
            &GroupingConfig {
                bridge_min: 2.0,
                ..shipped.clone()
            },
            Half::Evaluation,
            Company::HalfOnly,
        ),
        pairwise: replay.pairwise(shipped, Half::Evaluation),
        per_desk,
        suggestions: replay.suggestion_quality(
            shipped,
            Half::Evaluation,
            MERGE_SUGGESTION_MIN,
            MISFIT_MAX,
        ),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, s: &GroupingScores) -> fmt::Result {
    writeln!(
        f,
        "| {name} | {} | {} | {} | {} | {} | {} | {}/{} ({}%) | {}/{} ({}%) | {} | {} |",
        s.asks,
        s.requests,
        pct(s.precision),
        pct(s.recall),
        pct(s.shared_precision),
        pct(s.shared_recall),
        s.pure,
        s.opened,
        pct(s.pure_share()),
        s.pure_multi,
        s.opened_multi,
        pct(s.pure_multi_share()),
        s.merges,
        s.moves,
    )
}

fn pairs(f: &mut fmt::Formatter<'_>, name: &str, p: &PairCounts) -> fmt::Result {
    writeln!(
        f,
        "| {name} | {} | {} | {} | {} | {} | {} |",
        p.pairs,
        p.same,
        p.joined,
        p.both,
        pct(p.precision()),
        pct(p.recall())
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "## Request grouping on real asks (earshot-lab/data/grouping)\n"
        )?;
        writeln!(
            f,
            "{} asks in {} requests (tuning) and {} asks in {} requests (evaluation); languages: {}.\n",
            self.asks[0],
            self.requests[0],
            self.asks[1],
            self.requests[1],
            self.languages
                .iter()
                .map(|(l, n)| format!("{l} {}/{}", n[0], n[1]))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        writeln!(
            f,
            "### Tuning half: the threshold sweep (streamed, desk by desk)\n"
        )?;
        writeln!(
            f,
            "| threshold | B-cubed P % | B-cubed R % | pure requests % | pure 2+ % | merges left |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---:|---:|")?;
        for t in &self.sweep {
            writeln!(
                f,
                "| {:.2} | {} | {} | {} | {} | {} |",
                t.threshold,
                pct(t.scores.precision),
                pct(t.scores.recall),
                pct(t.scores.pure_share()),
                pct(t.scores.pure_multi_share()),
                t.scores.merges
            )?;
        }
        match self.chosen {
            Some(t) => writeln!(
                f,
                "\nLowest threshold with B-cubed precision ≥ {}% on the tuning half: {t:.2}; shipped: {:.2}.\n",
                pct(PRECISION_GOAL),
                self.shipped.threshold
            )?,
            None => writeln!(f, "\nNo threshold reached {}% precision on the tuning half.\n", pct(PRECISION_GOAL))?,
        }
        writeln!(
            f,
            "Bridging (an ask fitting two requests at least this alike merges them), tuning half, threshold {:.2}:\n",
            self.shipped.threshold
        )?;
        writeln!(
            f,
            "| bridge_min | B-cubed P % | B-cubed R % | pure requests % | pure 2+ % | merges left |"
        )?;
        writeln!(f, "|---:|---:|---:|---:|---:|---:|")?;
        for t in &self.bridge_sweep {
            let name = if t.threshold > 1.0 {
                "off".to_string()
            } else {
                format!("{:.2}", t.threshold)
            };
            writeln!(
                f,
                "| {name} | {} | {} | {} | {} | {} |",
                pct(t.scores.precision),
                pct(t.scores.recall),
                pct(t.scores.pure_share()),
                pct(t.scores.pure_multi_share()),
                t.scores.merges
            )?;
        }
        writeln!(f, "\nShipped bridge_min: {:.2}.\n", self.shipped.bridge_min)?;
        writeln!(f, "### Evaluation half, streamed as `serve` groups (posts in time order, one grouper per desk)\n")?;
        writeln!(f, "B-cubed over every evaluation ask; \"2+\" over asks whose request has two or more asks (a lone ask always has recall 1). Pure: opened requests holding asks of one request only (all, and those with 2+ asks). Merges: what an agent would still merge so that each request is one; moves: asks to move out.\n")?;
        writeln!(f, "| reading | asks | requests | P % | R % | P 2+ % | R 2+ % | pure requests | pure 2+ | merges | moves |")?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        row(
            f,
            &format!("shipped (threshold {:.2})", self.shipped.threshold),
            &self.evaluation,
        )?;
        row(
            f,
            "shipped, among all asks of the desk",
            &self.evaluation_among_all,
        )?;
        row(f, "shipped without bridging", &self.without_bridging)?;
        row(
            f,
            &format!("previous default (threshold {PREVIOUS_THRESHOLD:.2})"),
            &self.previous,
        )?;
        let q = &self.suggestions;
        writeln!(
            f,
            "\nCorrections offered to agents after that stream: {} merges (\"these two requests look like one\"), {} right ({}%); {} moves (\"this ask may not belong\"), {} right ({}%).",
            q.merges,
            q.right_merges,
            pct(q.right_merges as f64 / q.merges.max(1) as f64),
            q.moves,
            q.right_moves,
            pct(q.right_moves as f64 / q.moves.max(1) as f64),
        )?;
        writeln!(f, "\n### Pairwise, beside it (evaluation half)\n")?;
        writeln!(f, "Every pair of evaluation asks of one desk: \"same\" pairs ask for one thing; \"joined\" pairs ended in one request.\n")?;
        writeln!(
            f,
            "| reading | pairs | same | joined | same and joined | P % | R % |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|")?;
        pairs(f, "streamed (the row above)", &self.evaluation.pairs)?;
        pairs(
            f,
            "each pair alone, both orders reach the threshold",
            &self.pairwise,
        )?;
        writeln!(f, "\n### Evaluation half per desk (shipped settings)\n")?;
        writeln!(f, "| desk | asks | requests | P % | R % | P 2+ % | R 2+ % | pure requests | pure 2+ | merges | moves |")?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for (desk, s) in &self.per_desk {
            row(f, desk, s)?;
        }
        Ok(())
    }
}
