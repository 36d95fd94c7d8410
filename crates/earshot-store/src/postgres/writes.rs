//! PostgreSQL writes shared by several operations: conversations written as a batch
//! (`jsonb_to_recordset`), an audit row, loading a post or reply by its key, ids taken ahead.

use super::*;

/// A conversation as one `jsonb_to_recordset` row.
#[derive(Debug, Serialize)]
pub(super) struct ConversationRecord<'a> {
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
    /// When its rank next goes stale (see [`crate::reranking`]).
    rescore_due: Option<DateTime<Utc>>,
}

impl<'a> ConversationRecord<'a> {
    pub(super) fn new(c: &'a Conversation, id: ConversationId) -> Self {
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
            rescore_due: Some(reranking::DUE_AT_ONCE),
        }
    }

    /// Ranked as of `now` under `policy` (ingest): timed, so no pass reads it before its rank
    /// can have moved.
    pub(super) fn ranked(
        self,
        c: &Conversation,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Self {
        ConversationRecord {
            rescore_due: reranking::due(c, policy, now),
            ..self
        }
    }
}

pub(super) const CONV_RECORD: &str = "jsonb_to_recordset($1::jsonb) AS x(id bigint, network text, customer_external_id text, \
     customer jsonb, root_external_id text, status text, assignee text, priority_score real, band text, \
     priority jsonb, signals jsonb, language text, intent text, sentiment text, opened_at timestamptz, \
     last_activity_at timestamptz, awaiting_since timestamptz, response_due timestamptz, \
     first_response_due timestamptz, first_response_at timestamptz, first_response_secs bigint, \
     resolved_at timestamptz, post_count integer, last_customer_at timestamptz, last_brand_at timestamptz, \
     awaits_parent text, rescore_due timestamptz)";

pub(super) const CONV_WRITE_COLS: &str = "network, customer_external_id, customer, root_external_id, status, assignee, \
     priority_score, band, priority, signals, language, intent, sentiment, opened_at, last_activity_at, \
     awaiting_since, response_due, first_response_due, first_response_at, first_response_secs, resolved_at, post_count, last_customer_at, last_brand_at, \
     awaits_parent, rescore_due";

pub(super) async fn insert_conversations<C: GenericClient>(
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

pub(super) async fn update_conversations<C: GenericClient>(
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

pub(super) async fn load_conversation<C: GenericClient>(
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

pub(super) async fn load_post_by_key<C: GenericClient>(
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

pub(super) async fn load_reply<C: GenericClient>(
    c: &C,
    id: i64,
) -> Result<Option<Reply>, StoreError> {
    let sql = format!("SELECT {REPLY_COLS} FROM replies r WHERE r.id = $1 FOR UPDATE");
    query_opt(c, &sql, &[&id])
        .await?
        .as_ref()
        .map(reply_from_row)
        .transpose()
}

/// [`load_reply`], a missing reply being `StoreError::NotFound`.
pub(super) async fn existing_reply<C: GenericClient>(c: &C, id: i64) -> Result<Reply, StoreError> {
    load_reply(c, id)
        .await?
        .ok_or_else(|| common::not_found_reply(id))
}

pub(super) async fn next_ids<C: GenericClient>(
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
