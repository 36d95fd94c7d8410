//! The multilingual concept lexicon (`concepts.txt`, compiled in), the Snowball stemmers and
//! the stopwords that request grouping normalises words with. Built once per process.
//!
//! A word is looked up as written and as its stem in the post's language, so the lexicon only
//! needs base forms. Each sense carries the languages it belongs to: Danish "fly" is a flight,
//! and the English verb in a Danish post is not (and vice versa when the post is English).

use crate::lang::Lang;
use crate::lexicon::data;
use crate::lexicon::BuildFnv;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The lexicon as shipped with the crate.
pub(crate) const CONCEPTS_TXT: &str = include_str!("concepts.txt");

/// Languages bit set covering every language earshot reads.
pub(crate) const ALL_LANGS: u16 = (1 << 10) - 1;

/// One meaning of a lexicon key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sense {
    /// Bit set of [`Lang::bit`].
    pub langs: u16,
    pub concept: u32,
}

/// The parsed lexicon.
pub(crate) struct ConceptLexicon {
    names: Vec<Box<str>>,
    /// Single words, as written and as stemmed in their language.
    words: HashMap<Box<str>, Vec<Sense>, BuildFnv>,
    /// Phrases (`steering wheel`), keyed by their words joined with one space, as written and
    /// stemmed word by word.
    phrases: HashMap<Box<str>, Vec<Sense>, BuildFnv>,
    /// Words (as written and stemmed) that start a phrase: only then is a phrase looked up.
    phrase_starts: HashSet<Box<str>, BuildFnv>,
    /// Per language: its stopwords and request filler.
    stops: Vec<HashSet<Box<str>, BuildFnv>>,
    /// Every language's stopwords, for posts whose language is unknown.
    stops_any: HashSet<Box<str>, BuildFnv>,
    /// Per language (and last, any language): sentiment prefixes (`frustrat*`) to drop.
    stop_prefixes: Vec<Vec<Box<str>>>,
    /// Lines that could not be read (a unit test keeps this at zero).
    pub(crate) problems: Vec<String>,
}

static LEXICON: LazyLock<ConceptLexicon> = LazyLock::new(|| ConceptLexicon::parse(CONCEPTS_TXT));

static STEMMERS: LazyLock<Vec<Stemmer>> = LazyLock::new(|| {
    Lang::ALL
        .iter()
        .map(|l| Stemmer::create(algorithm(*l)))
        .collect()
});

fn algorithm(l: Lang) -> Algorithm {
    match l {
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
    }
}

/// The Snowball stemmer of a language (English for unknown languages: most untagged care
/// posts are English, and a wrong stem only costs a missed match).
pub(crate) fn stemmer(lang: Option<Lang>) -> &'static Stemmer {
    let i = lang.unwrap_or(Lang::En).index();
    &STEMMERS[i]
}

impl ConceptLexicon {
    pub fn global() -> &'static ConceptLexicon {
        &LEXICON
    }

    /// The concept's name (`seat`, `refund`).
    pub fn name(&self, concept: u32) -> &str {
        self.names.get(concept as usize).map_or("", |n| n)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The concept a word (as written, or its stem in `lang`) means in `lang`.
    pub fn word(&self, surface: &str, stem: &str, lang: Option<Lang>) -> Option<u32> {
        pick(self.words.get(surface), lang).or_else(|| pick(self.words.get(stem), lang))
    }

    /// Care and tech words are borrowed from English everywhere (iPhone, app, update, wifi):
    /// the concept of a word written exactly as an English lexicon word. Ask only for words
    /// that are not stopwords of the post's language (French "car" is "because").
    pub fn borrowed(&self, surface: &str) -> Option<u32> {
        pick(self.words.get(surface), Some(Lang::En))
    }

    /// Whether a word may start a phrase (saves building a key for every word).
    pub fn starts_phrase(&self, surface: &str, stem: &str) -> bool {
        self.phrase_starts.contains(surface) || self.phrase_starts.contains(stem)
    }

    /// The concept of a phrase key (words joined with single spaces), English as fallback.
    pub fn phrase(&self, key: &str, lang: Option<Lang>) -> Option<u32> {
        pick(self.phrases.get(key), lang).or_else(|| pick(self.phrases.get(key), Some(Lang::En)))
    }

    /// Stopwords, request filler and sentiment words: how the customer feels says nothing
    /// about what they ask for, and swear words are as rare as the words that matter.
    pub fn is_stop(&self, word: &str, lang: Option<Lang>) -> bool {
        let (set, prefixes) = match lang {
            Some(l) => (&self.stops[l.index()], &self.stop_prefixes[l.index()]),
            None => (&self.stops_any, &self.stop_prefixes[Lang::ALL.len()]),
        };
        set.contains(word) || prefixes.iter().any(|p| word.starts_with(&**p))
    }

    fn parse(text: &str) -> ConceptLexicon {
        let mut lex = ConceptLexicon {
            names: Vec::new(),
            words: HashMap::default(),
            phrases: HashMap::default(),
            phrase_starts: HashSet::default(),
            stops: (0..Lang::ALL.len()).map(|_| HashSet::default()).collect(),
            stops_any: HashSet::default(),
            stop_prefixes: vec![Vec::new(); Lang::ALL.len() + 1],
            problems: Vec::new(),
        };
        for d in data::LANGS {
            let lists = [
                d.stopwords,
                d.positive,
                d.negative,
                d.negators,
                d.intensifiers,
                d.thanks,
            ];
            for list in lists {
                for (w, prefix) in list_words(list) {
                    if prefix {
                        lex.stop_prefixes[d.lang.index()].push(w.into());
                        lex.stop_prefixes[Lang::ALL.len()].push(w.into());
                    } else {
                        lex.stops[d.lang.index()].insert(w.into());
                        lex.stops_any.insert(w.into());
                    }
                }
            }
        }
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, body)) = line.split_once('=') else {
                lex.problems.push(format!("line {}: no `=`", n + 1));
                continue;
            };
            let name = name.trim();
            let stop = name == "~stop";
            if !stop && (name.is_empty() || name.contains(char::is_whitespace)) {
                lex.problems
                    .push(format!("line {}: bad concept name {name:?}", n + 1));
                continue;
            }
            let concept = lex.names.len() as u32;
            if !stop {
                lex.names.push(name.into());
            }
            for part in body.split('|') {
                let Some((code, words)) = part.split_once(':') else {
                    lex.problems
                        .push(format!("line {}: segment without `lang:`", n + 1));
                    continue;
                };
                let code = code.trim();
                let (langs, lang) = if code == "*" {
                    (ALL_LANGS, None)
                } else {
                    match Lang::from_code(code) {
                        Some(l) => (l.bit(), Some(l)),
                        None => {
                            lex.problems
                                .push(format!("line {}: unknown language {code:?}", n + 1));
                            continue;
                        }
                    }
                };
                for word in words.split_whitespace() {
                    let word = word.to_lowercase();
                    if stop {
                        let Some(l) = lang else { continue };
                        lex.stops[l.index()].insert(word.as_str().into());
                        lex.stops_any.insert(word.into());
                        continue;
                    }
                    lex.add(&word, Sense { langs, concept }, lang);
                }
            }
        }
        lex
    }

    fn add(&mut self, word: &str, sense: Sense, lang: Option<Lang>) {
        let stem_in = |w: &str, l: Option<Lang>| -> Vec<String> {
            // A `*` word is stemmed in every language so each post's stem can find it.
            match l {
                Some(l) => vec![stemmer(Some(l)).stem(w).into_owned()],
                None => Lang::ALL
                    .iter()
                    .map(|l| stemmer(Some(*l)).stem(w).into_owned())
                    .collect(),
            }
        };
        if word.contains('+') {
            let parts: Vec<&str> = word.split('+').filter(|p| !p.is_empty()).collect();
            let surface = parts.join(" ");
            insert(&mut self.phrases, &surface, sense);
            if let Some(first) = parts.first() {
                self.phrase_starts.insert((*first).into());
                for s in stem_in(first, lang) {
                    self.phrase_starts.insert(s.into());
                }
            }
            let stemmed: Vec<String> = parts
                .iter()
                .map(|p| stem_in(p, lang).into_iter().next().unwrap_or_default())
                .collect();
            insert(&mut self.phrases, &stemmed.join(" "), sense);
            return;
        }
        insert(&mut self.words, word, sense);
        for s in stem_in(word, lang) {
            insert(&mut self.words, &s, sense);
        }
    }
}

fn insert(map: &mut HashMap<Box<str>, Vec<Sense>, BuildFnv>, key: &str, sense: Sense) {
    let senses = map.entry(key.into()).or_default();
    match senses.iter_mut().find(|s| s.concept == sense.concept) {
        Some(s) => s.langs |= sense.langs,
        None => senses.push(sense),
    }
}

/// The sense for `lang`; with no language, the first one (the lexicon rarely disagrees).
fn pick(senses: Option<&Vec<Sense>>, lang: Option<Lang>) -> Option<u32> {
    let senses = senses?;
    match lang {
        Some(l) => senses.iter().find(|s| s.langs & l.bit() != 0),
        None => senses.first(),
    }
    .map(|s| s.concept)
}

/// Single words of a comma-separated lexicon list, without `:weight`, and whether each is a
/// prefix (`frustrat*`). Phrases are left out: the grouping reads words.
fn list_words(list: &str) -> impl Iterator<Item = (&str, bool)> {
    list.split(',').filter_map(|item| {
        let item = item.trim();
        let body = match item.rsplit_once(':') {
            Some((b, w)) if !b.is_empty() && w.parse::<f32>().is_ok() => b,
            _ => item,
        };
        let (body, prefix) = match body.strip_suffix('*') {
            Some(b) => (b, true),
            None => (body, false),
        };
        let word = !body.is_empty()
            && body
                .chars()
                .all(|c| crate::text::is_word_char(c) || c == '\'' || c == '-');
        // Prefixes shorter than four letters would swallow unrelated words.
        (word && (!prefix || body.chars().count() >= 4)).then_some((body, prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_parses_cleanly() {
        let lex = ConceptLexicon::global();
        assert!(lex.problems.is_empty(), "{:?}", lex.problems);
        assert!(lex.len() > 80, "{}", lex.len());
    }

    #[test]
    fn words_meet_across_languages() {
        let lex = ConceptLexicon::global();
        let seat = |w: &str, l: Lang| {
            let stem = stemmer(Some(l)).stem(w).into_owned();
            lex.word(w, &stem, Some(l)).map(|c| lex.name(c).to_string())
        };
        assert_eq!(seat("sædet", Lang::Da).as_deref(), Some("seat"));
        assert_eq!(seat("seats", Lang::En).as_deref(), Some("seat"));
        assert_eq!(seat("sedile", Lang::It).as_deref(), Some("seat"));
        assert_eq!(seat("rimborso", Lang::It).as_deref(), Some("refund"));
        assert_eq!(seat("refusion", Lang::Da).as_deref(), Some("refund"));
        // Danish "fly" is a flight; the sense is tied to the language.
        assert_eq!(seat("fly", Lang::Da).as_deref(), Some("flight"));
        assert_eq!(seat("vol", Lang::Da), None);
        let key = "steering wheel";
        assert_eq!(
            lex.phrase(key, Some(Lang::En)).map(|c| lex.name(c)),
            Some("steering_wheel")
        );
        assert!(lex.is_stop("please", Some(Lang::En)));
        assert!(lex.is_stop("og", Some(Lang::Da)));
        assert!(!lex.is_stop("og", Some(Lang::En)));
        assert!(lex.is_stop("frustrating", Some(Lang::En)));
        assert!(lex.is_stop("fuck", Some(Lang::En)));
        // Borrowed English care words are understood in other languages.
        let stem = stemmer(Some(Lang::Fr)).stem("iphone").into_owned();
        assert_eq!(lex.word("iphone", &stem, Some(Lang::Fr)), None);
        assert_eq!(lex.borrowed("iphone").map(|c| lex.name(c)), Some("phone"));
        assert!(lex.is_stop("car", Some(Lang::Fr)));
    }
}
