//! `earshot connectors check` for Telegram: `getMe` (free, and the Bot API's own way to test a
//! token), answering which bot the token belongs to, and whether it can hear groups.

use super::config::TelegramConfig;
use super::http::{BotApi, Failure};
use crate::source::CheckError;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Me {
    id: i64,
    is_bot: bool,
    username: Option<String>,
    can_read_all_group_messages: Option<bool>,
}

/// Asks Telegram who the bot is: `@acme_help_bot (7012345678)`, or what to fix.
pub async fn check_credentials(config: &TelegramConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let api = BotApi::new(config.clone())
        .map_err(|e| CheckError::Misconfigured(format!("cannot build an HTTP client: {e}")))?;
    let result = api
        .call("getMe", &serde_json::json!({}), Duration::ZERO)
        .await
        .map_err(|f| match f {
            Failure::Unauthorized(reason) => CheckError::Refused(reason),
            other => CheckError::Unreachable(format!("{}: {}", config.api_url, other.reason())),
        })?;
    let me: Me = serde_json::from_value(result).map_err(|e| {
        CheckError::Unreachable(format!(
            "{} answered getMe with something that is not a bot: {e}",
            config.api_url
        ))
    })?;
    let username = me.username.unwrap_or_default();
    if !me.is_bot || username.is_empty() {
        return Err(CheckError::Refused(
            "the token is not a bot's: create the bot with @BotFather and use its token".into(),
        ));
    }
    if !username.eq_ignore_ascii_case(config.bot()) {
        return Err(CheckError::Misconfigured(format!(
            "the token belongs to @{username}, but bot_username is {:?}",
            config.bot()
        )));
    }
    let privacy = if me.can_read_all_group_messages == Some(false) {
        "; privacy mode is on: in groups it hears only replies to it, commands and @mentions \
         unless it is an admin (turn it off with @BotFather /setprivacy)"
    } else {
        ""
    };
    Ok(format!("@{username} ({}){privacy}", me.id))
}
