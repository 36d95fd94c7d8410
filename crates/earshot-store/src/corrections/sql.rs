//! [`CorrectionStore`] written once for both backends (migration 0013), over the neutral
//! [`Conn`]: the post, its correction row, its audit line and its conversation's rank change
//! in one write transaction that takes turns with ingest ([`Conn::take_ingest_turn`]), so a
//! re-rank never overwrites a batch threaded at the same time.

use super::{
    audit_detail, corrected_cols, field, CorrectionOutcome, CorrectionStore, CURRENT,
    MAX_CORRECTIONS_PAGE,
};
use crate::db::{
    args, conversation_from_row, insert_audit, job, json, post_from_row, Backend, Conn, IngestTurn,
    Row,
};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::correction::{self, CorrectedPost, CorrectedValue, Correction, ThreadPost};
use earshot_core::threading::TriagePolicy;
use earshot_core::{Analysis, Conversation, ConversationId, Post};

/// The post, its row locked until the transaction ends.
async fn load_post(c: &mut dyn Conn, id: i64) -> Result<Option<Post>, StoreError> {
    let sql = format!(
        "SELECT {} FROM posts p WHERE p.id = $1{}",
        common::POST_COLS,
        c.for_update()
    );
    c.query_opt(&sql, args![id])
        .await?
        .map(|r| post_from_row(&r))
        .transpose()
}

async fn load_conversation(
    c: &mut dyn Conn,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let sql = format!(
        "SELECT {} FROM conversations c WHERE c.id = $1",
        common::CONV_COLS
    );
    let row = c.query_opt(&sql, args![id]).await?.ok_or_else(|| {
        StoreError::Corrupt(format!("a post refers to missing conversation {id}"))
    })?;
    conversation_from_row(&row)
}

fn corrected_from_row(r: &Row) -> Result<CorrectedPost, StoreError> {
    Ok(CorrectedPost {
        correction: Correction {
            id: r.get(0)?,
            post_id: r.get(1)?,
            conversation_id: r.get::<Option<i64>>(2)?.map(ConversationId),
            field: field(r.text(3)?)?,
            from: r.get(4)?,
            to: r.get(5)?,
            by: r.get(6)?,
            at: r.get(7)?,
        },
        text: r.get(8)?,
        current: r.get(9)?,
    })
}

/// Reads the conversation's posts again and re-ranks it if the corrected post counts.
async fn rerank(
    c: &mut dyn Conn,
    conversation: ConversationId,
    corrected_at: DateTime<Utc>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<(Conversation, bool), StoreError> {
    let mut conv = load_conversation(c, conversation).await?;
    let rows = c
        .query(
            "SELECT from_brand, created_at, analysis FROM posts WHERE conversation_id = $1 \
             ORDER BY created_at, id",
            args![conversation],
        )
        .await?;
    let mut read: Vec<(bool, DateTime<Utc>, Analysis)> = Vec::with_capacity(rows.len());
    for r in &rows {
        read.push((r.get(0)?, r.get(1)?, r.json(2)?));
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
    c.execute(
        "UPDATE conversations SET signals = $2, priority_score = $3, band = $4, priority = $5, \
         language = $6, intent = $7, sentiment = $8, rescore_due = $9 WHERE id = $1",
        &[
            conv.id.into(),
            json(&conv.signals)?,
            conv.priority.score.into(),
            conv.priority.band.as_str().into(),
            json(&conv.priority)?,
            (&conv.language).into(),
            conv.intent.as_str().into(),
            conv.sentiment.as_str().into(),
            crate::reranking::due(&conv, policy, now).into(),
        ],
    )
    .await?;
    Ok((conv, true))
}

async fn correct(
    c: &mut dyn Conn,
    post_id: i64,
    value: &CorrectedValue,
    actor: &str,
    at: DateTime<Utc>,
    policy: &TriagePolicy,
) -> Result<CorrectionOutcome, StoreError> {
    c.take_ingest_turn(IngestTurn::Alone).await?;
    let mut post = load_post(c, post_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("post {post_id}")))?;
    if post.deleted_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "the author deleted post {post_id}: there is nothing left to correct"
        )));
    }
    let Some(old) = value.apply(&mut post.analysis, actor, at) else {
        let conversation = match post.conversation_id {
            Some(id) => Some(load_conversation(c, id).await?),
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
    c.execute(
        "UPDATE posts SET lang = $2, sentiment = $3, sentiment_score = $4, intent = $5, \
         analysis = $6 WHERE id = $1",
        &[
            post_id.into(),
            a.language.language.code().into(),
            a.sentiment.label.as_str().into(),
            a.sentiment.score.into(),
            a.intent.label.as_str().into(),
            json(a)?,
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
    correction.id = c
        .query_one(
            "INSERT INTO corrections (post_id, conversation_id, field, old_value, new_value, \
             actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            args![
                post_id,
                post.conversation_id,
                correction.field.as_str(),
                &correction.from,
                &correction.to,
                actor,
                at,
            ],
        )
        .await?
        .get(0)?;
    insert_audit(
        c,
        post.conversation_id,
        actor,
        "post_corrected",
        &audit_detail(&correction),
        at,
    )
    .await?;
    let (conversation, reranked) = match (post.conversation_id, post.from_brand) {
        (Some(id), false) => {
            let (conv, reranked) = rerank(c, id, post.created_at, policy, at).await?;
            (Some(conv), reranked)
        }
        (Some(id), true) => (Some(load_conversation(c, id).await?), false),
        (None, _) => (None, false),
    };
    Ok(CorrectionOutcome {
        correction: Some(correction),
        post,
        conversation,
        reranked,
    })
}

#[async_trait]
impl<B: Backend> CorrectionStore for B {
    async fn correct_post(
        &self,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
        at: DateTime<Utc>,
        policy: &TriagePolicy,
    ) -> Result<CorrectionOutcome, StoreError> {
        let at = common::trunc_us(at);
        let (value, actor, policy) = (value.clone(), actor.to_string(), policy.clone());
        self.transaction(job!(c => {
            correct(c, post_id, &value, &actor, at, &policy).await
        }))
        .await
    }

    async fn corrections(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CorrectedPost>, StoreError> {
        let limit = i64::from(limit.min(MAX_CORRECTIONS_PAGE));
        let before = before.unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
             WHERE k.id < $1 ORDER BY k.id DESC LIMIT $2",
            corrected_cols()
        );
        self.read(job!(c => {
            c.query(&sql, args![before, limit])
                .await?
                .iter()
                .map(corrected_from_row)
                .collect()
        }))
        .await
    }

    async fn current_corrections(&self) -> Result<Vec<CorrectedPost>, StoreError> {
        let sql = format!(
            "SELECT {} FROM corrections k JOIN posts p ON p.id = k.post_id \
             WHERE {CURRENT} ORDER BY k.id",
            corrected_cols()
        );
        self.read(job!(c => {
            c.query(&sql, &[]).await?.iter().map(corrected_from_row).collect()
        }))
        .await
    }
}
