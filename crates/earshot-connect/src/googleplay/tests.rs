//! The Google Play source and responder against [`super::fake::FakeGooglePlay`]: what arrives
//! in the sink, what the fake received, and how the week's window, edits, paging, restarts,
//! expired tokens, a revoked key, 429s, dropped connections and repeated replies come out.

use super::config::GooglePlayConfig;
use super::fake::{FakeGooglePlay, FakePlayReview};
use super::{GooglePlayResponder, GooglePlaySource};
use crate::responder::testing::{assert_refused, expect_retryable};
use crate::responder::Responder;
use crate::source::testing::{self, MemorySink, WAIT};
use crate::source::{CheckError, ConnectorState, SourceError};
use chrono::Utc;
use earshot_core::{Network, NewPost, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::Duration;

const EMAIL: &str = "earshot-reviews@acme-play.iam.gserviceaccount.com";
const APP: &str = "com.acme.kettle";
const SOURCE: &str = "googleplay:com.acme.kettle";

async fn setup() -> (FakeGooglePlay, GooglePlayConfig) {
    let fake = FakeGooglePlay::start(EMAIL, APP).await.unwrap();
    let mut config = GooglePlayConfig::new(APP, fake.key_file());
    config.api_url = fake.base_url();
    config.poll_interval = Duration::from_millis(100);
    config.request_timeout = Duration::from_secs(2);
    config.page_size = 2;
    config.backoff_scale = 0.01;
    (fake, config)
}

type Running = testing::Running<GooglePlaySource>;

fn start(config: &GooglePlayConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(
        Arc::new(GooglePlaySource::new(config.clone()).unwrap()),
        sink,
    )
}

fn ids(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.external_id.clone()).collect()
}

fn lists(fake: &FakeGooglePlay) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.starts_with("GET") && r.contains("/reviews?"))
        .collect()
}

#[tokio::test]
async fn reviews_of_the_week_are_heard_oldest_first_with_rating_version_and_device() {
    let (fake, config) = setup().await;
    let mut first = FakePlayReview::new(
        "gp:r1",
        "Marta R.",
        2,
        50,
        "Stopped connecting after the update",
    );
    first.title = Some("Kettle app".into());
    fake.review(first);
    fake.review(FakePlayReview::new("gp:r2", "Sven", 5, 40, "Lovely"));
    fake.review(FakePlayReview::new("gp:r3", "Ana", 1, 30, "Timer resets"));
    // A star-only rating and a review older than the API's week: never listed.
    fake.review(FakePlayReview::new("gp:stars-only", "X", 4, 20, ""));
    fake.review(FakePlayReview::new(
        "gp:old",
        "Y",
        3,
        60 * 24 * 8,
        "Last month",
    ));
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(ids(&posts), ["gp:r1", "gp:r2", "gp:r3"]);
    assert_eq!(
        posts[0].text,
        "★★☆☆☆ 2/5 Kettle app\nStopped connecting after the update\napp 3.1.2 (30102) · Google Pixel 7 · Android API 35"
    );
    assert_eq!(posts[0].network, Network::GooglePlay);
    assert_eq!(posts[0].author.handle, "Marta R.");
    // Paged two at a time with the page token followed.
    let l = lists(&fake);
    assert!(l[0].contains("maxResults=2"), "{l:?}");
    assert!(l[1].contains("token="), "{l:?}");
    fake.review(FakePlayReview::new("gp:r4", "Bo", 4, 1, "Better now"));
    sink.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        ids(&sink.posts()),
        ["gp:r1", "gp:r2", "gp:r3", "gp:r4"],
        "nothing twice"
    );
    running.connected().await;
    let note = running.health.report().note.unwrap_or_default();
    assert!(
        note.contains("last 7 days") && note.contains("requests this hour"),
        "{note}"
    );
    assert!(sink.cursor_of(SOURCE).is_some());
    running.stop().await;
}

#[tokio::test]
async fn an_edited_review_comes_back_to_the_top_and_becomes_an_edit_of_the_same_post() {
    let (fake, config) = setup().await;
    fake.review(FakePlayReview::new("gp:r1", "Marta", 1, 20, "Crashes"));
    fake.review(FakePlayReview::new("gp:r2", "Sven", 4, 10, "Fine"));
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(2, WAIT).await;
    fake.edit("gp:r1", 4, "Fixed by 3.1.3, thanks");
    let post = sink.first_edit().await;
    assert_eq!(post.external_id, "gp:r1");
    assert!(
        post.text.starts_with("★★★★☆ 4/5\nFixed by 3.1.3"),
        "{}",
        post.text
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.amendments().len(), 1, "an edit is heard once");
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_without_gaps_or_doubles() {
    let (fake, config) = setup().await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        fake.review(FakePlayReview::new(id, "n", 3, 100 - i as i64, "x"));
    }
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(3, WAIT).await;
    running.stop().await;
    fake.review(FakePlayReview::new("d", "n", 2, 5, "new while down"));
    fake.review(FakePlayReview::new("e", "n", 2, 4, "also new"));
    let running = start(&config, sink.clone());
    sink.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ids(&sink.posts()), ["a", "b", "c", "d", "e"]);
    running.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_minted_anew_and_a_revoked_key_stops_the_source_saying_so() {
    let (fake, config) = setup().await;
    fake.review(FakePlayReview::new("gp:r1", "M", 1, 20, "x"));
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(1, WAIT).await;
    fake.expire_tokens();
    fake.review(FakePlayReview::new("gp:r2", "M", 1, 1, "y"));
    sink.wait_for(2, WAIT).await;
    assert_eq!(
        running.source.tokens_minted(),
        2,
        "minted again after the 401"
    );
    fake.revoke_key();
    fake.expire_tokens();
    let (result, health) = running.ended().await;
    let Err(SourceError::Auth(reason)) = result else {
        panic!("{result:?}")
    };
    assert!(
        reason.contains("invalid_grant") && reason.contains("revoked"),
        "{reason}"
    );
    assert_eq!(health.report().state, ConnectorState::Failing);
    assert!(
        !reason.contains("PRIVATE KEY") && !reason.contains("ya29"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_429_a_5xx_and_a_dropped_connection_are_waited_out_and_nothing_is_lost_or_doubled() {
    let (fake, config) = setup().await;
    fake.review(FakePlayReview::new("r1", "a", 1, 20, "x"));
    fake.review(FakePlayReview::new("r2", "b", 2, 10, "y"));
    fake.review(FakePlayReview::new("r3", "c", 3, 5, "z"));
    fake.rate_limit_next(1);
    fake.fail_next(&[503]);
    fake.drop_next(1);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    running
        .until("the 429 reported", |r| r.error().contains("quota"))
        .await;
    sink.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&sink.posts()), ["r1", "r2", "r3"]);
    assert!(running.health.report().errors_total >= 3);
    running.connected().await;
    running.stop().await;
}

#[tokio::test]
async fn the_hourly_request_budget_is_kept_by_earshot_before_google_refuses() {
    let (fake, mut config) = setup().await;
    config.gets_per_hour = 3;
    for i in 0..5 {
        fake.review(FakePlayReview::new(&format!("r{i}"), "a", 3, 50 - i, "x"));
    }
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    // Three pages of two: the third request ends the first walk, the next walk must wait.
    sink.wait_for(5, WAIT).await;
    running.state(ConnectorState::BackingOff).await;
    assert!(
        running.error().contains("budget of 3"),
        "{}",
        running.error()
    );
    assert_eq!(lists(&fake).len(), 3, "no request beyond the budget");
    let retry = running.health.report().next_retry_at.unwrap();
    assert!(
        retry > Utc::now() + chrono::Duration::minutes(55),
        "{retry}"
    );
    running.stop().await;
}

fn conversation(root: &str) -> ReplyTarget {
    crate::responder::testing::target("customer", "customer", root)
}

fn reply(key: &str, to: &str, text: &str) -> Reply {
    crate::responder::testing::reply(Network::GooglePlay, to, key, text)
}

fn replies_posted(fake: &FakeGooglePlay) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with(":reply"))
        .count()
}

#[tokio::test]
async fn a_reply_is_set_once_in_the_reviews_path_with_its_colon_and_a_new_one_overwrites_it() {
    let (fake, config) = setup().await;
    fake.review(FakePlayReview::new(
        "gp:AOqpTOFm3x9Y",
        "Marta",
        1,
        20,
        "Crashes",
    ));
    let responder = GooglePlayResponder::new(config.clone()).unwrap();
    let conv = conversation("gp:AOqpTOFm3x9Y");
    let first = reply(
        "k1",
        "gp:AOqpTOFm3x9Y",
        "Thanks Marta, 3.1.3 restores pairing.",
    );
    let id = responder.send(&first, &conv).await.unwrap();
    assert_eq!(id, "gp:AOqpTOFm3x9Y/reply");
    assert_eq!(responder.send(&first, &conv).await.unwrap(), id);
    // A fresh responder (a restart) finds the same text in place: no second POST.
    let again = GooglePlayResponder::new(config.clone()).unwrap();
    assert_eq!(again.send(&first, &conv).await.unwrap(), id);
    assert_eq!(replies_posted(&fake), 1, "{:?}", fake.requests());
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.ends_with("/reviews/gp:AOqpTOFm3x9Y:reply")));
    assert_eq!(
        fake.reply_of("gp:AOqpTOFm3x9Y").as_deref(),
        Some("Thanks Marta, 3.1.3 restores pairing.")
    );
    let second = reply("k2", "gp:AOqpTOFm3x9Y", "Update: 3.1.4 is out.");
    responder.send(&second, &conv).await.unwrap();
    assert_eq!(
        fake.reply_of("gp:AOqpTOFm3x9Y").as_deref(),
        Some("Update: 3.1.4 is out.")
    );
    // Over 350 characters: refused before any request.
    let before = fake.requests().len();
    assert_refused(
        responder
            .send(&reply("k3", "gp:AOqpTOFm3x9Y", &"a".repeat(351)), &conv)
            .await,
        "350",
    );
    assert_eq!(fake.requests().len(), before, "checked before sending");
    // A review the API no longer shows; a 429: said, never doubled.
    assert_refused(
        responder
            .send(&reply("k4", "gp:nope", "Hi"), &conversation("gp:nope"))
            .await,
        "Play Console",
    );
    fake.rate_limit_next(1);
    expect_retryable(
        responder
            .send(&reply("k5", "gp:AOqpTOFm3x9Y", "Third"), &conv)
            .await,
    );
    assert_eq!(
        fake.reply_of("gp:AOqpTOFm3x9Y").as_deref(),
        Some("Update: 3.1.4 is out.")
    );
}

#[tokio::test]
async fn connectors_check_lists_one_review_or_says_what_to_fix() {
    let (fake, config) = setup().await;
    let quiet = super::check_credentials(&config).await.unwrap();
    assert_eq!(
        quiet,
        "com.acme.kettle: readable, no reviews in the last week (Google Play lists only the last week of reviews)"
    );
    fake.review(FakePlayReview::new(
        "gp:r1",
        "Marta R.",
        2,
        30,
        "Pairing fails",
    ));
    let ok = super::check_credentials(&config).await.unwrap();
    assert!(ok.starts_with("com.acme.kettle: reviews readable"), "{ok}");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.starts_with("GET") && r.contains("/reviews?maxResults=1")),
        "one review is enough: {:?}",
        fake.requests()
    );

    let mut other = config.clone();
    other.package_name = "com.acme.toaster".into();
    let wrong = super::check_credentials(&other).await.unwrap_err();
    assert!(
        matches!(&wrong, CheckError::Misconfigured(r) if r.contains("package_name com.acme.toaster")),
        "{wrong:?}"
    );
    let mut garbled = config.clone();
    garbled.key_file = crate::Secret::new("{\"private_key\": \"not a key\"}");
    let bad_key = super::check_credentials(&garbled).await.unwrap_err();
    assert!(
        matches!(&bad_key, CheckError::Misconfigured(r) if r.contains("JSON key") && !r.contains("not a key")),
        "{bad_key:?}"
    );

    // A deleted or rotated key: the token endpoint's invalid_grant, said as a revoked key.
    fake.revoke_key();
    let revoked = super::check_credentials(&config).await.unwrap_err();
    let CheckError::Refused(reason) = &revoked else {
        panic!("{revoked:?}")
    };
    assert!(
        reason.contains("invalid_grant") && reason.contains("key is revoked"),
        "{reason}"
    );
}
