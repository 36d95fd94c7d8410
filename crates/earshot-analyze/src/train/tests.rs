use super::*;
use std::io::Write;
fn ex(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(t, l)| (t.to_string(), l.to_string()))
        .collect()
}

fn toy() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for i in 0..40 {
        v.push((
            format!("the zorblax {i} is great and shiny"),
            "positive".to_string(),
        ));
        v.push((
            format!("my zorblax {i} is flurbed again"),
            "negative".to_string(),
        ));
        v.push((
            format!("the zorblax {i} arrives on tuesday"),
            "neutral".to_string(),
        ));
    }
    v
}

fn small() -> TrainOptions {
    TrainOptions {
        bits: 14,
        calibrate: false,
        ..TrainOptions::default()
    }
}

#[test]
fn learns_a_vocabulary_the_lexicon_does_not_know() {
    let examples = Labelled::from_pairs(Task::Sentiment, &toy()).expect("labels");
    let m = train_model("toy", "1", &examples, &small(), vec![]).expect("trains");
    let a = Analyzer::rules_only(&Default::default()).with_model(m);
    let r = a.analyze_text("ugh, flurbed", None, None);
    assert_eq!(
        r.sentiment.label,
        SentimentLabel::Negative,
        "{:?}",
        r.sentiment
    );
    assert_eq!(r.model, "toy@1");
    assert!(r.sentiment.evidence[0].rule.starts_with("model:toy@1"));
    assert!(
        r.sentiment
            .evidence
            .iter()
            .any(|e| e.text.contains("flurbed")),
        "{:?}",
        r.sentiment.evidence
    );
}

#[test]
fn adapting_learns_the_new_and_keeps_the_old() {
    let base_examples = Labelled::from_pairs(Task::Sentiment, &toy()).expect("labels");
    let base =
        train_model("base", "1", &base_examples, &small(), vec!["toy".into()]).expect("trains");
    // The team's posts: "glorped" is their word for broken; they teach intent too.
    let mut team = Vec::new();
    for i in 0..30 {
        team.push((format!("order {i} glorped again"), "complaint".to_string()));
        team.push((format!("order {i} arrives friday"), "other".to_string()));
    }
    let m = adapt(&base, "team", "2", Task::Intent, &team).expect("adapts");
    let a = Analyzer::rules_only(&Default::default()).with_model(m.clone());
    assert_eq!(
        a.analyze_text("my parcel glorped", None, None).intent.label,
        Intent::Complaint
    );
    assert_eq!(
        a.analyze_text("ugh, flurbed", None, None).sentiment.label,
        SentimentLabel::Negative
    );
    assert!(m
        .header()
        .trained_on
        .iter()
        .any(|t| t.contains("adapted from base@1 with 60")));
    assert!(m.head(Head::Complaint).is_some() && m.head(Head::Sentiment).is_some());
}

#[test]
fn bad_labels_are_named_with_their_index() {
    let e = Labelled::from_pairs(Task::Intent, &ex(&[("a", "question"), ("b", "rant")]));
    let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("example 1") && msg.contains("\"rant\""),
        "{msg}"
    );
    assert!(matches!(
        train_model("x", "1", &[], &small(), vec![]),
        Err(TrainError::NoExamples)
    ));
    let same = Labelled::from_pairs(
        Task::Sentiment,
        &ex(&[("a", "positive"), ("b", "positive")]),
    )
    .expect("labels");
    assert!(matches!(
        train_model("x", "1", &same, &small(), vec![]),
        Err(TrainError::OneLabel { .. })
    ));
}

#[test]
fn reads_csv_and_jsonl_with_line_numbers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv_path = dir.path().join("a.csv");
    let mut f = std::fs::File::create(&csv_path).expect("create");
    writeln!(
        f,
        "id,Label,text,extra\n1,complaint,\"broken, again\",x\n2,praise,love it,y"
    )
    .expect("write");
    drop(f);
    assert_eq!(
        read_examples(&csv_path).expect("reads"),
        ex(&[("broken, again", "complaint"), ("love it", "praise")])
    );
    std::fs::write(&csv_path, "text,label\nok,\n").expect("write");
    let msg = read_examples(&csv_path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains(":2:") && msg.contains("empty label"), "{msg}");
    std::fs::write(&csv_path, "body,label\nok,x\n").expect("write");
    let msg = read_examples(&csv_path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("`text`"), "{msg}");

    let jl = dir.path().join("b.jsonl");
    std::fs::write(
        &jl,
        "{\"text\":\"hi\",\"label\":\"other\"}\n\n{\"text\":\"x\",\"label\":2}\n{\"text\":1}\n",
    )
    .expect("write");
    let msg = read_examples(&jl)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains(":4:"), "{msg}");
    std::fs::write(
        &jl,
        "{\"text\":\"hi\",\"label\":\"other\"}\n\n{\"text\":\"x\",\"label\":2}\n",
    )
    .expect("write");
    assert_eq!(
        read_examples(&jl).expect("reads"),
        ex(&[("hi", "other"), ("x", "2")])
    );
    let missing = dir.path().join("missing.csv");
    assert!(matches!(
        read_examples(&missing),
        Err(TrainError::Io { .. })
    ));
}
