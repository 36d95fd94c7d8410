//! Query plans on PostgreSQL: statistics after bulk changes, and the plans of the hot reads
//! as text, so tests (and an operator) can see that the inbox and search stay on their
//! indexes.
//!
//! Without statistics the planner guesses: after a bulk import the inbox read every open
//! conversation (15.9 ms at 300k posts) instead of walking its index (4.5 ms), until
//! autovacuum happened to analyse the tables. So the store analyses them itself after
//! migrations and after a bulk import.

use super::search::{search_sql, GIN_ONLY};
use super::store::{inbox_sql, QUEUE_PACE_SQL, RESCORE_DUE_SQL};
use super::*;

/// The tables the hot reads plan on.
const ANALYSED: &str =
    "conversations, posts, replies, audit, requests, request_posts, request_languages";

/// `EXPLAIN` with the rows each step really produced (no costs or timings, so the text is
/// stable enough to assert on).
const EXPLAIN: &str = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)";

pub(super) async fn analyse<C: GenericClient>(c: &C) -> Result<(), tokio_postgres::Error> {
    c.batch_execute(&format!("ANALYZE {ANALYSED}")).await
}

async fn explain<C: GenericClient>(
    c: &C,
    text: &str,
    args: &[Boxed],
) -> Result<String, StoreError> {
    let rows = query(c, &format!("{EXPLAIN} {text}"), &refs(args)).await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<_, _>>()?;
    Ok(lines.join("\n"))
}

impl PgStore {
    /// Refreshes the planner's statistics of the hot tables (`ANALYZE`). Run after a bulk
    /// import; migrations run it themselves.
    pub async fn analyse(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        Ok(analyse(&client).await?)
    }

    /// The executed plans of a search: step 1 (the newest posts) and step 2 (the GIN index,
    /// under the same settings the search runs it with).
    pub async fn explain_search(&self, q: &SearchQuery) -> Result<[String; 2], StoreError> {
        let words = common::search_words(&q.q)?;
        let s = search_sql(&words, q);
        let args = s.args();
        let mut client = self.client().await?;
        let recent = explain(&client, &s.recent, &args).await?;
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.execute(GIN_ONLY, &[]).await?;
        let indexed = explain(&tx, &s.indexed, &args).await?;
        tx.commit().await?;
        Ok([recent, indexed])
    }

    /// The executed plan of an inbox page.
    pub async fn explain_inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let (text, sql) = inbox_sql(filter, common::trunc_us(now));
        let client = self.client().await?;
        explain(&client, &text, &boxed_args(&sql)).await
    }

    /// The executed plan of a re-ranking pass's first pick of the conversations due at `now`.
    pub async fn explain_rescore_due(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let args: [Boxed; 4] = [
            Box::new(common::trunc_us(now)),
            Box::new(reranking::before_any_due()),
            Box::new(0i64),
            Box::new(RESCORE_BATCH),
        ];
        let client = self.client().await?;
        explain(&client, RESCORE_DUE_SQL, &args).await
    }

    /// The executed plan of the queue's pace (`Store::queue_pace`) at `now`.
    pub async fn explain_queue_pace(&self, now: DateTime<Utc>) -> Result<String, StoreError> {
        let hour_ago: Boxed = Box::new(common::trunc_us(now - chrono::Duration::hours(1)));
        let client = self.client().await?;
        explain(&client, QUEUE_PACE_SQL, &[hour_ago]).await
    }
}
