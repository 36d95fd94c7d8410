//! `earshot connectors check` for Mastodon: is the token good, and whose is it?

use super::config::MastodonConfig;
use super::http::error_text;
use super::wire::Account;
use crate::source::CheckError;

/// Calls `GET /api/v1/accounts/verify_credentials` and says whose token it is, or what to fix.
pub async fn check_credentials(config: &MastodonConfig) -> Result<String, CheckError> {
    if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
        return Err(CheckError::Misconfigured(format!(
            "base_url {:?} is not an http(s) URL",
            config.base_url
        )));
    }
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .build()
        .map_err(|e| CheckError::Misconfigured(e.to_string()))?;
    let response = client
        .get(config.api_url("/api/v1/accounts/verify_credentials"))
        .header(reqwest::header::AUTHORIZATION, config.bearer())
        .send()
        .await
        .map_err(|e| CheckError::Unreachable(format!("{}: {e}", config.base_url)))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    match status.as_u16() {
        200 => {
            let account: Account = serde_json::from_str(&body).map_err(|e| {
                CheckError::Unreachable(format!("{} answered with an unreadable account: {e}", config.base_url))
            })?;
            let brand = config.brand_acct.trim_start_matches('@');
            if !account.acct.eq_ignore_ascii_case(brand) && !brand.starts_with(&format!("{}@", account.acct)) {
                return Err(CheckError::Misconfigured(format!(
                    "the token belongs to @{}, not to brand_acct @{brand}: replies would be posted as @{}",
                    account.acct, account.acct
                )));
            }
            Ok(format!("@{} on {}", account.acct, config.base_url))
        }
        401 | 403 => Err(CheckError::Refused(format!(
            "{} refused the access token ({}): create a new one under Preferences → Development with the scopes read:statuses read:notifications write:statuses",
            config.base_url,
            error_text(&body)
        ))),
        code => Err(CheckError::Unreachable(format!(
            "{} answered {code}: {}",
            config.base_url,
            error_text(&body)
        ))),
    }
}
