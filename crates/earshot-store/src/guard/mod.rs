//! What keeps strangers out and must hold across processes (migration 0011): sign-in
//! throttling per (user name, client address), and the signed deliveries already taken, so a
//! captured webhook cannot be played again.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

mod sql;

/// Whether a sign-in attempt may be checked now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginTurn {
    /// Check it: `failures` in a row came before. The turn is booked as a failure (with its
    /// wait) until [`GuardStore::clear_login_failures`] says it succeeded, so parallel
    /// attempts cannot slip in under the same count.
    Go { failures: u32 },
    /// Too soon after the last failure: not checked at all.
    Wait { until: DateTime<Utc>, failures: u32 },
}

#[async_trait]
pub trait GuardStore: Send + Sync {
    /// Takes a sign-in attempt's turn under `key`, atomically: `Wait` while the previous
    /// failure's wait runs; otherwise counts this attempt as failure number `failures + 1`,
    /// books the next turn `wait_after(failures + 1)` from `now`, and answers `Go`.
    async fn take_login_turn(
        &self,
        key: &str,
        wait_after: fn(u32) -> Duration,
        now: DateTime<Utc>,
    ) -> Result<LoginTurn, StoreError>;

    /// The attempt succeeded: the count under `key` starts again from zero.
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Remembers a signed delivery until `expires_at`. `true` the first time; `false` when the
    /// same `(source, id)` was taken before and has not expired — a replay.
    async fn remember_delivery(
        &self,
        source: &str,
        id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Forgets a delivery (its processing failed, so the sender's retry must be taken).
    async fn forget_delivery(&self, source: &str, id: &str) -> Result<(), StoreError>;

    /// Drops expired deliveries and throttling rows untouched for a day; returns how many.
    async fn prune_guards(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The longest delivery id kept (Standard Webhooks ids and GitHub's GUIDs are far shorter).
pub const DELIVERY_ID_MAX_BYTES: usize = 200;

pub(crate) fn check_delivery_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > DELIVERY_ID_MAX_BYTES {
        return Err(StoreError::Invalid(format!(
            "a delivery id must be 1–{DELIVERY_ID_MAX_BYTES} bytes"
        )));
    }
    Ok(())
}
