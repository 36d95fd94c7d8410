//! Real brand answers with the customer words they answered, from the care conversations in
//! `shared/data`:
//!
//! - **TWCS** (`twcs-sample-head/dev.csv`): a brand reply whose parent tweet (the
//!   `in_response_to_tweet_id`) is a customer tweet in the file; the customer's words are that
//!   tweet. The random TWCS samples are left out: their replies' parents are almost never in the
//!   file, so there is nothing to retrieve by.
//! - **IBM** (`ibm-care-conversations/dev.json`): every agent turn, and the final answer (its
//!   time is the conversation's start plus its duration), with the customer turns since the
//!   agent's previous turn.

use crate::triage_replay::data::{hms, iso};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::Path;

/// One answer a brand gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The answer's id in its data set (tweet id, or session and turn).
    pub id: String,
    pub brand: String,
    pub at: DateTime<Utc>,
    pub customer: String,
    pub customer_text: String,
    pub answer_text: String,
}

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn twitter_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S %z %Y")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Replies to customer tweets, from a TWCS-layout CSV.
pub fn twcs(path: &Path) -> Result<Vec<Answered>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| err(path, e))?;
    let headers = rdr.headers().map_err(|e| err(path, e))?.clone();
    let [c_id, c_author, c_in, c_at, c_text, c_parent] =
        crate::data::columns(&headers, crate::data::TWCS_COLUMNS, |name| {
            err(path, format!("no {name} column"))
        })?;
    struct Row {
        id: String,
        author: String,
        inbound: bool,
        at: Option<DateTime<Utc>>,
        text: String,
        parent: String,
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| err(path, e))?;
        let get = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        rows.push(Row {
            id: get(c_id),
            author: get(c_author),
            inbound: get(c_in).eq_ignore_ascii_case("true"),
            at: twitter_time(&get(c_at)),
            text: rec.get(c_text).unwrap_or("").to_string(),
            parent: get(c_parent),
        });
    }
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| !r.inbound) {
        let (Some(at), Some(parent)) = (r.at, by_id.get(r.parent.as_str())) else {
            continue;
        };
        if !parent.inbound {
            continue;
        }
        out.push(Answered {
            id: r.id.clone(),
            brand: r.author.clone(),
            at,
            customer: parent.author.clone(),
            customer_text: parent.text.clone(),
            answer_text: r.text.clone(),
        });
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Agent turns and final answers of the IBM care conversations.
pub fn ibm(path: &Path) -> Result<Vec<Answered>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| err(path, e))?;
    let all: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(path, e))?;
    let mut out = Vec::new();
    for c in all.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let header = &c["dialogHeader"];
        let session = header["sessionID"].as_str().unwrap_or("");
        let company = header["company"].as_str().unwrap_or("").to_string();
        let mut waiting: Vec<String> = Vec::new();
        let mut last_asked = String::new();
        let mut customer = String::new();
        let turns = c["dialogContent"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (n, turn) in turns.iter().enumerate() {
            let who = turn["client"].as_str().unwrap_or("");
            let message = turn["message"].as_str().unwrap_or("").to_string();
            if !who.eq_ignore_ascii_case(&company) {
                customer = who.to_string();
                waiting.push(message);
                continue;
            }
            let Some(at) = turn["datetime"].as_str().and_then(iso) else {
                continue;
            };
            if !waiting.is_empty() {
                last_asked = waiting.join("\n");
                out.push(Answered {
                    id: format!("{session}/{n}"),
                    brand: company.clone(),
                    at,
                    customer: customer.clone(),
                    customer_text: std::mem::take(&mut waiting).join("\n"),
                    answer_text: message,
                });
            }
        }
        let final_at = header["conversationDateTime"]
            .as_str()
            .and_then(iso)
            .zip(header["duration"].as_str().and_then(hms))
            .map(|(start, d)| start + d);
        let answer = c["agentURL"]["url_utterance"].as_str().unwrap_or("");
        // The final answer follows the customer's last words; after an agent turn, it goes on
        // from the words that turn answered.
        let asked = if waiting.is_empty() {
            last_asked
        } else {
            waiting.join("\n")
        };
        if let (Some(at), false, false) = (final_at, answer.trim().is_empty(), asked.is_empty()) {
            out.push(Answered {
                id: format!("{session}/final"),
                brand: company.clone(),
                at,
                customer,
                customer_text: asked,
                answer_text: answer.to_string(),
            });
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twcs_pairs_a_brand_reply_with_the_customer_tweet_it_answers() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.csv");
        let csv = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
            1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@sprintcare my phone is dead,2,\n\
            2,sprintcare,False,Tue Oct 31 22:15:00 +0000 2017,@115712 Please DM us. ^AB,3,1\n\
            3,sprintcare,False,Tue Oct 31 22:16:00 +0000 2017,@115712 Also try a restart.,,2\n\
            4,sprintcare,False,Tue Oct 31 22:17:00 +0000 2017,@999 Reply to a tweet not in the file,,77\n";
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{e}"));
        let pairs = twcs(&path).unwrap_or_else(|e| panic!("{e}"));
        // Only the reply to a customer tweet in the file is a pair.
        assert_eq!(pairs.len(), 1);
        let p = &pairs[0];
        assert_eq!(
            (p.id.as_str(), p.brand.as_str(), p.customer.as_str()),
            ("2", "sprintcare", "115712")
        );
        assert_eq!(p.customer_text, "@sprintcare my phone is dead");
        assert_eq!(p.answer_text, "@115712 Please DM us. ^AB");
    }

    #[test]
    fn ibm_pairs_agent_turns_and_the_final_answer_with_the_words_since_the_last_answer() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("d.json");
        let json = serde_json::json!([{
            "dialogHeader": {"company": "Acme", "conversationDateTime": "2020-04-01T17:00:00.000Z",
                             "duration": "01:00:00.0", "sessionID": "s1"},
            "dialogContent": [
                {"client": "ana", "datetime": "2020-04-01T17:00:00.000Z", "message": "my order is late", "tweet_ID": "1"},
                {"client": "Acme", "datetime": "2020-04-01T17:10:00.000Z", "message": "Which order?", "tweet_ID": "2"},
                {"client": "ana", "datetime": "2020-04-01T17:20:00.000Z", "message": "order 42", "tweet_ID": "3"},
                {"client": "ana", "datetime": "2020-04-01T17:21:00.000Z", "message": "please hurry", "tweet_ID": "4"}
            ],
            "agentURL": {"url_utterance": "@ana Here is the tracking page."}
        }]);
        std::fs::write(&path, json.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let pairs = ibm(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].customer_text, "my order is late");
        assert_eq!(pairs[0].answer_text, "Which order?");
        assert_eq!(pairs[1].id, "s1/final");
        assert_eq!(pairs[1].customer_text, "order 42\nplease hurry");
        assert_eq!(pairs[1].answer_text, "@ana Here is the tracking page.");
        // The final answer's time is the start plus the duration.
        assert_eq!(pairs[1].at.to_rfc3339(), "2020-04-01T18:00:00+00:00");
        assert_eq!(pairs[1].customer, "ana");
    }
}
