//! Learns the language-ID weights that earshot ships (`earshot-analyze/src/lang/langid.bin`).
//!
//! A multinomial logistic regression over the hashed features of
//! [`FeatureSpec::for_each`], trained by AdaGrad on the [`Corpus`]'s training texts, each
//! language weighted so that a language with few texts (Danish, Dutch) counts about as much
//! as one with many (English). The weights are then rounded to one signed byte each.
//!
//! Everything is deterministic (a seeded ChaCha generator, one thread, a fixed order of float
//! operations), so the same data gives the same bytes: `langid build --check` proves the
//! shipped file is what the data makes.

use crate::data::Example;
use crate::langid::corpus::Corpus;
use earshot_analyze::lang::ngrams::{self, FeatureSpec, ModelParts, NgramModel};
use earshot_analyze::lang::Lang;
use earshot_analyze::text::Prepared;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
// ChaCha's output is fixed by its algorithm (StdRng's may change between rand versions), so
// the same seed shuffles alike on every machine and the model's bytes are reproducible.
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// How the model is learned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildConfig {
    pub spec: FeatureSpec,
    pub epochs: u32,
    pub learning_rate: f32,
    /// A language's weight is `(mean texts per language / its texts) ^ balance`: 0 weighs
    /// every text alike, 1 every language alike.
    pub balance: f32,
    /// L2 penalty on the weights of the features a text holds, applied as that text is
    /// learned: keeps a rare n-gram from becoming a certainty.
    pub l2: f32,
    /// Each text also teaches a window of 1 to `short_windows` of its words, so that the
    /// model learns what a short post can and cannot tell (0: no windows).
    pub short_windows: u32,
    /// At most this many texts of one language from one set learn (a random choice, by
    /// the seed), so that one big set cannot fill a language's vocabulary alone (0: all).
    pub cap_per_set: usize,
    /// How many fits (each over its own shuffles) are averaged into the model.
    pub fits: u32,
    /// Weights are clipped to this quantile of their absolute values before rounding, so
    /// that a few extreme weights do not cost the others their precision.
    pub clip_quantile: f32,
    pub seed: u64,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            spec: FeatureSpec {
                orders: 0b0100,
                words: true,
                bucket_bits: 16,
            },
            epochs: 3,
            learning_rate: 0.2,
            balance: 0.8,
            l2: 0.001,
            short_windows: 3,
            cap_per_set: 3000,
            fits: 3,
            clip_quantile: 0.9999,
            seed: 2024,
        }
    }
}

/// A built model.
#[derive(Debug, Clone)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub classes: Vec<Lang>,
    /// Texts that learned, per class (each also taught a window of its words).
    pub texts: Vec<usize>,
    /// Texts that learned, per set.
    pub per_source: std::collections::BTreeMap<&'static str, usize>,
    /// Mean cross-entropy on the training texts, per epoch.
    pub losses: Vec<f64>,
}

impl Built {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }

    pub fn model(&self) -> NgramModel {
        // The bytes were written by `ModelParts::to_bytes` just now.
        NgramModel::from_bytes(&self.bytes).expect("a model this builder wrote reads back")
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Features of each text as sorted (bucket, count) runs, all in two flat arrays.
struct Featurised {
    buckets: Vec<u32>,
    counts: Vec<f32>,
    /// Text `i`'s features are `starts[i]..starts[i + 1]`.
    starts: Vec<usize>,
    class: Vec<u8>,
}

fn featurise(
    train: &[Example],
    spec: FeatureSpec,
    classes: &[Lang],
    short_windows: u32,
    rng: &mut ChaCha8Rng,
) -> Featurised {
    let mut f = Featurised {
        buckets: Vec::new(),
        counts: Vec::new(),
        starts: vec![0],
        class: Vec::with_capacity(train.len()),
    };
    let mut one = Vec::new();
    for e in train {
        let Some(class) = classes.iter().position(|l| l.code() == e.lang) else {
            continue;
        };
        let clean = Prepared::new(&e.text).clean;
        one.clear();
        spec.for_each(&clean, |b| one.push(b as u32));
        f.push(&mut one, class);
        if short_windows > 0 {
            let words: Vec<&str> = clean
                .split(|c: char| !ngrams::is_latin_letter(c))
                .filter(|w| !w.is_empty())
                .collect();
            if words.len() > 1 {
                let k = rng
                    .gen_range(1..=short_windows as usize)
                    .min(words.len() - 1);
                let at = rng.gen_range(0..=words.len() - k);
                one.clear();
                spec.for_each(&words[at..at + k].join(" "), |b| one.push(b as u32));
                f.push(&mut one, class);
            }
        }
    }
    f
}

impl Featurised {
    /// Adds one text's buckets (sorted and counted here); an empty text is skipped.
    fn push(&mut self, one: &mut [u32], class: usize) {
        if one.is_empty() {
            return;
        }
        one.sort_unstable();
        let mut i = 0;
        while i < one.len() {
            let mut j = i + 1;
            while j < one.len() && one[j] == one[i] {
                j += 1;
            }
            self.buckets.push(one[i]);
            self.counts.push((j - i) as f32);
            i = j;
        }
        self.starts.push(self.buckets.len());
        self.class.push(class as u8);
    }
}

/// The texts that learn: all, or a random `cap` of each set's texts of one language.
fn capped(train: &[Example], cap: usize, rng: &mut ChaCha8Rng) -> Vec<Example> {
    if cap == 0 {
        return train.to_vec();
    }
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&Example>> = Default::default();
    for e in train {
        groups.entry((e.set, e.lang)).or_default().push(e);
    }
    let mut out = Vec::with_capacity(train.len());
    for (_, mut g) in groups {
        if g.len() > cap {
            g.shuffle(rng);
            g.truncate(cap);
        }
        out.extend(g.into_iter().cloned());
    }
    out
}

/// Float weights and biases, as training leaves them.
struct Fitted {
    w: Vec<f32>,
    bias: Vec<f32>,
    losses: Vec<f64>,
}

/// Learns weights from featurised texts of `c` classes.
fn fit(
    f: &Featurised,
    c: usize,
    cfg: &BuildConfig,
    rng: &mut ChaCha8Rng,
    progress: &mut impl FnMut(&str),
) -> Fitted {
    let n = f.class.len();
    let mut examples = vec![0usize; c];
    for &k in &f.class {
        examples[k as usize] += 1;
    }
    let mean = n as f64 / c as f64;
    let class_weight: Vec<f32> = examples
        .iter()
        .map(|&t| (mean / t.max(1) as f64).powf(cfg.balance as f64) as f32)
        .collect();

    let buckets = cfg.spec.buckets();
    let mut w = vec![0f32; buckets * c];
    let mut g2 = vec![0f32; buckets * c];
    let mut bias = vec![0f32; c];
    let mut bias_g2 = vec![0f32; c];
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut losses = Vec::new();
    let mut logits = vec![0f32; c];
    let mut grad = vec![0f32; c];
    const EPS: f32 = 1e-6;
    for epoch in 0..cfg.epochs {
        order.shuffle(rng);
        let mut loss = 0f64;
        for &i in &order {
            let i = i as usize;
            let span = f.starts[i]..f.starts[i + 1];
            let y = f.class[i] as usize;
            logits.copy_from_slice(&bias);
            for j in span.clone() {
                let row = &w[f.buckets[j] as usize * c..][..c];
                let cnt = f.counts[j];
                for (l, wk) in logits.iter_mut().zip(row) {
                    *l += cnt * wk;
                }
            }
            let max = logits.iter().copied().fold(f32::MIN, f32::max);
            let mut total = 0f32;
            for l in logits.iter_mut() {
                *l = (*l - max).exp();
                total += *l;
            }
            loss -= ((logits[y] / total).max(1e-12) as f64).ln();
            let cw = class_weight[y];
            for k in 0..c {
                let p = logits[k] / total;
                grad[k] = cw * (p - if k == y { 1.0 } else { 0.0 });
            }
            for k in 0..c {
                bias_g2[k] += grad[k] * grad[k];
                bias[k] -= cfg.learning_rate * grad[k] / (bias_g2[k] + EPS).sqrt();
            }
            for j in span {
                let at = f.buckets[j] as usize * c;
                let cnt = f.counts[j];
                for k in 0..c {
                    let gk = grad[k] * cnt + cfg.l2 * w[at + k];
                    let acc = &mut g2[at + k];
                    *acc += gk * gk;
                    w[at + k] -= cfg.learning_rate * gk / (*acc + EPS).sqrt();
                }
            }
        }
        let mean_loss = loss / n.max(1) as f64;
        progress(&format!(
            "epoch {}/{}: training loss {mean_loss:.4}",
            epoch + 1,
            cfg.epochs
        ));
        losses.push(mean_loss);
    }
    Fitted { w, bias, losses }
}

/// Learns a model from the corpus's training texts.
pub fn build(corpus: &Corpus, cfg: &BuildConfig, mut progress: impl FnMut(&str)) -> Built {
    let classes: Vec<Lang> = Lang::ALL.to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let train = capped(&corpus.train, cfg.cap_per_set, &mut rng);
    progress(&format!("learning from {} texts", train.len()));
    let texts: Vec<usize> = classes
        .iter()
        .map(|l| train.iter().filter(|e| e.lang == l.code()).count())
        .collect();
    let mut per_source = std::collections::BTreeMap::new();
    for e in &train {
        *per_source.entry(e.set).or_insert(0) += 1;
    }
    // Several fits over different shuffles, averaged: one fit's answers on small sets
    // move by a point or two with the shuffle alone.
    // Each fit draws its own windows of words too.
    let c = classes.len();
    let mut fit_once = |rng: &mut ChaCha8Rng| {
        let f = featurise(&train, cfg.spec, &classes, cfg.short_windows, rng);
        fit(&f, c, cfg, rng, &mut progress)
    };
    let mut fitted = fit_once(&mut rng);
    for _ in 1..cfg.fits.max(1) {
        let more = fit_once(&mut rng);
        for (a, b) in fitted.w.iter_mut().zip(&more.w) {
            *a += b;
        }
        for (a, b) in fitted.bias.iter_mut().zip(&more.bias) {
            *a += b;
        }
    }
    let k = cfg.fits.max(1) as f32;
    fitted.w.iter_mut().for_each(|x| *x /= k);
    fitted.bias.iter_mut().for_each(|x| *x /= k);
    let (scale, weights) = quantise(&fitted.w, cfg.clip_quantile);
    let bytes = ModelParts {
        spec: cfg.spec,
        classes: &classes,
        scale,
        bias: &fitted.bias,
        weights: &weights,
    }
    .to_bytes();
    Built {
        bytes,
        classes,
        texts,
        per_source,
        losses: fitted.losses,
    }
}

/// Rounds weights to signed bytes: `scale` times the byte is the weight, clipped to the
/// `clip_quantile` of the absolute weights.
fn quantise(w: &[f32], clip_quantile: f32) -> (f32, Vec<i8>) {
    let mut abs: Vec<f32> = w.iter().map(|x| x.abs()).filter(|x| *x > 0.0).collect();
    if abs.is_empty() {
        return (1.0, vec![0; w.len()]);
    }
    abs.sort_unstable_by(f32::total_cmp);
    let at = ((abs.len() - 1) as f32 * clip_quantile.clamp(0.0, 1.0)) as usize;
    let clip = abs[at].max(f32::MIN_POSITIVE);
    let scale = clip / 127.0;
    let q = w
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (scale, q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;

    fn example(text: &str, lang: Lang) -> Example {
        Example {
            set: "test",
            part: "",
            lang: lang.code(),
            split: Split::Train,
            text: text.into(),
            sentiment: None,
            complaint: None,
            feature_request: None,
        }
    }

    fn tiny() -> Corpus {
        let mut c = Corpus::default();
        for _ in 0..3 {
            c.train.extend([
                example("the cat is on the table and it is happy", Lang::En),
                example("where is the train station please", Lang::En),
                example("die Katze ist auf dem Tisch und sie ist froh", Lang::De),
                example("wo ist der Bahnhof bitte", Lang::De),
            ]);
        }
        c
    }

    #[test]
    fn building_twice_gives_the_same_bytes() {
        let cfg = BuildConfig {
            spec: FeatureSpec {
                orders: 0b0111,
                words: true,
                bucket_bits: 10,
            },
            epochs: 3,
            ..BuildConfig::default()
        };
        let a = build(&tiny(), &cfg, |_| {});
        let b = build(&tiny(), &cfg, |_| {});
        assert_eq!(a.sha256(), b.sha256());
        assert!(a.losses[2] < a.losses[0], "{:?}", a.losses);
        let m = a.model();
        let en = m.classes().iter().position(|l| *l == Lang::En).expect("en");
        let de = m.classes().iter().position(|l| *l == Lang::De).expect("de");
        let s = m.score("the table is there");
        assert!(s.probabilities[en] > s.probabilities[de], "{s:?}");
        let s = m.score("der tisch ist da");
        assert!(s.probabilities[de] > s.probabilities[en], "{s:?}");
    }

    #[test]
    fn quantising_keeps_sign_and_order() {
        let (scale, q) = quantise(&[0.0, 1.0, -2.0, 0.5, 100.0], 0.75);
        assert_eq!(q[0], 0);
        assert_eq!(q[2], -127);
        assert_eq!(q[4], 127);
        assert!(q[1] > q[3] && q[3] > 0);
        assert!((scale * 127.0 - 2.0).abs() < 1e-6);
    }
}

/// The reproducibility check: the shipped model is exactly what the data builds.
#[cfg(test)]
mod shipped {
    use super::*;
    use crate::langid::corpus::Options;

    /// Runs where the shared data is present (`EARSHOT_DATA`, or `shared/data` beside the
    /// repository).
    #[test]
    fn shipped_model_is_what_the_data_builds() {
        let Some(data) = crate::data::for_tests() else {
            return;
        };
        let corpus = Corpus::load(&data, Options::default()).expect("corpus");
        let built = build(&corpus, &BuildConfig::default(), |_| {});
        assert!(
            built.bytes == earshot_analyze::lang::SHIPPED_BYTES,
            "the data builds {} but earshot ships {}: run `langid build` and commit both files",
            built.sha256(),
            sha256_hex(earshot_analyze::lang::SHIPPED_BYTES)
        );
    }
}
