//! An agent's correction of what earshot understood of a post: its intent, sentiment or
//! language. The latest correction of a field wins and shows at once wherever the post's
//! analysis is shown (the analysis carries a [`CorrectionMark`] per corrected field); the
//! corrections are kept, audited, and folded into the team's model by
//! `earshot train --corrections`.

use crate::analysis::{Analysis, Evidence, Intent, Language, SentimentLabel};
use crate::conversation::{Conversation, ConversationId};
use crate::threading::{self, TriagePolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The languages an agent may set: those earshot serves, and `und` ("I cannot tell").
pub const CORRECTABLE_LANGUAGES: &[&str] = &[
    "en", "da", "sv", "no", "nl", "de", "fr", "it", "es", "pt", "ar", "und",
];

/// What of a post's analysis an agent may correct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectedField {
    Intent,
    Sentiment,
    Language,
}

impl CorrectedField {
    pub const ALL: &'static [CorrectedField] = &[
        CorrectedField::Intent,
        CorrectedField::Sentiment,
        CorrectedField::Language,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CorrectedField::Intent => "intent",
            CorrectedField::Sentiment => "sentiment",
            CorrectedField::Language => "language",
        }
    }

    /// The values this field may take, in the order a chooser lists them.
    pub fn values(self) -> Vec<&'static str> {
        match self {
            CorrectedField::Intent => Intent::ALL.iter().map(|i| i.as_str()).collect(),
            CorrectedField::Sentiment => SentimentLabel::ALL.iter().map(|s| s.as_str()).collect(),
            CorrectedField::Language => CORRECTABLE_LANGUAGES.to_vec(),
        }
    }
}

impl fmt::Display for CorrectedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a correction was refused: a field or a value outside the label sets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionError {
    #[error("unknown field {0:?}: correct intent, sentiment or language")]
    UnknownField(String),
    #[error("{value:?} is not a {field} label: use one of {expected}")]
    UnknownValue {
        field: CorrectedField,
        value: String,
        expected: String,
    },
}

impl FromStr for CorrectedField {
    type Err = CorrectionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "intent" => Ok(CorrectedField::Intent),
            "sentiment" => Ok(CorrectedField::Sentiment),
            "language" | "lang" => Ok(CorrectedField::Language),
            other => Err(CorrectionError::UnknownField(other.to_string())),
        }
    }
}

/// A field with the value an agent gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectedValue {
    Intent(Intent),
    Sentiment(SentimentLabel),
    Language(Language),
}

impl CorrectedValue {
    /// Checks a field and value as an agent or a script sent them against the label sets.
    pub fn parse(field: &str, value: &str) -> Result<Self, CorrectionError> {
        let field: CorrectedField = field.parse()?;
        let bad = || CorrectionError::UnknownValue {
            field,
            value: value.to_string(),
            expected: field.values().join(", "),
        };
        let v = value.trim().to_ascii_lowercase();
        Ok(match field {
            CorrectedField::Intent => CorrectedValue::Intent(v.parse().map_err(|_| bad())?),
            CorrectedField::Sentiment => CorrectedValue::Sentiment(v.parse().map_err(|_| bad())?),
            CorrectedField::Language => {
                if !CORRECTABLE_LANGUAGES.contains(&v.as_str()) {
                    return Err(bad());
                }
                CorrectedValue::Language(Language::new(&v))
            }
        })
    }

    pub fn field(&self) -> CorrectedField {
        match self {
            CorrectedValue::Intent(_) => CorrectedField::Intent,
            CorrectedValue::Sentiment(_) => CorrectedField::Sentiment,
            CorrectedValue::Language(_) => CorrectedField::Language,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            CorrectedValue::Intent(i) => i.as_str(),
            CorrectedValue::Sentiment(s) => s.as_str(),
            CorrectedValue::Language(l) => l.code(),
        }
    }

    /// Writes the value into `analysis` as `by`'s word (full confidence, the model's reading
    /// kept in the mark) and returns the value it replaces; `None` when the analysis already
    /// says so (nothing to correct).
    pub fn apply(&self, analysis: &mut Analysis, by: &str, at: DateTime<Utc>) -> Option<String> {
        let field = self.field();
        let old = current(analysis, field);
        if old == self.as_str() {
            return None;
        }
        match self {
            CorrectedValue::Intent(i) => {
                analysis.intent.label = *i;
                analysis.intent.confidence = 1.0;
            }
            CorrectedValue::Sentiment(s) => {
                analysis.sentiment.score = corrected_score(*s, analysis.sentiment.score);
                analysis.sentiment.label = *s;
            }
            CorrectedValue::Language(l) => {
                analysis.language.language = l.clone();
                analysis.language.confidence = if l.code() == "und" { 0.0 } else { 1.0 };
                analysis.language.source = "corrected".into();
            }
        }
        // The model's own reading stays in the mark across later corrections.
        let model = analysis
            .corrections
            .iter()
            .find(|m| m.field == field)
            .map_or_else(|| old.clone(), |m| m.model.clone());
        analysis.corrections.retain(|m| m.field != field);
        analysis.corrections.push(CorrectionMark {
            field,
            model,
            by: by.to_string(),
            at,
        });
        analysis.corrections.sort_by_key(|m| m.field);
        Some(old)
    }
}

/// What the analysis says of `field` now.
pub fn current(analysis: &Analysis, field: CorrectedField) -> String {
    match field {
        CorrectedField::Intent => analysis.intent.label.as_str().to_string(),
        CorrectedField::Sentiment => analysis.sentiment.label.as_str().to_string(),
        CorrectedField::Language => analysis.language.language.code().to_string(),
    }
}

/// The score a corrected sentiment carries: the model's when its sign already agrees with the
/// agent's label, else a clear one of that label, so ranking (which reads the score) follows
/// the agent.
fn corrected_score(label: SentimentLabel, score: f32) -> f32 {
    const CLEAR: f32 = 0.6;
    match label {
        SentimentLabel::Negative if score < -0.05 => score,
        SentimentLabel::Negative => -CLEAR,
        SentimentLabel::Positive if score > 0.05 => score,
        SentimentLabel::Positive => CLEAR,
        SentimentLabel::Neutral => 0.0,
    }
}

/// Shown with a post's analysis: this field's label is an agent's, not the model's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionMark {
    pub field: CorrectedField,
    /// What the model had read before any agent corrected it.
    pub model: String,
    /// Who corrected it last.
    pub by: String,
    pub at: DateTime<Utc>,
}

impl CorrectionMark {
    /// One line of evidence for pages that list evidence.
    pub fn evidence(&self) -> Evidence {
        Evidence::new(
            format!("correction:{}", self.field),
            format!("{} (model: {})", self.by, self.model),
            1.0,
        )
    }
}

/// A stored correction: one agent's word on one field of one post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub id: i64,
    pub post_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub field: CorrectedField,
    /// The value before (the model's, or an earlier correction's).
    pub from: String,
    pub to: String,
    /// The person (or `api` for the service token).
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A correction with the post's text: what `earshot train --corrections` learns from and
/// `GET /api/v1/corrections` exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectedPost {
    #[serde(flatten)]
    pub correction: Correction,
    /// Empty when the author deleted the post since.
    pub text: String,
    /// Whether this is the latest correction of its field on a post whose text has not changed
    /// since (what training uses).
    pub current: bool,
}

/// One post of a conversation as the re-ranking after a correction reads it.
#[derive(Debug, Clone)]
pub struct ThreadPost<'a> {
    pub from_brand: bool,
    pub created_at: DateTime<Utc>,
    pub analysis: &'a Analysis,
}

/// Re-reads a conversation's content signals after a correction of a post written at
/// `corrected_at`, by folding again the customer posts the signals were folded from: those
/// written after the brand's latest answer (all, when the brand has not answered), oldest
/// first, as threading folded them (`threading::fold_customer_post`; the queue jump is kept).
/// Re-ranks and returns `true` only when the corrected post is among them: an earlier post's
/// correction does not change what the conversation is about now.
pub fn rerank(
    conv: &mut Conversation,
    posts: &[ThreadPost<'_>],
    corrected_at: DateTime<Utc>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> bool {
    let after_answer = |at: DateTime<Utc>| conv.last_brand_at.is_none_or(|b| at > b);
    if !after_answer(corrected_at) {
        return false;
    }
    let mut segment: Vec<&ThreadPost<'_>> = posts
        .iter()
        .filter(|p| !p.from_brand && after_answer(p.created_at))
        .collect();
    segment.sort_by_key(|p| p.created_at);
    let Some((first, rest)) = segment.split_first() else {
        return false;
    };
    let mut signals = conv.signals.clone();
    // An answer settles the chases before it.
    signals.chases = 0;
    threading::fold_customer_post(&mut signals, first.analysis, false, &policy.ranking);
    for p in rest {
        threading::fold_customer_post(&mut signals, p.analysis, true, &policy.ranking);
    }
    if let Some(latest) = segment.iter().rev().find(|p| !p.analysis.chase) {
        conv.language = latest.analysis.language.language.code().to_string();
    }
    conv.signals = signals;
    conv.intent = conv.signals.intent;
    conv.sentiment = conv.signals.sentiment;
    threading::rescore(conv, policy, now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::tests::sample;
    use chrono::Duration;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn values_are_checked_against_the_label_sets() {
        assert_eq!(
            CorrectedValue::parse("intent", "Complaint"),
            Ok(CorrectedValue::Intent(Intent::Complaint))
        );
        assert_eq!(
            CorrectedValue::parse("sentiment", "negative"),
            Ok(CorrectedValue::Sentiment(SentimentLabel::Negative))
        );
        assert_eq!(
            CorrectedValue::parse("language", "DA"),
            Ok(CorrectedValue::Language(Language::new("da")))
        );
        assert!(matches!(
            CorrectedValue::parse("urgency", "high"),
            Err(CorrectionError::UnknownField(_))
        ));
        assert!(matches!(
            CorrectedValue::parse("intent", "rant"),
            Err(CorrectionError::UnknownValue { .. })
        ));
        assert!(matches!(
            CorrectedValue::parse("language", "klingon"),
            Err(CorrectionError::UnknownValue { .. })
        ));
    }

    #[test]
    fn the_latest_correction_wins_and_the_model_reading_is_kept() {
        let mut a = Analysis::default();
        a.intent.label = Intent::Question;
        let first = CorrectedValue::Intent(Intent::Complaint).apply(&mut a, "ann", at(0));
        assert_eq!(first.as_deref(), Some("question"));
        let second = CorrectedValue::Intent(Intent::FeatureRequest).apply(&mut a, "bo", at(1));
        assert_eq!(second.as_deref(), Some("complaint"));
        assert_eq!(a.intent.label, Intent::FeatureRequest);
        assert_eq!(a.corrections.len(), 1);
        assert_eq!(a.corrections[0].by, "bo");
        assert_eq!(a.corrections[0].model, "question");
        // Saying what it already says changes nothing.
        assert_eq!(
            CorrectedValue::Intent(Intent::FeatureRequest).apply(&mut a, "cy", at(2)),
            None
        );
        assert_eq!(a.corrections[0].by, "bo");
    }

    #[test]
    fn a_corrected_sentiment_carries_a_score_of_its_sign() {
        let mut a = Analysis::default();
        a.sentiment.label = SentimentLabel::Positive;
        a.sentiment.score = 0.4;
        CorrectedValue::Sentiment(SentimentLabel::Negative).apply(&mut a, "ann", at(0));
        assert!(a.sentiment.score < 0.0);
        assert_eq!(a.sentiment.label, SentimentLabel::Negative);
    }

    fn customer(intent: Intent) -> Analysis {
        let mut a = Analysis::default();
        a.intent.label = intent;
        a.language.language = Language::new("en");
        a
    }

    #[test]
    fn correcting_the_waiting_post_re_ranks_its_conversation() {
        let policy = TriagePolicy::default();
        let mut conv = sample(at(0));
        let mut post = customer(Intent::Praise);
        conv.signals = threading::signals_of(&post);
        conv.intent = Intent::Praise;
        threading::rescore(&mut conv, &policy, at(5));
        let before = conv.priority.score;
        CorrectedValue::Intent(Intent::Complaint).apply(&mut post, "ann", at(5));
        CorrectedValue::Sentiment(SentimentLabel::Negative).apply(&mut post, "ann", at(5));
        let posts = [ThreadPost {
            from_brand: false,
            created_at: at(0),
            analysis: &post,
        }];
        assert!(rerank(&mut conv, &posts, at(0), &policy, at(5)));
        assert_eq!(conv.intent, Intent::Complaint);
        assert_eq!(conv.sentiment, SentimentLabel::Negative);
        assert!(
            conv.priority.score > before,
            "{} !> {before}",
            conv.priority.score
        );
    }

    #[test]
    fn a_post_the_brand_already_answered_does_not_re_rank() {
        let policy = TriagePolicy::default();
        let mut conv = sample(at(0));
        conv.last_brand_at = Some(at(10));
        let post = customer(Intent::Complaint);
        let posts = [ThreadPost {
            from_brand: false,
            created_at: at(0),
            analysis: &post,
        }];
        let kept = conv.clone();
        assert!(!rerank(&mut conv, &posts, at(0), &policy, at(20)));
        assert_eq!(conv, kept);
    }
}
