//! `[[connectors.googleplay]]` and `[[connectors.youtube]]` in earshot.toml, turned into the
//! connectors' own configs. Credentials come as in [`crate::network_settings`]: env, file or
//! inline, and errors name the key to fix, never the secret.

use crate::network_settings::url;
use crate::settings::{resolve_secret as resolve, ConfigError, Secret};
use earshot_connect::googleplay::GooglePlayConfig;
use earshot_connect::youtube::YouTubeConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[[connectors.googleplay]]`: one app's Google Play reviews, answered as a service account.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GooglePlaySettings {
    /// The app's package name (`com.acme.kettle`).
    pub package_name: String,
    /// The service account's JSON key; better `service_account_key_file` or `_env`.
    #[serde(default)]
    pub service_account_key: Secret,
    #[serde(default)]
    pub service_account_key_env: Option<String>,
    #[serde(default)]
    pub service_account_key_file: Option<PathBuf>,
    /// The time between two reads of the newest reviews. Google lists only the last week.
    #[serde(default = "default_play_poll")]
    pub poll_interval_seconds: u64,
    /// List requests earshot allows itself per hour (Play's quota: 200 per app, shared).
    #[serde(default = "default_play_gets")]
    pub requests_per_hour: u32,
    /// Ask Google to translate reviews into this language (BCP-47); the original is kept.
    #[serde(default)]
    pub translation_language: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
}

fn default_play_poll() -> u64 {
    300
}

fn default_play_gets() -> u32 {
    200
}

impl GooglePlaySettings {
    pub fn config(&self) -> Result<GooglePlayConfig, ConfigError> {
        let key = resolve(
            "connectors.googleplay.service_account_key",
            &self.service_account_key,
            &self.service_account_key_env,
            &self.service_account_key_file,
            true,
        )?
        .unwrap_or_default();
        let mut c = GooglePlayConfig::new(self.package_name.clone(), key);
        // Each walk costs at least one of the hour's requests: a minute is the least wait.
        c.poll_interval = Duration::from_secs(self.poll_interval_seconds.max(60));
        c.gets_per_hour = self.requests_per_hour.max(1);
        c.translation_language = self.translation_language.clone();
        if let Some(u) = &self.api_url {
            url("connectors.googleplay.api_url", u)?;
            c.api_url = u.clone();
        }
        if let Some(u) = &self.token_url {
            url("connectors.googleplay.token_url", u)?;
            c.token_url = Some(u.clone());
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("connectors.googleplay ({})", self.package_name.trim()),
                message: problems.join("; "),
            });
        }
        Ok(c)
    }
}

/// `[[connectors.youtube]]`: the comments on one brand channel's videos, answered as it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct YouTubeSettings {
    /// The channel's id (`UC…`, YouTube Studio → Settings → Channel → Advanced settings).
    pub channel_id: String,
    /// The OAuth client (Google Cloud Console → Credentials) the owner consented to.
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Secret,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The channel owner's refresh token (scope youtube.force-ssl, offline access).
    #[serde(default)]
    pub refresh_token: Secret,
    #[serde(default)]
    pub refresh_token_env: Option<String>,
    #[serde(default)]
    pub refresh_token_file: Option<PathBuf>,
    #[serde(default = "default_youtube_poll")]
    pub poll_interval_seconds: u64,
    /// The project's daily quota units (10,000 unless Google granted more).
    #[serde(default = "default_youtube_units")]
    pub daily_units: u32,
    /// Units listening may not spend: kept for replies (50 each).
    #[serde(default = "default_youtube_reserve")]
    pub reply_reserve: u32,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
}

fn default_youtube_poll() -> u64 {
    120
}

fn default_youtube_units() -> u32 {
    10_000
}

fn default_youtube_reserve() -> u32 {
    2_500
}

impl YouTubeSettings {
    pub fn config(&self) -> Result<YouTubeConfig, ConfigError> {
        let secret = |key: &str, inline, env, file| {
            Ok::<_, ConfigError>(resolve(key, inline, env, file, true)?.unwrap_or_default())
        };
        let client_secret = secret(
            "connectors.youtube.client_secret",
            &self.client_secret,
            &self.client_secret_env,
            &self.client_secret_file,
        )?;
        let refresh_token = secret(
            "connectors.youtube.refresh_token",
            &self.refresh_token,
            &self.refresh_token_env,
            &self.refresh_token_file,
        )?;
        let mut c = YouTubeConfig::new(
            self.channel_id.clone(),
            self.client_id.clone(),
            client_secret,
            refresh_token,
        );
        // A thread page costs a unit: a walk a minute at the least (1,440 units a day).
        c.poll_interval = Duration::from_secs(self.poll_interval_seconds.max(60));
        c.daily_units = self.daily_units;
        c.reply_reserve = self.reply_reserve;
        if let Some(u) = &self.api_url {
            url("connectors.youtube.api_url", u)?;
            c.api_url = u.clone();
        }
        if let Some(u) = &self.token_url {
            url("connectors.youtube.token_url", u)?;
            c.token_url = u.clone();
        }
        let problems = c.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                key: format!("connectors.youtube ({})", self.channel_id.trim()),
                message: problems.join("; "),
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_googleplay_section_becomes_a_config_and_a_bad_key_names_the_setting_not_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("play-key.json");
        let key = earshot_connect::google::token::testing::key_file("a@b.iam", "http://t/token");
        std::fs::write(&file, key.expose()).unwrap();
        let s: GooglePlaySettings = toml::from_str(&format!(
            "package_name = \"com.acme.kettle\"\nservice_account_key_file = {:?}\npoll_interval_seconds = 5",
            file.display().to_string()
        ))
        .unwrap();
        let c = s.config().unwrap();
        assert_eq!(c.source_name(), "googleplay:com.acme.kettle");
        assert_eq!(
            c.poll_interval,
            Duration::from_secs(60),
            "raised to a minute"
        );
        let bad: GooglePlaySettings = toml::from_str(
            "package_name = \"com.acme.kettle\"\nservice_account_key = \"{\\\"private_key\\\": \\\"c2VjcmV0aXNo\\\"}\"",
        )
        .unwrap();
        let e = bad.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.googleplay") && e.contains("JSON key"),
            "{e}"
        );
        assert!(!e.contains("c2VjcmV0aXNo"), "{e}");
        let missing: GooglePlaySettings =
            toml::from_str("package_name = \"com.acme.kettle\"").unwrap();
        let e = missing.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.googleplay.service_account_key"),
            "{e}"
        );
    }

    #[test]
    fn a_youtube_section_becomes_a_config_and_errors_name_the_setting_not_the_secret() {
        let y: YouTubeSettings = toml::from_str(
            "channel_id = \"UCx7Ab3kQ9mZ2pL5nR8tV1wY\"\nclient_id = \"1.apps.googleusercontent.com\"\nclient_secret = \"GOCSPX-zzz\"\nrefresh_token = \"1//0rt\"",
        )
        .unwrap();
        let c = y.config().unwrap();
        assert_eq!(c.source_name(), "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY");
        assert_eq!((c.daily_units, c.reply_reserve), (10_000, 2_500));
        let bad: YouTubeSettings = toml::from_str(
            "channel_id = \"acme\"\nclient_id = \"1\"\nclient_secret = \"GOCSPX-zzz\"\nrefresh_token = \"1//0rt\"",
        )
        .unwrap();
        let e = bad.config().unwrap_err().to_string();
        assert!(
            e.contains("connectors.youtube") && e.contains("channel_id"),
            "{e}"
        );
        assert!(!e.contains("GOCSPX-zzz") && !e.contains("1//0rt"), "{e}");
        let missing: YouTubeSettings =
            toml::from_str("channel_id = \"UCx7Ab3kQ9mZ2pL5nR8tV1wY\"\nclient_id = \"1\"").unwrap();
        let e = missing.config().unwrap_err().to_string();
        assert!(e.contains("connectors.youtube.client_secret"), "{e}");
    }
}
