//! Telling people when something needs them: `[alerts]` targets (Slack, a signed webhook,
//! email) and the watchers that raise alerts — a connector that stopped hearing or whose
//! credentials fail, a spike of new demand, a promise past its due date.

/// Alerts kept in the store until every target settled them (pages, spikes, promises).
pub mod kept;

use crate::settings::{resolve_secret, ConfigError, Secret};
use earshot_connect::notify::{
    self, Alert, Channel, Dispatched, Dispatcher, DispatcherStats, EmailConfig, NotifyConfig,
    Severity, SlackConfig, SmtpSecurity, TargetConfig, WebhookConfig,
};
use earshot_connect::source::{ConnectorState, Health};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// The same alert (same key) is sent once per this many minutes.
    pub dedupe_minutes: u64,
    /// A connected connector that hears nothing for this long is reported (0: never). Set it
    /// to what is unusual for your brand: minutes for a busy brand, hours for a quiet one.
    pub silence_minutes: u64,
    /// A connector still failing to reconnect after this long is reported.
    pub backing_off_minutes: u64,
    pub targets: Vec<AlertTarget>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            dedupe_minutes: 30,
            silence_minutes: 0,
            backing_off_minutes: 10,
            targets: Vec::new(),
        }
    }
}

/// `[[alerts.targets]]`: where alerts go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTarget {
    /// A short name (`ops`, `on-call`).
    pub name: String,
    /// `slack`, `webhook` or `email`.
    pub kind: String,
    /// `info`, `warning` or `critical`: alerts below it skip this target.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Slack: the incoming-webhook URL (a secret); webhook: the endpoint.
    #[serde(default)]
    pub url: Secret,
    #[serde(default)]
    pub url_env: Option<String>,
    /// Webhook: the signing secret (`whsec_…`).
    #[serde(default)]
    pub secret: Secret,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Email: the SMTP relay.
    #[serde(default)]
    pub smtp_host: Option<String>,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (localhost only).
    #[serde(default)]
    pub smtp_security: Option<String>,
    #[serde(default)]
    pub smtp_username: Option<String>,
    #[serde(default)]
    pub smtp_password: Secret,
    #[serde(default)]
    pub smtp_password_env: Option<String>,
    #[serde(default)]
    pub smtp_password_file: Option<PathBuf>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
}

impl AlertTarget {
    pub fn config(&self) -> Result<TargetConfig, ConfigError> {
        let key = |k: &str| format!("alerts.targets.{k}");
        // A credential from its `_env`, `_file` or inline; a missing one is said below, with
        // what the target needs it for.
        let secret = |k: &str, inline: &Secret, env: &Option<String>, file: &Option<PathBuf>| {
            resolve_secret(&key(k), inline, env, file, false)
        };
        let missing = |k: &str, what: &str| ConfigError::Invalid {
            key: key(k),
            message: format!("target {:?} needs {what}", self.name),
        };
        let channel = match self.kind.as_str() {
            "slack" => {
                let url = secret("url", &self.url, &self.url_env, &None)?.ok_or_else(|| {
                    missing("url", "the Slack incoming-webhook URL (url or url_env)")
                })?;
                Channel::Slack(SlackConfig::new(url))
            }
            "webhook" => {
                let url = secret("url", &self.url, &self.url_env, &None)?
                    .ok_or_else(|| missing("url", "the endpoint URL"))?;
                let signing = secret("secret", &self.secret, &self.secret_env, &None)?
                    .ok_or_else(|| missing("secret", "a signing secret (whsec_…)"))?;
                Channel::Webhook(WebhookConfig::new(url.expose().to_string(), signing))
            }
            "email" => {
                let host = self
                    .smtp_host
                    .clone()
                    .ok_or_else(|| missing("smtp_host", "smtp_host"))?;
                let from = self
                    .from
                    .clone()
                    .ok_or_else(|| missing("from", "a from address"))?;
                if self.to.is_empty() {
                    return Err(missing("to", "at least one recipient in to"));
                }
                let mut c = EmailConfig::new(host, from, self.to.clone());
                c.security = match self.smtp_security.as_deref() {
                    None | Some("starttls") => SmtpSecurity::StartTls,
                    Some("tls") => SmtpSecurity::ImplicitTls,
                    Some("none") => SmtpSecurity::None,
                    Some(other) => {
                        return Err(ConfigError::Invalid {
                            key: key("smtp_security"),
                            message: format!("{other:?}: use starttls, tls or none"),
                        })
                    }
                };
                c.port = self.smtp_port.unwrap_or(match c.security {
                    SmtpSecurity::ImplicitTls => 465,
                    SmtpSecurity::None => 25,
                    _ => 587,
                });
                c.username = self.smtp_username.clone();
                c.password = secret(
                    "smtp_password",
                    &self.smtp_password,
                    &self.smtp_password_env,
                    &self.smtp_password_file,
                )?;
                Channel::Email(c)
            }
            other => {
                return Err(ConfigError::Invalid {
                    key: key("kind"),
                    message: format!("{other:?}: use slack, webhook or email"),
                })
            }
        };
        let mut target = TargetConfig::new(self.name.clone(), channel);
        if let Some(s) = &self.min_severity {
            target.min_severity = Severity::parse(s).ok_or_else(|| ConfigError::Invalid {
                key: key("min_severity"),
                message: format!("{s:?}: use info, warning or critical"),
            })?;
        }
        Ok(target)
    }
}

impl AlertSettings {
    pub fn config(&self) -> Result<NotifyConfig, ConfigError> {
        Ok(NotifyConfig {
            targets: self
                .targets
                .iter()
                .map(AlertTarget::config)
                .collect::<Result<_, _>>()?,
            dedupe_window: Duration::from_secs(self.dedupe_minutes * 60),
            ..NotifyConfig::default()
        })
    }
}

/// Raises alerts through the configured targets (or only logs them when there are none).
pub struct Alerts {
    dispatcher: Option<Dispatcher>,
    /// Kept alerts this process handed to the targets and the store has not marked settled
    /// yet: never sent again from the store while they are on their way (`kept.rs`).
    kept_in_flight: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Since when each connector has been backing off.
    backing_off_since: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    settings: AlertSettings,
}

impl Alerts {
    /// Starts the dispatcher (needs a tokio runtime).
    pub fn start(settings: &AlertSettings) -> Result<Alerts, ConfigError> {
        let config = settings.config()?;
        let dispatcher = if config.targets.is_empty() {
            None
        } else {
            Some(
                Dispatcher::start(&config).map_err(|e| ConfigError::Invalid {
                    key: "alerts.targets".into(),
                    message: e.to_string(),
                })?,
            )
        };
        Ok(Alerts {
            dispatcher,
            kept_in_flight: Arc::default(),
            backing_off_since: Mutex::new(HashMap::new()),
            settings: settings.clone(),
        })
    }

    /// Alerts that are only logged (tests, the CLI).
    pub fn log_only() -> Alerts {
        Alerts {
            dispatcher: None,
            kept_in_flight: Arc::default(),
            backing_off_since: Mutex::new(HashMap::new()),
            settings: AlertSettings::default(),
        }
    }

    pub fn raise(&self, alert: Alert) -> Option<Dispatched> {
        tracing::warn!(title = %alert.title, key = %alert.dedupe_key, "alert");
        self.dispatcher.as_ref().map(|d| d.dispatch(alert))
    }

    pub fn status(&self) -> Option<DispatcherStats> {
        self.dispatcher.as_ref().map(Dispatcher::status)
    }

    /// Looks at every connector's health once and raises what needs a person: refused
    /// credentials, a connector that cannot reconnect, a connector gone silent.
    pub fn check_connectors(
        &self,
        health: &[Health],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Alert> {
        let mut raised = Vec::new();
        let mut since = self
            .backing_off_since
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for h in health {
            let r = h.report();
            let error = r
                .last_error
                .clone()
                .unwrap_or_else(|| "no error recorded".into());
            match r.state {
                ConnectorState::Failing => raised.push(Alert::credentials_failing(&r.name, &error)),
                ConnectorState::BackingOff => {
                    let start = *since.entry(r.name.clone()).or_insert(now);
                    if now - start
                        >= chrono::Duration::minutes(self.settings.backing_off_minutes as i64)
                    {
                        raised.push(Alert::connector_down(&r.name, &error));
                    }
                }
                ConnectorState::Connected => {
                    since.remove(&r.name);
                    let silence = self.settings.silence_minutes;
                    if silence > 0 {
                        let quiet_since = r.last_event_at;
                        if quiet_since
                            .is_some_and(|t| now - t >= chrono::Duration::minutes(silence as i64))
                        {
                            raised.push(Alert::connector_down(
                                &r.name,
                                &format!("connected, but nothing heard for {silence} minutes"),
                            ));
                        }
                    }
                }
                ConnectorState::Starting | ConnectorState::Stopped => {}
            }
        }
        drop(since);
        for alert in &raised {
            self.raise(alert.clone());
        }
        raised
    }
}

/// Sends a test alert to each configured target (`earshot alerts test`).
pub async fn test_targets(
    settings: &AlertSettings,
) -> Result<Vec<(String, Result<String, String>)>, ConfigError> {
    let mut out = Vec::new();
    for t in &settings.targets {
        let config = t.config()?;
        let result = notify::check(&config).await.map_err(|e| e.to_string());
        out.push((config.full_name(), result));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_that_need_a_person_raise_alerts_once_they_matter() {
        let alerts = Alerts::log_only();
        let now = chrono::Utc::now();
        let refused = Health::new("mastodon:acme");
        refused.failed("the access token is invalid", None);
        let flapping = Health::new("x:acme");
        flapping.failed("503", Some(Duration::from_secs(5)));
        let fine = Health::new("bluesky:acme");
        fine.connected();
        fine.heard(1);
        let raised =
            alerts.check_connectors(&[refused.clone(), flapping.clone(), fine.clone()], now);
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].dedupe_key, "credentials-failing:mastodon:acme");
        // Still backing off ten minutes later: now it is down.
        let later = now + chrono::Duration::minutes(11);
        let raised = alerts.check_connectors(&[flapping], later);
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].dedupe_key, "connector-down:x:acme");
    }

    #[test]
    fn targets_are_checked_with_the_key_to_fix() {
        let t: AlertTarget = toml::from_str("name = \"ops\"\nkind = \"slack\"").unwrap();
        let err = t.config().unwrap_err().to_string();
        assert!(err.contains("alerts.targets.url"), "{err}");
        let t: AlertTarget = toml::from_str("name = \"ops\"\nkind = \"pager\"").unwrap();
        assert!(t
            .config()
            .unwrap_err()
            .to_string()
            .contains("slack, webhook or email"));
        let t: AlertTarget = toml::from_str(
            "name = \"mail\"\nkind = \"email\"\nsmtp_host = \"localhost\"\nsmtp_security = \"none\"\nfrom = \"earshot@example.com\"\nto = [\"ops@example.com\"]",
        )
        .unwrap();
        assert!(t.config().is_ok());
    }
}
