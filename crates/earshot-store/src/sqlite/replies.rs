//! SQLite agent actions and the reply queue: apply, queue, claim, mark sent or unsent,
//! rescoring. Kept per backend: the claim and the rescoring batches lean on the one writer.

use super::*;

pub(super) fn apply_blocking(
    conn: &mut Connection,
    id: ConversationId,
    event: &ConversationEvent,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Conversation, StoreError> {
    let at = common::trunc_us(at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut conv = load_conversation(&tx, id)?.ok_or_else(|| common::not_found_conversation(id))?;
    conv.apply(event, at)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    write_conversation(&tx, &conv, false, Some(reranking::DUE_AT_ONCE))?;
    let detail = serde_json::to_value(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
    insert_audit(&tx, Some(id), actor, event.name(), &detail, at)?;
    tx.commit()?;
    Ok(conv)
}

pub(super) fn queue_reply_blocking(
    conn: &mut Connection,
    reply: NewReply,
) -> Result<Reply, StoreError> {
    let created_at = common::trunc_us(reply.created_at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let conv = load_conversation(&tx, reply.conversation_id)?
        .ok_or_else(|| common::not_found_conversation(reply.conversation_id))?;
    let existing = query_one(
        &tx,
        &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.idempotency_key = ?1"),
        [&reply.idempotency_key],
        reply_from_row,
    )?;
    if let Some(existing) = existing {
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
    let latest: Option<String> = tx
        .prepare_cached(&format!(
            "SELECT p.external_id FROM posts p WHERE p.id = {}",
            common::latest_customer_post(Dialect::Sqlite, "?1")
        ))?
        .query_row([conv.id.0], |r| r.get(0))
        .optional()?;
    let in_reply_to = latest.unwrap_or_else(|| conv.root_external_id.clone());
    tx.prepare_cached(
        "INSERT INTO replies (conversation_id, network, in_reply_to, text, author, state, idempotency_key, attempts, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, 0, ?7)",
    )?
    .execute(params![
        conv.id.0,
        conv.network.as_str(),
        in_reply_to,
        text,
        reply.author,
        reply.idempotency_key,
        us(created_at)
    ])?;
    let id = tx.last_insert_rowid();
    let (queued, detail) = common::queued_reply(id, &conv, reply, in_reply_to, text, created_at);
    let actor = queued.author.as_str();
    insert_audit(
        &tx,
        Some(conv.id),
        actor,
        "reply_queued",
        &detail,
        created_at,
    )?;
    tx.commit()?;
    Ok(queued)
}

pub(super) fn mark_sent_blocking(
    conn: &mut Connection,
    reply_id: i64,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<Reply, StoreError> {
    let at = common::trunc_us(at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    if reply.state == ReplyState::Sent {
        return match reply.external_id.as_deref() {
            Some(e) if e == external_id => Ok(reply),
            other => Err(StoreError::Conflict(format!(
                "reply {reply_id} was already sent as {}",
                other.unwrap_or("(unknown)")
            ))),
        };
    }
    tx.prepare_cached("UPDATE replies SET state = 'sent', external_id = ?2, sent_at = ?3, error = NULL, claimed_until = NULL, next_attempt_at = NULL WHERE id = ?1")?
        .execute(params![reply_id, external_id, us(at)])?;
    let detail = serde_json::json!({ "reply_id": reply_id, "external_id": external_id });
    insert_audit(
        &tx,
        Some(reply.conversation_id),
        "system",
        "reply_sent",
        &detail,
        at,
    )?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    tx.commit()?;
    Ok(reply)
}

pub(super) fn mark_unsent_blocking(
    conn: &mut Connection,
    reply_id: i64,
    miss: &ReplyMiss,
) -> Result<Reply, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    if reply.state == ReplyState::Sent {
        return Err(StoreError::Conflict(format!(
            "reply {reply_id} was already sent"
        )));
    }
    let (state, error, tried, retry_at) = common::reply_miss(miss);
    tx.prepare_cached(
        "UPDATE replies SET state = ?2, error = ?3, attempts = attempts + ?4, next_attempt_at = ?5, \
         claimed_until = NULL WHERE id = ?1",
    )?
    .execute(params![
        reply_id,
        state.as_str(),
        error,
        i64::from(tried),
        retry_at.map(us)
    ])?;
    let detail = common::reply_miss_detail(reply_id, miss, reply.attempts + tried);
    insert_audit(
        &tx,
        Some(reply.conversation_id),
        "system",
        common::reply_miss_action(miss),
        &detail,
        common::trunc_us(Utc::now()),
    )?;
    let reply = load_reply(&tx, reply_id)?.ok_or_else(|| common::not_found_reply(reply_id))?;
    tx.commit()?;
    Ok(reply)
}

pub(super) fn rescore_blocking(
    conn: &mut Connection,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
    sweeps: &[Sweep],
) -> Result<RescorePass, StoreError> {
    let now = common::trunc_us(now);
    let hour_ago = us(now - chrono::Duration::hours(1));
    let mut pass = RescorePass::default();
    // `rescore_due` is read after the conversation's columns.
    let due_col = CONV_COLS.split(',').count();
    for sweep in sweeps {
        let (mut after_due, mut after) = (us(reranking::before_any_due()), 0i64);
        // Short transactions, so an import is not held up; each batch is read and written
        // under the write lock, so a concurrent ingest's newer state is never overwritten.
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (sql, args): (String, Vec<Value>) = match sweep {
                Sweep::All => (
                    format!("SELECT {CONV_COLS}, c.rescore_due FROM conversations c \
                     WHERE c.awaiting_since IS NOT NULL AND c.id > ?1 ORDER BY c.id LIMIT ?2"),
                    vec![after.into(), RESCORE_BATCH.into()],
                ),
                Sweep::Due => (
                    format!("SELECT {CONV_COLS}, c.rescore_due FROM conversations c \
                     WHERE c.awaiting_since IS NOT NULL AND c.rescore_due <= ?1 \
                     AND (c.rescore_due, c.id) > (?2, ?3) ORDER BY c.rescore_due, c.id LIMIT ?4"),
                    vec![us(now).into(), after_due.into(), after.into(), RESCORE_BATCH.into()],
                ),
                Sweep::TurnUnnoted => (
                    format!("SELECT {CONV_COLS}, c.rescore_due FROM conversations c \
                     WHERE c.awaiting_since IS NOT NULL AND json_extract(c.signals, '$.fair_turn_at') IS NULL \
                     AND c.awaiting_since >= ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3"),
                    vec![hour_ago.into(), after.into(), RESCORE_BATCH.into()],
                ),
            };
            let batch = query_all(&tx, &sql, rusqlite::params_from_iter(args), |r| {
                Ok((conversation_from_row(r)?, r.get::<_, Option<i64>>(due_col)?))
            })?;
            let Some((last, last_due)) = batch.last() else {
                break;
            };
            (after, after_due) = (last.id.0, last_due.unwrap_or(after_due));
            let done = (batch.len() as i64) < RESCORE_BATCH;
            pass.read += batch.len() as u64;
            let batch = batch.into_iter().map(|(c, _)| c).collect();
            let reranked = reranking::rerank(batch, policy, now);
            {
                let mut write = tx.prepare_cached(
                    "UPDATE conversations SET priority_score = ?2, band = ?3, priority = ?4, signals = ?5, \
                     rescore_due = ?6 WHERE id = ?1",
                )?;
                for (c, due) in &reranked.changed {
                    write.execute(params![
                        c.id.0,
                        f64::from(c.priority.score),
                        c.priority.band.as_str(),
                        to_json(&c.priority)?,
                        to_json(&c.signals)?,
                        due.map(us),
                    ])?;
                    pass.reranked += 1;
                }
                let mut timed =
                    tx.prepare_cached("UPDATE conversations SET rescore_due = ?2 WHERE id = ?1")?;
                for (id, due) in &reranked.unchanged {
                    timed.execute(params![id.0, due.map(us)])?;
                }
            }
            tx.commit()?;
            if done {
                break;
            }
        }
    }
    Ok(pass)
}
