use super::*;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

fn ask<'a>(text: &'a str, lang: Option<&'a str>) -> DraftRequest<'a> {
    DraftRequest {
        customer_text: text,
        lang,
        customer_name: None,
        limit: 280,
        written_on: day(),
    }
}

fn past(id: &str, asked: &str, answer: &str, lang: &str) -> PastAnswer {
    PastAnswer {
        lang: Some(lang.into()),
        ..PastAnswer::new(id, asked, answer)
    }
}

#[test]
fn the_nearest_post_is_found_and_unrelated_posts_give_no_draft() {
    let index = DraftIndex::build(vec![
        past(
            "a",
            "my card was charged twice for one order",
            "Sorry! DM us the last 4 digits. ^AB",
            "en",
        ),
        past(
            "b",
            "the app crashes when I open playlists",
            "Try reinstalling the app. ^CD",
            "en",
        ),
    ]);
    let d = index
        .draft(&ask("charged twice on my card?!", Some("en")))
        .expect("a draft");
    assert_eq!(d.text, "Sorry! DM us the last 4 digits.");
    assert!(d.sources.iter().any(|s| s.id == "a" && s.used));
    assert!(d.sources[0].similarity > 0.2);
    assert!(index
        .draft(&ask("zebra xylophone quartz", Some("en")))
        .is_none());
}

#[test]
fn answers_in_the_customers_language_come_first_when_there_are_some() {
    let index = DraftIndex::build(vec![
        past(
            "en",
            "min pakke er ikke kommet order 123",
            "Sorry, please DM us the order number.",
            "en",
        ),
        past(
            "da",
            "min pakke er ikke kommet frem",
            "Beklager! Skriv dit ordrenummer i en DM.",
            "da",
        ),
    ]);
    let d = index
        .draft(&ask("min pakke er ikke kommet order 123", Some("da")))
        .expect("a draft");
    assert_eq!(d.text, "Beklager! Skriv dit ordrenummer i en DM.");
    assert!(d.same_language);
    assert!(d.sources.iter().all(|s| s.id == "da"));
    // Without answers in Italian, the best match in any language is used, and said so.
    let d = index
        .draft(&ask("min pakke er ikke kommet order 123", Some("it")))
        .expect("a draft");
    assert!(!d.same_language);
    assert_eq!(d.sources[0].id, "en");
}

#[test]
fn the_answer_the_neighbours_agree_on_beats_a_one_off() {
    let mut answers = vec![past(
        "odd",
        "my refund has not arrived yet",
        "Happy birthday! Enjoy your day.",
        "en",
    )];
    for n in 0..4 {
        answers.push(past(
            &format!("usual{n}"),
            &format!("my refund has still not arrived, {n} weeks now"),
            "Refunds take 3-5 business days to show. DM us if it has been longer.",
            "en",
        ));
    }
    let consensus = DraftIndex::build(answers.clone());
    let d = consensus
        .draft(&ask("my refund has not arrived yet", Some("en")))
        .expect("a draft");
    assert!(d.text.starts_with("Refunds take 3-5"), "{}", d.text);
    assert_eq!(d.sources[0].id, "odd", "the nearest is still listed first");
    let nearest = DraftIndex::with_settings(
        answers,
        DraftSettings {
            choice: Choice::Nearest,
            ..DraftSettings::default()
        },
    );
    let d = nearest
        .draft(&ask("my refund has not arrived yet", Some("en")))
        .expect("a draft");
    assert_eq!(d.text, "Happy birthday! Enjoy your day.");
}

#[test]
fn the_new_customers_name_and_the_networks_limit_are_applied() {
    let long = format!(
        "Hi Brandon, sorry about the delay. {}",
        "We are checking this. ".repeat(20)
    );
    let index = DraftIndex::build(vec![past(
        "a",
        "where is my driver",
        &format!("@99 {long} ^MG"),
        "en",
    )]);
    let d = index
        .draft(&DraftRequest {
            customer_name: Some("Ana"),
            limit: 100,
            ..ask("where is my driver??", Some("en"))
        })
        .expect("a draft");
    assert!(
        d.text.starts_with("Hi Ana, sorry about the delay."),
        "{}",
        d.text
    );
    assert!(d.text.chars().count() <= 100);
    assert!(d.shortened);
    assert!(d.text.ends_with('.'));
    assert!(!d.text.contains("Brandon") && !d.text.contains("^MG") && !d.text.contains("@99"));
}

#[test]
fn a_committing_draft_is_marked_and_a_plain_one_is_not() {
    let index = DraftIndex::build(vec![
        past(
            "p",
            "please add dark mode",
            "Good point, we will add that in an upcoming release!",
            "en",
        ),
        past(
            "q",
            "how do I turn on dark mode",
            "Go to Settings > Display and pick Dark.",
            "en",
        ),
    ]);
    let d = index
        .draft(&ask("please add a dark mode", Some("en")))
        .expect("a draft");
    let c = d.commitment.expect("marked as committing");
    assert_eq!(c.kind, CommitmentKind::Feature);
    assert!(d.text.contains(&c.evidence));
    let d = index
        .draft(&ask("how do I turn on the dark mode", Some("en")))
        .expect("a draft");
    assert_eq!(d.text, "Go to Settings > Display and pick Dark.");
    assert!(d.commitment.is_none());
}

#[test]
fn answers_with_nothing_to_reuse_are_left_out_and_an_empty_index_drafts_nothing() {
    let index = DraftIndex::build(vec![past("a", "help", "@12 ^AB", "en")]);
    assert!(index.is_empty());
    assert!(index.draft(&ask("help", None)).is_none());
    assert!(DraftIndex::build(Vec::new())
        .draft(&ask("", None))
        .is_none());
}

proptest::proptest! {
    #[test]
    fn any_text_drafts_without_panicking_and_within_the_limit(s in "\\PC{0,200}", limit in 1usize..300) {
        let index = DraftIndex::build(vec![
            past("a", "refund not arrived", "Refunds take 3-5 days. Please DM us the order number so we can check it today.", "en"),
            past("b", "アプリが落ちる", "アプリを再インストールしてください。", "ja"),
        ]);
        if let Some(d) = index.draft(&DraftRequest { limit, ..ask(&s, None) }) {
            proptest::prop_assert!(d.text.chars().count() <= limit);
            proptest::prop_assert_eq!(d.sources.iter().filter(|s| s.used).count(), 1);
        }
    }
}
