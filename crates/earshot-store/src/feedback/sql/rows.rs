//! The column lists and row readers the [`super::super::FeedbackStore`] queries share.

use crate::db::{args, Conn, Row, Value};
use crate::StoreError;
use earshot_core::feedback::{Promise, PromiseId, Release, ReleaseId, RequestId};
use earshot_core::ConversationId;

pub(super) const PROMISE_COLS: &str =
    "id, request_id, conversation_id, reply_id, evidence, kind, state, made_at, \
     due_on, target_release, confirmed_by, confirmed_at, release_id, kept_at";

pub(super) fn promise_from_row(r: &Row) -> Result<Promise, StoreError> {
    Ok(Promise {
        id: PromiseId(r.get(0)?),
        request_id: r.get::<Option<i64>>(1)?.map(RequestId),
        conversation_id: ConversationId(r.get(2)?),
        reply_id: r.get(3)?,
        evidence: r.get(4)?,
        kind: super::super::parse_kind(r.text(5)?)?,
        state: super::super::parse_state(r.text(6)?)?,
        made_at: r.get(7)?,
        due_on: r.get(8)?,
        target_release: r.get(9)?,
        confirmed_by: r.get(10)?,
        confirmed_at: r.get(11)?,
        release_id: r.get(12)?,
        kept_at: r.get(13)?,
    })
}

pub(super) async fn load_promise(c: &mut dyn Conn, id: i64) -> Result<Option<Promise>, StoreError> {
    let sql = format!("SELECT {PROMISE_COLS} FROM promises WHERE id = $1");
    c.query_opt(&sql, args![id])
        .await?
        .map(|r| promise_from_row(&r))
        .transpose()
}

/// `$1, $2, …` for `n` values after the first `after`.
pub(super) fn placeholders(after: usize, n: usize) -> String {
    (after + 1..=after + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn request_ids(requests: &[RequestId]) -> Vec<Value> {
    requests.iter().map(|r| Value::Int(r.0)).collect()
}

pub(super) async fn load_release(c: &mut dyn Conn, id: i64) -> Result<Option<Release>, StoreError> {
    let Some(r) = c
        .query_opt(
            "SELECT id, version, shipped_at, notes, url, created_by, created_at FROM releases \
             WHERE id = $1",
            args![id],
        )
        .await?
    else {
        return Ok(None);
    };
    let request_ids = c
        .query(
            "SELECT request_id FROM release_requests WHERE release_id = $1 ORDER BY request_id",
            args![id],
        )
        .await?
        .iter()
        .map(|row| row.get::<i64>(0).map(RequestId))
        .collect::<Result<_, _>>()?;
    Ok(Some(Release {
        id: ReleaseId(r.get(0)?),
        version: r.get(1)?,
        shipped_at: r.get(2)?,
        notes: r.get(3)?,
        url: r.get(4)?,
        request_ids,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
    }))
}

pub(super) async fn must_exist(c: &mut dyn Conn, id: RequestId) -> Result<(), StoreError> {
    match c
        .query_opt("SELECT id FROM requests WHERE id = $1", args![id.0])
        .await?
    {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("request {id}"))),
    }
}
