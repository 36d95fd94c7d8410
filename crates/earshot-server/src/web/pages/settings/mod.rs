//! Settings, for admins: the brand and its keywords, response targets and business hours,
//! the connectors and their health, and the team: people, roles and API tokens (a new token
//! is shown once, here, and can be revoked).
//!
//! Brand terms, response targets and hours start from the configuration file; an admin may
//! change them here. A change is stored (it wins over the file, at once and after restarts;
//! see [`crate::overrides`]) and swapped into the running pipeline, so the next post is
//! matched and timed by it. Connectors come from the file; the page shows their health.

use crate::config::{BrandSettings, ResponseSettings};
use crate::overrides;
use crate::state::AppState;
use crate::web::auth::{self, SignedIn};
use crate::web::layout::{self, Nav};
use crate::web::{require_admin, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use earshot_core::Secret;
use earshot_store::people::{Role, StoredSetting};
use maud::{html, Markup};

mod team;
mod terms;

pub use team::{
    change_user, create_token, create_user, revoke_token, ChangeUserForm, NewTokenForm, NewUserForm,
};
use team::{role_select, token_row, user_row};
use terms::{brand_card, response_card};
pub use terms::{save_brand, save_response, BrandForm, ResponseForm};

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

fn error_notice(text: String) -> Option<Notice<'static>> {
    Some(Notice {
        kind: "error",
        text,
        token: None,
    })
}
