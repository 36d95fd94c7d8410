//! `earshot connectors check` for the App Store: one review of the app read with a freshly
//! signed token, which proves the key, its team and its access to the app's reviews at once.

use super::config::AppStoreConfig;
use super::http::Api;
use crate::source::CheckError;
use reqwest::Method;

/// Reads one review: `app 1473658921: reviews readable (…)`, or what to fix.
pub async fn check_credentials(config: &AppStoreConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let api = Api::new(config.clone()).map_err(CheckError::Misconfigured)?;
    let app = config.app_id.trim();
    let url = config.url(&format!("/v1/apps/{app}/customerReviews?limit=1"));
    let page = api.call(Method::GET, &url, None).await.map_err(|problem| {
        problem.check_error(&config.api_url, |r| {
            format!(
                "app_id {app} is not an app of this key's team ({r}): check app_id and issuer_id"
            )
        })
    })?;
    let budget = match api.rate_limit() {
        Some((limit, left)) => format!("; {left} of {limit} requests left this hour"),
        None => String::new(),
    };
    let some = if page["data"].as_array().is_some_and(|d| !d.is_empty()) {
        "reviews readable"
    } else {
        "readable, no reviews yet"
    };
    Ok(format!("app {app}: {some}{budget}"))
}
