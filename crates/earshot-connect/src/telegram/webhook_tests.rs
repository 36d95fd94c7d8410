//! Webhook mode against [`super::fake::FakeTelegram`]: the source sets the webhook with its
//! secret and never polls; the fake's sender delivers to a route that admits the secret and
//! hands the body to [`super::webhook::hear_delivery`] (as the server's does); a failing
//! route shows in health through `getWebhookInfo`.

use super::tests::{config, fake, mette, start, BOT, GROUP, OTHER_GROUP};
use super::webhook::{hear_delivery, DeliveryError};
use super::{Secret, TelegramConfig, Webhook};
use crate::source::testing::{MemorySink, WAIT};
use crate::source::{ConnectorState, Health};
use axum::http::{HeaderMap, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const HOOK_SECRET: &str = "q8Zc1-m4_Lr0vTg2";

fn hooked(fake: &super::fake::FakeTelegram) -> TelegramConfig {
    let mut config = config(fake);
    let url = format!("https://earshot.acme.example/hooks/telegram/{BOT}");
    let mut hook = Webhook::new(url, Secret::new(HOOK_SECRET));
    hook.check_every = Duration::from_millis(50);
    config.webhook = Some(hook);
    config
}

/// A stand-in for the server's route: the secret admitted, then the delivery stored; 500
/// while `failing`.
async fn route(config: TelegramConfig, sink: Arc<MemorySink>, failing: Arc<AtomicBool>) -> String {
    let app = axum::Router::new().route(
        "/hooks/telegram/{bot}",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (config, sink, failing) = (config.clone(), sink.clone(), failing.clone());
            async move {
                let given = headers
                    .get("x-telegram-bot-api-secret-token")
                    .and_then(|v| v.to_str().ok());
                let admitted = config.webhook.as_ref().is_some_and(|h| h.admits(given));
                if !admitted {
                    return StatusCode::UNAUTHORIZED;
                }
                if failing.load(Ordering::SeqCst) {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let health = Health::new(config.source_name());
                match hear_delivery(&config, &body, sink.as_ref(), &health).await {
                    Ok(_) => StatusCode::OK,
                    Err(DeliveryError::Unreadable(_)) => StatusCode::BAD_REQUEST,
                    Err(DeliveryError::Sink(_)) => StatusCode::SERVICE_UNAVAILABLE,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hooks/telegram/{BOT}")
}

#[tokio::test]
async fn the_webhook_is_set_with_its_secret_and_deliveries_are_heard_without_polling() {
    let fake = fake().await;
    let config = hooked(&fake);
    let sink = Arc::new(MemorySink::default());
    let running = start(config.clone(), sink.clone());
    running.state(ConnectorState::Connected).await;
    assert_eq!(
        fake.webhook().as_deref(),
        Some(format!("https://earshot.acme.example/hooks/telegram/{BOT}").as_str())
    );
    assert_eq!(fake.webhook_secret().as_deref(), Some(HOOK_SECRET));

    let to = route(config, sink.clone(), Arc::default()).await;
    let asked = fake.say(GROUP, &mette(), "my K2 will not boot");
    fake.reply(GROUP, asked, &mette(), "since 3.1");
    fake.say(OTHER_GROUP, &mette(), "tea?");
    assert_eq!(fake.deliver_webhook(&to).await, vec![200, 200, 200]);
    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(posts[0].external_id, format!("{GROUP}:{asked}"));
    assert_eq!(
        posts[1].in_reply_to.as_deref(),
        Some(format!("{GROUP}:{asked}").as_str())
    );
    assert_eq!(
        fake.pending_updates(),
        0,
        "every delivery confirmed by its 200"
    );
    // A second delivery of the same update (after a slow 200) reaches the store again,
    // which absorbs it; nothing polls meanwhile.
    assert!(
        !fake.requests().iter().any(|r| r == "getupdates"),
        "{:?}",
        fake.requests()
    );
    running.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_stores_nothing_and_failing_deliveries_show_in_health() {
    let fake = fake().await;
    let config = hooked(&fake);
    let sink = Arc::new(MemorySink::default());
    let running = start(config.clone(), sink.clone());
    running.state(ConnectorState::Connected).await;
    let failing = Arc::new(AtomicBool::new(true));
    let to = route(config.clone(), sink.clone(), failing.clone()).await;

    let body = br#"{"update_id": 5, "message": {"message_id": 1, "chat": {"id": -1001987654321, "type": "supergroup"}, "date": 1787217297, "text": "hi", "from": {"id": 7, "is_bot": false, "first_name": "X"}}}"#;
    let client = reqwest::Client::new();
    for secret in [None, Some("q8Zc1-m4_Lr0vTg3")] {
        let mut post = client.post(&to).body(body.to_vec());
        if let Some(secret) = secret {
            post = post.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        assert_eq!(post.send().await.unwrap().status(), 401, "{secret:?}");
    }
    fake.say(GROUP, &mette(), "anyone there?");
    assert_eq!(fake.deliver_webhook(&to).await, vec![500]);
    running.state(ConnectorState::Failing).await;
    let error = running.error();
    assert!(
        error.contains("cannot deliver") && error.contains("1 updates waiting"),
        "{error}"
    );
    assert!(
        sink.posts().is_empty(),
        "nothing stored: {:?}",
        sink.posts()
    );

    // Telegram retries; once the route works the update arrives and health recovers.
    failing.store(false, Ordering::SeqCst);
    assert_eq!(fake.deliver_webhook(&to).await, vec![200]);
    sink.wait_for(1, WAIT).await;
    running.state(ConnectorState::Connected).await;
    let unreadable = hear_delivery(&config, b"not json", sink.as_ref(), &Health::new("t")).await;
    assert!(
        matches!(unreadable, Err(DeliveryError::Unreadable(_))),
        "{unreadable:?}"
    );
    running.stop().await;
}
