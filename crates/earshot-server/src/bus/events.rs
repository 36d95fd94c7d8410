//! Committed events between the processes: each process relays its own live events to
//! `<subjects>.live` and shows the other processes' events to its own live subscribers.
//!
//! Core NATS (not JetStream) carries them: a live event only tells an open page to refresh a
//! row, and a page that missed one (a process restarting, the bus away) refetches the inbox,
//! as it does after a lagging connection. Every process hears its own events back too and
//! skips them by their origin: it already showed them locally, so nothing shows twice.

use super::Bus;
use crate::pipeline::{LiveEvent, Pipeline};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Live events waiting to be published before new ones are dropped (see
/// [`Pipeline::publish`]).
const RELAY_BUFFER: usize = 4096;

/// A live event as it travels: which process committed it, and the event.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: LiveEvent,
}

impl Bus {
    /// Relays `pipeline`'s live events to the other processes and feeds theirs to it, until
    /// `stop` turns true. Fails when the pipeline already relays elsewhere or the bus refuses
    /// the subscription.
    pub async fn start_fan_out(
        self: &Arc<Self>,
        pipeline: Arc<Pipeline>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
        // Subscribed before relaying starts, so no event committed from now on is missed.
        let subscriber = self.client.subscribe(self.names.live()).await?;
        self.client.flush().await?;
        let (relay, outgoing) = mpsc::channel(RELAY_BUFFER);
        if !pipeline.relay_live_events(relay) {
            anyhow::bail!("this pipeline already relays its live events to a bus");
        }
        Ok(vec![
            tokio::spawn(self.clone().send_events(outgoing, stop.clone())),
            tokio::spawn(self.clone().receive_events(subscriber, pipeline, stop)),
        ])
    }

    async fn send_events(
        self: Arc<Self>,
        mut outgoing: mpsc::Receiver<LiveEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let subject = self.names.live();
        loop {
            let event = tokio::select! {
                _ = stop.changed() => break,
                event = outgoing.recv() => match event {
                    Some(e) => e,
                    None => break,
                },
            };
            let envelope = Envelope {
                origin: self.origin.clone(),
                event,
            };
            let payload = match serde_json::to_vec(&envelope) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot encode a live event for the bus");
                    continue;
                }
            };
            if let Err(e) = self.client.publish(subject.clone(), payload.into()).await {
                // The other processes' pages miss this one and refetch later.
                tracing::warn!(error = %e, "cannot send a live event to the other processes");
            }
        }
    }

    async fn receive_events(
        self: Arc<Self>,
        mut subscriber: async_nats::Subscriber,
        pipeline: Arc<Pipeline>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let message = tokio::select! {
                _ = stop.changed() => break,
                message = subscriber.next() => match message {
                    Some(m) => m,
                    None => break,
                },
            };
            match serde_json::from_slice::<Envelope>(&message.payload) {
                Ok(envelope) if envelope.origin == self.origin => {}
                Ok(envelope) => pipeline.publish_from_elsewhere(envelope.event),
                // A newer process's event this one cannot read: its pages refetch later.
                Err(e) => {
                    tracing::debug!(error = %e, "skipping a live event this build cannot read")
                }
            }
        }
        let _ = subscriber.unsubscribe().await;
    }
}
