//! Scores of a grouping against the labels: B-cubed precision and recall, the share of pure
//! requests, the merges an agent would still make, and pairwise counts beside them.
//!
//! Every figure is over the *scored* asks (one half); the other asks streamed with them still
//! count as company: an evaluation ask that joined a tuning ask's request joined a different
//! request (halves never share one), so precision drops.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One ask as scored: its gold request, the request the grouper put it in (unique over desks)
/// and whether it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed<'a> {
    pub gold: &'a str,
    pub predicted: u64,
    pub scored: bool,
}

/// Pair counts: every pair of scored asks of one desk, labelled same or different, joined or
/// not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PairCounts {
    pub pairs: u64,
    /// Pairs asking for the same thing.
    pub same: u64,
    /// Pairs the grouping put together.
    pub joined: u64,
    /// Same and joined.
    pub both: u64,
}

impl PairCounts {
    pub fn add(&mut self, same: bool, joined: bool) {
        self.pairs += 1;
        self.same += same as u64;
        self.joined += joined as u64;
        self.both += (same && joined) as u64;
    }

    pub fn precision(&self) -> f64 {
        ratio(self.both, self.joined)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.both, self.same)
    }

    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
}

/// What an agent would see after a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GroupingScores {
    /// Scored asks.
    pub asks: usize,
    /// Distinct labelled requests among them.
    pub requests: usize,
    /// B-cubed precision and recall, averaged over scored asks.
    pub precision: f64,
    pub recall: f64,
    /// The same over asks whose request has two or more asks (a lone ask always has recall 1).
    pub shared_precision: f64,
    pub shared_recall: f64,
    pub shared_asks: usize,
    /// Requests the grouper opened that hold a scored ask, and those of them that hold asks of
    /// one labelled request only.
    pub opened: usize,
    pub pure: usize,
    /// Opened requests with two or more asks, and the pure ones among them.
    pub opened_multi: usize,
    pub pure_multi: usize,
    /// Merges an agent would make so that each labelled request is one: for every labelled
    /// request, the opened requests holding its asks, less one.
    pub merges: usize,
    /// Asks an agent would move out: in each opened request, the asks not of its largest
    /// labelled request.
    pub moves: usize,
    pub pairs: PairCounts,
}

impl GroupingScores {
    pub fn f1(&self) -> f64 {
        f1(self.precision, self.recall)
    }

    pub fn pure_share(&self) -> f64 {
        ratio(self.pure as u64, self.opened as u64)
    }

    pub fn pure_multi_share(&self) -> f64 {
        ratio(self.pure_multi as u64, self.opened_multi as u64)
    }
}

/// Scores one grouping. `placed` holds every ask streamed (scored or not), all desks together;
/// predicted ids must differ between desks, and pairs are only formed inside a desk (`desk_of`
/// gives each ask's desk).
pub fn score(placed: &[Placed<'_>], desk_of: &[&str]) -> GroupingScores {
    let mut cluster: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut gold: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in placed.iter().enumerate() {
        cluster.entry(p.predicted).or_default().push(i);
        gold.entry(p.gold).or_default().push(i);
    }
    let mut s = GroupingScores::default();
    let (mut p_sum, mut r_sum, mut sp_sum, mut sr_sum) = (0.0, 0.0, 0.0, 0.0);
    for p in placed.iter().filter(|p| p.scored) {
        let members = &cluster[&p.predicted];
        let right = members
            .iter()
            .filter(|&&m| placed[m].gold == p.gold)
            .count();
        let gold_size = gold[p.gold].len();
        let precision = right as f64 / members.len() as f64;
        let recall = right as f64 / gold_size as f64;
        s.asks += 1;
        p_sum += precision;
        r_sum += recall;
        if gold_size >= 2 {
            s.shared_asks += 1;
            sp_sum += precision;
            sr_sum += recall;
        }
    }
    s.precision = p_sum / s.asks.max(1) as f64;
    s.recall = r_sum / s.asks.max(1) as f64;
    s.shared_precision = sp_sum / s.shared_asks.max(1) as f64;
    s.shared_recall = sr_sum / s.shared_asks.max(1) as f64;
    s.requests = placed
        .iter()
        .filter(|p| p.scored)
        .map(|p| p.gold)
        .collect::<HashSet<_>>()
        .len();
    for members in cluster.values() {
        if !members.iter().any(|&m| placed[m].scored) {
            continue;
        }
        let mut by_gold: BTreeMap<&str, usize> = BTreeMap::new();
        for &m in members {
            *by_gold.entry(placed[m].gold).or_default() += 1;
        }
        let largest = by_gold.values().copied().max().unwrap_or(0);
        s.opened += 1;
        s.moves += members.len() - largest;
        let pure = by_gold.len() == 1;
        s.pure += pure as usize;
        if members.len() >= 2 {
            s.opened_multi += 1;
            s.pure_multi += pure as usize;
        }
    }
    for (g, members) in &gold {
        if !members.iter().any(|&m| placed[m].scored) {
            continue;
        }
        let opened: HashSet<u64> = members.iter().map(|&m| placed[m].predicted).collect();
        s.merges += opened.len() - 1;
        let _ = g;
    }
    let mut by_desk: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, p) in placed.iter().enumerate() {
        if p.scored {
            by_desk.entry(desk_of[i]).or_default().push(i);
        }
    }
    for ids in by_desk.values() {
        for (k, &a) in ids.iter().enumerate() {
            for &b in &ids[k + 1..] {
                s.pairs.add(
                    placed[a].gold == placed[b].gold,
                    placed[a].predicted == placed[b].predicted,
                );
            }
        }
    }
    s
}

pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub(crate) fn f1(p: f64, r: f64) -> f64 {
    if p + r <= 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn placed<'a>(v: &[(&'a str, u64, bool)]) -> Vec<Placed<'a>> {
        v.iter()
            .map(|&(gold, predicted, scored)| Placed {
                gold,
                predicted,
                scored,
            })
            .collect()
    }

    #[test]
    fn b_cubed_merges_and_pairs_on_a_small_grouping() {
        // Gold: a a a | b b | c.  Predicted: {a a} {a b b} {c}.
        let p = placed(&[
            ("a", 1, true),
            ("a", 1, true),
            ("a", 2, true),
            ("b", 2, true),
            ("b", 2, true),
            ("c", 3, true),
        ]);
        let desks = vec!["d"; p.len()];
        let s = score(&p, &desks);
        // Precision per ask: 1, 1, 1/3, 2/3, 2/3, 1.
        assert!(
            (s.precision - (1.0 + 1.0 + 1.0 / 3.0 + 2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 6.0).abs()
                < 1e-9
        );
        // Recall per ask: 2/3, 2/3, 1/3, 1, 1, 1.
        assert!((s.recall - (2.0 / 3.0 + 2.0 / 3.0 + 1.0 / 3.0 + 3.0) / 6.0).abs() < 1e-9);
        assert_eq!(s.shared_asks, 5);
        assert_eq!(
            (s.opened, s.pure, s.opened_multi, s.pure_multi),
            (3, 2, 2, 1)
        );
        assert_eq!(s.merges, 1, "a is spread over two requests");
        assert_eq!(s.moves, 1, "the a among the b's");
        // 15 pairs: same 3 (a) + 1 (b) = 4; joined 1 + 3 = 4; both 1 + 1 = 2.
        assert_eq!(
            s.pairs,
            PairCounts {
                pairs: 15,
                same: 4,
                joined: 4,
                both: 2
            }
        );
    }

    #[test]
    fn unscored_company_costs_precision_but_is_not_counted() {
        // The tuning ask t shares the request of evaluation ask e.
        let p = placed(&[("e", 1, true), ("t", 1, false), ("e2", 2, true)]);
        let desks = vec!["d"; 3];
        let s = score(&p, &desks);
        assert_eq!(s.asks, 2);
        assert!((s.precision - 0.75).abs() < 1e-9);
        assert_eq!(s.opened, 2);
        assert_eq!(s.pure, 1);
        assert_eq!(s.pairs.pairs, 1, "only scored asks form pairs");
    }

    #[test]
    fn pairs_are_formed_inside_a_desk_only() {
        let p = placed(&[("x/a", 1, true), ("y/a", 2, true)]);
        let s = score(&p, &["x", "y"]);
        assert_eq!(s.pairs.pairs, 0);
    }
}
