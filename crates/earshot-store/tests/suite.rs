//! One store suite, two databases: every behaviour below is written once against
//! `Arc<dyn Store>` and run on SQLite (a temporary file) and on PostgreSQL (a fresh database
//! per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::threading::{self, Incoming, TriagePolicy};
use earshot_core::{Analysis, ConversationEvent, ConversationId, Network, ReplyState, Status};
use earshot_store::postgres::PgStore;
use earshot_store::{
    InboxFilter, NewReply, ReplyMiss, RescorePass, SearchQuery, Store, StoreError,
};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Running one behaviour on each database.

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    ingest_threads_and_times_the_first_response,
    same_post_twice_changes_nothing,
    reply_before_its_parent_is_adopted,
    customer_follow_up_reopens,
    new_post_joins_the_customers_open_conversation,
    inbox_ranks_and_filters,
    search_finds_words_and_filters,
    apply_transitions_and_audit_trail,
    replies_are_idempotent_and_tracked,
    response_samples_and_volume,
    rescore_open_raises_a_waiting_conversation,
    rescore_open_reads_only_what_can_have_moved,
    conversations_are_read_together_as_each_alone,
    cursors_resume,
    concurrent_overlapping_ingests_store_each_post_once,
    a_reply_is_claimed_by_one_sender_at_a_time,
    edits_and_deletions_follow_the_author,
    requests_promises_and_releases,
    odd_times_are_refused_one_by_one_and_the_batch_is_kept,
    a_post_heard_again_with_another_text_is_an_audited_edit,
    a_search_with_control_characters_is_answered,
    a_customer_reply_heard_before_its_parent_is_joined_by_it,
    asks_in_no_request_are_found_in_id_order_from_a_cursor,
);

// ---------------------------------------------------------------------------------------
// Building posts.

fn policy() -> TriagePolicy {
    TriagePolicy::default()
}

fn customer(id: &str, author: &str, at: &str, text: &str) -> Incoming {
    let mut p = heard(id, author, at)
        .intent(Intent::Question)
        .followers(1520);
    p.post.author.display_name = Some(author.to_uppercase());
    p.post.url = Some(format!("https://example.com/{id}"));
    p.post.raw = Some(format!("{{\"id\":\"{id}\"}}"));
    p.text(text)
}

fn brand(id: &str, at: &str, reply_to: &str) -> Incoming {
    let mut p = customer(id, "brand", at, "We are on it!");
    p.post.in_reply_to = Some(reply_to.into());
    p.post.from_brand = Some(true);
    p.from_brand = true;
    p.analysis.intent.label = Intent::Other;
    p
}

async fn ingest(
    store: &Arc<dyn Store>,
    batch: Vec<Incoming>,
    now: &str,
) -> earshot_store::IngestReport {
    store.ingest(batch, &policy(), t(now)).await.unwrap()
}

fn conversation_of(report: &earshot_store::IngestReport, external_id: &str) -> ConversationId {
    report
        .posts
        .iter()
        .find(|p| p.external_id == external_id)
        .and_then(|p| p.conversation_id)
        .unwrap_or_else(|| panic!("post {external_id} has no conversation: {report:?}"))
}

// ---------------------------------------------------------------------------------------
// The behaviours.

const PAUL: &str = "@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?";

async fn ingest_threads_and_times_the_first_response(store: Arc<dyn Store>) {
    let question = customer(
        "896523232098078720",
        "paulfranks",
        "2017-08-18T20:47:00-07:00",
        PAUL,
    )
    .intent(Intent::FeatureRequest);
    let analysis = question.analysis.clone();
    let batch = vec![
        question,
        brand(
            "896529192975659008",
            "2017-08-18T21:11:00-07:00",
            "896523232098078720",
        ),
    ];
    let report = ingest(&store, batch, "2017-08-19T06:00:00Z").await;
    assert_eq!(
        (
            report.new,
            report.duplicates,
            report.conversations_opened,
            report.conversations_updated
        ),
        (2, 0, 1, 0)
    );
    assert_eq!(report.posts.len(), 2);
    assert_eq!(report.posts[0].external_id, "896523232098078720");
    assert_eq!(report.posts[1].external_id, "896529192975659008");
    assert!(report.posts.iter().all(|p| !p.duplicate));
    assert_ne!(report.posts[0].post_id, report.posts[1].post_id);
    let id = conversation_of(&report, "896523232098078720");
    assert_eq!(report.posts[1].conversation_id, Some(id));

    let detail = store.conversation(id).await.unwrap().unwrap();
    let c = &detail.conversation;
    assert_eq!(c.id, id);
    assert_eq!(c.network, Network::X);
    assert_eq!(c.customer.handle, "paulfranks");
    assert_eq!(c.root_external_id, "896523232098078720");
    assert_eq!(c.opened_at, t("2017-08-18T20:47:00-07:00"));
    assert_eq!(c.first_response_at, Some(t("2017-08-18T21:11:00-07:00")));
    assert_eq!(c.first_response_secs, Some(24 * 60));
    assert_eq!(c.status, Status::Pending);
    assert_eq!(c.awaiting_since, None);
    assert_eq!(c.post_count, 2);
    assert_eq!(c.intent, Intent::FeatureRequest);
    assert_eq!(c.language, "en");

    assert_eq!(detail.posts.len(), 2);
    let (q, a) = (&detail.posts[0], &detail.posts[1]);
    assert_eq!(q.text, PAUL);
    assert_eq!(q.analysis, analysis);
    assert_eq!(q.author.display_name.as_deref(), Some("PAULFRANKS"));
    assert_eq!(q.author.followers, Some(1520));
    assert_eq!(
        q.url.as_deref(),
        Some("https://example.com/896523232098078720")
    );
    assert_eq!(q.received_at, t("2017-08-19T06:00:00Z"));
    assert_eq!(q.id, report.posts[0].post_id);
    assert!(!q.from_brand && a.from_brand);
    assert_eq!(a.in_reply_to.as_deref(), Some("896523232098078720"));
    assert_eq!(a.conversation_id, Some(id));

    let counts = store.counts().await.unwrap();
    assert_eq!(
        (
            counts.posts,
            counts.conversations,
            counts.open_conversations,
            counts.replies
        ),
        (2, 1, 0, 0)
    );
    assert!(store
        .conversation(ConversationId(987_654))
        .await
        .unwrap()
        .is_none());
}

async fn same_post_twice_changes_nothing(store: Arc<dyn Store>) {
    let batch = vec![
        customer("1", "paul", "2024-03-01T10:00:00Z", "my seat is stuck"),
        brand("2", "2024-03-01T10:05:00Z", "1"),
        customer("3", "lena", "2024-03-01T10:06:00Z", "app crashes"),
    ];
    let first = ingest(&store, batch.clone(), "2024-03-01T11:00:00Z").await;
    let counts = store.counts().await.unwrap();
    let id = conversation_of(&first, "1");
    let before = store.conversation(id).await.unwrap().unwrap();

    let again = ingest(&store, batch.clone(), "2024-03-01T12:00:00Z").await;
    assert_eq!(
        (
            again.new,
            again.duplicates,
            again.conversations_opened,
            again.conversations_updated
        ),
        (0, 3, 0, 0)
    );
    for (a, b) in first.posts.iter().zip(&again.posts) {
        assert_eq!(
            (a.post_id, a.conversation_id),
            (b.post_id, b.conversation_id)
        );
        assert!(b.duplicate);
    }
    assert_eq!(store.counts().await.unwrap(), counts);
    assert_eq!(store.conversation(id).await.unwrap().unwrap(), before);

    // The same new post twice in one batch is stored once.
    let twice = vec![
        customer("4", "maria", "2024-03-01T10:10:00Z", "hello"),
        customer("4", "maria", "2024-03-01T10:10:00Z", "hello"),
    ];
    let r = ingest(&store, twice, "2024-03-01T12:00:00Z").await;
    assert_eq!((r.new, r.duplicates), (1, 1));
    assert_eq!(r.posts[0].post_id, r.posts[1].post_id);
    assert_eq!(r.posts[0].conversation_id, r.posts[1].conversation_id);
    assert_eq!(r.posts.iter().filter(|p| p.duplicate).count(), 1);
    assert_eq!(store.counts().await.unwrap().posts, counts.posts + 1);
}

async fn reply_before_its_parent_is_adopted(store: Arc<dyn Store>) {
    let first = ingest(
        &store,
        vec![brand("2", "2017-08-18T21:11:00Z", "1")],
        "2017-08-18T21:12:00Z",
    )
    .await;
    assert_eq!(first.posts[0].conversation_id, None);
    assert_eq!(store.counts().await.unwrap().conversations, 0);

    let second = ingest(
        &store,
        vec![customer("1", "paul", "2017-08-18T20:47:00Z", PAUL)],
        "2017-08-18T21:30:00Z",
    )
    .await;
    let id = conversation_of(&second, "1");
    let detail = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(detail.conversation.first_response_secs, Some(24 * 60));
    assert_eq!(detail.conversation.post_count, 2);
    assert_eq!(detail.conversation.status, Status::Pending);
    let ids: Vec<&str> = detail
        .posts
        .iter()
        .map(|p| p.external_id.as_str())
        .collect();
    assert_eq!(ids, ["1", "2"]);
    assert!(detail.posts.iter().all(|p| p.conversation_id == Some(id)));

    // Delivered again, the adopted reply reports where it now lives.
    let again = ingest(
        &store,
        vec![brand("2", "2017-08-18T21:11:00Z", "1")],
        "2017-08-18T21:40:00Z",
    )
    .await;
    assert!(again.posts[0].duplicate);
    assert_eq!(again.posts[0].conversation_id, Some(id));
    assert_eq!(again.posts[0].post_id, first.posts[0].post_id);
}

async fn customer_follow_up_reopens(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![
            customer("1", "paul", "2017-08-18T20:47:00Z", PAUL),
            brand("2", "2017-08-18T21:11:00Z", "1"),
        ],
        "2017-08-18T21:12:00Z",
    )
    .await;
    let id = conversation_of(&r, "1");

    let r = ingest(
        &store,
        vec![customer(
            "3",
            "paul",
            "2017-08-18T21:30:00Z",
            "thanks, and the wheel?",
        )
        .reply_to("2")],
        "2017-08-18T21:31:00Z",
    )
    .await;
    assert_eq!((r.conversations_opened, r.conversations_updated), (0, 1));
    assert_eq!(conversation_of(&r, "3"), id);
    let c = store.conversation(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.status, Status::Open);
    assert_eq!(c.awaiting_since, Some(t("2017-08-18T21:30:00Z")));
    assert!(c.response_due.is_some());
    assert_eq!(
        c.first_response_secs,
        Some(24 * 60),
        "the first response stays the first one"
    );
    assert_eq!(c.post_count, 3);
    assert_eq!(store.counts().await.unwrap().open_conversations, 1);

    // Answered, resolved, and a customer reply brings it back.
    ingest(
        &store,
        vec![brand("4", "2017-08-18T21:40:00Z", "3")],
        "2017-08-18T21:41:00Z",
    )
    .await;
    store
        .apply(
            id,
            ConversationEvent::Resolved,
            "maria",
            t("2017-08-18T21:45:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(store.counts().await.unwrap().open_conversations, 0);
    ingest(
        &store,
        vec![customer("5", "paul", "2017-08-19T08:00:00Z", "it broke again").reply_to("4")],
        "2017-08-19T08:01:00Z",
    )
    .await;
    let c = store.conversation(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.status, Status::Open);
    assert_eq!(c.resolved_at, None);
    assert_eq!(c.awaiting_since, Some(t("2017-08-19T08:00:00Z")));
    assert_eq!(c.post_count, 5);
}

async fn new_post_joins_the_customers_open_conversation(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![customer("1", "paul", "2024-03-01T10:00:00Z", "seat stuck")],
        "2024-03-01T10:01:00Z",
    )
    .await;
    let id = conversation_of(&r, "1");
    // A new top-level post an hour later joins; one three days later opens a new conversation.
    let r = ingest(
        &store,
        vec![customer("2", "paul", "2024-03-01T11:00:00Z", "still stuck")],
        "2024-03-01T11:01:00Z",
    )
    .await;
    assert_eq!(conversation_of(&r, "2"), id);
    let r = ingest(
        &store,
        vec![customer("3", "paul", "2024-03-04T11:00:00Z", "new problem")],
        "2024-03-04T11:01:00Z",
    )
    .await;
    assert_ne!(conversation_of(&r, "3"), id);
    // A resolved conversation is not joined.
    let later = conversation_of(&r, "3");
    store
        .apply(
            later,
            ConversationEvent::Resolved,
            "maria",
            t("2024-03-04T11:05:00Z"),
        )
        .await
        .unwrap();
    let r = ingest(
        &store,
        vec![customer("4", "paul", "2024-03-04T12:00:00Z", "hello?")],
        "2024-03-04T12:01:00Z",
    )
    .await;
    assert_ne!(conversation_of(&r, "4"), later);
    assert_eq!(store.counts().await.unwrap().conversations, 3);
}

async fn inbox_ranks_and_filters(store: Arc<dyn Store>) {
    let t0 = "2024-03-01T10:00:00Z";
    let batch = vec![
        customer("a", "anna", t0, "Your charger has been broken for a week!")
            .intent(Intent::Complaint)
            .sentiment(SentimentLabel::Negative, -0.9)
            .urgency(0.9),
        customer("b", "bo", t0, "Hvordan flytter jeg sædet?")
            .network(Network::Mastodon)
            .lang("da")
            .urgency(0.2),
        customer("c", "carla", t0, "Grazie, tutto perfetto")
            .lang("it")
            .intent(Intent::Praise)
            .sentiment(SentimentLabel::Positive, 0.8),
        brand("c-answer", "2024-03-01T10:05:00Z", "c"),
        customer("d", "dan", t0, "Please add a dog mode")
            .network(Network::Bluesky)
            .intent(Intent::FeatureRequest),
        customer("e", "eve", t0, "hm").intent(Intent::Other),
        customer("f", "fay", t0, "Where is my refund?").intent(Intent::Question),
    ];
    let r = ingest(&store, batch, "2024-03-01T10:00:00Z").await;
    // Fay is answered two days later (a post is heard when it is written, never before).
    ingest(
        &store,
        vec![brand("f-answer", "2024-03-03T10:00:00Z", "f")],
        "2024-03-03T10:00:00Z",
    )
    .await;
    let [a, b, c, d, e, f] = ["a", "b", "c", "d", "e", "f"].map(|x| conversation_of(&r, x));
    let soon = t("2024-03-01T10:01:00Z");
    let later = t("2024-03-04T10:00:00Z");

    let ids = |page: &earshot_store::Page<earshot_store::InboxRow>| {
        page.items
            .iter()
            .map(|i| i.conversation.id)
            .collect::<Vec<_>>()
    };
    let inbox = |filter: InboxFilter, now: DateTime<Utc>| {
        let store = Arc::clone(&store);
        async move { store.inbox(&filter, now).await.unwrap() }
    };

    let page = inbox(InboxFilter::default(), soon).await;
    assert_eq!(ids(&page), [a, b, d, e], "open only, best first");
    assert_eq!(page.total, Some(4));
    let scores: Vec<f32> = page
        .items
        .iter()
        .map(|i| i.conversation.priority.score)
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert_eq!(
        page.items[0].latest_text,
        "Your charger has been broken for a week!"
    );
    assert_eq!(page.items[0].latest_at, t(t0));
    assert!(page.items.iter().all(|i| !i.breached));

    let all = |f: InboxFilter| InboxFilter {
        status: vec![],
        ..f
    };
    let page = inbox(all(InboxFilter::default()), soon).await;
    assert_eq!(page.items.len(), 6);
    let scores: Vec<f32> = page
        .items
        .iter()
        .map(|i| i.conversation.priority.score)
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // The answered conversations show their customer's post, not the brand's.
    let row_c = page.items.iter().find(|i| i.conversation.id == c).unwrap();
    assert_eq!(row_c.latest_text, "Grazie, tutto perfetto");

    let status = |s: Vec<Status>| InboxFilter {
        status: s,
        ..InboxFilter::default()
    };
    let pending = inbox(status(vec![Status::Pending]), soon).await;
    assert_eq!(ids(&pending), ids_sorted_by_score(&store, &[c, f]).await);
    let both = inbox(status(vec![Status::Open, Status::Pending]), soon).await;
    assert_eq!(both.items.len(), 6);
    assert_eq!(both.total, Some(6));

    let network = |n| InboxFilter {
        network: Some(n),
        ..InboxFilter::default()
    };
    assert_eq!(ids(&inbox(network(Network::X), soon).await), [a, e]);
    assert_eq!(ids(&inbox(network(Network::Mastodon), soon).await), [b]);
    let language = |l: &str| {
        all(InboxFilter {
            language: Some(l.into()),
            ..InboxFilter::default()
        })
    };
    assert_eq!(ids(&inbox(language("da"), soon).await), [b]);
    assert_eq!(ids(&inbox(language("it"), soon).await), [c]);
    let intent = |i| InboxFilter {
        intent: Some(i),
        ..InboxFilter::default()
    };
    assert_eq!(ids(&inbox(intent(Intent::Question), soon).await), [b]);
    assert_eq!(ids(&inbox(intent(Intent::FeatureRequest), soon).await), [d]);
    let sentiment = |s| {
        all(InboxFilter {
            sentiment: Some(s),
            ..InboxFilter::default()
        })
    };
    assert_eq!(
        ids(&inbox(sentiment(SentimentLabel::Negative), soon).await),
        [a]
    );
    assert_eq!(
        ids(&inbox(sentiment(SentimentLabel::Positive), soon).await),
        [c]
    );

    // Breached: answered late (f), or owed and overdue now.
    let breached = |yes| {
        all(InboxFilter {
            breached: Some(yes),
            ..InboxFilter::default()
        })
    };
    let page = inbox(breached(true), soon).await;
    assert_eq!(ids(&page), [f]);
    assert!(page.items[0].breached);
    assert_eq!(inbox(breached(false), soon).await.items.len(), 5);
    let page = inbox(
        InboxFilter {
            breached: Some(true),
            ..InboxFilter::default()
        },
        later,
    )
    .await;
    assert_eq!(ids(&page), [a, b, d, e]);
    assert!(page.items.iter().all(|i| i.breached));
    assert_eq!(ids(&inbox(breached(false), later).await), [c]);

    // Assignee, and the unassigned.
    store
        .apply(
            b,
            ConversationEvent::Assigned { to: "maria".into() },
            "lead",
            soon,
        )
        .await
        .unwrap();
    let assignee = |who: &str| InboxFilter {
        assignee: Some(who.into()),
        ..InboxFilter::default()
    };
    assert_eq!(ids(&inbox(assignee("maria"), soon).await), [b]);
    assert_eq!(ids(&inbox(assignee(""), soon).await), [a, d, e]);
    assert!(inbox(assignee("nobody"), soon).await.items.is_empty());

    // Paging.
    let page = |limit, offset| InboxFilter {
        limit,
        offset,
        ..InboxFilter::default()
    };
    let p1 = inbox(page(2, 0), soon).await;
    assert_eq!(
        (ids(&p1), p1.total, p1.limit, p1.offset),
        (vec![a, b], Some(4), 2, 0)
    );
    assert_eq!(ids(&inbox(page(2, 2), soon).await), [d, e]);
    assert_eq!(ids(&inbox(page(3, 3), soon).await), [e]);
    assert!(inbox(page(2, 4), soon).await.items.is_empty());
    let p = inbox(all(page(2, 1)), soon).await;
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.total, Some(6));
}

/// The given conversations, best first, as the inbox should rank them.
async fn ids_sorted_by_score(
    store: &Arc<dyn Store>,
    ids: &[ConversationId],
) -> Vec<ConversationId> {
    let mut scored = Vec::new();
    for id in ids {
        let c = store.conversation(*id).await.unwrap().unwrap().conversation;
        scored.push((c.priority.score, c.id));
    }
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    scored.into_iter().map(|s| s.1).collect()
}

async fn search_finds_words_and_filters(store: Arc<dyn Store>) {
    let batch = vec![
        customer(
            "1",
            "paul",
            "2024-03-01T10:00:00Z",
            "Can you move the seat back when the car is parked?",
        )
        .intent(Intent::FeatureRequest),
        customer(
            "2",
            "bo",
            "2024-03-01T10:01:00Z",
            "Jeg søger hjælp: bilen er blå og opladeren virker ikke",
        )
        .network(Network::Mastodon)
        .lang("da")
        .intent(Intent::Complaint)
        .sentiment(SentimentLabel::Negative, -0.6),
        customer(
            "3",
            "carla",
            "2024-03-01T10:02:00Z",
            "Perché la macchina non parte più? Già due giorni.",
        )
        .lang("it"),
        customer(
            "4",
            "dan",
            "2024-03-01T10:03:00Z",
            "Love the new seat heating, thanks!",
        )
        .network(Network::Bluesky)
        .intent(Intent::Praise)
        .sentiment(SentimentLabel::Positive, 0.9),
    ];
    ingest(&store, batch, "2024-03-01T10:05:00Z").await;
    let search = |q: &str| backends::search(q, 20);
    let found = |q: SearchQuery| {
        let store = Arc::clone(&store);
        async move {
            let page = store
                .search(&q)
                .await
                .unwrap_or_else(|e| panic!("{:?}: {e}", q.q));
            page.items
                .into_iter()
                .map(|h| h.post.external_id)
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(found(search("seat")).await, ["4", "1"], "newest first");
    assert_eq!(found(search("SEAT")).await, ["4", "1"]);
    assert_eq!(found(search("seat car")).await, ["1"]);
    assert_eq!(found(search("søger")).await, ["2"]);
    assert_eq!(found(search("hjælp")).await, ["2"]);
    assert_eq!(found(search("blå")).await, ["2"]);
    assert_eq!(found(search("perché")).await, ["3"]);
    assert_eq!(found(search("più")).await, ["3"]);
    // Accents are folded both ways.
    assert_eq!(found(search("perche")).await, ["3"]);
    assert_eq!(found(search("bla")).await, ["2"]);
    assert!(found(search("nothing-like-this")).await.is_empty());

    for hostile in [
        "\"",
        "AND(",
        "seat\"",
        "NEAR(seat",
        "*",
        "seat OR",
        "-seat",
        "text:seat",
        "'; DROP TABLE posts; --",
        "(((",
        "^seat",
        "seat AND",
        "\\",
        "!!!",
    ] {
        store
            .search(&search(hostile))
            .await
            .unwrap_or_else(|e| panic!("{hostile:?} must not fail: {e}"));
    }
    assert_eq!(found(search("seat\"")).await, ["4", "1"]);
    assert!(matches!(
        store.search(&search("")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.search(&search("  \t ")).await,
        Err(StoreError::Invalid(_))
    ));

    assert_eq!(
        found(SearchQuery {
            network: Some(Network::Bluesky),
            ..search("seat")
        })
        .await,
        ["4"]
    );
    assert_eq!(
        found(SearchQuery {
            language: Some("en".into()),
            intent: Some(Intent::FeatureRequest),
            ..search("seat")
        })
        .await,
        ["1"]
    );
    assert_eq!(
        found(SearchQuery {
            sentiment: Some(SentimentLabel::Positive),
            ..search("seat")
        })
        .await,
        ["4"]
    );
    assert_eq!(
        found(SearchQuery {
            language: Some("da".into()),
            ..search("seat")
        })
        .await,
        Vec::<String>::new()
    );

    let page = store
        .search(&SearchQuery {
            limit: 1,
            ..search("seat")
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].post.external_id, "4");
    let page = store
        .search(&SearchQuery {
            limit: 1,
            offset: 1,
            ..search("seat")
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].post.external_id, "1");
    let page = store.search(&search("seat")).await.unwrap();
    assert_eq!(page.total, Some(2));
    assert_eq!(
        page.items[1].post.text,
        "Can you move the seat back when the car is parked?"
    );
}

async fn apply_transitions_and_audit_trail(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![customer("1", "paul", "2024-03-01T10:00:00Z", "help")],
        "2024-03-01T10:00:00Z",
    )
    .await;
    let id = conversation_of(&r, "1");
    let at = |m: i64| t("2024-03-01T10:00:00Z") + Duration::minutes(m);

    let c = store
        .apply(
            id,
            ConversationEvent::Assigned { to: "maria".into() },
            "lead",
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(c.assignee.as_deref(), Some("maria"));
    let err = store
        .apply(
            id,
            ConversationEvent::Assigned { to: "maria".into() },
            "lead",
            at(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("already assigned")),
        "{err:?}"
    );
    let c = store
        .apply(id, ConversationEvent::MarkedPending, "maria", at(3))
        .await
        .unwrap();
    assert_eq!(c.status, Status::Pending);
    assert!(matches!(
        store
            .apply(id, ConversationEvent::MarkedPending, "maria", at(4))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let c = store
        .apply(id, ConversationEvent::Resolved, "maria", at(5))
        .await
        .unwrap();
    assert_eq!(
        (c.status, c.resolved_at, c.awaiting_since),
        (Status::Resolved, Some(at(5)), None)
    );
    let c = store
        .apply(id, ConversationEvent::Reopened, "maria", at(6))
        .await
        .unwrap();
    assert_eq!((c.status, c.resolved_at), (Status::Open, None));
    let c2 = store
        .apply(id, ConversationEvent::Unassigned, "lead", at(7))
        .await
        .unwrap();
    assert_eq!(c2.assignee, None);

    let stored = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(
        stored.conversation, c2,
        "what apply returns is what is stored"
    );
    let actions: Vec<&str> = stored.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["unassigned", "reopened", "resolved", "pending", "assigned"],
        "newest first, refusals not recorded"
    );
    let assigned = stored.audit.last().unwrap();
    assert_eq!(assigned.actor, "lead");
    assert_eq!(assigned.at, at(1));
    assert_eq!(assigned.conversation_id, Some(id));
    assert_eq!(
        assigned.detail,
        serde_json::json!({"action": "assigned", "to": "maria"})
    );

    assert_eq!(store.audit(Some(id), 2).await.unwrap().len(), 2);
    assert_eq!(store.audit(None, 100).await.unwrap().len(), 5);
    assert_eq!(
        store
            .audit(Some(ConversationId(424_242)), 10)
            .await
            .unwrap()
            .len(),
        0
    );

    let err = store
        .apply(
            ConversationId(999_999),
            ConversationEvent::Resolved,
            "maria",
            at(8),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(m) if m == "conversation 999999"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "conversation 999999 not found");
}

async fn replies_are_idempotent_and_tracked(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![
            customer("1", "paul", "2024-03-01T10:00:00Z", "seat?"),
            brand("2", "2024-03-01T10:05:00Z", "1"),
            customer("3", "paul", "2024-03-01T10:07:00Z", "and the wheel?").reply_to("2"),
        ],
        "2024-03-01T10:08:00Z",
    )
    .await;
    let id = conversation_of(&r, "1");
    let new = |key: &str, text: &str, at: &str| NewReply {
        conversation_id: id,
        text: text.into(),
        author: "maria".into(),
        idempotency_key: key.into(),
        created_at: t(at),
    };

    let reply = store
        .queue_reply(new(
            "k1",
            "Yes, in the next release.",
            "2024-03-01T10:10:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(reply.state, ReplyState::Queued);
    assert_eq!(
        (reply.network, reply.in_reply_to.as_str()),
        (Network::X, "3"),
        "answers the latest customer post"
    );
    assert_eq!(
        (reply.attempts, reply.external_id.as_deref(), reply.sent_at),
        (0, None, None)
    );
    assert_eq!(reply.conversation_id, id);
    assert_eq!(reply.author, "maria");

    let again = store
        .queue_reply(new("k1", "something else", "2024-03-01T10:11:00Z"))
        .await
        .unwrap();
    assert_eq!(
        again, reply,
        "the same key returns the stored reply unchanged"
    );
    assert_eq!(store.counts().await.unwrap().replies, 1);

    let later = store
        .queue_reply(new("k2", "Second", "2024-03-01T10:12:00Z"))
        .await
        .unwrap();
    let earlier = store
        .queue_reply(new("k3", "Third", "2024-03-01T10:09:00Z"))
        .await
        .unwrap();
    let queued: Vec<i64> = store
        .queued_replies(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(queued, [earlier.id, reply.id, later.id], "oldest first");
    assert_eq!(store.queued_replies(1).await.unwrap().len(), 1);

    let failed = store
        .mark_reply_unsent(
            reply.id,
            &ReplyMiss::Failed {
                error: "rate limited until 10:20".into(),
                retry_at: Some(t("2024-03-01T10:20:00Z")),
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.state, ReplyState::Failed);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.error.as_deref(), Some("rate limited until 10:20"));
    assert_eq!(failed.next_attempt_at, Some(t("2024-03-01T10:20:00Z")));
    // Due for its automatic retry only once its time has come.
    assert!(store
        .due_replies(t("2024-03-01T10:19:59Z"), 10)
        .await
        .unwrap()
        .is_empty());
    let due = store
        .due_replies(t("2024-03-01T10:20:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), [reply.id]);
    let failed = store
        .mark_reply_unsent(
            reply.id,
            &ReplyMiss::Failed {
                error: "rate limited again".into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.attempts, 2);
    assert_eq!(failed.next_attempt_at, None, "given up: no automatic retry");
    assert!(store
        .due_replies(t("2024-03-02T00:00:00Z"), 10)
        .await
        .unwrap()
        .is_empty());
    // Nothing tried on a network earshot cannot post on: not counted as an attempt.
    let unsendable = store
        .mark_reply_unsent(
            later.id,
            &ReplyMiss::NotSent {
                reason: "no connector for x".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(unsendable.state, ReplyState::NotSent);
    assert_eq!(unsendable.attempts, 0);
    assert_eq!(unsendable.error.as_deref(), Some("no connector for x"));
    assert!(!store
        .queued_replies(10)
        .await
        .unwrap()
        .iter()
        .any(|r| r.id == reply.id));

    let sent_at = t("2024-03-01T10:21:00Z");
    let sent = store
        .mark_reply_sent(reply.id, "896529192975659999", sent_at)
        .await
        .unwrap();
    assert_eq!(sent.state, ReplyState::Sent);
    assert_eq!(sent.external_id.as_deref(), Some("896529192975659999"));
    assert_eq!(sent.sent_at, Some(sent_at));
    assert_eq!(sent.error, None);
    let same = store
        .mark_reply_sent(reply.id, "896529192975659999", t("2024-03-01T10:30:00Z"))
        .await
        .unwrap();
    assert_eq!(
        same, sent,
        "marking sent again with the same id changes nothing"
    );
    assert!(matches!(
        store.mark_reply_sent(reply.id, "other", sent_at).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .mark_reply_unsent(
                reply.id,
                &ReplyMiss::NotSent {
                    reason: "late".into()
                }
            )
            .await,
        Err(StoreError::Conflict(_))
    ));

    let detail = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(detail.replies.len(), 3);
    assert_eq!(detail.replies[0], sent);
    let actions: Vec<&str> = detail.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "reply_sent",
            "reply_not_sent",
            "reply_failed",
            "reply_failed",
            "reply_queued",
            "reply_queued",
            "reply_queued"
        ]
    );
    assert_eq!(detail.audit.last().unwrap().actor, "maria");

    let err = store
        .queue_reply(NewReply {
            conversation_id: ConversationId(999_999),
            ..new("k9", "hi", "2024-03-01T10:10:00Z")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(m) if m == "conversation 999999"),
        "{err:?}"
    );
    assert!(matches!(
        store.mark_reply_sent(424_242, "x", sent_at).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .mark_reply_unsent(424_242, &ReplyMiss::NotSent { reason: "x".into() })
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .queue_reply(new("k4", "   ", "2024-03-01T10:10:00Z"))
            .await,
        Err(StoreError::Invalid(_))
    ));
}

async fn response_samples_and_volume(store: Arc<dyn Store>) {
    let batch = vec![
        customer("1", "paul", "2024-03-01T10:00:00Z", "broken")
            .intent(Intent::Complaint)
            .sentiment(SentimentLabel::Negative, -0.7),
        brand("2", "2024-03-01T10:20:00Z", "1"),
        customer("3", "lena", "2024-03-01T23:59:59Z", "also broken")
            .intent(Intent::Complaint)
            .sentiment(SentimentLabel::Negative, -0.5),
        customer("4", "bo", "2024-03-02T09:00:00Z", "how?"),
        customer("5", "eve", "2024-03-05T09:00:00Z", "outside the range"),
    ];
    let r = ingest(&store, batch, "2024-03-05T10:00:00Z").await;
    let (from, to) = (t("2024-03-01T00:00:00Z"), t("2024-03-03T00:00:00Z"));

    let samples = store.response_samples(from, to).await.unwrap();
    let ids: Vec<ConversationId> = samples.iter().map(|s| s.conversation_id).collect();
    assert_eq!(
        ids,
        [
            conversation_of(&r, "1"),
            conversation_of(&r, "3"),
            conversation_of(&r, "4")
        ]
    );
    assert_eq!(samples[0].opened_at, t("2024-03-01T10:00:00Z"));
    assert_eq!(
        samples[0].first_response_at,
        Some(t("2024-03-01T10:20:00Z"))
    );
    assert_eq!(samples[0].first_response_secs, Some(1200));
    assert_eq!(samples[0].network, Network::X);
    assert!(samples[0].first_response_due > samples[0].opened_at);
    assert_eq!(
        (samples[2].first_response_at, samples[2].first_response_secs),
        (None, None)
    );

    let volume = store.volume(from, to).await.unwrap();
    let got: Vec<(String, Intent, SentimentLabel, u64)> = volume
        .iter()
        .map(|v| (v.day.to_string(), v.intent, v.sentiment, v.posts))
        .collect();
    assert_eq!(
        got,
        [
            (
                "2024-03-01".to_string(),
                Intent::Complaint,
                SentimentLabel::Negative,
                2
            ),
            (
                "2024-03-02".to_string(),
                Intent::Question,
                SentimentLabel::Neutral,
                1
            ),
        ],
        "customer posts only, by day"
    );
    assert!(store.volume(to, to).await.unwrap().is_empty());
}

/// Paul's question waiting since 10:00 and Lena's answered at 10:01, heard at `now`: their
/// conversations.
async fn paul_waits_lena_answered(store: &Arc<dyn Store>, now: &str) -> [ConversationId; 2] {
    let r = ingest(
        store,
        vec![
            customer("1", "paul", "2024-03-01T10:00:00Z", "waiting"),
            customer("2", "lena", "2024-03-01T10:00:00Z", "answered"),
            brand("3", "2024-03-01T10:01:00Z", "2"),
        ],
        now,
    )
    .await;
    [conversation_of(&r, "1"), conversation_of(&r, "2")]
}

async fn rescore_open_raises_a_waiting_conversation(store: Arc<dyn Store>) {
    let [waiting, answered] = paul_waits_lena_answered(&store, "2024-03-01T10:00:00Z").await;
    let before = store
        .conversation(waiting)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    let answered_before = store
        .conversation(answered)
        .await
        .unwrap()
        .unwrap()
        .conversation;

    let n = store
        .rescore_open(&policy(), t("2024-03-01T13:00:00Z"))
        .await
        .unwrap()
        .reranked;
    assert_eq!(n, 1);
    let after = store
        .conversation(waiting)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert!(
        after.priority.score > before.priority.score,
        "{} → {}",
        before.priority.score,
        after.priority.score
    );
    // Three hours is past the default share of a routine question's target
    // (`escalate_after_targets`): it moves up one band, and says why.
    assert_eq!(after.priority.band, before.priority.band.raised());
    assert!(after
        .priority
        .factors
        .iter()
        .any(|f| f.name == "waiting" && f.points > 0.0));
    assert!(
        after.priority.explain().contains("waiting past"),
        "{}",
        after.priority.explain()
    );
    assert_eq!(
        store
            .conversation(answered)
            .await
            .unwrap()
            .unwrap()
            .conversation,
        answered_before
    );
    // The inbox ranks by the new score.
    let page = store
        .inbox(&InboxFilter::default(), t("2024-03-01T13:00:00Z"))
        .await
        .unwrap();
    assert_eq!(page.items[0].conversation.priority, after.priority);
    // Nothing moved since: nothing to write.
    assert_eq!(
        store
            .rescore_open(&policy(), t("2024-03-01T13:00:00Z"))
            .await
            .unwrap()
            .reranked,
        0
    );
}

/// A pass reads only the conversations whose rank can have moved since it was stored, and
/// what it stores is never stale where an agent looks: the band and the reasons shown.
async fn rescore_open_reads_only_what_can_have_moved(store: Arc<dyn Store>) {
    let [paul, _] = paul_waits_lena_answered(&store, "2024-03-01T10:02:00Z").await;
    let policy = policy();
    let start = t("2024-03-01T10:02:00Z");
    // Rules new to this store: the pass reads every conversation owed an answer (Paul's).
    let first = store.rescore_open(&policy, start).await.unwrap();
    assert_eq!(first.read, 1, "{first:?}");
    assert_eq!(
        store.rescore_open(&policy, start).await.unwrap(),
        RescorePass::default(),
        "at the same moment nothing can have moved"
    );
    let stored = |id| {
        let store = Arc::clone(&store);
        async move { store.conversation(id).await.unwrap().unwrap().conversation }
    };
    let band_before = stored(paul).await.priority.band;
    // A routine question (low: a 24 h target) joins the band above once it has waited 5 % of
    // it (72 min, at 11:12). A pass each minute until well past that.
    let (mut read, mut reranked, mut raised_at) = (0, 0, None);
    for minute in 1..=80 {
        let now = start + Duration::minutes(minute);
        let pass = store.rescore_open(&policy, now).await.unwrap();
        assert!(pass.read <= 1, "Lena's is owed nothing: {pass:?} at {now}");
        read += pass.read;
        reranked += pass.reranked;
        let conv = stored(paul).await;
        let fresh = threading::rank(&conv.signals, conv.awaiting_since, &policy, now);
        let shown = |p: &earshot_core::Priority| (p.band, threading::visible_reasons(p));
        assert_eq!(shown(&conv.priority), shown(&fresh), "stale at {now}");
        assert!(
            fresh.score - conv.priority.score <= threading::SCORE_STALE_POINTS / 4.0 + 1e-3,
            "score {} stored, {} fresh at {now}",
            conv.priority.score,
            fresh.score
        );
        if conv.priority.band != band_before && raised_at.is_none() {
            raised_at = Some(now);
        }
    }
    assert_eq!(
        raised_at,
        Some(t("2024-03-01T11:12:00Z")),
        "raised by the first pass after 72 min of waiting"
    );
    assert!(reranked >= 1 && reranked <= read);
    assert!(
        read <= 20,
        "{read} reads of Paul's conversation in 80 passes (each pass read it before)"
    );
}

/// A batch's details read together are each conversation's details as read alone: posts,
/// replies and audit trail each with its own conversation, unknown ids left out.
async fn conversations_are_read_together_as_each_alone(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![
            customer("1", "paul", "2024-03-01T10:00:00Z", "waiting"),
            customer("2", "lena", "2024-03-01T10:00:00Z", "answered"),
            brand("3", "2024-03-01T10:01:00Z", "2"),
            customer(
                "4",
                "lena",
                "2024-03-01T10:03:00Z",
                "thanks, one more thing",
            ),
            customer("5", "omar", "2024-03-01T10:04:00Z", "hello"),
        ],
        "2024-03-01T10:05:00Z",
    )
    .await;
    let (paul, lena, omar) = (
        conversation_of(&r, "1"),
        conversation_of(&r, "2"),
        conversation_of(&r, "5"),
    );
    store
        .apply(
            lena,
            ConversationEvent::Assigned { to: "maria".into() },
            "lead",
            t("2024-03-01T10:06:00Z"),
        )
        .await
        .unwrap();
    let missing = ConversationId(999_999);
    let together = store
        .conversations(&[omar, missing, lena, paul, lena])
        .await
        .unwrap();
    let mut alone = Vec::new();
    for id in [paul, lena, omar] {
        alone.push(store.conversation(id).await.unwrap().unwrap());
    }
    alone.sort_by_key(|d| d.conversation.id);
    assert_eq!(together, alone);
    assert!(together
        .iter()
        .any(|d| d.posts.len() == 3 && !d.audit.is_empty()));
    assert!(store.conversations(&[]).await.unwrap().is_empty());
}

async fn cursors_resume(store: Arc<dyn Store>) {
    assert_eq!(store.cursor("bluesky:jetstream").await.unwrap(), None);
    store
        .set_cursor("bluesky:jetstream", "1725911162329308")
        .await
        .unwrap();
    assert_eq!(
        store.cursor("bluesky:jetstream").await.unwrap().as_deref(),
        Some("1725911162329308")
    );
    store
        .set_cursor("bluesky:jetstream", "1725911162999999")
        .await
        .unwrap();
    assert_eq!(
        store.cursor("bluesky:jetstream").await.unwrap().as_deref(),
        Some("1725911162999999")
    );
    assert_eq!(store.cursor("mastodon:home").await.unwrap(), None);
}

async fn concurrent_overlapping_ingests_store_each_post_once(store: Arc<dyn Store>) {
    use earshot_store::bench::synthetic_batch;
    // Two writers, each in batches of 100: posts 0..600 and 300..900 (300 in common).
    let writer = |first: u64| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let (mut new, mut duplicates) = (0, 0);
            for start in (first..first + 600).step_by(100) {
                let batch = synthetic_batch(start, 100);
                let now = batch[99].post.created_at;
                let r = store.ingest(batch, &policy(), now).await.unwrap();
                new += r.new;
                duplicates += r.duplicates;
            }
            (new, duplicates)
        })
    };
    let (one, two) = (writer(0), writer(300));
    let (one, two) = (one.await.unwrap(), two.await.unwrap());
    assert_eq!(one.0 + two.0, 900, "every post stored once");
    assert_eq!(one.1 + two.1, 300, "every overlap reported as a duplicate");

    let counts = store.counts().await.unwrap();
    assert_eq!(counts.posts, 900);
    // Six customers open a conversation in each run of ten posts.
    assert_eq!(counts.conversations, 540);
    let all = store
        .inbox(
            &InboxFilter {
                status: vec![],
                limit: 1000,
                ..InboxFilter::default()
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 540);
    let posts: u64 = all
        .items
        .iter()
        .map(|i| u64::from(i.conversation.post_count))
        .sum();
    assert_eq!(posts, 900, "each post counted in exactly one conversation");
    let mut roots: Vec<&str> = all
        .items
        .iter()
        .map(|i| i.conversation.root_external_id.as_str())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    assert_eq!(roots.len(), 540, "no post opened two conversations");
}

// ---------------------------------------------------------------------------------------
// Backend-specific checks.

#[tokio::test]
async fn sqlite_in_memory_store_works() {
    for url in [":memory:", "sqlite::memory:"] {
        let store = earshot_store::open(url).await.unwrap();
        let r = store
            .ingest(
                vec![customer("1", "paul", "2024-03-01T10:00:00Z", "seat")],
                &policy(),
                t("2024-03-01T10:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(r.new, 1);
        let hits = store.search(&backends::search("seat", 10)).await.unwrap();
        assert_eq!(hits.items.len(), 1);
        assert_eq!(
            store
                .inbox(&InboxFilter::default(), Utc::now())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_starting_together_migrate_once() {
    let Some((admin, name, url)) = backends::fresh_database().await else {
        return;
    };
    let (a, b) = tokio::join!(PgStore::connect(&url), PgStore::connect(&url));
    let ok = a.is_ok() && b.is_ok();
    drop((a, b));
    let again = PgStore::connect(&url).await.map(drop);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let n: i64 = client
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    drop(client);
    backends::drop_database(&admin, &name).await;
    assert!(ok, "both nodes connect");
    assert!(again.is_ok(), "reconnecting applies nothing twice");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count() as i64;
    assert_eq!(n, files, "each migration applied exactly once");
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(
        backends::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        backends::with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(
        backends::with_database("postgres://u@h", "x"),
        "postgres://u@h/x"
    );
}

async fn a_reply_is_claimed_by_one_sender_at_a_time(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![customer("1", "paul", "2024-03-01T10:00:00Z", "seat?")],
        "2024-03-01T10:01:00Z",
    )
    .await;
    let id = conversation_of(&r, "1");
    let reply = store
        .queue_reply(NewReply {
            conversation_id: id,
            text: "On its way.".into(),
            author: "maria".into(),
            idempotency_key: "claim-1".into(),
            created_at: t("2024-03-01T10:02:00Z"),
        })
        .await
        .unwrap();
    let now = t("2024-03-01T10:03:00Z");
    let lease = chrono::Duration::minutes(2);
    let first = store.claim_reply(reply.id, now + lease, now).await.unwrap();
    assert_eq!(
        first.map(|r| r.id),
        Some(reply.id),
        "the first sender gets it"
    );
    let second = store.claim_reply(reply.id, now + lease, now).await.unwrap();
    assert!(
        second.is_none(),
        "a second sender is turned away while the claim holds"
    );
    // A sender that crashed: its claim expires and the reply can be sent again.
    let later = now + chrono::Duration::minutes(3);
    assert!(store
        .claim_reply(reply.id, later + lease, later)
        .await
        .unwrap()
        .is_some());
    // Failing releases the claim at once; sending ends all claims.
    store
        .mark_reply_unsent(
            reply.id,
            &ReplyMiss::Failed {
                error: "503".into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    assert!(store
        .claim_reply(reply.id, later + lease, later)
        .await
        .unwrap()
        .is_some());
    store
        .mark_reply_sent(reply.id, "x-99", later)
        .await
        .unwrap();
    let far = later + chrono::Duration::hours(1);
    assert!(
        store
            .claim_reply(reply.id, far + lease, far)
            .await
            .unwrap()
            .is_none(),
        "a sent reply is never claimed"
    );
    assert!(matches!(
        store.claim_reply(424242, far, far).await,
        Err(earshot_store::StoreError::NotFound(_))
    ));
}

async fn edits_and_deletions_follow_the_author(store: Arc<dyn Store>) {
    let report = ingest(
        &store,
        vec![customer(
            "e1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is blocked by an idle car",
        )],
        "2024-03-01T10:01:00Z",
    )
    .await;
    let conversation = conversation_of(&report, "e1");
    let original = customer("e1", "paul", "2024-03-01T10:00:00Z", "unused").post;

    // An edit replaces the text, search follows it, and the audit trail says so.
    let mut edited = original.clone();
    edited.text = "My charger is blocked by an idle taxi".into();
    let mut analysis = Analysis::default();
    analysis.intent.label = Intent::Complaint;
    let after = store
        .edit_post(edited.clone(), analysis.clone(), t("2024-03-01T10:02:00Z"))
        .await
        .unwrap()
        .expect("the post is known");
    assert_eq!(after.text, "My charger is blocked by an idle taxi");
    assert_eq!(after.edited_at, Some(t("2024-03-01T10:02:00Z")));
    assert_eq!(after.analysis.intent.label, Intent::Complaint);
    assert_eq!(
        after.created_at,
        t("2024-03-01T10:00:00Z"),
        "the post keeps its time"
    );
    let hits = |q: &'static str| {
        let store = Arc::clone(&store);
        async move {
            store
                .search(&backends::search(q, 10))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(hits("taxi").await, 1);
    assert_eq!(hits("car").await, 0, "the old text is no longer found");

    // The same edit delivered again changes nothing (no second audit entry).
    store
        .edit_post(edited.clone(), analysis.clone(), t("2024-03-01T10:03:00Z"))
        .await
        .unwrap();
    let audit = store.audit(Some(conversation), 100).await.unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.action == "post_edited").count(),
        1
    );

    // A deletion drops the text but keeps the post in its conversation.
    let key = original.key();
    let gone = store
        .delete_post(&key, t("2024-03-01T10:04:00Z"))
        .await
        .unwrap()
        .expect("the post is known");
    assert_eq!(gone.text, "");
    assert_eq!(gone.deleted_at, Some(t("2024-03-01T10:04:00Z")));
    assert_eq!(hits("taxi").await, 0, "a deleted post is not searchable");
    let detail = store.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(detail.posts.len(), 1, "the thread keeps its shape");
    // Deleting again, or editing a deleted post, changes nothing.
    store
        .delete_post(&key, t("2024-03-01T10:05:00Z"))
        .await
        .unwrap();
    assert!(store
        .edit_post(edited, analysis.clone(), t("2024-03-01T10:06:00Z"))
        .await
        .unwrap()
        .is_none());
    let audit = store.audit(Some(conversation), 100).await.unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.action == "post_deleted").count(),
        1
    );

    // Amendments of posts never heard are ignored.
    let stranger = customer("nope", "x", "2024-03-01T10:00:00Z", "hi").post;
    assert!(store
        .delete_post(&stranger.key(), t("2024-03-01T10:07:00Z"))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .edit_post(stranger, analysis, t("2024-03-01T10:07:00Z"))
        .await
        .unwrap()
        .is_none());
}

async fn requests_promises_and_releases(store: Arc<dyn Store>) {
    use earshot_core::feedback::{
        plan_notifications, NotificationState, PromiseKind, PromiseState, RequestStatus, Templates,
    };
    use earshot_store::feedback::{NewPromise, NewRelease};
    use std::collections::HashMap;

    let report = ingest(
        &store,
        vec![
            customer(
                "s1",
                "paul",
                "2024-03-01T20:47:00Z",
                "Can the seat move back when parked?",
            )
            .intent(Intent::FeatureRequest),
            customer(
                "s2",
                "mette",
                "2024-03-02T08:00:00Z",
                "Kan sædet køre tilbage når bilen er parkeret?",
            )
            .network(Network::Mastodon)
            .lang("da")
            .intent(Intent::FeatureRequest),
            customer(
                "s3",
                "paul",
                "2024-03-03T09:00:00Z",
                "Still want the seat to move back!",
            )
            .intent(Intent::FeatureRequest),
            customer("o1", "zed", "2024-03-03T09:00:00Z", "Dark mode please")
                .intent(Intent::FeatureRequest),
        ],
        "2024-03-03T10:00:00Z",
    )
    .await;
    let id_of = |ext: &str| backends::post_id_of(&report, ext);
    let at = t("2024-03-03T10:00:00Z");
    let seat = store
        .create_request("Move the seat back when parked", at)
        .await
        .unwrap();
    let seat_dup = store.create_request("seat back", at).await.unwrap();
    let dark = store.create_request("Dark mode", at).await.unwrap();
    store
        .add_to_request(id_of("s1"), seat, 0.9, "grouping", at)
        .await
        .unwrap();
    store
        .add_to_request(id_of("s2"), seat_dup, 0.5, "grouping", at)
        .await
        .unwrap();
    store
        .add_to_request(id_of("s3"), seat, 0.8, "grouping", at)
        .await
        .unwrap();
    store
        .add_to_request(id_of("o1"), dark, 1.0, "grouping", at)
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .add_to_request(987_654, dark, 1.0, "grouping", at)
                .await,
            Err(StoreError::NotFound(_))
        ),
        "an ask needs its post"
    );
    // An agent merges the Danish ask's request into the English one.
    store
        .merge_requests(seat_dup, seat, "ann", at)
        .await
        .unwrap();
    assert!(store.merge_requests(seat, seat, "ann", at).await.is_err());

    let now = t("2024-03-04T00:00:00Z");
    let open = store.requests(None, now).await.unwrap();
    assert_eq!(open.len(), 2, "the merged request is not listed: {open:?}");
    let r = open.iter().find(|r| r.id == seat).unwrap();
    assert_eq!((r.askers, r.posts), (2, 3), "two customers, three asks");
    // Where they asked: per network, distinct askers (paul's two asks on X count once).
    let from = store.askers_by_network(&[seat, dark]).await.unwrap();
    assert_eq!(
        from,
        vec![
            (seat, Network::Mastodon, 1),
            (seat, Network::X, 1),
            (dark, Network::X, 1)
        ],
        "{from:?}"
    );
    assert!(store.askers_by_network(&[]).await.unwrap().is_empty());
    assert_eq!(r.reach, 2 * 1520, "each asker's followers once");
    assert_eq!(r.languages.get("da"), Some(&1));
    assert_eq!(r.languages.get("en"), Some(&2));
    assert_eq!(r.first_ask_at, t("2024-03-01T20:47:00Z"));
    assert_eq!(r.latest_ask_at, t("2024-03-03T09:00:00Z"));
    assert_eq!(r.asks_last_7d, 3);
    let detail = store.request(seat, now, 10).await.unwrap().unwrap();
    assert_eq!(detail.posts.len(), 3);
    assert_eq!(
        store.request_of_post(id_of("s2")).await.unwrap(),
        Some(seat)
    );

    // A promise proposed twice from the same reply is one promise.
    let conversation = conversation_of(&report, "s1");
    let reply = store
        .queue_reply(NewReply {
            conversation_id: conversation,
            text: "Good point, we will add that in an upcoming release".into(),
            author: "ann".into(),
            idempotency_key: "k-seat".into(),
            created_at: at,
        })
        .await
        .unwrap();
    let proposal = NewPromise {
        request_id: Some(seat),
        conversation_id: conversation,
        reply_id: Some(reply.id),
        evidence: "we will add that in an upcoming release".into(),
        kind: PromiseKind::Feature,
        made_at: at,
        due_on: None,
        target_release: None,
    };
    let p1 = store.propose_promise(proposal.clone()).await.unwrap();
    let p2 = store.propose_promise(proposal).await.unwrap();
    assert_eq!(p1.id, p2.id);
    let mut promise = p1;
    promise
        .confirm("ann", chrono::NaiveDate::from_ymd_opt(2024, 3, 9), None, at)
        .unwrap();
    store.save_promise(&promise, "ann").await.unwrap();
    let stored = store.promise(promise.id).await.unwrap().unwrap();
    assert_eq!(stored.state, PromiseState::Confirmed);
    assert_eq!(stored.due_on, chrono::NaiveDate::from_ymd_opt(2024, 3, 9));
    assert_eq!(
        store
            .promises(Some(PromiseState::Confirmed))
            .await
            .unwrap()
            .len(),
        1
    );

    // A release is recorded once; its askers are planned once each, and stored once.
    store.opt_out(Network::X, "id-zed", at).await.unwrap();
    let new_release = NewRelease {
        version: "2024.10".into(),
        shipped_at: t("2024-03-08T10:00:00Z"),
        notes: "Easy entry".into(),
        url: None,
        request_ids: vec![seat, dark],
        created_by: "pm".into(),
    };
    let (release, fresh) = store.record_release(new_release.clone(), at).await.unwrap();
    assert!(fresh);
    let (again, fresh) = store.record_release(new_release, at).await.unwrap();
    assert!(!fresh);
    assert_eq!(again.id, release.id);
    assert_eq!(release.request_ids, vec![seat, dark]);
    assert_eq!(
        store
            .requests(Some(RequestStatus::Shipped), now)
            .await
            .unwrap()
            .len(),
        2
    );
    let asks = store.asks(&release.request_ids).await.unwrap();
    assert_eq!(asks.len(), 4);
    assert!(asks.iter().any(|a| a.author_handle == "zed" && a.opted_out));
    let titles = HashMap::from([
        (seat, "the seat".to_string()),
        (dark, "dark mode".to_string()),
    ]);
    let plans = plan_notifications(
        &release,
        &asks,
        &titles,
        &Templates::default(),
        &store.notified_keys(release.id).await.unwrap(),
    );
    assert_eq!(plans.len(), 3, "paul, mette, zed: {plans:#?}");
    for plan in &plans {
        let state = if plan.skip.is_some() {
            NotificationState::Skipped
        } else {
            NotificationState::Queued
        };
        assert!(store
            .record_notification(release.id, plan, state, at)
            .await
            .unwrap());
        assert!(
            !store
                .record_notification(release.id, plan, state, at)
                .await
                .unwrap(),
            "stored once"
        );
    }
    // Queued but not sent (a run killed before the reply went out): a re-run plans them
    // again; the reply carries the same key, so nobody is told twice.
    let keys = store.notified_keys(release.id).await.unwrap();
    let rerun = plan_notifications(&release, &asks, &titles, &Templates::default(), &keys);
    let queued: Vec<&str> = plans
        .iter()
        .filter(|p| p.skip.is_none())
        .map(|p| p.key.as_str())
        .collect();
    assert!(!queued.is_empty());
    let again: Vec<&str> = rerun
        .iter()
        .filter(|p| p.skip.is_none())
        .map(|p| p.key.as_str())
        .collect();
    assert_eq!(again, queued, "queued ones are planned again");
    for key in &queued {
        store
            .update_notification(key, NotificationState::Sent, None)
            .await
            .unwrap();
    }
    let keys = store.notified_keys(release.id).await.unwrap();
    let rerun = plan_notifications(&release, &asks, &titles, &Templates::default(), &keys);
    assert!(
        rerun.iter().all(|p| p.skip.is_some()),
        "once sent, a re-run tells nobody: {rerun:#?}"
    );
    let stored = store.notifications(release.id).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(
        stored
            .iter()
            .filter(|n| n.state == NotificationState::Skipped)
            .count(),
        1
    );
    store
        .update_notification(&stored[0].key, NotificationState::Sent, Some(reply.id))
        .await
        .unwrap();
    assert_eq!(
        store.notifications(release.id).await.unwrap()[0].state,
        NotificationState::Sent
    );
    assert_eq!(store.releases().await.unwrap().len(), 1);
}

/// A post dated 9999-12-31 (or 2001) is refused with its reason; the good posts of its batch
/// are stored, and the author's later posts open a conversation of their own, due on time.
async fn odd_times_are_refused_one_by_one_and_the_batch_is_kept(store: Arc<dyn Store>) {
    let now = "2026-11-20T12:00:00Z";
    let r = ingest(
        &store,
        vec![
            customer(
                "1",
                "anna",
                "2026-11-20T11:00:00Z",
                "@voltra my charger is broken",
            ),
            customer(
                "2",
                "odd",
                "9999-12-31T23:59:59Z",
                "@voltra hello from the future",
            ),
            customer(
                "3",
                "early",
                "2001-09-09T01:46:40Z",
                "@voltra hello from the past",
            ),
            customer(
                "4",
                "bo",
                "2026-11-20T11:30:00Z",
                "@voltra where is my order?",
            ),
        ],
        now,
    )
    .await;
    assert_eq!(r.new, 2);
    let taken: Vec<&str> = r.posts.iter().map(|p| p.external_id.as_str()).collect();
    assert_eq!(taken, ["1", "4"]);
    let refused: Vec<(usize, &str)> = r
        .refused
        .iter()
        .map(|p| (p.index, p.external_id.as_str()))
        .collect();
    assert_eq!(refused, [(1, "2"), (2, "3")]);
    assert!(
        r.refused[0].reason.contains("more than a day ahead"),
        "{:?}",
        r.refused
    );
    assert!(
        r.refused[1].reason.contains("before 2006"),
        "{:?}",
        r.refused
    );
    assert_eq!(store.counts().await.unwrap().posts, 2);

    // The author of the odd post writes again: a conversation due within its target.
    let r = ingest(
        &store,
        vec![customer(
            "5",
            "odd",
            "2026-11-20T12:10:00Z",
            "@voltra hello again",
        )],
        "2026-11-20T12:11:00Z",
    )
    .await;
    let id = conversation_of(&r, "5");
    let c = store.conversation(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.opened_at, t("2026-11-20T12:10:00Z"));
    let due = c.response_due.unwrap();
    assert!(
        due > t("2026-11-20T12:10:00Z") && due < t("2026-11-22T00:00:00Z"),
        "due {due}"
    );
    let inbox = store
        .inbox(&InboxFilter::default(), t("2026-11-20T12:11:00Z"))
        .await
        .unwrap();
    assert!(inbox.items.iter().all(|row| row
        .conversation
        .response_due
        .is_none_or(|d| d.timestamp() > 0)));
}

/// The same post id with another text is the author's edit, not a duplicate to drop: the
/// new text replaces the old (search follows), the audit trail says so, and the same text
/// again changes nothing. A deleted post stays deleted.
async fn a_post_heard_again_with_another_text_is_an_audited_edit(store: Arc<dyn Store>) {
    let r = ingest(
        &store,
        vec![customer(
            "d1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is blocked by an idle car",
        )],
        "2024-03-01T10:01:00Z",
    )
    .await;
    let conversation = conversation_of(&r, "d1");

    let again = ingest(
        &store,
        vec![customer(
            "d1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is blocked by an idle taxi",
        )],
        "2024-03-01T10:05:00Z",
    )
    .await;
    assert_eq!((again.new, again.duplicates, again.edited), (0, 1, 1));
    assert!(again.posts[0].duplicate && again.posts[0].edited);
    let detail = store.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(
        detail.posts[0].text,
        "My charger is blocked by an idle taxi"
    );
    assert_eq!(detail.posts[0].edited_at, Some(t("2024-03-01T10:05:00Z")));
    assert_eq!(detail.conversation.post_count, 1, "still one post");
    let edits = |audit: &[earshot_core::AuditEntry]| {
        audit.iter().filter(|a| a.action == "post_edited").count()
    };
    assert_eq!(edits(&detail.audit), 1);
    let found = store.search(&backends::search("taxi", 10)).await.unwrap();
    assert_eq!(found.items.len(), 1);

    // The same text again: a plain duplicate.
    let same = ingest(
        &store,
        vec![customer(
            "d1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is blocked by an idle taxi",
        )],
        "2024-03-01T10:06:00Z",
    )
    .await;
    assert_eq!((same.duplicates, same.edited), (1, 0));
    assert!(!same.posts[0].edited);

    // Twice in one batch with two texts: the later delivery wins.
    let r = ingest(
        &store,
        vec![
            customer("d2", "lena", "2024-03-01T11:00:00Z", "first words"),
            customer("d2", "lena", "2024-03-01T11:00:00Z", "second thoughts"),
        ],
        "2024-03-01T11:01:00Z",
    )
    .await;
    assert_eq!((r.new, r.duplicates, r.edited), (1, 1, 1));
    let lena = conversation_of(&r, "d2");
    let detail = store.conversation(lena).await.unwrap().unwrap();
    assert_eq!(detail.posts[0].text, "second thoughts");

    // Deleted, then delivered again with its text: it stays deleted.
    store
        .delete_post(
            &earshot_core::PostKey::new(Network::X, "d1"),
            t("2024-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    let back = ingest(
        &store,
        vec![customer(
            "d1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is blocked by an idle car",
        )],
        "2024-03-01T12:01:00Z",
    )
    .await;
    assert_eq!(back.edited, 0);
    let detail = store.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(detail.posts[0].text, "");
    assert!(detail.posts[0].deleted_at.is_some());
}

/// Found by fuzzing the search box: a NUL (or another control character) in the query made
/// SQLite's FTS5 fail with "unterminated string" and PostgreSQL refuse the text: a 500.
async fn a_search_with_control_characters_is_answered(store: Arc<dyn Store>) {
    ingest(
        &store,
        vec![customer(
            "s1",
            "paul",
            "2024-03-01T10:00:00Z",
            "My charger is broken",
        )],
        "2024-03-01T10:01:00Z",
    )
    .await;
    for q in [
        "charger\0broken",
        "\0",
        "char\u{1}ger",
        "\u{7f}charger\u{1b}[0m",
    ] {
        let found = store.search(&backends::search(q, 10)).await;
        match found {
            Ok(page) => assert!(page.items.len() <= 1, "{q:?}"),
            Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("{q:?}: {e}"),
        }
    }
}

/// A customer's reply delivered before the post it answers opens a conversation; when the
/// parent comes it joins that conversation (as its opening post, the clock running from it),
/// instead of opening a second one.
async fn a_customer_reply_heard_before_its_parent_is_joined_by_it(store: Arc<dyn Store>) {
    // Lena answers Paul's post; hers arrives first, and the brand answers her.
    let r = ingest(
        &store,
        vec![
            customer(
                "r2",
                "lena",
                "2024-03-01T10:05:00Z",
                "@voltra same here, the seat will not move",
            )
            .reply_to("r1"),
            brand("r3", "2024-03-01T10:10:00Z", "r2"),
        ],
        "2024-03-01T10:11:00Z",
    )
    .await;
    let waiting = conversation_of(&r, "r2");
    assert_eq!(store.counts().await.unwrap().conversations, 1);

    let r = ingest(
        &store,
        vec![customer("r1", "paul", "2024-03-01T10:00:00Z", PAUL)],
        "2024-03-01T10:12:00Z",
    )
    .await;
    assert_eq!(
        conversation_of(&r, "r1"),
        waiting,
        "the parent joins the waiting conversation"
    );
    assert_eq!(store.counts().await.unwrap().conversations, 1);
    let detail = store.conversation(waiting).await.unwrap().unwrap();
    let c = &detail.conversation;
    assert_eq!(c.root_external_id, "r1");
    assert_eq!(c.customer.handle, "paul");
    assert_eq!(c.opened_at, t("2024-03-01T10:00:00Z"));
    assert_eq!(c.post_count, 3);
    assert_eq!(
        c.first_response_secs,
        Some(10 * 60),
        "timed from Paul's post"
    );
    assert_eq!(c.awaits_parent, None);
    let ids: Vec<&str> = detail
        .posts
        .iter()
        .map(|p| p.external_id.as_str())
        .collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);
    // Paul's next post joins his conversation (it is his now).
    let r = ingest(
        &store,
        vec![customer(
            "r4",
            "paul",
            "2024-03-01T11:00:00Z",
            "and the wheel?",
        )],
        "2024-03-01T11:01:00Z",
    )
    .await;
    assert_eq!(conversation_of(&r, "r4"), waiting);

    // A customer answers a brand post earshot hears later: it joins their thread, and the
    // clock keeps running for the customer.
    let r = ingest(
        &store,
        vec![customer(
            "c1",
            "mette",
            "2024-03-02T09:05:00Z",
            "@voltra when is it coming?",
        )
        .reply_to("b1")],
        "2024-03-02T09:06:00Z",
    )
    .await;
    let mette = conversation_of(&r, "c1");
    let mut announcement = brand("b1", "2024-03-02T09:00:00Z", "nothing-we-know");
    announcement.post.in_reply_to = None;
    let r = ingest(&store, vec![announcement], "2024-03-02T09:07:00Z").await;
    assert_eq!(r.posts[0].conversation_id, Some(mette));
    let c = store
        .conversation(mette)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert_eq!(c.post_count, 2);
    assert_eq!(
        c.awaiting_since,
        Some(t("2024-03-02T09:05:00Z")),
        "still owed an answer"
    );
    assert_eq!(c.first_response_at, None);
    assert_eq!(store.counts().await.unwrap().conversations, 2);
}

/// The grouping lease holder's catch-up reads (issue 15): customer asks in no request, lowest
/// id first, from a cursor; other intents, brand posts and grouped asks are not returned.
async fn asks_in_no_request_are_found_in_id_order_from_a_cursor(store: Arc<dyn Store>) {
    let report = ingest(
        &store,
        vec![
            customer("a1", "paul", "2024-03-01T10:00:00Z", "Dark mode please")
                .intent(Intent::FeatureRequest),
            customer("q1", "ann", "2024-03-01T10:01:00Z", "Where is my order?"),
            customer("a2", "zed", "2024-03-01T10:02:00Z", "Please add CarPlay")
                .intent(Intent::FeatureRequest),
            customer(
                "a3",
                "kim",
                "2024-03-01T10:03:00Z",
                "Spotify in the car, please",
            )
            .intent(Intent::FeatureRequest),
        ],
        "2024-03-01T10:05:00Z",
    )
    .await;
    let id_of = |ext: &str| backends::post_id_of(&report, ext);
    let at = t("2024-03-01T10:05:00Z");
    let dark = store.create_request("Dark mode", at).await.unwrap();
    store
        .add_to_request(id_of("a1"), dark, 1.0, "grouping", at)
        .await
        .unwrap();
    let newest = report.posts.iter().map(|p| p.post_id).max().unwrap();

    let (asks, read_to) = store.asks_not_grouped(0, 10).await.unwrap();
    let ids: Vec<i64> = asks.iter().map(|a| a.post_id).collect();
    assert_eq!(
        ids,
        [id_of("a2"), id_of("a3")],
        "ungrouped asks only, by id"
    );
    assert_eq!(asks[0].text, "Please add CarPlay");
    assert_eq!(read_to, newest, "read up to the newest post");

    // A full page stops at its last ask; the next call goes on from there.
    let (asks, read_to) = store.asks_not_grouped(0, 1).await.unwrap();
    assert_eq!(asks.len(), 1);
    assert_eq!(read_to, id_of("a2"));
    let (asks, _) = store.asks_not_grouped(read_to, 10).await.unwrap();
    assert_eq!(
        asks.iter().map(|a| a.post_id).collect::<Vec<_>>(),
        [id_of("a3")]
    );

    // Nothing after the newest post: the cursor stays.
    let (asks, read_to) = store.asks_not_grouped(newest, 10).await.unwrap();
    assert!(asks.is_empty());
    assert_eq!(read_to, newest);
}
