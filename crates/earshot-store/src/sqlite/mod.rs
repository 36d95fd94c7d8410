//! The embedded default: one SQLite file in WAL mode, full-text search with FTS5.
//!
//! One writer connection behind a mutex takes every write transaction (`BEGIN IMMEDIATE`,
//! so a second process on the same file waits instead of threading the same post twice);
//! a few read-only connections serve reads, so the inbox does not wait for a long import
//! batch. All blocking work runs on `tokio::task::spawn_blocking`. A background thread
//! checkpoints the WAL (at most once a second), so commits do not pay for copying pages back
//! into the database file. An in-memory store (`:memory:`) has only the one connection.
//!
//! Ingest writes each new post's full-text row itself, last in its transaction: FTS5 flushes
//! its pending index at every statement savepoint, and a trigger would open one per post.
//!
//! Timestamps are INTEGER microseconds since the Unix epoch (UTC); JSON is TEXT.

use crate::common::{self, Arg, Dialect, Placement, Sql, CONV_COLS, POST_COLS};
use crate::{
    ConversationDetail, InboxFilter, InboxRow, IngestReport, NewReply, Page, ReplyMiss,
    RescorePass, ResponseSample, SearchHit, SearchQuery, Store, StoreCounts, StoreError,
    VolumeCount,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::reply::ReplyText;
use earshot_core::threading::{self, Incoming, Known, KnownPost, TriagePolicy};
use earshot_core::{
    Analysis, AuditEntry, Author, Conversation, ConversationEvent, ConversationId, Network,
    NewPost, Post, PostKey, Reply, ReplyState,
};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::reranking::{self, RankedUnder, Sweep};
use crate::schema::{self, Migration};

mod conn;
mod ingest;
mod reads;
mod replies;
mod rows;
mod store;
#[cfg(test)]
mod tests;
mod writes;

use ingest::*;
use reads::*;
use replies::*;
use rows::*;
use writes::*;

const MIGRATIONS: &[Migration] = schema::migrations!("sqlite");

const READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const RESCORE_BATCH: i64 = 1_000;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// The SQLite store. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Wakes the checkpointer after a write; dropping it stops the checkpointer.
    checkpoint: Option<SyncSender<()>>,
    /// The rules its last re-ranking pass ran under (see [`crate::reranking`]).
    ranked_under: RankedUnder,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock rolled its transaction back when the guard dropped;
    // the connection itself is still good.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn task_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::Database(format!("store task failed: {e}"))
}

fn is_memory(path: &str) -> bool {
    matches!(path, ":memory:" | "sqlite::memory:" | "sqlite://:memory:")
}

impl SqliteStore {
    /// Opens (creating if missing) the store at `path` and applies pending migrations.
    /// `:memory:` gives a private in-memory store.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let path = path.to_string();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path))
            .await
            .map_err(task_failed)?
    }

    /// [`SqliteStore::open`] for callers outside an async runtime.
    pub fn open_blocking(path: &str) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            target: path.to_string(),
            reason,
        };
        if is_memory(path) {
            let conn = Connection::open_in_memory().map_err(|e| open_err(e.to_string()))?;
            configure(&conn, false).map_err(|e| open_err(e.to_string()))?;
            migrate(&conn).map_err(|e| open_err(e.to_string()))?;
            return Ok(SqliteStore {
                inner: Arc::new(Inner {
                    writer: Mutex::new(conn),
                    readers: Vec::new(),
                    next_reader: AtomicUsize::new(0),
                    checkpoint: None,
                    ranked_under: RankedUnder::default(),
                }),
            });
        }
        let file = path.strip_prefix("sqlite:").unwrap_or(path);
        if let Some(parent) = Path::new(file).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| open_err(format!("cannot create {}: {e}", parent.display())))?;
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer =
            Connection::open_with_flags(file, flags).map_err(|e| open_err(e.to_string()))?;
        configure(&writer, false).map_err(|e| open_err(e.to_string()))?;
        migrate(&writer).map_err(|e| open_err(e.to_string()))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn =
                Connection::open_with_flags(file, flags).map_err(|e| open_err(e.to_string()))?;
            configure(&conn, true).map_err(|e| open_err(e.to_string()))?;
            readers.push(Mutex::new(conn));
        }
        let checkpointer =
            Connection::open_with_flags(file, flags).map_err(|e| open_err(e.to_string()))?;
        checkpointer
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        let checkpoint = spawn_checkpointer(checkpointer);
        if checkpoint.is_some() {
            // The writer's own automatic checkpoint stays, much later, as a backstop.
            writer
                .execute_batch("PRAGMA wal_autocheckpoint = 50000")
                .map_err(|e| open_err(e.to_string()))?;
        }
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                checkpoint,
                ranked_under: RankedUnder::default(),
            }),
        })
    }

    /// Runs `f` with the writer connection on a blocking thread.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let out = f(&mut lock(&inner.writer));
            if let Some(wake) = &inner.checkpoint {
                // A full channel means a checkpoint is already due.
                let _ = wake.try_send(());
            }
            out
        })
        .await
        .map_err(task_failed)?
    }

    /// Runs `f` with a reader connection (the writer for an in-memory store).
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if inner.readers.is_empty() {
                return f(&lock(&inner.writer));
            }
            for r in &inner.readers {
                if let Ok(conn) = r.try_lock() {
                    return f(&conn);
                }
            }
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            f(&lock(&inner.readers[i]))
        })
        .await
        .map_err(task_failed)?
    }
}

/// Copies committed WAL pages back into the database file on a thread of its own, so a
/// commit does not wait for that copy and its fsync. PASSIVE: it never blocks readers or
/// the writer. At most one checkpoint a second, so a page that every batch touches (an
/// index page, a busy conversation) is copied once rather than once a batch. Returns `None`
/// (commits checkpoint, as SQLite does by default) if the thread cannot start.
fn spawn_checkpointer(conn: Connection) -> Option<SyncSender<()>> {
    const EVERY: Duration = Duration::from_secs(1);
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    let spawned = std::thread::Builder::new()
        .name("earshot-sqlite-checkpoint".into())
        .spawn(move || {
            // Wakes after writes, or every 30 s; ends when the store is dropped.
            while let Ok(()) | Err(RecvTimeoutError::Timeout) =
                woken.recv_timeout(Duration::from_secs(30))
            {
                std::thread::sleep(EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "SQLite checkpoint failed");
                }
            }
        });
    match spawned {
        Ok(_) => Some(wake),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the SQLite checkpointer; commits will checkpoint");
            None
        }
    }
}

fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    if read_only {
        conn.execute_batch(
            "PRAGMA query_only = ON; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
        )?;
    } else {
        // `journal_mode` answers with a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; \
             PRAGMA journal_size_limit = 67108864;",
        )?;
    }
    Ok(())
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // A migration may rebuild a table others refer to (SQLite cannot alter a CHECK): foreign
    // keys are off while migrations run — the pragma is ignored inside a transaction — and
    // checked before the transaction commits.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = migrate_in_transaction(conn);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

fn migrate_in_transaction(conn: &Connection) -> rusqlite::Result<()> {
    let tx = conn.unchecked_transaction()?;
    // Taking the write lock first makes two processes opening a new file take turns.
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        )",
    )?;
    let applied: HashSet<i64> = {
        let mut stmt = tx.prepare("SELECT version FROM schema_migrations")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for m in MIGRATIONS {
        if applied.contains(&m.version) {
            continue;
        }
        tracing::info!(
            version = m.version,
            name = m.name,
            "applying SQLite migration"
        );
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, us(Utc::now())],
        )?;
    }
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!("a migration broke a foreign key in {table}")),
        ));
    }
    tx.commit()
}
