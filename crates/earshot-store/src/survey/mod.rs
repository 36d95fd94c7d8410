//! Satisfaction surveys ([`SurveyStore`]): after a conversation is resolved the customer may
//! get a link to a one-question page (a 1–5 score and "would you buy from us again?"); the
//! answer is tied to the conversation, the agent and the request.
//!
//! Invariants: one survey per conversation, ever — a conversation reopened and resolved
//! again is not asked twice (the first answer stands; a new issue opens a new conversation).
//! A survey is answered once: a second answer is a `Conflict`, never an overwrite. Only a
//! hash of the link's token is stored, so reading the table does not let anyone answer.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::feedback::RequestId;
use earshot_core::{ConversationId, Network};
use serde::{Deserialize, Serialize};
use std::fmt;

mod sql;

/// The longest comment kept with an answer, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// A 1–5 satisfaction score (5 = very satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Score(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("score {0} is outside 1–5: pick 1 (very unhappy) to 5 (very happy)")]
    ScoreOutOfRange(i64),
    #[error("the comment is {0} characters long; keep it under {MAX_COMMENT_CHARS}")]
    CommentTooLong(usize),
}

impl Score {
    pub fn parse(v: i64) -> Result<Score, AnswerError> {
        match u8::try_from(v) {
            Ok(s @ 1..=5) => Ok(Score(s)),
            _ => Err(AnswerError::ScoreOutOfRange(v)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// 4 and 5 count as satisfied (the usual CSAT definition).
    pub fn satisfied(self) -> bool {
        self.0 >= 4
    }
}

impl TryFrom<i64> for Score {
    type Error = AnswerError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Score::parse(v)
    }
}

impl From<Score> for u8 {
    fn from(s: Score) -> u8 {
        s.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A customer's answer, checked: made only through [`SurveyAnswer::new`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyAnswer {
    score: Score,
    buy_again: Option<bool>,
    comment: Option<String>,
}

impl SurveyAnswer {
    /// A blank comment is no comment; an over-long one is refused (not cut), so the customer
    /// can shorten it themselves.
    pub fn new(
        score: i64,
        buy_again: Option<bool>,
        comment: Option<&str>,
    ) -> Result<SurveyAnswer, AnswerError> {
        let score = Score::parse(score)?;
        let comment = comment
            .map(|c| c.trim().replace('\0', ""))
            .filter(|c| !c.is_empty());
        if let Some(c) = &comment {
            let n = c.chars().count();
            if n > MAX_COMMENT_CHARS {
                return Err(AnswerError::CommentTooLong(n));
            }
        }
        Ok(SurveyAnswer {
            score,
            buy_again,
            comment,
        })
    }

    pub fn score(&self) -> Score {
        self.score
    }
    pub fn buy_again(&self) -> Option<bool> {
        self.buy_again
    }
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }
}

/// A survey about to be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSurvey {
    pub conversation_id: ConversationId,
    /// Lowercase hex SHA-256 of the link's token (the token itself is never stored).
    pub token_hash: String,
    pub network: Network,
    /// The customer's language (ISO 639-1), which the page speaks.
    pub language: String,
    /// The agent the answer counts for (the assignee, else who replied last).
    pub agent: Option<String>,
    pub request_id: Option<RequestId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub network: Network,
    pub language: String,
    pub agent: Option<String>,
    pub request_id: Option<RequestId>,
    pub created_at: DateTime<Utc>,
    /// When the reply carrying the link was sent; `None` until then.
    pub sent_at: Option<DateTime<Utc>>,
    pub reply_id: Option<i64>,
    pub answered_at: Option<DateTime<Utc>>,
    pub score: Option<Score>,
    pub buy_again: Option<bool>,
    pub comment: Option<String>,
}

/// What satisfaction figures are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SatisfactionGroup {
    Agent,
    Request,
    Network,
    Language,
}

impl SatisfactionGroup {
    pub fn parse(s: &str) -> Option<SatisfactionGroup> {
        match s.trim().to_ascii_lowercase().as_str() {
            "agent" => Some(SatisfactionGroup::Agent),
            "request" => Some(SatisfactionGroup::Request),
            "network" => Some(SatisfactionGroup::Network),
            "language" => Some(SatisfactionGroup::Language),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SatisfactionGroup::Agent => "agent",
            SatisfactionGroup::Request => "request",
            SatisfactionGroup::Network => "network",
            SatisfactionGroup::Language => "language",
        }
    }
}

/// Satisfaction over one group (or everything, key `all`) of surveys created in a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Satisfaction {
    /// The agent, request id, network or language; `all` when not grouped; empty when the
    /// survey had none (no agent, no request).
    pub key: String,
    /// The request's title when grouped by request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub sent: u64,
    pub answered: u64,
    /// Answers with score 1, 2, 3, 4, 5.
    pub scores: [u64; 5],
    /// Share of answers scoring 4 or 5; `None` without answers.
    pub csat: Option<f64>,
    pub mean_score: Option<f64>,
    pub buy_again_yes: u64,
    pub buy_again_no: u64,
    /// yes ÷ (yes + no): those who skipped the question are not counted.
    pub buy_again_share: Option<f64>,
    /// answered ÷ sent.
    pub response_rate: Option<f64>,
}

impl Satisfaction {
    pub fn empty(key: impl Into<String>) -> Satisfaction {
        Satisfaction {
            key: key.into(),
            label: None,
            sent: 0,
            answered: 0,
            scores: [0; 5],
            csat: None,
            mean_score: None,
            buy_again_yes: 0,
            buy_again_no: 0,
            buy_again_share: None,
            response_rate: None,
        }
    }

    /// Fills the shares from the counts.
    fn finish(&mut self) {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.answered = self.scores.iter().sum();
        self.csat = ratio(self.scores[3] + self.scores[4], self.answered);
        let total: u64 = self
            .scores
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1) * n)
            .sum();
        self.mean_score = ratio(total, self.answered);
        self.buy_again_share = ratio(self.buy_again_yes, self.buy_again_yes + self.buy_again_no);
        self.response_rate = ratio(self.answered, self.sent);
    }
}

/// One grouped count from either backend: surveys with this key, score and buy-again answer.
pub(crate) struct SatisfactionCount {
    pub key: String,
    pub label: Option<String>,
    pub sent: bool,
    pub score: Option<i64>,
    pub buy_again: Option<bool>,
    pub surveys: i64,
}

/// Folds the backends' counts into figures (shared, so the two cannot drift apart), keys in
/// order; an ungrouped range always yields its one `all` row.
pub(crate) fn assemble(counts: Vec<SatisfactionCount>, grouped: bool) -> Vec<Satisfaction> {
    use std::collections::BTreeMap;
    let mut by_key: BTreeMap<String, Satisfaction> = BTreeMap::new();
    if !grouped {
        by_key.insert("all".into(), Satisfaction::empty("all"));
    }
    for c in counts {
        let n = u64::try_from(c.surveys.max(0)).unwrap_or(0);
        let s = by_key
            .entry(c.key.clone())
            .or_insert_with(|| Satisfaction::empty(c.key));
        if s.label.is_none() {
            s.label = c.label;
        }
        if c.sent {
            s.sent += n;
        }
        // A score outside 1–5 cannot be stored (CHECK constraint); skip rather than panic.
        if let Some(i) = c.score.and_then(|v| Score::parse(v).ok()) {
            s.scores[usize::from(i.get()) - 1] += n;
            match c.buy_again {
                Some(true) => s.buy_again_yes += n,
                Some(false) => s.buy_again_no += n,
                None => {}
            }
        }
    }
    let mut out: Vec<Satisfaction> = by_key.into_values().collect();
    for s in &mut out {
        s.finish();
    }
    out
}

#[async_trait]
pub trait SurveyStore: Send + Sync {
    /// Stores a survey before its link is sent. A conversation that already has one keeps
    /// it: the stored survey comes back with `false` (nothing changes).
    async fn create_survey(&self, survey: NewSurvey) -> Result<(Survey, bool), StoreError>;

    /// Notes the reply that carried the link. Unknown id → `NotFound`.
    async fn survey_sent(
        &self,
        id: i64,
        reply_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError>;

    async fn survey_by_token(&self, token_hash: &str) -> Result<Option<Survey>, StoreError>;

    async fn survey_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Survey>, StoreError>;

    /// Records the answer once. Unknown token → `NotFound`; answered before → `Conflict`
    /// (the first answer stands).
    async fn answer_survey(
        &self,
        token_hash: &str,
        answer: &SurveyAnswer,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError>;

    /// Whether the customer asked not to hear from the brand again (see `FeedbackStore::opt_out`).
    async fn opted_out(
        &self,
        network: Network,
        author_external_id: &str,
    ) -> Result<bool, StoreError>;

    /// Conversations resolved in `[from, to)` (and still resolved) that have no survey yet,
    /// with when they were resolved, oldest resolution first, at most `limit`.
    async fn conversations_to_survey(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(ConversationId, DateTime<Utc>)>, StoreError>;

    /// Satisfaction of the surveys created in `[from, to)`, split by `by` (one `all` row when
    /// `None`).
    async fn satisfaction(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: Option<SatisfactionGroup>,
    ) -> Result<Vec<Satisfaction>, StoreError>;
}

/// The SQL expression a group's key and label are read from (both backends; `s` = surveys,
/// `r` = requests).
pub(crate) fn group_sql(by: Option<SatisfactionGroup>) -> (&'static str, &'static str) {
    match by {
        None => ("CAST('all' AS TEXT)", "CAST(NULL AS TEXT)"),
        Some(SatisfactionGroup::Agent) => ("COALESCE(s.agent, '')", "CAST(NULL AS TEXT)"),
        Some(SatisfactionGroup::Request) => {
            ("COALESCE(CAST(s.request_id AS TEXT), '')", "MAX(r.title)")
        }
        Some(SatisfactionGroup::Network) => ("s.network", "CAST(NULL AS TEXT)"),
        Some(SatisfactionGroup::Language) => ("s.language", "CAST(NULL AS TEXT)"),
    }
}

pub(crate) fn parse_score(v: Option<i64>) -> Result<Option<Score>, StoreError> {
    v.map(|v| Score::parse(v).map_err(|e| StoreError::Corrupt(format!("survey score: {e}"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert_eq!(Score::parse(1).map(Score::get), Ok(1));
        assert_eq!(Score::parse(5).map(Score::get), Ok(5));
        for bad in [0, 6, 7, -1, 256, i64::MAX] {
            assert_eq!(Score::parse(bad), Err(AnswerError::ScoreOutOfRange(bad)));
        }
        assert!(Score::parse(4).unwrap().satisfied());
        assert!(!Score::parse(3).unwrap().satisfied());
        let err = serde_json::from_str::<Score>("7").unwrap_err();
        assert!(err.to_string().contains("outside 1–5"), "{err}");
    }

    #[test]
    fn comments_are_trimmed_and_limited() {
        let a = SurveyAnswer::new(5, Some(true), Some("  tak!  ")).unwrap();
        assert_eq!(a.comment(), Some("tak!"));
        assert_eq!(
            SurveyAnswer::new(5, None, Some("   ")).unwrap().comment(),
            None
        );
        let long = "å".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            SurveyAnswer::new(3, None, Some(&long)),
            Err(AnswerError::CommentTooLong(MAX_COMMENT_CHARS + 1))
        );
        let exact = "å".repeat(MAX_COMMENT_CHARS);
        assert!(SurveyAnswer::new(3, None, Some(&exact)).is_ok());
    }

    fn count(
        key: &str,
        sent: bool,
        score: Option<i64>,
        buy: Option<bool>,
        n: i64,
    ) -> SatisfactionCount {
        SatisfactionCount {
            key: key.into(),
            label: None,
            sent,
            score,
            buy_again: buy,
            surveys: n,
        }
    }

    #[test]
    fn csat_is_the_share_of_fours_and_fives() {
        let rows = assemble(
            vec![
                count("all", true, Some(5), Some(true), 2),
                count("all", true, Some(4), None, 1),
                count("all", true, Some(1), Some(false), 1),
                count("all", true, None, None, 4),
                count("all", false, None, None, 3),
            ],
            false,
        );
        assert_eq!(rows.len(), 1);
        let s = &rows[0];
        assert_eq!(s.sent, 8);
        assert_eq!(s.answered, 4);
        assert_eq!(s.scores, [1, 0, 0, 1, 2]);
        assert_eq!(s.csat, Some(0.75));
        assert_eq!(s.mean_score, Some(15.0 / 4.0));
        assert_eq!(s.buy_again_share, Some(2.0 / 3.0));
        assert_eq!(s.response_rate, Some(0.5));
    }

    #[test]
    fn nothing_answered_means_no_figures_not_zero() {
        let rows = assemble(vec![], false);
        assert_eq!(rows[0].key, "all");
        assert_eq!(rows[0].csat, None);
        assert_eq!(rows[0].mean_score, None);
        assert!(assemble(vec![], true).is_empty());
    }
}
