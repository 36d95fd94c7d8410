//! What a post is counted under: the Snowball stems of its content words, the pairs of
//! neighbouring content words ("flight roskild"), and its request when grouping knows it.
//! Pairs are what make an unconfigured topic stand out: "festival" alone is common, "flights
//! roskilde" is not.
//!
//! Text preparation is the crate's own ([`Prepared`]: lowercased, URLs, @mentions and `#`
//! dropped), stopwords come from the lexicon's per-language lists.

use crate::fingerprint::{hash_bytes, mix};
use crate::grouping::stemmer;
use crate::lang::Lang;
use crate::lexicon::data;
use crate::lexicon::BuildFnv;
use crate::text::Prepared;
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
    per_lang: Vec<HashSet<&'static str, BuildFnv>>,
    any: HashSet<&'static str, BuildFnv>,
}

static STOPWORDS: LazyLock<Stopwords> = LazyLock::new(|| {
    let mut per_lang = vec![HashSet::with_hasher(BuildFnv); Lang::ALL.len()];
    let mut any = HashSet::with_hasher(BuildFnv);
    for d in data::LANGS {
        for w in d
            .stopwords
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            per_lang[d.lang.index()].insert(w);
            any.insert(w);
        }
    }
    Stopwords { per_lang, any }
});

/// Marks a key that is the post's request rather than its words.
const REQUEST: u16 = u16::MAX;
/// Marks a one-word key (no second word).
const NONE: u16 = u16::MAX - 1;

/// The keys of one post. Labels are built only when asked for (most keys never need one).
#[derive(Debug, Default, Clone)]
pub(crate) struct PostKeys {
    /// (key, first word, second word or [`NONE`]; [`REQUEST`] twice for the request key),
    /// without repeats.
    pub keys: Vec<(u64, u16, u16)>,
    /// The content words as written: their text is `surfaces[start..end]`.
    words: Vec<(u64, u32, u32)>,
    surfaces: String,
    request: Option<u64>,
}

impl PostKeys {
    fn word(&self, i: u16) -> &str {
        match self.words.get(i as usize) {
            Some(&(_, s, e)) => self.surfaces.get(s as usize..e as usize).unwrap_or(""),
            None => "",
        }
    }

    /// The readable label of key `i` ("flights roskilde", "request r7").
    pub fn label(&self, i: usize) -> String {
        match self.keys.get(i) {
            Some(&(_, REQUEST, _)) => format!("request r{}", self.request.unwrap_or(0)),
            Some(&(_, a, NONE)) => self.word(a).to_string(),
            Some(&(_, a, b)) => format!("{} {}", self.word(a), self.word(b)),
            None => String::new(),
        }
    }

    fn push(&mut self, key: u64, a: u16, b: u16) {
        if !self.keys.iter().any(|k| k.0 == key) {
            self.keys.push((key, a, b));
        }
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
    if !(3..=30).contains(&chars) || digits * 2 > chars {
        return true;
    }
    let sw = &*STOPWORDS;
    match lang {
        Some(l) => {
            sw.per_lang[l.index()].contains(word) || sw.per_lang[Lang::En.index()].contains(word)
        }
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

/// Remembers, per word as written and language, its stem's hash (or that it is noise):
/// Snowball stemming is most of the cost of a post, and a few thousand words make up most
/// of any stream. Direct-mapped: a colliding word simply replaces the old one.
#[derive(Debug, Clone)]
pub(crate) struct StemCache {
    slots: Vec<(u64, u64)>,
}

/// The stem hash that marks a noise word in the cache.
const NOISE: u64 = 0;
const CACHE_SLOTS: usize = 1 << 13;

impl Default for StemCache {
    fn default() -> Self {
        StemCache {
            slots: vec![(0, 0); CACHE_SLOTS],
        }
    }
}

impl StemCache {
    /// The word's stem hash, or `None` for a noise word.
    #[inline]
    fn stem_hash(&mut self, surface: &str, lang: Option<Lang>) -> Option<u64> {
        let tag = lang.map_or(0xff, |l| l.index() as u64);
        // 0 marks an empty slot, so a real word hash of 0 becomes 1.
        let id = hash_bytes(SEED_WORD ^ (tag << 40), surface.as_bytes()).max(1);
        let slot = &mut self.slots[(id as usize) & (CACHE_SLOTS - 1)];
        if slot.0 == id {
            return (slot.1 != NOISE).then_some(slot.1);
        }
        let value = if is_noise(surface, lang) {
            NOISE
        } else {
            let stem = stemmer(lang).stem(surface);
            hash_bytes(SEED_WORD, stem.as_bytes()).max(1)
        };
        *slot = (id, value);
        (value != NOISE).then_some(value)
    }
}

/// Fills `out` with the keys of `text` in `lang` (`None`: unknown), plus the request's.
pub(crate) fn extract(
    text: &str,
    lang: Option<Lang>,
    request_id: Option<u64>,
    cache: &mut StemCache,
    out: &mut PostKeys,
) {
    out.keys.clear();
    out.words.clear();
    out.surfaces.clear();
    out.request = request_id;
    let prepared = Prepared::new(text);
    let mut skip = 0;
    if prepared.token_str(0) == "rt" {
        skip = 1;
    }
    for i in skip..prepared.tokens.len() {
        if out.words.len() >= MAX_WORDS {
            break;
        }
        let surface = strip_clitics(prepared.token_str(i));
        let Some(h) = cache.stem_hash(surface, lang) else {
            continue;
        };
        let start = out.surfaces.len();
        out.surfaces.push_str(surface);
        out.words.push((h, start as u32, out.surfaces.len() as u32));
    }
    for w in 0..out.words.len() {
        let h = out.words[w].0;
        out.push(h, w as u16, NONE);
    }
    for w in 1..out.words.len() {
        let (a, b) = (out.words[w - 1].0, out.words[w].0);
        if a != b {
            out.push(
                mix(a.rotate_left(21) ^ b ^ SEED_PAIR),
                (w - 1) as u16,
                w as u16,
            );
        }
    }
    if let Some(r) = request_id {
        out.push(request_key(r), REQUEST, REQUEST);
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
        extract(text, lang, request, &mut StemCache::default(), &mut k);
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
        for want in [
            "flights",
            "roskilde",
            "festival",
            "flights roskilde",
            "roskilde festival",
            "request r7",
        ] {
            assert!(v.contains(&want.to_string()), "{want} not in {v:?}");
        }
        assert!(
            !v.iter()
                .any(|w| w == "are" || w == "united" || w.contains("http")),
            "{v:?}"
        );
    }

    #[test]
    fn inflections_share_a_key_and_repeats_count_once() {
        let mut a = PostKeys::default();
        let mut b = PostKeys::default();
        let mut cache = StemCache::default();
        extract(
            "flight flights flight",
            Some(Lang::En),
            None,
            &mut cache,
            &mut a,
        );
        extract("one flight", Some(Lang::En), None, &mut cache, &mut b);
        assert_eq!(a.keys.len(), 1, "{:?}", a.keys);
        assert!(b.keys.iter().any(|k| k.0 == a.keys[0].0));
        let mut da = PostKeys::default();
        extract(
            "Flyene til Roskilde er udsolgt",
            Some(Lang::Da),
            None,
            &mut cache,
            &mut da,
        );
        // The same words again come from the cache, with the same keys.
        let mut again = PostKeys::default();
        extract(
            "Flyene til Roskilde er udsolgt",
            Some(Lang::Da),
            None,
            &mut cache,
            &mut again,
        );
        assert_eq!(da.keys, again.keys);
        assert!(da.keys.len() >= 3);
    }

    #[test]
    fn long_posts_are_capped() {
        let text: String = (0..200).map(|i| format!("word{} ", i * 7919)).collect();
        let mut k = PostKeys::default();
        extract(
            &text,
            Some(Lang::En),
            None,
            &mut StemCache::default(),
            &mut k,
        );
        assert!(k.keys.len() <= MAX_KEYS, "{}", k.keys.len());
    }
}
