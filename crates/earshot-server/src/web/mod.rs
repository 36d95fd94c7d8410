//! The web application agents keep open all day: server-rendered pages (maud, escaped by
//! construction), one small script for keys and live updates, no build step.
//!
//! Every page calls the same [`crate::desk::Desk`] and store functions as the JSON API and
//! the CLI; nothing here decides a business rule. Sign-in and CSRF live in [`auth`] and
//! [`csrf`]; each page in [`pages`].

pub mod assets;
pub mod auth;
pub mod csrf;
pub mod layout;
pub mod pages;
pub mod presence;

use crate::desk::DeskError;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use earshot_store::StoreError;
use maud::html;
use std::sync::Arc;

/// What the pages share beyond the application state: who is replying where.
#[derive(Default)]
pub struct WebState {
    pub presence: Arc<presence::Presence>,
}

/// The pages' routes, to be merged into the application router (which holds `state`).
pub fn router(state: &AppState) -> Router<AppState> {
    let web = Arc::new(WebState::default());
    // Who is replying reaches every process's pages, like the other live events.
    web.presence.follow(state.desk.pipeline());
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/inbox", get(pages::inbox::page))
        .route("/live", get(pages::inbox::live))
        .route("/views", post(pages::inbox::save_view))
        .route("/views/{id}/delete", post(pages::inbox::delete_view))
        .route("/c/{id}", get(pages::conversation::page))
        .route("/c/{id}/reply", post(pages::conversation::reply))
        .route("/c/{id}/act", post(pages::conversation::act))
        .route(
            "/c/{id}/replies/{reply}/retry",
            post(pages::conversation::retry),
        )
        .route("/c/{id}/labels", post(pages::conversation::labels))
        .route("/c/{id}/notes", post(pages::conversation::note))
        .route(
            "/c/{id}/posts/{post}/correct",
            post(pages::correct::correct),
        )
        .route("/c/{id}/typing", post(pages::conversation::typing))
        .route("/c/{id}/draft", get(pages::draft::draft))
        .route("/search", get(pages::search::page))
        .route("/dashboard", get(pages::dashboard::page))
        .route("/dashboard/{chart}", get(pages::dashboard::csv))
        .route("/requests", get(pages::requests::list))
        .route("/requests/{id}", get(pages::requests::detail))
        .route("/requests/{id}/act", post(pages::requests::act))
        .route("/promises", get(pages::promises::ledger))
        .route("/promises/{id}/act", post(pages::promises::act))
        .route(
            "/releases",
            get(pages::releases::list).post(pages::releases::submit),
        )
        .route("/releases/{id}", get(pages::releases::detail))
        .route("/spikes", get(pages::spikes::page))
        .route("/settings", get(pages::settings::page))
        .route("/settings/brand", post(pages::settings::save_brand))
        .route("/settings/response", post(pages::settings::save_response))
        .route("/settings/users", post(pages::settings::create_user))
        .route("/settings/users/{id}", post(pages::settings::change_user))
        .route("/settings/tokens", post(pages::settings::create_token))
        .route(
            "/settings/tokens/{id}/revoke",
            post(pages::settings::revoke_token),
        )
        .route(
            "/survey/{token}",
            get(pages::survey::page).post(pages::survey::answer),
        )
        .route("/assets/{name}", get(assets::serve))
        .layer(Extension(web))
        .layer(middleware::from_fn(security_headers))
}

/// Headers every page carries: no framing, no sniffing, scripts and styles only from here.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A page that could not be served, shown as a page (not JSON) with what to do next.
#[derive(Debug)]
pub enum PageError {
    NotFound(String),
    Forbidden(&'static str),
    BadRequest(String),
    Unavailable(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => PageError::NotFound(format!("{what} not found")),
            StoreError::Invalid(m) | StoreError::Conflict(m) => PageError::BadRequest(m),
            other => {
                tracing::error!(error = %other, "a page could not read the store");
                PageError::Unavailable("the store is not answering; try again in a moment".into())
            }
        }
    }
}

impl From<DeskError> for PageError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::Store(s) => s.into(),
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl From<earshot_core::feedback::InputError> for PageError {
    fn from(e: earshot_core::feedback::InputError) -> Self {
        PageError::BadRequest(e.0)
    }
}

impl From<csrf::Forged> for PageError {
    fn from(_: csrf::Forged) -> Self {
        PageError::Forbidden(
            "this form is out of date or came from another site: reload the page and try again",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m.to_string()),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "That did not work", m),
            PageError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "Try again", m),
        };
        let body = html! {
            div.narrow {
                h1 { (title) }
                p { (message) }
                p { a href="/inbox" { "Back to the inbox" } }
            }
        };
        (status, layout::page(title, None, layout::Nav::None, body)).into_response()
    }
}

/// Refuses people whose role may only read.
pub fn require_agent(s: &auth::SignedIn) -> Result<(), PageError> {
    if s.user.role.can_act() {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "viewers can read conversations but not change them: ask an admin for the agent role",
        ))
    }
}

pub fn require_admin(s: &auth::SignedIn) -> Result<(), PageError> {
    if s.user.role.is_admin() {
        Ok(())
    } else {
        Err(PageError::Forbidden("only admins can open the settings"))
    }
}

/// The HTML "not found" page, for paths outside the API.
pub async fn not_found() -> Response {
    PageError::NotFound("there is no page at this address".into()).into_response()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to return to after signing in; anything else (another site, `//host`) is
/// replaced by the inbox. Browsers drop tabs and line breaks from a URL and read `\` as `/`,
/// so `/\t/evil.example` would become `//evil.example`: a path holding any control
/// character, space or backslash is refused too.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            p.to_string()
        }
        _ => "/inbox".to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/c/4")), "/c/4");
        assert_eq!(local_path(Some("//evil.example")), "/inbox");
        assert_eq!(local_path(Some("https://evil.example")), "/inbox");
        assert_eq!(local_path(Some("/\\evil.example")), "/inbox");
        assert_eq!(local_path(Some("/\t/evil.example")), "/inbox");
        assert_eq!(local_path(Some("/\n/evil.example")), "/inbox");
        assert_eq!(local_path(Some("/ /evil.example")), "/inbox");
        assert_eq!(local_path(Some("/\u{a0}/evil.example")), "/inbox");
        assert_eq!(
            local_path(Some("/inbox?intent=complaint")),
            "/inbox?intent=complaint"
        );
        assert_eq!(local_path(None), "/inbox");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("/inbox?a=b c"), "%2Finbox%3Fa%3Db%20c");
        assert_eq!(url_encode("sædet"), "s%C3%A6det");
    }
}
