//! Who is asking: passwords (argon2id), signed-in sessions (an HttpOnly cookie holding a
//! random token whose SHA-256 the store keeps), scoped API tokens, and login rate limiting.
//!
//! Creating people and tokens, and the password hashing, are the desk's (`desk::people`); this
//! module keeps what only the web needs, and re-exports those for its callers.

use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use earshot_core::Secret;
use earshot_store::people::{ApiToken, NewSession, User};
use earshot_store::{Store, StoreError};
use std::sync::Arc;

pub use crate::desk::people::{
    check_password, create_api_token, create_user, hash_password, parse_scopes, random_token, same,
    set_password, token_hash, verify_password, AuthError, MIN_PASSWORD_CHARS, SCOPES, TOKEN_PREFIX,
};
pub use crate::http_policy::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
/// How long a sign-in lasts: a working day and then some.
pub const SESSION_HOURS: i64 = 12;
/// Failed sign-ins tolerated from one address (under any names) within
/// [`LOGIN_WINDOW_MINUTES`]; past that, that address waits.
pub const MAX_FAILED_PER_ADDRESS: u64 = 50;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;
/// The longest wait between two sign-in attempts for one name from one address.
pub const MAX_LOGIN_WAIT_SECONDS: i64 = 15 * 60;

/// Starts a session; returns the cookie's token (the store keeps only its hash).
pub async fn start_session(store: &Arc<dyn Store>, user: &User) -> Result<Secret, AuthError> {
    let token = random_token(32);
    let now = Utc::now();
    store
        .create_session(NewSession {
            token_hash: token_hash(&token),
            user_id: user.id,
            csrf_token: random_token(24),
            created_at: now,
            expires_at: now + Duration::hours(SESSION_HOURS),
        })
        .await?;
    Ok(Secret::new(token))
}

/// How long the next sign-in attempt for a (name, address) waits after `failures` failures
/// in a row: 1 s, 2 s, 4 s … up to 15 minutes. Each failure makes the next answer slower for
/// that address alone, so a stranger guessing cannot lock the person out.
pub fn login_wait(failures: u32) -> Duration {
    let doubled = 1i64 << failures.saturating_sub(1).min(20);
    Duration::seconds(doubled.min(MAX_LOGIN_WAIT_SECONDS))
}

/// The throttling key of a sign-in attempt: the name as typed (trimmed, lower case, at most
/// 100 characters) and the client's address.
pub fn login_key(username: &str, address: Option<&str>) -> String {
    let name: String = username.trim().to_lowercase().chars().take(100).collect();
    format!("login:{name}|{}", address.unwrap_or("-"))
}

/// Whether this address has failed too often lately, under any names (a spray of guesses).
pub async fn address_throttled(
    store: &Arc<dyn Store>,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(a) = address else {
        return Ok(false);
    };
    let since = now - Duration::minutes(LOGIN_WINDOW_MINUTES);
    Ok(store.failed_logins(&address_key(a), since).await? >= MAX_FAILED_PER_ADDRESS)
}

pub fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure behind TLS (see
/// [`crate::http_policy::HttpPolicy::over_tls`]).
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, path: &str, tls: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{}",
        if tls { "; Secure" } else { "" }
    )
}

/// The signed-in person behind a page request, with their session's CSRF token.
#[derive(Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
    pub token_hash: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user.username)
            .finish_non_exhaustive()
    }
}

/// Why a page request was refused before its handler ran.
pub enum Refusal {
    /// Not signed in, asking for a page: go sign in, then come back.
    SignIn(String),
    /// Not signed in, posting or fetching: no redirect a script would follow blindly.
    Unauthorized,
    Failed(StoreError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignIn(next) => {
                Redirect::to(&format!("/login?next={}", super::url_encode(&next))).into_response()
            }
            Refusal::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "sign in first: /login").into_response()
            }
            Refusal::Failed(e) => {
                tracing::error!(error = %e, "cannot read the session");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is not answering; try again",
                )
                    .into_response()
            }
        }
    }
}

/// The live session a request's cookie names: not expired, its person active, and used
/// within `http.session_idle_minutes` (an idle one is ended here). Its use is noted at most
/// once a minute.
pub async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(token) = cookie(headers, state.http.session_cookie()) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let store = state.desk.store();
    let now = Utc::now();
    let Some(session) = store.session(&hash, now).await? else {
        return Ok(None);
    };
    let idle = now - session.last_seen_at;
    if idle > state.http.session_idle {
        tracing::info!(user = %session.user.username, "session ended after being idle");
        store.delete_session(&hash, now).await?;
        return Ok(None);
    }
    if idle > Duration::minutes(1) {
        store.touch_session(&hash, now).await?;
    }
    Ok(Some(SignedIn {
        user: session.user,
        csrf: session.csrf_token,
        token_hash: hash,
    }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(s) = parts.extensions.get::<SignedIn>() {
            return Ok(s.clone());
        }
        let Some(signed) = session_of(state, &parts.headers)
            .await
            .map_err(Refusal::Failed)?
        else {
            return Err(
                if parts.method == Method::GET && !parts.uri.path().starts_with("/live") {
                    let next = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".into());
                    Refusal::SignIn(next)
                } else {
                    Refusal::Unauthorized
                },
            );
        };
        parts.extensions.insert(signed.clone());
        Ok(signed)
    }
}

/// Who an API request is from, when it carries a token from the store.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: User,
    pub token: ApiToken,
}

/// The scope a JSON API request needs: reading, answering or acting on conversations.
pub fn required_scope(method: &Method, path: &str) -> &'static str {
    if method == Method::GET || method == Method::HEAD {
        "read"
    } else if path.ends_with("/replies") || (path.contains("/replies/") && path.ends_with("/retry"))
    {
        "reply"
    } else {
        "act"
    }
}

#[derive(Debug)]
pub enum ApiAuth {
    Allowed(Box<ApiCaller>),
    /// No such token, revoked, or its user disabled.
    Unknown,
    /// A good token without the scope this request needs.
    Forbidden(&'static str),
}

/// Checks a bearer token against the store's API tokens and the scope the request needs;
/// a token not used for five minutes has its last use noted.
pub async fn api_token(
    store: &Arc<dyn Store>,
    bearer: &str,
    method: &Method,
    path: &str,
) -> Result<ApiAuth, StoreError> {
    if !bearer.starts_with(TOKEN_PREFIX) {
        return Ok(ApiAuth::Unknown);
    }
    let Some((token, user)) = store.api_token(&token_hash(bearer)).await? else {
        return Ok(ApiAuth::Unknown);
    };
    let scope = required_scope(method, path);
    if !token.allows(scope) || (scope != "read" && !user.role.can_act()) {
        return Ok(ApiAuth::Forbidden(scope));
    }
    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(5))
    {
        store.touch_api_token(token.id, now).await?;
    }
    Ok(ApiAuth::Allowed(Box::new(ApiCaller { user, token })))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use earshot_store::people::Role;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let pw = Secret::new("correct horse battery");
        let hash = hash_password(&pw).unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&pw, &hash));
        assert!(!verify_password(
            &Secret::new("correct horse battery!"),
            &hash
        ));
        assert!(!verify_password(&pw, "not a hash"));
        assert!(matches!(
            hash_password(&Secret::new("short")),
            Err(AuthError::WeakPassword)
        ));
        // Salted: the same password never hashes the same twice.
        assert_ne!(hash, hash_password(&pw).unwrap());
    }

    #[test]
    fn scopes_are_checked_against_the_role() {
        assert_eq!(
            parse_scopes("read, reply,read", Role::Agent).unwrap(),
            vec!["read", "reply"]
        );
        assert!(matches!(
            parse_scopes("read,act", Role::Viewer),
            Err(AuthError::ScopeAboveRole { .. })
        ));
        assert!(matches!(
            parse_scopes("admin", Role::Admin),
            Err(AuthError::UnknownScope(_))
        ));
        assert!(matches!(
            parse_scopes(" ", Role::Admin),
            Err(AuthError::NoScope)
        ));
    }

    #[test]
    fn scope_follows_the_request() {
        assert_eq!(required_scope(&Method::GET, "/api/v1/inbox"), "read");
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/conversations/4/replies"),
            "reply"
        );
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/conversations/4/actions"),
            "act"
        );
        assert_eq!(
            required_scope(&Method::POST, "/api/v1/conversations/4/replies/9/retry"),
            "reply"
        );
    }

    #[test]
    fn cookies_are_read_and_written_safely() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; earshot_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        let c = set_cookie(SESSION_COOKIE, "abc", 60, "/", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("Secure"));
        assert!(!set_cookie(SESSION_COOKIE, "abc", 60, "/", false).contains("Secure"));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = random_token(32);
        assert_ne!(a, random_token(32));
        assert_eq!(token_hash(&a).len(), 64);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
