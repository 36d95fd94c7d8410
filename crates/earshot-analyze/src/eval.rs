//! Evaluation on the real, human-labelled data under `shared/data` (see its README): language
//! identification, sentiment and intent, built-in rules against a model trained on the
//! training splits. Figures are reported on validation data only.
//!
//! Where a data set ships only one labelled file (`complaints-twitter/dev.csv`,
//! `clap-app-reviews/dev.csv`), it is split here, deterministically by a hash of the
//! normalised text (so identical texts stay together): 70% to train a model, 30% to report on.
//! The built-in rules are reported on that same 30%.
//!
//! Label mappings:
//! - tweeteval / xlm-t: 0 negative, 1 neutral, 2 positive.
//! - complaints-twitter: 1 → complaint; 0 → not a complaint. For training the intent model a
//!   0 row takes the built-in intent when that is not a complaint, else `other`.
//! - clap-app-reviews: FEATURE → feature_request; BUG, PERFORMANCE, ENERGY, SECURITY and
//!   USABILITY → complaint; OTHER → praise with 4–5 stars, other below.

use crate::analyzer::Analyzer;
use crate::fingerprint::hash_bytes;
use crate::text::Prepared;
use crate::train::{self, Model, Task, TrainError};
use earshot_core::analysis::{Intent, SentimentLabel};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Format {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// The xlm-t languages earshot reads, with their codes.
pub const XLMT_LANGUAGES: &[(&str, &str)] = &[
    ("english", "en"),
    ("french", "fr"),
    ("german", "de"),
    ("italian", "it"),
    ("portuguese", "pt"),
    ("spanish", "es"),
];
/// xlm-t languages outside earshot's list: only the rate of `und` is reported.
pub const XLMT_OTHER: &[&str] = &["arabic", "hindi"];

fn read_lines(path: &Path) -> Result<Vec<String>, EvalError> {
    let s = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(s.lines().map(|l| l.to_string()).collect())
}

fn sentiment_from_id(path: &Path, line: usize, id: &str) -> Result<SentimentLabel, EvalError> {
    match id.trim() {
        "0" => Ok(SentimentLabel::Negative),
        "1" => Ok(SentimentLabel::Neutral),
        "2" => Ok(SentimentLabel::Positive),
        other => Err(EvalError::Format {
            path: path.to_path_buf(),
            line: line as u64 + 1,
            message: format!("label {other:?} is not 0, 1 or 2"),
        }),
    }
}

fn paired(text: &Path, labels: &Path) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let t = read_lines(text)?;
    let l = read_lines(labels)?;
    if t.len() != l.len() {
        return Err(EvalError::Format {
            path: labels.to_path_buf(),
            line: l.len().min(t.len()) as u64,
            message: format!("{} texts but {} labels", t.len(), l.len()),
        });
    }
    t.into_iter()
        .zip(l.iter().enumerate())
        .map(|(text, (i, id))| Ok((text, sentiment_from_id(labels, i, id)?)))
        .collect()
}

/// TweetEval sentiment; `split` is `train` (the rebuilt one) or `val`.
pub fn tweeteval(data: &Path, split: &str) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let dir = data.join("tweeteval-sentiment");
    let prefix = if split == "train" {
        "train_reconstructed"
    } else {
        split
    };
    paired(
        &dir.join(format!("{prefix}_text.txt")),
        &dir.join(format!("{prefix}_labels.txt")),
    )
}

/// One xlm-t language (`english`, `italian`, ...); `split` is `train` or `val`.
pub fn xlmt(
    data: &Path,
    language: &str,
    split: &str,
) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let dir = data.join("xlmt-sentiment").join(language);
    paired(
        &dir.join(format!("{split}_text.txt")),
        &dir.join(format!("{split}_labels.txt")),
    )
}

/// A row of complaints-twitter.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintRow {
    pub text: String,
    pub complaint: bool,
    pub domain: String,
}

pub fn complaints(data: &Path) -> Result<Vec<ComplaintRow>, EvalError> {
    let path = data.join("complaints-twitter").join("dev.csv");
    let mut rdr = csv_reader(&path, false)?;
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(&path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let (Some(text), Some(label)) = (rec.get(1), rec.get(2)) else {
            return Err(format_error(&path, line, "expected id,text,label,domain"));
        };
        let complaint = match label.trim() {
            "1" => true,
            "0" => false,
            other => {
                return Err(format_error(
                    &path,
                    line,
                    &format!("label {other:?} is not 0 or 1"),
                ))
            }
        };
        out.push(ComplaintRow {
            text: text.to_string(),
            complaint,
            domain: rec.get(3).unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

/// A row of clap-app-reviews.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub text: String,
    pub category: String,
    pub rating: u8,
}

pub fn clap(data: &Path) -> Result<Vec<ReviewRow>, EvalError> {
    let path = data.join("clap-app-reviews").join("dev.csv");
    let mut rdr = csv_reader(&path, true)?;
    let headers = rdr.headers().map_err(|e| csv_error(&path, e))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ri), Some(ci), Some(si)) = (col("review"), col("category"), col("rating")) else {
        return Err(format_error(
            &path,
            1,
            "expected review, category and rating columns",
        ));
    };
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(&path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let (Some(text), Some(cat), Some(rating)) = (rec.get(ri), rec.get(ci), rec.get(si)) else {
            return Err(format_error(&path, line, "short row"));
        };
        out.push(ReviewRow {
            text: text.to_string(),
            category: cat.trim().to_ascii_uppercase(),
            rating: rating.trim().parse().unwrap_or(0),
        });
    }
    Ok(out)
}

/// The intent a clap category maps to (see the module doc).
pub fn clap_intent(row: &ReviewRow) -> Intent {
    match row.category.as_str() {
        "FEATURE" => Intent::FeatureRequest,
        "BUG" | "PERFORMANCE" | "ENERGY" | "SECURITY" | "USABILITY" => Intent::Complaint,
        _ if row.rating >= 4 => Intent::Praise,
        _ => Intent::Other,
    }
}

fn csv_reader(path: &Path, headers: bool) -> Result<csv::Reader<std::fs::File>, EvalError> {
    let file = std::fs::File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(headers)
        .flexible(true)
        .from_reader(file))
}

fn csv_error(path: &Path, e: csv::Error) -> EvalError {
    let line = e.position().map_or(0, |p| p.line());
    format_error(path, line, &e.to_string())
}

fn format_error(path: &Path, line: u64, message: &str) -> EvalError {
    EvalError::Format {
        path: path.to_path_buf(),
        line,
        message: message.to_string(),
    }
}

/// Whether a text falls in the 70% training part of a single-file data set.
pub fn in_train_part(text: &str) -> bool {
    let p = Prepared::new(text);
    let mut key = Vec::with_capacity(p.clean.len());
    for i in 0..p.tokens.len() {
        key.extend_from_slice(p.token_str(i).as_bytes());
        key.push(b' ');
    }
    hash_bytes(2024, &key) % 10 < 7
}

/// Multi-class scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub macro_recall: f64,
}

/// Accuracy, macro-F1 and macro-recall of `pred` against `gold` (class ids below `classes`).
pub fn metrics(gold: &[usize], pred: &[usize], classes: usize) -> Metrics {
    let n = gold.len().min(pred.len());
    let mut tp = vec![0f64; classes];
    let mut gold_n = vec![0f64; classes];
    let mut pred_n = vec![0f64; classes];
    let mut correct = 0f64;
    for (&g, &p) in gold.iter().zip(pred) {
        if g < classes {
            gold_n[g] += 1.0;
        }
        if p < classes {
            pred_n[p] += 1.0;
        }
        if g == p {
            correct += 1.0;
            if g < classes {
                tp[g] += 1.0;
            }
        }
    }
    let mut f1_sum = 0.0;
    let mut recall_sum = 0.0;
    let mut k = 0.0;
    for c in 0..classes {
        if gold_n[c] == 0.0 {
            continue;
        }
        k += 1.0;
        let recall = tp[c] / gold_n[c];
        let precision = if pred_n[c] > 0.0 {
            tp[c] / pred_n[c]
        } else {
            0.0
        };
        recall_sum += recall;
        if precision + recall > 0.0 {
            f1_sum += 2.0 * precision * recall / (precision + recall);
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Metrics {
        n,
        accuracy: div(correct, n as f64),
        macro_f1: div(f1_sum, k),
        macro_recall: div(recall_sum, k),
    }
}

/// Scores for one class against the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    pub n: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

pub fn binary(gold: &[bool], pred: &[bool]) -> Binary {
    let (mut tp, mut fp, mut fneg, mut correct) = (0f64, 0f64, 0f64, 0f64);
    for (&g, &p) in gold.iter().zip(pred) {
        match (g, p) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fneg += 1.0,
            _ => {}
        }
        if g == p {
            correct += 1.0;
        }
    }
    let n = gold.len().min(pred.len());
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    Binary {
        n,
        accuracy: if n > 0 { correct / n as f64 } else { 0.0 },
        precision,
        recall,
        f1: if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LanguageRow {
    pub dataset: String,
    /// The code every text should get (`und` for languages earshot does not read).
    pub expected: String,
    pub n: usize,
    /// Share of texts identified as `expected`.
    pub accuracy: f64,
    pub und_rate: f64,
    /// The most frequent wrong answer and its share.
    pub top_error: Option<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SentimentRow {
    pub dataset: String,
    pub builtin: Metrics,
    pub trained: Option<Metrics>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntentRow {
    pub dataset: String,
    /// What is measured, e.g. "complaint vs not".
    pub task: String,
    pub builtin: Binary,
    pub trained: Option<Binary>,
}

/// Everything `run` measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub language: Vec<LanguageRow>,
    pub sentiment: Vec<SentimentRow>,
    pub intent: Vec<IntentRow>,
    pub notes: Vec<String>,
}

/// Language identification on the validation texts of xlm-t (and tweeteval, all English).
pub fn language_id(data: &Path, analyzer: &Analyzer) -> Result<Vec<LanguageRow>, EvalError> {
    let mut rows = Vec::new();
    let mut sets: Vec<(String, String, Vec<String>)> = Vec::new();
    for (name, code) in XLMT_LANGUAGES {
        let texts = xlmt(data, name, "val")?.into_iter().map(|x| x.0).collect();
        sets.push((format!("xlmt {name} val"), code.to_string(), texts));
    }
    for name in XLMT_OTHER {
        let texts = xlmt(data, name, "val")?.into_iter().map(|x| x.0).collect();
        sets.push((format!("xlmt {name} val"), "und".to_string(), texts));
    }
    let texts = tweeteval(data, "val")?.into_iter().map(|x| x.0).collect();
    sets.push(("tweeteval val".into(), "en".into(), texts));
    for (dataset, expected, texts) in sets {
        let mut right = 0usize;
        let mut und = 0usize;
        let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
        for t in &texts {
            let code = analyzer.analyze_text(t, None, None).language.language.0;
            if code == expected {
                right += 1;
            } else {
                *wrong.entry(code.clone()).or_default() += 1;
            }
            if code == "und" {
                und += 1;
            }
        }
        let n = texts.len().max(1) as f64;
        let top_error = wrong
            .into_iter()
            .max_by_key(|(_, c)| *c)
            .map(|(code, c)| (code, c as f64 / n));
        rows.push(LanguageRow {
            dataset,
            expected,
            n: texts.len(),
            accuracy: right as f64 / n,
            und_rate: und as f64 / n,
            top_error,
        });
    }
    Ok(rows)
}

fn sentiment_index(l: SentimentLabel) -> usize {
    SentimentLabel::ALL
        .iter()
        .position(|x| *x == l)
        .unwrap_or(1)
}

/// The sentiment training set: tweeteval's rebuilt train split and every xlm-t train split of
/// a language earshot reads.
pub fn sentiment_training_examples(data: &Path) -> Result<Vec<(String, String)>, EvalError> {
    let mut out: Vec<(String, String)> = tweeteval(data, "train")?
        .into_iter()
        .map(|(t, l)| (t, l.to_string()))
        .collect();
    for (name, _) in XLMT_LANGUAGES {
        out.extend(
            xlmt(data, name, "train")?
                .into_iter()
                .map(|(t, l)| (t, l.to_string())),
        );
    }
    Ok(out)
}

/// Sentiment on tweeteval val and each xlm-t val split.
pub fn sentiment(
    data: &Path,
    builtin: &Analyzer,
    trained: Option<&Analyzer>,
) -> Result<Vec<SentimentRow>, EvalError> {
    let mut sets = vec![("tweeteval val".to_string(), tweeteval(data, "val")?)];
    for (name, _) in XLMT_LANGUAGES {
        sets.push((format!("xlmt {name} val"), xlmt(data, name, "val")?));
    }
    let mut rows = Vec::new();
    for (dataset, set) in sets {
        let gold: Vec<usize> = set.iter().map(|(_, l)| sentiment_index(*l)).collect();
        let score = |a: &Analyzer| {
            let pred: Vec<usize> = set
                .iter()
                .map(|(t, _)| sentiment_index(a.analyze_text(t, None, None).sentiment.label))
                .collect();
            metrics(&gold, &pred, 3)
        };
        rows.push(SentimentRow {
            dataset,
            builtin: score(builtin),
            trained: trained.map(score),
        });
    }
    Ok(rows)
}

/// The intent training set: the 70% training parts of complaints-twitter and clap.
pub fn intent_training_examples(
    data: &Path,
    builtin: &Analyzer,
) -> Result<Vec<(String, String)>, EvalError> {
    let mut out = Vec::new();
    for row in complaints(data)? {
        if !in_train_part(&row.text) {
            continue;
        }
        let label = if row.complaint {
            Intent::Complaint
        } else {
            match builtin.analyze_text(&row.text, None, None).intent.label {
                Intent::Complaint => Intent::Other,
                other => other,
            }
        };
        out.push((row.text, label.to_string()));
    }
    for row in clap(data)? {
        if in_train_part(&row.text) {
            let label = clap_intent(&row).to_string();
            out.push((row.text, label));
        }
    }
    Ok(out)
}

/// Complaint detection (complaints-twitter) and feature request vs complaint (clap), on the
/// 30% validation parts.
pub fn intent(
    data: &Path,
    builtin: &Analyzer,
    trained: Option<&Analyzer>,
) -> Result<Vec<IntentRow>, EvalError> {
    let mut rows = Vec::new();
    let predict = |a: &Analyzer, t: &str| a.analyze_text(t, None, None).intent.label;

    let tweets: Vec<ComplaintRow> = complaints(data)?
        .into_iter()
        .filter(|r| !in_train_part(&r.text))
        .collect();
    let gold: Vec<bool> = tweets.iter().map(|r| r.complaint).collect();
    let run = |a: &Analyzer| {
        let pred: Vec<bool> = tweets
            .iter()
            .map(|r| predict(a, &r.text) == Intent::Complaint)
            .collect();
        binary(&gold, &pred)
    };
    rows.push(IntentRow {
        dataset: "complaints-twitter dev, 30% part".into(),
        task: "complaint vs not".into(),
        builtin: run(builtin),
        trained: trained.map(run),
    });

    let reviews: Vec<ReviewRow> = clap(data)?
        .into_iter()
        .filter(|r| !in_train_part(&r.text))
        .collect();
    let fr_or_complaint: Vec<&ReviewRow> = reviews
        .iter()
        .filter(|r| matches!(clap_intent(r), Intent::FeatureRequest | Intent::Complaint))
        .collect();
    let gold: Vec<bool> = fr_or_complaint
        .iter()
        .map(|r| clap_intent(r) == Intent::FeatureRequest)
        .collect();
    let run = |a: &Analyzer| {
        let pred: Vec<bool> = fr_or_complaint
            .iter()
            .map(|r| predict(a, &r.text) == Intent::FeatureRequest)
            .collect();
        binary(&gold, &pred)
    };
    rows.push(IntentRow {
        dataset: "clap-app-reviews dev, 30% part, FEATURE + complaint categories".into(),
        task: "feature_request vs complaint".into(),
        builtin: run(builtin),
        trained: trained.map(run),
    });
    let gold: Vec<bool> = reviews
        .iter()
        .map(|r| clap_intent(r) == Intent::FeatureRequest)
        .collect();
    let run = |a: &Analyzer| {
        let pred: Vec<bool> = reviews
            .iter()
            .map(|r| predict(a, &r.text) == Intent::FeatureRequest)
            .collect();
        binary(&gold, &pred)
    };
    rows.push(IntentRow {
        dataset: "clap-app-reviews dev, 30% part, all categories".into(),
        task: "feature_request vs rest".into(),
        builtin: run(builtin),
        trained: trained.map(run),
    });
    let gold: Vec<bool> = reviews
        .iter()
        .map(|r| clap_intent(r) == Intent::Complaint)
        .collect();
    let run = |a: &Analyzer| {
        let pred: Vec<bool> = reviews
            .iter()
            .map(|r| predict(a, &r.text) == Intent::Complaint)
            .collect();
        binary(&gold, &pred)
    };
    rows.push(IntentRow {
        dataset: "clap-app-reviews dev, 30% part, all categories".into(),
        task: "complaint (BUG/PERF/ENERGY/SECURITY/USABILITY) vs rest".into(),
        builtin: run(builtin),
        trained: trained.map(run),
    });
    Ok(rows)
}

/// Trains the sentiment and intent models on the training data only, then evaluates
/// everything on validation data.
pub fn run(data: &Path) -> Result<EvalReport, EvalError> {
    let builtin = Analyzer::default();
    let mut notes = Vec::new();

    let t0 = Instant::now();
    let sent_examples = sentiment_training_examples(data)?;
    let sentiment_model = train::train(Task::Sentiment, &sent_examples)?;
    notes.push(format!(
        "sentiment model: {} training examples (tweeteval train + xlm-t train en/fr/de/it/pt/es), trained in {:.1}s",
        sent_examples.len(),
        t0.elapsed().as_secs_f64()
    ));
    let t0 = Instant::now();
    let intent_examples = intent_training_examples(data, &builtin)?;
    let intent_model = train::train(Task::Intent, &intent_examples)?;
    notes.push(format!(
        "intent model: {} training examples (70% parts of complaints-twitter and clap), trained in {:.1}s",
        intent_examples.len(),
        t0.elapsed().as_secs_f64()
    ));
    let model = Model::new("earshot-eval", "1")
        .with_task(sentiment_model)
        .with_task(intent_model);
    let trained = Analyzer::default().with_model(model);

    Ok(EvalReport {
        language: language_id(data, &builtin)?,
        sentiment: sentiment(data, &builtin, Some(&trained))?,
        intent: intent(data, &builtin, Some(&trained))?,
        notes,
    })
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "### Language identification (no declared language)\n")?;
        writeln!(
            f,
            "| data | expected | n | accuracy % | und % | most frequent error |"
        )?;
        writeln!(f, "|---|---|---:|---:|---:|---|")?;
        for r in &self.language {
            let err = r
                .top_error
                .as_ref()
                .map_or("-".to_string(), |(c, s)| format!("{c} ({}%)", pct(*s)));
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} |",
                r.dataset,
                r.expected,
                r.n,
                pct(r.accuracy),
                pct(r.und_rate),
                err
            )?;
        }
        writeln!(f, "\n### Sentiment (3 classes)\n")?;
        writeln!(
            f,
            "| data | n | built-in acc % | built-in macro-F1 % | built-in macro-recall % | trained acc % | trained macro-F1 % | trained macro-recall % |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.sentiment {
            let (ta, tf, tr) = r
                .trained
                .as_ref()
                .map_or(("-".into(), "-".into(), "-".into()), |m| {
                    (pct(m.accuracy), pct(m.macro_f1), pct(m.macro_recall))
                });
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.dataset,
                r.builtin.n,
                pct(r.builtin.accuracy),
                pct(r.builtin.macro_f1),
                pct(r.builtin.macro_recall),
                ta,
                tf,
                tr
            )?;
        }
        writeln!(f, "\n### Intent (positive class first in the task name)\n")?;
        writeln!(
            f,
            "| data | task | n | built-in acc % | built-in P % | built-in R % | built-in F1 % | trained acc % | trained P % | trained R % | trained F1 % |"
        )?;
        writeln!(f, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &self.intent {
            let t = r
                .trained
                .as_ref()
                .map_or(["-".to_string(), "-".into(), "-".into(), "-".into()], |b| {
                    [pct(b.accuracy), pct(b.precision), pct(b.recall), pct(b.f1)]
                });
            writeln!(
                f,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.dataset,
                r.task,
                r.builtin.n,
                pct(r.builtin.accuracy),
                pct(r.builtin.precision),
                pct(r.builtin.recall),
                pct(r.builtin.f1),
                t[0],
                t[1],
                t[2],
                t[3]
            )?;
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

    #[test]
    fn metrics_are_right_on_a_small_case() {
        let m = metrics(&[0, 0, 1, 2], &[0, 1, 1, 2], 3);
        assert_eq!(m.n, 4);
        assert!((m.accuracy - 0.75).abs() < 1e-9);
        // class 0: P 1, R .5, F1 .667; class 1: P .5, R 1, F1 .667; class 2: 1
        assert!((m.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-9);
        assert!((m.macro_recall - (0.5 + 1.0 + 1.0) / 3.0).abs() < 1e-9);
        let b = binary(&[true, true, false, false], &[true, false, true, false]);
        assert!((b.precision - 0.5).abs() < 1e-9 && (b.recall - 0.5).abs() < 1e-9);
        assert!((b.accuracy - 0.5).abs() < 1e-9);
    }

    #[test]
    fn split_is_deterministic_and_roughly_seventy_percent() {
        let n = (0..1000)
            .filter(|i| in_train_part(&format!("post number {i} about things")))
            .count();
        assert!((600..800).contains(&n), "{n}");
        assert_eq!(
            in_train_part("Hello @a world"),
            in_train_part("hello @b WORLD")
        );
    }

    #[test]
    fn report_renders_as_markdown() {
        let r = EvalReport {
            language: vec![LanguageRow {
                dataset: "x".into(),
                expected: "en".into(),
                n: 2,
                accuracy: 0.5,
                und_rate: 0.0,
                top_error: Some(("de".into(), 0.5)),
            }],
            sentiment: vec![],
            intent: vec![],
            notes: vec!["note".into()],
        };
        let s = r.to_string();
        assert!(
            s.contains("| x | en | 2 | 50.0 | 0.0 | de (50.0%) |"),
            "{s}"
        );
        assert!(s.contains("- note"));
    }

    /// Runs only where the shared data is present (`EARSHOT_DATA` or ../../../shared/data).
    #[test]
    fn reads_the_real_data_when_present() {
        let dir = std::env::var_os("EARSHOT_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            });
        if !dir.join("tweeteval-sentiment").is_dir() {
            return;
        }
        let val = tweeteval(&dir, "val").expect("tweeteval val");
        assert_eq!(val.len(), 2000);
        let c = complaints(&dir).expect("complaints");
        assert_eq!(c.len(), 2414);
        assert_eq!(c.iter().filter(|r| r.complaint).count(), 863);
        let r = clap(&dir).expect("clap");
        assert_eq!(r.len(), 2100);
        let rows = language_id(&dir, &Analyzer::default()).expect("language id");
        let en = rows
            .iter()
            .find(|r| r.dataset == "tweeteval val")
            .map(|r| r.accuracy);
        assert!(en.unwrap_or(0.0) > 0.9, "{rows:?}");
    }
}
