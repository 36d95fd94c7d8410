//! Safety: does a post report harm? Someone hurt or in danger (an accident, an injury, a fire,
//! brakes that fail or brake by themselves, a child at risk), or their account, data or money
//! at risk (a hacked account, a data breach, fraud, unauthorised charges). Triage puts these
//! first, whatever else the post says.
//!
//! The words live in `lexicon.txt` (eleven languages, one list a line), compiled once into two
//! byte tries (phrases that need a word start, and the few `~` ones that may start inside a
//! word) and matched in one pass over the prepared text. Each harm phrase has
//! a weight; a post is a safety report when its phrases add up to [`THRESHOLD`]
//! (`1 − Π(1 − w)`, so two weak cues make one strong one). What keeps the signal honest:
//! - **figurative uses** ("killing it", "this deal is fire", "the app crashed", "by accident",
//!   "you're a fraud") cancel every cue they overlap;
//! - **negation**: a cue at most two words after "not", "no one", "ikke", "nicht", "sin"...
//!   in the same clause does not count ("no one was hurt");
//! - **conditionals**: the same, three words after "if", "hvis", "falls", "si"...;
//! - **weak fire words** ("smoke", "sparks", "melted", "on fire") count as a fire only near a
//!   thing that can burn ("the charger", "my car", "batteriet");
//! - **false friends**: a word marked `!` is read only in its own language (English "fire" is
//!   Norwegian "four"; Danish "brand" is English "brand").
//!
//! Children named beside any harm make the report a child at risk too ("scared my kids").
//! Every cue that counted, and every harm word that did not and why, is in the evidence.

use crate::text::{is_word_char, Prepared};
use crate::trie::Trie;
use earshot_core::analysis::{Evidence, HarmKind, SafetyFinding};
use std::collections::HashMap;
use std::sync::LazyLock;

/// The score at which cues make a safety report.
pub const THRESHOLD: f32 = 0.6;
/// Negators reach this many words ahead ("no one **was seriously** injured").
const NEGATION_REACH: usize = 2;
/// Conditionals reach this many words ahead ("if **the battery ever** catches fire").
const HYPOTHETICAL_REACH: usize = 3;
/// A weak fire word counts as a fire within this many words of a thing that burns.
const OBJECT_REACH: usize = 4;
/// What a thing that burns adds to a weak fire word.
const OBJECT_BOOST: f32 = 0.35;
/// Fire words weighing less than this need a thing that burns nearby.
const WEAK_FIRE: f32 = 0.55;
/// What a child named beside harm adds.
const CHILD_BOOST: f32 = 0.2;

const LEXICON_TXT: &str = include_str!("lexicon.txt");

#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    Cue(HarmKind),
    Object,
    Children,
    Figurative,
    Negator,
    Hypothetical,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    role: Role,
    lang: [u8; 2],
    weight: f32,
    /// Read only in posts in `lang` (`word!`).
    own_language_only: bool,
    /// Negation does not cancel it (`word^`): the phrase is an allegation whose usual form is
    /// negative ("they don't care about the safety of children").
    holds_under_negation: bool,
}

#[derive(Debug, Default)]
struct Pattern {
    entries: Vec<Entry>,
    /// `~word`: may be glued to the word before it.
    left_open: bool,
    /// `word*`: the word may go on.
    right_open: bool,
}

struct Lexicon {
    /// Phrases that start at a word boundary (trie id → pattern id in `anchored_ids`).
    anchored: Trie,
    anchored_ids: Vec<u32>,
    /// Those phrases, in trie id order: the lexicon's trie holds them too, so that one walk
    /// from each word start finds both lists' phrases ([`assess_scanned`]).
    anchored_phrases: Vec<String>,
    /// `~` phrases, which may start inside a word (Arabic clitics, compounds).
    open: Trie,
    open_ids: Vec<u32>,
    patterns: Vec<Pattern>,
    /// The phrase of each pattern (the tests match them the old way too).
    #[cfg(test)]
    phrases: Vec<String>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon::parse(LEXICON_TXT));

/// A line of `lexicon.txt` that does not parse (the built-in file is checked by a test).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("safety lexicon line {line}: {problem}")]
pub struct LexiconError {
    pub line: usize,
    pub problem: String,
}

fn role_of(kind: &str) -> Option<Role> {
    Some(match kind {
        "object" => Role::Object,
        "children" => Role::Children,
        "figurative" => Role::Figurative,
        "negator" => Role::Negator,
        "hypothetical" => Role::Hypothetical,
        other => Role::Cue(other.parse::<HarmKind>().ok()?),
    })
}

/// Parses the lexicon text into (phrase, left_open, right_open, entry) rows.
fn parse_rows(text: &str) -> Result<Vec<(String, bool, bool, Entry)>, LexiconError> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |problem: &str| LexiconError {
            line: n + 1,
            problem: problem.to_string(),
        };
        let (head, list) = line
            .split_once(':')
            .ok_or_else(|| err("expected `KIND LANG [WEIGHT]: phrases`"))?;
        let mut head = head.split_whitespace();
        let kind = head.next().ok_or_else(|| err("no kind"))?;
        let role = role_of(kind).ok_or_else(|| err(&format!("unknown kind {kind:?}")))?;
        let lang = head.next().ok_or_else(|| err("no language"))?;
        let lang: [u8; 2] = lang
            .as_bytes()
            .try_into()
            .map_err(|_| err(&format!("language {lang:?} is not a two-letter code")))?;
        let default_weight = match head.next() {
            Some(w) => w
                .parse::<f32>()
                .map_err(|_| err(&format!("weight {w:?} is not a number")))?,
            None if matches!(role, Role::Cue(_)) => return Err(err("a harm list needs a weight")),
            None => 1.0,
        };
        for item in list.split(',') {
            let mut item = item.trim();
            if item.is_empty() {
                continue;
            }
            let mut weight = default_weight;
            if let Some((body, w)) = item.rsplit_once(':') {
                if let Ok(w) = w.parse::<f32>() {
                    weight = w;
                    item = body;
                }
            }
            let (mut own_language_only, mut right_open, mut holds_under_negation) =
                (false, false, false);
            while let Some(last) = item.chars().next_back() {
                match last {
                    '!' => own_language_only = true,
                    '*' => right_open = true,
                    '^' => holds_under_negation = true,
                    _ => break,
                }
                item = &item[..item.len() - 1];
            }
            let (item, left_open) = match item.strip_prefix('~') {
                Some(b) => (b, true),
                None => (item, false),
            };
            if item.is_empty() {
                return Err(err("an empty phrase"));
            }
            if !(0.0..=1.0).contains(&weight) {
                return Err(err(&format!("weight {weight} of {item:?} is not in 0..1")));
            }
            rows.push((
                item.to_lowercase(),
                left_open,
                right_open,
                Entry {
                    role,
                    lang,
                    weight,
                    own_language_only,
                    holds_under_negation,
                },
            ));
        }
    }
    Ok(rows)
}

impl Lexicon {
    fn parse(text: &str) -> Lexicon {
        // The built-in file is checked by `the_built_in_lexicon_parses`; a bad line here would
        // only drop that line's phrases.
        let rows = parse_rows(text).unwrap_or_default();
        let mut index: HashMap<(String, bool, bool), usize> = HashMap::new();
        let mut phrases: Vec<String> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        for (phrase, left_open, right_open, entry) in rows {
            let key = (phrase.clone(), left_open, right_open);
            let id = *index.entry(key).or_insert_with(|| {
                phrases.push(phrase);
                patterns.push(Pattern {
                    entries: Vec::new(),
                    left_open,
                    right_open,
                });
                patterns.len() - 1
            });
            if let Some(p) = patterns.get_mut(id) {
                p.entries.push(entry);
            }
        }
        let (mut anchored, mut anchored_ids, mut open, mut open_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (id, (phrase, p)) in phrases.iter().zip(&patterns).enumerate() {
            if p.left_open {
                open.push(phrase.as_str());
                open_ids.push(id as u32);
            } else {
                anchored.push(phrase.as_str());
                anchored_ids.push(id as u32);
            }
        }
        Lexicon {
            anchored: Trie::new(&anchored),
            anchored_phrases: anchored.iter().map(|p| p.to_string()).collect(),
            anchored_ids,
            open: Trie::new(&open),
            open_ids,
            patterns,
            #[cfg(test)]
            phrases,
        }
    }
}

/// The entry of a matched pattern that applies to a post in `lang`, for each role it has.
/// A phrase found in the text (before a right-open one is stretched to its word's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Match {
    pattern: u32,
    start: usize,
    end: usize,
}

impl Lexicon {
    /// Every phrase occurrence that respects its word boundaries, in the order an overlapping
    /// automaton reports them (by end, then start, then pattern).
    fn matches(&self, p: &Prepared) -> Vec<Match> {
        let bytes = p.clean.as_bytes();
        let mut anchored = Vec::new();
        // A phrase that starts with a word character needs a word start...
        for &i in &p.starts {
            let i = i as usize;
            if bytes.get(i).is_some_and(|b| self.anchored.starts_with(*b)) {
                self.anchored.matches_at(bytes, i, |t, end| {
                    anchored.push(Found {
                        phrase: t,
                        start: i as u32,
                        end: end as u32,
                    })
                });
            }
        }
        self.matches_with(p, &anchored)
    }

    /// [`Lexicon::matches`], given what a walk of the anchored phrases from every word start
    /// found (in any order).
    fn matches_with(&self, p: &Prepared, anchored: &[Found]) -> Vec<Match> {
        let clean = p.clean.as_str();
        let bytes = clean.as_bytes();
        let mut out = Vec::new();
        let take = |out: &mut Vec<Match>, ids: &[u32], t: u32, start: usize, end: usize| {
            let Some(&pattern) = ids.get(t as usize) else {
                return;
            };
            let Some(p) = self.patterns.get(pattern as usize) else {
                return;
            };
            // A phrase ending in a word character ends at a word boundary unless it is open
            // to the right.
            if !p.right_open
                && is_word_char(char_before(clean, end).unwrap_or(' '))
                && char_at(clean, end).is_some_and(is_word_char)
            {
                return;
            }
            out.push(Match {
                pattern,
                start,
                end,
            });
        };
        for f in anchored {
            take(
                &mut out,
                &self.anchored_ids,
                f.phrase,
                f.start as usize,
                f.end as usize,
            );
        }
        // ...unless it is open to the left (a continuation byte starts no phrase, so every
        // byte can be tried).
        for (i, &b) in bytes.iter().enumerate() {
            if self.open.starts_with(b) {
                self.open
                    .matches_at(bytes, i, |t, end| take(&mut out, &self.open_ids, t, i, end));
            }
        }
        // Unique keys (a phrase once per start and end), so the order found does not matter.
        out.sort_unstable_by_key(|m| (m.end, m.start, m.pattern));
        out
    }
}

/// An anchored safety phrase found in a post's clean text: its index in
/// [`anchored_phrases`] and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub phrase: u32,
    pub start: u32,
    pub end: u32,
}

/// The safety phrases that need a word start, in the order [`Found::phrase`] counts them.
pub(crate) fn anchored_phrases() -> &'static [String] {
    &LEXICON.anchored_phrases
}

fn applicable(pattern: &Pattern, lang: [u8; 2], out: &mut Vec<Entry>) {
    out.clear();
    for e in &pattern.entries {
        if e.own_language_only && e.lang != lang {
            continue;
        }
        // One entry per role: the post's own language first, then the heaviest.
        match out.iter_mut().find(|o| o.role == e.role) {
            Some(o) => {
                let better = (e.lang == lang && o.lang != lang)
                    || ((e.lang == lang) == (o.lang == lang) && e.weight > o.weight);
                if better {
                    *o = *e;
                }
            }
            None => out.push(*e),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// Index of the first and last token the span touches.
    first: usize,
    last: usize,
}

#[derive(Debug, Clone, Copy)]
struct Cue {
    kind: HarmKind,
    weight: f32,
    span: Span,
    holds_under_negation: bool,
}

/// Index of the token containing or following byte `at`.
fn token_at(p: &Prepared, at: usize) -> usize {
    p.tokens.partition_point(|t| (t.end as usize) <= at)
}

/// Whether a clause ends between bytes `from` and `to` ("no. the car caught fire").
fn clause_break(clean: &str, from: usize, to: usize) -> bool {
    clean
        .get(from..to)
        .is_some_and(|s| s.contains(['.', '!', '?', ';', ',', '\n', '(', ')', ':']))
}

fn char_before(s: &str, at: usize) -> Option<char> {
    s.get(..at)?.chars().next_back()
}

fn char_at(s: &str, at: usize) -> Option<char> {
    s.get(at..)?.chars().next()
}

/// Reads a prepared post in language `lang` (an ISO 639-1 code; `und` when unknown).
pub fn assess(p: &Prepared, lang: &str) -> SafetyFinding {
    let lex = &*LEXICON;
    assess_matches(p, lang, lex.matches(p))
}

/// [`assess`], given the anchored phrases a walk from every word start of `p` found (the
/// analyzer's lexicon scan finds them in the same walk as its own words).
pub(crate) fn assess_scanned(p: &Prepared, lang: &str, anchored: &[Found]) -> SafetyFinding {
    let lex = &*LEXICON;
    assess_matches(p, lang, lex.matches_with(p, anchored))
}

fn assess_matches(p: &Prepared, lang: &str, matches: Vec<Match>) -> SafetyFinding {
    let lex = &*LEXICON;
    let clean = p.clean.as_str();
    let lang: [u8; 2] = lang.as_bytes().try_into().unwrap_or(*b"??");
    let mut cues: Vec<Cue> = Vec::new();
    let mut objects: Vec<Span> = Vec::new();
    let mut children: Vec<Span> = Vec::new();
    let mut figurative: Vec<Span> = Vec::new();
    let mut blockers: Vec<(Span, bool)> = Vec::new(); // (span, is_negator)
    let mut entries = Vec::new();
    for m in matches {
        let Some(pattern) = lex.patterns.get(m.pattern as usize) else {
            continue;
        };
        let (start, mut end) = (m.start, m.end);
        if pattern.right_open {
            // The evidence names the whole word ("perigoso", not "perigos").
            while let Some(c) = char_at(clean, end).filter(|c| is_word_char(*c)) {
                end += c.len_utf8();
            }
        }
        applicable(pattern, lang, &mut entries);
        if entries.is_empty() {
            continue;
        }
        let first = token_at(p, start);
        let last = token_at(p, end.saturating_sub(1)).max(first);
        let span = Span {
            start,
            end,
            first,
            last,
        };
        for e in &entries {
            match e.role {
                Role::Cue(kind) => cues.push(Cue {
                    kind,
                    weight: e.weight,
                    span,
                    holds_under_negation: e.holds_under_negation,
                }),
                Role::Object => objects.push(span),
                Role::Children => children.push(span),
                Role::Figurative => figurative.push(span),
                Role::Negator => blockers.push((span, true)),
                Role::Hypothetical => blockers.push((span, false)),
            }
        }
    }
    if cues.is_empty() {
        return SafetyFinding::default();
    }
    let text_of = |s: &Span| clean.get(s.start..s.end).unwrap_or("").to_string();
    let mut evidence = Vec::new();

    // A cue inside a longer one ("fire" in "caught fire") is the longer one's.
    let all = cues.clone();
    cues.retain(|c| {
        !all.iter().any(|o| {
            o.span.start <= c.span.start
                && c.span.end <= o.span.end
                && (o.span.end - o.span.start) > (c.span.end - c.span.start)
        })
    });
    cues.sort_by_key(|c| (c.span.start, c.span.end));
    cues.dedup_by(|a, b| {
        a.span.start == b.span.start && a.span.end == b.span.end && a.kind == b.kind
    });

    let mut counted: Vec<(Cue, String)> = Vec::new();
    for c in cues {
        // A figurative phrase cancels the cues it overlaps, unless a longer cue holds it
        // ("is this a scam" is a question about a scam; "is a scam" alone an insult).
        let holds = |f: &Span| c.span.start <= f.start && f.end <= c.span.end;
        if let Some(f) = figurative
            .iter()
            .find(|f| f.start < c.span.end && c.span.start < f.end && !holds(f))
        {
            evidence.push(Evidence::new("safety:figurative", text_of(f), 0.0));
            continue;
        }
        let blocked = blockers.iter().find(|(b, negator)| {
            if *negator && c.holds_under_negation {
                return false;
            }
            let reach = if *negator {
                NEGATION_REACH
            } else {
                HYPOTHETICAL_REACH
            };
            b.end <= c.span.start
                && b.last < c.span.first
                && c.span.first - b.last - 1 <= reach
                && !clause_break(clean, b.end, c.span.start)
        });
        if let Some((b, negator)) = blocked {
            let rule = if *negator {
                "safety:negated"
            } else {
                "safety:hypothetical"
            };
            evidence.push(Evidence::new(
                rule,
                clean.get(b.start..c.span.end).unwrap_or("").to_string(),
                0.0,
            ));
            continue;
        }
        let mut weight = c.weight;
        let mut text = text_of(&c.span);
        if c.kind == HarmKind::Fire && weight < WEAK_FIRE {
            let near = objects.iter().find(|o| {
                let gap = if o.last < c.span.first {
                    c.span.first - o.last
                } else {
                    o.first.saturating_sub(c.span.last)
                };
                gap <= OBJECT_REACH && (o.end <= c.span.start || o.start >= c.span.end)
            });
            match near {
                Some(o) => {
                    weight = (weight + OBJECT_BOOST).min(1.0);
                    text = format!("{text} ({})", text_of(o));
                }
                None => {
                    // "smoke" or "fire" with nothing that burns nearby: a weak hint only.
                    weight *= 0.5;
                }
            }
        }
        counted.push((Cue { weight, ..c }, text));
    }
    if counted.is_empty() {
        return SafetyFinding {
            evidence,
            ..SafetyFinding::default()
        };
    }
    // The same words twice say it once.
    counted.sort_by(|a, b| b.0.weight.total_cmp(&a.0.weight));
    let mut seen: Vec<&str> = Vec::new();
    let mut keep = 1.0f32;
    let mut by_kind: Vec<(HarmKind, f32)> = Vec::new();
    for (c, text) in &counted {
        if seen.contains(&text.as_str()) {
            continue;
        }
        seen.push(text.as_str());
        keep *= 1.0 - c.weight.clamp(0.0, 1.0);
        match by_kind.iter_mut().find(|(k, _)| *k == c.kind) {
            Some((_, w)) => *w = w.max(c.weight),
            None => by_kind.push((c.kind, c.weight)),
        }
        evidence.push(Evidence::new(
            crate::text::concat(&["safety:", c.kind.as_str()]),
            text.clone(),
            c.weight,
        ));
    }
    if let Some(child) = children.first() {
        keep *= 1.0 - CHILD_BOOST;
        if !by_kind.iter().any(|(k, _)| *k == HarmKind::Child) {
            by_kind.push((HarmKind::Child, CHILD_BOOST));
        }
        evidence.push(Evidence::new("safety:child", text_of(child), CHILD_BOOST));
    }
    let score = (1.0 - keep).clamp(0.0, 1.0);
    by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
    let harm = score >= THRESHOLD;
    SafetyFinding {
        harm,
        score,
        kinds: if harm {
            by_kind.into_iter().map(|(k, _)| k).collect()
        } else {
            Vec::new()
        },
        evidence,
    }
}

/// [`assess`] on raw text (tests, the lab).
pub fn assess_text(text: &str, lang: &str) -> SafetyFinding {
    assess(&Prepared::new(text), lang)
}

#[cfg(test)]
mod tests;
