//! The understanding model: linear heads over the hashed [`features`](crate::features), in one
//! table of 16-bit weights (a row per hash bucket, a column per output), so one memory access
//! per feature serves every head.
//!
//! Heads: `sentiment` (negative / neutral / positive, softmax), and one-against-the-rest
//! heads for `complaint`, `feature_request`, `question` and `praise`. A model may lack a head
//! (the shipped one has no question or praise head: no labelled data teaches them); the
//! rules decide what no head covers. Each head carries a temperature fitted on data it was not
//! trained on, so its probabilities are calibrated.
//!
//! The model earshot ships is built by `earshot-lab build-model` from the public sets listed
//! in `model/README.md`, and compiled into the binary ([`Model::shipped`]); a team's own
//! training (`earshot train`) adapts it and is saved in the same format.
//!
//! File format: the line `earshot-model\n`, a little-endian `u32` header length, the JSON
//! [`Header`], then `2^bits × columns` little-endian `i16` weights.

use crate::features::{Feature, FEATURES_VERSION};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

const MAGIC: &[u8] = b"earshot-model\n";

/// The weights compiled into earshot (built by `earshot-lab build-model`).
static SHIPPED_BYTES: &[u8] = include_bytes!("../model/earshot-understand.bin");

static SHIPPED: LazyLock<Result<Model, ModelError>> =
    LazyLock::new(|| Model::from_bytes(Cow::Borrowed(SHIPPED_BYTES)));

/// What a head predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    Sentiment,
    Complaint,
    FeatureRequest,
    Question,
    Praise,
}

impl Head {
    pub const ALL: [Head; 5] = [
        Head::Sentiment,
        Head::Complaint,
        Head::FeatureRequest,
        Head::Question,
        Head::Praise,
    ];

    /// Output columns: three sentiment classes, one logit for the others.
    pub fn columns(self) -> usize {
        match self {
            Head::Sentiment => 3,
            _ => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Head::Sentiment => "sentiment",
            Head::Complaint => "complaint",
            Head::FeatureRequest => "feature_request",
            Head::Question => "question",
            Head::Praise => "praise",
        }
    }
}

/// One head's place in the table and its calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadInfo {
    pub head: Head,
    /// First column of the head in each row.
    pub column: usize,
    /// The weight of an `i16` step.
    pub scale: f32,
    /// Logits are divided by this before the softmax/sigmoid (fitted on held-apart data).
    pub temperature: f32,
    /// Examples the head learned from.
    pub examples: u64,
}

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub version: String,
    pub features_version: u32,
    /// The table has `2^bits` rows.
    pub bits: u8,
    pub columns: usize,
    pub heads: Vec<HeadInfo>,
    /// Where the weights came from: data sets, or "adapted from X with N examples".
    #[serde(default)]
    pub trained_on: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a usable earshot model: {0}")]
    Invalid(String),
}

/// A trained model. Cheap to share behind an `Arc`; the shipped one borrows its weights from
/// the binary.
#[derive(Clone, PartialEq)]
pub struct Model {
    header: Header,
    weights: Cow<'static, [u8]>,
    mask: u32,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("header", &self.header)
            .field("weight_bytes", &self.weights.len())
            .finish()
    }
}

/// A model's answer for one post: a probability per head it has.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// P(negative), P(neutral), P(positive).
    pub sentiment: Option<[f32; 3]>,
    pub complaint: Option<f32>,
    pub feature_request: Option<f32>,
    pub question: Option<f32>,
    pub praise: Option<f32>,
}

impl Scores {
    pub fn get(&self, head: Head) -> Option<f32> {
        match head {
            Head::Sentiment => None,
            Head::Complaint => self.complaint,
            Head::FeatureRequest => self.feature_request,
            Head::Question => self.question,
            Head::Praise => self.praise,
        }
    }
}

const MAX_COLUMNS: usize = 8;

/// The table rows of a post's features, copied out of the model ([`Model::gather`]) column
/// by column: `0[k][i]` is column `k` of feature `i`'s row (columns the model lacks empty).
#[derive(Debug, Clone, Default)]
pub(crate) struct Columns([Vec<i16>; MAX_COLUMNS]);

impl Columns {
    /// Column `k` (empty past the model's columns).
    pub(crate) fn col(&self, k: usize) -> &[i16] {
        self.0.get(k).map_or(&[], |c| c.as_slice())
    }

    /// Features gathered.
    pub(crate) fn len(&self) -> usize {
        self.0[0].len()
    }
}

/// Up to three (feature index, contribution) pairs, largest first.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Top {
    items: [(usize, f32); 3],
    len: usize,
}

impl Top {
    pub(crate) fn as_slice(&self) -> &[(usize, f32)] {
        &self.items[..self.len.min(3)]
    }
}

impl Model {
    /// The model compiled into earshot.
    pub fn shipped() -> Result<&'static Model, &'static ModelError> {
        SHIPPED.as_ref()
    }

    /// The bytes of the shipped model file, as compiled in.
    pub fn shipped_bytes() -> &'static [u8] {
        SHIPPED_BYTES
    }

    /// A model from its header and float weights (`2^bits × columns`, row-major), quantised
    /// to 16 bits per head.
    pub fn from_weights(mut header: Header, weights: &[f32]) -> Result<Model, ModelError> {
        let rows = 1usize << header.bits;
        if weights.len() != rows * header.columns {
            return Err(ModelError::Invalid(format!(
                "{} weights for {rows} rows × {} columns",
                weights.len(),
                header.columns
            )));
        }
        let mut out = vec![0u8; weights.len() * 2];
        for h in &mut header.heads {
            let cols = h.column..h.column + h.head.columns();
            let max = weights
                .chunks(header.columns)
                .flat_map(|r| r[cols.clone()].iter())
                .fold(0f32, |m, w| m.max(w.abs()));
            h.scale = if max > 0.0 { max / 32767.0 } else { 1.0 };
            for (r, row) in weights.chunks(header.columns).enumerate() {
                for c in cols.clone() {
                    let q = (row[c] / h.scale).round().clamp(-32767.0, 32767.0) as i16;
                    let at = (r * header.columns + c) * 2;
                    out[at..at + 2].copy_from_slice(&q.to_le_bytes());
                }
            }
        }
        Model::check(header, Cow::Owned(out))
    }

    fn check(header: Header, weights: Cow<'static, [u8]>) -> Result<Model, ModelError> {
        let bad = |m: String| Err(ModelError::Invalid(m));
        if header.features_version != FEATURES_VERSION {
            return bad(format!(
                "features_version {} (this earshot reads {FEATURES_VERSION}); retrain it with `earshot train`",
                header.features_version
            ));
        }
        if !(8..=24).contains(&header.bits) {
            return bad(format!("bits {} outside 8..=24", header.bits));
        }
        if header.columns == 0 || header.columns > MAX_COLUMNS {
            return bad(format!("{} columns", header.columns));
        }
        if header.heads.is_empty() {
            return bad("it holds no head".into());
        }
        for h in &header.heads {
            if h.column + h.head.columns() > header.columns {
                return bad(format!("head {} outside the table", h.head.as_str()));
            }
            if !(h.scale.is_finite()
                && h.scale > 0.0
                && h.temperature.is_finite()
                && h.temperature > 0.0)
            {
                return bad(format!(
                    "head {} has a bad scale or temperature",
                    h.head.as_str()
                ));
            }
        }
        let expected = (1usize << header.bits) * header.columns * 2;
        if weights.len() != expected {
            return bad(format!(
                "{} weight bytes, expected {expected}",
                weights.len()
            ));
        }
        Ok(Model {
            mask: ((1u64 << header.bits) - 1) as u32,
            header,
            weights,
        })
    }

    /// Reads a model file's bytes.
    pub fn from_bytes(bytes: Cow<'static, [u8]>) -> Result<Model, ModelError> {
        let invalid = |m: &str| ModelError::Invalid(m.to_string());
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| invalid("it does not start with `earshot-model`"))?;
        let len_bytes: [u8; 4] = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| invalid("it ends before its header"))?;
        let len = u32::from_le_bytes(len_bytes) as usize;
        let header_bytes = rest
            .get(4..4 + len)
            .ok_or_else(|| invalid("it ends inside its header"))?;
        let header: Header = serde_json::from_slice(header_bytes)
            .map_err(|e| ModelError::Invalid(format!("header: {e}")))?;
        let start = MAGIC.len() + 4 + len;
        let weights = match bytes {
            Cow::Borrowed(b) => Cow::Borrowed(b.get(start..).unwrap_or(&[])),
            Cow::Owned(mut v) => {
                v.drain(..start.min(v.len()));
                Cow::Owned(v)
            }
        };
        Model::check(header, weights)
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.weights);
        out
    }

    pub fn load(path: impl AsRef<Path>) -> Result<Model, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Model::from_bytes(Cow::Owned(bytes))
            .map_err(|e| ModelError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Writes the model (to a temporary file first, so a crash never leaves half a model).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let io = |source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `name@version`, as written into `Analysis.model`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.header.name, self.header.version)
    }

    pub fn head(&self, head: Head) -> Option<&HeadInfo> {
        self.header.heads.iter().find(|h| h.head == head)
    }

    /// The float weights of the whole table (for adapting a model).
    pub fn float_weights(&self) -> Vec<f32> {
        let c = self.header.columns;
        let mut scale = vec![0f32; c];
        for h in &self.header.heads {
            scale[h.column..h.column + h.head.columns()].fill(h.scale);
        }
        self.weights
            .chunks_exact(2)
            .enumerate()
            .map(|(i, b)| i16::from_le_bytes([b[0], b[1]]) as f32 * scale[i % c])
            .collect()
    }

    /// Copies the table row of every feature into `cols` (column by column, one entry per
    /// feature, in order): the table is megabytes read at random, so it is read once per post
    /// in a tight loop that keeps many loads in flight, and everything after (sums, evidence)
    /// reads the copies, a column at a time.
    pub(crate) fn gather(&self, feats: &[Feature], cols: &mut Columns) {
        for (k, col) in cols.0.iter_mut().enumerate() {
            col.clear();
            if k < self.header.columns {
                col.resize(feats.len(), 0);
            }
        }
        match self.header.columns {
            1 => self.gather_c::<1>(feats, cols),
            2 => self.gather_c::<2>(feats, cols),
            3 => self.gather_c::<3>(feats, cols),
            4 => self.gather_c::<4>(feats, cols),
            5 => self.gather_c::<5>(feats, cols),
            6 => self.gather_c::<6>(feats, cols),
            7 => self.gather_c::<7>(feats, cols),
            _ => self.gather_c::<8>(feats, cols),
        }
    }

    #[inline]
    fn gather_c<const C: usize>(&self, feats: &[Feature], cols: &mut Columns) {
        let w: &[u8] = &self.weights;
        for (i, f) in feats.iter().enumerate() {
            let at = (f.hash & self.mask) as usize * C * 2;
            if let Some(b) = w.get(at..at + C * 2) {
                for (k, col) in cols.0.iter_mut().take(C).enumerate() {
                    if let Some(slot) = col.get_mut(i) {
                        *slot = i16::from_le_bytes([b[2 * k], b[2 * k + 1]]);
                    }
                }
            }
        }
    }

    /// Raw column sums of the gathered rows, scaled by `1/sqrt(features)`.
    pub(crate) fn logits_of(&self, cols: &Columns) -> [f32; MAX_COLUMNS] {
        let mut acc = [0i32; MAX_COLUMNS];
        for (a, col) in acc.iter_mut().zip(&cols.0) {
            *a = col.iter().map(|w| *w as i32).sum();
        }
        let norm = 1.0 / (cols.len().max(1) as f32).sqrt();
        let mut out = [0f32; MAX_COLUMNS];
        for h in &self.header.heads {
            for k in h.column..h.column + h.head.columns() {
                out[k] = acc[k] as f32 * h.scale * norm;
            }
        }
        out
    }

    /// Raw column sums (one memory access per feature), scaled by `1/sqrt(features)`.
    pub(crate) fn logits(&self, feats: &[Feature]) -> [f32; MAX_COLUMNS] {
        let mut cols = Columns::default();
        self.gather(feats, &mut cols);
        self.logits_of(&cols)
    }

    /// Calibrated probabilities for every head the model has, from the rows [`Model::gather`]
    /// copied.
    pub(crate) fn scores(&self, cols: &Columns) -> Scores {
        let z = self.logits_of(cols);
        let mut s = Scores::default();
        for h in &self.header.heads {
            let t = h.temperature;
            match h.head {
                Head::Sentiment => {
                    let c = h.column;
                    s.sentiment = Some(softmax3([z[c] / t, z[c + 1] / t, z[c + 2] / t]));
                }
                other => {
                    let p = sigmoid(z[h.column] / t);
                    match other {
                        Head::Complaint => s.complaint = Some(p),
                        Head::FeatureRequest => s.feature_request = Some(p),
                        Head::Question => s.question = Some(p),
                        Head::Praise => s.praise = Some(p),
                        Head::Sentiment => {}
                    }
                }
            }
        }
        s
    }

    /// The (up to) three features that pushed `head` hardest towards `class` (for sentiment,
    /// relative to the mean of the three classes), as (feature index, contribution), largest
    /// first. `cols` are the features' rows as [`Model::gather`] copied them; `contributions`
    /// is a buffer to reuse.
    pub(crate) fn top_features(
        &self,
        feats: &[Feature],
        cols: &Columns,
        head: Head,
        class: usize,
        contributions: &mut Vec<f32>,
    ) -> Top {
        let mut top = Top::default();
        let Some(h) = self.head(head) else {
            return top;
        };
        let norm = 1.0 / (feats.len().max(1) as f32).sqrt();
        let (scale, col, class) = (h.scale, h.column.min(MAX_COLUMNS - 3), class.min(2));
        // Every contribution first, in a loop without branches...
        contributions.clear();
        if head == Head::Sentiment {
            let (w0, w1, w2) = (cols.col(col), cols.col(col + 1), cols.col(col + 2));
            let wc = cols.col(col + class);
            contributions.extend(
                w0.iter()
                    .zip(w1)
                    .zip(w2)
                    .zip(wc)
                    .map(|(((w0, w1), w2), wc)| {
                        (*wc as f32 - (*w0 as f32 + *w1 as f32 + *w2 as f32) / 3.0) * scale * norm
                    }),
            );
        } else {
            let w = cols.col(h.column.min(MAX_COLUMNS - 1));
            let sign = if class == 1 { 1.0 } else { -1.0 };
            contributions.extend(w.iter().map(|w| (sign * *w as f32) * scale * norm));
        }
        // ...then the few that can enter the top three. Below `floor` a feature cannot: 0
        // while there is room, then the smallest kept contribution (one that does not beat it
        // would change nothing).
        let mut floor = 0f32;
        for (i, (&contribution, f)) in contributions.iter().zip(feats).enumerate() {
            if contribution <= floor
                || top.items[..top.len]
                    .iter()
                    .any(|(j, _)| feats[*j].hash == f.hash)
            {
                continue;
            }
            if top.len < 3 {
                top.items[top.len] = (i, contribution);
                top.len += 1;
            } else if let Some(min) = top
                .items
                .iter_mut()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|m| m.1 < contribution)
            {
                *min = (i, contribution);
            }
            if top.len == 3 {
                floor = top.items.iter().map(|t| t.1).fold(f32::INFINITY, f32::min);
            }
        }
        top.items[..top.len].sort_by(|a, b| b.1.total_cmp(&a.1));
        top
    }
}

pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub(crate) fn softmax3(z: [f32; 3]) -> [f32; 3] {
    let m = z[0].max(z[1]).max(z[2]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The shipped weights are what `earshot-lab build-model` recorded: the checksum in
    /// `model/MANIFEST.json` is the SHA-256 of the compiled-in file.
    #[test]
    fn shipped_model_matches_its_manifest() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../model/MANIFEST.json")).expect("manifest is JSON");
        let recorded = manifest["sha256"]
            .as_str()
            .expect("manifest names a sha256");
        let actual = hex::encode(Sha256::digest(Model::shipped_bytes()));
        assert_eq!(actual, recorded, "model/earshot-understand.bin is not the file the builder recorded; rebuild with `cargo run --release -p earshot-lab -- build-model`");
        assert!(Model::shipped_bytes().len() < 20 * 1024 * 1024);
        let m = Model::shipped().expect("the shipped model loads");
        assert!(m.head(Head::Sentiment).is_some());
        assert!(m.head(Head::Complaint).is_some());
        assert!(m.head(Head::FeatureRequest).is_some());
        assert_eq!(manifest["id"].as_str(), Some(m.id().as_str()));
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let header = Header {
            name: "t".into(),
            version: "1".into(),
            features_version: FEATURES_VERSION,
            bits: 8,
            columns: 4,
            heads: vec![
                HeadInfo {
                    head: Head::Sentiment,
                    column: 0,
                    scale: 1.0,
                    temperature: 1.0,
                    examples: 3,
                },
                HeadInfo {
                    head: Head::Complaint,
                    column: 3,
                    scale: 1.0,
                    temperature: 2.0,
                    examples: 3,
                },
            ],
            trained_on: vec![],
        };
        let w: Vec<f32> = (0..256 * 4).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
        let m = Model::from_weights(header, &w).expect("builds");
        let back = Model::from_bytes(Cow::Owned(m.to_bytes())).expect("reads");
        assert_eq!(back, m);
        let fw = back.float_weights();
        assert!(fw.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-3));
        let mut bytes = m.to_bytes();
        bytes.truncate(bytes.len() - 2);
        assert!(Model::from_bytes(Cow::Owned(bytes)).is_err());
        assert!(Model::from_bytes(Cow::Owned(b"nope".to_vec())).is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("m.bin");
        m.save(&p).expect("saves");
        assert_eq!(Model::load(&p).expect("loads"), m);
    }
}
