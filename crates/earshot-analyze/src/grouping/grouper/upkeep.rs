//! Keeping the requests and the index: opening a request, adding an ask, refreshing a
//! centroid and its index entries, removing a merged request, retiring the oldest when the
//! grouper is full, and pruning the vocabulary.

use super::*;

impl Grouper {
    pub(in crate::grouping) fn open_request(&mut self, at: DateTime<Utc>) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests.insert(id, Request::new(at));
        id
    }

    /// Adds a post to a request: members, centroid, languages, times, index.
    pub(in crate::grouping) fn add_member(
        &mut self,
        id: RequestId,
        post: i64,
        lang: &str,
        at: DateTime<Utc>,
        features: Box<[u64]>,
    ) {
        let cap = self.config.remembered_posts;
        let Some(req) = self.requests.get_mut(&id) else {
            return;
        };
        req.members.push(post);
        req.add_features(&features, 1.0);
        req.mass += 1.0;
        req.count_language(lang, 1);
        req.first_at = req.first_at.min(at);
        req.latest_at = req.latest_at.max(at);
        if cap > 0 {
            req.recent.push_back(Member {
                post,
                lang: lang.to_string(),
                at,
                features,
            });
            while req.recent.len() > cap {
                req.recent.pop_front();
            }
        }
        self.post_index.insert(post, id);
        self.refresh(id);
    }

    /// Trims the centroid, recomputes its norms and enters it in the index.
    pub(in crate::grouping) fn refresh(&mut self, id: RequestId) {
        let Some(mut req) = self.requests.remove(&id) else {
            return;
        };
        let max = self.config.max_centroid_features.max(1);
        if req.centroid.len() > max {
            let mut ranked: Vec<(f32, f32, u64)> = req
                .centroid
                .iter()
                .map(|&(f, c)| (c, self.weight(f), f))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
            let mut keep: Vec<u64> = ranked.iter().take(max).map(|e| e.2).collect();
            keep.sort_unstable();
            req.centroid.retain(|e| keep.binary_search(&e.0).is_ok());
        }
        self.compute_norms(&mut req);
        let mut rarest: Vec<(f32, u64)> = req
            .centroid
            .iter()
            .map(|&(f, _)| (self.idf(f), f))
            .collect();
        rarest.sort_by(|a, b| b.0.total_cmp(&a.0));
        let want = self.config.max_indexed_per_request;
        let common_df =
            (self.config.max_index_share * self.posts_seen as f32).max(MIN_DF_COMMON as f32);
        for &(_, f) in rarest.iter().take(want) {
            if req.indexed.len() >= 2 * want {
                break;
            }
            if req.indexed.contains(&f) {
                continue;
            }
            let Some(stats) = self.vocab.get_mut(&f) else {
                continue;
            };
            if stats.df as f32 > common_df {
                continue;
            }
            stats.postings.push_back(id);
            while stats.postings.len() > self.config.max_postings_per_feature {
                stats.postings.pop_front();
            }
            req.indexed.push(f);
        }
        self.requests.insert(id, req);
    }

    pub(in crate::grouping) fn compute_norms(&self, req: &mut Request) {
        let (mut n2, mut t2) = (0.0f32, 0.0f32);
        for &(f, c) in &req.centroid {
            let v = req.share(c) * self.weight(f);
            n2 += v * v;
            if is_term(f) {
                t2 += v * v;
            }
        }
        req.norm2 = n2;
        req.term_norm2 = t2;
    }

    /// Removes a request and forgets its posts.
    pub(in crate::grouping) fn remove_request(&mut self, id: RequestId) -> Option<Request> {
        let req = self.requests.remove(&id)?;
        for p in &req.members {
            if self.post_index.get(p) == Some(&id) {
                self.post_index.remove(p);
            }
        }
        Some(req)
    }

    /// Retires the least recently asked requests, 1% at a time, beyond `max_open_requests`.
    pub(super) fn retire_if_full(&mut self) {
        let cap = self.config.max_open_requests.max(1);
        if self.requests.len() <= cap {
            return;
        }
        let batch = (cap / 100).max(1).min(self.requests.len());
        let mut by_age: Vec<(DateTime<Utc>, RequestId)> = self
            .requests
            .iter()
            .map(|(id, r)| (r.latest_at, *id))
            .collect();
        by_age.select_nth_unstable(batch - 1);
        for &(_, id) in &by_age[..batch] {
            self.remove_request(id);
            self.retired.push(id);
        }
        tracing::debug!(
            retired = batch,
            open = self.requests.len(),
            "retired old requests"
        );
    }

    /// Forgets rarely seen features that no request is indexed under and nothing learned uses.
    pub(super) fn prune_vocabulary(&mut self) {
        let target = self.config.max_vocabulary * 9 / 10;
        let mut min_df = 1u32;
        while self.vocab.len() > target && min_df < u32::MAX / 2 {
            let learned = &self.learned;
            self.vocab.retain(|f, s| {
                s.df > min_df
                    || !s.postings.is_empty()
                    || learned.aliases.contains_key(f)
                    || learned.labels.contains_key(f)
                    || learned.weights.contains_key(f)
                    || learned.cannot_link.contains_key(f)
            });
            min_df *= 2;
        }
        tracing::debug!(vocabulary = self.vocab.len(), "pruned grouping vocabulary");
    }
}
