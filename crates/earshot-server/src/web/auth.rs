//! Who is asking: passwords (argon2id), signed-in sessions (an HttpOnly cookie holding a
//! random token whose SHA-256 the store keeps), scoped API tokens, and login rate limiting.
//!
//! The CLI (`earshot admin`), the settings page and the demo create people and tokens through
//! the functions here, so the password policy and the hashing live in one place.

use crate::api::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use earshot_connect::Secret;
use earshot_store::people::{ApiToken, NewApiToken, NewSession, NewUser, Role, User};
use earshot_store::{Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub use crate::http_policy::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
/// How long a sign-in lasts: a working day and then some.
pub const SESSION_HOURS: i64 = 12;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// What an API token may be allowed to do.
pub const SCOPES: [&str; 3] = ["read", "reply", "act"];
/// Failed sign-ins tolerated from one address (under any names) within
/// [`LOGIN_WINDOW_MINUTES`]; past that, that address waits.
pub const MAX_FAILED_PER_ADDRESS: u64 = 50;
pub const LOGIN_WINDOW_MINUTES: i64 = 15;
/// The longest wait between two sign-in attempts for one name from one address.
pub const MAX_LOGIN_WAIT_SECONDS: i64 = 15 * 60;
/// Where every API token starts, so a leaked one is easy to recognise (and to grep for).
pub const TOKEN_PREFIX: &str = "es_";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("unknown scope {0:?}: use read, reply or act")]
    UnknownScope(String),
    #[error("a {role} cannot hold the {scope:?} scope")]
    ScopeAboveRole { role: Role, scope: String },
    #[error("a token needs at least one scope")]
    NoScope,
}

/// Random bytes as URL-safe base64, from the operating system's generator.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal strings in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// argon2id with the crate's recommended parameters (19 MiB, 2 passes), salted per password.
pub fn hash_password(password: &Secret) -> Result<String, AuthError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &Secret, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash nobody's password matches, checked when the user name is unknown so that a wrong
/// name costs as long as a wrong password (no telling which names exist by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&Secret::new(random_token(24))).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
        })
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // Hashing takes tens of milliseconds of CPU: keep it off the async threads. A join error
    // means the closure panicked; there is nothing sensible to return but to re-raise it.
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Creates a person (the first admin comes from `earshot admin create-user`).
pub async fn create_user(
    store: &Arc<dyn Store>,
    username: &str,
    display_name: &str,
    role: Role,
    password: &Secret,
) -> Result<User, AuthError> {
    let password = password.clone();
    let hash = blocking(move || hash_password(&password)).await?;
    let display = if display_name.trim().is_empty() {
        username.trim()
    } else {
        display_name.trim()
    };
    Ok(store
        .create_user(
            NewUser {
                username: username.to_string(),
                display_name: display.to_string(),
                role,
                password_hash: hash,
            },
            Utc::now(),
        )
        .await?)
}

pub async fn set_password(
    store: &Arc<dyn Store>,
    user_id: i64,
    password: &Secret,
) -> Result<(), AuthError> {
    let password = password.clone();
    let hash = blocking(move || hash_password(&password)).await?;
    Ok(store.set_password(user_id, &hash).await?)
}

/// Checks a name and password; `None` when either is wrong or the user is disabled.
pub async fn check_password(
    store: &Arc<dyn Store>,
    username: &str,
    password: &Secret,
) -> Result<Option<User>, AuthError> {
    let creds = store.credentials(username).await?;
    let password = password.clone();
    let (user, hash) = match creds {
        Some(c) => (Some(c.user), c.password_hash),
        None => (None, decoy_hash().to_string()),
    };
    let ok = blocking(move || verify_password(&password, &hash)).await;
    Ok(user.filter(|u| ok && u.disabled_at.is_none()))
}

/// Scopes as given ("read,reply"), checked and capped by what the user's role may do.
pub fn parse_scopes(raw: &str, role: Role) -> Result<Vec<String>, AuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for s in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let s = s.to_ascii_lowercase();
        if !SCOPES.contains(&s.as_str()) {
            return Err(AuthError::UnknownScope(s));
        }
        if s != "read" && !role.can_act() {
            return Err(AuthError::ScopeAboveRole { role, scope: s });
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if scopes.is_empty() {
        return Err(AuthError::NoScope);
    }
    Ok(scopes)
}

/// Creates an API token for a user. The token itself is returned once and never stored.
pub async fn create_api_token(
    store: &Arc<dyn Store>,
    user: &User,
    name: &str,
    scopes: Vec<String>,
) -> Result<(Secret, ApiToken), AuthError> {
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let stored = store
        .create_api_token(NewApiToken {
            user_id: user.id,
            name: name.trim().to_string(),
            prefix: token.chars().take(10).collect(),
            token_hash: token_hash(&token),
            scopes,
            created_at: Utc::now(),
        })
        .await?;
    Ok((Secret::new(token), stored))
}

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

/// The demo's people, created when missing; their passwords are printed by `earshot demo`.
pub struct DemoPeople {
    pub admin: (String, Secret),
    pub agent: (String, Secret),
}

pub async fn demo_people(store: &Arc<dyn Store>) -> Result<DemoPeople, AuthError> {
    let admin = ("admin".to_string(), Secret::new("earshot-demo-admin"));
    let agent = ("maria".to_string(), Secret::new("earshot-demo-agent"));
    for ((name, password), role, display) in [
        (&admin, Role::Admin, "Demo Admin"),
        (&agent, Role::Agent, "Maria Berg"),
    ] {
        match store.credentials(name).await? {
            Some(existing) => set_password(store, existing.user.id, password).await?,
            None => {
                create_user(store, name, display, role, password).await?;
            }
        }
    }
    Ok(DemoPeople { admin, agent })
}

/// A fresh API token for one of the demo's people, for the curl examples `earshot demo`
/// prints (read, reply and act, as an agent may).
pub async fn demo_token(store: &Arc<dyn Store>, username: &str) -> Result<Secret, AuthError> {
    let user = store
        .credentials(username)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {username}")))?
        .user;
    let scopes = SCOPES.iter().map(|s| s.to_string()).collect();
    let (token, _) = create_api_token(store, &user, "demo curl examples", scopes).await?;
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
