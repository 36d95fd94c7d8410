//! The gateway's cursor: the session to resume, the last sequence number and each channel's
//! last message id, stored with each delivery.

use crate::discord::rest::snowflake;
use crate::stored_cursor::StoredCursor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the source stores as its cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub v: u32,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub resume_gateway_url: Option<String>,
    #[serde(default)]
    pub seq: Option<u64>,
    /// Channel id → the last message id handed to the sink.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
}

impl StoredCursor for Cursor {
    fn version(&self) -> u32 {
        self.v
    }
}

impl Cursor {
    pub(super) fn forget_session(&mut self) {
        self.session_id = None;
        self.resume_gateway_url = None;
        self.seq = None;
    }

    /// Whether `id` in `channel` was handed over before.
    pub(super) fn seen(&self, channel: &str, id: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|last| snowflake(id) <= snowflake(last))
    }

    pub(super) fn advance(&mut self, channel: &str, id: &str) {
        if !self.seen(channel, id) {
            self.channels.insert(channel.to_owned(), id.to_owned());
        }
    }
}
