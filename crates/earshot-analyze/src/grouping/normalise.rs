//! A post's text as language-neutral features: lexicon concepts (`seat`, `refund`) where a word
//! or phrase is in the concept lexicon, otherwise the word's Snowball stem in the post's
//! language. Stopwords and request filler ("please add", "would love") are dropped.
//!
//! Features are 64-bit ids; the two top bits say what kind of feature an id is, so a stem can
//! never collide with a concept and learned aliases stay apart from the shipped lexicon.

use super::concepts::{stemmer, ConceptLexicon};
use crate::fingerprint::{hash_bytes, mix};
use crate::lang::Lang;
use crate::lexicon::BuildFnv;
use crate::text::Prepared;
use std::collections::HashMap;

pub(crate) const KIND_MASK: u64 = 0b11 << 62;
/// A word's stem, in whatever language it was written.
pub(crate) const KIND_TERM: u64 = 0;
/// A concept of the shipped lexicon.
pub(crate) const KIND_CONCEPT: u64 = 0b10 << 62;
/// A concept learned from an agent's merge (an alias between stems).
pub(crate) const KIND_LEARNED: u64 = 0b11 << 62;

/// Longest lexicon phrase, in words (`letra de la canción`).
const MAX_PHRASE: usize = 4;

pub(crate) fn term_id(stem: &str) -> u64 {
    hash_bytes(0x7e12_3a11, stem.as_bytes()) & !KIND_MASK
}

/// Concept ids come from the concept's name, so saved state survives edits of the lexicon.
pub(crate) fn concept_id(name: &str) -> u64 {
    (hash_bytes(0xc0c3_9701, name.as_bytes()) & !KIND_MASK) | KIND_CONCEPT
}

pub(crate) fn learned_id(seed: u64) -> u64 {
    (mix(seed ^ 0x1ea7_4ed0) & !KIND_MASK) | KIND_LEARNED
}

pub(crate) fn is_term(id: u64) -> bool {
    id & KIND_MASK == KIND_TERM
}

/// The features of one post, with a readable label for each (kept in one buffer).
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalised {
    /// (id, label start, label end), sorted by id, without repeats.
    pub features: Vec<(u64, u32, u32)>,
    labels: String,
}

impl Normalised {
    pub fn clear(&mut self) {
        self.features.clear();
        self.labels.clear();
    }

    pub fn label(&self, i: usize) -> &str {
        match self.features.get(i) {
            Some(&(_, s, e)) => self.labels.get(s as usize..e as usize).unwrap_or(""),
            None => "",
        }
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.features.iter().map(|f| f.0)
    }

    fn push(&mut self, id: u64, label: &str) {
        let start = self.labels.len() as u32;
        self.labels.push_str(label);
        self.features.push((id, start, self.labels.len() as u32));
    }
}

/// What a word resolves to, computed once per (language, word) and cached.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    stem: Box<str>,
    starts_phrase: bool,
    kind: WordKind,
}

#[derive(Debug, Clone, Copy)]
enum WordKind {
    Concept(u32),
    /// A compound of two lexicon words (`ladepriser`: charging + price).
    Compound(u32, u32),
    Term(u64),
    Skip,
}

/// Resolved words per language (the last map for unknown languages). Stemming and lexicon
/// look-ups are most of the cost of a post, and care posts reuse a small vocabulary.
#[derive(Debug, Clone, Default)]
pub(crate) struct WordCache {
    maps: Vec<HashMap<Box<str>, Resolved, BuildFnv>>,
    len: usize,
}

/// Words cached over all languages before the cache starts again empty.
const MAX_CACHED_WORDS: usize = 200_000;

impl WordCache {
    fn map(&mut self, lang: Option<Lang>) -> &mut HashMap<Box<str>, Resolved, BuildFnv> {
        if self.maps.is_empty() {
            self.maps = (0..=Lang::ALL.len()).map(|_| HashMap::default()).collect();
        }
        let i = lang.map_or(Lang::ALL.len(), |l| l.index());
        &mut self.maps[i]
    }
}

fn resolve(lex: &ConceptLexicon, surface: &str, lang: Option<Lang>) -> Resolved {
    let stem = stemmer(lang).stem(surface);
    let starts_phrase = lex.starts_phrase(surface, &stem);
    let kind = if let Some(c) = lex.word(surface, &stem, lang) {
        WordKind::Concept(c)
    } else if lex.is_stop(surface, lang) || is_noise(surface) {
        WordKind::Skip
    } else if let Some(c) = (lang != Some(Lang::En))
        .then(|| lex.borrowed(surface))
        .flatten()
    {
        WordKind::Concept(c)
    } else if let Some((head, tail)) = decompound(lex, surface, lang) {
        WordKind::Compound(head, tail)
    } else {
        WordKind::Term(term_id(&stem))
    };
    Resolved {
        stem: stem.into(),
        starts_phrase,
        kind,
    }
}

/// Word-level view of the post used while matching phrases.
struct Word<'a> {
    surface: &'a str,
    stem: &'a str,
}

/// Fills `out` with the features of `text` written in `lang` (`None`: unknown).
pub(crate) fn normalise(
    text: &str,
    lang: Option<Lang>,
    cache: &mut WordCache,
    out: &mut Normalised,
) {
    out.clear();
    let prepared = Prepared::new(text);
    let lex = ConceptLexicon::global();
    if cache.len > MAX_CACHED_WORDS {
        *cache = WordCache::default();
    }
    let mut added = 0;
    let map = cache.map(lang);
    for i in 0..prepared.tokens.len() {
        let surface = strip_elision(prepared.token_str(i));
        if !surface.is_empty() && !map.contains_key(surface) {
            map.insert(surface.into(), resolve(lex, surface, lang));
            added += 1;
        }
    }
    cache.len += added;
    let map = cache.map(lang);
    let words: Vec<(Word<'_>, &Resolved)> = (0..prepared.tokens.len())
        .filter_map(|i| {
            let surface = strip_elision(prepared.token_str(i));
            let r = map.get(surface)?;
            Some((
                Word {
                    surface,
                    stem: &r.stem,
                },
                r,
            ))
        })
        .collect();
    let mut key = String::new();
    let mut i = 0;
    while i < words.len() {
        let (_, r) = &words[i];
        if r.starts_phrase {
            if let Some((concept, len)) = phrase_at(lex, &words[i..], lang, &mut key) {
                out.push(concept_id(lex.name(concept)), lex.name(concept));
                i += len;
                continue;
            }
        }
        i += 1;
        match r.kind {
            WordKind::Concept(c) => out.push(concept_id(lex.name(c)), lex.name(c)),
            WordKind::Compound(a, b) => {
                out.push(concept_id(lex.name(a)), lex.name(a));
                out.push(concept_id(lex.name(b)), lex.name(b));
            }
            WordKind::Term(id) => out.push(id, &r.stem),
            WordKind::Skip => {}
        }
    }
    out.features.sort_unstable_by_key(|f| f.0);
    out.features.dedup_by_key(|f| f.0);
}

/// Shortest part of a compound, in letters.
const MIN_COMPOUND_PART: usize = 3;

/// Danish, Norwegian, Swedish, German and Dutch write compounds as one word (`ladepriser`,
/// `Ladepreise`, `laadprijzen`): a word the lexicon does not know is read as two lexicon words
/// when it splits into them, the first part with or without a linking `s` or `e`. The shortest
/// first part that works wins.
fn decompound(lex: &ConceptLexicon, word: &str, lang: Option<Lang>) -> Option<(u32, u32)> {
    let lang =
        lang.filter(|l| matches!(l, Lang::Da | Lang::No | Lang::Sv | Lang::De | Lang::Nl))?;
    let bounds: Vec<usize> = word.char_indices().map(|(i, _)| i).collect();
    if bounds.len() < 2 * MIN_COMPOUND_PART {
        return None;
    }
    let stemmer = stemmer(Some(lang));
    let concept = |w: &str| lex.word(w, &stemmer.stem(w), Some(lang));
    for &cut in &bounds[MIN_COMPOUND_PART..=bounds.len() - MIN_COMPOUND_PART] {
        let (head, tail) = word.split_at(cut);
        let Some(t) = concept(tail) else {
            continue;
        };
        let linked = head
            .strip_suffix(['s', 'e'])
            .filter(|h| h.chars().count() >= MIN_COMPOUND_PART);
        if let Some(h) = concept(head).or_else(|| linked.and_then(concept)) {
            return Some((h, t));
        }
    }
    None
}

/// The longest lexicon phrase starting at `words[0]`, matched as written or stemmed.
fn phrase_at(
    lex: &ConceptLexicon,
    words: &[(Word<'_>, &Resolved)],
    lang: Option<Lang>,
    key: &mut String,
) -> Option<(u32, usize)> {
    for len in (2..=MAX_PHRASE.min(words.len())).rev() {
        for stemmed in [false, true] {
            key.clear();
            for (k, (w, _)) in words[..len].iter().enumerate() {
                if k > 0 {
                    key.push(' ');
                }
                key.push_str(if stemmed { w.stem } else { w.surface });
            }
            if let Some(c) = lex.phrase(key, lang) {
                return Some((c, len));
            }
        }
    }
    None
}

/// French and Italian elisions (`l'application`, `dell'app`) and the English `'s`.
fn strip_elision(word: &str) -> &str {
    let word = word.trim_matches(|c| c == '\'' || c == '-');
    if let Some(pos) = word.find('\'') {
        let (head, tail) = (&word[..pos], &word[pos + 1..]);
        if tail == "s" {
            return head;
        }
        if pos <= 4 && tail.chars().count() >= 3 {
            return tail;
        }
    }
    word
}

/// One-letter words, bare numbers (times, prices, flight and order numbers) and other ids say
/// nothing about the ask; `ios11` and `g8` stay. So do the placeholders anonymised data puts in
/// place of names (`__company__`).
fn is_noise(word: &str) -> bool {
    if word.contains("__") {
        return true;
    }
    let mut chars = 0usize;
    let mut digits = 0usize;
    for c in word.chars() {
        chars += 1;
        if c.is_ascii_digit() {
            digits += 1;
        }
    }
    !(2..=30).contains(&chars) || digits == chars || (digits > 0 && (chars > 8 || digits > 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(text: &str, lang: Option<Lang>) -> Vec<String> {
        let mut n = Normalised::default();
        normalise(text, lang, &mut WordCache::default(), &mut n);
        let mut v: Vec<String> = (0..n.features.len())
            .map(|i| n.label(i).to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn danish_and_english_seat_asks_share_concepts() {
        let en = labels(
            "@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
            Some(Lang::En),
        );
        let da = labels(
            "Kan I ikke få sædet til at køre tilbage, når bilen er parkeret? Det ville gøre det nemmere at stige ud",
            Some(Lang::Da),
        );
        for c in ["car", "park", "seat", "backward", "move"] {
            assert!(en.contains(&c.to_string()), "{c} not in {en:?}");
            assert!(da.contains(&c.to_string()), "{c} not in {da:?}");
        }
        assert!(en.contains(&"steering_wheel".to_string()), "{en:?}");
        assert!(!en.iter().any(|w| w == "the" || w == "please"));
    }

    #[test]
    fn stems_ids_and_noise() {
        let v = labels(
            "Order #403-0554005-7221167: the rooftop tents arrived. L'application plante",
            Some(Lang::En),
        );
        assert!(v.contains(&"rooftop".to_string()), "{v:?}");
        assert!(v.contains(&"tent".to_string()), "{v:?}");
        assert!(!v.iter().any(|w| w.contains("0554005")), "{v:?}");
        let fr = labels("L'application plante depuis la mise à jour", Some(Lang::Fr));
        for c in ["app", "crash", "software_update"] {
            assert!(fr.contains(&c.to_string()), "{c} not in {fr:?}");
        }
        assert!(is_term(term_id("seat")));
        assert!(!is_term(concept_id("seat")));
        assert_ne!(learned_id(1) & KIND_MASK, KIND_CONCEPT);
    }

    #[test]
    fn compounds_are_read_as_their_parts_in_germanic_languages() {
        for (lang, word) in [
            (Lang::Da, "ladepriser"),
            (Lang::No, "ladepriser"),
            (Lang::De, "Ladepreise"),
            (Lang::Nl, "laadprijzen"),
        ] {
            let v = labels(word, Some(lang));
            assert!(v.contains(&"price".to_string()), "{lang:?} {word}: {v:?}");
            assert!(
                v.contains(&"charging".to_string()),
                "{lang:?} {word}: {v:?}"
            );
        }
        // English and Romance words are not split, nor are known words.
        assert_eq!(labels("chargeprices", Some(Lang::En)), ["chargepric"]);
        assert_eq!(labels("priser", Some(Lang::Da)), ["price"]);
    }
}
