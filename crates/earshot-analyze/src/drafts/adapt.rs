//! Making a past answer fit a new customer: what belonged to the old conversation goes (the
//! leading @mentions, "1/2" thread markers, the agent's sign-off such as TWCS's `^AB` or
//! `-Becky`, the old customer's handle and name), the greeting's name becomes the new
//! customer's, and the text is cut to the network's limit at a sentence end.
//!
//! The network adds the @mention of the customer itself (see the responders), so a draft never
//! starts with one.

use regex::Regex;
use std::sync::LazyLock;

/// Where the customer's first name goes; the same slot the page's reply templates use.
pub const NAME_SLOT: &str = "{name}";

// The patterns are constant and tested below; a failure to compile is a programming error
// caught by every test run, so building them cannot fail at run time.
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("draft pattern {pattern:?}: {e}"))
}

static LEADING_MENTIONS: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:\s*[@＠][\w.]+)+"));
static THREAD_MARK_START: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\(?[1-9]/[1-9]\)?(?:\s+|$)"));
static THREAD_MARK_END: LazyLock<Regex> = LazyLock::new(|| re(r"\s+\(?[1-9]/[1-9]\)?\s*$"));
/// An agent's sign-off at the end, before any trailing links: `^AB`, `*TMT`, `/RB`, `~AA`,
/// `-Becky`, `- Anwar`. It must follow a space or a sentence end, so `24/7` and `e-mail` stay.
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(^|[\s.!?,)])\s*(?:[\^*~/]|[-–—])\s?[A-Za-z][A-Za-z'.]{0,11}((?:\s+https?://\S+)*)\s*$")
});
static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(Hi|Hey|Hello|Hiya|Howdy|Dear|Thanks|Thank you|Sorry|Good morning|Good afternoon|Good evening|Hej|Hola|Ciao|Bonjour|Hallo)(,?\s+)([A-Z][\p{L}'’\-]*)(\s*[,!.:;])",
    )
});
static SLOT_DROP: LazyLock<Regex> = LazyLock::new(|| re(r",?\s*\{name\}"));
/// The slot opening a sentence ("{name}, please DM us"): goes with its comma.
static SLOT_OPENING: LazyLock<Regex> =
    LazyLock::new(|| re(r"(^|[.!?]\s+)\{name\}[,:]?\s*(\p{Ll})?"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(r"\s+"));
static SPACE_BEFORE_PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r"\s+([,.!?;:])"));

/// Capitalised words that follow "Hi" without being a name.
const NOT_NAMES: &[&str] = &[
    "There",
    "All",
    "Again",
    "Team",
    "Everyone",
    "Everybody",
    "Folks",
    "Friend",
    "Friends",
    "So",
    "For",
    "We",
    "I",
    "You",
    "Guys",
    "Y'all",
    "Sir",
    "Madam",
    "Both",
    "Tons",
    "Much",
];

fn decode_entities(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// A past answer with everything of its own conversation taken out; the greeting's name (or
/// the old customer's first name, when known) becomes [`NAME_SLOT`].
pub fn reusable_body(answer: &str, old_handle: Option<&str>, old_name: Option<&str>) -> String {
    let mut text = decode_entities(answer).replace(NAME_SLOT, "");
    text = LEADING_MENTIONS.replace(&text, "").into_owned();
    text = THREAD_MARK_START.replace(&text, "").into_owned();
    // A sign-off can sit before or after the thread marker: take both, twice.
    for _ in 0..2 {
        text = THREAD_MARK_END.replace(&text, "").into_owned();
        text = SIGNATURE.replace(&text, "$1$2").into_owned();
    }
    if let Some(h) = old_handle
        .map(|h| h.trim_start_matches('@'))
        .filter(|h| !h.is_empty())
    {
        let mention = re(&format!(r"(?i)[@＠]{}\b", regex::escape(h)));
        text = mention.replace_all(&text, "").into_owned();
    }
    if let Some(first) = old_name
        .and_then(|n| n.split_whitespace().next())
        .filter(|n| n.chars().count() >= 2)
    {
        let word = re(&format!(r"\b{}\b", regex::escape(first)));
        text = word.replace_all(&text, NAME_SLOT).into_owned();
    }
    text = SPACES.replace_all(text.trim(), " ").into_owned();
    text = SPACE_BEFORE_PUNCT.replace_all(&text, "$1").into_owned();
    if let Some(c) = GREETING.captures(&text) {
        let name = c.get(3).map_or("", |m| m.as_str());
        if !NOT_NAMES.contains(&name) {
            let replaced = format!("{}{}{}{}", &c[1], &c[2], NAME_SLOT, &c[4]);
            text = format!("{replaced}{}", &text[c.get(0).map_or(0, |m| m.end())..]);
        }
    }
    text.trim().to_string()
}

/// Fills the name slot with `name`, or takes the slot out ("Hey, {name}, we" → "Hey, we").
pub fn address(body: &str, name: Option<&str>) -> String {
    let name = name
        .map(|n| n.replace(['{', '}'], "").trim().to_string())
        .filter(|n| !n.is_empty());
    let text = match name {
        Some(n) => body.replace(NAME_SLOT, &n),
        None => {
            let opened = SLOT_OPENING.replace_all(body, |c: &regex::Captures<'_>| {
                let next = c
                    .get(2)
                    .map_or(String::new(), |m| m.as_str().to_uppercase());
                format!("{}{next}", &c[1])
            });
            SLOT_DROP.replace_all(&opened, "").into_owned()
        }
    };
    let text = SPACE_BEFORE_PUNCT.replace_all(&text, "$1");
    let text = text
        .trim_start_matches([',', ' ', '.', '!', ';', ':'])
        .trim();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => text.to_string(),
    }
}

/// `text` within `limit` characters: whole sentences while they fit; if even the first does
/// not, its words while they fit and an ellipsis. The flag says whether anything was cut.
pub fn fit(text: &str, limit: usize) -> (String, bool) {
    if text.chars().count() <= limit {
        return (text.to_string(), false);
    }
    let mut kept = 0usize; // byte end of the last whole sentence that fits
    let mut count = 0usize;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        count += 1;
        if count > limit {
            break;
        }
        if c.is_whitespace() && matches!(prev, Some('.' | '!' | '?' | '…')) {
            kept = i;
        }
        prev = Some(c);
    }
    if kept > 0 {
        return (text[..kept].trim_end().to_string(), true);
    }
    // No sentence end fits: words up to limit - 1, then "…".
    let mut out = String::new();
    for w in text.split_whitespace() {
        let need = out.chars().count() + usize::from(!out.is_empty()) + w.chars().count() + 1;
        if need > limit {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        out = text.chars().take(limit.saturating_sub(1)).collect();
    }
    out.push('…');
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twcs_sign_offs_and_mentions_go() {
        let cases = [
            (
                "@115717 Hello, I'd be happy to look into this for you? ^MG",
                "Hello, I'd be happy to look into this for you?",
            ),
            (
                "@115719 Help has arrived! How can we help?\n^HSB",
                "Help has arrived! How can we help?",
            ),
            (
                "@115718 Can you DM me your acct #? -JB",
                "Can you DM me your acct #?",
            ),
            ("@116986 I like your style. -Becky", "I like your style."),
            (
                "@1 we'll fix it for you, see you there!- Anwar",
                "we'll fix it for you, see you there!",
            ),
            (
                "@1 Check your time of change. *TMT",
                "Check your time of change.",
            ),
            (
                "@1 Cool! Can you DM us a screenshot? /RB",
                "Cool! Can you DM us a screenshot?",
            ),
            (
                "@1 Start here.\n^JAY https://t.co/ULEOhpxCxO",
                "Start here. https://t.co/ULEOhpxCxO",
            ),
            (
                "@1 @2 2/2 sure to submit your feedback. ^BG",
                "sure to submit your feedback.",
            ),
            ("@1 We are open 24/7", "We are open 24/7"),
            (
                "@1 Send us an e-mail &amp; we'll help",
                "Send us an e-mail & we'll help",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(reusable_body(raw, None, None), want, "{raw}");
        }
    }

    #[test]
    fn the_old_customers_name_and_handle_become_the_new_ones() {
        let body = reusable_body(
            "@CinVakas Hey, Brandon, we recommend uberXL. Thanks @CinVakas!",
            Some("CinVakas"),
            None,
        );
        assert_eq!(body, "Hey, {name}, we recommend uberXL. Thanks!");
        assert_eq!(
            address(&body, Some("Ana")),
            "Hey, Ana, we recommend uberXL. Thanks!"
        );
        assert_eq!(address(&body, None), "Hey, we recommend uberXL. Thanks!");
        let known = reusable_body(
            "Sorry Maria! Maria, please DM us.",
            None,
            Some("Maria Rossi"),
        );
        assert_eq!(address(&known, None), "Sorry! Please DM us.");
        // "Hi there," is not a name.
        assert_eq!(
            reusable_body("Hi There, DM us.", None, None),
            "Hi There, DM us."
        );
    }

    #[test]
    fn fitting_cuts_at_a_sentence_end_then_at_a_word() {
        let t = "We're sorry. Please DM us your order number. We will look into it today.";
        assert_eq!(fit(t, 100), (t.to_string(), false));
        assert_eq!(
            fit(t, 50),
            (
                "We're sorry. Please DM us your order number.".to_string(),
                true
            )
        );
        let (cut, shortened) = fit("one two three four five", 12);
        assert!(shortened);
        assert_eq!(cut, "one two…");
        assert!(cut.chars().count() <= 12);
    }

    proptest::proptest! {
        #[test]
        fn fitted_text_is_within_the_limit(s in "\\PC{0,400}", limit in 1usize..300) {
            let (out, _) = fit(&s, limit);
            proptest::prop_assert!(out.chars().count() <= limit);
        }

        #[test]
        fn adapting_never_panics(s in "\\PC{0,300}", h in "[a-z0-9_]{0,10}") {
            let body = reusable_body(&s, Some(&h), Some(&h));
            let _ = address(&body, Some("Ana"));
        }
    }
}
