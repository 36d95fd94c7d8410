//! SQLite reads on the hot path: a conversation, the inbox (index-walking arms per status) and
//! FTS5 search. Kept per backend on purpose: each dialect's index and full-text tools make them
//! fast.

use super::*;

pub(super) fn detail_blocking(
    conn: &Connection,
    id: ConversationId,
) -> Result<Option<ConversationDetail>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    detail_in(&tx, id)
}

/// Several conversations' details read in one transaction (in-process, so one statement per
/// part of each costs no round trip): those stored, in id order.
pub(super) fn details_blocking(
    conn: &Connection,
    mut ids: Vec<ConversationId>,
) -> Result<Vec<ConversationDetail>, StoreError> {
    ids.sort();
    ids.dedup();
    let tx = conn.unchecked_transaction()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(detail_in(&tx, id)?);
    }
    Ok(out)
}

fn detail_in(
    tx: &Connection,
    id: ConversationId,
) -> Result<Option<ConversationDetail>, StoreError> {
    let Some(conversation) = load_conversation(tx, id)? else {
        return Ok(None);
    };
    let posts = query_all(
        tx,
        &format!("SELECT {POST_COLS} FROM posts p WHERE p.conversation_id = ?1 ORDER BY p.created_at, p.id"),
        [id.0],
        post_from_row,
    )?;
    let replies = query_all(
        tx,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.conversation_id = ?1 ORDER BY r.id"),
        [id.0],
        reply_from_row,
    )?;
    let audit = query_all(
        tx,
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

pub(super) fn inbox_blocking(
    conn: &Connection,
    filter: &InboxFilter,
    now: DateTime<Utc>,
) -> Result<Page<InboxRow>, StoreError> {
    let tx = conn.unchecked_transaction()?;
    let (text, sql) = common::inbox_sql(Dialect::Sqlite, filter, now);
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

pub(super) fn search_blocking(
    conn: &Connection,
    q: &SearchQuery,
) -> Result<Page<SearchHit>, StoreError> {
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
    let filters = common::search_filters(&mut sql, q);
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
    Ok(common::search_page(items, q))
}
