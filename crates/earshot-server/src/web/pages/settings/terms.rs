//! The brand and response-targets cards: their forms, read back from a post and checked, and
//! their saves (stored over the file, swapped into the running pipeline at once).

use super::{error_notice, in_force, provenance, render, render_with, Drafts, Notice};
use crate::config::{BrandSettings, ResponseSettings};
use crate::overrides::{self, ResponseEdit};
use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::csrf::Posted;
use crate::web::layout;
use crate::web::{require_admin, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use earshot_store::people::StoredSetting;
use maud::{html, Markup};
use serde::Deserialize;

pub(super) fn brand_card(
    signed: &SignedIn,
    f: &BrandForm,
    stored: Option<&StoredSetting>,
) -> Markup {
    html! {
        section.card aria-labelledby="brand-title" {
            h2 #brand-title { "Brand" }
            form.stack method="post" action="/settings/brand" {
                (layout::csrf_field(signed))
                label for="brand-handles" { "Handles (the brand's own accounts, one a line, without @)" }
                textarea #brand-handles name="handles" rows="3" { (f.handles) }
                label for="brand-names" { "Names people write for the brand (one a line)" }
                textarea #brand-names name="names" rows="3" { (f.names) }
                label for="brand-keywords" { "Keywords: products and topics worth flagging (one a line, at most " (overrides::TERMS_MAX) ")" }
                textarea #brand-keywords name="keywords" rows="5" { (f.keywords) }
                button.primary type="submit" name="action" value="save" { "Save brand" }
                @if stored.is_some() {
                    " " button type="submit" name="action" value="reset" { "Use earshot.toml values" }
                }
            }
            (provenance(stored, "[brand]"))
            p.muted.small { "New posts are matched at once. Connectors that filter at the network (Bluesky keyword filters, X rules) keep the terms they started with until earshot restarts." }
        }
    }
}

pub(super) fn response_card(
    signed: &SignedIn,
    f: &ResponseForm,
    stored: Option<&StoredSetting>,
) -> Markup {
    let target = |id: &str, label: &str, value: &str| {
        html! {
            div {
                label for=(format!("target-{id}")) { (label) " (minutes)" }
                input id=(format!("target-{id}")) name=(id) type="number" min="1" max=(overrides::TARGET_MAX_MINUTES) required value=(value);
            }
        }
    };
    html! {
        section.card aria-labelledby="targets-title" {
            h2 #targets-title { "Response targets and hours" }
            form.stack method="post" action="/settings/response" {
                (layout::csrf_field(signed))
                fieldset.inline-form {
                    legend { "First-response targets" }
                    (target("urgent", "Urgent", &f.urgent))
                    (target("high", "High", &f.high))
                    (target("normal", "Normal", &f.normal))
                    (target("low", "Low", &f.low))
                }
                label for="resp-clock" { "Clock" }
                select #resp-clock name="clock" {
                    option value="calendar" selected[f.clock == "calendar"] { "calendar: every minute counts" }
                    option value="business" selected[f.clock == "business"] { "business: covered hours only" }
                }
                label for="resp-timezone" { "Time zone of the team's hours (IANA name, e.g. Europe/Copenhagen)" }
                input #resp-timezone name="timezone" type="text" required maxlength="64" value=(f.timezone);
                label for="resp-hours" { "Covered hours, one line a day or range of days: " code { "mon-fri = 09:00-17:00" } }
                textarea #resp-hours name="hours" rows="3" { (f.hours) }
                label for="resp-holidays" { "Holidays without coverage, one date a line (YYYY-MM-DD)" }
                textarea #resp-holidays name="holidays" rows="2" { (f.holidays) }
                button.primary type="submit" name="action" value="save" { "Save targets and hours" }
                @if stored.is_some() {
                    " " button type="submit" name="action" value="reset" { "Use earshot.toml values" }
                }
            }
            (provenance(stored, "[response]"))
            p.muted.small { "New posts and the next re-ranking use these at once. With a " code { "[triage]" } " section, its policies and team clocks are compiled at start and change on the next restart." }
        }
    }
}

/// The brand card's fields as typed: one entry a line.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BrandForm {
    #[serde(default)]
    handles: String,
    #[serde(default)]
    names: String,
    #[serde(default)]
    keywords: String,
    /// `save` or `reset` (back to the file's values).
    #[serde(default)]
    action: String,
}

impl BrandForm {
    pub(super) fn of(b: &BrandSettings) -> Self {
        BrandForm {
            handles: b.handles.join("\n"),
            names: b.names.join("\n"),
            keywords: b.keywords.join("\n"),
            ..BrandForm::default()
        }
    }

    fn brand(&self) -> BrandSettings {
        BrandSettings {
            handles: lines(&self.handles),
            names: lines(&self.names),
            keywords: lines(&self.keywords),
            language: None,
        }
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The response card's fields as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseForm {
    #[serde(default)]
    urgent: String,
    #[serde(default)]
    high: String,
    #[serde(default)]
    normal: String,
    #[serde(default)]
    low: String,
    #[serde(default)]
    clock: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    holidays: String,
    #[serde(default)]
    action: String,
}

impl ResponseForm {
    pub(super) fn of(r: &ResponseSettings) -> Self {
        ResponseForm {
            urgent: r.targets.urgent_minutes.to_string(),
            high: r.targets.high_minutes.to_string(),
            normal: r.targets.normal_minutes.to_string(),
            low: r.targets.low_minutes.to_string(),
            clock: r.clock.clone(),
            timezone: r.timezone.clone(),
            hours: r
                .hours
                .iter()
                .map(|(days, hours)| format!("{days} = {hours}"))
                .collect::<Vec<_>>()
                .join("\n"),
            holidays: r.holidays.join("\n"),
            ..ResponseForm::default()
        }
    }

    /// The settings typed, over `base` (which lends its merge window); a field that is not
    /// even the right kind of thing is named in the error.
    fn response(&self, base: &ResponseSettings) -> Result<ResponseSettings, String> {
        let minutes = |band: &str, v: &str| -> Result<u32, String> {
            v.trim().parse::<u32>().map_err(|_| {
                format!(
                    "{band} target {v:?}: write whole minutes, 1 to {}",
                    overrides::TARGET_MAX_MINUTES
                )
            })
        };
        let mut hours = std::collections::BTreeMap::new();
        for line in self.hours.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (days, range) = line
                .split_once('=')
                .or_else(|| line.split_once(char::is_whitespace))
                .ok_or_else(|| {
                    format!("hours line {line:?}: write days = hours, e.g. mon-fri = 09:00-17:00")
                })?;
            let days = days.trim().to_ascii_lowercase();
            if hours
                .insert(days.clone(), range.trim().to_string())
                .is_some()
            {
                return Err(format!("hours: {days} is given twice"));
            }
        }
        let edit = ResponseEdit {
            clock: self.clock.trim().to_string(),
            timezone: self.timezone.trim().to_string(),
            hours,
            holidays: self
                .holidays
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            targets: earshot_core::sla::ResponseTargets {
                urgent_minutes: minutes("urgent", &self.urgent)?,
                high_minutes: minutes("high", &self.high)?,
                normal_minutes: minutes("normal", &self.normal)?,
                low_minutes: minutes("low", &self.low)?,
            },
        };
        Ok(edit.over(base))
    }
}

/// One save at a time: each reads the other card's values in force before swapping both.
static SAVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn save_brand(
    State(state): State<AppState>,
    Posted(signed, f): Posted<BrandForm>,
) -> Result<Response, PageError> {
    require_admin(&signed)?;
    let store = state.desk.store();
    let by = signed.user.username.as_str();
    let _saving = SAVING.lock().await;
    let (brand_now, response) = in_force(&state);
    let (brand, text) = if f.action == "reset" {
        store
            .clear_setting(overrides::BRAND, by, Utc::now())
            .await?;
        (
            state.settings.brand.clone(),
            "The brand terms are earshot.toml's again.".to_string(),
        )
    } else {
        // The page edits terms only; the team's language stays what is in force.
        let typed = BrandSettings {
            language: brand_now.language.clone(),
            ..f.brand()
        };
        let brand = match overrides::check_brand(&typed) {
            Ok(b) => b,
            Err(e) => {
                let drafts = Drafts {
                    brand: Some(f),
                    response: None,
                };
                return render_with(
                    &state,
                    &signed,
                    error_notice(e.to_string()),
                    drafts,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        };
        let value = serde_json::to_value(&brand)
            .map_err(|e| PageError::BadRequest(format!("the brand cannot be stored: {e}")))?;
        store
            .set_setting(overrides::BRAND, &value, by, Utc::now())
            .await?;
        (
            brand,
            "Brand saved: new posts are matched against these terms now.".to_string(),
        )
    };
    state
        .desk
        .pipeline()
        .reconfigure(&brand, &response)
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    tracing::info!(admin = %by, handles = brand.handles.len(), keywords = brand.keywords.len(), action = %f.action, "brand settings changed");
    render(
        &state,
        &signed,
        Some(Notice {
            kind: "ok",
            text,
            token: None,
        }),
        StatusCode::OK,
    )
    .await
}

pub async fn save_response(
    State(state): State<AppState>,
    Posted(signed, f): Posted<ResponseForm>,
) -> Result<Response, PageError> {
    require_admin(&signed)?;
    let store = state.desk.store();
    let by = signed.user.username.as_str();
    let _saving = SAVING.lock().await;
    let (brand, current) = in_force(&state);
    let (response, text) = if f.action == "reset" {
        store
            .clear_setting(overrides::RESPONSE, by, Utc::now())
            .await?;
        (
            state.settings.response.clone(),
            "Response targets and hours are earshot.toml's again.".to_string(),
        )
    } else {
        let checked = f.response(&current).and_then(|r| {
            overrides::check_response(&r)
                .map(|_| r)
                .map_err(|e| e.to_string())
        });
        let response = match checked {
            Ok(r) => r,
            Err(e) => {
                let drafts = Drafts {
                    brand: None,
                    response: Some(f),
                };
                return render_with(
                    &state,
                    &signed,
                    error_notice(e),
                    drafts,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        };
        let value = serde_json::to_value(ResponseEdit::of(&response))
            .map_err(|e| PageError::BadRequest(format!("the targets cannot be stored: {e}")))?;
        store
            .set_setting(overrides::RESPONSE, &value, by, Utc::now())
            .await?;
        (
            response,
            "Targets and hours saved: new posts are timed by them now.".to_string(),
        )
    };
    state
        .desk
        .pipeline()
        .reconfigure(&brand, &response)
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    tracing::info!(admin = %by, clock = %response.clock, timezone = %response.timezone, action = %f.action, "response settings changed");
    render(
        &state,
        &signed,
        Some(Notice {
            kind: "ok",
            text,
            token: None,
        }),
        StatusCode::OK,
    )
    .await
}
