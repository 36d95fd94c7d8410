//! No text that a figure is measured on may be trained on: the training pool loses every
//! example whose normalised text occurs in any validation part of any set.
//!
//! "Normalised" is what earshot reads of a post: lowercase words, without URLs, @mentions,
//! `#`, HTML entities and punctuation (XLM-T's English train holds 1,430 of TweetEval's 2,000
//! validation tweets; some differ only in a mention or a link).

use crate::data::{Example, Split};
use earshot_analyze::text::Prepared;
use std::collections::HashSet;

/// The words of a text, lowercased and joined by single spaces.
pub fn norm_key(text: &str) -> String {
    let p = Prepared::new(text);
    let mut key = String::with_capacity(p.clean.len());
    for i in 0..p.tokens.len() {
        if i > 0 {
            key.push(' ');
        }
        key.push_str(p.token_str(i));
    }
    key
}

/// The normalised texts of every validation example.
pub fn validation_keys(examples: &[Example]) -> HashSet<String> {
    examples
        .iter()
        .filter(|e| e.split == Split::Val)
        .map(|e| norm_key(&e.text))
        .collect()
}

/// What [`training_pool`] took out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Training examples whose text is also in a validation part.
    pub overlapping: usize,
    /// Training examples with no words at all (only mentions, links or emoji): their key is
    /// empty, so they cannot be told apart from one another.
    pub empty: usize,
}

/// The training examples of `examples`, less every one whose normalised text occurs in any
/// validation part (of any set), and less those with no words.
pub fn training_pool(examples: &[Example]) -> (Vec<Example>, Removed) {
    let val = validation_keys(examples);
    let mut removed = Removed::default();
    let mut pool = Vec::new();
    for e in examples.iter().filter(|e| e.split == Split::Train) {
        let key = norm_key(&e.text);
        if key.is_empty() {
            removed.empty += 1;
        } else if val.contains(&key) {
            removed.overlapping += 1;
        } else {
            pool.push(e.clone());
        }
    }
    (pool, removed)
}

/// How many of `train` share a normalised text with `val` (0 is the only acceptable answer).
/// Texts with no words (only mentions, links or emoji) are not counted: their empty keys say
/// nothing about overlap, and [`training_pool`] drops them anyway.
pub fn shared_texts(train: &[Example], val: &[Example]) -> usize {
    let keys: HashSet<String> = val
        .iter()
        .map(|e| norm_key(&e.text))
        .filter(|k| !k.is_empty())
        .collect();
    train
        .iter()
        .filter(|e| keys.contains(&norm_key(&e.text)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data;

    fn ex(text: &str, split: Split) -> Example {
        Example {
            set: "t",
            part: "",
            lang: "en",
            split,
            text: text.into(),
            sentiment: None,
            complaint: None,
            feature_request: None,
        }
    }

    #[test]
    fn normalisation_ignores_case_mentions_links_and_punctuation() {
        assert_eq!(
            norm_key("@user Great   game, Sega!! https://t.co/x"),
            "great game sega"
        );
        assert_eq!(
            norm_key("@a GREAT game sega"),
            norm_key("great game; sega?")
        );
        assert_ne!(norm_key("great game"), norm_key("great games"));
    }

    #[test]
    fn the_pool_loses_what_validation_holds() {
        let examples = vec![
            ex("Loved it @user", Split::Train),
            ex("loved it!", Split::Val),
            ex("hated it", Split::Train),
            ex("@user http://x.co", Split::Train),
        ];
        let (pool, removed) = training_pool(&examples);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool[0].text, "hated it");
        assert_eq!(
            removed,
            Removed {
                overlapping: 1,
                empty: 1
            }
        );
        let val: Vec<Example> = examples
            .into_iter()
            .filter(|e| e.split == Split::Val)
            .collect();
        assert_eq!(shared_texts(&pool, &val), 0);
    }

    /// The real data: XLM-T's English train repeats most of TweetEval's validation tweets, so
    /// the raw training parts overlap the validation parts by well over a thousand texts; the
    /// pool every model is trained from shares none.
    #[test]
    fn training_pool_shares_no_text_with_any_validation_part() {
        let Some(dir) = data::for_tests() else { return };
        let examples = data::all(&dir).expect("shared data reads");
        let train: Vec<Example> = examples
            .iter()
            .filter(|e| e.split == Split::Train)
            .cloned()
            .collect();
        let val: Vec<Example> = examples
            .iter()
            .filter(|e| e.split == Split::Val)
            .cloned()
            .collect();
        let raw = shared_texts(&train, &val);
        assert!(raw > 1400, "raw overlap {raw}");
        let (pool, removed) = training_pool(&examples);
        assert_eq!(removed.overlapping, raw);
        assert_eq!(shared_texts(&pool, &val), 0);
        // XLM-T English train against TweetEval validation, the leak issue 11 found.
        let xlmt_en: Vec<Example> = train
            .iter()
            .filter(|e| e.set == "xlmt-sentiment" && e.part == "english")
            .cloned()
            .collect();
        let tweeteval_val: Vec<Example> = val
            .iter()
            .filter(|e| e.set == "tweeteval-sentiment")
            .cloned()
            .collect();
        assert!(shared_texts(&xlmt_en, &tweeteval_val) >= 1400);
        let pool_xlmt_en: Vec<Example> = pool
            .iter()
            .filter(|e| e.set == "xlmt-sentiment" && e.part == "english")
            .cloned()
            .collect();
        assert_eq!(shared_texts(&pool_xlmt_en, &tweeteval_val), 0);
    }
}
