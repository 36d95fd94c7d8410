//! The cluster bus: NATS JetStream between several `earshot serve` processes on one
//! PostgreSQL store (cluster mode, see [`crate::cluster`]).
//!
//! - **Heard posts** ([`heard`]): the signed intake and the connectors publish each post to the
//!   stream (`<subjects>.heard.<network>`) and answer only once JetStream acknowledged it;
//!   every process's ingest workers share one durable pull consumer, commit each batch through
//!   [`Pipeline::ingest`](crate::pipeline::Pipeline::ingest), then acknowledge (double-ack). A
//!   redelivery is harmless: ingest is idempotent. A post that fails `max_deliveries` times is
//!   moved to `<subjects>.dead.heard` (kept in the stream, counted in [`BusHealth`]), where
//!   [`dead`] lists and replays them (`earshot bus dead-letters`).
//! - **Committed events** ([`events`]): each process publishes its live events on
//!   `<subjects>.live` (core NATS: they are ephemeral, a page that misses one refetches) and
//!   feeds the other processes' events to its own live subscribers.

pub mod dead;
pub mod events;
pub mod heard;

use crate::cluster::BusSettings;
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer, stream};
use futures::TryStreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long JetStream remembers a message id to drop a second publish of it.
const DEDUP_WINDOW: Duration = Duration::from_secs(120);
/// How long connecting may take before `serve` gives up with a hint.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The subjects and names one deployment uses, derived from `[bus]`.
#[derive(Debug, Clone)]
pub struct Names {
    pub stream: String,
    pub consumer: String,
    /// The subject prefix (`[bus] subjects`).
    pub prefix: String,
}

impl Names {
    fn of(settings: &BusSettings) -> Names {
        Names {
            stream: settings.stream.clone(),
            consumer: settings.consumer.clone(),
            prefix: settings.subjects.clone(),
        }
    }

    /// Where a heard post of `network` is published.
    pub fn heard(&self, network: earshot_core::Network) -> String {
        format!("{}.heard.{}", self.prefix, network.as_str())
    }

    /// Every heard post (the ingest consumer's filter).
    pub fn all_heard(&self) -> String {
        format!("{}.heard.>", self.prefix)
    }

    /// Where heard posts that failed `max_deliveries` times are kept.
    pub fn dead_letters(&self) -> String {
        format!("{}.dead.heard", self.prefix)
    }

    /// Where committed live events travel between the processes.
    pub fn live(&self) -> String {
        format!("{}.live", self.prefix)
    }
}

/// One process's connection to the bus.
pub struct Bus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    names: Names,
    max_deliveries: u32,
    ack_wait: Duration,
    /// This process among the others: its own live events come back to it and are skipped.
    origin: String,
    /// Heard posts this process moved to the dead-letter subject since it started.
    dead_lettered: AtomicU64,
}

/// What health shows of the bus.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BusHealth {
    pub connected: bool,
    /// Heard posts not yet delivered to any worker.
    pub pending: u64,
    /// Delivered to a worker, not yet acknowledged.
    pub in_flight: u64,
    /// Heard posts waiting in the dead-letter subject (all processes, kept until removed).
    pub dead_letters: u64,
    /// Of those, moved there by this process since it started.
    pub dead_lettered_here: u64,
}

impl Bus {
    /// Connects to `[bus] url` and makes sure the stream and the shared ingest consumer exist
    /// (creating them on the first start; an existing stream is used as it is).
    pub async fn connect(settings: &BusSettings) -> anyhow::Result<Bus> {
        settings.check()?;
        let shown = crate::settings::redact_url(&settings.url);
        let origin = uuid::Uuid::new_v4().simple().to_string();
        let client = async_nats::ConnectOptions::new()
            .name(format!("earshot-{origin}"))
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(settings.url.trim())
            .await
            .with_context(|| {
                format!(
                    "cannot reach the bus at {shown}: start NATS with JetStream (nats-server -js) \
                     or fix [bus] url"
                )
            })?;
        let jetstream = jetstream::new(client.clone());
        let bus = Bus {
            client,
            jetstream,
            names: Names::of(settings),
            max_deliveries: settings.max_deliveries,
            ack_wait: Duration::from_secs(settings.ack_wait_seconds),
            origin,
            dead_lettered: AtomicU64::new(0),
        };
        bus.ensure_stream()
            .await
            .with_context(|| format!("the bus at {shown} has no usable JetStream"))?;
        Ok(bus)
    }

    async fn ensure_stream(&self) -> anyhow::Result<()> {
        let names = &self.names;
        let stream = self
            .jetstream
            .get_or_create_stream(stream::Config {
                name: names.stream.clone(),
                subjects: vec![names.all_heard(), names.dead_letters()],
                // An acknowledged post leaves the stream; dead letters stay until removed.
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DEDUP_WINDOW,
                ..Default::default()
            })
            .await
            .with_context(|| format!("cannot create or open the stream {}", names.stream))?;
        let config = consumer::pull::Config {
            durable_name: Some(names.consumer.clone()),
            filter_subject: names.all_heard(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // The workers count deliveries themselves and move a post that keeps
            // failing to the dead letters: the server must not give up on it first.
            max_deliver: -1,
            ..Default::default()
        };
        let existing: consumer::PullConsumer = stream
            .get_or_create_consumer(&names.consumer, config.clone())
            .await
            .with_context(|| format!("cannot create or open the consumer {}", names.consumer))?;
        // A consumer made by an earlier start keeps the settings it was made with: a changed
        // `[bus] ack_wait_seconds` (or an older earshot's defaults) must reach it, or posts
        // held by a slow worker come back on the old schedule.
        let was = existing.cached_info().config.clone();
        if was.ack_wait != config.ack_wait || was.max_deliver != config.max_deliver {
            stream
                .update_consumer(config)
                .await
                .with_context(|| format!("cannot update the consumer {}", names.consumer))?;
            tracing::info!(
                consumer = %names.consumer,
                ack_wait_was = ?was.ack_wait,
                ack_wait = ?self.ack_wait,
                "bus consumer settings updated"
            );
        }
        Ok(())
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// The shared ingest consumer (health, and tests that play a worker by hand).
    pub async fn consumer(&self) -> anyhow::Result<consumer::PullConsumer> {
        let stream = self.jetstream.get_stream(&self.names.stream).await?;
        stream
            .get_consumer(&self.names.consumer)
            .await
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// The stream's and the consumer's state as health shows it.
    pub async fn health(&self) -> anyhow::Result<BusHealth> {
        let consumer = self.consumer().await?;
        let info = consumer.get_info().await?;
        Ok(BusHealth {
            connected: self.connected(),
            pending: info.num_pending,
            in_flight: info.num_ack_pending as u64,
            dead_letters: self.dead_letters().await?,
            dead_lettered_here: self.dead_lettered.load(Ordering::Relaxed),
        })
    }

    /// Heard posts waiting in the dead-letter subject.
    pub async fn dead_letters(&self) -> anyhow::Result<u64> {
        let stream = self.jetstream.get_stream(&self.names.stream).await?;
        let subjects: Vec<(String, usize)> = stream
            .info_with_subjects(self.names.dead_letters())
            .await?
            .try_collect()
            .await?;
        Ok(subjects.iter().map(|(_, n)| *n as u64).sum())
    }
}
