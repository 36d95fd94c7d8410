//! [`GuardStore`] on SQLite: the tables of migration 0011. Every write goes through the one
//! writer connection inside an immediate transaction, so a read-then-book is atomic.

use crate::guard::{self, GuardStore, LoginTurn};
use crate::sqlite::SqliteStore;
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

fn us(t: DateTime<Utc>) -> i64 {
    common::trunc_us(t).timestamp_micros()
}

fn from_us(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} is out of range")))
}

#[async_trait]
impl GuardStore for SqliteStore {
    async fn take_login_turn(
        &self,
        key: &str,
        wait_after: fn(u32) -> Duration,
        now: DateTime<Utc>,
    ) -> Result<LoginTurn, StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row: Option<(i64, i64)> = tx
                .prepare_cached("SELECT failures, next_at FROM login_throttle WHERE key = ?1")?
                .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let failures = row.map(|(f, _)| u32::try_from(f).unwrap_or(u32::MAX)).unwrap_or(0);
            if let Some((_, next_at)) = row {
                let until = from_us(next_at)?;
                if until > now {
                    return Ok(LoginTurn::Wait { until, failures });
                }
            }
            let booked = failures.saturating_add(1);
            tx.prepare_cached(
                "INSERT INTO login_throttle (key, failures, next_at, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
                 next_at = excluded.next_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                key,
                i64::from(booked),
                us(now + wait_after(booked)),
                us(now)
            ])?;
            tx.commit()?;
            Ok(LoginTurn::Go { failures })
        })
        .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM login_throttle WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
        .await
    }

    async fn remember_delivery(
        &self,
        source: &str,
        id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        guard::check_delivery_id(id)?;
        let (source, id) = (source.to_string(), id.to_string());
        self.write(move |conn| {
            // An expired row is taken over: its window has closed, so the timestamp check
            // (or the long GitHub window) has already judged the delivery.
            let n = conn
                .prepare_cached(
                    "INSERT INTO webhook_deliveries (source, delivery_id, expires_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (source, delivery_id) DO UPDATE SET expires_at = excluded.expires_at \
                     WHERE webhook_deliveries.expires_at <= ?4",
                )?
                .execute(params![source, id, us(expires_at), us(now)])?;
            Ok(n == 1)
        })
        .await
    }

    async fn forget_delivery(&self, source: &str, id: &str) -> Result<(), StoreError> {
        let (source, id) = (source.to_string(), id.to_string());
        self.write(move |conn| {
            conn.prepare_cached(
                "DELETE FROM webhook_deliveries WHERE source = ?1 AND delivery_id = ?2",
            )?
            .execute([source, id])?;
            Ok(())
        })
        .await
    }

    async fn prune_guards(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let a = tx
                .prepare_cached("DELETE FROM webhook_deliveries WHERE expires_at <= ?1")?
                .execute([us(now)])?;
            let b = tx
                .prepare_cached(
                    "DELETE FROM login_throttle WHERE updated_at < ?1 AND next_at <= ?2",
                )?
                .execute([us(now - Duration::days(1)), us(now)])?;
            tx.commit()?;
            Ok((a + b) as u64)
        })
        .await
    }
}
