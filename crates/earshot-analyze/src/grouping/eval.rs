//! Evaluation of request grouping on labelled pairs of real posts.
//!
//! The pairs (`data/grouping_pairs.jsonl`) are built by [`build_pairs`] from the posts in
//! `shared/data` and three kinds of labels:
//! - **hand**: asks written down by reading every post (`data/grouping_asks.tsv`): clap-app-reviews
//!   FEATURE reviews, twcs and twcs-labeled-topics customer tweets (English, and the Spanish,
//!   French, German and Portuguese tweets in those files), airline tweets, and the few xlm-t
//!   tweets that ask a care question. The only cross-language pairs come from here.
//! - **article**: ibm-care-conversations whose final answer linked the same help article
//!   (e.g. Gmail account recovery): the brand's own grouping of the issue.
//! - **topic**: a data set's topic label (twcs-labeled-topics posts with exactly one topic,
//!   airline complaint reasons). Topics are broader than requests, so these pairs measure
//!   something looser than "same request".
//!
//! Each ask falls wholly in the validation or the held-out half (by a hash of its name), so no
//! post is in both. "Same" pairs are the pairs inside an ask; "different" pairs join a post with
//! posts of other asks of the same kind and half, preferably from the same brand or app store.

use super::grouper::Grouper;
use super::GroupingConfig;
use crate::fingerprint::hash_bytes;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::eval::EvalError;

/// The hand-labelled asks as shipped with the crate.
pub const ASKS_TSV: &str = include_str!("../../data/grouping_asks.tsv");

/// Seed of the validation / held-out split of asks.
const SPLIT_SEED: u64 = 10;
/// "Same" pairs kept per ask (all cross-language pairs are kept besides).
const MAX_SAME_PER_ASK: usize = 30;
/// "Different" partners per post; posts not in English get more, to measure cross-language
/// precision on more than a handful of pairs.
const DIFFERENT_PER_POST: usize = 3;
const DIFFERENT_PER_FOREIGN_POST: usize = 10;
/// Topic-labelled posts kept per airline complaint reason.
const PER_AIRLINE_REASON: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    Hand,
    Article,
    Topic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Validation,
    HeldOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairPost {
    /// Where the post is in shared/data: clap, topics, twcs, airline, xlmt, ibm.
    pub source: String,
    pub id: String,
    /// ISO 639-1 code, as labelled by hand (hand kind) or English (the sources' language).
    pub lang: String,
    pub ask: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledPair {
    pub a: PairPost,
    pub b: PairPost,
    /// Both posts ask for the same thing.
    pub same: bool,
    pub kind: LabelKind,
    pub split: Split,
    /// How the label was made.
    pub how: String,
}

impl LabelledPair {
    pub fn cross_language(&self) -> bool {
        self.a.lang != self.b.lang
    }
}

/// Reads the pairs file (JSON lines).
pub fn read_pairs(path: &Path) -> Result<Vec<LabelledPair>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| EvalError::Format {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Writes pairs as JSON lines.
pub fn write_pairs(path: &Path, pairs: &[LabelledPair]) -> Result<(), EvalError> {
    let mut out = String::new();
    for p in pairs {
        let line = serde_json::to_string(p).map_err(|e| EvalError::Format {
            path: path.to_path_buf(),
            line: 0,
            message: e.to_string(),
        })?;
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })
}

// ---- the real posts ----

/// Texts of shared/data by (source, id), plus what else the builder needs.
#[derive(Debug, Default)]
pub struct Corpus {
    texts: HashMap<(String, String), String>,
    /// twcs-labeled-topics: (tweet id, company, topics set).
    topics: Vec<(String, String, Vec<String>)>,
    /// airline-tweets: (tweet id, complaint reason).
    airline: Vec<(String, String)>,
    /// ibm-care-conversations: (session id, help article id).
    ibm: Vec<(String, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format(path: &Path, message: impl Into<String>) -> EvalError {
    EvalError::Format {
        path: path.to_path_buf(),
        line: 0,
        message: message.into(),
    }
}

/// Rows of a CSV with headers, as column → value maps.
fn csv_rows(path: &Path) -> Result<Vec<HashMap<String, String>>, EvalError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = rdr
        .headers()
        .map_err(|e| format(path, e.to_string()))?
        .clone();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format(path, e.to_string()))?;
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(out)
}

impl Corpus {
    /// Reads every source the labels refer to.
    pub fn read(data: &Path) -> Result<Corpus, EvalError> {
        let mut c = Corpus::default();
        let get = |r: &HashMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
        for r in csv_rows(&data.join("clap-app-reviews/dev.csv"))? {
            c.add("clap", get(&r, "id"), get(&r, "review"));
        }
        for f in ["twcs-sample-head/dev.csv", "twcs-sample-random/dev.csv"] {
            for r in csv_rows(&data.join(f))? {
                if get(&r, "inbound").eq_ignore_ascii_case("true") {
                    c.add("twcs", get(&r, "tweet_id"), get(&r, "text"));
                }
            }
        }
        let dir = data.join("twcs-labeled-topics");
        let skip = [
            "row",
            "main_tweet_id",
            "tweet_id",
            "in_response_to_tweet_id",
            "response_tweet_id",
            "created_at",
            "author_id",
            "inbound",
            "text",
            "company",
        ];
        for company in ["AmazonHelp", "AppleSupport", "SpotifyCares"] {
            let path = dir.join(format!("twcs-{company}-200-inbound.train.csv"));
            for r in csv_rows(&path)? {
                let id = get(&r, "tweet_id");
                let mut topics: Vec<String> = r
                    .iter()
                    .filter(|(k, v)| !skip.contains(&k.as_str()) && v.trim().starts_with('1'))
                    .map(|(k, _)| k.clone())
                    .collect();
                topics.sort();
                c.topics.push((id.clone(), company.to_string(), topics));
                c.add("topics", id, get(&r, "text"));
            }
        }
        for r in csv_rows(&data.join("airline-tweets/dev.csv"))? {
            let id = get(&r, "tweet_id");
            if c.texts.contains_key(&("airline".to_string(), id.clone())) {
                continue;
            }
            c.airline.push((id.clone(), get(&r, "negativereason")));
            c.add("airline", id, get(&r, "text"));
        }
        let xlmt = data.join("xlmt-sentiment");
        for lang in [
            "english",
            "french",
            "german",
            "italian",
            "portuguese",
            "spanish",
        ] {
            for split in ["train", "val"] {
                let path = xlmt.join(lang).join(format!("{split}_text.txt"));
                let text = std::fs::read_to_string(&path).map_err(io(&path))?;
                for (i, line) in text.lines().enumerate() {
                    c.add(
                        "xlmt",
                        format!("{lang}/{split}/{}", i + 1),
                        line.to_string(),
                    );
                }
            }
        }
        let path = data.join("ibm-care-conversations/dev.json");
        let raw = std::fs::read_to_string(&path).map_err(io(&path))?;
        let conversations: Vec<serde_json::Value> =
            serde_json::from_str(&raw).map_err(|e| format(&path, e.to_string()))?;
        for conv in &conversations {
            let session = conv["dialogHeader"]["sessionID"]
                .as_str()
                .unwrap_or_default();
            let doc = conv["agentURL"]["doc_id"].as_str().unwrap_or_default();
            // The customer's words before the agent's answer: the first two customer turns.
            let text: Vec<&str> = conv["dialogContent"]
                .as_array()
                .map(|turns| {
                    turns
                        .iter()
                        .filter(|t| t.get("client").is_some())
                        .filter_map(|t| t["message"].as_str())
                        .take(2)
                        .collect()
                })
                .unwrap_or_default();
            if session.is_empty() || text.is_empty() {
                continue;
            }
            c.ibm.push((session.to_string(), doc.to_string()));
            c.add("ibm", session.to_string(), text.join(" "));
        }
        Ok(c)
    }

    fn add(&mut self, source: &str, id: String, text: String) {
        self.texts.entry((source.to_string(), id)).or_insert(text);
    }

    pub fn text(&self, source: &str, id: &str) -> Option<&str> {
        self.texts
            .get(&(source.to_string(), id.to_string()))
            .map(String::as_str)
    }

    /// Every text, in a fixed order (for warming document frequencies and as distractors).
    pub fn all_texts(&self) -> Vec<(&str, &str, &str)> {
        let mut v: Vec<(&str, &str, &str)> = self
            .texts
            .iter()
            .map(|((s, i), t)| (s.as_str(), i.as_str(), t.as_str()))
            .collect();
        v.sort_unstable();
        v
    }
}

/// The language of an xlm-t folder.
fn xlmt_lang(id: &str) -> &'static str {
    match id.split('/').next().unwrap_or("") {
        "french" => "fr",
        "german" => "de",
        "italian" => "it",
        "portuguese" => "pt",
        "spanish" => "es",
        _ => "en",
    }
}

// ---- building the pairs ----

/// A labelled post with its ask, before pairing.
#[derive(Debug, Clone)]
struct Asked {
    post: PairPost,
    kind: LabelKind,
    /// Brand or store: "different" partners are preferably from the same group.
    group: String,
    note: String,
}

/// Help articles of ibm-care-conversations whose conversations are one issue (read by hand):
/// Gmail account recovery (two articles), eBay price gouging, Rockstar two-step verification,
/// unknown sign-ins to a Google account.
const ARTICLE_ASKS: &[(&str, &[&str], &str)] = &[
    (
        "gmail_account_recovery",
        &["1665", "1902"],
        "cannot get back into a Gmail account",
    ),
    (
        "ebay_price_gouging",
        &["1436"],
        "stop price gouging listings (March 2020)",
    ),
    (
        "rockstar_two_step",
        &["8065"],
        "lost the two-step verification device",
    ),
    (
        "google_unknown_sign_in",
        &["9134"],
        "someone else signs in to my Google account",
    ),
];

/// Airline complaint reasons close enough to one ask to pair on (broad ones left out).
const AIRLINE_REASONS: &[&str] = &[
    "Lost Luggage",
    "Damaged Luggage",
    "Cancelled Flight",
    "Late Flight",
    "Flight Booking Problems",
    "Flight Attendant Complaints",
    "longlines",
];

/// twcs-labeled-topics topics that are not asks.
const NOT_ASKS: &[&str] = &["Bad Support", "Service Praise"];

fn key(parts: &[&str]) -> u64 {
    hash_bytes(SPLIT_SEED, parts.join("\u{1}").as_bytes())
}

/// Builds the labelled pairs from the corpus and the hand-labelled asks (`asks_tsv`).
pub fn build_pairs(corpus: &Corpus, asks_tsv: &str) -> Result<Vec<LabelledPair>, EvalError> {
    let asks_path = PathBuf::from("data/grouping_asks.tsv");
    let mut asked: Vec<Asked> = Vec::new();
    let mut used: HashSet<(String, String)> = HashSet::new();
    for (n, line) in asks_tsv.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("ask\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [ask, source, id, lang, note] = cols[..] else {
            return Err(EvalError::Format {
                path: asks_path,
                line: n as u64 + 1,
                message: "expected ask, source, id, lang, note".into(),
            });
        };
        let Some(text) = corpus.text(source, id) else {
            return Err(EvalError::Format {
                path: asks_path,
                line: n as u64 + 1,
                message: format!("no {source} post {id} in shared/data"),
            });
        };
        used.insert((source.to_string(), id.to_string()));
        let group = match source {
            "topics" | "twcs" | "xlmt" => "tweets".to_string(),
            other => other.to_string(),
        };
        asked.push(Asked {
            post: PairPost {
                source: source.into(),
                id: id.into(),
                lang: lang.into(),
                ask: ask.into(),
                text: text.into(),
            },
            kind: LabelKind::Hand,
            group,
            note: note.into(),
        });
    }
    for (session, doc) in &corpus.ibm {
        let Some((ask, _, note)) = ARTICLE_ASKS.iter().find(|a| a.1.contains(&doc.as_str())) else {
            continue;
        };
        let text = corpus.text("ibm", session).unwrap_or_default();
        asked.push(Asked {
            post: PairPost {
                source: "ibm".into(),
                id: session.clone(),
                lang: "en".into(),
                ask: (*ask).into(),
                text: text.into(),
            },
            kind: LabelKind::Article,
            group: "ibm".into(),
            note: format!("{note} (help article {doc})"),
        });
    }
    // Topic labels: posts with exactly one topic that is an ask; airline reasons sampled.
    for (id, company, topics) in &corpus.topics {
        if used.contains(&("topics".to_string(), id.clone())) || topics.len() != 1 {
            continue;
        }
        let topic = &topics[0];
        if NOT_ASKS.contains(&topic.as_str()) {
            continue;
        }
        asked.push(topic_post(
            corpus,
            "topics",
            id,
            &format!("{company}:{topic}"),
            company,
        ));
    }
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, reason) in &corpus.airline {
        let text = corpus.text("airline", id).unwrap_or_default();
        // Some texts had words overwritten with the reason's name: they would give the label away.
        let leaks = ["Late Flight", "Cancelled Flight", "Flight Booking"]
            .iter()
            .any(|r| text.contains(r));
        if AIRLINE_REASONS.contains(&reason.as_str())
            && !leaks
            && !used.contains(&("airline".to_string(), id.clone()))
        {
            by_reason.entry(reason).or_default().push(id);
        }
    }
    for (reason, mut ids) in by_reason {
        ids.sort_by_key(|id| key(&[id]));
        for id in ids.into_iter().take(PER_AIRLINE_REASON) {
            asked.push(topic_post(corpus, "airline", id, reason, "airline"));
        }
    }
    Ok(pair_up(&asked))
}

fn topic_post(corpus: &Corpus, source: &str, id: &str, topic: &str, group: &str) -> Asked {
    let lang = if source == "xlmt" {
        xlmt_lang(id)
    } else {
        "en"
    };
    Asked {
        post: PairPost {
            source: source.into(),
            id: id.into(),
            lang: lang.into(),
            ask: format!("topic:{topic}"),
            text: corpus.text(source, id).unwrap_or_default().into(),
        },
        kind: LabelKind::Topic,
        group: group.into(),
        note: format!("dataset topic {topic}"),
    }
}

fn split_of(ask: &str) -> Split {
    if key(&[ask]).is_multiple_of(2) {
        Split::Validation
    } else {
        Split::HeldOut
    }
}

fn how(kind: LabelKind, same: bool, a: &Asked, b: &Asked) -> String {
    let k = match kind {
        LabelKind::Hand => "hand",
        LabelKind::Article => "help article",
        LabelKind::Topic => "topic label",
    };
    if same {
        format!("{k}: both {}", a.note)
    } else {
        format!("{k}: {} / {}", a.note, b.note)
    }
}

fn pair_up(asked: &[Asked]) -> Vec<LabelledPair> {
    let mut pairs = Vec::new();
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut push = |i: usize, j: usize, same: bool, pairs: &mut Vec<LabelledPair>| {
        let (i, j) = (i.min(j), i.max(j));
        if i == j || !seen.insert((i, j)) {
            return;
        }
        let (a, b) = (&asked[i], &asked[j]);
        pairs.push(LabelledPair {
            a: a.post.clone(),
            b: b.post.clone(),
            same,
            kind: a.kind,
            split: split_of(&a.post.ask),
            how: how(a.kind, same, a, b),
        });
    };
    let mut by_ask: BTreeMap<(LabelKind, &str), Vec<usize>> = BTreeMap::new();
    for (i, a) in asked.iter().enumerate() {
        by_ask.entry((a.kind, &a.post.ask)).or_default().push(i);
    }
    for members in by_ask.values() {
        let mut same: Vec<(u64, usize, usize)> = Vec::new();
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let (a, b) = (&asked[i].post, &asked[j].post);
                if a.lang != b.lang {
                    push(i, j, true, &mut pairs);
                } else {
                    same.push((key(&[&a.id, &b.id]), i, j));
                }
            }
        }
        same.sort_unstable();
        for &(_, i, j) in same.iter().take(MAX_SAME_PER_ASK) {
            push(i, j, true, &mut pairs);
        }
    }
    for (i, a) in asked.iter().enumerate() {
        let split = split_of(&a.post.ask);
        let mut others: Vec<(bool, u64, usize)> = asked
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                b.kind == a.kind && b.post.ask != a.post.ask && split_of(&b.post.ask) == split
            })
            .map(|(j, b)| (b.group != a.group, key(&[&a.post.id, &b.post.id]), j))
            .collect();
        others.sort_unstable();
        let want = if a.post.lang == "en" {
            DIFFERENT_PER_POST
        } else {
            DIFFERENT_PER_FOREIGN_POST
        };
        // Half from the same brand or store (the hard cases), the rest from anywhere.
        let hard = others.iter().take(want.div_ceil(2)).map(|e| e.2);
        let mut rest: Vec<(u64, usize)> = others
            .iter()
            .skip(want.div_ceil(2))
            .map(|e| (e.1, e.2))
            .collect();
        rest.sort_unstable();
        let picks: Vec<usize> = hard
            .chain(rest.iter().take(want / 2).map(|e| e.1))
            .collect();
        for j in picks {
            push(i, j, false, &mut pairs);
        }
    }
    pairs
}

// ---- scoring ----

/// Precision and recall of "same request" over a set of pairs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PairScores {
    pub pairs: usize,
    pub same: usize,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl PairScores {
    pub fn add(&mut self, gold: bool, predicted: bool) {
        self.pairs += 1;
        self.same += gold as usize;
        match (gold, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            _ => {}
        }
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The slices a report is broken into.
pub fn slices(p: &LabelledPair) -> Vec<String> {
    let kind = match p.kind {
        LabelKind::Hand => "hand",
        LabelKind::Article => "help article",
        LabelKind::Topic => "topic",
    };
    let mut v = vec![format!("{kind}: all")];
    if p.kind == LabelKind::Hand {
        if p.cross_language() {
            v.push("hand: cross-language (all)".into());
            let other = if p.a.lang == "en" {
                &p.b.lang
            } else {
                &p.a.lang
            };
            v.push(format!("hand: cross-language en–{other}"));
        } else {
            v.push(format!("hand: {} only", p.a.lang));
        }
    }
    v
}

/// A grouper warmed with the document frequencies of `texts` (no posts assigned).
pub fn warmed_grouper(config: GroupingConfig, texts: &[(&str, &str)]) -> Grouper {
    let mut g = Grouper::new(config);
    for (text, lang) in texts {
        g.observe(text, Some(lang));
    }
    g
}

/// The pairwise similarity of every pair, as `assign` would compute it for the second post
/// against a request holding the first.
pub fn pair_similarities(grouper: &mut Grouper, pairs: &[&LabelledPair]) -> Vec<f32> {
    pairs
        .iter()
        .map(|p| {
            let ab =
                grouper.pair_similarity(&p.a.text, Some(&p.a.lang), &p.b.text, Some(&p.b.lang));
            let ba =
                grouper.pair_similarity(&p.b.text, Some(&p.b.lang), &p.a.text, Some(&p.a.lang));
            // Either post may arrive first; count the pair as joined only if both orders join.
            ab.min(ba)
        })
        .collect()
}

/// Scores per slice for a decision on each pair.
pub fn score_slices(pairs: &[&LabelledPair], decided: &[bool]) -> BTreeMap<String, PairScores> {
    let mut out: BTreeMap<String, PairScores> = BTreeMap::new();
    for (p, &d) in pairs.iter().zip(decided) {
        for s in slices(p) {
            out.entry(s).or_default().add(p.same, d);
        }
    }
    out
}

/// Streams every labelled post of `pairs` (and `distractors`, interleaved) through one grouper
/// in a fixed shuffled order, then checks each pair: are both posts in the same request?
pub fn stream(
    mut grouper: Grouper,
    pairs: &[&LabelledPair],
    distractors: &[(&str, &str)],
) -> Vec<bool> {
    let mut posts: BTreeMap<(String, String), (&str, &str)> = BTreeMap::new();
    for p in pairs {
        for x in [&p.a, &p.b] {
            posts
                .entry((x.source.clone(), x.id.clone()))
                .or_insert((x.text.as_str(), x.lang.as_str()));
        }
    }
    let mut order: Vec<(u64, i64, &str, &str)> = Vec::new();
    let mut ids: HashMap<(String, String), i64> = HashMap::new();
    for (n, (k, (text, lang))) in posts.iter().enumerate() {
        ids.insert(k.clone(), n as i64);
        order.push((key(&[&k.0, &k.1]), n as i64, text, lang));
    }
    let base = order.len() as i64;
    for (n, (text, lang)) in distractors.iter().enumerate() {
        order.push((
            key(&["distractor", &n.to_string()]),
            base + n as i64,
            text,
            lang,
        ));
    }
    order.sort_unstable();
    let t0 = chrono::DateTime::<chrono::Utc>::default();
    for (n, &(_, id, text, lang)) in order.iter().enumerate() {
        grouper.assign(
            id,
            text,
            Some(lang),
            t0 + chrono::Duration::seconds(n as i64),
        );
    }
    pairs
        .iter()
        .map(|p| {
            let a = ids.get(&(p.a.source.clone(), p.a.id.clone()));
            let b = ids.get(&(p.b.source.clone(), p.b.id.clone()));
            match (a, b) {
                (Some(a), Some(b)) => {
                    grouper.request_of(*a).is_some()
                        && grouper.request_of(*a) == grouper.request_of(*b)
                }
                _ => false,
            }
        })
        .collect()
}

/// One setting tried while tuning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tried {
    pub concept_weight: f32,
    pub cross_language_term_weight: f32,
    pub idf_min_df: f32,
    pub threshold: f32,
    pub scores: PairScores,
}

/// Grid search on validation pairs: for each weight setting the best threshold by F1 of the
/// pairs `select` keeps (ties: higher precision). Returns all settings, best first.
pub fn tune(
    base: &GroupingConfig,
    warm: &[(&str, &str)],
    pairs: &[&LabelledPair],
    select: impl Fn(&LabelledPair) -> bool,
) -> Vec<Tried> {
    let mut out = Vec::new();
    let mut grouper = warmed_grouper(base.clone(), warm);
    let grid = [1.0f32, 1.5, 2.0, 2.5, 3.0]
        .into_iter()
        .flat_map(|c| [0.25f32, 0.5, 1.0].into_iter().map(move |x| (c, x)))
        .flat_map(|(c, x)| [1.0f32, 3.0, 10.0].into_iter().map(move |m| (c, x, m)));
    for (concept_weight, cross, idf_min_df) in grid {
        {
            grouper.set_config(GroupingConfig {
                concept_weight,
                cross_language_term_weight: cross,
                idf_min_df,
                ..base.clone()
            });
            let sims = pair_similarities(&mut grouper, pairs);
            let mut best: Option<Tried> = None;
            for step in 1..=60 {
                let threshold = step as f32 * 0.01;
                let mut s = PairScores::default();
                for (p, &sim) in pairs.iter().zip(&sims) {
                    if select(p) {
                        s.add(p.same, sim >= threshold);
                    }
                }
                let better = best.as_ref().is_none_or(|b| {
                    s.f1() > b.scores.f1() + 1e-9
                        || ((s.f1() - b.scores.f1()).abs() <= 1e-9
                            && s.precision() > b.scores.precision())
                });
                if better {
                    best = Some(Tried {
                        concept_weight,
                        cross_language_term_weight: cross,
                        idf_min_df,
                        threshold,
                        scores: s,
                    });
                }
            }
            out.extend(best);
        }
    }
    out.sort_by(|a, b| {
        b.scores
            .f1()
            .total_cmp(&a.scores.f1())
            .then(b.scores.precision().total_cmp(&a.scores.precision()))
    });
    out
}

/// One threshold tried while streaming the validation half.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamTried {
    pub member_candidates: usize,
    pub threshold: f32,
    pub scores: PairScores,
}

/// Streams the validation posts (with distractors) for each threshold and member setting;
/// scored on the pairs `select` keeps. Best F1 first.
pub fn tune_stream(
    base: &GroupingConfig,
    warm: &[(&str, &str)],
    pairs: &[&LabelledPair],
    distractors: &[(&str, &str)],
    select: impl Fn(&LabelledPair) -> bool,
) -> Vec<StreamTried> {
    let warmed = warmed_grouper(base.clone(), warm);
    let mut out = Vec::new();
    for member_candidates in [0usize, 4] {
        for step in 4..=24 {
            let threshold = step as f32 * 0.01;
            let mut g = warmed.clone();
            g.set_config(GroupingConfig {
                member_candidates,
                threshold,
                ..base.clone()
            });
            let decided = stream(g, pairs, distractors);
            let mut scores = PairScores::default();
            for (p, d) in pairs.iter().zip(decided) {
                if select(p) {
                    scores.add(p.same, d);
                }
            }
            out.push(StreamTried {
                member_candidates,
                threshold,
                scores,
            });
        }
    }
    out.sort_by(|a, b| {
        b.scores
            .f1()
            .total_cmp(&a.scores.f1())
            .then(b.scores.precision().total_cmp(&a.scores.precision()))
    });
    out
}

/// Everything the example prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupingReport {
    pub pairs: BTreeMap<String, usize>,
    pub tuning: Vec<Tried>,
    pub stream_tuning: Vec<StreamTried>,
    pub config: GroupingConfig,
    /// Held-out scores, pairwise decision (both orders join).
    pub pairwise: BTreeMap<String, PairScores>,
    /// Held-out scores after streaming all held-out posts with distractors through one grouper.
    pub streamed: BTreeMap<String, PairScores>,
    pub distractors: usize,
}

/// Tunes on the validation half, then reports the held-out half with `config`.
pub fn run(
    pairs: &[LabelledPair],
    corpus: &Corpus,
    config: &GroupingConfig,
    distractors: usize,
) -> GroupingReport {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in pairs {
        let split = match p.split {
            Split::Validation => "validation",
            Split::HeldOut => "held-out",
        };
        let label = if p.same { "same" } else { "different" };
        *counts
            .entry(format!("{split} {:?} {label}", p.kind).to_lowercase())
            .or_default() += 1;
    }
    let texts = corpus.all_texts();
    let labelled: HashSet<(&str, &str)> = pairs
        .iter()
        .flat_map(|p| {
            [
                (p.a.source.as_str(), p.a.id.as_str()),
                (p.b.source.as_str(), p.b.id.as_str()),
            ]
        })
        .collect();
    // Warm with every text (labels are not used, only word frequencies), English unless xlm-t.
    let warm: Vec<(&str, &str)> = texts
        .iter()
        .map(|&(s, i, t)| (t, if s == "xlmt" { xlmt_lang(i) } else { "en" }))
        .collect();
    // Distractors: customer posts no label mentions, from the care sources.
    let mut extra: Vec<(u64, &str, &str)> = texts
        .iter()
        .filter(|(s, i, _)| {
            matches!(*s, "twcs" | "airline" | "clap") && !labelled.contains(&(*s, *i))
        })
        .map(|&(s, i, t)| (key(&[s, i]), t, "en"))
        .collect();
    extra.sort_unstable();
    let extra: Vec<(&str, &str)> = extra.iter().take(distractors).map(|e| (e.1, e.2)).collect();

    let validation: Vec<&LabelledPair> = pairs
        .iter()
        .filter(|p| p.split == Split::Validation)
        .collect();
    let held_out: Vec<&LabelledPair> = pairs.iter().filter(|p| p.split == Split::HeldOut).collect();
    let tuning = tune(config, &warm, &validation, |p| p.kind == LabelKind::Hand);
    // The streamed threshold is tuned with the weights the pairwise search chose.
    let weights = tuning.first().map_or_else(
        || config.clone(),
        |t| GroupingConfig {
            concept_weight: t.concept_weight,
            cross_language_term_weight: t.cross_language_term_weight,
            idf_min_df: t.idf_min_df,
            ..config.clone()
        },
    );
    let stream_tuning = tune_stream(&weights, &warm, &validation, &extra, |p| {
        p.kind == LabelKind::Hand
    });

    let mut grouper = warmed_grouper(config.clone(), &warm);
    let sims = pair_similarities(&mut grouper, &held_out);
    let decided: Vec<bool> = sims.iter().map(|s| *s >= config.threshold).collect();
    let pairwise = score_slices(&held_out, &decided);
    let streamed_decisions = stream(warmed_grouper(config.clone(), &warm), &held_out, &extra);
    let streamed = score_slices(&held_out, &streamed_decisions);
    GroupingReport {
        pairs: counts,
        tuning,
        stream_tuning,
        config: config.clone(),
        pairwise,
        streamed,
        distractors: extra.len(),
    }
}

impl fmt::Display for GroupingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "### Labelled pairs\n")?;
        writeln!(f, "| half, label kind, label | pairs |\n|---|---:|")?;
        for (k, n) in &self.pairs {
            writeln!(f, "| {k} | {n} |")?;
        }
        writeln!(
            f,
            "\n### Tuning on the validation half (hand-labelled pairs, best threshold per setting by F1)\n"
        )?;
        writeln!(
            f,
            "| concept weight | cross-language stem weight | idf min df | threshold | pairs | P % | R % | F1 % |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for t in self.tuning.iter().take(8) {
            writeln!(
                f,
                "| {:.1} | {:.2} | {:.0} | {:.2} | {} | {:.1} | {:.1} | {:.1} |",
                t.concept_weight,
                t.cross_language_term_weight,
                t.idf_min_df,
                t.threshold,
                t.scores.pairs,
                100.0 * t.scores.precision(),
                100.0 * t.scores.recall(),
                100.0 * t.scores.f1()
            )?;
        }
        writeln!(
            f,
            "\n### Tuning on the validation half, streamed (those weights; hand-labelled pairs)\n"
        )?;
        writeln!(
            f,
            "| posts compared per request | threshold | pairs | P % | R % | F1 % |\n|---:|---:|---:|---:|---:|---:|"
        )?;
        for t in self.stream_tuning.iter().take(6) {
            writeln!(
                f,
                "| {} | {:.2} | {} | {:.1} | {:.1} | {:.1} |",
                if t.member_candidates > 0 {
                    "centroid + recent posts"
                } else {
                    "centroid"
                },
                t.threshold,
                t.scores.pairs,
                100.0 * t.scores.precision(),
                100.0 * t.scores.recall(),
                100.0 * t.scores.f1()
            )?;
        }
        writeln!(
            f,
            "\nReported with: threshold {:.2}, concept weight {:.1}, cross-language stem weight {:.2}, idf min df {:.0}.",
            self.config.threshold,
            self.config.concept_weight,
            self.config.cross_language_term_weight,
            self.config.idf_min_df
        )?;
        for (title, table) in [
            ("Held-out half, pairwise (the second post joins a request holding the first, in both orders)", &self.pairwise),
            ("Held-out half, streamed (all held-out posts and distractors through one grouper)", &self.streamed),
        ] {
            writeln!(f, "\n### {title}\n")?;
            writeln!(
                f,
                "| slice | pairs | same | P % | R % | F1 % |\n|---|---:|---:|---:|---:|---:|"
            )?;
            for (slice, s) in table {
                writeln!(
                    f,
                    "| {slice} | {} | {} | {:.1} | {:.1} | {:.1} |",
                    s.pairs,
                    s.same,
                    100.0 * s.precision(),
                    100.0 * s.recall(),
                    100.0 * s.f1()
                )?;
            }
        }
        writeln!(
            f,
            "\nDistractors streamed with the held-out posts: {}.",
            self.distractors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(ask: &str, id: &str, lang: &str) -> Asked {
        Asked {
            post: PairPost {
                source: "clap".into(),
                id: id.into(),
                lang: lang.into(),
                ask: ask.into(),
                text: format!("text {id}"),
            },
            kind: LabelKind::Hand,
            group: "clap".into(),
            note: ask.into(),
        }
    }

    #[test]
    fn pairs_stay_inside_one_half_and_label_asks() {
        let asked: Vec<Asked> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .flat_map(|ask| {
                (0..3)
                    .map(move |i| post(ask, &format!("{ask}{i}"), if i == 2 { "da" } else { "en" }))
            })
            .collect();
        let pairs = pair_up(&asked);
        assert!(pairs.iter().any(|p| p.same) && pairs.iter().any(|p| !p.same));
        for p in &pairs {
            assert_eq!(p.same, p.a.ask == p.b.ask);
            assert_eq!(split_of(&p.a.ask), split_of(&p.b.ask));
            assert_eq!(p.split, split_of(&p.a.ask));
        }
        // Every cross-language "same" pair inside an ask is kept.
        let cross_same = pairs
            .iter()
            .filter(|p| p.same && p.cross_language())
            .count();
        assert_eq!(cross_same, 6 * 2);
    }

    #[test]
    fn scores_count_what_they_should() {
        let mut s = PairScores::default();
        for (g, p) in [(true, true), (true, false), (false, true), (false, false)] {
            s.add(g, p);
        }
        assert_eq!((s.tp, s.fp, s.fn_, s.same, s.pairs), (1, 1, 1, 2, 4));
        assert!((s.precision() - 0.5).abs() < 1e-9);
        assert!((s.recall() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn the_asks_file_is_well_formed() {
        let mut asks = HashSet::new();
        for line in ASKS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("ask\t"))
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 5, "{line}");
            assert!(
                ["clap", "topics", "twcs", "airline", "xlmt"].contains(&cols[1]),
                "{line}"
            );
            assert!(crate::lang::Lang::from_code(cols[3]).is_some(), "{line}");
            asks.insert(cols[0]);
        }
        assert!(asks.len() >= 30);
    }
}
