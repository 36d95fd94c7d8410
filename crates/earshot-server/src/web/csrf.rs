//! Cross-site request forgery: every form a signed-in person posts carries their session's
//! token (a hidden `csrf` field, or the `X-CSRF-Token` header from the pages' script), and a
//! request whose `Origin` names another site is refused whatever it carries. The sign-in
//! form, which has no session yet, uses a double-submit cookie instead.

use super::auth::{same, SignedIn};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The cookie holding the sign-in form's token until a session exists (named
/// `__Secure-earshot_login` with secure cookies: see [`crate::http_policy::HttpPolicy`]).
pub use crate::http_policy::LOGIN_COOKIE;

#[derive(Debug, PartialEq, Eq)]
pub struct Forged;

impl IntoResponse for Forged {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            "this form is out of date or came from another site: reload the page and try again",
        )
            .into_response()
    }
}

/// Whether `Origin` (when the browser sent one) is this server.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin on every cross-site POST; its absence means same-site or no browser.
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

/// Checks a signed-in person's post: the token from the form (or header) and the origin.
pub fn check(
    signed: &SignedIn,
    headers: &HeaderMap,
    form_token: Option<&str>,
) -> Result<(), Forged> {
    let given = form_token.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    match given {
        Some(t) if same(t, &signed.csrf) && same_origin(headers) => Ok(()),
        _ => Err(Forged),
    }
}

/// A form a signed-in person posted, with its token and origin checked: what every page's
/// form handler starts from (`Posted(signed, form): Posted<ActForm>`). The token travels in
/// the form's `csrf` field (or the `X-CSRF-Token` header) and is read apart from the form's
/// own fields, so a form type need not carry it.
pub struct Posted<T>(pub SignedIn, pub T);

/// The form of a button that posts nothing but its token (sign out, retry, delete).
#[derive(Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct Token {
    csrf: Option<String>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let signed = SignedIn::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            let message = "send this form as application/x-www-form-urlencoded";
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, message).into_response());
        }
        let headers = parts.headers.clone();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token: Token = serde_urlencoded::from_bytes(&bytes).unwrap_or(Token { csrf: None });
        check(&signed, &headers, token.csrf.as_deref()).map_err(IntoResponse::into_response)?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            let message = format!("this form could not be read: {e}");
            (StatusCode::UNPROCESSABLE_ENTITY, message).into_response()
        })?;
        Ok(Posted(signed, form))
    }
}

/// Checks the sign-in form: its hidden field must equal the cookie (`cookie_name`) set with
/// the form.
pub fn check_login(headers: &HeaderMap, cookie_name: &str, form_token: &str) -> Result<(), Forged> {
    match super::auth::cookie(headers, cookie_name) {
        Some(c) if !c.is_empty() && same(c, form_token) && same_origin(headers) => Ok(()),
        _ => Err(Forged),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use earshot_store::people::{Role, User};

    fn signed() -> SignedIn {
        SignedIn {
            user: User {
                id: 1,
                username: "maria".into(),
                display_name: "Maria".into(),
                role: Role::Agent,
                created_at: chrono::Utc::now(),
                disabled_at: None,
            },
            csrf: "tok".into(),
            token_hash: "h".into(),
        }
    }

    #[test]
    fn the_token_must_match_and_the_origin_be_ours() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(check(&signed(), &h, Some("tok")), Ok(()));
        assert_eq!(check(&signed(), &h, Some("bad")), Err(Forged));
        assert_eq!(check(&signed(), &h, None), Err(Forged));
        h.insert("x-csrf-token", "tok".parse().unwrap());
        assert_eq!(check(&signed(), &h, None), Ok(()));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert_eq!(check(&signed(), &h, Some("tok")), Ok(()));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert_eq!(check(&signed(), &h, Some("tok")), Err(Forged));
    }

    #[test]
    fn the_login_form_is_double_submitted() {
        let mut h = HeaderMap::new();
        assert_eq!(check_login(&h, LOGIN_COOKIE, "x"), Err(Forged));
        h.insert(header::COOKIE, "earshot_login=abc".parse().unwrap());
        assert_eq!(check_login(&h, LOGIN_COOKIE, "abc"), Ok(()));
        assert_eq!(check_login(&h, LOGIN_COOKIE, "abd"), Err(Forged));
        assert_eq!(
            check_login(&h, "__Secure-earshot_login", "abc"),
            Err(Forged)
        );
    }
}
