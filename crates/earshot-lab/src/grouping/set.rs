//! The labelled set of real asks (`data/grouping/`, see its README): each ask with the request
//! it belongs to, its desk and its half.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The asks as shipped with the lab.
pub const ASKS_JSONL: &str = include_str!("../../data/grouping/asks.jsonl");
/// The concept list as it was when the set was split.
pub const CONCEPTS_AT_SPLIT: &str = include_str!("../../data/grouping/concepts_at_split.txt");
/// Posts an earlier labelled set held (their requests must all be tuning).
pub const EARLIER_POSTS_TSV: &str = include_str!("../../data/grouping/earlier_posts.tsv");

#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("line {line} of the grouping set: {message}")]
    Line { line: usize, message: String },
    #[error("request {request} has asks in both halves")]
    SplitRequest { request: String },
    #[error("request {request} does not start with its desk {desk}/")]
    Desk { request: String, desk: String },
}

/// Which half of the set an ask is in. Whole requests are in one half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Half {
    Tuning,
    Evaluation,
}

impl Half {
    pub fn name(self) -> &'static str {
        match self {
            Half::Tuning => "tuning",
            Half::Evaluation => "evaluation",
        }
    }
}

/// One labelled ask.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ask {
    /// `desk/name`.
    pub request: String,
    #[serde(rename = "split")]
    pub half: Half,
    pub desk: String,
    /// The file under shared/data the post comes from.
    pub source: String,
    pub id: String,
    /// The language, by reading (ISO 639-1).
    pub lang: String,
    pub at: Option<DateTime<FixedOffset>>,
    pub text: String,
}

/// The whole set, asks in file order.
#[derive(Debug, Clone)]
pub struct LabelledSet {
    pub asks: Vec<Ask>,
}

impl LabelledSet {
    /// The set shipped with the lab.
    pub fn shipped() -> Result<LabelledSet, SetError> {
        LabelledSet::parse(ASKS_JSONL)
    }

    /// Reads JSON lines and checks that each request has one desk and one half.
    pub fn parse(text: &str) -> Result<LabelledSet, SetError> {
        let mut asks = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let ask: Ask = serde_json::from_str(line).map_err(|e| SetError::Line {
                line: i + 1,
                message: e.to_string(),
            })?;
            if !ask.request.starts_with(&format!("{}/", ask.desk)) {
                return Err(SetError::Desk {
                    request: ask.request,
                    desk: ask.desk,
                });
            }
            asks.push(ask);
        }
        let mut halves: BTreeMap<&str, Half> = BTreeMap::new();
        for a in &asks {
            if *halves.entry(&a.request).or_insert(a.half) != a.half {
                return Err(SetError::SplitRequest {
                    request: a.request.clone(),
                });
            }
        }
        Ok(LabelledSet { asks })
    }

    /// Each desk's asks (indices into `asks`) in the order they arrived: by time, then by
    /// tweet id (sources without times arrive in id order).
    pub fn desks(&self) -> BTreeMap<&str, Vec<usize>> {
        let mut out: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, a) in self.asks.iter().enumerate() {
            out.entry(a.desk.as_str()).or_default().push(i);
        }
        for ids in out.values_mut() {
            ids.sort_by(|&x, &y| {
                let (a, b) = (&self.asks[x], &self.asks[y]);
                a.at.cmp(&b.at)
                    .then(numeric(&a.id).cmp(&numeric(&b.id)))
                    .then(a.id.cmp(&b.id))
            });
        }
        out
    }

    /// Requests of a half with their number of asks.
    pub fn requests(&self, half: Half) -> BTreeMap<&str, usize> {
        let mut out = BTreeMap::new();
        for a in self.asks.iter().filter(|a| a.half == half) {
            *out.entry(a.request.as_str()).or_default() += 1;
        }
        out
    }

    pub fn count(&self, half: Half) -> usize {
        self.asks.iter().filter(|a| a.half == half).count()
    }
}

fn numeric(id: &str) -> u64 {
    id.parse().unwrap_or(u64::MAX)
}

/// When an ask arrives in a replay: its time, or (for sources without times) one minute after
/// the ask before it in its desk.
pub fn arrival(ask: &Ask, previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match ask.at {
        Some(at) => at.with_timezone(&Utc),
        None => previous.map_or_else(DateTime::<Utc>::default, |p| p + Duration::minutes(1)),
    }
}

/// (source, id) of the posts an earlier labelled set held.
pub fn earlier_posts() -> Vec<(&'static str, &'static str)> {
    EARLIER_POSTS_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("source\t") && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect()
}
