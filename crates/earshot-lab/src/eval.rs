//! The evaluation: sentiment per data set and language, complaint and feature-request intent,
//! for each analyzer given (the rules alone, the shipped model, ...), on validation parts that
//! share no normalised text with anything trained on (see [`crate::overlap`]).

use crate::data::{Example, Split};
use crate::metrics::{binary, calibration_error, metrics, Binary, Metrics};
use earshot_analyze::Analyzer;
use earshot_core::analysis::{Intent, SentimentLabel};
use std::collections::BTreeMap;
use std::fmt;

/// One analyzer's scores on one validation part.
#[derive(Debug, Clone, PartialEq)]
pub struct SentimentScore {
    pub metrics: Metrics,
    /// Expected calibration error of the label's stated probability (3-class sets only).
    pub calibration_error: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SentimentRow {
    pub set: String,
    pub lang: String,
    /// 3 (negative/neutral/positive) or 2 (a set without neutral: the sign decides).
    pub classes: usize,
    pub scores: Vec<SentimentScore>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntentRow {
    pub set: String,
    pub task: String,
    pub scores: Vec<Binary>,
}

/// Everything measured, one column per analyzer.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub analyzers: Vec<String>,
    pub sentiment: Vec<SentimentRow>,
    pub intent: Vec<IntentRow>,
    pub notes: Vec<String>,
}

fn class(l: SentimentLabel) -> usize {
    match l {
        SentimentLabel::Negative => 0,
        SentimentLabel::Neutral => 1,
        SentimentLabel::Positive => 2,
    }
}

/// The stated probability of the chosen sentiment label: the model's evidence carries it
/// first; the rules state none.
fn sentiment_probability(a: &earshot_core::analysis::SentimentFinding) -> Option<f32> {
    a.evidence
        .first()
        .filter(|e| e.rule.starts_with("model:"))
        .map(|e| e.weight)
}

/// Sentiment on every validation part, grouped by (set, part).
pub fn sentiment(val: &[Example], analyzers: &[(&str, &Analyzer)]) -> Vec<SentimentRow> {
    let mut groups: BTreeMap<(String, String), Vec<&Example>> = BTreeMap::new();
    for e in val
        .iter()
        .filter(|e| e.split == Split::Val && e.sentiment.is_some())
    {
        let name = e.set_and_part();
        groups
            .entry((name, e.lang.to_string()))
            .or_default()
            .push(e);
    }
    let mut rows = Vec::new();
    for ((set, lang), items) in groups {
        let gold: Vec<usize> = items
            .iter()
            .filter_map(|e| e.sentiment.map(class))
            .collect();
        let classes = if gold.contains(&1) { 3 } else { 2 };
        let scores = analyzers
            .iter()
            .map(|(_, a)| {
                let (mut pred, mut conf, mut ok) = (Vec::new(), Vec::new(), Vec::new());
                for (e, &g) in items.iter().zip(&gold) {
                    let s = a.analyze_text(&e.text, None, None).sentiment;
                    let p = if classes == 3 {
                        class(s.label)
                    } else if s.score >= 0.0 {
                        2
                    } else {
                        0
                    };
                    if let Some(c) = sentiment_probability(&s) {
                        conf.push(c);
                        ok.push(class(s.label) == g);
                    }
                    pred.push(p);
                }
                SentimentScore {
                    metrics: metrics(&gold, &pred, 3),
                    calibration_error: (classes == 3 && conf.len() == pred.len())
                        .then(|| calibration_error(&conf, &ok)),
                }
            })
            .collect();
        rows.push(SentimentRow {
            set,
            lang,
            classes,
            scores,
        });
    }
    rows
}

/// Which gold answer an example gives for an intent task (`None`: not part of it).
type GoldOf = Box<dyn Fn(&Example) -> Option<bool>>;

/// Complaint detection and feature request vs complaint on the validation parts.
pub fn intent(val: &[Example], analyzers: &[(&str, &Analyzer)]) -> Vec<IntentRow> {
    let mut rows = Vec::new();
    let tasks: [(&str, &str, GoldOf, Intent); 3] = [
        (
            "complaints-twitter",
            "complaint vs not",
            Box::new(|e| e.complaint),
            Intent::Complaint,
        ),
        (
            "clap-app-reviews",
            "feature_request vs complaint (FEATURE and the complaint categories)",
            Box::new(|e| match (e.feature_request, e.complaint) {
                (Some(true), _) => Some(true),
                (_, Some(true)) => Some(false),
                _ => None,
            }),
            Intent::FeatureRequest,
        ),
        (
            "clap-app-reviews",
            "complaint (BUG/PERFORMANCE/ENERGY/SECURITY/USABILITY) vs rest",
            Box::new(|e| e.complaint),
            Intent::Complaint,
        ),
    ];
    for (set, task, gold_of, positive) in tasks {
        let items: Vec<(&Example, bool)> = val
            .iter()
            .filter(|e| e.split == Split::Val && e.set == set)
            .filter_map(|e| gold_of(e).map(|g| (e, g)))
            .collect();
        let gold: Vec<bool> = items.iter().map(|x| x.1).collect();
        let scores = analyzers
            .iter()
            .map(|(_, a)| {
                let pred: Vec<bool> = items
                    .iter()
                    .map(|(e, _)| a.analyze_text(&e.text, None, None).intent.label == positive)
                    .collect();
                binary(&gold, &pred)
            })
            .collect();
        rows.push(IntentRow {
            set: set.into(),
            task: task.into(),
            scores,
        });
    }
    rows
}

/// Runs every measure for each named analyzer.
pub fn run(val: &[Example], analyzers: &[(&str, &Analyzer)], notes: Vec<String>) -> Report {
    Report {
        analyzers: analyzers.iter().map(|(n, _)| n.to_string()).collect(),
        sentiment: sentiment(val, analyzers),
        intent: intent(val, analyzers),
        notes,
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "### Sentiment, macro-recall % (accuracy %) on validation parts\n"
        )?;
        write!(f, "| data | lang | classes | n |")?;
        for a in &self.analyzers {
            write!(f, " {a} |")?;
        }
        writeln!(f)?;
        write!(f, "|---|---|---:|---:|")?;
        for _ in &self.analyzers {
            write!(f, "---:|")?;
        }
        writeln!(f)?;
        for r in &self.sentiment {
            let n = r.scores.first().map_or(0, |s| s.metrics.n);
            write!(f, "| {} | {} | {} | {} |", r.set, r.lang, r.classes, n)?;
            for s in &r.scores {
                write!(
                    f,
                    " {} ({}) |",
                    pct(s.metrics.macro_recall),
                    pct(s.metrics.accuracy)
                )?;
            }
            writeln!(f)?;
        }
        let calibrated: Vec<&SentimentRow> = self
            .sentiment
            .iter()
            .filter(|r| r.scores.iter().any(|s| s.calibration_error.is_some()))
            .collect();
        if !calibrated.is_empty() {
            writeln!(
                f,
                "\n### Sentiment probability: expected calibration error % (lower is better)\n"
            )?;
            write!(f, "| data | lang |")?;
            for a in &self.analyzers {
                write!(f, " {a} |")?;
            }
            writeln!(f)?;
            write!(f, "|---|---|")?;
            for _ in &self.analyzers {
                write!(f, "---:|")?;
            }
            writeln!(f)?;
            for r in calibrated {
                write!(f, "| {} | {} |", r.set, r.lang)?;
                for s in &r.scores {
                    match s.calibration_error {
                        Some(e) => write!(f, " {} |", pct(e))?,
                        None => write!(f, " - |")?,
                    }
                }
                writeln!(f)?;
            }
        }
        writeln!(
            f,
            "\n### Intent on validation parts: F1 % (precision % / recall %)\n"
        )?;
        write!(f, "| data | task | n |")?;
        for a in &self.analyzers {
            write!(f, " {a} |")?;
        }
        writeln!(f)?;
        write!(f, "|---|---|---:|")?;
        for _ in &self.analyzers {
            write!(f, "---:|")?;
        }
        writeln!(f)?;
        for r in &self.intent {
            let n = r.scores.first().map_or(0, |s| s.n);
            write!(f, "| {} | {} | {} |", r.set, r.task, n)?;
            for s in &r.scores {
                write!(
                    f,
                    " {} ({} / {}) |",
                    pct(s.f1),
                    pct(s.precision),
                    pct(s.recall)
                )?;
            }
            writeln!(f)?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            for n in &self.notes {
                writeln!(f, "- {n}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(set: &'static str, text: &str, s: Option<SentimentLabel>, c: Option<bool>) -> Example {
        Example {
            set,
            part: "",
            lang: "en",
            split: Split::Val,
            text: text.into(),
            sentiment: s,
            complaint: c,
            feature_request: None,
        }
    }

    #[test]
    fn report_has_a_row_per_set_and_a_column_per_analyzer() {
        let val = vec![
            ex(
                "s",
                "I love it, thanks!",
                Some(SentimentLabel::Positive),
                None,
            ),
            ex(
                "s",
                "This is terrible",
                Some(SentimentLabel::Negative),
                None,
            ),
            ex(
                "s",
                "The store opens at nine",
                Some(SentimentLabel::Neutral),
                None,
            ),
            ex(
                "complaints-twitter",
                "My order never arrived, awful service",
                None,
                Some(true),
            ),
            ex(
                "complaints-twitter",
                "What time do you open?",
                None,
                Some(false),
            ),
        ];
        let a = Analyzer::default();
        let r = run(&val, &[("one", &a), ("two", &a)], vec!["a note".into()]);
        assert_eq!(r.sentiment.len(), 1);
        assert_eq!(r.sentiment[0].classes, 3);
        assert_eq!(r.sentiment[0].scores.len(), 2);
        assert_eq!(r.intent[0].scores[0].n, 2);
        let s = r.to_string();
        assert!(s.contains("| s | en | 3 | 3 |"), "{s}");
        assert!(s.contains("- a note"));
    }
}
