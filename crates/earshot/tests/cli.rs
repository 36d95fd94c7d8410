//! The command line as a person uses it: import a file, read the inbox, answer, resolve.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn earshot(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("EARSHOT__BRAND__HANDLES", "[\"voltra\"]")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_reports_bad_lines_and_keeps_the_rest_then_agents_work_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mixed.jsonl");

    let (ok, out, err) = earshot(dir.path(), &["import", fixture, "--json"]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["read"], 4);
    assert_eq!(summary["new"], 3);
    assert_eq!(summary["rejected"], 1);
    let why = summary["rejections"][0].as_str().unwrap();
    assert!(why.contains("mixed.jsonl:3"), "line number reported: {why}");

    // Importing again stores nothing new.
    let (ok, out, _) = earshot(dir.path(), &["import", fixture, "--json"]);
    assert!(ok);
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["new"], 0);
    assert_eq!(again["duplicates"], 3);

    // Paul was answered (pending); Mette waits in the open inbox.
    let (ok, out, err) = earshot(dir.path(), &["inbox", "--json"]);
    assert!(ok, "{err}");
    let inbox: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["conversation"]["customer"]["handle"],
        "mette.bsky.social"
    );
    let id = items[0]["conversation"]["id"].as_i64().unwrap().to_string();

    let (ok, out, _) = earshot(dir.path(), &["inbox", "--status", "pending", "--json"]);
    assert!(ok);
    let pending: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        pending["items"][0]["conversation"]["first_response_secs"],
        24 * 60
    );

    let (ok, out, err) = earshot(
        dir.path(),
        &[
            "reply",
            &id,
            "Tak for idéen! Vi giver den videre.",
            "--as",
            "maria",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("sent"), "{out}");
    let (ok, out, _) = earshot(dir.path(), &["resolve", &id, "--as", "maria"]);
    assert!(ok);
    assert!(out.contains("resolved"), "{out}");
    let (ok, _, err) = earshot(dir.path(), &["resolve", &id]);
    assert!(!ok, "resolving twice is refused");
    assert!(err.contains("cannot resolve"), "{err}");

    let (ok, out, _) = earshot(dir.path(), &["show", &id]);
    assert!(ok);
    assert!(out.contains("sædet") && out.contains("maria"), "{out}");

    let (ok, _, err) = earshot(dir.path(), &["show", "9999"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn help_has_examples() {
    let (ok, out, _) = earshot(std::path::Path::new("/tmp"), &["--help"]);
    assert!(ok);
    assert!(out.contains("Examples:") && out.contains("earshot demo"));
    for sub in [
        "serve",
        "demo",
        "import",
        "inbox",
        "show",
        "reply",
        "assign",
        "unassign",
        "pend",
        "resolve",
        "reopen",
        "search",
        "metrics",
        "train",
        "bench",
        "connectors",
        "config",
    ] {
        let (ok, out, _) = earshot(std::path::Path::new("/tmp"), &[sub, "--help"]);
        assert!(ok, "{sub} --help");
        assert!(
            out.contains("Example"),
            "{sub} --help has an example:\n{out}"
        );
    }
}

#[test]
fn a_file_in_no_known_format_says_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "just some words\n").unwrap();
    let (ok, _, err) = earshot(dir.path(), &["import", f.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("cannot tell what") && err.contains("Jetstream"),
        "{err}"
    );
}

#[test]
fn connectors_status_says_what_to_do_when_no_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = earshot(
        dir.path(),
        &["connectors", "status", "--url", "http://127.0.0.1:9"],
    );
    assert!(!ok);
    assert!(err.contains("is `earshot serve` running?"), "{err}");
}
