//! The neutral [`Conn`] on SQLite: `$n` placeholders become `?n`, times INTEGER
//! microseconds, booleans 0/1, JSON TEXT. Jobs run on the store's blocking threads: reads
//! on a reader connection, writes on the one writer (a transaction is `BEGIN IMMEDIATE`).

use super::{lock, task_failed, SqliteStore};
use crate::db::{self, Backend, Cell, Conn, JobFuture, Row, Value};
use crate::{common, StoreError};
use async_trait::async_trait;
use rusqlite::types::{Value as LiteValue, ValueRef};
use rusqlite::Connection;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A connection lent to a job. It holds the connection by `&mut` (a `&Connection` cannot
/// cross threads), which is also what makes a job's future `Send`.
pub(crate) struct Lite<'a>(pub &'a mut Connection);

fn value(v: &Value) -> LiteValue {
    match v {
        Value::Null => LiteValue::Null,
        Value::Int(i) => LiteValue::Integer(*i),
        Value::Real(f) => LiteValue::Real(*f),
        Value::Text(s) | Value::Json(s) => LiteValue::Text(s.clone()),
        Value::Bool(b) => LiteValue::Integer(i64::from(*b)),
        Value::Time(t) => LiteValue::Integer(common::trunc_us(*t).timestamp_micros()),
        Value::Date(d) => LiteValue::Text(d.format(db::DATE_FORMAT).to_string()),
    }
}

fn cell(v: ValueRef<'_>) -> Result<Cell, StoreError> {
    Ok(match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Corrupt(format!("stored text is not UTF-8: {e}")))?
                .to_string(),
        ),
        ValueRef::Blob(_) => return Err(StoreError::Corrupt("unexpected blob".into())),
    })
}

impl Lite<'_> {
    fn run_query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(&db::sqlite_placeholders(sql))?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter().map(value)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(cell(r.get_ref(i)?)?);
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn run_execute(&self, sql: &str, args: &[Value]) -> Result<u64, StoreError> {
        let n = self
            .0
            .prepare_cached(&db::sqlite_placeholders(sql))?
            .execute(rusqlite::params_from_iter(args.iter().map(value)))?;
        Ok(n as u64)
    }
}

#[async_trait]
impl Conn for Lite<'_> {
    async fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.run_query(sql, args)
    }

    async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, StoreError> {
        self.run_execute(sql, args)
    }

    fn for_update(&self) -> &'static str {
        ""
    }

    async fn take_ingest_turn(&mut self, _turn: db::IngestTurn) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Runs a job on `conn` to its end (nothing in it can wait).
fn run<T, F>(conn: &mut Connection, job: F) -> Result<T, StoreError>
where
    F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T>,
{
    let mut lite = Lite(conn);
    db::finish(job(&mut lite))
}

/// An open write transaction on the writer: rolled back when dropped uncommitted (an
/// error, or a panic in the job).
struct Open<'a> {
    conn: &'a mut Connection,
    committed: bool,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Runs a job inside `BEGIN IMMEDIATE` … `COMMIT`. Not rusqlite's `Transaction`: it lends
/// the connection only shared, and a shared `Connection` cannot cross into a `Send` job.
fn run_in_transaction<T, F>(conn: &mut Connection, job: F) -> Result<T, StoreError>
where
    F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T>,
{
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut open = Open {
        conn,
        committed: false,
    };
    let out = run(open.conn, job)?;
    open.conn.execute_batch("COMMIT")?;
    open.committed = true;
    Ok(out)
}

#[async_trait]
impl Backend for SqliteStore {
    async fn read<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            if inner.readers.is_empty() {
                return run(&mut lock(&inner.writer), job);
            }
            for r in &inner.readers {
                if let Ok(mut conn) = r.try_lock() {
                    return run(&mut conn, job);
                }
            }
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            run(&mut lock(&inner.readers[i]), job)
        })
        .await
        .map_err(task_failed)?
    }

    async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        SqliteStore::write(self, move |conn| run(conn, job)).await
    }

    async fn transaction<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        SqliteStore::write(self, move |conn| run_in_transaction(conn, job)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{args, job};

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER, ok INTEGER)")
            .unwrap();
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_failed_job_leaves_nothing_behind() {
        let mut conn = table();
        let out: Result<(), _> = run_in_transaction(
            &mut conn,
            job!(c => {
                c.execute("INSERT INTO t (id) VALUES ($1)", args![1]).await?;
                Err(StoreError::Conflict("no".into()))
            }),
        );
        assert!(matches!(out, Err(StoreError::Conflict(_))));
        assert_eq!(count(&conn), 0);
        assert!(conn.is_autocommit(), "the transaction was closed");
    }

    #[test]
    fn a_panicking_job_rolls_back_and_the_connection_goes_on() {
        let mut conn = table();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = run_in_transaction::<(), _>(
                &mut conn,
                job!(c => {
                    c.execute("INSERT INTO t (id) VALUES ($1)", args![1]).await?;
                    panic!("a bug in the job")
                }),
            );
        }));
        assert!(caught.is_err());
        assert!(conn.is_autocommit());
        assert_eq!(count(&conn), 0);
        let n = run_in_transaction(
            &mut conn,
            job!(c => { c.execute("INSERT INTO t (id) VALUES ($1)", args![2]).await }),
        )
        .unwrap();
        assert_eq!((n, count(&conn)), (1, 1));
    }

    #[test]
    fn times_and_booleans_round_trip_as_integers() {
        let mut conn = table();
        let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap()
            + chrono::Duration::nanoseconds(789);
        let row = run(
            &mut conn,
            job!(c => {
                c.execute("INSERT INTO t (id, at, ok) VALUES ($1, $2, $3)", args![7, at, true])
                    .await?;
                c.query_one("SELECT at, ok, id FROM t WHERE ok = TRUE", &[]).await
            }),
        )
        .unwrap();
        assert_eq!(
            row.get::<chrono::DateTime<chrono::Utc>>(0).unwrap(),
            common::trunc_us(at)
        );
        assert!(row.get::<bool>(1).unwrap());
        assert_eq!(row.get::<i64>(2).unwrap(), 7);
    }
}
