//! Ingests running at the same time, as several ingest workers and processes run them on
//! PostgreSQL: batches about the same customer or thread must still thread as if one came
//! after the other (one conversation per customer, a reply with its parent, no post twice).
//! Each test starts its writers together behind a barrier, many times over, so a race that
//! can happen does. Run on SQLite too, where the writers simply take turns.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::{Intent, Language};
use earshot_core::threading::{self, Incoming, TriagePolicy};
use earshot_core::{Analysis, Author, ConversationId, Network, NewPost};
use earshot_store::{InboxFilter, IngestReport, Store};
use std::sync::Arc;
use tokio::sync::Barrier;

mod backends;
use backends::suite;

suite!(
    one_customer_writing_through_many_writers_has_one_conversation,
    a_reply_and_its_parent_heard_at_once_share_a_conversation,
    an_orphan_chain_extended_while_its_root_arrives_is_adopted_whole,
    a_rescore_beside_ingests_loses_neither_write,
    queue_jumps_beside_ingests_lose_neither_write,
);

fn base() -> DateTime<Utc> {
    DateTime::from_timestamp(1_717_200_000, 0).unwrap()
}

/// A post by `author` (`"brand"` for the brand's own) at `minute`, maybe replying to `parent`.
fn post(id: &str, author: &str, minute: i64, parent: Option<&str>) -> Incoming {
    let from_brand = author == "brand";
    let mut analysis = Analysis::default();
    analysis.language.language = Language::new("en");
    analysis.intent.label = if from_brand {
        Intent::Other
    } else {
        Intent::Question
    };
    Incoming {
        post: NewPost {
            network: Network::X,
            external_id: id.into(),
            author: Author {
                external_id: format!("id-{author}"),
                handle: author.into(),
                display_name: None,
                followers: Some(10),
                verified: false,
                bot: false,
            },
            text: format!("@voltra post {id}"),
            created_at: base() + Duration::minutes(minute),
            in_reply_to: parent.map(str::to_string),
            lang: None,
            url: None,
            from_brand: Some(from_brand),
            raw: None,
        },
        analysis,
        from_brand,
    }
}

async fn ingest(store: &Arc<dyn Store>, batch: Vec<Incoming>) -> IngestReport {
    ingest_at(store, batch, base() + Duration::days(1)).await
}

async fn ingest_at(
    store: &Arc<dyn Store>,
    batch: Vec<Incoming>,
    now: DateTime<Utc>,
) -> IngestReport {
    store
        .ingest(batch, &TriagePolicy::default(), now)
        .await
        .unwrap()
}

/// Runs each batch in its own task, all released together.
async fn at_once(store: &Arc<dyn Store>, batches: Vec<Vec<Incoming>>) -> Vec<IngestReport> {
    let barrier = Arc::new(Barrier::new(batches.len()));
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                ingest(&store, batch).await
            })
        })
        .collect();
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(t.await.unwrap());
    }
    reports
}

fn conversation_of(reports: &[IngestReport], id: &str) -> Option<ConversationId> {
    reports
        .iter()
        .flat_map(|r| &r.posts)
        .find(|p| p.external_id == id && p.conversation_id.is_some())
        .and_then(|p| p.conversation_id)
}

async fn posts_in(store: &Arc<dyn Store>, id: ConversationId) -> Vec<String> {
    let detail = store.conversation(id).await.unwrap().unwrap();
    let mut ids: Vec<String> = detail.posts.into_iter().map(|p| p.external_id).collect();
    ids.sort();
    ids
}

async fn one_customer_writing_through_many_writers_has_one_conversation(store: Arc<dyn Store>) {
    // Six writers, five rounds; in each round every writer has two posts of Ann's and the
    // round's shared post (heard by all six, as a redelivery would be).
    let writers = 6;
    for round in 0..5 {
        let batches = (0..writers)
            .map(|w| {
                let minute = round * 20 + w * 2;
                vec![
                    post(&format!("ann-{round}-{w}-a"), "ann", minute, None),
                    post(&format!("ann-{round}-{w}-b"), "ann", minute + 1, None),
                    post(&format!("ann-{round}-shared"), "ann", round * 20, None),
                ]
            })
            .collect();
        let reports = at_once(&store, batches).await;
        let new: u64 = reports.iter().map(|r| r.new).sum();
        let duplicates: u64 = reports.iter().map(|r| r.duplicates).sum();
        assert_eq!(
            new,
            2 * writers as u64 + 1,
            "round {round}: each post stored once"
        );
        assert_eq!(
            duplicates,
            writers as u64 - 1,
            "round {round}: the shared post"
        );
    }
    let counts = store.counts().await.unwrap();
    assert_eq!(counts.posts, 5 * (2 * 6 + 1));
    assert_eq!(
        counts.conversations, 1,
        "all of Ann's posts, within a day, are one conversation"
    );
    let inbox = store
        .inbox(
            &InboxFilter {
                status: vec![],
                ..InboxFilter::default()
            },
            base() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(inbox.items[0].conversation.post_count, 5 * 13);
}

async fn a_reply_and_its_parent_heard_at_once_share_a_conversation(store: Arc<dyn Store>) {
    // Paul's post and Lena's reply to it arrive in two batches at the same moment, twenty
    // times; whichever is threaded first, the other must join it.
    for i in 0..20 {
        let parent = format!("paul-{i}");
        let reports = at_once(
            &store,
            vec![
                vec![post(&parent, &format!("paul{i}"), i * 60, None)],
                vec![post(
                    &format!("lena-{i}"),
                    &format!("lena{i}"),
                    i * 60 + 5,
                    Some(&parent),
                )],
            ],
        )
        .await;
        let a = conversation_of(&reports, &parent).unwrap();
        let b = conversation_of(&reports, &format!("lena-{i}")).unwrap();
        assert_eq!(
            a, b,
            "pair {i}: the reply and its parent are one conversation"
        );
        assert_eq!(
            posts_in(&store, a).await,
            [format!("lena-{i}"), parent.clone()]
        );
    }
    assert_eq!(store.counts().await.unwrap().conversations, 20);
}

async fn an_orphan_chain_extended_while_its_root_arrives_is_adopted_whole(store: Arc<dyn Store>) {
    // The brand answered a post earshot never heard, and again under its own answer: both
    // are stored without a conversation, waiting. Then, at the same moment, the customer's
    // post arrives and the brand answers a third time at the end of the chain.
    for i in 0..20 {
        let (root, b1, b2, b3) = (
            format!("root-{i}"),
            format!("b1-{i}"),
            format!("b2-{i}"),
            format!("b3-{i}"),
        );
        let t = i * 60;
        let r = ingest(
            &store,
            vec![
                post(&b1, "brand", t + 1, Some(&root)),
                post(&b2, "brand", t + 2, Some(&b1)),
            ],
        )
        .await;
        assert!(r.posts.iter().all(|p| p.conversation_id.is_none()));
        let reports = at_once(
            &store,
            vec![
                vec![post(&root, &format!("cust{i}"), t, None)],
                vec![post(&b3, "brand", t + 3, Some(&b2))],
            ],
        )
        .await;
        let c = conversation_of(&reports, &root).unwrap();
        let mut want = vec![b1, b2, b3, root];
        want.sort();
        assert_eq!(
            posts_in(&store, c).await,
            want,
            "chain {i}: the whole chain joins the customer's conversation"
        );
    }
    assert_eq!(store.counts().await.unwrap().conversations, 20);
}

/// `customers` customers (`cust0`, ...), each waiting on a question (`q-0`, ...) asked at
/// minute `c`, ingested together an hour in; their conversations, in customer order.
async fn customers_waiting(store: &Arc<dyn Store>, customers: usize) -> Vec<ConversationId> {
    let seeded = ingest_at(
        store,
        (0..customers)
            .map(|c| post(&format!("q-{c}"), &format!("cust{c}"), c as i64, None))
            .collect(),
        base() + Duration::hours(1),
    )
    .await;
    (0..customers)
        .map(|c| conversation_of(std::slice::from_ref(&seeded), &format!("q-{c}")).unwrap())
        .collect()
}

/// Round `round`'s content-free chase ("hello??") from each of `customers`, a minute before
/// the round's hour.
fn chases(round: usize, customers: std::ops::Range<usize>) -> Vec<Incoming> {
    customers
        .map(|c| {
            let mut chase = post(
                &format!("chase-{round}-{c}"),
                &format!("cust{c}"),
                (2 + round as i64) * 60 - 1,
                None,
            );
            chase.post.text = "@voltra hello??".into();
            chase.analysis.chase = true;
            chase
        })
        .collect()
}

async fn a_rescore_beside_ingests_loses_neither_write(store: Arc<dyn Store>) {
    // Forty customers wait for an answer. Then, round after round, at the same moment, four
    // writers each bring a chase ("hello??") from ten of them while two housekeeping passes
    // rescore them all, as of that moment. Every chase must be counted and every post kept
    // (the ingest's write survived the rescore), and every conversation must rank as it does
    // at that moment with what it holds (the rescore's write, or the ingest's own, each made
    // from the other's newest state, never from a state the other had already replaced).
    let (customers, writers, rounds) = (40, 4, 6);
    let policy = TriagePolicy::default();
    let conversations = customers_waiting(&store, customers as usize).await;
    let mut now = base();
    for round in 0..rounds {
        now = base() + Duration::hours(2 + round);
        let barrier = Arc::new(Barrier::new(writers + 2));
        let mut ingests = Vec::new();
        for w in 0..writers {
            let batch = chases(round as usize, w * 10..w * 10 + 10);
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            ingests.push(tokio::spawn(async move {
                barrier.wait().await;
                ingest_at(&store, batch, now).await
            }));
        }
        let rescores: Vec<_> = (0..2)
            .map(|_| {
                let (store, barrier, policy) =
                    (Arc::clone(&store), Arc::clone(&barrier), policy.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.rescore_open(&policy, now).await.unwrap()
                })
            })
            .collect();
        for t in ingests {
            let report = t.await.unwrap();
            assert_eq!(report.new, 10, "round {round}: each chase stored");
        }
        for t in rescores {
            t.await.unwrap();
        }
    }
    assert_eq!(
        store.counts().await.unwrap().conversations,
        customers as u64,
        "each chase joined its customer's conversation"
    );
    for (c, id) in conversations.iter().enumerate() {
        let conv = store.conversation(*id).await.unwrap().unwrap().conversation;
        assert_eq!(
            conv.post_count,
            1 + rounds as u32,
            "customer {c}: the question and every chase"
        );
        assert_eq!(conv.signals.chases, rounds as u32, "customer {c}: chases");
        assert_eq!(
            conv.last_activity_at,
            base() + Duration::minutes((1 + rounds) * 60 - 1),
            "customer {c}: the last chase"
        );
        let since = conv.awaiting_since.expect("still owed an answer");
        let want = threading::rank(&conv.signals, Some(since), &policy, now);
        assert_eq!(conv.priority.band, want.band, "customer {c}: band");
        assert!(
            (conv.priority.score - want.score).abs() < 1e-3,
            "customer {c}: ranked as of the last round ({} stored, {} wanted)",
            conv.priority.score,
            want.score
        );
    }
}

async fn queue_jumps_beside_ingests_lose_neither_write(store: Arc<dyn Store>) {
    // Forty customers wait. In each of two rounds, at the same moment, four writers bring a
    // chase from all of them while two agents jump twenty of the conversations to the front.
    // Every chase must be counted (the ingest's write survived the jump) and every jump kept
    // (the jump's write survived the ingest), each made from the other's newest state.
    let (customers, writers, rounds, jumpers) = (40usize, 4usize, 2usize, 2usize);
    let policy = TriagePolicy::default();
    let conversations = customers_waiting(&store, customers).await;
    for round in 0..rounds {
        let now = base() + Duration::hours(2 + round as i64);
        let barrier = Arc::new(Barrier::new(writers + jumpers));
        let per_writer = customers / writers;
        let mut ingests = Vec::new();
        for w in 0..writers {
            let batch = chases(round, w * per_writer..(w + 1) * per_writer);
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            ingests.push(tokio::spawn(async move {
                barrier.wait().await;
                ingest_at(&store, batch, now).await
            }));
        }
        // This round's half of the conversations, split between the agents.
        let half = customers / rounds;
        let jumps: Vec<_> = (0..jumpers)
            .map(|j| {
                let per_jumper = half / jumpers;
                let start = round * half + j * per_jumper;
                let ids: Vec<ConversationId> = conversations[start..start + per_jumper].to_vec();
                let (store, barrier, policy) =
                    (Arc::clone(&store), Arc::clone(&barrier), policy.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    for id in ids {
                        store.mark_jump(id, "press", &policy, now).await.unwrap();
                    }
                })
            })
            .collect();
        for t in ingests {
            assert_eq!(
                t.await.unwrap().new,
                per_writer as u64,
                "round {round}: each chase stored"
            );
        }
        for t in jumps {
            t.await.unwrap();
        }
    }
    for (c, id) in conversations.iter().enumerate() {
        let conv = store.conversation(*id).await.unwrap().unwrap().conversation;
        assert_eq!(
            conv.signals.chases, rounds as u32,
            "customer {c}: every chase"
        );
        assert_eq!(
            conv.post_count,
            1 + rounds as u32,
            "customer {c}: the question and every chase"
        );
        assert_eq!(
            conv.signals.jump.as_deref(),
            Some("press"),
            "customer {c}: the jump kept"
        );
    }
}

/// PostgreSQL only: a queue jump takes the ingest lock shared and locks its row, so it runs
/// while an ingest holds its turn, and waits (as any write to it would) for an ingest that
/// holds its conversation's row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_queue_jump_runs_beside_an_ingest_turn_and_waits_for_its_row() {
    backends::on_fresh_postgres(|url| async move {
        let (store, mut other) = store_and_another_connection(&url).await;
        let report = ingest(&store, vec![post("q-1", "ann", 0, None)]).await;
        let id = conversation_of(std::slice::from_ref(&report), "q-1").unwrap();
        let policy = TriagePolicy::default();
        let now = base() + Duration::days(1);

        // An ingest's turn, held, about other conversations: the jump passes it.
        let tx = an_ingest_turn(&mut other).await;
        let jumped = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            store.mark_jump(id, "press", &policy, now),
        )
        .await
        .expect("a queue jump does not wait for an ingest's turn")
        .unwrap();
        assert_eq!(jumped.signals.jump.as_deref(), Some("press"));
        tx.rollback().await.unwrap();

        // An ingest rewriting this very conversation (its row locked): the jump waits for it.
        let other_id = {
            let report = ingest(&store, vec![post("q-2", "bo", 1, None)]).await;
            conversation_of(std::slice::from_ref(&report), "q-2").unwrap()
        };
        let tx = other.transaction().await.unwrap();
        tx.execute(
            "SELECT id FROM conversations WHERE id = $1 FOR UPDATE",
            &[&other_id.0],
        )
        .await
        .unwrap();
        let jump = {
            let (store, policy) = (Arc::clone(&store), policy.clone());
            tokio::spawn(async move { store.mark_jump(other_id, "vip", &policy, now).await })
        };
        let jumped = waits_for(
            tx,
            jump,
            "a jump waits for whoever holds its conversation's row",
        )
        .await
        .unwrap();
        assert_eq!(jumped.signals.jump.as_deref(), Some("vip"));
    })
    .await;
}

/// A PostgreSQL store on `url`, and a connection of its own beside it, to hold locks as an
/// ingest in another process would.
async fn store_and_another_connection(url: &str) -> (Arc<dyn Store>, tokio_postgres::Client) {
    let store: Arc<dyn Store> = Arc::new(
        earshot_store::postgres::PgStore::connect(url)
            .await
            .unwrap(),
    );
    let (other, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    (store, other)
}

/// A transaction on `other` holding an ingest's turn (the ingest lock, shared), as an ingest
/// in another process holds it while it commits.
async fn an_ingest_turn(other: &mut tokio_postgres::Client) -> tokio_postgres::Transaction<'_> {
    let tx = other.transaction().await.unwrap();
    tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&INGEST_LOCK])
        .await
        .unwrap();
    tx
}

/// Checks that `task` is still held back half a second into `tx` (what `waiting` says), then
/// commits `tx` and returns what the task gives once let go.
async fn waits_for<T>(
    tx: tokio_postgres::Transaction<'_>,
    task: tokio::task::JoinHandle<T>,
    waiting: &str,
) -> T {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!task.is_finished(), "{waiting}");
    tx.commit().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .unwrap_or_else(|_| panic!("still waiting after the commit: {waiting}"))
        .unwrap()
}

/// The store-wide ingest lock (`INGEST_LOCK` in the PostgreSQL store: "earshot", then 2).
const INGEST_LOCK: i64 = 0x6561_7273_686f_7402;

/// PostgreSQL only: a rescore takes the ingest lock shared, so it runs while an ingest holds
/// its turn (the housekeeping pass no longer stalls ingest), and still waits for work that
/// takes the store alone (a correction, a bulk import).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rescore_runs_beside_an_ingest_turn_but_not_beside_a_whole_store_turn() {
    backends::on_fresh_postgres(|url| async move {
        let (store, mut other) = store_and_another_connection(&url).await;
        ingest(&store, vec![post("q-1", "ann", 0, None)]).await;
        let policy = TriagePolicy::default();
        let later = base() + Duration::days(2);

        // An ingest's turn, held: the rescore passes it.
        let tx = an_ingest_turn(&mut other).await;
        let updated = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            store.rescore_open(&policy, later),
        )
        .await
        .expect("a rescore does not wait for an ingest's turn")
        .unwrap()
        .reranked;
        assert_eq!(updated, 1, "Ann's conversation, waited on for a day more");
        tx.rollback().await.unwrap();

        // The whole store, held: the rescore waits until it is let go.
        let tx = other.transaction().await.unwrap();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK])
            .await
            .unwrap();
        let rescore = {
            let (store, policy) = (Arc::clone(&store), policy.clone());
            tokio::spawn(async move {
                store
                    .rescore_open(&policy, later + Duration::days(1))
                    .await
                    .unwrap()
                    .reranked
            })
        };
        let updated = waits_for(
            tx,
            rescore,
            "a rescore waits for work that takes the store alone",
        )
        .await;
        assert_eq!(updated, 1);
    })
    .await;
}
