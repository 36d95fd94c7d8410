//! PostgreSQL values in and out: statements through the pool's cache, and the rows of the hot
//! paths (conversations, posts, replies, audit).

use super::*;

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

pub(super) type Boxed = Box<dyn ToSql + Sync + Send>;

pub(super) fn boxed_args(sql: &Sql) -> Vec<Boxed> {
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

pub(super) fn refs(args: &[Boxed]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub(super) fn text(r: &Row, i: usize) -> Result<&str, StoreError> {
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

pub(super) const REPLY_COLS: &str =
    "r.id, r.conversation_id, r.network, r.in_reply_to, r.text, r.author, r.state, \
     r.idempotency_key, r.external_id, r.error, r.attempts, r.created_at, r.sent_at, r.next_attempt_at";

pub(super) fn reply_from_row(r: &Row) -> Result<Reply, StoreError> {
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

pub(super) const AUDIT_COLS: &str = "a.id, a.conversation_id, a.actor, a.action, a.detail, a.at";

pub(super) fn audit_from_row(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.try_get(0)?,
        conversation_id: r.try_get::<_, Option<i64>>(1)?.map(ConversationId),
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        detail: r.try_get(4)?,
        at: r.try_get(5)?,
    })
}

pub(super) fn map_rows<T>(
    rows: &[Row],
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}
