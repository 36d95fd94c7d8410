use super::*;

fn harm(text: &str, lang: &str) -> SafetyFinding {
    assess_text(text, lang)
}

#[test]
fn the_built_in_lexicon_parses() {
    let rows = parse_rows(LEXICON_TXT).expect("lexicon.txt parses");
    assert!(rows.len() > 1000, "{} phrases", rows.len());
    for lang in [
        "en", "da", "sv", "no", "nl", "de", "fr", "it", "es", "pt", "ar",
    ] {
        assert!(
            rows.iter()
                .any(|r| r.3.lang == lang.as_bytes() && matches!(r.3.role, Role::Cue(_))),
            "no harm words for {lang}"
        );
        assert!(
            rows.iter()
                .any(|r| r.3.lang == lang.as_bytes() && r.3.role == Role::Negator),
            "no negators for {lang}"
        );
    }
}

#[test]
fn a_bad_line_is_reported_with_its_number() {
    let e = parse_rows("# x\nfire en: smoke").expect_err("no weight");
    assert_eq!(e.line, 2, "{e}");
    assert!(parse_rows("explosions en 0.5: boom").is_err());
    assert!(parse_rows("fire en 1.5: boom").is_err());
}

#[test]
fn the_demo_phantom_braking_complaint_is_a_safety_report_with_a_child_at_risk() {
    let f = harm(
        "@voltra phantom braking on the motorway again today, scared my kids. Please fix this, it's dangerous",
        "en",
    );
    assert!(f.harm, "{f:?}");
    assert!(f.kinds.contains(&HarmKind::Vehicle), "{:?}", f.kinds);
    assert!(f.kinds.contains(&HarmKind::Danger), "{:?}", f.kinds);
    assert!(f.kinds.contains(&HarmKind::Child), "{:?}", f.kinds);
    assert!(f
        .evidence
        .iter()
        .any(|e| e.rule == "safety:vehicle" && e.text == "phantom braking"));
}

#[test]
fn literal_harm_in_english() {
    for text in [
        "my charger caught fire last night",
        "smoke coming out of the battery of my laptop",
        "the car braked on its own on the highway",
        "My minecraft account was hacked about 11 days ago",
        "there are three unauthorized charges on my card",
        "got a phishing email pretending to be you",
        "was in a car accident, the airbags didn't deploy",
        "my son was injured by the seat",
        "is this data breach why my details are for sale?",
        "the plane came within feet of colliding with another plane",
    ] {
        assert!(harm(text, "en").harm, "{text}: {:?}", harm(text, "en"));
    }
}

#[test]
fn figurative_negated_and_hypothetical_uses_are_not_harm() {
    for text in [
        "this deal is fire 🔥",
        "you guys are killing it with this update",
        "the app keeps crashing when I open settings",
        "my phone died before I could check in",
        "I would die if I got tickets",
        "no one was hurt, thankfully",
        "nobody got injured but the service was awful",
        "what happens if the battery ever catches fire?",
        "is it safe to charge overnight?",
        "you guys are a fraud",
        "got in the exit row, watched the safety video",
        "I accidentally booked the wrong flight",
        "the firestick remote stopped working",
        "are you kidding me, 2 hours on hold",
        "please fire the captain of flight 6232",
    ] {
        let f = harm(text, "en");
        assert!(!f.harm, "{text}: {f:?}");
    }
    let f = harm("no one was hurt, thankfully", "en");
    assert!(
        f.evidence.iter().any(|e| e.rule == "safety:negated"),
        "{f:?}"
    );
    let f = harm("this deal is fire", "en");
    assert!(
        f.evidence.iter().any(|e| e.rule == "safety:figurative"),
        "{f:?}"
    );
}

#[test]
fn weak_fire_words_need_something_that_burns() {
    assert!(!harm("the team is on fire tonight", "en").harm);
    assert!(harm("my phone is on fire", "en").harm);
    assert!(!harm("sparks of joy", "en").harm);
    assert!(harm("the charger sparks when I plug it in", "en").harm);
}

#[test]
fn harm_in_the_served_languages() {
    for (text, lang) in [
        (
            "bilen bremsede af sig selv på motorvejen, det er livsfarligt",
            "da",
        ),
        ("min konto er blevet hacket", "da"),
        ("bilen fattade eld i garaget", "sv"),
        ("laderen tok fyr i natt", "no"),
        ("mijn account is gehackt", "nl"),
        ("Phantombremsung auf der Autobahn, sehr gefährlich", "de"),
        ("la batterie a pris feu dans le garage", "fr"),
        ("ho avuto un incidente con la macchina", "it"),
        ("me hackearon la cuenta y hay cargos no autorizados", "es"),
        ("o carregador pegou fogo", "pt"),
        ("حريق في السيارة أثناء الشحن", "ar"),
        ("تم اختراق حسابي", "ar"),
    ] {
        let f = harm(text, lang);
        assert!(f.harm, "{lang} {text}: {f:?}");
    }
}

#[test]
fn false_friends_stay_in_their_language() {
    // Norwegian "fire" is four; Danish "brand" is fire, English "brand" is not.
    assert!(!harm("som allerede er fire år gammel", "no").harm);
    assert!(!harm("the brand new car is great", "en").harm);
    assert!(harm("der er brand i bilen", "da").harm);
    assert!(!harm("ikke farligt, bare irriterende", "da").harm);
    assert!(!harm("Es wurde niemand verletzt", "de").harm);
}

#[test]
fn nothing_harmful_finds_nothing() {
    let f = harm(
        "@voltra is there a way to check my warranty status in the app?",
        "en",
    );
    assert_eq!(f, SafetyFinding::default());
    assert_eq!(harm("", "und"), SafetyFinding::default());
}

/// The matching as it was: one overlapping Aho-Corasick pass over every byte, then the word
/// boundary checks.
fn old_matches(clean: &str) -> Vec<Match> {
    use aho_corasick::{AhoCorasick, MatchKind};
    let lex = &*LEXICON;
    let ac = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&lex.phrases)
        .expect("automaton");
    let mut out = Vec::new();
    for m in ac.find_overlapping_iter(clean) {
        let pattern = &lex.patterns[m.pattern().as_usize()];
        let (start, end) = (m.start(), m.end());
        let first_is_word = char_at(clean, start).is_some_and(is_word_char);
        let last_is_word = char_before(clean, end).is_some_and(is_word_char);
        if !pattern.left_open
            && first_is_word
            && char_before(clean, start).is_some_and(is_word_char)
        {
            continue;
        }
        if !pattern.right_open && last_is_word && char_at(clean, end).is_some_and(is_word_char) {
            continue;
        }
        out.push(Match {
            pattern: m.pattern().as_usize() as u32,
            start,
            end,
        });
    }
    out
}

/// The tries find exactly what the automaton found, in the same order, on every pinned post
/// (real posts in eleven languages), on text made of every phrase, and on noise.
#[test]
fn trie_matches_equal_the_automaton_matches() {
    let lex = &*LEXICON;
    let mut texts: Vec<String> = include_str!("../../tests/pinned/analyses.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    texts.push(lex.phrases.join(" "));
    texts.push(lex.phrases.join("x"));
    texts.push(lex.phrases.concat());
    let mut found = 0;
    for t in &texts {
        let p = Prepared::new(t);
        let want = old_matches(&p.clean);
        assert_eq!(lex.matches(&p), want, "{t:?}");
        found += want.len();
    }
    assert!(found > 3000, "{found}");
}

proptest::proptest! {
    #[test]
    fn trie_matches_equal_the_automaton_matches_on_noise(text in "[a-z0-9 '?!.,:()éøæåäöüوالبمصابحريق-]{0,60}") {
        let lex = &*LEXICON;
        let p = Prepared::new(&text);
        proptest::prop_assert_eq!(lex.matches(&p), old_matches(&p.clean));
    }
}
