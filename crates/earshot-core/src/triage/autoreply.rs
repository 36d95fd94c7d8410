//! An optional automatic answer when nobody covers the team, in the customer's language.
//!
//! ```toml
//! [auto_reply]
//! fallback = "Thanks for writing! Our team is back at {opens} and will answer you then."
//! [auto_reply.templates]
//! da = "Tak for din besked! Vi er tilbage {opens} og svarer dig da."
//! it = "Grazie per il messaggio! Torniamo {opens} e ti risponderemo allora."
//! ```
//!
//! `{opens}` becomes the next covered time in the team's zone (`2024-06-10 09:00 CEST`).
//!
//! `every = "12h"` (the default) sends a customer at most one automatic answer in that long;
//! `max_age = "1h"` (the default) leaves posts older than that when heard (imports, backfills)
//! alone. An automatic answer is an acknowledgement, not a first response: the clock runs on.

use super::condition::Condition;
use super::facts::Facts;
use super::policy::Within;
use crate::sla::SlaClock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReplyConfig {
    /// Used when no template matches the customer's language.
    pub fallback: String,
    /// Per ISO 639-1 language code.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// Only for conversations matching this (e.g. `{ intent = ["complaint", "question"] }`).
    #[serde(default)]
    pub when: Condition,
    /// At most one automatic answer per customer in this long.
    #[serde(default = "twelve_hours")]
    pub every: Within,
    /// Posts written longer ago than this when earshot hears them are not answered.
    #[serde(default = "one_hour")]
    pub max_age: Within,
}

fn twelve_hours() -> Within {
    Within(chrono::Duration::hours(12))
}

fn one_hour() -> Within {
    Within(chrono::Duration::hours(1))
}

/// The text to send and why that one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoReply {
    pub text: String,
    /// The template's language, or `fallback`.
    pub template: String,
    pub opens_at: Option<DateTime<Utc>>,
}

impl AutoReplyConfig {
    /// The template for a language: exact code, then its primary subtag (`pt` for `pt-br`),
    /// then the fallback.
    pub fn template_for(&self, language: &str) -> (&str, &str) {
        let code = language.trim().to_ascii_lowercase();
        let primary = code.split(['-', '_']).next().unwrap_or("");
        for key in [code.as_str(), primary] {
            if let Some((k, t)) = self
                .templates
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                return (k.as_str(), t.as_str());
            }
        }
        ("fallback", self.fallback.as_str())
    }

    /// The automatic answer for a post written at `at`, or `None` when the team covers that
    /// moment (a person will answer) or the conversation is not one to auto-answer.
    pub fn reply(&self, facts: &Facts, clock: &SlaClock, at: DateTime<Utc>) -> Option<AutoReply> {
        if clock.is_covered(at) || self.when.matches(facts).is_none() {
            return None;
        }
        let (template, text) = self.template_for(&facts.language);
        let opens_at = clock.next_open(at);
        let opens = opens_at.map_or_else(
            || "as soon as we can".to_string(),
            |t| {
                t.with_timezone(&clock.tz())
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            },
        );
        Some(AutoReply {
            text: text.replace("{opens}", &opens),
            template: template.to_string(),
            opens_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Intent;
    use crate::sla::BusinessHours;
    use crate::testing::at;

    fn config() -> AutoReplyConfig {
        toml::from_str(
            r#"
            fallback = "Thanks! We are back {opens}."
            when = { intent = ["complaint", "question"] }
            [templates]
            da = "Tak! Vi er tilbage {opens}."
        "#,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn answers_outside_hours_in_the_customers_language() {
        let h = BusinessHours::parse("Europe/Copenhagen", &[("mon-fri", "09:00-17:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let clock = SlaClock::Business(h);
        let mut facts = Facts {
            language: "da-DK".into(),
            intent: Intent::Question,
            ..Facts::default()
        };
        let friday_night = at("2024-06-07T21:00:00+02:00");
        let r = config().reply(&facts, &clock, friday_night);
        let r = r.unwrap_or_else(|| panic!("should auto-reply"));
        assert_eq!(r.template, "da");
        assert_eq!(r.text, "Tak! Vi er tilbage 2024-06-10 09:00 CEST.");
        facts.language = "sv".into();
        let r = config().reply(&facts, &clock, friday_night);
        assert_eq!(r.map(|r| r.template).as_deref(), Some("fallback"));
        // During office hours a person answers; praise is not auto-answered.
        assert_eq!(
            config().reply(&facts, &clock, at("2024-06-07T10:00:00+02:00")),
            None
        );
        facts.intent = Intent::Praise;
        assert_eq!(config().reply(&facts, &clock, friday_night), None);
        // A calendar clock always covers: never an auto-reply.
        assert_eq!(
            config().reply(&facts, &SlaClock::Calendar, friday_night),
            None
        );
    }
}
