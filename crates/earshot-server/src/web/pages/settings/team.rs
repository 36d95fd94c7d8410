//! The team card: people and their roles, API tokens (a new one shown once) and revoking them.

use super::{render, Notice};
use crate::desk::people::UserRef;
use crate::state::AppState;
use crate::web::auth::{self, SignedIn};
use crate::web::csrf::{NoFields, Posted};
use crate::web::layout;
use crate::web::{csrf, require_admin, PageError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use earshot_core::Secret;
use earshot_store::people::{ApiToken, Role, User};
use maud::{html, Markup};
use serde::Deserialize;

pub(super) fn role_select(id: &str, selected: Role) -> Markup {
    html! {
        select id=(id) name="role" {
            @for r in Role::ALL { option value=(r.as_str()) selected[r == selected] { (r.as_str()) } }
        }
    }
}

pub(super) fn user_row(signed: &SignedIn, u: &User) -> Markup {
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

pub(super) fn token_row(signed: &SignedIn, t: &ApiToken) -> Markup {
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
    username: String,
    display_name: Option<String>,
    role: String,
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    Posted(signed, f): Posted<NewUserForm>,
) -> Result<Response, PageError> {
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
    change: String,
    role: Option<String>,
}

pub async fn change_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(signed, f): Posted<ChangeUserForm>,
) -> Result<Response, PageError> {
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

pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(signed, _): Posted<NoFields>,
) -> Result<Response, PageError> {
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
