//! The features a [`crate::model::Model`] reads, all hashed into one table: words (elongations
//! squeezed, "sooo" → "soo", and marked when inside a negation's scope), word pairs,
//! character 3- and 4-grams of each word (inflections, misspellings, scripts without spaces),
//! emoji and emoticons, and what the rules found (lexicon cues, their sentiment and intent,
//! language, "!", "?", shouting, elongation).
//!
//! Changing what is extracted changes what the weights mean: bump [`FEATURES_VERSION`], and
//! models built with another version are refused on load.

use crate::analyzer::Builtin;
use crate::fingerprint::{hash_bytes, mix, FNV_OFFSET, FNV_PRIME};
use crate::lexicon::Cue;
use crate::text::concat;
use earshot_core::analysis::SentimentLabel;

/// The feature set a model was built with.
pub const FEATURES_VERSION: u32 = 2;

/// How many words after a negator it reaches (and never past a clause break).
const NEGATION_SCOPE: u32 = 4;
/// Longer words are hashed whole but not cut into character grams.
const MAX_GRAM_WORD: usize = 24;

/// Where a feature came from, so evidence can name it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Source {
    Bias,
    Lang,
    /// Token index, and whether a negation reaches it.
    Word(u32, bool),
    Bigram(u32),
    /// Token index, start in `^word$`, length.
    Gram(u32, u8, u8),
    /// Byte range in the clean text of an emoji or emoticon.
    Symbol(u32, u32),
    Cue(Cue),
    BuiltinSentiment,
    BuiltinIntent,
    /// 0 feature request, 1 complaint, 2 question, 3 praise: the rule score reached 1.
    IntentScore(u8),
    Exclamation,
    QuestionMark,
    Shouting,
    Elongated,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Feature {
    pub hash: u32,
    pub source: Source,
}

const SEED_WORD: u64 = 0x77;
const SEED_NEG: u64 = 0x6e;
const SEED_GRAM: u64 = 0x63;
const SEED_CUE: u64 = 0x43;
const SEED_META: u64 = 0x4d;
const SEED_SYMBOL: u64 = 0x53;

/// The FNV-1a states [`hash_bytes`] starts from for 3- and 4-grams.
const GRAM3: u64 = FNV_OFFSET ^ (SEED_GRAM + 3);
const GRAM4: u64 = FNV_OFFSET ^ (SEED_GRAM + 4);

/// One FNV-1a step, as [`hash_bytes`] takes it.
#[inline(always)]
fn fnv(h: u64, b: u8) -> u64 {
    (h ^ b as u64).wrapping_mul(FNV_PRIME)
}

#[inline]
fn h32(x: u64) -> u32 {
    (x ^ (x >> 32)) as u32
}

#[inline]
fn meta(s: &str) -> u32 {
    h32(hash_bytes(SEED_META, s.as_bytes()))
}

/// The word with runs of three or more equal letters cut to two ("sooo" → "soo"), digits
/// made `0`; returns the length written and whether anything was squeezed.
fn squeeze(word: &[u8], buf: &mut [u8; 64]) -> (usize, bool) {
    let mut n = 0;
    let mut squeezed = false;
    for (i, &c) in word.iter().enumerate() {
        if n == buf.len() {
            return (n, squeezed);
        }
        if i >= 2 && c == word[i - 1] && c == word[i - 2] && c.is_ascii_alphabetic() {
            squeezed = true;
            continue;
        }
        buf[n] = if c.is_ascii_digit() { b'0' } else { c };
        n += 1;
    }
    (n, squeezed)
}

/// A clause ends between two byte offsets of the clean text.
#[inline]
fn clause_break(clean: &[u8], from: usize, to: usize) -> bool {
    clean.get(from..to).is_some_and(|g| {
        g.iter()
            .any(|c| matches!(c, b',' | b'.' | b';' | b'!' | b'?' | b':'))
    })
}

/// The features of a post, from its built-in analysis.
pub(crate) fn extract(b: &Builtin, out: &mut Vec<Feature>) {
    let p = &b.prepared;
    let clean = p.clean.as_bytes();
    out.push(Feature {
        hash: meta("bias"),
        source: Source::Bias,
    });
    let lang = b.detected.lang.map_or("und", |l| l.code());
    out.push(Feature {
        hash: h32(mix(
            hash_bytes(SEED_META, b"lang") ^ hash_bytes(SEED_META, lang.as_bytes())
        )),
        source: Source::Lang,
    });
    // Negators, left to right (the hits are sorted by position).
    let mut negators = b.hits.iter().filter(|h| h.cue == Cue::Negator).peekable();
    let mut scope_left = 0u32;
    let mut prev: Option<u64> = None;
    let mut elongated = false;
    let mut buf = [0u8; 64];
    let mut gram = [0u8; 32];
    for (i, t) in p.tokens.iter().enumerate() {
        let (start, end) = (t.start as usize, t.end as usize);
        if i > 0 && scope_left > 0 {
            let prev_end = p.tokens[i - 1].end as usize;
            if clause_break(clean, prev_end, start) {
                scope_left = 0;
            }
        }
        let negated = scope_left > 0;
        scope_left = scope_left.saturating_sub(1);
        let mut is_negator = false;
        while let Some(n) = negators.peek() {
            if (n.start as usize) < end {
                is_negator |= n.token as usize == i;
                negators.next();
            } else {
                break;
            }
        }
        if is_negator {
            scope_left = NEGATION_SCOPE;
        }
        let word = clean.get(start..end).unwrap_or(&[]);
        let (n, squeezed) = squeeze(word, &mut buf);
        elongated |= squeezed;
        let w = &buf[..n];
        let wh = hash_bytes(SEED_WORD, w);
        out.push(Feature {
            hash: if negated {
                h32(mix(wh ^ SEED_NEG))
            } else {
                h32(wh)
            },
            source: Source::Word(i as u32, negated),
        });
        if let Some(ph) = prev {
            out.push(Feature {
                hash: h32(mix(ph.rotate_left(21) ^ wh)),
                source: Source::Bigram(i as u32),
            });
        }
        prev = Some(wh);
        if (2..=MAX_GRAM_WORD).contains(&n) {
            gram[0] = b'^';
            gram[1..=n].copy_from_slice(w);
            gram[n + 1] = b'$';
            let len = n + 2;
            // All 3-grams, then all 4-grams (`hash_bytes` unrolled: the grams are most of a
            // post's features).
            out.reserve(2 * len);
            for (s, g) in gram[..len].windows(3).enumerate() {
                out.push(Feature {
                    hash: h32(mix(fnv(fnv(fnv(GRAM3, g[0]), g[1]), g[2]))),
                    source: Source::Gram(i as u32, s as u8, 3),
                });
            }
            for (s, g) in gram[..len].windows(4).enumerate() {
                out.push(Feature {
                    hash: h32(mix(fnv(fnv(fnv(fnv(GRAM4, g[0]), g[1]), g[2]), g[3]))),
                    source: Source::Gram(i as u32, s as u8, 4),
                });
            }
        }
    }
    symbols(&p.clean, out);
    for h in &b.hits {
        if h.cue == Cue::Stop {
            continue;
        }
        out.push(Feature {
            hash: h32(hash_bytes(SEED_CUE, h.cue.as_str().as_bytes())),
            source: Source::Cue(h.cue),
        });
    }
    out.push(Feature {
        hash: meta(match b.sentiment.label {
            SentimentLabel::Negative => "sent:negative",
            SentimentLabel::Neutral => "sent:neutral",
            SentimentLabel::Positive => "sent:positive",
        }),
        source: Source::BuiltinSentiment,
    });
    out.push(Feature {
        hash: h32(mix(hash_bytes(SEED_META, b"intent")
            ^ hash_bytes(SEED_META, b.intent.label.as_str().as_bytes()))),
        source: Source::BuiltinIntent,
    });
    let s = &b.intent_scores;
    for (score, name, k) in [
        (s.feature_request, "score:feature_request", 0),
        (s.complaint, "score:complaint", 1),
        (s.question, "score:question", 2),
        (s.praise, "score:praise", 3),
    ] {
        if score >= 1.0 {
            out.push(Feature {
                hash: meta(name),
                source: Source::IntentScore(k),
            });
        }
    }
    let st = &p.stats;
    for (on, name, source) in [
        (st.exclamations > 0, "!", Source::Exclamation),
        (st.question_marks > 0, "?", Source::QuestionMark),
        (st.caps_words > 0, "CAPS", Source::Shouting),
        (elongated, "elongated", Source::Elongated),
    ] {
        if on {
            out.push(Feature {
                hash: meta(name),
                source,
            });
        }
    }
}

/// Emoji (each symbol character) and emoticons or punctuation runs of 2–4 ASCII characters
/// (":)", ":-(", "!!", "?!", "...").
fn symbols(clean: &str, out: &mut Vec<Feature>) {
    let bytes = clean.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Letters, digits, spaces and apostrophes (most of a post) say nothing here.
        if !SYMBOL_START[bytes[i] as usize] {
            i += 1;
            continue;
        }
        let b = bytes[i];
        if b >= 0x80 {
            let Some(c) = clean.get(i..).and_then(|s| s.chars().next()) else {
                break;
            };
            let len = c.len_utf8();
            if !c.is_alphanumeric() && !c.is_whitespace() && !matches!(c, '\u{FE0F}' | '\u{200D}') {
                out.push(Feature {
                    hash: h32(hash_bytes(SEED_SYMBOL, &bytes[i..i + len])),
                    source: Source::Symbol(i as u32, (i + len) as u32),
                });
            }
            i += len;
            continue;
        }
        if b.is_ascii_punctuation() && b != b'\'' {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_punctuation() {
                i += 1;
            }
            let run = &bytes[start..i];
            if (2..=4).contains(&run.len()) {
                out.push(Feature {
                    hash: h32(hash_bytes(SEED_SYMBOL, run)),
                    source: Source::Symbol(start as u32, i as u32),
                });
            }
            continue;
        }
        i += 1;
    }
}

/// Bytes where a symbol feature may start: non-ASCII (emoji) and ASCII punctuation but `'`.
static SYMBOL_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c >= 0x80 || (c.is_ascii_punctuation() && c != b'\'');
        b += 1;
    }
    t
};

/// A human-readable name for a feature of this post.
pub(crate) fn describe(b: &Builtin, f: &Feature) -> String {
    let p = &b.prepared;
    match f.source {
        Source::Bias => "bias".into(),
        Source::Lang => concat(&["lang:", b.detected.lang.map_or("und", |l| l.code())]),
        Source::Word(i, false) => concat(&["word:", p.token_str(i as usize)]),
        Source::Word(i, true) => concat(&["word:", p.token_str(i as usize), " (negated)"]),
        Source::Bigram(i) => concat(&[
            "bigram:",
            p.token_str(i as usize - 1),
            " ",
            p.token_str(i as usize),
        ]),
        Source::Gram(i, s, len) => {
            // The gram's place is in the squeezed word; it is cut from the word as written.
            let token = p.token_str(i as usize);
            let w = concat(&["^", token, "$"]);
            let g = w
                .as_bytes()
                .get(s as usize..s as usize + len as usize)
                .unwrap_or(&[]);
            concat(&["chars:", &String::from_utf8_lossy(g), " (in ", token, ")"])
        }
        Source::Symbol(a, z) => {
            concat(&["symbol:", p.clean.get(a as usize..z as usize).unwrap_or("")])
        }
        Source::Cue(c) => concat(&["cue:", c.as_str()]),
        Source::BuiltinSentiment => concat(&["rules_sentiment:", b.sentiment.label.as_str()]),
        Source::BuiltinIntent => concat(&["rules_intent:", b.intent.label.as_str()]),
        Source::IntentScore(i) => concat(&[
            "rules:",
            ["feature_request", "complaint", "question", "praise"]
                .get(i as usize)
                .unwrap_or(&"?"),
        ]),
        Source::Exclamation => "punctuation:!".into(),
        Source::QuestionMark => "punctuation:?".into(),
        Source::Shouting => "caps".into(),
        Source::Elongated => "elongated".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Analyzer;

    fn names(text: &str) -> Vec<String> {
        let b = Analyzer::rules_only(&Default::default()).builtin(text, None);
        let mut f = Vec::new();
        extract(&b, &mut f);
        f.iter().map(|f| describe(&b, f)).collect()
    }

    #[test]
    fn unrolled_gram_hashes_are_hash_bytes() {
        for g in [*b"^ab", *b"xyz", *b"\xc3\xa6b"] {
            assert_eq!(
                mix(fnv(fnv(fnv(GRAM3, g[0]), g[1]), g[2])),
                hash_bytes(SEED_GRAM + 3, &g)
            );
        }
        let g = *b"ab$c";
        assert_eq!(
            mix(fnv(fnv(fnv(fnv(GRAM4, g[0]), g[1]), g[2]), g[3])),
            hash_bytes(SEED_GRAM + 4, &g)
        );
    }

    #[test]
    fn negation_reaches_the_next_words_but_not_past_a_comma() {
        let n = names("this is not good at all, great though");
        assert!(n.contains(&"word:good (negated)".to_string()), "{n:?}");
        assert!(n.contains(&"word:great".to_string()), "{n:?}");
        assert!(n.contains(&"word:this".to_string()), "{n:?}");
    }

    #[test]
    fn elongation_emoji_and_emoticons_are_features() {
        let n = names("sooo goooood 😍 :-) !!");
        assert!(n.contains(&"elongated".to_string()), "{n:?}");
        assert!(n.contains(&"symbol:😍".to_string()), "{n:?}");
        assert!(n.contains(&"symbol::-)".to_string()), "{n:?}");
        assert!(n.contains(&"symbol:!!".to_string()), "{n:?}");
        // "sooo" and "soooooo" are one word to the model
        let squeeze_eq = |a: &str, b: &str| {
            let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
            let (n, _) = squeeze(a.as_bytes(), &mut x);
            let (m, _) = squeeze(b.as_bytes(), &mut y);
            x[..n] == y[..m]
        };
        assert!(squeeze_eq("sooo", "soooooo"));
        assert!(!squeeze_eq("so", "soo"));
    }
}
