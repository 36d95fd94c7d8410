//! Chases: a content-free follow-up that says only "I am still waiting" ("hello??", "any
//! update?", "anyone?", "still waiting...", "hallo?", "nogen?", "des nouvelles ?"). Triage
//! ranks a chased conversation higher and keeps what it was about (`Analysis::chase`).
//!
//! A post is a chase when, after mentions and links are gone, it has at most
//! [`MAX_WORDS`] words, every word is chase filler in one of the served languages, and it
//! either asks (a `?`) or holds a word that only chasing uses ("update", "anyone", "waiting").
//! "Thanks" or "ok" are not chases: they are not filler here.

use crate::text::Prepared;

/// Longer posts say something.
pub const MAX_WORDS: usize = 6;

/// Words a chase is made of (any served language). Those in [`CHASING`] make it a chase even
/// without a question mark.
const FILLER: &[&str] = &[
    // en
    "hello",
    "helloo",
    "hellooo",
    "hi",
    "hey",
    "heyy",
    "yo",
    "anyone",
    "anybody",
    "someone",
    "somebody",
    "there",
    "any",
    "update",
    "updates",
    "news",
    "still",
    "waiting",
    "again",
    "me",
    "please",
    "pls",
    "plz",
    "reply",
    "respond",
    "answer",
    "answers",
    "help",
    "guys",
    "you",
    "is",
    "are",
    "on",
    "this",
    "it",
    "the",
    "a",
    "an",
    "what",
    "whats",
    "what's",
    "about",
    "status",
    "bump",
    "ping",
    "follow",
    "up",
    "following",
    "so",
    "um",
    "umm",
    "hmm",
    "ok",
    "well",
    "now",
    "yet",
    "nothing",
    "no",
    "we",
    "i",
    "am",
    "here",
    "at",
    "all",
    "my",
    "to",
    "for",
    "from",
    "back",
    "get",
    "going",
    "happening",
    "with",
    "hellooo",
    "haloo",
    // da, no, sv
    "hallo",
    "hej",
    "hei",
    "nogen",
    "noen",
    "någon",
    "nyt",
    "nytt",
    "nyheder",
    "nyheter",
    "venter",
    "väntar",
    "stadig",
    "fortsatt",
    "fortfarande",
    "stadigvæk",
    "svar",
    "svare",
    "svara",
    "hjælp",
    "hjelp",
    "hjälp",
    "der",
    "det",
    "er",
    "är",
    "på",
    "om",
    // nl, de
    "iemand",
    "nieuws",
    "wacht",
    "nog",
    "steeds",
    "antwoord",
    "jemand",
    "neuigkeiten",
    "warte",
    "immer",
    "noch",
    "antwort",
    "da",
    "hier",
    "gibt",
    "es",
    "was",
    "neues",
    // fr, it, es, pt
    "allo",
    "allô",
    "salut",
    "bonjour",
    "quelqu'un",
    "nouvelles",
    "j'attends",
    "toujours",
    "réponse",
    "ciao",
    "qualcuno",
    "novità",
    "aspetto",
    "ancora",
    "risposta",
    "hola",
    "alguien",
    "novedades",
    "espero",
    "sigo",
    "esperando",
    "respuesta",
    "olá",
    "ola",
    "oi",
    "alguém",
    "novidades",
    "aguardo",
    "resposta",
    "ainda",
    "nada",
    "y",
    "e",
    "de",
    "des",
    "du",
    "la",
    "le",
];

/// Words that only chasing uses: with one of these no question mark is needed.
const CHASING: &[&str] = &[
    "anyone",
    "anybody",
    "update",
    "updates",
    "waiting",
    "bump",
    "ping",
    "nogen",
    "noen",
    "någon",
    "venter",
    "väntar",
    "iemand",
    "jemand",
    "wacht",
    "warte",
    "quelqu'un",
    "j'attends",
    "qualcuno",
    "aspetto",
    "alguien",
    "esperando",
    "alguém",
    "aguardo",
    "news",
    "nyt",
    "nytt",
    "nieuws",
    "neuigkeiten",
    "nouvelles",
    "novità",
    "novedades",
    "novidades",
    "hello",
    "helloo",
    "hellooo",
    "hallo",
    "allo",
    "allô",
];

/// Whether a prepared post is a content-free chase.
pub fn is_chase(p: &Prepared) -> bool {
    let n = p.tokens.len();
    if n > MAX_WORDS {
        return false;
    }
    let asks = p.stats.question_marks > 0;
    if n == 0 {
        // "??" or "…?" on its own (a bare mention has no question mark).
        return asks;
    }
    let mut chasing = false;
    for i in 0..n {
        let w = p.token_str(i);
        // "hellooooo" and "anyoneee" count as their short forms.
        let w = squeeze(w);
        if !FILLER.contains(&w.as_str()) {
            return false;
        }
        chasing |= CHASING.contains(&w.as_str());
    }
    asks || chasing
}

/// Letters repeated three or more times cut to two, then the word's known form if that
/// exists with one ("hellooo" → "helloo"; "anyoneee" → "anyone").
fn squeeze(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    let mut last = None;
    let mut run = 0;
    for c in w.chars() {
        if Some(c) == last {
            run += 1;
        } else {
            run = 1;
            last = Some(c);
        }
        if run <= 2 {
            out.push(c);
        }
    }
    if FILLER.contains(&out.as_str()) {
        return out;
    }
    // Try each doubled letter once as single ("anyonee" → "anyone").
    let chars: Vec<char> = out.chars().collect();
    for i in 1..chars.len() {
        if chars[i] == chars[i - 1] {
            let single: String = chars[..i].iter().chain(&chars[i + 1..]).collect();
            if FILLER.contains(&single.as_str()) {
                return single;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chase(text: &str) -> bool {
        is_chase(&Prepared::new(text))
    }

    #[test]
    fn content_free_follow_ups_are_chases() {
        for t in [
            "hello??",
            "@voltra hello??",
            "any update?",
            "Anyone?",
            "@voltra any updates on this???",
            "still waiting...",
            "Hellooooo",
            "??",
            "@AmericanAir hello???",
            "hallo?",
            "nogen?",
            "des nouvelles ?",
            "alguien?",
            "ainda aguardo resposta",
            "is anyone there?",
        ] {
            assert!(chase(t), "{t}");
        }
    }

    #[test]
    fn posts_that_say_something_are_not() {
        for t in [
            "thanks!",
            "ok",
            "@voltra",
            "hello, my car won't charge",
            "any update on the recall for the brakes?",
            "is there a way to check my warranty status in the app?",
            "still waiting for my refund, this is a joke",
            "phantom braking again",
            "",
        ] {
            assert!(!chase(t), "{t}");
        }
    }
}
