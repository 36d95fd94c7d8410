//! The people store, written once against `Arc<dyn Store>` and run on SQLite (a temporary
//! file) and on PostgreSQL (a fresh database per test, dropped after).
//!
//! PostgreSQL is found at `postgres://postgres@127.0.0.1:5432/test`, or wherever
//! `EARSHOT_TEST_POSTGRES` points. If it cannot be reached the PostgreSQL half is skipped
//! with a message, except when `CI=true`: then it fails.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_core::analysis::Intent;
use earshot_core::threading::{Incoming, TriagePolicy};
use earshot_core::{ConversationId, Network, Status};
use earshot_store::people::{NewApiToken, NewSession, NewUser, Role};
use earshot_store::{Store, StoreError};
use std::sync::Arc;

mod backends;
use backends::{heard, suite, t, Tweak};

suite!(
    users_are_unique_and_never_show_their_hash,
    the_last_admin_cannot_be_demoted_or_disabled,
    sessions_expire_and_end_with_the_user,
    api_tokens_are_found_by_hash_until_revoked,
    failed_logins_count_until_a_success,
    notes_and_labels_are_audited,
    saved_views_belong_to_their_person,
    a_customers_earlier_conversations_are_listed,
    settings_are_stored_replaced_cleared_and_audited,
);

// ---------------------------------------------------------------------------------------

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: name.to_uppercase(),
        role,
        password_hash: format!("$argon2id$hash-of-{name}"),
    }
}

fn customer_post(id: &str, author: &str, at: &str) -> Incoming {
    heard(id, author, at).intent(Intent::Complaint)
}

async fn one_conversation(store: &Arc<dyn Store>) -> ConversationId {
    let report = store
        .ingest(
            vec![customer_post("1", "paul", "2026-11-20T20:47:00Z")],
            &TriagePolicy::default(),
            t("2026-11-20T20:48:00Z"),
        )
        .await
        .unwrap();
    report.posts[0].conversation_id.unwrap()
}

// ---------------------------------------------------------------------------------------

async fn users_are_unique_and_never_show_their_hash(store: Arc<dyn Store>) {
    let now = Utc::now();
    let maria = store
        .create_user(new_user(" Maria ", Role::Agent), now)
        .await
        .unwrap();
    assert_eq!(maria.username, "maria", "names are trimmed and lower-cased");
    assert_eq!(maria.role, Role::Agent);
    let again = store
        .create_user(new_user("MARIA", Role::Viewer), now)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let bad = store
        .create_user(new_user("ma ria", Role::Agent), now)
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))));

    let creds = store.credentials("Maria").await.unwrap().unwrap();
    assert_eq!(creds.user, maria);
    assert_eq!(creds.password_hash, "$argon2id$hash-of- Maria ");
    assert!(
        !format!("{creds:?}").contains("hash-of"),
        "Debug hides the hash"
    );
    assert!(store.credentials("nobody").await.unwrap().is_none());

    store.set_password(maria.id, "$argon2id$new").await.unwrap();
    assert_eq!(
        store
            .credentials("maria")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
    store
        .create_user(new_user("anna", Role::Admin), now)
        .await
        .unwrap();
    let names: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, vec!["anna", "maria"]);
    assert_eq!(store.user(maria.id).await.unwrap().unwrap(), maria);
}

async fn the_last_admin_cannot_be_demoted_or_disabled(store: Arc<dyn Store>) {
    let now = Utc::now();
    let anna = store
        .create_user(new_user("anna", Role::Admin), now)
        .await
        .unwrap();
    let demote = store.set_role(anna.id, Role::Agent).await;
    assert!(matches!(demote, Err(StoreError::Conflict(_))), "{demote:?}");
    let disable = store.set_disabled(anna.id, true, now).await;
    assert!(matches!(disable, Err(StoreError::Conflict(_))));

    let bo = store
        .create_user(new_user("bo", Role::Agent), now)
        .await
        .unwrap();
    assert_eq!(
        store.set_role(bo.id, Role::Admin).await.unwrap().role,
        Role::Admin
    );
    // Now there are two: one may step down.
    assert_eq!(
        store.set_role(anna.id, Role::Viewer).await.unwrap().role,
        Role::Viewer
    );
    let last = store.set_disabled(bo.id, true, now).await;
    assert!(matches!(last, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.set_role(999, Role::Agent).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn sessions_expire_and_end_with_the_user(store: Arc<dyn Store>) {
    let now = Utc::now();
    let _admin = store
        .create_user(new_user("anna", Role::Admin), now)
        .await
        .unwrap();
    let maria = store
        .create_user(new_user("maria", Role::Agent), now)
        .await
        .unwrap();
    let session = |hash: &str, expires: DateTime<Utc>| NewSession {
        token_hash: hash.into(),
        user_id: maria.id,
        csrf_token: format!("csrf-{hash}"),
        created_at: now,
        expires_at: expires,
    };
    store
        .create_session(session("live", now + Duration::hours(8)))
        .await
        .unwrap();
    store
        .create_session(session("old", now - Duration::seconds(1)))
        .await
        .unwrap();

    let live = store.session("live", now).await.unwrap().unwrap();
    assert_eq!(live.user.username, "maria");
    assert_eq!(live.csrf_token, "csrf-live");
    assert!(
        store.session("old", now).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.session("unknown", now).await.unwrap().is_none());
    assert!(
        store
            .session("live", now + Duration::hours(9))
            .await
            .unwrap()
            .is_none(),
        "a session does not outlive its expiry"
    );

    // Disabling ends every session; enabling does not bring them back.
    store.set_disabled(maria.id, true, now).await.unwrap();
    assert!(store.session("live", now).await.unwrap().is_none());
    let back = store.set_disabled(maria.id, false, now).await.unwrap();
    assert!(back.disabled_at.is_none());
    assert!(store.session("live", now).await.unwrap().is_none());

    store
        .create_session(session("second", now + Duration::hours(1)))
        .await
        .unwrap();
    store.delete_session("second", now).await.unwrap();
    assert!(
        store.session("second", now).await.unwrap().is_none(),
        "signed out"
    );
}

async fn api_tokens_are_found_by_hash_until_revoked(store: Arc<dyn Store>) {
    let now = common_now();
    let maria = store
        .create_user(new_user("maria", Role::Agent), now)
        .await
        .unwrap();
    let token = store
        .create_api_token(NewApiToken {
            user_id: maria.id,
            name: "zapier".into(),
            prefix: "es_abcd".into(),
            token_hash: "h1".into(),
            scopes: vec!["read".into(), "reply".into()],
            created_at: now,
        })
        .await
        .unwrap();
    assert_eq!(token.username, "maria");
    assert!(token.allows("read") && token.allows("reply") && !token.allows("act"));

    let (found, user) = store.api_token("h1").await.unwrap().unwrap();
    assert_eq!(found.id, token.id);
    assert_eq!(user.id, maria.id);
    assert!(store.api_token("h2").await.unwrap().is_none());

    store
        .touch_api_token(token.id, now + Duration::minutes(5))
        .await
        .unwrap();
    let listed = store.api_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(now + Duration::minutes(5)));

    let revoked = store.revoke_api_token(token.id, now).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert!(!revoked.allows("read"));
    assert!(
        store.api_token("h1").await.unwrap().is_none(),
        "revoked tokens stop working"
    );
    let twice = store
        .revoke_api_token(token.id, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        twice.revoked_at,
        Some(now),
        "the first revocation time stays"
    );
    assert!(matches!(
        store.revoke_api_token(999, now).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Now, at microsecond precision (what both backends keep).
fn common_now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

async fn failed_logins_count_until_a_success(store: Arc<dyn Store>) {
    let now = Utc::now();
    for i in 0..3 {
        store
            .record_login_attempt("user:maria", false, now - Duration::minutes(10 - i))
            .await
            .unwrap();
    }
    store
        .record_login_attempt("user:anna", false, now)
        .await
        .unwrap();
    let since = now - Duration::minutes(15);
    assert_eq!(store.failed_logins("user:maria", since).await.unwrap(), 3);
    assert_eq!(
        store
            .failed_logins("user:maria", now - Duration::minutes(9))
            .await
            .unwrap(),
        2,
        "only attempts inside the window count"
    );
    store
        .record_login_attempt("user:maria", true, now - Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(store.failed_logins("user:maria", since).await.unwrap(), 0);
    store
        .record_login_attempt("user:maria", false, now)
        .await
        .unwrap();
    assert_eq!(store.failed_logins("user:maria", since).await.unwrap(), 1);
    assert_eq!(store.failed_logins("user:anna", since).await.unwrap(), 1);
}

async fn notes_and_labels_are_audited(store: Arc<dyn Store>) {
    let id = one_conversation(&store).await;
    let at = t("2026-11-20T21:00:00Z");
    let note = store
        .add_note(id, "maria", "  Called him back, waiting on the part  ", at)
        .await
        .unwrap();
    assert_eq!(note.text, "Called him back, waiting on the part");
    assert!(matches!(
        store.add_note(id, "maria", "   ", at).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_note(ConversationId(999), "maria", "x", at).await,
        Err(StoreError::NotFound(_))
    ));
    let notes = store.notes(id).await.unwrap();
    assert_eq!(notes, vec![note]);

    let labels = store
        .set_labels(
            id,
            &["Charging".into(), "app".into(), "charging".into()],
            "maria",
            at,
        )
        .await
        .unwrap();
    assert_eq!(labels, vec!["charging", "app"]);
    assert_eq!(store.labels(id).await.unwrap(), labels);
    // The same labels again change nothing and write no audit row.
    store
        .set_labels(id, &["charging".into(), "app".into()], "maria", at)
        .await
        .unwrap();
    let cleared = store.set_labels(id, &[], "bo", at).await.unwrap();
    assert!(cleared.is_empty());

    let audit = store.audit(Some(id), 10).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["labelled", "labelled", "note_added"]);
    assert_eq!(audit[0].actor, "bo");
    assert_eq!(
        audit[1].detail["to"],
        serde_json::json!(["charging", "app"])
    );
}

async fn settings_are_stored_replaced_cleared_and_audited(store: Arc<dyn Store>) {
    assert_eq!(store.setting("brand").await.unwrap(), None);
    assert!(store.settings().await.unwrap().is_empty());

    let first = serde_json::json!({ "handles": ["acme"], "keywords": ["voltra-x9"] });
    let saved = store
        .set_setting("brand", &first, "maria", t("2026-11-20T21:00:00Z"))
        .await
        .unwrap();
    assert_eq!(saved.value, first);
    assert_eq!(store.setting("brand").await.unwrap(), Some(saved));

    // Replacing keeps one row per key and records who changed it last.
    let second = serde_json::json!({ "handles": ["acme", "acme_help"], "keywords": [] });
    store
        .set_setting("brand", &second, "bo", t("2026-11-21T08:30:00Z"))
        .await
        .unwrap();
    let response = serde_json::json!({ "clock": "business", "timezone": "Europe/Copenhagen" });
    store
        .set_setting("response", &response, "bo", t("2026-11-21T08:31:00Z"))
        .await
        .unwrap();
    let all = store.settings().await.unwrap();
    let keys: Vec<_> = all.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["brand", "response"]);
    assert_eq!(all[0].value, second);
    assert_eq!(all[0].updated_by, "bo");
    assert_eq!(all[0].updated_at, t("2026-11-21T08:30:00Z"));

    // Bad keys and oversized values are refused before anything is written.
    assert!(matches!(
        store
            .set_setting("Brand Terms", &first, "bo", Utc::now())
            .await,
        Err(StoreError::Invalid(_))
    ));
    let huge = serde_json::json!({ "keywords": vec!["x".repeat(1000); 300] });
    assert!(matches!(
        store.set_setting("brand", &huge, "bo", Utc::now()).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.setting("brand").await.unwrap().unwrap().value, second);

    assert!(store
        .clear_setting("brand", "maria", t("2026-11-22T09:00:00Z"))
        .await
        .unwrap());
    assert!(!store
        .clear_setting("brand", "maria", t("2026-11-22T09:00:00Z"))
        .await
        .unwrap());
    assert_eq!(store.setting("brand").await.unwrap(), None);

    // Every change is in the audit trail, outside any conversation.
    let audit = store.audit(None, 10).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.detail["key"].clone()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("setting_cleared", "maria", serde_json::json!("brand")),
            ("setting_changed", "bo", serde_json::json!("response")),
            ("setting_changed", "bo", serde_json::json!("brand")),
            ("setting_changed", "maria", serde_json::json!("brand")),
        ]
    );
    assert!(audit.iter().all(|a| a.conversation_id.is_none()));
    assert_eq!(audit[2].detail["from"], first);
    assert_eq!(audit[2].detail["to"], second);
    assert_eq!(audit[3].detail["from"], serde_json::Value::Null);
    assert_eq!(audit[0].detail["from"], second);
}

async fn saved_views_belong_to_their_person(store: Arc<dyn Store>) {
    let now = Utc::now();
    let maria = store
        .create_user(new_user("maria", Role::Agent), now)
        .await
        .unwrap();
    let bo = store
        .create_user(new_user("bo", Role::Agent), now)
        .await
        .unwrap();
    let danish = store
        .save_view(
            maria.id,
            "Danish complaints",
            "language=da&intent=complaint",
        )
        .await
        .unwrap();
    let replaced = store
        .save_view(maria.id, "Danish complaints", "language=da")
        .await
        .unwrap();
    assert_eq!(replaced.id, danish.id, "the same name replaces the view");
    store
        .save_view(maria.id, "Breached", "breached=true")
        .await
        .unwrap();
    let views = store.saved_views(maria.id).await.unwrap();
    assert_eq!(
        views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        vec!["Breached", "Danish complaints"]
    );
    assert_eq!(views[1].query, "language=da");
    assert!(store.saved_views(bo.id).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_view(bo.id, danish.id).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_view(maria.id, danish.id).await.unwrap();
    assert_eq!(store.saved_views(maria.id).await.unwrap().len(), 1);
    assert!(matches!(
        store.save_view(maria.id, "  ", "x").await,
        Err(StoreError::Invalid(_))
    ));
}

async fn a_customers_earlier_conversations_are_listed(store: Arc<dyn Store>) {
    let first = one_conversation(&store).await;
    store
        .apply(
            first,
            earshot_core::ConversationEvent::Resolved,
            "maria",
            t("2026-11-20T21:00:00Z"),
        )
        .await
        .unwrap();
    let report = store
        .ingest(
            vec![
                customer_post("2", "paul", "2026-11-23T09:00:00Z"),
                customer_post("3", "other", "2026-11-23T09:05:00Z"),
            ],
            &TriagePolicy::default(),
            t("2026-11-23T09:06:00Z"),
        )
        .await
        .unwrap();
    let second = report.posts[0].conversation_id.unwrap();
    assert_ne!(first, second);
    let history = store
        .customer_conversations(Network::X, "id-paul", 10)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second, first],
        "most recent first, other customers left out"
    );
    assert_eq!(history[1].status, Status::Resolved);
    assert_eq!(history[0].intent, Intent::Complaint);
    assert!(store
        .customer_conversations(Network::Mastodon, "id-paul", 10)
        .await
        .unwrap()
        .is_empty());
}
