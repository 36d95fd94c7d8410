//! One authenticated request to X, with the credential each endpoint wants: the app's bearer
//! token, or the brand's user token, renewed once and repeated when X answers 401.

use super::config::XConfig;
use super::http::CallError;
use super::oauth::{TokenError, UserTokens};
use reqwest::header::{HeaderMap, AUTHORIZATION, USER_AGENT};
use reqwest::RequestBuilder;
use serde::de::DeserializeOwned;

/// Whose credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum As {
    /// The app-only bearer token (static: a 401 is final).
    App,
    /// The brand's OAuth 2.0 user token (renewable).
    User,
}

/// The HTTP client of one connector.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    pub config: XConfig,
    /// No overall timeout, because the stream lives for hours; REST calls set their own.
    pub client: reqwest::Client,
    pub tokens: Option<UserTokens>,
}

impl Api {
    pub(crate) fn new(config: XConfig, tokens: Option<UserTokens>) -> Result<Api, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()?;
        Ok(Api {
            config,
            client,
            tokens,
        })
    }

    /// The cheapest credentials for reading the brand's own mentions: the user token when
    /// there is one (an "owned read", §3.1), else the app's.
    pub(crate) fn owner_reads(&self) -> As {
        if self.tokens.is_some() {
            As::User
        } else {
            As::App
        }
    }

    /// Sends what `build` makes (without credentials) as `who`; returns a success answer or
    /// the classified failure. A user token refused with 401 is renewed and the request sent
    /// once more.
    pub(crate) async fn send(
        &self,
        who: As,
        what: &str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<reqwest::Response, CallError> {
        let mut renewed = false;
        let mut token = match who {
            As::App => None,
            As::User => Some(
                self.user_tokens()?
                    .access_token()
                    .await
                    .map_err(token_error)?,
            ),
        };
        loop {
            let authorization = match &token {
                None => self.config.app_bearer(),
                Some(t) => format!("Bearer {}", t.expose()),
            };
            let response = build(&self.client)
                .header(AUTHORIZATION, authorization)
                .header(USER_AGENT, &self.config.user_agent)
                .send()
                .await
                .map_err(|e| CallError::network(what, &e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == reqwest::StatusCode::UNAUTHORIZED && !renewed {
                if let (Some(refused), Some(tokens)) = (&token, &self.tokens) {
                    tracing::info!(what, "X refused the user token; renewing it");
                    token = Some(
                        tokens
                            .renew_after_refusal(refused)
                            .await
                            .map_err(token_error)?,
                    );
                    renewed = true;
                    continue;
                }
            }
            return Err(CallError::from_response(response).await);
        }
    }

    /// `GET url` as `who`, read as JSON; also returns the answer's headers (rate limits).
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        who: As,
        what: &str,
        url: &str,
    ) -> Result<(T, HeaderMap), CallError> {
        let timeout = self.config.request_timeout;
        let response = self
            .send(who, what, |c| c.get(url).timeout(timeout))
            .await?;
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::network(what, &e))?;
        let value = serde_json::from_slice(&body).map_err(|e| CallError::Network {
            text: format!("{what}: unreadable answer: {e}"),
            ambiguous: false,
        })?;
        Ok((value, headers))
    }

    fn user_tokens(&self) -> Result<&UserTokens, CallError> {
        self.tokens.as_ref().ok_or_else(|| CallError::Refused {
            status: 401,
            text:
                "no X user token is configured (set the OAuth 2.0 user access and refresh tokens)"
                    .into(),
        })
    }
}

fn token_error(e: TokenError) -> CallError {
    match e {
        TokenError::Revoked(_) => CallError::Refused {
            status: 401,
            text: e.to_string(),
        },
        TokenError::Unavailable(_) => CallError::Network {
            text: e.to_string(),
            ambiguous: false,
        },
    }
}
