//! Wires the configured network connectors into the pipeline: one function builds each
//! source and responder from config, used at start-up; sources deliver through a
//! [`PipelineSink`] that commits posts before their cursor.

use crate::config::Settings;
use crate::pipeline::Pipeline;
use crate::responder::Responders;
use earshot_connect::appstore::{AppStoreResponder, AppStoreSource};
use earshot_connect::bluesky::{BlueskyResponder, BlueskySource};
use earshot_connect::discord::{DiscordResponder, DiscordSource};
use earshot_connect::googleplay::{GooglePlayResponder, GooglePlaySource};
use earshot_connect::mastodon::{MastodonConfig, MastodonResponder, MastodonSource, Secret};
use earshot_connect::reddit::{RedditResponder, RedditSource};
use earshot_connect::rss::FeedSource;
use earshot_connect::source::CheckError;
use earshot_connect::telegram::{TelegramResponder, TelegramSource};
use earshot_connect::x::{UserTokens, XConfig, XResponder, XSource};
use earshot_connect::youtube::{YouTubeConfig, YouTubeResponder, YouTubeSource};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// One set of X user tokens per account, shared by its source and its responder: X's refresh
/// tokens are single-use, so two copies would revoke each other at the first refresh.
fn x_tokens(config: &XConfig) -> anyhow::Result<Option<UserTokens>> {
    static SHARED: OnceLock<Mutex<HashMap<String, Option<UserTokens>>>> = OnceLock::new();
    let mut shared = SHARED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(tokens) = shared.get(&config.source_name()) {
        return Ok(tokens.clone());
    }
    let tokens = UserTokens::from_config(config)?;
    shared.insert(config.source_name(), tokens.clone());
    Ok(tokens)
}
use earshot_connect::source::{Health, HealthReport, Hearing, Sink, Source};
use earshot_core::Network;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use crate::sink::PipelineSink;

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
            if let Some(transport) = &m.transport {
                c.transport = transport.parse().map_err(anyhow::Error::msg)?;
            }
            if let Some(history) = m.history {
                c.history = history;
            }
            Ok(c)
        })
        .collect()
}

/// A YouTube channel's config, its project's daily units kept in the data directory so that
/// a restart the same Pacific day goes on from what was spent.
fn youtube_config(
    settings: &Settings,
    y: &crate::review_settings::YouTubeSettings,
) -> anyhow::Result<YouTubeConfig> {
    let mut config = y.config()?;
    config.keep_quota_in(&settings.data_dir);
    Ok(config)
}

/// The responders for the configured networks (none for the rest: replies there are
/// `not_sent`). The first configured account of a network answers on it.
pub fn responders(settings: &Settings) -> anyhow::Result<Responders> {
    let mut responders = Responders::default();
    let c = &settings.connectors;
    if let Some(config) = mastodon_configs(settings)?.into_iter().next() {
        responders = responders.with(Network::Mastodon, Arc::new(MastodonResponder::new(config)?));
    }
    if let Some(b) = c.bluesky.first() {
        responders = responders.with(
            Network::Bluesky,
            Arc::new(BlueskyResponder::new(b.config()?)?),
        );
    }
    if let Some(x) = c.x.first() {
        let config = x.config()?;
        let tokens = x_tokens(&config)?;
        responders = responders.with(
            Network::X,
            Arc::new(XResponder::with_tokens(config, tokens)?),
        );
    }
    if let Some(r) = c.reddit.first() {
        responders = responders.with(
            Network::Reddit,
            Arc::new(RedditResponder::new(r.config()?)?),
        );
    }
    if let Some(t) = c.telegram.first() {
        // The Bot API has no idempotency key: the responder journals its reply keys so a
        // restart neither reposts a sent reply nor guesses about one a crash cut short.
        let journal = settings.data_dir.join("telegram-replies.jsonl");
        let responder = TelegramResponder::new(t.config()?)?
            .with_journal(&journal)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the Telegram reply journal {}: {e}",
                    journal.display()
                )
            })?;
        responders = responders.with(Network::Telegram, Arc::new(responder));
    }
    if let Some(d) = c.discord.first() {
        // Discord's nonce stops a double for minutes only: the journal covers restarts.
        let journal = settings.data_dir.join("discord-replies.jsonl");
        let responder = DiscordResponder::new(d.config()?)?
            .with_journal(&journal)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the Discord reply journal {}: {e}",
                    journal.display()
                )
            })?;
        responders = responders.with(Network::Discord, Arc::new(responder));
    }
    if let Some(a) = c.appstore.first() {
        // A review has one response: the responder reads it before setting it, so a
        // repeated reply finds itself in place and is not sent again.
        let responder = AppStoreResponder::new(a.config()?).map_err(|e| anyhow::anyhow!(e))?;
        responders = responders.with(Network::AppStore, Arc::new(responder));
    }
    if let Some(g) = c.googleplay.first() {
        // A review has one reply, which a new one overwrites: a retry cannot double it.
        let responder = GooglePlayResponder::new(g.config()?).map_err(|e| anyhow::anyhow!(e))?;
        responders = responders.with(Network::GooglePlay, Arc::new(responder));
    }
    if let Some(y) = c.youtube.first() {
        // No idempotency key on YouTube: the responder looks under the thread before posting.
        let responder =
            YouTubeResponder::new(youtube_config(settings, y)?).map_err(|e| anyhow::anyhow!(e))?;
        responders = responders.with(Network::YouTube, Arc::new(responder));
    }
    // Posts from a webhook source are answered by handing the reply back to that system.
    let w = &settings.webhook;
    if !w.reply_url.trim().is_empty() {
        let responder = earshot_connect::webhook::responder::WebhookResponder::new(
            &w.reply_url,
            &Secret::new(w.reply_secret()?.expose()),
        )?;
        responders = responders.with(Network::Webhook, Arc::new(responder));
    }
    Ok(responders)
}

/// One configured connector's credentials, tried: who we are, or what is wrong.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CredentialReport {
    pub connector: String,
    pub ok: bool,
    pub detail: String,
}

/// Checks each configured account of one network: `$config` makes the network's config of
/// account `$a`, whose `source_name` names the report.
macro_rules! check_each {
    ($push:ident, $network:ident, for $a:ident in $accounts:expr => $config:expr) => {
        for $a in $accounts {
            let config = $config;
            $push(
                config.source_name(),
                earshot_connect::$network::check_credentials(&config).await,
            );
        }
    };
}

/// Tries each configured credential against its network (`earshot connectors check`).
pub async fn check_credentials(settings: &Settings) -> anyhow::Result<Vec<CredentialReport>> {
    let c = &settings.connectors;
    let mut out = Vec::new();
    let mut push = |connector: String, result: Result<String, CheckError>| {
        out.push(match result {
            Ok(who) => CredentialReport {
                connector,
                ok: true,
                detail: who,
            },
            Err(e) => CredentialReport {
                connector,
                ok: false,
                detail: e.to_string(),
            },
        });
    };
    check_each!(push, mastodon, for m in mastodon_configs(settings)? => m);
    for b in &c.bluesky {
        let config = b.config()?;
        push(
            format!("bluesky:{}", b.handle),
            earshot_connect::bluesky::check_credentials(&config).await,
        );
    }
    check_each!(push, x, for a in &c.x => a.config()?);
    check_each!(push, reddit, for a in &c.reddit => a.config()?);
    check_each!(push, telegram, for a in &c.telegram => a.config()?);
    check_each!(push, discord, for a in &c.discord => a.config()?);
    check_each!(push, appstore, for a in &c.appstore => a.config()?);
    check_each!(push, googleplay, for a in &c.googleplay => a.config()?);
    check_each!(push, youtube, for a in &c.youtube => youtube_config(settings, a)?);
    for f in &c.rss {
        push(
            format!("rss:{}", f.name),
            Ok(format!("{} feeds (no credentials)", f.feeds.len())),
        );
    }
    Ok(out)
}

/// The configured sources, not yet running, each with its health.
pub struct Connectors {
    sources: Vec<(Arc<dyn Source>, Health)>,
}

impl Connectors {
    pub fn build(settings: &Settings) -> anyhow::Result<Connectors> {
        let mut sources: Vec<(Arc<dyn Source>, Health)> = vec![];
        for config in mastodon_configs(settings)? {
            for hashtag in config.hashtag_sources()? {
                let health = Health::new(hashtag.name());
                sources.push((Arc::new(hashtag), health));
            }
            let health = Health::new(config.source_name());
            sources.push((Arc::new(MastodonSource::new(config)?), health));
        }
        let c = &settings.connectors;
        let mut add = |source: Arc<dyn Source>| {
            let health = Health::new(source.name());
            sources.push((source, health));
        };
        for b in &c.bluesky {
            add(Arc::new(BlueskySource::new(b.config()?)?));
        }
        for x in &c.x {
            let config = x.config()?;
            let tokens = x_tokens(&config)?;
            add(Arc::new(XSource::with_tokens(config, tokens)?));
        }
        for r in &c.reddit {
            add(Arc::new(RedditSource::new(r.config()?)?));
        }
        for t in &c.telegram {
            add(Arc::new(TelegramSource::new(t.config()?)?));
        }
        for d in &c.discord {
            add(Arc::new(DiscordSource::new(d.config()?)?));
        }
        for a in &c.appstore {
            let source = AppStoreSource::new(a.config()?).map_err(|e| anyhow::anyhow!(e))?;
            add(Arc::new(source));
        }
        for g in &c.googleplay {
            let source = GooglePlaySource::new(g.config()?).map_err(|e| anyhow::anyhow!(e))?;
            add(Arc::new(source));
        }
        for y in &c.youtube {
            let source =
                YouTubeSource::new(youtube_config(settings, y)?).map_err(|e| anyhow::anyhow!(e))?;
            add(Arc::new(source));
        }
        for f in &c.rss {
            add(Arc::new(FeedSource::new(f.config()?)?));
        }
        Ok(Connectors { sources })
    }

    pub fn health(&self) -> Vec<Health> {
        self.sources.iter().map(|(_, h)| h.clone()).collect()
    }

    /// Starts every source (see [`Connectors::start_into`]) delivering to the pipeline.
    pub fn start(
        self,
        pipeline: Arc<Pipeline>,
        stop: watch::Receiver<bool>,
        leases: &crate::lease::Leases,
    ) {
        self.start_into(Arc::new(PipelineSink::new(pipeline)), stop, leases)
    }

    /// Starts every source delivering into `sink` (in cluster mode the bus's), each only
    /// while this process holds its lease (`connector:<name>`): a source stops when its lease
    /// is lost and starts again from its stored cursor when the lease comes back. All stop
    /// when `stop` turns true.
    pub fn start_into(
        self,
        sink: Arc<dyn Sink>,
        stop: watch::Receiver<bool>,
        leases: &crate::lease::Leases,
    ) {
        for (source, health) in self.sources {
            let lease = leases.role(&format!("connector:{}", source.name()));
            tokio::spawn(run_under_lease(
                source,
                sink.clone(),
                health,
                lease,
                stop.clone(),
            ));
        }
    }
}

/// Runs `source` each time this process holds `lease`, until `stop` or an error retrying
/// cannot fix.
async fn run_under_lease(
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    health: Health,
    mut lease: crate::lease::Lease,
    mut stop: watch::Receiver<bool>,
) {
    let name = source.name().to_string();
    loop {
        tokio::select! {
            _ = lease.until_held() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (stop_run, run_stopped) = watch::channel(false);
        let run = source.run(Hearing {
            sink: sink.clone(),
            health: health.clone(),
            stop: run_stopped,
        });
        tokio::pin!(run);
        let mut lost = lease.clone();
        let outcome = tokio::select! {
            r = &mut run => Some(r),
            _ = lost.until_lost() => None,
            _ = stop.wait_for(|s| *s) => None,
        };
        let outcome = match outcome {
            Some(r) => r,
            None => {
                // Lease lost or shutting down: the source ends cleanly (its cursor is stored).
                let _ = stop_run.send(true);
                run.await
            }
        };
        match outcome {
            Ok(()) => health.stopped(),
            Err(e) => {
                tracing::error!(source = %name, error = %e, "connector stopped: fix its settings and restart");
                return;
            }
        }
        if *stop.borrow() {
            return;
        }
        if lease.is_held() {
            // Ended by itself while still ours: wait a moment rather than spin.
            tokio::time::sleep(crate::lease::KEEP_EVERY).await;
        } else {
            tracing::info!(source = %name, "connector paused: another process holds its lease");
        }
    }
}

/// Health of every connector, for `GET /api/v1/connectors`.
pub fn reports(health: &[Health]) -> Vec<HealthReport> {
    health.iter().map(Health::report).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use chrono::Utc;
    use earshot_connect::source::{Amendment, SinkError};
    use earshot_core::{Author, NewPost};

    fn post(id: &str, at: chrono::DateTime<Utc>) -> NewPost {
        NewPost::new(
            Network::Mastodon,
            id,
            Author::new(format!("a{id}"), format!("user{id}@example.social")),
            format!("@acme post {id}"),
            at,
        )
    }

    /// Stands in for a network stream: counts its runs and the runs that ended.
    #[derive(Default)]
    struct Listening {
        runs: std::sync::atomic::AtomicUsize,
        ended: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl Source for Listening {
        async fn run(
            &self,
            Hearing { mut stop, .. }: Hearing,
        ) -> Result<(), earshot_connect::source::SourceError> {
            use std::sync::atomic::Ordering::SeqCst;
            self.runs.fetch_add(1, SeqCst);
            let _ = stop.wait_for(|s| *s).await;
            self.ended.fetch_add(1, SeqCst);
            Ok(())
        }
        fn name(&self) -> &str {
            "test:listening"
        }
    }

    struct Nowhere;

    #[async_trait]
    impl Sink for Nowhere {
        async fn deliver(
            &self,
            _: &str,
            _: Vec<NewPost>,
            _: Option<String>,
        ) -> Result<(), SinkError> {
            Ok(())
        }
        async fn amend(
            &self,
            _: &str,
            _: Vec<Amendment>,
            _: Option<String>,
        ) -> Result<(), SinkError> {
            Ok(())
        }
        async fn cursor(&self, _: &str) -> Result<Option<String>, SinkError> {
            Ok(None)
        }
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(std::time::Instant::now() < deadline, "{what} within 5 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_stream_runs_only_while_its_lease_is_held() {
        use std::sync::atomic::Ordering::SeqCst;
        let leases = crate::lease::Leases::in_process();
        let source = Arc::new(Listening::default());
        let lease = leases.role("connector:test:listening");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run_under_lease(
            source.clone(),
            Arc::new(Nowhere),
            Health::new("test:listening"),
            lease,
            stopped,
        ));
        until("the stream starts", || source.runs.load(SeqCst) == 1).await;
        // The lease is lost: the stream is told to stop and is not started again.
        leases.release_all().await;
        until("the stream stops", || source.ended.load(SeqCst) == 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            source.runs.load(SeqCst),
            1,
            "not restarted without the lease"
        );
        let _ = stop.send(true);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap_or_else(|_| panic!("the task ends on stop"))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every connector delivers through the sink: a post dated 9999 must neither fail the
    /// delivery (the source would retry the same batch forever) nor be stored.
    #[tokio::test]
    async fn a_connector_batch_with_an_odd_date_is_delivered_without_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        let desk = crate::app::desk(&settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let sink = PipelineSink::new(desk.pipeline().clone());
        let far = chrono::DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&Utc);
        let batch = vec![post("1", Utc::now()), post("2", far), post("3", Utc::now())];
        sink.deliver("mastodon:acme", batch, Some("cursor-3".into()))
            .await
            .unwrap_or_else(|e| panic!("delivery failed: {e}"));
        let store = desk.store();
        assert_eq!(
            sink.cursor("mastodon:acme").await.ok().flatten().as_deref(),
            Some("cursor-3")
        );
        let counts = store.counts().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(counts.posts, 2);
        assert_eq!(counts.conversations, 2);
    }
}
