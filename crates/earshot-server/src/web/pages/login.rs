//! Signing in and out. Wrong name or password get the same answer. Each failure makes the
//! next attempt for that name *from that address* wait longer (1 s, 2 s, 4 s …), so nobody
//! can lock a colleague out by guessing; an address that fails under many names waits too.

use crate::state::AppState;
use crate::web::auth::{self};
use crate::web::csrf;
use crate::web::csrf::{NoFields, Posted};
use crate::web::layout::{self, Nav};
use crate::web::{local_path, PageError};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use earshot_core::Secret;
use earshot_store::guard::LoginTurn;
use maud::{html, Markup};
use serde::Deserialize;
use std::convert::Infallible;
use std::net::IpAddr;

/// The client's address (behind a trusted proxy, the one it names: see
/// [`crate::http_policy::HttpPolicy::client_address`]), and whether it reached us over TLS.
/// The address is `None` in tests that drive the router directly.
pub struct Client {
    pub address: Option<String>,
    pub tls: bool,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer: Option<IpAddr> = crate::http_policy::peer(&parts.extensions);
        Ok(Client {
            address: state
                .http
                .client_address(peer, &parts.headers)
                .map(|a| a.to_string()),
            tls: state.http.over_tls(peer, &parts.headers),
        })
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

fn form_page(
    next: &str,
    token: &str,
    username: &str,
    error: Option<&str>,
    first_run: bool,
) -> Markup {
    let body = html! {
        div.login {
            h1 { span.logo aria-hidden="true" { "◉" } " earshot" }
            p.muted { "Sign in to answer your customers." }
            @if first_run {
                div.flash.flash-warning role="status" {
                    p { strong { "Nobody can sign in yet." } " Create the first admin on the machine earshot runs on:" }
                    pre { code { "earshot admin create-user NAME --role admin" } }
                    p { "It prints a password once; sign in with it here, then add your colleagues in Settings." }
                }
            }
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
    state: &AppState,
    token: &str,
    tls: bool,
    status: StatusCode,
    page: Markup,
) -> Response {
    let cookie = auth::set_cookie(state.http.login_cookie(), token, 3600, "/login", tls);
    (status, [(header::SET_COOKIE, cookie)], page).into_response()
}

/// Whether nobody exists yet who could sign in (a fresh install).
async fn first_run(state: &AppState) -> bool {
    match state.desk.store().users().await {
        Ok(users) => users.iter().all(|u| u.disabled_at.is_some()),
        Err(_) => false,
    }
}

pub async fn form(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    // Already signed in: straight on.
    if let Ok(Some(_)) = auth::session_of(&state, &headers).await {
        return Redirect::to(&local_path(q.next.as_deref())).into_response();
    }
    let token = auth::random_token(24);
    let next = local_path(q.next.as_deref());
    let first = first_run(&state).await;
    with_login_cookie(
        &state,
        &token,
        client.tls,
        StatusCode::OK,
        form_page(&next, &token, "", None, first),
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
    client: Client,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = local_path(f.next.as_deref());
    let retry = |status: StatusCode, message: &str| {
        let token = auth::random_token(24);
        with_login_cookie(
            &state,
            &token,
            client.tls,
            status,
            form_page(&next, &token, &f.username, Some(message), false),
        )
    };
    if csrf::check_login(&headers, state.http.login_cookie(), &f.csrf).is_err() {
        return Ok(retry(
            StatusCode::FORBIDDEN,
            "The sign-in form had expired. Please sign in again.",
        ));
    }
    let store = state.desk.store();
    let now = Utc::now();
    let addr = client.address.as_deref();
    if auth::address_throttled(store, addr, now).await? {
        tracing::warn!(address = ?addr, "sign-ins from this address paused after many failures");
        return Ok(retry(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed sign-ins from your address. Wait {} minutes, then try again.",
                auth::LOGIN_WINDOW_MINUTES
            ),
        ));
    }
    // One attempt per (name, address) at a time, each failure doubling the wait: taken
    // atomically in the store, so parallel guesses are counted one by one.
    let key = auth::login_key(&f.username, addr);
    if let LoginTurn::Wait { until, failures } =
        store.take_login_turn(&key, auth::login_wait, now).await?
    {
        let wait = ((until - now).num_milliseconds().max(0) + 999) / 1000;
        let wait = wait.max(1);
        tracing::warn!(user = %f.username.trim(), failures, "sign-in attempt before its wait ended");
        let mut response = retry(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "That name failed to sign in {failures} times from your address. Wait {wait} seconds, then try again."
            ),
        );
        if let Ok(v) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }
    let password = Secret::new(f.password.clone());
    let user = auth::check_password(store, &f.username, &password)
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let Some(user) = user else {
        // The turn taken above already counts this failure.
        if let Some(a) = addr {
            store
                .record_login_attempt(&auth::address_key(a), false, now)
                .await?;
        }
        return Ok(retry(
            StatusCode::UNAUTHORIZED,
            "Wrong user name or password.",
        ));
    };
    store.clear_login_failures(&key).await?;
    let token = auth::start_session(store, &user)
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    tracing::info!(user = %user.username, "signed in");
    let session = auth::set_cookie(
        state.http.session_cookie(),
        token.expose(),
        auth::SESSION_HOURS * 3600,
        "/",
        client.tls,
    );
    let clear = auth::set_cookie(state.http.login_cookie(), "", 0, "/login", client.tls);
    let mut response = Redirect::to(&next).into_response();
    let h = response.headers_mut();
    for c in [session, clear] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    client: Client,
    Posted(signed, _): Posted<NoFields>,
) -> Result<Response, PageError> {
    state
        .desk
        .store()
        .delete_session(&signed.token_hash, Utc::now())
        .await?;
    let clear = auth::set_cookie(state.http.session_cookie(), "", 0, "/", client.tls);
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}
