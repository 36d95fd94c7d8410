//! `[brand]`: who the brand is on the networks.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandSettings {
    /// The brand's own accounts (without `@`): their posts are answers, not customer posts.
    pub handles: Vec<String>,
    /// Names people write when they talk about the brand.
    pub names: Vec<String>,
    /// Product names and topics worth flagging.
    pub keywords: Vec<String>,
    /// The team's language (ISO 639-1, e.g. `en`, `da`): request titles are taken from asks
    /// written in it. English when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl BrandSettings {
    /// The team's language code (`en` when unset).
    pub fn team_language(&self) -> &str {
        self.language.as_deref().unwrap_or("en")
    }
}
