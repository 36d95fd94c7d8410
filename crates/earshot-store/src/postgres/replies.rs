//! The reply queue on PostgreSQL: queueing under the conversation's row lock (one key, one
//! reply), claiming with `FOR UPDATE`, and marking a reply sent or not sent.

use super::*;

pub(super) async fn queue_reply(store: &PgStore, reply: NewReply) -> Result<Reply, StoreError> {
    let created_at = common::trunc_us(reply.created_at);
    let mut client = store.client().await?;
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
    let (queued, detail) = common::queued_reply(id, &conv, reply, in_reply_to, text, created_at);
    let actor = queued.author.as_str();
    insert_audit(
        &tx,
        Some(conv.id),
        actor,
        "reply_queued",
        &detail,
        created_at,
    )
    .await?;
    tx.commit().await?;
    Ok(queued)
}

pub(super) async fn mark_reply_sent(
    store: &PgStore,
    reply_id: i64,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let at = common::trunc_us(at);
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let reply = existing_reply(&tx, reply_id).await?;
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
    let reply = existing_reply(&tx, reply_id).await?;
    tx.commit().await?;
    Ok(reply)
}

pub(super) async fn claim_reply(
    store: &PgStore,
    reply_id: i64,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Reply>, StoreError> {
    let client = store.client().await?;
    let claimed = execute(
        &client,
        "UPDATE replies SET claimed_until = $2 WHERE id = $1 AND state <> 'sent' \
         AND (claimed_until IS NULL OR claimed_until < $3)",
        &[&reply_id, &common::trunc_us(until), &common::trunc_us(now)],
    )
    .await?;
    let reply = existing_reply(&client, reply_id).await?;
    Ok((claimed == 1).then_some(reply))
}

pub(super) async fn mark_reply_unsent(
    store: &PgStore,
    reply_id: i64,
    miss: &ReplyMiss,
) -> Result<Reply, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let reply = existing_reply(&tx, reply_id).await?;
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
    let reply = existing_reply(&tx, reply_id).await?;
    tx.commit().await?;
    Ok(reply)
}
