//! How close earshot's first drafts come to what brands really answered.
//!
//! For each data set ([`pairs`]) a cut-off date splits each brand's answers: the index holds
//! only the answers written before it; every answer after it is held out and drafted for, from
//! the customer words it answered. A held-out answer whose customer words (normalised) are also
//! among the indexed ones is left out, so no answer is found by its own question; a brand with
//! fewer than [`MIN_INDEXED`] answers before the cut-off has no history to draft from and is
//! left out (both counted in the report).
//!
//! Compared, in the same run, against the real answer with its mention and sign-off taken out
//! (the draft never carries either, and the name in a greeting is not known in these data sets):
//! - **draft**: earshot's default ([`Choice::Consensus`]);
//! - **nearest**: the answer to the single most similar past post;
//! - **baseline**: the brand's most common answer before the cut-off.
//!
//! Scores ([`rouge`]): mean ROUGE-L F, and the share "sendable with small edits" (token edit
//! distance at most 30 % of the real answer's words). No draft (nothing similar enough) scores
//! 0 and is not sendable.

pub mod pairs;
pub mod rouge;

use crate::overlap::norm_key;
use chrono::{DateTime, TimeZone, Utc};
use earshot_analyze::drafts::{adapt, Choice, DraftIndex, DraftRequest, DraftSettings, PastAnswer};
use earshot_analyze::{Analyzer, Terms};
use earshot_core::Network;
use pairs::Answered;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

/// A brand needs this many answers before the cut-off to be drafted for.
pub const MIN_INDEXED: usize = 5;

/// One data set of answers and where it is cut.
pub struct Dataset {
    pub name: &'static str,
    /// Answers before this instant are indexed; the rest are held out.
    pub cutoff: DateTime<Utc>,
    pub answers: Vec<Answered>,
}

/// The cut-offs, fixed from the dates alone (about 60–70 % of each set's answers before):
/// TWCS's head is one evening of Oct 31 2017 and the morning after; IBM's conversations run
/// mostly through March 2020.
pub fn datasets(data: &Path) -> Result<Vec<Dataset>, String> {
    let at = |y, m, d, h, min| {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .ok_or_else(|| "bad cut-off".to_string())
    };
    Ok(vec![
        Dataset {
            name: "twcs-sample-head (dev)",
            cutoff: at(2017, 10, 31, 23, 30)?,
            answers: pairs::twcs(&data.join("twcs-sample-head").join("dev.csv"))?,
        },
        Dataset {
            name: "ibm-care-conversations (dev)",
            cutoff: at(2020, 3, 25, 0, 0)?,
            answers: pairs::ibm(&data.join("ibm-care-conversations").join("dev.json"))?,
        },
    ])
}

/// Summed scores of one way of answering.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    pub n: usize,
    pub given: usize,
    pub rouge_sum: f64,
    pub sendable: usize,
}

impl Scores {
    fn add(&mut self, draft: Option<&str>, real: &[String]) {
        self.n += 1;
        let Some(d) = draft else {
            return;
        };
        self.given += 1;
        let t = rouge::tokens(d);
        self.rouge_sum += rouge::rouge_l(&t, real);
        self.sendable += usize::from(rouge::sendable(&t, real));
    }

    fn merge(&mut self, o: &Scores) {
        self.n += o.n;
        self.given += o.given;
        self.rouge_sum += o.rouge_sum;
        self.sendable += o.sendable;
    }

    pub fn rouge(&self) -> f64 {
        ratio(self.rouge_sum, self.n)
    }

    pub fn sendable_share(&self) -> f64 {
        ratio(self.sendable as f64, self.n)
    }
}

fn ratio(a: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        a / n as f64
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrandRow {
    pub brand: String,
    pub indexed: usize,
    pub draft: Scores,
    pub nearest: Scores,
    pub baseline: Scores,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetReport {
    pub name: String,
    pub cutoff: String,
    pub rows: Vec<BrandRow>,
    /// Held-out answers of brands with too little history.
    pub no_history: usize,
    /// Held-out answers whose customer words are also indexed.
    pub overlapping: usize,
    /// Held-out answers whose text (normalised) the brand had already given before the cut-off.
    pub repeated_answers: usize,
    /// Drafts that the promise detector marks as committing.
    pub committing: usize,
}

impl DatasetReport {
    pub fn total(&self) -> BrandRow {
        let mut t = BrandRow {
            brand: "all brands".into(),
            ..BrandRow::default()
        };
        for r in &self.rows {
            t.indexed += r.indexed;
            t.draft.merge(&r.draft);
            t.nearest.merge(&r.nearest);
            t.baseline.merge(&r.baseline);
        }
        t
    }
}

/// A reply with everything of its conversation taken out, as a draft would carry it.
fn reply_body(a: &Answered) -> String {
    adapt::address(
        &adapt::reusable_body(&a.answer_text, Some(&a.customer), None),
        None,
    )
}

/// The brand's most common answer (by normalised text; ties: the earliest).
fn most_common(indexed: &[&Answered]) -> Option<String> {
    let mut counts: HashMap<String, (usize, usize, String)> = HashMap::new();
    for (i, a) in indexed.iter().enumerate() {
        let body = reply_body(a);
        let key = norm_key(&body);
        if key.is_empty() {
            continue;
        }
        counts.entry(key).or_insert((0, i, body)).0 += 1;
    }
    counts
        .into_values()
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, _, body)| body)
}

fn language(analyzer: &Analyzer, text: &str) -> Option<String> {
    let code = analyzer
        .analyze_text(text, None, None)
        .language
        .language
        .code()
        .to_string();
    (code != "und").then_some(code)
}

/// Drafts for every held-out answer of one data set.
pub fn evaluate(ds: &Dataset, analyzer: &Analyzer) -> DatasetReport {
    let mut by_brand: BTreeMap<&str, Vec<&Answered>> = BTreeMap::new();
    for a in &ds.answers {
        by_brand.entry(a.brand.as_str()).or_default().push(a);
    }
    let mut report = DatasetReport {
        name: ds.name.to_string(),
        cutoff: ds.cutoff.to_rfc3339(),
        ..DatasetReport::default()
    };
    for (brand, answers) in by_brand {
        let (indexed, held): (Vec<&Answered>, Vec<&Answered>) =
            answers.into_iter().partition(|a| a.at < ds.cutoff);
        if held.is_empty() {
            continue;
        }
        if indexed.len() < MIN_INDEXED {
            report.no_history += held.len();
            continue;
        }
        let past: Vec<PastAnswer> = indexed
            .iter()
            .map(|a| PastAnswer {
                lang: language(analyzer, &a.customer_text),
                customer_handle: Some(a.customer.clone()),
                ..PastAnswer::new(&a.id, &a.customer_text, &a.answer_text)
            })
            .collect();
        let asked: HashSet<String> = indexed.iter().map(|a| norm_key(&a.customer_text)).collect();
        let given: HashSet<String> = indexed.iter().map(|a| norm_key(&reply_body(a))).collect();
        let consensus = DraftIndex::build(past.clone());
        let nearest = DraftIndex::with_settings(
            past,
            DraftSettings {
                choice: Choice::Nearest,
                ..DraftSettings::default()
            },
        );
        let baseline = most_common(&indexed);
        let mut row = BrandRow {
            brand: brand.to_string(),
            indexed: indexed.len(),
            ..BrandRow::default()
        };
        for a in held {
            if asked.contains(&norm_key(&a.customer_text)) {
                report.overlapping += 1;
                continue;
            }
            let real_body = reply_body(a);
            let real = rouge::tokens(&real_body);
            report.repeated_answers += usize::from(given.contains(&norm_key(&real_body)));
            let lang = language(analyzer, &a.customer_text);
            let req = DraftRequest {
                customer_text: &a.customer_text,
                lang: lang.as_deref(),
                customer_name: None,
                // Both data sets are X (Twitter) conversations.
                limit: Network::X.reply_limit(),
                written_on: a.at.date_naive(),
            };
            let d = consensus.draft(&req);
            report.committing += usize::from(d.as_ref().is_some_and(|d| d.commitment.is_some()));
            row.draft.add(d.as_ref().map(|d| d.text.as_str()), &real);
            let n = nearest.draft(&req);
            row.nearest.add(n.as_ref().map(|d| d.text.as_str()), &real);
            row.baseline.add(baseline.as_deref(), &real);
        }
        if row.draft.n > 0 {
            report.rows.push(row);
        }
    }
    report
}

/// Runs every data set.
pub fn run(data: &Path) -> Result<Vec<DatasetReport>, String> {
    let analyzer = Analyzer::new(&Terms::default());
    Ok(datasets(data)?
        .iter()
        .map(|ds| evaluate(ds, &analyzer))
        .collect())
}

fn line(out: &mut String, r: &BrandRow) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.1} % | {:.1} % | {:.1} % | {:.1} % |",
        r.brand,
        r.indexed,
        r.draft.n,
        r.draft.rouge(),
        r.nearest.rouge(),
        r.baseline.rouge(),
        100.0 * r.draft.sendable_share(),
        100.0 * r.nearest.sendable_share(),
        100.0 * r.baseline.sendable_share(),
        100.0 * ratio(r.draft.given as f64, r.draft.n),
    );
}

/// The report as Markdown: one table per data set, brands with at least `min_rows` held-out
/// answers listed, then all brands.
pub fn render(reports: &[DatasetReport], min_rows: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Sendable with small edits: token edit distance ≤ {:.0} % of the real answer's words.\n",
        100.0 * rouge::SENDABLE_EDIT_SHARE
    );
    for r in reports {
        let _ = writeln!(out, "### {} — cut-off {}\n", r.name, r.cutoff);
        let _ = writeln!(out, "| brand | indexed | held out | ROUGE-L draft | nearest | most common | sendable draft | nearest | most common | drafted |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in r.rows.iter().filter(|row| row.draft.n >= min_rows) {
            line(&mut out, row);
        }
        line(&mut out, &r.total());
        let _ = writeln!(
            out,
            "\nLeft out: {} held-out answers of brands with fewer than {MIN_INDEXED} indexed answers, {} whose customer words are also indexed. {} held-out answers repeat (normalised) an answer the brand gave before the cut-off; {} drafts are marked as committing.\n",
            r.no_history, r.overlapping, r.repeated_answers, r.committing
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(id: &str, at: i64, asked: &str, answer: &str) -> Answered {
        Answered {
            id: id.into(),
            brand: "Acme".into(),
            at: Utc.timestamp_opt(at, 0).single().unwrap_or_default(),
            customer: format!("c{id}"),
            customer_text: asked.into(),
            answer_text: format!("@c{id} {answer} ^AB"),
        }
    }

    #[test]
    fn only_answers_before_the_cut_off_are_drafted_from() {
        let mut answers: Vec<Answered> = (0..6)
            .map(|i| {
                answered(
                    &format!("p{i}"),
                    i,
                    &format!("where is my parcel {i}"),
                    "Please DM us your order number.",
                )
            })
            .collect();
        // After the cut-off: the same ask is answered differently, and a new ask comes in.
        answers.push(answered(
            "late1",
            100,
            "where is my parcel now",
            "Please DM us your order number.",
        ));
        answers.push(answered(
            "late2",
            101,
            "cannot log in to the app",
            "Use the reset page instead.",
        ));
        answers.push(answered(
            "late3",
            102,
            "where is my parcel 3",
            "Please DM us your order number.",
        ));
        let ds = Dataset {
            name: "test",
            cutoff: Utc.timestamp_opt(50, 0).single().unwrap_or_default(),
            answers,
        };
        let r = evaluate(&ds, &Analyzer::new(&Terms::default()));
        // late3 asks what p3 asked: left out as overlapping.
        assert_eq!(r.overlapping, 1);
        let row = &r.rows[0];
        assert_eq!((row.indexed, row.draft.n), (6, 2));
        // The parcel ask gets the brand's answer word for word; the log-in ask has no
        // similar past post (the reset answer is after the cut-off): no draft, scored 0.
        assert_eq!(row.draft.given, 1);
        assert_eq!(row.draft.sendable, 1);
        assert!((row.draft.rouge() - 0.5).abs() < 1e-9);
        assert_eq!(r.repeated_answers, 1);
        // The most common answer is the parcel answer: the same on the parcel ask.
        assert_eq!(row.baseline.sendable, 1);
    }

    #[test]
    fn the_report_lists_each_dataset_and_the_rule() {
        let report = DatasetReport {
            name: "x".into(),
            cutoff: "c".into(),
            rows: vec![BrandRow {
                brand: "Acme".into(),
                indexed: 3,
                ..BrandRow::default()
            }],
            ..DatasetReport::default()
        };
        let text = render(&[report], 0);
        assert!(text.contains("### x — cut-off c"));
        assert!(text.contains("| Acme | 3 | 0 |"));
        assert!(text.contains("≤ 30 %"));
    }
}
