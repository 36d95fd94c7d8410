//! What the triage rules may look at: a flat, owned snapshot of one conversation.
//!
//! Conditions, policies and routing rules read only this, so `earshot rules test` can run them
//! on a hand-written sample exactly as the server runs them on a live conversation.

use crate::analysis::{Analysis, Intent, ReachTier, SentimentLabel};
use crate::conversation::{Conversation, Status};
use crate::network::Network;
use crate::priority::PriorityBand;
use crate::sla::SlaClock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The facts about a conversation that rules can test. Serialisable so a sample for
/// `earshot rules test` can be written as TOML or JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Facts {
    pub band: PriorityBand,
    pub score: f32,
    pub intent: Intent,
    pub sentiment: SentimentLabel,
    pub network: Network,
    /// ISO 639-1 code (`und` when unknown).
    pub language: String,
    pub followers: Option<u64>,
    pub reach: ReachTier,
    /// The customer's latest post, for keyword clauses.
    pub text: String,
    /// Configured brand names, handles and keywords the analysis found in the text.
    pub terms: Vec<String>,
    pub labels: Vec<String>,
    pub team: Option<String>,
    /// Whether the team was on duty when the customer wrote (filled from the team's clock).
    pub business_hours: bool,
    pub status: Status,
    /// Part of a sudden surge of similar posts (set by the spike detector).
    pub spike: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            band: PriorityBand::Normal,
            score: 0.0,
            intent: Intent::Other,
            sentiment: SentimentLabel::Neutral,
            network: Network::Webhook,
            language: "und".into(),
            followers: None,
            reach: ReachTier::Unknown,
            text: String::new(),
            terms: vec![],
            labels: vec![],
            team: None,
            business_hours: true,
            status: Status::Open,
            spike: false,
        }
    }
}

impl Facts {
    /// The facts of a stored conversation; `latest` is its latest customer post's text and analysis.
    pub fn of_conversation(conversation: &Conversation, latest: Option<(&str, &Analysis)>) -> Self {
        let (text, terms) = match latest {
            Some((text, analysis)) => (
                text.to_string(),
                analysis.matches.iter().map(|m| m.term.clone()).collect(),
            ),
            None => (String::new(), vec![]),
        };
        Facts {
            band: conversation.priority.band,
            score: conversation.priority.score,
            intent: conversation.intent,
            sentiment: conversation.sentiment,
            network: conversation.network,
            language: conversation.language.clone(),
            followers: conversation.customer.followers,
            reach: conversation.signals.reach_tier,
            text,
            terms,
            labels: vec![],
            team: None,
            business_hours: true,
            status: conversation.status,
            spike: false,
        }
    }

    /// Sets `business_hours` from the team's clock at the moment the customer wrote.
    pub fn on_clock(mut self, clock: &SlaClock, written_at: DateTime<Utc>) -> Self {
        self.business_hours = clock.is_covered(written_at);
        self
    }

    pub fn with_team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    pub fn with_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels.extend(labels.into_iter().map(Into::into));
        self
    }
}
