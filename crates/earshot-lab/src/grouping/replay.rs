//! Replays of the labelled set through the grouper, desk by desk in arrival order, as `serve`
//! groups a team's posts: a fresh grouper per desk, each ask assigned when it arrives.

use super::score::{score, GroupingScores, PairCounts, Placed};
use super::set::{arrival, Half, LabelledSet};
use chrono::{DateTime, Utc};
use earshot_analyze::grouping::{Grouper, GroupingConfig};
use earshot_analyze::Analyzer;
use std::collections::BTreeMap;

/// How many of the offered corrections are right.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuggestionQuality {
    pub merges: usize,
    pub right_merges: usize,
    pub moves: usize,
    pub right_moves: usize,
}

/// Which asks a replay streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Company {
    /// Only the scored half's asks (tuning never streams an evaluation ask).
    HalfOnly,
    /// Every ask of the desk; the other half's asks are unscored company.
    AllAsks,
}

/// The set prepared for replays: each ask's language as earshot detects it and the desks'
/// arrival orders.
pub struct Replay<'a> {
    pub set: &'a LabelledSet,
    /// The language `serve` would hand the grouper (detected from the text, as in the
    /// pipeline), per ask.
    pub langs: Vec<String>,
    desks: BTreeMap<&'a str, Vec<usize>>,
}

impl<'a> Replay<'a> {
    pub fn new(set: &'a LabelledSet) -> Replay<'a> {
        let analyzer = Analyzer::default();
        let langs = set
            .asks
            .iter()
            .map(|a| {
                analyzer
                    .analyze_text(&a.text, None, None)
                    .language
                    .language
                    .code()
                    .to_string()
            })
            .collect();
        Replay {
            set,
            langs,
            desks: set.desks(),
        }
    }

    fn grouper(&self, config: &GroupingConfig) -> Grouper {
        Grouper::new(config.clone())
    }

    /// The asks a replay of `half` streams, per desk in arrival order.
    fn streamed(&self, half: Half, company: Company) -> Vec<(&'a str, Vec<usize>)> {
        self.desks
            .iter()
            .map(|(desk, ids)| {
                let ids = ids
                    .iter()
                    .copied()
                    .filter(|&i| company == Company::AllAsks || self.set.asks[i].half == half)
                    .collect();
                (*desk, ids)
            })
            .collect()
    }

    /// Streams and returns, per streamed ask, (ask index, request id unique over desks).
    pub fn stream(
        &self,
        config: &GroupingConfig,
        half: Half,
        company: Company,
    ) -> Vec<(usize, u64)> {
        self.stream_where(config, |i| {
            company == Company::AllAsks || self.set.asks[i].half == half
        })
    }

    /// Streams the asks `keep` selects (by index), each desk through its own grouper.
    pub fn stream_where(
        &self,
        config: &GroupingConfig,
        keep: impl Fn(usize) -> bool,
    ) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        for (d, ids) in self.desks.values().enumerate() {
            let ids: Vec<usize> = ids.iter().copied().filter(|&i| keep(i)).collect();
            let g = self.stream_desk(config, &ids);
            for &i in &ids {
                if let Some(r) = g.request_of(i as i64) {
                    out.push((i, ((d as u64) << 40) | r.0));
                }
            }
        }
        out
    }

    /// One desk's asks (`ids`, in arrival order) through a fresh grouper; post ids are the
    /// asks' indices.
    fn stream_desk(&self, config: &GroupingConfig, ids: &[usize]) -> Grouper {
        let mut g = self.grouper(config);
        let mut at: Option<DateTime<Utc>> = None;
        for &i in ids {
            let ask = &self.set.asks[i];
            let when = arrival(ask, at);
            at = Some(when);
            g.assign(i as i64, &ask.text, Some(&self.langs[i]), when);
        }
        g
    }

    /// Streams `half` and scores it.
    pub fn scores(&self, config: &GroupingConfig, half: Half, company: Company) -> GroupingScores {
        let streamed = self.stream(config, half, company);
        self.score_streamed(&streamed, |i| self.set.asks[i].half == half)
    }

    /// Scores a stream's result on the asks `scored` selects.
    pub fn score_streamed(
        &self,
        streamed: &[(usize, u64)],
        scored: impl Fn(usize) -> bool,
    ) -> GroupingScores {
        let placed: Vec<Placed<'_>> = streamed
            .iter()
            .map(|&(i, predicted)| Placed {
                gold: &self.set.asks[i].request,
                predicted,
                scored: scored(i),
            })
            .collect();
        let desks: Vec<&str> = streamed
            .iter()
            .map(|&(i, _)| self.set.asks[i].desk.as_str())
            .collect();
        score(&placed, &desks)
    }

    /// After streaming `half`, the corrections agents would be offered, checked against the
    /// labels: a merge is right when both requests' largest labelled request is the same; a
    /// move is right when the ask is not of its request's largest labelled request.
    pub fn suggestion_quality(
        &self,
        config: &GroupingConfig,
        half: Half,
        merge_min: f32,
        misfit_max: f32,
    ) -> SuggestionQuality {
        let mut q = SuggestionQuality::default();
        for ids in self.desks.values() {
            let ids: Vec<usize> = ids
                .iter()
                .copied()
                .filter(|&i| self.set.asks[i].half == half)
                .collect();
            let mut g = self.grouper(config);
            let mut at: Option<DateTime<Utc>> = None;
            for &i in &ids {
                let ask = &self.set.asks[i];
                let when = arrival(ask, at);
                at = Some(when);
                g.assign(i as i64, &ask.text, Some(&self.langs[i]), when);
            }
            let majority = |r| -> Option<&str> {
                let mut n: BTreeMap<&str, usize> = BTreeMap::new();
                for &p in g.posts_of(r)? {
                    *n.entry(self.set.asks[p as usize].request.as_str())
                        .or_default() += 1;
                }
                n.into_iter().max_by_key(|e| e.1).map(|e| e.0)
            };
            for (a, b, _) in g.lookalike_pairs(merge_min, usize::MAX) {
                q.merges += 1;
                q.right_merges += (majority(a) == majority(b)) as usize;
            }
            for r in g.request_ids() {
                if g.posts_of(r).map_or(0, <[i64]>::len) < 3 {
                    continue;
                }
                let top = majority(r);
                for (post, fit) in g.misfits(r) {
                    if fit >= misfit_max {
                        break;
                    }
                    q.moves += 1;
                    q.right_moves +=
                        (Some(self.set.asks[post as usize].request.as_str()) != top) as usize;
                }
            }
        }
        q
    }

    /// Pairwise reading, no stream: for every pair of `half`'s asks in one desk, the second
    /// against a request holding only the first, in both orders; joined when both reach the
    /// threshold. Word rarity comes from the desk's asks of that half.
    pub fn pairwise(&self, config: &GroupingConfig, half: Half) -> PairCounts {
        let mut counts = PairCounts::default();
        for (_, ids) in self.streamed(half, Company::HalfOnly) {
            let mut g = self.grouper(config);
            for &i in &ids {
                g.observe(&self.set.asks[i].text, Some(&self.langs[i]));
            }
            for (k, &a) in ids.iter().enumerate() {
                for &b in &ids[k + 1..] {
                    let (x, y) = (&self.set.asks[a], &self.set.asks[b]);
                    let (lx, ly) = (Some(self.langs[a].as_str()), Some(self.langs[b].as_str()));
                    let sim = g
                        .pair_similarity(&x.text, lx, &y.text, ly)
                        .min(g.pair_similarity(&y.text, ly, &x.text, lx));
                    counts.add(x.request == y.request, sim >= config.threshold);
                }
            }
        }
        counts
    }
}
