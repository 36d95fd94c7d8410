//! `[api]`: the bearer token for scripts that act as `api`.

use super::Secret;
use serde::{Deserialize, Serialize};

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
