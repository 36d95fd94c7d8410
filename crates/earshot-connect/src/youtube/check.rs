//! `earshot connectors check` for YouTube: `channels.list?mine=true` (1 unit) with a freshly
//! refreshed token, which proves the OAuth client, the owner's consent and that the consent
//! is the configured channel's. The unit is paid from the project's ledger (an operator's
//! check may use the reply reserve), and the answer says what the day's quota looks like.

use super::config::YouTubeConfig;
use super::quota::{Purpose, LIST_COST};
use crate::source::CheckError;
use reqwest::Method;

/// Names the channel the consent acts as: `Acme Kettles (UC…); YouTube quota: …`, or what to fix.
pub async fn check_credentials(config: &YouTubeConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let api = config.api().map_err(CheckError::Misconfigured)?;
    let ledger = config.ledger();
    let fail = |problem: crate::problem::Problem| {
        problem.check_error(&config.api_url, |r| {
            format!(
                "{} has no YouTube Data API here ({r}): check api_url",
                config.api_url
            )
        })
    };
    ledger
        .spend(LIST_COST, Purpose::Reply)
        .await
        .map_err(fail)?;
    let url = config.url("channels?part=snippet&mine=true");
    let answer = api.call(Method::GET, &url, None).await;
    if matches!(answer, Err(crate::problem::Problem::Quota(_))) {
        ledger.exhaust().await;
    }
    let channels = answer.map_err(fail)?;
    let wanted = config.channel_id.trim();
    let mine: Vec<(&str, &str)> = channels["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default(),
                c["snippet"]["title"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let Some((id, title)) = mine.iter().find(|(id, _)| *id == wanted) else {
        let theirs = match mine.first() {
            Some((id, title)) => format!("is the consent of channel {title} ({id})"),
            None => "belongs to an account without a YouTube channel".to_owned(),
        };
        return Err(CheckError::Misconfigured(format!(
            "refresh_token {theirs}, not of channel_id {wanted}: run the OAuth consent again as \
             the owner (or a manager) of {wanted}"
        )));
    };
    Ok(format!("{title} ({id}); {}", ledger.note()))
}
