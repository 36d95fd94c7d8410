//! Every pinned post (`tests/pinned/analyses.jsonl`, written by `examples/pin.rs` before the
//! analyzer was made faster) still gets exactly the same analysis: findings, evidence, floats,
//! from the shipped model and from the rules alone.

#[path = "pinned/common.rs"]
mod common;

const PINNED: &str = include_str!("pinned/analyses.jsonl");

#[test]
fn every_pinned_post_gets_the_same_analysis() {
    let (model, rules) = common::analyzers();
    let mut checked = 0;
    let mut moved = Vec::new();
    for (i, line) in PINNED.lines().enumerate() {
        let pin: serde_json::Value = serde_json::from_str(line).expect("a pinned line is JSON");
        let text = pin["text"].as_str().expect("text");
        let post = common::post(i, text, pin["lang"].as_str());
        assert_eq!(post.author.followers, pin["followers"].as_u64());
        for (analyzer, kind) in [(&model, "model"), (&rules, "rules")] {
            let a = analyzer.analyze(&post);
            if common::digest(&a) != pin[format!("{kind}_digest")].as_str().unwrap_or("") {
                moved.push(format!(
                    "{kind} #{i} {text:?}\n  pinned: {}\n  now:    {}\n  {}",
                    pin[kind],
                    common::summary(&a),
                    serde_json::to_string(&a).unwrap_or_default()
                ));
            }
        }
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} pinned posts");
    assert!(
        moved.is_empty(),
        "{} of {checked} analyses changed:\n{}",
        moved.len(),
        moved
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
