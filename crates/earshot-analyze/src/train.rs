//! Trained models for sentiment and intent, learned from a team's own labelled posts.
//!
//! A [`TaskModel`] is a multinomial logistic regression over hashed, language-agnostic
//! features: word unigrams and bigrams, character trigrams of each word, and the built-in
//! analysis itself (lexicon cues, the rule-based sentiment and intent, language, punctuation).
//! So a model starts from what the rules know and learns the team's vocabulary on top. It is
//! trained by averaged stochastic gradient descent with class-balanced weights, is
//! deterministic for a given input, and is saved as JSON (only non-zero weights).
//!
//! ```no_run
//! use earshot_analyze::train::{read_examples, train, Model, Task};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let examples = read_examples("labelled.csv")?; // text,label
//! let model = Model::new("acme-care", "2024-06").with_task(train(Task::Intent, &examples)?);
//! model.save("acme-care.model.json")?;
//! # Ok(()) }
//! ```

use crate::analyzer::{Analyzer, Builtin};
use crate::fingerprint::{hash_bytes, mix};
use crate::lexicon::Cue;
use earshot_core::analysis::{Intent, SentimentLabel};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The feature set a model was trained with; models with another are refused on load.
pub const FEATURES_VERSION: u32 = 1;
const MAX_CLASSES: usize = 8;

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    /// The labels this task predicts, in model order.
    pub fn labels(self) -> Vec<String> {
        match self {
            Task::Sentiment => SentimentLabel::ALL.iter().map(|l| l.to_string()).collect(),
            Task::Intent => Intent::ALL.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn parse_label(self, label: &str) -> Option<usize> {
        match self {
            Task::Sentiment => {
                let l = SentimentLabel::from_str(label).ok()?;
                SentimentLabel::ALL.iter().position(|x| *x == l)
            }
            Task::Intent => {
                let l = Intent::from_str(label).ok()?;
                Intent::ALL.iter().position(|x| *x == l)
            }
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

/// Everything that can go wrong reading examples, training, loading or saving a model.
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
    #[error("all examples have the label {label:?}; a classifier needs at least two labels")]
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
    #[error("{}: not a usable earshot model: {message}", path.display())]
    InvalidModel { path: PathBuf, message: String },
}

/// Training knobs; the defaults are what `train` uses.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Feature hash space is 2^hash_bits buckets.
    pub hash_bits: u8,
    pub learning_rate: f32,
    /// Weigh each class inversely to its frequency (better macro-F1 on skewed data).
    pub balanced: bool,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 8,
            hash_bits: 18,
            learning_rate: 0.6,
            balanced: true,
            seed: 2024,
        }
    }
}

/// One trained task.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TaskModelWire", into = "TaskModelWire")]
pub struct TaskModel {
    task: Task,
    labels: Vec<String>,
    hash_bits: u8,
    examples: usize,
    /// Dense `buckets × classes`, row-major by bucket.
    weights: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct TaskModelWire {
    task: Task,
    labels: Vec<String>,
    hash_bits: u8,
    #[serde(default)]
    examples: usize,
    features_version: u32,
    /// `[bucket, [weight per label]]` for every bucket with a non-zero weight.
    weights: Vec<(u32, Vec<f32>)>,
}

impl From<TaskModel> for TaskModelWire {
    fn from(m: TaskModel) -> Self {
        let c = m.labels.len();
        let mut rows = Vec::new();
        for (bucket, row) in m.weights.chunks(c.max(1)).enumerate() {
            if row.iter().any(|w| w.abs() >= 1e-5) {
                // Four decimals are plenty and halve the file.
                rows.push((
                    bucket as u32,
                    row.iter().map(|w| (w * 1e4).round() / 1e4).collect(),
                ));
            }
        }
        TaskModelWire {
            task: m.task,
            labels: m.labels,
            hash_bits: m.hash_bits,
            examples: m.examples,
            features_version: FEATURES_VERSION,
            weights: rows,
        }
    }
}

impl TryFrom<TaskModelWire> for TaskModel {
    type Error = String;
    fn try_from(w: TaskModelWire) -> Result<Self, String> {
        if w.features_version != FEATURES_VERSION {
            return Err(format!(
                "features_version {} (this build reads {FEATURES_VERSION}); retrain the model",
                w.features_version
            ));
        }
        if !(8..=24).contains(&w.hash_bits) {
            return Err(format!("hash_bits {} outside 8..=24", w.hash_bits));
        }
        let expected = w.task.labels();
        if w.labels != expected {
            return Err(format!(
                "{} labels {:?}, expected {:?}",
                w.task, w.labels, expected
            ));
        }
        let c = w.labels.len();
        let dim = 1usize << w.hash_bits;
        let mut weights = vec![0f32; dim * c];
        for (bucket, row) in w.weights {
            let b = bucket as usize;
            if b >= dim || row.len() != c || row.iter().any(|x| !x.is_finite()) {
                return Err(format!("bad weight row for bucket {bucket}"));
            }
            weights[b * c..(b + 1) * c].copy_from_slice(&row);
        }
        Ok(TaskModel {
            task: w.task,
            labels: w.labels,
            hash_bits: w.hash_bits,
            examples: w.examples,
            weights,
        })
    }
}

/// A trained model: a name and version (shown in `Analysis.model`) and up to one model per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<TaskModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<TaskModel>,
}

impl Model {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Model {
            name: name.into(),
            version: version.into(),
            sentiment: None,
            intent: None,
        }
    }

    /// Adds (or replaces) the model for the task `m` was trained for.
    pub fn with_task(mut self, m: TaskModel) -> Self {
        match m.task {
            Task::Sentiment => self.sentiment = Some(m),
            Task::Intent => self.intent = Some(m),
        }
        self
    }

    /// `name@version`, as written into `Analysis.model`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    pub fn load(path: impl AsRef<Path>) -> Result<Model, TrainError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let model: Model = serde_json::from_reader(BufReader::new(file)).map_err(|e| {
            TrainError::InvalidModel {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        if model.sentiment.is_none() && model.intent.is_none() {
            return Err(TrainError::InvalidModel {
                path: path.to_path_buf(),
                message: "it holds no task".into(),
            });
        }
        Ok(model)
    }

    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), TrainError> {
        let path = path.as_ref();
        let io = |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut w = BufWriter::new(file);
        serde_json::to_writer(&mut w, self).map_err(|e| io(std::io::Error::other(e)))?;
        w.flush().map_err(io)
    }
}

impl fmt::Debug for TaskModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The weights are megabytes: show their size, not their values.
        f.debug_struct("TaskModel")
            .field("task", &self.task)
            .field("labels", &self.labels)
            .field("hash_bits", &self.hash_bits)
            .field("examples", &self.examples)
            .field(
                "nonzero_weights",
                &self.weights.iter().filter(|w| **w != 0.0).count(),
            )
            .finish()
    }
}

impl TaskModel {
    pub fn task(&self) -> Task {
        self.task
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// How many examples it was trained on.
    pub fn examples(&self) -> usize {
        self.examples
    }

    pub(crate) fn predict(&self, feats: &[Feature]) -> Prediction {
        let c = self.labels.len().min(MAX_CLASSES);
        let mask = (1u32 << self.hash_bits) - 1;
        let scale = 1.0 / (feats.len().max(1) as f32).sqrt();
        let mut scores = [0f32; MAX_CLASSES];
        for f in feats {
            let b = (f.hash & mask) as usize * c;
            if let Some(row) = self.weights.get(b..b + c) {
                for (s, w) in scores.iter_mut().zip(row) {
                    *s += w;
                }
            }
        }
        let probs = softmax(&mut scores, c, scale);
        let mut class = 0;
        for k in 1..c {
            if probs[k] > probs[class] {
                class = k;
            }
        }
        // The features that pushed hardest towards the chosen class (relative to the mean).
        let mut top: [Option<(u32, f32)>; 3] = [None; 3];
        for (i, f) in feats.iter().enumerate() {
            let b = (f.hash & mask) as usize * c;
            let Some(row) = self.weights.get(b..b + c) else {
                continue;
            };
            let mean = row.iter().sum::<f32>() / c as f32;
            let contribution = (row[class] - mean) * scale;
            if contribution <= 0.0
                || top
                    .iter()
                    .flatten()
                    .any(|(j, _)| feats[*j as usize].hash == f.hash)
            {
                continue;
            }
            if let Some(slot) = (0..3).min_by(|&a, &b| {
                let va = top[a].map_or(f32::MIN, |x| x.1);
                let vb = top[b].map_or(f32::MIN, |x| x.1);
                va.total_cmp(&vb)
            }) {
                if top[slot].is_none_or(|(_, v)| v < contribution) {
                    top[slot] = Some((i as u32, contribution));
                }
            }
        }
        top.sort_by(|a, b| {
            b.map_or(f32::MIN, |x| x.1)
                .total_cmp(&a.map_or(f32::MIN, |x| x.1))
        });
        let sentiment = (self.task == Task::Sentiment).then(|| {
            let label = SentimentLabel::ALL
                .get(class)
                .copied()
                .unwrap_or(SentimentLabel::Neutral);
            (label, probs[2] - probs[0])
        });
        let intent = (self.task == Task::Intent)
            .then(|| Intent::ALL.get(class).copied().unwrap_or(Intent::Other));
        Prediction {
            probability: probs[class],
            top,
            sentiment,
            intent,
        }
    }
}

/// Softmax of `scores[..c] * scale`, in place.
fn softmax(scores: &mut [f32; MAX_CLASSES], c: usize, scale: f32) -> [f32; MAX_CLASSES] {
    let mut max = f32::MIN;
    for s in scores.iter_mut().take(c) {
        *s *= scale;
        max = max.max(*s);
    }
    let mut sum = 0.0;
    let mut out = [0f32; MAX_CLASSES];
    for k in 0..c {
        out[k] = (scores[k] - max).exp();
        sum += out[k];
    }
    for o in out.iter_mut().take(c) {
        *o /= sum;
    }
    out
}

/// A model's answer for one post.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prediction {
    pub probability: f32,
    /// Up to three (feature index, contribution) pairs, strongest first.
    pub top: [Option<(u32, f32)>; 3],
    sentiment: Option<(SentimentLabel, f32)>,
    intent: Option<Intent>,
}

impl Prediction {
    pub fn sentiment_label(&self) -> SentimentLabel {
        self.sentiment.map_or(SentimentLabel::Neutral, |s| s.0)
    }
    /// P(positive) − P(negative), in -1..1.
    pub fn sentiment_score(&self) -> f32 {
        self.sentiment.map_or(0.0, |s| s.1)
    }
    pub fn intent_label(&self) -> Intent {
        self.intent.unwrap_or(Intent::Other)
    }
}

/// Where a feature came from, so evidence can name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Source {
    Bias,
    Lang,
    Word(u32),
    Bigram(u32),
    Gram(u32, u8),
    Cue(Cue),
    BuiltinSentiment,
    BuiltinIntent,
    /// 0 feature request, 1 complaint, 2 question, 3 praise: the rule score reached 1.
    IntentScore(u8),
    Exclamation,
    QuestionMark,
    Shouting,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Feature {
    pub hash: u32,
    pub source: Source,
}

const SEED_WORD: u64 = 0x77;
const SEED_GRAM: u64 = 0x63;
const SEED_CUE: u64 = 0x43;
const SEED_META: u64 = 0x4d;

#[inline]
fn h32(x: u64) -> u32 {
    (x ^ (x >> 32)) as u32
}

/// The features of a post, from its built-in analysis.
pub(crate) fn features(b: &Builtin, out: &mut Vec<Feature>) {
    let p = &b.prepared;
    let meta = |s: &str| h32(hash_bytes(SEED_META, s.as_bytes()));
    out.push(Feature {
        hash: meta("bias"),
        source: Source::Bias,
    });
    let lang = b.detected.lang.map_or("und", |l| l.code());
    out.push(Feature {
        hash: h32(mix(
            hash_bytes(SEED_META, b"lang") ^ hash_bytes(SEED_META, lang.as_bytes())
        )),
        source: Source::Lang,
    });
    let mut prev: Option<u64> = None;
    for i in 0..p.tokens.len() {
        let w = p.token_str(i);
        let wh = if w.bytes().all(|c| c.is_ascii_digit()) {
            hash_bytes(SEED_WORD, b"0")
        } else {
            hash_bytes(SEED_WORD, w.as_bytes())
        };
        out.push(Feature {
            hash: h32(wh),
            source: Source::Word(i as u32),
        });
        if let Some(ph) = prev {
            out.push(Feature {
                hash: h32(mix(ph.rotate_left(21) ^ wh)),
                source: Source::Bigram(i as u32),
            });
        }
        prev = Some(wh);
        // Character trigrams of "^word$" carry inflections and misspellings across words.
        let bytes = w.as_bytes();
        if bytes.len() >= 3 && bytes.len() <= 30 {
            let mut buf = [0u8; 32];
            buf[0] = b'^';
            buf[1..=bytes.len()].copy_from_slice(bytes);
            buf[bytes.len() + 1] = b'$';
            let n = bytes.len() + 2;
            for s in 0..n - 2 {
                out.push(Feature {
                    hash: h32(hash_bytes(SEED_GRAM, &buf[s..s + 3])),
                    source: Source::Gram(i as u32, s as u8),
                });
            }
        }
    }
    for h in &b.hits {
        out.push(Feature {
            hash: h32(hash_bytes(SEED_CUE, h.cue.as_str().as_bytes())),
            source: Source::Cue(h.cue),
        });
    }
    out.push(Feature {
        hash: meta(match b.sentiment.label {
            SentimentLabel::Negative => "sent:negative",
            SentimentLabel::Neutral => "sent:neutral",
            SentimentLabel::Positive => "sent:positive",
        }),
        source: Source::BuiltinSentiment,
    });
    out.push(Feature {
        hash: h32(mix(hash_bytes(SEED_META, b"intent")
            ^ hash_bytes(SEED_META, b.intent.label.as_str().as_bytes()))),
        source: Source::BuiltinIntent,
    });
    let s = &b.intent_scores;
    for (score, name, source) in [
        (
            s.feature_request,
            "score:feature_request",
            Source::IntentScore(0),
        ),
        (s.complaint, "score:complaint", Source::IntentScore(1)),
        (s.question, "score:question", Source::IntentScore(2)),
        (s.praise, "score:praise", Source::IntentScore(3)),
    ] {
        if score >= 1.0 {
            out.push(Feature {
                hash: meta(name),
                source,
            });
        }
    }
    let st = &p.stats;
    if st.exclamations > 0 {
        out.push(Feature {
            hash: meta("!"),
            source: Source::Exclamation,
        });
    }
    if st.question_marks > 0 {
        out.push(Feature {
            hash: meta("?"),
            source: Source::QuestionMark,
        });
    }
    if st.caps_words > 0 {
        out.push(Feature {
            hash: meta("CAPS"),
            source: Source::Shouting,
        });
    }
}

/// A human-readable name for a feature of this post.
pub(crate) fn describe(b: &Builtin, f: &Feature) -> String {
    let p = &b.prepared;
    match f.source {
        Source::Bias => "bias".into(),
        Source::Lang => format!("lang:{}", b.detected.lang.map_or("und", |l| l.code())),
        Source::Word(i) => format!("word:{}", p.token_str(i as usize)),
        Source::Bigram(i) => format!(
            "bigram:{} {}",
            p.token_str(i as usize - 1),
            p.token_str(i as usize)
        ),
        Source::Gram(i, s) => {
            let w = format!("^{}$", p.token_str(i as usize));
            let g = w.as_bytes().get(s as usize..s as usize + 3).unwrap_or(&[]);
            format!(
                "chars:{} (in {})",
                String::from_utf8_lossy(g),
                p.token_str(i as usize)
            )
        }
        Source::Cue(c) => format!("cue:{}", c.as_str()),
        Source::BuiltinSentiment => format!("builtin_sentiment:{}", b.sentiment.label),
        Source::BuiltinIntent => format!("builtin_intent:{}", b.intent.label),
        Source::IntentScore(i) => format!(
            "rules:{}",
            ["feature_request", "complaint", "question", "praise"]
                .get(i as usize)
                .unwrap_or(&"?")
        ),
        Source::Exclamation => "punctuation:!".into(),
        Source::QuestionMark => "punctuation:?".into(),
        Source::Shouting => "caps".into(),
    }
}

/// Trains one task on `(text, label)` pairs with the default options.
pub fn train(task: Task, examples: &[(String, String)]) -> Result<TaskModel, TrainError> {
    train_with(task, examples, &TrainOptions::default())
}

/// Trains one task on `(text, label)` pairs.
pub fn train_with(
    task: Task,
    examples: &[(String, String)],
    opts: &TrainOptions,
) -> Result<TaskModel, TrainError> {
    if examples.is_empty() {
        return Err(TrainError::NoExamples);
    }
    let labels = task.labels();
    let c = labels.len();
    let mut ys = Vec::with_capacity(examples.len());
    for (index, (_, label)) in examples.iter().enumerate() {
        match task.parse_label(label) {
            Some(y) => ys.push(y),
            None => {
                return Err(TrainError::BadLabel {
                    index,
                    label: label.clone(),
                    task,
                    expected: labels.join(", "),
                })
            }
        }
    }
    let mut counts = vec![0usize; c];
    for &y in &ys {
        counts[y] += 1;
    }
    if counts.iter().filter(|&&n| n > 0).count() < 2 {
        let label = examples.first().map(|e| e.1.clone()).unwrap_or_default();
        return Err(TrainError::OneLabel { label });
    }
    let analyzer = Analyzer::default();
    let bits = opts.hash_bits.clamp(8, 24);
    let mask = (1u32 << bits) - 1;
    let xs: Vec<Vec<u32>> = examples
        .iter()
        .map(|(text, _)| {
            let b = analyzer.builtin(text, None);
            let mut f = Vec::new();
            features(&b, &mut f);
            f.iter().map(|f| f.hash & mask).collect()
        })
        .collect();
    let present = counts.iter().filter(|&&n| n > 0).count() as f32;
    let class_weight: Vec<f32> = counts
        .iter()
        .map(|&n| {
            if !opts.balanced || n == 0 {
                1.0
            } else {
                examples.len() as f32 / (present * n as f32)
            }
        })
        .collect();

    let dim = 1usize << bits;
    let mut w = vec![0f32; dim * c];
    let mut u = vec![0f32; dim * c]; // for averaging: sum of t·update
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut rng = opts.seed | 1;
    let mut t = 1f32;
    for _ in 0..opts.epochs.max(1) {
        // Fisher-Yates with xorshift: deterministic for a seed.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let x = &xs[i];
            let y = ys[i];
            let scale = 1.0 / (x.len().max(1) as f32).sqrt();
            let mut scores = [0f32; MAX_CLASSES];
            for &f in x {
                let b = f as usize * c;
                for k in 0..c {
                    scores[k] += w[b + k];
                }
            }
            let p = softmax(&mut scores, c, scale);
            let lr = opts.learning_rate;
            let mut g = [0f32; MAX_CLASSES];
            for k in 0..c {
                let target = if k == y { 1.0 } else { 0.0 };
                g[k] = (p[k] - target) * class_weight[y] * scale * lr;
            }
            for &f in x {
                let b = f as usize * c;
                for k in 0..c {
                    w[b + k] -= g[k];
                    u[b + k] -= t * g[k];
                }
            }
            t += 1.0;
        }
    }
    for (wi, ui) in w.iter_mut().zip(&u) {
        *wi -= ui / t;
    }
    Ok(TaskModel {
        task,
        labels,
        hash_bits: bits,
        examples: examples.len(),
        weights: w,
    })
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
mod tests {
    use super::*;

    fn ex(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .collect()
    }

    fn toy() -> Vec<(String, String)> {
        let mut v = Vec::new();
        for i in 0..30 {
            v.push((
                format!("the zorblax {i} is great and shiny"),
                "positive".to_string(),
            ));
            v.push((
                format!("my zorblax {i} is flurbed again"),
                "negative".to_string(),
            ));
            v.push((
                format!("the zorblax {i} arrives on tuesday"),
                "neutral".to_string(),
            ));
        }
        v
    }

    #[test]
    fn learns_a_vocabulary_the_lexicon_does_not_know() {
        let m = train(Task::Sentiment, &toy()).expect("trains");
        let a = Analyzer::default().with_model(Model::new("toy", "1").with_task(m));
        let r = a.analyze_text("ugh, flurbed", None, None);
        assert_eq!(
            r.sentiment.label,
            SentimentLabel::Negative,
            "{:?}",
            r.sentiment
        );
        assert_eq!(r.model, "toy@1");
        assert!(r.sentiment.evidence[0].rule.starts_with("model:toy@1"));
        assert!(
            r.sentiment
                .evidence
                .iter()
                .any(|e| e.text.contains("flurbed")),
            "{:?}",
            r.sentiment.evidence
        );
    }

    #[test]
    fn bad_labels_are_named_with_their_index() {
        let e = train(Task::Intent, &ex(&[("a", "question"), ("b", "rant")]));
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("example 1") && msg.contains("\"rant\""),
            "{msg}"
        );
        assert!(matches!(
            train(Task::Sentiment, &[]),
            Err(TrainError::NoExamples)
        ));
        assert!(matches!(
            train(
                Task::Sentiment,
                &ex(&[("a", "positive"), ("b", "positive")])
            ),
            Err(TrainError::OneLabel { .. })
        ));
    }

    #[test]
    fn save_and_load_round_trip() {
        let m = Model::new("toy", "2").with_task(train(Task::Sentiment, &toy()).expect("trains"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.json");
        m.save(&path).expect("saves");
        let back = Model::load(&path).expect("loads");
        assert_eq!(back.id(), "toy@2");
        let a = Analyzer::default().with_model(m);
        let b = Analyzer::default().with_model(back);
        for t in ["my zorblax is flurbed", "great and shiny", "on tuesday"] {
            let (x, y) = (a.analyze_text(t, None, None), b.analyze_text(t, None, None));
            assert_eq!(x.sentiment.label, y.sentiment.label);
            assert!((x.sentiment.score - y.sentiment.score).abs() < 0.01);
        }
        std::fs::write(&path, "{\"name\":\"x\",\"version\":\"1\"}").expect("write");
        assert!(matches!(
            Model::load(&path),
            Err(TrainError::InvalidModel { .. })
        ));
        std::fs::write(&path, "not json").expect("write");
        assert!(matches!(
            Model::load(&path),
            Err(TrainError::InvalidModel { .. })
        ));
    }

    #[test]
    fn reads_csv_and_jsonl_with_line_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv_path = dir.path().join("a.csv");
        let mut f = std::fs::File::create(&csv_path).expect("create");
        writeln!(
            f,
            "id,Label,text,extra\n1,complaint,\"broken, again\",x\n2,praise,love it,y"
        )
        .expect("write");
        drop(f);
        assert_eq!(
            read_examples(&csv_path).expect("reads"),
            ex(&[("broken, again", "complaint"), ("love it", "praise")])
        );
        std::fs::write(&csv_path, "text,label\nok,\n").expect("write");
        let msg = read_examples(&csv_path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(":2:") && msg.contains("empty label"), "{msg}");
        std::fs::write(&csv_path, "body,label\nok,x\n").expect("write");
        let msg = read_examples(&csv_path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("`text`"), "{msg}");

        let jl = dir.path().join("b.jsonl");
        std::fs::write(
            &jl,
            "{\"text\":\"hi\",\"label\":\"other\"}\n\n{\"text\":\"x\",\"label\":2}\n{\"text\":1}\n",
        )
        .expect("write");
        let msg = read_examples(&jl)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains(":4:"), "{msg}");
        std::fs::write(
            &jl,
            "{\"text\":\"hi\",\"label\":\"other\"}\n\n{\"text\":\"x\",\"label\":2}\n",
        )
        .expect("write");
        assert_eq!(
            read_examples(&jl).expect("reads"),
            ex(&[("hi", "other"), ("x", "2")])
        );
        let missing = dir.path().join("missing.csv");
        assert!(matches!(
            read_examples(&missing),
            Err(TrainError::Io { .. })
        ));
    }
}
