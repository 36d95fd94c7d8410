//! The App Store source and responder against [`super::fake::FakeAppStore`]: what arrives in
//! the sink, what the fake received, and how edits, paging, restarts, 401s, 429s and
//! repeated replies come out.

use super::config::AppStoreConfig;
use super::fake::{FakeAppStore, FakeReview};
use super::jwt::generate_pem;
use super::{AppStoreResponder, AppStoreSource};
use crate::responder::testing::{assert_refused, expect_refused, expect_retryable};
use crate::responder::Responder;
use crate::source::testing::{self, MemorySink, WAIT};
use crate::source::{Amendment, ConnectorState, SourceError};
use chrono::{Duration as Days, Utc};
use earshot_core::{Network, NewPost, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::Duration;

const ISSUER: &str = "57246542-96fe-1a63-e053-0824d011072a";
const KID: &str = "2X9R4HXF34";
const APP: &str = "1473658921";
const SOURCE: &str = "appstore:1473658921";

struct Setup {
    fake: FakeAppStore,
    config: AppStoreConfig,
}

async fn setup() -> Setup {
    let pem = generate_pem();
    let mut config = AppStoreConfig::new(ISSUER, KID, pem, APP);
    let public = config.signer().unwrap().public_key();
    let fake = FakeAppStore::start(public, KID, ISSUER, APP).await.unwrap();
    config.api_url = fake.base_url();
    config.poll_interval = Duration::from_millis(100);
    config.request_timeout = Duration::from_secs(2);
    config.page_limit = 2;
    config.backoff_scale = 0.01;
    Setup { fake, config }
}

fn review(id: &str, rating: u8, minutes_ago: i64, body: &str) -> FakeReview {
    FakeReview {
        id: id.into(),
        rating,
        title: Some(format!("Review {id}")),
        body: Some(body.into()),
        nickname: format!("nick_{id}"),
        created: Utc::now() - Days::minutes(minutes_ago),
        territory: "DNK".into(),
    }
}

type Running = testing::Running<AppStoreSource>;

fn start(config: &AppStoreConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(AppStoreSource::new(config.clone()).unwrap()), sink)
}

fn ids(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.external_id.clone()).collect()
}

fn list_requests(fake: &FakeAppStore) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.contains("/customerReviews?"))
        .collect()
}

#[tokio::test]
async fn reviews_are_heard_oldest_first_across_pages_with_the_rating_leading() {
    let Setup { fake, config } = setup().await;
    fake.review(review("r1", 1, 50, "Crashes at launch since 3.1"));
    fake.review(review("r2", 5, 40, "Lovely kettle app"));
    fake.review(review("r3", 2, 30, "Timer resets"));
    // Older than the first walk's backfill window: not heard.
    fake.review(review("ancient", 3, 60 * 24 * 45, "From last season"));
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(ids(&posts), ["r1", "r2", "r3"]);
    assert!(
        posts[0].text.starts_with("★☆☆☆☆ 1/5 Review r1\nCrashes"),
        "{}",
        posts[0].text
    );
    assert_eq!(posts[0].network, Network::AppStore);
    assert_eq!(posts[0].author.handle, "nick_r1");
    assert!(posts[0]
        .raw
        .as_deref()
        .unwrap()
        .contains("\"territory\":\"DNK\""));
    // Paged with limit=2 and the opaque cursor followed; the ancient review stopped the walk.
    let lists = list_requests(&fake);
    assert!(
        lists[0].contains("sort=-createdDate") && lists[0].contains("limit=2"),
        "{lists:?}"
    );
    assert!(lists[1].contains("cursor="), "{lists:?}");
    // Later walks hear nothing twice.
    fake.review(review("r4", 4, 1, "Better now"));
    let posts = sink.wait_for(4, WAIT).await;
    assert_eq!(ids(&posts), ["r1", "r2", "r3", "r4"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.posts().len(), 4, "{:?}", ids(&sink.posts()));
    let cursor: serde_json::Value = serde_json::from_str(&sink.cursor_of(SOURCE).unwrap()).unwrap();
    assert_eq!(cursor["v"], 1);
    assert_eq!(cursor["marks"].as_object().unwrap().len(), 4);
    running.stop().await;
}

#[tokio::test]
async fn an_edited_review_becomes_an_edited_post() {
    let Setup { fake, config } = setup().await;
    fake.review(review("r1", 1, 20, "Crashes at launch"));
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(1, WAIT).await;
    fake.edit("r1", 4, "Fixed by 3.1.1, thanks");
    let post = sink.first_edit().await;
    assert_eq!(post.external_id, "r1");
    assert!(post.text.starts_with("★★★★☆ 4/5"), "{}", post.text);
    assert!(post.text.contains("Fixed by 3.1.1"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.amendments().len(), 1, "an edit is heard once");
    running.stop().await;
}

#[tokio::test]
async fn a_review_gone_from_the_list_is_marked_deleted_once_and_health_says_when_it_polled() {
    let Setup { fake, config } = setup().await;
    // Three pages of two: the walk must be whole before anything counts as gone.
    for (i, id) in ["g1", "g2", "g3", "g4", "g5"].iter().enumerate() {
        fake.review(review(id, 2, 50 - i as i64, "Timer resets"));
    }
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(5, WAIT).await;
    assert!(
        running.health.report().last_poll_at.is_some(),
        "health names the last poll"
    );
    assert!(sink.amendments().is_empty(), "nothing gone yet");
    fake.remove("g2");
    running
        .until("the removal heard", |_| !sink.amendments().is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let amendments = sink.amendments();
    assert_eq!(amendments.len(), 1, "marked once: {amendments:?}");
    assert!(
        matches!(&amendments[0], Amendment::Deleted(key) if key.external_id == "g2" && key.network == Network::AppStore),
        "{amendments:?}"
    );
    assert_eq!(sink.posts().len(), 5, "the others stay as they were");
    let before = running.health.report().last_poll_at;
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        running.health.report().last_poll_at > before,
        "every walk counts"
    );
    running.stop().await;
}

#[tokio::test]
async fn connectors_check_reads_one_review_or_says_what_to_fix() {
    let Setup { fake, config } = setup().await;
    fake.review(review("c1", 5, 5, "Great"));
    let ok = super::check_credentials(&config).await.unwrap();
    assert!(ok.starts_with("app 1473658921: reviews readable"), "{ok}");
    let mut other = config.clone();
    other.app_id = "999".into();
    let wrong = super::check_credentials(&other).await.unwrap_err();
    assert!(
        matches!(&wrong, crate::source::CheckError::Misconfigured(r) if r.contains("app_id 999")),
        "{wrong:?}"
    );
    fake.revoke();
    assert!(matches!(
        super::check_credentials(&config).await,
        Err(crate::source::CheckError::Refused(_))
    ));
}

#[tokio::test]
async fn a_restart_resumes_without_gaps_or_doubles() {
    let Setup { fake, config } = setup().await;
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        fake.review(review(id, 3, 100 - i as i64, "x"));
    }
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(3, WAIT).await;
    running.stop().await;
    // While earshot is down: two new reviews, one of them made visible late (older date).
    fake.review(review("d", 2, 5, "new"));
    fake.review(review("late", 1, 200, "visible late"));
    let running = start(&config, sink.clone());
    let posts = sink.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let all = ids(&sink.posts());
    assert_eq!(all.len(), 5, "{all:?}");
    for id in ["a", "b", "c", "d", "late"] {
        assert_eq!(
            all.iter().filter(|x| *x == id).count(),
            1,
            "{id} in {all:?}"
        );
    }
    assert_eq!(ids(&posts[3..]), ["late", "d"]);
    running.stop().await;
}

#[tokio::test]
async fn a_stale_token_is_signed_anew_and_a_revoked_key_stops_the_source_with_what_to_do() {
    let Setup { fake, config } = setup().await;
    fake.review(review("r1", 1, 20, "x"));
    fake.refuse_next_tokens(1);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    sink.wait_for(1, WAIT).await;
    assert_eq!(
        running.source.tokens_signed(),
        2,
        "re-signed once after the 401"
    );
    assert_eq!(fake.tokens().len(), 2);
    fake.revoke();
    let before = fake.requests().len();
    let (result, health) = running.ended().await;
    let Err(SourceError::Auth(reason)) = result else {
        panic!("{result:?}")
    };
    assert!(
        reason.contains("issuer_id") && reason.contains("revoked"),
        "{reason}"
    );
    let report = health.report();
    assert_eq!(report.state, ConnectorState::Failing);
    // One request with the cached token, one with a fresh one; then no loop.
    assert_eq!(fake.requests().len() - before, 2);
    assert!(!report.last_error.unwrap_or_default().contains("BEGIN"));
}

#[tokio::test]
async fn a_429_is_waited_out_and_nothing_is_lost_or_doubled() {
    let Setup { fake, config } = setup().await;
    fake.review(review("r1", 1, 20, "x"));
    fake.review(review("r2", 2, 10, "y"));
    fake.review(review("r3", 3, 5, "z"));
    fake.rate_limit_next(2);
    fake.fail_next(&[503]);
    let sink = Arc::new(MemorySink::default());
    let running = start(&config, sink.clone());
    running.state(ConnectorState::BackingOff).await;
    assert!(running.error().contains("budget"), "{}", running.error());
    let posts = sink.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ids(&posts), ["r1", "r2", "r3"]);
    assert_eq!(sink.posts().len(), 3);
    running.connected().await;
    running.stop().await;
}

fn conversation(root: &str) -> ReplyTarget {
    crate::responder::testing::target("customer", "customer", root)
}

fn reply(key: &str, review: &str, text: &str) -> Reply {
    crate::responder::testing::reply(Network::AppStore, review, key, text)
}

#[tokio::test]
async fn a_reply_sets_the_reviews_single_response_once_and_a_new_one_replaces_it() {
    let Setup { fake, config } = setup().await;
    fake.review(review("r1", 1, 20, "Crashes"));
    let responder = AppStoreResponder::new(config.clone()).unwrap();
    let conv = conversation("r1");
    let first = reply("k1", "r1", "Sorry! 3.1.1 fixes the crash.");
    let id = responder.send(&first, &conv).await.unwrap();
    assert_eq!(responder.send(&first, &conv).await.unwrap(), id);
    // A fresh responder (a restart) with the same reply finds it in place: no second POST.
    let again = AppStoreResponder::new(config.clone()).unwrap();
    assert_eq!(again.send(&first, &conv).await.unwrap(), id);
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "{:?}", fake.requests());
    assert_eq!(fake.responses()["r1"].body, "Sorry! 3.1.1 fixes the crash.");
    // Another reply replaces it: the old response deleted, the new created.
    let second = reply("k2", "r1", "Update: 3.1.2 is out.");
    let new_id = responder.send(&second, &conv).await.unwrap();
    assert_ne!(new_id, id);
    let responses = fake.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses["r1"].body, "Update: 3.1.2 is out.");
    assert!(fake
        .requests()
        .iter()
        .any(|r| r == &format!("DELETE /v1/customerReviewResponses/{id}")));
    // Too long, a deleted review, a 429: said before or by Apple, never doubled.
    let long = reply("k3", "r1", &"a".repeat(5971));
    let before = fake.requests().len();
    expect_refused(responder.send(&long, &conv).await);
    assert_eq!(fake.requests().len(), before, "checked before sending");
    assert_refused(
        responder
            .send(&reply("k4", "nope", "Hi"), &conversation("nope"))
            .await,
        "deleted",
    );
    fake.rate_limit_next(1);
    expect_retryable(
        responder
            .send(&reply("k5", "r1", "Third text"), &conv)
            .await,
    );
    assert_eq!(fake.responses()["r1"].body, "Update: 3.1.2 is out.");
}
