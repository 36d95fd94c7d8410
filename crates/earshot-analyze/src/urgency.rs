//! Urgency: how soon somebody should look. A base by intent (a complaint waits less well than
//! praise), plus urgent words ("stranded", "hacked", "sidder fast", "emergenza"), shouting
//! (several "!" or words in capitals) and negative sentiment. Safety and account-takeover words
//! ("emergency", "hacked", "fraud") can make a post critical; the merely pressing ones
//! ("urgent", "stuck", "asap") together make it high at most.

use crate::lexicon::{Cue, Hit};
use crate::text::Prepared;
use earshot_core::analysis::{
    Evidence, Intent, IntentFinding, SentimentFinding, UrgencyFinding, UrgencyLevel,
};

/// Level thresholds on the 0..1 score.
pub const CRITICAL: f32 = 0.8;
pub const HIGH: f32 = 0.5;
pub const NORMAL: f32 = 0.2;
/// Urgent words weighing this much or more are safety/fraud words.
const SEVERE: f32 = 0.5;

pub(crate) fn assess(
    p: &Prepared,
    hits: &[Hit],
    sentiment: &SentimentFinding,
    intent: &IntentFinding,
) -> UrgencyFinding {
    let mut evidence = Vec::new();
    let base = match intent.label {
        Intent::Complaint => 0.3,
        Intent::Question => 0.25,
        Intent::FeatureRequest => 0.2,
        Intent::Other => 0.15,
        Intent::Praise => 0.05,
    };
    // Safety and account-takeover words (weight 0.5 and up) can make a post critical alone;
    // "urgent", "stuck", "asap" and the like together make it high at most.
    let (mut severe, mut pressing) = (0f32, 0f32);
    for h in hits.iter().filter(|h| h.cue == Cue::Urgent) {
        let w = p.clean.get(h.start as usize..h.end as usize).unwrap_or("");
        if h.weight >= SEVERE {
            severe += h.weight;
        } else {
            pressing += h.weight;
        }
        evidence.push(Evidence::new("urgency:word", w, h.weight));
    }
    let words = severe + pressing;
    let mut score = base + severe.min(0.8) + pressing.min(0.45);
    if p.stats.exclamations >= 2 {
        score += 0.1;
        evidence.push(Evidence::new("urgency:exclamations", "!!", 0.1));
    }
    if p.stats.caps_words >= 2 {
        score += 0.1;
        evidence.push(Evidence::new("urgency:shouting", "", 0.1));
    }
    let neg = (-sentiment.score).max(0.0);
    if neg > 0.0 {
        score += 0.3 * neg;
        evidence.push(Evidence::new("urgency:negative_sentiment", "", 0.3 * neg));
    }
    if matches!(intent.label, Intent::Complaint) {
        evidence.push(Evidence::new("urgency:intent:complaint", "", base));
    }
    // Praise with nothing urgent in it can wait.
    if words == 0.0 && sentiment.score > 0.2 {
        score = score.min(0.15);
    }
    // Anger and shouting raise a post, but only safety and fraud words make it critical.
    if severe == 0.0 {
        score = score.min(CRITICAL - 0.01);
    }
    let score = score.clamp(0.0, 1.0);
    UrgencyFinding {
        level: level_for(score),
        score,
        evidence,
    }
}

pub fn level_for(score: f32) -> UrgencyLevel {
    if score >= CRITICAL {
        UrgencyLevel::Critical
    } else if score >= HIGH {
        UrgencyLevel::High
    } else if score >= NORMAL {
        UrgencyLevel::Normal
    } else {
        UrgencyLevel::Low
    }
}
