//! What earshot understood about a post. Computed by `earshot-analyze`, stored with the post,
//! shown in the inbox. Every finding carries the evidence that produced it, so an agent can
//! see *why* a post was read as an angry complaint.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language earshot recognises out of the box (ISO 639-1 codes), or another one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Language(pub String);

impl Language {
    pub fn new(code: &str) -> Self {
        Language(code.to_ascii_lowercase())
    }
    pub fn unknown() -> Self {
        Language("und".into())
    }
    pub fn code(&self) -> &str {
        &self.0
    }
}

/// One piece of evidence: which rule fired on which words, and how much it counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The rule or model feature, e.g. `lexicon:negative`, `pattern:feature_request:"can you add"`.
    pub rule: String,
    /// The words in the post that matched (empty for whole-post rules).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    pub weight: f32,
}

impl Evidence {
    pub fn new(rule: impl Into<String>, text: impl Into<String>, weight: f32) -> Self {
        Evidence {
            rule: rule.into(),
            text: text.into(),
            weight,
        }
    }
}

macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownLabel;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($s => Ok($name::$variant),)+
                    other => Err(UnknownLabel {
                        kind: stringify!($name),
                        value: other.to_string(),
                        expected: &[$($s),+],
                    }),
                }
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}: expected one of {expected:?}")]
pub struct UnknownLabel {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

label_enum!(
    /// How the customer feels.
    SentimentLabel { Negative => "negative", Neutral => "neutral", Positive => "positive" }
);

label_enum!(
    /// What the customer wants from the brand.
    Intent {
        Complaint => "complaint",
        FeatureRequest => "feature_request",
        Question => "question",
        Praise => "praise",
        Other => "other",
    }
);

label_enum!(
    /// How soon somebody should look.
    UrgencyLevel { Low => "low", Normal => "normal", High => "high", Critical => "critical" }
);

label_enum!(
    /// How many people the author reaches, in bands.
    ReachTier { Unknown => "unknown", Small => "small", Medium => "medium", Large => "large", Huge => "huge" }
);

label_enum!(
    /// What kind of harm a safety report is about.
    HarmKind {
        Injury => "injury",
        Accident => "accident",
        Fire => "fire",
        Vehicle => "vehicle",
        Danger => "danger",
        Child => "child",
        Breach => "breach",
        Account => "account",
        Fraud => "fraud",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageFinding {
    pub language: Language,
    /// 1 when declared; how sure detection is (the language model's probability, or the
    /// share of Arabic letters) otherwise; 0 for `und`.
    pub confidence: f32,
    /// `declared` (the network said so), `ngrams` (the language model), `script` (Arabic by
    /// its letters, or another script earshot does not serve), `too_short`, `stopwords`
    /// (words of an unserved language).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentFinding {
    pub label: SentimentLabel,
    /// From -1 (very negative) to +1 (very positive).
    pub score: f32,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentFinding {
    pub label: Intent,
    pub confidence: f32,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrgencyFinding {
    pub level: UrgencyLevel,
    /// 0..1
    pub score: f32,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReachFinding {
    pub followers: Option<u64>,
    pub tier: ReachTier,
    /// 0..1, logarithmic in followers.
    pub score: f32,
}

/// Whether the post reports harm: someone hurt or in danger (accidents, injuries, fire,
/// braking failures, a child at risk), or their account, data or money at risk (hacked
/// accounts, data breaches, fraud, unauthorised charges). Triage puts these first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SafetyFinding {
    /// The cues add up to a safety report (`score` at or above the threshold).
    pub harm: bool,
    /// 0..1: how strongly the words say harm.
    pub score: f32,
    /// The kinds of harm named, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<HarmKind>,
    /// `safety:<kind>` for each cue that counted; `safety:negated`, `safety:hypothetical` and
    /// `safety:figurative` (weight 0) for harm words that did not ("no one was hurt",
    /// "this deal is fire").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// A configured brand name, handle or keyword found in the post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermMatch {
    pub term: String,
    /// `brand`, `handle` or `keyword`.
    pub kind: String,
    /// Byte offsets into the post text.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub language: LanguageFinding,
    pub sentiment: SentimentFinding,
    pub intent: IntentFinding,
    pub urgency: UrgencyFinding,
    pub reach: ReachFinding,
    /// Posts stored before the safety signal existed read as no harm.
    #[serde(default)]
    pub safety: SafetyFinding,
    /// A content-free follow-up ("hello??", "any update?", "anyone?"): it says only that the
    /// customer is still waiting, so it raises a conversation's rank and never replaces what
    /// the conversation is about.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chase: bool,
    /// A 64-bit SimHash of the normalised text: near-duplicates differ in few bits.
    pub fingerprint: u64,
    pub matches: Vec<TermMatch>,
    /// Which model produced this: `builtin` or the trained model's name and version.
    pub model: String,
    /// The fields an agent corrected (their labels above are the agent's), one mark per
    /// field, the latest correction's (see `crate::correction`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<crate::correction::CorrectionMark>,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            language: LanguageFinding {
                language: Language::unknown(),
                confidence: 0.0,
                source: "none".into(),
            },
            sentiment: SentimentFinding {
                label: SentimentLabel::Neutral,
                score: 0.0,
                evidence: vec![],
            },
            intent: IntentFinding {
                label: Intent::Other,
                confidence: 0.0,
                evidence: vec![],
            },
            urgency: UrgencyFinding {
                level: UrgencyLevel::Normal,
                score: 0.0,
                evidence: vec![],
            },
            reach: ReachFinding {
                followers: None,
                tier: ReachTier::Unknown,
                score: 0.0,
            },
            safety: SafetyFinding::default(),
            chase: false,
            fingerprint: 0,
            matches: vec![],
            model: "none".into(),
            corrections: vec![],
        }
    }
}

/// Hamming distance between two fingerprints: 0 is the same text, ≤ 3 is a near-duplicate.
pub fn fingerprint_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_print() {
        assert_eq!(
            "feature_request".parse::<Intent>(),
            Ok(Intent::FeatureRequest)
        );
        assert_eq!(Intent::FeatureRequest.to_string(), "feature_request");
        assert!("angry".parse::<SentimentLabel>().is_err());
        assert_eq!(
            serde_json::to_string(&UrgencyLevel::Critical)
                .ok()
                .as_deref(),
            Some("\"critical\"")
        );
    }
}
