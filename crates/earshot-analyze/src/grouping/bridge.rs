//! Bridging: an ask that fits two open requests which look like one merges them.
//!
//! Streaming makes grouping depend on the order asks arrive in. A German "die Navigation
//! zeigt Ladepreise" that comes before any English "show charger prices" may open a request
//! of its own beside the Danish and Dutch one; the English asks that follow then fit both, and
//! which one they join depends on who came first. When an ask reaches the join threshold
//! against two (or more) open requests that are themselves alike (centroid cosine at least
//! [`GroupingConfig::bridge_min`](super::GroupingConfig::bridge_min)), they were one request
//! all along: the smaller is absorbed into the larger and the ask joins the result. The
//! server merges its stored requests the same way ([`Grouper::drain_bridged`]).
//!
//! It learns nothing (unlike an agent's [`Grouper::merge`]): the grouper does not teach itself
//! from its own guesses.

use super::grouper::Grouper;
use super::RequestId;

impl Grouper {
    /// The request an ask that fits `best` joins after bridging: `best`, or the request that
    /// absorbed it and the other requests the ask fits that look like it. `fitting` are the
    /// requests the ask reached the threshold against (in any order, `best` among them).
    pub(super) fn bridge(&mut self, best: RequestId, fitting: &[RequestId]) -> RequestId {
        let min = self.config.bridge_min;
        if min > 1.0 || fitting.len() < 2 {
            return best;
        }
        let mut survivor = best;
        // The most fitting first, so the result does not depend on hash order.
        for &other in fitting {
            if other == survivor {
                continue;
            }
            let alike = match (self.requests.get(&survivor), self.requests.get(&other)) {
                (Some(a), Some(b)) => self.centroid_cosine(a, b),
                _ => continue,
            };
            if alike < min {
                continue;
            }
            let (into, from) = self.larger_first(survivor, other);
            if self.absorb(into, from).is_ok() {
                tracing::debug!(%into, %from, alike, "an ask bridged two requests");
                self.bridged.push((from, into));
                survivor = into;
            }
        }
        survivor
    }

    /// (larger, smaller) by posts; between equals the older (lower id) stays.
    fn larger_first(&self, a: RequestId, b: RequestId) -> (RequestId, RequestId) {
        let size = |id| self.requests.get(&id).map_or(0, |r| r.members.len());
        if size(b) > size(a) || (size(b) == size(a) && b < a) {
            (b, a)
        } else {
            (a, b)
        }
    }

    /// Requests merged by bridging since the last call, as (absorbed, survivor) in the order
    /// they happened: the absorbed request is gone, its posts are in the survivor.
    pub fn drain_bridged(&mut self) -> Vec<(RequestId, RequestId)> {
        std::mem::take(&mut self.bridged)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{Grouper, GroupingConfig, RequestId};
    use chrono::{Duration, TimeZone, Utc};
    use std::collections::{BTreeMap, BTreeSet};

    /// The demo's feature asks (`earshot demo`): one ask in several languages each.
    const PRICES: &[(&str, &str)] = &[
        ("de", "@voltra es wäre toll, wenn die Navigation Ladepreise anzeigen würde"),
        ("da", "@voltra det ville være rart hvis appen kunne vise ladepriser før jeg vælger station"),
        ("nl", "@voltra het zou fijn zijn als de app laadprijzen kon tonen"),
        ("sv", "@voltra det vore toppen om appen kunde visa laddpriser innan jag väljer station"),
        ("no", "@voltra det hadde vært fint om appen kunne vise ladepriser før jeg velger stasjon"),
        ("en", "@voltra feature request: show charger prices in the navigation before I pick a station"),
    ];
    const OTHERS: &[(&str, &str)] = &[
        ("en", "@voltra would be great if the app could precondition the battery on a schedule, not only when navigating"),
        ("it", "@voltra sarebbe bello poter programmare il preriscaldamento della batteria dall'app"),
        ("pt", "@voltra seria ótimo poder programar o pré-aquecimento da bateria na app"),
        ("en", "@voltra please add a way to share the digital key with family for just one day"),
        ("da", "@voltra vil I ikke lave en mulighed for at dele nøglen med familien i en dag?"),
        ("de", "@voltra könntet ihr bitte eine Funktion hinzufügen, um den Schlüssel für einen Tag zu teilen?"),
        ("fr", "@voltra pourriez-vous ajouter le partage de clé pour une journée ?"),
        ("en", "@voltra can you add Apple Music to the car? Spotify only is limiting"),
        ("it", "@voltra potreste aggiungere Apple Music in macchina?"),
        ("es", "@voltra ¿podéis añadir Apple Music al coche? Sería genial"),
        ("en", "@voltra I wish the trip planner let me set a minimum arrival charge"),
        ("da", "@voltra kan I ikke tilføje en funktion så sædet kører tilbage, når bilen står i park? Det ville være fedt"),
    ];

    /// Every demo ask, each asked `copies` times, post ids numbering (ask, copy).
    fn asks(copies: usize) -> Vec<(i64, &'static str, &'static str)> {
        let mut out = Vec::new();
        for (k, (lang, text)) in PRICES.iter().chain(OTHERS).enumerate() {
            for c in 0..copies {
                out.push(((k * 100 + c) as i64, *lang, *text));
            }
        }
        out
    }

    fn is_price(post: i64) -> bool {
        (post as usize / 100) < PRICES.len()
    }

    /// Streams `asks` in the given order; returns the requests as sets of post ids.
    fn stream(config: &GroupingConfig, asks: &[(i64, &str, &str)]) -> BTreeSet<BTreeSet<i64>> {
        let mut g = Grouper::new(config.clone());
        let start = Utc.timestamp_opt(1_765_000_000, 0).single().unwrap();
        for (n, (id, lang, text)) in asks.iter().enumerate() {
            g.assign(*id, text, Some(lang), start + Duration::minutes(n as i64));
        }
        partition(&g)
    }

    fn partition(g: &Grouper) -> BTreeSet<BTreeSet<i64>> {
        g.request_ids()
            .into_iter()
            .map(|r| g.posts_of(r).unwrap().iter().copied().collect())
            .collect()
    }

    /// A fixed shuffle (xorshift), so a failure names the order that broke it.
    fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
        let mut v = items.to_vec();
        let mut x = seed.max(1);
        for i in (1..v.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.swap(i, (x % (i as u64 + 1)) as usize);
        }
        v
    }

    /// The order that split the demo's price asks: the German ask first, then the Nordic and
    /// Dutch ones, the English ones last.
    fn german_first(copies: usize) -> Vec<(i64, &'static str, &'static str)> {
        let all = asks(copies);
        let mut order: Vec<_> = all
            .iter()
            .filter(|a| a.1 == "de" && is_price(a.0))
            .copied()
            .collect();
        order.extend(
            all.iter()
                .filter(|a| a.1 != "en" && a.1 != "de" && is_price(a.0))
                .copied(),
        );
        order.extend(all.iter().filter(|a| !is_price(a.0)).copied());
        order.extend(all.iter().filter(|a| a.1 == "en" && is_price(a.0)).copied());
        order
    }

    fn price_requests(p: &BTreeSet<BTreeSet<i64>>) -> Vec<&BTreeSet<i64>> {
        p.iter()
            .filter(|r| r.iter().any(|&id| is_price(id)))
            .collect()
    }

    #[test]
    fn an_ask_fitting_two_alike_requests_merges_them_whatever_came_first() {
        let config = GroupingConfig::default();
        let bad = stream(&config, &german_first(3));
        let prices = price_requests(&bad);
        assert_eq!(prices.len(), 1, "the price asks are split: {prices:?}");
        assert!(prices[0].iter().all(|&id| is_price(id)), "{prices:?}");
        assert_eq!(prices[0].len(), PRICES.len() * 3);
    }

    #[test]
    fn without_bridging_the_bad_order_splits_the_price_asks() {
        // The case bridging is for: it must exist, or the test above proves nothing.
        let config = GroupingConfig {
            bridge_min: 2.0,
            ..GroupingConfig::default()
        };
        let bad = stream(&config, &german_first(3));
        assert!(price_requests(&bad).len() > 1, "{bad:?}");
    }

    /// Which request each demo ask belongs to (index into `PRICES` then `OTHERS`): prices,
    /// preconditioning, the shared key, Apple Music, the trip planner, the seat.
    const GOLD: &[usize] = &[0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 5];

    fn gold(copies: usize) -> BTreeSet<BTreeSet<i64>> {
        let mut by: BTreeMap<usize, BTreeSet<i64>> = BTreeMap::new();
        for (id, _, _) in asks(copies) {
            by.entry(GOLD[id as usize / 100]).or_default().insert(id);
        }
        by.into_values().collect()
    }

    /// The requests holding an ask of gold request `g`.
    fn holding(p: &BTreeSet<BTreeSet<i64>>, g: usize) -> Vec<&BTreeSet<i64>> {
        p.iter()
            .filter(|r| r.iter().any(|&id| GOLD[id as usize / 100] == g))
            .collect()
    }

    #[test]
    fn the_same_asks_in_any_order_give_the_same_requests() {
        let config = GroupingConfig::default();
        let all = asks(3);
        let expected = gold(3);
        for seed in 1..=12u64 {
            let order = shuffled(&all, seed * 7919);
            assert_eq!(stream(&config, &order), expected, "shuffle {seed}");
        }
        // Orders built to be hard: one language after another. The price and preconditioning
        // asks (the two the demo mixed up) still come out whole and apart. The shared-key ask
        // may not: a copy that fits a large request's centroid less than its own twin opens a
        // request of its own, and nothing that fits both follows (no bridge to build).
        let hard = [
            german_first(3),
            all.clone(),
            all.iter().rev().copied().collect(),
        ];
        for (n, order) in hard.iter().enumerate() {
            let p = stream(&config, order);
            for g in [0, 1, 3] {
                assert_eq!(
                    holding(&p, g),
                    holding(&expected, g),
                    "order {n}, request {g}"
                );
            }
        }
    }

    #[test]
    fn without_bridging_the_order_decides() {
        // What bridging is for: without it the same shuffles group differently.
        let config = GroupingConfig {
            bridge_min: 2.0,
            ..GroupingConfig::default()
        };
        let all = asks(3);
        let results: BTreeSet<_> = (1..=12u64)
            .map(|seed| stream(&config, &shuffled(&all, seed * 7919)))
            .collect();
        assert!(results.len() > 1, "{results:?}");
    }

    #[test]
    fn bridged_merges_are_handed_out_once_and_the_absorbed_request_is_gone() {
        let mut g = Grouper::new(GroupingConfig::default());
        let start = Utc.timestamp_opt(1_765_000_000, 0).single().unwrap();
        for (n, (id, lang, text)) in german_first(3).iter().enumerate() {
            g.assign(*id, text, Some(lang), start + Duration::minutes(n as i64));
        }
        let merged = g.drain_bridged();
        assert!(!merged.is_empty());
        assert!(g.drain_bridged().is_empty());
        for (from, into) in &merged {
            assert!(g.posts_of(*from).is_none(), "{from} is still open");
            assert_ne!(from, into);
        }
        let (_, last) = merged[merged.len() - 1];
        let survivor: RequestId = g.request_of(0).unwrap();
        assert_eq!(survivor, last);
        assert_eq!(
            g.learned().merges,
            0,
            "the grouper taught itself from its own merge"
        );
    }
}
