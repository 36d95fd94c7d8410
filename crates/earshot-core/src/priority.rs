//! Where a conversation ranks in the inbox, and why.
//!
//! The score (0–100, plus a queue jump's points) adds up named factors so the inbox can show its reasoning:
//! "complaint +20, negative −0.8 +12, high urgency +15, 120k followers +14, waiting 50 of 60 min +12".
//! The band (urgent/high/normal/low) comes from the content alone and picks the response
//! target; waiting time only moves a conversation up within the inbox. A conversation that
//! jumps the queue (a high-reach author, a spike: see `triage::assign::JumpRule`) scores
//! [`JUMP_POINTS`] above the 0–100 range, so it ranks above every one that did not jump.

use crate::analysis::{Intent, ReachTier, SentimentLabel, UrgencyLevel};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorityBand {
    Urgent,
    High,
    Normal,
    Low,
}

impl PriorityBand {
    pub const ALL: [PriorityBand; 4] = [
        PriorityBand::Urgent,
        PriorityBand::High,
        PriorityBand::Normal,
        PriorityBand::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PriorityBand::Urgent => "urgent",
            PriorityBand::High => "high",
            PriorityBand::Normal => "normal",
            PriorityBand::Low => "low",
        }
    }

    fn from_score(score: f32) -> Self {
        if score >= 60.0 {
            PriorityBand::Urgent
        } else if score >= 42.0 {
            PriorityBand::High
        } else if score >= 25.0 {
            PriorityBand::Normal
        } else {
            PriorityBand::Low
        }
    }
}

impl fmt::Display for PriorityBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PriorityBand {
    type Err = crate::analysis::UnknownLabel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "urgent" => Ok(PriorityBand::Urgent),
            "high" => Ok(PriorityBand::High),
            "normal" => Ok(PriorityBand::Normal),
            "low" => Ok(PriorityBand::Low),
            other => Err(crate::analysis::UnknownLabel {
                kind: "PriorityBand",
                value: other.into(),
                expected: &["urgent", "high", "normal", "low"],
            }),
        }
    }
}

/// One named contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityFactor {
    /// `intent`, `sentiment`, `urgency`, `reach`, `waiting`.
    pub name: String,
    pub points: f32,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    pub score: f32,
    pub band: PriorityBand,
    pub factors: Vec<PriorityFactor>,
}

impl Priority {
    /// One line for a table: "complaint +20 · negative +12 · waiting 50/60 min +12".
    pub fn explain(&self) -> String {
        self.factors
            .iter()
            .filter(|f| f.points.abs() >= 0.5)
            .map(|f| format!("{} {:+.0}", f.why, f.points))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What the content says about a conversation: kept with it so the score can be recomputed
/// as the customer waits, without analysing the posts again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrioritySignals {
    pub intent: Intent,
    pub sentiment: SentimentLabel,
    pub sentiment_score: f32,
    pub urgency: UrgencyLevel,
    pub urgency_score: f32,
    pub reach_tier: ReachTier,
    pub reach_score: f32,
    pub followers: Option<u64>,
    /// Why it jumped the queue ("250k followers", "spike 'festival charger'"), once it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
}

/// What jumping the queue adds to the score: more than any conversation can score otherwise.
pub const JUMP_POINTS: f32 = 100.0;

impl Default for PrioritySignals {
    fn default() -> Self {
        PrioritySignals {
            intent: Intent::Other,
            sentiment: SentimentLabel::Neutral,
            sentiment_score: 0.0,
            urgency: UrgencyLevel::Normal,
            urgency_score: 0.0,
            reach_tier: ReachTier::Unknown,
            reach_score: 0.0,
            followers: None,
            jump: None,
        }
    }
}

fn content_factors(s: &PrioritySignals) -> Vec<PriorityFactor> {
    let mut factors = Vec::with_capacity(5);
    let intent_points = match s.intent {
        Intent::Complaint => 20.0,
        Intent::Question => 14.0,
        Intent::FeatureRequest => 10.0,
        Intent::Praise => 2.0,
        Intent::Other => 4.0,
    };
    factors.push(PriorityFactor {
        name: "intent".into(),
        points: intent_points,
        why: s.intent.as_str().replace('_', " "),
    });
    if s.sentiment == SentimentLabel::Negative {
        factors.push(PriorityFactor {
            name: "sentiment".into(),
            points: 15.0 * s.sentiment_score.abs().clamp(0.2, 1.0),
            why: format!("negative {:.1}", s.sentiment_score),
        });
    }
    factors.push(PriorityFactor {
        name: "urgency".into(),
        points: 30.0 * s.urgency_score.clamp(0.0, 1.0),
        why: format!("{} urgency", s.urgency),
    });
    if s.reach_score > 0.0 {
        let who = match s.followers {
            Some(f) if f >= 1_000_000 => format!("{:.1}M followers", f as f64 / 1e6),
            Some(f) if f >= 1_000 => format!("{:.0}k followers", f as f64 / 1e3),
            Some(f) => format!("{f} followers"),
            None => "reach".into(),
        };
        factors.push(PriorityFactor {
            name: "reach".into(),
            points: 20.0 * s.reach_score.clamp(0.0, 1.0),
            why: who,
        });
    }
    factors
}

/// The band that picks the response target: content only, so it does not drift as time passes.
pub fn band(signals: &PrioritySignals) -> PriorityBand {
    let base: f32 = content_factors(signals).iter().map(|f| f.points).sum();
    PriorityBand::from_score(base)
}

/// The full score: content plus how long the customer has waited against the target.
/// `waited` is covered time so far; `target` the response target (both `None` when no answer is owed).
pub fn score(
    signals: &PrioritySignals,
    waited: Option<Duration>,
    target: Option<Duration>,
) -> Priority {
    let mut factors = content_factors(signals);
    let band = PriorityBand::from_score(factors.iter().map(|f| f.points).sum());
    if let (Some(waited), Some(target)) = (waited, target) {
        let target_s = target.num_seconds().max(60) as f32;
        let share = waited.num_seconds().max(0) as f32 / target_s;
        let points = if share >= 1.0 { 30.0 } else { 20.0 * share };
        factors.push(PriorityFactor {
            name: "waiting".into(),
            points,
            why: if share >= 1.0 {
                format!("overdue by {}", human(waited - target))
            } else {
                format!("waiting {} of {}", human(waited), human(target))
            },
        });
    }
    let mut score = factors
        .iter()
        .map(|f| f.points)
        .sum::<f32>()
        .clamp(0.0, 100.0);
    // Added after the clamp: a jumper outranks every non-jumper, and jumpers among themselves
    // keep their usual order.
    if let Some(why) = &signals.jump {
        factors.push(PriorityFactor {
            name: "jump".into(),
            points: JUMP_POINTS,
            why: format!("jump: {why}"),
        });
        score += JUMP_POINTS;
    }
    Priority {
        score,
        band,
        factors,
    }
}

/// "45 min", "3 h 10 min", "2 d 4 h".
pub fn human(d: Duration) -> String {
    let mins = d.num_minutes().max(0);
    if mins < 60 {
        format!("{mins} min")
    } else if mins < 24 * 60 {
        let (h, m) = (mins / 60, mins % 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else {
        format!("{} d {} h", mins / 1440, (mins % 1440) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(intent: Intent, sentiment: f32, urgency: f32, reach: f32) -> PrioritySignals {
        PrioritySignals {
            intent,
            sentiment: if sentiment < -0.1 {
                SentimentLabel::Negative
            } else if sentiment > 0.1 {
                SentimentLabel::Positive
            } else {
                SentimentLabel::Neutral
            },
            sentiment_score: sentiment,
            urgency: UrgencyLevel::Normal,
            urgency_score: urgency,
            reach_tier: ReachTier::Small,
            reach_score: reach,
            followers: Some(1520),
            jump: None,
        }
    }

    #[test]
    fn a_jumper_outranks_the_most_urgent_overdue_conversation_and_keeps_its_band() {
        let worst = signals(Intent::Complaint, -1.0, 1.0, 1.0);
        let overdue = score(&worst, Some(Duration::hours(5)), Some(Duration::hours(1)));
        assert_eq!(overdue.score, 100.0);
        let mut quiet = signals(Intent::Praise, 0.5, 0.0, 0.0);
        quiet.jump = Some("250k followers".into());
        let jumped = score(&quiet, None, None);
        assert!(jumped.score > overdue.score, "{jumped:?}");
        assert_eq!(
            jumped.band,
            band(&quiet),
            "jumping does not change the target"
        );
        assert!(
            jumped.explain().contains("jump: 250k followers +100"),
            "{}",
            jumped.explain()
        );
    }

    #[test]
    fn angry_urgent_complaint_from_big_account_outranks_praise() {
        let angry = score(&signals(Intent::Complaint, -0.9, 0.9, 0.9), None, None);
        let praise = score(&signals(Intent::Praise, 0.8, 0.0, 0.1), None, None);
        assert!(angry.score > praise.score);
        assert_eq!(angry.band, PriorityBand::Urgent);
        assert_eq!(praise.band, PriorityBand::Low);
        assert!(angry.explain().contains("complaint"));
    }

    #[test]
    fn waiting_raises_score_but_not_band() {
        let s = signals(Intent::Question, 0.0, 0.2, 0.2);
        let fresh = score(&s, Some(Duration::minutes(1)), Some(Duration::hours(1)));
        let late = score(&s, Some(Duration::minutes(90)), Some(Duration::hours(1)));
        assert!(late.score > fresh.score);
        assert_eq!(late.band, fresh.band);
        assert!(
            late.explain().contains("overdue by 30 min"),
            "{}",
            late.explain()
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::minutes(45)), "45 min");
        assert_eq!(human(Duration::minutes(190)), "3 h 10 min");
        assert_eq!(human(Duration::minutes(60 * 52)), "2 d 4 h");
    }
}
