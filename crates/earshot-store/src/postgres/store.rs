//! [`Store`] on PostgreSQL: the inbox, `tsvector` search, rescoring and the rest of the trait;
//! the reply queue (claims with `FOR UPDATE`) is in `replies`. Kept per backend on purpose:
//! each leans on PostgreSQL's own tools.

use super::*;
use earshot_core::fair_turn::QueuePace;

/// The queue's pace: conversations owed an answer (`conversations_awaiting`) and those the
/// brand answered since `$1` (`conversations_last_brand`), read before each re-ranking.
pub(super) const QUEUE_PACE_SQL: &str =
    "SELECT (SELECT count(*) FROM conversations WHERE awaiting_since IS NOT NULL), \
            (SELECT count(*) FROM conversations WHERE last_brand_at > $1)";

/// The waiting conversations due for re-ranking by `$1` (`conversations_rescore_due`), after
/// `($2, $3)` in due time and id order, `$4` at most.
pub(super) const RESCORE_DUE_SQL: &str = "SELECT c.id, c.rescore_due FROM conversations c \
     WHERE c.awaiting_since IS NOT NULL AND c.rescore_due <= $1 \
     AND (c.rescore_due, c.id) > ($2, $3) \
     ORDER BY c.rescore_due, c.id LIMIT $4";

pub(super) fn inbox_sql(filter: &InboxFilter, now: DateTime<Utc>) -> (String, Sql) {
    common::inbox_sql(Dialect::Postgres, filter, now)
}

#[async_trait]
impl Store for PgStore {
    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        self.analyse().await
    }

    async fn ingest(
        &self,
        batch: Vec<Incoming>,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        let mut client = self.client().await?;
        ingest_tx(&mut client, batch, policy, now).await
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationDetail>, StoreError> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let Some(conversation) = load_conversation(&tx, id, false).await? else {
            return Ok(None);
        };
        let posts = query(
            &tx,
            &format!("SELECT {POST_COLS} FROM posts p WHERE p.conversation_id = $1 ORDER BY p.created_at, p.id"),
            &[&id.0],
        )
        .await?;
        let replies = query(
            &tx,
            &format!(
                "SELECT {REPLY_COLS} FROM replies r WHERE r.conversation_id = $1 ORDER BY r.id"
            ),
            &[&id.0],
        )
        .await?;
        let audit = query(
            &tx,
            &format!(
                "SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = $1 ORDER BY a.id DESC"
            ),
            &[&id.0],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(ConversationDetail {
            conversation,
            posts: map_rows(&posts, post_from_row)?,
            replies: map_rows(&replies, reply_from_row)?,
            audit: map_rows(&audit, audit_from_row)?,
        }))
    }

    async fn conversations(
        &self,
        ids: &[ConversationId],
    ) -> Result<Vec<ConversationDetail>, StoreError> {
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        // Four statements for the whole batch; each part is grouped by its conversation.
        let mut parts = Vec::with_capacity(4);
        for sql in [
            format!("SELECT {CONV_COLS} FROM conversations c WHERE c.id = ANY($1) ORDER BY c.id"),
            format!("SELECT {POST_COLS} FROM posts p WHERE p.conversation_id = ANY($1) ORDER BY p.created_at, p.id"),
            format!("SELECT {REPLY_COLS} FROM replies r WHERE r.conversation_id = ANY($1) ORDER BY r.id"),
            format!("SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = ANY($1) ORDER BY a.id DESC"),
        ] {
            parts.push(query(&tx, &sql, &[&ids]).await?);
        }
        tx.commit().await?;
        let [conversations, posts, replies, audit]: [Vec<Row>; 4] = parts
            .try_into()
            .map_err(|_| StoreError::Database("a part of the batch was not read".into()))?;
        let mut details: Vec<ConversationDetail> = map_rows(&conversations, conversation_from_row)?
            .into_iter()
            .map(|conversation| ConversationDetail {
                conversation,
                posts: Vec::new(),
                replies: Vec::new(),
                audit: Vec::new(),
            })
            .collect();
        let at = |details: &[ConversationDetail], id: Option<ConversationId>| {
            id.and_then(|id| {
                details
                    .binary_search_by_key(&id, |d| d.conversation.id)
                    .ok()
            })
        };
        for p in map_rows(&posts, post_from_row)? {
            if let Some(i) = at(&details, p.conversation_id) {
                details[i].posts.push(p);
            }
        }
        for r in map_rows(&replies, reply_from_row)? {
            if let Some(i) = at(&details, Some(r.conversation_id)) {
                details[i].replies.push(r);
            }
        }
        for a in map_rows(&audit, audit_from_row)? {
            if let Some(i) = at(&details, a.conversation_id) {
                details[i].audit.push(a);
            }
        }
        Ok(details)
    }

    async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, StoreError> {
        let now = common::trunc_us(now);
        let client = self.client().await?;
        let (text, sql) = inbox_sql(filter, now);
        let args = boxed_args(&sql);
        let rows = query(&client, &text, &refs(&args)).await?;
        let items = map_rows(&rows, |r| {
            let conversation = conversation_from_row(r)?;
            let latest_text: Option<String> = r.try_get(23)?;
            let latest_at: Option<DateTime<Utc>> = r.try_get(24)?;
            Ok(InboxRow {
                breached: conversation.breached(now),
                latest_text: latest_text.unwrap_or_default(),
                latest_at: latest_at.unwrap_or(conversation.last_activity_at),
                conversation,
            })
        })?;
        let mut count = Sql::new(Dialect::Postgres);
        let count_text = common::inbox_count(&mut count, filter, now);
        let args = boxed_args(&count);
        let counted = query(&client, &count_text, &refs(&args)).await?;
        let (scanned, matched): (i64, i64) = match counted.first() {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, 0),
        };
        Ok(Page {
            items,
            total: common::capped_total(scanned, matched),
            limit: filter.limit,
            offset: filter.offset,
        })
    }

    async fn search(&self, q: &SearchQuery) -> Result<Page<SearchHit>, StoreError> {
        let mut client = self.client().await?;
        search::search(&mut client, q).await
    }

    async fn apply(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut conv = load_conversation(&tx, id, true)
            .await?
            .ok_or_else(|| common::not_found_conversation(id))?;
        conv.apply(&event, at)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        update_conversations(&tx, &[ConversationRecord::new(&conv, conv.id)]).await?;
        let detail =
            serde_json::to_value(&event).map_err(|e| StoreError::Invalid(e.to_string()))?;
        insert_audit(&tx, Some(id), actor, event.name(), &detail, at).await?;
        tx.commit().await?;
        Ok(conv)
    }

    async fn queue_reply(&self, reply: NewReply) -> Result<Reply, StoreError> {
        replies::queue_reply(self, reply).await
    }

    async fn mark_reply_sent(
        &self,
        reply_id: i64,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Reply, StoreError> {
        replies::mark_reply_sent(self, reply_id, external_id, at).await
    }

    async fn claim_reply(
        &self,
        reply_id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, StoreError> {
        replies::claim_reply(self, reply_id, until, now).await
    }

    async fn mark_reply_unsent(
        &self,
        reply_id: i64,
        miss: &ReplyMiss,
    ) -> Result<Reply, StoreError> {
        replies::mark_reply_unsent(self, reply_id, miss).await
    }

    async fn due_replies(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Reply>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'failed' \
                 AND r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= $1 \
                 ORDER BY r.next_attempt_at, r.id LIMIT $2"
            ),
            &[&common::trunc_us(now), &i64::from(limit)],
        )
        .await?;
        map_rows(&rows, reply_from_row)
    }

    async fn queued_replies(&self, limit: u32) -> Result<Vec<Reply>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'queued' ORDER BY r.created_at, r.id LIMIT $1"),
            &[&i64::from(limit)],
        )
        .await?;
        map_rows(&rows, reply_from_row)
    }

    async fn audit(
        &self,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.client().await?;
        let rows = match conversation {
            Some(id) => {
                query(
                    &client,
                    &format!("SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = $1 ORDER BY a.id DESC LIMIT $2"),
                    &[&id.0, &i64::from(limit)],
                )
                .await?
            }
            None => {
                query(
                    &client,
                    &format!("SELECT {AUDIT_COLS} FROM audit a ORDER BY a.id DESC LIMIT $1"),
                    &[&i64::from(limit)],
                )
                .await?
            }
        };
        map_rows(&rows, audit_from_row)
    }

    async fn response_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ResponseSample>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT id, network, opened_at, first_response_due, first_response_at, first_response_secs \
             FROM conversations WHERE opened_at >= $1 AND opened_at < $2 ORDER BY opened_at, id",
            &[&from, &to],
        )
        .await?;
        map_rows(&rows, |r| {
            Ok(ResponseSample {
                conversation_id: ConversationId(r.try_get(0)?),
                network: common::network(text(r, 1)?)?,
                opened_at: r.try_get(2)?,
                first_response_due: r.try_get(3)?,
                first_response_at: r.try_get(4)?,
                first_response_secs: r.try_get(5)?,
            })
        })
    }

    async fn volume(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VolumeCount>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT (created_at AT TIME ZONE 'UTC')::date AS day, intent, sentiment, COUNT(*) FROM posts \
             WHERE created_at >= $1 AND created_at < $2 AND NOT from_brand \
             GROUP BY day, intent, sentiment",
            &[&from, &to],
        )
        .await?;
        let mut out = map_rows(&rows, |r| {
            Ok(VolumeCount {
                day: r.try_get::<_, NaiveDate>(0)?,
                intent: common::intent(text(r, 1)?)?,
                sentiment: common::sentiment(text(r, 2)?)?,
                posts: r.try_get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        out.sort_by_key(|v| (v.day, v.intent, v.sentiment));
        Ok(out)
    }

    async fn rescore_open(
        &self,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<RescorePass, StoreError> {
        let now = common::trunc_us(now);
        let mut client = self.client().await?;
        let mut pass = RescorePass::default();
        let hour_ago = now - chrono::Duration::hours(1);
        let read = format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ANY($1) AND c.awaiting_since IS NOT NULL \
             ORDER BY c.id FOR NO KEY UPDATE"
        );
        for sweep in self.ranked_under.sweeps(policy, now) {
            let (mut after_due, mut after) = (reranking::before_any_due(), 0i64);
            loop {
                // Short transactions that run beside ingests: the ingest lock is taken shared,
                // as each ingest takes it, so a rescore never stalls the ingest workers.
                // Neither overwrites the other because both lock the conversation rows they
                // rewrite in id order and read them under that lock (`FOR UPDATE` in
                // ingest.rs `gather`, `read` here, which sorts the batch's ids before locking
                // them): a row an ingest holds is read here once it commits (PostgreSQL reads
                // the newest version of a row it waited for, and leaves out one no longer
                // owed an answer), and an ingest waits for a batch here the same way. Both
                // take their row locks in one ordered statement, so they never wait on each
                // other in a circle; `NO KEY` (the id is not changed) lets an ingest's inserts
                // that refer to a conversation (posts, audit) pass a batch here instead of
                // waiting for it while holding rows this batch wants. Shared, not dropped: a
                // queue jump, a correction and a bulk import read a conversation without a
                // row lock and take the ingest lock exclusively, so they still exclude a
                // rescore batch. The batch's ids are picked first without locks: a row
                // picked and changed before it is locked is ranked as it then stands.
                let tx = client.transaction().await?;
                execute(
                    &tx,
                    "SELECT pg_advisory_xact_lock_shared($1)",
                    &[&INGEST_LOCK],
                )
                .await?;
                let picked = match sweep {
                    Sweep::All => {
                        query(
                            &tx,
                            "SELECT c.id, c.rescore_due FROM conversations c \
                         WHERE c.awaiting_since IS NOT NULL AND c.id > $1 ORDER BY c.id LIMIT $2",
                            &[&after, &RESCORE_BATCH],
                        )
                        .await?
                    }
                    Sweep::Due => {
                        query(
                            &tx,
                            RESCORE_DUE_SQL,
                            &[&now, &after_due, &after, &RESCORE_BATCH],
                        )
                        .await?
                    }
                    Sweep::TurnUnnoted => {
                        query(
                            &tx,
                            "SELECT c.id, c.rescore_due FROM conversations c \
                         WHERE c.awaiting_since IS NOT NULL AND c.signals->>'fair_turn_at' IS NULL \
                         AND c.awaiting_since >= $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
                            &[&hour_ago, &after, &RESCORE_BATCH],
                        )
                        .await?
                    }
                };
                let picked = map_rows(&picked, |r| {
                    Ok((
                        r.try_get::<_, i64>(0)?,
                        r.try_get::<_, Option<DateTime<Utc>>>(1)?,
                    ))
                })?;
                let Some(&(last, last_due)) = picked.last() else {
                    break;
                };
                (after, after_due) = (last, last_due.unwrap_or(after_due));
                let done = (picked.len() as i64) < RESCORE_BATCH;
                let ids: Vec<i64> = picked.iter().map(|(id, _)| *id).collect();
                let rows = query(&tx, &read, &[&ids]).await?;
                let batch = map_rows(&rows, conversation_from_row)?;
                pass.read += batch.len() as u64;
                let reranked = reranking::rerank(batch, policy, now);
                pass.reranked += write_reranked(&tx, &reranked).await?;
                tx.commit().await?;
                if done {
                    break;
                }
            }
        }
        self.ranked_under.remember(policy);
        Ok(pass)
    }

    async fn queue_pace(&self, now: DateTime<Utc>) -> Result<QueuePace, StoreError> {
        let client = self.client().await?;
        let hour_ago = common::trunc_us(now - chrono::Duration::hours(1));
        let row = query(&client, QUEUE_PACE_SQL, &[&hour_ago]).await?;
        let (waiting, answers): (i64, i64) = match row.first() {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => (0, 0),
        };
        Ok(QueuePace {
            waiting: waiting.max(0) as u64,
            answers_last_hour: answers.max(0) as u64,
        })
    }

    async fn edit_post(
        &self,
        post: earshot_core::NewPost,
        analysis: Analysis,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        apply_edit(&tx, &post, &analysis, at).await?;
        let stored = load_post_by_key(&tx, &post.key()).await?;
        tx.commit().await?;
        Ok(stored.filter(|p| p.deleted_at.is_none()))
    }

    async fn delete_post(
        &self,
        key: &PostKey,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let changed = execute(
            &tx,
            "UPDATE posts SET text = '', raw = NULL, deleted_at = $3 \
             WHERE network = $1 AND external_id = $2 AND deleted_at IS NULL",
            &[&key.network.as_str(), &key.external_id, &at],
        )
        .await?;
        let stored = load_post_by_key(&tx, key).await?;
        if changed == 1 {
            if let Some(p) = &stored {
                let detail = serde_json::json!({ "post_id": p.id, "network": p.network, "external_id": p.external_id });
                insert_audit(
                    &tx,
                    p.conversation_id,
                    "system",
                    "post_deleted",
                    &detail,
                    at,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let client = self.client().await?;
        let row = query(
            &client,
            "SELECT (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM conversations), \
             (SELECT COUNT(*) FROM conversations WHERE status = 'open'), (SELECT COUNT(*) FROM replies)",
            &[],
        )
        .await?;
        let row = row
            .first()
            .ok_or_else(|| StoreError::Database("counting returned no row".into()))?;
        let n =
            |i: usize| -> Result<u64, StoreError> { Ok(row.try_get::<_, i64>(i)?.max(0) as u64) };
        Ok(StoreCounts {
            posts: n(0)?,
            conversations: n(1)?,
            open_conversations: n(2)?,
            replies: n(3)?,
        })
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = query_opt(
            &client,
            "SELECT cursor FROM cursors WHERE source = $1",
            &[&source],
        )
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn set_cursor(&self, source: &str, cursor: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO cursors (source, cursor, updated_at) VALUES ($1, $2, now()) \
             ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            &[&source, &cursor],
        )
        .await?;
        Ok(())
    }
}

/// Writes a re-ranked batch: the changed rows' rank and signals with their due time, the
/// others' due time alone. Returns how many were re-ranked.
async fn write_reranked<C: GenericClient>(
    tx: &C,
    batch: &reranking::Reranked,
) -> Result<u64, StoreError> {
    let mut ids = Vec::new();
    let mut scores = Vec::new();
    let mut bands = Vec::new();
    let mut priorities = Vec::new();
    let mut signals = Vec::new();
    let mut dues = Vec::new();
    let json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| StoreError::Invalid(e.to_string()))
    };
    for (c, due) in &batch.changed {
        ids.push(c.id.0);
        scores.push(c.priority.score);
        bands.push(c.priority.band.as_str());
        priorities.push(json(serde_json::to_value(&c.priority))?);
        signals.push(json(serde_json::to_value(&c.signals))?);
        dues.push(*due);
    }
    let mut updated = 0;
    if !ids.is_empty() {
        updated = execute(
            tx,
            "UPDATE conversations c SET priority_score = x.score, band = x.band, priority = x.priority, \
             signals = x.signals, rescore_due = x.due \
             FROM UNNEST($1::bigint[], $2::real[], $3::text[], $4::jsonb[], $5::jsonb[], $6::timestamptz[]) \
             AS x(id, score, band, priority, signals, due) \
             WHERE c.id = x.id",
            &[&ids, &scores, &bands, &priorities, &signals, &dues],
        )
        .await?;
    }
    if !batch.unchanged.is_empty() {
        let (ids, dues): (Vec<i64>, Vec<Option<DateTime<Utc>>>) =
            batch.unchanged.iter().map(|(id, due)| (id.0, *due)).unzip();
        execute(
            tx,
            "UPDATE conversations c SET rescore_due = x.due \
             FROM UNNEST($1::bigint[], $2::timestamptz[]) AS x(id, due) WHERE c.id = x.id",
            &[&ids, &dues],
        )
        .await?;
    }
    Ok(updated)
}

/// A read-only transaction that sees one moment: a conversation's parts read in separate
/// statements belong together.
async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}
