//! `earshot connectors check` for Discord: `GET /users/@me` (free, the REST API's own way to
//! test a token), answering which bot the token belongs to.

use super::config::DiscordConfig;
use super::rest::{Problem, Rest};
use crate::source::CheckError;

/// Asks Discord who the bot is: `@acme-support (1397012345678901234)`, or what to fix.
pub async fn check_credentials(config: &DiscordConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let rest = Rest::new(config.clone())
        .map_err(|e| CheckError::Misconfigured(format!("cannot build an HTTP client: {e}")))?;
    let me = rest.me().await.map_err(|problem| match problem {
        Problem::Unauthorized(reason) => CheckError::Refused(reason),
        Problem::RateLimited { reason, .. } | Problem::Other(reason) => {
            CheckError::Unreachable(format!("{}: {reason}", config.api_url))
        }
    })?;
    let id = me["id"].as_str().unwrap_or_default();
    let name = me["username"].as_str().unwrap_or_default();
    if id.is_empty() {
        return Err(CheckError::Unreachable(format!(
            "{} answered /users/@me without a user",
            config.api_url
        )));
    }
    if me["bot"] != true {
        return Err(CheckError::Refused(
            "the token is not a bot's: copy the token under Bot in the Developer Portal".into(),
        ));
    }
    Ok(format!("@{name} ({id})"))
}
