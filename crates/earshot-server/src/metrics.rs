//! How fast and how well the team answers: first response time (median, p90) overall and by
//! weekday and hour in the team's time zone, the share answered within target, and volume
//! by intent and sentiment. Pure functions over the store's samples.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use earshot_store::survey::Satisfaction;
use earshot_store::{ResponseSample, Store, StoreError, VolumeCount};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub timezone: String,
    pub overall: ResponseStats,
    /// Monday first, by the weekday the conversation opened (team time zone).
    pub by_weekday: Vec<Bucket>,
    /// 0–23, by the hour the conversation opened (team time zone).
    pub by_hour: Vec<Bucket>,
    pub by_network: Vec<Bucket>,
    pub volume: Volume,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ResponseStats {
    pub conversations: u64,
    pub answered: u64,
    pub median_first_response_secs: Option<i64>,
    pub p90_first_response_secs: Option<i64>,
    /// Answered within target ÷ (answered + overdue unanswered); `None` when nothing is due yet.
    pub within_target_share: Option<f64>,
    pub within_target: u64,
    pub missed_target: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bucket {
    pub key: String,
    #[serde(flatten)]
    pub stats: ResponseStats,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Volume {
    pub total: u64,
    pub by_intent: BTreeMap<String, u64>,
    pub by_sentiment: BTreeMap<String, u64>,
    /// Per UTC day: intent → posts.
    pub by_day: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The surveys' satisfaction over `[from, to)`, all groups together (the API's report and
/// the dashboard).
pub async fn satisfaction_total(
    store: &dyn Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Satisfaction, StoreError> {
    Ok(store
        .satisfaction(from, to, None)
        .await?
        .into_iter()
        .next()
        .unwrap_or_else(|| Satisfaction::empty("all")))
}

/// A metrics bound written as a day (`2026-11-01`, midnight UTC) or an RFC 3339 time; `None`
/// when it is neither, or outside the years 1900–9000 (so range arithmetic cannot overflow).
pub fn parse_bound(v: &str) -> Option<DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
        .filter(|t| (1900..=9000).contains(&t.year()))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

pub fn stats<'a>(
    samples: impl IntoIterator<Item = &'a ResponseSample>,
    now: DateTime<Utc>,
) -> ResponseStats {
    let mut times = vec![];
    let mut s = ResponseStats::default();
    for sample in samples {
        s.conversations += 1;
        match (sample.first_response_at, sample.first_response_secs) {
            (Some(at), Some(secs)) => {
                s.answered += 1;
                times.push(secs);
                if at <= sample.first_response_due {
                    s.within_target += 1;
                } else {
                    s.missed_target += 1;
                }
            }
            _ if now > sample.first_response_due => s.missed_target += 1,
            _ => {}
        }
    }
    times.sort_unstable();
    s.median_first_response_secs = percentile(&times, 50.0);
    s.p90_first_response_secs = percentile(&times, 90.0);
    let judged = s.within_target + s.missed_target;
    s.within_target_share = (judged > 0).then(|| s.within_target as f64 / judged as f64);
    s
}

pub fn compute(
    samples: &[ResponseSample],
    volume: &[VolumeCount],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Metrics {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut weekday: Vec<Vec<&ResponseSample>> = vec![vec![]; 7];
    let mut hour: Vec<Vec<&ResponseSample>> = vec![vec![]; 24];
    let mut network: BTreeMap<String, Vec<&ResponseSample>> = BTreeMap::new();
    for s in samples {
        let local = s.opened_at.with_timezone(&tz);
        weekday[local.weekday().num_days_from_monday() as usize].push(s);
        hour[local.hour() as usize].push(s);
        network.entry(s.network.to_string()).or_default().push(s);
    }
    let mut v = Volume::default();
    for c in volume {
        v.total += c.posts;
        *v.by_intent.entry(c.intent.to_string()).or_default() += c.posts;
        *v.by_sentiment.entry(c.sentiment.to_string()).or_default() += c.posts;
        *v.by_day
            .entry(c.day.to_string())
            .or_default()
            .entry(c.intent.to_string())
            .or_default() += c.posts;
    }
    Metrics {
        from,
        to,
        timezone: tz.name().to_string(),
        overall: stats(samples, now),
        by_weekday: weekday
            .iter()
            .enumerate()
            .map(|(i, b)| Bucket {
                key: DAYS[i].into(),
                stats: stats(b.iter().copied(), now),
            })
            .collect(),
        by_hour: hour
            .iter()
            .enumerate()
            .map(|(i, b)| Bucket {
                key: format!("{i:02}"),
                stats: stats(b.iter().copied(), now),
            })
            .collect(),
        by_network: network
            .into_iter()
            .map(|(k, b)| Bucket {
                key: k,
                stats: stats(b.iter().copied(), now),
            })
            .collect(),
        volume: v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::{ConversationId, Network};

    fn sample(opened: &str, secs: Option<i64>, target_mins: i64) -> ResponseSample {
        let opened_at = DateTime::parse_from_rfc3339(opened)
            .expect("time")
            .with_timezone(&Utc);
        ResponseSample {
            conversation_id: ConversationId(1),
            network: Network::X,
            opened_at,
            first_response_due: opened_at + chrono::Duration::minutes(target_mins),
            first_response_at: secs.map(|s| opened_at + chrono::Duration::seconds(s)),
            first_response_secs: secs,
        }
    }

    #[test]
    fn median_p90_and_share_within_target() {
        let samples: Vec<_> = (1..=10)
            .map(|i| sample("2017-08-18T20:47:00-07:00", Some(i * 60), 5))
            .collect();
        let s = stats(&samples, Utc::now());
        assert_eq!(s.answered, 10);
        assert_eq!(s.median_first_response_secs, Some(300));
        assert_eq!(s.p90_first_response_secs, Some(540));
        assert_eq!(s.within_target, 5);
        assert_eq!(s.within_target_share, Some(0.5));
    }

    #[test]
    fn unanswered_counts_as_missed_only_once_overdue() {
        let samples = vec![sample("2017-08-18T20:47:00Z", None, 30)];
        let before = DateTime::parse_from_rfc3339("2017-08-18T21:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(stats(&samples, before).within_target_share, None);
        assert_eq!(stats(&samples, Utc::now()).within_target_share, Some(0.0));
    }

    #[test]
    fn buckets_use_the_team_time_zone() {
        // Friday 20:47 in California is Saturday 03:47 UTC.
        let samples = vec![sample("2017-08-18T20:47:00-07:00", Some(1440), 30)];
        let tz: Tz = "America/Los_Angeles".parse().expect("tz");
        let m = compute(&samples, &[], Utc::now(), Utc::now(), tz, Utc::now());
        assert_eq!(m.by_weekday[4].stats.conversations, 1, "friday");
        assert_eq!(m.by_hour[20].stats.conversations, 1);
        assert_eq!(m.overall.median_first_response_secs, Some(1440));
    }
}
