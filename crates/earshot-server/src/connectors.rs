//! Wires the configured network connectors into the pipeline: one function builds each
//! source and responder from config, used at start-up; sources deliver through a
//! [`PipelineSink`] that commits posts before their cursor.

use crate::config::Settings;
use crate::pipeline::Pipeline;
use crate::responder::Responders;
use async_trait::async_trait;
use earshot_connect::mastodon::{MastodonConfig, MastodonResponder, MastodonSource, Secret};
use earshot_connect::source::{Amendment, Health, HealthReport, Sink, SinkError, Source};
use earshot_core::{Network, NewPost};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Delivers what a source heard: posts are analysed, threaded and committed first, then the
/// cursor is stored, so a crash in between replays (harmlessly) instead of losing posts.
pub struct PipelineSink {
    pipeline: Arc<Pipeline>,
}

#[async_trait]
impl Sink for PipelineSink {
    async fn deliver(
        &self,
        source: &str,
        posts: Vec<NewPost>,
        cursor: Option<String>,
    ) -> Result<(), SinkError> {
        self.pipeline
            .ingest(posts)
            .await
            .map_err(|e| SinkError(e.to_string()))?;
        if let Some(cursor) = cursor {
            self.pipeline
                .store()
                .set_cursor(source, &cursor)
                .await
                .map_err(|e| SinkError(e.to_string()))?;
        }
        Ok(())
    }

    async fn amend(
        &self,
        source: &str,
        amendments: Vec<Amendment>,
        cursor: Option<String>,
    ) -> Result<(), SinkError> {
        self.pipeline
            .amend(amendments)
            .await
            .map_err(|e| SinkError(e.to_string()))?;
        if let Some(cursor) = cursor {
            self.pipeline
                .store()
                .set_cursor(source, &cursor)
                .await
                .map_err(|e| SinkError(e.to_string()))?;
        }
        Ok(())
    }

    async fn cursor(&self, source: &str) -> Result<Option<String>, SinkError> {
        self.pipeline
            .store()
            .cursor(source)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }
}

fn mastodon_configs(settings: &Settings) -> anyhow::Result<Vec<MastodonConfig>> {
    settings
        .connectors
        .mastodon
        .iter()
        .map(|m| {
            let token = m.token()?;
            let mut c =
                MastodonConfig::new(m.base_url.clone(), Secret::new(token), m.brand_acct.clone());
            c.poll_interval = Duration::from_secs(m.poll_interval_seconds.max(1));
            c.stall_timeout = Duration::from_secs(m.stall_timeout_seconds.max(1));
            c.hashtags = m.hashtags.clone();
            Ok(c)
        })
        .collect()
}

/// The responders for the configured networks (the logging one for the rest).
pub fn responders(settings: &Settings) -> anyhow::Result<Responders> {
    let mut responders = Responders::default();
    if let Some(config) = mastodon_configs(settings)?.into_iter().next() {
        responders = responders.with(Network::Mastodon, Arc::new(MastodonResponder::new(config)?));
    }
    Ok(responders)
}

/// The configured sources, not yet running, each with its health.
pub struct Connectors {
    sources: Vec<(Arc<dyn Source>, Health)>,
}

impl Connectors {
    pub fn build(settings: &Settings) -> anyhow::Result<Connectors> {
        let mut sources: Vec<(Arc<dyn Source>, Health)> = vec![];
        for config in mastodon_configs(settings)? {
            let health = Health::new(config.source_name());
            sources.push((Arc::new(MastodonSource::new(config)?), health));
        }
        Ok(Connectors { sources })
    }

    pub fn health(&self) -> Vec<Health> {
        self.sources.iter().map(|(_, h)| h.clone()).collect()
    }

    /// Starts every source; they stop when `stop` turns true.
    pub fn start(self, pipeline: Arc<Pipeline>, stop: watch::Receiver<bool>) {
        let sink: Arc<dyn Sink> = Arc::new(PipelineSink { pipeline });
        for (source, health) in self.sources {
            let (sink, stop) = (sink.clone(), stop.clone());
            tokio::spawn(async move {
                let name = source.name().to_string();
                match source.run(sink, health.clone(), stop).await {
                    Ok(()) => health.stopped(),
                    Err(e) => {
                        tracing::error!(source = %name, error = %e, "connector stopped: fix its settings and restart")
                    }
                }
            });
        }
    }
}

/// Health of every connector, for `GET /api/v1/connectors`.
pub fn reports(health: &[Health]) -> Vec<HealthReport> {
    health.iter().map(Health::report).collect()
}
