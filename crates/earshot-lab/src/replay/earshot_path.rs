//! earshot's own path: the raw files go through earshot's importer (the TWCS CSV as it is;
//! the IBM conversations written as canonical JSONL, their times as the data gives them),
//! earshot's analysis and threading into a real SQLite store, and earshot's business-hours
//! clock. What comes out is what earshot would show a team.

use super::LabError;
use chrono::{DateTime, TimeZone, Utc};
use earshot_analyze::Analyzer;
use earshot_connect::import::{Importer, Record};
use earshot_core::threading::{BrandIdentity, Incoming, TriagePolicy};
use earshot_core::{Post, SlaClock};
use earshot_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A conversation as earshot stored it.
#[derive(Debug, Clone)]
pub struct StoredConversation {
    pub root: String,
    /// The first brand account that answered in it.
    pub brand: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// `first_response_secs` as the store keeps it.
    pub first_response_secs: Option<i64>,
    /// Office time to the first response, by earshot's clock.
    pub first_response_office_ms: Option<i64>,
    /// Its posts, oldest first.
    pub posts: Vec<Post>,
}

/// What earshot made of the files, and how much it read.
pub struct EarshotSide {
    pub conversations: Vec<StoredConversation>,
    pub posts_read: u64,
    pub rejected: Vec<String>,
    // The store lives as long as the side.
    _dir: tempfile::TempDir,
}

/// Writes the IBM conversations as canonical JSONL, the way a user would hand them to
/// `earshot import`: each turn answers the one before it; the agent's final answer (its
/// time read from its tweet id) answers the last turn.
pub fn ibm_as_canonical(dev_json: &Path, out: &Path) -> Result<(), LabError> {
    let text = std::fs::read_to_string(dev_json).map_err(|e| LabError::read(dev_json, e))?;
    let raw: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| LabError::Data(format!("{}: {e}", dev_json.display())))?;
    let mut lines = String::new();
    for c in &raw {
        let company = c["dialogHeader"]["company"].as_str().unwrap_or_default();
        let mut previous: Option<String> = None;
        let mut line = |id: &str,
                        author: &str,
                        brand: bool,
                        text: &str,
                        at: &str,
                        previous: &Option<String>| {
            let post = serde_json::json!({
                "network": "x", "id": id,
                "author": {"id": author, "handle": author},
                "text": text, "created_at": at, "in_reply_to": previous, "from_brand": brand,
            });
            lines.push_str(&post.to_string());
            lines.push('\n');
        };
        for turn in c["dialogContent"].as_array().into_iter().flatten() {
            let (Some(id), Some(at)) = (turn["tweet_ID"].as_str(), turn["datetime"].as_str())
            else {
                continue;
            };
            let brand = turn.get("agent").is_some();
            let author = if brand {
                company
            } else {
                turn["client"]
                    .as_str()
                    .or_else(|| turn["client1"].as_str())
                    .unwrap_or_default()
            };
            line(
                id,
                author,
                brand,
                turn["message"].as_str().unwrap_or_default(),
                at,
                &previous,
            );
            previous = Some(id.to_string());
        }
        let final_answer = &c["agentURL"];
        if let Some(id) = final_answer["tweet_ID"].as_str() {
            if let Some(at) = snowflake_time(id) {
                let text = final_answer["url_utterance"].as_str().unwrap_or_default();
                line(id, company, true, text, &at.to_rfc3339(), &previous);
            }
        }
    }
    std::fs::write(out, lines).map_err(|e| LabError::read(out, e))
}

/// A tweet id's own time (X snowflake: milliseconds since 2010-11-04 in the top bits).
fn snowflake_time(id: &str) -> Option<DateTime<Utc>> {
    let id: u64 = id.trim().parse().ok()?;
    let ms = i64::try_from(id >> 22).ok()? + 1_288_834_974_657;
    Utc.timestamp_millis_opt(ms).single()
}

/// Imports `files` with earshot's importer into a fresh SQLite store and reads back every
/// conversation, timing first responses on `office` too.
pub async fn replay(
    files: &[PathBuf],
    analyzer: &Analyzer,
    office: &SlaClock,
) -> Result<EarshotSide, LabError> {
    let dir = tempfile::tempdir().map_err(|e| LabError::Data(e.to_string()))?;
    let db = dir.path().join("replay.db");
    let store: Arc<dyn Store> = earshot_store::open(&db.display().to_string()).await?;
    // The sources say which posts are the brand's (TWCS `inbound`, the IBM agent turns).
    let brand = BrandIdentity::default();
    let policy = TriagePolicy::default();
    let mut posts_read = 0;
    let mut rejected = vec![];
    for file in files {
        let importer = Importer::open(file).map_err(|e| LabError::Data(e.to_string()))?;
        let mut batch = Vec::new();
        for record in importer {
            match record {
                Record::Post { post, .. } => {
                    posts_read += 1;
                    let analysis = analyzer.analyze(&post);
                    let from_brand = brand.is_brand(&post);
                    batch.push(Incoming {
                        post,
                        analysis,
                        from_brand,
                    });
                }
                Record::Skipped { .. } => {}
                Record::Rejected { line, reason } => {
                    rejected.push(format!("{}:{line}: {reason}", file.display()))
                }
            }
        }
        // One batch per file: threading sees the whole timeline at once, as a bulk import does.
        let report = store.ingest(batch, &policy, Utc::now()).await?;
        for r in report.refused {
            rejected.push(format!(
                "{}: post {}: {}",
                file.display(),
                r.external_id,
                r.reason
            ));
        }
    }
    let samples = store
        .response_samples(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .await?;
    let mut conversations = Vec::with_capacity(samples.len());
    for s in samples {
        let Some(detail) = store.conversation(s.conversation_id).await? else {
            continue;
        };
        let c = &detail.conversation;
        let brand = detail
            .posts
            .iter()
            .find(|p| p.from_brand)
            .map(|p| p.author.handle.clone());
        conversations.push(StoredConversation {
            root: c.root_external_id.clone(),
            brand,
            opened_at: c.opened_at,
            first_response_at: c.first_response_at,
            first_response_secs: c.first_response_secs,
            first_response_office_ms: c
                .first_response_at
                .map(|at| office.elapsed(c.opened_at, at).num_milliseconds()),
            posts: detail.posts,
        });
    }
    Ok(EarshotSide {
        conversations,
        posts_read,
        rejected,
        _dir: dir,
    })
}
