//! [`GuardStore`] written once for both backends (the tables of migration 0011), over the
//! neutral [`Conn`], shared by every process on the store. A sign-in turn is read and booked
//! in one write transaction, its row locked ([`Conn::for_update`]; created first if missing,
//! as a missing row cannot be locked), so parallel guesses are counted one by one.

use super::{check_delivery_id, GuardStore, LoginTurn};
use crate::db::{args, job, Backend};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

#[async_trait]
impl<B: Backend> GuardStore for B {
    async fn take_login_turn(
        &self,
        key: &str,
        wait_after: fn(u32) -> Duration,
        now: DateTime<Utc>,
    ) -> Result<LoginTurn, StoreError> {
        let key = key.to_string();
        let now = common::trunc_us(now);
        self.transaction(job!(c => {
            // Concurrent creators meet at the primary key and all go on to lock the one row.
            c.execute(
                "INSERT INTO login_throttle (key, failures, next_at, updated_at) \
                 VALUES ($1, 0, $2, $2) ON CONFLICT (key) DO NOTHING",
                args![key.as_str(), DateTime::<Utc>::UNIX_EPOCH],
            )
            .await?;
            let sql = format!(
                "SELECT failures, next_at FROM login_throttle WHERE key = $1{}",
                c.for_update()
            );
            let row = c.query_one(&sql, args![key.as_str()]).await?;
            let failures = u32::try_from(row.get::<i64>(0)?).unwrap_or(0);
            let next_at: DateTime<Utc> = row.get(1)?;
            if next_at > now {
                return Ok(LoginTurn::Wait {
                    until: next_at,
                    failures,
                });
            }
            let booked = failures.saturating_add(1);
            c.execute(
                "UPDATE login_throttle SET failures = $2, next_at = $3, updated_at = $4 WHERE key = $1",
                args![
                    key.as_str(),
                    booked.min(i32::MAX as u32),
                    now + wait_after(booked),
                    now
                ],
            )
            .await?;
            Ok(LoginTurn::Go { failures })
        }))
        .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(job!(c => {
            c.execute("DELETE FROM login_throttle WHERE key = $1", args![key])
                .await?;
            Ok(())
        }))
        .await
    }

    async fn remember_delivery(
        &self,
        source: &str,
        id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        check_delivery_id(id)?;
        let (source, id) = (source.to_string(), id.to_string());
        self.write(job!(c => {
            // An expired row is taken over: its window has closed, so the timestamp check
            // (or the long GitHub window) has already judged the delivery.
            let n = c
                .execute(
                    "INSERT INTO webhook_deliveries (source, delivery_id, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (source, delivery_id) DO UPDATE SET expires_at = excluded.expires_at \
                     WHERE webhook_deliveries.expires_at <= $4",
                    args![source, id, expires_at, now],
                )
                .await?;
            Ok(n == 1)
        }))
        .await
    }

    async fn forget_delivery(&self, source: &str, id: &str) -> Result<(), StoreError> {
        let (source, id) = (source.to_string(), id.to_string());
        self.write(job!(c => {
            c.execute(
                "DELETE FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2",
                args![source, id],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn prune_guards(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.transaction(job!(c => {
            let a = c
                .execute("DELETE FROM webhook_deliveries WHERE expires_at <= $1", args![now])
                .await?;
            let b = c
                .execute(
                    "DELETE FROM login_throttle WHERE updated_at < $1 AND next_at <= $2",
                    args![now - Duration::days(1), now],
                )
                .await?;
            Ok(a + b)
        }))
        .await
    }
}
