//! First drafts from the brand's own past answers, offline.
//!
//! A [`DraftIndex`] holds the answers the brand has given, each with the customer's words it
//! answered. For a new customer post, [`DraftIndex::draft`] finds the past posts most like it
//! (TF-IDF cosine over words and character 3-grams, see [`vectors`]), keeps those in the
//! customer's language when the brand has answered such posts before, and proposes the answer
//! the close neighbours agree on most (each neighbour's answer is weighed by how similar the
//! other neighbours' answers are to it, times their similarity to the post): a one-off reply to
//! a lookalike loses to the answer the team gives again and again. The chosen answer is adapted
//! ([`adapt`]): the old conversation's mentions, sign-off and names go, the new customer's
//! first name goes in the greeting, and the text fits the network's limit.
//!
//! A draft is a proposal an agent edits and sends; it never invents a promise. Whatever it says
//! was said before by the brand, and a draft whose text commits the brand (the promise
//! detector of [`crate::promises`] finds a commitment in it) says so in
//! [`Draft::commitment`], so the page can warn before an agent repeats it.
//!
//! ```
//! use chrono::NaiveDate;
//! use earshot_analyze::drafts::{DraftIndex, DraftRequest, PastAnswer};
//!
//! let past = vec![
//!     PastAnswer::new("r1", "@AmazonHelp my parcel never arrived", "@4411 Sorry! Please DM us your order number and we'll check. ^AB"),
//!     PastAnswer::new("r2", "@AmazonHelp how do I reset my password", "@4412 You can reset it here: https://amzn.to/reset ^CD"),
//! ];
//! let index = DraftIndex::build(past);
//! let draft = index
//!     .draft(&DraftRequest {
//!         customer_text: "@AmazonHelp parcel still not arrived!!",
//!         lang: None,
//!         customer_name: Some("Ana"),
//!         limit: 280,
//!         written_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
//!     })
//!     .unwrap();
//! assert_eq!(draft.text, "Sorry! Please DM us your order number and we'll check.");
//! assert_eq!(draft.sources[0].id, "r1");
//! ```

pub mod adapt;
pub(crate) mod vectors;

use crate::promises::{detect_promise, CommitmentKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use vectors::{dot, Postings, Sparse, Vocab};

/// One answer the brand gave, with the customer's words it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastAnswer {
    /// What the agent is shown as the source: the reply's or conversation's id.
    pub id: String,
    pub customer_text: String,
    pub answer_text: String,
    /// The customer's language (a code such as `en`), when known.
    pub lang: Option<String>,
    /// The customer who was answered, so their handle and name can be taken out.
    pub customer_handle: Option<String>,
    pub customer_name: Option<String>,
}

impl PastAnswer {
    pub fn new(id: &str, customer_text: &str, answer_text: &str) -> Self {
        PastAnswer {
            id: id.to_string(),
            customer_text: customer_text.to_string(),
            answer_text: answer_text.to_string(),
            lang: None,
            customer_handle: None,
            customer_name: None,
        }
    }
}

/// How the answer is picked among the close neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The answer to the single most similar post.
    Nearest,
    /// The answer the neighbours agree on most (the default; see the module doc).
    Consensus,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DraftSettings {
    /// Neighbours considered and shown as sources.
    pub neighbours: usize,
    /// Past posts less similar than this (cosine, 0..1) are not used: no draft beats a wrong one.
    pub min_similarity: f32,
    pub choice: Choice,
}

impl Default for DraftSettings {
    fn default() -> Self {
        DraftSettings {
            neighbours: 10,
            min_similarity: 0.15,
            choice: Choice::Consensus,
        }
    }
}

/// The conversation a draft is wanted for.
#[derive(Debug, Clone, Copy)]
pub struct DraftRequest<'a> {
    /// The customer's words still waiting for an answer.
    pub customer_text: &'a str,
    /// Their language code, when known.
    pub lang: Option<&'a str>,
    /// The name the greeting uses (the first word of it); none: the greeting has no name.
    pub customer_name: Option<&'a str>,
    /// The network's reply limit in characters (`Network::reply_limit`).
    pub limit: usize,
    /// Today, for reading when a committing draft says something will happen.
    pub written_on: NaiveDate,
}

/// A past answer the draft was drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftSource {
    pub id: String,
    /// Cosine similarity of the past customer post to this one (0..1).
    pub similarity: f32,
    /// How much the other neighbours agree with this answer (the consensus score).
    pub support: f32,
    /// The answer the draft's text comes from.
    pub used: bool,
    /// The past answer as it would be reused (mentions and sign-off taken out).
    pub answer: String,
    /// The start of what that customer wrote.
    pub asked: String,
}

/// A commitment the draft's text makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftCommitment {
    pub kind: CommitmentKind,
    /// The committing words, as in the draft.
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub text: String,
    /// The language of the past post the text answered.
    pub lang: Option<String>,
    /// Candidates were limited to past posts in the customer's language.
    pub same_language: bool,
    /// Cut to fit the network's limit.
    pub shortened: bool,
    /// Set when the text commits the brand to something (a fix, a feature, a follow-up).
    pub commitment: Option<DraftCommitment>,
    /// The neighbours, most similar first; exactly one is `used`.
    pub sources: Vec<DraftSource>,
}

struct Entry {
    id: String,
    body: String,
    lang: Option<String>,
    asked: String,
}

/// The brand's past answers, ready to draft from. Built once, read by many.
pub struct DraftIndex {
    entries: Vec<Entry>,
    words: Vocab,
    grams: Vocab,
    word_postings: Postings,
    gram_postings: Postings,
    answer_vectors: Vec<Sparse>,
    settings: DraftSettings,
}

/// What the source list shows of the customer's post.
const ASKED_CHARS: usize = 140;

/// Words and 3-grams weigh the same: fixed beforehand, not tuned on the held-out answers.
const WORD_WEIGHT: f32 = 0.5;

impl DraftIndex {
    pub fn build(past: Vec<PastAnswer>) -> Self {
        Self::with_settings(past, DraftSettings::default())
    }

    /// Answers that keep no words once their mentions and sign-off are out ("@x ^AB") are left
    /// out: there is nothing to reuse.
    pub fn with_settings(past: Vec<PastAnswer>, settings: DraftSettings) -> Self {
        let mut entries = Vec::with_capacity(past.len());
        let (mut word_docs, mut gram_docs, mut answer_docs) = (Vec::new(), Vec::new(), Vec::new());
        for p in past {
            let body = adapt::reusable_body(
                &p.answer_text,
                p.customer_handle.as_deref(),
                p.customer_name.as_deref(),
            );
            let answer_words = vectors::words(&body);
            if answer_words.is_empty() {
                continue;
            }
            let w = vectors::words(&p.customer_text);
            gram_docs.push(vectors::grams(&w));
            word_docs.push(w);
            answer_docs.push(answer_words);
            entries.push(Entry {
                id: p.id,
                body,
                lang: p.lang.filter(|l| !l.is_empty() && l != "und"),
                asked: p.customer_text.chars().take(ASKED_CHARS).collect(),
            });
        }
        let words = Vocab::learn(&word_docs);
        let grams = Vocab::learn(&gram_docs);
        let answers = Vocab::learn(&answer_docs);
        let word_vectors: Vec<Sparse> = word_docs.iter().map(|d| words.vector(d)).collect();
        let gram_vectors: Vec<Sparse> = gram_docs.iter().map(|d| grams.vector(d)).collect();
        DraftIndex {
            word_postings: Postings::build(words.len(), &word_vectors),
            gram_postings: Postings::build(grams.len(), &gram_vectors),
            answer_vectors: answer_docs.iter().map(|d| answers.vector(d)).collect(),
            entries,
            words,
            grams,
            settings,
        }
    }

    /// Past answers in the index.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Similarity of `text` to every indexed customer post.
    fn similarities(&self, text: &str) -> Vec<f32> {
        let w = vectors::words(text);
        let g = vectors::grams(&w);
        let mut scores = vec![0.0; self.entries.len()];
        self.word_postings
            .accumulate(&self.words.vector(&w), WORD_WEIGHT, &mut scores);
        self.gram_postings
            .accumulate(&self.grams.vector(&g), 1.0 - WORD_WEIGHT, &mut scores);
        scores
    }

    /// A draft for the request, or `None` when no past post is similar enough.
    pub fn draft(&self, req: &DraftRequest<'_>) -> Option<Draft> {
        let scores = self.similarities(req.customer_text);
        let min = self.settings.min_similarity;
        let lang = req.lang.filter(|l| !l.is_empty() && *l != "und");
        let in_lang = |i: usize| lang.is_some() && self.entries[i].lang.as_deref() == lang;
        // The customer's language first, when the brand has answered a similar post in it.
        let same_language = (0..scores.len()).any(|i| in_lang(i) && scores[i] >= min);
        let mut near: Vec<usize> = (0..scores.len())
            .filter(|&i| scores[i] >= min && (!same_language || in_lang(i)))
            .collect();
        near.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        near.truncate(self.settings.neighbours.max(1));
        if near.is_empty() {
            return None;
        }
        let support: Vec<f32> = near
            .iter()
            .map(|&i| {
                near.iter()
                    .map(|&j| scores[j] * dot(&self.answer_vectors[i], &self.answer_vectors[j]))
                    .sum()
            })
            .collect();
        let chosen = match self.settings.choice {
            Choice::Nearest => 0,
            Choice::Consensus => (0..near.len())
                .max_by(|&a, &b| {
                    support[a]
                        .total_cmp(&support[b])
                        // Ties go to the more similar post (earlier in `near`).
                        .then(b.cmp(&a))
                })
                .unwrap_or(0),
        };
        let entry = &self.entries[near[chosen]];
        let (text, shortened) =
            adapt::fit(&adapt::address(&entry.body, req.customer_name), req.limit);
        let commitment = detect_promise(&text, entry.lang.as_deref().or(lang), req.written_on)
            .filter(|p| p.kind != CommitmentKind::PassedOn)
            .map(|p| DraftCommitment {
                kind: p.kind,
                evidence: p.evidence_text(&text).to_string(),
            });
        let sources = near
            .iter()
            .enumerate()
            .map(|(k, &i)| DraftSource {
                id: self.entries[i].id.clone(),
                similarity: scores[i],
                support: support[k],
                used: k == chosen,
                answer: self.entries[i].body.clone(),
                asked: self.entries[i].asked.clone(),
            })
            .collect();
        Some(Draft {
            text,
            lang: entry.lang.clone(),
            same_language,
            shortened,
            commitment,
            sources,
        })
    }
}

#[cfg(test)]
mod tests;
