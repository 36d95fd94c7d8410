//! Settings: one TOML file, then environment overrides (`EARSHOT__SECTION__KEY=value`),
//! checked at load so a typo names its key instead of failing later.

use earshot_analyze::Terms;
use earshot_core::threading::{BrandIdentity, TriagePolicy};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use crate::settings::{
    check_webhook_secret, redact_url, BrandSettings, ConfigError, HttpSettings, ResponseSettings,
    Secret, StoreSettings,
};

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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Shared secret for signed `POST /api/v1/posts` (`whsec_<base64>` or plain text).
    /// Empty: the endpoint refuses every request.
    pub secret: Secret,
    /// Read the secret from this file instead (trailing newline ignored).
    pub secret_file: Option<PathBuf>,
    /// How old (or how far in the future) a signature's timestamp may be.
    pub tolerance_seconds: u64,
    /// Largest accepted body.
    pub max_body_bytes: usize,
    /// Where replies to posts from a webhook source (network `webhook`) are handed, signed
    /// with Standard Webhooks headers. Empty: such replies are stored as `not_sent`.
    pub reply_url: String,
    /// The signing secret for `reply_url` (`whsec_<base64>`, at least 24 bytes).
    pub reply_secret: Secret,
    /// Or: the name of an environment variable holding it.
    pub reply_secret_env: Option<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            secret: Secret::default(),
            secret_file: None,
            tolerance_seconds: 300,
            max_body_bytes: 1024 * 1024,
            reply_url: String::new(),
            reply_secret: Secret::default(),
            reply_secret_env: None,
        }
    }
}

impl WebhookSettings {
    /// The reply secret, from the file or the named environment variable.
    pub fn reply_secret(&self) -> Result<Secret, ConfigError> {
        match &self.reply_secret_env {
            Some(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| ConfigError::Invalid {
                    key: "webhook.reply_secret_env".into(),
                    message: format!("environment variable {var} is not set"),
                }),
            None => Ok(self.reply_secret.clone()),
        }
    }
}

/// The shortest `api.token` accepted: it opens the whole API.
pub const MIN_API_TOKEN_CHARS: usize = 24;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// A bearer token for scripts that act as `api` (not as a person). Empty: only people's
    /// sessions and the API tokens admins create in Settings open the API — it is never open
    /// without one of them.
    pub token: Secret,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectorSettings {
    /// `[[connectors.mastodon]]` blocks, one per brand account.
    pub mastodon: Vec<MastodonSettings>,
    /// `[[connectors.bluesky]]`: Jetstream listening and replies through an app password.
    pub bluesky: Vec<crate::network_settings::BlueskySettings>,
    /// `[[connectors.x]]`: the filtered stream (or polling) and replies.
    pub x: Vec<crate::network_settings::XSettings>,
    /// `[[connectors.reddit]]`: subreddits and searches, replies as the brand account.
    pub reddit: Vec<crate::network_settings::RedditSettings>,
    /// `[[connectors.discord]]`: a bot in the brand's Discord server, replies as it.
    pub discord: Vec<crate::network_settings::DiscordSettings>,
    /// `[[connectors.telegram]]`: a bot in the brand's groups and channels, replies as it.
    pub telegram: Vec<crate::network_settings::TelegramSettings>,
    /// `[[connectors.appstore]]`: one app's App Store reviews, answered with an API key.
    #[serde(default)]
    pub appstore: Vec<crate::network_settings::AppStoreSettings>,
    /// `[[connectors.googleplay]]`: one app's Google Play reviews, answered as a service account.
    #[serde(default)]
    pub googleplay: Vec<crate::review_settings::GooglePlaySettings>,
    /// `[[connectors.youtube]]`: comments on one brand channel's videos, answered as it.
    #[serde(default)]
    pub youtube: Vec<crate::review_settings::YouTubeSettings>,
    /// `[[connectors.rss]]`: review sites, blogs and forums (listening only).
    pub rss: Vec<crate::network_settings::RssSettings>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonSettings {
    /// The instance the brand account lives on, e.g. `https://mastodon.social`.
    pub base_url: String,
    /// The brand account (`acme`), whose mentions are heard and as whom replies are posted.
    pub brand_acct: String,
    /// The access token (scopes read:statuses read:notifications write:statuses).
    #[serde(default)]
    pub access_token: Secret,
    /// Or: the name of an environment variable holding it (kept out of the file).
    #[serde(default)]
    pub access_token_env: Option<String>,
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// How often to reconcile over REST even while the stream looks healthy.
    #[serde(default = "default_poll_seconds")]
    pub poll_interval_seconds: u64,
    /// No byte (event or heartbeat) for this long means the stream is dead.
    #[serde(default = "default_stall_seconds")]
    pub stall_timeout_seconds: u64,
    /// How the live streams are read: `sse` (default) or `websocket`.
    #[serde(default)]
    pub transport: Option<String>,
    /// How many recent mentions (and tagged posts) a first start takes in (default 40).
    #[serde(default)]
    pub history: Option<u32>,
}

fn default_poll_seconds() -> u64 {
    600
}

fn default_stall_seconds() -> u64 {
    45
}

impl MastodonSettings {
    /// The token, from the file or the named environment variable.
    pub fn token(&self) -> Result<String, ConfigError> {
        if let Some(var) = &self.access_token_env {
            return std::env::var(var).map_err(|_| ConfigError::Invalid {
                key: "connectors.mastodon.access_token_env".into(),
                message: format!("environment variable {var} is not set"),
            });
        }
        if self.access_token.is_empty() {
            return Err(ConfigError::Invalid {
                key: "connectors.mastodon.access_token".into(),
                message: format!(
                    "no token for {}: set access_token or access_token_env",
                    self.brand_acct
                ),
            });
        }
        Ok(self.access_token.expose().to_string())
    }
}

impl Settings {
    /// Reads `path` if given (or `earshot.toml` if it exists), then applies `EARSHOT__…` overrides.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut table = match path {
            Some(p) => read_table(p)?,
            None if Path::new("earshot.toml").exists() => read_table(Path::new("earshot.toml"))?,
            None => toml::Table::new(),
        };
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("EARSHOT__") else {
                continue;
            };
            let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &parts, &value);
        }
        let source = || {
            path.map(|p| p.display().to_string())
                .unwrap_or_else(|| "settings".into())
        };
        // The path to the failing key is tracked so a typo can be named with its section.
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e: serde_path_to_error::Error<toml::de::Error>| {
                let message = e.inner().message().to_string();
                match unknown_key(&e.path().to_string(), &message) {
                    Some(message) => ConfigError::UnknownKey {
                        path: source(),
                        message,
                    },
                    None => ConfigError::Parse {
                        path: source(),
                        message,
                    },
                }
            })?;
        if let Some(file) = &settings.webhook.secret_file {
            let s = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            settings.webhook.secret = Secret::new(s.trim_end());
        }
        settings.check()?;
        Ok(settings)
    }

    /// Checks what can be checked without starting anything; the message names the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.triage_policy()?;
        self.housekeeping.every()?;
        if let Some(triage) = self.triage()? {
            // Accepted but worth a look (an .ics event skipped): said, not refused.
            for w in &triage.warnings {
                tracing::warn!(warning = %w, "triage");
            }
        }
        for m in &self.connectors.mastodon {
            m.token()?;
            if !(m.base_url.starts_with("http://") || m.base_url.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    key: "connectors.mastodon.base_url".into(),
                    message: format!("{:?} is not an http(s) URL", m.base_url),
                });
            }
        }
        for b in &self.connectors.bluesky {
            b.config()?;
        }
        for x in &self.connectors.x {
            x.config()?;
        }
        for r in &self.connectors.reddit {
            r.config()?;
        }
        for t in &self.connectors.telegram {
            t.config()?;
        }
        for d in &self.connectors.discord {
            d.config()?;
        }
        for a in &self.connectors.appstore {
            a.config()?;
        }
        for g in &self.connectors.googleplay {
            g.config()?;
        }
        for y in &self.connectors.youtube {
            y.config()?;
        }
        for f in &self.connectors.rss {
            f.config()?;
        }
        self.alerts.config()?;
        self.survey.check()?;
        self.mode()?;
        self.store.check(&self.db_url())?;
        if let Some(l) = &self.brand.language {
            if earshot_analyze::lang::Lang::from_code(l).is_none() {
                return Err(ConfigError::Invalid {
                    key: "brand.language".into(),
                    message: format!(
                        "{l:?} is not a language earshot reads: use en, da, no, sv, de, nl, fr, es, pt or it"
                    ),
                });
            }
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "listen".into(),
                message: format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
            });
        }
        check_webhook_secret("webhook.secret", self.webhook.secret.expose())?;
        self.check_api_token()?;
        if !self.webhook.reply_url.trim().is_empty() {
            let secret = self.webhook.reply_secret()?;
            if secret.is_empty() {
                return Err(ConfigError::Invalid {
                    key: "webhook.reply_secret".into(),
                    message: "webhook.reply_url needs a signing secret (whsec_<base64> of at least 24 bytes)".into(),
                });
            }
            check_webhook_secret("webhook.reply_secret", secret.expose())?;
        }
        if self.tracker.webhook_secret_env.is_none() {
            check_webhook_secret(
                "tracker.webhook_secret",
                self.tracker.webhook_secret.expose(),
            )?;
        }
        self.http_policy()?;
        self.check_listen()?;
        if self.webhook.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "webhook.max_body_bytes".into(),
                message: "must be at least 1024".into(),
            });
        }
        Ok(())
    }

    /// `api.token`, when set, is long enough not to be guessed.
    pub fn check_api_token(&self) -> Result<(), ConfigError> {
        let chars = self.api.token.expose().chars().count();
        if chars > 0 && chars < MIN_API_TOKEN_CHARS {
            return Err(ConfigError::Invalid {
                key: "api.token".into(),
                message: format!(
                    "the token is {chars} characters; it must be at least {MIN_API_TOKEN_CHARS} (e.g. `openssl rand -base64 32`)"
                ),
            });
        }
        Ok(())
    }

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

fn serialize_redacted_bus<S: serde::Serializer>(
    bus: &crate::cluster::BusSettings,
    s: S,
) -> Result<S::Ok, S::Error> {
    let shown = crate::cluster::BusSettings {
        url: redact_url(&bus.url),
        ..bus.clone()
    };
    shown.serialize(s)
}

fn serialize_redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

/// "unknown key `x` in [section]; known keys: a, b" from serde's "unknown field `x`,
/// expected one of `a`, `b`" and the path to the key (`brand.x`, `connectors.mastodon[0].x`).
fn unknown_key(path: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|k| !k.is_empty())
        .collect();
    let section = path.strip_suffix(key).unwrap_or(path).trim_end_matches('.');
    let place = if section.is_empty() || section == "." {
        "at the top level".to_string()
    } else if let Some((table, index)) = section
        .strip_suffix(']')
        .and_then(|s| s.rsplit_once('['))
        .and_then(|(t, i)| Some((t, i.parse::<usize>().ok()?)))
    {
        format!("in [[{table}]] #{}", index + 1)
    } else {
        format!("in [{section}]")
    };
    Some(if known.is_empty() {
        format!("unknown key `{key}` {place}; this section takes no keys")
    } else {
        format!(
            "unknown key `{key}` {place}; known keys: {}",
            known.join(", ")
        )
    })
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // The error names the line and column but never quotes it: the line may hold a password
    // (`db = "postgres://me:secret@…`) or a token.
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(&text);
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                format!("line {line}, column {column}: {}", e.message())
            }
            None => e.message().to_string(),
        },
    })
}

/// Sets a nested key from an environment value: TOML syntax if it parses (numbers, arrays,
/// booleans), a plain string otherwise.
fn set_path(table: &mut toml::Table, parts: &[String], raw: &str) {
    let Some((last, head)) = parts.split_last() else {
        return;
    };
    let mut cur = table;
    for p in head {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        match entry.as_table_mut() {
            Some(t) => cur = t,
            None => return,
        }
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    cur.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::sla::SlaClock;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_valid() {
        let s = Settings::load_with_env(None, env(&[])).expect("defaults load");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert!(s.db_url().ends_with("earshot.db"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("earshot.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\n[brand]\nhandles = [\"acme\"]\n[response]\nclock = \"business\"\ntimezone = \"Europe/Copenhagen\"\n[response.hours]\nmon-fri = \"09:00-17:00\"\n",
        )
        .expect("write");
        let s = Settings::load_with_env(
            Some(&path),
            env(&[
                ("EARSHOT__LISTEN", "127.0.0.1:9100"),
                (
                    "EARSHOT__WEBHOOK__SECRET",
                    "s3cr3t-long-enough-to-sign-with",
                ),
                ("EARSHOT__RESPONSE__TARGETS__URGENT_MINUTES", "15"),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("load");
        assert_eq!(s.listen, "127.0.0.1:9100");
        assert_eq!(s.webhook.secret.expose(), "s3cr3t-long-enough-to-sign-with");
        assert_eq!(s.response.targets.urgent_minutes, 15);
        assert_eq!(s.brand.handles, vec!["acme".to_string()]);
        assert!(matches!(
            s.triage_policy().expect("policy").clock,
            SlaClock::Business(_)
        ));
        // Secrets never print.
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert!(!serde_json::to_string(&s).expect("json").contains("s3cr3t"));
        let err = Settings::load_with_env(None, env(&[("EARSHOT__API__TOKEN", "letmein")]))
            .expect_err("short token");
        assert!(err.to_string().contains("api.token"), "{err}");
        // Too short to sign with: refused, naming the key.
        let err = Settings::load_with_env(None, env(&[("EARSHOT__WEBHOOK__SECRET", "s3cr3t")]))
            .expect_err("short secret");
        assert!(err.to_string().contains("webhook.secret"), "{err}");
    }

    #[test]
    fn the_teams_language_is_one_earshot_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("earshot.toml");
        std::fs::write(&path, "[brand]\nlanguage = \"da\"\n").expect("write");
        let s = Settings::load_with_env(Some(&path), env(&[])).expect("load");
        assert_eq!(s.brand.team_language(), "da");
        assert!(s.check().is_ok());
        assert_eq!(Settings::default().brand.team_language(), "en");
        std::fs::write(&path, "[brand]\nlanguage = \"klingon\"\n").expect("write");
        let err = Settings::load_with_env(Some(&path), env(&[]))
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("brand.language") && err.contains("en, da"),
            "{err}"
        );
    }

    #[test]
    fn database_passwords_never_print() {
        let s = Settings {
            db: "postgres://me:hunter2@db/earshot".into(),
            ..Settings::default()
        };
        assert!(!toml::to_string(&s).expect("toml").contains("hunter2"));
    }

    #[test]
    fn a_broken_line_is_located_but_never_quoted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("earshot.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:8080\"\ndb = \"postgres://me:hunter2@db/earshot\n",
        )
        .expect("write");
        let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("broken");
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn mistakes_name_their_key() {
        let err = Settings::load_with_env(None, env(&[("EARSHOT__RESPONSE__CLOCK", "lunar")]))
            .expect_err("bad clock");
        assert!(err.to_string().contains("response.clock"), "{err}");
        let err = Settings::load_with_env(None, env(&[("EARSHOT__LISTEN", "everywhere")]))
            .expect_err("bad listen");
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Settings::load_with_env(None, env(&[("EARSHOT__BRAND__HANDEL", "x")]))
            .expect_err("typo");
        assert!(err.to_string().contains("handel"), "{err}");
        let err = Settings::load_with_env(None, env(&[("EARSHOT__RESPONSE__CLOCK", "business")]))
            .expect_err("no hours");
        assert!(err.to_string().contains("response.hours"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_section_and_the_known_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("earshot.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\n[brand]\nhandels = [\"acme\"]\n",
        )
        .expect("write");
        let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("typo");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: unknown key `handels` in [brand]; known keys: handles, names, keywords, language",
                path.display()
            )
        );
        let err = Settings::load_with_env(None, env(&[("EARSHOT__LISTNE", "127.0.0.1:1")]))
            .expect_err("typo at the top");
        let msg = err.to_string();
        assert!(!msg.contains("TOML"), "{msg}");
        assert!(
            msg.contains("unknown key `listne` at the top level; known keys: listen, data_dir, db"),
            "{msg}"
        );
        // Inside an array of tables, the block is named by its position.
        std::fs::write(
            &path,
            "[[connectors.mastodon]]\nbase_url = \"https://m.example\"\nbrand_acct = \"acme\"\nacess_token = \"t\"\n",
        )
        .expect("write");
        let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("typo in a block");
        let msg = err.to_string();
        assert!(msg.contains("unknown key `acess_token` in [[connectors.mastodon]] #1; known keys: base_url, brand_acct, access_token"), "{msg}");
    }
}
