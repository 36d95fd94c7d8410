//! Replays real brand answers through earshot and checks every first-response time against
//! an independent reference.
//!
//! Two paths, sharing nothing but the raw files:
//! - **earshot** ([`earshot_path`]): the files go through earshot's importer, analysis and
//!   threading into a real SQLite store; first responses are read back from the stored
//!   conversations, and office time is counted by earshot's business-hours clock.
//! - **reference** ([`reference`]): the same files read by hand (no earshot code, no chrono),
//!   conversations rebuilt from the raw reply links, office hours walked minute by minute.
//!
//! Every conversation either side has is compared, by the post that opened it: the calendar
//! and the office-hours first response, to the millisecond. A conversation only one side has,
//! or a time only one side has, counts as a difference. Then earshot's triage report shows
//! what a sample policy would have flagged.

pub mod earshot_path;
pub mod policy;
pub mod reference;

use chrono::{Duration, Utc};
use earshot_analyze::Analyzer;
use earshot_core::triage::report::{self, Dimension, Distribution};
use earshot_core::triage::TargetKind;
use earshot_path::StoredConversation;
use reference::RefConversation;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{0}")]
    Data(String),
    #[error("store: {0}")]
    Store(#[from] earshot_store::StoreError),
}

impl LabError {
    pub fn read(path: &Path, e: impl std::fmt::Display) -> Self {
        LabError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// How the two paths compare on one data set.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Comparison {
    /// Conversations both paths have.
    pub compared: usize,
    /// Of those, with a brand answer on both sides.
    pub answered: usize,
    pub calendar_differ: usize,
    pub office_differ: usize,
    /// A first response on one side only.
    pub one_sided: usize,
    pub only_earshot: usize,
    pub only_reference: usize,
    /// A few of the differences, said plainly.
    pub examples: Vec<String>,
}

impl Comparison {
    pub fn differences(&self) -> usize {
        self.calendar_differ
            + self.office_differ
            + self.one_sided
            + self.only_earshot
            + self.only_reference
    }
}

const SHOWN_EXAMPLES: usize = 10;

/// Compares the paths conversation by conversation (by the post that opened it).
pub fn compare(earshot: &[StoredConversation], reference: &[RefConversation]) -> Comparison {
    let ours: BTreeMap<&str, &StoredConversation> =
        earshot.iter().map(|c| (c.root.as_str(), c)).collect();
    let theirs: BTreeMap<&str, &RefConversation> =
        reference.iter().map(|c| (c.root.as_str(), c)).collect();
    let roots: BTreeSet<&str> = ours.keys().chain(theirs.keys()).copied().collect();
    let mut out = Comparison::default();
    let note = |out: &mut Comparison, s: String| {
        if out.examples.len() < SHOWN_EXAMPLES {
            out.examples.push(s);
        }
    };
    for root in roots {
        let (e, r) = match (ours.get(root), theirs.get(root)) {
            (Some(e), Some(r)) => (e, r),
            (Some(_), None) => {
                out.only_earshot += 1;
                note(&mut out, format!("{root}: a conversation in earshot only"));
                continue;
            }
            (None, Some(_)) => {
                out.only_reference += 1;
                note(
                    &mut out,
                    format!("{root}: a conversation in the reference only"),
                );
                continue;
            }
            (None, None) => continue,
        };
        out.compared += 1;
        let calendar = e
            .first_response_at
            .map(|at| (at - e.opened_at).num_milliseconds());
        match (calendar, r.first_response_ms) {
            (Some(a), Some(b)) => {
                out.answered += 1;
                // The stored whole seconds must be the same time, truncated.
                if a != b || e.first_response_secs != Some(b / 1000) {
                    out.calendar_differ += 1;
                    note(&mut out, format!("{root}: first response {a} ms in earshot ({:?} s stored), {b} ms in the reference", e.first_response_secs));
                }
                if e.first_response_office_ms != r.first_response_office_ms {
                    out.office_differ += 1;
                    note(&mut out, format!("{root}: office time to the first response {:?} ms in earshot, {:?} ms in the reference", e.first_response_office_ms, r.first_response_office_ms));
                }
            }
            (None, None) => {}
            (a, b) => {
                out.one_sided += 1;
                note(
                    &mut out,
                    format!(
                        "{root}: first response {a:?} ms in earshot, {b:?} ms in the reference"
                    ),
                );
            }
        }
    }
    out
}

/// What a replay found, and its printed report.
pub struct Replay {
    pub ibm: Comparison,
    pub twcs: Comparison,
    pub markdown: String,
    /// earshot's triage report over every replayed conversation (JSON, CSV, breaches CSV).
    pub exports: Vec<(&'static str, String)>,
}

impl Replay {
    pub fn differences(&self) -> usize {
        self.ibm.differences() + self.twcs.differences()
    }
}

fn mins(s: Option<i64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{:.1}", s as f64 / 60.0))
}

/// Replays `data` (the shared data folder: `ibm-care-conversations/dev.json` and
/// `twcs-sample-head/dev.csv`).
pub async fn run(data: &Path) -> Result<Replay, LabError> {
    let ibm_json = data.join("ibm-care-conversations/dev.json");
    let twcs_csv = data.join("twcs-sample-head/dev.csv");
    for p in [&ibm_json, &twcs_csv] {
        if !p.exists() {
            return Err(LabError::read(
                p,
                "no such file (pass the shared data folder)",
            ));
        }
    }
    let office = policy::office()?;
    let analyzer = Analyzer::default();

    // earshot's path.
    let scratch = tempfile::tempdir().map_err(|e| LabError::Data(e.to_string()))?;
    let ibm_jsonl = scratch.path().join("ibm-care-conversations.jsonl");
    earshot_path::ibm_as_canonical(&ibm_json, &ibm_jsonl)?;
    let ibm_side =
        earshot_path::replay(std::slice::from_ref(&ibm_jsonl), &analyzer, &office).await?;
    let twcs_side =
        earshot_path::replay(std::slice::from_ref(&twcs_csv), &analyzer, &office).await?;

    // The reference.
    let (ibm_raw, ibm_unreadable) = reference::ibm_posts(&ibm_json).map_err(LabError::Data)?;
    let (twcs_raw, twcs_unreadable) = reference::twcs_posts(&twcs_csv).map_err(LabError::Data)?;
    let ibm_ref = reference::conversations(ibm_raw);
    let twcs_ref = reference::conversations(twcs_raw);

    let ibm = compare(&ibm_side.conversations, &ibm_ref);
    let twcs = compare(&twcs_side.conversations, &twcs_ref);

    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Response-time replay\n");
    let _ = writeln!(
        w,
        "Data: {} — IBM care conversations (dev split, 2020; {} posts read by earshot) and the TWCS head (dev split, Oct–Nov 2017; {} posts).",
        data.display(),
        ibm_side.posts_read,
        twcs_side.posts_read
    );
    for (name, side, unreadable) in [
        ("IBM", &ibm_side, ibm_unreadable),
        ("TWCS", &twcs_side, twcs_unreadable),
    ] {
        if !side.rejected.is_empty() || unreadable > 0 {
            let _ = writeln!(
                w,
                "{name}: earshot rejected {} posts ({}); the reference could not read {unreadable}.",
                side.rejected.len(),
                side.rejected.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            );
        }
    }
    let _ = writeln!(
        w,
        "\n## earshot against the reference, conversation by conversation\n"
    );
    let _ = writeln!(w, "| data | conversations (earshot / reference) | compared | answered on both | calendar time differs | office time differs | answered on one side only | in one path only |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, c, e, r) in [
        ("IBM", &ibm, ibm_side.conversations.len(), ibm_ref.len()),
        ("TWCS", &twcs, twcs_side.conversations.len(), twcs_ref.len()),
    ] {
        let _ = writeln!(
            w,
            "| {name} | {e} / {r} | {} | {} | {} | {} | {} | {} |",
            c.compared,
            c.answered,
            c.calendar_differ,
            c.office_differ,
            c.one_sided,
            c.only_earshot + c.only_reference
        );
    }
    for (name, c) in [("IBM", &ibm), ("TWCS", &twcs)] {
        for e in &c.examples {
            let _ = writeln!(w, "- {name} {e}");
        }
    }

    // First response per brand, as earshot stored it.
    for (title, side, min_n) in [
        ("IBM care conversations", &ibm_side, 5usize),
        ("TWCS head", &twcs_side, 20),
    ] {
        let _ = writeln!(
            w,
            "\n## {title}: first response per brand (earshot, minutes)\n"
        );
        let _ = writeln!(w, "| brand | conversations | answered | p50 | p90 | office-hours p50 | office-hours p90 |");
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
        let mut by_brand: BTreeMap<String, Vec<&StoredConversation>> = BTreeMap::new();
        for c in &side.conversations {
            by_brand
                .entry(c.brand.clone().unwrap_or_else(|| "(unanswered)".into()))
                .or_default()
                .push(c);
        }
        let mut brands: Vec<(String, Vec<&StoredConversation>)> = by_brand.into_iter().collect();
        brands.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        let mut rest = 0;
        for (brand, cs) in &brands {
            if cs.len() < min_n {
                rest += 1;
                continue;
            }
            let cal = Distribution::of(cs.iter().filter_map(|c| c.first_response_secs));
            let off = Distribution::of(
                cs.iter()
                    .filter_map(|c| c.first_response_office_ms.map(|ms| ms / 1000)),
            );
            let _ = writeln!(
                w,
                "| {brand} | {} | {} | {} | {} | {} | {} |",
                cs.len(),
                cal.count,
                mins(cal.p50_secs),
                mins(cal.p90_secs),
                mins(off.p50_secs),
                mins(off.p90_secs)
            );
        }
        if rest > 0 {
            let _ = writeln!(
                w,
                "\n({rest} brands with fewer than {min_n} conversations not listed.)"
            );
        }
    }

    // The sample policy, through earshot's triage report.
    let policies = policy::sample_policies(&office)?;
    let now = ibm_side
        .conversations
        .iter()
        .chain(&twcs_side.conversations)
        .flat_map(|c| c.posts.iter().map(|p| p.created_at))
        .max()
        .unwrap_or_else(Utc::now)
        + Duration::days(1);
    let mut why_of: BTreeMap<String, String> = BTreeMap::new();
    let mut ibm_records = vec![];
    let mut all_records = vec![];
    for (side, ibm_data) in [(&ibm_side, true), (&twcs_side, false)] {
        for c in &side.conversations {
            if let Some(a) = policy::assess(c, &policies, &analyzer, &office, ibm_data, now) {
                why_of.insert(c.root.clone(), a.why);
                if ibm_data {
                    ibm_records.push(a.record.clone());
                }
                all_records.push(a.record);
            }
        }
    }
    let rep = report::build(&ibm_records, office.tz(), &office, now);
    let _ = writeln!(w, "\n## What the sample policy flags (IBM conversations)\n");
    let _ = writeln!(w, "Complaints (intent read by earshot-analyze) 1 h first answer / 8 h resolution, others 4 h / 16 h; office hours Mon–Fri 09:00–17:00 America/New_York minus US federal holidays from an .ics (RRULE:FREQ=YEARLY); each IBM conversation is resolved by the agent's final answer.\n");
    let _ = writeln!(w, "| brand | n | complaints | first answer within target | breached first answer | resolution within target |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    let share = |s: Option<report::Share>| {
        s.map_or_else(
            || "-".into(),
            |s| format!("{}/{} ({:.0} %)", s.met, s.decided, s.ratio * 100.0),
        )
    };
    let mut teams: Vec<&report::Group> = rep
        .groups
        .iter()
        .filter(|g| g.dimension == Dimension::Team)
        .collect();
    teams.sort_by(|a, b| {
        b.summary
            .conversations
            .cmp(&a.summary.conversations)
            .then(a.key.cmp(&b.key))
    });
    let complaints = |team: Option<&str>| {
        ibm_records
            .iter()
            .filter(|r| team.is_none_or(|t| r.team == t))
            .filter(|r| r.intent == earshot_core::Intent::Complaint)
            .count()
    };
    let breached = |team: Option<&str>| {
        rep.breaches
            .iter()
            .filter(|b| team.is_none_or(|t| b.team == t) && b.target == TargetKind::FirstResponse)
            .count()
    };
    for g in teams.iter().filter(|g| g.summary.conversations >= 10) {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            g.key,
            g.summary.conversations,
            complaints(Some(&g.key)),
            share(g.summary.first_response_within_target),
            breached(Some(&g.key)),
            share(g.summary.resolution_within_target)
        );
    }
    let _ = writeln!(
        w,
        "| **all** | {} | {} | {} | {} | {} |",
        rep.overall.conversations,
        complaints(None),
        share(rep.overall.first_response_within_target),
        breached(None),
        share(rep.overall.resolution_within_target)
    );
    let _ = writeln!(w, "\nBy when the customer wrote (New York time):\n");
    let _ = writeln!(w, "| group | n | p50 min | p90 min | within target |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|");
    for g in rep
        .groups
        .iter()
        .filter(|g| matches!(g.dimension, Dimension::Hours | Dimension::Weekday))
    {
        let _ = writeln!(
            w,
            "| {} {} | {} | {} | {} | {} |",
            g.dimension.as_str(),
            g.key,
            g.summary.conversations,
            mins(g.summary.first_response.p50_secs),
            mins(g.summary.first_response.p90_secs),
            share(g.summary.first_response_within_target)
        );
    }
    let _ = writeln!(
        w,
        "\nSome breaches, with the reason and why that policy applied:\n"
    );
    for b in rep
        .breaches
        .iter()
        .filter(|b| b.target == TargetKind::FirstResponse)
        .take(6)
    {
        let _ = writeln!(
            w,
            "- {} ({}): {}. Policy chosen because {}",
            b.conversation,
            b.team,
            b.reason,
            why_of.get(&b.conversation).map_or("?", String::as_str)
        );
    }
    let full = report::build(&all_records, office.tz(), &office, now);
    let exports = vec![
        (
            "report.json",
            full.to_json().map_err(|e| LabError::Data(e.to_string()))?,
        ),
        ("report.csv", full.to_csv()),
        ("breaches.csv", full.breaches_csv()),
    ];
    Ok(Replay {
        ibm,
        twcs,
        markdown: md,
        exports,
    })
}

/// `response_replay [DATA_DIR] [--out DIR]`: prints the replay; with `--out`, earshot's report
/// as `report.json`, `report.csv` and `breaches.csv`. Fails when the paths differ.
pub async fn main_with_args(args: impl IntoIterator<Item = String>) -> Result<(), LabError> {
    let mut args = args.into_iter();
    let mut data = PathBuf::from("../shared/data");
    let mut out: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        if a == "--out" {
            out = args.next().map(PathBuf::from);
        } else {
            data = PathBuf::from(a);
        }
    }
    let replay = run(&data).await?;
    print!("{}", replay.markdown);
    if let Some(out) = out {
        std::fs::create_dir_all(&out).map_err(|e| LabError::read(&out, e))?;
        for (name, body) in &replay.exports {
            let p = out.join(name);
            std::fs::write(&p, body).map_err(|e| LabError::read(&p, e))?;
        }
        println!(
            "\nWrote report.json, report.csv and breaches.csv (IBM and TWCS together) to {}.",
            out.display()
        );
    }
    let n = replay.differences();
    if n > 0 {
        return Err(LabError::Data(format!(
            "{n} differences between earshot and the reference (listed above)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ours(root: &str, answer_after_s: Option<i64>, office_ms: Option<i64>) -> StoredConversation {
        let opened_at = t("2017-10-31T14:00:00Z");
        StoredConversation {
            root: root.into(),
            brand: Some("acme".into()),
            opened_at,
            first_response_at: answer_after_s.map(|s| opened_at + Duration::seconds(s)),
            first_response_secs: answer_after_s,
            first_response_office_ms: office_ms,
            posts: vec![],
        }
    }

    fn theirs(root: &str, answer_ms: Option<i64>, office_ms: Option<i64>) -> RefConversation {
        RefConversation {
            root: root.into(),
            brand: Some("acme".into()),
            opened_ms: 0,
            first_response_ms: answer_ms,
            first_response_office_ms: office_ms,
        }
    }

    #[test]
    fn every_kind_of_difference_counts() {
        let same = compare(
            &[ours("1", Some(60), Some(60_000)), ours("2", None, None)],
            &[
                theirs("1", Some(60_000), Some(60_000)),
                theirs("2", None, None),
            ],
        );
        assert_eq!(same.differences(), 0);
        assert_eq!((same.compared, same.answered), (2, 1));

        let c = compare(
            &[
                ours("1", Some(61), Some(60_000)),
                ours("2", Some(5), Some(0)),
                ours("3", Some(60), Some(1_000)),
                ours("4", None, None),
            ],
            &[
                theirs("1", Some(60_000), Some(60_000)),
                theirs("2", None, None),
                theirs("3", Some(60_000), Some(2_000)),
                theirs("5", None, None),
            ],
        );
        assert_eq!(c.calendar_differ, 1, "{c:?}");
        assert_eq!(
            c.one_sided, 1,
            "an answer on one side only is a difference: {c:?}"
        );
        assert_eq!(c.office_differ, 1, "{c:?}");
        assert_eq!((c.only_earshot, c.only_reference), (1, 1), "{c:?}");
        assert_eq!(c.differences(), 5);
        assert!(c
            .examples
            .iter()
            .any(|e| e.starts_with("2: first response")));
    }

    /// Both paths over a small data folder written here: they agree, and the numbers are the
    /// ones worked out by hand.
    #[tokio::test]
    async fn a_small_replay_agrees_with_the_reference() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ibm = dir.path().join("ibm-care-conversations");
        let twcs = dir.path().join("twcs-sample-head");
        std::fs::create_dir_all(&ibm).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(&twcs).unwrap_or_else(|e| panic!("{e}"));
        // Tweet id 1245425308704149506 was written 2020-04-01T18:58:27.xxxZ (a Wednesday,
        // 14:58 in New York): 1 h 26 min after the question, 1 h 26 min of office time.
        std::fs::write(
            ibm.join("dev.json"),
            r#"[{"agentURL":{"tweet_ID":"1245425308704149506","url_utterance":"@cin here is how"},
                "dialogContent":[{"client":"cin","datetime":"2020-04-01T17:31:32.000Z","message":"@TeamYouTube my channel was suspended","tweet_ID":"1245403438755852288"}],
                "dialogHeader":{"company":"TeamYouTube","conversationDateTime":"2020-04-01T17:31:32.000Z","duration":"01:26:55.0","sessionID":"s1"}}]"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            twcs.join("dev.csv"),
            "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
             1,115712,True,Fri Oct 27 20:30:00 +0000 2017,@sprintcare my phone is dead,2,\n\
             2,sprintcare,False,Mon Oct 30 13:45:00 +0000 2017,@115712 sorry! DM us,3,1\n\
             3,115712,True,Mon Oct 30 14:00:00 +0000 2017,@sprintcare done,,2\n\
             4,115713,True,Sat Oct 28 12:00:00 +0000 2017,@AmazonHelp where is my order,,\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let replay = run(dir.path()).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replay.differences(), 0, "{}", replay.markdown);
        assert_eq!((replay.ibm.compared, replay.ibm.answered), (1, 1));
        assert_eq!((replay.twcs.compared, replay.twcs.answered), (2, 1));
        // Friday 16:30 EDT to Monday 09:45 EDT: 30 + 45 office minutes, 2 d 17 h 15 min in all.
        assert!(
            replay
                .markdown
                .contains("| TWCS | 2 / 2 | 2 | 1 | 0 | 0 | 0 | 0 |"),
            "{}",
            replay.markdown
        );
        let refs = reference::conversations(
            reference::twcs_posts(&twcs.join("dev.csv"))
                .unwrap_or_else(|e| panic!("{e}"))
                .0,
        );
        let answered = refs
            .iter()
            .find(|c| c.root == "1")
            .unwrap_or_else(|| panic!("{refs:?}"));
        assert_eq!(
            answered.first_response_office_ms,
            Some(75 * reference::MINUTE)
        );
        assert_eq!(
            answered.first_response_ms,
            Some((2 * 24 * 60 + 17 * 60 + 15) * reference::MINUTE)
        );
    }
}
