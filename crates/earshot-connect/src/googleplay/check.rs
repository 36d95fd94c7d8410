//! `earshot connectors check` for Google Play: one review of the app listed with a freshly
//! minted token, which proves the service account's key, its Play Console invitation and the
//! package name at once. The request counts against the app's hourly GET quota (one of 200).

use super::config::GooglePlayConfig;
use crate::source::CheckError;
use reqwest::Method;

/// Lists one review: `com.acme.kettle: reviews readable (…)`, or what to fix.
pub async fn check_credentials(config: &GooglePlayConfig) -> Result<String, CheckError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(CheckError::Misconfigured(problems.join("; ")));
    }
    let api = config.api().map_err(CheckError::Misconfigured)?;
    let app = config.package_name.trim();
    let one = GooglePlayConfig {
        page_size: 1,
        ..config.clone()
    };
    let page = api
        .call(Method::GET, &one.reviews_url(None), None)
        .await
        .map_err(|problem| {
            problem.check_error(&config.api_url, |r| {
                format!(
                    "package_name {app} is not an app this service account may read ({r}): \
                     check the package name in Play Console"
                )
            })
        })?;
    let some = if page["reviews"].as_array().is_some_and(|r| !r.is_empty()) {
        "reviews readable"
    } else {
        "readable, no reviews in the last week"
    };
    Ok(format!(
        "{app}: {some} (Google Play lists only the last week of reviews)"
    ))
}
