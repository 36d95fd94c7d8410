//! Spikes of new demand: a cluster of similar posts growing far faster than its usual rate,
//! noticed within a minute of its onset, including topics nobody configured (hundreds of
//! people at once asking for flights to a festival).
//!
//! Every post is counted under a few keys ([`keys`]): its request when grouping knows it, the
//! stems of its content words and pairs of neighbouring ones, so an unconfigured topic
//! ("flights roskilde") has a key of its own. Counts live in 10-second buckets; a key is
//! judged on its last 160 seconds ([`window`]). Its usual rate comes from a decayed, hour-of-day
//! aware share of all posts ([`baseline`], count-min sketches: fixed memory whatever the
//! vocabulary) times the current volume, with a floor for keys never seen. A key bursts when
//! it has enough posts from enough different authors, many times its expectation, and a
//! Poisson tail probability too small to be chance ([`score`]). Keys bursting in the same
//! posts are one [`Spike`] ([`cluster`]) with a label, sample posts and a volume chart; the
//! detector reports it [`SpikeEvent::Started`], [`SpikeEvent::Growing`] when its rate doubles
//! and [`SpikeEvent::Ended`] after a quiet spell. [`suggest_bulk_reply`] drafts the one answer
//! an agent can send to all of them.
//!
//! Time is the posts' own (`at`): replaying a day of posts takes seconds, and live use passes
//! the time earshot heard each post. Memory is bounded: keys not seen in the last window are
//! forgotten (their usual rate stays in the sketches) and the table is capped.
//!
//! ```
//! use chrono::{DateTime, Duration, Utc};
//! use earshot_analyze::spikes::{SpikeConfig, SpikeDetector, SpikeEvent};
//!
//! let mut d = SpikeDetector::new(SpikeConfig { warmup_posts: 0, ..SpikeConfig::default() });
//! let t0 = DateTime::parse_from_rfc3339("2024-06-29T02:00:00Z").unwrap().with_timezone(&Utc);
//! // A quiet night: the usual questions, one every two minutes.
//! let usual = ["Where is my bag?", "Can I change my seat?", "Is my flight on time?"];
//! for i in 0..300i64 {
//!     d.observe(i, &format!("c{i}"), usual[i as usize % 3], Some("en"), None, t0 + Duration::seconds(120 * i));
//! }
//! // Then everyone at once asks for flights to a festival.
//! let onset = t0 + Duration::seconds(120 * 300);
//! let mut started = None;
//! for i in 0..60i64 {
//!     let at = onset + Duration::seconds(i);
//!     let text = format!("Any extra flights to Roskilde Festival? #{i}");
//!     for e in d.observe(1000 + i, &format!("fan{i}"), &text, Some("en"), None, at) {
//!         if let SpikeEvent::Started(s) = e { started.get_or_insert(s); }
//!     }
//! }
//! let spike = started.expect("the surge is noticed");
//! assert!(spike.detected_at - onset <= Duration::seconds(60));
//! assert!(spike.label_terms.iter().any(|t| t.contains("roskilde")));
//! ```

mod baseline;
mod cluster;
mod keys;
mod lifecycle;
mod reply;
mod score;
mod window;

pub use reply::suggest_bulk_reply;

use crate::fingerprint::hash_bytes;
use crate::lang::Lang;
use baseline::Baseline;
use chrono::{DateTime, Utc};
use cluster::{Active, Member, NewSpike};
use keys::{PostKeys, StemCache};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use window::{Authors, Window, AUTHOR_SLOTS, MAX_WINDOW};

/// How the detector judges a burst. Every setting has a safe default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpikeConfig {
    /// Width of a counting bucket, seconds.
    pub bucket_seconds: u32,
    /// Buckets a key is judged on (16 × 10 s: the last 160 seconds). At most 16.
    pub window_buckets: u32,
    /// Posts in the window a key needs before it can burst.
    pub min_posts: u32,
    /// Distinct authors among them (at most 8).
    pub min_authors: u32,
    /// How many times its expected count a key needs.
    pub min_ratio: f64,
    /// How unlikely by chance, as −log10 of the Poisson tail probability.
    pub min_score: f64,
    /// The least a key is expected to appear, posts per hour (a key never seen is not
    /// expected never to appear).
    pub floor_per_hour: f64,
    /// How fast old traffic stops counting towards the usual rate.
    pub half_life_hours: f64,
    /// Posts' worth of weight that pulls a key's hour-of-day share towards its overall share.
    pub seasonal_prior_posts: f64,
    /// No alarms before this many posts were seen (the usual rates mean nothing yet).
    pub warmup_posts: u64,
    /// ... and not before this much traffic time has passed (a burst when earshot starts is
    /// no usual rate).
    pub warmup_minutes: u32,
    /// Keys tracked exactly at once (the rest live in the sketches).
    pub max_tracked_keys: usize,
    /// Cells per row of each count-min sketch (rounded up to a power of two).
    pub sketch_width: usize,
    /// Recent posts remembered for grouping bursting keys and drawing the first chart.
    pub recent_posts: usize,
    /// A spike ends after this long below half its starting bar.
    pub end_after_seconds: u32,
    /// A spike is reported as growing when its rate reaches this many times the last
    /// reported rate.
    pub growing_factor: f64,
    /// How much a bursting key's posts still teach its usual rate (0..1): a new normal is
    /// learned, slowly, instead of alarming forever.
    pub learn_while_spiking: f64,
    /// Spikes followed at once; further bursts wait until one ends.
    pub max_active_spikes: usize,
}

impl Default for SpikeConfig {
    fn default() -> Self {
        SpikeConfig {
            bucket_seconds: 10,
            // A 160-second window and 8 posts: a burst at ten times a small brand's usual rate
            // (6 posts a minute) is seen in about a minute, with no more false alarms on real
            // weeks of traffic (`cargo run --release -p earshot-lab --example spike_eval`).
            window_buckets: 16,
            min_posts: 8,
            min_authors: 5,
            min_ratio: 5.0,
            min_score: 8.0,
            floor_per_hour: 1.0,
            half_life_hours: 72.0,
            seasonal_prior_posts: 200.0,
            // 1,000 kept a brand with 300 posts a day blind for three days.
            warmup_posts: 200,
            warmup_minutes: 60,
            max_tracked_keys: 100_000,
            sketch_width: 1 << 16,
            recent_posts: 4_096,
            end_after_seconds: 300,
            growing_factor: 2.0,
            learn_while_spiking: 0.1,
            max_active_spikes: 64,
        }
    }
}

/// A spike's id: unique within one detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SpikeId(pub u64);

/// Posts per bar since just before the spike started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeChart {
    pub start: DateTime<Utc>,
    pub bucket_seconds: u32,
    pub counts: Vec<u32>,
}

/// A burst of similar posts, as the inbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    pub id: SpikeId,
    /// What it is about: word pairs and words ("flights roskilde", "festival").
    pub label_terms: Vec<String>,
    /// Grouping's requests among its keys (raw ids, as passed to `observe`).
    pub request_ids: Vec<u64>,
    /// Some of its posts (the first ones).
    pub sample_post_ids: Vec<i64>,
    /// The first post of the burst in the detection window.
    pub started_at: DateTime<Utc>,
    /// The post time at which it was recognised.
    pub detected_at: DateTime<Utc>,
    /// Its posts per minute over the last window.
    pub rate_per_minute: f64,
    /// What its first key usually sees per minute at this hour and volume.
    pub baseline_per_minute: f64,
    /// −log10 of the chance of its first key's count under the usual rate.
    pub score: f64,
    /// Posts counted in it so far.
    pub posts: u32,
    /// Distinct authors among them.
    pub authors: u32,
    /// The most common language of its posts.
    pub language: Option<String>,
    pub chart: SpikeChart,
}

/// What changed, as posts arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "spike", rename_all = "snake_case")]
pub enum SpikeEvent {
    Started(Spike),
    Growing(Spike),
    Ended(Spike),
}

impl SpikeEvent {
    pub fn spike(&self) -> &Spike {
        match self {
            SpikeEvent::Started(s) | SpikeEvent::Growing(s) | SpikeEvent::Ended(s) => s,
        }
    }
}

/// A key's recent counts and authors.
#[derive(Debug, Clone)]
struct KeyState {
    window: Window,
    authors: Authors,
    spike: Option<SpikeId>,
    label: Option<Box<str>>,
}

/// The last posts, for grouping keys that burst together and drawing a new spike's chart.
#[derive(Debug, Clone)]
struct Recent {
    ids: Vec<i64>,
    times: Vec<i64>,
    buckets: Vec<u32>,
    authors: Vec<u32>,
    langs: Vec<u8>,
    counts: Vec<u8>,
    keys: Vec<u64>,
    next: usize,
    len: usize,
}

impl Recent {
    fn new(cap: usize) -> Recent {
        let cap = cap.max(16);
        Recent {
            ids: vec![0; cap],
            times: vec![0; cap],
            buckets: vec![0; cap],
            authors: vec![0; cap],
            langs: vec![0; cap],
            counts: vec![0; cap],
            keys: vec![0; cap * keys::MAX_KEYS],
            next: 0,
            len: 0,
        }
    }

    fn cap(&self) -> usize {
        self.ids.len()
    }

    fn push(&mut self, id: i64, t: i64, bucket: u32, author: u32, lang: u8, post: &PostKeys) {
        let i = self.next;
        self.ids[i] = id;
        self.times[i] = t;
        self.buckets[i] = bucket;
        self.authors[i] = author;
        self.langs[i] = lang;
        let n = post.keys.len().min(keys::MAX_KEYS);
        self.counts[i] = n as u8;
        let base = i * keys::MAX_KEYS;
        for (slot, k) in self.keys[base..base + n].iter_mut().zip(&post.keys) {
            *slot = k.0;
        }
        self.next = (i + 1) % self.cap();
        self.len = (self.len + 1).min(self.cap());
    }

    /// Indices of remembered posts in buckets `from..`, newest first.
    fn since(&self, from: u32) -> impl Iterator<Item = usize> + '_ {
        let cap = self.cap();
        (0..self.len)
            .map(move |k| (self.next + cap - 1 - k) % cap)
            .filter(move |&i| self.buckets[i] >= from)
    }

    fn keys_of(&self, i: usize) -> &[u64] {
        let base = i * keys::MAX_KEYS;
        &self.keys[base..base + self.counts[i] as usize]
    }
}

/// Counters a caller can show or log.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikeStats {
    pub posts_seen: u64,
    pub tracked_keys: usize,
    pub active_spikes: usize,
    /// Approximate heap bytes held (sketches, key table, recent posts).
    pub memory_bytes: usize,
}

/// The streaming spike detector. One per team (or per brand); feed it every customer post.
#[derive(Debug, Clone)]
pub struct SpikeDetector {
    config: SpikeConfig,
    w: u32,
    /// Bucket of the first post minus one: buckets are counted from here (u32 is 1,300 years
    /// of 10-second buckets).
    epoch: Option<i64>,
    now: u32,
    baseline: Option<Baseline>,
    volume: Window,
    table: HashMap<u64, KeyState, BuildKeyHash>,
    recent: Recent,
    active: Vec<Active>,
    next_id: u64,
    scratch: PostKeys,
    stems: StemCache,
}

impl SpikeDetector {
    pub fn new(config: SpikeConfig) -> SpikeDetector {
        let w = config.window_buckets.clamp(1, MAX_WINDOW as u32);
        SpikeDetector {
            recent: Recent::new(config.recent_posts),
            w,
            epoch: None,
            now: 0,
            baseline: None,
            volume: Window::new(0),
            table: HashMap::with_hasher(BuildKeyHash),
            active: Vec::new(),
            next_id: 1,
            scratch: PostKeys::default(),
            stems: StemCache::default(),
            config,
        }
    }

    pub fn config(&self) -> &SpikeConfig {
        &self.config
    }

    pub fn stats(&self) -> SpikeStats {
        let key_bytes = self.table.capacity() * (std::mem::size_of::<KeyState>() + 16);
        let recent_bytes = self.recent.cap() * (keys::MAX_KEYS * 8 + 30) + (1 << 13) * 16;
        SpikeStats {
            posts_seen: self.baseline.as_ref().map_or(0, |b| b.seen),
            tracked_keys: self.table.len(),
            active_spikes: self.active.len(),
            memory_bytes: self.baseline.as_ref().map_or(0, Baseline::bytes)
                + key_bytes
                + recent_bytes,
        }
    }

    /// The spikes going on now.
    pub fn active(&self) -> Vec<Spike> {
        let epoch = self.epoch.unwrap_or(0);
        self.active
            .iter()
            .map(|a| a.snapshot(self.now, self.w, epoch, self.config.bucket_seconds))
            .collect()
    }

    /// The spike going on now that a post with this text belongs to (it shares one of the
    /// spike's distinctive keys), if any. Counts nothing: ask after [`Self::observe`].
    pub fn spike_of(&mut self, text: &str, lang: Option<&str>) -> Option<Spike> {
        if self.active.is_empty() {
            return None;
        }
        let lang = lang.and_then(Lang::from_code);
        let mut post = std::mem::take(&mut self.scratch);
        keys::extract(text, lang, None, &mut self.stems, &mut post);
        let found = self
            .active
            .iter()
            .find(|a| post.keys.iter().any(|&(k, _, _)| a.has_distinctive_key(k)));
        let epoch = self.epoch.unwrap_or(0);
        let spike = found.map(|a| a.snapshot(self.now, self.w, epoch, self.config.bucket_seconds));
        self.scratch = post;
        spike
    }

    /// Counts one customer post. `author` is the network's author id, `lang` the post's
    /// language code, `request_id` grouping's request for it when known, `at` the post's time
    /// (live: when earshot heard it). Returns what changed: spikes started, grown or ended.
    pub fn observe(
        &mut self,
        post_id: i64,
        author: &str,
        text: &str,
        lang: Option<&str>,
        request_id: Option<u64>,
        at: DateTime<Utc>,
    ) -> Vec<SpikeEvent> {
        let mut events = Vec::new();
        let t = at.timestamp();
        let bucket_secs = i64::from(self.config.bucket_seconds.max(1));
        let abs_bucket = t.div_euclid(bucket_secs);
        let epoch = *self.epoch.get_or_insert(abs_bucket - 1);
        // A post from before the first one seen is late for every window.
        let before_start = abs_bucket < epoch;
        let bucket = (abs_bucket - epoch).clamp(0, i64::from(u32::MAX)) as u32;
        if self.baseline.is_none() {
            self.baseline = Some(Baseline::new(
                self.config.sketch_width,
                self.config.half_life_hours * 3600.0,
                self.config.seasonal_prior_posts,
                t,
            ));
            self.now = bucket;
            self.volume = Window::new(bucket);
        }
        if bucket > self.now {
            self.advance(bucket, &mut events);
        }
        let lang = lang.and_then(Lang::from_code);
        let author_hash = hash_bytes(0xa07_u64, author.as_bytes()) as u32;
        let mut post = std::mem::take(&mut self.scratch);
        keys::extract(text, lang, request_id, &mut self.stems, &mut post);

        let in_window = !before_start && self.volume.add(bucket, self.w);
        if in_window {
            self.recent.push(
                post_id,
                t,
                bucket,
                author_hash,
                lang.map_or(10, |l| l.index() as u8),
                &post,
            );
        }
        let Some(baseline) = self.baseline.as_mut() else {
            self.scratch = post;
            return events;
        };
        baseline.add_post(t);
        let weight = baseline.weight(t);
        let mut learned: Vec<(u64, f64)> = Vec::with_capacity(post.keys.len());
        let mut touched: Vec<SpikeId> = Vec::new();
        let mut candidates: Vec<(u64, usize)> = Vec::new();
        for (i, &(key, _, _)) in post.keys.iter().enumerate() {
            let state = self.table.entry(key).or_insert_with(|| KeyState {
                window: Window::new(bucket),
                authors: Authors::default(),
                spike: None,
                label: None,
            });
            let learn = if state.spike.is_some() {
                self.config.learn_while_spiking
            } else {
                1.0
            };
            learned.push((key, learn));
            if let Some(s) = state.spike {
                if !touched.contains(&s) {
                    touched.push(s);
                }
            }
            if !in_window || !state.window.add(bucket, self.w) {
                continue;
            }
            state.authors.add(author_hash, bucket);
            let n = state.window.count(self.now, self.w);
            if n >= 2 && state.label.is_none() {
                state.label = Some(post.label(i).into_boxed_str());
            }
            if n >= self.config.min_posts && state.spike.is_none() {
                candidates.push((key, i));
            }
        }
        // Sketch updates in one tight loop: each is a cache miss, and independent misses
        // overlap when nothing else sits between them.
        for &(key, learn) in &learned {
            baseline.add_key(key, t, weight, learn);
        }
        for id in touched {
            if let Some(a) = self.active.iter_mut().find(|a| a.id == id) {
                a.add_post(post_id, bucket, self.w, author_hash, lang);
            }
        }
        for (key, i) in candidates {
            // An earlier key of this post may have started a spike this one belongs to.
            if self.table.get(&key).is_some_and(|s| s.spike.is_some()) {
                continue;
            }
            self.judge(key, &post.label(i), t, &mut events);
        }
        self.report_growth(&mut events);
        if self.table.len() > self.config.max_tracked_keys {
            self.prune();
        }
        self.scratch = post;
        events
    }

    /// Lets time pass without posts, so that quiet spikes end. Call it now and then (say every
    /// 10 seconds) with the current time; replays need not.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<SpikeEvent> {
        let mut events = Vec::new();
        let Some(epoch) = self.epoch else {
            return events;
        };
        let abs = now
            .timestamp()
            .div_euclid(i64::from(self.config.bucket_seconds.max(1)));
        let bucket = (abs - epoch).clamp(0, i64::from(u32::MAX)) as u32;
        if bucket > self.now {
            self.advance(bucket, &mut events);
        }
        events
    }

    /// Moves the clock to `bucket`: time passes for the usual rates, quiet spikes end, and
    /// keys gone quiet are dropped from the table.
    fn advance(&mut self, bucket: u32, events: &mut Vec<SpikeEvent>) {
        let bucket_secs = i64::from(self.config.bucket_seconds.max(1));
        let epoch = self.epoch.unwrap_or(0);
        if let Some(b) = self.baseline.as_mut() {
            // Exposure per hour of day; a silence longer than a week counts as one week.
            let from = (epoch + i64::from(self.now) + 1) * bucket_secs;
            let to = (epoch + i64::from(bucket) + 1) * bucket_secs;
            let mut t = from.max(to - 7 * 86_400);
            while t < to {
                let hour_end = (t.div_euclid(3600) + 1) * 3600;
                let step_end = hour_end.min(to);
                b.add_exposure(t, (step_end - t) as f64);
                t = step_end;
            }
            b.renormalise_if_needed(to);
        }
        // Every five minutes of stream time, forget keys with nothing left in the window
        // (their usual rate lives on in the sketches): a small table stays in cache.
        let every = (300 / bucket_secs).max(1) as u32;
        if bucket / every != self.now / every {
            self.drop_quiet_keys(bucket);
        }
        self.now = bucket;
        let end_after = (self.config.end_after_seconds as i64 / bucket_secs).max(1) as u32;
        let mut ended = Vec::new();
        for a in &mut self.active {
            let n = a.window.count(bucket, self.w);
            let bar = (f64::from(self.config.min_posts) / 2.0).max(2.0 * a.baseline_per_window);
            if f64::from(n) < bar {
                // Quiet since its last posts left the window, even if no post or tick came
                // in between.
                let since = *a
                    .quiet_since
                    .get_or_insert(bucket.min(a.window.last_bucket() + self.w));
                if bucket - since >= end_after {
                    ended.push(a.id);
                }
            } else {
                a.quiet_since = None;
            }
        }
        for id in ended {
            if let Some(pos) = self.active.iter().position(|a| a.id == id) {
                let a = self.active.remove(pos);
                for m in &a.members {
                    if let Some(s) = self.table.get_mut(&m.key) {
                        s.spike = None;
                    }
                }
                events.push(SpikeEvent::Ended(a.snapshot(
                    bucket,
                    self.w,
                    epoch,
                    self.config.bucket_seconds,
                )));
            }
        }
    }

    /// The number of posts `key` is expected to have in the window now, and the volume it
    /// was judged against.
    fn expected(&self, key: u64, n: u32, t: i64) -> f64 {
        let Some(b) = self.baseline.as_ref() else {
            return f64::INFINITY;
        };
        let window_secs = f64::from(self.w * self.config.bucket_seconds);
        let total = self.volume.count(self.now, self.w);
        let others = f64::from(total.saturating_sub(n));
        let volume = others.max(b.usual_rate(t) * window_secs);
        let share = b.share(key, t, f64::from(n));
        let floor = self.config.floor_per_hour * window_secs / 3600.0;
        (share * volume).max(floor)
    }

    /// A key found in more than 2% of posts at this hour.
    fn is_common(&self, key: u64, n: u32, t: i64) -> bool {
        self.baseline
            .as_ref()
            .is_some_and(|b| b.share(key, t, f64::from(n)) > 0.02)
    }

    /// Forgets keys with nothing in the window (their usual rate lives on in the sketches);
    /// if the table is still too big, the quietest keys go.
    fn drop_quiet_keys(&mut self, now: u32) {
        let w = self.w;
        self.table
            .retain(|_, s| s.spike.is_some() || s.window.last_bucket() + w > now);
    }

    fn prune(&mut self) {
        let (now, w) = (self.now, self.w);
        self.drop_quiet_keys(now);
        let cap = self.config.max_tracked_keys;
        if self.table.len() <= cap * 9 / 10 {
            return;
        }
        let mut counts: Vec<u32> = self
            .table
            .values()
            .map(|s| s.window.count(now, w))
            .collect();
        let keep = cap * 3 / 4;
        let drop = counts.len().saturating_sub(keep);
        if drop == 0 {
            return;
        }
        let (_, &mut threshold, _) = counts.select_nth_unstable(drop - 1);
        let mut dropped = 0usize;
        self.table.retain(|_, s| {
            if s.spike.is_some() || dropped >= drop {
                return true;
            }
            let c = s.window.count(now, w);
            if c <= threshold {
                dropped += 1;
                return false;
            }
            true
        });
        tracing::debug!(kept = self.table.len(), "spike key table pruned");
    }
}

fn request_of(label: &str) -> Option<u64> {
    label.strip_prefix("request r").and_then(|r| r.parse().ok())
}

/// Keys are already well-mixed 64-bit hashes: hashing them again is wasted work.
#[derive(Debug, Default, Clone, Copy)]
struct BuildKeyHash;

#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::BuildHasher for BuildKeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).rotate_left(5);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
