//! The built-in multilingual lexicon: every word list of `data` compiled into one
//! Aho-Corasick automaton, built once per process and shared by all analyzers.
//!
//! One scan of the cleaned text finds every cue (stopwords, sentiment words, negators, intent
//! and urgency phrases, emoji): whole words by a hash lookup, phrases, prefixes and emoji by a
//! [`Trie`] walked from each word start and each symbol; `Lexicon::resolve` then keeps the
//! entries that belong to the post's language and respect word boundaries.

pub(crate) mod data;

use crate::lang::Lang;
use crate::safety;
use crate::text::{decode_at, is_word_char, Prepared, Token};
use crate::trie::Trie;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What a lexicon entry signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cue {
    Stop,
    Positive,
    Negative,
    Negator,
    Intensifier,
    Contrast,
    FeatureRequest,
    Question,
    QuestionStart,
    Problem,
    Thanks,
    Urgent,
}

impl Cue {
    pub const ALL: [Cue; 12] = [
        Cue::Stop,
        Cue::Positive,
        Cue::Negative,
        Cue::Negator,
        Cue::Intensifier,
        Cue::Contrast,
        Cue::FeatureRequest,
        Cue::Question,
        Cue::QuestionStart,
        Cue::Problem,
        Cue::Thanks,
        Cue::Urgent,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Cue::Stop => "stopword",
            Cue::Positive => "positive",
            Cue::Negative => "negative",
            Cue::Negator => "negator",
            Cue::Intensifier => "intensifier",
            Cue::Contrast => "contrast",
            Cue::FeatureRequest => "feature_request",
            Cue::Question => "question",
            Cue::QuestionStart => "question_start",
            Cue::Problem => "problem",
            Cue::Thanks => "thanks",
            Cue::Urgent => "urgent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    pub cue: Cue,
    pub weight: f32,
    /// Bit set of [`Lang::bit`]; all bits for universal entries (emoji).
    pub langs: u16,
    /// Matches at a word start only (`irriter*`), not a whole word.
    pub prefix: bool,
}

pub(crate) const ALL_LANGS: u16 = (1 << 10) - 1;
/// The pseudo-language of [`data::FOREIGN_STOPWORDS`]; its vote is at index [`FOREIGN_VOTE`].
pub(crate) const FOREIGN: u16 = 1 << 10;
pub(crate) const FOREIGN_VOTE: usize = 10;

/// A pattern occurrence that passed the left word boundary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHit {
    pub pattern: u32,
    pub start: u32,
    pub end: u32,
    /// A word character follows the match (only prefix entries may then apply).
    pub word_follows: bool,
}

/// An accepted cue in a post.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub cue: Cue,
    pub weight: f32,
    /// Byte range in [`crate::text::Prepared::clean`].
    pub start: u32,
    pub end: u32,
    /// Index of the token the match starts in (or the next token, for emoji between words).
    pub token: u32,
}

/// The items of a comma-separated list: body, weight if one is given, prefix or whole word.
fn items(list: &'static str) -> impl Iterator<Item = (&'static str, Option<f32>, bool)> {
    list.split(',').filter_map(|item| {
        let item = item.trim();
        if item.is_empty() {
            return None;
        }
        let (body, weight) = match item.rsplit_once(':') {
            Some((b, w)) if !b.is_empty() => match w.parse::<f32>() {
                Ok(w) if w.is_finite() => (b, Some(w)),
                _ => (item, None),
            },
            _ => (item, None),
        };
        Some(match body.strip_suffix('*') {
            Some(b) if !b.is_empty() => (b, weight, true),
            _ => (body, weight, false),
        })
    })
}

/// Every word and phrase of the hand-written lists of a language earshot reads (stopwords,
/// sentiment, questions, problems, thanks, ...), with its language: everyday
/// customer-care vocabulary, which the language-ID builder also learns from. Prefix items
/// (`irriter*`) come without their star.
pub fn vocabulary() -> impl Iterator<Item = (Lang, &'static str)> {
    data::LANGS.iter().flat_map(|d| {
        d.lists()
            .into_iter()
            .flat_map(items)
            .map(move |(body, _, _)| (d.lang, body))
    })
}

pub(crate) struct Lexicon {
    /// Every pattern (trie id = pattern id), walked from word starts and symbols, then the
    /// safety phrases that need a word start (trie id `safety_from + i`: the `i`-th of
    /// [`safety::anchored_phrases`]).
    trie: Trie,
    safety_from: u32,
    /// Per pattern: a whole single word (most of the lexicon), which only counts as a whole
    /// run of word characters ("e" and "de" inside other words do not); the others are
    /// phrases, prefixes, emoji and words with apostrophes.
    whole_word: Vec<bool>,
    /// The patterns (the tests match them the old way too).
    #[cfg(test)]
    patterns: Vec<String>,
    /// Per pattern: its entries in `entries`.
    ranges: Vec<(u32, u32)>,
    entries: Vec<Entry>,
    /// Per pattern: last char is a word char (so a whole-word entry needs a boundary after).
    needs_right: Vec<bool>,
    /// Per pattern: length in bytes, for the English fallback rule.
    lens: Vec<u32>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::build);

impl Lexicon {
    pub fn global() -> &'static Lexicon {
        &LEXICON
    }

    fn build() -> Lexicon {
        let mut map: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut add = |list: &'static str, cue: Cue, default_weight: f32, langs: u16| {
            for (body, weight, prefix) in items(list) {
                let weight = weight.unwrap_or(default_weight);
                let pattern = body.to_lowercase();
                let entry = Entry {
                    cue,
                    weight,
                    langs,
                    prefix,
                };
                let list = map.entry(pattern).or_default();
                match list.iter_mut().find(|e| {
                    e.cue == entry.cue && e.weight == entry.weight && e.prefix == entry.prefix
                }) {
                    Some(e) => e.langs |= langs,
                    None => list.push(entry),
                }
            }
        };
        for d in data::LANGS {
            let l = d.lang.bit();
            add(d.stopwords, Cue::Stop, 1.0, l);
            add(d.positive, Cue::Positive, 2.0, l);
            add(d.negative, Cue::Negative, 2.0, l);
            add(d.negators, Cue::Negator, 1.0, l);
            add(d.intensifiers, Cue::Intensifier, 1.3, l);
            add(d.contrast, Cue::Contrast, 1.0, l);
            add(d.feature_request, Cue::FeatureRequest, 1.0, l);
            add(d.question, Cue::Question, 1.0, l);
            add(d.question_start, Cue::QuestionStart, 1.0, l);
            add(d.problem, Cue::Problem, 1.0, l);
            add(d.thanks, Cue::Thanks, 1.5, l);
            add(d.urgent, Cue::Urgent, 0.3, l);
        }
        add(data::FOREIGN_STOPWORDS, Cue::Stop, 1.0, FOREIGN);
        add(data::UNIVERSAL.positive, Cue::Positive, 2.0, ALL_LANGS);
        add(data::UNIVERSAL.negative, Cue::Negative, 2.0, ALL_LANGS);

        let mut patterns: Vec<(String, Vec<Entry>)> = map.into_iter().collect();
        patterns.sort_by(|a, b| a.0.cmp(&b.0));
        let mut ranges = Vec::with_capacity(patterns.len());
        let mut entries = Vec::new();
        let mut needs_right = Vec::with_capacity(patterns.len());
        let mut lens = Vec::with_capacity(patterns.len());
        for (p, es) in &patterns {
            let start = entries.len() as u32;
            // Within a pattern, most specific first: single-language entries before shared ones.
            let mut es = es.clone();
            es.sort_by_key(|e| (e.cue, e.langs.count_ones()));
            entries.extend(es);
            ranges.push((start, entries.len() as u32));
            needs_right.push(p.chars().next_back().is_some_and(is_word_char));
            lens.push(p.len() as u32);
        }
        let whole_word = patterns
            .iter()
            .map(|(p, es)| p.chars().all(is_word_char) && es.iter().all(|e| !e.prefix))
            .collect();
        let texts: Vec<&str> = patterns.iter().map(|(p, _)| p.as_str()).collect();
        // The safety phrases that need a word start share the walk (ids after ours).
        let both: Vec<&str> = texts
            .iter()
            .copied()
            .chain(safety::anchored_phrases().iter().map(String::as_str))
            .collect();
        Lexicon {
            trie: Trie::new(&both),
            safety_from: texts.len() as u32,
            whole_word,
            #[cfg(test)]
            patterns: texts.iter().map(|p| p.to_string()).collect(),
            ranges,
            entries,
            needs_right,
            lens,
        }
    }

    #[cfg(test)]
    pub fn pattern_count(&self) -> usize {
        self.ranges.len()
    }

    pub(crate) fn entries_of(&self, pattern: u32) -> &[Entry] {
        match self.ranges.get(pattern as usize) {
            Some(&(a, b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Every occurrence of a lexicon pattern in `clean` that starts at a word boundary: the
    /// phrases in the order an overlapping automaton gives them (by end, then start), then
    /// the whole words left to right. (The analyzer scans with safety; this serves tests and
    /// the bench.)
    #[cfg(any(test, feature = "bench"))]
    pub(crate) fn scan(&self, p: &Prepared, out: &mut Vec<RawHit>) {
        self.scan_with_safety(p, out, &mut Vec::new());
    }

    /// [`Lexicon::scan`], and the anchored safety phrases found in the same walk into
    /// `safety` (see [`crate::safety::assess_scanned`]).
    pub(crate) fn scan_with_safety(
        &self,
        p: &Prepared,
        out: &mut Vec<RawHit>,
        safety: &mut Vec<safety::Found>,
    ) {
        let clean = p.clean.as_str();
        let bytes = clean.as_bytes();
        let first = out.len();
        // A pattern that starts with a word character needs a word boundary before it, so
        // only word starts and the characters between words can start a match.
        for &i in &p.starts {
            let i = i as usize;
            let Some(&b) = bytes.get(i) else {
                continue;
            };
            if self.trie.starts_with(b) {
                self.trie.matches_at(bytes, i, |id, end| {
                    if id >= self.safety_from {
                        safety.push(safety::Found {
                            phrase: id - self.safety_from,
                            start: i as u32,
                            end: end as u32,
                        });
                        return;
                    }
                    let whole = self.whole_word.get(id as usize).copied().unwrap_or(false);
                    let continues = word_continues(clean, end);
                    if whole && continues {
                        // A whole word is the whole run of word characters, or nothing.
                        return;
                    }
                    out.push(RawHit {
                        pattern: id,
                        start: i as u32,
                        end: end as u32,
                        word_follows: !whole && self.needs_right[id as usize] && continues,
                    });
                });
            }
        }
        // Phrases by (end, start), then the whole words by start: one pattern per span, so
        // the keys are unique.
        out[first..].sort_unstable_by_key(|h| {
            if self.whole_word.get(h.pattern as usize) == Some(&true) {
                (1, h.start, 0)
            } else {
                (0, h.end, h.start)
            }
        });
    }

    /// Stopword votes per language ([`Lang::index`]); a word shared by n languages gives each
    /// 1/n. Words from the other lists that only one language has count half.
    pub(crate) fn votes(&self, raw: &[RawHit]) -> [f32; 11] {
        let mut v = [0f32; 11];
        for h in raw {
            for e in self.entries_of(h.pattern) {
                if h.word_follows && !e.prefix {
                    continue;
                }
                if e.langs == ALL_LANGS {
                    continue;
                }
                let n = e.langs.count_ones() as f32;
                let w = match e.cue {
                    Cue::Stop => 1.0 / n,
                    _ if n == 1.0 => 0.5,
                    _ => continue,
                };
                for l in Lang::ALL {
                    if e.langs & l.bit() != 0 {
                        v[l.index()] += w;
                    }
                }
                if e.langs & FOREIGN != 0 {
                    v[FOREIGN_VOTE] += w;
                }
            }
        }
        v
    }

    /// Turns raw matches into cues for a post in `lang` (`None`: any language).
    pub(crate) fn resolve(
        &self,
        raw: &[RawHit],
        lang: Option<Lang>,
        clean: &str,
        tokens: &[Token],
        out: &mut Vec<Hit>,
    ) {
        for h in raw {
            let entries = self.entries_of(h.pattern);
            let mut i = 0;
            while i < entries.len() {
                let cue = entries[i].cue;
                let mut chosen: Option<(Entry, f32)> = None;
                while i < entries.len() && entries[i].cue == cue {
                    let e = entries[i];
                    i += 1;
                    if cue == Cue::Stop || (h.word_follows && !e.prefix) {
                        continue;
                    }
                    let factor = match lang {
                        None => 1.0,
                        Some(l) if e.langs & l.bit() != 0 => 1.0,
                        // English words leak into every language's tweets ("fail", "love");
                        // short ones are too often words of the post's own language.
                        Some(_)
                            if e.langs & Lang::En.bit() != 0
                                && self.lens[h.pattern as usize] >= 4
                                && matches!(
                                    cue,
                                    Cue::Positive | Cue::Negative | Cue::Problem | Cue::Thanks
                                ) =>
                        {
                            0.7
                        }
                        Some(_) => continue,
                    };
                    let better = match chosen {
                        None => true,
                        Some((_, f)) => factor > f,
                    };
                    if better {
                        chosen = Some((e, factor));
                    }
                }
                if let Some((e, factor)) = chosen {
                    let token = token_at(tokens, h.start);
                    if e.cue == Cue::QuestionStart && !opens_sentence(clean, tokens, token, h.start)
                    {
                        continue;
                    }
                    out.push(Hit {
                        cue: e.cue,
                        weight: e.weight * factor,
                        start: h.start,
                        end: h.end,
                        token,
                    });
                }
            }
        }
        drop_contained(out);
    }
}

/// A word goes on at byte `end`: a word character, or an apostrophe between letters
/// ("won't" is one word; "l'app" still starts a new word after the apostrophe, for French and
/// Italian elisions, because only the right side is checked this way).
#[inline]
fn word_continues(clean: &str, end: usize) -> bool {
    if end >= clean.len() {
        return false;
    }
    let (next, len) = decode_at(clean, end);
    is_word_char(next) || (next == '\'' && is_word_char(decode_at(clean, end + len).0))
}

/// FNV-1a: for maps keyed by short words, where SipHash's setup dominates.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildFnv;

pub(crate) struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The token containing byte `pos`, or the next one.
pub(crate) fn token_at(tokens: &[Token], pos: u32) -> u32 {
    let i = tokens.partition_point(|t| t.start <= pos);
    if i > 0 && tokens[i - 1].end > pos {
        (i - 1) as u32
    } else {
        i as u32
    }
}

/// The word at `token` starts the post or a new sentence.
fn opens_sentence(clean: &str, tokens: &[Token], token: u32, start: u32) -> bool {
    if tokens.get(token as usize).map(|t| t.start) != Some(start) {
        return false;
    }
    if token == 0 {
        return true;
    }
    let before = clean.get(..start as usize).unwrap_or("").trim_end();
    matches!(
        before.chars().next_back(),
        Some('.' | '!' | '?' | ':' | '\n' | '¿')
    )
}

/// Cues that compete: a match inside a longer match of the same family is dropped, so
/// "thank you so much" is not also "thank you", and "can you help" is a question, not the
/// problem word "help".
fn family(c: Cue) -> u8 {
    match c {
        Cue::Positive | Cue::Negative => 1,
        Cue::FeatureRequest | Cue::Question | Cue::QuestionStart | Cue::Problem | Cue::Thanks => 2,
        other => 10 + other as u8,
    }
}

/// Drops matches inside longer matches of the same [`family`], and leaves the hits sorted
/// by position (left to right). Linear after the sort, so long posts stay cheap.
fn drop_contained(hits: &mut Vec<Hit>) {
    // By start, longest first among equal starts: a container comes before what it contains.
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    const FAMILIES: usize = 10 + Cue::ALL.len();
    // Per family: the furthest end among hits that start strictly earlier, and the end of
    // the first (longest) hit of the current start group.
    let mut end_before = [0u32; FAMILIES];
    let mut group_start = [u32::MAX; FAMILIES];
    let mut group_end = [0u32; FAMILIES];
    hits.retain(|h| {
        let f = (family(h.cue) as usize).min(FAMILIES - 1);
        if group_start[f] != h.start {
            if group_start[f] != u32::MAX {
                end_before[f] = end_before[f].max(group_end[f]);
            }
            group_start[f] = h.start;
            group_end[f] = h.end;
        }
        let inside_earlier = end_before[f] >= h.end && end_before[f] > 0;
        let inside_longer_same_start = group_end[f] > h.end;
        !(inside_earlier || inside_longer_same_start)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Prepared;
    use crate::text::{char_before, word_char_at};

    fn cues(text: &str, lang: Option<Lang>) -> Vec<(Cue, String)> {
        let p = Prepared::new(text);
        let lex = Lexicon::global();
        let mut raw = Vec::new();
        lex.scan(&p, &mut raw);
        let mut hits = Vec::new();
        lex.resolve(&raw, lang, &p.clean, &p.tokens, &mut hits);
        hits.iter()
            .map(|h| (h.cue, p.clean[h.start as usize..h.end as usize].to_string()))
            .collect()
    }

    #[test]
    fn builds_and_matches_whole_words() {
        assert!(Lexicon::global().pattern_count() > 1000);
        let c = cues("I love it, not a lover of badness", Some(Lang::En));
        assert!(c.contains(&(Cue::Positive, "love".into())));
        assert!(!c.iter().any(|(_, w)| w == "bad"));
    }

    #[test]
    fn prefix_entries_match_inflections() {
        let c = cues("Det er virkelig irriterende", Some(Lang::Da));
        assert!(c.contains(&(Cue::Negative, "irriter".into())));
        assert!(c.contains(&(Cue::Intensifier, "virkelig".into())));
    }

    #[test]
    fn language_filter_and_english_fallback() {
        // "bad" is Danish for bath: not negative in a Danish post.
        let c = cues("jeg tager et bad", Some(Lang::Da));
        assert!(!c.iter().any(|(cue, _)| *cue == Cue::Negative));
        // but a long English word still counts in a Danish post
        let c = cues("det er bare awful", Some(Lang::Da));
        assert!(c
            .iter()
            .any(|(cue, w)| *cue == Cue::Negative && w == "awful"));
    }

    #[test]
    fn longer_match_wins_and_emoji_need_no_boundary() {
        let c = cues("tusind tak😍", Some(Lang::Da));
        let thanks: Vec<_> = c.iter().filter(|(cue, _)| *cue == Cue::Thanks).collect();
        assert_eq!(thanks.len(), 1);
        assert!(c.iter().any(|(cue, w)| *cue == Cue::Positive && w == "😍"));
    }

    /// The scan as it was: one overlapping Aho-Corasick pass over every byte for the phrases,
    /// then a hash lookup of every maximal run of word characters.
    fn old_scan(lex: &Lexicon, clean: &str) -> Vec<(u32, u32, u32, bool)> {
        use aho_corasick::{AhoCorasick, MatchKind};
        let (mut phrases, mut phrase_ids) = (Vec::new(), Vec::new());
        let mut words = HashMap::new();
        for (id, p) in lex.patterns.iter().enumerate() {
            if lex.whole_word[id] {
                words.insert(p.as_str(), id as u32);
            } else {
                phrases.push(p.as_str());
                phrase_ids.push(id as u32);
            }
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&phrases)
            .expect("automaton");
        let mut out = Vec::new();
        for m in ac.find_overlapping_iter(clean) {
            let id = phrase_ids[m.pattern().as_usize()];
            let needs_left = phrases[m.pattern().as_usize()]
                .chars()
                .next()
                .is_some_and(is_word_char);
            if needs_left && is_word_char(char_before(clean, m.start())) {
                continue;
            }
            out.push((
                id,
                m.start() as u32,
                m.end() as u32,
                lex.needs_right[id as usize] && word_continues(clean, m.end()),
            ));
        }
        let bytes = clean.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let (word, len) = word_char_at(clean, i);
            if !word {
                i += len;
                continue;
            }
            let start = i;
            i += len;
            while i < bytes.len() {
                let (word, len) = word_char_at(clean, i);
                if !word {
                    break;
                }
                i += len;
            }
            if word_continues(clean, i) {
                continue;
            }
            if let Some(&id) = clean.get(start..i).and_then(|w| words.get(w)) {
                out.push((id, start as u32, i as u32, false));
            }
        }
        out
    }

    fn new_scan(lex: &Lexicon, p: &Prepared) -> Vec<(u32, u32, u32, bool)> {
        let mut raw = Vec::new();
        lex.scan(p, &mut raw);
        raw.iter()
            .map(|h| (h.pattern, h.start, h.end, h.word_follows))
            .collect()
    }

    /// The trie finds exactly what the automaton and the word lookups found, in the same
    /// order, on every pinned post (real posts in eleven languages) and on dense text.
    #[test]
    fn trie_scan_equals_the_old_scan() {
        let lex = Lexicon::global();
        let mut texts: Vec<String> = include_str!("../../tests/pinned/analyses.jsonl")
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["text"].as_str().map(str::to_string))
            .collect();
        texts.push(lex.patterns.join(" "));
        texts.push(lex.patterns.join("'"));
        texts.push(lex.patterns.concat());
        let mut hits = 0;
        for t in &texts {
            let p = Prepared::new(t);
            let want = old_scan(lex, &p.clean);
            assert_eq!(new_scan(lex, &p), want, "{t:?}");
            hits += want.len();
        }
        assert!(hits > 2000, "{hits}");
    }

    proptest::proptest! {
        #[test]
        fn trie_scan_equals_the_old_scan_on_noise(text in "[a-zA-Z0-9 '’?!.,:;()😂😍👍🙏éøæåäöü_-]{0,60}") {
            let lex = Lexicon::global();
            let p = Prepared::new(&text);
            proptest::prop_assert_eq!(new_scan(lex, &p), old_scan(lex, &p.clean));
        }
    }

    #[test]
    fn question_start_only_opens_a_sentence() {
        let c = cues("when is the next train", Some(Lang::En));
        assert!(c.iter().any(|(cue, _)| *cue == Cue::QuestionStart));
        let c = cues("I know how it works", Some(Lang::En));
        assert!(!c.iter().any(|(cue, _)| *cue == Cue::QuestionStart));
    }
}
