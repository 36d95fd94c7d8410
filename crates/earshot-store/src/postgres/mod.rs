//! The store at scale: PostgreSQL through a `deadpool-postgres` pool.
//!
//! Migrations run at connect inside one transaction holding an advisory lock, so two nodes
//! starting together take turns. Ingest takes transaction-scoped advisory locks on what its
//! threading depends on (the batch's posts, their parents, their customers: `turns`) before
//! it gathers what it knows, so concurrent writers never thread the same post twice, while
//! batches about other conversations run beside it (and
//! `ON CONFLICT (network, external_id) DO NOTHING` stays as the last line of defence); the
//! conversations it will rewrite are locked `FOR UPDATE`, so an agent's action in between is
//! never lost. Batches are written with `jsonb_to_recordset` / `UNNEST`: one round trip per
//! table. Search uses a generated `tsvector` column (`simple` configuration, accents folded
//! like SQLite's `remove_diacritics`) with a GIN index.

use crate::common::{self, Arg, Dialect, Placement, Sql, CONV_COLS, POST_COLS};
use crate::{
    ConversationDetail, InboxFilter, InboxRow, IngestReport, NewReply, Page, ReplyMiss,
    RescorePass, ResponseSample, SearchHit, SearchQuery, Store, StoreCounts, StoreError,
    VolumeCount,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use earshot_core::priority::PrioritySignals;
use earshot_core::reply::ReplyText;
use earshot_core::threading::{self, Incoming, Known, KnownPost, TriagePolicy};
use earshot_core::{
    Analysis, AuditEntry, Author, Conversation, ConversationEvent, ConversationId, NewPost, Post,
    PostKey, Priority, Reply, ReplyState,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

use crate::reranking::{self, RankedUnder, Sweep};
use crate::schema::{self, Migration};

mod conn;
mod ingest;
pub mod locks;
mod plans;
mod replies;
mod rows;
mod search;
mod store;
#[cfg(test)]
mod tests;
mod tls;
mod transport;
mod turns;
mod writes;

use ingest::*;
use rows::*;
use writes::*;

pub use transport::{check_transport, PgOptions, Transport, DEFAULT_POOL_SIZE};

const MIGRATIONS: &[Migration] = schema::migrations!("postgres");

/// Advisory lock keys ("earshot" in ASCII, then a number).
const MIGRATION_LOCK: i64 = 0x6561_7273_686f_7401;
pub(crate) const INGEST_LOCK: i64 = 0x6561_7273_686f_7402;

const RESCORE_BATCH: i64 = 1_000;

fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Database(db_error(&e))
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_error(&e),
        other => format!("no database connection: {other}"),
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(pool_error(e))
    }
}

/// The PostgreSQL store. Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The rules its last re-ranking pass ran under (see [`crate::reranking`]).
    ranked_under: Arc<RankedUnder>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PgOptions::default()).await
    }

    /// [`PgStore::connect`] with the pool's size and the plaintext rule from the settings;
    /// TLS as the URL's `sslmode` says (see [`Transport`]).
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let target = redact(url);
        let open_err = |reason: String| StoreError::Open {
            target: target.clone(),
            reason,
        };
        let transport = Transport::plan(url, options.allow_plaintext).map_err(open_err)?;
        let manager = Manager::from_config(
            transport.config.clone(),
            transport.connector().map_err(open_err)?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| open_err(transport.explain(pool_error(e))))?;
        migrate(&mut client)
            .await
            .map_err(|e| open_err(db_error(&e)))?;
        drop(client);
        Ok(PgStore {
            pool,
            ranked_under: Arc::default(),
        })
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    bigint      PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let applied: HashSet<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut changed = false;
    for m in MIGRATIONS {
        if applied.contains(&m.version) {
            continue;
        }
        tracing::info!(
            version = m.version,
            name = m.name,
            "applying PostgreSQL migration"
        );
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        changed = true;
    }
    // A migration can add or rebuild indexes and rewrite rows: plan on fresh statistics.
    if changed {
        plans::analyse(&tx).await?;
    }
    tx.commit().await
}
