use super::*;
use earshot_core::analysis::{Intent, ReachTier, SentimentLabel, UrgencyLevel};

/// What a post should come out as; `None` leaves a finding unchecked.
struct Expect {
    lang: &'static str,
    sentiment: Option<SentimentLabel>,
    intent: Option<Intent>,
}

fn expect(lang: &'static str, sentiment: Option<SentimentLabel>, intent: Option<Intent>) -> Expect {
    Expect {
        lang,
        sentiment,
        intent,
    }
}

/// The rules alone (what every language has even where no labelled data exists).
fn check(text: &str, e: Expect) {
    let a = Analyzer::rules_only(&Terms::default()).analyze_text(text, None, None);
    let why = format!(
        "{text:?}\n  language {:?}\n  sentiment {:?}\n  intent {:?}",
        a.language, a.sentiment, a.intent
    );
    assert_eq!(a.language.language.code(), e.lang, "language of {why}");
    if let Some(s) = e.sentiment {
        assert_eq!(a.sentiment.label, s, "sentiment of {why}");
    }
    if let Some(i) = e.intent {
        assert_eq!(a.intent.label, i, "intent of {why}");
    }
    assert_eq!(a.model, "builtin");
}

use Intent::{Complaint, FeatureRequest, Praise, Question};
use SentimentLabel::{Negative, Neutral, Positive};

#[test]
fn english() {
    check(
        "@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
        expect("en", Some(Neutral), Some(FeatureRequest)),
    );
    check(
        "My order still hasn't arrived and nobody answers, this is terrible",
        expect("en", Some(Negative), Some(Complaint)),
    );
    check(
        "Thanks so much, the support team was amazing!",
        expect("en", Some(Positive), Some(Praise)),
    );
    check(
        "What time does the store open tomorrow?",
        expect("en", Some(Neutral), Some(Question)),
    );
    check(
        "The update is not good at all",
        expect("en", Some(Negative), None),
    );
    check(
        "Not bad, really good actually",
        expect("en", Some(Positive), None),
    );
    // a wish is not a feeling: "great" inside "would be great if" does not count
    check(
        "The seat doesn't move back when I park, would be great if it did",
        expect("en", Some(Neutral), Some(FeatureRequest)),
    );
    check(
        "Thanks @SamsClub for selling expired beer #fail",
        expect("en", Some(Negative), Some(Complaint)),
    );
}

#[test]
fn danish() {
    check(
        "Det er virkelig irriterende at sædet ikke flytter sig",
        expect("da", Some(Negative), Some(Complaint)),
    );
    check(
        "Kan I tilføje en mulighed for at flytte sædet? Det ville være fedt hvis bilen gjorde det selv",
        expect("da", None, Some(FeatureRequest)),
    );
    check(
        "@voltra kan I ikke få sædet til at køre tilbage, når bilen står i park? Det ville gøre det meget nemmere at stige ud",
        expect("da", None, Some(FeatureRequest)),
    );
    check(
        "Tusind tak for den hurtige hjælp, I er de bedste!",
        expect("da", Some(Positive), Some(Praise)),
    );
}

#[test]
fn italian() {
    check(
        "Grazie mille, servizio fantastico!",
        expect("it", Some(Positive), Some(Praise)),
    );
    check(
        "L'app non funziona da ieri, che vergogna",
        expect("it", Some(Negative), Some(Complaint)),
    );
    check(
        "Potreste aggiungere la modalità scura? Sarebbe bello averla",
        expect("it", None, Some(FeatureRequest)),
    );
}

#[test]
fn german() {
    check(
        "Die App funktioniert nicht mehr, total enttäuschend",
        expect("de", Some(Negative), Some(Complaint)),
    );
    check(
        "Könntet ihr bitte einen Dunkelmodus einbauen? Das wäre toll",
        expect("de", None, Some(FeatureRequest)),
    );
    check(
        "Vielen Dank, super Service!",
        expect("de", Some(Positive), Some(Praise)),
    );
    check("Das gefällt mir nicht", expect("de", Some(Negative), None));
}

#[test]
fn french() {
    check(
        "Pourriez-vous ajouter un mode sombre ?",
        expect("fr", Some(Neutral), Some(FeatureRequest)),
    );
    check(
        "Mon colis n'est toujours pas arrivé, c'est inadmissible",
        expect("fr", Some(Negative), Some(Complaint)),
    );
    check(
        "Merci beaucoup, service impeccable !",
        expect("fr", Some(Positive), Some(Praise)),
    );
}

#[test]
fn spanish() {
    check(
        "Mi vuelo está retrasado y nadie responde, qué vergüenza",
        expect("es", Some(Negative), Some(Complaint)),
    );
    check(
        "¿Podrían agregar la opción de pagar con PayPal? Sería genial",
        expect("es", None, Some(FeatureRequest)),
    );
    check(
        "Muchas gracias, excelente servicio",
        expect("es", Some(Positive), Some(Praise)),
    );
}

#[test]
fn portuguese() {
    check(
        "O app não funciona desde ontem, péssimo atendimento",
        expect("pt", Some(Negative), Some(Complaint)),
    );
    check(
        "Vocês poderiam adicionar o modo escuro? Seria ótimo",
        expect("pt", None, Some(FeatureRequest)),
    );
    check(
        "Muito obrigado pelo atendimento, vocês são os melhores!",
        expect("pt", Some(Positive), Some(Praise)),
    );
}

#[test]
fn dutch() {
    check(
        "De app werkt niet meer, echt belachelijk",
        expect("nl", Some(Negative), Some(Complaint)),
    );
    check(
        "Kunnen jullie een donkere modus toevoegen? Dat zou handig zijn",
        expect("nl", None, Some(FeatureRequest)),
    );
    check(
        "Bedankt voor de snelle hulp, top service!",
        expect("nl", Some(Positive), Some(Praise)),
    );
}

#[test]
fn swedish() {
    check(
        "Appen fungerar inte, jag är så besviken",
        expect("sv", Some(Negative), Some(Complaint)),
    );
    check(
        "Kan ni lägga till mörkt läge? Det vore toppen",
        expect("sv", None, Some(FeatureRequest)),
    );
    check(
        "Tack för hjälpen, ni är bäst!",
        expect("sv", Some(Positive), Some(Praise)),
    );
}

#[test]
fn norwegian() {
    check(
        "Appen funker ikke lenger, dette er helt elendig",
        expect("no", Some(Negative), Some(Complaint)),
    );
    check(
        "Kan dere legge til mørk modus? Det hadde vært fint om appen husket meg",
        expect("no", None, Some(FeatureRequest)),
    );
    check(
        "Tusen takk for hjelpen, dere er best!",
        expect("no", Some(Positive), Some(Praise)),
    );
}

/// The shipped model on posts whose reading is not in doubt, with its evidence.
#[test]
fn the_shipped_model_is_the_default_and_explains_itself() {
    let a = Analyzer::default();
    let id = Model::shipped().expect("shipped model loads").id();
    for (text, sentiment, intent) in [
        (
            "My order still hasn't arrived and nobody answers, this is terrible",
            Negative,
            Complaint,
        ),
        (
            "Thanks so much, the support team was amazing!",
            Positive,
            Praise,
        ),
        (
            "Please add a dark mode to the app, it would be great to have it",
            Neutral,
            FeatureRequest,
        ),
        ("What time does the store open tomorrow?", Neutral, Question),
        (
            "Mon colis n'est toujours pas arrivé, c'est inadmissible",
            Negative,
            Complaint,
        ),
    ] {
        let r = a.analyze_text(text, None, None);
        assert_eq!(r.model, id);
        assert_eq!(r.intent.label, intent, "{text}: {:?}", r.intent);
        if sentiment != Neutral {
            assert_eq!(r.sentiment.label, sentiment, "{text}: {:?}", r.sentiment);
        }
        let first = &r.sentiment.evidence[0];
        assert_eq!(first.rule, format!("model:{id}"));
        assert!(first.weight > 0.33 && first.weight <= 1.0, "{first:?}");
        assert!(r
            .sentiment
            .evidence
            .iter()
            .any(|e| e.rule.ends_with(":sentiment")));
    }
    let r = a.analyze_text("this is not good at all", None, None);
    assert_eq!(r.sentiment.label, Negative, "{:?}", r.sentiment);
}

#[test]
fn declared_language_wins_and_unknown_stays_unknown() {
    let a = Analyzer::default();
    let r = a.analyze_text("ok", Some("nb-NO"), None);
    assert_eq!(r.language.language.code(), "no");
    assert_eq!(r.language.source, "declared");
    let r = a.analyze_text("ありがとう", Some("ja"), None);
    assert_eq!(r.language.language.code(), "ja");
    let r = a.analyze_text("ok 👍", None, None);
    assert_eq!(r.language.language.code(), "und");
    assert_eq!(r.sentiment.label, Positive, "{:?}", r.sentiment);
    let r = a.analyze_text("شكرا جزيلا على المساعدة", None, None);
    assert_eq!(r.language.language.code(), "ar");
    let r = a.analyze_text("@user https://t.co/abc", None, None);
    assert_eq!(r.language.language.code(), "und");
    assert_eq!(r.fingerprint, 0);
}

#[test]
fn urgency_levels() {
    let a = Analyzer::rules_only(&Terms::default());
    let u = |t: &str| a.analyze_text(t, None, None).urgency;
    let hacked =
        u("My account was hacked and someone is making fraudulent charges, please help ASAP!!");
    assert_eq!(hacked.level, UrgencyLevel::Critical, "{hacked:?}");
    assert!(hacked.evidence.iter().any(|e| e.text == "hacked"));
    let stranded = u("Stranded at the gate, flight cancelled and nobody helps");
    assert!(stranded.level >= UrgencyLevel::High, "{stranded:?}");
    assert_eq!(
        u("Sidder fast i lufthavnen, det haster!").level,
        UrgencyLevel::High
    );
    assert_eq!(u("Thanks, love the new app!").level, UrgencyLevel::Low);
    // angry and stuck is high; only safety and fraud words make a post critical
    assert_eq!(
        u("@AmericanAir stranded in Dallas, 3rd cancelled flight today. Worst airline ever!!!")
            .level,
        UrgencyLevel::High
    );
    assert_eq!(
        u("When does the new model come out?").level,
        UrgencyLevel::Normal
    );
}

#[test]
fn long_posts_are_capped_not_slow() {
    let text = "this is bad and not good at all, ".repeat(20_000);
    let a = Analyzer::rules_only(&Terms {
        keywords: vec!["good".into()],
        ..Terms::default()
    })
    .analyze_text(&text, None, None);
    assert_eq!(a.sentiment.label, Negative);
    // term matches still cover the whole text
    assert_eq!(a.matches.len(), 20_000);
}

proptest::proptest! {
    #[test]
    fn any_text_gives_a_sane_analysis(text in "\\PC{0,120}") {
        let a = Analyzer::new(&Terms { brands: vec!["Acme".into()], ..Terms::default() });
        let r = a.analyze_text(&text, None, Some(10));
        proptest::prop_assert!((-1.0..=1.0).contains(&r.sentiment.score));
        proptest::prop_assert!((0.0..=1.0).contains(&r.urgency.score));
        proptest::prop_assert!(r.intent.confidence >= 0.0 && r.intent.confidence <= 1.0);
        for m in &r.matches {
            proptest::prop_assert!(text.get(m.start..m.end).is_some());
        }
    }

    #[test]
    fn tweet_like_noise_never_panics(text in "[a-zA-Z\\\\u0-9 @#:/.!?'’&;ÆØÅæøå😂-]{0,80}") {
        let p = crate::text::Prepared::new(&text);
        for t in &p.tokens {
            proptest::prop_assert!(p.clean.get(t.start as usize..t.end as usize).is_some());
        }
        let r = Analyzer::default().analyze_text(&text, None, None);
        proptest::prop_assert!(r.sentiment.score.is_finite());
    }
}

#[test]
fn post_fields_are_used() {
    let json = r#"{"network":"x","external_id":"896523232098078720",
        "author":{"external_id":"u1","handle":"paulfranks","followers":1520,"verified":true},
        "text":"@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
        "created_at":"2017-08-19T03:47:00Z","lang":"en"}"#;
    let post: NewPost = serde_json::from_str(json).expect("canonical post");
    let terms = Terms {
        handles: vec!["@elonmusk".into()],
        brands: vec!["Tesla".into()],
        keywords: vec!["seat".into(), "steering wheel".into()],
    };
    let a = Analyzer::rules_only(&terms).analyze(&post);
    assert_eq!(a.language.source, "declared");
    assert_eq!(a.intent.label, FeatureRequest);
    assert!(
        a.intent.evidence[0].rule.contains("can you program"),
        "{:?}",
        a.intent.evidence
    );
    assert_eq!(a.reach.tier, ReachTier::Medium);
    assert_eq!(a.reach.followers, Some(1520));
    let kinds: Vec<&str> = a.matches.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["handle", "keyword", "keyword"]);
    assert_eq!(
        &post.text[a.matches[0].start..a.matches[0].end],
        "@elonmusk"
    );
    assert_ne!(a.fingerprint, 0);
}

#[test]
fn analyzer_is_send_sync_and_cheap_to_share() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Analyzer>();
    let a = std::sync::Arc::new(Analyzer::default());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                a.analyze_text("thanks, love it", None, None)
                    .sentiment
                    .label
            })
        })
        .collect();
    for h in handles {
        assert_eq!(
            h.join().ok(),
            Some(earshot_core::analysis::SentimentLabel::Positive)
        );
    }
}
