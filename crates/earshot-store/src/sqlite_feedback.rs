//! [`FeedbackStore`] on SQLite: the tables of migration 0006.

use crate::common::{self, POST_COLS};
use crate::feedback::{
    self, AskerRow, FeedbackStore, LanguageRow, NewPromise, NewRelease, Notification,
    RequestDetail, RequestMember, RequestRow,
};
use crate::sqlite::{insert_audit, post_from_row, ts, ts_opt, us, SqliteStore};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use earshot_core::feedback::{
    Ask, NotificationPlan, NotificationState, Promise, PromiseId, PromiseState, Release, ReleaseId,
    Request, RequestId, RequestStatus,
};
use earshot_core::{ConversationId, Network};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use std::collections::HashSet;

const PROMISE_COLS: &str =
    "id, request_id, conversation_id, reply_id, evidence, kind, state, made_at, \
     due_on, target_release, confirmed_by, confirmed_at, release_id, kept_at";

fn promise_from_row(r: &Row) -> Result<Promise, StoreError> {
    let due: Option<String> = r.get(8)?;
    Ok(Promise {
        id: PromiseId(r.get(0)?),
        request_id: r.get::<_, Option<i64>>(1)?.map(RequestId),
        conversation_id: ConversationId(r.get(2)?),
        reply_id: r.get(3)?,
        evidence: r.get(4)?,
        kind: feedback::parse_kind(&r.get::<_, String>(5)?)?,
        state: feedback::parse_state(&r.get::<_, String>(6)?)?,
        made_at: ts(r, 7)?,
        due_on: due
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("due date {d:?}: {e}")))
            })
            .transpose()?,
        target_release: r.get(9)?,
        confirmed_by: r.get(10)?,
        confirmed_at: ts_opt(r, 11)?,
        release_id: r.get(12)?,
        kept_at: ts_opt(r, 13)?,
    })
}

fn load_promise(conn: &Connection, id: i64) -> Result<Option<Promise>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PROMISE_COLS} FROM promises WHERE id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(promise_from_row).transpose()
}

fn ids_placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `filter` is a WHERE clause over `requests r` whose one optional parameter is written `?P`.
fn load_requests(
    conn: &Connection,
    filter: &str,
    args: Vec<Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Request>, StoreError> {
    let rows = {
        let mut stmt = conn.prepare(&format!(
            "SELECT id, title, status, merged_into, tracker_url, created_at FROM requests r WHERE {}",
            filter.replace("?P", "?1")
        ))?;
        let mut out = Vec::new();
        let mut q = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = q.next()? {
            out.push(RequestRow {
                id: r.get(0)?,
                title: r.get(1)?,
                status: r.get(2)?,
                merged_into: r.get(3)?,
                tracker_url: r.get(4)?,
                created_at: ts(r, 5)?,
            });
        }
        out
    };
    let week = us(now - Duration::days(7));
    let fortnight = us(now - Duration::days(14));
    let mut askers = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT request_id, COUNT(*), SUM(followers), SUM(n), MIN(first), MAX(last), SUM(l7), SUM(p7) FROM \
             (SELECT rp.request_id, MAX(rp.followers) AS followers, COUNT(*) AS n, MIN(rp.asked_at) AS first, \
              MAX(rp.asked_at) AS last, SUM(CASE WHEN rp.asked_at >= ?1 THEN 1 ELSE 0 END) AS l7, \
              SUM(CASE WHEN rp.asked_at >= ?2 AND rp.asked_at < ?1 THEN 1 ELSE 0 END) AS p7 \
              FROM request_posts rp JOIN requests r ON r.id = rp.request_id \
              WHERE {} GROUP BY rp.request_id, rp.network, rp.author) GROUP BY request_id",
            filter.replace("?P", "?3")
        ))?;
        let mut all = vec![Value::Integer(week), Value::Integer(fortnight)];
        all.extend(args.iter().cloned());
        let mut q = stmt.query(params_from_iter(all.iter()))?;
        while let Some(r) = q.next()? {
            askers.push(AskerRow {
                request_id: r.get(0)?,
                askers: r.get(1)?,
                followers: r.get(2)?,
                posts: r.get(3)?,
                first: ts(r, 4)?,
                last: ts(r, 5)?,
                last_7d: r.get(6)?,
                prior_7d: r.get(7)?,
            });
        }
    }
    let mut languages = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT rp.request_id, rp.lang, COUNT(*) FROM request_posts rp \
             JOIN requests r ON r.id = rp.request_id WHERE {} GROUP BY rp.request_id, rp.lang",
            filter.replace("?P", "?1")
        ))?;
        let mut q = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = q.next()? {
            languages.push(LanguageRow {
                request_id: r.get(0)?,
                language: r.get(1)?,
                posts: r.get(2)?,
            });
        }
    }
    feedback::assemble(rows, askers, languages)
}

#[async_trait]
impl FeedbackStore for SqliteStore {
    async fn create_request(
        &self,
        title: &str,
        at: DateTime<Utc>,
    ) -> Result<RequestId, StoreError> {
        let title = title.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO requests (title, status, created_at, updated_at) VALUES (?1, 'open', ?2, ?2)",
            )?
            .execute(params![title, us(at)])?;
            Ok(RequestId(conn.last_insert_rowid()))
        })
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
        self.write(move |conn| {
            // The ask's facts are copied from its post (see migration 0010).
            let n = conn
                .prepare_cached(
                    "INSERT INTO request_posts (post_id, request_id, similarity, assigned_by, assigned_at, \
                     network, author, followers, asked_at, lang) \
                     SELECT p.id, ?2, ?3, ?4, ?5, p.network, p.author_external_id, COALESCE(p.author_followers, 0), \
                     p.created_at, p.lang FROM posts p WHERE p.id = ?1 \
                     ON CONFLICT (post_id) DO UPDATE SET request_id = excluded.request_id, \
                     similarity = excluded.similarity, assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at",
                )?
                .execute(params![post_id, request_id.0, f64::from(similarity), by, us(at)])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("post {post_id}")));
            }
            Ok(())
        })
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
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for id in [from, into] {
                let found: Option<i64> = tx
                    .prepare_cached("SELECT id FROM requests WHERE id = ?1")?
                    .query_row([id.0], |r| r.get(0))
                    .optional()?;
                if found.is_none() {
                    return Err(StoreError::NotFound(format!("request {id}")));
                }
            }
            tx.prepare_cached(
                "UPDATE request_posts SET request_id = ?2, assigned_by = ?3, assigned_at = ?4 WHERE request_id = ?1",
            )?
            .execute(params![from.0, into.0, by, us(at)])?;
            tx.prepare_cached("UPDATE promises SET request_id = ?2 WHERE request_id = ?1")?
                .execute(params![from.0, into.0])?;
            tx.prepare_cached(
                "UPDATE requests SET status = 'merged', merged_into = ?2, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![from.0, into.0, us(at)])?;
            let detail = serde_json::json!({ "from": from.0, "into": into.0 });
            insert_audit(&tx, None, &by, "requests_merged", &detail, at)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn rename_request(&self, id: RequestId, title: &str) -> Result<(), StoreError> {
        let title = title.to_string();
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE requests SET title = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id.0, title, us(Utc::now())])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("request {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn set_request_status(
        &self,
        id: RequestId,
        status: RequestStatus,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let n = conn
                .prepare_cached("UPDATE requests SET status = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id.0, status.as_str(), us(Utc::now())])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("request {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn set_tracker_url(&self, id: RequestId, url: &str) -> Result<(), StoreError> {
        let url = url.to_string();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE requests SET tracker_url = ?2, updated_at = ?3 WHERE id = ?1",
                )?
                .execute(params![id.0, url, us(Utc::now())])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("request {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn requests(
        &self,
        status: Option<RequestStatus>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Request>, StoreError> {
        self.read(move |conn| match status {
            Some(s) => load_requests(
                conn,
                "r.status = ?P",
                vec![Value::Text(s.as_str().into())],
                now,
            ),
            None => load_requests(conn, "r.status <> 'merged'", vec![], now),
        })
        .await
    }

    async fn request(
        &self,
        id: RequestId,
        now: DateTime<Utc>,
        sample: u32,
    ) -> Result<Option<RequestDetail>, StoreError> {
        self.read(move |conn| {
            let Some(request) = load_requests(conn, "r.id = ?P", vec![Value::Integer(id.0)], now)?
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {POST_COLS} FROM request_posts rp JOIN posts p ON p.id = rp.post_id \
                 WHERE rp.request_id = ?1 ORDER BY p.created_at DESC, p.id DESC LIMIT ?2"
            ))?;
            let mut rows = stmt.query(params![id.0, i64::from(sample)])?;
            let mut posts = Vec::new();
            while let Some(r) = rows.next()? {
                posts.push(post_from_row(r)?);
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PROMISE_COLS} FROM promises WHERE request_id = ?1 ORDER BY made_at"
            ))?;
            let mut rows = stmt.query([id.0])?;
            let mut promises = Vec::new();
            while let Some(r) = rows.next()? {
                promises.push(promise_from_row(r)?);
            }
            Ok(Some(RequestDetail {
                request,
                posts,
                promises,
            }))
        })
        .await
    }

    async fn request_members(&self, limit: u32) -> Result<Vec<RequestMember>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rp.request_id, p.id, p.text, p.lang, p.created_at FROM request_posts rp \
                 JOIN posts p ON p.id = rp.post_id JOIN requests r ON r.id = rp.request_id \
                 WHERE r.status IN ('open', 'planned') AND p.deleted_at IS NULL \
                 ORDER BY p.created_at, p.id LIMIT ?1",
            )?;
            let mut rows = stmt.query([i64::from(limit)])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(RequestMember {
                    request_id: RequestId(r.get(0)?),
                    post_id: r.get(1)?,
                    text: r.get(2)?,
                    language: r.get(3)?,
                    created_at: ts(r, 4)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn request_of_post(&self, post_id: i64) -> Result<Option<RequestId>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT request_id FROM request_posts WHERE post_id = ?1")?
                .query_row([post_id], |r| r.get::<_, i64>(0))
                .optional()?
                .map(RequestId))
        })
        .await
    }

    async fn asks(&self, requests: &[RequestId]) -> Result<Vec<Ask>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT rp.request_id, p.id, p.conversation_id, p.network, p.external_id, p.author_external_id, \
                 p.author_handle, p.lang, p.created_at, o.at IS NOT NULL \
                 FROM request_posts rp JOIN posts p ON p.id = rp.post_id \
                 LEFT JOIN opt_outs o ON o.network = p.network AND o.author_external_id = p.author_external_id \
                 WHERE rp.request_id IN ({}) AND p.conversation_id IS NOT NULL AND p.deleted_at IS NULL \
                 ORDER BY p.created_at, p.id",
                ids_placeholders(ids.len())
            ))?;
            let mut rows = stmt.query(params_from_iter(ids.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(Ask {
                    request_id: RequestId(r.get(0)?),
                    post_id: r.get(1)?,
                    conversation_id: ConversationId(r.get(2)?),
                    network: common::network(&r.get::<_, String>(3)?)?,
                    external_id: r.get(4)?,
                    author_external_id: r.get(5)?,
                    author_handle: r.get(6)?,
                    language: r.get(7)?,
                    asked_at: ts(r, 8)?,
                    opted_out: r.get(9)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn propose_promise(&self, p: NewPromise) -> Result<Promise, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(reply) = p.reply_id {
                let existing: Option<i64> = tx
                    .prepare_cached("SELECT id FROM promises WHERE reply_id = ?1")?
                    .query_row([reply], |r| r.get(0))
                    .optional()?;
                if let Some(id) = existing {
                    return load_promise(&tx, id)?
                        .ok_or_else(|| StoreError::Corrupt(format!("promise {id} vanished")));
                }
            }
            tx.prepare_cached(
                "INSERT INTO promises (request_id, conversation_id, reply_id, evidence, kind, state, made_at, \
                 due_on, target_release) VALUES (?1, ?2, ?3, ?4, ?5, 'proposed', ?6, ?7, ?8)",
            )?
            .execute(params![
                p.request_id.map(|r| r.0),
                p.conversation_id.0,
                p.reply_id,
                p.evidence,
                p.kind.as_str(),
                us(p.made_at),
                p.due_on.map(|d| d.format("%Y-%m-%d").to_string()),
                p.target_release,
            ])?;
            let id = tx.last_insert_rowid();
            let detail = serde_json::json!({ "promise_id": id, "kind": p.kind, "evidence": p.evidence });
            insert_audit(&tx, Some(p.conversation_id), "system", "promise_proposed", &detail, p.made_at)?;
            let promise = load_promise(&tx, id)?
                .ok_or_else(|| StoreError::Corrupt(format!("promise {id} vanished")))?;
            tx.commit()?;
            Ok(promise)
        })
        .await
    }

    async fn promise(&self, id: PromiseId) -> Result<Option<Promise>, StoreError> {
        self.read(move |conn| load_promise(conn, id.0)).await
    }

    async fn save_promise(&self, p: &Promise, actor: &str) -> Result<(), StoreError> {
        let p = p.clone();
        let actor = actor.to_string();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached(
                    "UPDATE promises SET request_id = ?2, state = ?3, due_on = ?4, target_release = ?5, \
                     confirmed_by = ?6, confirmed_at = ?7, release_id = ?8, kept_at = ?9 WHERE id = ?1",
                )?
                .execute(params![
                    p.id.0,
                    p.request_id.map(|r| r.0),
                    p.state.as_str(),
                    p.due_on.map(|d| d.format("%Y-%m-%d").to_string()),
                    p.target_release,
                    p.confirmed_by,
                    p.confirmed_at.map(us),
                    p.release_id,
                    p.kept_at.map(us),
                ])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("promise {}", p.id)));
            }
            let detail = serde_json::json!({ "promise_id": p.id.0, "state": p.state, "due_on": p.due_on });
            insert_audit(&tx, Some(p.conversation_id), &actor, &format!("promise_{}", p.state.as_str()), &detail, Utc::now())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn promises(&self, state: Option<PromiseState>) -> Result<Vec<Promise>, StoreError> {
        self.read(move |conn| {
            let mut out = Vec::new();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PROMISE_COLS} FROM promises WHERE ?1 IS NULL OR state = ?1 ORDER BY made_at, id"
            ))?;
            let mut rows = stmt.query([state.map(|s| s.as_str())])?;
            while let Some(r) = rows.next()? {
                out.push(promise_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn promises_for_requests(
        &self,
        requests: &[RequestId],
    ) -> Result<Vec<Promise>, StoreError> {
        if requests.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<i64> = requests.iter().map(|r| r.0).collect();
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {PROMISE_COLS} FROM promises WHERE request_id IN ({}) ORDER BY made_at, id",
                ids_placeholders(ids.len())
            ))?;
            let mut rows = stmt.query(params_from_iter(ids.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(promise_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn record_release(
        &self,
        release: NewRelease,
        at: DateTime<Utc>,
    ) -> Result<(Release, bool), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<i64> = tx
                .prepare_cached("SELECT id FROM releases WHERE version = ?1")?
                .query_row([&release.version], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                let stored = load_release(&tx, id)?
                    .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
                return Ok((stored, false));
            }
            tx.prepare_cached(
                "INSERT INTO releases (version, shipped_at, notes, url, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![release.version, us(release.shipped_at), release.notes, release.url, release.created_by, us(at)])?;
            let id = tx.last_insert_rowid();
            for r in &release.request_ids {
                let n = tx
                    .prepare_cached(
                        "INSERT INTO release_requests (release_id, request_id) SELECT ?1, id FROM requests WHERE id = ?2 \
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, r.0])?;
                if n == 0 {
                    let known: Option<i64> = tx
                        .prepare_cached("SELECT id FROM requests WHERE id = ?1")?
                        .query_row([r.0], |row| row.get(0))
                        .optional()?;
                    if known.is_none() {
                        return Err(StoreError::NotFound(format!("request {r}")));
                    }
                }
                tx.prepare_cached("UPDATE requests SET status = 'shipped', updated_at = ?2 WHERE id = ?1")?
                    .execute(params![r.0, us(at)])?;
            }
            let detail = serde_json::json!({ "release_id": id, "version": release.version, "requests": release.request_ids });
            insert_audit(&tx, None, &release.created_by, "release_recorded", &detail, at)?;
            let stored = load_release(&tx, id)?
                .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
            tx.commit()?;
            Ok((stored, true))
        })
        .await
    }

    async fn release(&self, id: ReleaseId) -> Result<Option<Release>, StoreError> {
        self.read(move |conn| load_release(conn, id.0)).await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.read(move |conn| {
            let ids: Vec<i64> = conn
                .prepare_cached("SELECT id FROM releases ORDER BY shipped_at DESC, id DESC")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(r) = load_release(conn, id)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn notified_keys(&self, release: ReleaseId) -> Result<HashSet<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT key FROM notifications WHERE release_id = ?1 AND state IN ('sent', 'skipped')",
                )?
                .query_map([release.0], |r| r.get(0))?
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn record_notification(
        &self,
        release: ReleaseId,
        plan: &NotificationPlan,
        state: NotificationState,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let plan = plan.clone();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "INSERT INTO notifications (key, release_id, request_id, post_id, conversation_id, network, language, \
                     text, state, skip_reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                     ON CONFLICT (key) DO NOTHING",
                )?
                .execute(params![
                    plan.key,
                    release.0,
                    plan.ask.request_id.0,
                    plan.ask.post_id,
                    plan.ask.conversation_id.0,
                    plan.ask.network.as_str(),
                    plan.ask.language,
                    plan.text,
                    state.as_str(),
                    feedback::skip_name(&plan),
                    us(at),
                ])?;
            Ok(n == 1)
        })
        .await
    }

    async fn update_notification(
        &self,
        key: &str,
        state: NotificationState,
        reply_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE notifications SET state = ?2, reply_id = COALESCE(?3, reply_id) WHERE key = ?1",
            )?
            .execute(params![key, state.as_str(), reply_id])?;
            Ok(())
        })
        .await
    }

    async fn notifications(&self, release: ReleaseId) -> Result<Vec<Notification>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, key, release_id, request_id, post_id, conversation_id, network, language, text, state, \
                 skip_reason, reply_id, created_at FROM notifications WHERE release_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([release.0])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(Notification {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    release_id: ReleaseId(r.get(2)?),
                    request_id: RequestId(r.get(3)?),
                    post_id: r.get(4)?,
                    conversation_id: ConversationId(r.get(5)?),
                    network: common::network(&r.get::<_, String>(6)?)?,
                    language: r.get(7)?,
                    text: r.get(8)?,
                    state: feedback::parse_notification_state(&r.get::<_, String>(9)?)?,
                    skip_reason: r.get(10)?,
                    reply_id: r.get(11)?,
                    created_at: ts(r, 12)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn opt_out(
        &self,
        network: Network,
        author_external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let author = author_external_id.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO opt_outs (network, author_external_id, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![network.as_str(), author, us(at)])?;
            Ok(())
        })
        .await
    }
}

fn load_release(conn: &Connection, id: i64) -> Result<Option<Release>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT id, version, shipped_at, notes, url, created_by, created_at FROM releases WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })
        .optional()?;
    let Some((id, version, shipped, notes, url, created_by, created)) = row else {
        return Ok(None);
    };
    let request_ids = conn
        .prepare_cached(
            "SELECT request_id FROM release_requests WHERE release_id = ?1 ORDER BY request_id",
        )?
        .query_map([id], |r| r.get::<_, i64>(0))?
        .map(|r| r.map(RequestId))
        .collect::<Result<_, _>>()?;
    let time = |v: i64| {
        DateTime::from_timestamp_micros(v)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} is out of range")))
    };
    Ok(Some(Release {
        id: ReleaseId(id),
        version,
        shipped_at: time(shipped)?,
        notes,
        url,
        request_ids,
        created_by,
        created_at: time(created)?,
    }))
}
