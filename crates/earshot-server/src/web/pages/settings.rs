//! Settings, for admins: the brand and its keywords, response targets and business hours,
//! the connectors and their health, and the team: people, roles and API tokens (a new token
//! is shown once, here, and can be revoked).
//!
//! Brand, targets, hours and connectors come from the configuration file; the page shows
//! them and names the setting to change, so what runs is always what the file says.

use crate::api::AppState;
use crate::web::auth::{self, SignedIn};
use crate::web::layout::{self, Nav};
use crate::web::{csrf, require_admin, PageError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use earshot_connect::Secret;
use earshot_store::people::{ApiToken, Role, User};
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
    let store = state.desk.store();
    let (users, tokens) = tokio::try_join!(store.users(), store.api_tokens())?;
    let s = &state.settings;
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
            section.card aria-labelledby="brand-title" {
                h2 #brand-title { "Brand" }
                dl.facts {
                    dt { "Handles" } dd { (list(&s.brand.handles)) }
                    dt { "Names" } dd { (list(&s.brand.names)) }
                    dt { "Keywords" } dd { (list(&s.brand.keywords)) }
                }
                p.muted.small { "Change these in earshot.toml under " code { "[brand]" } " (or " code { "EARSHOT__BRAND__KEYWORDS" } ") and restart." }
            }
            section.card aria-labelledby="targets-title" {
                h2 #targets-title { "Response targets and hours" }
                dl.facts {
                    dt { "Urgent" } dd { (layout::duration(i64::from(s.response.targets.urgent_minutes) * 60)) }
                    dt { "High" } dd { (layout::duration(i64::from(s.response.targets.high_minutes) * 60)) }
                    dt { "Normal" } dd { (layout::duration(i64::from(s.response.targets.normal_minutes) * 60)) }
                    dt { "Low" } dd { (layout::duration(i64::from(s.response.targets.low_minutes) * 60)) }
                    dt { "Clock" } dd { (s.response.clock) @if s.response.clock == "business" { " hours only" } @else { ": every minute counts" } }
                    dt { "Time zone" } dd { (s.response.timezone) }
                    dt { "Hours" } dd {
                        @if s.response.hours.is_empty() { "around the clock" }
                        @for (days, hours) in &s.response.hours { (days) " " (hours) br; }
                    }
                    dt { "Holidays" } dd { (list(&s.response.holidays)) }
                }
                p.muted.small { "Change these in earshot.toml under " code { "[response]" } " and restart." }
            }
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
                                    td { (layout::badge("conn", &state_name, &state_name.replace('_', " "))) @if let Some(e) = &h.last_error { br; span.muted.small { (e) } } }
                                    td { @match h.last_event_at { Some(t) => { (layout::time(t)) }, None => { "—" } } }
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

fn list(items: &[String]) -> Markup {
    html! {
        @if items.is_empty() { span.muted { "none" } }
        @else { (items.join(", ")) }
    }
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
    match auth::create_user(
        state.desk.store(),
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
    let store = state.desk.store();
    let result = match f.change.as_str() {
        "role" => {
            let role: Role = f.role.as_deref().unwrap_or("").parse().map_err(
                |e: earshot_store::people::UnknownRole| PageError::BadRequest(e.to_string()),
            )?;
            store.set_role(id, role).await
        }
        "disable" => store.set_disabled(id, true, Utc::now()).await,
        "enable" => store.set_disabled(id, false, Utc::now()).await,
        other => return Err(PageError::BadRequest(format!("unknown change {other:?}"))),
    };
    match result {
        Ok(u) => {
            tracing::info!(admin = %signed.user.username, user = %u.username, change = %f.change, "user changed");
            Ok(Redirect::to("/settings").into_response())
        }
        Err(earshot_store::StoreError::Conflict(m)) => {
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
        Err(e) => Err(e.into()),
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
    let store = state.desk.store();
    let user = store
        .user(f.user_id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("user {}", f.user_id)))?;
    if f.name.trim().is_empty() {
        return render(
            &state,
            &signed,
            Some(Notice {
                kind: "error",
                text: "Name the token after what will use it.".into(),
                token: None,
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let scopes = match auth::parse_scopes(&f.scope.join(","), user.role) {
        Ok(s) => s,
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
    let (token, stored) = auth::create_api_token(store, &user, &f.name, scopes)
        .await
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    tracing::info!(admin = %signed.user.username, token = %stored.prefix, user = %user.username, "API token created");
    render(
        &state,
        &signed,
        Some(Notice {
            kind: "ok",
            text: format!("Token {:?} created for {}.", stored.name, user.username),
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
    let t = state.desk.store().revoke_api_token(id, Utc::now()).await?;
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
