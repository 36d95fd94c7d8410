//! SQLite writes shared by several operations: a conversation's row, an audit row, loading a
//! post or reply by its key.

use super::*;

/// What a conversation's update writes: everything but its identity (network, customer,
/// root post, opening time and first target), so the indexes on those columns are left alone
/// (SQLite rewrites every index over a column named in `SET`, changed or not).
pub(super) const CONV_UPDATE: &str = "UPDATE conversations SET status = ?5, assignee = ?6, priority_score = ?7, band = ?8, \
     priority = ?9, signals = ?10, language = ?11, intent = ?12, sentiment = ?13, last_activity_at = ?15, \
     awaiting_since = ?16, response_due = ?17, first_response_at = ?19, first_response_secs = ?20, \
     resolved_at = ?21, post_count = ?22, last_customer_at = ?24, last_brand_at = ?25, rescore_due = ?26 WHERE id = ?23";

pub(super) const CONV_INSERT: &str = "INSERT INTO conversations (network, customer_external_id, customer, root_external_id, status, \
     assignee, priority_score, band, priority, signals, language, intent, sentiment, opened_at, last_activity_at, \
     awaiting_since, response_due, first_response_due, first_response_at, first_response_secs, resolved_at, post_count, id, \
     last_customer_at, last_brand_at, rescore_due) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)";
/// A conversation whose awaited parent arrived: its opening post, customer and first target
/// may have changed, and what it waits for.
pub(super) const CONV_REROOT: &str =
    "UPDATE conversations SET customer_external_id = ?2, customer = ?3, root_external_id = ?4, \
     opened_at = ?5, first_response_due = ?6, awaits_parent = ?7 WHERE id = ?1";

/// Inserts (`insert`, new id) or updates (by `c.id`) a conversation, with the time its rank
/// next goes stale (see [`crate::reranking`]).
pub(super) fn write_conversation(
    conn: &Connection,
    c: &Conversation,
    insert: bool,
    rescore_due: Option<DateTime<Utc>>,
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
        rescore_due.map(us),
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

pub(super) fn load_conversation(
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

pub(super) fn load_post_by_key(
    conn: &Connection,
    key: &PostKey,
) -> Result<Option<Post>, StoreError> {
    query_one(
        conn,
        &format!("SELECT {POST_COLS} FROM posts p WHERE p.network = ?1 AND p.external_id = ?2"),
        params![key.network.as_str(), key.external_id],
        post_from_row,
    )
}

pub(super) fn load_reply(conn: &Connection, id: i64) -> Result<Option<Reply>, StoreError> {
    query_one(
        conn,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.id = ?1"),
        [id],
        reply_from_row,
    )
}
