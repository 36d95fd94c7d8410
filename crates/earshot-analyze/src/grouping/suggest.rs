//! Comparing requests with each other and posts with the rest of their request: what the
//! suggestions an agent sees ("these two requests look like one", "this ask may not belong")
//! are ranked by, and what the grouper's own merge of look-alike requests uses.

use super::grouper::{Grouper, Request};
use super::normalise::is_term;
use super::RequestId;
use std::collections::HashSet;

/// Requests at least this alike (centroid cosine) are offered to agents as one. Chosen on the
/// tuning half of `earshot-lab`'s asks: about 4 in 10 offers there were right at 0.4 (a third
/// at 0.3, two thirds of the few left at 0.5), so they are offered for an agent's judgement,
/// most alike first, never applied on their own.
pub const MERGE_SUGGESTION_MIN: f32 = 0.4;
/// An ask fitting the rest of its request less than this is offered for a move (on the tuning
/// half: 7 offers, 4 right; at 0.3 none).
pub const MISFIT_MAX: f32 = 0.4;
/// Requests (the most recently asked) whose look-alikes are looked for, so that suggestions
/// cost the same with 1,000 or 200,000 open requests.
const LOOKALIKE_REQUESTS: usize = 500;
/// Index entries read per feature when looking for a request's look-alikes.
const LOOKALIKE_SCANNED_PER_FEATURE: usize = 100;

impl Grouper {
    /// The weighted centroid of a request: (feature, share of its posts × weight), by feature.
    fn centroid_vector(&self, req: &Request) -> Vec<(u64, f32)> {
        req.centroid
            .iter()
            .map(|&(f, c)| (f, req.share(c) * self.weight(f)))
            .collect()
    }

    /// Cosine between two requests' weighted centroids. Across languages, stems found on one
    /// side only count as much as in [`Grouper::assign`] (they may be translations).
    pub(super) fn centroid_cosine(&self, a: &Request, b: &Request) -> f32 {
        let cross = match (a.language(), b.language()) {
            (Some(x), Some(y)) => x != y,
            _ => false,
        };
        let t2 = self.config.cross_language_term_weight.powi(2);
        let (va, vb) = (self.centroid_vector(a), self.centroid_vector(b));
        let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
        let (mut i, mut j) = (0, 0);
        let damp = |f: u64| if cross && is_term(f) { t2 } else { 1.0 };
        while i < va.len() || j < vb.len() {
            match (va.get(i), vb.get(j)) {
                (Some(&(fa, wa)), Some(&(fb, wb))) if fa == fb => {
                    dot += wa * wb;
                    na += wa * wa;
                    nb += wb * wb;
                    i += 1;
                    j += 1;
                }
                (Some(&(fa, wa)), Some(&(fb, _))) if fa < fb => {
                    na += wa * wa * damp(fa);
                    i += 1;
                }
                (Some(_), Some(&(fb, wb))) => {
                    nb += wb * wb * damp(fb);
                    j += 1;
                }
                (Some(&(fa, wa)), None) => {
                    na += wa * wa * damp(fa);
                    i += 1;
                }
                (None, Some(&(fb, wb))) => {
                    nb += wb * wb * damp(fb);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        if dot <= 0.0 {
            return 0.0;
        }
        (dot / (na.sqrt() * nb.sqrt()).max(1e-6)).clamp(0.0, 1.0)
    }

    /// How alike two open requests are (0..1); `None` when either is not open.
    pub fn request_similarity(&self, a: RequestId, b: RequestId) -> Option<f32> {
        let (ra, rb) = (self.requests.get(&a)?, self.requests.get(&b)?);
        Some(self.centroid_cosine(ra, rb))
    }

    /// The open requests most like `id`, most alike first (at most `limit`). Candidates come
    /// from the inverted index under `id`'s indexed features, so it costs the same with many
    /// open requests.
    pub fn lookalikes(&self, id: RequestId, limit: usize) -> Vec<(RequestId, f32)> {
        let Some(req) = self.requests.get(&id) else {
            return Vec::new();
        };
        let mut seen: HashSet<RequestId> = HashSet::new();
        let mut out = Vec::new();
        for f in &req.indexed {
            let Some(stats) = self.vocab.get(f) else {
                continue;
            };
            for &other in stats
                .postings
                .iter()
                .rev()
                .take(LOOKALIKE_SCANNED_PER_FEATURE.min(self.config.max_scanned_per_feature))
            {
                if other == id || !seen.insert(other) {
                    continue;
                }
                if let Some(r) = self.requests.get(&other) {
                    let sim = self.centroid_cosine(req, r);
                    if sim > 0.0 {
                        out.push((other, sim));
                    }
                }
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        out
    }

    /// Pairs of open requests that look like one request, most alike first: each of the most
    /// recently asked requests with its closest look-alikes at or above `min`, each pair once.
    pub fn lookalike_pairs(&self, min: f32, limit: usize) -> Vec<(RequestId, RequestId, f32)> {
        let mut pairs: Vec<(RequestId, RequestId, f32)> = Vec::new();
        let mut seen = HashSet::new();
        let mut recent: Vec<(chrono::DateTime<chrono::Utc>, RequestId)> = self
            .requests
            .iter()
            .map(|(id, r)| (r.latest_at, *id))
            .collect();
        if recent.len() > LOOKALIKE_REQUESTS {
            recent.select_nth_unstable_by(LOOKALIKE_REQUESTS - 1, |a, b| b.cmp(a));
            recent.truncate(LOOKALIKE_REQUESTS);
        }
        recent.sort_unstable_by_key(|e| e.1);
        for id in recent.into_iter().map(|e| e.1) {
            for (other, sim) in self.lookalikes(id, 3) {
                if sim < min {
                    break;
                }
                let key = (id.min(other), id.max(other));
                if seen.insert(key) {
                    pairs.push((key.0, key.1, sim));
                }
            }
        }
        pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        pairs.truncate(limit);
        pairs
    }

    /// How well each remembered post of a request fits the rest of it (0..1, worst first):
    /// the post against the request's centroid without it. A low fit is an ask that may not
    /// belong. Requests of one post have no such list.
    pub fn misfits(&self, id: RequestId) -> Vec<(i64, f32)> {
        let mut out: Vec<(i64, f32)> = self.fits(id).into_iter().map(|(p, _, f)| (p, f)).collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }

    /// The request's most representative remembered post: the one that fits the rest best,
    /// among those written in `lang` when given (`None` when it has none in `lang`). A request
    /// of one post is represented by it.
    pub fn representative(&self, id: RequestId, lang: Option<&str>) -> Option<i64> {
        let req = self.requests.get(&id)?;
        let in_lang = |l: &str| lang.is_none_or(|want| want == l);
        if req.members.len() < 2 {
            return req.recent.iter().find(|m| in_lang(&m.lang)).map(|m| m.post);
        }
        self.fits(id)
            .into_iter()
            .filter(|(_, l, _)| in_lang(l))
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.cmp(&a.0)))
            .map(|(p, _, _)| p)
    }

    /// (post, language, fit) for each remembered post of a request of two or more posts.
    fn fits(&self, id: RequestId) -> Vec<(i64, String, f32)> {
        let Some(req) = self.requests.get(&id) else {
            return Vec::new();
        };
        if req.members.len() < 2 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for m in &req.recent {
            let mut rest = req.clone();
            rest.add_features(&m.features, -1.0);
            rest.mass = (rest.mass - 1.0).max(0.0);
            rest.count_language(&m.lang, -1);
            if rest.mass <= 0.0 {
                continue;
            }
            self.compute_norms(&mut rest);
            let feats: Vec<(u64, f32)> = m.features.iter().map(|&f| (f, self.weight(f))).collect();
            let lang = (m.lang != "und").then_some(m.lang.as_str());
            out.push((m.post, m.lang.clone(), self.similarity(&feats, &rest, lang)));
        }
        out
    }

    /// The open request, other than its own, that a remembered post is most like, with the
    /// similarity `assign` would give it there. `None` for a post whose features are not
    /// remembered or that is like no other request.
    pub fn better_home(&self, post: i64) -> Option<(RequestId, f32)> {
        let own = *self.post_index.get(&post)?;
        let member = self
            .requests
            .get(&own)?
            .recent
            .iter()
            .find(|m| m.post == post)?;
        let mut feats: Vec<(u64, f32)> = member
            .features
            .iter()
            .map(|&f| (f, self.weight(f)))
            .collect();
        feats.sort_unstable_by_key(|f| f.0);
        let lang = (member.lang != "und").then_some(member.lang.as_str());
        let mut order = feats.clone();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen: HashSet<RequestId> = HashSet::new();
        let mut budget = self.config.max_postings_scanned;
        let mut best: Option<(RequestId, f32)> = None;
        for (f, _) in order {
            let Some(stats) = self.vocab.get(&f) else {
                continue;
            };
            for &r in stats
                .postings
                .iter()
                .rev()
                .take(self.config.max_scanned_per_feature.min(budget))
            {
                budget = budget.saturating_sub(1);
                if r == own || !seen.insert(r) {
                    continue;
                }
                if let Some(req) = self.requests.get(&r) {
                    let sim = self.similarity(&feats, req, lang);
                    if best.is_none_or(|b| sim > b.1 || (sim == b.1 && r < b.0)) {
                        best = Some((r, sim));
                    }
                }
            }
            if budget == 0 {
                break;
            }
        }
        best.filter(|b| b.1 > 0.0)
    }
}
