//! The YouTube source and responder against [`super::fake::FakeYouTube`]: threads and replies
//! in the sink, late replies to old threads, edits and deletions, restarts, the daily quota,
//! expired and revoked credentials, 5xx and dropped connections, and replies posted once.

use super::config::YouTubeConfig;
use super::fake::FakeYouTube;
use super::{YouTubeResponder, YouTubeSource};
use crate::responder::testing::{assert_refused, expect_retryable};
use crate::responder::{Responder, SendError};
use crate::source::testing::{self, MemorySink, WAIT};
use crate::source::{Amendment, CheckError, ConnectorState, SourceError};
use crate::Secret;
use chrono::Utc;
use earshot_core::{Network, NewPost, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::Duration;

const CHANNEL: &str = "UCx7Ab3kQ9mZ2pL5nR8tV1wY";
const REFRESH: &str = "1//0gRefreshTokenFake";
const GIULIA: (&str, &str) = ("UCb2Yc8nQ4rS6tU1vW3xZ5aA", "giulia.b");
const SVEN: (&str, &str) = ("UCd4Ef6gH8iJ0kL2mN4oP6qR", "sven_h");

async fn setup() -> (FakeYouTube, YouTubeConfig) {
    let fake = FakeYouTube::start(CHANNEL, REFRESH).await.unwrap();
    let mut config = YouTubeConfig::new(
        CHANNEL,
        fake.client_id(),
        Secret::new("GOCSPX-fake"),
        Secret::new(REFRESH),
    );
    config.api_url = fake.base_url();
    config.token_url = fake.token_url();
    config.poll_interval = Duration::from_millis(100);
    config.rescan_interval = Duration::from_millis(200);
    config.request_timeout = Duration::from_secs(2);
    config.page_size = 2;
    config.backoff_scale = 0.01;
    (fake, config)
}

type Running = testing::Running<YouTubeSource>;

fn start(config: &YouTubeConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(YouTubeSource::new(config.clone()).unwrap()), sink)
}

fn ids(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.external_id.clone()).collect()
}

#[tokio::test]
async fn threads_and_their_replies_are_heard_in_order_and_late_replies_to_old_threads_too() {
    let (fake, config) = setup().await;
    let t1 = fake.comment(
        "dQ8kT2mNp0A",
        GIULIA,
        "Does descaling work on 3.1? Mine skips it.",
        50,
    );
    let r1 = fake.reply(&t1, SVEN, "Same here", 45);
    let t2 = fake.comment("dQ8kT2mNp0A", SVEN, "Great video", 40);
    let t3 = fake.comment("vid2", GIULIA, "Where is the manual?", 30);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    let posts = sink.wait_for(4, WAIT).await;
    assert_eq!(
        ids(&posts),
        [t1.clone(), r1.clone(), t2.clone(), t3.clone()]
    );
    assert_eq!(posts[0].network, Network::YouTube);
    assert_eq!(posts[0].author.handle, "giulia.b");
    assert_eq!(posts[1].in_reply_to.as_deref(), Some(t1.as_str()));
    let requests = fake.requests();
    assert!(
        requests.iter().any(|r| r
            .contains("allThreadsRelatedToChannelId=UCx7Ab3kQ9mZ2pL5nR8tV1wY")
            && r.contains("order=time")
            && r.contains("textFormat=plainText")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("pageToken=")),
        "paged: {requests:?}"
    );
    // A reply to the oldest thread does not bring it to the top: following it finds it.
    let late = fake.reply(&t1, GIULIA, "Still skipping after the update", 0);
    let posts = sink.wait_for(5, WAIT).await;
    assert_eq!(posts[4].external_id, late);
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.contains("commentThreads?") && r.contains("&id=")));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.posts().len(),
        5,
        "nothing twice: {:?}",
        ids(&sink.posts())
    );
    running.connected().await;
    let note = running.health.report().note.unwrap_or_default();
    assert!(
        note.contains("units spent today") && note.contains("midnight Pacific"),
        "{note}"
    );
    running.stop().await;
}

#[tokio::test]
async fn more_replies_than_a_listing_carries_are_read_from_comments_list() {
    let (fake, config) = setup().await;
    let t = fake.comment("v", GIULIA, "Question", 60);
    for i in 0..7 {
        fake.reply(&t, SVEN, &format!("reply {i}"), 50 - i);
    }
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    let posts = sink.wait_for(8, WAIT).await;
    assert_eq!(
        posts
            .iter()
            .filter(|p| p.in_reply_to.as_deref() == Some(t.as_str()))
            .count(),
        7
    );
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.contains("/comments?") && r.contains("parentId=")));
    running.stop().await;
}

#[tokio::test]
async fn edits_become_edited_posts_and_a_deleted_thread_a_tombstone() {
    let (fake, config) = setup().await;
    let t1 = fake.comment("v", GIULIA, "Mine skips descaling", 30);
    let t2 = fake.comment("v", SVEN, "Nice", 20);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(2, WAIT).await;
    fake.edit(&t1, "Mine skips descaling, K2 on 3.1.2");
    fake.delete(&t2);
    running
        .until("the edit and the deletion heard", |_| {
            sink.amendments().len() >= 2
        })
        .await;
    let amendments = sink.amendments();
    assert!(
        amendments.iter().any(
            |a| matches!(a, Amendment::Edited(p) if p.external_id == t1 && p.text.contains("3.1.2"))
        ),
        "{amendments:?}"
    );
    assert!(
        amendments
            .iter()
            .any(|a| matches!(a, Amendment::Deleted(k) if k.external_id == t2)),
        "{amendments:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.amendments().len(), 2, "each heard once");
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_without_gaps_or_doubles() {
    let (fake, config) = setup().await;
    let a = fake.comment("v", GIULIA, "a", 30);
    let b = fake.comment("v", SVEN, "b", 20);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(2, WAIT).await;
    running.stop().await;
    let c = fake.comment("v", GIULIA, "c while down", 5);
    let d = fake.reply(&a, SVEN, "d while down", 4);
    let running = start(&config, sink.clone());
    sink.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ids(&sink.posts()), [a, b, c, d]);
    running.stop().await;
}

#[tokio::test]
async fn the_daily_quota_stops_listening_until_midnight_pacific_and_says_so() {
    let (fake, mut config) = setup().await;
    fake.comment("v", GIULIA, "a", 30);
    // earshot's own ledger: 5 units, 3 kept for replies, so listening may spend 2.
    config.daily_units = 5;
    config.reply_reserve = 3;
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(1, WAIT).await;
    running.state(ConnectorState::BackingOff).await;
    assert!(
        running.error().contains("kept for replies"),
        "{}",
        running.error()
    );
    let retry = running.health.report().next_retry_at.unwrap();
    assert!(
        retry > Utc::now() + chrono::Duration::minutes(1),
        "waits for the reset: {retry}"
    );
    let spent = fake.units_spent();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.units_spent(),
        spent,
        "no request once the share is spent"
    );
    // Listening's share is spent, not the day: the 3 units kept for replies are still there.
    assert_eq!(config.ledger().spent(), 2, "{}", config.ledger().note());
    running.stop().await;
}

#[tokio::test]
async fn youtubes_quota_exceeded_is_read_as_a_spent_day() {
    let (fake, config) = setup().await;
    fake.set_daily_units(0);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    running.state(ConnectorState::BackingOff).await;
    assert!(
        running.error().contains("daily quota"),
        "{}",
        running.error()
    );
    running.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_a_revoked_consent_stops_the_source_saying_so() {
    let (fake, config) = setup().await;
    fake.comment("v", GIULIA, "a", 30);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(1, WAIT).await;
    fake.expire_tokens();
    fake.comment("v", SVEN, "b", 0);
    sink.wait_for(2, WAIT).await;
    assert_eq!(running.source.tokens_minted(), 2);
    fake.revoke();
    fake.expire_tokens();
    let (result, health) = running.ended().await;
    let Err(SourceError::Auth(reason)) = result else {
        panic!("{result:?}")
    };
    assert!(
        reason.contains("invalid_grant") && reason.contains("refresh_token"),
        "{reason}"
    );
    assert!(
        !reason.contains(REFRESH) && !reason.contains("GOCSPX"),
        "{reason}"
    );
    assert_eq!(health.report().state, ConnectorState::Failing);
}

#[tokio::test]
async fn rate_limits_5xx_and_dropped_connections_are_waited_out_without_loss() {
    let (fake, config) = setup().await;
    let a = fake.comment("v", GIULIA, "a", 30);
    let b = fake.comment("v", SVEN, "b", 20);
    let c = fake.comment("v", GIULIA, "c", 10);
    fake.drop_next(1);
    fake.rate_limit_next(1);
    fake.fail_next(&[503]);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&sink.posts()), [a, b, c]);
    assert!(running.health.report().errors_total >= 3);
    running.stop().await;
}

fn conversation(root: &str) -> ReplyTarget {
    crate::responder::testing::target("customer", "customer", root)
}

fn reply(key: &str, to: &str, text: &str) -> Reply {
    crate::responder::testing::reply(Network::YouTube, to, key, text)
}

#[tokio::test]
async fn a_reply_goes_under_the_thread_once_costs_fifty_units_and_closed_threads_are_refused() {
    let (fake, config) = setup().await;
    let t = fake.comment("v", GIULIA, "Mine skips descaling", 30);
    let r = fake.reply(&t, SVEN, "Same here", 20);
    let responder = YouTubeResponder::new(config.clone()).unwrap();
    let conv = conversation(&t);
    // Answering Sven's reply goes under Giulia's thread: YouTube threads are one level deep.
    let first = reply("k1", &r, "Hi both, 3.1.2 fixes descaling.");
    let before = fake.units_spent();
    let id = responder.send(&first, &conv).await.unwrap();
    assert_eq!(
        fake.units_spent() - before,
        51,
        "one look (1) and one insert (50)"
    );
    assert_eq!(responder.send(&first, &conv).await.unwrap(), id);
    // A restart: the reply is found under the thread, not posted again.
    let again = YouTubeResponder::new(config.clone()).unwrap();
    assert_eq!(again.send(&first, &conv).await.unwrap(), id);
    let ours = fake.channel_replies();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].parent.as_deref(), Some(t.as_str()));
    assert_eq!(ours[0].id, id);
    // Comments turned off: refused for good, with what to do.
    fake.close_thread(&t);
    assert_refused(
        responder.send(&reply("k2", &t, "Another"), &conv).await,
        "operationNotSupported",
    );
    // A 5xx is worth another try; a spent day too.
    let t2 = fake.comment("v", GIULIA, "Other", 10);
    fake.fail_next(&[500]);
    expect_retryable(
        responder
            .send(&reply("k3", &t2, "Hello"), &conversation(&t2))
            .await,
    );
    fake.set_daily_units(fake.units_spent());
    let spent = responder
        .send(&reply("k4", &t2, "Hello"), &conversation(&t2))
        .await;
    let Err(SendError::Retryable { reason, .. }) = spent else {
        panic!("{spent:?}")
    };
    assert!(reason.contains("quota"), "{reason}");
    assert_eq!(fake.channel_replies().len(), 1);
}

#[tokio::test]
async fn connectors_check_names_the_consents_channel_and_the_days_quota_or_says_what_to_fix() {
    let (fake, mut config) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    config.keep_quota_in(dir.path());
    let ok = super::check_credentials(&config).await.unwrap();
    assert!(
        ok.starts_with(
            "Acme Kettles (UCx7Ab3kQ9mZ2pL5nR8tV1wY); YouTube quota: 1 of 10000 units spent today"
        ),
        "{ok}"
    );
    assert_eq!(fake.units_spent(), 1, "channels.list costs one unit");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 1,
        "the unit is kept in the quota file"
    );

    // A consent given as another channel's owner.
    let mut other = config.clone();
    other.channel_id = "UCd4Ef6gH8iJ0kL2mN4oP6qR".into();
    let wrong = super::check_credentials(&other).await.unwrap_err();
    assert!(
        matches!(&wrong, CheckError::Misconfigured(r)
            if r.contains("consent of channel Acme Kettles (UCx7Ab3kQ9mZ2pL5nR8tV1wY)")
                && r.contains("not of channel_id UCd4Ef6gH8iJ0kL2mN4oP6qR")),
        "{wrong:?}"
    );
    let mut empty = config.clone();
    empty.refresh_token = Secret::new(" ");
    assert!(matches!(
        super::check_credentials(&empty).await,
        Err(CheckError::Misconfigured(r)) if r.contains("refresh_token")
    ));

    // An expired or revoked refresh token: invalid_grant, said as such, never the secret.
    fake.revoke();
    let revoked = super::check_credentials(&config).await.unwrap_err();
    let CheckError::Refused(reason) = &revoked else {
        panic!("{revoked:?}")
    };
    assert!(
        reason.contains("invalid_grant")
            && reason.contains("refresh token has expired or was revoked"),
        "{reason}"
    );
    assert!(!reason.contains(REFRESH) && !reason.contains("GOCSPX"));
}
