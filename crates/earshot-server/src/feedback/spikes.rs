//! Spikes of new demand: every new customer post is counted by the analyzer's
//! [`SpikeDetector`]; a burst that starts raises an alert with a suggested bulk reply and is
//! listed (with its volume chart) for the inbox until it ends.

use earshot_analyze::spikes::{suggest_bulk_reply, Spike, SpikeConfig, SpikeDetector, SpikeEvent};
use serde::Serialize;
use std::collections::VecDeque;

/// Spikes kept for the inbox after they end.
const REMEMBERED: usize = 50;

/// A spike as the inbox shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SpikeView {
    pub active: bool,
    #[serde(flatten)]
    pub spike: Spike,
    /// A reply an agent can adapt and send to everyone in it.
    pub suggested_reply: String,
}

/// One customer post, as the detector counts it.
#[derive(Debug, Clone)]
pub struct Observed {
    pub post_id: i64,
    pub author: String,
    pub text: String,
    pub language: String,
    pub request: Option<i64>,
    pub at: chrono::DateTime<chrono::Utc>,
}

pub(crate) struct Spikes {
    detector: SpikeDetector,
    recent: VecDeque<SpikeView>,
}

impl Spikes {
    pub(crate) fn new(config: SpikeConfig) -> Self {
        Spikes {
            detector: SpikeDetector::new(config),
            recent: VecDeque::new(),
        }
    }

    /// Counts the posts; returns the spikes that started.
    pub(crate) fn observe(&mut self, posts: &[Observed]) -> Vec<SpikeView> {
        let mut started = Vec::new();
        for p in posts {
            let request = p.request.and_then(|r| u64::try_from(r).ok());
            for event in self.detector.observe(
                p.post_id,
                &p.author,
                &p.text,
                Some(&p.language),
                request,
                p.at,
            ) {
                if let Some(view) = self.record(event) {
                    started.push(view);
                }
            }
        }
        started
    }

    /// Lets spikes end when the posts stop (called from housekeeping).
    pub(crate) fn tick(&mut self, now: chrono::DateTime<chrono::Utc>) {
        for event in self.detector.tick(now) {
            self.record(event);
        }
    }

    fn record(&mut self, event: SpikeEvent) -> Option<SpikeView> {
        let (spike, active, started) = match event {
            SpikeEvent::Started(s) => (s, true, true),
            SpikeEvent::Growing(s) => (s, true, false),
            SpikeEvent::Ended(s) => (s, false, false),
        };
        let view = SpikeView {
            active,
            suggested_reply: suggest_bulk_reply(&spike),
            spike,
        };
        self.recent.retain(|v| v.spike.id != view.spike.id);
        self.recent.push_front(view.clone());
        self.recent.truncate(REMEMBERED);
        started.then_some(view)
    }

    /// The active spike a post with this text belongs to, if any (for the queue jump).
    pub(crate) fn spike_of(&mut self, text: &str, language: Option<&str>) -> Option<SpikeView> {
        let spike = self.detector.spike_of(text, language)?;
        Some(SpikeView {
            active: true,
            suggested_reply: suggest_bulk_reply(&spike),
            spike,
        })
    }

    /// Active spikes first, then the recently ended, newest first.
    pub(crate) fn list(&self) -> Vec<SpikeView> {
        let mut out: Vec<SpikeView> = self.recent.iter().cloned().collect();
        out.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then(b.spike.detected_at.cmp(&a.spike.detected_at))
        });
        out
    }
}
