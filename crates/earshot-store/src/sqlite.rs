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
    ResponseSample, SearchHit, SearchQuery, Store, StoreCounts, StoreError, VolumeCount,
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

use crate::common::Migration;

mod conn;

const MIGRATIONS: &[Migration] = common::migrations!("sqlite");

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

// ---------------------------------------------------------------------------------------
// Values in and out.

pub(crate) fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} is out of range")))
}

pub(crate) fn ts(r: &Row, i: usize) -> Result<DateTime<Utc>, StoreError> {
    from_us(r.get(i)?)
}

pub(crate) fn ts_opt(r: &Row, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
    r.get::<_, Option<i64>>(i)?.map(from_us).transpose()
}

fn json<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> Result<T, StoreError> {
    let v = r.get_ref(i)?;
    let s = v
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("JSON column {i}: {e}")))?;
    serde_json::from_str(s).map_err(common::json_err)
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode as JSON: {e}")))
}

fn arg_value(a: &Arg) -> Value {
    match a {
        Arg::Text(s) => Value::Text(s.clone()),
        Arg::Int(i) => Value::Integer(*i),
        Arg::Time(t) => Value::Integer(us(*t)),
    }
}

fn bound(sql: &Sql) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(sql.args.iter().map(arg_value))
}

/// Reads [`CONV_COLS`] starting at column 0.
pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId(r.get(0)?),
        network: common::network(&r.get::<_, String>(1)?)?,
        customer: json(r, 2)?,
        root_external_id: r.get(3)?,
        status: common::status(&r.get::<_, String>(4)?)?,
        assignee: r.get(5)?,
        priority: json(r, 6)?,
        signals: json(r, 7)?,
        language: r.get(8)?,
        intent: common::intent(&r.get::<_, String>(9)?)?,
        sentiment: common::sentiment(&r.get::<_, String>(10)?)?,
        opened_at: ts(r, 11)?,
        last_activity_at: ts(r, 12)?,
        awaiting_since: ts_opt(r, 13)?,
        response_due: ts_opt(r, 14)?,
        first_response_due: ts(r, 15)?,
        first_response_at: ts_opt(r, 16)?,
        first_response_secs: r.get(17)?,
        resolved_at: ts_opt(r, 18)?,
        post_count: u32::try_from(r.get::<_, i64>(19)?).unwrap_or(u32::MAX),
        last_customer_at: ts_opt(r, 20)?.unwrap_or(ts(r, 11)?),
        last_brand_at: ts_opt(r, 21)?,
        awaits_parent: r.get(22)?,
    })
}

/// Reads [`POST_COLS`] starting at column 0.
pub(crate) fn post_from_row(r: &Row) -> Result<Post, StoreError> {
    Ok(Post {
        id: r.get(0)?,
        network: common::network(&r.get::<_, String>(1)?)?,
        external_id: r.get(2)?,
        author: Author {
            external_id: r.get(3)?,
            handle: r.get(4)?,
            display_name: r.get(5)?,
            followers: r.get::<_, Option<i64>>(6)?.map(|f| f.max(0) as u64),
            verified: r.get(7)?,
            bot: r.get(8)?,
        },
        text: r.get(9)?,
        created_at: ts(r, 10)?,
        received_at: ts(r, 11)?,
        in_reply_to: r.get(12)?,
        url: r.get(13)?,
        from_brand: r.get(14)?,
        conversation_id: r.get::<_, Option<i64>>(15)?.map(ConversationId),
        analysis: json::<Analysis>(r, 16)?,
        edited_at: ts_opt(r, 17)?,
        deleted_at: ts_opt(r, 18)?,
    })
}

const REPLY_COLS: &str =
    "r.id, r.conversation_id, r.network, r.in_reply_to, r.text, r.author, r.state, \
     r.idempotency_key, r.external_id, r.error, r.attempts, r.created_at, r.sent_at, r.next_attempt_at";

fn reply_from_row(r: &Row) -> Result<Reply, StoreError> {
    Ok(Reply {
        id: r.get(0)?,
        conversation_id: ConversationId(r.get(1)?),
        network: common::network(&r.get::<_, String>(2)?)?,
        in_reply_to: r.get(3)?,
        text: r.get(4)?,
        author: r.get(5)?,
        state: common::reply_state(&r.get::<_, String>(6)?)?,
        idempotency_key: r.get(7)?,
        external_id: r.get(8)?,
        error: r.get(9)?,
        attempts: u32::try_from(r.get::<_, i64>(10)?).unwrap_or(u32::MAX),
        created_at: ts(r, 11)?,
        sent_at: ts_opt(r, 12)?,
        next_attempt_at: ts_opt(r, 13)?,
    })
}

const AUDIT_COLS: &str = "a.id, a.conversation_id, a.actor, a.action, a.detail, a.at";

fn audit_from_row(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.get(0)?,
        conversation_id: r.get::<_, Option<i64>>(1)?.map(ConversationId),
        actor: r.get(2)?,
        action: r.get(3)?,
        detail: json(r, 4)?,
        at: ts(r, 5)?,
    })
}

/// Runs a query and maps every row with `f`.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(row)?);
    }
    Ok(out)
}

fn query_one<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------
// Writes shared by several operations.

/// What a conversation's update writes: everything but its identity (network, customer,
/// root post, opening time and first target), so the indexes on those columns are left alone
/// (SQLite rewrites every index over a column named in `SET`, changed or not).
const CONV_UPDATE: &str = "UPDATE conversations SET status = ?5, assignee = ?6, priority_score = ?7, band = ?8, \
     priority = ?9, signals = ?10, language = ?11, intent = ?12, sentiment = ?13, last_activity_at = ?15, \
     awaiting_since = ?16, response_due = ?17, first_response_at = ?19, first_response_secs = ?20, \
     resolved_at = ?21, post_count = ?22, last_customer_at = ?24, last_brand_at = ?25 WHERE id = ?23";

const CONV_INSERT: &str = "INSERT INTO conversations (network, customer_external_id, customer, root_external_id, status, \
     assignee, priority_score, band, priority, signals, language, intent, sentiment, opened_at, last_activity_at, \
     awaiting_since, response_due, first_response_due, first_response_at, first_response_secs, resolved_at, post_count, id, \
     last_customer_at, last_brand_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)";
/// A conversation whose awaited parent arrived: its opening post, customer and first target
/// may have changed, and what it waits for.
const CONV_REROOT: &str =
    "UPDATE conversations SET customer_external_id = ?2, customer = ?3, root_external_id = ?4, \
     opened_at = ?5, first_response_due = ?6, awaits_parent = ?7 WHERE id = ?1";

/// Inserts (`insert`, new id) or updates (by `c.id`) a conversation.
fn write_conversation(
    conn: &Connection,
    c: &Conversation,
    insert: bool,
) -> Result<ConversationId, StoreError> {
    let sql = if insert { CONV_INSERT } else { CONV_UPDATE };
    let mut stmt = conn.prepare_cached(sql)?;
    let id: Option<i64> = (!insert).then_some(c.id.0);
    let changed = stmt.execute(params![
        c.network.as_str(),
        c.customer.external_id,
        to_json(&c.customer)?,
        c.root_external_id,
        c.status.as_str(),
        c.assignee,
        f64::from(c.priority.score),
        c.priority.band.as_str(),
        to_json(&c.priority)?,
        to_json(&c.signals)?,
        c.language,
        c.intent.as_str(),
        c.sentiment.as_str(),
        us(c.opened_at),
        us(c.last_activity_at),
        c.awaiting_since.map(us),
        c.response_due.map(us),
        us(c.first_response_due),
        c.first_response_at.map(us),
        c.first_response_secs,
        c.resolved_at.map(us),
        i64::from(c.post_count),
        id,
        us(c.last_customer_at),
        c.last_brand_at.map(us),
    ])?;
    if insert {
        let id = conn.last_insert_rowid();
        // Opened by a reply whose parent is not here: it waits for that parent (rare, so a
        // second statement rather than a column every insert carries).
        if let Some(parent) = &c.awaits_parent {
            conn.prepare_cached("UPDATE conversations SET awaits_parent = ?2 WHERE id = ?1")?
                .execute(params![id, parent])?;
        }
        Ok(ConversationId(id))
    } else if changed == 0 {
        Err(common::not_found_conversation(c.id))
    } else {
        Ok(c.id)
    }
}

fn load_conversation(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<Conversation>, StoreError> {
    query_one(
        conn,
        &format!("SELECT {CONV_COLS} FROM conversations c WHERE c.id = ?1"),
        [id.0],
        conversation_from_row,
    )
}

pub(crate) fn insert_audit(
    conn: &Connection,
    conversation: Option<ConversationId>,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![conversation.map(|c| c.0), actor, action, to_json(detail)?, us(at)])?;
    Ok(())
}

fn load_post_by_key(conn: &Connection, key: &PostKey) -> Result<Option<Post>, StoreError> {
    query_one(
        conn,
        &format!("SELECT {POST_COLS} FROM posts p WHERE p.network = ?1 AND p.external_id = ?2"),
        params![key.network.as_str(), key.external_id],
        post_from_row,
    )
}

fn load_reply(conn: &Connection, id: i64) -> Result<Option<Reply>, StoreError> {
    query_one(
        conn,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.id = ?1"),
        [id],
        reply_from_row,
    )
}

// ---------------------------------------------------------------------------------------
// Ingest.

/// What the store already holds about a batch, plus where its already-stored posts sit.
struct Gathered {
    known: Known,
    existing: HashMap<PostKey, Placement>,
}

fn gather(conn: &Connection, batch: &[Incoming]) -> Result<Gathered, StoreError> {
    let mut known = Known::default();
    let mut existing: HashMap<PostKey, Placement> = HashMap::new();
    let mut conversation_ids: HashSet<ConversationId> = HashSet::new();

    let mut by_key = conn.prepare_cached("SELECT id, conversation_id, from_brand, created_at FROM posts WHERE network = ?1 AND external_id = ?2")?;
    let mut lookup =
        |network: Network, external_id: &str| -> Result<Option<(i64, KnownPost)>, StoreError> {
            let mut rows = by_key.query(params![network.as_str(), external_id])?;
            match rows.next()? {
                None => Ok(None),
                Some(r) => Ok(Some((
                    r.get(0)?,
                    KnownPost {
                        key: PostKey::new(network, external_id),
                        conversation_id: r.get::<_, Option<i64>>(1)?.map(ConversationId),
                        from_brand: r.get(2)?,
                        created_at: ts(r, 3)?,
                    },
                ))),
            }
        };

    // The batch's own keys: which are stored already.
    let mut fresh: Vec<PostKey> = Vec::with_capacity(batch.len());
    for inc in batch {
        let key = inc.post.key();
        if known.stored.contains(&key) || existing.contains_key(&key) {
            continue;
        }
        match lookup(inc.post.network, &inc.post.external_id)? {
            Some((id, kp)) => {
                existing.insert(key.clone(), (id, kp.conversation_id));
                known.stored.insert(key);
            }
            None => fresh.push(key),
        }
    }
    // The posts the batch answers.
    for inc in batch {
        let Some(parent) = &inc.post.in_reply_to else {
            continue;
        };
        let key = PostKey::new(inc.post.network, parent.clone());
        if known.parents.contains_key(&key) {
            continue;
        }
        if let Some((_, kp)) = lookup(inc.post.network, parent)? {
            if let Some(c) = kp.conversation_id {
                conversation_ids.insert(c);
            }
            known.parents.insert(key, kp);
        }
    }

    // Conversations opened by a reply to a post of this batch, waiting for it (rare: the
    // index holds only those, and one look says whether there are any).
    let any_waiting: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE awaits_parent IS NOT NULL)",
        )?
        .query_row([], |r| r.get(0))?;
    if any_waiting {
        let mut waiting = conn.prepare_cached(
            "SELECT id FROM conversations WHERE network = ?1 AND awaits_parent = ?2 \
             AND awaits_parent IS NOT NULL",
        )?;
        for inc in batch {
            let key = inc.post.key();
            if known.stored.contains(&key) || known.awaiting.contains_key(&key) {
                continue;
            }
            let ids = waiting
                .query_map(params![key.network.as_str(), key.external_id], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<Result<Vec<i64>, _>>()?;
            if !ids.is_empty() {
                conversation_ids.extend(ids.iter().copied().map(ConversationId));
                known
                    .awaiting
                    .insert(key, ids.into_iter().map(ConversationId).collect());
            }
        }
    }

    // Each customer's latest unresolved conversation.
    let mut open = conn.prepare_cached(
        "SELECT id FROM conversations WHERE network = ?1 AND customer_external_id = ?2 AND status <> 'resolved' \
         ORDER BY last_activity_at DESC LIMIT 1",
    )?;
    for inc in batch.iter().filter(|i| !i.from_brand) {
        let customer = (inc.post.network, inc.post.author.external_id.clone());
        if known.open_by_customer.contains_key(&customer) {
            continue;
        }
        let id: Option<i64> = open
            .query_row(params![customer.0.as_str(), customer.1], |r| r.get(0))
            .optional()?;
        if let Some(id) = id {
            conversation_ids.insert(ConversationId(id));
            known.open_by_customer.insert(customer, ConversationId(id));
        }
    }

    // Brand posts that are earshot's own automatic replies: no answer, the clock runs on.
    let mut automatic = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM replies WHERE network = ?1 AND external_id = ?2 \
         AND idempotency_key LIKE ?3 AND author = ?4)",
    )?;
    let auto_key = format!("{}%", earshot_core::reply::AUTO_REPLY_KEY_PREFIX);
    for inc in batch.iter().filter(|i| i.from_brand) {
        let key = inc.post.key();
        if known.stored.contains(&key) || known.automatic.contains(&key) {
            continue;
        }
        let is_auto: bool = automatic.query_row(
            params![
                key.network.as_str(),
                key.external_id,
                auto_key,
                earshot_core::reply::AUTO_REPLY_AUTHOR
            ],
            |r| r.get(0),
        )?;
        if is_auto {
            known.automatic.insert(key);
        }
    }

    // Stored replies waiting for a post of this batch, and whatever waits for those.
    let any_orphans: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM posts WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL)")?
        .query_row([], |r| r.get(0))?;
    if any_orphans {
        let mut orphans = conn.prepare_cached(
            "SELECT external_id, from_brand, created_at FROM posts \
             WHERE network = ?1 AND in_reply_to = ?2 AND in_reply_to IS NOT NULL AND conversation_id IS NULL",
        )?;
        let mut frontier = fresh;
        let mut seen: HashSet<PostKey> = HashSet::new();
        while let Some(parent) = frontier.pop() {
            if !seen.insert(parent.clone()) {
                continue;
            }
            let mut rows = orphans.query(params![parent.network.as_str(), parent.external_id])?;
            let mut waiting = Vec::new();
            while let Some(r) = rows.next()? {
                waiting.push(KnownPost {
                    key: PostKey::new(parent.network, r.get::<_, String>(0)?),
                    conversation_id: None,
                    from_brand: r.get(1)?,
                    created_at: ts(r, 2)?,
                });
            }
            if !waiting.is_empty() {
                frontier.extend(waiting.iter().map(|o| o.key.clone()));
                known.orphans.insert(parent, waiting);
            }
        }
    }

    for id in conversation_ids {
        let c = load_conversation(conn, id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("a post refers to missing conversation {id}"))
        })?;
        known.conversations.insert(id, c);
    }
    Ok(Gathered { known, existing })
}

const POST_INSERT: &str = "INSERT INTO posts (network, external_id, author_external_id, author_handle, \
     author_display_name, author_followers, author_verified, author_bot, text, created_at, received_at, in_reply_to, \
     url, from_brand, conversation_id, lang, sentiment, sentiment_score, intent, urgency, fingerprint, analysis, raw) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) \
     ON CONFLICT (network, external_id) DO NOTHING";

/// The author's edit of a stored post: the new text and its analysis replace the old, unless
/// the post was deleted or the text is the same; audited as `post_edited`. Whether it changed.
fn apply_edit(
    tx: &Connection,
    post: &NewPost,
    analysis: &Analysis,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE posts SET text = ?3, lang = ?4, sentiment = ?5, sentiment_score = ?6, \
             intent = ?7, urgency = ?8, fingerprint = ?9, analysis = ?10, raw = ?11, edited_at = ?12 \
             WHERE network = ?1 AND external_id = ?2 AND deleted_at IS NULL AND text <> ?3 \
             RETURNING id, conversation_id",
        )?
        .query_row(
            params![
                post.network.as_str(),
                post.external_id,
                post.text,
                analysis.language.language.code(),
                analysis.sentiment.label.as_str(),
                f64::from(analysis.sentiment.score),
                analysis.intent.label.as_str(),
                analysis.urgency.level.as_str(),
                analysis.fingerprint as i64,
                to_json(analysis)?,
                post.raw,
                us(at),
            ],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .optional()?;
    let Some((id, conversation)) = changed else {
        return Ok(false);
    };
    let detail = serde_json::json!({ "post_id": id, "network": post.network, "external_id": post.external_id });
    insert_audit(
        tx,
        conversation.map(ConversationId),
        "system",
        "post_edited",
        &detail,
        at,
    )?;
    Ok(true)
}

fn ingest_blocking(
    conn: &mut Connection,
    mut batch: Vec<Incoming>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let refused = common::refuse_odd(&mut batch, now);
    common::normalise(&mut batch);
    let now = common::trunc_us(now);
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Gathered { known, existing } = gather(&tx, &batch)?;
    let gathered = Instant::now();
    let plan = threading::plan(&batch, &known, policy, now);
    let planned = Instant::now();

    let mut new_ids = Vec::with_capacity(plan.new_conversations.len());
    for c in &plan.new_conversations {
        new_ids.push(write_conversation(&tx, c, true)?);
    }
    for c in &plan.updated_conversations {
        write_conversation(&tx, c, false)?;
    }
    for c in plan
        .updated_conversations
        .iter()
        .filter(|c| plan.parent_arrived.contains(&c.id))
    {
        tx.prepare_cached(CONV_REROOT)?.execute(params![
            c.id.0,
            c.customer.external_id,
            to_json(&c.customer)?,
            c.root_external_id,
            us(c.opened_at),
            us(c.first_response_due),
            c.awaits_parent,
        ])?;
    }

    let mut inserted = Vec::with_capacity(plan.posts.len());
    let mut to_index: Vec<(i64, &str)> = Vec::with_capacity(plan.posts.len());
    {
        let mut insert = tx.prepare_cached(POST_INSERT)?;
        let received = us(now);
        for pp in &plan.posts {
            let inc = &batch[pp.index];
            let p = &inc.post;
            let a = &inc.analysis;
            let conversation = pp
                .conversation
                .map(|r| common::resolve(r, &new_ids))
                .transpose()?;
            let changed = insert.execute(params![
                p.network.as_str(),
                p.external_id,
                p.author.external_id,
                p.author.handle,
                p.author.display_name,
                p.author
                    .followers
                    .map(|f| i64::try_from(f).unwrap_or(i64::MAX)),
                p.author.verified,
                p.author.bot,
                p.text,
                us(p.created_at),
                received,
                p.in_reply_to,
                p.url,
                inc.from_brand,
                conversation.map(|c| c.0),
                a.language.language.code(),
                a.sentiment.label.as_str(),
                f64::from(a.sentiment.score),
                a.intent.label.as_str(),
                a.urgency.level.as_str(),
                a.fingerprint as i64,
                to_json(a)?,
                p.raw,
            ])?;
            if changed == 1 {
                let id = tx.last_insert_rowid();
                inserted.push(id);
                to_index.push((id, &p.text));
            } else {
                // Unreachable while this connection holds the write lock; kept as the last defence.
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM posts WHERE network = ?1 AND external_id = ?2")?
                    .query_row(params![p.network.as_str(), p.external_id], |r| r.get(0))?;
                inserted.push(id);
            }
        }
    }
    if !plan.adopted.is_empty() {
        let mut adopt = tx.prepare_cached(
            "UPDATE posts SET conversation_id = ?3 WHERE network = ?1 AND external_id = ?2",
        )?;
        for (key, r) in &plan.adopted {
            let id = common::resolve(*r, &new_ids)?;
            adopt.execute(params![key.network.as_str(), key.external_id, id.0])?;
        }
    }
    // Last, so no later statement's savepoint makes FTS5 flush its pending index early.
    {
        let mut index = tx.prepare_cached("INSERT INTO posts_fts (rowid, text) VALUES (?1, ?2)")?;
        for (id, text) in to_index {
            index.execute(params![id, text])?;
        }
    }
    // A post heard again with another text is the author's edit (the later delivery wins).
    let mut edited = vec![];
    for &i in &plan.duplicates {
        if apply_edit(&tx, &batch[i].post, &batch[i].analysis, now)? {
            edited.push(i);
        }
    }
    let mut report = common::report(&batch, &plan, &new_ids, &inserted, &existing)?;
    report.mark_edited(&edited);
    report.refused = refused;
    let written = Instant::now();
    tx.commit()?;
    tracing::debug!(
        posts = batch.len(),
        new = report.new,
        opened = report.conversations_opened,
        updated = report.conversations_updated,
        gather_us = (gathered - started).as_micros() as u64,
        plan_us = (planned - gathered).as_micros() as u64,
        write_us = (written - planned).as_micros() as u64,
        commit_us = written.elapsed().as_micros() as u64,
        "SQLite ingest"
    );
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// Reads.

fn detail_blocking(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<ConversationDetail>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let Some(conversation) = load_conversation(&tx, id)? else {
        return Ok(None);
    };
    let posts = query_all(
        &tx,
        &format!("SELECT {POST_COLS} FROM posts p WHERE p.conversation_id = ?1 ORDER BY p.created_at, p.id"),
        [id.0],
        post_from_row,
    )?;
    let replies = query_all(
        &tx,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.conversation_id = ?1 ORDER BY r.id"),
        [id.0],
        reply_from_row,
    )?;
    let audit = query_all(
        &tx,
        &format!(
            "SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = ?1 ORDER BY a.id DESC"
        ),
        [id.0],
        audit_from_row,
    )?;
    Ok(Some(ConversationDetail {
        conversation,
        posts,
        replies,
        audit,
    }))
}

fn inbox_blocking(
    conn: &Connection,
    filter: &InboxFilter,
    now: DateTime<Utc>,
) -> Result<Page<InboxRow>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let mut sql = Sql::new(Dialect::Sqlite);
    let page = common::inbox_page_ids(&mut sql, filter, now);
    let text = format!(
        "SELECT {CONV_COLS}, lp.text, lp.created_at FROM ({page}) page \
         JOIN conversations c ON c.id = page.id \
         LEFT JOIN posts lp ON lp.id = {latest} \
         ORDER BY page.priority_score DESC, page.id",
        latest = common::latest_customer_post(Dialect::Sqlite, "c.id"),
    );
    let items = query_all(&tx, &text, bound(&sql), |r| {
        let conversation = conversation_from_row(r)?;
        let latest_text: Option<String> = r.get(23)?;
        let latest_at = ts_opt(r, 24)?.unwrap_or(conversation.last_activity_at);
        Ok(InboxRow {
            breached: conversation.breached(now),
            latest_text: latest_text.unwrap_or_default(),
            latest_at,
            conversation,
        })
    })?;
    let mut count = Sql::new(Dialect::Sqlite);
    let count_text = common::inbox_count(&mut count, filter, now);
    let (scanned, matched): (i64, i64) = tx
        .prepare_cached(&count_text)?
        .query_row(bound(&count), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(Page {
        items,
        total: common::capped_total(scanned, matched),
        limit: filter.limit,
        offset: filter.offset,
    })
}

fn search_blocking(conn: &Connection, q: &SearchQuery) -> Result<Page<SearchHit>, StoreError> {
    let words = common::search_words(&q.q)?;
    if words.is_empty() || q.limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total: words.is_empty().then_some(0),
            limit: q.limit,
            offset: q.offset,
        });
    }
    let mut sql = Sql::new(Dialect::Sqlite);
    let m = sql.bind(Arg::Text(common::fts5_query(&words)));
    let mut filters = String::new();
    if let Some(n) = q.network {
        filters.push_str(&format!(
            " AND p.network = {}",
            sql.bind(Arg::Text(n.as_str().into()))
        ));
    }
    if let Some(l) = &q.language {
        filters.push_str(&format!(
            " AND p.lang = {}",
            sql.bind(Arg::Text(l.to_ascii_lowercase()))
        ));
    }
    if let Some(i) = q.intent {
        filters.push_str(&format!(
            " AND p.intent = {}",
            sql.bind(Arg::Text(i.as_str().into()))
        ));
    }
    if let Some(s) = q.sentiment {
        filters.push_str(&format!(
            " AND p.sentiment = {}",
            sql.bind(Arg::Text(s.as_str().into()))
        ));
    }
    let limit = sql.bind(Arg::Int(i64::from(q.limit)));
    let offset = sql.bind(Arg::Int(q.offset.min(i64::MAX as u64) as i64));
    // FTS5 walks its index newest first and stops at the page; posts are joined only for it.
    let text = if filters.is_empty() {
        format!(
            "SELECT {POST_COLS} FROM (SELECT rowid AS id FROM posts_fts WHERE posts_fts MATCH {m} \
             ORDER BY rowid DESC LIMIT {limit} OFFSET {offset}) hit JOIN posts p ON p.id = hit.id ORDER BY p.id DESC"
        )
    } else {
        format!(
            "SELECT {POST_COLS} FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid \
             WHERE posts_fts MATCH {m}{filters} ORDER BY posts_fts.rowid DESC LIMIT {limit} OFFSET {offset}"
        )
    };
    let items = query_all(conn, &text, bound(&sql), |r| {
        Ok(SearchHit {
            post: post_from_row(r)?,
        })
    })?;
    let short = (items.len() as u64) < u64::from(q.limit);
    let total =
        (short && (q.offset == 0 || !items.is_empty())).then(|| q.offset + items.len() as u64);
    Ok(Page {
        items,
        total,
        limit: q.limit,
        offset: q.offset,
    })
}

// ---------------------------------------------------------------------------------------
// Agent actions and replies.

fn apply_blocking(
    conn: &mut Connection,
    id: ConversationId,
    event: &ConversationEvent,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Conversation, StoreError> {
    let at = common::trunc_us(at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut conv = load_conversation(&tx, id)?.ok_or_else(|| common::not_found_conversation(id))?;
    conv.apply(event, at)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    write_conversation(&tx, &conv, false)?;
    let detail = serde_json::to_value(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
    insert_audit(&tx, Some(id), actor, event.name(), &detail, at)?;
    tx.commit()?;
    Ok(conv)
}

fn queue_reply_blocking(conn: &mut Connection, reply: NewReply) -> Result<Reply, StoreError> {
    let created_at = common::trunc_us(reply.created_at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let conv = load_conversation(&tx, reply.conversation_id)?
        .ok_or_else(|| common::not_found_conversation(reply.conversation_id))?;
    let existing = query_one(
        &tx,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.idempotency_key = ?1"),
        [&reply.idempotency_key],
        reply_from_row,
    )?;
    if let Some(existing) = existing {
        if existing.conversation_id != reply.conversation_id {
            return Err(StoreError::Conflict(format!(
                "idempotency key {:?} was already used for conversation {}",
                reply.idempotency_key, existing.conversation_id
            )));
        }
        return Ok(existing);
    }
    let text = ReplyText::parse(&reply.text, conv.network)
        .map_err(|e| StoreError::Invalid(e.to_string()))?
        .into_inner();
    let latest: Option<String> = tx
        .prepare_cached(&format!(
            "SELECT p.external_id FROM posts p WHERE p.id = {}",
            common::latest_customer_post(Dialect::Sqlite, "?1")
        ))?
        .query_row([conv.id.0], |r| r.get(0))
        .optional()?;
    let in_reply_to = latest.unwrap_or_else(|| conv.root_external_id.clone());
    tx.prepare_cached(
        "INSERT INTO replies (conversation_id, network, in_reply_to, text, author, state, idempotency_key, attempts, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, 0, ?7)",
    )?
    .execute(params![
        conv.id.0,
        conv.network.as_str(),
        in_reply_to,
        text,
        reply.author,
        reply.idempotency_key,
        us(created_at)
    ])?;
    let id = tx.last_insert_rowid();
    let detail = serde_json::json!({
        "reply_id": id,
        "idempotency_key": reply.idempotency_key,
        "in_reply_to": in_reply_to,
    });
    insert_audit(
        &tx,
        Some(conv.id),
        &reply.author,
        "reply_queued",
        &detail,
        created_at,
    )?;
    tx.commit()?;
    Ok(Reply {
        id,
        conversation_id: conv.id,
        network: conv.network,
        in_reply_to,
        text,
        author: reply.author,
        state: ReplyState::Queued,
        idempotency_key: reply.idempotency_key,
        external_id: None,
        error: None,
        attempts: 0,
        created_at,
        sent_at: None,
        next_attempt_at: None,
    })
}

fn mark_sent_blocking(
    conn: &mut Connection,
    reply_id: i64,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let at = common::trunc_us(at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    if reply.state == ReplyState::Sent {
        return match reply.external_id.as_deref() {
            Some(e) if e == external_id => Ok(reply),
            other => Err(StoreError::Conflict(format!(
                "reply {reply_id} was already sent as {}",
                other.unwrap_or("(unknown)")
            ))),
        };
    }
    tx.prepare_cached("UPDATE replies SET state = 'sent', external_id = ?2, sent_at = ?3, error = NULL, claimed_until = NULL, next_attempt_at = NULL WHERE id = ?1")?
        .execute(params![reply_id, external_id, us(at)])?;
    let detail = serde_json::json!({ "reply_id": reply_id, "external_id": external_id });
    insert_audit(
        &tx,
        Some(reply.conversation_id),
        "system",
        "reply_sent",
        &detail,
        at,
    )?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    tx.commit()?;
    Ok(reply)
}

fn mark_unsent_blocking(
    conn: &mut Connection,
    reply_id: i64,
    miss: &ReplyMiss,
) -> Result<Reply, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    if reply.state == ReplyState::Sent {
        return Err(StoreError::Conflict(format!(
            "reply {reply_id} was already sent"
        )));
    }
    let (state, error, tried, retry_at) = common::reply_miss(miss);
    tx.prepare_cached(
        "UPDATE replies SET state = ?2, error = ?3, attempts = attempts + ?4, next_attempt_at = ?5, \
         claimed_until = NULL WHERE id = ?1",
    )?
    .execute(params![
        reply_id,
        state.as_str(),
        error,
        i64::from(tried),
        retry_at.map(us)
    ])?;
    let detail = common::reply_miss_detail(reply_id, miss, reply.attempts + tried);
    insert_audit(
        &tx,
        Some(reply.conversation_id),
        "system",
        common::reply_miss_action(miss),
        &detail,
        common::trunc_us(Utc::now()),
    )?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    tx.commit()?;
    Ok(reply)
}

fn rescore_blocking(
    conn: &mut Connection,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let now = common::trunc_us(now);
    let mut after = 0i64;
    let mut updated = 0u64;
    // Short transactions, so an import is not held up; each batch is read and written
    // under the write lock, so a concurrent ingest's newer state is never overwritten.
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let batch = query_all(
            &tx,
            &format!(
                "SELECT {CONV_COLS} FROM conversations c WHERE c.awaiting_since IS NOT NULL AND c.id > ?1 ORDER BY c.id LIMIT ?2"
            ),
            params![after, RESCORE_BATCH],
            conversation_from_row,
        )?;
        let Some(last) = batch.last() else { break };
        after = last.id.0;
        let done = (batch.len() as i64) < RESCORE_BATCH;
        {
            let mut write =
                tx.prepare_cached("UPDATE conversations SET priority_score = ?2, band = ?3, priority = ?4 WHERE id = ?1")?;
            for mut c in batch {
                let before = c.priority.clone();
                threading::rescore(&mut c, policy, now);
                if c.priority != before {
                    write.execute(params![
                        c.id.0,
                        f64::from(c.priority.score),
                        c.priority.band.as_str(),
                        to_json(&c.priority)?
                    ])?;
                    updated += 1;
                }
            }
        }
        tx.commit()?;
        if done {
            break;
        }
    }
    Ok(updated)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(
        &self,
        batch: Vec<Incoming>,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        let policy = policy.clone();
        self.write(move |conn| ingest_blocking(conn, batch, &policy, now))
            .await
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationDetail>, StoreError> {
        self.read(move |conn| detail_blocking(conn, id)).await
    }

    async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| inbox_blocking(conn, &filter, common::trunc_us(now)))
            .await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Page<SearchHit>, StoreError> {
        let query = query.clone();
        self.read(move |conn| search_blocking(conn, &query)).await
    }

    async fn apply(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let actor = actor.to_string();
        self.write(move |conn| apply_blocking(conn, id, &event, &actor, at))
            .await
    }

    async fn queue_reply(&self, reply: NewReply) -> Result<Reply, StoreError> {
        self.write(move |conn| queue_reply_blocking(conn, reply))
            .await
    }

    async fn claim_reply(
        &self,
        reply_id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if load_reply(&tx, reply_id)?.is_none() {
                return Err(common::not_found_reply(reply_id));
            }
            let claimed = tx
                .prepare_cached(
                    "UPDATE replies SET claimed_until = ?2 WHERE id = ?1 AND state <> 'sent' \
                     AND (claimed_until IS NULL OR claimed_until < ?3)",
                )?
                .execute(params![reply_id, us(until), us(now)])?;
            let reply = load_reply(&tx, reply_id)?;
            tx.commit()?;
            Ok(if claimed == 1 { reply } else { None })
        })
        .await
    }

    async fn mark_reply_sent(
        &self,
        reply_id: i64,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Reply, StoreError> {
        let external_id = external_id.to_string();
        self.write(move |conn| mark_sent_blocking(conn, reply_id, &external_id, at))
            .await
    }

    async fn mark_reply_unsent(
        &self,
        reply_id: i64,
        miss: &ReplyMiss,
    ) -> Result<Reply, StoreError> {
        let miss = miss.clone();
        self.write(move |conn| mark_unsent_blocking(conn, reply_id, &miss))
            .await
    }

    async fn due_replies(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Reply>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'failed' \
                     AND r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= ?1 \
                     ORDER BY r.next_attempt_at, r.id LIMIT ?2"
                ),
                params![us(now), i64::from(limit)],
                reply_from_row,
            )
        })
        .await
    }

    async fn queued_replies(&self, limit: u32) -> Result<Vec<Reply>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'queued' ORDER BY r.created_at, r.id LIMIT ?1"),
                [i64::from(limit)],
                reply_from_row,
            )
        })
        .await
    }

    async fn audit(
        &self,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| match conversation {
            Some(id) => query_all(
                conn,
                &format!("SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = ?1 ORDER BY a.id DESC LIMIT ?2"),
                params![id.0, i64::from(limit)],
                audit_from_row,
            ),
            None => query_all(
                conn,
                &format!("SELECT {AUDIT_COLS} FROM audit a ORDER BY a.id DESC LIMIT ?1"),
                [i64::from(limit)],
                audit_from_row,
            ),
        })
        .await
    }

    async fn response_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ResponseSample>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                "SELECT id, network, opened_at, first_response_due, first_response_at, first_response_secs \
                 FROM conversations WHERE opened_at >= ?1 AND opened_at < ?2 ORDER BY opened_at, id",
                params![us(from), us(to)],
                |r| {
                    Ok(ResponseSample {
                        conversation_id: ConversationId(r.get(0)?),
                        network: common::network(&r.get::<_, String>(1)?)?,
                        opened_at: ts(r, 2)?,
                        first_response_due: ts(r, 3)?,
                        first_response_at: ts_opt(r, 4)?,
                        first_response_secs: r.get(5)?,
                    })
                },
            )
        })
        .await
    }

    async fn volume(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VolumeCount>, StoreError> {
        const DAY_US: i64 = 86_400_000_000;
        let mut rows = self
            .read(move |conn| {
                query_all(
                    conn,
                    "SELECT created_at / 86400000000 AS day, intent, sentiment, COUNT(*) FROM posts \
                     WHERE created_at >= ?1 AND created_at < ?2 AND from_brand = 0 \
                     GROUP BY day, intent, sentiment",
                    params![us(from), us(to)],
                    |r| {
                        let day: i64 = r.get(0)?;
                        Ok(VolumeCount {
                            day: from_us(day * DAY_US)?.date_naive(),
                            intent: common::intent(&r.get::<_, String>(1)?)?,
                            sentiment: common::sentiment(&r.get::<_, String>(2)?)?,
                            posts: r.get::<_, i64>(3)?.max(0) as u64,
                        })
                    },
                )
            })
            .await?;
        rows.sort_by_key(|v| (v.day, v.intent, v.sentiment));
        Ok(rows)
    }

    async fn rescore_open(
        &self,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let policy = policy.clone();
        self.write(move |conn| rescore_blocking(conn, &policy, now))
            .await
    }

    async fn edit_post(
        &self,
        post: earshot_core::NewPost,
        analysis: Analysis,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            apply_edit(&tx, &post, &analysis, at)?;
            let stored = load_post_by_key(&tx, &post.key())?;
            tx.commit()?;
            Ok(stored.filter(|p| p.deleted_at.is_none()))
        })
        .await
    }

    async fn delete_post(
        &self,
        key: &PostKey,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let key = key.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE posts SET text = '', raw = NULL, deleted_at = ?3 \
                     WHERE network = ?1 AND external_id = ?2 AND deleted_at IS NULL",
                )?
                .execute(params![key.network.as_str(), key.external_id, us(at)])?;
            let stored = load_post_by_key(&tx, &key)?;
            if changed == 1 {
                if let Some(p) = &stored {
                    let detail = serde_json::json!({ "post_id": p.id, "network": p.network, "external_id": p.external_id });
                    insert_audit(&tx, p.conversation_id, "system", "post_deleted", &detail, at)?;
                }
            }
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let count = |sql: &str| -> Result<u64, StoreError> {
                let n: i64 = tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            };
            Ok(StoreCounts {
                posts: count("SELECT COUNT(*) FROM posts")?,
                conversations: count("SELECT COUNT(*) FROM conversations")?,
                open_conversations: count(
                    "SELECT COUNT(*) FROM conversations WHERE status = 'open'",
                )?,
                replies: count("SELECT COUNT(*) FROM replies")?,
            })
        })
        .await
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        let source = source.to_string();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT cursor FROM cursors WHERE source = ?1")?
                .query_row([source], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn set_cursor(&self, source: &str, cursor: &str) -> Result<(), StoreError> {
        let source = source.to_string();
        let cursor = cursor.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO cursors (source, cursor, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )?
            .execute(params![source, cursor, us(Utc::now())])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::Status;

    #[test]
    fn fts5_is_compiled_in() {
        let conn = Connection::open_in_memory().unwrap();
        let on: i64 = conn
            .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(on, 1);
    }

    #[test]
    fn migrations_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/earshot.db");
        let path = path.to_str().unwrap();
        SqliteStore::open_blocking(path).unwrap();
        let store = SqliteStore::open_blocking(path).unwrap();
        let conn = lock(&store.inner.writer);
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    fn plan_of(conn: &Connection, sql: &str, args: &Sql) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(bound(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn hot_queries_use_their_indexes() {
        let store = SqliteStore::open_blocking(":memory:").unwrap();
        let conn = lock(&store.inner.writer);
        let mut sql = Sql::new(Dialect::Sqlite);
        let page = common::inbox_page_ids(&mut sql, &InboxFilter::default(), Utc::now());
        let plan = plan_of(&conn, &page, &sql);
        assert!(plan.contains("conversations_inbox"), "{plan}");
        assert!(
            !plan.contains("TEMP B-TREE FOR ORDER BY"),
            "inbox must not sort: {plan}"
        );

        let mut sql = Sql::new(Dialect::Sqlite);
        let mine = InboxFilter {
            assignee: Some("maria".into()),
            ..InboxFilter::default()
        };
        let page = common::inbox_page_ids(&mut sql, &mine, Utc::now());
        let plan = plan_of(&conn, &page, &sql);
        assert!(plan.contains("conversations_assigned"), "{plan}");

        let filtered = InboxFilter {
            language: Some("da".into()),
            breached: Some(true),
            status: vec![Status::Open, Status::Pending],
            ..InboxFilter::default()
        };
        let mut sql = Sql::new(Dialect::Sqlite);
        let count = common::inbox_count(&mut sql, &filtered, Utc::now());
        let plan = plan_of(&conn, &count, &sql);
        assert!(
            plan.contains("COVERING INDEX conversations_inbox"),
            "counting reads no rows: {plan}"
        );

        let mut sql = Sql::new(Dialect::Sqlite);
        sql.bind(Arg::Text("x".into()));
        sql.bind(Arg::Text("1".into()));
        let plan = plan_of(
            &conn,
            "SELECT external_id FROM posts WHERE network = ?1 AND in_reply_to = ?2 AND in_reply_to IS NOT NULL AND conversation_id IS NULL",
            &sql,
        );
        assert!(plan.contains("posts_orphans"), "{plan}");

        let mut sql = Sql::new(Dialect::Sqlite);
        sql.bind(Arg::Text("\"car\"".into()));
        sql.bind(Arg::Text("x".into()));
        let plan = plan_of(
            &conn,
            "SELECT p.id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH ?1 AND p.network = ?2 ORDER BY posts_fts.rowid DESC LIMIT 10",
            &sql,
        );
        assert!(
            !plan.contains("TEMP B-TREE"),
            "search must not sort: {plan}"
        );
    }
}
