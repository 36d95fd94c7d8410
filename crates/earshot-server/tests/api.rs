//! Black-box tests: the real server on a random port over a temporary SQLite store.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use earshot_connect::notify::fake::FakeWebhookReceiver;
use earshot_server::config::{Secret, Settings};
use earshot_server::signature::Verifier;
use earshot_server::{App, Desk};
use earshot_store::people::Role;
use serde_json::{json, Value};
use std::sync::Arc;

const SECRET: &str = "whsec_c2VjcmV0LWZvci1lYXJzaG90LWFwaS10ZXN0cy0wMDAx";
mod common;
use common::{authorised, start, API_TOKEN};
/// Where replies to webhook posts go back to.
const REPLY_SECRET: &str = "whsec_cmVwbGllcy1nby1iYWNrLXRvLXRoZS1jcm0tMDAwMDAx";

struct TestApp {
    base: String,
    /// Sends the config token on every request.
    client: reqwest::Client,
    /// Sends nothing: a stranger.
    anon: reqwest::Client,
    verifier: Verifier,
    desk: Arc<Desk>,
    _dir: tempfile::TempDir,
}

fn settings_in(dir: &std::path::Path) -> Settings {
    let mut s = common::settings_in(dir);
    s.webhook.secret = Secret::new(SECRET);
    s.webhook.max_body_bytes = 64 * 1024;
    s.api.token = Secret::new(API_TOKEN);
    s
}

async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings_in(dir.path());
    configure(&mut s);
    let (base, desk) = start(s).await;
    // The team: an agent to assign to and answer as, and a colleague who left.
    common::add_person(&desk, "maria", "Maria Berg", Role::Agent).await;
    let gone = common::add_person(&desk, "olaf", "Olaf", Role::Agent).await;
    desk.store()
        .set_disabled(gone.id, true, Utc::now())
        .await
        .unwrap();
    TestApp {
        base,
        client: authorised(API_TOKEN),
        anon: reqwest::Client::new(),
        verifier: Verifier::new(SECRET, 300).unwrap(),
        desk,
        _dir: dir,
    }
}

async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

impl TestApp {
    async fn post_signed(&self, body: &[u8]) -> reqwest::Response {
        self.post_signed_as(
            &format!("msg-{}", uuid_like()),
            Utc::now().timestamp(),
            body,
        )
        .await
    }

    async fn post_signed_as(&self, id: &str, ts: i64, body: &[u8]) -> reqwest::Response {
        let sig = self.verifier.sign(id, ts, body);
        // The intake needs no token: the signature is the credential.
        self.anon
            .post(format!("{}/api/v1/posts", self.base))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    async fn post_json(&self, body: &Value) -> (u16, Value) {
        // Each delivery has its own id, as a sender's would.
        let id = format!("msg-{}", uuid_like());
        let r = self
            .post_signed_as(
                &id,
                Utc::now().timestamp(),
                &serde_json::to_vec(body).unwrap(),
            )
            .await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A store token for one of the team, with these scopes.
    async fn token_for(&self, user: &str, scopes: &[&str]) -> String {
        common::token_for(&self.desk, user, scopes).await
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn post(id: &str, handle: &str, text: &str, reply_to: Option<&str>) -> Value {
    json!({
        "network": "x", "id": id,
        "author": {"id": format!("u-{handle}"), "handle": handle, "name": handle, "followers": 1520},
        "text": text, "created_at": Utc::now().to_rfc3339(), "in_reply_to": reply_to, "lang": null, "url": null
    })
}

const SEAT: &str = "@voltra Can you program the car, once in park, to move the seat back and raise the steering wheel?";

#[tokio::test]
async fn signed_post_lands_in_the_inbox_once() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(&post("896523232098078720", "paulfranks", SEAT, None))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["new"], 1);
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();

    let (status, inbox) = app.get("/api/v1/inbox").await;
    assert_eq!(status, 200);
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["conversation"]["id"], conv);
    assert_eq!(items[0]["conversation"]["intent"], "feature_request");
    assert_eq!(items[0]["latest_text"], SEAT);

    // Redelivery changes nothing.
    let (status, again) = app
        .post_json(&post("896523232098078720", "paulfranks", SEAT, None))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["new"], 0);
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["stored"][0]["conversation_id"], conv);
    let (_, stats) = app.get("/api/v1/stats").await;
    assert_eq!(stats["posts"], 1);
    assert_eq!(stats["conversations"], 1);
}

#[tokio::test]
async fn bad_signatures_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&post("1", "lena", "hello @voltra", None)).unwrap();
    let url = format!("{}/api/v1/posts", app.base);

    let r = app.anon.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_signature");
    assert!(v["message"].as_str().unwrap().contains("webhook-signature"));

    let ts = Utc::now().timestamp();
    let wrong = Verifier::new("not the secret, though long enough", 300)
        .unwrap()
        .sign("m", ts, &body);
    let r = app
        .anon
        .post(&url)
        .header("webhook-id", "m")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", wrong)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A replay of a correctly signed request from ten minutes ago.
    let old = ts - 600;
    let sig = app.verifier.sign("m", old, &body);
    let r = app
        .anon
        .post(&url)
        .header("webhook-id", "m")
        .header("webhook-timestamp", old.to_string())
        .header("webhook-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("window"), "{v}");

    let (_, stats) = app.get("/api/v1/stats").await;
    assert_eq!(stats["posts"], 0, "nothing refused was stored");
}

#[tokio::test]
async fn no_secret_configured_means_no_posts_accepted() {
    let app = spawn_app_with(|s| s.webhook.secret = Secret::default()).await;
    let r = app.post_signed(b"{}").await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "not_configured");
}

#[tokio::test]
async fn a_captured_delivery_cannot_be_played_again_even_on_another_process() {
    let app = spawn_app().await;
    // A second earshot on the same store, as behind a load balancer.
    let (other, _) = start(settings_in(app._dir.path())).await;
    let body =
        serde_json::to_vec(&post("700", "lena", "@voltra my charger is dead", None)).unwrap();
    let ts = Utc::now().timestamp();
    let r = app.post_signed_as("evt_2KxP9", ts, &body).await;
    assert_eq!(r.status(), 201);
    // The same bytes and headers again, within the window: refused, here and there.
    let r = app.post_signed_as("evt_2KxP9", ts, &body).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "replayed");
    let sig = app.verifier.sign("evt_2KxP9", ts, &body);
    let r = app
        .anon
        .post(format!("{other}/api/v1/posts"))
        .header("webhook-id", "evt_2KxP9")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "the other process remembers it too");
    // The Earshot-Signature layout has no id: the signature itself is remembered.
    let stripe = app.verifier.sign_stripe_style(ts, &body);
    let send = || {
        app.anon
            .post(format!("{}/api/v1/posts", app.base))
            .header("earshot-signature", stripe.clone())
            .body(body.clone())
            .send()
    };
    assert_eq!(
        send().await.unwrap().status(),
        200,
        "the post itself is a duplicate"
    );
    assert_eq!(send().await.unwrap().status(), 409);
    // A new delivery of the same post is a duplicate post, not a replay.
    let (status, v) = app
        .post_json(&post("700", "lena", "@voltra my charger is dead", None))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["duplicates"], 1);
}

#[tokio::test]
async fn short_webhook_secrets_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for weak in ["hunter2", "whsec_czNjcjN0LWZvci10ZXN0cw=="] {
        let mut s = settings_in(dir.path());
        s.webhook.secret = Secret::new(weak);
        let err = App::build(s).await.err().expect("refused");
        assert!(format!("{err:#}").contains("at least 24"), "{err:#}");
    }
}

#[tokio::test]
async fn malformed_and_oversized_bodies_get_clear_errors_and_lose_nothing() {
    let app = spawn_app().await;
    let r = app.post_signed(b"{\"network\": \"x\", ").await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_request");

    let huge = json!({"network": "x", "id": "big", "author": {"id": "a", "handle": "a"},
        "text": "x".repeat(70 * 1024), "created_at": Utc::now().to_rfc3339()});
    let r = app.post_signed(&serde_json::to_vec(&huge).unwrap()).await;
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "too_large");
    assert!(v["message"].as_str().unwrap().contains("max_body_bytes"));

    // A batch with one bad item keeps the good ones and says which was refused.
    let batch = json!([
        post("10", "anna", "@voltra the app crashes on start", None),
        {"network": "myspace", "id": "11", "author": {"id": "b", "handle": "b"}, "text": "hi", "created_at": Utc::now().to_rfc3339()},
        post("12", "bo", "@voltra delivery delayed again, unacceptable", None),
    ]);
    let (status, v) = app.post_json(&batch).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["new"], 2);
    assert_eq!(v["rejected"][0]["index"], 1);
    assert!(
        v["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("myspace"),
        "{v}"
    );

    let (status, v) = app.post_json(&json!([{"network": "x"}])).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"], "invalid_posts");
}

#[tokio::test]
async fn a_post_dated_9999_is_refused_alone_and_its_batch_is_kept() {
    let app = spawn_app().await;
    let mut future = post("21", "odd", "@voltra hello from the future", None);
    future["created_at"] = json!("9999-12-31T23:59:59Z");
    let mut past = post("22", "old", "@voltra hello from the past", None);
    past["created_at"] = json!("1999-01-01T00:00:00Z");
    let batch = json!([
        post("20", "anna", "@voltra the app crashes on start", None),
        future,
        past,
        post(
            "23",
            "bo",
            "@voltra delivery delayed again, unacceptable",
            None
        ),
    ]);
    let (status, v) = app.post_json(&batch).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["new"], 2);
    let stored: Vec<(u64, &str)> = v["stored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["index"].as_u64().unwrap(), s["id"].as_str().unwrap()))
        .collect();
    assert_eq!(stored, [(0, "20"), (3, "23")]);
    assert_eq!(v["rejected"][0]["index"], 1, "{v}");
    assert!(
        v["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("more than a day ahead"),
        "{v}"
    );
    assert_eq!(v["rejected"][1]["index"], 2, "{v}");
    assert!(
        v["rejected"][1]["error"]
            .as_str()
            .unwrap()
            .contains("before 2006"),
        "{v}"
    );

    // Alone, it is a 422 that says why.
    let mut alone = post("24", "odd", "@voltra still the future", None);
    alone["created_at"] = json!("9999-12-31T23:59:59Z");
    let (status, v) = app.post_json(&alone).await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["rejected"][0]["error"]
            .as_str()
            .unwrap()
            .contains("ahead"),
        "{v}"
    );
}

#[tokio::test]
async fn agent_answers_and_the_clock_stops() {
    // The customer wrote through a webhook source; answers go back to it, signed.
    let crm = FakeWebhookReceiver::start(REPLY_SECRET).await.unwrap();
    let app = spawn_app_with(|s| {
        s.webhook.reply_url = crm.url();
        s.webhook.reply_secret = Secret::new(REPLY_SECRET);
    })
    .await;
    let mut seat = post("100", "paulfranks", SEAT, None);
    seat["network"] = json!("webhook");
    let (_, body) = app.post_json(&seat).await;
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();

    let maria = authorised(&app.token_for("maria", &["read", "reply"]).await);
    let reply = json!({"text": "@paulfranks Good point, we will add that in an upcoming release.", "idempotency_key": "k-100"});
    let r = maria
        .post(format!("{}/api/v1/conversations/{conv}/replies", app.base))
        .header("x-earshot-agent", "mallory")
        .json(&reply)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sent: Value = r.json().await.unwrap();
    assert_eq!(sent["state"], "sent");
    assert_eq!(
        sent["author"], "maria",
        "the token's person, not the header's claim"
    );
    let handed = crm.events();
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0]["reply"]["text"], reply["text"]);
    assert_eq!(handed[0]["reply"]["in_reply_to"], "100");
    assert!(
        crm.deliveries()[0].verified.is_ok(),
        "signed with the reply secret"
    );

    // Retrying with the same key returns the same reply and posts nothing new.
    let (status, again) = app
        .send(&format!("/api/v1/conversations/{conv}/replies"), &reply)
        .await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], sent["id"]);

    let (status, detail) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["replies"].as_array().unwrap().len(), 1);
    assert_eq!(
        detail["posts"].as_array().unwrap().len(),
        2,
        "the customer's post and the brand's answer"
    );
    assert_eq!(detail["conversation"]["status"], "pending");
    assert!(
        detail["conversation"]["first_response_secs"]
            .as_i64()
            .unwrap()
            >= 0
    );
    let actions: Vec<&str> = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"reply_queued") && actions.contains(&"reply_sent"),
        "{actions:?}"
    );

    // The same key with other words is a mistake, not a retry.
    let (status, v) = app
        .send(
            &format!("/api/v1/conversations/{conv}/replies"),
            &json!({"text": "something else", "idempotency_key": "k-100"}),
        )
        .await;
    assert_eq!(status, 409, "{v}");

    // Too long for the network.
    let (status, v) = app
        .send(
            &format!("/api/v1/conversations/{conv}/replies"),
            &json!({"text": "a".repeat(10_001)}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(v["error"], "invalid_reply", "{v}");

    let (status, v) = app
        .send(
            "/api/v1/conversations/999999/replies",
            &json!({"text": "hi"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"], "not_found");
}

#[tokio::test]
async fn a_reply_nobody_can_post_is_not_sent_and_says_why() {
    let app = spawn_app().await;
    let (_, body) = app.post_json(&post("150", "paulfranks", SEAT, None)).await;
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conv}/replies");
    let (status, v) = app
        .send(
            &path,
            &json!({"text": "We are on it!", "idempotency_key": "k-150"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"], "not_sent");
    assert_eq!(v["reply"]["state"], "not_sent");
    assert!(
        v["reply"]["error"]
            .as_str()
            .unwrap()
            .contains("[[connectors.x]]"),
        "{v}"
    );
    let reply_id = v["reply"]["id"].as_i64().unwrap();
    let (_, detail) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    assert_eq!(detail["replies"][0]["state"], "not_sent");
    assert_eq!(
        detail["posts"].as_array().unwrap().len(),
        1,
        "nothing joined the thread"
    );
    assert_eq!(
        detail["conversation"]["status"], "open",
        "the customer still waits"
    );
    assert!(detail["conversation"]["first_response_secs"].is_null());
    // Retrying says the same until a connector is configured.
    let (status, v) = app
        .send(&format!("{path}/{reply_id}/retry"), &json!({}))
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["reply"]["attempts"], 0, "nothing was tried");
}

#[tokio::test]
async fn a_failed_send_is_retried_with_backoff_then_given_up_reported_and_retried_by_hand() {
    use earshot_connect::notify::fake::HttpFailure;
    let crm = FakeWebhookReceiver::start(REPLY_SECRET).await.unwrap();
    let ops = FakeWebhookReceiver::start(REPLY_SECRET).await.unwrap();
    let app = spawn_app_with(|s| {
        s.webhook.reply_url = crm.url();
        s.webhook.reply_secret = Secret::new(REPLY_SECRET);
        s.alerts = toml::from_str(&format!(
            "[[targets]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret = \"{REPLY_SECRET}\"\n",
            ops.url()
        ))
        .unwrap();
    })
    .await;
    let mut ask = post("800", "lena", "@voltra my charger is broken", None);
    ask["network"] = json!("webhook");
    let (_, body) = app.post_json(&ask).await;
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conv}/replies");
    let id = earshot_core::ConversationId(conv);

    // The receiver is down for a moment: stored, failed, retried by itself a minute later.
    crm.script([HttpFailure::Status(503)]);
    let (status, v) = app.send(&path, &json!({"text": "On it, Lena!"})).await;
    assert_eq!(status, 502, "{v}");
    assert_eq!(v["reply"]["state"], "failed");
    assert_eq!(v["reply"]["attempts"], 1);
    assert!(v["reply"]["next_attempt_at"].is_string(), "{v}");
    assert_eq!(
        app.desk.retry_due(Utc::now()).await.unwrap(),
        0,
        "not due yet"
    );
    let due = Utc::now() + chrono::Duration::minutes(2);
    assert_eq!(app.desk.retry_due(due).await.unwrap(), 1);
    assert_eq!(crm.events().len(), 1, "handed over once");
    let detail = app.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(detail.replies[0].state, earshot_core::ReplyState::Sent);
    assert_eq!(detail.conversation.status, earshot_core::Status::Pending);

    // Down for good: six attempts in all, each after a longer wait, then earshot stops,
    // says so on the reply and alerts the team.
    crm.script(std::iter::repeat_n(HttpFailure::Status(503), 6));
    let (status, v) = app
        .send(&path, &json!({"text": "Any news on your side?"}))
        .await;
    assert_eq!(status, 502, "{v}");
    let reply_id = v["reply"]["id"].as_i64().unwrap();
    let mut when = Utc::now();
    let mut waits = vec![];
    for attempt in 2..=6 {
        let detail = app.desk.store().conversation(id).await.unwrap().unwrap();
        let r = detail.replies.iter().find(|r| r.id == reply_id).unwrap();
        let next = r.next_attempt_at.expect("another try is planned");
        waits.push((next - r.created_at).num_minutes());
        when = next.max(when) + chrono::Duration::seconds(1);
        assert_eq!(app.desk.retry_due(when).await.unwrap(), 0);
        let detail = app.desk.store().conversation(id).await.unwrap().unwrap();
        let r = detail.replies.iter().find(|r| r.id == reply_id).unwrap();
        assert_eq!(r.attempts, attempt);
    }
    assert!(
        waits.windows(2).all(|w| w[1] > w[0]),
        "backoff grows: {waits:?}"
    );
    let detail = app.desk.store().conversation(id).await.unwrap().unwrap();
    let r = detail.replies.iter().find(|r| r.id == reply_id).unwrap();
    assert_eq!(r.state, earshot_core::ReplyState::Failed);
    assert_eq!(r.next_attempt_at, None, "given up");
    assert!(r.error.as_deref().unwrap().contains("503"));
    assert_eq!(
        app.desk
            .retry_due(when + chrono::Duration::days(2))
            .await
            .unwrap(),
        0
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !ops
        .events()
        .iter()
        .any(|e| e["type"] == "alert.reply_failed")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no alert: {:?}",
            ops.events()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The alert was claimed with the reply's give-up (once: the key is taken), kept until the
    // ops target took it, then marked settled.
    let key = format!("reply_failed:{reply_id}:6");
    assert!(!app
        .desk
        .store()
        .claim_alert(&key, Some(id), "{}", Utc::now())
        .await
        .unwrap());
    let later = Utc::now() + chrono::Duration::days(3);
    while !app
        .desk
        .store()
        .unsettled_alerts("reply_failed:", later, 10)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the alert was never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The receiver is back; the agent retries by hand.
    let (status, v) = app
        .send(&format!("{path}/{reply_id}/retry"), &json!({}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["state"], "sent");
    assert_eq!(crm.events().len(), 2);
}

#[tokio::test]
async fn status_changes_are_checked_and_audited() {
    let app = spawn_app().await;
    let (_, body) = app
        .post_json(&post(
            "200",
            "lena",
            "@voltra my charger is broken and nobody answers",
            None,
        ))
        .await;
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{conv}/actions");

    let (status, c) = app
        .send(&path, &json!({"action": "assign", "to": "maria"}))
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["assignee"], "maria");
    for (nobody, why) in [("mallory", "nobody is called"), ("olaf", "disabled")] {
        let (status, v) = app
            .send(&path, &json!({"action": "assign", "to": nobody}))
            .await;
        assert_eq!(status, 422, "{v}");
        assert!(v["message"].as_str().unwrap().contains(why), "{v}");
    }
    let (_, mine) = app.get("/api/v1/inbox?assignee=maria").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, unassigned) = app.get("/api/v1/inbox?assignee=none").await;
    assert_eq!(unassigned["items"].as_array().unwrap().len(), 0);

    let (status, c) = app.send(&path, &json!({"action": "resolve"})).await;
    assert_eq!(status, 200);
    assert_eq!(c["status"], "resolved");
    let (status, v) = app.send(&path, &json!({"action": "resolve"})).await;
    assert_eq!(status, 409);
    assert_eq!(v["error"], "conflict");
    let (status, v) = app.send(&path, &json!({"action": "snooze"})).await;
    assert_eq!(status, 400);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("assign, unassign, pend, resolve or reopen"));

    let (_, open) = app.get("/api/v1/inbox").await;
    assert_eq!(
        open["items"].as_array().unwrap().len(),
        0,
        "resolved leaves the open inbox"
    );
    let (_, audit) = app.get(&format!("/api/v1/audit?conversation={conv}")).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["resolved", "assigned"]);

    let (status, v) = app.get("/api/v1/conversations/abc").await;
    assert_eq!(status, 400);
    assert!(v["message"].as_str().unwrap().contains("conversation id"));
    let (status, _) = app.get("/api/v1/conversations/424242").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn inbox_filters_search_and_metrics() {
    let app = spawn_app().await;
    let batch = json!([
        post(
            "300",
            "mette",
            "@voltra kan I ikke få sædet til at køre tilbage, når bilen står i park?",
            None
        ),
        post(
            "301",
            "giulia",
            "@voltra la mia auto non si carica e l'app non funziona. Pessimo servizio",
            None
        ),
        post(
            "302",
            "tom",
            "@voltra thank you, amazing service today!",
            None
        ),
        post(
            "303",
            "voltra",
            "@tom Thanks Tom, glad to hear it!",
            Some("302")
        ),
    ]);
    let (status, v) = app.post_json(&batch).await;
    assert_eq!(status, 201, "{v}");

    let (_, da) = app.get("/api/v1/inbox?language=da").await;
    let items = da["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{da}");
    assert_eq!(items[0]["conversation"]["customer"]["handle"], "mette");

    let (_, it) = app
        .get("/api/v1/inbox?language=it&sentiment=negative")
        .await;
    assert_eq!(it["items"].as_array().unwrap().len(), 1, "{it}");

    // Tom was answered by the brand, so his conversation is pending, not open.
    let (_, open) = app.get("/api/v1/inbox").await;
    assert_eq!(open["items"].as_array().unwrap().len(), 2);
    let (_, pending) = app.get("/api/v1/inbox?status=pending").await;
    assert_eq!(
        pending["items"][0]["conversation"]["customer"]["handle"],
        "tom"
    );

    let (status, v) = app.get("/api/v1/inbox?intent=wishful").await;
    assert_eq!(status, 400);
    assert!(v["message"].as_str().unwrap().contains("feature_request"));

    let (status, hits) = app.get("/api/v1/search?q=s%C3%A6det").await;
    assert_eq!(status, 200);
    assert_eq!(hits["items"].as_array().unwrap().len(), 1, "{hits}");
    let (status, _) = app.get("/api/v1/search?q=%22%29%28AND").await;
    assert_eq!(status, 200, "hostile query syntax is searched as words");
    let (status, _) = app.get("/api/v1/search").await;
    assert_eq!(status, 400);

    let (status, m) = app.get("/api/v1/metrics").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["overall"]["conversations"], 3);
    assert_eq!(m["overall"]["answered"], 1);
    assert_eq!(m["by_weekday"].as_array().unwrap().len(), 7);
    assert_eq!(m["by_hour"].as_array().unwrap().len(), 24);
    assert_eq!(m["volume"]["total"], 3, "customer posts only");
}

#[tokio::test]
async fn openapi_and_errors_for_unknown_paths() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/inbox"].is_object());
    let (status, v) = app.get("/api/v1/nope").await;
    assert_eq!(status, 404);
    assert_eq!(v["error"], "not_found");
    let (status, v) = app.get("/api/v1/posts").await;
    assert_eq!(status, 405);
    assert_eq!(v["error"], "method_not_allowed");
    // A filter the endpoint does not take is refused, not silently ignored.
    let (status, _) = app.get("/api/v1/search?q=x&status=open").await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/inbox?q=seat").await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/metrics?to=-262143-01-01").await;
    assert_eq!(status, 400);
    // No request walks a million rows to reach its page.
    for path in [
        "/api/v1/inbox?offset=1000000",
        "/api/v1/search?q=x&offset=1000000",
        "/api/v1/inbox?offset=10001",
    ] {
        let (status, v) = app.get(path).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            v["message"].as_str().unwrap().contains("at most 10000"),
            "{v}"
        );
    }
    let (status, _) = app.get("/api/v1/inbox?offset=10000").await;
    assert_eq!(status, 200);
}

/// Reads a server-sent event stream until an event named `until` arrives (or 10 s pass) and
/// returns the names of every event seen, in order.
async fn event_names_until(mut r: reqwest::Response, until: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut text, mut names) = (String::new(), Vec::new());
    while !names.iter().any(|n| n == until) {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {until} event within 10 s; saw {names:?}"))
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        // Whole events only: they end with a blank line.
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            names.extend(
                event
                    .lines()
                    .filter_map(|l| l.strip_prefix("event:"))
                    .map(|n| n.trim().to_string()),
            );
        }
    }
    names
}

#[tokio::test]
async fn the_api_event_stream_leaves_out_who_is_typing() {
    use earshot_server::pipeline::LiveEvent;
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/v1/events", app.base))
        .send()
        .await
        .unwrap();
    common::assert_answers(&r, 200, "text/event-stream");
    // The handler subscribed before it answered: what is published now reaches the stream.
    app.desk.pipeline().publish(LiveEvent::Replying {
        conversation_id: earshot_core::ConversationId(1),
        person: "maria".into(),
    });
    let (status, body) = app
        .post_json(&post("typing-1", "paulfranks", SEAT, None))
        .await;
    assert_eq!(status, 201, "{body}");
    let names = event_names_until(r, "post_stored").await;
    assert!(
        !names.iter().any(|n| n == "replying"),
        "an integration is not told who is typing: {names:?}"
    );
}

#[tokio::test]
async fn the_api_is_closed_to_anyone_without_a_token_or_a_session() {
    // No api.token (the default) and a person exists: still nothing without credentials.
    let app = spawn_app_with(|s| s.api.token = Secret::default()).await;
    let (_, body) = app.post_json(&post("400", "x", "@voltra hi", None)).await;
    let conv = body["stored"][0]["conversation_id"].as_i64().unwrap();
    for path in [
        "/api/v1/inbox",
        "/api/v1/search?q=hi",
        "/api/v1/metrics",
        "/api/v1/metrics/satisfaction",
        "/api/v1/metrics/loop",
        "/api/v1/requests",
        "/api/v1/promises",
        "/api/v1/releases",
        "/api/v1/spikes",
        "/api/v1/events",
        "/api/v1/audit",
        "/api/v1/stats",
        "/api/v1/connectors",
        "/api/openapi.json",
        &format!("/api/v1/conversations/{conv}"),
    ] {
        let r = app
            .anon
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"earshot\"");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "unauthorized", "{path}");
    }
    for (path, body) in [
        (
            format!("/api/v1/conversations/{conv}/replies"),
            json!({"text": "posted as anyone"}),
        ),
        (
            format!("/api/v1/conversations/{conv}/actions"),
            json!({"action": "assign", "to": "maria"}),
        ),
        (
            "/api/v1/releases".to_string(),
            json!({"version": "9.9", "requests": [1]}),
        ),
    ] {
        let r = app
            .anon
            .post(format!("{}{path}", app.base))
            .header("x-earshot-agent", "anyone")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let detail = app
        .desk
        .store()
        .conversation(earshot_core::ConversationId(conv))
        .await
        .unwrap()
        .unwrap();
    assert!(detail.replies.is_empty() && detail.conversation.assignee.is_none());
    assert!(app.desk.store().releases().await.unwrap().is_empty());

    // RFC 9110: the scheme in any case, then one token; anything else is refused.
    let token = app.token_for("maria", &["read"]).await;
    let inbox = format!("{}/api/v1/inbox", app.base);
    for (header, status) in [
        (format!("Bearer {token}"), 200),
        (format!("bearer {token}"), 200),
        (format!("BEARER   {token}"), 200),
        (format!("Basic {token}"), 401),
        (
            "Basic bWFyaWE6bWFyaWEtbG9uZy1wYXNzd29yZA==".to_string(),
            401,
        ),
        ("Bearer".to_string(), 401),
        ("bearer es_not-a-token".to_string(), 401),
        (format!("Bearer {token} extra"), 401),
        (format!("Token {token}"), 401),
    ] {
        let r = app
            .anon
            .get(&inbox)
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{header}");
    }
    // What needs no token: the signed intake (above), health, the tracker's signed webhook.
    let r = app
        .anon
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .anon
        .post(format!("{}/api/v1/tracker/github", app.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 401, "checked by its signature instead");
}

#[tokio::test]
async fn a_foreign_host_is_misdirected() {
    let app = spawn_app_with(|s| s.http.allowed_hosts = vec!["care.voltra.example".into()]).await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let to = |host: &str, path: &str| {
        // Sent to our address, naming another host, as a rebound DNS name would.
        app.client
            .get(format!("{}{path}", app.base))
            .header("host", host)
            .send()
    };
    for path in ["/api/v1/inbox", "/inbox", "/login"] {
        let r = to(&format!("attacker.example:{port}"), path).await.unwrap();
        assert_eq!(r.status(), 421, "{path}");
    }
    let r = to("attacker.example", "/api/v1/inbox").await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "misdirected");
    assert!(v["message"].as_str().unwrap().contains("allowed_hosts"));
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "care.voltra.example".to_string(),
    ] {
        assert_eq!(
            to(&host, "/api/v1/inbox").await.unwrap().status(),
            200,
            "{host}"
        );
    }
    // Health checks answer whatever host they name.
    assert_eq!(to("10.0.0.7", "/healthz").await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_first_draft_comes_from_the_brands_past_answers_and_sends_nothing() {
    let app = spawn_app().await;
    let at = |min: i64| (Utc::now() - chrono::Duration::minutes(60 - min)).to_rfc3339();
    let said =
        |id: &str, handle: &str, name: &str, text: &str, reply_to: Option<&str>, min: i64| {
            let mut p = post(id, handle, text, reply_to);
            p["author"]["name"] = json!(name);
            p["created_at"] = json!(at(min));
            p
        };
    // Two answered conversations: the brand's own posts answer the customers.
    for p in [
        said(
            "d1",
            "ana",
            "Ana Lind",
            "@voltra my charging cable sparks when I plug it in",
            None,
            0,
        ),
        said(
            "d2",
            "voltra",
            "Voltra",
            "@ana Hi Ana, sorry about that! Please stop using the cable and DM us your VIN. ^JK",
            Some("d1"),
            5,
        ),
        said(
            "d3",
            "bob",
            "Bob",
            "@voltra how do I update the app on my phone",
            None,
            10,
        ),
        said(
            "d4",
            "voltra",
            "Voltra",
            "@bob Open Settings > Software on your phone. -Lee",
            Some("d3"),
            15,
        ),
        said(
            "d5",
            "cyhandle",
            "Cy Young",
            "@voltra the charging cable sparks every time I plug in!",
            None,
            20,
        ),
    ] {
        let (status, body) = app.post_json(&p).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, inbox) = app.get("/api/v1/inbox").await;
    let conv = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["conversation"]["customer"]["handle"] == "cyhandle")
        .map(|r| r["conversation"]["id"].as_i64().unwrap())
        .expect("Cy's conversation is open");

    let (status, v) = app
        .get(&format!("/api/v1/conversations/{conv}/draft"))
        .await;
    assert_eq!(status, 200, "{v}");
    let draft = &v["draft"];
    assert_eq!(
        draft["text"], "Hi Cy, sorry about that! Please stop using the cable and DM us your VIN.",
        "{v}"
    );
    assert_eq!(v["past_answers"], 2);
    let sources = draft["sources"].as_array().unwrap();
    let used: Vec<&Value> = sources.iter().filter(|s| s["used"] == true).collect();
    assert_eq!(used.len(), 1);
    assert!(used[0]["asked"]
        .as_str()
        .unwrap()
        .contains("charging cable sparks"));
    assert!(used[0]["similarity"].as_f64().unwrap() > 0.3);
    assert!(draft["commitment"].is_null(), "{v}");

    // Nothing was sent or queued.
    let (_, detail) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    assert!(detail["replies"].as_array().unwrap().is_empty());
    assert_eq!(detail["conversation"]["status"], "open");

    // Closed by default, and clear about bad ids.
    let r = app
        .anon
        .get(format!("{}/api/v1/conversations/{conv}/draft", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.get("/api/v1/conversations/abc/draft").await.0, 400);
    assert_eq!(app.get("/api/v1/conversations/999999/draft").await.0, 404);
}

#[tokio::test]
async fn readyz_is_open_and_names_its_checks_and_the_roles_held() {
    let app = spawn_app().await;
    let r = app
        .anon
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["ready"], true, "{v}");
    assert_eq!(v["checks"][0]["name"], "store", "{v}");
    assert_eq!(v["checks"][0]["ok"], true, "{v}");
    // One process on SQLite holds every role.
    let roles: Vec<&str> = v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(roles.contains(&"tick:retrying failed replies"), "{v}");
    // Nothing secret in it: no settings, no URLs.
    let text = v.to_string();
    assert!(
        !text.contains(API_TOKEN) && !text.contains("sqlite") && !text.contains(".db"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_need_a_token_and_count_in_prometheus_text() {
    let app = spawn_app().await;
    let r = app
        .anon
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "closed by default");
    // In cluster mode other processes' events reach this one through the bus: its live pages
    // hear them, its counters do not (each process counts what it did).
    let pipeline = app.desk.pipeline();
    pipeline.publish_from_elsewhere(earshot_server::pipeline::LiveEvent::PostStored {
        post_id: 999_999,
        conversation_id: None,
        network: earshot_core::Network::Mastodon,
    });
    pipeline.publish_from_elsewhere(earshot_server::pipeline::LiveEvent::ConversationChanged {
        conversation_id: earshot_core::ConversationId(999_999),
        action: "replied".into(),
    });
    let (status, body) = app
        .post_json(&post("metrics-1", "paulfranks", SEAT, None))
        .await;
    assert_eq!(status, 201, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let text = loop {
        let r = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        common::assert_answers(&r, 200, "text/plain; version=0.0.4");
        let text = r.text().await.unwrap();
        if text.contains("earshot_posts_stored_total{network=\"x\"} 1")
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!text.contains("network=\"mastodon\""), "{text}");
    for line in [
        "# TYPE earshot_posts_stored_total counter",
        "# HELP earshot_posts_stored_total Posts this process committed to the store since it started, by network; other processes' posts are not counted (sum over processes for the cluster).",
        "earshot_posts_stored_total{network=\"x\"} 1",
        "earshot_store_up 1",
        "earshot_replies_queued 0",
        "earshot_alerts_undelivered 0",
        "earshot_lease_held{role=\"tick:retrying failed replies\"} 1",
        "earshot_replies_total{outcome=\"sent\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in:\n{text}"
        );
    }
    // Every sample line is `name{labels} value` with a number.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{l}");
    }
}
