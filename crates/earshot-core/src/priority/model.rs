//! The `[ranking]` settings a lead tunes ([`RankingModel`]), their defaults and their checks.

use crate::analysis::Intent;
use serde::{Deserialize, Serialize};

/// Band points per intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntentPoints {
    pub complaint: f32,
    pub question: f32,
    pub feature_request: f32,
    pub praise: f32,
    pub other: f32,
}

impl Default for IntentPoints {
    fn default() -> Self {
        IntentPoints {
            complaint: 20.0,
            question: 14.0,
            feature_request: 10.0,
            praise: 2.0,
            other: 4.0,
        }
    }
}

impl IntentPoints {
    pub fn of(&self, intent: Intent) -> f32 {
        match intent {
            Intent::Complaint => self.complaint,
            Intent::Question => self.question,
            Intent::FeatureRequest => self.feature_request,
            Intent::Praise => self.praise,
            Intent::Other => self.other,
        }
    }
}

/// The ranking a lead can read and tune: `[ranking]` in earshot.toml. Every setting has a
/// default; the [`crate::priority`] documentation says how they combine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankingModel {
    // --- The band (what the content is worth; it picks the response target) ---
    /// A safety report is urgent whatever else it says.
    pub harm_is_urgent: bool,
    /// Critical urgency (safety and account-takeover words) is urgent.
    pub critical_is_urgent: bool,
    /// Band points per intent.
    pub band_intent: IntentPoints,
    /// Band points for negative sentiment at its strongest (−1); scaled by how negative.
    pub band_negative: f32,
    /// Band points for urgency at its strongest (score 1).
    pub band_urgency: f32,
    /// Band points from which a conversation is high.
    pub high_at: f32,
    /// Band points from which a conversation is normal (below: low).
    pub normal_at: f32,
    /// Ageing, part one: waiting this share of its response target shows a low or normal
    /// conversation one band higher (never urgent); 0 turns it off. From then its wait counts
    /// at the joined band's pace (waited ÷ that band's target), so it takes its place among
    /// the band's own by how long it has waited, neither last nor ahead of all of them. The
    /// default 0.05, with the default targets: a normal question (4 h) joins the high ones
    /// after 12 min, a low one (24 h) the normal ones after 72 min. Chosen with
    /// `earshot bench triage` (0.25 starved routine questions behind bursts of complaints).
    pub escalate_after_targets: f32,

    // --- The position within the band (points out of 100) ---
    /// A safety report.
    pub harm: f32,
    /// Urgency at its strongest.
    pub urgency: f32,
    /// Waiting: `waiting` points at `waiting_full_at_targets` times the target, at the same
    /// pace before and after, until `waiting_stops_at_targets` times the target.
    /// Ageing, part two: `waiting_stops_at_targets` (default 2) is where waiting stops
    /// adding points; past it, content (intent, sentiment) decides among the long-waiting.
    /// Raised (say 50), a conversation keeps climbing as it waits until it tops its band,
    /// which starves fewer routine questions but answers complaints later; lowered, a burst
    /// of complaints can hold old questions back. `earshot bench triage` measures the trade.
    pub waiting: f32,
    pub waiting_full_at_targets: f32,
    pub waiting_stops_at_targets: f32,
    /// The most pressing intent (scaled by `band_intent`: a complaint gets all of it).
    pub intent: f32,
    /// Negative sentiment at its strongest.
    pub negative: f32,
    /// Reach at its strongest (logarithmic in followers): a boost, never a band.
    pub reach: f32,
    /// A queue jump (`[triage.jump]`: a big account, a spike).
    pub jump: f32,
    /// Each content-free chase ("hello??") since the last answer, up to `max_chases`.
    pub chase: f32,
    pub max_chases: u32,

    // --- How waiting and content combine ---
    /// `false` (default): waiting points grow in step with the wait, so content points are
    /// worth a fixed *time* of waiting (≈ 56 min for a complaint over a question with the
    /// defaults), and a stream of fresher complaints can hold a question well past its
    /// first-in-first-out wait. `true`: waiting points grow with the logarithm of the wait,
    /// `waiting × ln(1 + counted ÷ b) ÷ ln(1 + waiting_full_at_targets ÷ b)` with
    /// b = `fresh_weight_targets`, so content points are worth a fixed *ratio* of waiting
    /// (exp(points × ln(1 + full ÷ b) ÷ waiting)): a fresher complaint passes an older question
    /// only while their waits (plus b) differ by less than that ratio. Raise
    /// `waiting_stops_at_targets` with it (say 1000), or content decides again past the cap.
    /// `earshot bench triage` measures both (the README's triage table).
    pub weigh_content_by_waiting: bool,
    /// With `weigh_content_by_waiting`: b above, in targets of waiting (0.1 = 6 min of a
    /// 1 h target); the smaller, the sooner waiting outweighs content.
    pub fresh_weight_targets: f32,

    // --- Fairness ---
    /// A routine question (a question in the normal or low band) still unanswered this many
    /// times the queue's drain time after it started waiting (its turn in arrival order,
    /// 10 minutes at the least; see [`crate::fair_turn`]) goes to the top of the high band:
    /// above complaints, below anything urgent; so does a conversation holding such a question
    /// while it waits (a complaint joined it, or it joined a complaint). 0 turns it off. The default 1 was picked with
    /// `earshot bench triage --part tuning` (the README's triage table).
    pub fair_turn: f32,
}

impl Default for RankingModel {
    fn default() -> Self {
        RankingModel {
            harm_is_urgent: true,
            critical_is_urgent: true,
            band_intent: IntentPoints::default(),
            band_negative: 15.0,
            band_urgency: 30.0,
            high_at: 42.0,
            normal_at: 15.0,
            escalate_after_targets: 0.05,
            harm: 30.0,
            urgency: 12.0,
            waiting: 30.0,
            waiting_full_at_targets: 2.0,
            waiting_stops_at_targets: 2.0,
            intent: 8.0,
            negative: 8.0,
            reach: 6.0,
            jump: 8.0,
            chase: 3.0,
            max_chases: 3,
            weigh_content_by_waiting: false,
            fresh_weight_targets: 0.1,
            fair_turn: 1.0,
        }
    }
}

/// The problems a `[ranking]` section can have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RankingError {
    #[error(
        "ranking.{key} must be a number from 0 to {max}, not {value}{}",
        hint(key)
    )]
    OutOfRange {
        key: &'static str,
        value: f32,
        max: f32,
    },
    #[error("ranking.normal_at ({normal}) must be below ranking.high_at ({high})")]
    Thresholds { normal: f32, high: f32 },
}

/// What to write instead, for the settings whose meaning is not plain from the name.
fn hint(key: &str) -> &'static str {
    match key {
        "escalate_after_targets" => {
            ": the share of its response target a low or normal conversation waits before it \
             moves up a band, e.g. 0.05 (12 min of a 4 h target); 0 turns moving up off"
        }
        "waiting_stops_at_targets" => {
            ": how many response targets of waiting still raise a conversation, e.g. 2; \
             raise it (50) to let old asks climb to the top of their band"
        }
        "fresh_weight_targets" => {
            ": with weigh_content_by_waiting, the wait (in targets) a just-arrived conversation \
             counts from, e.g. 0.1; larger makes content matter more among the fresh ones"
        }
        "fair_turn" => {
            ": how many times its turn in arrival order a routine question waits before it goes \
             to the top of the high band, e.g. 1; 0 turns it off"
        }
        "waiting_full_at_targets" => {
            ": the waited share of the target at which waiting gives its full points, e.g. 2"
        }
        _ => "",
    }
}

impl RankingModel {
    /// Checks every setting is a sensible number.
    pub fn validate(&self) -> Result<(), RankingError> {
        let check = |key: &'static str, value: f32, max: f32| {
            if value.is_finite() && (0.0..=max).contains(&value) {
                Ok(())
            } else {
                Err(RankingError::OutOfRange { key, value, max })
            }
        };
        let i = &self.band_intent;
        check("band_intent.complaint", i.complaint, 100.0)?;
        check("band_intent.question", i.question, 100.0)?;
        check("band_intent.feature_request", i.feature_request, 100.0)?;
        check("band_intent.praise", i.praise, 100.0)?;
        check("band_intent.other", i.other, 100.0)?;
        check("band_negative", self.band_negative, 100.0)?;
        check("band_urgency", self.band_urgency, 100.0)?;
        check("high_at", self.high_at, 300.0)?;
        check("normal_at", self.normal_at, 300.0)?;
        check("escalate_after_targets", self.escalate_after_targets, 100.0)?;
        for (key, v) in [
            ("harm", self.harm),
            ("urgency", self.urgency),
            ("waiting", self.waiting),
            ("intent", self.intent),
            ("negative", self.negative),
            ("reach", self.reach),
            ("jump", self.jump),
            ("chase", self.chase),
        ] {
            check(key, v, 100.0)?;
        }
        check(
            "waiting_full_at_targets",
            self.waiting_full_at_targets,
            100.0,
        )?;
        check(
            "waiting_stops_at_targets",
            self.waiting_stops_at_targets,
            1000.0,
        )?;
        check("fresh_weight_targets", self.fresh_weight_targets, 10.0)?;
        check("fair_turn", self.fair_turn, 100.0)?;
        if self.normal_at >= self.high_at {
            return Err(RankingError::Thresholds {
                normal: self.normal_at,
                high: self.high_at,
            });
        }
        Ok(())
    }
}
