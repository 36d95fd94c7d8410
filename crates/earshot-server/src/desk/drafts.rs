//! A first draft and a summary for a conversation, offline (see `earshot_analyze::drafts` and
//! `earshot_analyze::summary`).
//!
//! The drafts come from the brand's own past answers: the customer posts of the most recently
//! active answered conversations (up to [`PAST_CONVERSATIONS`]), each paired with the brand's
//! answer that followed them (a brand post or a sent reply). The index is built once and kept
//! for [`INDEX_TTL`]: a draft asked for a minute later does not read the store again. Nothing is
//! sent: the draft is a proposal the agent edits.

use super::{Desk, DeskError};
use chrono::{DateTime, Utc};
use earshot_analyze::drafts::{Draft, DraftIndex, DraftRequest, PastAnswer};
use earshot_analyze::summary::{self, SummaryPost, ThreadSummary};
use earshot_core::{ConversationId, ReplyState, Status};
use earshot_store::{ConversationDetail, InboxFilter};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Answered conversations read into the index.
pub const PAST_CONVERSATIONS: u32 = 200;
/// How long a built index is reused.
pub const INDEX_TTL: Duration = Duration::from_secs(60);
/// Customer sentences in a long thread's summary.
const SUMMARY_POINTS: usize = 3;

/// The index of past answers, built on first use and again once stale.
#[derive(Default)]
pub struct DraftCache(Mutex<Option<(Instant, Arc<DraftIndex>)>>);

impl std::fmt::Debug for DraftCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DraftCache")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationDraft {
    /// `None`: no past answer to a similar post (or nothing the customer is waiting on).
    pub draft: Option<Draft>,
    /// Past answers the draft was chosen from.
    pub past_answers: usize,
    /// Set for threads of [`summary::LONG_THREAD`] posts or more.
    pub summary: Option<ThreadSummary>,
}

/// Brand answers in a conversation, each with the customer words since the previous answer.
fn answers_in(detail: &ConversationDetail) -> Vec<PastAnswer> {
    enum Said<'a> {
        Customer(&'a str),
        Brand(String, &'a str),
    }
    let mut timeline: Vec<(DateTime<Utc>, Said<'_>)> = detail
        .posts
        .iter()
        .filter(|p| p.deleted_at.is_none())
        .map(|p| {
            let said = if p.from_brand {
                Said::Brand(format!("post {}", p.id), p.text.as_str())
            } else {
                Said::Customer(p.text.as_str())
            };
            (p.created_at, said)
        })
        .collect();
    // A sent reply may come back as a brand post too; the same text twice is one answer.
    for r in detail
        .replies
        .iter()
        .filter(|r| r.state == ReplyState::Sent)
    {
        let echoed = detail
            .posts
            .iter()
            .any(|p| p.from_brand && p.text.contains(r.text.trim()));
        if !echoed {
            let at = r.sent_at.unwrap_or(r.created_at);
            timeline.push((at, Said::Brand(format!("reply {}", r.id), r.text.as_str())));
        }
    }
    timeline.sort_by_key(|(at, _)| *at);
    let c = &detail.conversation;
    let mut waiting: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (_, said) in timeline {
        match said {
            Said::Customer(t) => waiting.push(t),
            Said::Brand(id, text) if !waiting.is_empty() => {
                out.push(PastAnswer {
                    id: format!("conversation {} {id}", c.id.0),
                    customer_text: waiting.join("\n"),
                    answer_text: text.to_string(),
                    lang: Some(c.language.clone()),
                    customer_handle: Some(c.customer.handle.clone()),
                    customer_name: c.customer.display_name.clone(),
                });
                waiting.clear();
            }
            Said::Brand(..) => {}
        }
    }
    out
}

/// What the customer is still waiting on: their posts after the brand's last answer (the
/// whole customer side when nothing was answered yet).
fn waiting_words(detail: &ConversationDetail) -> String {
    let last_answer = detail
        .posts
        .iter()
        .filter(|p| p.from_brand)
        .map(|p| p.created_at)
        .chain(
            detail
                .replies
                .iter()
                .filter(|r| r.state == ReplyState::Sent)
                .map(|r| r.sent_at.unwrap_or(r.created_at)),
        )
        .max();
    let customer = detail
        .posts
        .iter()
        .filter(|p| !p.from_brand && p.deleted_at.is_none());
    let after: Vec<&str> = customer
        .clone()
        .filter(|p| last_answer.is_none_or(|a| p.created_at > a))
        .map(|p| p.text.as_str())
        .collect();
    if after.is_empty() {
        customer
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        after.join("\n")
    }
}

impl Desk {
    async fn draft_index(&self) -> Result<Arc<DraftIndex>, DeskError> {
        if let Ok(guard) = self.drafts.0.lock() {
            if let Some((built, index)) = guard.as_ref() {
                if built.elapsed() < INDEX_TTL {
                    return Ok(index.clone());
                }
            }
        }
        let filter = InboxFilter {
            status: vec![Status::Pending, Status::Resolved, Status::Open],
            limit: PAST_CONVERSATIONS,
            ..InboxFilter::default()
        };
        let rows = self.store().inbox(&filter, Utc::now()).await?;
        let mut past = Vec::new();
        for row in rows
            .items
            .iter()
            .filter(|r| r.conversation.first_response_at.is_some())
        {
            if let Some(detail) = self.store().conversation(row.conversation.id).await? {
                past.extend(answers_in(&detail));
            }
        }
        let index = Arc::new(DraftIndex::build(past));
        if let Ok(mut guard) = self.drafts.0.lock() {
            *guard = Some((Instant::now(), index.clone()));
        }
        Ok(index)
    }

    /// A first draft for the conversation, with its sources, and a summary of a long thread.
    pub async fn draft(&self, id: ConversationId) -> Result<ConversationDraft, DeskError> {
        let detail = self.conversation(id).await?;
        let index = self.draft_index().await?;
        let c = &detail.conversation;
        let asked = waiting_words(&detail);
        let name = c
            .customer
            .display_name
            .as_deref()
            .and_then(|n| n.split_whitespace().next())
            .filter(|n| !n.is_empty());
        let lang = Some(c.language.as_str()).filter(|l| *l != "und");
        let draft = if asked.trim().is_empty() {
            None
        } else {
            index.draft(&DraftRequest {
                customer_text: &asked,
                lang,
                customer_name: name,
                limit: c.network.reply_limit(),
                written_on: Utc::now().date_naive(),
            })
        };
        let summary = (detail.posts.len() >= summary::LONG_THREAD).then(|| {
            let posts: Vec<SummaryPost<'_>> = detail
                .posts
                .iter()
                .filter(|p| p.deleted_at.is_none())
                .map(SummaryPost::of)
                .collect();
            summary::thread(&posts, SUMMARY_POINTS)
        });
        Ok(ConversationDraft {
            draft,
            past_answers: index.len(),
            summary,
        })
    }
}
