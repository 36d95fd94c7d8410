//! Lexicon sentiment, in the manner of VADER: each sentiment word adds its weight, scaled by an
//! intensifier before it ("virkelig irriterende"), flipped by a negator close before it ("not
//! good", "non funziona bene") or, in languages that put the negation after the verb, right
//! after it ("das gefällt mir nicht"). Words after a "but" count more than before it, shouted
//! words and "!!!" count more. Problem words ("not working") and thanks count too, mildly.
//! The sum is squashed into -1..1.

use crate::lang::Lang;
use crate::lexicon::{Cue, Hit};
use crate::text::{concat, Prepared};
use earshot_core::analysis::{Evidence, SentimentFinding, SentimentLabel};

/// Scores at or above this are positive.
pub const POSITIVE_THRESHOLD: f32 = 0.1;
/// Scores at or below minus this are negative.
pub const NEGATIVE_THRESHOLD: f32 = 0.1;
/// VADER's normalisation constant: a single strong word lands near ±0.6.
const ALPHA: f32 = 15.0;
/// How far back a negator reaches, in words.
const NEGATION_WINDOW: u32 = 3;

/// The sentiment of a post from its lexicon cues.
pub(crate) fn score(p: &Prepared, hits: &[Hit], lang: Option<Lang>) -> SentimentFinding {
    let mut total = 0f32;
    let mut evidence = Vec::new();
    let mut consumed = 0u64; // negator hits already used (bit per hit index < 64)
    let contrast = hits
        .iter()
        .filter(|h| h.cue == Cue::Contrast)
        .map(|h| h.token)
        .max();
    let negation_after = matches!(
        lang,
        Some(Lang::Da | Lang::No | Lang::Sv | Lang::De | Lang::Nl)
    );
    let shouting_all = p.stats.caps_words as usize * 2 > p.tokens.len();
    let has_trouble = hits
        .iter()
        .any(|h| matches!(h.cue, Cue::Negative | Cue::Problem) && h.weight >= 1.0);

    for h in hits {
        // "Thanks for selling expired beer #fail": thanks beside a problem is not praise.
        if h.cue == Cue::Thanks && has_trouble {
            continue;
        }
        // "would be great if", "ville være fedt hvis": a wish, not a feeling.
        if matches!(h.cue, Cue::Positive | Cue::Negative)
            && hits
                .iter()
                .any(|f| f.cue == Cue::FeatureRequest && f.start <= h.start && h.end <= f.end)
        {
            continue;
        }
        let (sign, rule) = match h.cue {
            Cue::Positive => (1.0, "positive"),
            Cue::Negative => (-1.0, "negative"),
            Cue::Problem => (-0.5, "problem"),
            Cue::Thanks => (0.8, "thanks"),
            _ => continue,
        };
        let mut v = sign * h.weight;
        let mut tags: [&str; 3] = [""; 3];
        let negated = find_negator(p, hits, h, &mut consumed, negation_after);
        if matches!(h.cue, Cue::Problem | Cue::Thanks) {
            // "no problem", "not an issue", "no thanks": the cue does not apply at all.
            if negated {
                continue;
            }
        } else {
            if let Some(f) = intensifier(hits, h) {
                v *= f;
                tags[0] = if f >= 1.0 {
                    "+intensified"
                } else {
                    "+softened"
                };
            }
            if negated {
                v *= -0.75;
                tags[1] = "+negated";
            }
            if let Some(t) = p.tokens.get(h.token as usize) {
                if t.caps && !shouting_all {
                    v *= 1.3;
                    tags[2] = "+caps";
                }
            }
        }
        if let Some(c) = contrast {
            if h.token > c {
                v *= 1.5;
            } else if h.token < c {
                v *= 0.5;
            }
        }
        total += v;
        let word = p.clean.get(h.start as usize..h.end as usize).unwrap_or("");
        let kind = if word.chars().any(char::is_alphabetic) {
            "lexicon"
        } else {
            "emoji"
        };
        evidence.push(Evidence::new(
            concat(&[kind, ":", rule, tags[0], tags[1], tags[2]]),
            word,
            v,
        ));
    }
    if total != 0.0 && p.stats.exclamations > 0 {
        let boost = p.stats.exclamations.min(4) as f32 * 0.29;
        total += total.signum() * boost;
        evidence.push(Evidence::new(
            "punctuation:exclamation",
            "!".repeat(p.stats.exclamations.min(4) as usize),
            total.signum() * boost,
        ));
    }
    let score = total / (total * total + ALPHA).sqrt();
    SentimentFinding {
        label: label_for(score),
        score,
        evidence,
    }
}

pub fn label_for(score: f32) -> SentimentLabel {
    if score >= POSITIVE_THRESHOLD {
        SentimentLabel::Positive
    } else if score <= -NEGATIVE_THRESHOLD {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    }
}

/// An intensifier right before the word (or before its negator: "really not good").
fn intensifier(hits: &[Hit], h: &Hit) -> Option<f32> {
    hits.iter()
        .filter(|i| i.cue == Cue::Intensifier && i.end <= h.start)
        .filter(|i| i.token + 1 == h.token || i.token + 2 == h.token)
        .map(|i| i.weight)
        .next_back()
}

/// Whether `h` is negated; a negator negates only the first sentiment word after it, and never
/// across a comma or full stop.
pub(crate) fn find_negator(
    p: &Prepared,
    hits: &[Hit],
    h: &Hit,
    consumed: &mut u64,
    negation_after: bool,
) -> bool {
    let mut found = false;
    for (i, n) in hits.iter().enumerate() {
        if n.cue != Cue::Negator || n.token >= h.token || h.token - n.token > NEGATION_WINDOW {
            continue;
        }
        // The negator is part of the phrase itself ("not working"): not a negation of it.
        if n.start >= h.start {
            continue;
        }
        if i < 64 && *consumed & (1 << i) != 0 {
            continue;
        }
        if clause_break(&p.clean, n.end, h.start) {
            continue;
        }
        if i < 64 {
            *consumed |= 1 << i;
        }
        found = true;
    }
    if found {
        return true;
    }
    if negation_after && matches!(h.cue, Cue::Positive | Cue::Negative) {
        for (i, n) in hits.iter().enumerate() {
            if n.cue == Cue::Negator
                && n.token > h.token
                && n.token - h.token <= 2
                && !clause_break(&p.clean, h.end, n.start)
                && (i >= 64 || *consumed & (1 << i) == 0)
            {
                if i < 64 {
                    *consumed |= 1 << i;
                }
                return true;
            }
        }
    }
    false
}

fn clause_break(clean: &str, from: u32, to: u32) -> bool {
    if from >= to {
        return false;
    }
    clean
        .get(from as usize..to as usize)
        .is_some_and(|s| s.contains([',', '.', ';', '!', '?', ':']))
}
