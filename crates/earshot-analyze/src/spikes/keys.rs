//! What a post is counted under: the Snowball stems of its content words, the pairs of
//! neighbouring content words ("flight roskild"), and its request when grouping knows it.
//! Pairs are what make an unconfigured topic stand out: "festival" alone is common, "flights
//! roskilde" is not.
//!
//! Text preparation is the crate's own ([`Prepared`]: lowercased, URLs, @mentions and `#`
//! dropped), stopwords come from the lexicon's per-language lists.

use crate::fingerprint::{hash_bytes, mix};
use crate::lang::Lang;
use crate::lexicon::data;
use crate::text::Prepared;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashSet;
use std::sync::LazyLock;

/// At most this many unigram and this many pair keys per post: a long post must not cost more
/// than a tweet, and its tail rarely names the topic.
pub(crate) const MAX_WORDS: usize = 24;
/// Keys per post at most: words, pairs and the request.
pub(crate) const MAX_KEYS: usize = 2 * MAX_WORDS + 1;

const SEED_WORD: u64 = 0x5b1c_e001;
const SEED_PAIR: u64 = 0x5b1c_e002;
const SEED_REQUEST: u64 = 0x5b1c_e003;

struct Stopwords {
    per_lang: Vec<HashSet<&'static str>>,
    any: HashSet<&'static str>,
}

static STOPWORDS: LazyLock<Stopwords> = LazyLock::new(|| {
    let mut per_lang = vec![HashSet::new(); Lang::ALL.len()];
    let mut any = HashSet::new();
    for d in data::LANGS {
        for w in d.stopwords.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            per_lang[d.lang.index()].insert(w);
            any.insert(w);
        }
    }
    Stopwords { per_lang, any }
});

static STEMMERS: LazyLock<Vec<Stemmer>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|l| {
            Stemmer::create(match l {
                Lang::En => Algorithm::English,
                Lang::Da => Algorithm::Danish,
                Lang::It => Algorithm::Italian,
                Lang::De => Algorithm::German,
                Lang::Fr => Algorithm::French,
                Lang::Es => Algorithm::Spanish,
                Lang::Pt => Algorithm::Portuguese,
                Lang::Nl => Algorithm::Dutch,
                Lang::Sv => Algorithm::Swedish,
                Lang::No => Algorithm::Norwegian,
            })
        })
        .collect()
});

/// The keys of one post, with a readable label for each (kept in one buffer).
#[derive(Debug, Default, Clone)]
pub(crate) struct PostKeys {
    /// (key, label start, label end), without repeats.
    pub keys: Vec<(u64, u32, u32)>,
    labels: String,
    words: Vec<(u64, u32, u32)>,
}

impl PostKeys {
    pub fn label(&self, i: usize) -> &str {
        match self.keys.get(i) {
            Some(&(_, s, e)) => self.labels.get(s as usize..e as usize).unwrap_or(""),
            None => "",
        }
    }

    fn push(&mut self, key: u64, start: usize) {
        if self.keys.iter().any(|k| k.0 == key) {
            return;
        }
        self.keys.push((key, start as u32, self.labels.len() as u32));
    }
}

pub(crate) fn request_key(request_id: u64) -> u64 {
    mix(request_id ^ SEED_REQUEST)
}

/// Whether a word says nothing about a topic: stopwords, ids, one- and two-letter words.
fn is_noise(word: &str, lang: Option<Lang>) -> bool {
    let mut chars = 0usize;
    let mut digits = 0usize;
    for c in word.chars() {
        chars += 1;
        if c.is_ascii_digit() {
            digits += 1;
        }
    }
    if chars < 3 || chars > 30 || digits * 2 > chars {
        return true;
    }
    let sw = &*STOPWORDS;
    match lang {
        Some(l) => sw.per_lang[l.index()].contains(word) || sw.per_lang[Lang::En.index()].contains(word),
        None => sw.any.contains(word),
    }
}

/// English `'s`/`'ll` and French/Italian elisions (`l'app`): the word that carries meaning.
fn strip_clitics(word: &str) -> &str {
    match word.find('\'') {
        Some(pos) => {
            let (head, tail) = (&word[..pos], &word[pos + 1..]);
            if pos <= 4 && tail.chars().count() >= 3 {
                tail
            } else {
                head
            }
        }
        None => word,
    }
}

/// Fills `out` with the keys of `text` in `lang` (`None`: unknown), plus the request's.
pub(crate) fn extract(text: &str, lang: Option<Lang>, request_id: Option<u64>, out: &mut PostKeys) {
    out.keys.clear();
    out.labels.clear();
    out.words.clear();
    let prepared = Prepared::new(text);
    let stemmer = &STEMMERS[lang.unwrap_or(Lang::En).index()];
    let mut skip = 0;
    if prepared.token_str(0) == "rt" {
        skip = 1;
    }
    for i in skip..prepared.tokens.len() {
        if out.words.len() >= MAX_WORDS {
            break;
        }
        let surface = strip_clitics(prepared.token_str(i));
        if is_noise(surface, lang) {
            continue;
        }
        let stem = stemmer.stem(surface);
        let h = hash_bytes(SEED_WORD, stem.as_bytes());
        let start = out.labels.len();
        out.labels.push_str(surface);
        out.words.push((h, start as u32, out.labels.len() as u32));
    }
    for w in 0..out.words.len() {
        let (h, s, e) = out.words[w];
        out.keys.push((h, s, e));
    }
    out.keys.sort_unstable_by_key(|k| k.0);
    out.keys.dedup_by_key(|k| k.0);
    for w in 1..out.words.len() {
        let (a, sa, ea) = out.words[w - 1];
        let (b, sb, eb) = out.words[w];
        if a == b {
            continue;
        }
        let key = mix(a.rotate_left(21) ^ b ^ SEED_PAIR);
        let start = out.labels.len();
        // The label is written once per pair, after the word labels it is built from.
        let (first, second) = (sa as usize..ea as usize, sb as usize..eb as usize);
        let mut label = String::with_capacity(first.len() + second.len() + 1);
        label.push_str(&out.labels[first]);
        label.push(' ');
        label.push_str(&out.labels[second]);
        out.labels.push_str(&label);
        out.push(key, start);
    }
    if let Some(r) = request_id {
        let start = out.labels.len();
        out.labels.push_str("request r");
        out.labels.push_str(&r.to_string());
        out.push(request_key(r), start);
    }
}

/// Whether a key is a word pair (pairs make better labels than single words).
pub(crate) fn is_pair_label(label: &str) -> bool {
    label.contains(' ') && !label.starts_with("request ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str, lang: Option<Lang>, request: Option<u64>) -> Vec<String> {
        let mut k = PostKeys::default();
        extract(text, lang, request, &mut k);
        let mut v: Vec<String> = (0..k.keys.len()).map(|i| k.label(i).to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn content_words_pairs_and_request() {
        let v = labels(
            "@united Are there any flights to Roskilde Festival?? https://t.co/x #festival",
            Some(Lang::En),
            Some(7),
        );
        for want in ["flights", "roskilde", "festival", "flights roskilde", "roskilde festival", "request r7"] {
            assert!(v.contains(&want.to_string()), "{want} not in {v:?}");
        }
        assert!(!v.iter().any(|w| w == "are" || w == "united" || w.contains("http")), "{v:?}");
    }

    #[test]
    fn inflections_share_a_key_and_repeats_count_once() {
        let mut a = PostKeys::default();
        let mut b = PostKeys::default();
        extract("flight flights flight", Some(Lang::En), None, &mut a);
        extract("one flight", Some(Lang::En), None, &mut b);
        assert_eq!(a.keys.len(), 1, "{:?}", a.keys);
        assert!(b.keys.iter().any(|k| k.0 == a.keys[0].0));
        let mut da = PostKeys::default();
        extract("Flyene til Roskilde er udsolgt", Some(Lang::Da), None, &mut da);
        assert!(da.keys.len() >= 3);
    }

    #[test]
    fn long_posts_are_capped() {
        let text: String = (0..200).map(|i| format!("word{} ", i * 7919)).collect();
        let mut k = PostKeys::default();
        extract(&text, Some(Lang::En), None, &mut k);
        assert!(k.keys.len() <= MAX_KEYS, "{}", k.keys.len());
    }
}
