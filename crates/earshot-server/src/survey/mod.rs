//! Satisfaction surveys: when a conversation is resolved, the customer gets one reply in
//! their thread, in their language, with a link to a one-question page (`/survey/{token}`,
//! no sign-in): a 1–5 score and "would you buy from us again?".
//!
//! Rules, in one place ([`Surveys::offer`]): only a resolved conversation the brand answered,
//! on a network earshot can reply on, whose customer did not opt out, and at most one survey
//! per conversation (a reopened conversation resolved again is not asked twice). The reply
//! goes through the outbox (`crate::outbox`) with the key `survey:<conversation>`, so a retry or a
//! second sender never posts it twice. The link's token is random (256 bits); the store keeps
//! only its SHA-256.
//!
//! Sending: at resolution when `delay_minutes` is 0; otherwise (and to catch up on a send
//! that failed) the housekeeping loop calls [`Surveys::send_due`], which walks conversations
//! resolved since its last run.

use crate::outbox::{Outbox, OutboxError};
use crate::pipeline::Pipeline;
use crate::settings::ConfigError;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use earshot_core::{ConversationId, Status};
use earshot_store::survey::{NewSurvey, Survey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Mutex;

mod settings;

pub use settings::{SurveySettings, SurveyTexts, Texts};

/// Written as the author of survey replies (the audit shows the desk sent it, not an agent).
pub const SURVEY_AUTHOR: &str = "survey";

/// How far back the first housekeeping run after a start looks for missed surveys.
const CATCH_UP: Duration = Duration::hours(1);

/// How long after a resolution the housekeeping loop leaves it to the resolve itself.
const GRACE: Duration = Duration::minutes(1);

/// Length of a token: 32 random bytes in URL-safe base64 without padding.
pub const TOKEN_CHARS: usize = 43;

/// A new random token for a survey link.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a token: lowercase hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `s` looks like a token (so junk never reaches the store).
pub fn plausible_token(s: &str) -> bool {
    s.len() == TOKEN_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why no survey was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    NotResolved,
    /// Nobody from the brand answered: there is nothing to rate.
    NoBrandReply,
    /// earshot cannot post on this network (RSS, a webhook source without a reply address,
    /// a network without a connector).
    CannotReply,
    OptedOut,
    AlreadyAsked,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Sent, with the token its link carries (for the caller; it is never logged or stored).
    Sent {
        survey: Box<Survey>,
        token: String,
    },
    Skipped(Skip),
}

/// The survey sender, built from `[survey]` when it is enabled.
pub struct Surveys {
    settings: SurveySettings,
    /// Conversations resolved before this were looked at by [`Surveys::send_due`].
    looked_until: Mutex<Option<DateTime<Utc>>>,
}

impl Surveys {
    /// `None` when surveys are off.
    pub fn new(settings: &SurveySettings) -> Result<Option<Surveys>, ConfigError> {
        settings.check()?;
        Ok(settings.enabled.then(|| Surveys {
            settings: settings.clone(),
            looked_until: Mutex::new(None),
        }))
    }

    pub fn settings(&self) -> &SurveySettings {
        &self.settings
    }

    fn delay(&self) -> Duration {
        Duration::minutes(i64::try_from(self.settings.delay_minutes).unwrap_or(0))
    }

    /// Whether the survey goes out at resolution (rather than from housekeeping).
    pub fn at_resolution(&self) -> bool {
        self.settings.delay_minutes == 0
    }

    /// Sends the survey for a resolved conversation if the rules allow (see the module doc).
    /// Sent through `outbox`, threaded through `pipeline`.
    #[tracing::instrument(skip(self, outbox, pipeline), fields(conversation = %id))]
    pub async fn offer(
        &self,
        outbox: &Outbox,
        pipeline: &Pipeline,
        id: ConversationId,
    ) -> Result<Outcome, OutboxError> {
        let store = pipeline.store();
        let detail = store
            .conversation(id)
            .await?
            .ok_or_else(|| earshot_store::StoreError::NotFound(format!("conversation {id}")))?;
        let c = &detail.conversation;
        let skip = if c.status != Status::Resolved {
            Some(Skip::NotResolved)
        } else if c.last_brand_at.is_none() {
            Some(Skip::NoBrandReply)
        } else if !outbox.can_answer(c.network) {
            Some(Skip::CannotReply)
        } else if store.opted_out(c.network, &c.customer.external_id).await? {
            Some(Skip::OptedOut)
        } else if store.survey_of_conversation(id).await?.is_some() {
            Some(Skip::AlreadyAsked)
        } else {
            None
        };
        if let Some(skip) = skip {
            tracing::debug!(?skip, "no survey");
            return Ok(Outcome::Skipped(skip));
        }
        // The answer counts for the assignee, else whoever answered last, else who resolved.
        let agent = c
            .assignee
            .clone()
            .or_else(|| {
                detail
                    .replies
                    .iter()
                    .rev()
                    .find(|r| r.sent_at.is_some() && r.author != SURVEY_AUTHOR)
                    .map(|r| r.author.clone())
            })
            .or_else(|| {
                detail
                    .audit
                    .iter()
                    .find(|a| a.action == "resolved")
                    .map(|a| a.actor.clone())
            });
        let mut request_id = None;
        for p in detail.posts.iter().rev().filter(|p| !p.from_brand) {
            if let Some(r) = store.request_of_post(p.id).await? {
                request_id = Some(r);
                break;
            }
        }
        let texts = self.settings.texts(&c.language);
        let token = new_token();
        let (survey, created) = store
            .create_survey(NewSurvey {
                conversation_id: id,
                token_hash: token_hash(&token),
                network: c.network,
                language: texts.language.to_string(),
                agent,
                request_id,
                created_at: Utc::now(),
            })
            .await?;
        if !created {
            return Ok(Outcome::Skipped(Skip::AlreadyAsked));
        }
        let text = texts.message.replace("{link}", &self.settings.link(&token));
        let reply = outbox
            .send(
                pipeline,
                id,
                &text,
                SURVEY_AUTHOR,
                Some(format!("survey:{id}")),
            )
            .await?;
        let survey = store.survey_sent(survey.id, reply.id, Utc::now()).await?;
        tracing::info!(survey = survey.id, language = %survey.language, "survey sent");
        Ok(Outcome::Sent {
            survey: Box::new(survey),
            token,
        })
    }

    /// Offers surveys for conversations resolved since the last run (once `delay_minutes`
    /// has passed). Returns how many were sent.
    pub async fn send_due(
        &self,
        outbox: &Outbox,
        pipeline: &Pipeline,
        now: DateTime<Utc>,
    ) -> Result<usize, OutboxError> {
        const BATCH: u32 = 100;
        let to = now - self.delay() - GRACE;
        let from = self
            .looked_until
            .lock()
            .map(|g| *g)
            .unwrap_or(None)
            .unwrap_or(to - CATCH_UP);
        if from >= to {
            return Ok(0);
        }
        let due = pipeline
            .store()
            .conversations_to_survey(from, to, BATCH)
            .await?;
        let mut sent = 0;
        let mut looked = to;
        if due.len() == BATCH as usize {
            // More than a batch: continue after the last one next time.
            if let Some((_, at)) = due.last() {
                looked = *at + Duration::microseconds(1);
            }
        }
        for (id, _) in due {
            match self.offer(outbox, pipeline, id).await {
                Ok(Outcome::Sent { .. }) => sent += 1,
                Ok(Outcome::Skipped(_)) => {}
                Err(e) => tracing::warn!(conversation = %id, error = %e, "survey not sent"),
            }
        }
        if let Ok(mut g) = self.looked_until.lock() {
            *g = Some(looked);
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::settings::BUILT_IN;
    use super::*;

    fn enabled() -> SurveySettings {
        SurveySettings {
            enabled: true,
            public_url: "https://care.example.com/".into(),
            ..SurveySettings::default()
        }
    }

    #[test]
    fn texts_follow_the_customers_language_then_english() {
        let s = enabled();
        let da = s.texts("da");
        assert_eq!(da.language, "da");
        assert_eq!(da.buy_again, "Vil du købe hos os igen?");
        assert_eq!(s.texts("pt-BR").language, "pt");
        assert_eq!(s.texts("DE").yes, "Ja");
        let unknown = s.texts("und");
        assert_eq!(unknown.language, "en");
        assert_eq!(unknown.submit, "Send");
        for (lang, words) in BUILT_IN {
            assert!(words[0].contains("{link}"), "{lang}");
            assert!(words.iter().all(|w| !w.trim().is_empty()), "{lang}");
        }
        for lang in ["en", "de", "fr", "es", "da", "nl", "it", "pt", "sv", "ja"] {
            assert!(BUILT_IN.iter().any(|(l, _)| *l == lang), "{lang}");
        }
    }

    #[test]
    fn configured_texts_replace_single_words() {
        let mut s = enabled();
        s.texts.insert(
            "da".into(),
            SurveyTexts {
                thanks: Some("Tusind tak!".into()),
                ..SurveyTexts::default()
            },
        );
        s.texts.insert(
            "fi".into(),
            SurveyTexts {
                question: Some("Kuinka tyytyväinen olet?".into()),
                ..SurveyTexts::default()
            },
        );
        s.check().unwrap();
        assert_eq!(s.texts("da").thanks, "Tusind tak!");
        assert_eq!(s.texts("da").yes, "Ja");
        let fi = s.texts("fi");
        assert_eq!(fi.language, "fi");
        assert_eq!(fi.question, "Kuinka tyytyväinen olet?");
        assert_eq!(fi.yes, "Yes", "missing words fall back to English");
        assert_eq!(
            s.link("abc"),
            "https://care.example.com/survey/abc",
            "no double slash"
        );
    }

    #[test]
    fn mistakes_name_their_key() {
        let mut s = enabled();
        s.public_url = "care.example.com".into();
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("survey.public_url"));
        s.public_url = "https://care.example.com?x=1".into();
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("survey.public_url"));
        let mut s = enabled();
        s.delay_minutes = 100_000;
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("survey.delay_minutes"));
        let mut s = enabled();
        s.texts.insert(
            "da".into(),
            SurveyTexts {
                message: Some("Hvordan gik det?".into()),
                ..SurveyTexts::default()
            },
        );
        let err = s.check().unwrap_err().to_string();
        assert!(
            err.contains("survey.texts.da.message") && err.contains("{link}"),
            "{err}"
        );
        let mut s = enabled();
        s.texts.insert(
            "en".into(),
            SurveyTexts {
                message: Some(format!("{} {{link}}", "very long ".repeat(30))),
                ..SurveyTexts::default()
            },
        );
        let err = s.check().unwrap_err().to_string();
        assert!(
            err.contains("survey.texts.en.message") && err.contains("280"),
            "{err}"
        );
        let mut s = enabled();
        s.texts.insert("Danish".into(), SurveyTexts::default());
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("survey.texts.Danish"));
        // Off: no URL needed.
        assert!(SurveySettings::default().check().is_ok());
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(plausible_token(&a), "{a}");
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert!(!plausible_token("short"));
        assert!(!plausible_token(&format!("{}/", &a[..42])));
    }
}
