//! The plans PostgreSQL runs the hot reads with, pinned with `EXPLAIN ANALYZE` on a store
//! large enough for the planner to choose: a search reads a bounded number of rows whatever
//! the word (a word no post contains must not walk the posts table), and the inbox walks its
//! index once the store has statistics.
//!
//! PostgreSQL only; skipped with a message when it cannot be reached, failing when `CI=true`.
#![allow(clippy::unwrap_used)]

// Only its fresh-database helper is used here, not the two-backend `suite!`.
#[allow(unused_macros, unused_imports)]
mod backends;

use chrono::{DateTime, Duration, Utc};
use earshot_store::bench::fill;
use earshot_store::postgres::PgStore;
use earshot_store::{InboxFilter, SearchQuery, Store};

const POSTS: u64 = 12_000;
/// The posts the search's first step reads at most (`RECENT_WINDOW` in the store).
const WINDOW: u64 = 4_000;

/// A PostgreSQL store filled with `POSTS` synthetic posts (threaded by the real ingest),
/// handed to `test`; the database is dropped after.
async fn on_filled_store<F, Fut>(test: F)
where
    F: FnOnce(PgStore, String) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    backends::on_fresh_postgres(|url| async move {
        let store = PgStore::connect(&url).await.unwrap();
        fill(&store, 0, POSTS, 2_000).await.unwrap();
        test(store, url).await;
    })
    .await;
}

fn search(q: &str) -> SearchQuery {
    backends::search(q, 50)
}

/// The `actual rows=N` of the first plan line naming `node`.
fn rows_of(plan: &str, node: &str) -> u64 {
    let line = plan
        .lines()
        .find(|l| l.contains(node))
        .unwrap_or_else(|| panic!("no {node:?} in the plan:\n{plan}"));
    let after = line.split("rows=").nth(1).expect("actual rows");
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Both steps of a search stay on their indexes and read a bounded number of rows.
async fn assert_search_plans(store: &PgStore, when: &str) {
    // A word no post contains: at most the recent window row by row, then nothing from GIN.
    let [recent, indexed] = store.explain_search(&search("zeppelin")).await.unwrap();
    assert!(
        recent.contains("Index Scan Backward using posts_pkey"),
        "{when}: step 1 walks the newest posts by id:\n{recent}"
    );
    assert!(
        rows_of(&recent, "posts_pkey") <= WINDOW,
        "{when}:\n{recent}"
    );
    assert!(
        indexed.contains("Bitmap Index Scan on posts_search"),
        "{when}: step 2 asks the GIN index:\n{indexed}"
    );
    assert!(
        !indexed.contains("Seq Scan") && !indexed.contains("posts_pkey"),
        "{when}: step 2 never walks the table:\n{indexed}"
    );
    assert_eq!(
        rows_of(&indexed, "Bitmap Heap Scan"),
        0,
        "{when}:\n{indexed}"
    );

    // A common word: the first step stops as soon as the page is full.
    let [recent, _] = store.explain_search(&search("seat")).await.unwrap();
    let read = rows_of(&recent, "posts_pkey");
    assert!(
        read < 1_000,
        "{when}: a common word reads {read} rows, not the table:\n{recent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reads_a_bounded_number_of_rows_with_or_without_statistics() {
    on_filled_store(|store, _| async move {
        assert_search_plans(&store, "as imported").await;
        store.analyse().await.unwrap();
        assert_search_plans(&store, "after ANALYZE").await;
    })
    .await;
}

/// Hits past the recent window come from the GIN step, newest first, with the same pages
/// (and total) a plain query over the whole table gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_match_a_full_scan_across_the_recent_window() {
    on_filled_store(|store, url| async move {
        let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        // The 120 oldest posts get a word of their own: far outside the recent window.
        admin
            .batch_execute("UPDATE posts SET text = text || ' oldword' WHERE id <= 120")
            .await
            .unwrap();
        for (q, offset) in [
            ("oldword", 0),
            ("oldword", 100),
            ("seat", 0),
            ("seat", 1_000),
            ("seat", 3_000),
            ("seat charger", 400),
            ("zeppelin", 0),
        ] {
            let page = store
                .search(&SearchQuery {
                    offset,
                    ..search(q)
                })
                .await
                .unwrap();
            let got: Vec<i64> = page.items.iter().map(|h| h.post.id).collect();
            let expected: Vec<i64> = admin
                .query(
                    "SELECT id FROM posts WHERE search @@ plainto_tsquery('simple', $1) \
                     ORDER BY id DESC LIMIT 50 OFFSET $2",
                    &[&q, &(offset as i64)],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            assert_eq!(got, expected, "{q:?} at offset {offset}");
            // A short page knows the total (an empty page past the end does not).
            if !got.is_empty() && got.len() < 50 {
                assert_eq!(page.total, Some(offset + got.len() as u64), "{q:?}");
            }
        }
        let old = store.search(&search("oldword")).await.unwrap();
        assert_eq!(old.items.len(), 50);
        assert_eq!(old.items[0].post.id, 120, "newest first");
    })
    .await;
}

/// With statistics (the store analyses after migrations and after a bulk import), the open
/// inbox walks `conversations_inbox` and reads about one page of rows, not every open one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_walks_its_index_after_analyse() {
    on_filled_store(|store, _| async move {
        store.analyse().await.unwrap();
        let base: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        let now = base + Duration::seconds(2 * POSTS as i64) + Duration::hours(1);
        let open = store.counts().await.unwrap().open_conversations;
        let plan = store
            .explain_inbox(&InboxFilter::default(), now)
            .await
            .unwrap();
        println!("{plan}");
        assert!(
            plan.contains("conversations_inbox"),
            "the inbox walks its index:\n{plan}"
        );
        assert!(
            !plan.contains("Seq Scan on conversations"),
            "the inbox never reads the whole table:\n{plan}"
        );
        let read = rows_of(&plan, "conversations_inbox");
        assert!(
            read <= 200 && read < open,
            "the inbox read {read} of {open} open conversations:\n{plan}"
        );
    })
    .await;
}

/// The queue's pace, read before every re-ranking, counts the last hour's answers through
/// `conversations_last_brand` instead of reading every conversation (migration 46).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_pace_counts_the_last_hours_answers_through_its_index() {
    on_filled_store(|store, _| async move {
        store.analyse().await.unwrap();
        let base: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        // Half an hour after the last post: the last hour holds its last half hour of answers.
        let now = base + Duration::seconds(2 * POSTS as i64) + Duration::minutes(30);
        let conversations = store.counts().await.unwrap().conversations;
        let plan = store.explain_queue_pace(now).await.unwrap();
        println!("{plan}");
        assert!(
            plan.contains("conversations_last_brand"),
            "the answers are counted through their index:\n{plan}"
        );
        let read = rows_of(&plan, "conversations_last_brand");
        assert!(
            read > 0 && read < conversations / 4,
            "the pace read {read} of {conversations} conversations:\n{plan}"
        );
        let pace = store.queue_pace(now).await.unwrap();
        assert_eq!(
            pace.answers_last_hour, read,
            "the plan counts what the pace reports"
        );
    })
    .await;
}

/// A re-ranking pass picks the conversations due through `conversations_rescore_due`
/// (migration 47), reading those due, not every one owed an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescoring_picks_the_due_conversations_through_their_index() {
    on_filled_store(|store, _| async move {
        store.analyse().await.unwrap();
        let base: DateTime<Utc> = DateTime::from_timestamp(1_704_067_200, 0).unwrap();
        let waiting = store.queue_pace(base).await.unwrap().waiting;
        assert!(waiting > 1_000, "{waiting} conversations owed an answer");
        // Ingest timed every one: at the first post nothing is due yet.
        let plan = store.explain_rescore_due(base).await.unwrap();
        println!("{plan}");
        assert!(
            plan.contains("conversations_rescore_due"),
            "the due ones are picked through their index:\n{plan}"
        );
        assert_eq!(rows_of(&plan, "conversations_rescore_due"), 0, "{plan}");
    })
    .await;
}
