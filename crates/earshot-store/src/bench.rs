//! Benchmark helpers: the plain-insert baseline the import benchmark reports its ratio
//! against, and deterministic synthetic traffic to fill a large store quickly.
//!
//! Nothing here asserts a time: callers measure, and report ratios against a baseline
//! measured in the same run.

use crate::{sqlite::SqliteStore, Store, StoreError};
use chrono::{DateTime, Duration as Span, Utc};
use earshot_core::analysis::{Intent, Language, ReachTier, SentimentLabel, UrgencyLevel};
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{Analysis, Author, Network, NewPost};
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

/// Inserts `posts` into a bare table (no indexes, no full-text index, no threading) in one
/// transaction and returns how long the inserts and the commit took. The table
/// (`plain_posts`) is dropped and re-created first, outside the timing. The connection is
/// set up like the store's (WAL, `synchronous = NORMAL`), so the ratio measures the store's
/// own work.
pub fn plain_insert_sqlite(
    path: impl AsRef<Path>,
    posts: &[NewPost],
) -> Result<Duration, StoreError> {
    let path = path.as_ref();
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                target: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    let mut conn = Connection::open(path).map_err(|e| StoreError::Open {
        target: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         DROP TABLE IF EXISTS plain_posts;
         CREATE TABLE plain_posts (
             network TEXT, external_id TEXT, author_external_id TEXT, author_handle TEXT,
             author_display_name TEXT, author_followers INTEGER, author_verified INTEGER, author_bot INTEGER,
             text TEXT, created_at INTEGER, in_reply_to TEXT, url TEXT, from_brand INTEGER, lang TEXT, raw TEXT
         );",
    )?;
    let start = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO plain_posts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for p in posts {
            insert.execute(params![
                p.network.as_str(),
                p.external_id,
                p.author.external_id,
                p.author.handle,
                p.author.display_name,
                p.author
                    .followers
                    .map(|f| i64::try_from(f).unwrap_or(i64::MAX)),
                p.author.verified,
                p.author.bot,
                p.text,
                p.created_at.timestamp_micros(),
                p.in_reply_to,
                p.url,
                p.from_brand,
                p.lang,
                p.raw,
            ])?;
        }
    }
    tx.commit()?;
    Ok(start.elapsed())
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
struct Mix(u64);

impl Mix {
    fn new(seed: u64) -> Self {
        Mix(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const EN: &[&str] = &[
    "car", "seat", "charger", "app", "update", "battery", "delivery", "refund", "order", "flight",
    "festival", "please", "broken", "love", "thanks", "why", "still", "waiting", "support",
    "account", "login", "screen", "steering", "wheel", "park", "idle", "blocking", "release",
    "feature", "help", "crash", "slow", "great", "terrible", "today", "again",
];
const DA: &[&str] = &[
    "bilen",
    "sædet",
    "opladeren",
    "appen",
    "søger",
    "hjælp",
    "blå",
    "venter",
    "stadig",
    "levering",
    "tak",
    "hvorfor",
    "fejl",
    "køre",
    "næste",
    "måned",
];
const IT: &[&str] = &[
    "perché",
    "macchina",
    "sedile",
    "caricatore",
    "aggiornamento",
    "grazie",
    "ancora",
    "attesa",
    "volo",
    "città",
    "più",
    "già",
    "rimborso",
    "però",
];
const DE: &[&str] = &[
    "warum",
    "Fahrzeug",
    "Sitz",
    "Ladegerät",
    "Aktualisierung",
    "danke",
    "immer",
    "noch",
    "wartet",
    "Rückerstattung",
    "schön",
    "Lieferung",
    "über",
];

const INTENTS: &[Intent] = &[
    Intent::Complaint,
    Intent::Question,
    Intent::FeatureRequest,
    Intent::Praise,
    Intent::Other,
];

/// Synthetic traffic: posts `first .. first + n` of an endless, deterministic stream shaped
/// like a support account's mentions. In each run of ten: six customers write top-level
/// posts, the brand answers the first three of them, and the first customer follows up on
/// the brand's answer. Texts mix English (70%), Danish, Italian and German; timestamps are
/// two seconds apart from 2024-01-01.
pub fn synthetic_batch(first: u64, n: usize) -> Vec<Incoming> {
    const CUSTOMERS: u64 = 1 << 20;
    let base: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
    let mut out = Vec::with_capacity(n);
    for i in first..first + n as u64 {
        let mut rng = Mix::new(i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let group = i / 10;
        let slot = i % 10;
        let customer = |k: u64| format!("c{}", (group * 6 + k) % CUSTOMERS);
        let (author, in_reply_to, from_brand) = match slot {
            0..=5 => (customer(slot), None, false),
            6..=8 => ("brand".to_string(), Some(group * 10 + (slot - 6)), true),
            _ => (customer(0), Some(group * 10 + 6), false),
        };
        let (lang, words) = match rng.below(10) {
            0 => ("da", DA),
            1 => ("it", IT),
            2 => ("de", DE),
            _ => ("en", EN),
        };
        let len = 6 + rng.below(14) as usize;
        let mut text = String::with_capacity(len * 8 + 16);
        text.push_str("@brand");
        for _ in 0..len {
            text.push(' ');
            text.push_str(rng.pick::<&str>(words));
        }
        let intent = if from_brand {
            Intent::Other
        } else {
            *rng.pick(INTENTS)
        };
        let score = (rng.below(2001) as f32 - 1000.0) / 1000.0;
        let sentiment = if score < -0.3 {
            SentimentLabel::Negative
        } else if score > 0.3 {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        };
        let followers = rng.below(1_000_000);
        let urgency_score = (rng.below(101) as f32) / 100.0;
        let mut analysis = Analysis::default();
        analysis.language.language = Language::new(lang);
        analysis.language.confidence = 0.9;
        analysis.language.source = "synthetic".into();
        analysis.sentiment.label = sentiment;
        analysis.sentiment.score = score;
        analysis.intent.label = intent;
        analysis.intent.confidence = 0.8;
        analysis.urgency.level = if urgency_score > 0.8 {
            UrgencyLevel::High
        } else {
            UrgencyLevel::Normal
        };
        analysis.urgency.score = urgency_score;
        analysis.reach.followers = Some(followers);
        analysis.reach.tier = if followers > 100_000 {
            ReachTier::Large
        } else {
            ReachTier::Small
        };
        analysis.reach.score = (followers as f32).ln_1p() / 14.0;
        analysis.fingerprint = rng.next();
        analysis.model = "synthetic".into();
        out.push(Incoming {
            post: NewPost {
                in_reply_to: in_reply_to.map(|p| p.to_string()),
                from_brand: Some(from_brand),
                ..NewPost::new(
                    Network::X,
                    i.to_string(),
                    Author {
                        followers: Some(followers),
                        ..Author::new(author.clone(), author)
                    },
                    text,
                    base + Span::seconds(2 * i as i64),
                )
            },
            analysis,
            from_brand,
        });
    }
    out
}

/// Ingests `total` synthetic posts (continuing from `first`) in batches of `batch`, with
/// `now` at the last post's time. Returns the time spent in `Store::ingest` alone.
pub async fn fill(
    store: &dyn Store,
    first: u64,
    total: u64,
    batch: usize,
) -> Result<Duration, StoreError> {
    let policy = TriagePolicy::default();
    let batch = batch.max(1) as u64;
    let mut spent = Duration::ZERO;
    let mut next = first;
    while next < first + total {
        let n = batch.min(first + total - next);
        let posts = synthetic_batch(next, n as usize);
        let now = posts
            .last()
            .map(|p| p.post.created_at)
            .unwrap_or_else(Utc::now);
        let start = Instant::now();
        store.ingest(posts, &policy, now).await?;
        spent += start.elapsed();
        next += n;
    }
    Ok(spent)
}

/// Opens (or creates) the SQLite store at `path` and tops it up to at least `posts`
/// synthetic posts, in batches of 5,000: the large store the latency benchmark reads.
pub async fn fill_sqlite(path: &str, posts: u64) -> Result<SqliteStore, StoreError> {
    let store = SqliteStore::open(path).await?;
    let have = store.counts().await?.posts;
    if have < posts {
        fill(&store, have, posts - have, 5_000).await?;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_traffic_is_deterministic_and_threads() {
        let a = synthetic_batch(0, 20);
        let b = synthetic_batch(0, 20);
        assert_eq!(
            a.iter().map(|i| &i.post).collect::<Vec<_>>(),
            b.iter().map(|i| &i.post).collect::<Vec<_>>()
        );
        assert_eq!(a[6].post.in_reply_to.as_deref(), Some("0"));
        assert!(a[6].from_brand);
        assert_eq!(a[9].post.in_reply_to.as_deref(), Some("6"));
        assert_eq!(a[9].post.author.external_id, a[0].post.author.external_id);
    }

    #[test]
    fn plain_insert_writes_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.db");
        let posts: Vec<NewPost> = synthetic_batch(0, 100)
            .into_iter()
            .map(|i| i.post)
            .collect();
        plain_insert_sqlite(&path, &posts).unwrap();
        plain_insert_sqlite(&path, &posts).unwrap();
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM plain_posts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 100);
    }
}
