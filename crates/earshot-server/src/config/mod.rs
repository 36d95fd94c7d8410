//! Settings: one TOML file, then environment overrides (`EARSHOT__SECTION__KEY=value`),
//! checked at load so a typo names its key instead of failing later.
//!
//! Files: this one (the whole file's [`Settings`] and what the running parts derive from
//! it), `load.rs` (file and environment to settings, printing with passwords hidden),
//! `check.rs` ([`Settings::check`]), `connectors.rs` (`[connectors]`) and `tests.rs`. The
//! sections the running parts read are one file each under [`crate::settings`].

use earshot_analyze::Terms;
use earshot_core::threading::{BrandIdentity, TriagePolicy};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

mod check;
mod connectors;
mod load;
#[cfg(test)]
mod tests;

pub use crate::settings::{
    check_webhook_secret, redact_url, ApiSettings, BrandSettings, ConfigError, HttpSettings,
    ResponseSettings, Secret, StoreSettings, WebhookSettings, MIN_API_TOKEN_CHARS,
};
pub use connectors::{ConnectorSettings, MastodonSettings};
use load::{serialize_redacted_bus, serialize_redacted_url};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Where the embedded store and trained models live.
    pub data_dir: PathBuf,
    /// Store URL: empty for SQLite at `<data_dir>/earshot.db`, or `postgres://…`.
    /// Printed with its password hidden.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub db: String,
    /// `[store]`: PostgreSQL's pool size and whether plaintext beyond this host is accepted.
    pub store: StoreSettings,
    pub brand: BrandSettings,
    pub response: ResponseSettings,
    pub webhook: WebhookSettings,
    pub api: ApiSettings,
    /// `[http]`: which host names are served, proxies trusted, cookies and sessions.
    pub http: HttpSettings,
    pub connectors: ConnectorSettings,
    /// `[alerts]`: where alerts go (Slack, a signed webhook, email) and when connectors alert.
    pub alerts: crate::alerts::AlertSettings,
    /// `[tracker]`: where requests are handed to engineering (GitHub issues or a webhook).
    pub tracker: crate::feedback::tracker::TrackerSettings,
    /// `[triage]`: response-target policies, routing, teams, on-call and escalation
    /// (see `earshot_core::triage::config`). Absent: the `[response]` targets alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triage: Option<earshot_core::triage::TriageConfig>,
    /// `[survey]`: the optional satisfaction survey sent after resolution.
    pub survey: crate::survey::SurveySettings,
    /// `[analysis]`: whether `serve` learns from agents' corrections on a schedule.
    pub analysis: crate::retrain::AnalysisSettings,
    /// `[bus]`: NATS JetStream for cluster mode (with a PostgreSQL `db`); absent: one process.
    /// Printed with the URL's password hidden.
    #[serde(serialize_with = "serialize_redacted_bus")]
    pub bus: crate::cluster::BusSettings,
    /// `[housekeeping]`: how often paging, re-ranking, retries and surveys due run.
    pub housekeeping: crate::housekeeping::HousekeepingSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("earshot-data"),
            db: String::new(),
            store: StoreSettings::default(),
            brand: BrandSettings::default(),
            response: ResponseSettings::default(),
            webhook: WebhookSettings::default(),
            api: ApiSettings::default(),
            http: HttpSettings::default(),
            connectors: ConnectorSettings::default(),
            alerts: crate::alerts::AlertSettings::default(),
            tracker: Default::default(),
            triage: None,
            survey: Default::default(),
            analysis: Default::default(),
            bus: Default::default(),
            housekeeping: Default::default(),
        }
    }
}

impl Settings {
    /// Embedded, one process on PostgreSQL, or cluster (see [`crate::cluster`]).
    pub fn mode(&self) -> Result<crate::cluster::Mode, ConfigError> {
        crate::cluster::Mode::of(&self.db_url(), &self.bus)
    }

    /// What `earshot config check` says about the mode, the bus URL's password hidden.
    pub fn describe_mode(&self) -> Result<String, ConfigError> {
        Ok(self.mode()?.describe(&self.bus, &redact_url(&self.bus.url)))
    }

    pub fn db_url(&self) -> String {
        if self.db.is_empty() {
            self.data_dir.join("earshot.db").display().to_string()
        } else {
            self.db.clone()
        }
    }

    pub fn brand_identity(&self) -> BrandIdentity {
        BrandIdentity::new(&self.brand.handles)
    }

    pub fn terms(&self) -> Terms {
        Terms {
            brands: self.brand.names.clone(),
            handles: self.brand.handles.clone(),
            keywords: self.brand.keywords.clone(),
        }
    }

    /// The `[triage]` section compiled against the `[response]` defaults, `.ics` files read
    /// from disk; `None` when there is no such section.
    pub fn triage(&self) -> Result<Option<earshot_core::triage::Triage>, ConfigError> {
        let Some(cfg) = &self.triage else {
            return Ok(None);
        };
        let policy = self.triage_policy()?;
        let read_ics = |path: &str| std::fs::read_to_string(path).map_err(|e| e.to_string());
        let this_year = chrono::Datelike::year(&chrono::Utc::now());
        cfg.compile(
            self.response.targets,
            policy.clock,
            &read_ics,
            (this_year - 1)..=(this_year + 5),
        )
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            key: "triage".into(),
            message: e.to_string(),
        })
    }

    pub fn triage_policy(&self) -> Result<TriagePolicy, ConfigError> {
        self.response.triage_policy()
    }

    /// `[http]` compiled, with the other sections' public addresses served too.
    pub fn http_policy(&self) -> Result<crate::http_policy::HttpPolicy, ConfigError> {
        crate::http_policy::HttpPolicy::new(
            &self.http,
            &self.listen,
            &[
                ("survey.public_url", self.survey.public_url.as_str()),
                ("tracker.public_url", self.tracker.public_url.as_str()),
            ],
        )
    }

    /// Plain HTTP beyond loopback needs a TLS proxy in front or an explicit opt-in (see
    /// [`crate::http_policy::check_listen`]).
    pub fn check_listen(&self) -> Result<(), ConfigError> {
        crate::http_policy::check_listen(&self.listen, &self.http)
    }

    /// The local time zone for per-hour metrics.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.response.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}
