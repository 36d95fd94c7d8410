//! Alerts kept in the store until every target is done with them: on-call pages, spikes,
//! overdue promises and replies earshot gave up on. The sender claims the alert with its text
//! (`AlertClaimStore::claim_alert`, or a spike's own claim) before [`Alerts::send_kept`]; the
//! dispatcher says when every target settled it and the store marks it so. While a target
//! retries it (or the store refuses the settle), its sender touches the claim every
//! [`TOUCH_EVERY`], so a live sender that can write to the store is not doubled. Whoever sends
//! that kind of alert now (the holder of paging, of the promise check, of the reply retries,
//! each pass; the spike count, once a minute) sends again the claims left untouched for
//! [`REDELIVER_AFTER`] — their sender stopped, or a full queue dropped them — taking each over
//! in the store first, so two processes never both send it. So a kept alert is not lost to a
//! process that stops; it goes out again with the webhook event id it had the first time.

use super::Alerts;
use chrono::{DateTime, Utc};
use earshot_connect::notify::{Alert, Settled};
use earshot_core::ConversationId;
use earshot_store::alert_claims::UnsettledAlert;
use earshot_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::Arc;

/// How long a claim may go untouched before its alert is owed again: several touches missed,
/// so a sender that is alive and retrying is never doubled.
pub const REDELIVER_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// How often a sender touches the claim of an alert a target is still retrying.
pub const TOUCH_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// A claim older than this is not sent again but settled `expired`: a page or a spike that
/// late is stale, and the conditions that still matter raise new alerts.
pub const EXPIRES_AFTER: chrono::Duration = chrono::Duration::hours(12);

/// Unsettled alerts read per pass, at most.
const REDELIVER_LIMIT: usize = 100;

/// An alert as the store keeps it (JSON).
pub fn kept(alert: &Alert) -> Result<String, StoreError> {
    serde_json::to_string(alert)
        .map_err(|e| StoreError::Invalid(format!("alert {}: {e}", alert.dedupe_key)))
}

impl Alerts {
    /// Claims `alert` in the store (about `conversation`, if any) and, when no process claimed
    /// it before, sends it as [`Alerts::send_kept`] does: `true` when this call claimed it.
    pub async fn claim_and_send(
        &self,
        store: &Arc<dyn Store>,
        alert: Alert,
        conversation: Option<ConversationId>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let text = kept(&alert)?;
        if !store
            .claim_alert(&alert.dedupe_key, conversation, &text, now)
            .await?
        {
            return Ok(false);
        }
        self.send_kept(store, alert, now).await?;
        Ok(true)
    }

    /// Hands an alert claimed in the store to the targets, touches the claim while they work
    /// on it, and settles it once they are done (in the background: a slow target never
    /// holds up the caller). Left unsettled when a full queue dropped it or the dispatcher
    /// stopped first: the next pass of its kind sends it again.
    pub async fn send_kept(
        &self,
        store: &Arc<dyn Store>,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = alert.dedupe_key.clone();
        let Some(mut settled) = self.raise_tracked(alert) else {
            // No target takes it: the log line is all there is to deliver.
            return store.settle_alert(&key, "logged", now).await;
        };
        self.in_flight().insert(key.clone());
        let (store, in_flight) = (store.clone(), self.kept_in_flight.clone());
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let give_up = started + EXPIRES_AFTER.to_std().unwrap_or_default();
            let mut touch = tokio::time::interval_at(started + TOUCH_EVERY, TOUCH_EVERY);
            let touch_claim = |store: Arc<dyn Store>, key: String| async move {
                if let Err(e) = store.touch_alert(&key, Utc::now()).await {
                    tracing::warn!(alert = %key, error = %e, "could not touch the alert's claim");
                }
            };
            // Until the targets are done (a worker that died never answers: given up with the
            // claim's expiry, left untouched for the next sender to expire).
            let tally = loop {
                tokio::select! {
                    tally = &mut settled => break tally.ok(),
                    _ = touch.tick() => {
                        if tokio::time::Instant::now() >= give_up {
                            break None;
                        }
                        touch_claim(store.clone(), key.clone()).await;
                    }
                }
            };
            match tally.map(|t| t.outcome()) {
                // Settled, or tried again every touch while the store refuses: a pass of
                // another process must not send again what a target already took.
                Some(Some(outcome)) => loop {
                    match store.settle_alert(&key, outcome, Utc::now()).await {
                        Ok(()) => break,
                        Err(e) if tokio::time::Instant::now() < give_up => {
                            tracing::error!(alert = %key, error = %e,
                                "could not mark the alert settled; trying again");
                            touch.tick().await;
                            touch_claim(store.clone(), key.clone()).await;
                        }
                        Err(e) => {
                            tracing::error!(alert = %key, error = %e, "could not mark the alert settled");
                            break;
                        }
                    }
                },
                Some(None) => tracing::warn!(alert = %key,
                    "alert dropped by a full queue: it is sent again on a later pass"),
                // The dispatcher stopped first (a shutdown): the next sender has it.
                None => {}
            }
            in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        });
        Ok(())
    }

    /// The alerts of one kind (`prefix`: `page:`, `spike:`, `promise-overdue:`,
    /// `reply_failed:`) owed again at `now`: unsettled, untouched for [`REDELIVER_AFTER`] and
    /// not on their way from this process. Claims past [`EXPIRES_AFTER`] are settled
    /// `expired`, and ones whose alert cannot be read back `unreadable`, instead.
    pub async fn owed(
        &self,
        store: &Arc<dyn Store>,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(UnsettledAlert, Alert)>, StoreError> {
        // Taken before the read: an alert this process settles in between is either not
        // listed (settled first) or in this set (removed after).
        let busy: HashSet<String> = self.in_flight().clone();
        let unsettled = store
            .unsettled_alerts(prefix, now - REDELIVER_AFTER, REDELIVER_LIMIT)
            .await?;
        let mut owed = Vec::new();
        for claim in unsettled {
            if busy.contains(&claim.key) {
                continue;
            }
            // One claim the store fails on is logged and left for a later pass: it must not
            // stop the pass's own work (new pages, promise checks, reply retries).
            let key = claim.key.clone();
            match self.owed_one(store, claim, now).await {
                Ok(found) => owed.extend(found),
                Err(e) => {
                    tracing::error!(alert = %key, error = %e, "an owed alert could not be looked at")
                }
            }
        }
        Ok(owed)
    }

    /// One listed claim: expired, unreadable, taken by another process meanwhile, or taken
    /// over by this one to send again.
    async fn owed_one(
        &self,
        store: &Arc<dyn Store>,
        claim: UnsettledAlert,
        now: DateTime<Utc>,
    ) -> Result<Option<(UnsettledAlert, Alert)>, StoreError> {
        if now - claim.claimed_at > EXPIRES_AFTER {
            tracing::warn!(alert = %claim.key, claimed_at = %claim.claimed_at,
                "an alert never delivered is too old to send now: dropped as expired");
            store.settle_alert(&claim.key, "expired", now).await?;
            return Ok(None);
        }
        let alert = match claim.alert.as_deref().map(serde_json::from_str::<Alert>) {
            Some(Ok(alert)) => alert,
            other => {
                let why = match other {
                    Some(Err(e)) => e.to_string(),
                    _ => "no alert kept".to_string(),
                };
                tracing::error!(alert = %claim.key, error = %why,
                    "an unsettled alert cannot be read back: not sent again");
                store.settle_alert(&claim.key, "unreadable", now).await?;
                return Ok(None);
            }
        };
        let taken = store
            .retake_alert(&claim.key, now - REDELIVER_AFTER, now)
            .await?;
        Ok(taken.then_some((claim, alert)))
    }

    /// Sends an owed alert ([`Alerts::owed`]) again.
    pub async fn resend(
        &self,
        store: &Arc<dyn Store>,
        claim: &UnsettledAlert,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        tracing::warn!(alert = %claim.key, claimed_at = %claim.claimed_at,
            "alert never delivered (its sender stopped, or a full queue dropped it): sending it again");
        self.send_kept(store, alert, now).await
    }

    /// Sends again every alert of one kind owed at `now`. Returns how many. Errors are logged,
    /// never returned: the pass that calls it has its own work to do.
    pub async fn send_unsettled(
        &self,
        store: &Arc<dyn Store>,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> usize {
        let owed = match self.owed(store, prefix, now).await {
            Ok(owed) => owed,
            Err(e) => {
                tracing::error!(kind = %prefix, error = %e,
                    "alerts never delivered could not be looked at");
                return 0;
            }
        };
        let mut sent = 0;
        for (claim, alert) in owed {
            match self.resend(store, &claim, alert, now).await {
                Ok(()) => sent += 1,
                Err(e) => {
                    tracing::error!(alert = %claim.key, error = %e, "an owed alert was not sent again")
                }
            }
        }
        sent
    }

    /// Raises `alert` for the targets and returns the receiver that hears how it ended at
    /// every one; `None` when no target takes it (it is only logged).
    fn raise_tracked(&self, alert: Alert) -> Option<tokio::sync::oneshot::Receiver<Settled>> {
        tracing::warn!(title = %alert.title, key = %alert.dedupe_key, "alert");
        self.dispatcher.as_ref()?.dispatch_tracked(alert).1
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.kept_in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
