//! [`Settings::check`]: what can be checked without starting anything, each message naming
//! its key.

use super::{Settings, MIN_API_TOKEN_CHARS};
use crate::settings::{check_webhook_secret, ConfigError};

impl Settings {
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
        self.connectors.check()?;
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
}
