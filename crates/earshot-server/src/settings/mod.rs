//! What every settings section shares: [`ConfigError`], [`Secret`] (earshot-core's),
//! [`resolve_secret`], the webhook-secret rule, and the sections the running parts read
//! (`[brand]`, `[response]`, `[http]`, `[store]`, `[webhook]`, `[api]`), one file each. `config` assembles the whole file from these and from
//! the sections features own (`[alerts]`, `[survey]`, `[tracker]`, the connectors'); this
//! module imports none of them, so a feature can read its settings without reaching up to
//! the whole file.

mod api;
mod brand;
mod http;
mod redact;
mod response;
mod store;
mod webhook;

pub use api::{ApiSettings, MIN_API_TOKEN_CHARS};
pub use brand::BrandSettings;
pub use earshot_core::Secret;
pub use http::HttpSettings;
pub use redact::redact_url;
pub use response::ResponseSettings;
pub use store::StoreSettings;
pub use webhook::WebhookSettings;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    /// A key no section knows (a typo, or a setting of another version).
    #[error("{path}: {message}")]
    UnknownKey { path: String, message: String },
    #[error("setting {key}: {message}")]
    Invalid { key: String, message: String },
}

/// A credential from where the settings say: the environment variable `env` names, else the
/// file `file` names (its trailing newline dropped), else `inline`. `None` when none is set;
/// an error naming the key to fix when a named variable or file is missing, or when the
/// credential is `required` and nothing is set.
pub(crate) fn resolve_secret(
    key: &str,
    inline: &Secret,
    env: &Option<String>,
    file: &Option<PathBuf>,
    required: bool,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(var) = env {
        return std::env::var(var)
            .map(|v| Some(Secret::new(v)))
            .map_err(|_| ConfigError::Invalid {
                key: format!("{key}_env"),
                message: format!("environment variable {var} is not set"),
            });
    }
    if let Some(path) = file {
        return std::fs::read_to_string(path)
            .map(|v| Some(Secret::new(v.trim_end())))
            .map_err(|e| ConfigError::Invalid {
                key: format!("{key}_file"),
                message: format!("cannot read {}: {e}", path.display()),
            });
    }
    if inline.is_empty() {
        if required {
            return Err(ConfigError::Invalid {
                key: key.into(),
                message: format!("missing: set {key}, {key}_env or {key}_file"),
            });
        }
        return Ok(None);
    }
    Ok(Some(inline.clone()))
}

/// Checks a webhook signing secret: at least [`crate::signature::MIN_SECRET_BYTES`] bytes of
/// key (after decoding `whsec_<base64>`), so it cannot be guessed. An empty one is left to
/// the caller (it means "not configured").
pub fn check_webhook_secret(key: &str, secret: &str) -> Result<(), ConfigError> {
    if secret.is_empty() {
        return Ok(());
    }
    crate::signature::key_bytes(secret)
        .map(|_| ())
        .map_err(|e| ConfigError::Invalid {
            key: key.into(),
            message: e.to_string(),
        })
}
