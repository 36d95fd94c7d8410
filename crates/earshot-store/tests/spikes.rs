//! Spikes as stored (migration 0041) and the spike detector's reading of the posts, written
//! once against `Arc<dyn Store>` and run on SQLite (a temporary file) and on PostgreSQL (a
//! fresh database per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use earshot_core::threading::TriagePolicy;
use earshot_core::Network;
use earshot_store::{Store, StoreError};
use serde_json::json;
use std::sync::Arc;

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    spikes_are_listed_active_first_and_alerted_once,
    customer_posts_are_read_in_id_order_from_a_cursor,
);

async fn spikes_are_listed_active_first_and_alerted_once(store: Arc<dyn Store>) {
    assert!(store.spikes(10).await.unwrap().is_empty());
    let at = t("2026-12-07T03:00:00Z");
    let (early, late) = (t("2026-12-07T02:00:00Z"), t("2026-12-07T02:30:00Z"));
    let outage = store
        .save_spike(None, false, early, &json!({"label": "outage"}), at)
        .await
        .unwrap();
    let festival = store
        .save_spike(
            None,
            true,
            early,
            &json!({"label": "festival", "posts": 8}),
            at,
        )
        .await
        .unwrap();
    let refunds = store
        .save_spike(None, false, late, &json!({"label": "refunds"}), at)
        .await
        .unwrap();
    assert!(outage < festival && festival < refunds, "new ids, in order");
    // Written again as it grows: one row, the newest view.
    let again = store
        .save_spike(
            Some(festival),
            true,
            early,
            &json!({"label": "festival", "posts": 40}),
            at,
        )
        .await
        .unwrap();
    assert_eq!(again, festival);
    assert!(matches!(
        store
            .save_spike(Some(refunds + 100), true, early, &json!({}), at)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let listed = store.spikes(10).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [festival, refunds, outage],
        "active first, then the newest detected"
    );
    assert_eq!(listed[0].view["posts"], 40);
    assert!(listed[0].active && !listed[1].active);
    assert_eq!(listed[0].detected_at, early);
    assert_eq!(store.spikes(1).await.unwrap().len(), 1);

    // The alert is claimed once, whoever asks, and kept until its targets settle it.
    let key = format!("spike:{festival}");
    let alert = r#"{"title":"Spike: 40 posts about tickets"}"#;
    assert!(store
        .claim_spike_alert(festival, &key, alert, at)
        .await
        .unwrap());
    assert!(!store
        .claim_spike_alert(festival, &key, alert, at)
        .await
        .unwrap());
    assert!(matches!(
        store
            .claim_spike_alert(refunds + 100, "spike:x", alert, at)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.spikes(10).await.unwrap()[0].alerted_at,
        Some(at),
        "the claim is kept"
    );
    let later = at + chrono::Duration::minutes(5);
    let unsettled = store.unsettled_alerts("spike:", later, 10).await.unwrap();
    assert_eq!(unsettled.len(), 1, "{unsettled:?}");
    assert_eq!(
        (
            unsettled[0].key.as_str(),
            unsettled[0].alert.as_deref(),
            unsettled[0].conversation
        ),
        (key.as_str(), Some(alert), None)
    );
    assert!(store
        .unsettled_alerts("page:", later, 10)
        .await
        .unwrap()
        .is_empty());
    store.settle_alert(&key, "delivered", later).await.unwrap();
    assert!(store
        .unsettled_alerts("spike:", later, 10)
        .await
        .unwrap()
        .is_empty());

    // A detector starting afresh ends what an earlier one left active (but what it keeps).
    let down = store
        .save_spike(None, true, late, &json!({"label": "app down"}), at)
        .await
        .unwrap();
    assert_eq!(store.end_spikes_but(&[down], at).await.unwrap(), 1);
    let active: Vec<i64> = store
        .spikes(10)
        .await
        .unwrap()
        .iter()
        .filter(|s| s.active)
        .map(|s| s.id)
        .collect();
    assert_eq!(active, [down]);
    assert_eq!(store.end_spikes_but(&[], at).await.unwrap(), 1);
    assert!(store.spikes(10).await.unwrap().iter().all(|s| !s.active));
}

async fn customer_posts_are_read_in_id_order_from_a_cursor(store: Arc<dyn Store>) {
    assert_eq!(store.newest_post_id().await.unwrap(), 0);
    let mut brand = heard("b1", "voltra", "2024-03-01T10:01:30Z").text("We are on it");
    brand.post.in_reply_to = Some("q1".into());
    brand.post.from_brand = Some(true);
    brand.from_brand = true;
    let report = store
        .ingest(
            vec![
                heard("q1", "paul", "2024-03-01T10:00:00Z").text("Where is my order?"),
                brand,
                heard("q2", "ann", "2024-03-01T10:02:00Z").text("Flights to Roskilde?"),
                heard("q3", "kim", "2024-03-01T10:03:00Z").text("More flights please"),
            ],
            &TriagePolicy::default(),
            t("2024-03-01T10:05:00Z"),
        )
        .await
        .unwrap();
    let id_of = |ext: &str| backends::post_id_of(&report, ext);
    let newest = report.posts.iter().map(|p| p.post_id).max().unwrap();
    assert_eq!(store.newest_post_id().await.unwrap(), newest);

    let (posts, read_to) = store.customer_posts_after(0, 10).await.unwrap();
    let ids: Vec<i64> = posts.iter().map(|p| p.post_id).collect();
    assert_eq!(
        ids,
        [id_of("q1"), id_of("q2"), id_of("q3")],
        "customers' posts only, by id"
    );
    assert_eq!(read_to, newest);
    let q2 = &posts[1];
    assert_eq!(
        (q2.network, q2.author.as_str(), q2.text.as_str()),
        (Network::X, "id-ann", "Flights to Roskilde?")
    );
    assert_eq!(q2.language, "en");
    assert_eq!(q2.created_at, t("2024-03-01T10:02:00Z"));
    assert_eq!(q2.request_id, None);

    // The request a post was grouped into comes with it.
    let at = t("2024-03-01T10:05:00Z");
    let flights = store.create_request("Flights", at).await.unwrap();
    store
        .add_to_request(id_of("q3"), flights, 1.0, "grouping", at)
        .await
        .unwrap();
    // A full page stops at its last post; the next call goes on from there.
    let (posts, read_to) = store.customer_posts_after(id_of("q1"), 1).await.unwrap();
    assert_eq!(posts.len(), 1);
    assert_eq!(read_to, id_of("q2"));
    let (posts, read_to) = store.customer_posts_after(read_to, 10).await.unwrap();
    assert_eq!(posts[0].post_id, id_of("q3"));
    assert_eq!(posts[0].request_id, Some(flights.0));
    assert_eq!(read_to, newest);
    let (posts, read_to) = store.customer_posts_after(newest, 10).await.unwrap();
    assert!(posts.is_empty());
    assert_eq!(read_to, newest);
}
