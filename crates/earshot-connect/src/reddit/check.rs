//! `earshot connectors check` for Reddit: a token, then `GET /api/v1/me` (the cheapest
//! authenticated call), answering who the connector logs in as.

use super::config::RedditConfig;
use super::http::{Failure, RedditApi};
use super::wire::Me;
use crate::source::CheckError;

/// Logs in and asks Reddit who we are: `u/acme_support (t2_1a2b3c4d)`, or what to fix.
pub async fn check_credentials(config: &RedditConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let api = RedditApi::new(config.clone())
        .map_err(|e| CheckError::Misconfigured(format!("cannot build an HTTP client: {e}")))?;
    api.authenticate().await.map_err(|f| explain(f, config))?;
    let body = api
        .get("/api/v1/me?raw_json=1")
        .await
        .map_err(|f| explain(f, config))?;
    let me: Me = serde_json::from_str(&body).map_err(|e| {
        CheckError::Unreachable(format!(
            "{} answered /api/v1/me with something that is not an account: {e}",
            config.oauth_url
        ))
    })?;
    if me.name.is_empty() {
        return Err(CheckError::Refused(
            "the token is not a user token (no account behind it): use a script app's password grant".into(),
        ));
    }
    if !me.name.eq_ignore_ascii_case(config.account()) {
        return Err(CheckError::Misconfigured(format!(
            "the token belongs to u/{}, but username is {:?}",
            me.name,
            config.account()
        )));
    }
    let id = if me.id.is_empty() || me.id.starts_with("t2_") {
        me.id
    } else {
        format!("t2_{}", me.id)
    };
    Ok(format!("u/{} ({id})", me.name))
}

fn explain(failure: Failure, config: &RedditConfig) -> CheckError {
    match failure {
        Failure::Auth(reason) | Failure::Forbidden(reason) => CheckError::Refused(reason),
        Failure::RateLimited { reason, .. } => CheckError::Unreachable(format!(
            "{reason}: try again later; generic User-Agents are throttled, this one is {:?}",
            config.user_agent()
        )),
        other => CheckError::Unreachable(format!(
            "{} / {}: {}",
            config.www_url,
            config.oauth_url,
            other.reason()
        )),
    }
}
