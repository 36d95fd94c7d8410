//! Agents' corrections and what the grouper learns from them.
//!
//! - A **merge** says two requests are one ask. When their posts are in different languages,
//!   the distinctive stems of each side (frequent in it, absent from the other) are linked
//!   through a learned concept, so the next Danish "tilbage" meets the English "back".
//! - A **split** or **move** says posts did not belong. The features the two sides shared and
//!   that weighed most in joining them lose weight everywhere, and the distinctive features of
//!   each side become cannot-link pairs: a later post carrying one of them is kept away from a
//!   request dominated by the other. A move into a request in another language also teaches
//!   aliases, like a merge.
//! - A **rename** counts the title's words in the request like one more post.

use super::grouper::{language_code, Grouper, Member};
use super::normalise::{is_term, learned_id};
use super::{GroupingError, RequestId};
use crate::fingerprint::mix;

/// How much a split lowers the weight of a feature that joined the wrong posts.
const WRONG_JOIN_FACTOR: f32 = 0.7;
/// Weights never fall below this: a feature stays usable with other evidence.
const MIN_WEIGHT: f32 = 0.2;
/// Features linked or separated per side of a correction.
const PER_SIDE: usize = 3;
/// Features lowered per split.
const LOWERED: usize = 2;
/// A feature is distinctive of a side when at least this share of its posts carry it.
const DISTINCTIVE_SHARE: f32 = 0.5;

/// One side of a correction: (feature, share of its posts carrying it).
type Side = Vec<(u64, f32)>;

impl Grouper {
    /// Merges request `from` into `into` (which keeps its id and title, or takes `from`'s title
    /// when it had none).
    pub fn merge(&mut self, into: RequestId, from: RequestId) -> Result<(), GroupingError> {
        if into == from {
            return Err(GroupingError::SameRequest);
        }
        for id in [into, from] {
            if !self.requests.contains_key(&id) {
                return Err(GroupingError::UnknownRequest(id));
            }
        }
        let alias = {
            let (a, b) = (&self.requests[&into], &self.requests[&from]);
            match (a.language(), b.language()) {
                (Some(la), Some(lb)) if la != lb => {
                    let (sa, sb) = (self.side_of(into), self.side_of(from));
                    self.teach_aliases(&sa, &sb)
                }
                _ => None,
            }
        };
        self.absorb(into, from)?;
        if let (Some((concept, linked)), Some(dst)) = (alias, self.requests.get_mut(&into)) {
            // The merged request carries the new concept as often as its strongest linked stem.
            let count = linked
                .iter()
                .filter_map(|f| dst.count_of(*f))
                .fold(0.0f32, f32::max);
            if count > 0.0 && dst.count_of(concept).is_none() {
                dst.add_features(&[concept], count);
            }
        }
        self.refresh(into);
        self.learned.merges += 1;
        tracing::debug!(%into, %from, "merged requests");
        Ok(())
    }

    /// Moves every post of `from` into `into` and forgets `from`, learning nothing (the first
    /// step of an agent's merge).
    pub(super) fn absorb(&mut self, into: RequestId, from: RequestId) -> Result<(), GroupingError> {
        if into == from {
            return Err(GroupingError::SameRequest);
        }
        if !self.requests.contains_key(&into) {
            return Err(GroupingError::UnknownRequest(into));
        }
        let Some(src) = self.remove_request(from) else {
            return Err(GroupingError::UnknownRequest(from));
        };
        let cap = self.config.remembered_posts;
        for &p in &src.members {
            self.post_index.insert(p, into);
        }
        let Some(dst) = self.requests.get_mut(&into) else {
            return Err(GroupingError::UnknownRequest(into));
        };
        dst.members.extend_from_slice(&src.members);
        for &(f, c) in &src.centroid {
            match dst.centroid.binary_search_by_key(&f, |e| e.0) {
                Ok(i) => dst.centroid[i].1 += c,
                Err(i) => dst.centroid.insert(i, (f, c)),
            }
        }
        dst.mass += src.mass;
        for (l, n) in &src.langs {
            dst.count_language(l, *n as i64);
        }
        dst.first_at = dst.first_at.min(src.first_at);
        dst.latest_at = dst.latest_at.max(src.latest_at);
        if dst.title.is_none() {
            dst.title = src.title;
            dst.title_features = src.title_features;
        }
        dst.recent.extend(src.recent);
        dst.recent.make_contiguous().sort_by_key(|m| m.at);
        while dst.recent.len() > cap {
            dst.recent.pop_front();
        }
        self.refresh(into);
        Ok(())
    }

    /// Moves `posts` of `request` into a new request and returns its id.
    pub fn split(&mut self, request: RequestId, posts: &[i64]) -> Result<RequestId, GroupingError> {
        let req = self
            .requests
            .get(&request)
            .ok_or(GroupingError::UnknownRequest(request))?;
        let mut moving: Vec<i64> = posts.to_vec();
        moving.sort_unstable();
        moving.dedup();
        if let Some(&post) = moving
            .iter()
            .find(|p| self.post_index.get(p) != Some(&request))
        {
            return Err(GroupingError::NotInRequest { post, request });
        }
        if moving.is_empty() || moving.len() >= req.members.len() {
            return Err(GroupingError::EmptySplit);
        }
        let taken = self.take_members(request, &moving);
        let at = taken
            .iter()
            .map(|m| m.at)
            .min()
            .unwrap_or(self.requests[&request].latest_at);
        let new_id = self.open_request(at);
        for &p in &moving {
            match taken.iter().find(|m| m.post == p) {
                Some(m) => {
                    self.add_member(new_id, p, &m.lang, m.at, m.features.clone());
                }
                None => self.add_bare_member(new_id, p),
            }
        }
        let (moved, stayed) = (self.side_of(new_id), self.side_of(request));
        self.teach_apart(&moved, &stayed);
        self.refresh(request);
        self.refresh(new_id);
        self.learned.splits += 1;
        tracing::debug!(%request, %new_id, posts = moving.len(), "split request");
        Ok(new_id)
    }

    /// Moves one post into another open request. The request it leaves is closed when it
    /// becomes empty.
    pub fn move_post(&mut self, post: i64, to: RequestId) -> Result<(), GroupingError> {
        let from = *self
            .post_index
            .get(&post)
            .ok_or(GroupingError::UnknownPost(post))?;
        if !self.requests.contains_key(&to) {
            return Err(GroupingError::UnknownRequest(to));
        }
        if from == to {
            return Ok(());
        }
        let taken = self.take_members(from, &[post]);
        let member = taken.into_iter().next();
        if let Some(m) = &member {
            let post_side: Side = m.features.iter().map(|f| (*f, 1.0)).collect();
            let stayed = self.side_of(from);
            if !stayed.is_empty() {
                self.teach_apart(&post_side, &stayed);
            }
            let target_lang = self.requests[&to].language().map(str::to_string);
            if let Some(tl) = target_lang {
                if m.lang != "und" && m.lang != tl {
                    let target = self.side_of(to);
                    self.teach_aliases(&post_side, &target);
                }
            }
        }
        if self
            .requests
            .get(&from)
            .is_some_and(|r| r.members.is_empty())
        {
            self.remove_request(from);
        } else {
            self.refresh(from);
        }
        match member {
            Some(m) => {
                let mut features = m.features.to_vec();
                for f in m.features.iter() {
                    if let Some(&a) = self.learned.aliases.get(f) {
                        features.push(a);
                    }
                }
                features.sort_unstable();
                features.dedup();
                self.add_member(to, post, &m.lang, m.at, features.into());
            }
            None => self.add_bare_member(to, post),
        }
        self.learned.moves += 1;
        tracing::debug!(post, %from, %to, "moved post");
        Ok(())
    }

    /// Names a request; the title's words count in it like one more post's.
    pub fn rename(&mut self, request: RequestId, title: &str) -> Result<(), GroupingError> {
        let lang = self
            .requests
            .get(&request)
            .ok_or(GroupingError::UnknownRequest(request))?
            .language()
            .map(str::to_string);
        let (l, _) = language_code(lang.as_deref());
        self.load_features(title, l);
        let features: Vec<u64> = self.scratch.feats.iter().map(|f| f.0).collect();
        // Titles add their words to the vocabulary so they can be shown, but are not posts.
        for (i, &(f, _, _)) in self.scratch.norm.features.iter().enumerate() {
            let label = self.scratch.norm.label(i);
            self.vocab
                .entry(f)
                .or_insert_with(|| super::grouper::FeatureStats {
                    label: label.into(),
                    ..Default::default()
                });
        }
        let Some(req) = self.requests.get_mut(&request) else {
            return Err(GroupingError::UnknownRequest(request));
        };
        if req.title.is_some() {
            let old = std::mem::take(&mut req.title_features);
            req.add_features(&old, -1.0);
            req.mass -= 1.0;
        }
        req.add_features(&features, 1.0);
        req.mass += 1.0;
        req.title = Some(title.trim().to_string());
        req.title_features = features;
        self.refresh(request);
        self.learned.renames += 1;
        Ok(())
    }

    /// Closes a request (shipped, declined): it receives no more posts and its posts are
    /// forgotten. Returns what it was.
    pub fn close(&mut self, request: RequestId) -> Result<super::RequestView, GroupingError> {
        let view = self
            .request(request)
            .ok_or(GroupingError::UnknownRequest(request))?;
        self.remove_request(request);
        Ok(view)
    }

    // ---- helpers ----

    /// Takes posts out of a request: members, index, and (when remembered) their features and
    /// languages. Returns the remembered ones.
    fn take_members(&mut self, request: RequestId, posts: &[i64]) -> Vec<Member> {
        let Some(req) = self.requests.get_mut(&request) else {
            return Vec::new();
        };
        req.members.retain(|p| !posts.contains(p));
        let mut taken = Vec::new();
        let mut i = 0;
        while i < req.recent.len() {
            if posts.contains(&req.recent[i].post) {
                if let Some(m) = req.recent.remove(i) {
                    taken.push(m);
                }
            } else {
                i += 1;
            }
        }
        for m in &taken {
            req.add_features(&m.features, -1.0);
            req.count_language(&m.lang, -1);
        }
        // Posts whose features were forgotten still leave the count.
        req.mass = (req.mass - posts.len() as f32).max(0.0);
        for p in posts {
            self.post_index.remove(p);
        }
        taken
    }

    /// A post whose features were forgotten: counted as a member only.
    fn add_bare_member(&mut self, request: RequestId, post: i64) {
        if let Some(req) = self.requests.get_mut(&request) {
            req.members.push(post);
            self.post_index.insert(post, request);
        }
    }

    /// A request's centroid as shares.
    fn side_of(&self, id: RequestId) -> Side {
        self.requests.get(&id).map_or_else(Vec::new, |r| {
            r.centroid.iter().map(|&(f, c)| (f, r.share(c))).collect()
        })
    }

    /// The strongest stems of `side` that `other` lacks.
    fn distinctive(&self, side: &Side, other: &Side, terms_only: bool) -> Vec<u64> {
        let in_other = |f: u64| other.binary_search_by_key(&f, |e| e.0).is_ok();
        let mut v: Vec<(f32, u64)> = side
            .iter()
            .filter(|(f, s)| {
                *s >= DISTINCTIVE_SHARE && !in_other(*f) && (!terms_only || is_term(*f))
            })
            .map(|&(f, s)| (s * self.idf(f), f))
            .collect();
        v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().take(PER_SIDE).map(|e| e.1).collect()
    }

    /// Links the distinctive stems of two sides that are the same ask in different languages.
    /// Returns the learned concept and the stems it links.
    fn teach_aliases(&mut self, a: &Side, b: &Side) -> Option<(u64, Vec<u64>)> {
        let da = self.distinctive(a, b, true);
        let db = self.distinctive(b, a, true);
        if da.is_empty() || db.is_empty() {
            return None;
        }
        let mut linked: Vec<u64> = da.iter().chain(&db).copied().collect();
        linked.sort_unstable();
        let concept = linked
            .iter()
            .find_map(|f| self.learned.aliases.get(f).copied())
            .unwrap_or_else(|| learned_id(linked.iter().fold(0, |h, f| mix(h ^ f))));
        let mut df = 0u32;
        for &f in &linked {
            if self.learned.aliases.len() >= self.config.max_learned {
                break;
            }
            self.learned.aliases.entry(f).or_insert(concept);
            df = df.saturating_add(self.vocab.get(&f).map_or(0, |s| s.df));
        }
        let label = format!(
            "≈{}",
            linked
                .iter()
                .map(|f| self.label(*f))
                .collect::<Vec<_>>()
                .join("/")
        );
        self.learned.labels.insert(concept, label.clone());
        let entry = self.vocab.entry(concept).or_default();
        entry.label = label.into();
        entry.df = entry.df.max(df);
        // Posts in either language no longer count as apart on these stems.
        for f in &linked {
            if let Some(others) = self.learned.cannot_link.get_mut(f) {
                others.retain(|o| !linked.contains(o));
            }
        }
        self.learned.cannot_link.retain(|_, v| !v.is_empty());
        tracing::debug!(concept = %self.label(concept), "learned alias");
        Some((concept, linked))
    }

    /// Learns from posts that were grouped but do not belong together.
    fn teach_apart(&mut self, moved: &Side, stayed: &Side) {
        let share_in = |side: &Side, f: u64| {
            side.binary_search_by_key(&f, |e| e.0)
                .ok()
                .map_or(0.0, |i| side[i].1)
        };
        let mut shared: Vec<(f32, u64)> = moved
            .iter()
            .filter_map(|&(f, s)| {
                let t = share_in(stayed, f);
                (t >= 0.2).then(|| (self.weight(f).powi(2) * s * t, f))
            })
            .collect();
        shared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, f) in shared.iter().take(LOWERED) {
            if self.learned.weights.len() >= self.config.max_learned {
                break;
            }
            let w = self.learned.weights.entry(f).or_insert(1.0);
            *w = (*w * WRONG_JOIN_FACTOR).max(MIN_WEIGHT);
        }
        let dm = self.distinctive(moved, stayed, false);
        let ds = self.distinctive(stayed, moved, false);
        for &x in &dm {
            for &y in &ds {
                if self.learned.cannot_links() >= self.config.max_learned {
                    return;
                }
                for (p, q) in [(x, y), (y, x)] {
                    let v = self.learned.cannot_link.entry(p).or_default();
                    if !v.contains(&q) {
                        v.push(q);
                    }
                }
            }
        }
    }
}
