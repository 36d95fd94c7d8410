//! Recording a release: once per version, marking the requests it ships.

use super::super::NewRelease;
use super::rows::{load_release, must_exist};
use crate::common;
use crate::db::{args, insert_audit, job, Backend};
use crate::StoreError;
use chrono::{DateTime, Utc};
use earshot_core::feedback::Release;

/// [`super::super::FeedbackStore::record_release`]: the stored release, and whether this call
/// recorded it.
pub(super) async fn record_release(
    b: &impl Backend,
    release: NewRelease,
    at: DateTime<Utc>,
) -> Result<(Release, bool), StoreError> {
    let at = common::trunc_us(at);
    b.transaction(job!(c => {
        let inserted = c
            .query_opt(
                "INSERT INTO releases (version, shipped_at, notes, url, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING RETURNING id",
                args![
                    release.version.as_str(),
                    release.shipped_at,
                    release.notes.as_str(),
                    release.url.as_deref(),
                    release.created_by.as_str(),
                    at
                ],
            )
            .await?;
        let Some(row) = inserted else {
            // Recorded before: the version is the release's identity.
            let id: i64 = c
                .query_opt(
                    "SELECT id FROM releases WHERE version = $1",
                    args![release.version.as_str()],
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt("a conflicting release vanished".into()))?
                .get(0)?;
            let stored = load_release(c, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
            return Ok((stored, false));
        };
        let id: i64 = row.get(0)?;
        for r in &release.request_ids {
            must_exist(c, *r).await?;
            c.execute(
                "INSERT INTO release_requests (release_id, request_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                args![id, r.0],
            )
            .await?;
            c.execute(
                "UPDATE requests SET status = 'shipped', updated_at = $2 WHERE id = $1",
                args![r.0, at],
            )
            .await?;
        }
        let detail = serde_json::json!({
            "release_id": id, "version": release.version, "requests": release.request_ids
        });
        insert_audit(c, None, &release.created_by, "release_recorded", &detail, at).await?;
        let stored = load_release(c, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("release {id} vanished")))?;
        Ok((stored, true))
    }))
    .await
}
