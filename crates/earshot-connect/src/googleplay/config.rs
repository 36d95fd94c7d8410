//! The settings of one app's Google Play reviews: which app, the service account's key file,
//! timings and the hourly request budget.

use crate::google::{Api, Grant, ServiceAccountKey, Tokens, Wording};
use crate::Secret;
use std::time::Duration;

/// The Google Play Developer API's address.
pub const API_URL: &str = "https://androidpublisher.googleapis.com";
/// The scope the service account acts with.
pub const SCOPE: &str = "https://www.googleapis.com/auth/androidpublisher";
/// The API lists only reviews created or modified within this (§4.1).
pub const WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// Health turns red when no poll succeeded for this long: two days before reviews are lost.
pub const WINDOW_ALARM: Duration = Duration::from_secs(5 * 24 * 3600);

const WORDING: Wording = Wording {
    network: "Google Play",
    unauthorized: "check that the service account's key is current (Google Cloud Console → IAM → \
                   Service accounts → Keys) and that this machine's clock is right",
    forbidden: "invite the service account's e-mail in Play Console (Users and permissions) \
                with the \"Reply to reviews\" permission for this app",
};

/// Said when the token endpoint answers `invalid_grant`.
const GRANT_REFUSED: &str = "the service account key is revoked (deleted or rotated) or this \
     machine's clock is off: create a new JSON key (IAM → Service accounts → Keys) and point \
     key_file at it";

#[derive(Debug, Clone)]
pub struct GooglePlayConfig {
    pub api_url: String,
    /// The token endpoint; `None`: the key file's `token_uri`, else Google's.
    pub token_url: Option<String>,
    /// The app's package name (`com.acme.kettle`).
    pub package_name: String,
    /// The service account's JSON key file contents.
    pub key_file: Secret,
    /// The time between two walks of the newest reviews (the API keeps a week: poll often).
    pub poll_interval: Duration,
    /// Reviews per page (at most 100).
    pub page_size: u32,
    /// How far behind the newest review seen each walk looks again.
    pub overlap: Duration,
    /// `list` and `get` requests allowed per hour (Play's quota is 200 per app, shared with
    /// any other tool using the same project).
    pub gets_per_hour: u32,
    /// BCP-47: ask Google to translate reviews (the original is kept for analysis).
    pub translation_language: Option<String>,
    pub request_timeout: Duration,
    /// Multiplies every backoff delay (tests run the §0.3 regimes at 1/100).
    pub backoff_scale: f64,
}

impl GooglePlayConfig {
    pub fn new(package_name: impl Into<String>, key_file: Secret) -> Self {
        GooglePlayConfig {
            api_url: API_URL.to_owned(),
            token_url: None,
            package_name: package_name.into(),
            key_file,
            poll_interval: Duration::from_secs(5 * 60),
            page_size: 100,
            overlap: Duration::from_secs(3600),
            gets_per_hour: 200,
            translation_language: None,
            request_timeout: Duration::from_secs(30),
            backoff_scale: 1.0,
        }
    }

    /// The cursor key and health name: `googleplay:<package name>`.
    pub fn source_name(&self) -> String {
        format!("googleplay:{}", self.package_name.trim())
    }

    pub(crate) fn api(&self) -> Result<Api, String> {
        let key = ServiceAccountKey::parse(&self.key_file)?;
        let token_url = self
            .token_url
            .clone()
            .or_else(|| key.token_uri.clone())
            .unwrap_or_else(|| crate::google::TOKEN_URL.to_owned());
        let grant = Grant::service_account(&key, SCOPE)?;
        Api::new(
            Tokens::new(grant, &token_url, GRANT_REFUSED),
            self.request_timeout,
            WORDING,
        )
    }

    fn app_url(&self) -> String {
        format!(
            "{}/androidpublisher/v3/applications/{}",
            self.api_url.trim_end_matches('/'),
            self.package_name.trim()
        )
    }

    /// A page of the newest-modified reviews; `token` for the pages after the first.
    pub fn reviews_url(&self, token: Option<&str>) -> String {
        let mut pairs = vec![("maxResults", self.page_size.clamp(1, 100).to_string())];
        if let Some(t) = token {
            pairs.push(("token", t.to_owned()));
        }
        if let Some(l) = &self.translation_language {
            pairs.push(("translationLanguage", l.clone()));
        }
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("{}/reviews?{}", self.app_url(), query.join("&"))
    }

    /// One review (`reviews.get`). The id's colon is sent as is (`gp:…`).
    pub fn review_url(&self, id: &str) -> String {
        format!("{}/reviews/{}", self.app_url(), encode(id))
    }

    /// `reviews.reply`: `…/reviews/{id}:reply`.
    pub fn reply_url(&self, id: &str) -> String {
        format!("{}:reply", self.review_url(id))
    }

    /// What is wrong with the settings, in words an operator can act on (never the key).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let package = self.package_name.trim();
        let valid = package.contains('.')
            && package.split('.').all(|part| {
                part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !valid {
            problems.push(format!(
                "package_name {package:?} is not an Android package name: use the app's id as \
                 Play Console shows it (com.acme.kettle)"
            ));
        }
        if let Err(e) = self.api() {
            problems.push(e);
        }
        if self.poll_interval >= WINDOW_ALARM {
            problems.push(format!(
                "poll_interval_seconds {} is too long: Google Play lists only the last week of \
                 reviews, so poll at least daily (every 5 to 15 minutes is usual)",
                self.poll_interval.as_secs()
            ));
        }
        if reqwest::Url::parse(&self.api_url).is_err() {
            problems.push(format!("api_url {:?} is not a URL", self.api_url));
        }
        problems
    }
}

fn encode(s: &str) -> String {
    crate::google::encode(s, b":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::token::testing::key_file;

    #[test]
    fn urls_keep_the_review_ids_colon_and_problems_name_the_setting() {
        let c = GooglePlayConfig::new("com.acme.kettle", key_file("a@b.iam", "http://t"));
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert_eq!(c.source_name(), "googleplay:com.acme.kettle");
        assert_eq!(
            c.reply_url("gp:AOqpTOF/x"),
            "https://androidpublisher.googleapis.com/androidpublisher/v3/applications/com.acme.kettle/reviews/gp:AOqpTOF%2Fx:reply"
        );
        assert!(c
            .reviews_url(Some("Cn+Y="))
            .ends_with("/reviews?maxResults=100&token=Cn%2BY%3D"));
        let mut bad = GooglePlayConfig::new("kettle app", Secret::new("{\"private_key\":\"zzz\"}"));
        bad.poll_interval = WINDOW;
        let problems = bad.problems().join("; ");
        assert!(problems.contains("package_name"), "{problems}");
        assert!(problems.contains("JSON key"), "{problems}");
        assert!(problems.contains("last week"), "{problems}");
        assert!(!problems.contains("zzz"));
    }
}
