//! [`CorrectionStore`] on SQLite: the table of migration 0013, written with the post, its
//! audit line and its conversation's rank in one transaction.

use super::{conversation_from_row, insert_audit, post_from_row, to_json, ts, us, SqliteStore};
use crate::corrections::{
    audit_detail, corrected_cols, field, CorrectionOutcome, CorrectionStore, CURRENT,
    MAX_CORRECTIONS_PAGE,
};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::correction::{self, CorrectedPost, CorrectedValue, Correction, ThreadPost};
use earshot_core::threading::TriagePolicy;
use earshot_core::{Analysis, Conversation, ConversationId, Post};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

fn load_post(conn: &Connection, id: i64) -> Result<Option<Post>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM posts p WHERE p.id = ?1",
        common::POST_COLS
    ))?
    .query_row([id], |r| Ok(post_from_row(r)))
    .optional()?
    .transpose()
}

fn load_conversation(conn: &Connection, id: ConversationId) -> Result<Conversation, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM conversations c WHERE c.id = ?1",
        common::CONV_COLS
    ))?
    .query_row([id.0], |r| Ok(conversation_from_row(r)))
    .optional()?
    .transpose()?
    .ok_or_else(|| StoreError::Corrupt(format!("a post refers to missing conversation {id}")))
}

fn corrected_from_row(r: &Row) -> Result<CorrectedPost, StoreError> {
    Ok(CorrectedPost {
        correction: Correction {
            id: r.get(0)?,
            post_id: r.get(1)?,
            conversation_id: r.get::<_, Option<i64>>(2)?.map(ConversationId),
            field: field(&r.get::<_, String>(3)?)?,
            from: r.get(4)?,
            to: r.get(5)?,
            by: r.get(6)?,
            at: ts(r, 7)?,
        },
        text: r.get(8)?,
        current: r.get(9)?,
    })
}

/// Reads the conversation's posts again and re-ranks it if the corrected post counts.
fn rerank(
    tx: &Connection,
    conversation: ConversationId,
    corrected_at: DateTime<Utc>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<(Conversation, bool), StoreError> {
    let mut conv = load_conversation(tx, conversation)?;
    let mut stmt = tx.prepare_cached(
        "SELECT from_brand, created_at, analysis FROM posts WHERE conversation_id = ?1 \
         ORDER BY created_at, id",
    )?;
    let mut rows = stmt.query([conversation.0])?;
    let mut read: Vec<(bool, DateTime<Utc>, Analysis)> = Vec::new();
    while let Some(r) = rows.next()? {
        let analysis: String = r.get(2)?;
        let analysis = serde_json::from_str(&analysis)
            .map_err(|e| StoreError::Corrupt(format!("posts.analysis: {e}")))?;
        read.push((r.get(0)?, ts(r, 1)?, analysis));
    }
    let posts: Vec<ThreadPost<'_>> = read
        .iter()
        .map(|(from_brand, created_at, analysis)| ThreadPost {
            from_brand: *from_brand,
            created_at: *created_at,
            analysis,
        })
        .collect();
    if !correction::rerank(&mut conv, &posts, corrected_at, policy, now) {
        return Ok((conv, false));
    }
    tx.prepare_cached(
        "UPDATE conversations SET signals = ?2, priority_score = ?3, band = ?4, priority = ?5, \
         language = ?6, intent = ?7, sentiment = ?8 WHERE id = ?1",
    )?
    .execute(params![
        conv.id.0,
        to_json(&conv.signals)?,
        f64::from(conv.priority.score),
        conv.priority.band.as_str(),
        to_json(&conv.priority)?,
        conv.language,
        conv.intent.as_str(),
        conv.sentiment.as_str(),
    ])?;
    Ok((conv, true))
}

fn correct_blocking(
    conn: &mut Connection,
    post_id: i64,
    value: &CorrectedValue,
    actor: &str,
    at: DateTime<Utc>,
    policy: &TriagePolicy,
) -> Result<CorrectionOutcome, StoreError> {
    let at = common::trunc_us(at);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut post =
        load_post(&tx, post_id)?.ok_or_else(|| StoreError::NotFound(format!("post {post_id}")))?;
    if post.deleted_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "the author deleted post {post_id}: there is nothing left to correct"
        )));
    }
    let Some(old) = value.apply(&mut post.analysis, actor, at) else {
        let conversation = post
            .conversation_id
            .map(|c| load_conversation(&tx, c))
            .transpose()?;
        return Ok(CorrectionOutcome {
            correction: None,
            post,
            conversation,
            reranked: false,
        });
    };
    let a = &post.analysis;
    tx.prepare_cached(
        "UPDATE posts SET lang = ?2, sentiment = ?3, sentiment_score = ?4, intent = ?5, analysis = ?6 \
         WHERE id = ?1",
    )?
    .execute(params![
        post_id,
        a.language.language.code(),
        a.sentiment.label.as_str(),
        f64::from(a.sentiment.score),
        a.intent.label.as_str(),
        to_json(a)?,
    ])?;
    let mut correction = Correction {
        id: 0,
        post_id,
        conversation_id: post.conversation_id,
        field: value.field(),
        from: old,
        to: value.as_str().to_string(),
        by: actor.to_string(),
        at,
    };
    correction.id = tx
        .prepare_cached(
            "INSERT INTO corrections (post_id, conversation_id, field, old_value, new_value, actor, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                post_id,
                post.conversation_id.map(|c| c.0),
                correction.field.as_str(),
                correction.from,
                correction.to,
                actor,
                us(at),
            ],
            |r| r.get(0),
        )?;
    insert_audit(
        &tx,
        post.conversation_id,
        actor,
        "post_corrected",
        &audit_detail(&correction),
        at,
    )?;
    let (conversation, reranked) = match (post.conversation_id, post.from_brand) {
        (Some(c), false) => {
            let (conv, reranked) = rerank(&tx, c, post.created_at, policy, at)?;
            (Some(conv), reranked)
        }
        (Some(c), true) => (Some(load_conversation(&tx, c)?), false),
        (None, _) => (None, false),
    };
    tx.commit()?;
    Ok(CorrectionOutcome {
        correction: Some(correction),
        post,
        conversation,
        reranked,
    })
}

#[async_trait]
impl CorrectionStore for SqliteStore {
    async fn correct_post(
        &self,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
        at: DateTime<Utc>,
        policy: &TriagePolicy,
    ) -> Result<CorrectionOutcome, StoreError> {
        let value = value.clone();
        let actor = actor.to_string();
        let policy = policy.clone();
        self.write(move |conn| correct_blocking(conn, post_id, &value, &actor, at, &policy))
            .await
    }

    async fn corrections(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CorrectedPost>, StoreError> {
        let limit = i64::from(limit.min(MAX_CORRECTIONS_PAGE));
        let before = before.unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
                 WHERE k.id < ?1 ORDER BY k.id DESC LIMIT ?2",
                corrected_cols()
            ))?;
            let mut rows = stmt.query(params![before, limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(corrected_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn current_corrections(&self) -> Result<Vec<CorrectedPost>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
                 WHERE {CURRENT} ORDER BY k.id",
                corrected_cols()
            ))?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(corrected_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }
}
