//! What several stores read and write alike on both backends: a conversation read from a
//! neutral [`Row`], whether one exists, an audit row.

use super::{args, Conn, Row};
use crate::{common, StoreError};
use chrono::{DateTime, Utc};
use earshot_core::{Analysis, Author, Conversation, ConversationId, Post};

/// `NotFound` unless the conversation exists; `lock` also locks its row until the
/// transaction ends (so, say, two agents labelling at once take turns).
pub(crate) async fn conversation_exists(
    c: &mut dyn Conn,
    id: ConversationId,
    lock: bool,
) -> Result<(), StoreError> {
    let lock = if lock { c.for_update() } else { "" };
    let sql = format!("SELECT id FROM conversations WHERE id = $1{lock}");
    c.query_opt(&sql, args![id])
        .await?
        .map(|_| ())
        .ok_or_else(|| common::not_found_conversation(id))
}

/// An audit row; `conversation` is `None` for one about the whole installation.
pub(crate) async fn insert_audit(
    c: &mut dyn Conn,
    conversation: Option<ConversationId>,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
        args![conversation, actor, action, detail, at],
    )
    .await?;
    Ok(())
}

/// Reads [`common::CONV_COLS`] starting at column 0.
pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId(r.get(0)?),
        network: common::network(r.text(1)?)?,
        customer: r.json(2)?,
        root_external_id: r.get(3)?,
        status: common::status(r.text(4)?)?,
        assignee: r.get(5)?,
        priority: r.json(6)?,
        signals: r.json(7)?,
        language: r.get(8)?,
        intent: common::intent(r.text(9)?)?,
        sentiment: common::sentiment(r.text(10)?)?,
        opened_at: r.get(11)?,
        last_activity_at: r.get(12)?,
        awaiting_since: r.get(13)?,
        response_due: r.get(14)?,
        first_response_due: r.get(15)?,
        first_response_at: r.get(16)?,
        first_response_secs: r.get(17)?,
        resolved_at: r.get(18)?,
        post_count: u32::try_from(r.get::<i64>(19)?).unwrap_or(u32::MAX),
        last_customer_at: r.get::<Option<_>>(20)?.unwrap_or(r.get(11)?),
        last_brand_at: r.get(21)?,
        awaits_parent: r.get(22)?,
    })
}

/// Reads [`common::POST_COLS`] starting at column 0.
pub(crate) fn post_from_row(r: &Row) -> Result<Post, StoreError> {
    Ok(Post {
        id: r.get(0)?,
        network: common::network(r.text(1)?)?,
        external_id: r.get(2)?,
        author: Author {
            external_id: r.get(3)?,
            handle: r.get(4)?,
            display_name: r.get(5)?,
            followers: r.get::<Option<i64>>(6)?.map(|f| f.max(0) as u64),
            verified: r.get(7)?,
            bot: r.get(8)?,
        },
        text: r.get(9)?,
        created_at: r.get(10)?,
        received_at: r.get(11)?,
        in_reply_to: r.get(12)?,
        url: r.get(13)?,
        from_brand: r.get(14)?,
        conversation_id: r.get::<Option<i64>>(15)?.map(ConversationId),
        analysis: r.json::<Analysis>(16)?,
        edited_at: r.get(17)?,
        deleted_at: r.get(18)?,
    })
}
