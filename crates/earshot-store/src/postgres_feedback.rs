//! [`FeedbackStore`] on PostgreSQL: the tables of migration 0006.

use crate::common::{self, POST_COLS};
use crate::feedback::{
    self, AskerRow, FeedbackStore, LanguageRow, NewPromise, NewRelease, Notification,
    RequestDetail, RequestMember, RequestRow,
};
use crate::postgres::{execute, insert_audit, post_from_row, query, query_opt, PgStore};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use earshot_core::feedback::{
    Ask, NotificationPlan, NotificationState, Promise, PromiseId, PromiseState, Release, ReleaseId,
    Request, RequestId, RequestStatus,
};
use earshot_core::{ConversationId, Network};
use std::collections::HashSet;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

const PROMISE_COLS: &str =
    "id, request_id, conversation_id, reply_id, evidence, kind, state, made_at, \
     due_on, target_release, confirmed_by, confirmed_at, release_id, kept_at";

fn promise_from_row(r: &Row) -> Result<Promise, StoreError> {
    Ok(Promise {
        id: PromiseId(r.try_get(0)?),
        request_id: r.try_get::<_, Option<i64>>(1)?.map(RequestId),
        conversation_id: ConversationId(r.try_get(2)?),
        reply_id: r.try_get(3)?,
        evidence: r.try_get(4)?,
        kind: feedback::parse_kind(r.try_get(5)?)?,
        state: feedback::parse_state(r.try_get(6)?)?,
        made_at: r.try_get(7)?,
        due_on: r.try_get(8)?,
        target_release: r.try_get(9)?,
        confirmed_by: r.try_get(10)?,
        confirmed_at: r.try_get(11)?,
        release_id: r.try_get(12)?,
        kept_at: r.try_get(13)?,
    })
}

async fn load_promise<C: GenericClient>(c: &C, id: i64) -> Result<Option<Promise>, StoreError> {
    let sql = format!("SELECT {PROMISE_COLS} FROM promises WHERE id = $1");
    query_opt(c, &sql, &[&id])
        .await?
        .map(|r| promise_from_row(&r))
        .transpose()
}

/// `filter` is a WHERE clause over `requests r` whose one optional parameter is written `$P`.
async fn load_requests<C: GenericClient>(
    c: &C,
    filter: &str,
    arg: Option<&(dyn ToSql + Sync)>,
    now: DateTime<Utc>,
) -> Result<Vec<Request>, StoreError> {
    let own: Vec<&(dyn ToSql + Sync)> = arg.into_iter().collect();
    let sql = format!(
        "SELECT id, title, status, merged_into, tracker_url, created_at FROM requests r WHERE {}",
        filter.replace("$P", "$1")
    );
    let mut rows = Vec::new();
    for r in query(c, &sql, &own).await? {
        rows.push(RequestRow {
            id: r.try_get(0)?,
            title: r.try_get(1)?,
            status: r.try_get(2)?,
            merged_into: r.try_get(3)?,
            tracker_url: r.try_get(4)?,
            created_at: r.try_get(5)?,
        });
    }
    let week = now - Duration::days(7);
    let fortnight = now - Duration::days(14);
    let sql = format!(
        "SELECT request_id, COUNT(*), SUM(followers)::bigint, SUM(n)::bigint, MIN(first), MAX(last), \
         SUM(l7)::bigint, SUM(p7)::bigint FROM \
         (SELECT rp.request_id, MAX(rp.followers) AS followers, COUNT(*) AS n, MIN(rp.asked_at) AS first, \
          MAX(rp.asked_at) AS last, COUNT(*) FILTER (WHERE rp.asked_at >= $1) AS l7, \
          COUNT(*) FILTER (WHERE rp.asked_at >= $2 AND rp.asked_at < $1) AS p7 \
          FROM request_posts rp JOIN requests r ON r.id = rp.request_id \
          WHERE {} GROUP BY rp.request_id, rp.network, rp.author) per_asker GROUP BY request_id",
        filter.replace("$P", "$3")
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&week, &fortnight];
    params.extend(own.iter().copied());
    let mut askers = Vec::new();
    for r in query(c, &sql, &params).await? {
        askers.push(AskerRow {
            request_id: r.try_get(0)?,
            askers: r.try_get(1)?,
            followers: r.try_get(2)?,
            posts: r.try_get(3)?,
            first: r.try_get(4)?,
            last: r.try_get(5)?,
            last_7d: r.try_get(6)?,
            prior_7d: r.try_get(7)?,
        });
    }
    let sql = format!(
        "SELECT rp.request_id, rp.lang, COUNT(*) FROM request_posts rp \
         JOIN requests r ON r.id = rp.request_id WHERE {} GROUP BY rp.request_id, rp.lang",
        filter.replace("$P", "$1")
    );
    let mut languages = Vec::new();
    for r in query(c, &sql, &own).await? {
        languages.push(LanguageRow {
            request_id: r.try_get(0)?,
            language: r.try_get(1)?,
            posts: r.try_get(2)?,
        });
    }
    feedback::assemble(rows, askers, languages)
}

async fn load_release<C: GenericClient>(c: &C, id: i64) -> Result<Option<Release>, StoreError> {
    let Some(r) = query_opt(
        c,
        "SELECT id, version, shipped_at, notes, url, created_by, created_at FROM releases WHERE id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let request_ids = query(
        c,
        "SELECT request_id FROM release_requests WHERE release_id = $1 ORDER BY request_id",
        &[&id],
    )
    .await?
    .iter()
    .map(|row| row.try_get::<_, i64>(0).map(RequestId))
    .collect::<Result<_, _>>()?;
    Ok(Some(Release {
        id: ReleaseId(r.try_get(0)?),
        version: r.try_get(1)?,
        shipped_at: r.try_get(2)?,
        notes: r.try_get(3)?,
        url: r.try_get(4)?,
        request_ids,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
    }))
}

async fn must_exist<C: GenericClient>(c: &C, id: RequestId) -> Result<(), StoreError> {
    match query_opt(c, "SELECT id FROM requests WHERE id = $1", &[&id.0]).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(format!("request {id}"))),
    }
}

#[async_trait]
impl FeedbackStore for PgStore {
    async fn create_request(
        &self,
        title: &str,
        at: DateTime<Utc>,
    ) -> Result<RequestId, StoreError> {
        let c = self.client().await?;
        let row = query_opt(
            &c,
            "INSERT INTO requests (title, status, created_at, updated_at) VALUES ($1, 'open', $2, $2) RETURNING id",
            &[&title, &common::trunc_us(at)],
        )
        .await?
        .ok_or_else(|| StoreError::Database("insert returned no id".into()))?;
        Ok(RequestId(row.try_get(0)?))
    }

    async fn add_to_request(
        &self,
        post_id: i64,
        request_id: RequestId,
        similarity: f32,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        // The ask's facts are copied from its post (see migration 0010).
        let n = execute(
            &c,
            "INSERT INTO request_posts (post_id, request_id, similarity, assigned_by, assigned_at, \
             network, author, followers, asked_at, lang) \
             SELECT p.id, $2::bigint, $3::real, $4::text, $5::timestamptz, p.network, p.author_external_id, \
             COALESCE(p.author_followers, 0), p.created_at, p.lang FROM posts p WHERE p.id = $1 \
             ON CONFLICT (post_id) DO UPDATE SET request_id = excluded.request_id, \
             similarity = excluded.similarity, assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
            &[&post_id, &request_id.0, &similarity, &by, &common::trunc_us(at)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("post {post_id}")));
        }
        Ok(())
    }

    async fn merge_requests(
        &self,
        from: RequestId,
        into: RequestId,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if from == into {
            return Err(StoreError::Invalid(format!(
                "cannot merge {from} into itself"
            )));
        }
        let at = common::trunc_us(at);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        must_exist(&tx, from).await?;
        must_exist(&tx, into).await?;
        execute(
            &tx,
            "UPDATE request_posts SET request_id = $2, assigned_by = $3, assigned_at = $4 WHERE request_id = $1",
            &[&from.0, &into.0, &by, &at],
        )
        .await?;
        execute(
            &tx,
            "UPDATE promises SET request_id = $2 WHERE request_id = $1",
            &[&from.0, &into.0],
        )
        .await?;
        execute(
            &tx,
            "UPDATE requests SET status = 'merged', merged_into = $2, updated_at = $3 WHERE id = $1",
            &[&from.0, &into.0, &at],
        )
        .await?;
        let detail = serde_json::json!({ "from": from.0, "into": into.0 });
        insert_audit(&tx, None, by, "requests_merged", &detail, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rename_request(&self, id: RequestId, title: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "UPDATE requests SET title = $2, updated_at = $3 WHERE id = $1",
            &[&id.0, &title, &common::trunc_us(Utc::now())],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        Ok(())
    }

    async fn set_request_status(
        &self,
        id: RequestId,
        status: RequestStatus,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "UPDATE requests SET status = $2, updated_at = $3 WHERE id = $1",
            &[&id.0, &status.as_str(), &common::trunc_us(Utc::now())],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        Ok(())
    }

    async fn set_tracker_url(&self, id: RequestId, url: &str) -> Result<(), StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "UPDATE requests SET tracker_url = $2, updated_at = $3 WHERE id = $1",
            &[&id.0, &url, &common::trunc_us(Utc::now())],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        Ok(())
    }

    async fn requests(
        &self,
        status: Option<RequestStatus>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Request>, StoreError> {
        let c = self.client().await?;
        match status {
            Some(s) => {
                let s = s.as_str();
                load_requests(&c, "r.status = $P", Some(&s), now).await
            }
            None => load_requests(&c, "r.status <> 'merged'", None, now).await,
        }
    }

    async fn request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
        sample: u32,
    ) -> Result<Option<RequestDetail>, StoreError> {
        let c = self.client().await?;
        let Some(request) = load_requests(&c, "r.id = $P", Some(&id.0), now)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {POST_COLS} FROM request_posts rp JOIN posts p ON p.id = rp.post_id \
             WHERE rp.request_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2"
        );
        let posts = query(&c, &sql, &[&id.0, &i64::from(sample)])
            .await?
            .iter()
            .map(post_from_row)
            .collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT {PROMISE_COLS} FROM promises WHERE request_id = $1 ORDER BY made_at, id"
        );
        let promises = query(&c, &sql, &[&id.0])
            .await?
            .iter()
            .map(promise_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Some(RequestDetail {
            request,
            posts,
            promises,
        }))
    }

    async fn request_members(&self, limit: u32) -> Result<Vec<RequestMember>, StoreError> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT rp.request_id, p.id, p.text, p.lang, p.created_at FROM request_posts rp \
             JOIN posts p ON p.id = rp.post_id JOIN requests r ON r.id = rp.request_id \
             WHERE r.status IN ('open', 'planned') AND p.deleted_at IS NULL \
             ORDER BY p.created_at, p.id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RequestMember {
                    request_id: RequestId(r.try_get(0)?),
                    post_id: r.try_get(1)?,
                    text: r.try_get(2)?,
                    language: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn request_of_post(&self, post_id: i64) -> Result<Option<RequestId>, StoreError> {
        let c = self.client().await?;
        query_opt(
            &c,
            "SELECT request_id FROM request_posts WHERE post_id = $1",
            &[&post_id],
        )
        .await?
        .map(|r| {
            r.try_get::<_, i64>(0)
                .map(RequestId)
                .map_err(StoreError::from)
        })
        .transpose()
    }

    async fn asks(&self, requests: &[RequestId]) -> Result<Vec<Ask>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT rp.request_id, p.id, p.conversation_id, p.network, p.external_id, p.author_external_id, \
             p.author_handle, p.lang, p.created_at, o.at IS NOT NULL \
             FROM request_posts rp JOIN posts p ON p.id = rp.post_id \
             LEFT JOIN opt_outs o ON o.network = p.network AND o.author_external_id = p.author_external_id \
             WHERE rp.request_id = ANY($1) AND p.conversation_id IS NOT NULL AND p.deleted_at IS NULL \
             ORDER BY p.created_at, p.id",
            &[&ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Ask {
                    request_id: RequestId(r.try_get(0)?),
                    post_id: r.try_get(1)?,
                    conversation_id: ConversationId(r.try_get(2)?),
                    network: common::network(r.try_get(3)?)?,
                    external_id: r.try_get(4)?,
                    author_external_id: r.try_get(5)?,
                    author_handle: r.try_get(6)?,
                    language: r.try_get(7)?,
                    asked_at: r.try_get(8)?,
                    opted_out: r.try_get(9)?,
                })
            })
            .collect()
    }

    async fn propose_promise(&self, p: NewPromise) -> Result<Promise, StoreError> {
        let made_at = common::trunc_us(p.made_at);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let row = query_opt(
            &tx,
            "INSERT INTO promises (request_id, conversation_id, reply_id, evidence, kind, state, made_at, due_on, target_release) \
             VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7, $8) ON CONFLICT (reply_id) WHERE reply_id IS NOT NULL DO NOTHING RETURNING id",
            &[
                &p.request_id.map(|r| r.0),
                &p.conversation_id.0,
                &p.reply_id,
                &p.evidence,
                &p.kind.as_str(),
                &made_at,
                &p.due_on,
                &p.target_release,
            ],
        )
        .await?;
        let id: i64 = match row {
            Some(r) => {
                let id = r.try_get(0)?;
                let detail =
                    serde_json::json!({ "promise_id": id, "kind": p.kind, "evidence": p.evidence });
                insert_audit(
                    &tx,
                    Some(p.conversation_id),
                    "system",
                    "promise_proposed",
                    &detail,
                    made_at,
                )
                .await?;
                id
            }
            None => query_opt(
                &tx,
                "SELECT id FROM promises WHERE reply_id = $1",
                &[&p.reply_id],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conflicting promise vanished".into()))?
            .try_get(0)?,
        };
        let promise = load_promise(&tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("promise {id} vanished")))?;
        tx.commit().await?;
        Ok(promise)
    }

    async fn promise(&self, id: PromiseId) -> Result<Option<Promise>, StoreError> {
        let c = self.client().await?;
        load_promise(&c, id.0).await
    }

    async fn save_promise(&self, p: &Promise, actor: &str) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = execute(
            &tx,
            "UPDATE promises SET request_id = $2, state = $3, due_on = $4, target_release = $5, \
             confirmed_by = $6, confirmed_at = $7, release_id = $8, kept_at = $9 WHERE id = $1",
            &[
                &p.id.0,
                &p.request_id.map(|r| r.0),
                &p.state.as_str(),
                &p.due_on,
                &p.target_release,
                &p.confirmed_by,
                &p.confirmed_at.map(common::trunc_us),
                &p.release_id,
                &p.kept_at.map(common::trunc_us),
            ],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("promise {}", p.id)));
        }
        let detail =
            serde_json::json!({ "promise_id": p.id.0, "state": p.state, "due_on": p.due_on });
        insert_audit(
            &tx,
            Some(p.conversation_id),
            actor,
            &format!("promise_{}", p.state.as_str()),
            &detail,
            common::trunc_us(Utc::now()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn promises(&self, state: Option<PromiseState>) -> Result<Vec<Promise>, StoreError> {
        let c = self.client().await?;
        let sql = format!(
            "SELECT {PROMISE_COLS} FROM promises WHERE $1::text IS NULL OR state = $1 ORDER BY made_at, id"
        );
        let state = state.map(|s| s.as_str());
        query(&c, &sql, &[&state])
            .await?
            .iter()
            .map(promise_from_row)
            .collect()
    }

    async fn promises_for_requests(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<Promise>, StoreError> {
        let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
        let c = self.client().await?;
        let sql = format!(
            "SELECT {PROMISE_COLS} FROM promises WHERE request_id = ANY($1) ORDER BY made_at, id"
        );
        query(&c, &sql, &[&ids])
            .await?
            .iter()
            .map(promise_from_row)
            .collect()
    }

    async fn record_release(
        &self,
        release: NewRelease,
        at: DateTime<Utc>,
    ) -> Result<(Release, bool), StoreError> {
        let at = common::trunc_us(at);
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let inserted = query_opt(
            &tx,
            "INSERT INTO releases (version, shipped_at, notes, url, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (version) DO NOTHING RETURNING id",
            &[
                &release.version,
                &common::trunc_us(release.shipped_at),
                &release.notes,
                &release.url,
                &release.created_by,
                &at,
            ],
        )
        .await?;
        let Some(row) = inserted else {
            let id: i64 = query_opt(
                &tx,
                "SELECT id FROM releases WHERE version = $1",
                &[&release.version],
            )
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conflicting release vanished".into()))?
            .try_get(0)?;
            let stored = load_release(&tx, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
            return Ok((stored, false));
        };
        let id: i64 = row.try_get(0)?;
        for r in &release.request_ids {
            must_exist(&tx, *r).await?;
            execute(
                &tx,
                "INSERT INTO release_requests (release_id, request_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&id, &r.0],
            )
            .await?;
            execute(
                &tx,
                "UPDATE requests SET status = 'shipped', updated_at = $2 WHERE id = $1",
                &[&r.0, &at],
            )
            .await?;
        }
        let detail = serde_json::json!({ "release_id": id, "version": release.version, "requests": release.request_ids });
        insert_audit(
            &tx,
            None,
            &release.created_by,
            "release_recorded",
            &detail,
            at,
        )
        .await?;
        let stored = load_release(&tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
        tx.commit().await?;
        Ok((stored, true))
    }

    async fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        let c = self.client().await?;
        load_release(&c, id.0).await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        let c = self.client().await?;
        let ids: Vec<i64> = query(
            &c,
            "SELECT id FROM releases ORDER BY shipped_at DESC, id DESC",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = load_release(&c, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn notified_keys(&self, release: ReleaseId) -> Result<HashSet<String>, StoreError> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT key FROM notifications WHERE release_id = $1 AND state IN ('sent', 'skipped')",
            &[&release.0],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .collect()
    }

    async fn record_notification(
        &self,
        release: ReleaseId,
        plan: &NotificationPlan,
        state: NotificationState,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "INSERT INTO notifications (key, release_id, request_id, post_id, conversation_id, network, language, \
             text, state, skip_reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (key) DO NOTHING",
            &[
                &plan.key,
                &release.0,
                &plan.ask.request_id.0,
                &plan.ask.post_id,
                &plan.ask.conversation_id.0,
                &plan.ask.network.as_str(),
                &plan.ask.language,
                &plan.text,
                &state.as_str(),
                &feedback::skip_name(plan),
                &common::trunc_us(at),
            ],
        )
        .await?;
        Ok(n == 1)
    }

    async fn update_notification(
        &self,
        key: &str,
        state: NotificationState,
        reply_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        execute(
            &c,
            "UPDATE notifications SET state = $2, reply_id = COALESCE($3, reply_id) WHERE key = $1",
            &[&key, &state.as_str(), &reply_id],
        )
        .await?;
        Ok(())
    }

    async fn notifications(&self, release: ReleaseId) -> Result<Vec<Notification>, StoreError> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT id, key, release_id, request_id, post_id, conversation_id, network, language, text, state, \
             skip_reason, reply_id, created_at FROM notifications WHERE release_id = $1 ORDER BY id",
            &[&release.0],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get(0)?,
                    key: r.try_get(1)?,
                    release_id: ReleaseId(r.try_get(2)?),
                    request_id: RequestId(r.try_get(3)?),
                    post_id: r.try_get(4)?,
                    conversation_id: ConversationId(r.try_get(5)?),
                    network: common::network(r.try_get(6)?)?,
                    language: r.try_get(7)?,
                    text: r.try_get(8)?,
                    state: feedback::parse_notification_state(r.try_get(9)?)?,
                    skip_reason: r.try_get(10)?,
                    reply_id: r.try_get(11)?,
                    created_at: r.try_get(12)?,
                })
            })
            .collect()
    }

    async fn opt_out(
        &self,
        network: Network,
        author_external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = self.client().await?;
        execute(
            &c,
            "INSERT INTO opt_outs (network, author_external_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&network.as_str(), &author_external_id, &common::trunc_us(at)],
        )
        .await?;
        Ok(())
    }
}
