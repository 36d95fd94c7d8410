//! Where a conversation ranks in the inbox, and why: a model a support lead can read and tune
//! (`[ranking]` in earshot.toml, [`RankingModel`]).
//!
//! **The band** (urgent / high / normal / low) says what the content is worth and picks the
//! response target: a safety report (someone hurt or in danger, an account, data or money at
//! risk) is urgent, and so is critical urgency; otherwise intent, negative sentiment and
//! urgency add up to band points held against two thresholds. Reach never counts here. A
//! conversation left waiting a share of its target ([`RankingModel::escalate_after_targets`],
//! 5 % by default) shows one band higher (never urgent: that is kept for harm and
//! critical urgency), so routine questions are not starved by a burst of complaints. From
//! then on its wait counts at the pace of the band it joined (against that band's target),
//! and waiting stops adding points at [`RankingModel::waiting_stops_at_targets`] targets.
//! These two settings are the ageing rule; `earshot bench triage` measures them on real
//! timelines.
//!
//! **The position within the band** adds named points (out of 100): a safety report first,
//! then urgency, then waiting time against the target, then intent and negative sentiment,
//! then reach, a queue jump (a big account, a spike) and the customer's chasing as boosts.
//!
//! **The score** (0–100) is the band's quarter plus a quarter of those points: urgent
//! 75–100, high 50–75, normal 25–50, low 0–25. So band and position always agree, and nothing
//! a boost adds can lift a conversation out of its band: a routine question from a 157k
//! account stays below every safety report. Each factor shows in "why":
//! "safety: vehicle, danger → urgent · waiting 1.5× target +22 · complaint +8 · negative −0.8 +8".

use crate::analysis::{HarmKind, Intent, ReachTier, SentimentLabel, UrgencyLevel};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod model;
pub use model::{IntentPoints, RankingError, RankingModel};

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

    /// Where the band's quarter of the 0–100 score starts.
    pub fn floor(self) -> f32 {
        match self {
            PriorityBand::Urgent => 75.0,
            PriorityBand::High => 50.0,
            PriorityBand::Normal => 25.0,
            PriorityBand::Low => 0.0,
        }
    }

    /// One band more pressing (urgent stays urgent).
    pub fn raised(self) -> PriorityBand {
        match self {
            PriorityBand::Low => PriorityBand::Normal,
            PriorityBand::Normal => PriorityBand::High,
            PriorityBand::High | PriorityBand::Urgent => PriorityBand::Urgent,
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

/// One named contribution to the rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityFactor {
    /// `band` (what set the band: no points), `harm`, `urgency`, `waiting`, `intent`,
    /// `sentiment`, `reach`, `jump`, `chase`, `escalated`.
    pub name: String,
    /// Points within the band (out of 100); the score moves by a quarter of them.
    pub points: f32,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Priority {
    /// 0–100: the band's quarter (urgent 75–100 ... low 0–25) plus a quarter of the points.
    pub score: f32,
    pub band: PriorityBand,
    pub factors: Vec<PriorityFactor>,
}

impl Priority {
    /// One line for a table: "safety: vehicle → urgent · waiting 1.5× target +22 · complaint +8".
    pub fn explain(&self) -> String {
        self.factors
            .iter()
            .filter(|f| {
                matches!(f.name.as_str(), "band" | "escalated" | "fair_turn")
                    || f.points.abs() >= 0.5
            })
            .map(|f| {
                if f.points.abs() >= 0.5 {
                    format!("{} {:+.0}", f.why, f.points)
                } else {
                    f.why.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// What the content says about a conversation: kept with it so the score can be recomputed
/// as the customer waits, without analysing the posts again. While an answer is owed it holds
/// the strongest of every customer post since the brand last answered
/// ([`PrioritySignals::merge_unanswered`]), so a follow-up never demotes a conversation.
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
    /// A safety report (see `analysis::SafetyFinding`). Stored before it existed: `false`.
    #[serde(default)]
    pub harm: bool,
    /// Its kinds, strongest first ("vehicle", "danger", "child").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub harm_kinds: Vec<HarmKind>,
    /// Content-free follow-ups ("hello??", "any update?") since the brand last answered.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chases: u32,
    /// Why it jumped the queue ("250k followers", "spike 'festival charger'"), once it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
    /// While an answer is owed: when it would have been answered in arrival order (see
    /// [`crate::fair_turn`]); noted when the conversation starts waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_turn_at: Option<DateTime<Utc>>,
    /// While an answer is owed: a routine question (a question that reads normal or low on its
    /// own) is among the posts waiting. The conversation keeps the fair turn of a routine
    /// question whatever else joins it: a complaint written before or after the question
    /// raises it, but must not leave the question waiting past its turn.
    #[serde(default, skip_serializing_if = "is_false")]
    pub question_waiting: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

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
            harm: false,
            harm_kinds: Vec::new(),
            chases: 0,
            jump: None,
            fair_turn_at: None,
            question_waiting: false,
        }
    }
}

impl PrioritySignals {
    /// Folds in a customer post written while an answer was still owed: the conversation
    /// keeps the strongest of each signal (a safety report stays one; urgency, the more
    /// pressing intent and the more negative sentiment win), so nothing the customer adds
    /// before the brand answers can demote it. The jump and the chase count are kept.
    pub fn merge_unanswered(&mut self, newer: &PrioritySignals, model: &RankingModel) {
        self.question_waiting |= model.routine_question(self) || model.routine_question(newer);
        self.harm |= newer.harm;
        for k in &newer.harm_kinds {
            if !self.harm_kinds.contains(k) {
                self.harm_kinds.push(*k);
            }
        }
        if newer.urgency_score > self.urgency_score {
            self.urgency_score = newer.urgency_score;
        }
        self.urgency = self.urgency.max(newer.urgency);
        if newer.sentiment_score < self.sentiment_score {
            self.sentiment = newer.sentiment;
            self.sentiment_score = newer.sentiment_score;
        }
        if model.band_intent.of(newer.intent) >= model.band_intent.of(self.intent) {
            self.intent = newer.intent;
        }
        if newer.reach_score >= self.reach_score {
            self.reach_score = newer.reach_score;
            self.reach_tier = newer.reach_tier;
            self.followers = newer.followers.or(self.followers);
        }
    }
}

/// The most points a conversation can have within its band, so it never reaches the next.
const MAX_POINTS: f32 = 99.9;

/// How long a conversation has waited for an answer, against its targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    /// Waited so far, on the SLA clock.
    pub waited: Duration,
    /// The response target of its content band.
    pub target: Duration,
    /// The target of the band it joins when left waiting (see
    /// [`RankingModel::escalate_after_targets`]): from then its wait counts against this.
    pub raised_target: Duration,
    /// How long ago its fair turn came (see [`crate::fair_turn`]); `None` before it or
    /// without one.
    pub past_fair_turn: Option<Duration>,
}

impl Owed {
    /// With the raised band's target in the same proportion to `target` as the default
    /// response targets (normal 4 h → high 1 h, low 24 h → normal 4 h).
    pub fn with_default_ratio(band: PriorityBand, waited: Duration, target: Duration) -> Owed {
        let d = crate::sla::ResponseTargets::default();
        let own = d.target_for(band).num_seconds().max(1);
        let raised = d.target_for(band.raised()).num_seconds();
        Owed {
            waited,
            target,
            raised_target: Duration::seconds(target.num_seconds() * raised / own),
            past_fair_turn: None,
        }
    }
}

impl RankingModel {
    /// The band from content alone, with the factor that set it.
    fn content_band(&self, s: &PrioritySignals) -> (PriorityBand, PriorityFactor) {
        if self.harm_is_urgent && s.harm {
            let kinds: Vec<&str> = s.harm_kinds.iter().map(|k| k.as_str()).collect();
            let why = if kinds.is_empty() {
                "safety report → urgent".to_string()
            } else {
                format!("safety: {} → urgent", kinds.join(", "))
            };
            return (PriorityBand::Urgent, band_factor(why));
        }
        if self.critical_is_urgent && s.urgency == UrgencyLevel::Critical {
            return (
                PriorityBand::Urgent,
                band_factor("critical urgency → urgent".into()),
            );
        }
        let points = self.band_intent.of(s.intent)
            + if s.sentiment == SentimentLabel::Negative {
                self.band_negative * s.sentiment_score.abs().clamp(0.2, 1.0)
            } else {
                0.0
            }
            + self.band_urgency * s.urgency_score.clamp(0.0, 1.0);
        let band = if points >= self.high_at {
            PriorityBand::High
        } else if points >= self.normal_at {
            PriorityBand::Normal
        } else {
            PriorityBand::Low
        };
        let why = format!(
            "{} {}, {} urgency → {band}",
            s.intent.as_str().replace('_', " "),
            s.sentiment,
            s.urgency
        );
        (band, band_factor(why))
    }

    /// The band that picks the response target: content only, so it does not drift as time
    /// passes.
    pub fn band(&self, signals: &PrioritySignals) -> PriorityBand {
        self.content_band(signals).0
    }

    /// A question that reads normal or low: what the fair turn protects.
    pub fn routine_question(&self, signals: &PrioritySignals) -> bool {
        signals.intent == Intent::Question
            && matches!(self.band(signals), PriorityBand::Normal | PriorityBand::Low)
    }

    /// Whether a conversation with these signals goes to the top of the high band once past
    /// its fair turn: it is (or holds, waiting) a routine question, and is not urgent.
    pub fn fair_turn_applies(&self, signals: &PrioritySignals) -> bool {
        self.fair_turn > 0.0
            && self.band(signals) != PriorityBand::Urgent
            && (signals.question_waiting || self.routine_question(signals))
    }

    /// The rank: the band (raised when left waiting too long) and the points within it.
    /// `waited` is the time waited so far on the SLA clock; `target` the response target
    /// (both `None` when no answer is owed). The raised band's target is taken in the
    /// default targets' proportion; [`RankingModel::score_owed`] takes it as configured.
    pub fn score(
        &self,
        s: &PrioritySignals,
        waited: Option<Duration>,
        target: Option<Duration>,
    ) -> Priority {
        let band = self.band(s);
        let owed = waited
            .zip(target)
            .map(|(w, t)| Owed::with_default_ratio(band, w, t));
        self.score_owed(s, owed)
    }

    /// The rank of a conversation owed an answer (`None`: nothing owed).
    pub fn score_owed(&self, s: &PrioritySignals, owed: Option<Owed>) -> Priority {
        let (mut band, why_band) = self.content_band(s);
        let mut factors = vec![why_band];
        let mut add = |name: &str, points: f32, why: String| {
            if points > 0.0 {
                factors.push(PriorityFactor {
                    name: name.into(),
                    points,
                    why,
                });
            }
        };
        if s.harm {
            add("harm", self.harm, "safety report".into());
        }
        add(
            "urgency",
            self.urgency * s.urgency_score.clamp(0.0, 1.0),
            format!("{} urgency", s.urgency),
        );
        let mut escalated = false;
        if let Some(o) = owed {
            let secs = |d: Duration| d.num_seconds().max(60) as f32;
            let share = o.waited.num_seconds().max(0) as f32 / secs(o.target);
            let k = self.escalate_after_targets;
            escalated =
                k > 0.0 && share >= k && matches!(band, PriorityBand::Low | PriorityBand::Normal);
            // In the band it joined, its wait counts at that band's pace (against that band's
            // target), so it takes its place among the band's own by how long it waited.
            let counted = if escalated {
                o.waited.num_seconds().max(0) as f32 / secs(o.raised_target)
            } else {
                share
            };
            let stops = self.waiting_stops_at_targets;
            let full = self.waiting_full_at_targets.max(0.01);
            let mut why = if share >= 1.0 {
                format!("waited {share:.1}× target")
            } else {
                format!("waited {:.0}% of target", share * 100.0)
            };
            if counted > stops {
                why.push_str(&format!(" (counts up to {stops}×)"));
            }
            let points = if self.weigh_content_by_waiting {
                // Logarithmic: equal ratios of waiting are worth equal points, so content
                // points act as a fixed *ratio* of waiting (see `weigh_content_by_waiting`).
                let b = self.fresh_weight_targets.max(0.001);
                self.waiting * (1.0 + counted.min(stops) / b).ln() / (1.0 + full / b).ln()
            } else {
                self.waiting * counted.min(stops) / full
            };
            add("waiting", points, why);
        }
        let top = self.band_intent.of(Intent::Complaint).max(0.01);
        add(
            "intent",
            self.intent * (self.band_intent.of(s.intent) / top).clamp(0.0, 1.0),
            s.intent.as_str().replace('_', " "),
        );
        if s.sentiment == SentimentLabel::Negative {
            add(
                "sentiment",
                self.negative * s.sentiment_score.abs().clamp(0.0, 1.0),
                format!("negative {:.1}", s.sentiment_score),
            );
        }
        if s.reach_score > 0.0 {
            add(
                "reach",
                self.reach * s.reach_score.clamp(0.0, 1.0),
                followers(s.followers),
            );
        }
        if let Some(why) = &s.jump {
            add("jump", self.jump, format!("jump: {why}"));
        }
        if s.chases > 0 {
            let n = s.chases.min(self.max_chases);
            add(
                "chase",
                self.chase * n as f32,
                if s.chases == 1 {
                    "chased once".to_string()
                } else {
                    format!("chased {}×", s.chases)
                },
            );
        }
        if escalated {
            band = band.raised();
            factors.push(PriorityFactor {
                name: "escalated".into(),
                points: 0.0,
                why: format!(
                    "waiting past {}% of target → {band}",
                    percent(self.escalate_after_targets)
                ),
            });
        }
        let points: f32 = factors.iter().map(|f| f.points).sum();
        if let Some(late) = owed.and_then(|o| o.past_fair_turn) {
            if self.fair_turn_applies(s) {
                // Lifted by a question it holds rather than by what it is: say so.
                let held = s.intent != Intent::Question;
                return self.past_its_turn(factors, late, held);
            }
        }
        Priority {
            score: band.floor() + points.clamp(0.0, MAX_POINTS) / 4.0,
            band,
            factors,
        }
    }
}

impl RankingModel {
    /// A routine question (or a conversation holding one) past its fair turn: the top of the
    /// high band, the longer past it the higher, so such questions are answered in the order
    /// their turns came.
    fn past_its_turn(
        &self,
        mut factors: Vec<PriorityFactor>,
        late: Duration,
        held_question: bool,
    ) -> Priority {
        let band = PriorityBand::High;
        let mins = late.num_seconds().max(0) as f32 / 60.0;
        // 96–99.9 points: above any complaint's usual sum, and still within the band.
        factors.retain(|f| f.name != "escalated");
        // The factor carries what lifts it, so the points shown add up to the score.
        let others: f32 = factors.iter().map(|f| f.points).sum();
        // Never below what it has without the turn (tuned weights can sum past 96).
        let points = (96.0 + 3.9 * mins / (mins + 60.0)).max(others);
        factors.push(PriorityFactor {
            name: "fair_turn".into(),
            points: (points - others).max(0.0),
            why: format!(
                "{}past its turn in arrival order by {} → top of {band}",
                if held_question {
                    "a question waiting "
                } else {
                    ""
                },
                human(late)
            ),
        });
        Priority {
            score: band.floor() + points.min(MAX_POINTS) / 4.0,
            band,
            factors,
        }
    }
}

/// 0.05 → "5", 0.025 → "2.5".
fn percent(share: f32) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

fn band_factor(why: String) -> PriorityFactor {
    PriorityFactor {
        name: "band".into(),
        points: 0.0,
        why,
    }
}

/// "157k followers", "1.2M followers", "950 followers".
pub fn followers(n: Option<u64>) -> String {
    match n {
        Some(f) if f >= 1_000_000 => format!("{:.1}M followers", f as f64 / 1e6),
        Some(f) if f >= 1_000 => format!("{:.0}k followers", f as f64 / 1e3),
        Some(f) => format!("{f} followers"),
        None => "reach".into(),
    }
}

/// The band under the default model (see [`RankingModel::band`]).
pub fn band(signals: &PrioritySignals) -> PriorityBand {
    RankingModel::default().band(signals)
}

/// The rank under the default model (see [`RankingModel::score`]).
pub fn score(
    signals: &PrioritySignals,
    waited: Option<Duration>,
    target: Option<Duration>,
) -> Priority {
    RankingModel::default().score(signals, waited, target)
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
mod tests;
