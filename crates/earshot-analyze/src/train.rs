//! Training: the shipped model (built by `earshot-lab build-model` from public data) and a
//! team's adaptation of it to their own labelled posts (`earshot train`).
//!
//! Every head is a linear model over the hashed [`features`](crate::features), trained by
//! averaged stochastic gradient descent with class-balanced weights, deterministic for a given
//! input. Adapting starts from a base model: the base's logits are part of every prediction
//! while training, so the new weights only learn what the base gets wrong on the team's posts,
//! and the base's knowledge (the public data) is kept.
//!
//! ```no_run
//! use earshot_analyze::train::{adapt, read_examples, Task};
//! use earshot_analyze::model::Model;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let examples = read_examples("labelled.csv")?; // text,label
//! let base = Model::shipped().map_err(|e| e.to_string())?;
//! let model = adapt(base, "acme-care", "2024-06", Task::Intent, &examples)?;
//! model.save("acme-care.model")?;
//! # Ok(()) }
//! ```

use crate::analyzer::Analyzer;
use crate::features::{self, FEATURES_VERSION};
use crate::fingerprint::hash_bytes;
use crate::model::{sigmoid, softmax3, Head, HeadInfo, Header, Model, ModelError};
use earshot_core::analysis::{Intent, SentimentLabel};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// What a labelled file teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    Sentiment,
    Intent,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Sentiment => "sentiment",
            Task::Intent => "intent",
        }
    }

    /// The labels a file for this task may use.
    pub fn labels(self) -> Vec<String> {
        match self {
            Task::Sentiment => SentimentLabel::ALL.iter().map(|l| l.to_string()).collect(),
            Task::Intent => Intent::ALL.iter().map(|l| l.to_string()).collect(),
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Task {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sentiment" => Ok(Task::Sentiment),
            "intent" => Ok(Task::Intent),
            other => Err(TrainError::UnknownTask(other.to_string())),
        }
    }
}

/// Everything that can go wrong reading examples or training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no training examples")]
    NoExamples,
    #[error("example {index}: label {label:?} is not a {task} label; expected one of {expected}")]
    BadLabel {
        index: usize,
        label: String,
        task: Task,
        expected: String,
    },
    #[error("nothing to learn: every head needs examples with and without its label (all examples say {label:?})")]
    OneLabel { label: String },
    #[error("unknown task {0:?}: expected sentiment or intent")]
    UnknownTask(String),
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
    Model(#[from] ModelError),
}

/// One labelled post: any of its labels may be unknown. `weight` scales how much it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub text: String,
    pub sentiment: Option<SentimentLabel>,
    pub complaint: Option<bool>,
    pub feature_request: Option<bool>,
    pub question: Option<bool>,
    pub praise: Option<bool>,
    pub weight: f32,
}

impl Labelled {
    pub fn new(text: impl Into<String>) -> Self {
        Labelled {
            text: text.into(),
            sentiment: None,
            complaint: None,
            feature_request: None,
            question: None,
            praise: None,
            weight: 1.0,
        }
    }

    /// A post labelled with one intent says "no" to the others.
    pub fn with_intent(mut self, intent: Intent) -> Self {
        self.complaint = Some(intent == Intent::Complaint);
        self.feature_request = Some(intent == Intent::FeatureRequest);
        self.question = Some(intent == Intent::Question);
        self.praise = Some(intent == Intent::Praise);
        self
    }

    pub fn with_sentiment(mut self, s: SentimentLabel) -> Self {
        self.sentiment = Some(s);
        self
    }

    /// `(text, label)` pairs of one task.
    pub fn from_pairs(task: Task, pairs: &[(String, String)]) -> Result<Vec<Labelled>, TrainError> {
        pairs
            .iter()
            .enumerate()
            .map(|(index, (text, label))| {
                let bad = || TrainError::BadLabel {
                    index,
                    label: label.clone(),
                    task,
                    expected: task.labels().join(", "),
                };
                Ok(match task {
                    Task::Sentiment => Labelled::new(text.clone())
                        .with_sentiment(SentimentLabel::from_str(label).map_err(|_| bad())?),
                    Task::Intent => Labelled::new(text.clone())
                        .with_intent(Intent::from_str(label).map_err(|_| bad())?),
                })
            })
            .collect()
    }

    /// The class of `head` for this post: sentiment 0/1/2, others 0 (no) / 1 (yes).
    fn class(&self, head: Head) -> Option<usize> {
        let b = |x: Option<bool>| x.map(usize::from);
        match head {
            Head::Sentiment => self.sentiment.map(|s| match s {
                SentimentLabel::Negative => 0,
                SentimentLabel::Neutral => 1,
                SentimentLabel::Positive => 2,
            }),
            Head::Complaint => b(self.complaint),
            Head::FeatureRequest => b(self.feature_request),
            Head::Question => b(self.question),
            Head::Praise => b(self.praise),
        }
    }
}

/// Training knobs; the defaults are what the shipped model and `earshot train` use.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    /// The table has `2^bits` rows (ignored when adapting: the base's table is kept).
    pub bits: u8,
    pub learning_rate: f32,
    /// Weigh each class of a head inversely to its (weighted) frequency.
    pub balanced: bool,
    /// Hold one example in twenty apart to fit each head's temperature.
    pub calibrate: bool,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 6,
            bits: 19,
            learning_rate: 0.5,
            balanced: true,
            calibrate: true,
            seed: 2024,
        }
    }
}

/// Whether an example is held apart to calibrate (by its text, so copies stay together).
fn held_for_calibration(text: &str) -> bool {
    hash_bytes(0x5eed, text.as_bytes()).is_multiple_of(20)
}

/// Trains a model from scratch.
pub fn train_model(
    name: &str,
    version: &str,
    examples: &[Labelled],
    opts: &TrainOptions,
    trained_on: Vec<String>,
) -> Result<Model, TrainError> {
    fit(name, version, examples, opts, None, trained_on)
}

/// Adapts `base` to labelled `(text, label)` pairs of one task, keeping what it knows.
pub fn adapt(
    base: &Model,
    name: &str,
    version: &str,
    task: Task,
    pairs: &[(String, String)],
) -> Result<Model, TrainError> {
    let examples = Labelled::from_pairs(task, pairs)?;
    adapt_labelled(
        base,
        name,
        version,
        &examples,
        &adapt_options(examples.len()),
    )
}

/// The options for adapting to `n` examples: a few gentle passes (a fifth of the from-scratch
/// learning rate, chosen on sanders-twitter with `earshot-lab corrections`: +4.4 points there
/// for 200 posts, -0.5 on the other validation parts), and a temperature fitted only when
/// there are enough examples to hold some apart.
pub fn adapt_options(n: usize) -> TrainOptions {
    TrainOptions {
        epochs: 4,
        learning_rate: 0.1,
        calibrate: n >= 2000,
        ..TrainOptions::default()
    }
}

/// The options for folding `n` agents' corrections in (`earshot train --corrections`): those
/// of [`adapt_options`], with at least as many updates in all as 200 corrections get (4
/// passes): a handful of corrections is passed over more often, so the posts an agent
/// corrected are learned, not only nudged. From 200 on it is [`adapt_options`] itself (what
/// `earshot-lab corrections` measured); measured for 25 too (see the README).
pub fn corrections_options(n: usize) -> TrainOptions {
    let base = adapt_options(n);
    TrainOptions {
        epochs: base.epochs.max(800usize.div_ceil(n.max(1))).min(40),
        ..base
    }
}

/// Adapts `base` to labelled posts (any heads), keeping what it knows.
pub fn adapt_labelled(
    base: &Model,
    name: &str,
    version: &str,
    examples: &[Labelled],
    opts: &TrainOptions,
) -> Result<Model, TrainError> {
    let mut trained_on = base.header().trained_on.clone();
    trained_on.push(format!(
        "adapted from {} with {} labelled posts",
        base.id(),
        examples.len()
    ));
    fit(name, version, examples, opts, Some(base), trained_on)
}

struct Prepared {
    feats: Vec<u32>,
    labels: [Option<usize>; 5],
    weight: f32,
    calibration: bool,
    /// The base model's logits, when adapting.
    base: [f32; 8],
}

fn fit(
    name: &str,
    version: &str,
    examples: &[Labelled],
    opts: &TrainOptions,
    base: Option<&Model>,
    trained_on: Vec<String>,
) -> Result<Model, TrainError> {
    if examples.is_empty() {
        return Err(TrainError::NoExamples);
    }
    let rules = Analyzer::rules_only(&Default::default());
    // Which heads can be learned: both sides (every class, for sentiment at least two) seen.
    let mut counts = [[0f64; 3]; 5];
    for e in examples {
        for (hi, h) in Head::ALL.iter().enumerate() {
            if let Some(c) = e.class(*h) {
                counts[hi][c] += e.weight.max(0.0) as f64;
            }
        }
    }
    let learnable: Vec<Head> = Head::ALL
        .iter()
        .enumerate()
        .filter(|(hi, _)| counts[*hi].iter().filter(|&&n| n > 0.0).count() >= 2)
        .map(|(_, h)| *h)
        .collect();
    if learnable.is_empty() {
        let label = examples
            .iter()
            .find_map(|e| {
                e.sentiment
                    .map(|s| s.to_string())
                    .or(e.complaint.map(|c| format!("complaint={c}")))
            })
            .unwrap_or_default();
        return Err(TrainError::OneLabel { label });
    }
    // The table: the base's layout, plus columns for heads it lacks.
    let (bits, mut heads) = match base {
        Some(b) => (b.header().bits, b.header().heads.clone()),
        None => (opts.bits.clamp(8, 24), Vec::new()),
    };
    let mut columns: usize = heads
        .iter()
        .map(|h| h.column + h.head.columns())
        .max()
        .unwrap_or(0);
    for h in &learnable {
        if !heads.iter().any(|x| x.head == *h) && columns + h.columns() <= 8 {
            heads.push(HeadInfo {
                head: *h,
                column: columns,
                scale: 1.0,
                temperature: 1.0,
                examples: 0,
            });
            columns += h.columns();
        }
    }
    heads.sort_by_key(|h| h.column);
    let mask = ((1u64 << bits) - 1) as u32;
    let base_weights = base.map(|b| b.float_weights());
    let base_columns = base.map_or(0, |b| b.header().columns);

    let mut feats = Vec::with_capacity(256);
    let data: Vec<Prepared> = examples
        .iter()
        .map(|e| {
            let b = rules.builtin(&e.text, None);
            feats.clear();
            features::extract(&b, &mut feats);
            let hashes: Vec<u32> = feats.iter().map(|f| f.hash & mask).collect();
            let mut base_z = [0f32; 8];
            if let Some(m) = base {
                base_z = m.logits(&feats);
                for h in &m.header().heads {
                    for z in &mut base_z[h.column..h.column + h.head.columns()] {
                        *z /= h.temperature;
                    }
                }
            }
            Prepared {
                feats: hashes,
                labels: std::array::from_fn(|hi| e.class(Head::ALL[hi])),
                weight: e.weight.max(0.0),
                calibration: opts.calibrate && held_for_calibration(&e.text),
                base: base_z,
            }
        })
        .collect();
    // Class weights per head, from the training part.
    let mut class_weight = [[1f32; 3]; 5];
    if opts.balanced {
        let mut n = [[0f64; 3]; 5];
        for d in data.iter().filter(|d| !d.calibration) {
            for (counts, label) in n.iter_mut().zip(&d.labels) {
                if let Some(c) = label {
                    counts[*c] += d.weight as f64;
                }
            }
        }
        for hi in 0..5 {
            let present = n[hi].iter().filter(|&&x| x > 0.0).count() as f64;
            let total: f64 = n[hi].iter().sum();
            for c in 0..3 {
                if n[hi][c] > 0.0 {
                    class_weight[hi][c] = (total / (present * n[hi][c])) as f32;
                }
            }
        }
    }
    let dim = 1usize << bits;
    let mut w = vec![0f32; dim * columns];
    let mut u = vec![0f32; dim * columns];
    let train_idx: Vec<usize> = (0..data.len()).filter(|&i| !data[i].calibration).collect();
    let mut order = train_idx.clone();
    let mut rng = opts.seed | 1;
    let mut t = 1f32;
    let active: Vec<(usize, HeadInfo)> = heads
        .iter()
        .filter(|h| learnable.contains(&h.head))
        .map(|h| {
            (
                Head::ALL.iter().position(|x| *x == h.head).unwrap_or(0),
                h.clone(),
            )
        })
        .collect();
    for _ in 0..opts.epochs.max(1) {
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let d = &data[i];
            let norm = 1.0 / (d.feats.len().max(1) as f32).sqrt();
            let mut z = [0f32; 8];
            for &f in &d.feats {
                let row = &w[f as usize * columns..(f as usize + 1) * columns];
                for (zk, wk) in z.iter_mut().zip(row) {
                    *zk += wk;
                }
            }
            let mut g = [0f32; 8];
            let mut any = false;
            for (hi, h) in &active {
                let Some(y) = d.labels[*hi] else { continue };
                any = true;
                let scale = class_weight[*hi][y] * d.weight * norm * opts.learning_rate;
                let c = h.column;
                let base_of = |k: usize| if k < base_columns { d.base[k] } else { 0.0 };
                if h.head == Head::Sentiment {
                    let p = softmax3(std::array::from_fn(|k| z[c + k] * norm + base_of(c + k)));
                    for k in 0..3 {
                        g[c + k] = (p[k] - if k == y { 1.0 } else { 0.0 }) * scale;
                    }
                } else {
                    let p = sigmoid(z[c] * norm + base_of(c));
                    g[c] = (p - y as f32) * scale;
                }
            }
            if !any {
                continue;
            }
            for &f in &d.feats {
                let at = f as usize * columns;
                for k in 0..columns {
                    if g[k] != 0.0 {
                        w[at + k] -= g[k];
                        u[at + k] -= t * g[k];
                    }
                }
            }
            t += 1.0;
        }
    }
    for (wi, ui) in w.iter_mut().zip(&u) {
        *wi -= ui / t;
    }
    // Adapting: the new weights sit on top of the base's.
    if let (Some(bw), Some(b)) = (&base_weights, base) {
        for h in &b.header().heads {
            let bt = h.temperature;
            for row in 0..dim {
                for k in h.column..h.column + h.head.columns() {
                    // The base's logits were divided by its temperature while training.
                    w[row * columns + k] += bw[row * base_columns + k] / bt;
                }
            }
        }
        for h in &mut heads {
            if b.head(h.head).is_some() {
                h.temperature = 1.0;
            }
        }
    }
    for h in &mut heads {
        let hi = Head::ALL.iter().position(|x| *x == h.head).unwrap_or(0);
        let n: f64 = data
            .iter()
            .filter(|d| !d.calibration && d.labels[hi].is_some())
            .count() as f64;
        h.examples += n as u64;
        if opts.calibrate && learnable.contains(&h.head) {
            h.temperature = fit_temperature(&data, &w, columns, h, hi);
        }
    }
    let header = Header {
        name: name.to_string(),
        version: version.to_string(),
        features_version: FEATURES_VERSION,
        bits,
        columns,
        heads,
        trained_on,
    };
    Ok(Model::from_weights(header, &w)?)
}

/// The temperature that minimises the log loss of `head` on the held-apart examples.
fn fit_temperature(data: &[Prepared], w: &[f32], columns: usize, h: &HeadInfo, hi: usize) -> f32 {
    let held: Vec<(Vec<f32>, usize)> = data
        .iter()
        .filter(|d| d.calibration)
        .filter_map(|d| {
            let y = d.labels[hi]?;
            let norm = 1.0 / (d.feats.len().max(1) as f32).sqrt();
            let mut z = vec![0f32; h.head.columns()];
            for &f in &d.feats {
                for (k, zk) in z.iter_mut().enumerate() {
                    *zk += w[f as usize * columns + h.column + k];
                }
            }
            z.iter_mut().for_each(|x| *x *= norm);
            Some((z, y))
        })
        .collect();
    if held.len() < 50 {
        return 1.0;
    }
    let loss = |t: f32| -> f64 {
        held.iter()
            .map(|(z, y)| {
                let p = if z.len() == 3 {
                    softmax3([z[0] / t, z[1] / t, z[2] / t])[*y]
                } else {
                    let p = sigmoid(z[0] / t);
                    if *y == 1 {
                        p
                    } else {
                        1.0 - p
                    }
                };
                -(p.max(1e-6) as f64).ln()
            })
            .sum()
    };
    let mut best = (1.0f32, loss(1.0));
    let mut t = 0.25f32;
    while t <= 6.0 {
        let l = loss(t);
        if l < best.1 {
            best = (t, l);
        }
        t += 0.05;
    }
    best.0
}

/// Reads labelled examples: CSV/TSV with a header naming `text` and `label` columns (other
/// columns are ignored), or JSON Lines of `{"text": .., "label": ..}`. Chosen by extension
/// (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.json`), else by the first character.
pub fn read_examples(path: impl AsRef<Path>) -> Result<Vec<(String, String)>, TrainError> {
    let path = path.as_ref();
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let jsonl = match ext.as_str() {
        "jsonl" | "ndjson" | "json" => true,
        "csv" | "tsv" => false,
        _ => bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{'),
    };
    if jsonl {
        read_jsonl(path, &bytes)
    } else {
        read_csv(path, &bytes, if ext == "tsv" { b'\t' } else { b',' })
    }
}

fn read_jsonl(path: &Path, bytes: &[u8]) -> Result<Vec<(String, String)>, TrainError> {
    let err = |line: usize, message: String| TrainError::Format {
        path: path.to_path_buf(),
        line: line as u64,
        message,
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(bytes).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| err(n, e.to_string()))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| err(n, format!("not JSON: {e}")))?;
        let Some(obj) = v.as_object() else {
            return Err(err(n, "expected a JSON object".into()));
        };
        let text = match obj.get("text") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(_) => return Err(err(n, "\"text\" is not a string".into())),
            None => return Err(err(n, "no \"text\" field".into())),
        };
        let label = match obj.get("label") {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            Some(_) => return Err(err(n, "\"label\" is not a string".into())),
            None => return Err(err(n, "no \"label\" field".into())),
        };
        if label.is_empty() {
            return Err(err(n, "empty label".into()));
        }
        out.push((text, label));
    }
    Ok(out)
}

fn read_csv(path: &Path, bytes: &[u8], delimiter: u8) -> Result<Vec<(String, String)>, TrainError> {
    let err = |line: u64, message: String| TrainError::Format {
        path: path.to_path_buf(),
        line,
        message,
    };
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| err(1, format!("cannot read the header: {e}")))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(ti), Some(li)) = (find("text"), find("label")) else {
        return Err(err(
            1,
            format!(
                "the header must name `text` and `label` columns; it has {:?}",
                headers.iter().collect::<Vec<_>>()
            ),
        ));
    };
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let (Some(text), Some(label)) = (rec.get(ti), rec.get(li)) else {
            return Err(err(
                line,
                format!("expected at least {} columns", ti.max(li) + 1),
            ));
        };
        let label = label.trim();
        if label.is_empty() {
            return Err(err(line, "empty label".into()));
        }
        out.push((text.to_string(), label.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
