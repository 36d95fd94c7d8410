//! Ingests running at the same time, as several ingest workers and processes run them on
//! PostgreSQL: batches about the same customer or thread must still thread as if one came
//! after the other (one conversation per customer, a reply with its parent, no post twice).
//! Each test starts its writers together behind a barrier, many times over, so a race that
//! can happen does. Run on SQLite too, where the writers simply take turns.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::{Intent, Language};
use earshot_core::threading::{Incoming, TriagePolicy};
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
    store
        .ingest(batch, &TriagePolicy::default(), base() + Duration::days(1))
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
