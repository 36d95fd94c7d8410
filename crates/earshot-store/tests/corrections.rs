//! Agents' corrections (migration 0013), written once against `Arc<dyn Store>` and run on
//! SQLite (a temporary file) and on PostgreSQL (a fresh database per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::correction::{CorrectedField, CorrectedValue};
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{ConversationId, Network, PostKey};
use earshot_store::{InboxFilter, SearchQuery, Store, StoreError};
use std::sync::Arc;

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    a_correction_shows_at_once_everywhere_and_is_audited,
    the_latest_correction_wins_and_every_one_is_kept,
    correcting_the_waiting_post_re_ranks_its_conversation,
    deleted_edited_and_unknown_posts,
);

// ---------------------------------------------------------------------------------------

fn post(id: &str, author: &str, at: &str, intent: Intent, sentiment: SentimentLabel) -> Incoming {
    let score = match sentiment {
        SentimentLabel::Negative => -0.5,
        SentimentLabel::Neutral => 0.0,
        SentimentLabel::Positive => 0.5,
    };
    let text = format!("the charger at the depot {id}");
    heard(id, author, at)
        .intent(intent)
        .sentiment(sentiment, score)
        .text(&text)
}

/// Hears posts; the stored ids of the batch's posts and their conversations.
async fn hear(store: &Arc<dyn Store>, batch: Vec<Incoming>) -> Vec<(i64, ConversationId)> {
    let report = store
        .ingest(batch, &TriagePolicy::default(), t("2025-03-08T22:11:00Z"))
        .await
        .unwrap();
    report
        .posts
        .iter()
        .map(|p| (p.post_id, p.conversation_id.unwrap()))
        .collect()
}

async fn correct(
    store: &Arc<dyn Store>,
    post: i64,
    field: &str,
    value: &str,
    by: &str,
    at: &str,
) -> earshot_store::corrections::CorrectionOutcome {
    store
        .correct_post(
            post,
            &CorrectedValue::parse(field, value).unwrap(),
            by,
            t(at),
            &TriagePolicy::default(),
        )
        .await
        .unwrap()
}

async fn a_correction_shows_at_once_everywhere_and_is_audited(store: Arc<dyn Store>) {
    let heard = hear(
        &store,
        vec![post(
            "1",
            "paul",
            "2025-03-08T22:10:00Z",
            Intent::Praise,
            SentimentLabel::Positive,
        )],
    )
    .await;
    let (post_id, conv) = heard[0];
    let out = correct(
        &store,
        post_id,
        "intent",
        "complaint",
        "ann",
        "2025-03-08T22:12:00Z",
    )
    .await;
    let c = out.correction.clone().unwrap();
    assert_eq!(
        (c.field, c.from.as_str(), c.to.as_str(), c.by.as_str()),
        (CorrectedField::Intent, "praise", "complaint", "ann")
    );
    assert_eq!(out.post.analysis.intent.label, Intent::Complaint);

    // The conversation page reads the corrected label, marked with who corrected it.
    let detail = store.conversation(conv).await.unwrap().unwrap();
    let shown = &detail.posts[0].analysis;
    assert_eq!(shown.intent.label, Intent::Complaint);
    assert_eq!(shown.corrections.len(), 1);
    assert_eq!(shown.corrections[0].by, "ann");
    assert_eq!(shown.corrections[0].model, "praise");
    assert_eq!(detail.conversation.intent, Intent::Complaint);
    // Audited in the conversation's trail.
    assert_eq!(detail.audit[0].action, "post_corrected");
    assert_eq!(detail.audit[0].actor, "ann");
    assert_eq!(detail.audit[0].detail["field"], "intent");
    assert_eq!(detail.audit[0].detail["from"], "praise");
    assert_eq!(detail.audit[0].detail["to"], "complaint");

    // The inbox's filter, search's filter and the volume counts follow it.
    let inbox = store
        .inbox(
            &InboxFilter {
                intent: Some(Intent::Complaint),
                ..InboxFilter::default()
            },
            t("2025-03-08T22:13:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1);
    assert_eq!(inbox.items[0].conversation.intent, Intent::Complaint);

    correct(
        &store,
        post_id,
        "language",
        "da",
        "ann",
        "2025-03-08T22:14:00Z",
    )
    .await;
    let hits = store
        .search(&SearchQuery {
            language: Some("da".into()),
            intent: Some(Intent::Complaint),
            ..backends::search("charger", 10)
        })
        .await
        .unwrap();
    assert_eq!(hits.items.len(), 1);
    assert_eq!(hits.items[0].post.analysis.language.source, "corrected");
    let volume = store
        .volume(t("2025-03-08T00:00:00Z"), t("2025-03-09T00:00:00Z"))
        .await
        .unwrap();
    assert!(volume
        .iter()
        .any(|v| v.intent == Intent::Complaint && v.posts == 1));
    assert!(!volume.iter().any(|v| v.intent == Intent::Praise));
}

async fn the_latest_correction_wins_and_every_one_is_kept(store: Arc<dyn Store>) {
    let heard = hear(
        &store,
        vec![
            post(
                "1",
                "paul",
                "2025-03-08T22:00:00Z",
                Intent::Question,
                SentimentLabel::Neutral,
            ),
            post(
                "2",
                "rita",
                "2025-03-08T22:01:00Z",
                Intent::Other,
                SentimentLabel::Neutral,
            ),
        ],
    )
    .await;
    let (first, conv) = heard[0];
    let (second, _) = heard[1];
    correct(
        &store,
        first,
        "intent",
        "complaint",
        "ann",
        "2025-03-08T22:20:00Z",
    )
    .await;
    correct(
        &store,
        second,
        "sentiment",
        "negative",
        "bo",
        "2025-03-08T22:21:00Z",
    )
    .await;
    let last = correct(
        &store,
        first,
        "intent",
        "feature_request",
        "bo",
        "2025-03-08T22:22:00Z",
    )
    .await;
    assert_eq!(last.correction.as_ref().unwrap().from, "complaint");
    // Saying what the post already says stores nothing and audits nothing.
    let again = correct(
        &store,
        first,
        "intent",
        "feature_request",
        "cy",
        "2025-03-08T22:23:00Z",
    )
    .await;
    assert!(again.correction.is_none());

    let detail = store.conversation(conv).await.unwrap().unwrap();
    let a = &detail.posts[0].analysis;
    assert_eq!(a.intent.label, Intent::FeatureRequest);
    assert_eq!(a.corrections.len(), 1);
    assert_eq!(
        (
            a.corrections[0].by.as_str(),
            a.corrections[0].model.as_str()
        ),
        ("bo", "question")
    );
    let corrected: Vec<_> = detail
        .audit
        .iter()
        .filter(|e| e.action == "post_corrected")
        .collect();
    assert_eq!(corrected.len(), 2);

    // Every correction is kept, newest first; only the latest of a field is current.
    let all = store.corrections(None, 10).await.unwrap();
    let seen: Vec<(i64, &str, bool)> = all
        .iter()
        .map(|c| (c.correction.post_id, c.correction.to.as_str(), c.current))
        .collect();
    assert_eq!(
        seen,
        vec![
            (first, "feature_request", true),
            (second, "negative", true),
            (first, "complaint", false),
        ]
    );
    assert_eq!(all[0].text, "the charger at the depot 1");
    let page = store
        .corrections(Some(all[0].correction.id), 1)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].correction.id, all[1].correction.id);

    let training = store.current_corrections().await.unwrap();
    let learned: Vec<(i64, &str)> = training
        .iter()
        .map(|c| (c.correction.post_id, c.correction.to.as_str()))
        .collect();
    assert_eq!(
        learned,
        vec![(second, "negative"), (first, "feature_request")]
    );
}

async fn correcting_the_waiting_post_re_ranks_its_conversation(store: Arc<dyn Store>) {
    let heard = hear(
        &store,
        vec![
            post(
                "1",
                "paul",
                "2025-03-08T22:00:00Z",
                Intent::Praise,
                SentimentLabel::Positive,
            ),
            post(
                "2",
                "rita",
                "2025-03-08T22:00:00Z",
                Intent::Question,
                SentimentLabel::Neutral,
            ),
        ],
    )
    .await;
    let (praised, praised_conv) = heard[0];
    let (_, asked_conv) = heard[1];
    let now = t("2025-03-08T22:05:00Z");
    let order = |inbox: &earshot_store::Page<earshot_store::InboxRow>| -> Vec<ConversationId> {
        inbox.items.iter().map(|r| r.conversation.id).collect()
    };
    let before = store.inbox(&InboxFilter::default(), now).await.unwrap();
    assert_eq!(order(&before), vec![asked_conv, praised_conv]);
    let score_before = before.items[1].conversation.priority.score;

    correct(
        &store,
        praised,
        "intent",
        "complaint",
        "ann",
        "2025-03-08T22:05:00Z",
    )
    .await;
    let out = correct(
        &store,
        praised,
        "sentiment",
        "negative",
        "ann",
        "2025-03-08T22:05:00Z",
    )
    .await;
    assert!(out.reranked);
    let conv = out.conversation.unwrap();
    assert_eq!(conv.sentiment, SentimentLabel::Negative);
    assert!(conv.priority.score > score_before);
    let after = store.inbox(&InboxFilter::default(), now).await.unwrap();
    assert_eq!(order(&after), vec![praised_conv, asked_conv]);
    // The stored signals carry it: rescoring as time passes keeps it first.
    store
        .rescore_open(&TriagePolicy::default(), t("2025-03-08T22:30:00Z"))
        .await
        .unwrap();
    let later = store
        .inbox(&InboxFilter::default(), t("2025-03-08T22:30:00Z"))
        .await
        .unwrap();
    assert_eq!(order(&later), vec![praised_conv, asked_conv]);
}

async fn deleted_edited_and_unknown_posts(store: Arc<dyn Store>) {
    let heard = hear(
        &store,
        vec![
            post(
                "1",
                "paul",
                "2025-03-08T22:00:00Z",
                Intent::Question,
                SentimentLabel::Neutral,
            ),
            post(
                "2",
                "rita",
                "2025-03-08T22:01:00Z",
                Intent::Other,
                SentimentLabel::Neutral,
            ),
        ],
    )
    .await;
    let (edited, _) = heard[0];
    let (deleted, _) = heard[1];
    let policy = TriagePolicy::default();
    let value = CorrectedValue::parse("intent", "complaint").unwrap();
    let err = store
        .correct_post(9999, &value, "ann", t("2025-03-08T22:10:00Z"), &policy)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");

    correct(
        &store,
        edited,
        "intent",
        "complaint",
        "ann",
        "2025-03-08T22:10:00Z",
    )
    .await;
    correct(
        &store,
        deleted,
        "intent",
        "complaint",
        "ann",
        "2025-03-08T22:10:00Z",
    )
    .await;
    assert_eq!(store.current_corrections().await.unwrap().len(), 2);

    // The author's edit gives the post a fresh reading: the correction was of the old text.
    let mut changed = post(
        "1",
        "paul",
        "2025-03-08T22:00:00Z",
        Intent::Question,
        SentimentLabel::Neutral,
    );
    changed.post.text = "never mind, found it".into();
    store
        .edit_post(changed.post, changed.analysis, t("2025-03-08T22:20:00Z"))
        .await
        .unwrap()
        .unwrap();
    // The customer took a deleted post back: it is not learned from, nor corrected again.
    store
        .delete_post(&PostKey::new(Network::X, "2"), t("2025-03-08T22:20:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert!(store.current_corrections().await.unwrap().is_empty());
    let err = store
        .correct_post(deleted, &value, "ann", t("2025-03-08T22:30:00Z"), &policy)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // The history stays (without the deleted text).
    let all = store.corrections(None, 10).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|c| !c.current));
    assert!(all
        .iter()
        .any(|c| c.correction.post_id == deleted && c.text.is_empty()));
}
