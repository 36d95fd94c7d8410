//! Releases: recording one (its requests shipped, their promises kept) and telling every
//! customer who asked, in their thread, paced per network.

use super::{Desk, DeskError};
use crate::feedback::NotifyPace;
use chrono::Utc;
use earshot_core::feedback::{
    plan_notifications, NotificationPlan, NotificationState, Release, RequestId, Skip, Templates,
};
use earshot_core::feedback::{ReleaseId, ReleaseLink, ReleaseVersion};
use earshot_core::Network;
pub use earshot_store::feedback::{NewRelease, Notification};
use earshot_store::StoreError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// What recording (or previewing) a release did.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseOutcome {
    pub release: Option<Release>,
    /// `false` when the version was recorded before (a re-run): nothing new happens.
    pub newly_recorded: bool,
    pub dry_run: bool,
    pub promises_kept: usize,
    /// One line per customer: who is told what, or why not.
    pub notifications: Vec<NotificationPlan>,
}

/// Plans the notifications of `release` (recorded or not) against what is stored.
pub async fn preview(
    desk: &Desk,
    release: &Release,
    templates: &Templates,
) -> Result<Vec<NotificationPlan>, StoreError> {
    let store = desk.store();
    let asks = store.asks(&release.request_ids).await?;
    let now = Utc::now();
    let mut titles: HashMap<RequestId, String> = HashMap::new();
    for id in &release.request_ids {
        if let Some(detail) = store.request(*id, now, 0).await? {
            titles.insert(*id, detail.request.title);
        }
    }
    let done = store.notified_keys(release.id).await?;
    let mut plans = plan_notifications(release, &asks, &titles, templates, &done);
    // Askers on a network earshot cannot post on (no connector configured) are not told:
    // planned as skipped, so nobody counts them as told.
    for plan in plans.iter_mut().filter(|p| p.skip.is_none()) {
        if !desk.can_answer(plan.ask.network) {
            plan.skip = Some(Skip::NoReplyChannel);
        }
    }
    Ok(plans)
}

/// Records the release (unless `dry_run`), keeps the promises on its requests, and returns
/// the notification plan. Sending happens in [`notify`], paced, so the caller answers at once.
pub async fn record(
    desk: &Desk,
    release: NewRelease,
    templates: &Templates,
    dry_run: bool,
) -> Result<ReleaseOutcome, StoreError> {
    let store = desk.store();
    if release.version.trim().is_empty() {
        return Err(StoreError::Invalid("a release needs a version".into()));
    }
    if dry_run {
        // Plan against a release that is not stored: the same rules, nothing written.
        let draft = Release {
            id: earshot_core::feedback::ReleaseId(0),
            version: release.version.clone(),
            shipped_at: release.shipped_at,
            notes: release.notes.clone(),
            url: release.url.clone(),
            request_ids: release.request_ids.clone(),
            created_by: release.created_by.clone(),
            created_at: Utc::now(),
        };
        let notifications = preview(desk, &draft, templates).await?;
        let promises = store.promises_for_requests(&release.request_ids).await?;
        return Ok(ReleaseOutcome {
            release: None,
            newly_recorded: false,
            dry_run: true,
            promises_kept: promises.iter().filter(|p| p.state.is_open()).count(),
            notifications,
        });
    }
    let (stored, newly_recorded) = store.record_release(release, Utc::now()).await?;
    let mut kept = 0;
    for mut promise in store.promises_for_requests(&stored.request_ids).await? {
        // A dismissed promise stays dismissed; keeping twice changes nothing.
        if promise.state.is_open()
            && promise
                .keep(stored.id.0, stored.shipped_at)
                .unwrap_or(false)
        {
            store.save_promise(&promise, &stored.created_by).await?;
            kept += 1;
        }
    }
    let notifications = preview(desk, &stored, templates).await?;
    Ok(ReleaseOutcome {
        release: Some(stored),
        newly_recorded,
        dry_run: false,
        promises_kept: kept,
        notifications,
    })
}

/// Tells each planned customer, paced per network. Each notification is stored (by its key)
/// before its reply is sent, and the reply carries the same key, so a crash or a re-run never
/// tells anyone twice. Returns how many were sent.
pub async fn notify(
    desk: Arc<Desk>,
    release: Release,
    plans: Vec<NotificationPlan>,
    pace: NotifyPace,
) -> Result<usize, StoreError> {
    let store = desk.store().clone();
    let mut sent = 0;
    let mut last_sent: HashMap<Network, tokio::time::Instant> = HashMap::new();
    for plan in plans {
        if plan.skip.is_some() {
            store
                .record_notification(release.id, &plan, NotificationState::Skipped, Utc::now())
                .await?;
            continue;
        }
        // Stored before means a run stopped before telling them (a crash, a failed send):
        // the reply below carries the same key, so whatever that run got as far as is
        // picked up, never sent twice.
        store
            .record_notification(release.id, &plan, NotificationState::Queued, Utc::now())
            .await?;
        let gap = pace.gap(plan.ask.network);
        if let Some(at) = last_sent.get(&plan.ask.network) {
            tokio::time::sleep_until(*at + gap).await;
        }
        last_sent.insert(plan.ask.network, tokio::time::Instant::now());
        match desk
            .reply(
                plan.ask.conversation_id,
                &plan.text,
                "earshot",
                Some(plan.key.clone()),
            )
            .await
        {
            Ok(reply) => {
                store
                    .update_notification(&plan.key, NotificationState::Sent, Some(reply.id))
                    .await?;
                sent += 1;
            }
            Err(DeskError::NotSent { reply, reason }) => {
                tracing::warn!(key = %plan.key, reason = %reason, "release notification not sent");
                store
                    .update_notification(&plan.key, NotificationState::Failed, Some(reply.id))
                    .await?;
            }
            Err(DeskError::SendFailed { reply, error }) => {
                // The reply is stored and the desk retries it with its key; the notification
                // counts as sent only when that reply goes out (the outbox's `Delivered` step).
                tracing::warn!(key = %plan.key, error = %error, "release notification not sent yet");
                store
                    .update_notification(&plan.key, NotificationState::Failed, Some(reply.id))
                    .await?;
            }
            Err(DeskError::Store(StoreError::Conflict(e))) if e.contains(super::BEING_SENT) => {
                // Another run (or a crashed one whose claim has not expired) holds the reply:
                // it stays queued and goes out once, from there or from the housekeeping.
                tracing::info!(key = %plan.key, "release notification is being sent elsewhere");
            }
            Err(e) => {
                tracing::warn!(key = %plan.key, error = %e, "release notification refused");
                store
                    .update_notification(&plan.key, NotificationState::Failed, None)
                    .await?;
            }
        }
    }
    Ok(sent)
}

/// A release as an agent describes it, its input already checked.
#[derive(Debug, Clone)]
pub struct ReleaseDraft {
    pub version: ReleaseVersion,
    /// Defaults to now.
    pub shipped_at: Option<chrono::DateTime<Utc>>,
    pub notes: String,
    pub link: Option<ReleaseLink>,
    pub requests: Vec<RequestId>,
}

/// A release with who was told.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseDetail {
    pub release: Release,
    pub notifications: Vec<Notification>,
}

/// The releases service (see [`Desk::releases`]).
pub struct Releases {
    desk: Arc<Desk>,
}

impl Desk {
    /// Releases: record (or preview) one, tell its askers, read them back.
    pub fn releases(self: &Arc<Self>) -> Releases {
        Releases {
            desk: Arc::clone(self),
        }
    }
}

impl Releases {
    /// Records the release (or, with `dry_run`, only plans it): its requests are shipped and
    /// their promises kept. Nobody is told yet: see [`Releases::notify_in_background`].
    pub async fn record(
        &self,
        draft: ReleaseDraft,
        by: &str,
        dry_run: bool,
    ) -> Result<ReleaseOutcome, DeskError> {
        if draft.requests.is_empty() {
            return Err(earshot_core::feedback::InputError(
                "a release ships at least one request".into(),
            )
            .into());
        }
        let release = NewRelease {
            version: draft.version.into(),
            shipped_at: draft.shipped_at.unwrap_or_else(Utc::now),
            notes: draft.notes,
            url: draft.link.map(String::from),
            request_ids: draft.requests,
            created_by: by.to_string(),
        };
        let templates = self.desk.feedback().templates();
        Ok(record(&self.desk, release, templates, dry_run).await?)
    }

    /// Tells the askers of a recorded release, paced as `[feedback]` says, off the caller's
    /// path (a preview tells nobody).
    pub fn notify_in_background(&self, outcome: &ReleaseOutcome) {
        let Some(release) = outcome.release.clone().filter(|_| !outcome.dry_run) else {
            return;
        };
        let plans = outcome.notifications.clone();
        let pace = self.desk.feedback().pace().clone();
        let desk = Arc::clone(&self.desk);
        tokio::spawn(async move {
            let version = release.version.clone();
            match notify(desk, release, plans, pace).await {
                Ok(sent) => tracing::info!(release = %version, sent, "release notifications done"),
                Err(e) => {
                    tracing::error!(release = %version, error = %e, "release notifications stopped; recording the release again resumes them")
                }
            }
        });
    }

    /// Tells the askers of a recorded release now, at `pace`; returns how many were told.
    pub async fn notify_now(
        &self,
        release: Release,
        plans: Vec<NotificationPlan>,
        pace: NotifyPace,
    ) -> Result<usize, DeskError> {
        Ok(notify(Arc::clone(&self.desk), release, plans, pace).await?)
    }

    pub async fn list(&self) -> Result<Vec<Release>, DeskError> {
        Ok(self.desk.store().releases().await?)
    }

    pub async fn detail(&self, id: ReleaseId) -> Result<ReleaseDetail, DeskError> {
        let store = self.desk.store();
        let release = store
            .release(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("release {id}")))?;
        let notifications = store.notifications(id).await?;
        Ok(ReleaseDetail {
            release,
            notifications,
        })
    }
}
