//! Settings, for admins: the brand and its keywords, response targets and business hours,
//! the connectors and their health, and the team: people, roles and API tokens (a new token
//! is shown once, here, and can be revoked).
//!
//! Brand terms, response targets and hours start from the configuration file; an admin may
//! change them here. A change is stored (it wins over the file, at once and after restarts;
//! see [`crate::overrides`]) and swapped into the running pipeline, so the next post is
//! matched and timed by it. Connectors come from the file; the page shows their health.

use crate::config::{BrandSettings, ResponseSettings};
use crate::desk::people::UserRef;
use crate::overrides::{self, ResponseEdit};
use crate::state::AppState;
use crate::web::auth::{self, SignedIn};
use crate::web::layout::{self, Nav};
use crate::web::{csrf, require_admin, PageError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use earshot_connect::Secret;
use earshot_store::people::{ApiToken, Role, StoredSetting, User};
use maud::{html, Markup};
use serde::Deserialize;

struct Notice<'a> {
    kind: &'a str,
    text: String,
    /// A token just created: shown this once.
    token: Option<Secret>,
}

pub async fn page(State(state): State<AppState>, signed: SignedIn) -> Result<Response, PageError> {
    require_admin(&signed)?;
    render(&state, &signed, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    signed: &SignedIn,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Result<Response, PageError> {
    render_with(state, signed, notice, Drafts::default(), status).await
}

/// Forms sent back with a mistake in them, shown again as typed.
#[derive(Default)]
struct Drafts {
    brand: Option<BrandForm>,
    response: Option<ResponseForm>,
}

/// The brand and response settings in force: the pipeline's after an edit, else the file's.
fn in_force(state: &AppState) -> (BrandSettings, ResponseSettings) {
    match state.desk.pipeline().in_force() {
        Some(f) => (f.brand.clone(), f.response.clone()),
        None => (
            state.settings.brand.clone(),
            state.settings.response.clone(),
        ),
    }
}

async fn render_with(
    state: &AppState,
    signed: &SignedIn,
    notice: Option<Notice<'_>>,
    drafts: Drafts,
    status: StatusCode,
) -> Result<Response, PageError> {
    let store = state.desk.store();
    let (users, tokens, stored) =
        tokio::try_join!(store.users(), store.api_tokens(), store.settings())?;
    let (brand, response) = in_force(state);
    let stored_brand = stored.iter().find(|s| s.key == overrides::BRAND);
    let stored_response = stored.iter().find(|s| s.key == overrides::RESPONSE);
    let brand_form = drafts.brand.unwrap_or_else(|| BrandForm::of(&brand));
    let response_form = drafts
        .response
        .unwrap_or_else(|| ResponseForm::of(&response));
    let health = crate::connectors::reports(&state.connector_health);
    let body = html! {
        h1 { "Settings" }
        @if let Some(n) = &notice {
            (layout::flash(n.kind, &n.text))
            @if let Some(t) = &n.token {
                div.token-once role="alert" {
                    label for="new-token" { "The new token (copy it now: it is not shown again)" }
                    input #new-token type="text" readonly value=(t.expose());
                }
            }
        }
        div.settings-grid {
            (brand_card(signed, &brand_form, stored_brand))
            (response_card(signed, &response_form, stored_response))
            section.card aria-labelledby="conn-title" {
                h2 #conn-title { "Connectors" }
                @if health.is_empty() {
                    p.muted { "No connector is configured: posts arrive through imports and the signed " code { "POST /api/v1/posts" } "." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Connector" } th scope="col" { "State" } th scope="col" { "Last event" } th scope="col" { "Events" } th scope="col" { "Errors" } } }
                        tbody {
                            @for h in &health {
                                @let state_name = serde_json::to_value(h.state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                                tr {
                                    th scope="row" { (h.name) }
                                    td { (layout::badge("conn", &state_name, &state_name.replace('_', " "))) @if let Some(e) = &h.last_error { br; span.muted.small { (e) } } @if let Some(n) = &h.note { br; span.small { (n) } } }
                                    td { @match h.last_event_at { Some(t) => { (layout::time(t)) }, None => { "—" } } @if let Some(p) = h.last_poll_at { br; span.muted.small { "polled " (layout::time(p)) } } }
                                    td { (h.events_total) } td { (h.errors_total) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="users-title" {
            h2 #users-title { "People" }
            table.people {
                thead { tr { th scope="col" { "Name" } th scope="col" { "User name" } th scope="col" { "Role" } th scope="col" { "State" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody { @for u in &users { (user_row(signed, u)) } }
            }
            h3 { "Add a person" }
            form.inline-form method="post" action="/settings/users" {
                (layout::csrf_field(signed))
                div { label for="nu-name" { "User name" } input #nu-name name="username" type="text" required maxlength="64" autocomplete="off"; }
                div { label for="nu-display" { "Full name" } input #nu-display name="display_name" type="text" maxlength="100"; }
                div { label for="nu-role" { "Role" } (role_select("nu-role", Role::Agent)) }
                div { label for="nu-password" { "First password (at least " (auth::MIN_PASSWORD_CHARS) " characters)" } input #nu-password name="password" type="password" required minlength=(auth::MIN_PASSWORD_CHARS) autocomplete="new-password"; }
                button.primary type="submit" { "Add person" }
            }
        }
        section.card aria-labelledby="tokens-title" {
            h2 #tokens-title { "API tokens" }
            p.muted.small { "Tokens let scripts use the JSON API as a person: " code { "Authorization: Bearer es_…" } ". "
                "read: inbox, search, metrics; reply: answer customers; act: assign and resolve." }
            @if tokens.is_empty() { p.muted { "No tokens yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Person" } th scope="col" { "Starts with" } th scope="col" { "Scopes" } th scope="col" { "Last used" } th scope="col" { "State" } } }
                    tbody { @for t in &tokens { (token_row(signed, t)) } }
                }
            }
            h3 { "Create a token" }
            form.inline-form method="post" action="/settings/tokens" {
                (layout::csrf_field(signed))
                div { label for="nt-name" { "What it is for" } input #nt-name name="name" type="text" required maxlength="100" placeholder="e.g. nightly export"; }
                div {
                    label for="nt-user" { "Acts as" }
                    select #nt-user name="user_id" {
                        @for u in users.iter().filter(|u| u.disabled_at.is_none()) { option value=(u.id) selected[u.id == signed.user.id] { (u.username) " (" (u.role) ")" } }
                    }
                }
                fieldset {
                    legend { "Scopes" }
                    @for scope in auth::SCOPES {
                        span.check { input id=(format!("nt-{scope}")) type="checkbox" name="scope" value=(scope) checked[scope == "read"]; label for=(format!("nt-{scope}")) { (scope) } }
                    }
                }
                button.primary type="submit" { "Create token" }
            }
        }
    };
    Ok((
        status,
        layout::page("Settings", Some(signed), Nav::Settings, body),
    )
        .into_response())
}

/// Where the values in force come from: the web (who, when) or the file.
fn provenance(stored: Option<&StoredSetting>, section: &str) -> Markup {
    html! {
        p.muted.small {
            @if let Some(s) = stored {
                "Changed here by " (s.updated_by) " " (layout::time(s.updated_at))
                ": this wins over " code { (section) } " in earshot.toml."
            } @else {
                "From " code { (section) } " in earshot.toml (or " code { "EARSHOT__…" } "). Saving here stores a copy that wins over the file."
            }
        }
    }
}

fn brand_card(signed: &SignedIn, f: &BrandForm, stored: Option<&StoredSetting>) -> Markup {
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

fn response_card(signed: &SignedIn, f: &ResponseForm, stored: Option<&StoredSetting>) -> Markup {
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
    csrf: String,
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
    fn of(b: &BrandSettings) -> Self {
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
    csrf: String,
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
    fn of(r: &ResponseSettings) -> Self {
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

fn error_notice(text: String) -> Option<Notice<'static>> {
    Some(Notice {
        kind: "error",
        text,
        token: None,
    })
}

pub async fn save_brand(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Form(f): Form<BrandForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
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
    signed: SignedIn,
    headers: HeaderMap,
    Form(f): Form<ResponseForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
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

fn role_select(id: &str, selected: Role) -> Markup {
    html! {
        select id=(id) name="role" {
            @for r in Role::ALL { option value=(r.as_str()) selected[r == selected] { (r.as_str()) } }
        }
    }
}

fn user_row(signed: &SignedIn, u: &User) -> Markup {
    let form_id = format!("user-{}", u.id);
    html! {
        tr {
            td { (u.display_name) }
            td { (u.username) @if u.id == signed.user.id { " (you)" } }
            td {
                form id=(form_id) method="post" action=(format!("/settings/users/{}", u.id)) {
                    (layout::csrf_field(signed))
                    label.visually-hidden for=(format!("role-{}", u.id)) { "Role of " (u.username) }
                    (role_select(&format!("role-{}", u.id), u.role))
                    button name="change" value="role" type="submit" { "Save role" }
                }
            }
            td { @if u.disabled_at.is_some() { span.badge.b-status-resolved { "disabled" } } @else { span.badge.b-status-open { "active" } } }
            td {
                form method="post" action=(format!("/settings/users/{}", u.id)) {
                    (layout::csrf_field(signed))
                    @if u.disabled_at.is_some() { button name="change" value="enable" type="submit" { "Enable" } }
                    @else if u.id != signed.user.id { button name="change" value="disable" type="submit" { "Disable" } }
                }
            }
        }
    }
}

fn token_row(signed: &SignedIn, t: &ApiToken) -> Markup {
    html! {
        tr {
            td { (t.name) } td { (t.username) } td { code { (t.prefix) "…" } } td { (t.scopes.join(", ")) }
            td { @match t.last_used_at { Some(at) => { (layout::time(at)) }, None => { "never" } } }
            td {
                @if let Some(at) = t.revoked_at { "revoked " (layout::time(at)) }
                @else {
                    form method="post" action=(format!("/settings/tokens/{}/revoke", t.id)) {
                        (layout::csrf_field(signed))
                        button type="submit" aria-label=(format!("Revoke token {}", t.name)) { "Revoke" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    csrf: String,
    username: String,
    display_name: Option<String>,
    role: String,
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Form(f): Form<NewUserForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    require_admin(&signed)?;
    let role: Role = f
        .role
        .parse()
        .map_err(|e: earshot_store::people::UnknownRole| PageError::BadRequest(e.to_string()))?;
    let password = Secret::new(f.password);
    match state
        .desk
        .people()
        .create(
            &f.username,
            f.display_name.as_deref().unwrap_or(""),
            role,
            &password,
        )
        .await
    {
        Ok(u) => {
            tracing::info!(admin = %signed.user.username, user = %u.username, role = %u.role, "user created");
            render(
                &state,
                &signed,
                Some(Notice {
                    kind: "ok",
                    text: format!("{} can now sign in as {}.", u.display_name, u.username),
                    token: None,
                }),
                StatusCode::OK,
            )
            .await
        }
        Err(e) => {
            render(
                &state,
                &signed,
                Some(Notice {
                    kind: "error",
                    text: e.to_string(),
                    token: None,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct ChangeUserForm {
    csrf: String,
    change: String,
    role: Option<String>,
}

pub async fn change_user(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ChangeUserForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    require_admin(&signed)?;
    let people = state.desk.people();
    let result = match f.change.as_str() {
        "role" => {
            let role: Role = f.role.as_deref().unwrap_or("").parse().map_err(
                |e: earshot_store::people::UnknownRole| PageError::BadRequest(e.to_string()),
            )?;
            people.set_role(id, role).await
        }
        "disable" => people.set_disabled(id, true).await,
        "enable" => people.set_disabled(id, false).await,
        other => return Err(PageError::BadRequest(format!("unknown change {other:?}"))),
    };
    match result {
        Ok(u) => {
            tracing::info!(admin = %signed.user.username, user = %u.username, change = %f.change, "user changed");
            Ok(Redirect::to("/settings").into_response())
        }
        Err(auth::AuthError::Store(earshot_store::StoreError::Conflict(m))) => {
            render(
                &state,
                &signed,
                Some(Notice {
                    kind: "error",
                    text: m,
                    token: None,
                }),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(auth::AuthError::Store(e)) => Err(e.into()),
        Err(e) => Err(PageError::BadRequest(e.to_string())),
    }
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    csrf: String,
    name: String,
    user_id: i64,
    #[serde(default)]
    scope: Vec<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    // Repeated `scope` fields (one per ticked box) need a parser that collects them.
    let f: NewTokenForm = parse_repeated(&body)?;
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    require_admin(&signed)?;
    let people = state.desk.people();
    let (token, stored) = match people
        .create_token(UserRef::Id(f.user_id), &f.name, &f.scope.join(","))
        .await
    {
        Ok(created) => created,
        Err(auth::AuthError::Store(e)) => return Err(e.into()),
        Err(e) => {
            return render(
                &state,
                &signed,
                Some(Notice {
                    kind: "error",
                    text: e.to_string(),
                    token: None,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    tracing::info!(admin = %signed.user.username, token = %stored.prefix, user = %stored.username, "API token created");
    render(
        &state,
        &signed,
        Some(Notice {
            kind: "ok",
            text: format!("Token {:?} created for {}.", stored.name, stored.username),
            token: Some(token),
        }),
        StatusCode::OK,
    )
    .await
}

/// Parses a form body whose `scope` field may repeat.
fn parse_repeated(body: &[u8]) -> Result<NewTokenForm, PageError> {
    let mut csrf = None;
    let mut name = None;
    let mut user_id = None;
    let mut scope = vec![];
    for (k, v) in form_pairs(body) {
        match k.as_str() {
            "csrf" => csrf = Some(v),
            "name" => name = Some(v),
            "user_id" => user_id = v.parse().ok(),
            "scope" => scope.push(v),
            _ => {}
        }
    }
    match (csrf, name, user_id) {
        (Some(csrf), Some(name), Some(user_id)) => Ok(NewTokenForm {
            csrf,
            name,
            user_id,
            scope,
        }),
        _ => Err(PageError::BadRequest(
            "the form is missing a field: reload the page".into(),
        )),
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).map(|d| d as u8);
    let decode = |s: &str| -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn revoke_token(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    require_admin(&signed)?;
    let t = match state.desk.people().revoke_token(id).await {
        Ok(t) => t,
        Err(auth::AuthError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(PageError::BadRequest(e.to_string())),
    };
    tracing::info!(admin = %signed.user.username, token = %t.prefix, "API token revoked");
    Ok(Redirect::to("/settings").into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repeated_scopes_are_collected() {
        let f = parse_repeated(b"csrf=a%2Bb&name=nightly+export&user_id=3&scope=read&scope=reply")
            .unwrap();
        assert_eq!(f.csrf, "a+b");
        assert_eq!(f.name, "nightly export");
        assert_eq!(f.user_id, 3);
        assert_eq!(f.scope, vec!["read", "reply"]);
        assert!(parse_repeated(b"name=x").is_err());
        assert_eq!(
            form_pairs(b"a=%zz&b=%41"),
            vec![("a".into(), "%zz".into()), ("b".into(), "A".into())]
        );
    }
}
