//! The survey store, written once against `Arc<dyn Store>` and run on SQLite (a temporary
//! file) and on PostgreSQL (a fresh database per test, dropped after). PostgreSQL is found
//! as in `tests/people.rs` (`EARSHOT_TEST_POSTGRES`, skipped with a message outside CI).
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::Intent;
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{ConversationEvent, ConversationId, Network};
use earshot_store::survey::{NewSurvey, SatisfactionGroup, SurveyAnswer};
use earshot_store::{NewReply, Store, StoreError};
use std::sync::Arc;

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    one_survey_per_conversation_found_only_by_its_token_hash,
    a_survey_is_answered_once,
    satisfaction_counts_csat_and_buy_again_by_group,
    resolved_conversations_without_a_survey_are_due_and_opt_outs_are_known,
);

// ---------------------------------------------------------------------------------------

fn customer_post(network: Network, id: &str, author: &str, lang: &str, at: &str) -> Incoming {
    let p = heard(id, author, at).network(network).lang(lang);
    p.intent(Intent::Question)
}

/// A conversation opened by `author`; returns it and its first post's id.
async fn conversation(
    store: &Arc<dyn Store>,
    network: Network,
    id: &str,
    author: &str,
    lang: &str,
) -> (ConversationId, i64) {
    let report = store
        .ingest(
            vec![customer_post(
                network,
                id,
                author,
                lang,
                "2026-11-20T20:47:00Z",
            )],
            &TriagePolicy::default(),
            t("2026-11-20T20:48:00Z"),
        )
        .await
        .unwrap();
    (
        report.posts[0].conversation_id.unwrap(),
        report.posts[0].post_id,
    )
}

fn new_survey(
    c: ConversationId,
    hash: &str,
    network: Network,
    lang: &str,
    agent: &str,
    at: &str,
) -> NewSurvey {
    NewSurvey {
        conversation_id: c,
        token_hash: hash.into(),
        network,
        language: lang.into(),
        agent: Some(agent.into()),
        request_id: None,
        created_at: t(at),
    }
}

async fn one_survey_per_conversation_found_only_by_its_token_hash(store: Arc<dyn Store>) {
    let (c, _) = conversation(&store, Network::X, "1", "karen", "da").await;
    let (s, created) = store
        .create_survey(new_survey(
            c,
            "hash-1",
            Network::X,
            "da",
            "maria",
            "2026-11-20T21:00:00Z",
        ))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(s.conversation_id, c);
    assert_eq!(s.language, "da");
    assert_eq!(s.agent.as_deref(), Some("maria"));
    assert_eq!((s.sent_at, s.answered_at, s.score), (None, None, None));

    // A second survey for the conversation (a resolve after a reopen) keeps the first.
    let (again, created) = store
        .create_survey(new_survey(
            c,
            "hash-2",
            Network::X,
            "da",
            "ole",
            "2026-11-22T10:00:00Z",
        ))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, s.id);
    assert_eq!(again.agent.as_deref(), Some("maria"));
    assert!(store.survey_by_token("hash-2").await.unwrap().is_none());

    let reply = store
        .queue_reply(NewReply {
            conversation_id: c,
            text: "How did we do?".into(),
            author: "maria".into(),
            idempotency_key: format!("survey:{c}"),
            created_at: t("2026-11-20T21:00:00Z"),
        })
        .await
        .unwrap();
    let sent = store
        .survey_sent(s.id, reply.id, t("2026-11-20T21:00:01Z"))
        .await
        .unwrap();
    assert_eq!(sent.reply_id, Some(reply.id));
    assert_eq!(sent.sent_at, Some(t("2026-11-20T21:00:01Z")));
    // Noting it again (a retry) keeps the first time.
    let resent = store
        .survey_sent(s.id, reply.id, t("2026-11-20T21:05:00Z"))
        .await
        .unwrap();
    assert_eq!(resent.sent_at, Some(t("2026-11-20T21:00:01Z")));
    assert!(matches!(
        store
            .survey_sent(s.id + 1000, reply.id, t("2026-11-20T21:05:00Z"))
            .await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        store.survey_by_token("hash-1").await.unwrap(),
        Some(resent.clone())
    );
    assert_eq!(store.survey_of_conversation(c).await.unwrap(), Some(resent));
    assert!(store.survey_by_token("HASH-1").await.unwrap().is_none());
    assert!(store
        .survey_of_conversation(ConversationId(c.0 + 1000))
        .await
        .unwrap()
        .is_none());
}

async fn a_survey_is_answered_once(store: Arc<dyn Store>) {
    let (c, _) = conversation(&store, Network::Mastodon, "1", "karen", "da").await;
    store
        .create_survey(new_survey(
            c,
            "hash-1",
            Network::Mastodon,
            "da",
            "maria",
            "2026-11-20T21:00:00Z",
        ))
        .await
        .unwrap();
    let answer = SurveyAnswer::new(5, Some(true), Some("Tak for hjælpen! 🚗")).unwrap();
    let s = store
        .answer_survey("hash-1", &answer, t("2026-11-20T22:00:00Z"))
        .await
        .unwrap();
    assert_eq!(s.score.map(|s| s.get()), Some(5));
    assert_eq!(s.buy_again, Some(true));
    assert_eq!(s.comment.as_deref(), Some("Tak for hjælpen! 🚗"));
    assert_eq!(s.answered_at, Some(t("2026-11-20T22:00:00Z")));

    // The first answer stands.
    let second = SurveyAnswer::new(1, Some(false), None).unwrap();
    let err = store
        .answer_survey("hash-1", &second, t("2026-11-20T22:05:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("already answered")),
        "{err}"
    );
    let stored = store.survey_by_token("hash-1").await.unwrap().unwrap();
    assert_eq!(stored.score.map(|s| s.get()), Some(5));

    assert!(matches!(
        store
            .answer_survey("no-such-hash", &second, t("2026-11-20T22:05:00Z"))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

async fn satisfaction_counts_csat_and_buy_again_by_group(store: Arc<dyn Store>) {
    // Four surveys in November, one in October (outside the range).
    type Case<'a> = (
        &'a str,
        &'a str,
        Network,
        &'a str,
        &'a str,
        Option<(i64, Option<bool>)>,
    );
    let cases: [Case; 5] = [
        (
            "1",
            "karen",
            Network::X,
            "da",
            "maria",
            Some((5, Some(true))),
        ),
        ("2", "paul", Network::X, "en", "maria", Some((4, None))),
        (
            "3",
            "gianni",
            Network::Mastodon,
            "it",
            "ole",
            Some((2, Some(false))),
        ),
        ("4", "lena", Network::Mastodon, "da", "ole", None),
        (
            "5",
            "old",
            Network::X,
            "en",
            "maria",
            Some((1, Some(false))),
        ),
    ];
    let request = store
        .create_request("Move the seat back when parked", t("2026-11-01T00:00:00Z"))
        .await
        .unwrap();
    for (id, author, network, lang, agent, answer) in cases {
        let (c, post) = conversation(&store, network, id, author, lang).await;
        let when = if id == "5" {
            "2026-10-20T21:00:00Z"
        } else {
            "2026-11-20T21:00:00Z"
        };
        let mut s = new_survey(c, &format!("hash-{id}"), network, lang, agent, when);
        if id == "1" || id == "3" {
            store
                .add_to_request(post, request, 0.9, "grouping", t(when))
                .await
                .unwrap();
            s.request_id = Some(request);
        }
        let (s, _) = store.create_survey(s).await.unwrap();
        let reply = store
            .queue_reply(NewReply {
                conversation_id: c,
                text: "How did we do?".into(),
                author: agent.into(),
                idempotency_key: format!("survey:{c}"),
                created_at: t(when),
            })
            .await
            .unwrap();
        store.survey_sent(s.id, reply.id, t(when)).await.unwrap();
        if let Some((score, buy)) = answer {
            let a = SurveyAnswer::new(score, buy, None).unwrap();
            store
                .answer_survey(&format!("hash-{id}"), &a, t(when) + Duration::hours(1))
                .await
                .unwrap();
        }
    }
    let (from, to) = (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"));

    let all = store.satisfaction(from, to, None).await.unwrap();
    assert_eq!(all.len(), 1);
    let a = &all[0];
    assert_eq!(a.key, "all");
    assert_eq!((a.sent, a.answered), (4, 3));
    assert_eq!(a.scores, [0, 1, 0, 1, 1]);
    assert_eq!(a.csat, Some(2.0 / 3.0));
    assert_eq!(a.mean_score, Some(11.0 / 3.0));
    assert_eq!((a.buy_again_yes, a.buy_again_no), (1, 1));
    assert_eq!(a.buy_again_share, Some(0.5));
    assert_eq!(a.response_rate, Some(0.75));

    let by_agent = store
        .satisfaction(from, to, Some(SatisfactionGroup::Agent))
        .await
        .unwrap();
    let keys: Vec<&str> = by_agent.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["maria", "ole"]);
    assert_eq!(by_agent[0].csat, Some(1.0));
    assert_eq!(by_agent[1].csat, Some(0.0));
    assert_eq!((by_agent[1].sent, by_agent[1].answered), (2, 1));

    let by_lang = store
        .satisfaction(from, to, Some(SatisfactionGroup::Language))
        .await
        .unwrap();
    let keys: Vec<&str> = by_lang.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["da", "en", "it"]);
    assert_eq!(by_lang[0].answered, 1);
    assert_eq!(by_lang[0].sent, 2);

    let by_network = store
        .satisfaction(from, to, Some(SatisfactionGroup::Network))
        .await
        .unwrap();
    let keys: Vec<&str> = by_network.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["mastodon", "x"]);

    let by_request = store
        .satisfaction(from, to, Some(SatisfactionGroup::Request))
        .await
        .unwrap();
    assert_eq!(by_request.len(), 2, "{by_request:?}");
    assert_eq!(by_request[0].key, "", "surveys outside any request");
    assert_eq!(by_request[1].key, request.0.to_string());
    assert_eq!(
        by_request[1].label.as_deref(),
        Some("Move the seat back when parked")
    );
    assert_eq!(by_request[1].scores, [0, 1, 0, 0, 1]);

    // Nothing in the range: one empty row, no made-up zeros.
    let none = store
        .satisfaction(t("2025-01-01T00:00:00Z"), t("2025-02-01T00:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!((none[0].sent, none[0].csat), (0, None));
}

async fn resolved_conversations_without_a_survey_are_due_and_opt_outs_are_known(
    store: Arc<dyn Store>,
) {
    let (a, _) = conversation(&store, Network::X, "1", "karen", "da").await;
    let (b, _) = conversation(&store, Network::X, "2", "paul", "en").await;
    let (open, _) = conversation(&store, Network::X, "3", "lena", "en").await;
    for (c, at) in [(a, "2026-11-20T21:00:00Z"), (b, "2026-11-20T21:30:00Z")] {
        store
            .apply(c, ConversationEvent::Resolved, "maria", t(at))
            .await
            .unwrap();
    }
    let (from, to) = (t("2026-11-20T00:00:00Z"), t("2026-11-21T00:00:00Z"));
    let due = |rows: Vec<(ConversationId, DateTime<Utc>)>| -> Vec<ConversationId> {
        rows.into_iter().map(|(c, _)| c).collect()
    };
    assert_eq!(
        store.conversations_to_survey(from, to, 10).await.unwrap(),
        vec![
            (a, t("2026-11-20T21:00:00Z")),
            (b, t("2026-11-20T21:30:00Z"))
        ],
        "resolved ones with their time, oldest first"
    );
    assert_eq!(
        due(store.conversations_to_survey(from, to, 10).await.unwrap()),
        vec![a, b],
        "resolved ones, oldest first; the open one is not due"
    );
    assert!(!due(store.conversations_to_survey(from, to, 10).await.unwrap()).contains(&open));
    assert_eq!(
        due(store.conversations_to_survey(from, to, 1).await.unwrap()),
        vec![a]
    );
    store
        .create_survey(new_survey(
            a,
            "hash-a",
            Network::X,
            "da",
            "maria",
            "2026-11-20T21:01:00Z",
        ))
        .await
        .unwrap();
    assert_eq!(
        due(store.conversations_to_survey(from, to, 10).await.unwrap()),
        vec![b]
    );
    // A window starting after `a` was resolved still holds `b`; one after `b`, nothing.
    assert!(due(store
        .conversations_to_survey(t("2026-11-20T21:10:00Z"), to, 10)
        .await
        .unwrap())
    .contains(&b));
    assert!(store
        .conversations_to_survey(t("2026-11-20T21:40:00Z"), to, 10)
        .await
        .unwrap()
        .is_empty());
    // Reopened: no longer due.
    store
        .apply(
            b,
            ConversationEvent::Reopened,
            "maria",
            t("2026-11-20T22:00:00Z"),
        )
        .await
        .unwrap();
    assert!(store
        .conversations_to_survey(from, to, 10)
        .await
        .unwrap()
        .is_empty());

    assert!(!store.opted_out(Network::X, "id-karen").await.unwrap());
    store
        .opt_out(Network::X, "id-karen", t("2026-11-20T21:00:00Z"))
        .await
        .unwrap();
    assert!(store.opted_out(Network::X, "id-karen").await.unwrap());
    assert!(!store
        .opted_out(Network::Mastodon, "id-karen")
        .await
        .unwrap());
}
