//! Response-time reports: how fast the team answered and resolved, grouped every way a lead
//! asks about it, with the share within target and each breach explained.
//!
//! Times are calendar seconds (what the customer lived through) from the first customer post;
//! whether a target was met is judged on the policy's own clock (see [`super::policy`]).
//! Percentiles use the nearest-rank method: p90 is the smallest time at least 90 % of the
//! conversations were answered within, always one of the observed times.

use super::policy::Assessment;
use super::timeline::{Progress, TargetKind, TargetStatus};
use crate::analysis::Intent;
use crate::csv::field as csv_field;
use crate::network::Network;
use crate::priority::human;
use crate::sla::SlaClock;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One conversation, as the report sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub conversation: String,
    pub team: String,
    pub agent: Option<String>,
    pub network: Network,
    pub intent: Intent,
    /// The first customer post (network time).
    pub opened_at: DateTime<Utc>,
    /// The first brand answer.
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The policy that applied, and how each target went (empty: no targets known).
    pub policy: Option<String>,
    pub targets: Vec<TargetStatus>,
}

impl ResponseRecord {
    /// Takes the policy's name and target verdicts from an assessment.
    pub fn with_assessment(mut self, a: &Assessment) -> Self {
        self.policy = Some(a.policy.clone());
        self.targets = std::iter::once(&a.first_response)
            .chain(&a.resolution)
            .chain(&a.next_responses)
            .cloned()
            .collect();
        self
    }

    pub fn first_response_secs(&self) -> Option<i64> {
        self.first_response_at
            .map(|t| (t - self.opened_at).num_seconds())
    }

    pub fn resolution_secs(&self) -> Option<i64> {
        self.resolved_at.map(|t| (t - self.opened_at).num_seconds())
    }

    /// Whether the `kind` target held: `Some(true)` met in time, `Some(false)` missed, `None`
    /// undecided (still running or paused in time, or no such target).
    fn verdict(&self, kind: TargetKind) -> Option<bool> {
        let mut any = None;
        for t in self.targets.iter().filter(|t| t.kind == kind) {
            if t.breached() {
                return Some(false);
            }
            if matches!(t.progress, Progress::Met { .. }) {
                any = Some(true);
            }
        }
        any
    }
}

/// Count, mean and percentiles of a set of durations in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: usize,
    pub mean_secs: Option<f64>,
    pub p50_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    pub p95_secs: Option<i64>,
    pub max_secs: Option<i64>,
}

/// The nearest-rank percentile of sorted values: the value at rank ⌈p·n/100⌉.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (usize::try_from(p).unwrap_or(100).min(100) * n)
        .div_ceil(100)
        .max(1);
    sorted.get(rank - 1).copied()
}

impl Distribution {
    pub fn of(values: impl IntoIterator<Item = i64>) -> Self {
        let mut v: Vec<i64> = values.into_iter().collect();
        v.sort_unstable();
        let count = v.len();
        let mean_secs =
            (count > 0).then(|| v.iter().map(|&x| x as f64).sum::<f64>() / count as f64);
        Distribution {
            count,
            mean_secs,
            p50_secs: percentile(&v, 50),
            p90_secs: percentile(&v, 90),
            p95_secs: percentile(&v, 95),
            max_secs: v.last().copied(),
        }
    }
}

/// How many met the target among those decided.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub met: usize,
    pub decided: usize,
    pub ratio: f64,
}

impl Share {
    fn of(verdicts: impl IntoIterator<Item = bool>) -> Option<Self> {
        let (mut met, mut decided) = (0, 0);
        for v in verdicts {
            decided += 1;
            met += usize::from(v);
        }
        (decided > 0).then(|| Share {
            met,
            decided,
            ratio: met as f64 / decided as f64,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub conversations: usize,
    pub answered: usize,
    pub first_response: Distribution,
    pub resolution: Distribution,
    pub first_response_within_target: Option<Share>,
    pub resolution_within_target: Option<Share>,
}

impl Summary {
    fn of(records: &[&ResponseRecord]) -> Self {
        Summary {
            conversations: records.len(),
            answered: records
                .iter()
                .filter(|r| r.first_response_at.is_some())
                .count(),
            first_response: Distribution::of(
                records.iter().filter_map(|r| r.first_response_secs()),
            ),
            resolution: Distribution::of(records.iter().filter_map(|r| r.resolution_secs())),
            first_response_within_target: Share::of(
                records
                    .iter()
                    .filter_map(|r| r.verdict(TargetKind::FirstResponse)),
            ),
            resolution_within_target: Share::of(
                records
                    .iter()
                    .filter_map(|r| r.verdict(TargetKind::Resolution)),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Team,
    Agent,
    Network,
    Intent,
    Weekday,
    Hour,
    /// `business` or `off`: whether the team's clock covered the first post.
    Hours,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Team,
        Dimension::Agent,
        Dimension::Network,
        Dimension::Intent,
        Dimension::Weekday,
        Dimension::Hour,
        Dimension::Hours,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Team => "team",
            Dimension::Agent => "agent",
            Dimension::Network => "network",
            Dimension::Intent => "intent",
            Dimension::Weekday => "weekday",
            Dimension::Hour => "hour",
            Dimension::Hours => "hours",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub dimension: Dimension,
    pub key: String,
    pub summary: Summary,
}

/// A missed target and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub conversation: String,
    pub team: String,
    pub target: TargetKind,
    pub policy: Option<String>,
    pub due: DateTime<Utc>,
    /// When the brand did it (answered or resolved), if it has.
    pub done_at: Option<DateTime<Utc>>,
    /// By how much, up to `done_at` or the report's `now`.
    pub late_by_secs: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The zone weekdays and hours are counted in.
    pub timezone: String,
    pub now: DateTime<Utc>,
    pub overall: Summary,
    pub groups: Vec<Group>,
    pub breaches: Vec<Breach>,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Builds the report. `tz` sets weekdays and hours; `hours` says which posts came in business
/// hours (calendar: all of them); `now` dates unanswered breaches.
pub fn build(records: &[ResponseRecord], tz: Tz, hours: &SlaClock, now: DateTime<Utc>) -> Report {
    let mut groups: BTreeMap<(Dimension, u32, String), Vec<&ResponseRecord>> = BTreeMap::new();
    for r in records {
        let local = r.opened_at.with_timezone(&tz);
        let weekday = local.weekday().num_days_from_monday();
        let keys = [
            (Dimension::Team, 0, r.team.clone()),
            (
                Dimension::Agent,
                0,
                r.agent.clone().unwrap_or_else(|| "(unassigned)".into()),
            ),
            (Dimension::Network, 0, r.network.to_string()),
            (Dimension::Intent, 0, r.intent.to_string()),
            (
                Dimension::Weekday,
                weekday,
                WEEKDAYS[weekday as usize % 7].to_string(),
            ),
            (
                Dimension::Hour,
                local.hour(),
                format!("{:02}", local.hour()),
            ),
            (
                Dimension::Hours,
                0,
                if hours.is_covered(r.opened_at) {
                    "business"
                } else {
                    "off"
                }
                .to_string(),
            ),
        ];
        for key in keys {
            groups.entry(key).or_default().push(r);
        }
    }
    let all: Vec<&ResponseRecord> = records.iter().collect();
    Report {
        timezone: tz.name().to_string(),
        now,
        overall: Summary::of(&all),
        groups: groups
            .into_iter()
            .map(|((dimension, _, key), rs)| Group {
                dimension,
                key,
                summary: Summary::of(&rs),
            })
            .collect(),
        breaches: records.iter().flat_map(|r| breaches_of(r, now)).collect(),
    }
}

fn breaches_of(r: &ResponseRecord, now: DateTime<Utc>) -> Vec<Breach> {
    r.targets
        .iter()
        .filter_map(|t| {
            let due = t.breached_at?;
            let done_at = match t.progress {
                Progress::Met { at } | Progress::Cancelled { at } => Some(at),
                _ => None,
            };
            let late = done_at.unwrap_or(now) - due;
            let what = match t.kind {
                TargetKind::FirstResponse => "first answer",
                TargetKind::NextResponse => "answer",
                TargetKind::Resolution => "resolution",
            };
            let target = human(Duration::seconds(t.target_secs));
            let policy = r.policy.as_deref().unwrap_or("no policy");
            let reason = match done_at {
                Some(_) => format!(
                    "{what} came {} after due (target {target}, {policy})",
                    human(late)
                ),
                None => format!(
                    "no {what} yet, {} past due (target {target}, {policy})",
                    human(late)
                ),
            };
            Some(Breach {
                conversation: r.conversation.clone(),
                team: r.team.clone(),
                target: t.kind,
                policy: r.policy.clone(),
                due,
                done_at,
                late_by_secs: late.num_seconds(),
                reason,
            })
        })
        .collect()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn dist_cells(d: &Distribution) -> String {
    format!(
        "{},{},{},{},{},{}",
        d.count,
        opt(d.mean_secs.map(|m| format!("{m:.1}"))),
        opt(d.p50_secs),
        opt(d.p90_secs),
        opt(d.p95_secs),
        opt(d.max_secs)
    )
}

impl Report {
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// One row for everything, then one per group.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "dimension,key,conversations,answered,\
             first_response_count,first_response_mean_s,first_response_p50_s,first_response_p90_s,first_response_p95_s,first_response_max_s,first_response_within_target,\
             resolution_count,resolution_mean_s,resolution_p50_s,resolution_p90_s,resolution_p95_s,resolution_max_s,resolution_within_target\n",
        );
        let rows = std::iter::once(("all", "all".to_string(), &self.overall)).chain(
            self.groups
                .iter()
                .map(|g| (g.dimension.as_str(), g.key.clone(), &g.summary)),
        );
        for (dim, key, s) in rows {
            let share = |s: Option<Share>| opt(s.map(|s| format!("{:.4}", s.ratio)));
            let _ = writeln!(
                out,
                "{dim},{},{},{},{},{},{},{}",
                csv_field(&key),
                s.conversations,
                s.answered,
                dist_cells(&s.first_response),
                share(s.first_response_within_target),
                dist_cells(&s.resolution),
                share(s.resolution_within_target),
            );
        }
        out
    }

    pub fn breaches_csv(&self) -> String {
        let mut out =
            String::from("conversation,team,target,policy,due,done_at,late_by_s,reason\n");
        for b in &self.breaches {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                csv_field(&b.conversation),
                csv_field(&b.team),
                b.target.as_str(),
                csv_field(b.policy.as_deref().unwrap_or("")),
                b.due.to_rfc3339(),
                opt(b.done_at.map(|t| t.to_rfc3339())),
                b.late_by_secs,
                csv_field(&b.reason)
            );
        }
        out
    }

    /// The summary of one group, e.g. `("team", "care-eu")`.
    pub fn group(&self, dimension: Dimension, key: &str) -> Option<&Summary> {
        self.groups
            .iter()
            .find(|g| g.dimension == dimension && g.key == key)
            .map(|g| &g.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, one_policy};
    use crate::triage::facts::Facts;
    use crate::triage::policy::PolicySet;
    use crate::triage::timeline::{ClockEvent, Moment};

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 95), Some(10));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let d = Distribution::of([30, 10, 20]);
        assert_eq!(
            (d.count, d.mean_secs, d.p50_secs, d.max_secs),
            (3, Some(20.0), Some(20), Some(30))
        );
    }

    fn record(
        id: &str,
        team: &str,
        opened: &str,
        answered: Option<&str>,
        set: &PolicySet,
        now: DateTime<Utc>,
    ) -> ResponseRecord {
        let mut history = vec![Moment::new(at(opened), ClockEvent::CustomerPost)];
        if let Some(a) = answered {
            history.push(Moment::new(at(a), ClockEvent::BrandReply));
        }
        let assessment = set.assess(&Facts::default(), &history, now);
        ResponseRecord {
            conversation: id.into(),
            team: team.into(),
            agent: Some("ana".into()),
            network: Network::X,
            intent: Intent::Question,
            opened_at: at(opened),
            first_response_at: answered.map(at),
            resolved_at: None,
            policy: None,
            targets: vec![],
        }
        .with_assessment(&assessment)
    }

    #[test]
    fn groups_shares_breaches_json_and_csv() {
        let set = one_policy("one hour", "1h");
        let now = at("2024-06-10T12:00:00Z");
        let records = vec![
            // Monday 10:00 UTC, answered in 10 min.
            record(
                "1",
                "care-eu",
                "2024-06-03T10:00:00Z",
                Some("2024-06-03T10:10:00Z"),
                &set,
                now,
            ),
            // Monday 11:00, answered in 2 h: breached.
            record(
                "2",
                "care-eu",
                "2024-06-03T11:00:00Z",
                Some("2024-06-03T13:00:00Z"),
                &set,
                now,
            ),
            // Saturday, never answered: breached, still open.
            record("3", "care-us", "2024-06-08T10:00:00Z", None, &set, now),
        ];
        let office = SlaClock::Business(
            crate::sla::BusinessHours::parse("UTC", &[("mon-fri", "09:00-17:00")], &[])
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let report = build(&records, chrono_tz::UTC, &office, now);
        assert_eq!(report.overall.conversations, 3);
        assert_eq!(report.overall.answered, 2);
        assert_eq!(report.overall.first_response.p50_secs, Some(600));
        assert_eq!(report.overall.first_response.p95_secs, Some(7200));
        let share = report.overall.first_response_within_target;
        assert_eq!(share.map(|s| (s.met, s.decided)), Some((1, 3)));
        let eu = report.group(Dimension::Team, "care-eu");
        assert_eq!(eu.map(|s| s.first_response.mean_secs), Some(Some(3900.0)));
        assert_eq!(
            report
                .group(Dimension::Weekday, "sat")
                .map(|s| s.conversations),
            Some(1)
        );
        assert_eq!(
            report
                .group(Dimension::Hours, "off")
                .map(|s| s.conversations),
            Some(1)
        );
        assert_eq!(
            report.group(Dimension::Hour, "11").map(|s| s.conversations),
            Some(1)
        );
        assert_eq!(report.breaches.len(), 2);
        assert_eq!(report.breaches[0].late_by_secs, 3600);
        assert!(
            report.breaches[0]
                .reason
                .contains("first answer came 1 h after due"),
            "{}",
            report.breaches[0].reason
        );
        assert!(
            report.breaches[1].reason.starts_with("no first answer yet"),
            "{}",
            report.breaches[1].reason
        );
        // Weekdays come in calendar order, not alphabetical.
        let days: Vec<&str> = report
            .groups
            .iter()
            .filter(|g| g.dimension == Dimension::Weekday)
            .map(|g| g.key.as_str())
            .collect();
        assert_eq!(days, ["mon", "sat"]);

        let json = report.to_json().unwrap_or_else(|e| panic!("{e}"));
        let back: Report = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report);
        let csv = report.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 1 + report.groups.len());
        assert!(
            lines[1].starts_with("all,all,3,2,2,3900.0,600,7200,7200,7200,0.3333,"),
            "{}",
            lines[1]
        );
        let columns = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
        assert_eq!(report.breaches_csv().lines().count(), 3);
    }

    proptest::proptest! {
        #[test]
        fn percentiles_are_observed_values_in_order(mut v in proptest::collection::vec(-1000i64..100_000, 1..200)) {
            v.sort_unstable();
            let d = Distribution::of(v.clone());
            let (p50, p90, p95, max) = (d.p50_secs.unwrap_or(0), d.p90_secs.unwrap_or(0), d.p95_secs.unwrap_or(0), d.max_secs.unwrap_or(0));
            proptest::prop_assert!(v.contains(&p50) && v.contains(&p90) && v.contains(&p95));
            proptest::prop_assert!(p50 <= p90 && p90 <= p95 && p95 <= max);
            // At least p % of values are ≤ the p-th percentile, and fewer than p % are below it.
            let at_most = v.iter().filter(|&&x| x <= p90).count() as f64 / v.len() as f64;
            let below = v.iter().filter(|&&x| x < p90).count() as f64 / v.len() as f64;
            proptest::prop_assert!(at_most >= 0.9 && below < 0.9);
        }
    }
}
