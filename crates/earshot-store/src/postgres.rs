//! The store at scale: PostgreSQL through a `deadpool-postgres` pool.
//!
//! Migrations run at connect inside one transaction holding an advisory lock, so two nodes
//! starting together take turns. Ingest takes a transaction-scoped advisory lock before it
//! gathers what it knows, so concurrent writers never thread the same post twice (and
//! `ON CONFLICT (network, external_id) DO NOTHING` stays as the last line of defence); the
//! conversations it will rewrite are locked `FOR UPDATE`, so an agent's action in between is
//! never lost. Batches are written with `jsonb_to_recordset` / `UNNEST`: one round trip per
//! table. Search uses a generated `tsvector` column (`simple` configuration, accents folded
//! like SQLite's `remove_diacritics`) with a GIN index.

use crate::common::{self, Arg, Dialect, Placement, Sql, CONV_COLS, POST_COLS};
use crate::{
    ConversationDetail, InboxFilter, InboxRow, IngestReport, NewReply, Page, ReplyMiss,
    ResponseSample, SearchHit, SearchQuery, Store, StoreCounts, StoreError, VolumeCount,
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
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};

use crate::common::Migration;

mod conn;

const MIGRATIONS: &[Migration] = common::migrations!("postgres");

/// Advisory lock keys ("earshot" in ASCII, then a number).
const MIGRATION_LOCK: i64 = 0x6561_7273_686f_7401;
pub(crate) const INGEST_LOCK: i64 = 0x6561_7273_686f_7402;

const POOL_SIZE: usize = 16;
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

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Database(format!("no database connection: {other}")),
        }
    }
}

/// The PostgreSQL store. Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target = redact(url);
        let open_err = |reason: String| StoreError::Open {
            target: target.clone(),
            reason,
        };
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| open_err(db_error(&e)))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| open_err(StoreError::from(e).to_string()))?;
        migrate(&mut client)
            .await
            .map_err(|e| open_err(db_error(&e)))?;
        drop(client);
        Ok(PgStore { pool })
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
    }
    tx.commit().await
}

// ---------------------------------------------------------------------------------------
// Values in and out.

pub(crate) async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

pub(crate) async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, params).await?)
}

pub(crate) async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

type Boxed = Box<dyn ToSql + Sync + Send>;

fn boxed_args(sql: &Sql) -> Vec<Boxed> {
    sql.args
        .iter()
        .map(|a| -> Boxed {
            match a {
                Arg::Text(s) => Box::new(s.clone()),
                Arg::Int(i) => Box::new(*i),
                Arg::Time(t) => Box::new(*t),
            }
        })
        .collect()
}

fn refs(args: &[Boxed]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn text(r: &Row, i: usize) -> Result<&str, StoreError> {
    Ok(r.try_get(i)?)
}

/// Reads [`CONV_COLS`] starting at column 0.
pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId(r.try_get(0)?),
        network: common::network(text(r, 1)?)?,
        customer: r.try_get::<_, Json<Author>>(2)?.0,
        root_external_id: r.try_get(3)?,
        status: common::status(text(r, 4)?)?,
        assignee: r.try_get(5)?,
        priority: r.try_get::<_, Json<Priority>>(6)?.0,
        signals: r.try_get::<_, Json<PrioritySignals>>(7)?.0,
        language: r.try_get(8)?,
        intent: common::intent(text(r, 9)?)?,
        sentiment: common::sentiment(text(r, 10)?)?,
        opened_at: r.try_get(11)?,
        last_activity_at: r.try_get(12)?,
        awaiting_since: r.try_get(13)?,
        response_due: r.try_get(14)?,
        first_response_due: r.try_get(15)?,
        first_response_at: r.try_get(16)?,
        first_response_secs: r.try_get(17)?,
        resolved_at: r.try_get(18)?,
        post_count: u32::try_from(r.try_get::<_, i32>(19)?).unwrap_or(0),
        last_customer_at: r
            .try_get::<_, Option<DateTime<Utc>>>(20)?
            .unwrap_or(r.try_get(11)?),
        last_brand_at: r.try_get(21)?,
        awaits_parent: r.try_get(22)?,
    })
}

/// Reads [`POST_COLS`] starting at column 0.
pub(crate) fn post_from_row(r: &Row) -> Result<Post, StoreError> {
    Ok(Post {
        id: r.try_get(0)?,
        network: common::network(text(r, 1)?)?,
        external_id: r.try_get(2)?,
        author: Author {
            external_id: r.try_get(3)?,
            handle: r.try_get(4)?,
            display_name: r.try_get(5)?,
            followers: r.try_get::<_, Option<i64>>(6)?.map(|f| f.max(0) as u64),
            verified: r.try_get(7)?,
            bot: r.try_get(8)?,
        },
        text: r.try_get(9)?,
        created_at: r.try_get(10)?,
        received_at: r.try_get(11)?,
        in_reply_to: r.try_get(12)?,
        url: r.try_get(13)?,
        from_brand: r.try_get(14)?,
        conversation_id: r.try_get::<_, Option<i64>>(15)?.map(ConversationId),
        analysis: r.try_get::<_, Json<Analysis>>(16)?.0,
        edited_at: r.try_get(17)?,
        deleted_at: r.try_get(18)?,
    })
}

const REPLY_COLS: &str =
    "r.id, r.conversation_id, r.network, r.in_reply_to, r.text, r.author, r.state, \
     r.idempotency_key, r.external_id, r.error, r.attempts, r.created_at, r.sent_at, r.next_attempt_at";

fn reply_from_row(r: &Row) -> Result<Reply, StoreError> {
    Ok(Reply {
        id: r.try_get(0)?,
        conversation_id: ConversationId(r.try_get(1)?),
        network: common::network(text(r, 2)?)?,
        in_reply_to: r.try_get(3)?,
        text: r.try_get(4)?,
        author: r.try_get(5)?,
        state: common::reply_state(text(r, 6)?)?,
        idempotency_key: r.try_get(7)?,
        external_id: r.try_get(8)?,
        error: r.try_get(9)?,
        attempts: u32::try_from(r.try_get::<_, i32>(10)?).unwrap_or(0),
        created_at: r.try_get(11)?,
        sent_at: r.try_get(12)?,
        next_attempt_at: r.try_get(13)?,
    })
}

const AUDIT_COLS: &str = "a.id, a.conversation_id, a.actor, a.action, a.detail, a.at";

fn audit_from_row(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        conversation_id: r.try_get::<_, Option<i64>>(1)?.map(ConversationId),
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        detail: r.try_get(4)?,
        at: r.try_get(5)?,
    })
}

fn map_rows<T>(
    rows: &[Row],
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

// ---------------------------------------------------------------------------------------
// Writes shared by several operations.

/// A conversation as one `jsonb_to_recordset` row.
#[derive(Debug, Serialize)]
struct ConversationRecord<'a> {
    id: i64,
    network: &'static str,
    customer_external_id: &'a str,
    customer: &'a Author,
    root_external_id: &'a str,
    status: &'static str,
    assignee: Option<&'a str>,
    priority_score: f32,
    band: &'static str,
    priority: &'a Priority,
    signals: &'a PrioritySignals,
    language: &'a str,
    intent: &'static str,
    sentiment: &'static str,
    opened_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    awaiting_since: Option<DateTime<Utc>>,
    response_due: Option<DateTime<Utc>>,
    first_response_due: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    first_response_secs: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
    post_count: u32,
    last_customer_at: DateTime<Utc>,
    last_brand_at: Option<DateTime<Utc>>,
    awaits_parent: Option<&'a str>,
}

impl<'a> ConversationRecord<'a> {
    fn new(c: &'a Conversation, id: ConversationId) -> Self {
        ConversationRecord {
            id: id.0,
            network: c.network.as_str(),
            customer_external_id: &c.customer.external_id,
            customer: &c.customer,
            root_external_id: &c.root_external_id,
            status: c.status.as_str(),
            assignee: c.assignee.as_deref(),
            priority_score: c.priority.score,
            band: c.priority.band.as_str(),
            priority: &c.priority,
            signals: &c.signals,
            language: &c.language,
            intent: c.intent.as_str(),
            sentiment: c.sentiment.as_str(),
            opened_at: c.opened_at,
            last_activity_at: c.last_activity_at,
            awaiting_since: c.awaiting_since,
            response_due: c.response_due,
            first_response_due: c.first_response_due,
            first_response_at: c.first_response_at,
            first_response_secs: c.first_response_secs,
            resolved_at: c.resolved_at,
            post_count: c.post_count,
            last_customer_at: c.last_customer_at,
            last_brand_at: c.last_brand_at,
            awaits_parent: c.awaits_parent.as_deref(),
        }
    }
}

const CONV_RECORD: &str = "jsonb_to_recordset($1::jsonb) AS x(id bigint, network text, customer_external_id text, \
     customer jsonb, root_external_id text, status text, assignee text, priority_score real, band text, \
     priority jsonb, signals jsonb, language text, intent text, sentiment text, opened_at timestamptz, \
     last_activity_at timestamptz, awaiting_since timestamptz, response_due timestamptz, \
     first_response_due timestamptz, first_response_at timestamptz, first_response_secs bigint, \
     resolved_at timestamptz, post_count integer, last_customer_at timestamptz, last_brand_at timestamptz, \
     awaits_parent text)";

const CONV_WRITE_COLS: &str = "network, customer_external_id, customer, root_external_id, status, assignee, \
     priority_score, band, priority, signals, language, intent, sentiment, opened_at, last_activity_at, \
     awaiting_since, response_due, first_response_due, first_response_at, first_response_secs, resolved_at, post_count, last_customer_at, last_brand_at, \
     awaits_parent";

async fn insert_conversations<C: GenericClient>(
    c: &C,
    records: &[ConversationRecord<'_>],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO conversations (id, {CONV_WRITE_COLS}) SELECT id, {CONV_WRITE_COLS} FROM {CONV_RECORD}");
    execute(c, &sql, &[&Json(records)]).await?;
    Ok(())
}

async fn update_conversations<C: GenericClient>(
    c: &C,
    records: &[ConversationRecord<'_>],
) -> Result<u64, StoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    let set = CONV_WRITE_COLS
        .split(", ")
        .map(|col| format!("{col} = x.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("UPDATE conversations c SET {set} FROM {CONV_RECORD} WHERE c.id = x.id");
    execute(c, &sql, &[&Json(records)]).await
}

async fn load_conversation<C: GenericClient>(
    c: &C,
    id: ConversationId,
    for_update: bool,
) -> Result<Option<Conversation>, StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {CONV_COLS} FROM conversations c WHERE c.id = $1{lock}");
    query_opt(c, &sql, &[&id.0])
        .await?
        .as_ref()
        .map(conversation_from_row)
        .transpose()
}

pub(crate) async fn insert_audit<C: GenericClient>(
    c: &C,
    conversation: Option<ConversationId>,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
        &[&conversation.map(|c| c.0), &actor, &action, detail, &at],
    )
    .await?;
    Ok(())
}

async fn load_post_by_key<C: GenericClient>(
    c: &C,
    key: &PostKey,
) -> Result<Option<Post>, StoreError> {
    let sql =
        format!("SELECT {POST_COLS} FROM posts p WHERE p.network = $1 AND p.external_id = $2");
    query_opt(c, &sql, &[&key.network.as_str(), &key.external_id])
        .await?
        .map(|r| post_from_row(&r))
        .transpose()
}

async fn load_reply<C: GenericClient>(c: &C, id: i64) -> Result<Option<Reply>, StoreError> {
    let sql = format!("SELECT {REPLY_COLS} FROM replies r WHERE r.id = $1 FOR UPDATE");
    query_opt(c, &sql, &[&id])
        .await?
        .as_ref()
        .map(reply_from_row)
        .transpose()
}

async fn next_ids<C: GenericClient>(
    c: &C,
    sequence: &str,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = query(
        c,
        "SELECT nextval($1::text::regclass) FROM generate_series(1, $2::bigint)",
        &[&sequence, &(n as i64)],
    )
    .await?;
    rows.iter().map(|r| Ok(r.try_get::<_, i64>(0)?)).collect()
}

// ---------------------------------------------------------------------------------------
// Ingest.

struct Gathered {
    known: Known,
    existing: HashMap<PostKey, Placement>,
}

/// `(networks, ids)` arrays for an `UNNEST($1::text[], $2::text[])` of keys, each key once.
fn key_arrays<'a>(keys: impl Iterator<Item = (&'a str, &'a str)>) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut seen = HashSet::new();
    let mut nets = Vec::new();
    let mut ids = Vec::new();
    for (n, id) in keys {
        if seen.insert((n, id)) {
            nets.push(n);
            ids.push(id);
        }
    }
    (nets, ids)
}

async fn gather<C: GenericClient>(c: &C, batch: &[Incoming]) -> Result<Gathered, StoreError> {
    let mut known = Known::default();
    let mut existing: HashMap<PostKey, Placement> = HashMap::new();
    let mut conversation_ids: HashSet<i64> = HashSet::new();

    let batch_keys: HashSet<PostKey> = batch.iter().map(|i| i.post.key()).collect();
    let parent_keys: HashSet<PostKey> = batch
        .iter()
        .filter_map(|i| {
            i.post
                .in_reply_to
                .as_ref()
                .map(|p| PostKey::new(i.post.network, p.clone()))
        })
        .collect();

    // The batch's posts and their parents, in one query.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str()))
            .chain(batch.iter().filter_map(|i| {
                i.post
                    .in_reply_to
                    .as_deref()
                    .map(|p| (i.post.network.as_str(), p))
            })),
    );
    let rows = query(
        c,
        "SELECT p.id, p.network, p.external_id, p.conversation_id, p.from_brand, p.created_at \
         FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
         JOIN posts p ON p.network = k.network AND p.external_id = k.external_id",
        &[&nets, &ids],
    )
    .await?;
    for r in &rows {
        let key = PostKey::new(common::network(text(r, 1)?)?, r.try_get::<_, String>(2)?);
        let conv: Option<i64> = r.try_get(3)?;
        let kp = KnownPost {
            key: key.clone(),
            conversation_id: conv.map(ConversationId),
            from_brand: r.try_get(4)?,
            created_at: r.try_get(5)?,
        };
        if batch_keys.contains(&key) {
            existing.insert(key.clone(), (r.try_get(0)?, kp.conversation_id));
            known.stored.insert(key.clone());
        }
        if parent_keys.contains(&key) {
            conversation_ids.extend(conv);
            known.parents.insert(key, kp);
        }
    }

    // Conversations opened by a reply to a post of this batch, waiting for it.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str())),
    );
    let rows = query(
        c,
        "SELECT c.network, c.awaits_parent, c.id FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
         JOIN conversations c ON c.network = k.network AND c.awaits_parent = k.external_id \
         WHERE c.awaits_parent IS NOT NULL ORDER BY c.id",
        &[&nets, &ids],
    )
    .await?;
    for r in &rows {
        let key = PostKey::new(common::network(text(r, 0)?)?, r.try_get::<_, String>(1)?);
        let id: i64 = r.try_get(2)?;
        if !known.stored.contains(&key) {
            conversation_ids.insert(id);
            known
                .awaiting
                .entry(key)
                .or_default()
                .push(ConversationId(id));
        }
    }

    // Each customer's latest unresolved conversation.
    let (nets, customers) = key_arrays(
        batch
            .iter()
            .filter(|i| !i.from_brand)
            .map(|i| (i.post.network.as_str(), i.post.author.external_id.as_str())),
    );
    if !nets.is_empty() {
        let rows = query(
            c,
            "SELECT DISTINCT ON (c.network, c.customer_external_id) c.network, c.customer_external_id, c.id \
             FROM UNNEST($1::text[], $2::text[]) AS k(network, customer) \
             JOIN conversations c ON c.network = k.network AND c.customer_external_id = k.customer \
             WHERE c.status <> 'resolved' \
             ORDER BY c.network, c.customer_external_id, c.last_activity_at DESC",
            &[&nets, &customers],
        )
        .await?;
        for r in &rows {
            let id: i64 = r.try_get(2)?;
            conversation_ids.insert(id);
            known.open_by_customer.insert(
                (common::network(text(r, 0)?)?, r.try_get(1)?),
                ConversationId(id),
            );
        }
    }

    // Brand posts that are earshot's own automatic replies: no answer, the clock runs on.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .filter(|i| i.from_brand)
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str())),
    );
    if !ids.is_empty() {
        let auto_key = format!("{}%", earshot_core::reply::AUTO_REPLY_KEY_PREFIX);
        let rows = query(
            c,
            "SELECT r.network, r.external_id FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
             JOIN replies r ON r.network = k.network AND r.external_id = k.external_id \
             WHERE r.idempotency_key LIKE $3 AND r.author = $4",
            &[
                &nets,
                &ids,
                &auto_key,
                &earshot_core::reply::AUTO_REPLY_AUTHOR,
            ],
        )
        .await?;
        for r in &rows {
            let key = PostKey::new(common::network(text(r, 0)?)?, r.try_get::<_, String>(1)?);
            known.automatic.insert(key);
        }
    }

    // Stored replies waiting for a post of this batch, and whatever waits for those.
    let any_orphans: bool = query_opt(
        c,
        "SELECT EXISTS (SELECT 1 FROM posts WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL)",
        &[],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or(false);
    if any_orphans {
        let mut seen: HashSet<PostKey> = HashSet::new();
        let mut frontier: Vec<PostKey> = batch_keys
            .iter()
            .filter(|k| !known.stored.contains(*k))
            .cloned()
            .collect();
        while !frontier.is_empty() {
            seen.extend(frontier.iter().cloned());
            let (nets, parents) = key_arrays(
                frontier
                    .iter()
                    .map(|k| (k.network.as_str(), k.external_id.as_str())),
            );
            let rows = query(
                c,
                "SELECT p.network, p.in_reply_to, p.external_id, p.from_brand, p.created_at \
                 FROM UNNEST($1::text[], $2::text[]) AS k(network, parent) \
                 JOIN posts p ON p.network = k.network AND p.in_reply_to = k.parent \
                 WHERE p.conversation_id IS NULL AND p.in_reply_to IS NOT NULL",
                &[&nets, &parents],
            )
            .await?;
            let mut next = Vec::new();
            for r in &rows {
                let network = common::network(text(r, 0)?)?;
                let parent = PostKey::new(network, r.try_get::<_, String>(1)?);
                let key = PostKey::new(network, r.try_get::<_, String>(2)?);
                if !seen.contains(&key) {
                    next.push(key.clone());
                }
                known.orphans.entry(parent).or_default().push(KnownPost {
                    key,
                    conversation_id: None,
                    from_brand: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                });
            }
            frontier = next;
        }
    }

    if !conversation_ids.is_empty() {
        let mut ids: Vec<i64> = conversation_ids.into_iter().collect();
        ids.sort_unstable();
        let sql = format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ANY($1) ORDER BY c.id FOR UPDATE"
        );
        for r in query(c, &sql, &[&ids]).await? {
            let conv = conversation_from_row(&r)?;
            known.conversations.insert(conv.id, conv);
        }
    }
    Ok(Gathered { known, existing })
}

/// A post as one `jsonb_to_recordset` row.
#[derive(Debug, Serialize)]
struct PostRecord<'a> {
    id: i64,
    network: &'static str,
    external_id: &'a str,
    author_external_id: &'a str,
    author_handle: &'a str,
    author_display_name: Option<&'a str>,
    author_followers: Option<i64>,
    author_verified: bool,
    author_bot: bool,
    text: &'a str,
    created_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    in_reply_to: Option<&'a str>,
    url: Option<&'a str>,
    from_brand: bool,
    conversation_id: Option<i64>,
    lang: &'a str,
    sentiment: &'static str,
    sentiment_score: f32,
    intent: &'static str,
    urgency: &'static str,
    fingerprint: i64,
    analysis: &'a Analysis,
    raw: Option<&'a str>,
}

const POST_RECORD_COLS: &str = "network, external_id, author_external_id, author_handle, author_display_name, \
     author_followers, author_verified, author_bot, text, created_at, received_at, in_reply_to, url, from_brand, \
     conversation_id, lang, sentiment, sentiment_score, intent, urgency, fingerprint, analysis, raw";

const POST_RECORD: &str = "jsonb_to_recordset($1::jsonb) AS x(id bigint, network text, external_id text, \
     author_external_id text, author_handle text, author_display_name text, author_followers bigint, \
     author_verified boolean, author_bot boolean, text text, created_at timestamptz, received_at timestamptz, \
     in_reply_to text, url text, from_brand boolean, conversation_id bigint, lang text, sentiment text, \
     sentiment_score real, intent text, urgency text, fingerprint bigint, analysis jsonb, raw text)";

/// The author's edit of a stored post: the new text and its analysis replace the old, unless
/// the post was deleted or the text is the same; audited as `post_edited`. Whether it changed.
async fn apply_edit<C: GenericClient>(
    c: &C,
    post: &NewPost,
    analysis: &Analysis,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rows = query(
        c,
        "UPDATE posts SET text = $3, lang = $4, sentiment = $5, sentiment_score = $6, \
         intent = $7, urgency = $8, fingerprint = $9, analysis = $10, raw = $11, edited_at = $12 \
         WHERE network = $1 AND external_id = $2 AND deleted_at IS NULL AND text <> $3 \
         RETURNING id, conversation_id",
        &[
            &post.network.as_str(),
            &post.external_id,
            &post.text,
            &analysis.language.language.code(),
            &analysis.sentiment.label.as_str(),
            &analysis.sentiment.score,
            &analysis.intent.label.as_str(),
            &analysis.urgency.level.as_str(),
            &(analysis.fingerprint as i64),
            &Json(analysis),
            &post.raw,
            &at,
        ],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let id: i64 = row.try_get(0)?;
    let conversation: Option<i64> = row.try_get(1)?;
    let detail = serde_json::json!({ "post_id": id, "network": post.network, "external_id": post.external_id });
    insert_audit(
        c,
        conversation.map(ConversationId),
        "system",
        "post_edited",
        &detail,
        at,
    )
    .await?;
    Ok(true)
}

async fn ingest_tx(
    client: &mut deadpool_postgres::Client,
    mut batch: Vec<Incoming>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let refused = common::refuse_odd(&mut batch, now);
    common::normalise(&mut batch);
    let now = common::trunc_us(now);
    let tx = client.transaction().await?;
    // One ingest at a time: what `gather` reads stays true until this transaction commits.
    execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
    let Gathered { known, existing } = gather(&tx, &batch).await?;
    let plan = threading::plan(&batch, &known, policy, now);

    let new_ids: Vec<ConversationId> =
        next_ids(&tx, "conversations_id_seq", plan.new_conversations.len())
            .await?
            .into_iter()
            .map(ConversationId)
            .collect();
    let records: Vec<ConversationRecord> = plan
        .new_conversations
        .iter()
        .zip(&new_ids)
        .map(|(c, id)| ConversationRecord::new(c, *id))
        .collect();
    insert_conversations(&tx, &records).await?;
    let records: Vec<ConversationRecord> = plan
        .updated_conversations
        .iter()
        .map(|c| ConversationRecord::new(c, c.id))
        .collect();
    update_conversations(&tx, &records).await?;

    let post_ids = next_ids(&tx, "posts_id_seq", plan.posts.len()).await?;
    let mut records = Vec::with_capacity(plan.posts.len());
    for (pp, &id) in plan.posts.iter().zip(&post_ids) {
        let inc = &batch[pp.index];
        let p = &inc.post;
        let a = &inc.analysis;
        records.push(PostRecord {
            id,
            network: p.network.as_str(),
            external_id: &p.external_id,
            author_external_id: &p.author.external_id,
            author_handle: &p.author.handle,
            author_display_name: p.author.display_name.as_deref(),
            author_followers: p
                .author
                .followers
                .map(|f| i64::try_from(f).unwrap_or(i64::MAX)),
            author_verified: p.author.verified,
            author_bot: p.author.bot,
            text: &p.text,
            created_at: p.created_at,
            received_at: now,
            in_reply_to: p.in_reply_to.as_deref(),
            url: p.url.as_deref(),
            from_brand: inc.from_brand,
            conversation_id: pp
                .conversation
                .map(|r| common::resolve(r, &new_ids))
                .transpose()?
                .map(|c| c.0),
            lang: a.language.language.code(),
            sentiment: a.sentiment.label.as_str(),
            sentiment_score: a.sentiment.score,
            intent: a.intent.label.as_str(),
            urgency: a.urgency.level.as_str(),
            fingerprint: a.fingerprint as i64,
            analysis: a,
            raw: p.raw.as_deref(),
        });
    }
    let mut inserted = post_ids.clone();
    if !records.is_empty() {
        let sql = format!(
            "INSERT INTO posts (id, {POST_RECORD_COLS}) SELECT id, {POST_RECORD_COLS} FROM {POST_RECORD} \
             ON CONFLICT (network, external_id) DO NOTHING RETURNING id"
        );
        let rows = query(&tx, &sql, &[&Json(&records)]).await?;
        if rows.len() != records.len() {
            // Only reachable if a writer bypassed the ingest lock: point at the row it stored.
            let written: HashSet<i64> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            for (k, rec) in records.iter().enumerate() {
                if !written.contains(&rec.id) {
                    let row = query_opt(
                        &tx,
                        "SELECT id FROM posts WHERE network = $1 AND external_id = $2",
                        &[&rec.network, &rec.external_id],
                    )
                    .await?;
                    if let Some(row) = row {
                        inserted[k] = row.try_get(0)?;
                    }
                }
            }
        }
    }
    drop(records);

    if !plan.adopted.is_empty() {
        let mut nets = Vec::with_capacity(plan.adopted.len());
        let mut ids = Vec::with_capacity(plan.adopted.len());
        let mut convs = Vec::with_capacity(plan.adopted.len());
        for (key, r) in &plan.adopted {
            nets.push(key.network.as_str());
            ids.push(key.external_id.as_str());
            convs.push(common::resolve(*r, &new_ids)?.0);
        }
        execute(
            &tx,
            "UPDATE posts p SET conversation_id = x.conversation_id \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS x(network, external_id, conversation_id) \
             WHERE p.network = x.network AND p.external_id = x.external_id",
            &[&nets, &ids, &convs],
        )
        .await?;
    }
    // A post heard again with another text is the author's edit (the later delivery wins).
    let mut edited = vec![];
    for &i in &plan.duplicates {
        if apply_edit(&tx, &batch[i].post, &batch[i].analysis, now).await? {
            edited.push(i);
        }
    }
    let mut report = common::report(&batch, &plan, &new_ids, &inserted, &existing)?;
    report.mark_edited(&edited);
    report.refused = refused;
    tx.commit().await?;
    Ok(report)
}

// ---------------------------------------------------------------------------------------

fn search_filters(sql: &mut Sql, q: &SearchQuery) -> String {
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
    filters
}

#[async_trait]
impl Store for PgStore {
    async fn ingest(
        &self,
        batch: Vec<Incoming>,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        let mut client = self.client().await?;
        ingest_tx(&mut client, batch, policy, now).await
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationDetail>, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let Some(conversation) = load_conversation(&tx, id, false).await? else {
            return Ok(None);
        };
        let posts = query(
            &tx,
            &format!("SELECT {POST_COLS} FROM posts p WHERE p.conversation_id = $1 ORDER BY p.created_at, p.id"),
            &[&id.0],
        )
        .await?;
        let replies = query(
            &tx,
            &format!(
                "SELECT {REPLY_COLS} FROM replies r WHERE r.conversation_id = $1 ORDER BY r.id"
            ),
            &[&id.0],
        )
        .await?;
        let audit = query(
            &tx,
            &format!(
                "SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = $1 ORDER BY a.id DESC"
            ),
            &[&id.0],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(ConversationDetail {
            conversation,
            posts: map_rows(&posts, post_from_row)?,
            replies: map_rows(&replies, reply_from_row)?,
            audit: map_rows(&audit, audit_from_row)?,
        }))
    }

    async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, StoreError> {
        let now = common::trunc_us(now);
        let client = self.client().await?;
        let mut sql = Sql::new(Dialect::Postgres);
        let page = common::inbox_page_ids(&mut sql, filter, now);
        let text = format!(
            "SELECT {CONV_COLS}, lp.text, lp.created_at FROM ({page}) page \
             JOIN conversations c ON c.id = page.id \
             LEFT JOIN posts lp ON lp.id = {latest} \
             ORDER BY page.priority_score DESC, page.id",
            latest = common::latest_customer_post(Dialect::Postgres, "c.id"),
        );
        let args = boxed_args(&sql);
        let rows = query(&client, &text, &refs(&args)).await?;
        let items = map_rows(&rows, |r| {
            let conversation = conversation_from_row(r)?;
            let latest_text: Option<String> = r.try_get(23)?;
            let latest_at: Option<DateTime<Utc>> = r.try_get(24)?;
            Ok(InboxRow {
                breached: conversation.breached(now),
                latest_text: latest_text.unwrap_or_default(),
                latest_at: latest_at.unwrap_or(conversation.last_activity_at),
                conversation,
            })
        })?;
        let mut count = Sql::new(Dialect::Postgres);
        let count_text = common::inbox_count(&mut count, filter, now);
        let args = boxed_args(&count);
        let counted = query(&client, &count_text, &refs(&args)).await?;
        let (scanned, matched): (i64, i64) = match counted.first() {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, 0),
        };
        Ok(Page {
            items,
            total: common::capped_total(scanned, matched),
            limit: filter.limit,
            offset: filter.offset,
        })
    }

    async fn search(&self, q: &SearchQuery) -> Result<Page<SearchHit>, StoreError> {
        let words = common::search_words(&q.q)?;
        if words.is_empty() || q.limit == 0 {
            return Ok(Page {
                items: Vec::new(),
                total: words.is_empty().then_some(0),
                limit: q.limit,
                offset: q.offset,
            });
        }
        let client = self.client().await?;
        let mut sql = Sql::new(Dialect::Postgres);
        let m = sql.bind(Arg::Text(words.join(" ")));
        let filters = search_filters(&mut sql, q);
        let limit = sql.bind(Arg::Int(i64::from(q.limit)));
        let offset = sql.bind(Arg::Int(q.offset.min(i64::MAX as u64) as i64));
        let text = format!(
            "SELECT {POST_COLS} FROM posts p WHERE p.search @@ plainto_tsquery('simple', earshot_fold({m})){filters} \
             ORDER BY p.id DESC LIMIT {limit} OFFSET {offset}"
        );
        let args = boxed_args(&sql);
        let rows = query(&client, &text, &refs(&args)).await?;
        let items = map_rows(&rows, |r| {
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

    async fn apply(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut conv = load_conversation(&tx, id, true)
            .await?
            .ok_or_else(|| common::not_found_conversation(id))?;
        conv.apply(&event, at)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        update_conversations(&tx, &[ConversationRecord::new(&conv, conv.id)]).await?;
        let detail =
            serde_json::to_value(&event).map_err(|e| StoreError::Invalid(e.to_string()))?;
        insert_audit(&tx, Some(id), actor, event.name(), &detail, at).await?;
        tx.commit().await?;
        Ok(conv)
    }

    async fn queue_reply(&self, reply: NewReply) -> Result<Reply, StoreError> {
        let created_at = common::trunc_us(reply.created_at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locking the conversation makes two requests with one key take turns.
        let conv = load_conversation(&tx, reply.conversation_id, true)
            .await?
            .ok_or_else(|| common::not_found_conversation(reply.conversation_id))?;
        let existing = query_opt(
            &tx,
            &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.idempotency_key = $1"),
            &[&reply.idempotency_key],
        )
        .await?;
        if let Some(row) = existing {
            let existing = reply_from_row(&row)?;
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
        let latest = query_opt(
            &tx,
            &format!(
                "SELECT p.external_id FROM posts p WHERE p.id = {}",
                common::latest_customer_post(Dialect::Postgres, "$1")
            ),
            &[&conv.id.0],
        )
        .await?;
        let in_reply_to = match latest {
            Some(r) => r.try_get::<_, String>(0)?,
            None => conv.root_external_id.clone(),
        };
        let row = query_opt(
            &tx,
            "INSERT INTO replies (conversation_id, network, in_reply_to, text, author, state, idempotency_key, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            &[
                &conv.id.0,
                &conv.network.as_str(),
                &in_reply_to,
                &text,
                &reply.author,
                &reply.idempotency_key,
                &created_at,
            ],
        )
        .await?;
        let Some(row) = row else {
            // Another conversation's request took the key in between: report it as a reuse.
            return Err(StoreError::Conflict(format!(
                "idempotency key {:?} was already used",
                reply.idempotency_key
            )));
        };
        let id: i64 = row.try_get(0)?;
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
        )
        .await?;
        tx.commit().await?;
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

    async fn mark_reply_sent(
        &self,
        reply_id: i64,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Reply, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let reply = load_reply(&tx, reply_id)
            .await?
            .ok_or_else(|| common::not_found_reply(reply_id))?;
        if reply.state == ReplyState::Sent {
            return match reply.external_id.as_deref() {
                Some(e) if e == external_id => Ok(reply),
                other => Err(StoreError::Conflict(format!(
                    "reply {reply_id} was already sent as {}",
                    other.unwrap_or("(unknown)")
                ))),
            };
        }
        execute(
            &tx,
            "UPDATE replies SET state = 'sent', external_id = $2, sent_at = $3, error = NULL, claimed_until = NULL, next_attempt_at = NULL WHERE id = $1",
            &[&reply_id, &external_id, &at],
        )
        .await?;
        let detail = serde_json::json!({ "reply_id": reply_id, "external_id": external_id });
        insert_audit(
            &tx,
            Some(reply.conversation_id),
            "system",
            "reply_sent",
            &detail,
            at,
        )
        .await?;
        let reply = load_reply(&tx, reply_id)
            .await?
            .ok_or_else(|| common::not_found_reply(reply_id))?;
        tx.commit().await?;
        Ok(reply)
    }

    async fn claim_reply(
        &self,
        reply_id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, StoreError> {
        let client = self.client().await?;
        let claimed = execute(
            &client,
            "UPDATE replies SET claimed_until = $2 WHERE id = $1 AND state <> 'sent' \
             AND (claimed_until IS NULL OR claimed_until < $3)",
            &[&reply_id, &common::trunc_us(until), &common::trunc_us(now)],
        )
        .await?;
        let reply = load_reply(&client, reply_id)
            .await?
            .ok_or_else(|| common::not_found_reply(reply_id))?;
        Ok((claimed == 1).then_some(reply))
    }

    async fn mark_reply_unsent(
        &self,
        reply_id: i64,
        miss: &ReplyMiss,
    ) -> Result<Reply, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let reply = load_reply(&tx, reply_id)
            .await?
            .ok_or_else(|| common::not_found_reply(reply_id))?;
        if reply.state == ReplyState::Sent {
            return Err(StoreError::Conflict(format!(
                "reply {reply_id} was already sent"
            )));
        }
        let (state, error, tried, retry_at) = common::reply_miss(miss);
        execute(
            &tx,
            "UPDATE replies SET state = $2, error = $3, attempts = attempts + $4, \
             next_attempt_at = $5, claimed_until = NULL WHERE id = $1",
            &[
                &reply_id,
                &state.as_str(),
                &error,
                &(tried as i32),
                &retry_at,
            ],
        )
        .await?;
        let detail = common::reply_miss_detail(reply_id, miss, reply.attempts + tried);
        insert_audit(
            &tx,
            Some(reply.conversation_id),
            "system",
            common::reply_miss_action(miss),
            &detail,
            common::trunc_us(Utc::now()),
        )
        .await?;
        let reply = load_reply(&tx, reply_id)
            .await?
            .ok_or_else(|| common::not_found_reply(reply_id))?;
        tx.commit().await?;
        Ok(reply)
    }

    async fn due_replies(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Reply>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'failed' \
                 AND r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= $1 \
                 ORDER BY r.next_attempt_at, r.id LIMIT $2"
            ),
            &[&common::trunc_us(now), &i64::from(limit)],
        )
        .await?;
        map_rows(&rows, reply_from_row)
    }

    async fn queued_replies(&self, limit: u32) -> Result<Vec<Reply>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'queued' ORDER BY r.created_at, r.id LIMIT $1"),
            &[&i64::from(limit)],
        )
        .await?;
        map_rows(&rows, reply_from_row)
    }

    async fn audit(
        &self,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = match conversation {
            Some(id) => {
                query(
                    &client,
                    &format!("SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = $1 ORDER BY a.id DESC LIMIT $2"),
                    &[&id.0, &i64::from(limit)],
                )
                .await?
            }
            None => {
                query(
                    &client,
                    &format!("SELECT {AUDIT_COLS} FROM audit a ORDER BY a.id DESC LIMIT $1"),
                    &[&i64::from(limit)],
                )
                .await?
            }
        };
        map_rows(&rows, audit_from_row)
    }

    async fn response_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ResponseSample>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT id, network, opened_at, first_response_due, first_response_at, first_response_secs \
             FROM conversations WHERE opened_at >= $1 AND opened_at < $2 ORDER BY opened_at, id",
            &[&from, &to],
        )
        .await?;
        map_rows(&rows, |r| {
            Ok(ResponseSample {
                conversation_id: ConversationId(r.try_get(0)?),
                network: common::network(text(r, 1)?)?,
                opened_at: r.try_get(2)?,
                first_response_due: r.try_get(3)?,
                first_response_at: r.try_get(4)?,
                first_response_secs: r.try_get(5)?,
            })
        })
    }

    async fn volume(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VolumeCount>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, intent, sentiment, COUNT(*) FROM posts \
             WHERE created_at >= $1 AND created_at < $2 AND NOT from_brand \
             GROUP BY day, intent, sentiment",
            &[&from, &to],
        )
        .await?;
        let mut out = map_rows(&rows, |r| {
            Ok(VolumeCount {
                day: r.try_get::<_, NaiveDate>(0)?,
                intent: common::intent(text(r, 1)?)?,
                sentiment: common::sentiment(text(r, 2)?)?,
                posts: r.try_get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        out.sort_by_key(|v| (v.day, v.intent, v.sentiment));
        Ok(out)
    }

    async fn rescore_open(
        &self,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let now = common::trunc_us(now);
        let mut client = self.client().await?;
        let mut after = 0i64;
        let mut updated = 0u64;
        let select = format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.awaiting_since IS NOT NULL AND c.id > $1 \
             ORDER BY c.id LIMIT $2 FOR UPDATE"
        );
        loop {
            // Short transactions that take turns with ingest, so neither overwrites the other.
            let tx = client.transaction().await?;
            execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
            let rows = query(&tx, &select, &[&after, &RESCORE_BATCH]).await?;
            let batch = map_rows(&rows, conversation_from_row)?;
            let Some(last) = batch.last() else { break };
            after = last.id.0;
            let done = (batch.len() as i64) < RESCORE_BATCH;
            let mut ids = Vec::new();
            let mut scores = Vec::new();
            let mut bands = Vec::new();
            let mut priorities = Vec::new();
            for mut c in batch {
                let before = c.priority.clone();
                threading::rescore(&mut c, policy, now);
                if c.priority != before {
                    ids.push(c.id.0);
                    scores.push(c.priority.score);
                    bands.push(c.priority.band.as_str());
                    priorities.push(
                        serde_json::to_value(&c.priority)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    );
                }
            }
            if !ids.is_empty() {
                updated += execute(
                    &tx,
                    "UPDATE conversations c SET priority_score = x.score, band = x.band, priority = x.priority \
                     FROM UNNEST($1::bigint[], $2::real[], $3::text[], $4::jsonb[]) AS x(id, score, band, priority) \
                     WHERE c.id = x.id",
                    &[&ids, &scores, &bands, &priorities],
                )
                .await?;
            }
            tx.commit().await?;
            if done {
                break;
            }
        }
        Ok(updated)
    }

    async fn edit_post(
        &self,
        post: earshot_core::NewPost,
        analysis: Analysis,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        apply_edit(&tx, &post, &analysis, at).await?;
        let stored = load_post_by_key(&tx, &post.key()).await?;
        tx.commit().await?;
        Ok(stored.filter(|p| p.deleted_at.is_none()))
    }

    async fn delete_post(
        &self,
        key: &PostKey,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = execute(
            &tx,
            "UPDATE posts SET text = '', raw = NULL, deleted_at = $3 \
             WHERE network = $1 AND external_id = $2 AND deleted_at IS NULL",
            &[&key.network.as_str(), &key.external_id, &at],
        )
        .await?;
        let stored = load_post_by_key(&tx, key).await?;
        if changed == 1 {
            if let Some(p) = &stored {
                let detail = serde_json::json!({ "post_id": p.id, "network": p.network, "external_id": p.external_id });
                insert_audit(
                    &tx,
                    p.conversation_id,
                    "system",
                    "post_deleted",
                    &detail,
                    at,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let client = self.client().await?;
        let row = query(
            &client,
            "SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM conversations), \
             (SELECT COUNT(*) FROM conversations WHERE status = 'open'), (SELECT COUNT(*) FROM replies)",
            &[],
        )
        .await?;
        let row = row
            .first()
            .ok_or_else(|| StoreError::Database("counting returned no row".into()))?;
        let n =
            |i: usize| -> Result<u64, StoreError> { Ok(row.try_get::<_, i64>(i)?.max(0) as u64) };
        Ok(StoreCounts {
            posts: n(0)?,
            conversations: n(1)?,
            open_conversations: n(2)?,
            replies: n(3)?,
        })
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = query_opt(
            &client,
            "SELECT cursor FROM cursors WHERE source = $1",
            &[&source],
        )
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn set_cursor(&self, source: &str, cursor: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO cursors (source, cursor, updated_at) VALUES ($1, $2, now()) \
             ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            &[&source, &cursor],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/earshot"),
            "postgres://me@db:5432/earshot"
        );
        assert_eq!(redact("postgres://db/earshot"), "postgres://db/earshot");
    }
}
