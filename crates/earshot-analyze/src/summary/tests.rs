use super::*;
use chrono::TimeZone;
use earshot_core::feedback::{PromiseId, PromiseKind, PromiseState};
use earshot_core::ConversationId;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + minute * 60, 0)
        .single()
        .unwrap_or_default()
}

fn post(
    id: i64,
    author: &'static str,
    from_brand: bool,
    text: &'static str,
) -> SummaryPost<'static> {
    SummaryPost {
        id,
        author,
        from_brand,
        text,
        at: at(id),
        lang: Some("en"),
    }
}

fn long_thread() -> Vec<SummaryPost<'static>> {
    vec![
        post(1, "ana", false, "@Acme Hi. My car seat does not move back when I park. Can you make the seat move back when parked?"),
        post(2, "acme", true, "@ana Thanks for the idea! Which model do you drive?"),
        post(3, "ana", false, "@Acme Model 3, 2017. I love the car otherwise."),
        post(4, "ana", false, "It is hard to get out when the seat stays forward after I park."),
        post(5, "acme", true, "@ana Good point, we will add that in an upcoming release!"),
        post(6, "ana", false, "@Acme Thanks! Please make the seat move back when parked soon."),
    ]
}

#[test]
fn sentences_split_at_ends_and_lines_without_mentions() {
    assert_eq!(
        sentences("@Acme @x Hi. Version 2.4 is out!\nWhy? ok"),
        vec!["Hi.", "Version 2.4 is out!", "Why?", "ok"]
    );
}

#[test]
fn a_long_thread_gives_its_central_ask_its_points_and_what_was_promised() {
    let s = thread(&long_thread(), 2);
    assert_eq!(s.posts, 6);
    assert_eq!(s.customer_posts, 4);
    assert_eq!(s.since, Some(at(1)));
    let ask = s.ask.expect("an ask");
    assert!(
        ask.text.contains("seat move back when parked"),
        "{}",
        ask.text
    );
    assert_eq!(s.points.len(), 2);
    // In thread order, no sentence repeating another, none shorter than three words.
    assert!(s.points[0].post <= s.points[1].post);
    assert!(s
        .points
        .iter()
        .all(|p| p.text.split_whitespace().count() >= 3));
    let texts: Vec<&str> = s.points.iter().map(|p| p.text.as_str()).collect();
    assert!(
        !(texts.iter().any(|t| t.starts_with("Can you make"))
            && texts.iter().any(|t| t.starts_with("Please make"))),
        "two near-repeats chosen: {texts:?}"
    );
    assert_eq!(s.promised.len(), 1);
    assert_eq!(s.promised[0].post, 5);
    assert_eq!(s.promised[0].kind, "feature");
    assert!(s.promised[0].evidence.contains("we will add that"));
    // The customer spoke last.
    assert!(s.waiting);
}

#[test]
fn an_empty_or_brand_only_thread_summarises_to_nothing() {
    let s = thread(&[], 3);
    assert_eq!(
        (s.posts, s.ask.is_none(), s.points.is_empty(), s.waiting),
        (0, true, true, false)
    );
    let s = thread(&[post(1, "acme", true, "We are open 24/7.")], 3);
    assert!(s.ask.is_none() && s.points.is_empty() && !s.waiting);
}

#[test]
fn a_request_says_what_is_asked_since_when_by_how_many_and_what_was_promised() {
    let asks = vec![
        post(
            10,
            "ana",
            false,
            "@Acme can the seat move back when the car is parked?",
        ),
        post(
            20,
            "Bo",
            false,
            "@Acme Please let the seat slide back when parked. Love the car.",
        ),
        post(
            30,
            "bo",
            false,
            "@Acme any news on the seat moving back when parked?",
        ),
        post(
            40,
            "cy",
            false,
            "@Acme seat should move back automatically when I park",
        ),
        post(50, "acme", true, "@cy we will add that!"),
    ];
    let promise = Promise {
        id: PromiseId(1),
        request_id: None,
        conversation_id: ConversationId(3),
        reply_id: Some(77),
        evidence: "we will add that in an upcoming release".into(),
        kind: PromiseKind::Feature,
        state: PromiseState::Confirmed,
        made_at: at(45),
        due_on: None,
        target_release: Some("2.5".into()),
        confirmed_by: Some("lee".into()),
        confirmed_at: Some(at(46)),
        release_id: None,
        kept_at: None,
    };
    let s = request(&asks, &[promise]);
    // Bo asked twice (handles compared without case); the brand's post is not an ask.
    assert_eq!((s.askers, s.posts), (3, 4));
    assert_eq!((s.since, s.latest), (Some(at(10)), Some(at(40))));
    let ask = s.ask.expect("an ask");
    assert!(ask.text.to_lowercase().contains("seat"), "{}", ask.text);
    assert!(
        ask.text.contains('?') || ask.text.starts_with("Please"),
        "{}",
        ask.text
    );
    assert_ne!(ask.text, "Love the car.");
    assert_eq!(s.languages.get("en"), Some(&4));
    assert_eq!(s.promised.len(), 1);
    assert_eq!(s.promised[0].state.as_deref(), Some("confirmed"));
    assert_eq!(s.promised[0].post, 77);
}

#[test]
fn one_sentence_is_its_own_summary() {
    let s = request(&[post(1, "ana", false, "Dark mode please")], &[]);
    assert_eq!(s.ask.map(|a| a.text), Some("Dark mode please".to_string()));
}

proptest::proptest! {
    #[test]
    fn any_text_summarises_without_panicking(a in "\\PC{0,300}", b in "\\PC{0,300}") {
        let posts = [
            SummaryPost { id: 1, author: "a", from_brand: false, text: &a, at: at(1), lang: None },
            SummaryPost { id: 2, author: "b", from_brand: true, text: &b, at: at(2), lang: None },
        ];
        let s = thread(&posts, 3);
        proptest::prop_assert!(s.points.len() <= 3);
        let r = request(&posts, &[]);
        proptest::prop_assert!(r.askers <= 1);
    }
}
