//! A spike while it lasts: the keys bursting together, the posts they bring, its volume
//! chart, and when to say it grew or ended.

use super::window::{Window, MAX_WINDOW};
use super::{Spike, SpikeChart, SpikeId};
use crate::lang::Lang;
use chrono::{DateTime, Utc};

/// Bars in a spike's chart before neighbouring bars are merged (the chart of a day-long spike
/// stays a few hundred numbers).
const MAX_BARS: usize = 360;
/// Sample posts kept per spike.
pub(crate) const MAX_SAMPLES: usize = 10;
/// Distinct authors counted exactly per spike; beyond it the count is a lower bound.
const MAX_AUTHORS: usize = 4096;
/// Label terms shown.
const MAX_LABELS: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub key: u64,
    pub label: Box<str>,
    /// How surprising the key's count was when it joined (−log10 p).
    pub surprise: f64,
    pub is_pair: bool,
    pub request: Option<u64>,
    /// Usual in many posts ("flight" for an airline): shared with bursts about anything, so
    /// it does not pull a new burst into this spike.
    pub common: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub id: SpikeId,
    pub members: Vec<Member>,
    pub samples: Vec<i64>,
    /// Seconds (Unix time).
    pub started: i64,
    pub detected: i64,
    /// Bucket (detector-relative) of the chart's first bar, and buckets per bar.
    chart_start: u32,
    chart_step: u32,
    chart: Vec<u32>,
    pub window: Window,
    pub posts: u32,
    authors: Vec<u32>,
    langs: [u32; 11],
    pub score: f64,
    pub baseline_per_window: f64,
    /// Window count when the last Started/Growing event went out, and its bucket.
    pub reported_window: u32,
    pub reported_at: u32,
    /// First bucket of the current quiet stretch.
    pub quiet_since: Option<u32>,
}

pub(crate) struct NewSpike {
    pub id: SpikeId,
    pub members: Vec<Member>,
    pub started: i64,
    pub detected: i64,
    pub now: u32,
    pub score: f64,
    pub baseline_per_window: f64,
}

impl Active {
    pub fn new(s: NewSpike) -> Active {
        Active {
            id: s.id,
            members: s.members,
            samples: Vec::new(),
            started: s.started,
            detected: s.detected,
            chart_start: s.now.saturating_sub(MAX_WINDOW as u32 - 1),
            chart_step: 1,
            chart: Vec::new(),
            window: Window::new(s.now),
            posts: 0,
            authors: Vec::new(),
            langs: [0; 11],
            score: s.score,
            baseline_per_window: s.baseline_per_window,
            reported_window: 0,
            reported_at: s.now,
            quiet_since: None,
        }
    }

    pub fn has_key(&self, key: u64) -> bool {
        self.members.iter().any(|m| m.key == key)
    }

    /// Whether `key` is one of the spike's distinctive (not common) keys.
    pub fn has_distinctive_key(&self, key: u64) -> bool {
        self.members.iter().any(|m| m.key == key && !m.common)
    }

    /// Counts one post of the spike.
    pub fn add_post(&mut self, post_id: i64, bucket: u32, w: u32, author: u32, lang: Option<Lang>) {
        self.window.add(bucket, w);
        self.posts += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(post_id);
        }
        if self.authors.len() < MAX_AUTHORS && !self.authors.contains(&author) {
            self.authors.push(author);
        }
        self.langs[lang.map_or(10, |l| l.index())] += 1;
        if bucket < self.chart_start {
            return;
        }
        let mut bar = ((bucket - self.chart_start) / self.chart_step) as usize;
        while bar >= MAX_BARS {
            // Merge neighbouring bars: the chart keeps its shape at half the resolution.
            let merged: Vec<u32> = self.chart.chunks(2).map(|c| c.iter().sum()).collect();
            self.chart = merged;
            self.chart_step *= 2;
            bar = ((bucket - self.chart_start) / self.chart_step) as usize;
        }
        if self.chart.len() <= bar {
            self.chart.resize(bar + 1, 0);
        }
        self.chart[bar] += 1;
    }

    /// The readable terms: word pairs first, then words not already inside a chosen pair.
    pub fn label_terms(&self) -> Vec<String> {
        // Common words ("flight" at an airline) say little about what is new; they only fill
        // in when the spike has too few words of its own.
        let distinctive = self
            .members
            .iter()
            .filter(|m| m.request.is_none() && !m.common)
            .count();
        let mut by_surprise: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.request.is_none() && (!m.common || distinctive < 2))
            .collect();
        by_surprise.sort_by(|a, b| b.surprise.total_cmp(&a.surprise));
        let mut out: Vec<String> = Vec::new();
        for m in by_surprise.iter().filter(|m| m.is_pair) {
            if out.len() >= MAX_LABELS {
                break;
            }
            if !out.iter().any(|o| *o == *m.label) {
                out.push(m.label.to_string());
            }
        }
        for m in by_surprise.iter().filter(|m| !m.is_pair) {
            if out.len() >= MAX_LABELS {
                break;
            }
            let inside = out.iter().any(|o| o.split(' ').any(|w| w == &*m.label));
            if !inside {
                out.push(m.label.to_string());
            }
        }
        out
    }

    pub fn snapshot(&self, now: u32, w: u32, epoch: i64, bucket_secs: u32) -> Spike {
        let window_secs = f64::from(w * bucket_secs);
        let per_minute = 60.0 / window_secs;
        let lang = self
            .langs
            .iter()
            .enumerate()
            .take(10)
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(_, n)| **n)
            .map(|(i, _)| Lang::ALL[i].code().to_string());
        let secs = |bucket: u32| (epoch + i64::from(bucket)) * i64::from(bucket_secs);
        Spike {
            id: self.id,
            label_terms: self.label_terms(),
            request_ids: self.members.iter().filter_map(|m| m.request).collect(),
            sample_post_ids: self.samples.clone(),
            started_at: to_time(self.started),
            detected_at: to_time(self.detected),
            rate_per_minute: f64::from(self.window.count(now, w)) * per_minute,
            baseline_per_minute: self.baseline_per_window * per_minute,
            score: self.score,
            posts: self.posts,
            authors: self.authors.len() as u32,
            language: lang,
            chart: SpikeChart {
                start: to_time(secs(self.chart_start)),
                bucket_seconds: self.chart_step * bucket_secs,
                counts: self.chart.clone(),
            },
        }
    }
}

pub(crate) fn to_time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}
