//! The neutral [`Conn`] on PostgreSQL. A statement is prepared (and cached per pooled
//! connection) first, so each [`Value`] is bound as the type the server expects for its
//! placeholder (an integer as `smallint`, `integer` or `bigint`, JSON as `jsonb`), and each
//! column is read by the type the server says it has.

use super::PgStore;
use crate::db::{Backend, Cell, Conn, IngestTurn, JobFuture, Row, Value};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{Json, ToSql, Type};

/// A pooled connection or an open transaction, lent to a job.
pub(crate) struct Pg<'a, C>(pub &'a C);

type Boxed = Box<dyn ToSql + Sync + Send>;

fn mismatch(v: &Value, ty: &Type) -> StoreError {
    StoreError::Database(format!("cannot bind {v:?} as {ty}"))
}

fn int<T: TryFrom<i64>>(i: i64, ty: &Type) -> Result<T, StoreError> {
    T::try_from(i).map_err(|_| StoreError::Invalid(format!("{i} does not fit a {ty}")))
}

/// `v` as the Rust type the placeholder's type `ty` takes.
fn bind(v: &Value, ty: &Type) -> Result<Boxed, StoreError> {
    Ok(match v {
        Value::Null => match *ty {
            Type::INT2 => Box::new(None::<i16>),
            Type::INT4 => Box::new(None::<i32>),
            Type::INT8 => Box::new(None::<i64>),
            Type::FLOAT4 => Box::new(None::<f32>),
            Type::FLOAT8 => Box::new(None::<f64>),
            Type::BOOL => Box::new(None::<bool>),
            Type::TIMESTAMPTZ => Box::new(None::<DateTime<Utc>>),
            Type::DATE => Box::new(None::<NaiveDate>),
            Type::JSON | Type::JSONB => Box::new(None::<Json<serde_json::Value>>),
            _ => Box::new(None::<String>),
        },
        Value::Int(i) => match *ty {
            Type::INT2 => Box::new(int::<i16>(*i, ty)?),
            Type::INT4 => Box::new(int::<i32>(*i, ty)?),
            Type::INT8 => Box::new(*i),
            Type::FLOAT4 => Box::new(*i as f32),
            Type::FLOAT8 => Box::new(*i as f64),
            _ => return Err(mismatch(v, ty)),
        },
        Value::Real(f) => match *ty {
            Type::FLOAT4 => Box::new(*f as f32),
            Type::FLOAT8 => Box::new(*f),
            _ => return Err(mismatch(v, ty)),
        },
        Value::Bool(b) => Box::new(*b),
        Value::Date(d) => Box::new(*d),
        Value::Time(t) => Box::new(crate::common::trunc_us(*t)),
        Value::Text(s) | Value::Json(s) => match *ty {
            Type::JSON | Type::JSONB => Box::new(Json(
                serde_json::from_str::<serde_json::Value>(s).map_err(crate::common::json_err)?,
            )),
            _ => Box::new(s.clone()),
        },
    })
}

fn cell(r: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Cell, StoreError> {
    fn or_null<T>(v: Option<T>, f: impl FnOnce(T) -> Cell) -> Cell {
        v.map_or(Cell::Null, f)
    }
    Ok(match *ty {
        Type::BOOL => or_null(r.try_get::<_, Option<bool>>(i)?, Cell::Bool),
        Type::INT2 => or_null(r.try_get::<_, Option<i16>>(i)?, |v| Cell::Int(v.into())),
        Type::INT4 => or_null(r.try_get::<_, Option<i32>>(i)?, |v| Cell::Int(v.into())),
        Type::INT8 => or_null(r.try_get::<_, Option<i64>>(i)?, Cell::Int),
        Type::FLOAT4 => or_null(r.try_get::<_, Option<f32>>(i)?, |v| Cell::Real(v.into())),
        Type::FLOAT8 => or_null(r.try_get::<_, Option<f64>>(i)?, Cell::Real),
        Type::TIMESTAMPTZ => or_null(r.try_get::<_, Option<DateTime<Utc>>>(i)?, Cell::Time),
        Type::DATE => or_null(r.try_get::<_, Option<NaiveDate>>(i)?, Cell::Date),
        Type::JSON | Type::JSONB => or_null(r.try_get::<_, Option<serde_json::Value>>(i)?, |v| {
            Cell::Text(v.to_string())
        }),
        _ => or_null(r.try_get::<_, Option<String>>(i)?, Cell::Text),
    })
}

impl<C: GenericClient> Pg<'_, C> {
    async fn prepare(
        &self,
        sql: &str,
        args: &[Value],
    ) -> Result<(tokio_postgres::Statement, Vec<Boxed>), StoreError> {
        let stmt = self.0.prepare_cached(sql).await?;
        if stmt.params().len() != args.len() {
            return Err(StoreError::Database(format!(
                "the statement takes {} values, {} given",
                stmt.params().len(),
                args.len()
            )));
        }
        let bound = args
            .iter()
            .zip(stmt.params())
            .map(|(v, ty)| bind(v, ty))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((stmt, bound))
    }
}

fn refs(args: &[Boxed]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

#[async_trait]
impl<C: GenericClient> Conn for Pg<'_, C> {
    async fn query(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StoreError> {
        let (stmt, bound) = self.prepare(sql, args).await?;
        let rows = self.0.query(&stmt, &refs(&bound)).await?;
        let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
        rows.iter()
            .map(|r| {
                types
                    .iter()
                    .enumerate()
                    .map(|(i, ty)| cell(r, i, ty))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
            })
            .collect()
    }

    async fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64, StoreError> {
        let (stmt, bound) = self.prepare(sql, args).await?;
        Ok(self.0.execute(&stmt, &refs(&bound)).await?)
    }

    fn for_update(&self) -> &'static str {
        " FOR UPDATE"
    }

    async fn take_ingest_turn(&mut self, turn: IngestTurn) -> Result<(), StoreError> {
        let sql = match turn {
            IngestTurn::Alone => "SELECT pg_advisory_xact_lock($1)",
            IngestTurn::Beside => "SELECT pg_advisory_xact_lock_shared($1)",
        };
        self.execute(sql, &[Value::Int(super::INGEST_LOCK)]).await?;
        Ok(())
    }
}

#[async_trait]
impl Backend for PgStore {
    async fn read<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        let client = self.client().await?;
        job(&mut Pg(&client)).await
    }

    async fn write<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        let client = self.client().await?;
        job(&mut Pg(&client)).await
    }

    async fn transaction<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn Conn) -> JobFuture<'c, T> + Send + 'static,
    {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Dropped without a commit (an error), the transaction rolls back.
        let out = job(&mut Pg(&tx)).await?;
        tx.commit().await?;
        Ok(out)
    }
}
