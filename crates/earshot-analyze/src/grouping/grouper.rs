//! The online grouper: each arriving post joins the open request it is most similar to, or
//! opens a new one.
//!
//! Similarity is the cosine between the post's features and the request's centroid (the share
//! of its posts that carry each feature), every feature weighted by its inverse document
//! frequency over the posts seen so far and by what corrections taught. Candidates come from an
//! inverted index: each request is entered under its rarest features only, each feature keeps
//! its newest requests only, and a post reads a bounded number of entries, rarest features
//! first. So a post costs the same with 1,000 or 200,000 open requests.

use super::normalise::{self, is_term, Normalised, WordCache};
use super::{Assignment, BuildIdHash, GroupingConfig, RequestId};
use crate::lang::Lang;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

mod similarity;
mod upkeep;

pub(super) type IdMap<K, V> = HashMap<K, V, BuildIdHash>;

/// A feature is "everywhere" (never indexed) only after this many posts carried it.
const MIN_DF_COMMON: u32 = 50;
/// How much a learned cannot-link pair lowers a request's similarity.
const CANNOT_LINK_FACTOR: f32 = 0.5;
/// A cannot-link pair counts when the request has its feature in at least this share of posts.
const CANNOT_LINK_SHARE: f32 = 0.25;

/// What the grouper knows about one feature.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct FeatureStats {
    /// Posts that carried it.
    pub df: u32,
    /// Readable form: the concept name or the stem.
    pub label: Box<str>,
    /// Requests entered under it, oldest first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub postings: VecDeque<RequestId>,
}

/// A post whose features are remembered, so a split or move can take them out again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Member {
    pub post: i64,
    pub lang: String,
    pub at: DateTime<Utc>,
    pub features: Box<[u64]>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Request {
    pub title: Option<String>,
    /// The title's features, counted in the centroid like one more post.
    #[serde(default)]
    pub title_features: Vec<u64>,
    pub members: Vec<i64>,
    /// The newest members with their features (at most `remembered_posts`).
    pub recent: VecDeque<Member>,
    /// (feature, posts carrying it), sorted by feature.
    pub centroid: Vec<(u64, f32)>,
    /// Posts (and title) counted in the centroid.
    pub mass: f32,
    pub langs: BTreeMap<String, u32>,
    pub first_at: DateTime<Utc>,
    pub latest_at: DateTime<Utc>,
    /// Features this request is entered under in the index.
    pub indexed: Vec<u64>,
    /// Squared norm of the weighted centroid, and the part of it made of stems.
    pub norm2: f32,
    pub term_norm2: f32,
}

impl Request {
    pub(super) fn new(at: DateTime<Utc>) -> Request {
        Request {
            title: None,
            title_features: Vec::new(),
            members: Vec::new(),
            recent: VecDeque::new(),
            centroid: Vec::new(),
            mass: 0.0,
            langs: BTreeMap::new(),
            first_at: at,
            latest_at: at,
            indexed: Vec::new(),
            norm2: 0.0,
            term_norm2: 0.0,
        }
    }

    /// The language most of its posts were written in (`None` when unknown or tied at zero).
    pub(super) fn language(&self) -> Option<&str> {
        self.langs
            .iter()
            .filter(|(l, n)| l.as_str() != "und" && **n > 0)
            .max_by_key(|(_, n)| **n)
            .map(|(l, _)| l.as_str())
    }

    pub(super) fn share(&self, count: f32) -> f32 {
        if self.mass > 0.0 {
            (count / self.mass).min(1.0)
        } else {
            0.0
        }
    }

    pub(super) fn count_of(&self, f: u64) -> Option<f32> {
        self.centroid
            .binary_search_by_key(&f, |e| e.0)
            .ok()
            .map(|i| self.centroid[i].1)
    }

    /// Adds `delta` posts carrying each of `features`; drops features that reach zero.
    pub(super) fn add_features(&mut self, features: &[u64], delta: f32) {
        for &f in features {
            match self.centroid.binary_search_by_key(&f, |e| e.0) {
                Ok(i) => self.centroid[i].1 += delta,
                Err(i) if delta > 0.0 => self.centroid.insert(i, (f, delta)),
                Err(_) => {}
            }
        }
        if delta < 0.0 {
            self.centroid.retain(|e| e.1 > 0.01);
        }
    }

    pub(super) fn count_language(&mut self, lang: &str, delta: i64) {
        let n = match self.langs.get_mut(lang) {
            Some(n) => n,
            None => self.langs.entry(lang.to_string()).or_insert(0),
        };
        *n = (*n as i64 + delta).max(0) as u32;
        if *n == 0 {
            self.langs.remove(lang);
        }
    }
}

/// What the grouper learned from agents' corrections. Serialisable on its own, so a server can
/// persist it and start a fresh grouper with it ([`Grouper::with_learned`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Learned {
    /// Stem feature → learned concept that links it with its translations.
    pub(super) aliases: IdMap<u64, u64>,
    /// Feature → features that told different requests apart.
    pub(super) cannot_link: IdMap<u64, Vec<u64>>,
    /// Weight factors (below 1) of features that joined posts wrongly.
    pub(super) weights: IdMap<u64, f32>,
    /// Readable labels of learned concepts.
    pub(super) labels: IdMap<u64, String>,
    pub merges: u64,
    pub splits: u64,
    pub moves: u64,
    pub renames: u64,
}

impl Learned {
    pub fn aliases(&self) -> usize {
        self.aliases.len()
    }

    pub fn cannot_links(&self) -> usize {
        self.cannot_link.values().map(Vec::len).sum::<usize>() / 2
    }

    pub fn down_weighted(&self) -> usize {
        self.weights.len()
    }

    pub(super) fn weight(&self, f: u64) -> f32 {
        if self.weights.is_empty() {
            return 1.0;
        }
        self.weights.get(&f).copied().unwrap_or(1.0)
    }
}

/// A request as an agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: RequestId,
    pub title: Option<String>,
    pub posts: usize,
    /// Posts per language code (`und` when unknown).
    pub languages: BTreeMap<String, u32>,
    pub first_ask: DateTime<Utc>,
    pub latest_ask: DateTime<Utc>,
    /// The concepts and stems that best describe it, strongest first.
    pub top_features: Vec<String>,
}

/// Sizes, for monitoring and for the bounds tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrouperStats {
    pub open_requests: usize,
    pub posts: usize,
    pub posts_seen: u64,
    pub vocabulary: usize,
    pub postings: usize,
    pub longest_postings: usize,
    pub largest_centroid: usize,
    pub aliases: usize,
    pub cannot_links: usize,
    /// A rough estimate of the heap the grouper holds.
    pub approx_bytes: usize,
}

/// Reused buffers of the hot path.
#[derive(Debug, Clone, Default)]
pub(super) struct Scratch {
    pub norm: Normalised,
    pub words: WordCache,
    /// (feature, weight), sorted by feature.
    pub feats: Vec<(u64, f32)>,
    pub order: Vec<(u64, f32)>,
    pub cands: IdMap<RequestId, f32>,
    pub top: Vec<(RequestId, f32)>,
}

/// Groups posts into requests as they arrive. See the module doc for the method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grouper {
    pub(super) config: GroupingConfig,
    pub(super) posts_seen: u64,
    pub(super) vocab: IdMap<u64, FeatureStats>,
    pub(super) requests: IdMap<RequestId, Request>,
    pub(super) post_index: IdMap<i64, RequestId>,
    pub(super) next_id: u64,
    pub(super) learned: Learned,
    /// Requests retired to keep within `max_open_requests`, not yet handed out.
    #[serde(default)]
    pub(super) retired: Vec<RequestId>,
    /// Requests merged by bridging, (absorbed, survivor), not yet handed out.
    #[serde(default)]
    pub(super) bridged: Vec<(RequestId, RequestId)>,
    #[serde(skip)]
    pub(super) scratch: Scratch,
}

/// One feature of a post, as [`Grouper::features`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Feature {
    pub id: u64,
    /// The concept's name or the word's stem.
    pub label: String,
    /// A concept of the shipped lexicon or a learned one (otherwise a stem).
    pub concept: bool,
}

impl Default for Grouper {
    fn default() -> Self {
        Grouper::new(GroupingConfig::default())
    }
}

/// The language code a request counts a post under.
pub(super) fn language_code(lang: Option<&str>) -> (Option<Lang>, String) {
    let l = lang.and_then(Lang::from_code);
    let code = match (l, lang.and_then(crate::lang::normalise_declared)) {
        (Some(l), _) => l.code().to_string(),
        (None, Some(other)) => other,
        (None, None) => "und".to_string(),
    };
    (l, code)
}

impl Grouper {
    pub fn new(config: GroupingConfig) -> Self {
        Grouper {
            config,
            posts_seen: 0,
            vocab: IdMap::default(),
            requests: IdMap::default(),
            post_index: IdMap::default(),
            next_id: 1,
            learned: Learned::default(),
            retired: Vec::new(),
            bridged: Vec::new(),
            scratch: Scratch::default(),
        }
    }

    /// The features a text is read as, without weights.
    pub fn features(&mut self, text: &str, lang: Option<&str>) -> Vec<Feature> {
        let (l, _) = language_code(lang);
        self.load_features(text, l);
        let n = &self.scratch.norm;
        let mut out: Vec<Feature> = n
            .features
            .iter()
            .enumerate()
            .map(|(i, &(id, _, _))| Feature {
                id,
                label: n.label(i).to_string(),
                concept: !is_term(id),
            })
            .collect();
        for &(id, _) in &self.scratch.feats {
            if !out.iter().any(|f| f.id == id) {
                out.push(Feature {
                    id,
                    label: self.label(id).to_string(),
                    concept: true,
                });
            }
        }
        out
    }

    /// A fresh grouper that starts from what another one learned.
    pub fn with_learned(config: GroupingConfig, learned: Learned) -> Self {
        let mut g = Grouper::new(config);
        for (&id, label) in &learned.labels {
            g.vocab.entry(id).or_default().label = label.as_str().into();
        }
        g.learned = learned;
        g
    }

    pub fn config(&self) -> &GroupingConfig {
        &self.config
    }

    /// Changes thresholds and bounds; the new bounds apply from the next post on.
    pub fn set_config(&mut self, config: GroupingConfig) {
        self.config = config;
    }

    pub fn learned(&self) -> &Learned {
        &self.learned
    }

    /// Counts a post's words towards document frequencies without assigning it (to warm a new
    /// grouper from history, so early posts are weighed like later ones).
    pub fn observe(&mut self, text: &str, lang: Option<&str>) {
        let (l, _) = language_code(lang);
        self.load_features(text, l);
        self.count_document();
    }

    /// Puts a post into the most similar open request, or opens a new one. A post that fits
    /// two open requests which look like one merges them first (`bridge`). A post already
    /// assigned stays where it is (assigning is idempotent).
    pub fn assign(
        &mut self,
        post_id: i64,
        text: &str,
        lang: Option<&str>,
        at: DateTime<Utc>,
    ) -> Assignment {
        if let Some(&request_id) = self.post_index.get(&post_id) {
            return Assignment {
                request_id,
                new: false,
                similarity: 1.0,
            };
        }
        let (l, code) = language_code(lang);
        self.load_features(text, l);
        self.count_document();
        self.weigh_features();
        let best = self.best_candidate(l.map(|l| l.code()));
        let features: Box<[u64]> = self.scratch.feats.iter().map(|f| f.0).collect();
        match best {
            Some((best, similarity)) if similarity >= self.config.threshold => {
                let threshold = self.config.threshold;
                let fitting: Vec<RequestId> = self
                    .scratch
                    .top
                    .iter()
                    .filter(|e| e.1 >= threshold)
                    .map(|e| e.0)
                    .collect();
                let request_id = self.bridge(best, &fitting);
                self.add_member(request_id, post_id, &code, at, features);
                Assignment {
                    request_id,
                    new: false,
                    similarity,
                }
            }
            other => {
                let request_id = self.open_request(at);
                self.add_member(request_id, post_id, &code, at, features);
                self.retire_if_full();
                Assignment {
                    request_id,
                    new: true,
                    similarity: other.map_or(0.0, |o| o.1),
                }
            }
        }
    }

    /// Opens a new request with this post, whatever its similarity to others (to rebuild the
    /// grouper from stored requests, or when an agent starts a request by hand).
    pub fn open(
        &mut self,
        post_id: i64,
        text: &str,
        lang: Option<&str>,
        at: DateTime<Utc>,
    ) -> RequestId {
        if let Some(&id) = self.post_index.get(&post_id) {
            return id;
        }
        let (l, code) = language_code(lang);
        self.load_features(text, l);
        self.count_document();
        let features: Box<[u64]> = self.scratch.feats.iter().map(|f| f.0).collect();
        let id = self.open_request(at);
        self.add_member(id, post_id, &code, at, features);
        self.retire_if_full();
        id
    }

    /// Adds a post to a given open request (to rebuild the grouper from stored requests).
    pub fn add_to(
        &mut self,
        request: RequestId,
        post_id: i64,
        text: &str,
        lang: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), super::GroupingError> {
        if !self.requests.contains_key(&request) {
            return Err(super::GroupingError::UnknownRequest(request));
        }
        if self.post_index.contains_key(&post_id) {
            return self.move_post(post_id, request);
        }
        let (l, code) = language_code(lang);
        self.load_features(text, l);
        self.count_document();
        let features: Box<[u64]> = self.scratch.feats.iter().map(|f| f.0).collect();
        self.add_member(request, post_id, &code, at, features);
        Ok(())
    }

    /// The similarity `assign` would give post `b` against a request holding only post `a`,
    /// without changing the grouper (for evaluation).
    pub fn pair_similarity(
        &mut self,
        a: &str,
        a_lang: Option<&str>,
        b: &str,
        b_lang: Option<&str>,
    ) -> f32 {
        let (la, code) = language_code(a_lang);
        self.load_features(a, la);
        let mut req = Request::new(DateTime::<Utc>::default());
        let ids: Vec<u64> = self.scratch.feats.iter().map(|f| f.0).collect();
        req.add_features(&ids, 1.0);
        req.mass = 1.0;
        req.count_language(&code, 1);
        self.compute_norms(&mut req);
        let (lb, _) = language_code(b_lang);
        self.load_features(b, lb);
        self.weigh_features();
        let feats = std::mem::take(&mut self.scratch.feats);
        let sim = self.similarity(&feats, &req, lb.map(|l| l.code()));
        self.scratch.feats = feats;
        sim
    }

    /// The features a text is read as (concept names and stems) with their current weights,
    /// strongest first: what an agent sees when asking why posts were grouped.
    pub fn explain(&mut self, text: &str, lang: Option<&str>) -> Vec<(String, f32)> {
        let (l, _) = language_code(lang);
        self.load_features(text, l);
        self.weigh_features();
        let mut out: Vec<(String, f32)> = self
            .scratch
            .feats
            .iter()
            .map(|&(f, w)| {
                let label = match self.vocab.get(&f) {
                    Some(s) => s.label.to_string(),
                    None => self
                        .scratch
                        .norm
                        .features
                        .iter()
                        .position(|e| e.0 == f)
                        .map_or_else(
                            || "?".to_string(),
                            |i| self.scratch.norm.label(i).to_string(),
                        ),
                };
                (label, w)
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// The similarity `assign` would give `text` against an open request (for explanations
    /// and evaluation); `None` for an unknown request.
    pub fn similarity_to(
        &mut self,
        request: RequestId,
        text: &str,
        lang: Option<&str>,
    ) -> Option<f32> {
        let (l, _) = language_code(lang);
        self.load_features(text, l);
        self.weigh_features();
        let feats = std::mem::take(&mut self.scratch.feats);
        let sim = self
            .requests
            .get(&request)
            .map(|r| self.similarity(&feats, r, l.map(|l| l.code())));
        self.scratch.feats = feats;
        sim
    }

    pub fn request(&self, id: RequestId) -> Option<RequestView> {
        let r = self.requests.get(&id)?;
        let mut top: Vec<(f32, u64)> = r
            .centroid
            .iter()
            .map(|&(f, c)| (r.share(c) * self.weight(f), f))
            .collect();
        top.sort_by(|a, b| b.0.total_cmp(&a.0));
        Some(RequestView {
            id,
            title: r.title.clone(),
            posts: r.members.len(),
            languages: r.langs.clone(),
            first_ask: r.first_at,
            latest_ask: r.latest_at,
            top_features: top
                .iter()
                .take(8)
                .map(|(_, f)| self.label(*f).to_string())
                .collect(),
        })
    }

    /// The open request a post is in.
    pub fn request_of(&self, post_id: i64) -> Option<RequestId> {
        self.post_index.get(&post_id).copied()
    }

    /// The posts of an open request, in the order they joined.
    pub fn posts_of(&self, id: RequestId) -> Option<&[i64]> {
        self.requests.get(&id).map(|r| r.members.as_slice())
    }

    /// The ids of all open requests, oldest first.
    pub fn request_ids(&self) -> Vec<RequestId> {
        let mut ids: Vec<RequestId> = self.requests.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    pub fn open_requests(&self) -> usize {
        self.requests.len()
    }

    /// Requests retired (the least recently asked) to stay within `max_open_requests` since
    /// the last call. They receive no more posts; their posts are forgotten.
    pub fn drain_retired(&mut self) -> Vec<RequestId> {
        std::mem::take(&mut self.retired)
    }

    pub fn stats(&self) -> GrouperStats {
        let postings: usize = self.vocab.values().map(|s| s.postings.len()).sum();
        let mut bytes = 0usize;
        for r in self.requests.values() {
            bytes += 256
                + r.members.capacity() * 8
                + r.centroid.capacity() * 16
                + r.indexed.capacity() * 8
                + r.recent
                    .iter()
                    .map(|m| 64 + m.features.len() * 8)
                    .sum::<usize>();
        }
        for s in self.vocab.values() {
            bytes += 80 + s.label.len() + s.postings.capacity() * 8;
        }
        bytes += self.post_index.capacity() * 24;
        GrouperStats {
            open_requests: self.requests.len(),
            posts: self.post_index.len(),
            posts_seen: self.posts_seen,
            vocabulary: self.vocab.len(),
            postings,
            longest_postings: self
                .vocab
                .values()
                .map(|s| s.postings.len())
                .max()
                .unwrap_or(0),
            largest_centroid: self
                .requests
                .values()
                .map(|r| r.centroid.len())
                .max()
                .unwrap_or(0),
            aliases: self.learned.aliases(),
            cannot_links: self.learned.cannot_links(),
            approx_bytes: bytes,
        }
    }
}
