//! What every settings section shares: [`ConfigError`], [`Secret`], the webhook-secret rule,
//! and the sections the running parts read (`[brand]`, `[response]`, `[http]`, `[store]`,
//! `[webhook]`, `[api]`), one file each. `config` assembles the whole file from these and from
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
pub use http::HttpSettings;
pub use redact::redact_url;
pub use response::ResponseSettings;
pub use store::StoreSettings;
pub use webhook::WebhookSettings;

use serde::{Deserialize, Serialize};
use std::fmt;
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

/// A secret that never prints: `Debug` and `Display` show `***`, serialising writes nothing useful.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
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
