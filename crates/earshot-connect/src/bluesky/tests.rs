//! The Bluesky source and responder against [`super::fake::FakeBluesky`]: what arrives in the
//! sink, what the fake received, and how cut frames, redeliveries, reordering, stalls, close
//! codes, restarts, sink failures, 5xx, 429, expiring and revoked credentials are survived.

use super::fake::{FakeBluesky, FakePost, PostSpec};
use super::{check_credentials, BlueskyConfig, BlueskyResponder, BlueskySource, Secret};
use crate::responder::testing::{
    assert_refused, assert_retryable, assert_retryable_once_gone, expect_refused,
};
use crate::responder::{self, Responder};
use crate::source::testing::{self, assert_last_error, ids, MemorySink, WAIT};
use crate::source::{Amendment, CheckError, ConnectorState};
use chrono::Utc;
use earshot_core::{Network, PostKey, Reply, ReplyTarget};
use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BRAND: &str = "acme.bsky.social";
const BRAND_DID: &str = "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe";
const ANA: &str = "ana.bsky.social";
const ANA_DID: &str = "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e";
const BO_DID: &str = "did:plc:bo2vq7ne5zkxlyrm3fjuw6ta";
const PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const SOURCE: &str = "bluesky:acme.bsky.social";
const NOTIFICATIONS: &str = "app.bsky.notification.listNotifications";

async fn fake() -> FakeBluesky {
    let fake = FakeBluesky::start(BRAND, BRAND_DID, PASSWORD)
        .await
        .unwrap();
    fake.add_account(ANA_DID, ANA, 42);
    fake.add_account(BO_DID, "bo.example.com", 7);
    fake
}

fn config(fake: &FakeBluesky) -> BlueskyConfig {
    let mut c = BlueskyConfig::new(BRAND, Secret::new(PASSWORD), BRAND);
    c.jetstream_url = fake.jetstream_url();
    c.pds_url = fake.base_url();
    c.appview_url = fake.base_url();
    c.brand_dids = vec![BRAND_DID.into()];
    c.keywords = vec!["roadster".into(), "acme app".into()];
    c.ping_interval = Duration::from_millis(50);
    // Twelve missed pongs: slow enough for a busy test machine, fast enough for the test.
    c.stall_timeout = Duration::from_millis(600);
    c.batch_window = Duration::from_millis(20);
    c.cursor_interval = Duration::from_millis(50);
    c.cursor_rewind = Duration::from_secs(2);
    c.reconcile_interval = None;
    c.request_timeout = Duration::from_secs(2);
    c.profile_timeout = Duration::from_millis(500);
    c.backoff_scale = 0.01;
    c
}

fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// A post by `author` that mentions the brand with a facet.
fn mention(author: &str, text: &str) -> PostSpec {
    let mut spec = PostSpec::new(author, &format!("@{BRAND} {text}"));
    spec.mentions = vec![BRAND_DID.into()];
    spec
}

type Running = testing::Running<BlueskySource>;

fn start(config: BlueskyConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(BlueskySource::new(config).unwrap()), sink)
}

/// Waits for the `n`th subscription and the health to say connected.
async fn connected(running: &Running, fake: &FakeBluesky, n: usize) {
    running
        .until("connected", |r| {
            fake.subscriptions().len() >= n && r.health.report().state == ConnectorState::Connected
        })
        .await;
}

fn uris(posts: &[&FakePost]) -> Vec<String> {
    posts.iter().map(|p| p.uri.clone()).collect()
}

async fn cursor_is(sink: &MemorySink, running: &Running, time_us: i64) {
    running
        .until("the cursor", |_| {
            sink.cursor_of(SOURCE) == Some(time_us.to_string())
        })
        .await;
}

#[tokio::test]
async fn a_mention_arrives_as_a_post_with_thread_reach_and_cursor() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let mut config = config(&fake);
    config.brand_dids.clear(); // Resolved from the handle.
    let running = start(config, sink.clone());
    connected(&running, &fake, 1).await;

    let root = fake.post(PostSpec::new(BRAND_DID, "Version 3.1 is out"));
    fake.like(ANA_DID, &root);
    fake.identity(BO_DID, "bo.example.com");
    fake.account_status(BO_DID, false, Some("deactivated"));
    fake.post(PostSpec::new(
        BO_DID,
        "nice weather today, no roadsters here",
    ));
    let mut spec = mention(ANA_DID, "Mi pedido #4471 llegó roto 😞 ¿me ayudáis?");
    spec.text = format!("Mi pedido #4471 llegó roto 😞 @{BRAND} ¿me ayudáis?");
    spec.langs = vec!["es".into()];
    spec.reply_to = Some(root.clone());
    let heard = fake.post(spec);
    let term = fake.post(PostSpec::new(BO_DID, "my ACME app can't see the Roadster"));

    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(ids(&posts), uris(&[&root, &heard, &term]));
    assert_eq!(posts[0].from_brand, Some(true));
    let post = &posts[1];
    assert_eq!(post.network, Network::Bluesky);
    assert_eq!(post.author.external_id, ANA_DID);
    assert_eq!(post.author.handle, ANA);
    assert_eq!(post.author.followers, Some(42));
    assert_eq!(post.author.display_name.as_deref(), Some("ANA"));
    assert_eq!(
        post.text,
        format!("Mi pedido #4471 llegó roto 😞 @{BRAND} ¿me ayudáis?")
    );
    assert_eq!(post.in_reply_to.as_deref(), Some(root.uri.as_str()));
    assert_eq!(post.lang.as_deref(), Some("es"));
    assert_eq!(post.from_brand, None);
    assert_eq!(
        post.url.as_deref(),
        Some(format!("https://bsky.app/profile/{ANA_DID}/post/{}", heard.rkey).as_str())
    );
    let written = fake.record(&heard.uri).unwrap()["createdAt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        post.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        written
    );
    assert!(post.raw.as_deref().is_some_and(|r| r.contains(&heard.cid)));
    cursor_is(&sink, &running, term.time_us).await;
    // Posts only, no compression, every repository; the first run tails live.
    assert_eq!(
        fake.subscriptions(),
        vec!["wantedCollections=app.bsky.feed.post"]
    );
    assert_eq!(running.health.report().events_total, 3);
    running.stop().await;
}

#[tokio::test]
async fn redeliveries_are_dropped_and_reordered_events_are_all_heard() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    let t = now_us();
    let mut a = mention(ANA_DID, "one");
    a.time_us = Some(t + 5_000_000);
    let a = fake.post(a);
    let mut b = PostSpec::new(BO_DID, "roadster two");
    b.time_us = Some(t + 3_000_000); // Older than what came before it.
    let b = fake.post(b);
    fake.resend(a.time_us); // The same event twice.
                            // A delete that overtakes its create.
    let mut hidden = PostSpec::new(BO_DID, "roadster three");
    hidden.time_us = Some(t + 6_000_000);
    hidden.live = false;
    let c = fake.post(hidden);
    fake.delete(&c, Some(t + 7_000_000));
    fake.resend(c.time_us);
    let mut d = mention(ANA_DID, "four");
    d.time_us = Some(t + 8_000_000);
    let d = fake.post(d);

    sink.wait_for(3, WAIT).await;
    cursor_is(&sink, &running, d.time_us).await;
    // The reconnect replays from two seconds before the cursor: c's create and delete and d.
    fake.drop_streams();
    connected(&running, &fake, 2).await;
    assert_eq!(
        fake.subscriptions()[1],
        format!(
            "wantedCollections=app.bsky.feed.post&cursor={}",
            t + 6_000_000
        )
    );
    let e = fake.post(mention(BO_DID, "five"));
    sink.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ids(&sink.posts()), uris(&[&a, &b, &d, &e]));
    // The buried post's delete is passed on: its author is one we hear.
    assert_eq!(
        sink.amendments(),
        vec![Amendment::Deleted(PostKey::new(
            Network::Bluesky,
            c.uri.clone()
        ))]
    );
    running.stop().await;
}

#[tokio::test]
async fn a_frame_cut_mid_way_is_heard_again_after_the_reconnect() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    let first = fake.post(mention(ANA_DID, "one"));
    sink.wait_for(1, WAIT).await;
    cursor_is(&sink, &running, first.time_us).await;
    let cut = fake.post_cut_mid_frame(mention(ANA_DID, "two, cut in half on the wire"));
    // Published while the source is reconnecting: only the replay has it.
    let mut quiet = mention(BO_DID, "three");
    quiet.live = false;
    let missed = fake.post(quiet);

    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(ids(&posts), uris(&[&first, &cut, &missed]));
    let resumed = format!("cursor={}", first.time_us - 2_000_000);
    assert!(
        fake.subscriptions()[1].ends_with(&resumed),
        "{:?}",
        fake.subscriptions()
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.posts().len(), 3);
    running.stop().await;
}

#[tokio::test]
async fn edits_and_deletes_become_amendments() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    let p = fake.post(mention(ANA_DID, "the app crashes"));
    sink.wait_for(1, WAIT).await;
    fake.update(&p, &format!("@{BRAND} never mind, it works now"));
    fake.delete(&p, None);
    // An edit of a post never heard, which now names the brand.
    let mut unseen = PostSpec::new(BO_DID, "my car");
    unseen.live = false;
    let q = fake.post(unseen);
    fake.update(&q, "my roadster");
    // Someone we never heard deletes something: not ours to know.
    let mut stranger = PostSpec::new("did:plc:stranger22222222222222222", "hello");
    stranger.live = false;
    let r = fake.post(stranger);
    fake.delete(&r, None);
    let last = fake.post(mention(ANA_DID, "last"));

    sink.wait_for(3, WAIT).await;
    running
        .until("three amendments", |_| sink.amendments().len() >= 3)
        .await;
    assert_eq!(ids(&sink.posts()), uris(&[&p, &q, &last]));
    assert_eq!(sink.posts()[1].text, "my roadster");
    let amendments = sink.amendments();
    match &amendments[..] {
        [Amendment::Edited(edit), Amendment::Deleted(key), Amendment::Edited(unseen_edit)] => {
            assert_eq!(edit.external_id, p.uri);
            assert_eq!(edit.text, format!("@{BRAND} never mind, it works now"));
            assert_eq!(edit.author.followers, Some(42));
            assert_eq!(key, &PostKey::new(Network::Bluesky, p.uri.clone()));
            assert_eq!(unseen_edit.external_id, q.uri);
        }
        other => panic!("unexpected amendments: {other:?}"),
    }
    running.stop().await;
}

#[tokio::test]
async fn broken_frames_are_skipped_and_a_close_code_reconnects() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    fake.push_raw(r#"{"did":"did:plc:x","time_us":17872172981"#);
    fake.push_raw("not json at all");
    // A post that names the brand but has no usable time at all (no `time_us`, bad `createdAt`).
    fake.push_raw(r#"{"did":"did:plc:x","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3k","record":{"text":"roadster","createdAt":"yesterday"}}}"#);
    let p = fake.post(mention(ANA_DID, "still there?"));
    sink.wait_for(1, WAIT).await;
    fake.close_streams(1011, "internal error");
    connected(&running, &fake, 2).await;
    let report = running.health.report();
    assert_last_error(&report, "(1011): internal error");
    let q = fake.post(mention(ANA_DID, "and now?"));
    sink.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The broken post without a usable time was skipped, not delivered with a made-up one.
    assert_eq!(ids(&sink.posts()), uris(&[&p, &q]));
    running.stop().await;
}

#[tokio::test]
async fn a_stalled_stream_is_noticed_and_nothing_is_lost() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    fake.silence_streams();
    // The half-open connection swallows it, and nothing was stored before: the resume point
    // is when the run first connected.
    let lost = fake.post(mention(ANA_DID, "hello?"));
    connected(&running, &fake, 2).await;
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), uris(&[&lost]));
    let report = running.health.report();
    assert_last_error(&report, "stalled");
    assert!(fake.subscriptions()[1].contains("&cursor="));
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_cursor() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;
    let mut early = mention(ANA_DID, "ten seconds ago");
    early.time_us = Some(now_us() - 10_000_000);
    let early = fake.post(early);
    let last = fake.post(mention(ANA_DID, "now"));
    sink.wait_for(2, WAIT).await;
    cursor_is(&sink, &running, last.time_us).await;
    running.stop().await;

    let down = [
        fake.post(mention(BO_DID, "while down")),
        fake.post(PostSpec::new(BO_DID, "roadster while down")),
    ];
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 2).await;
    assert!(fake.subscriptions()[1].ends_with(&format!("cursor={}", last.time_us - 2_000_000)));
    let posts = sink.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let posts_after = sink.posts();
    let count = |uri: &str| posts_after.iter().filter(|p| p.external_id == uri).count();
    // Nothing lost; nothing from before the rewind replayed. `last` sits inside the rewind
    // window and may come again: the store keys it by URI and absorbs it.
    assert_eq!(count(&early.uri), 1);
    assert_eq!(count(&down[0].uri), 1);
    assert_eq!(count(&down[1].uri), 1);
    assert!((1..=2).contains(&count(&last.uri)));
    assert!(posts.len() >= 4);
    cursor_is(&sink, &running, down[1].time_us).await;
    running.stop().await;
}

#[tokio::test]
async fn a_sink_failure_is_retried_not_fatal() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;

    sink.fail_next(1);
    let p = fake.post(mention(ANA_DID, "is the store up?"));
    running
        .until_error("the failure is reported", "could not store")
        .await;
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), uris(&[&p]));
    connected(&running, &fake, 2).await;
    let q = fake.post(mention(ANA_DID, "and after?"));
    sink.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ids(&sink.posts()), uris(&[&p, &q]));
    running.stop().await;
}

#[tokio::test]
async fn a_5xx_burst_at_the_handshake_is_backed_off() {
    let fake = fake().await;
    fake.fail_handshakes(&[503, 502, 503]);
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());
    connected(&running, &fake, 1).await;
    // 5 s, 10 s, 20 s (scaled by 0.01, ±10 % jitter): backed off, not hammered.
    assert!(
        started.elapsed() >= Duration::from_millis(315),
        "{:?}",
        started.elapsed()
    );
    let report = running.health.report();
    assert_eq!(report.errors_total, 3);
    assert_last_error(&report, "HTTP 503");
    let p = fake.post(mention(ANA_DID, "hi"));
    assert_eq!(ids(&sink.wait_for(1, WAIT).await), uris(&[&p]));
    running.stop().await;
}

#[tokio::test]
async fn a_rate_limited_reconciliation_waits_for_the_reset() {
    let fake = fake().await;
    // Only the notifications know this one: the stream never carried it.
    let mut quiet = mention(ANA_DID, "are you there?");
    quiet.live = false;
    let missed = fake.post(quiet);
    fake.rate_limit_next(NOTIFICATIONS, 1, Duration::from_millis(200));
    let mut config = config(&fake);
    config.reconcile_interval = Some(Duration::from_millis(100));
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config, sink.clone());

    let posts = sink.wait_for(1, WAIT).await;
    let waited = started.elapsed();
    let calls = fake.calls(NOTIFICATIONS);
    assert_eq!(ids(&posts), uris(&[&missed]));
    assert_eq!(posts[0].author.handle, ANA);
    assert_eq!(posts[0].author.followers, Some(42));
    // One 429, then the call after the reset; polling every 100 ms would have made more.
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(calls <= 3, "{calls} calls");
    assert_eq!(running.health.report().state, ConnectorState::Connected);
    running.stop().await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_and_a_revoked_password_fails_the_source() {
    let fake = fake().await;
    fake.set_access_ttl(Duration::from_millis(150));
    let mut config = config(&fake);
    config.reconcile_interval = Some(Duration::from_millis(60));
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    connected(&running, &fake, 1).await;

    running.until("a refresh", |_| fake.refreshes() >= 2).await;
    let mut quiet = mention(ANA_DID, "heard over REST after refreshes");
    quiet.live = false;
    let missed = fake.post(quiet);
    assert_eq!(ids(&sink.wait_for(1, WAIT).await), uris(&[&missed]));
    assert_eq!(fake.logins(), 1, "refreshed, never logged in again");

    fake.revoke_app_password();
    let (reason, report) = running.ended_on_auth().await;
    assert!(reason.contains("create a new App Password"), "{reason}");
    assert!(!reason.contains(PASSWORD), "{reason}");
    assert_eq!(report.next_retry_at, None);
}

#[tokio::test]
async fn a_slow_appview_does_not_hold_the_stream_up() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.profile_timeout = Duration::from_millis(100);
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    connected(&running, &fake, 1).await;
    fake.set_profile_delay(Duration::from_secs(3));

    let posted = Instant::now();
    let p = fake.post(mention(ANA_DID, "quick?"));
    let posts = sink.wait_for(1, WAIT).await;
    assert!(
        posted.elapsed() < Duration::from_secs(1),
        "{:?}",
        posted.elapsed()
    );
    assert_eq!(ids(&posts), uris(&[&p]));
    assert_eq!(posts[0].author.followers, None);
    assert_eq!(posts[0].author.handle, ANA_DID);
    running.stop().await;
}

// --- the responder ----------------------------------------------------------------------

fn conversation(language: &str) -> ReplyTarget {
    ReplyTarget {
        language: language.into(),
        ..responder::testing::target(ANA_DID, ANA, "at://unused")
    }
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    responder::testing::reply(Network::Bluesky, in_reply_to, key, text)
}

/// The brand's announcement and a customer's complaint in its thread.
fn thread(fake: &FakeBluesky) -> (FakePost, FakePost) {
    let root = fake.post(PostSpec::new(BRAND_DID, "Version 3.1 is out"));
    let mut complaint = mention(ANA_DID, "mi pedido llegó roto");
    complaint.reply_to = Some(root.clone());
    (root.clone(), fake.post(complaint))
}

#[tokio::test]
async fn a_reply_lands_in_the_thread_once_even_when_sent_twice() {
    let fake = fake().await;
    let (root, complaint) = thread(&fake);
    let responder = BlueskyResponder::new(config(&fake)).unwrap();
    let text = "¡Gracias! @ana.bsky.social revisamos tu pedido hoy 🙏";
    let answer = reply(&complaint.uri, "conv-7-draft-1", text);

    let first = responder.send(&answer, &conversation("es")).await.unwrap();
    let second = responder.send(&answer, &conversation("es")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.records_created(), 1);
    assert!(first.starts_with(&format!("at://{BRAND_DID}/app.bsky.feed.post/")));

    let received = fake.received();
    assert_eq!(received.len(), 2);
    let body = &received[0];
    assert_eq!(body["repo"], BRAND_DID);
    assert_eq!(body["collection"], "app.bsky.feed.post");
    assert_eq!(body["rkey"], received[1]["rkey"]);
    assert_eq!(
        first,
        format!(
            "at://{BRAND_DID}/app.bsky.feed.post/{}",
            body["rkey"].as_str().unwrap()
        )
    );
    let record = &body["record"];
    assert_eq!(record["$type"], "app.bsky.feed.post");
    assert_eq!(record["text"], text);
    assert_eq!(record["langs"], serde_json::json!(["es"]));
    assert_eq!(
        record["reply"]["root"],
        serde_json::json!({"uri": root.uri, "cid": root.cid})
    );
    assert_eq!(
        record["reply"]["parent"],
        serde_json::json!({"uri": complaint.uri, "cid": complaint.cid})
    );
    assert_eq!(
        record["facets"],
        serde_json::json!([{"index": {"byteStart": 11, "byteEnd": 27},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": ANA_DID}]}])
    );
    let created_at = record["createdAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created_at).is_ok(),
        "{created_at}"
    );
    assert_eq!(fake.record(&first).unwrap()["text"], text);
}

#[tokio::test]
async fn a_top_level_post_is_both_root_and_parent() {
    let fake = fake().await;
    let post = fake.post(mention(BO_DID, "where is my refund?"));
    let responder = BlueskyResponder::new(config(&fake)).unwrap();
    responder
        .send(
            &reply(&post.uri, "k-top", "On its way!"),
            &conversation("und"),
        )
        .await
        .unwrap();
    let record = &fake.received()[0]["record"];
    let strong = serde_json::json!({"uri": post.uri, "cid": post.cid});
    assert_eq!(record["reply"]["root"], strong);
    assert_eq!(record["reply"]["parent"], strong);
    assert!(record.get("langs").is_none());
    assert!(record.get("facets").is_none());
}

#[tokio::test]
async fn an_ambiguous_failure_is_not_posted_twice() {
    let fake = fake().await;
    let (_, complaint) = thread(&fake);
    let responder = BlueskyResponder::new(config(&fake)).unwrap();
    // The record is created but the answer is lost (502): the key finds it.
    fake.lose_next_create_answer();
    let sent = responder
        .send(
            &reply(&complaint.uri, "k-lost", "Sorry!"),
            &conversation("en"),
        )
        .await
        .unwrap();
    assert_eq!(fake.records_created(), 1);
    assert_eq!(fake.record(&sent).unwrap()["text"], "Sorry!");
    // A plain 5xx burst creates nothing: retryable, and the retry goes through once.
    fake.fail_next("com.atproto.repo.createRecord", 2, 503);
    let answer = reply(&complaint.uri, "k-5xx", "Second try");
    for _ in 0..2 {
        assert_retryable(responder.send(&answer, &conversation("en")).await, "503");
    }
    responder.send(&answer, &conversation("en")).await.unwrap();
    assert_eq!(fake.records_created(), 2);
}

#[tokio::test]
async fn replies_are_refused_or_retried_as_the_server_says() {
    let fake = fake().await;
    let (_, complaint) = thread(&fake);
    let responder = BlueskyResponder::new(config(&fake)).unwrap();
    let conv = conversation("en");

    // 301 graphemes: refused before anything is sent.
    let long = reply(&complaint.uri, "k-long", &"é".repeat(301));
    expect_refused(responder.send(&long, &conv).await);
    // Not a Bluesky post, and a deleted one.
    let odd = reply("https://bsky.app/x", "k-odd", "hi");
    expect_refused(responder.send(&odd, &conv).await);
    let gone = fake.post(mention(BO_DID, "soon deleted"));
    fake.delete(&gone, None);
    assert_refused(
        responder
            .send(&reply(&gone.uri, "k-gone", "hi"), &conv)
            .await,
        "no longer exists",
    );
    assert!(fake.received().is_empty());
    // Rate-limited: worth retrying, with the reset time in the reason.
    fake.rate_limit_next("com.atproto.repo.createRecord", 1, Duration::from_secs(30));
    assert_retryable(
        responder
            .send(&reply(&complaint.uri, "k-429", "hi"), &conv)
            .await,
        "rate-limited until",
    );
    assert_eq!(fake.records_created(), 0);
    // A revoked app password: refused with words an operator can act on.
    fake.revoke_app_password();
    assert_refused(
        responder
            .send(&reply(&complaint.uri, "k-401", "hi"), &conv)
            .await,
        "App Password",
    );
    // The PDS is gone.
    assert_retryable_once_gone(
        fake,
        &responder,
        &reply(&complaint.uri, "k-down", "hi"),
        &conv,
    )
    .await;
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_before_replying() {
    let fake = fake().await;
    fake.set_access_ttl(Duration::from_millis(50));
    let (_, complaint) = thread(&fake);
    let responder = BlueskyResponder::new(config(&fake)).unwrap();
    let conv = conversation("en");
    responder
        .send(&reply(&complaint.uri, "k-1", "one"), &conv)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    responder
        .send(&reply(&complaint.uri, "k-2", "two"), &conv)
        .await
        .unwrap();
    assert_eq!(fake.records_created(), 2);
    assert_eq!(fake.logins(), 1);
    assert!(fake.refreshes() >= 1);
}

#[tokio::test]
async fn credentials_are_checked_in_plain_words() {
    let fake = fake().await;
    let config = config(&fake);
    assert_eq!(
        check_credentials(&config).await.unwrap(),
        format!("@{BRAND} ({BRAND_DID}), 1520 followers")
    );
    let mut wrong = config.clone();
    wrong.app_password = Secret::new("wxyz-wxyz-wxyz-wxyz");
    match check_credentials(&wrong).await {
        Err(CheckError::Refused(reason)) => {
            assert!(reason.contains("create a new App Password"), "{reason}");
            assert!(!reason.contains("wxyz"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let mut empty = config.clone();
    empty.identifier = " ".into();
    assert!(matches!(
        check_credentials(&empty).await,
        Err(CheckError::Misconfigured(_))
    ));
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        check_credentials(&config).await,
        Err(CheckError::Unreachable(_))
    ));
}

#[tokio::test]
async fn the_fake_jetstream_filters_and_replays_like_jetstream() {
    let fake = fake().await;
    let t = now_us();
    let post = fake.post(PostSpec::new(ANA_DID, "first"));
    fake.like(BO_DID, &post);
    fake.identity(BO_DID, "bo.example.com");
    let read = |query: String| {
        let url = format!("{}/subscribe?{query}", fake.jetstream_url());
        async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            let mut kinds = Vec::new();
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_millis(150), ws.next()).await
            {
                let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
                kinds.push(
                    v["commit"]["collection"]
                        .as_str()
                        .unwrap_or(v["kind"].as_str().unwrap())
                        .to_owned(),
                );
            }
            (ws, kinds)
        }
    };
    let (_, kinds) = read(format!("wantedCollections=app.bsky.feed.*&cursor={t}")).await;
    assert_eq!(
        kinds,
        ["app.bsky.feed.post", "app.bsky.feed.like", "identity"]
    );
    let (_, kinds) = read(format!("wantedCollections=app.bsky.feed.post&cursor={t}")).await;
    assert_eq!(kinds, ["app.bsky.feed.post", "identity"]);
    let (_, kinds) = read(format!("wantedDids={ANA_DID}&cursor={t}")).await;
    assert_eq!(kinds, ["app.bsky.feed.post"]);
    // A cursor in the future replays nothing; without one the stream is live only.
    let (_, kinds) = read(format!("cursor={}", now_us() + 60_000_000)).await;
    assert!(kinds.is_empty());
    // `options_update` narrows a live subscription.
    let (mut ws, _) = read(String::new()).await;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        r#"{"type":"options_update","payload":{"wantedCollections":["app.bsky.feed.like"],"wantedDids":[],"maxMessageSizeBytes":0}}"#,
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    fake.post(PostSpec::new(ANA_DID, "filtered out"));
    fake.like(ANA_DID, &post);
    let m = tokio::time::timeout(Duration::from_secs(2), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(m.to_text().unwrap().contains("app.bsky.feed.like"));
}
