//! How long X thinks a text is: the weighted count of twitter-text v3, which X enforces
//! against the 280 limit. Code points in the Latin, Greek, Cyrillic, Hebrew, Arabic, Indic,
//! Thai ... blocks (U+0000–U+10FF) and a few punctuation ranges weigh 1; everything else
//! (CJK, emoji) weighs 2; every URL weighs 23 whatever its length (X wraps it in t.co).
//!
//! Deviations, kept small on purpose: an emoji sequence counts as one grapheme cluster
//! (twitter-text also counts each emoji as 2), and text is not NFC-normalised first (a
//! cluster of a light base plus combining marks counts 1, as its composed form would).

use unicode_segmentation::UnicodeSegmentation;

/// X's limit for a post, in weighted characters.
pub const MAX_WEIGHTED_LENGTH: usize = 280;

/// The weight of any URL.
const URL_WEIGHT: usize = 23;

/// The weighted length of `text` as X counts it.
pub fn weighted_length(text: &str) -> usize {
    let mut total = 0;
    let mut rest = text;
    while !rest.is_empty() {
        match next_url(rest) {
            Some((start, end)) => {
                total += plain_weight(&rest[..start]) + URL_WEIGHT;
                rest = &rest[end..];
            }
            None => {
                total += plain_weight(rest);
                break;
            }
        }
    }
    total
}

/// The byte range of the first `http://`/`https://` URL in `text` that starts a word.
fn next_url(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("http") {
        let start = from + found;
        let starts_word = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "([{\"'<".contains(c));
        let scheme = ["https://", "http://"]
            .into_iter()
            .find(|s| lower[start..].starts_with(s));
        if let (true, Some(scheme)) = (starts_word, scheme) {
            let body_start = start + scheme.len();
            let len = text[body_start..]
                .find(char::is_whitespace)
                .unwrap_or(text.len() - body_start);
            if len > 0 {
                return Some((start, body_start + len));
            }
        }
        from = start + 4;
    }
    None
}

fn plain_weight(text: &str) -> usize {
    text.graphemes(true)
        .map(|g| match g.chars().next() {
            Some(c) if is_light(c) => 1,
            Some(_) => 2,
            None => 0,
        })
        .sum()
}

fn is_light(c: char) -> bool {
    matches!(u32::from(c), 0x0000..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_counts_one_cjk_and_emoji_two() {
        assert_eq!(weighted_length("hello"), 5);
        assert_eq!(weighted_length("blåbærgrød"), 10);
        assert_eq!(weighted_length("こんにちは"), 10);
        assert_eq!(weighted_length("ok 👍"), 5);
        // A family emoji is one cluster of seven code points.
        assert_eq!(weighted_length("👨‍👩‍👧‍👦"), 2);
        assert_eq!(weighted_length("e\u{301}"), 1);
        // `…` (U+2026) is outside the light punctuation ranges.
        assert_eq!(weighted_length("“quoted” — …"), 13);
    }

    #[test]
    fn urls_count_twenty_three() {
        let long = format!("see https://example.com/{} now", "a".repeat(200));
        assert_eq!(weighted_length(&long), 4 + 23 + 4);
        assert_eq!(weighted_length("http://x.io"), 23);
        // Not a URL: no scheme body, or glued to a word.
        assert_eq!(weighted_length("http://"), 7);
        assert_eq!(weighted_length("xhttp://a"), 9);
    }

    #[test]
    fn the_limit_is_by_weight_not_by_chars() {
        assert!(weighted_length(&"a".repeat(280)) <= MAX_WEIGHTED_LENGTH);
        assert!(weighted_length(&"字".repeat(141)) > MAX_WEIGHTED_LENGTH);
    }
}
