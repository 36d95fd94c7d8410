//! `earshot connectors check` for X: are both credentials accepted, and do they belong to
//! the configured brand account?
//!
//! The app bearer token is tried on the rules endpoint (`GET .../rules?max_results=1`, the
//! cheapest call it may make); the user token on `GET /2/users/me`. The check never renews
//! the user token: renewing rotates the refresh token, and a check has nowhere to keep the
//! new one, so the running connector would be left holding a dead token.

use super::api::{Api, As};
use super::config::XConfig;
use super::http::CallError;
use super::wire::{One, User};
use crate::source::CheckError;
use reqwest::header::{AUTHORIZATION, USER_AGENT};

/// Checks `config`'s credentials; returns who the connector speaks as, e.g.
/// `@AcmeHelp (1500000000000000001)`.
pub async fn check_credentials(config: &XConfig) -> Result<String, CheckError> {
    if !(config.api_url.starts_with("https://") || config.api_url.starts_with("http://")) {
        return Err(CheckError::Misconfigured(format!(
            "the X API URL {:?} is not an http(s) URL (use https://api.x.com)",
            config.api_url
        )));
    }
    if config.brand_username.trim().is_empty() {
        return Err(CheckError::Misconfigured(
            "the brand's X username is empty".into(),
        ));
    }
    if config.brand_user_id.is_empty() || !config.brand_user_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CheckError::Misconfigured(format!(
            "the brand's X user id {:?} is not a numeric id (GET /2/users/me shows it)",
            config.brand_user_id
        )));
    }
    let api = Api::new(config.clone(), None)
        .map_err(|e| CheckError::Misconfigured(format!("cannot build an HTTP client: {e}")))?;
    let rules = format!(
        "{}?max_results=1",
        config.api("/2/tweets/search/stream/rules")
    );
    api.get_json::<serde_json::Value>(As::App, "listing stream rules", &rules)
        .await
        .map_err(|e| match e {
            CallError::Refused { text, .. } => CheckError::Refused(format!(
                "the app bearer token was refused ({text}); copy a current one from the X developer portal"
            )),
            other => CheckError::Unreachable(other.to_string()),
        })?;

    let Some(user) = &config.user_auth else {
        return Ok(format!(
            "@{} ({}), app bearer token only: replies need the brand's OAuth 2.0 user token",
            config.brand_username, config.brand_user_id
        ));
    };
    let response = api
        .client
        .get(config.api("/2/users/me"))
        .timeout(config.request_timeout)
        .header(
            AUTHORIZATION,
            format!("Bearer {}", user.access_token.expose()),
        )
        .header(USER_AGENT, &config.user_agent)
        .send()
        .await
        .map_err(|e| CheckError::Unreachable(format!("GET /2/users/me: {e}")))?;
    if !response.status().is_success() {
        return Err(match CallError::from_response(response).await {
            CallError::Refused { text, .. } => CheckError::Refused(format!(
                "the brand's user access token was refused ({text}): it lives two hours, so it may \
                 just have expired (the connector renews it with the refresh token); if replies fail \
                 too, authorise the app again with the scopes tweet.read tweet.write users.read offline.access"
            )),
            other => CheckError::Unreachable(other.to_string()),
        });
    }
    let me: One<User> = response
        .json()
        .await
        .map_err(|e| CheckError::Unreachable(format!("unreadable GET /2/users/me answer: {e}")))?;
    if me.data.id != config.brand_user_id {
        return Err(CheckError::Misconfigured(format!(
            "the user token belongs to @{} ({}), not to the configured brand account {} ({})",
            me.data.username, me.data.id, config.brand_username, config.brand_user_id
        )));
    }
    Ok(format!("@{} ({})", me.data.username, me.data.id))
}
