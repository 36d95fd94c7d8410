//! The request list for pages that can show figures a minute old (the dashboard's busiest
//! requests). Summing every request's asks costs ~0.1 s once requests hold tens of
//! thousands of asks, so the list is kept for a while and refreshed in the background: a reader gets the last list at once while a fresh
//! one is being made, and only the very first reader waits. Agents' merges and moves drop
//! the list so their own change shows on the next read.

use earshot_core::feedback::Request;
use earshot_store::{Store, StoreError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct RequestsSnapshot {
    kept: Mutex<Option<(Instant, Arc<Vec<Request>>)>>,
    refreshing: AtomicBool,
}

impl RequestsSnapshot {
    fn kept(&self) -> Option<(Instant, Arc<Vec<Request>>)> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, list: Arc<Vec<Request>>) {
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), list));
    }

    /// Forgets the list: the next read makes a fresh one.
    pub fn drop_list(&self) {
        *self.kept.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Every request but merged ones, at most `max_age` old — or older while a refresh
    /// started by this call runs in the background.
    pub async fn requests(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        max_age: Duration,
    ) -> Result<Arc<Vec<Request>>, StoreError> {
        match self.kept() {
            Some((at, list)) if at.elapsed() <= max_age => Ok(list),
            Some((_, list)) => {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let me = self.clone();
                    let store = store.clone();
                    tokio::spawn(async move {
                        match store.requests(None, chrono::Utc::now()).await {
                            Ok(fresh) => me.keep(Arc::new(fresh)),
                            Err(e) => tracing::warn!("refreshing the request list: {e}"),
                        }
                        me.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(list)
            }
            None => {
                let fresh = Arc::new(store.requests(None, chrono::Utc::now()).await?);
                self.keep(fresh.clone());
                Ok(fresh)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use earshot_store::sqlite::SqliteStore;

    #[tokio::test]
    async fn a_kept_list_is_served_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(dir.path().join("s.db").to_str().unwrap())
                .await
                .unwrap(),
        );
        let snap = Arc::new(RequestsSnapshot::default());
        let first = snap
            .requests(&store, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(first.is_empty());
        let again = snap
            .requests(&store, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again), "served from the kept list");
        snap.drop_list();
        let fresh = snap
            .requests(&store, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh), "made again after a drop");
    }
}
