//! Brand terms and response targets an admin edits on the web Settings page.
//!
//! They are stored (keys [`BRAND`] and [`RESPONSE`], see `PeopleStore::set_setting`) and win
//! over `earshot.toml`: [`apply_stored`] lays them over the file's values at start, and a save
//! swaps them into the running pipeline (`Pipeline::reconfigure`), so new posts are matched
//! and timed by them at once. Network connectors that filter at the network (Bluesky keyword
//! filters, X rules) keep the terms they started with until the next start.
//!
//! The file's `[brand]` section is replaced whole by a stored `brand`; a stored `response`
//! replaces the clock, time zone, hours, holidays and targets (`merge_window_hours` and
//! `ranking` stay the file's). Clearing a stored setting brings the file's values back.

use crate::config::{BrandSettings, ConfigError, ResponseSettings, Settings};
use chrono::{DateTime, Utc};
use earshot_core::sla::{BusinessHours, ResponseTargets};
use earshot_core::threading::TriagePolicy;
use earshot_store::people::StoredSetting;
use earshot_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Key of the stored `[brand]` section ([`BrandSettings`] as JSON).
pub const BRAND: &str = "brand";
/// Key of the stored response targets and hours ([`ResponseEdit`] as JSON).
pub const RESPONSE: &str = "response";

/// Most handles, names and keywords (each list) an admin may store.
pub const TERMS_MAX: usize = 1_000;
/// Longest handle, name or keyword, in characters.
pub const TERM_MAX_CHARS: usize = 100;
/// Longest response target: a week.
pub const TARGET_MAX_MINUTES: u32 = 10_080;

/// The part of `[response]` an admin edits: everything but the merge window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseEdit {
    pub clock: String,
    pub timezone: String,
    #[serde(default)]
    pub hours: BTreeMap<String, String>,
    #[serde(default)]
    pub holidays: Vec<String>,
    pub targets: ResponseTargets,
}

impl ResponseEdit {
    pub fn of(r: &ResponseSettings) -> Self {
        ResponseEdit {
            clock: r.clock.clone(),
            timezone: r.timezone.clone(),
            hours: r.hours.clone(),
            holidays: r.holidays.clone(),
            targets: r.targets,
        }
    }

    /// `base` with this edit laid over it.
    pub fn over(&self, base: &ResponseSettings) -> ResponseSettings {
        ResponseSettings {
            clock: self.clock.clone(),
            timezone: self.timezone.clone(),
            hours: self.hours.clone(),
            holidays: self.holidays.clone(),
            targets: self.targets,
            merge_window_hours: base.merge_window_hours,
            ranking: base.ranking.clone(),
        }
    }
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// One list of terms tidied: trimmed, blanks and repeats (any case) dropped, bounded.
fn tidy_terms(key: &str, what: &str, items: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() || out.iter().any(|o| o.to_lowercase() == item.to_lowercase()) {
            continue;
        }
        if item.chars().count() > TERM_MAX_CHARS {
            return Err(invalid(
                key,
                format!("{what} {item:?} is longer than {TERM_MAX_CHARS} characters"),
            ));
        }
        if item.chars().any(char::is_control) {
            return Err(invalid(
                key,
                format!("{what} {item:?} holds a control character"),
            ));
        }
        out.push(item.to_string());
    }
    if out.len() > TERMS_MAX {
        return Err(invalid(
            key,
            format!("at most {TERMS_MAX} {what}s, not {}", out.len()),
        ));
    }
    Ok(out)
}

/// Checks and tidies brand terms: handles lose their `@` and may not be empty or hold spaces;
/// every list drops blanks and repeats and holds at most [`TERMS_MAX`] entries of at most
/// [`TERM_MAX_CHARS`] characters.
pub fn check_brand(brand: &BrandSettings) -> Result<BrandSettings, ConfigError> {
    let mut handles = Vec::with_capacity(brand.handles.len());
    for h in &brand.handles {
        let trimmed = h.trim();
        if trimmed.is_empty() {
            continue;
        }
        let bare = trimmed.trim_start_matches('@').trim();
        if bare.is_empty() {
            return Err(invalid(
                "brand.handles",
                format!("handle {trimmed:?} is empty: write the account name, e.g. acme"),
            ));
        }
        if bare.chars().any(char::is_whitespace) {
            return Err(invalid(
                "brand.handles",
                format!("handle {bare:?} holds a space: one handle a line"),
            ));
        }
        handles.push(bare.to_string());
    }
    Ok(BrandSettings {
        handles: tidy_terms("brand.handles", "handle", &handles)?,
        names: tidy_terms("brand.names", "name", &brand.names)?,
        keywords: tidy_terms("brand.keywords", "keyword", &brand.keywords)?,
        language: brand.language.clone(),
    })
}

/// Checks response settings as `earshot config check` does for `[response]`, and more
/// strictly: the time zone must be known whatever the clock, targets lie in
/// 1..=[`TARGET_MAX_MINUTES`], and hours must parse even on the calendar clock.
pub fn check_response(response: &ResponseSettings) -> Result<TriagePolicy, ConfigError> {
    if response.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid(
            "response.timezone",
            format!(
                "unknown time zone {:?}: use an IANA name such as Europe/Copenhagen or UTC",
                response.timezone
            ),
        ));
    }
    let t = &response.targets;
    for (band, minutes) in [
        ("urgent", t.urgent_minutes),
        ("high", t.high_minutes),
        ("normal", t.normal_minutes),
        ("low", t.low_minutes),
    ] {
        if !(1..=TARGET_MAX_MINUTES).contains(&minutes) {
            return Err(invalid(
                &format!("response.targets.{band}_minutes"),
                format!(
                    "{minutes} minutes: a target is 1 to {TARGET_MAX_MINUTES} minutes (a week)"
                ),
            ));
        }
    }
    if !response.hours.is_empty() {
        let days: Vec<(&str, &str)> = response
            .hours
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        BusinessHours::parse(&response.timezone, &days, &[])
            .map_err(|e| invalid("response.hours", e.to_string()))?;
    }
    policy_of(response)
}

/// The policy the response settings make, checked only as far as `earshot config check`
/// checks a file: what the pipeline runs on, whether the values came from the file or the web.
pub fn policy_of(response: &ResponseSettings) -> Result<TriagePolicy, ConfigError> {
    response.triage_policy()
}

/// A stored setting laid over the file: which, by whom, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub key: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Why a stored setting could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored {key} setting (from the web Settings page) is not usable: {message}")]
    Unusable { key: String, message: String },
}

/// Lays one stored setting over `settings`; unknown keys are left alone.
fn lay_over(settings: &mut Settings, stored: &StoredSetting) -> Result<bool, OverrideError> {
    let unusable = |message: String| OverrideError::Unusable {
        key: stored.key.clone(),
        message,
    };
    match stored.key.as_str() {
        BRAND => {
            let brand: BrandSettings = serde_json::from_value(stored.value.clone())
                .map_err(|e| unusable(e.to_string()))?;
            settings.brand = check_brand(&brand).map_err(|e| unusable(e.to_string()))?;
            Ok(true)
        }
        RESPONSE => {
            let edit: ResponseEdit = serde_json::from_value(stored.value.clone())
                .map_err(|e| unusable(e.to_string()))?;
            let response = edit.over(&settings.response);
            check_response(&response).map_err(|e| unusable(e.to_string()))?;
            settings.response = response;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Lays the stored brand and response settings over `settings` (web edits win over the
/// file). A stored setting that no longer checks out (a time zone gone from a newer tz
/// database) is skipped with a warning, so the server still starts on the file's values.
pub async fn apply_stored(
    store: &dyn Store,
    settings: &mut Settings,
) -> Result<Vec<Applied>, StoreError> {
    let mut applied = Vec::new();
    for stored in store.settings().await? {
        match lay_over(settings, &stored) {
            Ok(true) => applied.push(Applied {
                key: stored.key.clone(),
                updated_by: stored.updated_by.clone(),
                updated_at: stored.updated_at,
            }),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(key = %stored.key, error = %e, "ignoring a stored setting");
            }
        }
    }
    Ok(applied)
}

/// For `earshot config check`: one line per stored setting that wins over the file, and
/// one per stored setting that cannot be used. Opens the store only if it exists (a SQLite
/// file that is not there yet holds no settings).
pub async fn describe_stored(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let url = settings.db_url();
    let is_file = !earshot_store::is_postgres(&url);
    if is_file && !std::path::Path::new(&url).exists() {
        return Ok(vec![]);
    }
    let store = settings.store.open(&url).await?;
    let mut lines = Vec::new();
    let mut scratch = settings.clone();
    for stored in store.settings().await? {
        let section = match stored.key.as_str() {
            BRAND => "[brand]",
            RESPONSE => "[response] (all but merge_window_hours and ranking)",
            _ => continue,
        };
        match lay_over(&mut scratch, &stored) {
            Ok(_) => lines.push(format!(
                "note: {section} is overridden by a setting stored from the web Settings page \
                 by {} at {}; it wins over this file until cleared there",
                stored.updated_by,
                stored.updated_at.format("%Y-%m-%d %H:%M UTC")
            )),
            Err(e) => lines.push(format!("warning: {e}; the file's {section} applies")),
        }
    }
    Ok(lines)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn brand(handles: &[&str], keywords: &[&str]) -> BrandSettings {
        BrandSettings {
            handles: handles.iter().map(|s| s.to_string()).collect(),
            names: vec![],
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
            language: None,
        }
    }

    #[test]
    fn brand_terms_are_tidied_and_bounded() {
        let b = check_brand(&brand(
            &[" @Acme ", "", "acme", "acme_help"],
            &["Voltra", "voltra"],
        ))
        .unwrap();
        assert_eq!(b.handles, vec!["Acme", "acme_help"]);
        assert_eq!(b.keywords, vec!["Voltra"]);
        let err = check_brand(&brand(&["@"], &[])).unwrap_err().to_string();
        assert!(
            err.contains("brand.handles") && err.contains("empty"),
            "{err}"
        );
        let err = check_brand(&brand(&["acme help"], &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("space"), "{err}");
        let long = "k".repeat(TERM_MAX_CHARS + 1);
        let err = check_brand(&brand(&[], &[&long])).unwrap_err().to_string();
        assert!(
            err.contains("brand.keywords") && err.contains("longer"),
            "{err}"
        );
        let many: Vec<String> = (0..=TERMS_MAX).map(|i| format!("kw{i}")).collect();
        let err = check_brand(&BrandSettings {
            keywords: many,
            ..BrandSettings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("at most 1000 keywords"), "{err}");
    }

    #[test]
    fn response_settings_are_checked_like_the_file() {
        let ok = ResponseSettings {
            clock: "business".into(),
            timezone: "Europe/Copenhagen".into(),
            hours: [("mon-fri".to_string(), "09:00-17:00".to_string())].into(),
            ..ResponseSettings::default()
        };
        assert!(check_response(&ok).is_ok());
        let bad_zone = ResponseSettings {
            clock: "calendar".into(),
            timezone: "Mars/Olympus".into(),
            ..ResponseSettings::default()
        };
        let err = check_response(&bad_zone).unwrap_err().to_string();
        assert!(err.contains("unknown time zone \"Mars/Olympus\""), "{err}");
        let mut zero = ok.clone();
        zero.targets.urgent_minutes = 0;
        let err = check_response(&zero).unwrap_err().to_string();
        assert!(err.contains("response.targets.urgent_minutes"), "{err}");
        let mut too_long = ok.clone();
        too_long.targets.low_minutes = TARGET_MAX_MINUTES + 1;
        assert!(check_response(&too_long).is_err());
        let mut bad_hours = ok.clone();
        bad_hours.hours = [("mon-fri".to_string(), "9 to 5".to_string())].into();
        let err = check_response(&bad_hours).unwrap_err().to_string();
        assert!(err.contains("response.hours"), "{err}");
        let mut bad_day = ok.clone();
        bad_day.clock = "calendar".into();
        bad_day.hours = [("someday".to_string(), "09:00-17:00".to_string())].into();
        assert!(check_response(&bad_day).is_err());
        let mut no_hours = ok;
        no_hours.hours.clear();
        let err = check_response(&no_hours).unwrap_err().to_string();
        assert!(err.contains("needs covered hours"), "{err}");
    }

    #[test]
    fn a_response_edit_keeps_the_files_merge_window() {
        let file = ResponseSettings {
            merge_window_hours: 6,
            ..ResponseSettings::default()
        };
        let mut edited = file.clone();
        edited.timezone = "Europe/Rome".into();
        edited.merge_window_hours = 48;
        let laid = ResponseEdit::of(&edited).over(&file);
        assert_eq!(laid.timezone, "Europe/Rome");
        assert_eq!(laid.merge_window_hours, 6);
    }
}
