//! The phrase lists of `phrases.txt`, parsed once per process, and the word-pattern matcher
//! they are written for.

use super::words::Word;
use crate::lang::Lang;
use std::sync::LazyLock;

/// The lists of `phrases.txt`; see the file's header for what each one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    Commit,
    CommitIng,
    Passive,
    Perfect,
    Feature,
    Fix,
    Policy,
    Follow,
    Passed,
    FeatureDone,
    FixDone,
    PolicyDone,
    FollowDone,
    PassedDone,
    SelfFeature,
    SelfFix,
    SelfPolicy,
    SelfFollow,
    SelfPassed,
    Negation,
    HedgeBefore,
    Hedge,
    Condition,
    ConditionAfter,
    RequestAfter,
    Past,
    Contrast,
    PolicyObject,
    Individual,
    OptOut,
    OptOutShort,
    AskTold,
}

const LIST_COUNT: usize = 32;

impl List {
    fn parse(name: &str) -> Option<List> {
        Some(match name {
            "commit" => List::Commit,
            "commit_ing" => List::CommitIng,
            "passive" => List::Passive,
            "perfect" => List::Perfect,
            "feature" => List::Feature,
            "fix" => List::Fix,
            "policy" => List::Policy,
            "follow" => List::Follow,
            "passed" => List::Passed,
            "feature_done" => List::FeatureDone,
            "fix_done" => List::FixDone,
            "policy_done" => List::PolicyDone,
            "follow_done" => List::FollowDone,
            "passed_done" => List::PassedDone,
            "self_feature" => List::SelfFeature,
            "self_fix" => List::SelfFix,
            "self_policy" => List::SelfPolicy,
            "self_follow" => List::SelfFollow,
            "self_passed" => List::SelfPassed,
            "negation" => List::Negation,
            "hedge_before" => List::HedgeBefore,
            "hedge" => List::Hedge,
            "condition" => List::Condition,
            "condition_after" => List::ConditionAfter,
            "request_after" => List::RequestAfter,
            "past" => List::Past,
            "contrast" => List::Contrast,
            "policy_object" => List::PolicyObject,
            "individual" => List::Individual,
            "opt_out" => List::OptOut,
            "opt_out_short" => List::OptOutShort,
            "ask_told" => List::AskTold,
            _ => return None,
        })
    }
}

/// One word position of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    Word(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Alt(Vec<Elem>),
    Any,
    /// Up to this many words.
    Gap(u8),
}

impl Elem {
    fn parse(token: &str) -> Elem {
        match token {
            "_" => Elem::Any,
            ".." => Elem::Gap(3),
            "..." => Elem::Gap(6),
            t if t.contains('/') && t.len() > 1 => Elem::Alt(
                t.split('/')
                    .filter(|a| !a.is_empty())
                    .map(Elem::parse)
                    .collect(),
            ),
            t if t.len() > 1 && t.ends_with('*') => Elem::Prefix(t[..t.len() - 1].into()),
            t if t.len() > 1 && t.starts_with('*') => Elem::Suffix(t[1..].into()),
            t => Elem::Word(t.into()),
        }
    }

    fn matches(&self, word: &str) -> bool {
        match self {
            Elem::Word(w) => **w == *word,
            Elem::Prefix(p) => word.starts_with(&**p),
            Elem::Suffix(s) => word.ends_with(&**s),
            Elem::Alt(alts) => alts.iter().any(|a| a.matches(word)),
            Elem::Any => true,
            Elem::Gap(_) => false,
        }
    }
}

/// A phrase of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    elems: Vec<Elem>,
    /// A later, stronger action in the clause wins over this one.
    pub weak: bool,
    /// Counts only when the clause names a due date or release.
    pub needs_due: bool,
}

impl Pattern {
    fn parse(phrase: &str) -> Option<Pattern> {
        let mut p = phrase.trim();
        let mut weak = false;
        let mut needs_due = false;
        loop {
            if let Some(rest) = p.strip_prefix('~') {
                weak = true;
                p = rest.trim_start();
            } else if let Some(rest) = p.strip_prefix('?') {
                needs_due = true;
                p = rest.trim_start();
            } else {
                break;
            }
        }
        let elems: Vec<Elem> = p.split_whitespace().map(Elem::parse).collect();
        // A pattern must start and end on a word, or it would match everywhere.
        let word_ends = |e: Option<&Elem>| e.is_some_and(|e| !matches!(e, Elem::Gap(_)));
        (word_ends(elems.first()) && word_ends(elems.last())).then_some(Pattern {
            elems,
            weak,
            needs_due,
        })
    }

    /// Whether the pattern matches `words` from index `at`, never past `end`; the end of the
    /// shortest match.
    pub fn match_at(&self, words: &[Word], at: usize, end: usize) -> Option<usize> {
        match_elems(&self.elems, words, at, end.min(words.len()))
    }

    /// Number of words without gaps (a longer phrase is more specific).
    pub fn len(&self) -> usize {
        self.elems.len()
    }
}

fn match_elems(elems: &[Elem], words: &[Word], at: usize, end: usize) -> Option<usize> {
    let Some((first, rest)) = elems.split_first() else {
        return Some(at);
    };
    if let Elem::Gap(n) = first {
        for k in 0..=*n as usize {
            if at + k > end {
                break;
            }
            if let Some(e) = match_elems(rest, words, at + k, end) {
                return Some(e);
            }
        }
        return None;
    }
    if at < end && first.matches(&words[at].text) {
        match_elems(rest, words, at + 1, end)
    } else {
        None
    }
}

/// Bit set of [`Lang::bit`].
pub(crate) type LangSet = u16;

pub(crate) const ALL_LANGS: LangSet = (1 << 10) - 1;

/// Every list, per language.
pub(crate) struct Lists {
    by_lang: Vec<Vec<Vec<Pattern>>>,
    /// Lines that could not be read (a unit test keeps this at zero).
    pub problems: Vec<String>,
}

pub(crate) const PHRASES_TXT: &str = include_str!("phrases.txt");

static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let lists = Lists::parse(PHRASES_TXT);
    for problem in &lists.problems {
        tracing::warn!(%problem, "promise phrase list line skipped");
    }
    lists
});

impl Lists {
    pub fn global() -> &'static Lists {
        &LISTS
    }

    pub fn parse(text: &str) -> Lists {
        let mut by_lang = vec![vec![Vec::new(); LIST_COUNT]; Lang::ALL.len()];
        let mut problems = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((head, body)) = line.split_once(':') else {
                problems.push(format!("line {}: no `:`", n + 1));
                continue;
            };
            let mut head = head.split_whitespace();
            let (Some(name), Some(code), None) = (head.next(), head.next(), head.next()) else {
                problems.push(format!("line {}: expected `list lang:`", n + 1));
                continue;
            };
            let (Some(list), Some(lang)) = (List::parse(name), Lang::from_code(code)) else {
                problems.push(format!("line {}: unknown list or language", n + 1));
                continue;
            };
            for phrase in body.split('|') {
                if phrase.trim().is_empty() {
                    continue;
                }
                match Pattern::parse(phrase) {
                    Some(p) => by_lang[lang.index()][list as usize].push(p),
                    None => problems.push(format!("line {}: bad phrase {phrase:?}", n + 1)),
                }
            }
        }
        Lists { by_lang, problems }
    }

    /// The patterns of `list` in the languages of `langs`.
    pub fn patterns(&self, list: List, langs: LangSet) -> impl Iterator<Item = &Pattern> + '_ {
        Lang::ALL
            .iter()
            .filter(move |l| langs & l.bit() != 0)
            .flat_map(move |l| self.by_lang[l.index()][list as usize].iter())
    }

    /// The longest match of `list` starting at word `at`: (end, pattern).
    pub fn longest_at(
        &self,
        list: List,
        langs: LangSet,
        words: &[Word],
        at: usize,
        end: usize,
    ) -> Option<(usize, &Pattern)> {
        let mut best: Option<(usize, &Pattern)> = None;
        for p in self.patterns(list, langs) {
            if let Some(e) = p.match_at(words, at, end) {
                if best.is_none_or(|(be, bp)| e > be || (e == be && p.len() > bp.len())) {
                    best = Some((e, p));
                }
            }
        }
        best
    }

    /// Whether any phrase of `list` occurs in words `from..to` (it may not run past `to`).
    pub fn any_in(
        &self,
        list: List,
        langs: LangSet,
        words: &[Word],
        from: usize,
        to: usize,
    ) -> bool {
        (from..to).any(|i| {
            self.patterns(list, langs)
                .any(|p| p.match_at(words, i, to).is_some())
        })
    }

    /// Whether one word is in `list` as a one-word phrase; a weak (`~`) phrase only counts
    /// when `strong_context` (a contrast word after a comma).
    pub fn has_word(&self, list: List, langs: LangSet, word: &str, strong_context: bool) -> bool {
        self.patterns(list, langs)
            .any(|p| p.elems.len() == 1 && p.elems[0].matches(word) && (!p.weak || strong_context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promises::words::Doc;

    #[test]
    fn the_shipped_phrases_parse_cleanly() {
        let lists = Lists::global();
        assert!(lists.problems.is_empty(), "{:?}", lists.problems);
        for l in Lang::ALL {
            for list in [List::Commit, List::Negation, List::OptOut, List::AskTold] {
                assert!(
                    lists.patterns(list, l.bit()).next().is_some(),
                    "{list:?} is empty for {}",
                    l.code()
                );
            }
        }
    }

    #[test]
    fn gaps_prefixes_and_alternatives() {
        let lists = Lists::parse(
            "passed en: pass _ on | share .. with\nfeature de: wir fügen ... hinzu | ergänz*/hinzufüg*",
        );
        assert!(lists.problems.is_empty(), "{:?}", lists.problems);
        let doc = Doc::new(
            "we'll pass it on and share your kind words with them",
            &|_, _| false,
        );
        let en = Lang::En.bit();
        assert_eq!(
            lists
                .longest_at(List::Passed, en, &doc.words, 1, 11)
                .map(|m| m.0),
            Some(4)
        );
        assert_eq!(
            lists
                .longest_at(List::Passed, en, &doc.words, 5, 11)
                .map(|m| m.0),
            Some(10)
        );
        let doc = Doc::new("wir fügen das im nächsten update hinzu", &|_, _| false);
        let de = Lang::De.bit();
        assert_eq!(
            lists
                .longest_at(List::Feature, de, &doc.words, 0, 7)
                .map(|m| m.0),
            Some(7)
        );
        let bad = Lists::parse("commit en: .. we will\nnope en: x\ncommit xx: y");
        assert_eq!(bad.problems.len(), 3, "{:?}", bad.problems);
    }
}
