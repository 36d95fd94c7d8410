//! `[webhook]`: the signed `POST /api/v1/posts` endpoint, and where replies to posts from a
//! webhook source are handed.

use super::{ConfigError, Secret};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
