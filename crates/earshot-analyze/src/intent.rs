//! Rule-based intent: what the customer wants from the brand.
//!
//! Each intent collects a score from its cues: feature-request phrases ("can you add",
//! "ville være fedt hvis", "potreste aggiungere"), problem words plus negative sentiment for a
//! complaint, question marks and question openers for a question, thanks plus positive
//! sentiment for praise. A feature request wins over a complaint it is not weaker than (asking
//! for a change is the actionable part); a question that is also a complaint is a complaint.

use crate::lexicon::{Cue, Hit};
use crate::sentiment::find_negator;
use crate::text::{push_debug, Prepared};
use earshot_core::analysis::{Evidence, Intent, IntentFinding, SentimentFinding};

/// Cue sums per intent, before the decision; also model features.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct IntentScores {
    pub feature_request: f32,
    pub complaint: f32,
    pub question: f32,
    pub praise: f32,
}

const DECIDE: f32 = 1.0;

pub(crate) fn classify(
    p: &Prepared,
    hits: &[Hit],
    sentiment: &SentimentFinding,
) -> (IntentFinding, IntentScores) {
    let mut s = IntentScores::default();
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut consumed = 0u64;
    let has_trouble = hits
        .iter()
        .any(|h| matches!(h.cue, Cue::Negative | Cue::Problem) && h.weight >= 1.0);
    for h in hits {
        // Safety and account-takeover words (hacked, fraud, fire) are complaints even when
        // written without a single sentiment word.
        if h.cue == Cue::Urgent && h.weight >= 0.5 {
            s.complaint += 0.8;
            let word = p.clean.get(h.start as usize..h.end as usize).unwrap_or("");
            evidence.push(Evidence::new(pattern_rule("complaint", word), word, 0.8));
            continue;
        }
        let target = match h.cue {
            Cue::FeatureRequest => &mut s.feature_request,
            Cue::Problem => &mut s.complaint,
            Cue::Question | Cue::QuestionStart => &mut s.question,
            Cue::Thanks => &mut s.praise,
            _ => continue,
        };
        if matches!(h.cue, Cue::Problem | Cue::Thanks)
            && find_negator(p, hits, h, &mut consumed, false)
        {
            continue;
        }
        let w = match h.cue {
            Cue::QuestionStart => 0.6 * h.weight,
            // Thanks next to a problem is usually sarcasm or politeness, not praise.
            Cue::Thanks if has_trouble => 0.2 * h.weight,
            _ => h.weight,
        };
        *target += w;
        let word = p.clean.get(h.start as usize..h.end as usize).unwrap_or("");
        let intent = match h.cue {
            Cue::FeatureRequest => "feature_request",
            Cue::Problem => "complaint",
            Cue::Thanks => "praise",
            _ => "question",
        };
        evidence.push(Evidence::new(pattern_rule(intent, word), word, w));
    }
    if p.stats.question_marks > 0 {
        s.question += 1.0;
        evidence.push(Evidence::new("punctuation:question_mark", "?", 1.0));
    }
    let neg = (-sentiment.score).max(0.0);
    let pos = sentiment.score.max(0.0);
    if neg > 0.0 {
        s.complaint += 2.5 * neg;
    }
    if pos > 0.0 {
        s.praise += 2.0 * pos;
    }

    let (label, score) = decide(&s);
    if matches!(label, Intent::Complaint) && neg > 0.0 {
        evidence.push(Evidence::new("sentiment:negative", "", 2.5 * neg));
    }
    if matches!(label, Intent::Praise) && pos > 0.0 {
        evidence.push(Evidence::new("sentiment:positive", "", 2.0 * pos));
    }
    // Keep the evidence for the chosen intent first, then the rest.
    let key = label.as_str();
    evidence.sort_by_key(|e| !e.rule.contains(key));
    let finding = IntentFinding {
        label,
        confidence: confidence(score),
        evidence,
    };
    (finding, s)
}

/// `pattern:<intent>:"<word>"` (the word as `{:?}` writes it).
fn pattern_rule(intent: &str, word: &str) -> String {
    let mut r = String::with_capacity(10 + intent.len() + word.len() + 2);
    r.push_str("pattern:");
    r.push_str(intent);
    r.push(':');
    push_debug(&mut r, word);
    r
}

fn decide(s: &IntentScores) -> (Intent, f32) {
    if s.feature_request >= DECIDE && s.feature_request >= 0.8 * s.complaint {
        return (Intent::FeatureRequest, s.feature_request);
    }
    if s.complaint >= DECIDE && s.complaint >= s.praise {
        return (Intent::Complaint, s.complaint);
    }
    if s.question >= DECIDE {
        return (Intent::Question, s.question);
    }
    if s.praise >= DECIDE {
        return (Intent::Praise, s.praise);
    }
    if s.complaint >= 0.6 && s.complaint > s.praise {
        return (Intent::Complaint, s.complaint);
    }
    (Intent::Other, 0.0)
}

fn confidence(score: f32) -> f32 {
    if score <= 0.0 {
        0.5
    } else {
        (score / (score + 1.0)).clamp(0.3, 0.95)
    }
}
