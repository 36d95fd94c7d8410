//! The triage state store (migration 0008), written once against `Arc<dyn Store>` and run on
//! SQLite (a temporary file) and on PostgreSQL (a fresh database per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::Intent;
use earshot_core::priority::PriorityBand;
use earshot_core::reply::{AUTO_REPLY_AUTHOR, AUTO_REPLY_KEY_PREFIX};
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::triage::escalation::{Page, PageTarget};
use earshot_core::triage::{EscalationState, Routing, Trigger};
use earshot_core::{ConversationId, Network, Status};
use earshot_store::triage_state::RoutedConversation;
use earshot_store::{InboxFilter, NewReply, Store, StoreError};
use std::sync::Arc;

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    routing_is_kept_and_replaced,
    an_escalation_is_kept_at_its_level_until_acknowledged,
    a_customer_gets_one_automatic_answer_per_window,
    a_jump_ranks_first_and_survives_rescoring_and_new_posts,
    an_automatic_reply_joins_the_thread_without_stopping_the_clock,
    a_page_is_claimed_once,
    an_alert_is_kept_until_settled_and_listed_for_sending_again,
);

// ---------------------------------------------------------------------------------------

fn post(id: &str, author: &str, at: &str, followers: u64, intent: Intent) -> Incoming {
    heard(id, author, at).followers(followers).intent(intent)
}

fn brand_post(id: &str, to: &str, at: &str) -> Incoming {
    let mut p = post(id, "brand", at, 0, Intent::Other);
    p.post.in_reply_to = Some(to.into());
    p.post.from_brand = Some(true);
    p.from_brand = true;
    p
}

/// Paul's complaint on Saturday night (22:10 UTC), heard a minute later.
async fn pauls_complaint(store: &Arc<dyn Store>) -> ConversationId {
    hear(
        store,
        vec![post(
            "1",
            "paul",
            "2025-03-08T22:10:00Z",
            10,
            Intent::Complaint,
        )],
        "2025-03-08T22:11:00Z",
    )
    .await
}

async fn hear(store: &Arc<dyn Store>, batch: Vec<Incoming>, now: &str) -> ConversationId {
    let report = store
        .ingest(batch, &TriagePolicy::default(), t(now))
        .await
        .unwrap();
    report.posts[0].conversation_id.unwrap()
}

async fn routing_is_kept_and_replaced(store: Arc<dyn Store>) {
    let id = pauls_complaint(&store).await;
    assert_eq!(store.routing(id).await.unwrap(), None);
    let mut routed = RoutedConversation {
        conversation: id,
        routing: Routing {
            team: Some("care-eu".into()),
            assignee: None,
            labels: vec!["vip".into(), "da".into()],
            band: PriorityBand::High,
            bumped_by: 1,
        },
        rules: vec!["big accounts".into(), "everything".into()],
        routed_at: t("2025-03-08T22:11:00Z"),
    };
    store.save_routing(&routed).await.unwrap();
    assert_eq!(store.routing(id).await.unwrap(), Some(routed.clone()));
    routed.routing.team = Some("care-dk".into());
    routed.rules = vec![];
    store.save_routing(&routed).await.unwrap();
    assert_eq!(store.routing(id).await.unwrap(), Some(routed.clone()));

    store
        .audit_triage(
            id,
            "routing:everything",
            "routed",
            &serde_json::json!({"team": "care-dk"}),
            t("2025-03-08T22:11:00Z"),
        )
        .await
        .unwrap();
    let audit = store.audit(Some(id), 10).await.unwrap();
    assert_eq!(audit[0].actor, "routing:everything");
    assert_eq!(audit[0].action, "routed");
    assert_eq!(audit[0].detail["team"], "care-dk");
    let err = store
        .audit_triage(
            ConversationId(9999),
            "x",
            "routed",
            &serde_json::json!({}),
            t("2025-03-08T22:11:00Z"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    routed.conversation = ConversationId(9999);
    let err = store.save_routing(&routed).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

fn page(level: usize, at: DateTime<Utc>) -> Page {
    Page {
        level,
        round: 0,
        notify: vec![PageTarget::OnCall { team: None }],
        at,
        ack_by: at + Duration::minutes(10),
        reason: "first response due soon".into(),
    }
}

async fn an_escalation_is_kept_at_its_level_until_acknowledged(store: Arc<dyn Store>) {
    let id = pauls_complaint(&store).await;
    let other = hear(
        &store,
        vec![post(
            "2",
            "lena",
            "2025-03-08T22:12:00Z",
            10,
            Intent::Question,
        )],
        "2025-03-08T22:13:00Z",
    )
    .await;
    let started = t("2025-03-08T22:11:00Z");
    let mut state = EscalationState::start(
        "care-eu",
        Trigger::AfterHours {
            why: "150000 followers".into(),
        },
        started,
    );
    state.record(page(1, started));
    store
        .save_escalation(id, &state, &["ana".to_string()], started)
        .await
        .unwrap();
    state.record(page(2, started + Duration::minutes(11)));
    store
        .save_escalation(
            id,
            &state,
            &["maria".to_string()],
            started + Duration::minutes(11),
        )
        .await
        .unwrap();
    let mut quiet = EscalationState::start(
        "care-eu",
        Trigger::AfterHours {
            why: "urgent".into(),
        },
        started + Duration::minutes(1),
    );
    store
        .save_escalation(other, &quiet, &[], started)
        .await
        .unwrap();

    let open = store.open_escalations().await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].conversation, id, "oldest first");
    assert_eq!(open[0].state, state);
    assert_eq!(open[0].state.pages.last().map(|p| p.level), Some(2));
    assert_eq!(open[0].paged, vec!["maria".to_string()]);
    assert!(open[1].paged.is_empty());

    // Acknowledged and closed ones are kept for the record but are no longer open.
    state.acknowledge("maria", started + Duration::minutes(12));
    store
        .save_escalation(id, &state, &[], started + Duration::minutes(12))
        .await
        .unwrap();
    quiet.close(started + Duration::minutes(20));
    store
        .save_escalation(other, &quiet, &[], started)
        .await
        .unwrap();
    assert!(store.open_escalations().await.unwrap().is_empty());
    let kept = store.escalation(id).await.unwrap().unwrap();
    assert_eq!(
        kept.state.acknowledged.as_ref().map(|a| a.0.as_str()),
        Some("maria")
    );
    assert_eq!(kept.paged, vec!["maria".to_string()], "who was paged stays");
    assert_eq!(store.escalation(ConversationId(9999)).await.unwrap(), None);
    let err = store
        .save_escalation(ConversationId(9999), &state, &[], started)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn a_customer_gets_one_automatic_answer_per_window(store: Arc<dyn Store>) {
    let first = pauls_complaint(&store).await;
    let second = hear(
        &store,
        vec![post(
            "2",
            "lena",
            "2025-03-08T22:12:00Z",
            10,
            Intent::Complaint,
        )],
        "2025-03-08T22:13:00Z",
    )
    .await;
    let every = Duration::hours(12);
    let at = t("2025-03-08T22:10:00Z");
    let claim = |conversation: ConversationId, customer: &'static str, at: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .claim_auto_reply(Network::X, customer, conversation, at, every)
                .await
                .unwrap()
        }
    };
    assert!(claim(first, "id-paul", at).await);
    assert!(!claim(first, "id-paul", at).await, "the same one again");
    assert!(!claim(first, "id-paul", at + Duration::hours(11)).await);
    assert!(
        claim(second, "id-lena", at).await,
        "each customer has their own"
    );
    assert!(claim(first, "id-paul", at + Duration::hours(12)).await);
    // Another network is another customer.
    assert!(store
        .claim_auto_reply(Network::Mastodon, "id-paul", first, at, every)
        .await
        .unwrap());
    let err = store
        .claim_auto_reply(Network::X, "id-x", ConversationId(9999), at, every)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn a_page_is_claimed_once(store: Arc<dyn Store>) {
    let id = pauls_complaint(&store).await;
    let at = t("2025-03-08T22:12:00Z");
    let key = format!("page:{id}:1:0:dana");
    assert!(store.claim_alert(&key, Some(id), ALERT, at).await.unwrap());
    // Another process (or this one in a new lease term) computing the same page: not again.
    assert!(!store.claim_alert(&key, Some(id), ALERT, at).await.unwrap());
    assert!(!store
        .claim_alert(&key, Some(id), ALERT, at + Duration::minutes(5))
        .await
        .unwrap());
    // The next level, or another person, is another page.
    assert!(store
        .claim_alert(&format!("page:{id}:2:0:dana"), Some(id), ALERT, at)
        .await
        .unwrap());
    assert!(store
        .claim_alert(&format!("page:{id}:1:0:maria"), Some(id), ALERT, at)
        .await
        .unwrap());
    let err = store
        .claim_alert("page:9999:1:0:dana", Some(ConversationId(9999)), ALERT, at)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

/// The claimed page as the dispatcher would send it again (any JSON: the store keeps text).
const ALERT: &str = r#"{"title":"Conversation needs dana"}"#;

async fn an_alert_is_kept_until_settled_and_listed_for_sending_again(store: Arc<dyn Store>) {
    let id = pauls_complaint(&store).await;
    let at = t("2025-03-08T22:12:00Z");
    let (dana, maria) = (
        format!("page:{id}:1:0:dana"),
        format!("page:{id}:1:0:maria"),
    );
    assert!(store.claim_alert(&dana, Some(id), ALERT, at).await.unwrap());
    assert!(store
        .claim_alert(&maria, Some(id), ALERT, at + Duration::seconds(1))
        .await
        .unwrap());
    // Nothing is "unsettled" while it may still be on its way (claimed after the cut-off).
    assert!(store
        .unsettled_alerts("page:", at, 10)
        .await
        .unwrap()
        .is_empty());
    let later = at + Duration::minutes(5);
    let unsettled = store.unsettled_alerts("page:", later, 10).await.unwrap();
    let keys: Vec<&str> = unsettled.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, [dana.as_str(), maria.as_str()], "oldest first");
    assert_eq!(unsettled[0].conversation, Some(id));
    assert_eq!(unsettled[0].alert.as_deref(), Some(ALERT));
    assert_eq!(unsettled[0].claimed_at, at);
    assert_eq!(
        store
            .unsettled_alerts("page:", later, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    // Two processes that both list dana as owed: only one takes it over to send it again.
    let cutoff = at + Duration::minutes(3);
    assert!(store
        .retake_alert(&dana, cutoff, at + Duration::minutes(4))
        .await
        .unwrap());
    assert!(!store
        .retake_alert(&dana, cutoff, at + Duration::minutes(4))
        .await
        .unwrap());
    // A sender still working on one touches it: not owed until it goes untouched again.
    store.touch_alert(&maria, later).await.unwrap();
    let keys = |list: Vec<earshot_store::alert_claims::UnsettledAlert>| -> Vec<String> {
        list.into_iter().map(|p| p.key).collect()
    };
    let owed = store.unsettled_alerts("page:", later, 10).await.unwrap();
    assert_eq!(keys(owed), std::slice::from_ref(&dana));
    let owed = store
        .unsettled_alerts("page:", later + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(
        keys(owed),
        [dana.clone(), maria.clone()],
        "oldest touch first"
    );
    // Settled once, it is never listed again (a second settle changes nothing), nor touched.
    store.settle_alert(&dana, "delivered", later).await.unwrap();
    store.touch_alert(&dana, later).await.unwrap();
    store.settle_alert(&dana, "failed", later).await.unwrap();
    let owed = store
        .unsettled_alerts("page:", later + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(keys(owed), [maria]);
    // Still claimed: settling does not free the key for a second send.
    assert!(!store
        .claim_alert(&dana, Some(id), ALERT, later)
        .await
        .unwrap());
    let err = store
        .settle_alert("page:9999:1:0:dana", "delivered", later)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

/// Takes migration 0048 back out (page claims as they were, in each database's time type), so
/// that opening the store again applies it to the claims already there.
fn before_0048(time: &str) -> String {
    format!(
        "CREATE TABLE page_claims (page_key TEXT PRIMARY KEY, \
         conversation_id BIGINT NOT NULL REFERENCES conversations (id), claimed_at {time} NOT NULL); \
         INSERT INTO page_claims SELECT alert_key, conversation_id, claimed_at FROM alert_claims; \
         DROP TABLE alert_claims; DELETE FROM schema_migrations WHERE version = 48;"
    )
}

/// Claims a page before the migration and after it, on the store at `url`: the old claim kept
/// no alert to send again, so it counts as settled; the new one is listed until settled.
async fn claims_made_before_pages_were_kept_are_settled(
    url: &str,
    take_out: impl std::future::Future<Output = ()>,
) {
    let store = earshot_store::open(url).await.unwrap();
    let id = pauls_complaint(&store).await;
    let at = t("2025-03-08T22:12:00Z");
    assert!(store
        .claim_alert("page:old", Some(id), ALERT, at)
        .await
        .unwrap());
    drop(store);
    take_out.await;
    let store = earshot_store::open(url).await.unwrap();
    let later = at + Duration::hours(1);
    assert!(store
        .unsettled_alerts("page:", later, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(!store
        .claim_alert("page:old", Some(id), ALERT, at)
        .await
        .unwrap());
    assert!(store
        .claim_alert("page:new", Some(id), ALERT, at)
        .await
        .unwrap());
    let keys: Vec<String> = store
        .unsettled_alerts("page:", later, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, ["page:new"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migration_settles_the_claims_made_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("earshot.db");
    let path = path.to_str().unwrap();
    let take_out = async {
        let sql = before_0048("INTEGER");
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(&sql)
            .unwrap();
    };
    claims_made_before_pages_were_kept_are_settled(path, take_out).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migration_settles_the_claims_made_before_it() {
    backends::on_fresh_postgres(|url| async move {
        let take_out = async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let sql = before_0048("timestamptz");
            client.batch_execute(&sql).await.unwrap();
        };
        claims_made_before_pages_were_kept_are_settled(&url, take_out).await;
    })
    .await;
}

async fn a_jump_ranks_first_and_survives_rescoring_and_new_posts(store: Arc<dyn Store>) {
    let angry = hear(
        &store,
        vec![post(
            "1",
            "paul",
            "2025-03-08T22:00:00Z",
            10,
            Intent::Complaint,
        )],
        "2025-03-08T22:01:00Z",
    )
    .await;
    let famous = hear(
        &store,
        vec![post(
            "2",
            "famous",
            "2025-03-08T22:10:00Z",
            250_000,
            Intent::Complaint,
        )],
        "2025-03-08T22:11:00Z",
    )
    .await;
    let now = t("2025-03-08T22:30:00Z");
    let filter = InboxFilter::default();
    let order = |store: Arc<dyn Store>| {
        let filter = filter.clone();
        async move {
            store
                .inbox(&filter, now)
                .await
                .unwrap()
                .items
                .iter()
                .map(|r| r.conversation.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(order(store.clone()).await, vec![angry, famous]);

    let policy = TriagePolicy::default();
    // Both ranked as of now (a complaint that waited past its share of the target moves up a
    // band), so the bands compared below are of one moment.
    store.rescore_open(&policy, now).await.unwrap();
    let famous_band = store
        .conversation(famous)
        .await
        .unwrap()
        .unwrap()
        .conversation
        .priority
        .band;
    let c = store
        .mark_jump(famous, "250k followers", &policy, now)
        .await
        .unwrap();
    assert_eq!(c.signals.jump.as_deref(), Some("250k followers"));
    // A jump goes first within its band (both are complaints here); it never changes the band.
    assert_eq!(c.priority.band, famous_band, "{:?}", c.priority);
    let angry_now = store
        .conversation(angry)
        .await
        .unwrap()
        .unwrap()
        .conversation;
    assert_eq!(c.priority.band, angry_now.priority.band, "{:?}", c.priority);
    assert!(
        c.priority.score > angry_now.priority.score,
        "{:?}",
        c.priority
    );
    assert_eq!(order(store.clone()).await, vec![famous, angry]);
    let row = store.inbox(&filter, now).await.unwrap().items[0].clone();
    assert!(
        row.conversation
            .priority
            .explain()
            .contains("jump: 250k followers"),
        "{}",
        row.conversation.priority.explain()
    );
    // The first reason stays.
    let again = store
        .mark_jump(famous, "part of a spike", &policy, now)
        .await
        .unwrap();
    assert_eq!(again.signals.jump.as_deref(), Some("250k followers"));

    // Waiting time rescoring and the customer writing again keep it in front.
    store
        .rescore_open(&policy, now + Duration::hours(5))
        .await
        .unwrap();
    hear(
        &store,
        vec![post(
            "3",
            "famous",
            "2025-03-08T22:40:00Z",
            250_000,
            Intent::Question,
        )],
        "2025-03-08T22:41:00Z",
    )
    .await;
    let detail = store.conversation(famous).await.unwrap().unwrap();
    assert_eq!(detail.posts.len(), 2);
    assert_eq!(
        detail.conversation.signals.jump.as_deref(),
        Some("250k followers")
    );
    // Scores stored at different moments are compared after the next rescoring.
    store
        .rescore_open(&policy, now + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(order(store.clone()).await, vec![famous, angry]);

    let err = store
        .mark_jump(angry, "  ", &policy, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    let err = store
        .mark_jump(ConversationId(9999), "x", &policy, now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn an_automatic_reply_joins_the_thread_without_stopping_the_clock(store: Arc<dyn Store>) {
    let id = pauls_complaint(&store).await;
    let reply = store
        .queue_reply(NewReply {
            conversation_id: id,
            text: "Thanks! We are back Monday 08:00.".into(),
            author: AUTO_REPLY_AUTHOR.into(),
            idempotency_key: format!("{AUTO_REPLY_KEY_PREFIX}{id}"),
            created_at: t("2025-03-08T22:11:00Z"),
        })
        .await
        .unwrap();
    store
        .mark_reply_sent(reply.id, "b-1", t("2025-03-08T22:11:01Z"))
        .await
        .unwrap();
    hear(
        &store,
        vec![brand_post("b-1", "1", "2025-03-08T22:11:01Z")],
        "2025-03-08T22:11:02Z",
    )
    .await;
    let c = store.conversation(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.post_count, 2, "in the thread");
    assert_eq!(c.first_response_at, None, "an acknowledgement is no answer");
    assert_eq!(c.status, Status::Open);
    assert_eq!(c.awaiting_since, Some(t("2025-03-08T22:10:00Z")));

    // A person's answer on Monday is the first response.
    hear(
        &store,
        vec![brand_post("b-2", "1", "2025-03-10T07:05:00Z")],
        "2025-03-10T07:06:00Z",
    )
    .await;
    let c = store.conversation(id).await.unwrap().unwrap().conversation;
    assert_eq!(c.first_response_at, Some(t("2025-03-10T07:05:00Z")));
    assert_eq!(c.status, Status::Pending);
}
