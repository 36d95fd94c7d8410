//! How long a post takes from a network to the inbox (issue 3: p99 ≤ 250 ms while the network
//! sends 1,000 posts/s), measured end to end through the real [`App`].
//!
//! A local fake (Bluesky Jetstream over WebSocket, or Mastodon's SSE stream) posts at a fixed
//! rate; the real app, over a temporary SQLite store, hears it through its configured
//! connector. Each post's latency runs from the moment the fake wrote it to the moment the
//! pipeline announced it committed ([`earshot_server::pipeline::LiveEvent::PostStored`], sent right
//! after the store's transaction). Lost and doubled posts are counted from the store itself.
//!
//! The baseline, measured in the same run: the same posts, at the same rate, ingested straight
//! through [`Pipeline::ingest`](earshot_server::pipeline::Pipeline::ingest) in greedy batches (whatever
//! has arrived while the previous batch was being stored, up to the connector's `batch_size`),
//! without network, parsing or connector: the least latency the pipeline allows at that rate.
//! What the network path adds is the difference.

use earshot_connect::bluesky::fake::{FakeBluesky, PostSpec};
use earshot_connect::bluesky::BlueskyConfig;
use earshot_connect::mastodon::fake::{FakeMastodon, NewMention};
use earshot_core::{Author, ConversationId, Network, NewPost};
use earshot_server::app::App;
use earshot_server::config::{MastodonSettings, Settings};
use earshot_server::network_settings::BlueskySettings;
use earshot_server::pipeline::LiveEvent;
use earshot_store::StoreError;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The networks whose fakes can drive the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyNetwork {
    /// Jetstream over WebSocket; the connector batches (`batch_window`, 100 ms by default).
    Bluesky,
    /// The streaming API's server-sent events, one notification per event.
    Mastodon,
}

impl std::str::FromStr for LatencyNetwork {
    type Err = LatencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bluesky" | "bsky" => Ok(LatencyNetwork::Bluesky),
            "mastodon" => Ok(LatencyNetwork::Mastodon),
            other => Err(LatencyError::Network(other.to_string())),
        }
    }
}

impl fmt::Display for LatencyNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LatencyNetwork::Bluesky => "bluesky",
            LatencyNetwork::Mastodon => "mastodon",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("{0:?} is not a network the latency bench can fake: use bluesky or mastodon")]
    Network(String),
    #[error("rate and seconds must both be above zero")]
    NothingToSend,
    #[error("cannot start the fake {network}: {source}")]
    Fake {
        network: LatencyNetwork,
        source: std::io::Error,
    },
    #[error("cannot prepare the temporary data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot configure the connector: {0}")]
    Settings(String),
    #[error("cannot start earshot: {0}")]
    App(String),
    #[error("the {0} connector did not connect to its fake within 10 s")]
    NotConnected(LatencyNetwork),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Latency percentiles of one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// Nearest-rank percentiles of `latencies`.
    pub fn of(mut latencies: Vec<Duration>) -> Percentiles {
        latencies.sort_unstable();
        let rank = |q: f64| -> Duration {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let i = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[i - 1]
        };
        Percentiles {
            samples: latencies.len(),
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "p50 {:7.1} ms  p95 {:7.1} ms  p99 {:7.1} ms  max {:7.1} ms  ({} posts)",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max),
            self.samples
        )
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyReport {
    pub network: LatencyNetwork,
    /// Posts per second the fake was asked to send, and what it achieved.
    pub rate: u32,
    pub achieved_rate: u32,
    pub seconds: u32,
    pub sent: usize,
    /// Sent posts that never reached the store.
    pub lost: usize,
    /// Posts stored (or announced) more than once.
    pub doubled: usize,
    /// Fake → committed in the store, through the connector and the app.
    pub network_path: Percentiles,
    /// The same posts straight into `Pipeline::ingest`, same rate, greedy batches.
    pub baseline: Percentiles,
    /// Batches the baseline made (for its mean size).
    pub baseline_batches: usize,
}

impl LatencyReport {
    /// Issue 3's target: p99 within 250 ms, nothing lost, nothing doubled.
    pub fn meets_target(&self) -> bool {
        self.network_path.p99 <= Duration::from_millis(250) && self.lost == 0 && self.doubled == 0
    }
}

impl fmt::Display for LatencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fake {} → inbox, {} posts/s asked ({} achieved) for {} s: {} sent, {} lost, {} doubled",
            self.network,
            self.rate,
            self.achieved_rate,
            self.seconds,
            self.sent,
            self.lost,
            self.doubled
        )?;
        writeln!(f, "  network path: {}", self.network_path)?;
        let mean = self.baseline.samples as f64 / self.baseline_batches.max(1) as f64;
        writeln!(
            f,
            "  baseline (Pipeline::ingest, greedy batches of ~{mean:.1}): {}",
            self.baseline
        )?;
        let p99 = |p: &Percentiles| p.p99.as_secs_f64();
        let ratio = if p99(&self.baseline) > 0.0 {
            p99(&self.network_path) / p99(&self.baseline)
        } else {
            0.0
        };
        write!(
            f,
            "  p99 network/baseline: {ratio:.2}x; target p99 ≤ 250 ms with nothing lost or doubled: {}",
            if self.meets_target() { "met" } else { "NOT met" }
        )
    }
}

const BRAND: &str = "acme.bsky.social";
const BRAND_DID: &str = "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe";
const APP_PASSWORD: &str = "bench-app-password";
const MASTODON_TOKEN: &str = "bench-token";
/// Customers cycle through this many accounts (profiles are looked up once, then cached, as
/// with real traffic where the same people write again).
const AUTHORS: usize = 200;
const DRAIN: Duration = Duration::from_secs(10);

/// What customers write: varied enough for the analyzer to do real work.
const TEXTS: [&str; 5] = [
    "my order #{n} arrived broken, can someone help?",
    "the app crashes on start since the update ({n})",
    "please add dark mode to the dashboard, #{n}",
    "thanks, the replacement kettle works great! {n}",
    "still waiting on a refund for order {n}, three weeks now",
];

fn text(n: usize) -> String {
    TEXTS[n % TEXTS.len()].replace("{n}", &n.to_string())
}

fn author_did(i: usize) -> String {
    format!("did:plc:bench{i:020}")
}

/// A temporary data directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Result<TempDir, LatencyError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "earshot-latency-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).map_err(|source| LatencyError::DataDir {
            path: path.clone(),
            source,
        })?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "temporary data left behind");
        }
    }
}

/// The fake that sends, behind one face.
enum Fake {
    Bluesky(FakeBluesky),
    Mastodon(FakeMastodon),
}

impl Fake {
    async fn start(network: LatencyNetwork) -> Result<Fake, LatencyError> {
        let fail = |source| LatencyError::Fake { network, source };
        Ok(match network {
            LatencyNetwork::Bluesky => {
                let fake = FakeBluesky::start(BRAND, BRAND_DID, APP_PASSWORD)
                    .await
                    .map_err(fail)?;
                for i in 0..AUTHORS {
                    fake.add_account(&author_did(i), &format!("customer{i}.bsky.social"), 100);
                }
                Fake::Bluesky(fake)
            }
            LatencyNetwork::Mastodon => {
                Fake::Mastodon(FakeMastodon::start(MASTODON_TOKEN).await.map_err(fail)?)
            }
        })
    }

    fn settings(&self, data_dir: &Path) -> Result<Settings, LatencyError> {
        let mut s = Settings {
            data_dir: data_dir.to_path_buf(),
            listen: "127.0.0.1:0".into(),
            ..Settings::default()
        };
        let invalid = |e: serde_json::Error| LatencyError::Settings(e.to_string());
        match self {
            Fake::Bluesky(fake) => {
                s.brand.handles = vec![BRAND.into()];
                // Built from earshot.toml's own keys, so the bench runs what users configure.
                let bluesky: BlueskySettings = serde_json::from_value(serde_json::json!({
                    "handle": BRAND,
                    "dids": [BRAND_DID],
                    "app_password": APP_PASSWORD,
                    "jetstream_url": fake.jetstream_url(),
                    "pds_url": fake.base_url(),
                    "appview_url": fake.base_url(),
                }))
                .map_err(invalid)?;
                s.connectors.bluesky = vec![bluesky];
            }
            Fake::Mastodon(fake) => {
                s.brand.handles = vec!["acme".into()];
                let mastodon: MastodonSettings = serde_json::from_value(serde_json::json!({
                    "base_url": fake.base_url(),
                    "brand_acct": "acme",
                    "access_token": MASTODON_TOKEN,
                }))
                .map_err(invalid)?;
                s.connectors.mastodon = vec![mastodon];
            }
        }
        Ok(s)
    }

    /// Whether the connector's stream is open on the fake.
    fn connected(&self) -> bool {
        match self {
            Fake::Bluesky(fake) => !fake.subscriptions().is_empty(),
            Fake::Mastodon(fake) => fake.stream_connects() > 0,
        }
    }

    /// Sends post `n` live; its key as the store will know it.
    fn send(&self, n: usize) -> String {
        match self {
            Fake::Bluesky(fake) => {
                let mut spec =
                    PostSpec::new(&author_did(n % AUTHORS), &format!("@{BRAND} {}", text(n)));
                spec.mentions = vec![BRAND_DID.into()];
                fake.post(spec).uri
            }
            Fake::Mastodon(fake) => {
                let acct = format!("customer{}@example.social", n % AUTHORS);
                fake.mention(NewMention::new(&acct, &format!("@acme {}", text(n))))
                    .status_id
            }
        }
    }
}

/// One announced commit.
struct Stored {
    post_id: i64,
    conversation: Option<ConversationId>,
    at: Instant,
}

/// Records every `PostStored` until told to stop; returns them and how many were missed.
fn record(mut events: broadcast::Receiver<LiveEvent>) -> (oneshot::Sender<()>, RecordTask) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let seen = Arc::new(Mutex::new(0usize));
    let counter = seen.clone();
    let task = tokio::spawn(async move {
        let mut stored = Vec::new();
        let mut missed = 0u64;
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                event = events.recv() => match event {
                    Ok(LiveEvent::PostStored { post_id, conversation_id, .. }) => {
                        stored.push(Stored { post_id, conversation: conversation_id, at: Instant::now() });
                        *counter.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => missed += n,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        (stored, missed)
    });
    (stop, RecordTask { task, seen })
}

struct RecordTask {
    task: tokio::task::JoinHandle<(Vec<Stored>, u64)>,
    seen: Arc<Mutex<usize>>,
}

impl RecordTask {
    fn seen(&self) -> usize {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sends `total` posts at `rate` per second, each stamped as it is written.
async fn send_at_rate(
    total: usize,
    rate: u32,
    mut send: impl FnMut(usize) -> (String, Instant),
) -> (HashMap<String, Instant>, Duration) {
    let mut sent = HashMap::with_capacity(total);
    let started = tokio::time::Instant::now();
    let gap = Duration::from_secs(1).div_f64(f64::from(rate));
    for n in 0..total {
        let due = started + gap.mul_f64(n as f64);
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let (key, at) = send(n);
        sent.insert(key, at);
    }
    (sent, started.elapsed())
}

/// Streams `rate` posts per second for `seconds` from a fake `network` into a real app over a
/// temporary SQLite store; then the same posts straight through the pipeline as the baseline.
pub async fn run(
    network: LatencyNetwork,
    rate: u32,
    seconds: u32,
) -> Result<LatencyReport, LatencyError> {
    if rate == 0 || seconds == 0 {
        return Err(LatencyError::NothingToSend);
    }
    let total = rate as usize * seconds as usize;
    let dir = TempDir::new(&network.to_string())?;
    let fake = Fake::start(network).await?;
    let app = App::build(fake.settings(dir.path())?)
        .await
        .map_err(|e| LatencyError::App(format!("{e:#}")))?;
    let pipeline = app.desk().pipeline().clone();
    let (stop_recording, recorder) = record(pipeline.subscribe());
    let server = tokio::spawn(app.run_until_stopped());

    let waiting = Instant::now();
    while !fake.connected() {
        if waiting.elapsed() > Duration::from_secs(10) {
            server.abort();
            return Err(LatencyError::NotConnected(network));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Mastodon's source catches up over REST right after connecting; let that settle so the
    // measurement is of the stream alone.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (sent, took) = send_at_rate(total, rate, |n| {
        let at = Instant::now();
        (fake.send(n), at)
    })
    .await;
    let drained = Instant::now();
    let mut last = (recorder.seen(), Instant::now());
    while recorder.seen() < total && drained.elapsed() < DRAIN {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = recorder.seen();
        if seen != last.0 {
            last = (seen, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(3) {
            break; // Nothing new for 3 s: what is missing is lost.
        }
    }
    let _ = stop_recording.send(());
    let (stored, missed) = recorder.task.await.unwrap_or_default();
    server.abort();
    drop(fake);

    // Which post each announcement was: read back from the store, by conversation.
    let store = pipeline.store().clone();
    let mut keys: HashMap<i64, String> = HashMap::new();
    let conversations: HashSet<i64> = stored
        .iter()
        .filter_map(|s| s.conversation.map(|c| c.0))
        .collect();
    for id in conversations {
        if let Some(detail) = store.conversation(ConversationId(id)).await? {
            keys.extend(detail.posts.into_iter().map(|p| (p.id, p.external_id)));
        }
    }
    let mut announced: HashMap<i64, usize> = HashMap::new();
    let mut latencies = Vec::with_capacity(total);
    let mut found = HashSet::new();
    for s in &stored {
        *announced.entry(s.post_id).or_default() += 1;
        if let Some(at) = keys
            .get(&s.post_id)
            .and_then(|k| sent.get(k).map(|at| (k, at)))
        {
            if found.insert(at.0.clone()) {
                latencies.push(s.at.saturating_duration_since(*at.1));
            }
        }
    }
    if missed > 0 {
        tracing::warn!(
            missed,
            "the recorder fell behind the pipeline's announcements"
        );
    }
    // Only the sent posts can be in this fresh store: any more were stored twice.
    let stored_posts = store.counts().await?.posts as usize;
    let doubled =
        announced.values().filter(|n| **n > 1).count() + stored_posts.saturating_sub(sent.len());
    drop(pipeline);

    let (baseline, baseline_batches) = baseline(network, rate, total).await?;
    Ok(LatencyReport {
        network,
        rate,
        achieved_rate: (sent.len() as f64 / took.as_secs_f64().max(1e-9)).round() as u32,
        seconds,
        sent: sent.len(),
        lost: sent.len().saturating_sub(found.len()),
        doubled,
        network_path: Percentiles::of(latencies),
        baseline,
        baseline_batches,
    })
}

/// The same posts at the same rate into `Pipeline::ingest`, in greedy batches.
async fn baseline(
    network: LatencyNetwork,
    rate: u32,
    total: usize,
) -> Result<(Percentiles, usize), LatencyError> {
    let dir = TempDir::new("baseline")?;
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        ..Settings::default()
    };
    let desk = earshot_server::app::desk(&settings)
        .await
        .map_err(|e| LatencyError::App(format!("{e:#}")))?;
    let pipeline = desk.pipeline().clone();
    let batch_size = BlueskyConfig::new(BRAND, earshot_connect::Secret::new(""), BRAND)
        .batch_size
        .max(1);

    let (tx, mut rx) = mpsc::unbounded_channel::<(NewPost, Instant)>();
    let ingest = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(total);
        let mut batches = 0usize;
        // Greedy, as a connector reading a socket is: wait for one post, take whatever else
        // is already waiting (up to the connector's batch size), ingest, repeat.
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < batch_size {
                match rx.try_recv() {
                    Ok(post) => batch.push(post),
                    Err(_) => break,
                }
            }
            let (posts, stamps): (Vec<NewPost>, Vec<Instant>) = batch.into_iter().unzip();
            pipeline.ingest(posts).await?;
            let done = Instant::now();
            latencies.extend(
                stamps
                    .into_iter()
                    .map(|s| done.saturating_duration_since(s)),
            );
            batches += 1;
        }
        Ok::<_, StoreError>((latencies, batches))
    });
    send_at_rate(total, rate, |n| {
        let at = Instant::now();
        let post = baseline_post(network, n);
        let key = post.external_id.clone();
        // The receiver only goes away if ingesting failed; that error is reported below.
        let _ = tx.send((post, at));
        (key, at)
    })
    .await;
    drop(tx);
    let (latencies, batches) = ingest
        .await
        .map_err(|e| LatencyError::App(format!("baseline ingest task: {e}")))??;
    Ok((Percentiles::of(latencies), batches))
}

/// Post `n` as the connector would have delivered it.
fn baseline_post(network: LatencyNetwork, n: usize) -> NewPost {
    let i = n % AUTHORS;
    let (net, external_id, author, text) = match network {
        LatencyNetwork::Bluesky => (
            Network::Bluesky,
            format!("at://{}/app.bsky.feed.post/bench{n:012}", author_did(i)),
            Author {
                followers: Some(100),
                ..Author::new(author_did(i), format!("customer{i}.bsky.social"))
            },
            format!("@{BRAND} {}", text(n)),
        ),
        LatencyNetwork::Mastodon => (
            Network::Mastodon,
            format!("{}", 100_000_000 + n),
            Author::new(
                format!("customer{i}@example.social"),
                format!("customer{i}@example.social"),
            ),
            format!("@acme {}", text(n)),
        ),
    };
    NewPost {
        lang: Some("en".into()),
        ..NewPost::new(net, external_id, author, text, chrono::Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let p = Percentiles::of((1..=100).rev().map(ms).collect());
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max),
            (ms(50), ms(95), ms(99), ms(100))
        );
        assert_eq!(p.samples, 100);
        assert_eq!(Percentiles::of(vec![]).max, Duration::ZERO);
    }

    #[test]
    fn networks_parse_by_name() {
        assert_eq!(
            "Bluesky".parse::<LatencyNetwork>().unwrap(),
            LatencyNetwork::Bluesky
        );
        assert!("myspace".parse::<LatencyNetwork>().is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_run_hears_every_post_once() {
        let report = run(LatencyNetwork::Bluesky, 200, 1).await.unwrap();
        assert_eq!(report.sent, 200);
        assert_eq!((report.lost, report.doubled), (0, 0), "{report}");
        assert_eq!(report.network_path.samples, 200);
        assert_eq!(report.baseline.samples, 200);
    }
}
