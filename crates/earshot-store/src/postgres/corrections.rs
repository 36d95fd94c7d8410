//! [`CorrectionStore`] on PostgreSQL: the table of migration 0013. A correction that re-ranks
//! takes the ingest lock, so it never overwrites a concurrent ingest's conversation state.

use super::{
    conversation_from_row, execute, insert_audit, post_from_row, query, query_opt, PgStore,
    INGEST_LOCK,
};
use crate::corrections::{
    audit_detail, corrected_cols, field, CorrectionOutcome, CorrectionStore, CURRENT,
    MAX_CORRECTIONS_PAGE,
};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use earshot_core::correction::{self, CorrectedPost, CorrectedValue, Correction, ThreadPost};
use earshot_core::threading::TriagePolicy;
use earshot_core::{Analysis, Conversation, ConversationId};
use tokio_postgres::types::Json;
use tokio_postgres::Row;

async fn load_conversation<C: GenericClient>(
    c: &C,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let row = query_opt(
        c,
        &format!(
            "SELECT {} FROM conversations c WHERE c.id = $1",
            common::CONV_COLS
        ),
        &[&id.0],
    )
    .await?
    .ok_or_else(|| StoreError::Corrupt(format!("a post refers to missing conversation {id}")))?;
    conversation_from_row(&row)
}

fn corrected_from_row(r: &Row) -> Result<CorrectedPost, StoreError> {
    Ok(CorrectedPost {
        correction: Correction {
            id: r.try_get(0)?,
            post_id: r.try_get(1)?,
            conversation_id: r.try_get::<_, Option<i64>>(2)?.map(ConversationId),
            field: field(r.try_get(3)?)?,
            from: r.try_get(4)?,
            to: r.try_get(5)?,
            by: r.try_get(6)?,
            at: r.try_get(7)?,
        },
        text: r.try_get(8)?,
        current: r.try_get(9)?,
    })
}

/// Reads the conversation's posts again and re-ranks it if the corrected post counts.
async fn rerank<C: GenericClient>(
    tx: &C,
    conversation: ConversationId,
    corrected_at: DateTime<Utc>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<(Conversation, bool), StoreError> {
    let mut conv = load_conversation(tx, conversation).await?;
    let rows = query(
        tx,
        "SELECT from_brand, created_at, analysis FROM posts WHERE conversation_id = $1 \
         ORDER BY created_at, id",
        &[&conversation.0],
    )
    .await?;
    let mut read: Vec<(bool, DateTime<Utc>, Analysis)> = Vec::with_capacity(rows.len());
    for r in &rows {
        read.push((
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get::<_, Json<Analysis>>(2)?.0,
        ));
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
    execute(
        tx,
        "UPDATE conversations SET signals = $2, priority_score = $3, band = $4, priority = $5, \
         language = $6, intent = $7, sentiment = $8 WHERE id = $1",
        &[
            &conv.id.0,
            &Json(&conv.signals),
            &conv.priority.score,
            &conv.priority.band.as_str(),
            &Json(&conv.priority),
            &conv.language,
            &conv.intent.as_str(),
            &conv.sentiment.as_str(),
        ],
    )
    .await?;
    Ok((conv, true))
}

#[async_trait]
impl CorrectionStore for PgStore {
    async fn correct_post(
        &self,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
        at: DateTime<Utc>,
        policy: &TriagePolicy,
    ) -> Result<CorrectionOutcome, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Takes turns with ingest and rescoring, so neither overwrites the other.
        execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
        let row = query_opt(
            &tx,
            &format!(
                "SELECT {} FROM posts p WHERE p.id = $1 FOR UPDATE",
                common::POST_COLS
            ),
            &[&post_id],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("post {post_id}")))?;
        let mut post = post_from_row(&row)?;
        if post.deleted_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "the author deleted post {post_id}: there is nothing left to correct"
            )));
        }
        let Some(old) = value.apply(&mut post.analysis, actor, at) else {
            let conversation = match post.conversation_id {
                Some(c) => Some(load_conversation(&tx, c).await?),
                None => None,
            };
            return Ok(CorrectionOutcome {
                correction: None,
                post,
                conversation,
                reranked: false,
            });
        };
        let a = &post.analysis;
        execute(
            &tx,
            "UPDATE posts SET lang = $2, sentiment = $3, sentiment_score = $4, intent = $5, \
             analysis = $6 WHERE id = $1",
            &[
                &post_id,
                &a.language.language.code(),
                &a.sentiment.label.as_str(),
                &a.sentiment.score,
                &a.intent.label.as_str(),
                &Json(a),
            ],
        )
        .await?;
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
        let inserted = query_opt(
            &tx,
            "INSERT INTO corrections (post_id, conversation_id, field, old_value, new_value, actor, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &post_id,
                &post.conversation_id.map(|c| c.0),
                &correction.field.as_str(),
                &correction.from,
                &correction.to,
                &actor,
                &at,
            ],
        )
        .await?
        .ok_or_else(|| StoreError::Database("the correction was not stored".into()))?;
        correction.id = inserted.try_get(0)?;
        insert_audit(
            &tx,
            post.conversation_id,
            actor,
            "post_corrected",
            &audit_detail(&correction),
            at,
        )
        .await?;
        let (conversation, reranked) = match (post.conversation_id, post.from_brand) {
            (Some(c), false) => {
                let (conv, reranked) = rerank(&tx, c, post.created_at, policy, at).await?;
                (Some(conv), reranked)
            }
            (Some(c), true) => (Some(load_conversation(&tx, c).await?), false),
            (None, _) => (None, false),
        };
        tx.commit().await?;
        Ok(CorrectionOutcome {
            correction: Some(correction),
            post,
            conversation,
            reranked,
        })
    }

    async fn corrections(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CorrectedPost>, StoreError> {
        let limit = i64::from(limit.min(MAX_CORRECTIONS_PAGE));
        let before = before.unwrap_or(i64::MAX);
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
                 WHERE k.id < $1 ORDER BY k.id DESC LIMIT $2",
                corrected_cols()
            ),
            &[&before, &limit],
        )
        .await?;
        rows.iter().map(corrected_from_row).collect()
    }

    async fn current_corrections(&self) -> Result<Vec<CorrectedPost>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
                 WHERE {CURRENT} ORDER BY k.id",
                corrected_cols()
            ),
            &[],
        )
        .await?;
        rows.iter().map(corrected_from_row).collect()
    }
}
