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
/// The layout version after [`MAGIC`]; it changes whenever the features are hashed
/// differently, so an old file is refused rather than read wrong.
pub const FORMAT_VERSION: u32 = 2;
/// How many logits ahead of every other language the best one must be for reading to stop
/// early: its probability is then above 1 - 15·e^-8 > 0.99.
pub const DECISIVE: f32 = 8.0;
/// Most languages a model may hold: a bucket's row is this wide, so that adding it to the
/// scores is one vector add.
pub const MAX_CLASSES: usize = 16;
/// Longer words are read up to this many letters.
const MAX_WORD: usize = 32;
/// n-grams of up to this many characters (four packed characters fill a u64).
pub const MAX_ORDER: u8 = 4;

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

    /// Calls `emit` with the bucket of every feature of `clean` (a [`Prepared::clean`]
    /// text), in order; a feature seen twice is emitted twice.
    ///
    /// [`Prepared::clean`]: crate::text::Prepared::clean
    #[inline]
    pub fn for_each(&self, clean: &str, mut emit: impl FnMut(usize)) {
        words(clean, |word, len| {
            self.word(word, len, &mut emit);
            true
        });
    }

    /// The features of one word, whose letters are `word[1..=len]`. n-grams are keyed by
    /// their characters packed 16 bits each into a u64 (Latin letters fit; so do four of
    /// them), so each costs a shift, a mask and one multiply.
    #[inline]
    fn word(&self, word: &mut [u32; MAX_WORD + 2], len: usize, emit: &mut impl FnMut(usize)) {
        word[len + 1] = SPACE;
        let mut window = 0u64;
        for (i, &c) in word[..len + 2].iter().enumerate() {
            window = (window << 16) | (c & 0xffff) as u64;
            let mut orders = self.orders;
            while orders != 0 {
                let n = orders.trailing_zeros() as usize + 1;
                orders &= orders - 1;
                if n > i + 1 {
                    break;
                }
                // A lone boundary space says nothing.
                if n == 1 && c == SPACE {
                    continue;
                }
                emit(self.bucket(window & MASKS[n]));
            }
        }
        if self.words {
            let mut h = WORD_SEED;
            for &c in &word[1..=len] {
                h = (h.rotate_left(5) ^ c as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
            }
            emit(self.bucket(h));
        }
    }

    /// Fibonacci hashing: the top bits of the key times 2^64/φ.
    #[inline]
    fn bucket(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bucket_bits)) as usize
    }
}

/// Calls `each` with every word of `clean` that says something (its letters are
/// `word[1..=len]`, `word[0]` a space), in order, until it returns false.
#[inline]
fn words(clean: &str, mut each: impl FnMut(&mut [u32; MAX_WORD + 2], usize) -> bool) {
    latin_words(clean, |word, len| {
        says_nothing(&word[1..=len]) || each(word, len)
    });
}

/// [`words`], the words that say nothing included.
#[inline]
fn latin_words(clean: &str, mut each: impl FnMut(&mut [u32; MAX_WORD + 2], usize) -> bool) {
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
            if !each(&mut word, len) {
                return;
            }
            len = 0;
        }
    }
    if len > 0 {
        each(&mut word, len);
    }
}

/// One language is `decisive` weight units ahead of every other in `sums`.
#[inline]
fn decided(sums: &[i32], decisive: i32) -> bool {
    let (mut hi, mut second) = (i32::MIN, i32::MIN);
    for &s in sums {
        if s > hi {
            second = hi;
            hi = s;
        } else if s > second {
            second = s;
        }
    }
    hi.saturating_sub(second) >= decisive
}

/// Words of up to this many letters have their summed weights cached.
const CACHED_LETTERS: usize = 12;
/// Cache slots (a power of two), picked by a hash of the word's letters.
const WORD_SUM_SLOTS: usize = 4096;

/// One cached word: its letters (Latin letters fit in 16 bits), the weights of all its
/// features added up, and how many features that was. A cache line each.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct WordSums {
    letters: [u16; CACHED_LETTERS],
    len: u8,
    /// The word says nothing (see [`says_nothing`]): it is skipped.
    nothing: bool,
    features: u8,
    /// At most `4 × (CACHED_LETTERS + 2) + 1` weights of at most 128 each: fits an i16.
    sums: [i16; MAX_CLASSES],
}

/// The summed weights of the words a thread scored last, for one model (direct-mapped; a
/// slot serves only the same letters). Posts are mostly common words, and reading each of
/// their n-grams' rows at random from a table larger than the CPU's cache was most of the
/// cost of naming a language. Integer sums: adding a word's total gives the same sums as
/// adding its features one by one.
#[derive(Default)]
struct WordSumCache {
    /// The [`NgramModel::id`] the slots were filled from.
    model: u64,
    slots: Vec<WordSums>,
}

impl WordSumCache {
    /// The slot of `word[1..=len]` (`len` ≤ [`CACHED_LETTERS`]), filled from `model` if it
    /// held another word.
    #[inline]
    fn slot(
        &mut self,
        model: &NgramModel,
        word: &mut [u32; MAX_WORD + 2],
        len: usize,
    ) -> &WordSums {
        if self.model != model.id || self.slots.is_empty() {
            let empty = WordSums {
                letters: [0; CACHED_LETTERS],
                len: 0,
                nothing: false,
                features: 0,
                sums: [0; MAX_CLASSES],
            };
            self.slots.clear();
            self.slots.resize(WORD_SUM_SLOTS, empty);
            self.model = model.id;
        }
        let mut letters = [0u16; CACHED_LETTERS];
        let mut h = 0u64;
        for (l, &c) in letters.iter_mut().zip(&word[1..=len]) {
            *l = c as u16;
            h = (h.rotate_left(5) ^ c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        let slot = &mut self.slots[(h >> 52) as usize & (WORD_SUM_SLOTS - 1)];
        if !(slot.len as usize == len && slot.letters == letters) {
            let mut sums = [0i32; MAX_CLASSES];
            let mut features = 0u32;
            slot.nothing = says_nothing(&word[1..=len]);
            if !slot.nothing {
                model.spec.word(word, len, &mut |bucket| {
                    model.add_row(bucket, &mut sums, &mut features)
                });
            }
            slot.letters = letters;
            slot.len = len as u8;
            slot.features = features as u8;
            for (dst, s) in slot.sums.iter_mut().zip(sums) {
                *dst = s as i16;
            }
        }
        slot
    }
}

thread_local! {
    static WORD_SUMS: std::cell::RefCell<WordSumCache> = std::cell::RefCell::new(WordSumCache::default());
}

/// Gives each model read a number of its own, so a thread's cache knows whose sums it holds.
static NEXT_MODEL_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `MASKS[n]` keeps the last `n` packed characters.
const MASKS: [u64; 5] = [0, 0xffff, 0xffff_ffff, 0xffff_ffff_ffff, u64::MAX];

const SPACE: u32 = ' ' as u32;

/// Words every language's posts use alike: laughter ("haha", "hehe", "ahahah", after
/// elongation is cut) and the internet's English-born interjections. They are no feature,
/// so "haha 😂" alone is `und` rather than whichever language laughs most in the data.
fn says_nothing(word: &[u32]) -> bool {
    const NEUTRAL: &[&[u8]] = &[b"lol", b"lmao", b"lmfao", b"rofl", b"omg", b"xd", b"ok"];
    if word.iter().all(|c| *c < 128)
        && NEUTRAL
            .iter()
            .any(|n| n.iter().map(|b| *b as u32).eq(word.iter().copied()))
    {
        return true;
    }
    // Laughter: h and a vowel in turns, at least twice ("haha", "hihi", "ahah").
    let is_h = |c: u32| c == 'h' as u32;
    let is_vowel = |c: u32| matches!(char::from_u32(c), Some('a' | 'e' | 'i' | 'o'));
    word.len() >= 4
        && word.iter().enumerate().all(|(i, &c)| {
            let h_first = is_h(word[0]);
            if (i % 2 == 0) == h_first {
                is_h(c)
            } else {
                is_vowel(c)
            }
        })
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
    /// Unique to this model (and its clones, which hold the same weights): keys the
    /// per-thread cache of word sums.
    id: u64,
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
            id: NEXT_MODEL_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
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
    /// Reading stops after the word that makes one language [`DECISIVE`] logits ahead of
    /// every other (its probability is then above 0.999): the rest of a long post could not
    /// change the answer, and most posts are decided in a few words.
    ///
    /// [`Prepared::clean`]: crate::text::Prepared::clean
    pub fn score(&self, clean: &str) -> NgramScores {
        let mut sums = [0i32; MAX_CLASSES];
        let mut features = 0u32;
        let n = self.classes.len();
        // In weight units: DECISIVE logits, less the most the biases can take back.
        let (bias_max, bias_min) = self.bias[..n]
            .iter()
            .fold((f32::MIN, f32::MAX), |(hi, lo), b| (hi.max(*b), lo.min(*b)));
        let decisive = ((DECISIVE + bias_max - bias_min) / self.scale) as i32;
        // This thread's cache of word sums (none if this thread is already scoring).
        let mut cache =
            WORD_SUMS.with(|c| c.try_borrow_mut().ok().map(|mut c| std::mem::take(&mut *c)));
        latin_words(clean, |word, len| {
            match cache.as_mut() {
                Some(cache) if len <= CACHED_LETTERS => {
                    let slot = cache.slot(self, word, len);
                    if slot.nothing {
                        return true;
                    }
                    for (s, w) in sums.iter_mut().zip(&slot.sums) {
                        *s += *w as i32;
                    }
                    features += slot.features as u32;
                }
                _ if says_nothing(&word[1..=len]) => return true,
                _ => self.spec.word(word, len, &mut |bucket| {
                    self.add_row(bucket, &mut sums, &mut features)
                }),
            }
            !decided(&sums[..n], decisive)
        });
        if let Some(c) = cache {
            WORD_SUMS.with(|cell| {
                if let Ok(mut slot) = cell.try_borrow_mut() {
                    *slot = c;
                }
            });
        }
        self.probabilities(&sums, features)
    }

    /// Adds the weights of feature `bucket` to `sums`, and counts it.
    #[inline(always)]
    fn add_row(&self, bucket: usize, sums: &mut [i32; MAX_CLASSES], features: &mut u32) {
        *features += 1;
        if let Some(row) = self.rows.get(bucket) {
            for (s, w) in sums.iter_mut().zip(row) {
                *s += *w as i32;
            }
        }
    }

    fn probabilities(&self, sums: &[i32; MAX_CLASSES], features: u32) -> NgramScores {
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
    fn laughter_and_interjections_are_no_features() {
        for w in [
            "haha", "HAHAHA", "hehehe", "ahahah", "hihi", "lol", "OMG", "ok",
        ] {
            assert_eq!(features(&w.to_lowercase()).len(), 0, "{w}");
        }
        assert_eq!(features("haha ja"), features("ja"));
        // Words that only look alike are kept.
        for w in ["hallo", "haben", "oke", "hahn"] {
            assert!(!features(w).is_empty(), "{w}");
        }
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
