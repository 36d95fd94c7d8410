//! [`Store`] on SQLite: each call sends its work to the blocking threads (see the module docs).

use super::*;
use earshot_core::fair_turn::QueuePace;

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(
        &self,
        batch: Vec<Incoming>,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, StoreError> {
        if batch.is_empty() {
            return Ok(IngestReport::default());
        }
        let policy = policy.clone();
        self.write(move |conn| ingest_blocking(conn, batch, &policy, now))
            .await
    }

    async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Option<ConversationDetail>, StoreError> {
        self.read(move |conn| detail_blocking(conn, id)).await
    }

    async fn conversations(
        &self,
        ids: &[ConversationId],
    ) -> Result<Vec<ConversationDetail>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |conn| details_blocking(conn, ids)).await
    }

    async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| inbox_blocking(conn, &filter, common::trunc_us(now)))
            .await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Page<SearchHit>, StoreError> {
        let query = query.clone();
        self.read(move |conn| search_blocking(conn, &query)).await
    }

    async fn apply(
        &self,
        id: ConversationId,
        event: ConversationEvent,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let actor = actor.to_string();
        self.write(move |conn| apply_blocking(conn, id, &event, &actor, at))
            .await
    }

    async fn queue_reply(&self, reply: NewReply) -> Result<Reply, StoreError> {
        self.write(move |conn| queue_reply_blocking(conn, reply))
            .await
    }

    async fn claim_reply(
        &self,
        reply_id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if load_reply(&tx, reply_id)?.is_none() {
                return Err(common::not_found_reply(reply_id));
            }
            let claimed = tx
                .prepare_cached(
                    "UPDATE replies SET claimed_until = ?2 WHERE id = ?1 AND state <> 'sent' \
                     AND (claimed_until IS NULL OR claimed_until < ?3)",
                )?
                .execute(params![reply_id, us(until), us(now)])?;
            let reply = load_reply(&tx, reply_id)?;
            tx.commit()?;
            Ok(if claimed == 1 { reply } else { None })
        })
        .await
    }

    async fn mark_reply_sent(
        &self,
        reply_id: i64,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Reply, StoreError> {
        let external_id = external_id.to_string();
        self.write(move |conn| mark_sent_blocking(conn, reply_id, &external_id, at))
            .await
    }

    async fn mark_reply_unsent(
        &self,
        reply_id: i64,
        miss: &ReplyMiss,
    ) -> Result<Reply, StoreError> {
        let miss = miss.clone();
        self.write(move |conn| mark_unsent_blocking(conn, reply_id, &miss))
            .await
    }

    async fn due_replies(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Reply>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'failed' \
                     AND r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= ?1 \
                     ORDER BY r.next_attempt_at, r.id LIMIT ?2"
                ),
                params![us(now), i64::from(limit)],
                reply_from_row,
            )
        })
        .await
    }

    async fn queued_replies(&self, limit: u32) -> Result<Vec<Reply>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                &format!("SELECT {REPLY_COLS} FROM replies r WHERE r.state = 'queued' ORDER BY r.created_at, r.id LIMIT ?1"),
                [i64::from(limit)],
                reply_from_row,
            )
        })
        .await
    }

    async fn audit(
        &self,
        conversation: Option<ConversationId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| match conversation {
            Some(id) => query_all(
                conn,
                &format!("SELECT {AUDIT_COLS} FROM audit a WHERE a.conversation_id = ?1 ORDER BY a.id DESC LIMIT ?2"),
                params![id.0, i64::from(limit)],
                audit_from_row,
            ),
            None => query_all(
                conn,
                &format!("SELECT {AUDIT_COLS} FROM audit a ORDER BY a.id DESC LIMIT ?1"),
                [i64::from(limit)],
                audit_from_row,
            ),
        })
        .await
    }

    async fn response_samples(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ResponseSample>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                "SELECT id, network, opened_at, first_response_due, first_response_at, first_response_secs \
                 FROM conversations WHERE opened_at >= ?1 AND opened_at < ?2 ORDER BY opened_at, id",
                params![us(from), us(to)],
                |r| {
                    Ok(ResponseSample {
                        conversation_id: ConversationId(r.get(0)?),
                        network: common::network(&r.get::<_, String>(1)?)?,
                        opened_at: ts(r, 2)?,
                        first_response_due: ts(r, 3)?,
                        first_response_at: ts_opt(r, 4)?,
                        first_response_secs: r.get(5)?,
                    })
                },
            )
        })
        .await
    }

    async fn volume(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<VolumeCount>, StoreError> {
        const DAY_US: i64 = 86_400_000_000;
        let mut rows = self
            .read(move |conn| {
                query_all(
                    conn,
                    "SELECT created_at / 86400000000 AS day, intent, sentiment, COUNT(*) FROM posts \
                     WHERE created_at >= ?1 AND created_at < ?2 AND from_brand = 0 \
                     GROUP BY day, intent, sentiment",
                    params![us(from), us(to)],
                    |r| {
                        let day: i64 = r.get(0)?;
                        Ok(VolumeCount {
                            day: from_us(day * DAY_US)?.date_naive(),
                            intent: common::intent(&r.get::<_, String>(1)?)?,
                            sentiment: common::sentiment(&r.get::<_, String>(2)?)?,
                            posts: r.get::<_, i64>(3)?.max(0) as u64,
                        })
                    },
                )
            })
            .await?;
        rows.sort_by_key(|v| (v.day, v.intent, v.sentiment));
        Ok(rows)
    }

    async fn rescore_open(
        &self,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<RescorePass, StoreError> {
        let sweeps = self.inner.ranked_under.sweeps(policy, now);
        let ranked = policy.clone();
        let pass = self
            .write(move |conn| rescore_blocking(conn, &ranked, now, &sweeps))
            .await?;
        self.inner.ranked_under.remember(policy);
        Ok(pass)
    }

    async fn queue_pace(&self, now: DateTime<Utc>) -> Result<QueuePace, StoreError> {
        let hour_ago = us(now - chrono::Duration::hours(1));
        self.read(move |conn| {
            let (waiting, answers): (i64, i64) = conn
                .prepare_cached(
                    "SELECT (SELECT COUNT(*) FROM conversations WHERE awaiting_since IS NOT NULL), \
                            (SELECT COUNT(*) FROM conversations WHERE last_brand_at > ?1)",
                )?
                .query_row(params![hour_ago], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(QueuePace {
                waiting: waiting.max(0) as u64,
                answers_last_hour: answers.max(0) as u64,
            })
        })
        .await
    }

    async fn edit_post(
        &self,
        post: earshot_core::NewPost,
        analysis: Analysis,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            apply_edit(&tx, &post, &analysis, at)?;
            let stored = load_post_by_key(&tx, &post.key())?;
            tx.commit()?;
            Ok(stored.filter(|p| p.deleted_at.is_none()))
        })
        .await
    }

    async fn delete_post(
        &self,
        key: &PostKey,
        at: DateTime<Utc>,
    ) -> Result<Option<Post>, StoreError> {
        let key = key.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx
                .prepare_cached(
                    "UPDATE posts SET text = '', raw = NULL, deleted_at = ?3 \
                     WHERE network = ?1 AND external_id = ?2 AND deleted_at IS NULL",
                )?
                .execute(params![key.network.as_str(), key.external_id, us(at)])?;
            let stored = load_post_by_key(&tx, &key)?;
            if changed == 1 {
                if let Some(p) = &stored {
                    let detail = serde_json::json!({ "post_id": p.id, "network": p.network, "external_id": p.external_id });
                    insert_audit(&tx, p.conversation_id, "system", "post_deleted", &detail, at)?;
                }
            }
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let count = |sql: &str| -> Result<u64, StoreError> {
                let n: i64 = tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            };
            Ok(StoreCounts {
                posts: count("SELECT COUNT(*) FROM posts")?,
                conversations: count("SELECT COUNT(*) FROM conversations")?,
                open_conversations: count(
                    "SELECT COUNT(*) FROM conversations WHERE status = 'open'",
                )?,
                replies: count("SELECT COUNT(*) FROM replies")?,
            })
        })
        .await
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, StoreError> {
        let source = source.to_string();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT cursor FROM cursors WHERE source = ?1")?
                .query_row([source], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    async fn set_cursor(&self, source: &str, cursor: &str) -> Result<(), StoreError> {
        let source = source.to_string();
        let cursor = cursor.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO cursors (source, cursor, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )?
            .execute(params![source, cursor, us(Utc::now())])?;
            Ok(())
        })
        .await
    }
}
