//! What keeps strangers out, on both databases: sign-in turns counted one at a time even
//! under parallel guesses, signed deliveries remembered until their window closes, and a
//! password reset that ends sessions and tokens.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_store::guard::LoginTurn;
use earshot_store::people::{NewApiToken, NewSession, NewUser, Role, User};
use earshot_store::Store;
use std::sync::Arc;

mod backends;
use backends::{suite, t};

suite!(
    login_turns_back_off_after_each_failure,
    parallel_guesses_are_counted_one_by_one,
    deliveries_are_remembered_until_they_expire,
    a_password_reset_ends_sessions_and_tokens,
    sessions_remember_when_they_were_last_used,
);

fn seconds(failures: u32) -> Duration {
    Duration::seconds(1 << failures.min(10))
}

async fn login_turns_back_off_after_each_failure(store: Arc<dyn Store>) {
    let now = t("2026-11-20T21:00:00Z");
    let key = "maria|203.0.113.9";
    assert_eq!(
        store.take_login_turn(key, seconds, now).await.unwrap(),
        LoginTurn::Go { failures: 0 }
    );
    // The first failure's wait (2 s) runs: the next attempt is not even checked.
    assert_eq!(
        store
            .take_login_turn(key, seconds, now + Duration::seconds(1))
            .await
            .unwrap(),
        LoginTurn::Wait {
            until: now + Duration::seconds(2),
            failures: 1
        }
    );
    let later = now + Duration::seconds(2);
    assert_eq!(
        store.take_login_turn(key, seconds, later).await.unwrap(),
        LoginTurn::Go { failures: 1 }
    );
    // Each failure waits longer: now 4 s.
    assert!(matches!(
        store.take_login_turn(key, seconds, later + Duration::seconds(3)).await.unwrap(),
        LoginTurn::Wait { until, failures: 2 } if until == later + Duration::seconds(4)
    ));
    // Another address, or another name, has its own count.
    assert_eq!(
        store
            .take_login_turn("maria|198.51.100.7", seconds, later)
            .await
            .unwrap(),
        LoginTurn::Go { failures: 0 }
    );
    // A success starts the count again.
    store.clear_login_failures(key).await.unwrap();
    assert_eq!(
        store
            .take_login_turn(key, seconds, later + Duration::seconds(1))
            .await
            .unwrap(),
        LoginTurn::Go { failures: 0 }
    );
    // Untouched for a day and past its wait: pruned.
    let n = store.prune_guards(later + Duration::days(2)).await.unwrap();
    assert_eq!(n, 2);
}

async fn parallel_guesses_are_counted_one_by_one(store: Arc<dyn Store>) {
    let now = Utc::now();
    let mut tasks = vec![];
    for _ in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .take_login_turn("anna|192.0.2.1", seconds, now)
                .await
                .unwrap()
        }));
    }
    let mut go = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), LoginTurn::Go { .. }) {
            go += 1;
        }
    }
    assert_eq!(go, 1, "one guess is checked, 49 wait");
}

async fn deliveries_are_remembered_until_they_expire(store: Arc<dyn Store>) {
    let now = t("2026-11-20T21:00:00Z");
    let until = now + Duration::minutes(10);
    assert!(store
        .remember_delivery("posts", "msg_2Kx", until, now)
        .await
        .unwrap());
    assert!(
        !store
            .remember_delivery("posts", "msg_2Kx", until, now + Duration::minutes(1))
            .await
            .unwrap(),
        "the same delivery again is a replay"
    );
    assert!(
        store
            .remember_delivery("github", "msg_2Kx", until, now)
            .await
            .unwrap(),
        "each source has its own ids"
    );
    // Past its window the id is free again (the timestamp check judges such a delivery).
    assert!(store
        .remember_delivery("posts", "msg_2Kx", until + Duration::minutes(10), until)
        .await
        .unwrap());
    // Forgotten after a failure, so the sender's retry is taken.
    store.forget_delivery("github", "msg_2Kx").await.unwrap();
    assert!(store
        .remember_delivery("github", "msg_2Kx", until, now)
        .await
        .unwrap());
    assert!(store
        .remember_delivery("posts", &"x".repeat(201), until, now)
        .await
        .is_err());
    assert_eq!(
        store
            .prune_guards(until + Duration::hours(1))
            .await
            .unwrap(),
        2
    );
}

/// Maria, an agent, signed in at `now` with the session whose hash is `s1`.
async fn signed_in_maria(store: &Arc<dyn Store>, now: DateTime<Utc>) -> User {
    let maria = store
        .create_user(
            NewUser {
                username: "maria".into(),
                display_name: "Maria".into(),
                role: Role::Agent,
                password_hash: "$argon2id$old".into(),
            },
            now,
        )
        .await
        .unwrap();
    store
        .create_session(NewSession {
            token_hash: "s1".into(),
            user_id: maria.id,
            csrf_token: "c".into(),
            created_at: now,
            expires_at: now + Duration::hours(8),
        })
        .await
        .unwrap();
    maria
}

async fn a_password_reset_ends_sessions_and_tokens(store: Arc<dyn Store>) {
    let now = Utc::now();
    let maria = signed_in_maria(&store, now).await;
    store
        .create_api_token(NewApiToken {
            user_id: maria.id,
            name: "export".into(),
            prefix: "es_abc".into(),
            token_hash: "t1".into(),
            scopes: vec!["read".into()],
            created_at: now,
        })
        .await
        .unwrap();
    assert!(store.session("s1", now).await.unwrap().is_some());
    assert!(store.api_token("t1").await.unwrap().is_some());
    store.set_password(maria.id, "$argon2id$new").await.unwrap();
    assert!(store.session("s1", now).await.unwrap().is_none());
    assert!(store.api_token("t1").await.unwrap().is_none());
    assert!(store.api_tokens().await.unwrap()[0].revoked_at.is_some());
}

async fn sessions_remember_when_they_were_last_used(store: Arc<dyn Store>) {
    let now = t("2026-11-20T21:00:00Z");
    signed_in_maria(&store, now).await;
    let s = store.session("s1", now).await.unwrap().unwrap();
    assert_eq!(
        s.last_seen_at, now,
        "a new session was last seen when created"
    );
    store
        .touch_session("s1", now + Duration::minutes(30))
        .await
        .unwrap();
    let s = store
        .session("s1", now + Duration::minutes(31))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen_at, now + Duration::minutes(30));
}
