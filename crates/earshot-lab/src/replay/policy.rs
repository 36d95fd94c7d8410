//! What a sample policy would have flagged on the replayed conversations, through earshot's
//! own triage report (`earshot_core::triage`): US office hours with the US holidays read from
//! an `.ics` feed, complaints 1 h / 8 h, everything else 4 h / 16 h.

use super::earshot_path::StoredConversation;
use super::LabError;
use chrono::{DateTime, Utc};
use earshot_analyze::Analyzer;
use earshot_core::analysis::Intent;
use earshot_core::network::Network;
use earshot_core::priority;
use earshot_core::sla::{ResponseTargets, SlaClock};
use earshot_core::threading::signals_of;
use earshot_core::triage::condition::Condition;
use earshot_core::triage::hours::HoursConfig;
use earshot_core::triage::policy::{PolicyConfig, PolicySet, TargetConfig};
use earshot_core::triage::report::ResponseRecord;
use earshot_core::triage::timeline::{ClockEvent, Moment, Progress};
use earshot_core::triage::Facts;
use std::collections::BTreeMap;

/// US federal holidays as a calendar feed would publish them (RRULEs from 2006, not a list of
/// dates; TWCS has opening tweets from 2011).
pub const US_HOLIDAYS_ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//earshot//replay//EN\r\n\
BEGIN:VEVENT\r\nUID:ny\r\nSUMMARY:New Year's Day\r\nDTSTART;VALUE=DATE:20060101\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:mlk\r\nSUMMARY:Martin Luther King Jr. Day\r\nDTSTART;VALUE=DATE:20060116\r\nRRULE:FREQ=YEARLY;BYMONTH=1;BYDAY=3MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:pres\r\nSUMMARY:Presidents' Day\r\nDTSTART;VALUE=DATE:20060220\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:mem\r\nSUMMARY:Memorial Day\r\nDTSTART;VALUE=DATE:20060529\r\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:ind\r\nSUMMARY:Independence Day\r\nDTSTART;VALUE=DATE:20060704\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:lab\r\nSUMMARY:Labor Day\r\nDTSTART;VALUE=DATE:20060904\r\nRRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=1MO\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:tg\r\nSUMMARY:Thanksgiving\r\nDTSTART;VALUE=DATE:20061123\r\nDTEND;VALUE=DATE:20061125\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:xmas\r\nSUMMARY:Christmas\r\nDTSTART;VALUE=DATE:20061225\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

/// The office: Mon–Fri 09:00–17:00 America/New_York minus [`US_HOLIDAYS_ICS`], on earshot's
/// clock.
pub fn office() -> Result<SlaClock, LabError> {
    let hours = HoursConfig {
        timezone: "America/New_York".into(),
        week: [("mon-fri".to_string(), "09:00-17:00".to_string())].into(),
        holidays: vec![],
        holidays_ics: Some("us-holidays.ics (embedded)".into()),
    };
    let (office, warnings) = hours
        .clock(Some(US_HOLIDAYS_ICS), 2006..=2030)
        .map_err(|e| LabError::Data(e.to_string()))?;
    if !warnings.is_empty() {
        return Err(LabError::Data(format!("holiday calendar: {warnings:?}")));
    }
    Ok(office)
}

/// The sample policies, as an admin would write them in TOML:
///
/// ```toml
/// [[policies]]
/// name = "complaints 1h"
/// when = { intent = ["complaint"] }
/// first_response = { within = "1h", hours = "us-office" }
/// resolution = { within = "8h", hours = "us-office" }
///
/// [[policies]]
/// name = "everything else 4h"
/// first_response = { within = "4h", hours = "us-office" }
/// resolution = { within = "16h", hours = "us-office" }
/// ```
pub fn sample_policies(office: &SlaClock) -> Result<PolicySet, LabError> {
    let target = |within: &str| -> Result<TargetConfig, LabError> {
        Ok(TargetConfig {
            within: within.parse().map_err(|e| LabError::Data(format!("{e}")))?,
            hours: Some("us-office".into()),
        })
    };
    let configs = vec![
        PolicyConfig {
            name: "complaints 1h".into(),
            when: Condition {
                intent: vec![Intent::Complaint],
                ..Condition::default()
            },
            first_response: target("1h")?,
            resolution: Some(target("8h")?),
            next_response: None,
        },
        PolicyConfig {
            name: "everything else 4h".into(),
            when: Condition::default(),
            first_response: target("4h")?,
            resolution: Some(target("16h")?),
            next_response: None,
        },
    ];
    let clocks: BTreeMap<String, SlaClock> = [("us-office".to_string(), office.clone())].into();
    PolicySet::compile(
        &configs,
        &clocks,
        ResponseTargets::default(),
        ("calendar", SlaClock::Calendar),
    )
    .map_err(|e| LabError::Data(e.to_string()))
}

/// One conversation assessed by the sample policies: its report record and why that policy.
pub struct Assessed {
    pub record: ResponseRecord,
    pub why: String,
}

/// Assesses a stored conversation; `resolved_by_last_answer` marks it resolved at the
/// brand's last post (the IBM data ends each conversation with the agent's final answer).
pub fn assess(
    c: &StoredConversation,
    policies: &PolicySet,
    analyzer: &Analyzer,
    office: &SlaClock,
    resolved_by_last_answer: bool,
    now: DateTime<Utc>,
) -> Option<Assessed> {
    let first = c.posts.iter().find(|p| !p.from_brand)?;
    let a = analyzer.analyze_text(&first.text, None, None);
    let signals = signals_of(&a);
    let team = c.brand.clone().unwrap_or_else(|| "(none)".into());
    let facts = Facts {
        band: priority::band(&signals),
        intent: a.intent.label,
        sentiment: a.sentiment.label,
        network: Network::X,
        language: a.language.language.code().to_string(),
        text: first.text.clone(),
        team: Some(team.clone()),
        ..Facts::default()
    }
    .on_clock(office, c.opened_at);
    let mut history: Vec<Moment> = c
        .posts
        .iter()
        .map(|p| {
            let event = if p.from_brand {
                ClockEvent::BrandReply
            } else {
                ClockEvent::CustomerPost
            };
            Moment::new(p.created_at, event)
        })
        .collect();
    if resolved_by_last_answer {
        if let Some(last) = c
            .posts
            .iter()
            .filter(|p| p.from_brand)
            .map(|p| p.created_at)
            .max()
        {
            history.push(Moment::new(last, ClockEvent::Resolved));
        }
    }
    let assessment = policies.assess(&facts, &history, now);
    let opened_at = assessment.first_response.started_at?;
    let met = |p: &Progress| match p {
        Progress::Met { at } => Some(*at),
        _ => None,
    };
    let record = ResponseRecord {
        conversation: c.root.clone(),
        team,
        agent: None,
        network: Network::X,
        intent: facts.intent,
        opened_at,
        first_response_at: met(&assessment.first_response.progress),
        resolved_at: assessment
            .resolution
            .as_ref()
            .and_then(|r| met(&r.progress)),
        policy: None,
        targets: vec![],
    }
    .with_assessment(&assessment);
    Some(Assessed {
        record,
        why: assessment.why.clone(),
    })
}
