//! The condition language: a TOML table of clauses over a conversation's [`Facts`].
//!
//! ```toml
//! when = { intent = ["complaint"], network = ["x", "bluesky"], followers_at_least = 100000 }
//! ```
//!
//! Every clause present must hold (AND); a list clause holds when the fact is any of the listed
//! values (OR). `any = [{...}, {...}]` holds when one of its sub-conditions does, and
//! `not = {...}` when its sub-condition does not. An empty table matches every conversation.
//! Unknown clause names are refused when the config loads, so a typo cannot silently match all.

use super::facts::Facts;
use crate::analysis::{Intent, ReachTier, SentimentLabel};
use crate::conversation::Status;
use crate::network::Network;
use crate::priority::PriorityBand;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Condition {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub band: Vec<PriorityBand>,
    /// `high` holds for high and urgent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band_at_least: Option<PriorityBand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_at_least: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intent: Vec<Intent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sentiment: Vec<SentimentLabel>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<Network>,
    /// ISO 639-1 codes; `pt` also holds for `pt-br`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followers_at_least: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reach: Vec<ReachTier>,
    /// Words or phrases in the text, any case, as whole words ("refund" does not hold for "refunded").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Configured terms (brand names, handles, keywords) the analysis found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub team: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spike: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
}

/// Why a condition held: one line per clause, e.g. `intent complaint is one of [complaint]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Why(pub Vec<String>);

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("no conditions (matches everything)")
        } else {
            f.write_str(&self.0.join("; "))
        }
    }
}

/// Why a condition did not hold: the first clause that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WhyNot(pub String);

impl fmt::Display for WhyNot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConditionError {
    #[error("score_at_least must be a number between 0 and 100, not {0}")]
    Score(f32),
    #[error("an empty keyword or term would match every post")]
    EmptyWord,
    #[error("`any = []` can never hold: remove it or list sub-conditions")]
    EmptyAny,
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

/// Checks one "fact is one of" clause, adding its reason to `why`.
fn one_of<T: PartialEq + fmt::Display>(
    name: &str,
    allowed: &[T],
    actual: &T,
    why: &mut Vec<String>,
) -> Result<(), WhyNot> {
    if allowed.is_empty() {
        return Ok(());
    }
    if allowed.contains(actual) {
        why.push(format!("{name} {actual} is one of {}", list(allowed)));
        Ok(())
    } else {
        Err(WhyNot(format!(
            "{name} {actual} is not one of {}",
            list(allowed)
        )))
    }
}

fn language_matches(wanted: &str, actual: &str) -> bool {
    let wanted = wanted.trim().to_ascii_lowercase();
    let actual = actual.trim().to_ascii_lowercase();
    let primary = actual.split(['-', '_']).next().unwrap_or("");
    actual == wanted || primary == wanted
}

/// Whether `word` occurs in `text` as a whole word or phrase, ignoring case.
pub fn contains_word(text: &str, word: &str) -> bool {
    let word = word.trim().to_lowercase();
    if word.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let mut from = 0;
    while let Some(pos) = text[from..].find(&word) {
        let start = from + pos;
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return true;
        }
        // Step one character on, keeping to char boundaries.
        from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

impl Condition {
    /// The clauses that held, or `None` when one did not.
    pub fn matches(&self, facts: &Facts) -> Option<Why> {
        self.check(facts).ok()
    }

    /// The clauses that held, or the first that did not (for `earshot rules test`).
    pub fn check(&self, facts: &Facts) -> Result<Why, WhyNot> {
        let mut why = Vec::new();
        one_of("band", &self.band, &facts.band, &mut why)?;
        if let Some(min) = self.band_at_least {
            // Bands order from urgent (smallest) to low.
            if facts.band <= min {
                why.push(format!("band {} is at least {min}", facts.band));
            } else {
                return Err(WhyNot(format!("band {} is below {min}", facts.band)));
            }
        }
        if let Some(min) = self.score_at_least {
            if facts.score >= min {
                why.push(format!("score {:.0} ≥ {min}", facts.score));
            } else {
                return Err(WhyNot(format!("score {:.0} < {min}", facts.score)));
            }
        }
        one_of("intent", &self.intent, &facts.intent, &mut why)?;
        one_of("sentiment", &self.sentiment, &facts.sentiment, &mut why)?;
        one_of("network", &self.network, &facts.network, &mut why)?;
        if !self.language.is_empty() {
            if self
                .language
                .iter()
                .any(|l| language_matches(l, &facts.language))
            {
                why.push(format!(
                    "language {} is one of {}",
                    facts.language,
                    list(&self.language)
                ));
            } else {
                return Err(WhyNot(format!(
                    "language {} is not one of {}",
                    facts.language,
                    list(&self.language)
                )));
            }
        }
        if let Some(min) = self.followers_at_least {
            match facts.followers {
                Some(f) if f >= min => why.push(format!("{f} followers ≥ {min}")),
                Some(f) => return Err(WhyNot(format!("{f} followers < {min}"))),
                None => return Err(WhyNot("follower count unknown".into())),
            }
        }
        one_of("reach", &self.reach, &facts.reach, &mut why)?;
        if !self.keywords.is_empty() {
            let found: Vec<&String> = self
                .keywords
                .iter()
                .filter(|k| contains_word(&facts.text, k))
                .collect();
            if found.is_empty() {
                return Err(WhyNot(format!("text has none of {}", list(&self.keywords))));
            }
            why.push(format!("text mentions {}", list(&found)));
        }
        if !self.terms.is_empty() {
            let found: Vec<&String> = self
                .terms
                .iter()
                .filter(|t| facts.terms.iter().any(|f| f.eq_ignore_ascii_case(t)))
                .collect();
            if found.is_empty() {
                return Err(WhyNot(format!(
                    "none of the terms {} were found",
                    list(&self.terms)
                )));
            }
            why.push(format!("terms {} found", list(&found)));
        }
        if !self.labels.is_empty() {
            let found: Vec<&String> = self
                .labels
                .iter()
                .filter(|l| facts.labels.iter().any(|f| f.eq_ignore_ascii_case(l)))
                .collect();
            if found.is_empty() {
                return Err(WhyNot(format!(
                    "labels {} include none of {}",
                    list(&facts.labels),
                    list(&self.labels)
                )));
            }
            why.push(format!("labelled {}", list(&found)));
        }
        if !self.team.is_empty() {
            match &facts.team {
                Some(t) if self.team.contains(t) => {
                    why.push(format!("team {t} is one of {}", list(&self.team)));
                }
                Some(t) => {
                    return Err(WhyNot(format!(
                        "team {t} is not one of {}",
                        list(&self.team)
                    )))
                }
                None => return Err(WhyNot("no team yet".into())),
            }
        }
        if let Some(wanted) = self.business_hours {
            let said = if facts.business_hours {
                "within business hours"
            } else {
                "outside business hours"
            };
            if facts.business_hours == wanted {
                why.push(format!("written {said}"));
            } else {
                return Err(WhyNot(format!("written {said}")));
            }
        }
        one_of("status", &self.status, &facts.status, &mut why)?;
        if let Some(wanted) = self.spike {
            if facts.spike == wanted {
                why.push(
                    if wanted {
                        "part of a spike"
                    } else {
                        "not part of a spike"
                    }
                    .into(),
                );
            } else {
                return Err(WhyNot(
                    if facts.spike {
                        "part of a spike"
                    } else {
                        "not part of a spike"
                    }
                    .into(),
                ));
            }
        }
        if !self.any.is_empty() {
            let mut misses = Vec::new();
            let mut held = None;
            for (i, sub) in self.any.iter().enumerate() {
                match sub.check(facts) {
                    Ok(w) => {
                        held = Some((i, w));
                        break;
                    }
                    Err(n) => misses.push(n.0),
                }
            }
            match held {
                Some((i, w)) => why.push(format!("any #{}: {w}", i + 1)),
                None => {
                    return Err(WhyNot(format!(
                        "none of `any` held ({})",
                        misses.join(" | ")
                    )))
                }
            }
        }
        if let Some(sub) = &self.not {
            match sub.check(facts) {
                Ok(w) => return Err(WhyNot(format!("`not` failed: {w}"))),
                Err(n) => why.push(format!("not ({n})")),
            }
        }
        Ok(Why(why))
    }

    /// Refuses conditions that load but cannot mean what the admin wrote.
    pub fn validate(&self) -> Result<(), ConditionError> {
        if let Some(s) = self.score_at_least {
            if !(0.0..=100.0).contains(&s) {
                return Err(ConditionError::Score(s));
            }
        }
        if self
            .keywords
            .iter()
            .chain(&self.terms)
            .any(|w| w.trim().is_empty())
        {
            return Err(ConditionError::EmptyWord);
        }
        for sub in &self.any {
            sub.validate()?;
        }
        if let Some(sub) = &self.not {
            sub.validate()?;
        }
        Ok(())
    }

    /// Whether this condition has no clauses (matches everything).
    pub fn is_always(&self) -> bool {
        *self == Condition::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn when(toml_text: &str) -> Condition {
        #[derive(Deserialize)]
        struct Rule {
            when: Condition,
        }
        match toml::from_str::<Rule>(toml_text) {
            Ok(r) => r.when,
            Err(e) => panic!("{e}"),
        }
    }

    fn complaint_on_x(followers: u64) -> Facts {
        Facts {
            intent: Intent::Complaint,
            network: Network::X,
            followers: Some(followers),
            text: "My car has been blocking the charger, refund please!".into(),
            ..Facts::default()
        }
    }

    #[test]
    fn toml_condition_matches_and_explains_each_clause() {
        let c = when(
            r#"when = { intent = ["complaint"], network = ["x", "bluesky"], followers_at_least = 100000 }"#,
        );
        let why = c.matches(&complaint_on_x(120_000));
        let why = why.unwrap_or_else(|| panic!("should match"));
        assert_eq!(why.0.len(), 3, "{why}");
        assert!(why
            .to_string()
            .contains("intent complaint is one of [complaint]"));
        assert!(why.to_string().contains("120000 followers ≥ 100000"));
        let miss = c.check(&complaint_on_x(99_999));
        assert_eq!(miss, Err(WhyNot("99999 followers < 100000".into())));
        let mut bsky = complaint_on_x(200_000);
        bsky.network = Network::Mastodon;
        assert!(c.matches(&bsky).is_none());
    }

    #[test]
    fn unknown_clause_is_refused_when_loading() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Rule {
            when: Condition,
        }
        let err = toml::from_str::<Rule>(r#"when = { intnet = ["complaint"] }"#);
        assert!(err.is_err());
        let err = toml::from_str::<Rule>(r#"when = { intent = ["moan"] }"#);
        assert!(err.is_err());
    }

    #[test]
    fn empty_condition_matches_everything() {
        let c = when("when = {}");
        assert!(c.is_always());
        assert_eq!(c.matches(&Facts::default()), Some(Why::default()));
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        assert!(contains_word("Please REFUND me", "refund"));
        assert!(contains_word("refund!", "refund"));
        assert!(!contains_word("I was refunded", "refund"));
        assert!(contains_word("the seat won't move back", "move back"));
        assert!(contains_word("Kører bilen på strøm? strøm!", "strøm"));
        assert!(!contains_word("anything", ""));
        // A repeated prefix must not hide a later whole-word hit.
        assert!(contains_word("refunds refund", "refund"));
    }

    #[test]
    fn any_not_band_and_language_clauses() {
        let c = when(
            r#"when = { band_at_least = "high", language = ["da", "pt"], not = { labels = ["vip"] }, any = [{ sentiment = ["negative"] }, { keywords = ["urgent"] }] }"#,
        );
        let mut f = Facts {
            band: PriorityBand::Urgent,
            language: "pt-BR".into(),
            text: "this is urgent".into(),
            ..Facts::default()
        };
        let why = c.check(&f);
        assert!(why.is_ok(), "{why:?}");
        f.labels.push("VIP".into());
        assert!(c.check(&f).is_err_and(|n| n.0.contains("`not` failed")));
        f.labels.clear();
        f.band = PriorityBand::Normal;
        assert_eq!(c.check(&f), Err(WhyNot("band normal is below high".into())));
        f.band = PriorityBand::High;
        f.text = "fine".into();
        assert!(c
            .check(&f)
            .is_err_and(|n| n.0.starts_with("none of `any` held")));
    }

    #[test]
    fn validation_refuses_nonsense() {
        assert_eq!(
            when("when = { score_at_least = 140.0 }").validate(),
            Err(ConditionError::Score(140.0))
        );
        assert_eq!(
            when(r#"when = { keywords = [" "] }"#).validate(),
            Err(ConditionError::EmptyWord)
        );
        assert!(when(r#"when = { keywords = ["refund"] }"#)
            .validate()
            .is_ok());
    }

    proptest::proptest! {
        #[test]
        fn serialised_conditions_read_back_the_same(
            followers in proptest::option::of(0u64..10_000_000),
            words in proptest::collection::vec("[a-z]{1,8}", 0..3),
            bh in proptest::option::of(proptest::bool::ANY),
        ) {
            let c = Condition {
                intent: vec![Intent::Complaint, Intent::Question],
                followers_at_least: followers,
                keywords: words,
                business_hours: bh,
                not: Some(Box::new(Condition { spike: Some(true), ..Condition::default() })),
                ..Condition::default()
            };
            let text = toml::to_string(&c).unwrap_or_else(|e| panic!("{e}"));
            let back: Condition = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            proptest::prop_assert_eq!(back, c);
        }

        #[test]
        fn keyword_search_never_panics(text in "\\PC{0,40}", word in "\\PC{0,6}") {
            let _ = contains_word(&text, &word);
        }
    }
}
