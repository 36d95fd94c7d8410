//! `[survey]`: whether surveys are sent, after how long, the page's address, and the words of
//! the reply and the page per language (built-in for the languages earshot reads, each word
//! replaceable in the file).

use super::TOKEN_CHARS;
use crate::settings::ConfigError;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The longest delay accepted: a week after resolution is already late to ask.
const MAX_DELAY_MINUTES: u64 = 7 * 24 * 60;

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
pub(super) const BUILT_IN: &[(&str, [&str; 13])] = &[
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
