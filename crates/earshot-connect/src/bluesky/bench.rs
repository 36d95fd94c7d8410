//! How fast the Jetstream hot path reads the firehose, against a baseline measured in the
//! same run (house rule: ratios, never wall-clock assertions).
//!
//! [`sample_events`] writes Jetstream-shaped lines in roughly the firehose's proportions:
//! post creates with langs, facets (mentions, links, tags) and replies, a few deletes, rare
//! updates, identity and account events. [`jetstream_throughput`] times (a) the baseline,
//! reading every byte of the same lines without parsing, and (b) the source's own
//! [`super::hear`] path with a thousand brand terms, building a `NewPost` for every match.

use super::brand::{BrandMatcher, Scratch};
use super::hear::{build_post, hear, What};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The brand the samples mention now and then.
pub const BENCH_BRAND_DID: &str = "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe";
pub const BENCH_BRAND_HANDLE: &str = "acme.bsky.social";

/// What one measurement found.
#[derive(Debug, Clone, PartialEq)]
pub struct JetstreamThroughput {
    pub events: usize,
    pub bytes: usize,
    pub brand_terms: usize,
    /// (a) reading the bytes without parsing.
    pub baseline_events_per_sec: f64,
    /// (b) parse + filter (+ building a post for each match) on one thread.
    pub parse_filter_events_per_sec: f64,
    /// How many times slower (b) is than (a).
    pub slowdown: f64,
    /// Events that concern the brand (posts built).
    pub matched: usize,
}

/// Times the baseline and parse + filter over `events` sample lines made from `texts` (real
/// post texts; built-in ones when empty), each the best of `rounds` runs.
pub fn jetstream_throughput(events: usize, texts: &[String], rounds: usize) -> JetstreamThroughput {
    let terms = brand_terms(1_000);
    let lines = sample_events(events, texts, &terms, 0x5eed_2026);
    let bytes = lines.len();
    let brand = match BrandMatcher::new(
        &[BENCH_BRAND_HANDLE.to_owned()],
        &[BENCH_BRAND_DID.to_owned()],
        &terms,
    ) {
        Ok(b) => b,
        // The generated terms are plain words; a failure here is a bug in this file.
        Err(_) => return JetstreamThroughput::empty(events, bytes),
    };
    let rounds = rounds.max(1);
    let baseline = best_of(rounds, || {
        let mut sum = 0u64;
        for line in lines.lines() {
            sum = line.bytes().fold(sum, |s, b| s.wrapping_add(u64::from(b)));
        }
        black_box(sum);
    });
    let mut matched = 0;
    let parse = best_of(rounds, || {
        let mut scratch = Scratch::default();
        matched = 0;
        for line in lines.lines() {
            let heard = hear(line, &brand, &mut scratch);
            if let What::Post {
                concerns_brand: true,
                ..
            } = heard.what
            {
                if let Ok(post) = build_post(line) {
                    black_box(&post);
                    matched += 1;
                }
            }
            black_box(heard.time_us);
        }
    });
    let rate = |d: Duration| events as f64 / d.as_secs_f64().max(1e-9);
    let (baseline_rate, parse_rate) = (rate(baseline), rate(parse));
    JetstreamThroughput {
        events,
        bytes,
        brand_terms: terms.len(),
        baseline_events_per_sec: baseline_rate,
        parse_filter_events_per_sec: parse_rate,
        slowdown: baseline_rate / parse_rate.max(1e-9),
        matched,
    }
}

impl JetstreamThroughput {
    fn empty(events: usize, bytes: usize) -> Self {
        JetstreamThroughput {
            events,
            bytes,
            brand_terms: 0,
            baseline_events_per_sec: 0.0,
            parse_filter_events_per_sec: 0.0,
            slowdown: 0.0,
            matched: 0,
        }
    }
}

fn best_of(rounds: usize, mut run: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// `n` made-up brand terms: product and campaign names that real texts do not contain by
/// chance ("zorvex", "quandle glide 7", ...).
pub fn brand_terms(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "zor", "vex", "qua", "ndle", "bri", "xo", "tal", "mek", "ryn", "dax", "ulo", "fen", "kip",
        "zel", "oma", "trix", "vin", "gor", "lux", "pra", "sso", "quin", "yth", "bex",
    ];
    const SUFFIXES: [&str; 6] = ["", " glide", " pro", " 7", " max", " care"];
    let mut rng = Rng(0xb4a2_d001);
    let mut terms = Vec::with_capacity(n);
    while terms.len() < n {
        let parts = 2 + rng.below(2);
        let mut term: String = (0..parts)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        term.push_str(SUFFIXES[rng.below(SUFFIXES.len())]);
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    terms
}

/// Jetstream-shaped lines (newline-separated) in firehose proportions. About 1 % of the
/// posts concern the brand: a brand term in the text, a mention facet of the brand, or a reply
/// in a brand thread.
pub fn sample_events(events: usize, texts: &[String], terms: &[String], seed: u64) -> String {
    let builtin: Vec<String> = BUILTIN_TEXTS.iter().map(|s| s.to_string()).collect();
    let texts = if texts.is_empty() { &builtin } else { texts };
    let mut rng = Rng(seed | 1);
    let mut out = String::with_capacity(events * 700);
    let mut time_us: i64 = 1_787_217_298_123_456;
    for _ in 0..events {
        time_us += 1 + rng.below(400) as i64;
        let did = rng.did();
        let roll = rng.below(1000);
        let line = if roll < 15 {
            serde_json::json!({"did": did, "time_us": time_us, "kind": "identity",
                "identity": {"did": did, "handle": format!("{}.bsky.social", rng.word()), "seq": time_us / 1000, "time": "2026-08-20T09:16:39.998Z"}})
        } else if roll < 20 {
            serde_json::json!({"did": did, "time_us": time_us, "kind": "account",
                "account": {"active": false, "did": did, "seq": time_us / 1000, "status": "deactivated", "time": "2026-08-20T09:18:19.870Z"}})
        } else if roll < 100 {
            serde_json::json!({"did": did, "time_us": time_us, "kind": "commit",
                "commit": {"rev": rng.tid(), "operation": "delete", "collection": super::POST_COLLECTION, "rkey": rng.tid()}})
        } else {
            let operation = if roll < 102 { "update" } else { "create" };
            let record = sample_record(&mut rng, texts, terms);
            serde_json::json!({"did": did, "time_us": time_us, "kind": "commit",
                "commit": {"rev": rng.tid(), "operation": operation, "collection": super::POST_COLLECTION,
                    "rkey": rng.tid(), "record": record, "cid": rng.cid()}})
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn sample_record(rng: &mut Rng, texts: &[String], terms: &[String]) -> serde_json::Value {
    let mut text = texts[rng.below(texts.len())].replace("@user", "@someone.bsky.social");
    let brand_roll = rng.below(1000);
    if brand_roll < 5 && !terms.is_empty() {
        text.push_str(" #");
        text.push_str(&terms[rng.below(terms.len())].replace(' ', ""));
        text.push(' ');
        text.push_str(&terms[rng.below(terms.len())].to_uppercase());
    }
    let mut record = serde_json::json!({
        "$type": super::POST_COLLECTION,
        "text": text,
        "createdAt": "2026-08-20T09:14:57.801Z",
    });
    if rng.below(10) < 9 {
        const LANGS: [&str; 8] = ["en", "ja", "pt", "es", "de", "fr", "it", "ko"];
        record["langs"] = serde_json::json!([LANGS[rng.below(LANGS.len())]]);
    }
    let mut facets = Vec::new();
    if rng.below(100) < 20 || brand_roll < 7 {
        let mentioned = if brand_roll < 7 {
            BENCH_BRAND_DID.to_owned()
        } else {
            rng.did()
        };
        let end = text.len().min(17);
        facets.push(
            serde_json::json!({"index": {"byteStart": 0, "byteEnd": end},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": mentioned}]}),
        );
    }
    if rng.below(100) < 10 {
        facets.push(serde_json::json!({"index": {"byteStart": 0, "byteEnd": 4},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": format!("https://{}.example/{}", rng.word(), rng.tid())}]}));
    }
    if rng.below(100) < 8 {
        facets.push(serde_json::json!({"index": {"byteStart": 0, "byteEnd": 4},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": rng.word()}]}));
    }
    if !facets.is_empty() {
        record["facets"] = serde_json::Value::Array(facets);
    }
    if rng.below(100) < 35 {
        let root_did = if (7..10).contains(&brand_roll) {
            BENCH_BRAND_DID.to_owned()
        } else {
            rng.did()
        };
        let root = serde_json::json!({"uri": format!("at://{root_did}/app.bsky.feed.post/{}", rng.tid()), "cid": rng.cid()});
        let parent = serde_json::json!({"uri": format!("at://{}/app.bsky.feed.post/{}", rng.did(), rng.tid()), "cid": rng.cid()});
        record["reply"] = serde_json::json!({"root": root, "parent": parent});
    }
    record
}

/// A small deterministic generator (splitmix64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn base32(&mut self, len: usize) -> String {
        const A: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
        (0..len).map(|_| char::from(A[self.below(32)])).collect()
    }

    fn did(&mut self) -> String {
        format!("did:plc:{}", self.base32(24))
    }

    fn tid(&mut self) -> String {
        format!("3l{}", self.base32(11))
    }

    fn cid(&mut self) -> String {
        format!("bafyrei{}", self.base32(52))
    }

    fn word(&mut self) -> String {
        let len = 4 + self.below(6);
        self.base32(len)
    }
}

/// Texts used when no real ones are given (the example reads real tweets instead).
const BUILTIN_TEXTS: [&str; 8] = [
    "Can you program the car, once in park, to move the seat back?",
    "Mi pedido #4471 llegó roto 😞 ¿me ayudáis?",
    "Hej, min ordre er ikke kommet endnu",
    "the app keeps crashing since the update\nanyone else?",
    "今日は雨ですね。電車が遅れています",
    "Ottimo servizio, grazie mille!",
    "why is there no flight to the festival this year",
    "just setting up my bsky",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_jetstream_lines_and_some_concern_the_brand() {
        let terms = brand_terms(1_000);
        assert_eq!(terms.len(), 1_000);
        let lines = sample_events(5_000, &[], &terms, 7);
        assert_eq!(lines.lines().count(), 5_000);
        let mut kinds = std::collections::HashMap::new();
        for line in lines.lines() {
            let event: crate::bluesky::JetstreamEvent = serde_json::from_str(line).unwrap();
            assert!(event.time_us.is_some());
            *kinds.entry(event.kind).or_insert(0) += 1;
        }
        assert!(kinds["commit"] > 4_800, "{kinds:?}");
        assert!(kinds["identity"] > 0 && kinds["account"] > 0, "{kinds:?}");
        let report = jetstream_throughput(5_000, &[], 1);
        assert_eq!(report.events, 5_000);
        // About 1 % of posts name the brand; none of the rest may.
        assert!((20..150).contains(&report.matched), "{report:?}");
        assert!(report.baseline_events_per_sec > 0.0 && report.parse_filter_events_per_sec > 0.0);
    }
}
