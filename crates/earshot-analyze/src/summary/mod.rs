//! Extractive summaries, offline: the sentences customers wrote, picked, never rewritten.
//!
//! - [`thread`]: for a long conversation, the customer's central points (the sentences most
//!   like the rest of what they wrote, asks weighed up, near-repeats left out) in thread order,
//!   the ask that is still open, and what the brand's replies committed to (the promise
//!   detector of [`crate::promises`]).
//! - [`request`]: for a product request, what is asked (the most central ask among all the
//!   askers' posts), since when, by how many customers, and what was promised on it.
//!
//! Centrality is the mean TF-IDF cosine (words and character 3-grams, as drafts use) of a
//! sentence to the others: with one sentence there is nothing to weigh, and it is the summary.

use crate::drafts::vectors::{self, dot, Sparse, Vocab};
use crate::promises::{detect_promise, CommitmentKind};
use chrono::{DateTime, NaiveDate, Utc};
use earshot_core::feedback::Promise;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A post as a summary reads it.
#[derive(Debug, Clone, Copy)]
pub struct SummaryPost<'a> {
    pub id: i64,
    /// The author's handle: askers are counted by it.
    pub author: &'a str,
    pub from_brand: bool,
    pub text: &'a str,
    pub at: DateTime<Utc>,
    pub lang: Option<&'a str>,
}

impl<'a> SummaryPost<'a> {
    /// A stored post as the summary reads it.
    pub fn of(p: &'a earshot_core::Post) -> Self {
        SummaryPost {
            id: p.id,
            author: &p.author.handle,
            from_brand: p.from_brand,
            text: &p.text,
            at: p.created_at,
            lang: Some(p.analysis.language.language.code()),
        }
    }
}

/// A sentence as written, and the post it is from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excerpt {
    pub post: i64,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// A commitment read in a brand reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    pub post: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub evidence: String,
    /// The day it is due, when the reply says (or the ledger holds).
    pub due_on: Option<NaiveDate>,
    /// The promise's state on the ledger (`proposed`, `confirmed`, `kept`, ...) when known.
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadSummary {
    pub posts: usize,
    pub customer_posts: usize,
    pub since: Option<DateTime<Utc>>,
    /// The customer's central ask.
    pub ask: Option<Excerpt>,
    /// Up to the asked number of central customer sentences, in thread order.
    pub points: Vec<Excerpt>,
    /// What the brand's replies committed to, oldest first.
    pub promised: Vec<Commitment>,
    /// The last word is the customer's: an answer is owed.
    pub waiting: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSummary {
    /// The most central ask, as one customer wrote it.
    pub ask: Option<Excerpt>,
    pub since: Option<DateTime<Utc>>,
    pub latest: Option<DateTime<Utc>>,
    /// Distinct customers who asked.
    pub askers: usize,
    pub posts: usize,
    pub languages: BTreeMap<String, usize>,
    pub promised: Vec<Commitment>,
}

/// A thread at least this long gets a summary on the page.
pub const LONG_THREAD: usize = 6;

/// Sentences closer than this to a chosen one repeat it.
const REPEAT: f32 = 0.6;

/// Fewer words than this is not a point ("thanks!", "any update?" stays as an ask only).
const MIN_WORDS: usize = 3;

/// Words that make a sentence an ask without a question mark, in the languages earshot serves.
const ASK_CUES: &[&str] = &[
    "please",
    "pls",
    "can",
    "could",
    "would",
    "need",
    "want",
    "add",
    "fix",
    "help",
    "why",
    "how",
    "when",
    "venligst",
    "kan",
    "bitte",
    "können",
    "per",
    "favore",
    "potete",
    "por",
    "favor",
    "pueden",
    "s'il",
    "pouvez",
    "graag",
    "kunnen",
    "snälla",
    "vennligst",
];

fn is_ask(text: &str, words: &[String]) -> bool {
    text.contains('?')
        || text.contains('？')
        || words.iter().any(|w| ASK_CUES.contains(&w.as_str()))
}

/// Splits at sentence ends and line breaks; leading @mentions go.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            out.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
        let ends = matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？');
        if ends && chars.peek().is_none_or(|n| n.is_whitespace()) {
            out.push(std::mem::take(&mut cur));
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| {
            let mut s = s.trim();
            while s.starts_with('@') {
                s = s
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, rest)| rest)
                    .trim_start();
            }
            s.to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

struct Candidate {
    excerpt: Excerpt,
    ask: bool,
    long_enough: bool,
    words: Sparse,
    grams: Sparse,
}

/// Sentences of the given posts with their vectors.
fn candidates(posts: &[&SummaryPost<'_>]) -> Vec<Candidate> {
    let mut raw = Vec::new();
    for p in posts {
        for s in sentences(p.text) {
            let w = vectors::words(&s);
            if w.is_empty() {
                continue;
            }
            raw.push((p.id, p.at, s, w));
        }
    }
    let word_docs: Vec<Vec<String>> = raw.iter().map(|r| r.3.clone()).collect();
    let gram_docs: Vec<Vec<String>> = word_docs.iter().map(|w| vectors::grams(w)).collect();
    let (wv, gv) = (Vocab::learn(&word_docs), Vocab::learn(&gram_docs));
    raw.into_iter()
        .zip(gram_docs)
        .map(|((post, at, text, w), g)| Candidate {
            ask: is_ask(&text, &w),
            long_enough: w.len() >= MIN_WORDS,
            words: wv.vector(&w),
            grams: gv.vector(&g),
            excerpt: Excerpt { post, at, text },
        })
        .collect()
}

fn similarity(a: &Candidate, b: &Candidate) -> f32 {
    0.5 * dot(&a.words, &b.words) + 0.5 * dot(&a.grams, &b.grams)
}

/// Mean similarity of each sentence to the others (1 for a lone sentence).
fn centrality(c: &[Candidate]) -> Vec<f32> {
    if c.len() == 1 {
        return vec![1.0];
    }
    (0..c.len())
        .map(|i| {
            let sum: f32 = (0..c.len())
                .filter(|&j| j != i)
                .map(|j| similarity(&c[i], &c[j]))
                .sum();
            sum / (c.len() - 1) as f32
        })
        .collect()
}

/// The most central ask; without any ask, the most central sentence.
fn central_ask(c: &[Candidate], score: &[f32]) -> Option<usize> {
    let best = |want_ask: bool| {
        (0..c.len())
            .filter(|&i| !want_ask || c[i].ask)
            .max_by(|&a, &b| score[a].total_cmp(&score[b]).then(b.cmp(&a)))
    };
    best(true).or_else(|| best(false))
}

fn commitment_of(p: &SummaryPost<'_>) -> Option<Commitment> {
    let found = detect_promise(p.text, p.lang, p.at.date_naive())?;
    if found.kind == CommitmentKind::PassedOn {
        return None;
    }
    Some(Commitment {
        post: p.id,
        at: p.at,
        kind: found.kind.as_str().to_string(),
        evidence: found.evidence_text(p.text).to_string(),
        due_on: found.due.and_then(|d| d.due_on(p.at.date_naive())),
        state: None,
    })
}

/// A summary of a conversation: up to `max_points` central customer sentences.
pub fn thread(posts: &[SummaryPost<'_>], max_points: usize) -> ThreadSummary {
    let customer: Vec<&SummaryPost<'_>> = posts.iter().filter(|p| !p.from_brand).collect();
    let c = candidates(&customer);
    let score: Vec<f32> = centrality(&c)
        .into_iter()
        .zip(&c)
        .map(|(s, k)| if k.ask { s * 1.5 } else { s })
        .collect();
    let ask = central_ask(&c, &score);
    let mut order: Vec<usize> = (0..c.len()).filter(|&i| c[i].long_enough).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        if chosen.len() >= max_points {
            break;
        }
        if chosen.iter().all(|&j| similarity(&c[i], &c[j]) < REPEAT) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    let mut promised: Vec<Commitment> = posts
        .iter()
        .filter(|p| p.from_brand)
        .filter_map(commitment_of)
        .collect();
    promised.sort_by_key(|p| p.at);
    ThreadSummary {
        posts: posts.len(),
        customer_posts: customer.len(),
        since: customer.iter().map(|p| p.at).min(),
        ask: ask.map(|i| c[i].excerpt.clone()),
        points: chosen.into_iter().map(|i| c[i].excerpt.clone()).collect(),
        promised,
        waiting: posts
            .iter()
            .max_by_key(|p| p.at)
            .is_some_and(|p| !p.from_brand),
    }
}

/// A summary of a request from its askers' posts and the promises on its ledger.
pub fn request(asks: &[SummaryPost<'_>], promises: &[Promise]) -> RequestSummary {
    let posts: Vec<&SummaryPost<'_>> = asks.iter().filter(|p| !p.from_brand).collect();
    let c = candidates(&posts);
    let score = centrality(&c);
    let ask = central_ask(&c, &score).map(|i| c[i].excerpt.clone());
    let mut languages = BTreeMap::new();
    for p in &posts {
        *languages
            .entry(
                p.lang
                    .filter(|l| !l.is_empty())
                    .unwrap_or("und")
                    .to_string(),
            )
            .or_insert(0) += 1;
    }
    let mut promised: Vec<Commitment> = promises
        .iter()
        .map(|p| Commitment {
            post: p.reply_id.unwrap_or(0),
            at: p.made_at,
            kind: p.kind.as_str().to_string(),
            evidence: p.evidence.clone(),
            due_on: p.due_on,
            state: Some(p.state.as_str().to_string()),
        })
        .collect();
    promised.sort_by_key(|p| p.at);
    RequestSummary {
        ask,
        since: posts.iter().map(|p| p.at).min(),
        latest: posts.iter().map(|p| p.at).max(),
        askers: posts
            .iter()
            .map(|p| p.author.to_lowercase())
            .collect::<BTreeSet<_>>()
            .len(),
        posts: posts.len(),
        languages,
        promised,
    }
}

#[cfg(test)]
mod tests;
