//! The real timelines the triage replay works on: customer posts of care conversations with
//! their real times, the thread each belongs to, and when the real brand answered it.
//!
//! - **TWCS** (`twcs-sample-head`, `twcs-sample-random`, `twcs-sample`): Twitter rows; a
//!   customer post's thread is (brand, customer), the brand being the author of the reply to it,
//!   else of the tweet it answers, else the first brand handle it mentions. A brand reply
//!   answers every post of its thread written before it and not yet answered.
//! - **IBM** (`ibm-care-conversations/dev.json`): each conversation is a thread; customer turns
//!   are posts, agent turns and the final answer (its time is the conversation's start plus its
//!   duration) are the brand's replies.
//!
//! Handling times come from the brands' own pace: consecutive replies signed by the same
//! agent of the same brand ("^JK", "/RB", "-AB") at most 15 minutes apart (TWCS files).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A customer's post as the replay sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPost {
    pub id: String,
    /// The conversation it belongs to (brand and customer, or the data set's session).
    pub thread: String,
    pub at: DateTime<Utc>,
    pub text: String,
    /// When the real brand answered it (its first reply after it in the thread), if it did.
    pub real_reply_at: Option<DateTime<Utc>>,
}

/// One data set's customer posts, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub name: String,
    pub posts: Vec<CustomerPost>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: no {column} column")]
    Column { path: PathBuf, column: String },
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Twitter's `created_at`: "Tue Oct 31 22:10:47 +0000 2017".
fn twitter_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct Row {
    id: String,
    author: String,
    inbound: bool,
    at: DateTime<Utc>,
    text: String,
    parent: Option<String>,
}

fn read_twcs(path: &Path) -> Result<Vec<Row>, DataError> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| read_err(path, e))?;
    let headers = rdr.headers().map_err(|e| read_err(path, e))?.clone();
    let [c_id, c_author, c_in, c_at, c_text, c_parent] =
        crate::data::columns(&headers, crate::data::TWCS_COLUMNS, |name| {
            DataError::Column {
                path: path.to_path_buf(),
                column: name.to_string(),
            }
        })?;
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| read_err(path, e))?;
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        let Some(at) = twitter_time(&get(c_at)) else {
            continue;
        };
        let parent = get(c_parent);
        rows.push(Row {
            id: get(c_id),
            author: get(c_author),
            inbound: get(c_in).eq_ignore_ascii_case("true"),
            at,
            text: get(c_text),
            parent: (!parent.trim().is_empty()).then(|| parent.trim().to_string()),
        });
    }
    Ok(rows)
}

/// Posts not answered by a reply written after them stay unanswered.
fn settle(posts: &mut [CustomerPost], replies: &HashMap<String, Vec<DateTime<Utc>>>) {
    let mut by_thread: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in posts.iter().enumerate() {
        by_thread.entry(p.thread.as_str()).or_default().push(i);
    }
    let mut answers: Vec<(usize, DateTime<Utc>)> = Vec::new();
    for (thread, idx) in &by_thread {
        let Some(rs) = replies.get(*thread) else {
            continue;
        };
        let mut rs = rs.clone();
        rs.sort();
        for &i in idx {
            let at = posts[i].at;
            if let Some(r) = rs.iter().find(|r| **r >= at) {
                answers.push((i, *r));
            }
        }
    }
    for (i, r) in answers {
        posts[i].real_reply_at = Some(r);
    }
}

/// A TWCS file's customer posts, threaded by brand and customer.
pub fn twcs(path: &Path, name: &str) -> Result<Timeline, DataError> {
    let rows = read_twcs(path)?;
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    // Brands are the authors of outbound rows (customers are anonymised numbers).
    let brands: Vec<&str> = {
        let mut b: Vec<&str> = rows
            .iter()
            .filter(|r| !r.inbound)
            .map(|r| r.author.as_str())
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    // The brand that answered each customer tweet (the reply's author).
    let mut answered_by: HashMap<&str, &str> = HashMap::new();
    for r in rows.iter().filter(|r| !r.inbound) {
        if let Some(p) = &r.parent {
            answered_by.insert(p.as_str(), r.author.as_str());
        }
    }
    let brand_of = |r: &Row| -> String {
        if let Some(b) = answered_by.get(r.id.as_str()) {
            return (*b).to_string();
        }
        if let Some(parent) = r.parent.as_deref().and_then(|p| by_id.get(p)) {
            if !parent.inbound {
                return parent.author.clone();
            }
        }
        let lower = r.text.to_ascii_lowercase();
        brands
            .iter()
            .find(|b| lower.contains(&format!("@{}", b.to_ascii_lowercase())))
            .map_or_else(|| "unknown".to_string(), |b| (*b).to_string())
    };
    let mut posts: Vec<CustomerPost> = rows
        .iter()
        .filter(|r| r.inbound)
        .map(|r| CustomerPost {
            id: r.id.clone(),
            thread: format!("{}/{}", brand_of(r), r.author),
            at: r.at,
            text: r.text.clone(),
            real_reply_at: None,
        })
        .collect();
    let thread_of: HashMap<&str, String> = posts
        .iter()
        .map(|p| (p.id.as_str(), p.thread.clone()))
        .collect();
    let mut replies: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for r in rows.iter().filter(|r| !r.inbound) {
        if let Some(thread) = r.parent.as_deref().and_then(|p| thread_of.get(p)) {
            replies.entry(thread.clone()).or_default().push(r.at);
        }
    }
    settle(&mut posts, &replies);
    posts.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(Timeline {
        name: name.to_string(),
        posts,
    })
}

/// "01:26:55.0" → 1 h 26 min 55 s.
pub(crate) fn hms(s: &str) -> Option<Duration> {
    let mut parts = s.trim().split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    Some(Duration::hours(h) + Duration::minutes(m) + Duration::milliseconds((sec * 1000.0) as i64))
}

/// An RFC 3339 time, or the data sets' `2017-10-31T22:10:47.000Z` without an offset.
pub(crate) fn iso(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.fZ")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The IBM care conversations: one thread each.
pub fn ibm(path: &Path) -> Result<Timeline, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| read_err(path, e))?;
    let all: serde_json::Value = serde_json::from_str(&text).map_err(|e| read_err(path, e))?;
    let mut posts = Vec::new();
    let mut replies: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for c in all.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let header = &c["dialogHeader"];
        let thread = header["sessionID"].as_str().unwrap_or("").to_string();
        let company = header["company"].as_str().unwrap_or("");
        if let (Some(start), Some(d)) = (
            header["conversationDateTime"].as_str().and_then(iso),
            header["duration"].as_str().and_then(hms),
        ) {
            replies.entry(thread.clone()).or_default().push(start + d);
        }
        for (n, turn) in c["dialogContent"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(at) = turn["datetime"].as_str().and_then(iso) else {
                continue;
            };
            let customer = turn["client"]
                .as_str()
                .is_some_and(|who| !who.eq_ignore_ascii_case(company));
            if customer {
                posts.push(CustomerPost {
                    id: turn["tweet_ID"]
                        .as_str()
                        .map_or_else(|| format!("{thread}-{n}"), str::to_string),
                    thread: thread.clone(),
                    at,
                    text: turn["message"].as_str().unwrap_or("").to_string(),
                    real_reply_at: None,
                });
            } else {
                replies.entry(thread.clone()).or_default().push(at);
            }
        }
    }
    settle(&mut posts, &replies);
    posts.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(Timeline {
        name: "ibm-care-conversations (validation)".into(),
        posts,
    })
}

/// The timelines of the shared data folder that exist.
pub fn timelines(data: &Path) -> Result<Vec<Timeline>, DataError> {
    let mut out = Vec::new();
    let head = data.join("twcs-sample-head").join("dev.csv");
    if head.exists() {
        out.push(twcs(&head, "twcs-sample-head (dev)")?);
    }
    let random = data.join("twcs-sample-random").join("dev.csv");
    if random.exists() {
        out.push(twcs(&random, "twcs-sample-random (dev)")?);
    }
    let ibm_path = data.join("ibm-care-conversations").join("dev.json");
    if ibm_path.exists() {
        out.push(ibm(&ibm_path)?);
    }
    Ok(out)
}

/// The agent's sign-off at the end of a brand reply: "^JK", "/RB", "-AB" (2–3 capitals).
fn signature(text: &str) -> Option<&str> {
    let t = text.trim_end();
    // A link may follow the signature.
    let t = match t.rfind(" http") {
        Some(i) if !t[i + 1..].contains(' ') => t[..i].trim_end(),
        _ => t,
    };
    let cut = t
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_uppercase())
        .last()
        .map(|(i, _)| i)?;
    let sig = &t[cut..];
    let before = t[..cut].trim_end().chars().next_back()?;
    ((2..=3).contains(&sig.len()) && matches!(before, '^' | '/' | '-' | '–')).then_some(sig)
}

/// Seconds between consecutive replies of the same signed agent, at most 15 minutes apart:
/// how long one reply takes the brands' own agents.
pub fn handling_seconds(data: &Path) -> Result<Vec<f64>, DataError> {
    let mut files = vec![
        data.join("twcs-sample-head").join("dev.csv"),
        data.join("twcs-sample-random").join("dev.csv"),
        data.join("twcs-sample").join("sample_train.csv"),
    ];
    if let Ok(dir) = std::fs::read_dir(data.join("twcs-labeled-topics")) {
        let mut extra: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("outbound.train.csv"))
            .collect();
        extra.sort();
        files.extend(extra);
    }
    let mut by_agent: HashMap<(String, String), Vec<DateTime<Utc>>> = HashMap::new();
    for f in files.iter().filter(|f| f.exists()) {
        let mut rdr = csv::Reader::from_path(f).map_err(|e| read_err(f, e))?;
        let headers = rdr.headers().map_err(|e| read_err(f, e))?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (Some(c_author), Some(c_in), Some(c_at), Some(c_text)) = (
            col("author_id"),
            col("inbound"),
            col("created_at"),
            col("text"),
        ) else {
            continue;
        };
        for rec in rdr.records() {
            let rec = rec.map_err(|e| read_err(f, e))?;
            let inbound = rec.get(c_in).unwrap_or("");
            if inbound.eq_ignore_ascii_case("true") || inbound == "1" {
                continue;
            }
            let at_text = rec.get(c_at).unwrap_or("");
            let Some(at) = twitter_time(at_text).or_else(|| {
                DateTime::parse_from_str(at_text, "%Y-%m-%d %H:%M:%S%:z")
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }) else {
                continue;
            };
            if let Some(sig) = signature(rec.get(c_text).unwrap_or("")) {
                by_agent
                    .entry((rec.get(c_author).unwrap_or("").to_string(), sig.to_string()))
                    .or_default()
                    .push(at);
            }
        }
    }
    let mut gaps = Vec::new();
    for times in by_agent.values_mut() {
        times.sort();
        times.dedup();
        for w in times.windows(2) {
            let s = (w[1] - w[0]).num_seconds();
            if (1..=900).contains(&s) {
                gaps.push(s as f64);
            }
        }
    }
    gaps.sort_by(f64::total_cmp);
    Ok(gaps)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_the_agents_initials() {
        assert_eq!(signature("@123 Sorry to hear that! ^JK"), Some("JK"));
        assert_eq!(
            signature("@123 DM us please /RB https://t.co/x"),
            Some("RB")
        );
        assert_eq!(signature("@123 We are on it -ABC"), Some("ABC"));
        assert_eq!(signature("@123 Thanks for reaching out."), None);
        assert_eq!(signature("@123 call us at USA"), None);
    }

    #[test]
    fn a_brand_reply_answers_the_thread_posts_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.csv");
        std::fs::write(
            &f,
            "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
             1,111,True,Tue Oct 31 22:00:00 +0000 2017,@Brand my order is late,3,\n\
             2,111,True,Tue Oct 31 22:05:00 +0000 2017,@Brand hello??,,\n\
             3,Brand,False,Tue Oct 31 22:20:00 +0000 2017,@111 sorry ^AB,,1\n\
             4,222,True,Tue Oct 31 23:00:00 +0000 2017,@Brand thanks,,\n",
        )
        .unwrap();
        let t = twcs(&f, "t").unwrap();
        assert_eq!(t.posts.len(), 3);
        assert_eq!(t.posts[0].thread, "Brand/111");
        assert_eq!(t.posts[1].thread, "Brand/111", "threaded by the mention");
        let reply = twitter_time("Tue Oct 31 22:20:00 +0000 2017");
        assert_eq!(t.posts[0].real_reply_at, reply);
        assert_eq!(t.posts[1].real_reply_at, reply);
        assert_eq!(t.posts[2].real_reply_at, None);
    }
}
