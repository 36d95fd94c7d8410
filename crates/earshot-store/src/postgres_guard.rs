//! [`GuardStore`] on PostgreSQL: the tables of migration 0011, shared by every process on the
//! database. A sign-in turn locks its row (created first if missing) for the read-then-book.

use crate::guard::{self, GuardStore, LoginTurn};
use crate::postgres::PgStore;
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

#[async_trait]
impl GuardStore for PgStore {
    async fn take_login_turn(
        &self,
        key: &str,
        wait_after: fn(u32) -> Duration,
        now: DateTime<Utc>,
    ) -> Result<LoginTurn, StoreError> {
        let now = common::trunc_us(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A missing row cannot be locked: create it (as "no failures") first; concurrent
        // creators meet at the primary key and all go on to lock the one row.
        tx.execute(
            "INSERT INTO login_throttle (key, failures, next_at, updated_at) VALUES ($1, 0, $2, $2) \
             ON CONFLICT (key) DO NOTHING",
            &[&key, &DateTime::<Utc>::UNIX_EPOCH],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT failures, next_at FROM login_throttle WHERE key = $1 FOR UPDATE",
                &[&key],
            )
            .await?;
        let failures = u32::try_from(row.try_get::<_, i32>(0)?).unwrap_or(0);
        let next_at: DateTime<Utc> = row.try_get(1)?;
        if next_at > now {
            tx.commit().await?;
            return Ok(LoginTurn::Wait {
                until: next_at,
                failures,
            });
        }
        let booked = failures.saturating_add(1);
        tx.execute(
            "UPDATE login_throttle SET failures = $2, next_at = $3, updated_at = $4 WHERE key = $1",
            &[
                &key,
                &i32::try_from(booked).unwrap_or(i32::MAX),
                &common::trunc_us(now + wait_after(booked)),
                &now,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(LoginTurn::Go { failures })
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM login_throttle WHERE key = $1", &[&key])
            .await?;
        Ok(())
    }

    async fn remember_delivery(
        &self,
        source: &str,
        id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        guard::check_delivery_id(id)?;
        let client = self.client().await?;
        // An expired row is taken over: its window has closed.
        let n = client
            .execute(
                "INSERT INTO webhook_deliveries (source, delivery_id, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (source, delivery_id) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE webhook_deliveries.expires_at <= $4",
                &[
                    &source,
                    &id,
                    &common::trunc_us(expires_at),
                    &common::trunc_us(now),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    async fn forget_delivery(&self, source: &str, id: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM webhook_deliveries WHERE source = $1 AND delivery_id = $2",
                &[&source, &id],
            )
            .await?;
        Ok(())
    }

    async fn prune_guards(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let now = common::trunc_us(now);
        let client = self.client().await?;
        let a = client
            .execute(
                "DELETE FROM webhook_deliveries WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
        let b = client
            .execute(
                "DELETE FROM login_throttle WHERE updated_at < $1 AND next_at <= $2",
                &[&(now - Duration::days(1)), &now],
            )
            .await?;
        Ok(a + b)
    }
}
