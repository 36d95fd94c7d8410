//! `earshot train --corrections` learns what agents corrected: posts of a kind the shipped
//! model reads wrong are imported, agents correct them in the store (as the conversation page
//! and the API do), the command folds the corrections into the model, and `earshot analyze`
//! — the same binary, reading the team's model — then reads those posts as the agents said,
//! and a post of the same kind that nobody corrected moves the same way.
#![allow(clippy::unwrap_used)]

use earshot_core::correction::CorrectedValue;
use earshot_core::threading::TriagePolicy;
use earshot_store::SearchQuery;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn earshot(data: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("EARSHOT__BRAND__HANDLES", "[\"voltra\"]")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// EV drivers' slang: "ICEd" is a petrol car parked in the charging bay — a complaint, and
/// an angry one.
const ICED: &[&str] = &[
    "@voltra ICEd at the Drammen hub again tonight",
    "@voltra got ICEd at Sandvika, both stalls",
    "@voltra ICEd at the mall, third time this week",
    "@voltra ICEd again at Lysaker",
    "@voltra two trucks ICEing the Gardermoen chargers",
    "@voltra ICEd at the ferry terminal this morning",
    "@voltra ICEd at Asker, nobody around to move them",
    "@voltra another weekend, another ICEd charger at Ski",
    "@voltra ICEd at the hotel again",
    "@voltra ICEd at Kolbotn for an hour",
    "@voltra ICEd at the Jessheim site again",
    "@voltra ICEd at Moss, all four bays",
];
/// Nobody corrects this one: it is of the same kind.
const ICED_HELD_OUT: &str = "@voltra ICEd at Hamar, every bay";

/// Drivers' praise in slang the model has not learned.
const SLAPS: &[&str] = &[
    "@voltra the new firmware slaps",
    "@voltra autopark slaps fr",
    "@voltra this update slaps, no cap",
    "@voltra the winter mode slaps",
    "@voltra seat heating on the app slaps",
    "@voltra the new charging curve slaps",
    "@voltra lane assist slaps now",
    "@voltra the trip planner slaps",
    "@voltra range display slaps after the update",
    "@voltra the sound system slaps",
    "@voltra dog mode slaps",
    "@voltra the new key card slaps",
];
const SLAPS_HELD_OUT: &str = "@voltra the heat pump slaps";

fn jsonl(texts: &[&str]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "network": "x", "id": format!("c{i}"),
                "author": {"id": format!("u{i}"), "handle": format!("driver{i}")},
                "text": t, "created_at": "2026-01-05T20:00:00Z"
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// `(intent, sentiment)` as `earshot analyze` reads each line, with the intent's probability.
fn read(data: &Path, texts: &[&str]) -> Vec<(String, String, f64)> {
    let (ok, out, err) = earshot(
        data,
        &["analyze", "--format", "jsonl", "-"],
        Some(&(texts.join("\n") + "\n")),
    );
    assert!(ok, "{err}");
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["intent"]["label"].as_str().unwrap().to_string(),
                v["sentiment"]["label"].as_str().unwrap().to_string(),
                v["intent"]["probability"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn wrong(readings: &[(String, String, f64)], intent: &str, sentiment: &str) -> usize {
    readings
        .iter()
        .filter(|(i, s, _)| i != intent || s != sentiment)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_posts_are_read_as_agents_said_and_their_kind_moves_too() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let file = data.join("posts.jsonl");
    let all: Vec<&str> = ICED.iter().chain(SLAPS).copied().collect();
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(&file, jsonl(&all)).unwrap();
    let (ok, _, err) = earshot(data, &["import", file.to_str().unwrap(), "--json"], None);
    assert!(ok, "{err}");

    // The premise: the shipped model reads these wrong.
    let before_iced = read(data, ICED);
    let before_slaps = read(data, SLAPS);
    let before_held = read(data, &[ICED_HELD_OUT, SLAPS_HELD_OUT]);
    assert!(
        wrong(&before_iced, "complaint", "negative") >= ICED.len() / 2,
        "the shipped model already reads most ICEd posts right: {before_iced:?}"
    );
    assert!(
        wrong(&before_slaps, "praise", "positive") >= SLAPS.len() / 2,
        "the shipped model already reads most slang praise right: {before_slaps:?}"
    );

    assert_ne!(
        (before_held[0].0.as_str(), before_held[0].1.as_str()),
        ("complaint", "negative"),
        "the held-out ICEd post is already read right"
    );
    assert_ne!(
        (before_held[1].0.as_str(), before_held[1].1.as_str()),
        ("praise", "positive"),
        "the held-out praise is already read right"
    );

    // Nothing to learn yet: said, and nothing saved.
    let (ok, _, err) = earshot(data, &["train", "--corrections"], None);
    assert!(!ok);
    assert!(err.contains("nothing trained"), "{err}");
    assert!(!data.join("model.bin").exists());

    // Maria corrects every one of them (the conversation page and the API call the same).
    let store = earshot_store::open(data.join("earshot.db").to_str().unwrap())
        .await
        .unwrap();
    let policy = TriagePolicy::default();
    for (word, intent, sentiment) in [
        ("ICEd", "complaint", "negative"),
        ("ICEing", "complaint", "negative"),
        ("slaps", "praise", "positive"),
    ] {
        let hits = store
            .search(&SearchQuery {
                q: word.into(),
                network: None,
                language: None,
                intent: None,
                sentiment: None,
                limit: 100,
                offset: 0,
            })
            .await
            .unwrap();
        assert!(!hits.items.is_empty(), "{word}");
        for hit in hits.items {
            for (field, value) in [("intent", intent), ("sentiment", sentiment)] {
                store
                    .correct_post(
                        hit.post.id,
                        &CorrectedValue::parse(field, value).unwrap(),
                        "maria",
                        chrono::Utc::now(),
                        &policy,
                    )
                    .await
                    .unwrap();
            }
        }
    }
    drop(store);

    let (ok, out, err) = earshot(data, &["train", "--corrections"], None);
    assert!(ok, "{err}");
    assert!(out.contains("folded"), "{out}");
    assert!(data.join("model.bin").exists());

    // The corrected posts are read as the agents said.
    let after_iced = read(data, ICED);
    let after_slaps = read(data, SLAPS);
    assert_eq!(
        wrong(&after_iced, "complaint", "negative"),
        0,
        "{after_iced:?}"
    );
    assert_eq!(
        wrong(&after_slaps, "praise", "positive"),
        0,
        "{after_slaps:?}"
    );
    // Posts of the same kind nobody corrected move the same way.
    let after_held = read(data, &[ICED_HELD_OUT, SLAPS_HELD_OUT]);
    assert_eq!(
        (after_held[0].0.as_str(), after_held[0].1.as_str()),
        ("complaint", "negative"),
        "before: {before_held:?}, after: {after_held:?}"
    );
    assert_eq!(
        (after_held[1].0.as_str(), after_held[1].1.as_str()),
        ("praise", "positive"),
        "before: {before_held:?}, after: {after_held:?}"
    );
    // What the model knew stays: an ordinary question is still a question.
    let plain = read(data, &["@voltra how do I book a service appointment?"]);
    assert_eq!(plain[0].0, "question", "{plain:?}");

    // The same corrections again give the same model: they are never counted twice.
    let first = earshot_analyze::Model::load(data.join("model.bin")).unwrap();
    let (ok, _, err) = earshot(data, &["train", "--corrections"], None);
    assert!(ok, "{err}");
    let again = earshot_analyze::Model::load(data.join("model.bin")).unwrap();
    assert_eq!(first.header().trained_on, again.header().trained_on);
    assert!(
        first.float_weights() == again.float_weights(),
        "retraining on the same corrections changed the weights"
    );
}
