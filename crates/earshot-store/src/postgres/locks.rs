//! Session-level advisory locks on a connection of their own: what earshot's leases
//! (earshot-server's `lease` module) stand on when several processes share one database.
//!
//! A session-level lock (`pg_try_advisory_lock`) belongs to the connection that took it and
//! dies with it, so the process holding it needs no renewals and no clocks. What bounds a
//! hand-over is how soon PostgreSQL notices that the holder is gone:
//! - a killed process: its operating system closes the socket, PostgreSQL sees it at once;
//! - a vanished host or a cut network: nothing closes the socket, so this connection asks
//!   the *server* to probe its peer (`tcp_keepalives_*`: first probe after 4 s idle, then
//!   every 2 s, 3 misses) and to give up on unacknowledged data (`tcp_user_timeout` 10 s):
//!   the server drops the session, and the locks with it, within about 10 s.
//!   (`idle_session_timeout` would not help: it ends live, quiet sessions, and a lease
//!   holder is exactly that.)
//!
//! The client side keeps the same keepalives, and its owner checks [`LockSession::held`]
//! every few seconds with a short timeout, so a holder cut off from the database stops its
//! work before the server lets another process take over.

use super::{db_error, redact, PgOptions, Transport};
use crate::StoreError;
use std::time::Duration;

/// The first key of every lease lock ("ears" in ASCII). Lease locks use the two-key form,
/// which PostgreSQL keeps apart from the one-key locks the store takes for migrations and
/// ingest, so a lease can never block a write.
pub const LEASE_CLASS: i32 = 0x6561_7273;

/// This session's granted lease locks in pg_locks (`$1`: [`LEASE_CLASS`] as an oid). There
/// the two-key form shows as classid = key1, objid = key2, objsubid = 2; the oids are
/// unsigned, so keys are compared through their bit pattern.
const HELD: &str = "locktype = 'advisory' AND pid = pg_backend_pid() AND granted \
     AND objsubid = 2 AND classid::bigint = $1";

/// A dedicated connection holding session-level advisory locks.
pub struct LockSession {
    client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
}

impl LockSession {
    /// Opens the lock connection to `url` with the same transport rule as the store.
    pub async fn connect(url: &str, options: PgOptions) -> Result<LockSession, StoreError> {
        let target = redact(url);
        let open_err = |reason: String| StoreError::Open {
            target: target.clone(),
            reason,
        };
        let transport = Transport::plan(url, options.allow_plaintext).map_err(open_err)?;
        let mut config = transport.config.clone();
        config
            .application_name("earshot leases")
            .connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(4))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(10));
        let (client, connection) = config
            .connect(transport.connector().map_err(open_err)?)
            .await
            .map_err(|e| open_err(transport.explain(db_error(&e))))?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %db_error(&e), "the lease connection to PostgreSQL closed");
            }
        });
        // The server's side of the bound (see the module comment). A statement timeout keeps
        // a check from hanging on a stuck server.
        client
            .batch_execute(
                "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 2; \
                 SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000; \
                 SET statement_timeout = 5000",
            )
            .await
            .map_err(|e| open_err(db_error(&e)))?;
        Ok(LockSession { client, connection })
    }

    /// Takes the lock `(LEASE_CLASS, key)` if nobody holds it; `true` when this session holds
    /// it now (also when it already did).
    pub async fn try_lock(&self, key: i32) -> Result<bool, StoreError> {
        // One round trip, one look at pg_locks: session locks stack (taking one twice would
        // need two unlocks), so a lock already held is not taken again. CASE evaluates the
        // second branch only when the first does not apply.
        let row = self
            .client
            .query_one(
                &format!(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE {HELD} AND objid::bigint = $2) \
                     THEN true ELSE pg_try_advisory_lock($3, $4) END"
                ),
                &[
                    &i64::from(LEASE_CLASS as u32),
                    &i64::from(key as u32),
                    &LEASE_CLASS,
                    &key,
                ],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Lets go of every lock this session holds (a graceful hand-over: nobody waits for
    /// the connection's end to be noticed).
    pub async fn unlock_all(&self) -> Result<(), StoreError> {
        self.client
            .execute("SELECT pg_advisory_unlock_all()", &[])
            .await?;
        Ok(())
    }

    /// Whether this session holds `key`, asked of the server (so a dead connection is an
    /// error, never a stale "yes").
    pub async fn held(&self, key: i32) -> Result<bool, StoreError> {
        Ok(self.all_held().await?.contains(&key))
    }

    /// Every lease key this session holds, as the server sees it.
    pub async fn all_held(&self) -> Result<Vec<i32>, StoreError> {
        let rows = self
            .client
            .query(
                &format!("SELECT objid::bigint FROM pg_locks WHERE {HELD}"),
                &[&i64::from(LEASE_CLASS as u32)],
            )
            .await?;
        rows.iter()
            .map(|r| r.try_get::<_, i64>(0).map(|v| v as u32 as i32))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// The connection is gone (the server closed it or the network failed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

impl Drop for LockSession {
    fn drop(&mut self) {
        // Closing the connection releases every lock it holds.
        self.connection.abort();
    }
}
