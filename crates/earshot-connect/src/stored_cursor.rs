//! A cursor a source stores as JSON beside its deliveries, with its format's version in `v`
//! (Discord's gateway, Telegram's offset, the review walks).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The version every such cursor is written and read at.
pub const VERSION: u32 = 1;

/// A cursor stored as versioned JSON. One that does not read back, or is of another
/// version, is not ours: the source then starts afresh rather than trust it.
pub trait StoredCursor: Serialize + DeserializeOwned {
    /// The version this cursor says it is (its `v`).
    fn version(&self) -> u32;

    fn parse(stored: &str) -> Option<Self> {
        serde_json::from_str::<Self>(stored)
            .ok()
            .filter(|c| c.version() == VERSION)
    }

    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
