//! How alike a post and a request are: feature weights (rarity, what corrections taught),
//! the candidates the inverted index offers, the cosine against a request's centroid and its
//! closest remembered asks, and the cannot-links agents' moves recorded.

use super::*;

impl Grouper {
    pub(in crate::grouping) fn label(&self, f: u64) -> &str {
        self.vocab.get(&f).map_or("?", |s| &s.label)
    }

    /// Inverse document frequency over the posts seen so far.
    pub(in crate::grouping) fn idf(&self, f: u64) -> f32 {
        let df = (self.vocab.get(&f).map_or(1, |s| s.df.max(1)) as f32).max(self.config.idf_min_df);
        (1.0 + self.posts_seen.max(1) as f32 / df).ln()
    }

    pub(in crate::grouping) fn weight(&self, f: u64) -> f32 {
        let kind = if is_term(f) {
            1.0
        } else {
            self.config.concept_weight
        };
        self.idf(f) * self.learned.weight(f) * kind
    }

    /// Normalises `text` into `scratch.norm` and `scratch.feats` (with learned aliases added).
    pub(in crate::grouping) fn load_features(&mut self, text: &str, lang: Option<Lang>) {
        let s = &mut self.scratch;
        normalise::normalise(text, lang, &mut s.words, &mut s.norm);
        s.feats.clear();
        s.feats.extend(s.norm.ids().map(|f| (f, 0.0)));
        if !self.learned.aliases.is_empty() {
            for f in s.norm.ids() {
                if let Some(&alias) = self.learned.aliases.get(&f) {
                    s.feats.push((alias, 0.0));
                }
            }
            s.feats.sort_unstable_by_key(|f| f.0);
            s.feats.dedup_by_key(|f| f.0);
        }
    }

    /// Counts the loaded post in the document frequencies.
    pub(super) fn count_document(&mut self) {
        self.posts_seen += 1;
        let s = &self.scratch;
        for (i, &(f, _, _)) in s.norm.features.iter().enumerate() {
            let e = self.vocab.entry(f).or_insert_with(|| FeatureStats {
                label: s.norm.label(i).into(),
                ..FeatureStats::default()
            });
            e.df = e.df.saturating_add(1);
        }
        for &(f, _) in &s.feats {
            if !normalise::is_term(f) && self.learned.labels.contains_key(&f) {
                self.vocab.entry(f).or_default().df += 1;
            }
        }
        if self.vocab.len() > self.config.max_vocabulary {
            self.prune_vocabulary();
        }
    }

    pub(in crate::grouping) fn weigh_features(&mut self) {
        let mut feats = std::mem::take(&mut self.scratch.feats);
        for f in feats.iter_mut() {
            f.1 = self.weight(f.0);
        }
        self.scratch.feats = feats;
    }

    /// The most similar open request among the candidates the index yields.
    pub(super) fn best_candidate(&mut self, lang: Option<&str>) -> Option<(RequestId, f32)> {
        let mut s = std::mem::take(&mut self.scratch);
        s.order.clear();
        s.order.extend_from_slice(&s.feats);
        s.order.sort_by(|a, b| b.1.total_cmp(&a.1));
        s.cands.clear();
        let mut budget = self.config.max_postings_scanned;
        for &(f, w) in &s.order {
            if budget == 0 {
                break;
            }
            let Some(stats) = self.vocab.get(&f) else {
                continue;
            };
            let take = stats
                .postings
                .len()
                .min(self.config.max_scanned_per_feature)
                .min(budget);
            for r in stats.postings.iter().rev().take(take) {
                *s.cands.entry(*r).or_insert(0.0) += w * w;
            }
            budget -= take;
        }
        s.top.clear();
        s.top.extend(s.cands.iter().map(|(r, v)| (*r, *v)));
        let k = self.config.max_candidates.max(1);
        if s.top.len() > k {
            s.top
                .select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            s.top.truncate(k);
        }
        for e in s.top.iter_mut() {
            e.1 = self
                .requests
                .get(&e.0)
                .map_or(-1.0, |req| self.similarity(&s.feats, req, lang));
        }
        // Ties go to the older request, so results do not depend on hash order.
        s.top
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let members = self.config.member_candidates;
        if members > 0 {
            for e in s.top.iter_mut().take(members) {
                if let Some(req) = self.requests.get(&e.0) {
                    e.1 = e.1.max(self.closest_member(&s.feats, req, lang));
                }
            }
            let n = members.min(s.top.len());
            s.top[..n].sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let best = s.top.first().filter(|e| e.1 >= 0.0).copied();
        self.scratch = s;
        best
    }

    /// Cosine with the most similar remembered post of a request: a post can be close to one
    /// ask of a large request without being close to its average.
    pub(super) fn closest_member(
        &self,
        feats: &[(u64, f32)],
        req: &Request,
        lang: Option<&str>,
    ) -> f32 {
        let t2 = self.config.cross_language_term_weight.powi(2);
        let mut best = 0.0f32;
        for m in &req.recent {
            let cross = lang.is_some_and(|l| m.lang != "und" && m.lang != l);
            let (mut dot, mut p2, mut m2) = (0.0f32, 0.0f32, 0.0f32);
            for &(f, w) in feats {
                let shared = m.features.binary_search(&f).is_ok();
                let d = if cross && !shared && is_term(f) {
                    t2
                } else {
                    1.0
                };
                p2 += w * w * d;
                if shared {
                    dot += w * w;
                }
            }
            if dot <= 0.0 {
                continue;
            }
            for &f in m.features.iter() {
                let w = self.weight(f);
                let shared = feats.binary_search_by_key(&f, |e| e.0).is_ok();
                let d = if cross && !shared && is_term(f) {
                    t2
                } else {
                    1.0
                };
                m2 += w * w * d;
            }
            best = best.max(dot / (p2.sqrt() * m2.sqrt()).max(1e-6));
        }
        best
    }

    /// Weighted cosine between a post's features (sorted, weighed) and a request's centroid.
    pub(in crate::grouping) fn similarity(
        &self,
        feats: &[(u64, f32)],
        req: &Request,
        lang: Option<&str>,
    ) -> f32 {
        if req.mass <= 0.0 || req.norm2 <= 0.0 {
            return 0.0;
        }
        let cross = match (lang, req.language()) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        };
        let t2 = self.config.cross_language_term_weight.powi(2);
        let mut dot = 0.0f32;
        let mut p2 = 0.0f32;
        let mut shared_terms2 = 0.0f32;
        for &(f, w) in feats {
            match req.count_of(f) {
                Some(count) => {
                    let c = req.share(count) * w;
                    dot += w * c;
                    p2 += w * w;
                    if is_term(f) {
                        shared_terms2 += c * c;
                    }
                }
                None if cross && is_term(f) => p2 += w * w * t2,
                None => p2 += w * w,
            }
        }
        if dot <= 0.0 {
            return 0.0;
        }
        let c2 = if cross {
            let unmatched_terms = (req.term_norm2 - shared_terms2).max(0.0);
            (req.norm2 - (1.0 - t2) * unmatched_terms).max(1e-6)
        } else {
            req.norm2
        };
        let mut sim = (dot / (p2.sqrt() * c2.sqrt())).clamp(0.0, 1.0);
        if !self.learned.cannot_link.is_empty() && self.cannot_link(feats, req) {
            sim *= CANNOT_LINK_FACTOR;
        }
        sim
    }

    /// A learned cannot-link pair separates this post from this request.
    pub(super) fn cannot_link(&self, feats: &[(u64, f32)], req: &Request) -> bool {
        let has = |f: u64| feats.binary_search_by_key(&f, |e| e.0).is_ok();
        feats.iter().any(|&(f, _)| {
            self.learned.cannot_link.get(&f).is_some_and(|others| {
                others.iter().any(|&o| {
                    !has(o)
                        && req
                            .count_of(o)
                            .is_some_and(|c| req.share(c) >= CANNOT_LINK_SHARE)
                })
            })
        })
    }
}
