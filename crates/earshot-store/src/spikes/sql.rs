//! [`SpikeStore`] written once for both backends (the table of migration 0041), over the
//! neutral [`Conn`](crate::db::Conn).

use super::{CountedPost, SpikeStore, StoredSpike};
use crate::db::{self, args, job, Backend, Value};
use crate::{alert_claims, common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
impl<B: Backend> SpikeStore for B {
    async fn save_spike(
        &self,
        id: Option<i64>,
        active: bool,
        detected_at: DateTime<Utc>,
        view: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let view = db::json(view)?;
        let (detected_at, at) = (common::trunc_us(detected_at), common::trunc_us(at));
        self.write(job!(c => {
            let Some(id) = id else {
                return c
                    .query_one(
                        "INSERT INTO spikes (active, detected_at, view, updated_at) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                        &[Value::from(active), Value::from(detected_at), view, Value::from(at)],
                    )
                    .await?
                    .get(0);
            };
            let changed = c
                .execute(
                    "UPDATE spikes SET active = $2, detected_at = $3, view = $4, updated_at = $5 \
                     WHERE id = $1",
                    &[Value::from(id), Value::from(active), Value::from(detected_at), view, Value::from(at)],
                )
                .await?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("spike {id}")));
            }
            Ok(id)
        }))
        .await
    }

    async fn claim_spike_alert(
        &self,
        id: i64,
        key: &str,
        alert: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (key, alert) = (key.to_string(), alert.to_string());
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            if c.query_opt("SELECT 1 FROM spikes WHERE id = $1", args![id]).await?.is_none() {
                return Err(StoreError::NotFound(format!("spike {id}")));
            }
            let claimed = c
                .execute(
                    "UPDATE spikes SET alerted_at = $2 WHERE id = $1 AND alerted_at IS NULL",
                    args![id, at],
                )
                .await?;
            if claimed == 0 {
                return Ok(false);
            }
            alert_claims::sql::claim(c, &key, None, &alert, at).await
        }))
        .await
    }

    async fn spikes(&self, limit: u32) -> Result<Vec<StoredSpike>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT id, active, detected_at, view, alerted_at, updated_at FROM spikes \
                 ORDER BY active DESC, detected_at DESC, id DESC LIMIT $1",
                args![limit],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(StoredSpike {
                    id: r.get(0)?,
                    active: r.get(1)?,
                    detected_at: r.get(2)?,
                    view: r.json(3)?,
                    alerted_at: r.get(4)?,
                    updated_at: r.get(5)?,
                })
            })
            .collect()
        }))
        .await
    }

    async fn end_spikes_but(&self, keep: &[i64], at: DateTime<Utc>) -> Result<u64, StoreError> {
        let keep = keep.to_vec();
        let at = common::trunc_us(at);
        self.write(job!(c => {
            let mut sql = String::from("UPDATE spikes SET active = $1, updated_at = $2 WHERE active");
            let mut values = vec![Value::from(false), Value::from(at)];
            if !keep.is_empty() {
                let marks: Vec<String> = (0..keep.len()).map(|i| format!("${}", i + 3)).collect();
                sql.push_str(&format!(" AND id NOT IN ({})", marks.join(", ")));
                values.extend(keep.iter().map(|&id| Value::from(id)));
            }
            c.execute(&sql, &values).await
        }))
        .await
    }

    async fn newest_post_id(&self) -> Result<i64, StoreError> {
        self.read(job!(c => {
            let newest: Option<i64> = c.query_one("SELECT MAX(id) FROM posts", args![]).await?.get(0)?;
            Ok(newest.unwrap_or(0))
        }))
        .await
    }

    async fn customer_posts_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<(Vec<CountedPost>, i64), StoreError> {
        // A walk of the posts' primary key from `after` up to the newest post now (read first,
        // so what was read is known even when only brand posts came).
        self.read(job!(c => {
            let newest: Option<i64> = c.query_one("SELECT MAX(id) FROM posts", args![]).await?.get(0)?;
            let newest = newest.unwrap_or(after).max(after);
            let posts: Vec<CountedPost> = c
                .query(
                    "SELECT p.id, p.network, p.author_external_id, p.text, p.lang, rp.request_id, \
                     p.created_at FROM posts p \
                     LEFT JOIN request_posts rp ON rp.post_id = p.id \
                     WHERE p.id > $1 AND p.id <= $3 AND NOT p.from_brand AND p.deleted_at IS NULL \
                     ORDER BY p.id LIMIT $2",
                    args![after, limit, newest],
                )
                .await?
                .iter()
                .map(|r| {
                    Ok(CountedPost {
                        post_id: r.get(0)?,
                        network: common::network(r.text(1)?)?,
                        author: r.get(2)?,
                        text: r.get(3)?,
                        language: r.get(4)?,
                        request_id: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            // A full page may stop short of `newest`: the next call goes on from its last post.
            let read_to = if posts.len() as u64 >= u64::from(limit) {
                posts.last().map_or(newest, |p| p.post_id)
            } else {
                newest
            };
            Ok((posts, read_to))
        }))
        .await
    }
}
