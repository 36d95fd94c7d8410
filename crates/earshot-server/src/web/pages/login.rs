//! Signing in and out. Wrong name or password get the same answer; too many failures for a
//! name or from an address pause sign-ins for a while.

use crate::api::AppState;
use crate::web::auth::{self, SignedIn};
use crate::web::csrf::{self, LOGIN_COOKIE};
use crate::web::layout::{self, Nav};
use crate::web::{local_path, PageError};
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use earshot_connect::Secret;
use maud::{html, Markup};
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;

/// The client's address when the server was started with connection info (it is, by
/// `App::run_until_stopped`); `None` in tests that drive the router directly.
pub struct ClientAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

fn form_page(next: &str, token: &str, username: &str, error: Option<&str>) -> Markup {
    let body = html! {
        div.login {
            h1 { span.logo aria-hidden="true" { "◉" } " earshot" }
            p.muted { "Sign in to answer your customers." }
            @if let Some(e) = error { (layout::flash("error", e)) }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="username" { "User name" }
                input #username name="username" type="text" autocomplete="username" required autofocus value=(username);
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
            p.muted.small { "No account yet? An admin creates one in Settings, or with "
                code { "earshot admin create-user" } "." }
        }
    };
    layout::page("Sign in", None, Nav::None, body)
}

fn with_login_cookie(
    token: &str,
    headers: &HeaderMap,
    status: StatusCode,
    page: Markup,
) -> Response {
    let cookie = auth::set_cookie(LOGIN_COOKIE, token, 3600, "/login", auth::over_tls(headers));
    (status, [(header::SET_COOKIE, cookie)], page).into_response()
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    // Already signed in: straight on.
    if let Some(token) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        if let Ok(Some(_)) = state
            .desk
            .store()
            .session(&auth::token_hash(token), Utc::now())
            .await
        {
            return Redirect::to(&local_path(q.next.as_deref())).into_response();
        }
    }
    let token = auth::random_token(24);
    let next = local_path(q.next.as_deref());
    with_login_cookie(
        &token,
        &headers,
        StatusCode::OK,
        form_page(&next, &token, "", None),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = local_path(f.next.as_deref());
    let retry = |status: StatusCode, message: &str| {
        let token = auth::random_token(24);
        with_login_cookie(
            &token,
            &headers,
            status,
            form_page(&next, &token, &f.username, Some(message)),
        )
    };
    if csrf::check_login(&headers, &f.csrf).is_err() {
        return Ok(retry(
            StatusCode::FORBIDDEN,
            "The sign-in form had expired. Please sign in again.",
        ));
    }
    let store = state.desk.store();
    let now = Utc::now();
    if auth::login_throttled(store, &f.username, addr.as_deref(), now).await? {
        tracing::warn!(user = %f.username.trim(), "sign-in paused after repeated failures");
        return Ok(retry(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed attempts. Wait {} minutes, then try again.",
                auth::LOGIN_WINDOW_MINUTES
            ),
        ));
    }
    let password = Secret::new(f.password.clone());
    let user = auth::check_password(store, &f.username, &password)
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let Some(user) = user else {
        store
            .record_login_attempt(&auth::user_key(&f.username), false, now)
            .await?;
        if let Some(a) = &addr {
            store
                .record_login_attempt(&auth::address_key(a), false, now)
                .await?;
        }
        return Ok(retry(
            StatusCode::UNAUTHORIZED,
            "Wrong user name or password.",
        ));
    };
    store
        .record_login_attempt(&auth::user_key(&user.username), true, now)
        .await?;
    let token = auth::start_session(store, &user)
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    tracing::info!(user = %user.username, "signed in");
    let tls = auth::over_tls(&headers);
    let session = auth::set_cookie(
        auth::SESSION_COOKIE,
        token.expose(),
        auth::SESSION_HOURS * 3600,
        "/",
        tls,
    );
    let clear = auth::set_cookie(LOGIN_COOKIE, "", 0, "/login", tls);
    let mut response = Redirect::to(&next).into_response();
    let h = response.headers_mut();
    for c in [session, clear] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    csrf::check(&signed, &headers, Some(&f.csrf))?;
    state
        .desk
        .store()
        .delete_session(&signed.token_hash, Utc::now())
        .await?;
    let clear = auth::set_cookie(auth::SESSION_COOKIE, "", 0, "/", auth::over_tls(&headers));
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
