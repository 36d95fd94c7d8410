//! The settings of one App Store app's reviews: which app, the team's API key, and timings.

use super::jwt::{KeyError, TokenSigner, MAX_LIFETIME};
pub use crate::Secret;
use std::time::Duration;

/// App Store Connect's address.
pub const API_URL: &str = "https://api.appstoreconnect.apple.com";

#[derive(Debug, Clone)]
pub struct AppStoreConfig {
    pub api_url: String,
    /// The team's issuer id (a UUID, Users and Access → Integrations).
    pub issuer_id: String,
    /// The API key's id (`2X9R4HXF34`, the `<KEYID>` of `AuthKey_<KEYID>.p8`).
    pub key_id: String,
    /// The `.p8` file's contents.
    pub private_key: Secret,
    /// The app's Apple id (digits, App Store Connect → App Information).
    pub app_id: String,
    /// The time between two walks of the newest reviews.
    pub poll_interval: Duration,
    /// Reviews per page (Apple allows at most 200).
    pub page_limit: u32,
    /// How far behind the newest review seen each walk looks again: reviews become visible
    /// with a delay, and edits are found by reading them again (PROTOCOLS-2.md §3.3).
    pub overlap: Duration,
    /// On the very first walk, how far back reviews are heard.
    pub backfill: Duration,
    pub request_timeout: Duration,
    /// How long a signed token is good for (at most 20 minutes).
    pub token_lifetime: Duration,
    /// Multiplies every backoff delay (tests run the §0.3 regimes at 1/100).
    pub backoff_scale: f64,
}

impl AppStoreConfig {
    pub fn new(
        issuer_id: impl Into<String>,
        key_id: impl Into<String>,
        private_key: Secret,
        app_id: impl Into<String>,
    ) -> Self {
        AppStoreConfig {
            api_url: API_URL.to_owned(),
            issuer_id: issuer_id.into(),
            key_id: key_id.into(),
            private_key,
            app_id: app_id.into(),
            poll_interval: Duration::from_secs(10 * 60),
            page_limit: 200,
            overlap: Duration::from_secs(48 * 3600),
            backfill: Duration::from_secs(30 * 24 * 3600),
            request_timeout: Duration::from_secs(30),
            token_lifetime: Duration::from_secs(15 * 60),
            backoff_scale: 1.0,
        }
    }

    /// The cursor key and health name: `appstore:<app id>`.
    pub fn source_name(&self) -> String {
        format!("appstore:{}", self.app_id.trim())
    }

    /// A signer for the configured key.
    pub fn signer(&self) -> Result<TokenSigner, KeyError> {
        TokenSigner::new(
            &self.issuer_id,
            &self.key_id,
            &self.private_key,
            self.token_lifetime,
        )
    }

    /// The first page of the newest reviews, with their responses.
    pub fn reviews_url(&self) -> String {
        format!(
            "{}/v1/apps/{}/customerReviews?sort=-createdDate&limit={}&include=response",
            self.api_url.trim_end_matches('/'),
            self.app_id.trim(),
            self.page_limit.clamp(1, 200)
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url.trim_end_matches('/'))
    }

    /// What is wrong with the settings, in words an operator can act on (never the key).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let app = self.app_id.trim();
        if app.is_empty() || !app.chars().all(|c| c.is_ascii_digit()) {
            problems.push(format!(
                "app_id {app:?} is not an Apple app id: use the digits of \"Apple ID\" under App \
                 Store Connect → App Information"
            ));
        }
        if let Err(e) = self.signer() {
            problems.push(e.to_string());
        }
        if self.token_lifetime > MAX_LIFETIME {
            problems.push(format!(
                "token lifetime {} s is over Apple's 1200 s",
                self.token_lifetime.as_secs()
            ));
        }
        if reqwest::Url::parse(&self.api_url).is_err() {
            problems.push(format!("api_url {:?} is not a URL", self.api_url));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_problems_name_the_setting_and_never_the_key() {
        let pem = super::super::jwt::generate_pem();
        let config = AppStoreConfig::new("57246542-96fe", "2X9R4HXF34", pem.clone(), "1473658921");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.source_name(), "appstore:1473658921");
        assert!(config.reviews_url().ends_with(
            "/v1/apps/1473658921/customerReviews?sort=-createdDate&limit=200&include=response"
        ));
        let mut bad = AppStoreConfig::new("", "2X9R4HXF34", Secret::new("nope"), "my app");
        bad.api_url = "not a url".into();
        let problems = bad.problems().join("; ");
        assert!(problems.contains("app_id"), "{problems}");
        assert!(problems.contains("api_url"), "{problems}");
        assert!(
            problems.contains("issuer_id") || problems.contains("PEM"),
            "{problems}"
        );
        let body = pem.expose().lines().nth(1).unwrap_or_default().to_owned();
        assert!(!format!("{config:?}").contains(&body));
    }
}
