//! The short fuzzing pass CI runs: every parser that takes outside bytes gets a few dozen
//! inputs drawn from its strategy (`earshot_lab::fuzz::inputs`); a panic or a broken
//! invariant fails the test, and proptest shrinks the input. The long pass is
//! `cargo run --release -p earshot-lab --example fuzz -- --minutes 30`.
#![allow(clippy::unwrap_used)]

use earshot_lab::fuzz::{inputs, targets};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per target: `PROPTEST_CASES` if set, else enough to exercise each mutation kind.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn fuzz(name_part: &str) {
    let all = targets();
    let chosen: Vec<_> = all.iter().filter(|t| t.name.contains(name_part)).collect();
    assert!(!chosen.is_empty(), "no target named like {name_part:?}");
    for target in chosen {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        let check = target.check;
        let outcome = runner.run(&inputs(target.seeds.clone()), |input| {
            check(&input).map_err(TestCaseError::fail)
        });
        if let Err(e) = outcome {
            panic!("{}: {e}", target.name);
        }
    }
}

#[test]
fn importer_never_panics_and_keeps_line_order() {
    fuzz("import");
}

#[test]
fn canonical_posts_round_trip() {
    fuzz("canonical");
}

#[test]
fn twcs_rows_never_panic() {
    fuzz("TWCS");
}

#[test]
fn mastodon_json_and_stream_never_panic_and_chunking_changes_nothing() {
    fuzz("Mastodon");
}

#[test]
fn jetstream_frames_never_panic() {
    fuzz("Jetstream");
}

#[test]
fn x_stream_lines_never_panic_and_chunking_changes_nothing() {
    fuzz("X stream");
}

#[test]
fn reddit_listings_never_panic() {
    fuzz("Reddit");
}

#[test]
fn feeds_never_panic() {
    fuzz("RSS");
}

#[test]
fn network_html_never_panics() {
    fuzz("HTML");
}

#[test]
fn signature_headers_never_panic_and_signing_round_trips() {
    fuzz("signature");
}

#[test]
fn configurations_load_or_say_why() {
    fuzz("configuration");
}

#[test]
fn any_search_query_is_answered_or_refused_as_invalid() {
    fuzz("search");
}

#[test]
fn any_survey_form_gets_a_page_never_a_server_error() {
    fuzz("survey");
}

#[test]
fn every_target_is_covered_by_a_test_above() {
    let covered = [
        "import",
        "canonical",
        "TWCS",
        "Mastodon",
        "Jetstream",
        "X stream",
        "Reddit",
        "RSS",
        "HTML",
        "signature",
        "configuration",
        "search",
        "survey",
    ];
    for t in targets() {
        assert!(
            covered.iter().any(|c| t.name.contains(c)),
            "{} has no test in tests/fuzz.rs",
            t.name
        );
    }
}
