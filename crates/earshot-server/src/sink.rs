//! Where a connector's heard posts go: one sink, whether the posts go straight into this
//! process's pipeline or (cluster mode) onto the bus first. A source's cursor moves only
//! after what it covers is committed (or acknowledged by JetStream), so a crash in between
//! replays (harmlessly; the bus drops repeats by message id) instead of losing posts. Edits
//! and deletions are applied directly either way: they change stored posts, and in cluster
//! mode the live events reach the other processes over the bus.

use crate::pipeline::Pipeline;
use async_trait::async_trait;
use earshot_connect::source::{Amendment, Sink, SinkError};
use earshot_core::NewPost;
use std::sync::Arc;

/// Takes heard posts on for the pipelines of every process (the bus, in cluster mode).
#[async_trait]
pub trait Publish: Send + Sync {
    /// The posts are taken on (acknowledged), or why not: the connector retries.
    async fn publish(&self, posts: &[NewPost]) -> Result<(), String>;
}

/// Delivers what a source heard, into the pipeline or through a [`Publish`].
pub struct PipelineSink {
    pipeline: Arc<Pipeline>,
    bus: Option<Arc<dyn Publish>>,
}

impl PipelineSink {
    /// Posts are analysed, threaded and committed here before the cursor moves.
    pub fn new(pipeline: Arc<Pipeline>) -> Self {
        PipelineSink {
            pipeline,
            bus: None,
        }
    }

    /// Cluster mode: posts are published on `bus` (whichever process's worker takes them
    /// ingests them) before the cursor moves.
    pub fn through(bus: Arc<dyn Publish>, pipeline: Arc<Pipeline>) -> Self {
        PipelineSink {
            pipeline,
            bus: Some(bus),
        }
    }
}

#[async_trait]
impl Sink for PipelineSink {
    async fn deliver(
        &self,
        source: &str,
        posts: Vec<NewPost>,
        cursor: Option<String>,
    ) -> Result<(), SinkError> {
        match &self.bus {
            Some(bus) => bus.publish(&posts).await.map_err(SinkError)?,
            None => {
                self.pipeline.ingest(posts).await.map_err(failed)?;
            }
        }
        self.store_cursor(source, cursor).await
    }

    async fn amend(
        &self,
        source: &str,
        amendments: Vec<Amendment>,
        cursor: Option<String>,
    ) -> Result<(), SinkError> {
        self.pipeline.amend(amendments).await.map_err(failed)?;
        self.store_cursor(source, cursor).await
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, SinkError> {
        self.pipeline.store().cursor(source).await.map_err(failed)
    }
}

impl PipelineSink {
    /// Stores how far `source` has heard (nothing when it gave no cursor).
    async fn store_cursor(&self, source: &str, cursor: Option<String>) -> Result<(), SinkError> {
        if let Some(cursor) = cursor {
            self.pipeline
                .store()
                .set_cursor(source, &cursor)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }
}

/// A failure as the connector reports it (and retries).
fn failed(e: impl std::fmt::Display) -> SinkError {
    SinkError(e.to_string())
}
