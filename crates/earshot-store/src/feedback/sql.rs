//! [`FeedbackStore`] written once for both backends (the tables of migrations 0006 and
//! 0010), over the neutral [`Conn`]: requests and their asks, promises, releases, release
//! notifications and opt-outs.

use super::counters::{self, load_requests};
use super::{
    FeedbackStore, NewPromise, NewRelease, Notification, RequestDetail, RequestMember, UngroupedAsk,
};
use crate::common::{self, POST_COLS};
use crate::db::{self, args, insert_audit, job, Backend, Value};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::feedback::{
    Ask, NotificationPlan, NotificationState, Promise, PromiseId, PromiseState, Release, ReleaseId,
    Request, RequestId, RequestStatus,
};
use earshot_core::{ConversationId, Network};
use std::collections::HashSet;

mod releases;
mod rows;

use rows::{
    load_promise, load_release, must_exist, placeholders, promise_from_row, request_ids,
    PROMISE_COLS,
};

/// Sets one column of a request (a fixed name, never input), or `NotFound`.
async fn update_request(
    b: &impl Backend,
    id: RequestId,
    column: &'static str,
    value: String,
) -> Result<(), StoreError> {
    let now = common::trunc_us(Utc::now());
    b.write(job!(c => {
        let sql = format!("UPDATE requests SET {column} = $2, updated_at = $3 WHERE id = $1");
        let n = c.execute(&sql, args![id.0, value, now]).await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        Ok(())
    }))
    .await
}

#[async_trait]
impl<B: Backend> FeedbackStore for B {
    async fn create_request(
        &self,
        title: &str,
        at: DateTime<Utc>,
    ) -> Result<RequestId, StoreError> {
        let title = title.to_string();
        self.write(job!(c => {
            let row = c
                .query_one(
                    "INSERT INTO requests (title, status, created_at, updated_at) \
                     VALUES ($1, 'open', $2, $2) RETURNING id",
                    args![title, at],
                )
                .await?;
            Ok(RequestId(row.get(0)?))
        }))
        .await
    }

    async fn add_to_request(
        &self,
        post_id: i64,
        request_id: RequestId,
        similarity: f32,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let by = by.to_string();
        self.transaction(job!(c => {
            let was_in: Option<i64> = c
                .query_opt(
                    "SELECT request_id FROM request_posts WHERE post_id = $1",
                    args![post_id],
                )
                .await?
                .map(|r| r.get(0))
                .transpose()?;
            let touched: Vec<i64> = was_in.into_iter().chain([request_id.0]).collect();
            counters::lock_requests(c, &touched).await?;
            // The ask's facts are copied from its post (see migration 0010). The casts name
            // the values' types for PostgreSQL, which cannot infer them in a select list.
            let n = c
                .execute(
                    "INSERT INTO request_posts (post_id, request_id, similarity, assigned_by, assigned_at, \
                     network, author, followers, asked_at, lang) \
                     SELECT p.id, CAST($2 AS BIGINT), CAST($3 AS REAL), CAST($4 AS TEXT), \
                     CAST($5 AS TIMESTAMPTZ), p.network, p.author_external_id, \
                     COALESCE(p.author_followers, 0), p.created_at, p.lang FROM posts p WHERE p.id = $1 \
                     ON CONFLICT (post_id) DO UPDATE SET request_id = excluded.request_id, \
                     similarity = excluded.similarity, assigned_by = excluded.assigned_by, \
                     assigned_at = excluded.assigned_at",
                    args![post_id, request_id.0, similarity, by, at],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("post {post_id}")));
            }
            match was_in {
                Some(same) if same == request_id.0 => {}
                Some(other) => {
                    counters::recount(c, other).await?;
                    counters::count_ask(c, request_id.0, post_id).await?;
                }
                None => counters::count_ask(c, request_id.0, post_id).await?,
            }
            Ok(())
        }))
        .await
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
        let by = by.to_string();
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            must_exist(c, from).await?;
            must_exist(c, into).await?;
            counters::lock_requests(c, &[from.0, into.0]).await?;
            c.execute(
                "UPDATE request_posts SET request_id = $2, assigned_by = $3, assigned_at = $4 \
                 WHERE request_id = $1",
                args![from.0, into.0, by.as_str(), at],
            )
            .await?;
            c.execute(
                "UPDATE promises SET request_id = $2 WHERE request_id = $1",
                args![from.0, into.0],
            )
            .await?;
            c.execute(
                "UPDATE requests SET status = 'merged', merged_into = $2, updated_at = $3 WHERE id = $1",
                args![from.0, into.0, at],
            )
            .await?;
            counters::recount(c, from.0).await?;
            counters::recount(c, into.0).await?;
            let detail = serde_json::json!({ "from": from.0, "into": into.0 });
            insert_audit(c, None, &by, "requests_merged", &detail, at).await
        }))
        .await
    }

    async fn rename_request(&self, id: RequestId, title: &str) -> Result<(), StoreError> {
        update_request(self, id, "title", title.to_string()).await
    }

    async fn set_request_status(
        &self,
        id: RequestId,
        status: RequestStatus,
    ) -> Result<(), StoreError> {
        update_request(self, id, "status", status.as_str().to_string()).await
    }

    async fn set_tracker_url(&self, id: RequestId, url: &str) -> Result<(), StoreError> {
        update_request(self, id, "tracker_url", url.to_string()).await
    }

    async fn requests(
        &self,
        status: Option<RequestStatus>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Request>, StoreError> {
        self.read(job!(c => {
            match status {
                Some(s) => load_requests(c, "r.status = $P", Some(s.as_str().into()), now).await,
                None => load_requests(c, "r.status <> 'merged'", None, now).await,
            }
        }))
        .await
    }

    async fn request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
        sample: u32,
    ) -> Result<Option<RequestDetail>, StoreError> {
        self.read(job!(c => {
            let Some(request) = load_requests(c, "r.id = $P", Some(id.0.into()), now)
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
            let posts = c
                .query(&sql, args![id.0, sample])
                .await?
                .iter()
                .map(db::post_from_row)
                .collect::<Result<_, _>>()?;
            let sql = format!(
                "SELECT {PROMISE_COLS} FROM promises WHERE request_id = $1 ORDER BY made_at, id"
            );
            let promises = c
                .query(&sql, args![id.0])
                .await?
                .iter()
                .map(promise_from_row)
                .collect::<Result<_, _>>()?;
            Ok(Some(RequestDetail {
                request,
                posts,
                promises,
            }))
        }))
        .await
    }

    async fn request_members(&self, limit: u32) -> Result<Vec<RequestMember>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT rp.request_id, p.id, p.text, p.lang, p.created_at FROM request_posts rp \
                 JOIN posts p ON p.id = rp.post_id JOIN requests r ON r.id = rp.request_id \
                 WHERE r.status IN ('open', 'planned') AND p.deleted_at IS NULL \
                 ORDER BY p.created_at, p.id LIMIT $1",
                args![limit],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(RequestMember {
                    request_id: RequestId(r.get(0)?),
                    post_id: r.get(1)?,
                    text: r.get(2)?,
                    language: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })
            .collect()
        }))
        .await
    }

    async fn asks_not_grouped(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<UngroupedAsk>, i64), StoreError> {
        // A walk of the posts' primary key from `after` up to the newest post now (read
        // first, so what was read is known even when no ask came).
        self.read(job!(c => {
            let newest: Option<i64> = c
                .query_one("SELECT MAX(id) FROM posts", args![])
                .await?
                .get(0)?;
            let newest = newest.unwrap_or(after).max(after);
            let asks: Vec<UngroupedAsk> = c.query(
                "SELECT p.id, p.text, p.lang, p.created_at FROM posts p \
                 WHERE p.id > $1 AND p.id <= $3 AND p.intent = 'feature_request' AND NOT p.from_brand \
                 AND p.deleted_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM request_posts rp WHERE rp.post_id = p.id) \
                 ORDER BY p.id LIMIT $2",
                args![after, limit, newest],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(UngroupedAsk {
                    post_id: r.get(0)?,
                    text: r.get(1)?,
                    language: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
            // A full page may stop short of `newest`: the next call goes on from its last ask.
            let read_to = if asks.len() as u64 >= u64::from(limit) {
                asks.last().map_or(newest, |a| a.post_id)
            } else {
                newest
            };
            Ok((asks, read_to))
        }))
        .await
    }

    async fn request_of_post(&self, post_id: i64) -> Result<Option<RequestId>, StoreError> {
        self.read(job!(c => {
            c.query_opt(
                "SELECT request_id FROM request_posts WHERE post_id = $1",
                args![post_id],
            )
            .await?
            .map(|r| r.get::<i64>(0).map(RequestId))
            .transpose()
        }))
        .await
    }

    async fn asks(&self, requests: &[RequestId]) -> Result<Vec<Ask>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids = request_ids(requests);
        self.read(job!(c => {
            let sql = format!(
                "SELECT rp.request_id, p.id, p.conversation_id, p.network, p.external_id, \
                 p.author_external_id, p.author_handle, p.lang, p.created_at, o.at IS NOT NULL \
                 FROM request_posts rp JOIN posts p ON p.id = rp.post_id \
                 LEFT JOIN opt_outs o ON o.network = p.network \
                 AND o.author_external_id = p.author_external_id \
                 WHERE rp.request_id IN ({}) AND p.conversation_id IS NOT NULL \
                 AND p.deleted_at IS NULL ORDER BY p.created_at, p.id",
                placeholders(0, ids.len())
            );
            c.query(&sql, &ids)
                .await?
                .iter()
                .map(|r| {
                    Ok(Ask {
                        request_id: RequestId(r.get(0)?),
                        post_id: r.get(1)?,
                        conversation_id: ConversationId(r.get(2)?),
                        network: common::network(r.text(3)?)?,
                        external_id: r.get(4)?,
                        author_external_id: r.get(5)?,
                        author_handle: r.get(6)?,
                        language: r.get(7)?,
                        asked_at: r.get(8)?,
                        opted_out: r.get(9)?,
                    })
                })
                .collect()
        }))
        .await
    }

    async fn askers_by_network(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<(RequestId, Network, u32)>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids = request_ids(requests);
        self.read(job!(c => {
            // Index-only on request_posts_by_asker (request_id, network, author, …).
            let sql = format!(
                "SELECT request_id, network, COUNT(DISTINCT author) FROM request_posts \
                 WHERE request_id IN ({}) AND network IS NOT NULL \
                 GROUP BY request_id, network ORDER BY request_id, network",
                placeholders(0, ids.len())
            );
            c.query(&sql, &ids)
                .await?
                .iter()
                .map(|r| {
                    let askers: i64 = r.get(2)?;
                    Ok((
                        RequestId(r.get(0)?),
                        common::network(r.text(1)?)?,
                        u32::try_from(askers).unwrap_or(u32::MAX),
                    ))
                })
                .collect()
        }))
        .await
    }

    async fn propose_promise(&self, p: NewPromise) -> Result<Promise, StoreError> {
        let made_at = common::trunc_us(p.made_at);
        self.transaction(job!(c => {
            let row = c
                .query_opt(
                    "INSERT INTO promises (request_id, conversation_id, reply_id, evidence, kind, \
                     state, made_at, due_on, target_release) \
                     VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7, $8) \
                     ON CONFLICT (reply_id) WHERE reply_id IS NOT NULL DO NOTHING RETURNING id",
                    args![
                        p.request_id.map(|r| r.0),
                        p.conversation_id,
                        p.reply_id,
                        p.evidence.as_str(),
                        p.kind.as_str(),
                        made_at,
                        p.due_on,
                        p.target_release.as_deref()
                    ],
                )
                .await?;
            let id: i64 = match row {
                Some(r) => {
                    let id = r.get(0)?;
                    let detail = serde_json::json!({
                        "promise_id": id, "kind": p.kind, "evidence": p.evidence
                    });
                    let conv = Some(p.conversation_id);
                    insert_audit(c, conv, "system", "promise_proposed", &detail, made_at).await?;
                    id
                }
                // One reply proposes one promise: the one it proposed before.
                None => c
                    .query_opt("SELECT id FROM promises WHERE reply_id = $1", args![p.reply_id])
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("a conflicting promise vanished".into()))?
                    .get(0)?,
            };
            load_promise(c, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("promise {id} vanished")))
        }))
        .await
    }

    async fn promise(&self, id: PromiseId) -> Result<Option<Promise>, StoreError> {
        self.read(job!(c => { load_promise(c, id.0).await })).await
    }

    async fn save_promise(&self, p: &Promise, actor: &str) -> Result<(), StoreError> {
        let p = p.clone();
        let actor = actor.to_string();
        self.transaction(job!(c => {
            let n = c
                .execute(
                    "UPDATE promises SET request_id = $2, state = $3, due_on = $4, \
                     target_release = $5, confirmed_by = $6, confirmed_at = $7, release_id = $8, \
                     kept_at = $9 WHERE id = $1",
                    args![
                        p.id.0,
                        p.request_id.map(|r| r.0),
                        p.state.as_str(),
                        p.due_on,
                        p.target_release.as_deref(),
                        p.confirmed_by.as_deref(),
                        p.confirmed_at,
                        p.release_id,
                        p.kept_at
                    ],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("promise {}", p.id)));
            }
            let detail =
                serde_json::json!({ "promise_id": p.id.0, "state": p.state, "due_on": p.due_on });
            let action = format!("promise_{}", p.state.as_str());
            let now = common::trunc_us(Utc::now());
            insert_audit(c, Some(p.conversation_id), &actor, &action, &detail, now).await
        }))
        .await
    }

    async fn promises(&self, state: Option<PromiseState>) -> Result<Vec<Promise>, StoreError> {
        self.read(job!(c => {
            let rows = match state {
                Some(s) => {
                    let sql = format!(
                        "SELECT {PROMISE_COLS} FROM promises WHERE state = $1 ORDER BY made_at, id"
                    );
                    c.query(&sql, args![s.as_str()]).await?
                }
                None => {
                    let sql = format!("SELECT {PROMISE_COLS} FROM promises ORDER BY made_at, id");
                    c.query(&sql, &[]).await?
                }
            };
            rows.iter().map(promise_from_row).collect()
        }))
        .await
    }

    async fn promises_for_requests(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<Promise>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids = request_ids(requests);
        self.read(job!(c => {
            let sql = format!(
                "SELECT {PROMISE_COLS} FROM promises WHERE request_id IN ({}) ORDER BY made_at, id",
                placeholders(0, ids.len())
            );
            c.query(&sql, &ids)
                .await?
                .iter()
                .map(promise_from_row)
                .collect()
        }))
        .await
    }

    async fn record_release(
        &self,
        release: NewRelease,
        at: DateTime<Utc>,
    ) -> Result<(Release, bool), StoreError> {
        let at = common::trunc_us(at);
        releases::record_release(self, release, at).await
    }

    async fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        self.read(job!(c => { load_release(c, id.0).await })).await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.read(job!(c => {
            let ids: Vec<i64> = c
                .query("SELECT id FROM releases ORDER BY shipped_at DESC, id DESC", &[])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = load_release(c, id).await? {
                    out.push(r);
                }
            }
            Ok(out)
        }))
        .await
    }

    async fn notified_keys(&self, release: ReleaseId) -> Result<HashSet<String>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT key FROM notifications WHERE release_id = $1 AND state IN ('sent', 'skipped')",
                args![release.0],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
        }))
        .await
    }

    async fn record_notification(
        &self,
        release: ReleaseId,
        plan: &NotificationPlan,
        state: NotificationState,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = [
            Value::from(plan.key.as_str()),
            release.0.into(),
            plan.ask.request_id.0.into(),
            plan.ask.post_id.into(),
            plan.ask.conversation_id.into(),
            plan.ask.network.as_str().into(),
            plan.ask.language.as_str().into(),
            plan.text.as_str().into(),
            state.as_str().into(),
            super::skip_name(plan).into(),
            at.into(),
        ];
        self.write(job!(c => {
            let n = c
                .execute(
                    "INSERT INTO notifications (key, release_id, request_id, post_id, conversation_id, \
                     network, language, text, state, skip_reason, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (key) DO NOTHING",
                    &values,
                )
                .await?;
            Ok(n == 1)
        }))
        .await
    }

    async fn update_notification(
        &self,
        key: &str,
        state: NotificationState,
        reply_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(job!(c => {
            c.execute(
                "UPDATE notifications SET state = $2, reply_id = COALESCE($3, reply_id) WHERE key = $1",
                args![key, state.as_str(), reply_id],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn notifications(&self, release: ReleaseId) -> Result<Vec<Notification>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT id, key, release_id, request_id, post_id, conversation_id, network, language, \
                 text, state, skip_reason, reply_id, created_at FROM notifications \
                 WHERE release_id = $1 ORDER BY id",
                args![release.0],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Notification {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    release_id: ReleaseId(r.get(2)?),
                    request_id: RequestId(r.get(3)?),
                    post_id: r.get(4)?,
                    conversation_id: ConversationId(r.get(5)?),
                    network: common::network(r.text(6)?)?,
                    language: r.get(7)?,
                    text: r.get(8)?,
                    state: super::parse_notification_state(r.text(9)?)?,
                    skip_reason: r.get(10)?,
                    reply_id: r.get(11)?,
                    created_at: r.get(12)?,
                })
            })
            .collect()
        }))
        .await
    }

    async fn opt_out(
        &self,
        network: Network,
        author_external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let author = author_external_id.to_string();
        self.write(job!(c => {
            c.execute(
                "INSERT INTO opt_outs (network, author_external_id, at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                args![network.as_str(), author, at],
            )
            .await?;
            Ok(())
        }))
        .await
    }
}
