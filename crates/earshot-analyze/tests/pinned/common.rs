//! Shared by the pin generator (`examples/pin.rs`) and the test that replays it
//! (`tests/pinned.rs`): which analyzers run, and how an analysis is summarised and hashed.

use chrono::{TimeZone, Utc};
use earshot_analyze::{Analyzer, Terms};
use earshot_core::analysis::Analysis;
use earshot_core::network::Network;
use earshot_core::post::{Author, NewPost};
use sha2::{Digest, Sha256};

/// The brand vocabulary both analyzers listen for (so term matches are pinned too).
pub fn terms() -> Terms {
    Terms {
        brands: vec![
            "AppleSupport".into(),
            "Amazon".into(),
            "Spotify".into(),
            "Ørsted".into(),
        ],
        handles: vec!["sprintcare".into(), "AmazonHelp".into()],
        keywords: vec!["refund".into(), "delivery".into(), "app".into()],
    }
}

/// The default analyzer (the shipped model) and the rules alone.
pub fn analyzers() -> (Analyzer, Analyzer) {
    let t = terms();
    (Analyzer::new(&t), Analyzer::rules_only(&t))
}

/// The first 64 bits of the SHA-256 of the analysis's JSON: every field, every evidence
/// line, every float's digits.
pub fn digest(a: &Analysis) -> String {
    let json = serde_json::to_string(a).unwrap_or_default();
    hex::encode(&Sha256::digest(json.as_bytes())[..8])
}

/// The findings a person reads, to say what moved when a digest differs.
pub fn summary(a: &Analysis) -> String {
    format!(
        "{} {} {:.4} {} {:.4} {} harm={} chase={} fp={:016x} terms={}",
        a.language.language.code(),
        a.sentiment.label,
        a.sentiment.score,
        a.intent.label,
        a.intent.confidence,
        a.urgency.level.as_str(),
        a.safety.harm,
        a.chase,
        a.fingerprint,
        a.matches.len()
    )
}

/// The `i`-th pinned post: its text, a declared language if any, and an author whose
/// follower count and verified flag vary with `i` (so reach is pinned too).
pub fn post(i: usize, text: &str, lang: Option<&str>) -> NewPost {
    NewPost {
        lang: lang.map(str::to_string),
        ..NewPost::new(
            Network::X,
            format!("{i}"),
            Author {
                followers: Some((i as u64 * 7919) % 50_000),
                verified: i.is_multiple_of(13),
                ..Author::new(format!("u{i}"), format!("customer{i}"))
            },
            text,
            Utc.timestamp_opt(1_509_000_000 + i as i64, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}
