//! Did the concept list learn from the evaluation half? Every word or phrase added to it since
//! the split (`data/grouping/concepts_at_split.txt`) must either not occur in any evaluation
//! ask or occur in a tuning ask too: words are added from tuning texts (or from knowledge of
//! the languages, which evaluation asks rarely match word for word), never from evaluation
//! texts. As far as text can show it, this catches the leak issue 11 found (concept entries
//! matching held-out asks word for word). An entry is looked for in asks of its language only
//! (Swedish `visa` is "show", not a travel visa), except English and `*` entries, which the
//! grouper also reads in posts of other languages.

use super::set::{Half, LabelledSet};
use std::collections::BTreeSet;

/// `lang:word` entries of a concept list (phrases with their words joined by spaces), the
/// request-filler list included.
pub fn entries(list: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((_, body)) = line.split_once('=') else {
            continue;
        };
        for part in body.split('|') {
            let Some((lang, words)) = part.split_once(':') else {
                continue;
            };
            for w in words.split_whitespace() {
                out.insert((lang.trim().to_string(), w.replace('+', " ").to_lowercase()));
            }
        }
    }
    out
}

/// A text as lowercase words joined by single spaces, with spaces around it, so that
/// `" word "` finds whole words and phrases.
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    for w in text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
    {
        out.push_str(w);
        out.push(' ');
    }
    out
}

/// Entries added since the split that occur in an evaluation ask and in no tuning ask, with an
/// evaluation ask's position in the set (so a failure can be traced without printing texts).
pub fn leaked(set: &LabelledSet, at_split: &str, now: &str) -> Vec<(String, String, usize)> {
    let before = entries(at_split);
    let texts: Vec<(Half, &str, String)> = set
        .asks
        .iter()
        .map(|a| (a.half, a.lang.as_str(), words(&a.text)))
        .collect();
    let mut out = Vec::new();
    for (lang, entry) in entries(now).difference(&before) {
        let needle = format!(" {entry} ");
        let everywhere = lang == "en" || lang == "*";
        let in_half = |h: Half| {
            texts.iter().position(|(half, l, t)| {
                *half == h && (everywhere || l == lang) && t.contains(&needle)
            })
        };
        if let (Some(i), None) = (in_half(Half::Evaluation), in_half(Half::Tuning)) {
            out.push((lang.clone(), entry.clone(), i));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_words_and_phrases() {
        let e = entries("# c\nseat = en: seat steering+wheel | da: sæde\n~stop = en: please\n");
        assert!(e.contains(&("en".into(), "steering wheel".into())));
        assert!(e.contains(&("da".into(), "sæde".into())));
        assert!(e.contains(&("en".into(), "please".into())));
    }

    #[test]
    fn a_word_added_from_an_evaluation_ask_is_caught() {
        let set = LabelledSet::parse(concat!(
            r#"{"request":"d/a","split":"evaluation","desk":"d","source":"s","id":"1","lang":"en","text":"My Flux-Capacitor melted"}"#,
            "\n",
            r#"{"request":"d/b","split":"tuning","desk":"d","source":"s","id":"2","lang":"en","text":"the seat is wet"}"#,
            "\n"
        ))
        .unwrap();
        let before = "seat = en: seat\n";
        let caught = leaked(
            &set,
            before,
            "seat = en: seat\nthing = en: flux-capacitor wet\n",
        );
        assert_eq!(caught, vec![("en".into(), "flux-capacitor".into(), 0)]);
        assert!(leaked(&set, before, before).is_empty());
    }
}
