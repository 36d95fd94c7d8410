//! TF-IDF vectors over two kinds of features: the words of a text (lowercase, without URLs and
//! @mentions, as [`Prepared`] reads them) and the character 3-grams of each word padded with a
//! space on both sides. Words match well in the languages that separate them with spaces; the
//! 3-grams still match across inflections ("refund"/"refunded") and in scripts without spaces.

use crate::text::Prepared;
use std::collections::HashMap;

/// A sparse, L2-normalised vector: (feature id, weight), sorted by id.
pub(crate) type Sparse = Vec<(u32, f32)>;

/// The words of `text`, lowercased, without URLs and @mentions.
pub(crate) fn words(text: &str) -> Vec<String> {
    let p = Prepared::new(text);
    (0..p.tokens.len())
        .map(|i| p.token_str(i).to_string())
        .collect()
}

/// Character 3-grams of each word, the word padded with one space either side.
pub(crate) fn grams(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        let chars: Vec<char> = std::iter::once(' ')
            .chain(w.chars())
            .chain(std::iter::once(' '))
            .collect();
        for g in chars.windows(3) {
            out.push(g.iter().collect());
        }
    }
    out
}

/// Feature ids and document frequencies of one kind of feature, fixed once the index is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocab {
    ids: HashMap<String, u32>,
    df: Vec<u32>,
    docs: u32,
}

impl Vocab {
    /// Learns the features of every document (each a list of features, repeats allowed).
    pub(crate) fn learn(docs: &[Vec<String>]) -> Self {
        let mut v = Vocab::default();
        for d in docs {
            let mut seen: Vec<u32> = Vec::with_capacity(d.len());
            for f in d {
                let next = v.ids.len() as u32;
                let id = *v.ids.entry(f.clone()).or_insert(next);
                if id as usize == v.df.len() {
                    v.df.push(0);
                }
                seen.push(id);
            }
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                v.df[id as usize] += 1;
            }
            v.docs += 1;
        }
        v
    }

    /// Smoothed inverse document frequency (scikit-learn's form: never zero).
    fn idf(&self, id: u32) -> f32 {
        let df = self.df.get(id as usize).copied().unwrap_or(0) as f32;
        ((1.0 + self.docs as f32) / (1.0 + df)).ln() + 1.0
    }

    /// Sublinear tf × idf, L2-normalised. Features the vocabulary never saw are left out: they
    /// cannot match any document.
    pub(crate) fn vector(&self, feats: &[String]) -> Sparse {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for f in feats {
            if let Some(&id) = self.ids.get(f) {
                *tf.entry(id).or_insert(0.0) += 1.0;
            }
        }
        let mut v: Sparse = tf
            .into_iter()
            .map(|(id, n)| (id, (1.0 + n.ln()) * self.idf(id)))
            .collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, w) in &mut v {
                *w /= norm;
            }
        }
        v
    }

    pub(crate) fn len(&self) -> usize {
        self.df.len()
    }
}

/// The cosine of two normalised vectors.
pub(crate) fn dot(a: &Sparse, b: &Sparse) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Feature id → (document, weight): the documents sharing a feature with a query, found
/// without visiting every document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Postings(Vec<Vec<(u32, f32)>>);

impl Postings {
    pub(crate) fn build(features: usize, docs: &[Sparse]) -> Self {
        let mut p = vec![Vec::new(); features];
        for (d, v) in docs.iter().enumerate() {
            for &(id, w) in v {
                p[id as usize].push((d as u32, w));
            }
        }
        Postings(p)
    }

    /// Adds `weight × cosine(query, doc)` to `scores[doc]` for every document.
    pub(crate) fn accumulate(&self, query: &Sparse, weight: f32, scores: &mut [f32]) {
        for &(id, qw) in query {
            for &(d, dw) in self.0.get(id as usize).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(s) = scores.get_mut(d as usize) {
                    *s += weight * qw * dw;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_leave_out_mentions_and_links() {
        assert_eq!(
            words("@AmazonHelp my REFUND never came https://t.co/x"),
            vec!["my", "refund", "never", "came"]
        );
    }

    #[test]
    fn grams_are_padded_per_word() {
        assert_eq!(grams(&["ok".into()]), vec![" ok", "ok "]);
        assert_eq!(grams(&["åbn".into()]), vec![" åb", "åbn", "bn "]);
    }

    #[test]
    fn identical_texts_have_cosine_one_and_disjoint_zero() {
        let docs = vec![words("refund my order"), words("password reset link")];
        let v = Vocab::learn(&docs);
        let a = v.vector(&docs[0]);
        let b = v.vector(&docs[1]);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(dot(&a, &b), 0.0);
        let mut scores = vec![0.0; 2];
        Postings::build(v.len(), &[a.clone(), b]).accumulate(&a, 1.0, &mut scores);
        assert!((scores[0] - 1.0).abs() < 1e-5 && scores[1] == 0.0);
    }
}
