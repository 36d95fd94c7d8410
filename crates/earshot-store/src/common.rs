//! What both backends share: label parsing, the ingest report, batch normalisation, the
//! search-term sanitiser and the inbox SQL (the two dialects differ only in placeholders).

use crate::{InboxFilter, IngestReport, IngestedPost, NewReply, RefusedPost, StoreError};
use chrono::{DateTime, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::threading::{ConvRef, Incoming, Plan};
use earshot_core::{Conversation, ConversationId, Network, PostKey, Reply, ReplyState, Status};
use std::collections::HashMap;

/// The reply just stored as `id` in `conv`, queued, and the audit detail that records it.
pub(crate) fn queued_reply(
    id: i64,
    conv: &Conversation,
    reply: NewReply,
    in_reply_to: String,
    text: String,
    created_at: DateTime<Utc>,
) -> (Reply, serde_json::Value) {
    let detail = serde_json::json!({
        "reply_id": id,
        "idempotency_key": reply.idempotency_key,
        "in_reply_to": in_reply_to,
    });
    let queued = Reply::queued(
        conv.id,
        conv.network,
        in_reply_to,
        text,
        reply.author,
        reply.idempotency_key,
        created_at,
    );
    (Reply { id, ..queued }, detail)
}

/// Timestamps are kept at microsecond precision on both backends (PostgreSQL's own), so a
/// value read back equals the value written.
pub(crate) fn trunc_us(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn strip_nul(s: &mut String) {
    // PostgreSQL text cannot hold NUL; drop it on both backends so they store the same.
    if s.contains('\0') {
        s.retain(|c| c != '\0');
    }
}

/// Takes out the posts no batch should carry (a time outside the window earshot believes,
/// see [`earshot_core::post::check_created_at`]), so one odd post never fails its batch.
pub(crate) fn refuse_odd(batch: &mut Vec<Incoming>, now: DateTime<Utc>) -> Vec<RefusedPost> {
    let mut refused = vec![];
    let mut index = 0;
    batch.retain(|inc| {
        let i = index;
        index += 1;
        match inc.post.check_time(now) {
            Ok(()) => true,
            Err(e) => {
                refused.push(RefusedPost {
                    index: i,
                    network: inc.post.network,
                    external_id: inc.post.external_id.clone(),
                    reason: e.to_string(),
                });
                false
            }
        }
    });
    refused
}

/// Normalises a batch in place before threading: microsecond timestamps, no NUL characters.
pub(crate) fn normalise(batch: &mut [Incoming]) {
    for inc in batch {
        let p = &mut inc.post;
        p.created_at = trunc_us(p.created_at);
        strip_nul(&mut p.text);
        strip_nul(&mut p.external_id);
        strip_nul(&mut p.author.external_id);
        strip_nul(&mut p.author.handle);
        if let Some(v) = p.author.display_name.as_mut() {
            strip_nul(v);
        }
        if let Some(v) = p.in_reply_to.as_mut() {
            strip_nul(v);
        }
        if let Some(v) = p.url.as_mut() {
            strip_nul(v);
        }
        if let Some(v) = p.lang.as_mut() {
            strip_nul(v);
        }
        if let Some(v) = p.raw.as_mut() {
            strip_nul(v);
        }
    }
}

fn corrupt(kind: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {kind} {value:?}"))
}

pub(crate) fn network(s: &str) -> Result<Network, StoreError> {
    s.parse().map_err(|_| corrupt("network", s))
}
pub(crate) fn status(s: &str) -> Result<Status, StoreError> {
    s.parse().map_err(|_| corrupt("status", s))
}
pub(crate) fn intent(s: &str) -> Result<Intent, StoreError> {
    s.parse().map_err(|_| corrupt("intent", s))
}
pub(crate) fn sentiment(s: &str) -> Result<SentimentLabel, StoreError> {
    s.parse().map_err(|_| corrupt("sentiment", s))
}
pub(crate) fn reply_state(s: &str) -> Result<ReplyState, StoreError> {
    ReplyState::parse(s).ok_or_else(|| corrupt("reply state", s))
}

pub(crate) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("stored JSON does not parse: {e}"))
}

pub(crate) fn not_found_conversation(id: ConversationId) -> StoreError {
    StoreError::NotFound(format!("conversation {id}"))
}

pub(crate) fn not_found_reply(id: i64) -> StoreError {
    StoreError::NotFound(format!("reply {id}"))
}

/// A reply that did not go out, as stored: its state, reason, attempts counted (1 when the
/// network was tried) and the next automatic attempt.
pub(crate) fn reply_miss(
    miss: &crate::ReplyMiss,
) -> (ReplyState, &str, u32, Option<chrono::DateTime<chrono::Utc>>) {
    match miss {
        crate::ReplyMiss::Failed { error, retry_at } => (
            ReplyState::Failed,
            error.as_str(),
            1,
            retry_at.map(trunc_us),
        ),
        crate::ReplyMiss::NotSent { reason } => (ReplyState::NotSent, reason.as_str(), 0, None),
    }
}

pub(crate) fn reply_miss_action(miss: &crate::ReplyMiss) -> &'static str {
    match miss {
        crate::ReplyMiss::Failed { .. } => "reply_failed",
        crate::ReplyMiss::NotSent { .. } => "reply_not_sent",
    }
}

pub(crate) fn reply_miss_detail(
    reply_id: i64,
    miss: &crate::ReplyMiss,
    attempts: u32,
) -> serde_json::Value {
    let (_, error, _, retry_at) = reply_miss(miss);
    serde_json::json!({
        "reply_id": reply_id,
        "error": error,
        "attempts": attempts,
        "retry_at": retry_at,
    })
}

/// Where a stored post sits, as the ingest report needs it.
pub(crate) type Placement = (i64, Option<ConversationId>);

/// The real id of a conversation a plan refers to.
pub(crate) fn resolve(
    r: ConvRef,
    new_ids: &[ConversationId],
) -> Result<ConversationId, StoreError> {
    match r {
        ConvRef::Existing(id) => Ok(id),
        ConvRef::New(i) => new_ids.get(i).copied().ok_or_else(|| {
            StoreError::Database(format!(
                "threading plan refers to new conversation {i}, which was not created"
            ))
        }),
    }
}

/// Builds the ingest report in input order. `inserted[k]` is the id of `plan.posts[k]`;
/// `existing` holds the batch's posts that were stored before this batch.
pub(crate) fn report(
    batch: &[Incoming],
    plan: &Plan,
    new_ids: &[ConversationId],
    inserted: &[i64],
    existing: &HashMap<PostKey, Placement>,
) -> Result<IngestReport, StoreError> {
    let mut adopted: HashMap<&PostKey, ConversationId> = HashMap::with_capacity(plan.adopted.len());
    for (key, r) in &plan.adopted {
        adopted.insert(key, resolve(*r, new_ids)?);
    }
    let mut placed: HashMap<PostKey, Placement> = HashMap::with_capacity(plan.posts.len());
    let mut rows: Vec<Option<IngestedPost>> = vec![None; batch.len()];
    for (pp, &post_id) in plan.posts.iter().zip(inserted) {
        let post = &batch[pp.index].post;
        let key = post.key();
        let conversation_id = match pp.conversation {
            Some(r) => Some(resolve(r, new_ids)?),
            None => adopted.get(&key).copied(),
        };
        placed.insert(key, (post_id, conversation_id));
        rows[pp.index] = Some(IngestedPost {
            network: post.network,
            external_id: post.external_id.clone(),
            post_id,
            conversation_id,
            duplicate: false,
            edited: false,
        });
    }
    for &i in &plan.duplicates {
        let post = &batch[i].post;
        let key = post.key();
        let (post_id, conversation_id) = match existing.get(&key) {
            Some(&(id, conv)) => (id, conv.or_else(|| adopted.get(&key).copied())),
            None => placed.get(&key).copied().ok_or_else(|| {
                StoreError::Database(format!(
                    "duplicate post {} was never stored",
                    post.external_id
                ))
            })?,
        };
        rows[i] = Some(IngestedPost {
            network: post.network,
            external_id: post.external_id.clone(),
            post_id,
            conversation_id,
            duplicate: true,
            edited: false,
        });
    }
    let posts = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.ok_or_else(|| {
                StoreError::Database(format!("threading plan left post {i} of the batch out"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IngestReport {
        posts,
        new: plan.posts.len() as u64,
        duplicates: plan.duplicates.len() as u64,
        conversations_opened: plan.new_conversations.len() as u64,
        conversations_updated: plan.updated_conversations.len() as u64,
        edited: 0,
        refused: vec![],
    })
}

/// The words of a user's search: whitespace-separated, those with no letter or digit dropped.
/// Empty input is refused; input with no searchable word yields no words (nothing matches).
pub(crate) fn search_words(q: &str) -> Result<Vec<&str>, StoreError> {
    if q.trim().is_empty() {
        return Err(StoreError::Invalid("the search query is empty".into()));
    }
    // Control characters separate words too: a NUL would end FTS5's quoted string early
    // and PostgreSQL refuses it in text.
    Ok(q.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect())
}

/// Turns search words into an FTS5 query that cannot be read as query syntax: each word
/// becomes a quoted string (a phrase, if the tokenizer splits it), and the strings are ANDed.
pub(crate) fn fts5_query(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An SQL value both dialects can bind.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    Time(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Values bound to a query under construction, numbered as the dialect wants them.
pub(crate) struct Sql {
    pub args: Vec<Arg>,
    dialect: Dialect,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            args: Vec::new(),
            dialect,
        }
    }

    /// Binds a value and returns its placeholder.
    pub fn bind(&mut self, a: Arg) -> String {
        self.args.push(a);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.args.len()),
            Dialect::Postgres => format!("${}", self.args.len()),
        }
    }
}

/// The search's filters (network, language, intent, sentiment) as `AND …` clauses on `p`,
/// bound in `sql`: the same on both backends.
pub(crate) fn search_filters(sql: &mut Sql, q: &crate::SearchQuery) -> String {
    let mut filters = String::new();
    if let Some(n) = q.network {
        filters.push_str(&format!(
            " AND p.network = {}",
            sql.bind(Arg::Text(n.as_str().into()))
        ));
    }
    if let Some(l) = &q.language {
        filters.push_str(&format!(
            " AND p.lang = {}",
            sql.bind(Arg::Text(l.to_ascii_lowercase()))
        ));
    }
    if let Some(i) = q.intent {
        filters.push_str(&format!(
            " AND p.intent = {}",
            sql.bind(Arg::Text(i.as_str().into()))
        ));
    }
    if let Some(s) = q.sentiment {
        filters.push_str(&format!(
            " AND p.sentiment = {}",
            sql.bind(Arg::Text(s.as_str().into()))
        ));
    }
    filters
}

/// Columns of `conversations` (aliased `c`) in the order both backends read them.
pub(crate) const CONV_COLS: &str =
    "c.id, c.network, c.customer, c.root_external_id, c.status, c.assignee, \
     c.priority, c.signals, c.language, c.intent, c.sentiment, c.opened_at, c.last_activity_at, \
     c.awaiting_since, c.response_due, c.first_response_due, c.first_response_at, \
     c.first_response_secs, c.resolved_at, c.post_count, c.last_customer_at, c.last_brand_at, \
     c.awaits_parent";

/// Columns of `posts` (aliased `p`) in the order both backends read them.
pub(crate) const POST_COLS: &str = "p.id, p.network, p.external_id, p.author_external_id, p.author_handle, \
     p.author_display_name, p.author_followers, p.author_verified, p.author_bot, p.text, \
     p.created_at, p.received_at, p.in_reply_to, p.url, p.from_brand, p.conversation_id, p.analysis, \
     p.edited_at, p.deleted_at";

/// The subquery naming a conversation's latest customer post (served by `posts (conversation_id, created_at, id)`).
pub(crate) fn latest_customer_post(dialect: Dialect, conv: &str) -> String {
    let not_brand = match dialect {
        Dialect::Sqlite => "lp0.from_brand = 0",
        Dialect::Postgres => "NOT lp0.from_brand",
    };
    format!(
        "(SELECT lp0.id FROM posts lp0 WHERE lp0.conversation_id = {conv} AND {not_brand} \
         ORDER BY lp0.created_at DESC, lp0.id DESC LIMIT 1)"
    )
}

/// The filters an inbox query adds to `WHERE status = ...` (conversations aliased `c`).
fn inbox_conditions(sql: &mut Sql, f: &InboxFilter, now: DateTime<Utc>) -> String {
    let mut w = String::new();
    if let Some(n) = f.network {
        let p = sql.bind(Arg::Text(n.as_str().into()));
        w.push_str(&format!(" AND c.network = {p}"));
    }
    if let Some(l) = &f.language {
        let p = sql.bind(Arg::Text(l.to_ascii_lowercase()));
        w.push_str(&format!(" AND c.language = {p}"));
    }
    if let Some(i) = f.intent {
        let p = sql.bind(Arg::Text(i.as_str().into()));
        w.push_str(&format!(" AND c.intent = {p}"));
    }
    if let Some(s) = f.sentiment {
        let p = sql.bind(Arg::Text(s.as_str().into()));
        w.push_str(&format!(" AND c.sentiment = {p}"));
    }
    match f.assignee.as_deref() {
        None => {}
        Some("") => w.push_str(" AND (c.assignee IS NULL OR c.assignee = '')"),
        Some(a) => {
            let p = sql.bind(Arg::Text(a.into()));
            w.push_str(&format!(" AND c.assignee = {p}"));
        }
    }
    if let Some(breached) = f.breached {
        let p = sql.bind(Arg::Time(now));
        // Mirrors `Conversation::breached`, written so that it is never NULL.
        let cond = format!(
            "((c.first_response_at IS NOT NULL AND c.first_response_at > c.first_response_due) \
             OR (c.awaiting_since IS NOT NULL AND c.response_due IS NOT NULL AND c.response_due < {p}))"
        );
        if breached {
            w.push_str(&format!(" AND {cond}"));
        } else {
            w.push_str(&format!(" AND NOT {cond}"));
        }
    }
    w
}

/// The statuses an inbox filter asks for, each once; empty means all.
pub(crate) fn inbox_statuses(f: &InboxFilter) -> Vec<Status> {
    let mut out: Vec<Status> = Vec::new();
    let all = [Status::Open, Status::Pending, Status::Resolved];
    let wanted: &[Status] = if f.status.is_empty() { &all } else { &f.status };
    for s in wanted {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

/// The ids of one inbox page, best first. One arm per status, each walking the
/// `(status, priority_score DESC, id)` index and stopping at `offset + limit`, merged after:
/// a plain `status IN (...)` would have to sort every matching row.
pub(crate) fn inbox_page_ids(sql: &mut Sql, f: &InboxFilter, now: DateTime<Utc>) -> String {
    let statuses = inbox_statuses(f);
    let arm_limit = f
        .offset
        .saturating_add(u64::from(f.limit))
        .min(i64::MAX as u64) as i64;
    let mut arms = Vec::with_capacity(statuses.len());
    for (i, s) in statuses.iter().enumerate() {
        let ps = sql.bind(Arg::Text(s.as_str().into()));
        let cond = inbox_conditions(sql, f, now);
        let pl = sql.bind(Arg::Int(arm_limit));
        arms.push(format!(
            "SELECT id, priority_score FROM (SELECT c.id, c.priority_score FROM conversations c \
             WHERE c.status = {ps}{cond} ORDER BY c.priority_score DESC, c.id LIMIT {pl}) arm{i}"
        ));
    }
    let pl = sql.bind(Arg::Int(i64::from(f.limit)));
    let po = sql.bind(Arg::Int(f.offset.min(i64::MAX as u64) as i64));
    format!(
        "{} ORDER BY priority_score DESC, id LIMIT {pl} OFFSET {po}",
        arms.join(" UNION ALL ")
    )
}

/// Counting looks at no more conversations of the asked statuses than this: past it an
/// inbox page reports no total rather than scan the table.
pub(crate) const INBOX_COUNT_CAP: i64 = 2_000;

/// `SELECT scanned, matched`: how many conversations of the asked statuses were looked at
/// (at most [`INBOX_COUNT_CAP`] + 1) and how many of those pass the filters. Bounded work
/// whatever the filters; every column it reads is in the `conversations_inbox` index.
pub(crate) fn inbox_count(sql: &mut Sql, f: &InboxFilter, now: DateTime<Utc>) -> String {
    let statuses = inbox_statuses(f);
    let mut ins = Vec::with_capacity(statuses.len());
    for s in &statuses {
        ins.push(sql.bind(Arg::Text(s.as_str().into())));
    }
    let cond = inbox_conditions(sql, f, now);
    let cap = sql.bind(Arg::Int(INBOX_COUNT_CAP + 1));
    format!(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN 1 = 1{cond} THEN 1 ELSE 0 END), 0) FROM \
         (SELECT c.network, c.language, c.intent, c.sentiment, c.assignee, c.awaiting_since, c.response_due, \
         c.first_response_at, c.first_response_due FROM conversations c WHERE c.status IN ({}) LIMIT {cap}) c",
        ins.join(", ")
    )
}

/// The total to report for a page: exact when every candidate was looked at, else `None`.
pub(crate) fn capped_total(scanned: i64, matched: i64) -> Option<u64> {
    (scanned <= INBOX_COUNT_CAP).then_some(matched.max(0) as u64)
}

/// The inbox page's statement: the page's ids from the inbox index, then their rows with the
/// latest customer post (the same on both backends, bar placeholders).
pub(crate) fn inbox_sql(
    dialect: Dialect,
    filter: &InboxFilter,
    now: DateTime<Utc>,
) -> (String, Sql) {
    let mut sql = Sql::new(dialect);
    let page = inbox_page_ids(&mut sql, filter, now);
    let text = format!(
        "SELECT {CONV_COLS}, lp.text, lp.created_at FROM ({page}) page \
         JOIN conversations c ON c.id = page.id \
         LEFT JOIN posts lp ON lp.id = {latest} \
         ORDER BY page.priority_score DESC, page.id",
        latest = latest_customer_post(dialect, "c.id"),
    );
    (text, sql)
}

/// A page of search hits: `total` is known only when the page came out short (the last page),
/// and not for an empty page past the end.
pub(crate) fn search_page(
    items: Vec<crate::SearchHit>,
    q: &crate::SearchQuery,
) -> crate::Page<crate::SearchHit> {
    let short = (items.len() as u64) < u64::from(q.limit);
    let total =
        (short && (q.offset == 0 || !items.is_empty())).then(|| q.offset + items.len() as u64);
    crate::Page {
        items,
        total,
        limit: q.limit,
        offset: q.offset,
    }
}

#[cfg(test)]
mod tests;
