//! The neutral statement and row: what lets the cold CRUD (people, surveys, triage state,
//! guards, most of the feedback loop) be written once for both backends.
//!
//! SQL is written once, in PostgreSQL's placeholder style (`$1`, `$2`, …, SQLite gets them
//! as `?1`, `?2`, …) and in the SQL both dialects read alike: booleans compared with
//! `TRUE`/`FALSE`, `RETURNING`, `ON CONFLICT … DO UPDATE SET x = excluded.x`, `length()`.
//! Values go in as [`Value`] and come out as [`Row`]s of [`Cell`]s; each backend maps them to
//! its own types (a time is INTEGER microseconds in SQLite and `timestamptz` in PostgreSQL,
//! a boolean 0/1 or `boolean`, JSON TEXT or `jsonb`). What one dialect says another way is
//! asked of the [`Conn`] (its row lock, [`Conn::for_update`]).
//!
//! A job is an async closure over `&mut dyn Conn`, handed to the backend by [`Backend`]:
//! PostgreSQL runs it on a pooled connection (in a transaction for [`Backend::transaction`]);
//! SQLite runs it on a blocking thread with its reader or writer connection, where every
//! statement is done when it returns, so the job's future is ready at its first poll.
//!
//! The hot paths (ingest and its locking, the inbox, search, the reply queue, migrations) do
//! not go through here: they are written per backend on purpose (see `sqlite/` and
//! `postgres/`), where each dialect's own tools (FTS5, `tsvector`, advisory locks,
//! `jsonb_to_recordset`, `UNNEST`) make them fast.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::future::Future;
use std::pin::Pin;

mod rows;
pub(crate) use rows::{conversation_exists, conversation_from_row, insert_audit, post_from_row};

/// A future a job returns, borrowing its connection.
pub(crate) type JobFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
    /// A calendar day (`date` in PostgreSQL, TEXT `YYYY-MM-DD` in SQLite).
    Date(NaiveDate),
    /// A JSON document, as text (`jsonb` in PostgreSQL, TEXT in SQLite).
    Json(String),
}

/// A column value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// One row read back: its cells in the statement's column order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub Vec<Cell>);

/// A Rust value read from a [`Cell`].
pub(crate) trait FromCell: Sized {
    fn from_cell(c: &Cell) -> Result<Self, String>;
}

fn wrong(c: &Cell, want: &str) -> String {
    format!("expected {want}, found {c:?}")
}

impl FromCell for i64 {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Int(v) => Ok(*v),
            Cell::Bool(b) => Ok(i64::from(*b)),
            _ => Err(wrong(c, "an integer")),
        }
    }
}

impl FromCell for i32 {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        let v = i64::from_cell(c)?;
        i32::try_from(v).map_err(|_| format!("integer {v} is out of range"))
    }
}

impl FromCell for u32 {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        let v = i64::from_cell(c)?;
        u32::try_from(v).map_err(|_| format!("integer {v} is out of range"))
    }
}

impl FromCell for f64 {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Real(v) => Ok(*v),
            Cell::Int(v) => Ok(*v as f64),
            _ => Err(wrong(c, "a number")),
        }
    }
}

impl FromCell for f32 {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        f64::from_cell(c).map(|v| v as f32)
    }
}

impl FromCell for bool {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Bool(b) => Ok(*b),
            Cell::Int(v) => Ok(*v != 0),
            _ => Err(wrong(c, "a boolean")),
        }
    }
}

impl FromCell for String {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Text(s) => Ok(s.clone()),
            _ => Err(wrong(c, "text")),
        }
    }
}

impl FromCell for DateTime<Utc> {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Time(t) => Ok(*t),
            // SQLite keeps times as INTEGER microseconds since the Unix epoch.
            Cell::Int(us) => DateTime::from_timestamp_micros(*us)
                .ok_or_else(|| format!("timestamp {us} is out of range")),
            _ => Err(wrong(c, "a time")),
        }
    }
}

impl FromCell for NaiveDate {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Date(d) => Ok(*d),
            // SQLite keeps days as TEXT `YYYY-MM-DD`.
            Cell::Text(s) => {
                NaiveDate::parse_from_str(s, DATE_FORMAT).map_err(|e| format!("day {s:?}: {e}"))
            }
            _ => Err(wrong(c, "a day")),
        }
    }
}

/// How SQLite writes a day.
pub(crate) const DATE_FORMAT: &str = "%Y-%m-%d";

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(c: &Cell) -> Result<Self, String> {
        match c {
            Cell::Null => Ok(None),
            c => T::from_cell(c).map(Some),
        }
    }
}

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Database(format!("no column {i} in the row")))
    }

    /// Column `i` as `T`.
    pub fn get<T: FromCell>(&self, i: usize) -> Result<T, StoreError> {
        T::from_cell(self.cell(i)?).map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
    }

    /// Column `i`, text, borrowed.
    pub fn text(&self, i: usize) -> Result<&str, StoreError> {
        match self.cell(i)? {
            Cell::Text(s) => Ok(s),
            c => Err(StoreError::Corrupt(format!(
                "column {i}: {}",
                wrong(c, "text")
            ))),
        }
    }

    /// Column `i`, a JSON document (text in SQLite, `jsonb` in PostgreSQL).
    pub fn json<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<T, StoreError> {
        serde_json::from_str(self.text(i)?).map_err(crate::common::json_err)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Real(f64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Time(v)
    }
}
impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}
impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::Json(v.to_string())
    }
}
impl From<earshot_core::ConversationId> for Value {
    fn from(v: earshot_core::ConversationId) -> Self {
        Value::Int(v.0)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The values of a statement, each turned into a [`Value`]: `args![id, name, at]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::db::Value::from($v)),*]
    };
}
pub(crate) use args;

/// A JSON document to bind (`jsonb` in PostgreSQL, TEXT in SQLite).
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<Value, StoreError> {
    serde_json::to_string(v)
        .map(Value::Json)
        .map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}

/// How work that rewrites conversations takes its turn with ingest ([`Conn::take_ingest_turn`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IngestTurn {
    /// Alone: no ingest runs meanwhile (the lock exclusively).
    Alone,
    /// Beside ingest, for work that locks the rows it rewrites before it reads them
    /// (`for_update`), as ingest does: the lock shared, so it waits only for work that runs
    /// alone (a bulk import, a correction).
    Beside,
}

/// One connection (or transaction) of either backend.
#[async_trait]
pub(crate) trait Conn: Send {
    /// Runs a statement and returns its rows.
    async fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError>;

    /// Runs a statement and returns how many rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, StoreError>;

    /// What follows a `SELECT` that must lock its rows until the transaction ends:
    /// ` FOR UPDATE` in PostgreSQL; nothing in SQLite, whose write transaction
    /// (`BEGIN IMMEDIATE`) already holds the whole database.
    fn for_update(&self) -> &'static str;

    /// Takes a turn with ingest and rescoring for the rest of the transaction, so a change to
    /// a conversation's ranking is never overwritten by a batch threaded at the same time.
    /// In PostgreSQL it is the store-wide ingest lock (each ingest holds it shared beside the
    /// locks on its own posts and customers), taken as `turn` says; in SQLite nothing, as a
    /// write transaction already excludes every other writer.
    async fn take_ingest_turn(&mut self, turn: IngestTurn) -> Result<(), StoreError>;

    /// The first row, if any.
    async fn query_opt(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, args).await?.into_iter().next())
    }

    /// The one row a statement must return.
    async fn query_one(&mut self, sql: &str, args: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, args)
            .await?
            .ok_or_else(|| StoreError::Database("the statement returned no row".into()))
    }
}

/// Where a job runs: each backend's way to lend a [`Conn`].
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Runs `job` on a connection for reading.
    async fn read<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static;

    /// Runs `job` on the connection that writes, one statement at a time (no transaction).
    async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static;

    /// Runs `job` in one write transaction: committed when it returns `Ok`, rolled back
    /// otherwise.
    async fn transaction<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static;
}

/// A job: `job!(c => { …c.query(…).await?… })`, an async block over `c: &mut dyn Conn`
/// that owns whatever else it uses.
macro_rules! job {
    ($c:ident => $body:block) => {
        move |$c| Box::pin(async move $body)
    };
}
pub(crate) use job;

/// `$n` placeholders as SQLite numbers them (`?n`), leaving quoted text alone.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for ch in sql.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if ch == '$' => {
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(ch);
    }
    out
}

/// Polls a future that cannot wait (SQLite's jobs: every statement is done when it
/// returns) to its end.
pub(crate) fn finish<T>(
    mut fut: Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + '_>>,
) -> Result<T, StoreError> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => Err(StoreError::Database(
            "a SQLite job waited on something that is not SQLite".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_numbers_outside_quotes() {
        assert_eq!(
            sqlite_placeholders("SELECT '$1', \"a$b\" FROM t WHERE x = $1 AND y = $12"),
            "SELECT '$1', \"a$b\" FROM t WHERE x = ?1 AND y = ?12"
        );
    }

    #[test]
    fn cells_read_as_either_backend_writes_them() {
        let t = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let r = Row(vec![
            Cell::Int(1_700_000_000_123_456),
            Cell::Time(t),
            Cell::Int(1),
            Cell::Bool(false),
            Cell::Null,
            Cell::Int(i64::from(i32::MAX) + 1),
        ]);
        assert_eq!(r.get::<DateTime<Utc>>(0).unwrap(), t);
        assert_eq!(r.get::<DateTime<Utc>>(1).unwrap(), t);
        assert!(r.get::<bool>(2).unwrap());
        assert!(!r.get::<bool>(3).unwrap());
        assert_eq!(r.get::<Option<i64>>(4).unwrap(), None);
        assert!(matches!(r.get::<i32>(5), Err(StoreError::Corrupt(_))));
        assert!(matches!(r.get::<i64>(9), Err(StoreError::Database(_))));
        assert!(matches!(r.text(0), Err(StoreError::Corrupt(_))));
    }
}
