//! The character n-gram model that names the language of a post written in Latin script.
//!
//! A post's words (runs of Latin letters in [`Prepared::clean`](crate::text::Prepared), so
//! without URLs, @mentions or the `#` of hashtags; letters repeated three times or more kept
//! twice, "sooooo" → "soo") are cut into character n-grams with a space at each end (" ja",
//! "ja ") and, optionally, taken whole. Each feature is hashed into one of `2^bucket_bits`
//! buckets; a bucket holds one small integer weight per language. A post's score for a
//! language is the bias plus the sum of its features' weights: a multinomial logistic
//! regression, so a softmax over the scores is a probability per language.
//!
//! The weights are learned by `earshot-lab langid build` from public labelled posts and
//! shipped in `langid.bin` (see `README.md` beside it). The same [`FeatureSpec::for_each`]
//! feeds training and serving, so the two cannot drift apart.

use crate::lang::Lang;

/// The first bytes of a model file.
pub const MAGIC: [u8; 8] = *b"ESLANGID";
/// The layout version after [`MAGIC`].
pub const FORMAT_VERSION: u32 = 1;
/// Most languages a model may hold: a bucket's row is this wide, so that adding it to the
/// scores is one vector add.
pub const MAX_CLASSES: usize = 16;
/// Longer words are read up to this many letters.
const MAX_WORD: usize = 32;
/// n-grams of up to this many characters.
pub const MAX_ORDER: u8 = 5;

const NGRAM_SEED: u64 = 0x6c61_6e67_6964_0001;
const WORD_SEED: u64 = 0x6c61_6e67_6964_0002;

/// Which features a model reads, and into how many buckets they are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Bit `n - 1` set: n-grams of `n` characters are features (`n` in `1..=MAX_ORDER`).
    pub orders: u8,
    /// Whole words are features too.
    pub words: bool,
    /// log2 of the number of buckets.
    pub bucket_bits: u8,
}

impl FeatureSpec {
    pub fn buckets(&self) -> usize {
        1usize << self.bucket_bits
    }

    fn max_order(&self) -> usize {
        (8 - self.orders.leading_zeros()) as usize
    }

    /// Calls `emit` with the bucket of every feature of `clean` (a [`Prepared::clean`]
    /// text), in order; a feature seen twice is emitted twice.
    ///
    /// [`Prepared::clean`]: crate::text::Prepared::clean
    #[inline]
    pub fn for_each(&self, clean: &str, mut emit: impl FnMut(usize)) {
        // word[0] and word[len + 1] are the spaces around the word's letters.
        let mut word = [SPACE; MAX_WORD + 2];
        let mut len = 0usize;
        for c in clean.chars() {
            if is_latin_letter(c) {
                let c = c as u32;
                let elongated = len >= 2 && word[len] == c && word[len - 1] == c;
                if len < MAX_WORD && !elongated {
                    len += 1;
                    word[len] = c;
                }
            } else if len > 0 {
                self.word(&mut word, len, &mut emit);
                len = 0;
            }
        }
        if len > 0 {
            self.word(&mut word, len, &mut emit);
        }
    }

    #[inline]
    fn word(&self, word: &mut [u32; MAX_WORD + 2], len: usize, emit: &mut impl FnMut(usize)) {
        word[len + 1] = SPACE;
        let total = len + 2;
        let max_order = self.max_order();
        for start in 0..total {
            let mut h = NGRAM_SEED;
            for k in 0..max_order.min(total - start) {
                h = step(h, word[start + k]);
                // A lone boundary space says nothing.
                let lone_space = k == 0 && (start == 0 || start == total - 1);
                if self.orders & (1 << k) != 0 && !lone_space {
                    emit(self.bucket(h));
                }
            }
        }
        if self.words {
            let mut h = WORD_SEED;
            for &c in &word[1..=len] {
                h = step(h, c);
            }
            emit(self.bucket(h));
        }
    }

    #[inline]
    fn bucket(&self, h: u64) -> usize {
        ((h ^ (h >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bucket_bits)) as usize
    }
}

const SPACE: u32 = ' ' as u32;

#[inline]
fn step(h: u64, c: u32) -> u64 {
    (h.rotate_left(5) ^ c as u64).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Letters of the Latin script (ASCII and the accented ranges); everything else separates
/// words for the model.
#[inline]
pub fn is_latin_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}') && c.is_alphabetic())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("not a language model file (bad magic bytes)")]
    Magic,
    #[error("language model format {0} is not {FORMAT_VERSION}")]
    Version(u32),
    #[error("language model file ends early ({0} bytes)")]
    Truncated(usize),
    #[error("language model file has {0} bytes after the weights")]
    Trailing(usize),
    #[error("language model holds unknown language {0:?}")]
    Language(String),
    #[error("language model header is invalid: {0}")]
    Header(&'static str),
}

/// What a model made of a text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NgramScores {
    /// Probability per class, in [`NgramModel::classes`] order.
    pub probabilities: [f32; MAX_CLASSES],
    /// Features read (0: no Latin letters).
    pub features: u32,
}

impl NgramScores {
    /// The most probable class and its probability, then the runner-up's.
    pub fn top_two(&self, classes: usize) -> ((usize, f32), (usize, f32)) {
        let mut best = (0usize, f32::MIN);
        let mut second = (0usize, f32::MIN);
        for (i, &p) in self.probabilities[..classes].iter().enumerate() {
            if p > best.1 {
                second = best;
                best = (i, p);
            } else if p > second.1 {
                second = (i, p);
            }
        }
        (best, second)
    }
}

/// A model read from its file: integer weights times one scale, plus a bias per language.
#[derive(Debug, Clone)]
pub struct NgramModel {
    spec: FeatureSpec,
    classes: Vec<Lang>,
    scale: f32,
    bias: [f32; MAX_CLASSES],
    /// One row per bucket; columns past `classes.len()` are zero.
    rows: Vec<[i8; MAX_CLASSES]>,
}

/// What a model file holds, for the builder that writes one.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParts<'a> {
    pub spec: FeatureSpec,
    pub classes: &'a [Lang],
    pub scale: f32,
    pub bias: &'a [f32],
    /// `buckets × classes` weights, bucket by bucket.
    pub weights: &'a [i8],
}

impl ModelParts<'_> {
    /// The file's bytes: [`MAGIC`], the format version, the class count, orders, words flag
    /// and bucket bits (one byte each), the classes' codes (two ASCII bytes each), the scale,
    /// the biases (little-endian f32) and the weights (one signed byte each).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.weights.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(self.classes.len() as u8);
        out.push(self.spec.orders);
        out.push(self.spec.words as u8);
        out.push(self.spec.bucket_bits);
        for l in self.classes {
            out.extend_from_slice(l.code().as_bytes());
        }
        out.extend_from_slice(&self.scale.to_le_bytes());
        for b in self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend(self.weights.iter().map(|w| *w as u8));
        out
    }
}

/// Reads a file front to back.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(ModelError::Truncated(self.bytes.len()))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn f32(&mut self) -> Result<f32, ModelError> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl NgramModel {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(ModelError::Magic);
        }
        let v = r.take(4)?;
        let version = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        if version != FORMAT_VERSION {
            return Err(ModelError::Version(version));
        }
        let h = r.take(4)?;
        let (n, orders, words, bucket_bits) = (h[0] as usize, h[1], h[2], h[3]);
        if n == 0 || n > MAX_CLASSES {
            return Err(ModelError::Header("class count"));
        }
        if orders == 0 || orders >= 1 << MAX_ORDER {
            return Err(ModelError::Header("n-gram orders"));
        }
        if words > 1 {
            return Err(ModelError::Header("words flag"));
        }
        if !(8..=24).contains(&bucket_bits) {
            return Err(ModelError::Header("bucket bits"));
        }
        let spec = FeatureSpec {
            orders,
            words: words == 1,
            bucket_bits,
        };
        let mut classes = Vec::with_capacity(n);
        for _ in 0..n {
            let code = r.take(2)?;
            let code = String::from_utf8_lossy(code).into_owned();
            classes.push(Lang::from_code(&code).ok_or(ModelError::Language(code))?);
        }
        let scale = r.f32()?;
        if !scale.is_finite() || scale <= 0.0 {
            return Err(ModelError::Header("scale"));
        }
        let mut bias = [0f32; MAX_CLASSES];
        for b in bias.iter_mut().take(n) {
            *b = r.f32()?;
        }
        let weights = r.take(spec.buckets() * n)?;
        if r.at != bytes.len() {
            return Err(ModelError::Trailing(bytes.len() - r.at));
        }
        let rows = weights
            .chunks_exact(n)
            .map(|w| {
                let mut row = [0i8; MAX_CLASSES];
                for (dst, src) in row.iter_mut().zip(w) {
                    *dst = *src as i8;
                }
                row
            })
            .collect();
        Ok(NgramModel {
            spec,
            classes,
            scale,
            bias,
            rows,
        })
    }

    pub fn spec(&self) -> FeatureSpec {
        self.spec
    }

    pub fn classes(&self) -> &[Lang] {
        &self.classes
    }

    /// The probability of each language for `clean` (a [`Prepared::clean`] text).
    ///
    /// [`Prepared::clean`]: crate::text::Prepared::clean
    pub fn score(&self, clean: &str) -> NgramScores {
        let mut sums = [0i32; MAX_CLASSES];
        let mut features = 0u32;
        self.spec.for_each(clean, |bucket| {
            features += 1;
            if let Some(row) = self.rows.get(bucket) {
                for (s, w) in sums.iter_mut().zip(row) {
                    *s += *w as i32;
                }
            }
        });
        let n = self.classes.len();
        let mut probabilities = [0f32; MAX_CLASSES];
        let mut max = f32::MIN;
        for k in 0..n {
            probabilities[k] = self.bias[k] + self.scale * sums[k] as f32;
            max = max.max(probabilities[k]);
        }
        let mut total = 0f32;
        for p in probabilities.iter_mut().take(n) {
            *p = (*p - max).exp();
            total += *p;
        }
        for p in probabilities.iter_mut().take(n) {
            *p /= total;
        }
        NgramScores {
            probabilities,
            features,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FeatureSpec {
        FeatureSpec {
            orders: 0b0111,
            words: true,
            bucket_bits: 12,
        }
    }

    fn features(text: &str) -> Vec<usize> {
        let mut v = Vec::new();
        spec().for_each(text, |b| v.push(b));
        v
    }

    #[test]
    fn features_count_ngrams_and_words() {
        // " ja ": 1-grams j, a; 2-grams " j", "ja", "a "; 3-grams " ja", "ja "; the word.
        assert_eq!(features("ja").len(), 2 + 3 + 2 + 1);
        assert_eq!(features("ja, ja!").len(), 2 * 8);
        assert_eq!(features("123 !! 👍").len(), 0);
    }

    #[test]
    fn elongation_and_separators_do_not_change_features() {
        assert_eq!(features("sooooo good"), features("soo good"));
        assert_eq!(features("good"), features("good 👍 :)"));
        assert_ne!(features("so good"), features("soo good"));
    }

    #[test]
    fn other_scripts_separate_words() {
        assert_eq!(features("ok"), features("ok مرحبا"));
    }

    #[test]
    fn model_round_trips_and_scores() {
        let spec = spec();
        let classes = [Lang::En, Lang::De];
        let mut weights = vec![0i8; spec.buckets() * 2];
        // Make every feature of "the" favour English and of "der" favour German.
        spec.for_each("the", |b| weights[b * 2] = 10);
        spec.for_each("der", |b| weights[b * 2 + 1] = 10);
        let bytes = ModelParts {
            spec,
            classes: &classes,
            scale: 0.5,
            bias: &[0.0, 0.0],
            weights: &weights,
        }
        .to_bytes();
        let m = NgramModel::from_bytes(&bytes).expect("model");
        assert_eq!(m.classes(), &classes);
        let s = m.score("the");
        assert!(s.probabilities[0] > 0.99, "{s:?}");
        let s = m.score("der der");
        assert!(s.probabilities[1] > 0.99, "{s:?}");
        let s = m.score("");
        assert_eq!(s.features, 0);
        assert!((s.probabilities[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn damaged_files_are_refused() {
        assert_eq!(
            NgramModel::from_bytes(b"nope").err(),
            Some(ModelError::Truncated(4))
        );
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&7u32.to_le_bytes());
        assert_eq!(
            NgramModel::from_bytes(&bad).err(),
            Some(ModelError::Version(7))
        );
        let spec = spec();
        let weights = vec![0i8; spec.buckets()];
        let good = ModelParts {
            spec,
            classes: &[Lang::En],
            scale: 1.0,
            bias: &[0.0],
            weights: &weights,
        }
        .to_bytes();
        assert!(NgramModel::from_bytes(&good).is_ok());
        assert!(matches!(
            NgramModel::from_bytes(&good[..good.len() - 1]),
            Err(ModelError::Truncated(_))
        ));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            NgramModel::from_bytes(&long).err(),
            Some(ModelError::Trailing(1))
        );
        let mut xx = good.clone();
        xx[16] = b'x';
        xx[17] = b'x';
        assert!(matches!(
            NgramModel::from_bytes(&xx),
            Err(ModelError::Language(_))
        ));
    }
}
