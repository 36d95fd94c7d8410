//! Promise detection: does an agent's reply commit the company to something?
//!
//! "Good point, we will add that in an upcoming release", "vi tilføjer det i næste
//! opdatering", "lo sistemeremo la prossima settimana": [`detect_promise`] reads the kind of
//! commitment ([`CommitmentKind`]), the words that make it (a byte range of the reply: the
//! promise's evidence), a confidence and, when the reply says when, a [`DueHint`]. Negations
//! ("we won't", "vi har ingen planer om"), hedges ("hopefully", "we'll try"), conditionals
//! ("DM us and we'll ..."), questions and the past tense ("we added that last year") are not
//! promises. "I'll pass it on to the team" is reported as [`CommitmentKind::PassedOn`]: the
//! customer was heard, but nothing was promised, so [`PromiseSettings`] does not propose it
//! unless a team asks for that.
//!
//! The customer's side of the loop: [`asks_to_be_told`] ("let me know when", "sig til når")
//! and [`detect_opt_out`] ("please don't notify me", "afmeld", "no grazie").
//!
//! Rules and phrase lists (`promises/phrases.txt`, compiled in) cover English, Danish,
//! Norwegian, Swedish, German, Dutch, French, Spanish, Portuguese and Italian. Pure functions,
//! no I/O.
//!
//! ```
//! use chrono::NaiveDate;
//! use earshot_analyze::promises::{detect_promise, CommitmentKind, DueHint};
//!
//! let reply = "Good point, we will add that in an upcoming release!";
//! let written_on = NaiveDate::from_ymd_opt(2017, 8, 19).unwrap();
//! let p = detect_promise(reply, Some("en"), written_on).unwrap();
//! assert_eq!(p.kind, CommitmentKind::Feature);
//! assert_eq!(p.due, Some(DueHint::Release(None)));
//! assert_eq!(p.evidence_text(reply), "we will add that in an upcoming release");
//! assert!(detect_promise("We have no plans to add that.", Some("en"), written_on).is_none());
//! ```

mod due;
mod lists;
mod words;

pub use due::DueHint;

use crate::lang::Lang;
use chrono::NaiveDate;
use earshot_core::feedback::PromiseKind;
use lists::{LangSet, List, Lists, Pattern, ALL_LANGS};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use words::{Clause, Doc, Word};

/// What a reply commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentKind {
    /// "We will add / build / support that."
    Feature,
    /// "We will fix that."
    Fix,
    /// "We will change how we ..."
    Policy,
    /// "We'll get back to you": owed to this customer, not to a release.
    FollowUp,
    /// "I'll pass it on to the team": heard, not promised.
    PassedOn,
}

impl CommitmentKind {
    pub const ALL: [CommitmentKind; 5] = [
        CommitmentKind::Feature,
        CommitmentKind::Fix,
        CommitmentKind::Policy,
        CommitmentKind::FollowUp,
        CommitmentKind::PassedOn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentKind::Feature => "feature",
            CommitmentKind::Fix => "fix",
            CommitmentKind::Policy => "policy",
            CommitmentKind::FollowUp => "follow_up",
            CommitmentKind::PassedOn => "passed_on",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        CommitmentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The ledger's kind of promise; `None` for feedback passed on (not a promise).
    pub fn promise_kind(self) -> Option<PromiseKind> {
        match self {
            CommitmentKind::Feature => Some(PromiseKind::Feature),
            CommitmentKind::Fix => Some(PromiseKind::Fix),
            CommitmentKind::Policy => Some(PromiseKind::Policy),
            CommitmentKind::FollowUp => Some(PromiseKind::FollowUp),
            CommitmentKind::PassedOn => None,
        }
    }

    /// A promise about the product or the company's ways, kept by a release.
    pub fn is_product_promise(self) -> bool {
        matches!(
            self,
            CommitmentKind::Feature | CommitmentKind::Fix | CommitmentKind::Policy
        )
    }

    /// Product promises outrank a follow-up, which outranks feedback passed on.
    fn rank(self) -> u8 {
        match self {
            CommitmentKind::Feature | CommitmentKind::Fix | CommitmentKind::Policy => 3,
            CommitmentKind::FollowUp => 2,
            CommitmentKind::PassedOn => 1,
        }
    }
}

/// A commitment read in a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromiseCandidate {
    pub kind: CommitmentKind,
    /// Byte range of the committing words in the reply (from the commitment to the end of its
    /// clause).
    pub evidence: Range<usize>,
    /// 0..1: how sure the rules are that this is a commitment of this kind.
    pub confidence: f32,
    pub due: Option<DueHint>,
}

impl PromiseCandidate {
    /// The evidence as written in `reply` (empty if `reply` is not the text it was read from).
    pub fn evidence_text<'a>(&self, reply: &'a str) -> &'a str {
        reply.get(self.evidence.clone()).unwrap_or("")
    }
}

/// Which detected commitments become proposed promises on the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PromiseSettings {
    /// Also propose "I'll pass it on to the team" (as a feature promise). Off by default: it
    /// commits to nothing.
    pub propose_passed_on: bool,
    /// Follow-ups ("we'll get back to you") are owed to one customer; propose them too.
    pub propose_follow_ups: bool,
    /// Candidates below this confidence are not proposed.
    pub min_confidence: f32,
}

impl Default for PromiseSettings {
    fn default() -> Self {
        PromiseSettings {
            propose_passed_on: false,
            propose_follow_ups: true,
            min_confidence: 0.5,
        }
    }
}

impl PromiseSettings {
    /// The kind of promise to propose for `candidate`, or `None` when it is not proposed.
    pub fn proposal(&self, candidate: &PromiseCandidate) -> Option<PromiseKind> {
        if candidate.confidence < self.min_confidence {
            return None;
        }
        match candidate.kind {
            CommitmentKind::PassedOn if self.propose_passed_on => Some(PromiseKind::Feature),
            CommitmentKind::FollowUp if !self.propose_follow_ups => None,
            k => k.promise_kind(),
        }
    }
}

/// The languages whose phrases apply: the declared or detected one plus English (care teams
/// mix English into every language), or all of them when the language is unknown.
fn lang_set(lang: Option<&str>) -> LangSet {
    match lang.and_then(Lang::from_code) {
        Some(l) => l.bit() | Lang::En.bit(),
        None => ALL_LANGS,
    }
}

fn parse(text: &str, langs: LangSet) -> Doc {
    let lists = Lists::global();
    Doc::new(text, &|w, comma| {
        lists.has_word(List::Contrast, langs, w, comma)
    })
}

/// How a commitment was found: its opener kind sets the base confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Commit,
    Progressive,
    Passive,
    Perfect,
    SelfContained,
}

/// A commitment found at one place, before modifiers are applied.
#[derive(Debug, Clone, Copy)]
struct Found {
    kind: CommitmentKind,
    via: Via,
    /// First word of the commitment (the opener).
    start: usize,
    /// Where the opener ends and the action starts/ends (words).
    opener_end: usize,
    action_start: usize,
    action_end: usize,
    weak: bool,
    needs_due: bool,
}

const ACTIONS: [(List, CommitmentKind); 5] = [
    (List::Feature, CommitmentKind::Feature),
    (List::Fix, CommitmentKind::Fix),
    (List::Policy, CommitmentKind::Policy),
    (List::Follow, CommitmentKind::FollowUp),
    (List::Passed, CommitmentKind::PassedOn),
];

const DONE: [(List, CommitmentKind); 5] = [
    (List::FeatureDone, CommitmentKind::Feature),
    (List::FixDone, CommitmentKind::Fix),
    (List::PolicyDone, CommitmentKind::Policy),
    (List::FollowDone, CommitmentKind::FollowUp),
    (List::PassedDone, CommitmentKind::PassedOn),
];

const SELF: [(List, CommitmentKind); 5] = [
    (List::SelfFeature, CommitmentKind::Feature),
    (List::SelfFix, CommitmentKind::Fix),
    (List::SelfPolicy, CommitmentKind::Policy),
    (List::SelfFollow, CommitmentKind::FollowUp),
    (List::SelfPassed, CommitmentKind::PassedOn),
];

/// Words allowed between an opener and its action ("we'll *be sure to* pass", "wir werden *das
/// im nächsten Update* hinzufügen").
const GAP: usize = 5;

/// The longest action of `lists` at word `at`.
fn action_at<'a>(
    lists: &'a Lists,
    table: &[(List, CommitmentKind)],
    langs: LangSet,
    words: &[Word],
    at: usize,
    end: usize,
) -> Option<(CommitmentKind, usize, &'a Pattern)> {
    let mut best: Option<(CommitmentKind, usize, &Pattern)> = None;
    for &(list, kind) in table {
        if let Some((e, p)) = lists.longest_at(list, langs, words, at, end) {
            if best.is_none_or(|(_, be, _)| e > be) {
                best = Some((kind, e, p));
            }
        }
    }
    best
}

/// What an opener may be followed by: which actions, how far away, and whether the action
/// must be a gerund ("we're *adding*").
struct OpenerRule {
    list: List,
    via: Via,
    actions: &'static [(List, CommitmentKind)],
    gap: usize,
    gerund: bool,
}

const OPENERS: [OpenerRule; 4] = [
    OpenerRule {
        list: List::Commit,
        via: Via::Commit,
        actions: &ACTIONS,
        gap: GAP,
        gerund: false,
    },
    OpenerRule {
        list: List::CommitIng,
        via: Via::Progressive,
        actions: &ACTIONS,
        gap: 1,
        gerund: true,
    },
    OpenerRule {
        list: List::Passive,
        via: Via::Passive,
        actions: &DONE,
        // German and Dutch put the participle last: "wird in den nächsten Tagen behoben".
        gap: GAP,
        gerund: false,
    },
    OpenerRule {
        list: List::Perfect,
        via: Via::Perfect,
        actions: PASSED_DONE,
        gap: 2,
        gerund: false,
    },
];

const PASSED_DONE: &[(List, CommitmentKind)] = &[(List::PassedDone, CommitmentKind::PassedOn)];

/// An action found after an opener.
struct Action {
    kind: CommitmentKind,
    start: usize,
    end: usize,
    weak: bool,
    needs_due: bool,
}

/// The first action of `rule` within its gap after word `from`; a weak one ("make sure")
/// yields to a later, stronger action in the clause.
fn find_action(
    lists: &Lists,
    rule: &OpenerRule,
    langs: LangSet,
    words: &[Word],
    from: usize,
    end: usize,
) -> Option<Action> {
    let last = (from + rule.gap).min(end.saturating_sub(1));
    for a in from..=last {
        if a >= end {
            break;
        }
        if rule.gerund && !words[a].text.ends_with("ing") {
            continue;
        }
        let Some((kind, e, p)) = action_at(lists, rule.actions, langs, words, a, end) else {
            continue;
        };
        if p.weak {
            for b in e..end {
                if let Some((k2, e2, p2)) = action_at(lists, &ACTIONS, langs, words, b, end) {
                    if !p2.weak {
                        return Some(Action {
                            kind: k2,
                            start: b,
                            end: e2,
                            weak: false,
                            needs_due: p2.needs_due,
                        });
                    }
                }
            }
        }
        return Some(Action {
            kind,
            start: a,
            end: e,
            weak: p.weak,
            needs_due: p.needs_due,
        });
    }
    None
}

/// Every commitment that starts at word `i` of `clause`.
fn found_at(
    lists: &Lists,
    langs: LangSet,
    words: &[Word],
    clause: &Clause,
    i: usize,
    out: &mut Vec<Found>,
) {
    let end = clause.end;
    for (list, kind) in SELF {
        if let Some((e, p)) = lists.longest_at(list, langs, words, i, end) {
            out.push(Found {
                kind,
                via: Via::SelfContained,
                start: i,
                opener_end: i,
                action_start: i,
                action_end: e,
                weak: p.weak,
                needs_due: p.needs_due,
            });
        }
    }
    for rule in &OPENERS {
        let Some((j, _)) = lists.longest_at(rule.list, langs, words, i, end) else {
            continue;
        };
        if let Some(action) = find_action(lists, rule, langs, words, j, end) {
            out.push(Found {
                kind: action.kind,
                via: rule.via,
                start: i,
                opener_end: j,
                action_start: action.start,
                action_end: action.end,
                weak: action.weak,
                needs_due: action.needs_due,
            });
        }
    }
}

/// Up to `n` words before `i` in the clause, stopping at a comma.
fn window_before(words: &[Word], clause: &Clause, i: usize, n: usize) -> usize {
    let mut s = i;
    for _ in 0..n {
        if s == clause.start || words[s].comma_before {
            break;
        }
        s -= 1;
    }
    s
}

struct Judged {
    kind: CommitmentKind,
    confidence: f32,
    start: usize,
    clause: usize,
}

/// Applies negation, hedges, conditions, tense and the kind adjustments to a found
/// commitment; `None` when it does not commit.
fn judge(
    lists: &Lists,
    langs: LangSet,
    doc: &Doc,
    ci: usize,
    f: &Found,
    written_on: NaiveDate,
) -> Option<Judged> {
    let words = &doc.words;
    let clause = &doc.clauses[ci];
    let (_, _, question) = doc.sentences[clause.sentence];
    if question {
        return None;
    }
    let gap = (f.opener_end, f.action_start);
    let self_contained = f.via == Via::SelfContained;
    // Romance languages negate before the verb ("no vamos a", "non lo aggiungeremo").
    let neg_from = window_before(words, clause, f.start, if self_contained { 2 } else { 1 });
    if lists.any_in(List::Negation, langs, words, neg_from, f.start)
        || lists.any_in(List::Negation, langs, words, gap.0, gap.1)
    {
        return None;
    }
    let hedge_from = window_before(words, clause, f.start, 3);
    if lists.any_in(List::HedgeBefore, langs, words, hedge_from, f.start)
        || lists.any_in(List::Hedge, langs, words, gap.0, gap.1)
    {
        return None;
    }
    // "Could you DM us your order number? We'll take a look": the commitment waits on the
    // customer, in this sentence or the one before.
    let (sentence_start, _, _) = doc.sentences[clause.sentence];
    let (prev_start, prev_end) = doc.previous_sentence(clause.sentence);
    let cond_from = if prev_end == sentence_start {
        prev_start
    } else {
        sentence_start
    };
    if lists.any_in(List::Condition, langs, words, cond_from, f.start)
        || lists.any_in(List::ConditionAfter, langs, words, f.action_end, clause.end)
    {
        return None;
    }
    let mut kind = f.kind;
    // "We'll take a look! Can you DM us your email?": the look waits on the answer. Feedback
    // passed on waits on nothing.
    if kind != CommitmentKind::PassedOn {
        if let Some(&(next_start, next_end, _)) = doc.sentences.get(clause.sentence + 1) {
            if lists.any_in(List::RequestAfter, langs, words, next_start, next_end) {
                return None;
            }
        }
    }
    if kind != CommitmentKind::PassedOn {
        let past_from = if self_contained {
            window_before(words, clause, f.start, 2)
        } else {
            gap.0
        };
        let past_to = if self_contained { f.start } else { gap.1 };
        if lists.any_in(List::Past, langs, words, past_from, past_to) {
            return None;
        }
    }
    let due_in_clause = due::find(words, clause.start, clause.end, langs, written_on).is_some();
    // "We're launching in new countries" describes; "we're adding it in the next update"
    // commits: the present progressive needs a time.
    if (f.needs_due || f.via == Via::Progressive) && !due_in_clause {
        return None;
    }
    // "We'll fix your booking" or "your concern ... will be addressed": owed to this customer.
    let individual = is_individual(lists, langs, words, f.action_end, clause.end)
        || (f.via == Via::Passive
            && names_the_customer(lists, langs, words, clause.start, f.start));
    if kind.is_product_promise() && individual {
        kind = CommitmentKind::FollowUp;
    }
    if matches!(kind, CommitmentKind::Feature | CommitmentKind::Fix)
        && lists.any_in(List::PolicyObject, langs, words, f.action_start, clause.end)
    {
        kind = CommitmentKind::Policy;
    }
    let base: f32 = match f.via {
        Via::Commit => 0.8,
        Via::Progressive => 0.75,
        Via::SelfContained => 0.75,
        Via::Passive => 0.7,
        Via::Perfect => 0.6,
    };
    let mut confidence = base - 0.03 * (gap.1 - gap.0) as f32;
    if due_in_clause {
        confidence += 0.1;
    }
    if f.weak {
        confidence -= 0.1;
    }
    Some(Judged {
        kind,
        confidence: confidence.clamp(0.2, 0.97),
        start: f.start,
        clause: ci,
    })
}

/// The subject before a passive names the customer's own thing ("your concern").
fn names_the_customer(
    lists: &Lists,
    langs: LangSet,
    words: &[Word],
    from: usize,
    to: usize,
) -> bool {
    lists
        .patterns(List::Individual, langs)
        .filter(|p| p.len() > 1)
        .any(|p| (from..to).any(|i| p.match_at(words, i, to).is_some()))
}

/// "We'll get this sorted for you", "we'll fix your booking": owed to this customer.
fn is_individual(
    lists: &Lists,
    langs: LangSet,
    words: &[Word],
    action_end: usize,
    end: usize,
) -> bool {
    for p in lists.patterns(List::Individual, langs) {
        let reach = if p.len() == 1 { 1 } else { 4 };
        for at in action_end..(action_end + reach).min(end) {
            if p.match_at(words, at, end).is_some() {
                return true;
            }
        }
    }
    false
}

/// Reads the strongest commitment in an agent's reply. `lang` is the reply's language code
/// (`None`: unknown, every language's phrases apply); `written_on` is the day the reply was
/// written, which relative and day-month hints are counted from.
pub fn detect_promise(
    text: &str,
    lang: Option<&str>,
    written_on: NaiveDate,
) -> Option<PromiseCandidate> {
    let lists = Lists::global();
    let langs = lang_set(lang);
    let doc = parse(text, langs);
    let mut found = Vec::new();
    let mut best: Option<Judged> = None;
    for (ci, clause) in doc.clauses.iter().enumerate() {
        for i in clause.start..clause.end {
            found.clear();
            found_at(lists, langs, &doc.words, clause, i, &mut found);
            for f in &found {
                let Some(j) = judge(lists, langs, &doc, ci, f, written_on) else {
                    continue;
                };
                let better = match &best {
                    None => true,
                    Some(b) => (j.kind.rank(), j.confidence) > (b.kind.rank(), b.confidence),
                };
                if better {
                    best = Some(j);
                }
            }
        }
    }
    let best = best?;
    let clause = doc.clauses[best.clause];
    let (s_start, s_end, _) = doc.sentences[clause.sentence];
    let next = doc.sentences.get(clause.sentence + 1).copied();
    let due = due::find(&doc.words, clause.start, clause.end, langs, written_on)
        .or_else(|| due::find(&doc.words, s_start, s_end, langs, written_on))
        .or_else(|| next.and_then(|(a, b, _)| due::find(&doc.words, a, b, langs, written_on)))
        .map(|(h, _)| h);
    let start = doc.words[best.start].start;
    let end = doc.words[clause.end - 1].end;
    Some(PromiseCandidate {
        kind: best.kind,
        evidence: start..end,
        confidence: best.confidence,
        due,
    })
}

/// Words a short opt-out may end with ("no thanks!", "stop please").
const POLITE: &[&str] = &[
    "thanks", "thank", "you", "please", "pls", "tak", "takk", "tack", "danke", "grazie", "merci",
    "gracias", "obrigado", "obrigada", "bedankt", "dank", "je", "u", "ok", "okay",
];

/// A customer saying they do not want to hear back ("please don't notify me", "stop",
/// "afmeld", "no grazie").
pub fn detect_opt_out(text: &str, lang: Option<&str>) -> bool {
    let lists = Lists::global();
    let langs = lang_set(lang);
    let doc = parse(text, langs);
    let words = &doc.words;
    if lists.any_in(List::OptOut, langs, words, 0, words.len()) {
        return true;
    }
    // "Stop" or "no thanks" as the whole answer; inside a longer post it means something else.
    if words.is_empty() || words.len() > 5 {
        return false;
    }
    lists
        .longest_at(List::OptOutShort, langs, words, 0, words.len())
        .is_some_and(|(e, _)| words[e..].iter().all(|w| POLITE.contains(&w.text.as_str())))
}

/// A customer asking to be told when something happens ("let me know when", "sig til når",
/// "fammi sapere"). An opt-out wins over an ask.
pub fn asks_to_be_told(text: &str, lang: Option<&str>) -> bool {
    if detect_opt_out(text, lang) {
        return false;
    }
    let lists = Lists::global();
    let langs = lang_set(lang);
    let doc = parse(text, langs);
    lists.any_in(List::AskTold, langs, &doc.words, 0, doc.words.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
