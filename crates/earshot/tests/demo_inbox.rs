//! The demo's inbox as a new user first sees it (issue 14): a safety report ranks above the
//! routine questions of big accounts, and band and position agree.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn earshot(data: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "earshot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_demo_inbox_puts_phantom_braking_above_big_account_questions() {
    let dir = tempfile::tempdir().unwrap();
    earshot(dir.path(), &["demo", "--no-serve"]);
    // The whole open inbox, page by page.
    let mut items: Vec<serde_json::Value> = Vec::new();
    loop {
        let offset = items.len().to_string();
        let page: serde_json::Value = serde_json::from_str(&earshot(
            dir.path(),
            &["inbox", "--limit", "500", "--offset", &offset, "--json"],
        ))
        .unwrap();
        let got = page["items"].as_array().unwrap().clone();
        let done = got.len() < 500;
        items.extend(got);
        if done {
            break;
        }
    }
    let rank_of = |pred: &dyn Fn(&serde_json::Value) -> bool| -> Vec<usize> {
        items
            .iter()
            .enumerate()
            .filter(|(_, i)| pred(i))
            .map(|(n, _)| n)
            .collect()
    };
    let braking = rank_of(&|i| {
        i["latest_text"]
            .as_str()
            .unwrap_or("")
            .contains("phantom braking on the motorway")
    });
    let big_questions = rank_of(&|i| {
        i["latest_text"]
            .as_str()
            .unwrap_or("")
            .contains("check my warranty status")
            && i["conversation"]["customer"]["followers"]
                .as_u64()
                .is_some_and(|f| f >= 100_000)
    });
    assert!(
        !braking.is_empty(),
        "the demo has phantom-braking reports waiting"
    );
    assert!(
        !big_questions.is_empty(),
        "the demo has big accounts asking about their warranty"
    );
    let last_braking = *braking.iter().max().unwrap();
    let first_question = *big_questions.iter().min().unwrap();
    assert!(
        last_braking < first_question,
        "phantom braking at {braking:?}, big-account questions at {big_questions:?}"
    );
    for &n in &braking {
        let p = &items[n]["conversation"]["priority"];
        assert_eq!(p["band"], "urgent", "{p}");
        assert!(
            p["factors"][0]["why"]
                .as_str()
                .unwrap()
                .starts_with("safety: vehicle"),
            "{p}"
        );
    }
    // Band and position agree down the whole inbox.
    let bands: Vec<u8> = items
        .iter()
        .map(
            |i| match i["conversation"]["priority"]["band"].as_str().unwrap() {
                "urgent" => 0,
                "high" => 1,
                "normal" => 2,
                _ => 3,
            },
        )
        .collect();
    assert!(bands.windows(2).all(|w| w[0] <= w[1]), "{bands:?}");
}
