//! The safety/harm signal measured on real posts labelled by hand.
//!
//! `data/safety/posts.tsv` holds real customer and public posts from `../shared/data`, drawn
//! and labelled as `data/safety/README.md` says (the labelling rule, the draw, the split into
//! a tuning and an evaluation half made before any tuning). This module runs earshot's own
//! analyzer (`Analyzer::analyze_text`, language detection included) over them and counts
//! hits and misses per half, per part of the draw (a random stream of care posts, and posts
//! caught by a broad net of harm words) and per language.
//!
//! `cargo run --release -p earshot-lab --example safety_eval -- [--split tune|tune2|eval|all] [--errors]`

use earshot_analyze::Analyzer;
use earshot_core::analysis::SafetyFinding;
use std::collections::BTreeMap;
use std::fmt;

/// The labelled sample, compiled in so the evaluation needs no files.
pub const POSTS_TSV: &str = include_str!("../data/safety/posts.tsv");

/// One labelled post.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// `tune` and `tune2` (may be looked at while changing the lexicon) or `eval` (never).
    pub split: String,
    /// `stream` (a random care post) or `enriched` (caught by the broad net).
    pub part: String,
    /// The data set under `../shared/data` it came from.
    pub source: String,
    /// The language its data set says, or empty for care posts (mostly English).
    pub lang: String,
    /// Labelled a safety report.
    pub harm: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error("posts.tsv line {line}: expected 6 tab-separated fields, found {found}")]
    Fields { line: usize, found: usize },
    #[error("posts.tsv line {line}: label {label:?} is not 0 or 1")]
    Label { line: usize, label: String },
}

/// Reads `split part source lang label text` lines.
pub fn read(tsv: &str) -> Result<Vec<Labelled>, SampleError> {
    let mut out = Vec::new();
    for (n, line) in tsv.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        let [split, part, source, lang, label, text] = f[..] else {
            return Err(SampleError::Fields {
                line: n + 1,
                found: f.len(),
            });
        };
        let harm = match label {
            "1" => true,
            "0" => false,
            other => {
                return Err(SampleError::Label {
                    line: n + 1,
                    label: other.to_string(),
                })
            }
        };
        out.push(Labelled {
            split: split.into(),
            part: part.into(),
            source: source.into(),
            lang: lang.into(),
            harm,
            text: text.into(),
        });
    }
    Ok(out)
}

/// A confusion count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
    pub true_neg: usize,
}

impl Counts {
    fn add(&mut self, labelled: bool, found: bool) {
        match (labelled, found) {
            (true, true) => self.true_pos += 1,
            (false, true) => self.false_pos += 1,
            (true, false) => self.false_neg += 1,
            (false, false) => self.true_neg += 1,
        }
    }
    pub fn posts(&self) -> usize {
        self.true_pos + self.false_pos + self.false_neg + self.true_neg
    }
    pub fn labelled_harm(&self) -> usize {
        self.true_pos + self.false_neg
    }
    /// `None` when nothing was flagged.
    pub fn precision(&self) -> Option<f64> {
        let flagged = self.true_pos + self.false_pos;
        (flagged > 0).then(|| self.true_pos as f64 / flagged as f64)
    }
    /// `None` when nothing is labelled harm.
    pub fn recall(&self) -> Option<f64> {
        let h = self.labelled_harm();
        (h > 0).then(|| self.true_pos as f64 / h as f64)
    }
}

/// The figures of one evaluation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Row name ("all", "part stream", "lang de", ...) → counts.
    pub rows: BTreeMap<String, Counts>,
    pub total: Counts,
    /// Posts the signal got wrong, with what it found.
    pub errors: Vec<(Labelled, SafetyFinding)>,
}

/// Runs `analyzer` over the posts of `split` (`tune`, `tune2`, `eval`, or `all`).
pub fn evaluate(posts: &[Labelled], analyzer: &Analyzer, split: &str) -> Report {
    let mut report = Report::default();
    for p in posts.iter().filter(|p| split == "all" || p.split == split) {
        let declared = (!p.lang.is_empty()).then_some(p.lang.as_str());
        let found = analyzer.analyze_text(&p.text, declared, None).safety;
        report.total.add(p.harm, found.harm);
        let lang = if p.lang.is_empty() {
            "care posts (mostly en)"
        } else {
            p.lang.as_str()
        };
        for key in [format!("part {}", p.part), format!("lang {lang}")] {
            report.rows.entry(key).or_default().add(p.harm, found.harm);
        }
        if p.harm != found.harm {
            report.errors.push((p.clone(), found));
        }
    }
    report
}

fn share(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{v:.3}"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>6} {:>6} {:>5} {:>5} {:>5} {:>9} {:>7}",
            "", "posts", "harm", "tp", "fp", "fn", "precision", "recall"
        )?;
        let mut line = |name: &str, c: &Counts| {
            writeln!(
                f,
                "{:<28} {:>6} {:>6} {:>5} {:>5} {:>5} {:>9} {:>7}",
                name,
                c.posts(),
                c.labelled_harm(),
                c.true_pos,
                c.false_pos,
                c.false_neg,
                share(c.precision()),
                share(c.recall())
            )
        };
        line("all", &self.total)?;
        for (name, c) in &self.rows {
            line(name, c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_reads_and_both_halves_hold_harm() {
        let posts = read(POSTS_TSV).expect("posts.tsv reads");
        for split in ["tune", "eval"] {
            let half: Vec<_> = posts.iter().filter(|p| p.split == split).collect();
            assert!(half.len() >= 350, "{split}: {} posts", half.len());
            assert!(half.iter().filter(|p| p.harm).count() >= 20, "{split}");
        }
    }

    #[test]
    fn counts_say_what_they_count() {
        let posts = read("tune\tstream\tx\ten\t1\tmy car caught fire\ntune\tstream\tx\ten\t0\tthis deal is fire\ntune\tstream\tx\ten\t1\tthe thing\n").unwrap();
        let r = evaluate(&posts, &Analyzer::default(), "tune");
        assert_eq!(r.total.true_pos, 1);
        assert_eq!(r.total.true_neg, 1);
        assert_eq!(r.total.false_neg, 1);
        assert_eq!(r.total.precision(), Some(1.0));
        assert_eq!(r.total.recall(), Some(0.5));
        assert_eq!(r.errors.len(), 1);
        assert!(read("tune\tstream\tx\ten\tmaybe\ttext").is_err());
        assert!(read("tune\tstream\ttext").is_err());
    }
}
