//! Who is calling the JSON API. Every `/api/v1` route except the signed post intake and the
//! tracker's webhook (both checked by signature) needs one of:
//! - `Authorization: Bearer <token>` (RFC 9110: the scheme in any case, one token68): the
//!   configured `api.token`, which acts as `api`, or a token an admin created for a person in
//!   Settings, with its scopes;
//! - a signed-in session's cookie (the web pages' own calls): same origin, and every write
//!   carries the session's CSRF token in `X-CSRF-Token`.
//!
//! Anything else is 401. The actor of every action is the caller found here — a header
//! cannot name somebody else.

use super::{ApiError, AppState};
use crate::web::auth::{self, ApiAuth, SignedIn};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use earshot_store::people::{ApiToken, User};

/// The actor `api.token` acts as in the audit trail.
pub const SERVICE_ACTOR: &str = "api";

/// Who a request is from, put in the request's extensions by [`require_caller`].
#[derive(Debug, Clone)]
pub enum Caller {
    /// The configured `api.token`: a script working for the whole team.
    Service,
    /// A person, through an API token they hold or their signed-in session.
    Person {
        user: Box<User>,
        token: Option<Box<ApiToken>>,
    },
}

impl Caller {
    /// The name the audit trail, replies and assignments record.
    pub fn actor(&self) -> &str {
        match self {
            Caller::Service => SERVICE_ACTOR,
            Caller::Person { user, .. } => &user.username,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only [`require_caller`] puts it there; a route outside it has no caller.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| unauthorized("sign in or send Authorization: Bearer <api token>"))
    }
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"earshot\""),
    );
    r
}

const NO_CREDENTIALS: &str =
    "send Authorization: Bearer <api token> (a token an admin created in Settings → API tokens, \
     or api.token / EARSHOT__API__TOKEN), or call from a signed-in page";

/// What an `Authorization` header holds, per RFC 9110 §11.4 and RFC 6750 §2.1.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    Bearer(&'a str),
    /// Not a bearer token (another scheme, no token, or a malformed one): why.
    Refused(&'static str),
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `credentials = auth-scheme 1*SP token68`: the scheme is case-insensitive, the
/// token is `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn parse_authorization(value: &str) -> Credentials<'_> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.is_empty() || !scheme.bytes().all(is_tchar) {
        return Credentials::Refused("the Authorization header is malformed");
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Refused("earshot takes only Bearer credentials");
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let token68 = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if token68 {
        Credentials::Bearer(token)
    } else if token.is_empty() {
        Credentials::Refused("Bearer needs a token after it")
    } else {
        Credentials::Refused("the bearer token has characters a token cannot have")
    }
}

fn forbidden(message: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response()
}

/// Middleware for the protected API routes: finds the [`Caller`] or answers 401/403.
pub async fn require_caller(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match identify(
        &state,
        request.method(),
        request.uri().path(),
        request.headers(),
    )
    .await
    {
        Ok(c) => c,
        Err(refusal) => return refusal,
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

async fn identify(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Caller, Response> {
    let mut given = headers.get_all(header::AUTHORIZATION).iter();
    if let Some(value) = given.next() {
        if given.next().is_some() {
            return Err(unauthorized("send one Authorization header, not several"));
        }
        let Ok(value) = value.to_str() else {
            return Err(unauthorized("the Authorization header is malformed"));
        };
        let token = match parse_authorization(value) {
            Credentials::Bearer(t) => t,
            Credentials::Refused(why) => return Err(unauthorized(why)),
        };
        let service = state.settings.api.token.expose();
        // Constant-time comparison: the token is a secret.
        if !service.is_empty() && auth::same(token, service) {
            return Ok(Caller::Service);
        }
        return match auth::api_token(state.desk.store(), token, method, path).await {
            Ok(ApiAuth::Allowed(c)) => Ok(Caller::Person {
                user: Box::new(c.user),
                token: Some(Box::new(c.token)),
            }),
            Ok(ApiAuth::Forbidden(scope)) => Err(forbidden(format!(
                "this token does not have the {scope:?} scope this request needs"
            ))),
            Ok(ApiAuth::Unknown) => Err(unauthorized(
                "this token is unknown or revoked, or its person is disabled",
            )),
            Err(e) => Err(ApiError::from(e).into_response()),
        };
    }
    let signed = match auth::session_of(state, headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(unauthorized(NO_CREDENTIALS)),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    if !(method == Method::GET || method == Method::HEAD) {
        session_may_write(&signed, headers).map_err(forbidden)?;
    }
    Ok(Caller::Person {
        user: Box::new(signed.user),
        token: None,
    })
}

/// A session's write: from this site with its CSRF token (a form elsewhere cannot read it),
/// by someone whose role may act.
fn session_may_write(signed: &SignedIn, headers: &HeaderMap) -> Result<(), String> {
    if crate::web::csrf::check(signed, headers, None).is_err() {
        return Err(
            "a signed-in session's writes need the page's X-CSRF-Token header and must come from this site"
                .into(),
        );
    }
    if !signed.user.role.can_act() {
        return Err(format!(
            "a {} can read but not change anything: ask an admin for the agent role",
            signed.user.role
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_parsed_as_rfc_9110_says() {
        for ok in [
            "Bearer es_abc",
            "bearer es_abc",
            "BEARER es_abc",
            "Bearer   es_abc",
            "Bearer es_a-b.c~d+e/f==",
            " Bearer es_abc ",
        ] {
            assert!(
                matches!(parse_authorization(ok), Credentials::Bearer(_)),
                "{ok}"
            );
        }
        assert_eq!(
            parse_authorization("bearer es_abc"),
            Credentials::Bearer("es_abc")
        );
        for refused in [
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "Bearer",
            "Bearer ",
            "Bearer es abc",
            "Bearer es_abc,more",
            "Bearer =abc",
            "Bearer\tes_abc",
            "Token es_abc",
            "",
            "Bea(rer es_abc",
        ] {
            assert!(
                matches!(parse_authorization(refused), Credentials::Refused(_)),
                "{refused:?}"
            );
        }
    }
}
