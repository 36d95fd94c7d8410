//! SQLite values in and out: times as INTEGER microseconds, JSON as TEXT, and the rows of the
//! hot paths (conversations, posts, replies, audit).

use super::*;

pub(crate) fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(super) fn from_us(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} is out of range")))
}

pub(crate) fn ts(r: &Row, i: usize) -> Result<DateTime<Utc>, StoreError> {
    from_us(r.get(i)?)
}

pub(crate) fn ts_opt(r: &Row, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
    r.get::<_, Option<i64>>(i)?.map(from_us).transpose()
}

pub(super) fn json<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> Result<T, StoreError> {
    let v = r.get_ref(i)?;
    let s = v
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("JSON column {i}: {e}")))?;
    serde_json::from_str(s).map_err(common::json_err)
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode as JSON: {e}")))
}

pub(super) fn arg_value(a: &Arg) -> Value {
    match a {
        Arg::Text(s) => Value::Text(s.clone()),
        Arg::Int(i) => Value::Integer(*i),
        Arg::Time(t) => Value::Integer(us(*t)),
    }
}

pub(super) fn bound(sql: &Sql) -> impl rusqlite::Params + '_ {
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

pub(super) const REPLY_COLS: &str =
    "r.id, r.conversation_id, r.network, r.in_reply_to, r.text, r.author, r.state, \
     r.idempotency_key, r.external_id, r.error, r.attempts, r.created_at, r.sent_at, r.next_attempt_at";

pub(super) fn reply_from_row(r: &Row) -> Result<Reply, StoreError> {
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

pub(super) const AUDIT_COLS: &str = "a.id, a.conversation_id, a.actor, a.action, a.detail, a.at";

pub(super) fn audit_from_row(r: &Row) -> Result<AuditEntry, StoreError> {
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
pub(super) fn query_all<T>(
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

pub(super) fn query_one<T>(
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
