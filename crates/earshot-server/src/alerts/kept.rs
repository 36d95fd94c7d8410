//! Alerts kept in the store until every target is done with them: on-call pages, spikes,
//! overdue promises and replies earshot gave up on. The sender claims the alert with its text
//! (`AlertClaimStore::claim_alert`, or a spike's own claim) before [`Alerts::send_kept`]; the
//! dispatcher says when every target settled it and the store marks it so. Whoever sends that
//! kind of alert now (the holder of paging, of the spike count, of the promise check, of the
//! reply retries) calls [`Alerts::send_unsettled`] on each pass, which sends again what a
//! process that died, or lost that role, left unsettled. So a kept alert arrives at least once,
//! with the webhook event id it had the first time.

use super::{Alerts, Raised};
use chrono::{DateTime, Utc};
use earshot_connect::notify::Alert;
use earshot_store::{Store, StoreError};
use std::sync::Arc;

/// How long a claimed alert may go unsettled before it is sent again: well past a delivery
/// that works (seconds), so an alert on its way in a live process is not doubled.
pub const REDELIVER_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Unsettled alerts sent again per pass, at most.
const REDELIVER_LIMIT: usize = 100;

/// An alert as the store keeps it (JSON).
pub fn kept(alert: &Alert) -> Result<String, StoreError> {
    serde_json::to_string(alert)
        .map_err(|e| StoreError::Invalid(format!("alert {}: {e}", alert.dedupe_key)))
}

impl Alerts {
    /// Hands an alert claimed in the store to the targets, and settles it in the store once
    /// they are done with it (in the background: a slow target never holds up the caller). A
    /// dispatcher that stops first leaves it unsettled, for [`Alerts::send_unsettled`].
    pub async fn send_kept(
        &self,
        store: &Arc<dyn Store>,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = alert.dedupe_key.clone();
        match self.raise_tracked(alert) {
            Raised::Tracked(settled) => {
                self.in_flight().insert(key.clone());
                let (store, in_flight) = (store.clone(), self.kept_in_flight.clone());
                tokio::spawn(async move {
                    if let Ok(tally) = settled.await {
                        if let Err(e) = store.settle_alert(&key, tally.outcome(), Utc::now()).await
                        {
                            // Left unsettled: the next pass sends it once more.
                            tracing::error!(alert = %key, error = %e, "could not mark the alert settled");
                        }
                    }
                    in_flight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&key);
                });
            }
            // No target takes it: the log line is all there is to deliver.
            Raised::Nowhere => store.settle_alert(&key, "logged", now).await?,
            // Handed over in this process within the window: that hand-over settles it.
            Raised::Deduplicated => {}
        }
        Ok(())
    }

    /// Sends again the alerts of one kind (`prefix`: `page:`, `spike:`, `promise-overdue:`,
    /// `reply_failed:`)
    /// claimed more than [`REDELIVER_AFTER`] before `now` and never settled. Returns how many.
    pub async fn send_unsettled(
        &self,
        store: &Arc<dyn Store>,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let unsettled = store
            .unsettled_alerts(prefix, now - REDELIVER_AFTER, REDELIVER_LIMIT)
            .await?;
        let mut sent = 0;
        for claim in unsettled {
            if self.in_flight().contains(&claim.key) {
                continue;
            }
            match claim.alert.as_deref().map(serde_json::from_str::<Alert>) {
                Some(Ok(alert)) => {
                    tracing::warn!(alert = %claim.key, claimed_at = %claim.claimed_at,
                        "alert claimed but never settled (its sender stopped): sending it again");
                    self.send_kept(store, alert, now).await?;
                    sent += 1;
                }
                other => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no alert kept".to_string(),
                    };
                    tracing::error!(alert = %claim.key, error = %why,
                        "an unsettled alert cannot be read back: not sent again");
                    store.settle_alert(&claim.key, "unreadable", now).await?;
                }
            }
        }
        Ok(sent)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.kept_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
