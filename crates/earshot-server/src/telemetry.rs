//! What this process did since it started, counted from the pipeline's events for
//! `/metrics` (see `crate::operations`). Only its own events: in cluster mode the events
//! other processes fan out reach its live pages but not these counts, so summing a counter
//! over the processes counts each post once. A leaf: it knows the pipeline's events and
//! nothing of the HTTP state that holds it.

use crate::pipeline::{LiveEvent, Pipeline};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Counts of what this process did, fed from its pipeline's own events.
pub struct Telemetry {
    counts: Mutex<Counts>,
    started: DateTime<Utc>,
}

/// Nothing counted yet, starting now (fed by nothing unless made by [`Telemetry::start`]).
impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            counts: Mutex::default(),
            started: Utc::now(),
        }
    }
}

/// What [`Telemetry`] counted, as of one moment.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub posts_stored: BTreeMap<String, u64>,
    pub conversation_events: BTreeMap<String, u64>,
    pub spikes_started: u64,
    /// Events dropped because this listener fell behind the pipeline.
    pub missed: u64,
}

impl Telemetry {
    /// Starts counting `pipeline`'s own events in a task of its own.
    pub fn start(pipeline: &Pipeline) -> Arc<Telemetry> {
        let telemetry = Arc::new(Telemetry::default());
        let mut events = pipeline.subscribe_own();
        let weak = Arc::downgrade(&telemetry);
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let event = events.recv().await;
                let Some(t) = weak.upgrade() else { return };
                match event {
                    Ok(e) => t.count(&e),
                    Err(RecvError::Lagged(n)) => t.counts().missed += n,
                    Err(RecvError::Closed) => return,
                }
            }
        });
        telemetry
    }

    /// The counts as of now.
    pub fn counts_now(&self) -> Counts {
        self.counts().clone()
    }

    /// When this process started counting.
    pub fn started(&self) -> DateTime<Utc> {
        self.started
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, event: &LiveEvent) {
        let mut c = self.counts();
        match event {
            LiveEvent::PostStored { network, .. } => {
                *c.posts_stored.entry(network.to_string()).or_default() += 1;
            }
            LiveEvent::ConversationChanged { action, .. } => {
                *c.conversation_events.entry(action.clone()).or_default() += 1;
            }
            LiveEvent::SpikeStarted { .. } => c.spikes_started += 1,
            LiveEvent::Replying { .. } => {}
        }
    }
}
