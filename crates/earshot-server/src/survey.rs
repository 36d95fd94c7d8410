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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Written as the author of survey replies (the audit shows the desk sent it, not an agent).
pub const SURVEY_AUTHOR: &str = "survey";

/// The longest delay accepted: a week after resolution is already late to ask.
const MAX_DELAY_MINUTES: u64 = 7 * 24 * 60;

/// How far back the first housekeeping run after a start looks for missed surveys.
const CATCH_UP: Duration = Duration::hours(1);

/// How long after a resolution the housekeeping loop leaves it to the resolve itself.
const GRACE: Duration = Duration::minutes(1);

/// The shortest reply limit among networks earshot answers on (X: 280 characters).
const SHORTEST_REPLY: usize = 280;

/// `[survey]`: the optional satisfaction survey after resolution (off by default).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SurveySettings {
    pub enabled: bool,
    /// Where customers reach earshot's survey pages, e.g. `https://care.example.com`.
    pub public_url: String,
    /// Minutes after resolution to send the survey; 0 sends it at resolution.
    pub delay_minutes: u64,
    /// Per language (`da`, `ja`, ...): any text replacing the built-in one. The message must
    /// contain `{link}`.
    pub texts: BTreeMap<String, SurveyTexts>,
}

/// The words of one language; each missing one falls back to the built-in text.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyTexts {
    /// The reply carrying the link, with `{link}` where the link goes.
    pub message: Option<String>,
    pub title: Option<String>,
    pub question: Option<String>,
    /// What 1 means.
    pub low: Option<String>,
    /// What 5 means.
    pub high: Option<String>,
    pub buy_again: Option<String>,
    pub yes: Option<String>,
    pub no: Option<String>,
    pub comment: Option<String>,
    pub submit: Option<String>,
    pub thanks: Option<String>,
    pub already: Option<String>,
    pub unknown: Option<String>,
}

/// The words a survey page or message uses, resolved for one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Texts<'a> {
    /// The language the texts are in (`en` when the customer's had none).
    pub language: Cow<'a, str>,
    pub message: &'a str,
    pub title: &'a str,
    pub question: &'a str,
    pub low: &'a str,
    pub high: &'a str,
    pub buy_again: &'a str,
    pub yes: &'a str,
    pub no: &'a str,
    pub comment: &'a str,
    pub submit: &'a str,
    pub thanks: &'a str,
    pub already: &'a str,
    pub unknown: &'a str,
}

/// Built-in texts: `(language, [message, title, question, low, high, buy_again, yes, no,
/// comment, submit, thanks, already, unknown])`. English first: the fallback.
const BUILT_IN: &[(&str, [&str; 13])] = &[
    ("en", [
        "Thanks for reaching out! How did we do? One quick question: {link}",
        "How did we do?",
        "How satisfied are you with the help you got?",
        "Very unsatisfied",
        "Very satisfied",
        "Would you buy from us again?",
        "Yes",
        "No",
        "Anything you want to add? (optional)",
        "Send",
        "Thank you! Your answer helps us get better.",
        "You have already answered this survey. Thank you!",
        "This survey link is not valid.",
    ]),
    ("de", [
        "Danke für Ihre Nachricht! Wie war unsere Hilfe? Eine kurze Frage: {link}",
        "Wie war unsere Hilfe?",
        "Wie zufrieden sind Sie mit der Hilfe, die Sie bekommen haben?",
        "Sehr unzufrieden",
        "Sehr zufrieden",
        "Würden Sie wieder bei uns kaufen?",
        "Ja",
        "Nein",
        "Möchten Sie noch etwas hinzufügen? (optional)",
        "Senden",
        "Vielen Dank! Ihre Antwort hilft uns, besser zu werden.",
        "Sie haben diese Umfrage bereits beantwortet. Vielen Dank!",
        "Dieser Umfrage-Link ist ungültig.",
    ]),
    ("fr", [
        "Merci de nous avoir contactés ! Comment avons-nous fait ? Une petite question : {link}",
        "Votre avis compte",
        "Êtes-vous satisfait(e) de l'aide reçue ?",
        "Pas du tout satisfait(e)",
        "Très satisfait(e)",
        "Achèteriez-vous à nouveau chez nous ?",
        "Oui",
        "Non",
        "Autre chose à ajouter ? (facultatif)",
        "Envoyer",
        "Merci ! Votre réponse nous aide à nous améliorer.",
        "Vous avez déjà répondu à ce questionnaire. Merci !",
        "Ce lien de questionnaire n'est pas valide.",
    ]),
    ("es", [
        "¡Gracias por escribirnos! ¿Qué tal lo hicimos? Una pregunta rápida: {link}",
        "¿Qué tal lo hicimos?",
        "¿Qué tan satisfecho/a estás con la ayuda recibida?",
        "Muy insatisfecho/a",
        "Muy satisfecho/a",
        "¿Volverías a comprarnos?",
        "Sí",
        "No",
        "¿Quieres añadir algo? (opcional)",
        "Enviar",
        "¡Gracias! Tu respuesta nos ayuda a mejorar.",
        "Ya has respondido a esta encuesta. ¡Gracias!",
        "Este enlace de encuesta no es válido.",
    ]),
    ("da", [
        "Tak fordi du skrev til os! Hvordan klarede vi det? Ét hurtigt spørgsmål: {link}",
        "Hvordan klarede vi det?",
        "Hvor tilfreds er du med den hjælp, du fik?",
        "Meget utilfreds",
        "Meget tilfreds",
        "Vil du købe hos os igen?",
        "Ja",
        "Nej",
        "Vil du tilføje noget? (valgfrit)",
        "Send",
        "Tak! Dit svar hjælper os med at blive bedre.",
        "Du har allerede svaret på denne undersøgelse. Tak!",
        "Dette link til undersøgelsen er ikke gyldigt.",
    ]),
    ("nl", [
        "Bedankt voor je bericht! Hoe hebben we het gedaan? Eén korte vraag: {link}",
        "Hoe hebben we het gedaan?",
        "Hoe tevreden ben je met de hulp die je kreeg?",
        "Zeer ontevreden",
        "Zeer tevreden",
        "Zou je opnieuw bij ons kopen?",
        "Ja",
        "Nee",
        "Wil je nog iets toevoegen? (optioneel)",
        "Versturen",
        "Bedankt! Je antwoord helpt ons beter te worden.",
        "Je hebt deze enquête al ingevuld. Bedankt!",
        "Deze enquêtelink is niet geldig.",
    ]),
    ("it", [
        "Grazie per averci scritto! Come siamo andati? Una domanda veloce: {link}",
        "Come siamo andati?",
        "Quanto sei soddisfatto/a dell'aiuto ricevuto?",
        "Per niente soddisfatto/a",
        "Molto soddisfatto/a",
        "Acquisteresti di nuovo da noi?",
        "Sì",
        "No",
        "Vuoi aggiungere qualcosa? (facoltativo)",
        "Invia",
        "Grazie! La tua risposta ci aiuta a migliorare.",
        "Hai già risposto a questo sondaggio. Grazie!",
        "Questo link al sondaggio non è valido.",
    ]),
    ("pt", [
        "Obrigado pela sua mensagem! Como nos saímos? Uma pergunta rápida: {link}",
        "Como nos saímos?",
        "Qual é o seu nível de satisfação com a ajuda recebida?",
        "Muito insatisfeito",
        "Muito satisfeito",
        "Voltaria a comprar connosco?",
        "Sim",
        "Não",
        "Quer acrescentar algo? (opcional)",
        "Enviar",
        "Obrigado! A sua resposta ajuda-nos a melhorar.",
        "Já respondeu a esta pergunta. Obrigado!",
        "Este link não é válido.",
    ]),
    ("sv", [
        "Tack för att du hörde av dig! Hur gick det? En snabb fråga: {link}",
        "Hur gick det?",
        "Hur nöjd är du med hjälpen du fick?",
        "Mycket missnöjd",
        "Mycket nöjd",
        "Skulle du handla av oss igen?",
        "Ja",
        "Nej",
        "Vill du lägga till något? (valfritt)",
        "Skicka",
        "Tack! Ditt svar hjälper oss att bli bättre.",
        "Du har redan svarat på den här enkäten. Tack!",
        "Den här enkätlänken är inte giltig.",
    ]),
    ("ja", [
        "お問い合わせありがとうございました。対応はいかがでしたか？1問だけのアンケートにご協力ください: {link}",
        "対応はいかがでしたか？",
        "今回のサポートにどの程度満足されましたか？",
        "非常に不満",
        "非常に満足",
        "また当社をご利用になりたいと思いますか？",
        "はい",
        "いいえ",
        "ほかにご意見があればお聞かせください（任意）",
        "送信",
        "ご回答ありがとうございました。今後のサービス向上に役立てます。",
        "このアンケートには既にご回答いただいています。ありがとうございました。",
        "このアンケートのリンクは無効です。",
    ]),
];

/// `pt-BR` → `pt`, `DA` → `da`.
fn base_language(code: &str) -> String {
    code.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

impl SurveySettings {
    /// The texts for a customer's language: configured words first, then the built-in
    /// ones, then English.
    pub fn texts(&self, language: &str) -> Texts<'_> {
        let lang = base_language(language);
        let built_in = BUILT_IN.iter().find(|(l, _)| *l == lang);
        let english = &BUILT_IN[0].1;
        let own = self.texts.get(&lang);
        let en_own = self.texts.get("en");
        let known = built_in.is_some() || own.is_some();
        let pick = |i: usize, f: fn(&SurveyTexts) -> &Option<String>| -> &str {
            if let Some(s) = own.and_then(|t| f(t).as_deref()) {
                return s;
            }
            if let Some((_, words)) = built_in {
                return words[i];
            }
            if let Some(s) = en_own.and_then(|t| f(t).as_deref()) {
                return s;
            }
            english[i]
        };
        Texts {
            language: if known {
                Cow::Owned(lang)
            } else {
                Cow::Borrowed("en")
            },
            message: pick(0, |t| &t.message),
            title: pick(1, |t| &t.title),
            question: pick(2, |t| &t.question),
            low: pick(3, |t| &t.low),
            high: pick(4, |t| &t.high),
            buy_again: pick(5, |t| &t.buy_again),
            yes: pick(6, |t| &t.yes),
            no: pick(7, |t| &t.no),
            comment: pick(8, |t| &t.comment),
            submit: pick(9, |t| &t.submit),
            thanks: pick(10, |t| &t.thanks),
            already: pick(11, |t| &t.already),
            unknown: pick(12, |t| &t.unknown),
        }
    }

    /// The page a token opens.
    pub fn link(&self, token: &str) -> String {
        format!("{}/survey/{token}", self.public_url.trim_end_matches('/'))
    }

    /// Checks what `earshot config check` can: the URL, the delay and every configured text.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.enabled {
            let url = self.public_url.trim();
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                None => {
                    return Err(invalid(
                        "survey.public_url",
                        format!(
                            "{url:?} is not an http(s) URL: give the address customers reach earshot at, e.g. https://care.example.com"
                        ),
                    ))
                }
                Some(r) if r.is_empty() || r.starts_with('/') || r.contains(['?', '#', ' ']) => {
                    return Err(invalid(
                        "survey.public_url",
                        format!("{url:?}: give a base URL without query or fragment, e.g. https://care.example.com"),
                    ))
                }
                Some(_) => {}
            }
        }
        if self.delay_minutes > MAX_DELAY_MINUTES {
            return Err(invalid(
                "survey.delay_minutes",
                format!(
                    "{} is more than a week ({MAX_DELAY_MINUTES}): ask while the conversation is fresh",
                    self.delay_minutes
                ),
            ));
        }
        for (lang, t) in &self.texts {
            let key = format!("survey.texts.{lang}");
            if lang.len() < 2 || lang.len() > 3 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(invalid(
                    key,
                    "name languages by their two-letter code in lowercase, e.g. [survey.texts.da]",
                ));
            }
            if let Some(m) = &t.message {
                if !m.contains("{link}") {
                    return Err(invalid(
                        format!("{key}.message"),
                        "must contain {link} where the survey link goes",
                    ));
                }
            }
            let all = [
                &t.message,
                &t.title,
                &t.question,
                &t.low,
                &t.high,
                &t.buy_again,
                &t.yes,
                &t.no,
                &t.comment,
                &t.submit,
                &t.thanks,
                &t.already,
                &t.unknown,
            ];
            if all
                .iter()
                .any(|v| v.as_deref().is_some_and(|s| s.trim().is_empty()))
            {
                return Err(invalid(
                    key,
                    "a text is empty: remove it to use the built-in one",
                ));
            }
        }
        // Every message, with a link, must fit the shortest network's reply.
        let link = self.link(&"x".repeat(TOKEN_CHARS));
        let languages = BUILT_IN
            .iter()
            .map(|(l, _)| *l)
            .chain(self.texts.keys().map(String::as_str));
        for lang in languages {
            let text = self.texts(lang).message.replace("{link}", &link);
            let n = text.chars().count();
            if n > SHORTEST_REPLY {
                return Err(invalid(
                    format!("survey.texts.{lang}.message"),
                    format!(
                        "with the link it is {n} characters; replies on X take {SHORTEST_REPLY}: shorten it"
                    ),
                ));
            }
        }
        Ok(())
    }
}

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
