use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A Saturday, like the seat story's reply.
fn written() -> NaiveDate {
    day("2017-08-19")
}

fn kind(text: &str, lang: &str) -> Option<CommitmentKind> {
    detect_promise(text, Some(lang), written()).map(|p| p.kind)
}

#[test]
fn feature_promises_in_ten_languages() {
    use CommitmentKind::Feature;
    let cases = [
        ("Good point, we will add that in an upcoming release", "en"),
        ("Great idea! We're adding it in the next update.", "en"),
        ("Godt forslag, vi tilføjer det", "da"),
        ("Det kommer i næste opdatering!", "da"),
        ("Ottima idea, lo aggiungeremo presto", "it"),
        ("Danke! Wir werden das im nächsten Update hinzufügen.", "de"),
        (
            "Merci, nous allons l'ajouter dans la prochaine version",
            "fr",
        ),
        ("¡Gracias! Lo añadiremos en la próxima actualización", "es"),
        ("Bedankt, we gaan dit toevoegen in de volgende versie", "nl"),
        (
            "Tack! Vi kommer att lägga till det i nästa uppdatering",
            "sv",
        ),
        ("Takk, vi skal legge til dette i neste versjon", "no"),
        (
            "Obrigado! Vamos adicionar isso na próxima atualização",
            "pt",
        ),
    ];
    for (text, lang) in cases {
        assert_eq!(kind(text, lang), Some(Feature), "{lang}: {text}");
    }
}

#[test]
fn fix_policy_follow_up_and_passed_on() {
    use CommitmentKind::*;
    let cases = [
        ("We'll fix this next week, sorry!", "en", Fix),
        ("Our engineers are working on a fix right now.", "en", Fix),
        ("This will be fixed in version 2.4.", "en", Fix),
        ("Lo sistemeremo la prossima settimana", "it", Fix),
        ("Vi retter fejlen i næste uge", "da", Fix),
        ("Wir werden den Fehler beheben", "de", Fix),
        ("Lo arreglaremos pronto", "es", Fix),
        (
            "We will change our charging policy so idle cars pay a fee",
            "en",
            Policy,
        ),
        (
            "We'll review our rules for idle fees at Superchargers",
            "en",
            Policy,
        ),
        (
            "Vi ændrer reglerne for gebyrer ved ladestanderne",
            "da",
            Policy,
        ),
        (
            "Thanks for the file, we'll get back to you with updates as we investigate.",
            "en",
            FollowUp,
        ),
        ("We'll call you shortly.", "en", FollowUp),
        (
            "We'll take a look into this and be back in touch as soon as we have more information!",
            "en",
            FollowUp,
        ),
        ("Vi vender tilbage i morgen", "da", FollowUp),
        ("Ti faremo sapere al più presto", "it", FollowUp),
        ("Wir melden uns morgen bei dir", "de", FollowUp),
        ("We'll get your booking fixed for you", "en", FollowUp),
        ("I'll pass your feedback on to the team", "en", PassedOn),
        (
            "Rest assured, your feedback will be passed on to the right folks",
            "en",
            PassedOn,
        ),
        (
            "We can't make any promises but we'll pass your feedback onto the right folks",
            "en",
            PassedOn,
        ),
        ("Jeg giver det videre til teamet", "da", PassedOn),
        (
            "Gebe ich aber direkt als Feedback dorthin weiter.",
            "de",
            PassedOn,
        ),
        ("Lo inoltreremo al team", "it", PassedOn),
        (
            "Nous transmettrons votre suggestion à l'équipe",
            "fr",
            PassedOn,
        ),
    ];
    for (text, lang, want) in cases {
        assert_eq!(kind(text, lang), Some(want), "{lang}: {text}");
    }
}

#[test]
fn not_promises() {
    let cases = [
        // negations
        ("We won't be adding that, sorry.", "en"),
        ("We have no plans to add that.", "en"),
        ("We will not support that device.", "en"),
        ("Vi har ingen planer om at tilføje det", "da"),
        ("Vi vil ikke tilføje det", "da"),
        ("Non lo aggiungeremo", "it"),
        ("No vamos a añadir eso", "es"),
        ("Wir werden das nicht hinzufügen", "de"),
        ("Nous n'allons pas l'ajouter", "fr"),
        // hedges
        ("Hopefully we'll have it available again soon", "en"),
        ("We'll try to add it at some point", "en"),
        ("We might add that in the future", "en"),
        ("Forse lo aggiungeremo", "it"),
        // conditionals
        ("Send us a DM and we'll take a look.", "en"),
        (
            "Could you DM us your account email? We'll take a look backstage",
            "en",
        ),
        ("We'll add it if enough people ask for it", "en"),
        ("If anything changes, we'll keep you posted", "en"),
        ("Hvis der er nok der spørger, tilføjer vi det", "da"),
        // questions
        ("Would you like us to add that?", "en"),
        ("Will we add it? Good question.", "en"),
        // past tense
        ("We added that last year, it's under Settings.", "en"),
        ("That has been fixed already, please update the app", "en"),
        ("Vi tilføjede det sidste år", "da"),
        ("Wir haben das letztes Jahr hinzugefügt", "de"),
        // offers and plain information
        (
            "I will be glad to assist you. Can you DM me your account number?",
            "en",
        ),
        (
            "The estimated delivery date will be available to view in your Purchase History.",
            "en",
        ),
        ("Thanks for reaching out!", "en"),
    ];
    for (text, lang) in cases {
        let got = detect_promise(text, Some(lang), written());
        assert!(got.is_none(), "{lang}: {text} → {got:?}");
    }
}

#[test]
fn due_hints_come_with_the_candidate() {
    let p = detect_promise("We'll fix this next week", Some("en"), written()).unwrap();
    assert_eq!(p.due, Some(DueHint::Within(7)));
    assert_eq!(
        p.due.as_ref().and_then(|d| d.due_on(written())),
        Some(day("2017-08-26"))
    );
    let p = detect_promise("Vi retter det i næste uge", Some("da"), written()).unwrap();
    assert_eq!(p.due, Some(DueHint::Within(7)));
    let p = detect_promise("It will be added in version 2.4.", Some("en"), written()).unwrap();
    assert_eq!(p.due, Some(DueHint::Release(Some("2.4".into()))));
    let p = detect_promise("We will add it by March 3.", Some("en"), written()).unwrap();
    assert_eq!(
        p.due,
        Some(DueHint::Date(day("2018-03-03"))),
        "March 3 has passed in 2017"
    );
    let p = detect_promise("Lo aggiungeremo entro il 15/4", Some("it"), written()).unwrap();
    assert_eq!(p.due, Some(DueHint::Date(day("2018-04-15"))));
    let p = detect_promise("We'll get back to you in a few days", Some("en"), written()).unwrap();
    assert_eq!(p.due, Some(DueHint::Within(3)));
    let p = detect_promise("We'll pass it on.", Some("en"), written()).unwrap();
    assert_eq!(p.due, None);
    // A thread marker is not a date.
    let p = detect_promise("1/2 We'll pass it on to the team", Some("en"), written()).unwrap();
    assert_eq!(p.due, None);
}

#[test]
fn evidence_points_into_the_reply_and_confidence_orders_kinds() {
    let reply =
        "@paulfranks Good point \u{2014} we\u{2019}ll add that in an upcoming release! Thanks";
    let p = detect_promise(reply, None, written()).unwrap();
    assert_eq!(p.kind, CommitmentKind::Feature);
    assert_eq!(
        p.evidence_text(reply),
        "we\u{2019}ll add that in an upcoming release"
    );
    assert!(
        p.confidence > 0.8,
        "a due hint makes it surer: {}",
        p.confidence
    );
    // A product promise outranks the follow-up in the same reply.
    let reply = "We'll get back to you. The team will fix this in the next update.";
    let p = detect_promise(reply, Some("en"), written()).unwrap();
    assert_eq!(p.kind, CommitmentKind::Fix);
    assert_eq!(
        p.evidence_text(reply),
        "The team will fix this in the next update"
    );
}

#[test]
fn settings_decide_what_is_proposed() {
    let passed = detect_promise("I'll pass it on to the team", Some("en"), written()).unwrap();
    let feature = detect_promise("We'll add it", Some("en"), written()).unwrap();
    let follow = detect_promise("We'll get back to you", Some("en"), written()).unwrap();
    let default = PromiseSettings::default();
    assert_eq!(default.proposal(&passed), None);
    assert_eq!(default.proposal(&feature), Some(PromiseKind::Feature));
    assert_eq!(default.proposal(&follow), Some(PromiseKind::FollowUp));
    let eager = PromiseSettings {
        propose_passed_on: true,
        propose_follow_ups: false,
        ..PromiseSettings::default()
    };
    assert_eq!(eager.proposal(&passed), Some(PromiseKind::Feature));
    assert_eq!(eager.proposal(&follow), None);
    let strict = PromiseSettings {
        min_confidence: 0.99,
        ..PromiseSettings::default()
    };
    assert_eq!(strict.proposal(&feature), None);
    for k in CommitmentKind::ALL {
        assert_eq!(CommitmentKind::parse(k.as_str()), Some(k));
    }
}

#[test]
fn opt_outs_and_asks() {
    for (text, lang) in [
        ("Please don't notify me about this", "en"),
        ("stop", "en"),
        ("STOP please", "en"),
        ("No thanks!", "en"),
        ("afmeld", "da"),
        ("Nej tak", "da"),
        ("no grazie", "it"),
        ("Bitte abmelden", "de"),
        ("Non merci", "fr"),
        ("no me interesa", "es"),
    ] {
        assert!(detect_opt_out(text, Some(lang)), "{lang}: {text}");
        assert!(!asks_to_be_told(text, Some(lang)), "{lang}: {text}");
    }
    for (text, lang) in [
        ("My bus didn't stop at the station", "en"),
        ("No, that's not the problem", "en"),
        ("Let me know when it ships!", "en"),
    ] {
        assert!(!detect_opt_out(text, Some(lang)), "{lang}: {text}");
    }
    for (text, lang) in [
        ("Please let me know when this is added", "en"),
        ("Keep me posted!", "en"),
        ("Sig til når det kommer", "da"),
        ("Fammi sapere quando arriva", "it"),
        ("Halte mich auf dem Laufenden", "de"),
        ("Tenez-moi au courant", "fr"),
        ("Avísame cuando esté", "es"),
    ] {
        assert!(asks_to_be_told(text, Some(lang)), "{lang}: {text}");
    }
    assert!(!asks_to_be_told(
        "The seat should move back when parked",
        Some("en")
    ));
    assert!(!asks_to_be_told(
        "Please don't let me know when it ships",
        Some("en")
    ));
}
