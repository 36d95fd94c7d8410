//! The brand account's session (PROTOCOLS.md §2.4): logged in once with the app password,
//! refreshed when the access token expires, logged in again only when the refresh token is
//! refused too.
//!
//! `createSession` is limited to 30 per 5 minutes and 300 a day per account, so a session is
//! created lazily, shared by everything that calls the PDS, and never per request. An expired
//! access token comes back as **400 `ExpiredToken`** (not 401): the call is refreshed and
//! retried once. Tokens live in [`Secret`]s and never reach a log line or an error.

use super::config::BlueskyConfig;
use super::wire::{ProfileView, SessionBody};
use super::xrpc::{send, Answer, CallError};
use crate::source::CheckError;
use crate::Secret;
use reqwest::StatusCode;
use tokio::sync::Mutex;

/// The logged-in account, shareable between a source and a responder.
#[derive(Debug)]
pub struct BlueskySession {
    identifier: String,
    app_password: Secret,
    /// Where sessions are created (the entryway or the PDS).
    entry_url: String,
    client: reqwest::Client,
    tokens: Mutex<Option<Tokens>>,
}

#[derive(Debug, Clone)]
struct Tokens {
    did: String,
    handle: String,
    access: Secret,
    refresh: Secret,
    /// The PDS from the DID document: where authenticated calls go.
    pds: String,
    /// Bumped on every new token, so concurrent callers renew once, not once each.
    generation: u64,
}

/// Who the session is logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Me {
    pub did: String,
    pub handle: String,
}

impl BlueskySession {
    pub fn new(config: &BlueskyConfig) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()?;
        Ok(BlueskySession {
            identifier: config.identifier.trim().to_owned(),
            app_password: config.app_password.clone(),
            entry_url: config.pds_url.clone(),
            client,
            tokens: Mutex::new(None),
        })
    }

    /// The account this session acts as, logging in first if needed.
    pub(crate) async fn me(&self) -> Result<Me, CallError> {
        let tokens = self.current().await?;
        Ok(Me {
            did: tokens.did,
            handle: tokens.handle,
        })
    }

    /// Calls the PDS with the access token. `build` makes the request from the client and the
    /// PDS base URL. An expired or refused token is renewed and the call made once more.
    /// Non-2xx answers other than token trouble are returned for the caller to classify.
    pub(crate) async fn call(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, CallError> {
        let tokens = self.current().await?;
        let answer = send(
            build(&self.client, &tokens.pds).bearer_auth(tokens.access.expose()),
            what,
        )
        .await?;
        if !answer.token_refused() {
            return Ok(answer);
        }
        tracing::info!(account = %tokens.handle, "bluesky access token refused; renewing the session");
        let renewed = self.renew(tokens.generation).await?;
        let again = send(
            build(&self.client, &renewed.pds).bearer_auth(renewed.access.expose()),
            what,
        )
        .await?;
        if again.token_refused() {
            // Refused right after renewal: a clock skew or a flapping server, not a verdict.
            let status = again.status.as_u16();
            return Err(CallError::Unavailable(format!(
                "{what}: the renewed token was refused too (HTTP {status}: {})",
                again.error_body().error
            )));
        }
        Ok(again)
    }

    async fn current(&self) -> Result<Tokens, CallError> {
        let mut guard = self.tokens.lock().await;
        if let Some(tokens) = guard.as_ref() {
            return Ok(tokens.clone());
        }
        let tokens = self.login(0).await?;
        *guard = Some(tokens.clone());
        Ok(tokens)
    }

    /// New tokens, unless another caller already renewed the `seen` generation.
    async fn renew(&self, seen: u64) -> Result<Tokens, CallError> {
        let mut guard = self.tokens.lock().await;
        let current = match guard.as_ref() {
            Some(t) if t.generation != seen => return Ok(t.clone()),
            Some(t) => t.clone(),
            None => {
                let tokens = self.login(seen).await?;
                *guard = Some(tokens.clone());
                return Ok(tokens);
            }
        };
        let renewed = match self.refresh(&current).await? {
            Some(tokens) => tokens,
            None => {
                tracing::info!(account = %current.handle, "bluesky refresh token refused; logging in again");
                // The old tokens are dead either way; forget them before trying the password.
                *guard = None;
                self.login(current.generation).await?
            }
        };
        *guard = Some(renewed.clone());
        Ok(renewed)
    }

    /// `refreshSession`; `None` when the refresh token itself was refused.
    async fn refresh(&self, current: &Tokens) -> Result<Option<Tokens>, CallError> {
        let url = BlueskyConfig::xrpc(&current.pds, "com.atproto.server.refreshSession");
        let answer = send(
            self.client.post(url).bearer_auth(current.refresh.expose()),
            "refreshing the session",
        )
        .await?;
        if answer.token_refused() {
            return Ok(None);
        }
        let body: SessionBody = answer.json("refreshing the session")?;
        Ok(Some(self.tokens_from(body, current.generation + 1)))
    }

    /// `createSession` with the app password.
    async fn login(&self, generation: u64) -> Result<Tokens, CallError> {
        let url = BlueskyConfig::xrpc(&self.entry_url, "com.atproto.server.createSession");
        let answer = send(
            self.client.post(url).json(&serde_json::json!({
                "identifier": self.identifier,
                "password": self.app_password.expose(),
            })),
            "logging in",
        )
        .await?;
        if !answer.status.is_success() {
            return Err(self.login_refused(answer));
        }
        let body: SessionBody = answer.json("logging in")?;
        let tokens = self.tokens_from(body, generation + 1);
        tracing::info!(account = %tokens.handle, did = %tokens.did, pds = %tokens.pds, "bluesky session created");
        Ok(tokens)
    }

    /// Turns a refused login into words an operator can act on.
    fn login_refused(&self, answer: Answer) -> CallError {
        let body = answer.error_body();
        let who = &self.identifier;
        let advice = match body.error.as_str() {
            "AuthenticationRequired" => Some(format!(
                "Bluesky refused the app password for {who}: create a new App Password \
                 (Settings → Privacy and security → App passwords) and set it in the config"
            )),
            "AuthFactorTokenRequired" => Some(format!(
                "{who} asks for an email sign-in code: use an App Password, not the account password"
            )),
            "AccountTakedown" => Some(format!("the Bluesky account {who} has been taken down")),
            "AccountDeactivated" => Some(format!("the Bluesky account {who} is deactivated")),
            _ => None,
        };
        match (advice, answer.status) {
            (Some(advice), _) => CallError::Refused(format!("{advice} ({})", body.message)),
            (None, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
                CallError::Refused(format!(
                    "Bluesky refused the login of {who}: {} {}",
                    body.error, body.message
                ))
            }
            (None, _) => answer.into_error("logging in"),
        }
    }

    fn tokens_from(&self, body: SessionBody, generation: u64) -> Tokens {
        Tokens {
            pds: body
                .pds_endpoint()
                .unwrap_or_else(|| self.entry_url.clone()),
            did: body.did,
            handle: body.handle,
            access: body.access_jwt,
            refresh: body.refresh_jwt,
            generation,
        }
    }
}

/// Logs in with the configured app password and looks the account up on the AppView: the
/// cheapest proof that the connector can act. Returns who we are, e.g.
/// `@acme.bsky.social (did:plc:q3ov5tmzj6f2xk7lbnc4ahwe), 1520 followers`.
pub async fn check_credentials(config: &BlueskyConfig) -> Result<String, CheckError> {
    if config.identifier.trim().is_empty() {
        return Err(CheckError::Misconfigured(
            "the Bluesky identifier is empty: set the handle (or DID) the app password belongs to"
                .into(),
        ));
    }
    if config.app_password.expose().trim().is_empty() {
        return Err(CheckError::Misconfigured(
            "the Bluesky app password is empty: create one under Settings → Privacy and security → App passwords".into(),
        ));
    }
    for (key, url) in [
        ("pds_url", &config.pds_url),
        ("appview_url", &config.appview_url),
    ] {
        if reqwest::Url::parse(url).is_err() {
            return Err(CheckError::Misconfigured(format!(
                "{key} {url:?} is not a URL like https://bsky.social"
            )));
        }
    }
    let session = BlueskySession::new(config)
        .map_err(|e| CheckError::Misconfigured(format!("cannot build an HTTP client: {e}")))?;
    let me = session.me().await.map_err(|e| match e {
        CallError::Refused(reason) => CheckError::Refused(reason),
        CallError::Rejected { message, .. } => CheckError::Refused(message),
        CallError::RateLimited { .. } => CheckError::Unreachable(format!(
            "{e} (Bluesky allows 30 logins per 5 minutes per account)"
        )),
        CallError::Unavailable(reason) | CallError::Unreadable(reason) => {
            CheckError::Unreachable(format!("{reason} (is pds_url {} right?)", config.pds_url))
        }
    })?;
    let profile = send(
        session
            .client
            .get(BlueskyConfig::xrpc(
                &config.appview_url,
                "app.bsky.actor.getProfile",
            ))
            .query(&[("actor", me.did.as_str())]),
        "looking up our profile",
    )
    .await
    .and_then(|a| a.json::<ProfileView>("looking up our profile"))
    .map_err(|e| {
        CheckError::Unreachable(format!(
            "logged in as @{}, but the AppView at {} did not answer: {e}",
            me.handle, config.appview_url
        ))
    })?;
    let followers = profile
        .followers_count
        .map(|n| format!(", {n} followers"))
        .unwrap_or_default();
    Ok(format!("@{} ({}){followers}", me.handle, me.did))
}
