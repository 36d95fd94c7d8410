//! Search on PostgreSQL, bounded by the index whatever the word.
//!
//! One query cannot serve every word: ordered by `id` newest first, the planner walks the
//! primary key and checks each post, which stops early for a common word but reads the whole
//! table for a word no post contains; through the GIN index it finds a rare word at once
//! but fetches and sorts every match of a common one. So a search runs in two steps:
//!
//! 1. **the newest posts, row by row**: at most [`RECENT_WINDOW`] posts, newest first
//!    (`LIMIT` over a backward primary-key scan). A word common enough to fill the page
//!    there is answered without touching the rest.
//! 2. **otherwise through the GIN index** (sequential and plain index scans switched off for
//!    that statement, so the plan cannot depend on statistics or a generic plan): the word
//!    is then rare among recent posts, so its matches are few unless it was common long ago.
//!
//! Both steps read the same `search` column, so the hits are the same as one query's.

use super::*;

/// How many of the newest posts step 1 reads before asking the GIN index. A word in more
/// than `(offset + limit) / RECENT_WINDOW` of recent posts (1.25% for a first page of 50) is
/// answered here; a rarer one costs at most its matches through the index.
pub(super) const RECENT_WINDOW: i64 = 4_000;

/// The two statements of a search and their arguments (shared: same placeholders).
pub(super) struct SearchSql {
    /// Step 1: the newest [`RECENT_WINDOW`] posts, row by row.
    pub recent: String,
    /// Step 2: every post, through the GIN index (run with [`GIN_ONLY`]).
    pub indexed: String,
    sql: Sql,
}

/// Switches off, for the current transaction, the plans that would walk the table: what is
/// left for step 2 is the bitmap scan of the GIN index.
pub(super) const GIN_ONLY: &str = "SELECT set_config('enable_seqscan', 'off', true), \
     set_config('enable_indexscan', 'off', true)";

pub(super) fn search_sql(words: &[&str], q: &SearchQuery) -> SearchSql {
    let mut sql = Sql::new(Dialect::Postgres);
    let m = sql.bind(Arg::Text(words.join(" ")));
    let filters = common::search_filters(&mut sql, q);
    let limit = sql.bind(Arg::Int(i64::from(q.limit)));
    let offset = sql.bind(Arg::Int(q.offset.min(i64::MAX as u64) as i64));
    let matches = format!("p.search @@ plainto_tsquery('simple', earshot_fold({m})){filters}");
    let page = format!("ORDER BY p.id DESC LIMIT {limit} OFFSET {offset}");
    SearchSql {
        recent: format!(
            "SELECT {POST_COLS} FROM (SELECT * FROM posts ORDER BY id DESC LIMIT {RECENT_WINDOW}) p \
             WHERE {matches} {page}"
        ),
        indexed: format!("SELECT {POST_COLS} FROM posts p WHERE {matches} {page}"),
        sql,
    }
}

impl SearchSql {
    pub(super) fn args(&self) -> Vec<Boxed> {
        boxed_args(&self.sql)
    }
}

pub(super) async fn search(
    client: &mut deadpool_postgres::Client,
    q: &SearchQuery,
) -> Result<Page<SearchHit>, StoreError> {
    let words = common::search_words(&q.q)?;
    if words.is_empty() || q.limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total: words.is_empty().then_some(0),
            limit: q.limit,
            offset: q.offset,
        });
    }
    let s = search_sql(&words, q);
    let args = s.args();
    let mut rows = query(&*client, &s.recent, &refs(&args)).await?;
    // A full page from the newest posts is the right page: every older match has a
    // smaller id than each of them.
    if rows.len() < q.limit as usize {
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.execute(GIN_ONLY, &[]).await?;
        rows = query(&tx, &s.indexed, &refs(&args)).await?;
        tx.commit().await?;
    }
    let items = map_rows(&rows, |r| {
        Ok(SearchHit {
            post: post_from_row(r)?,
        })
    })?;
    Ok(common::search_page(items, q))
}
