//! The Reddit source, responder and credentials check against [`super::fake::FakeReddit`]:
//! what arrives in the sink, what the fake received, and how cut answers, 429, 5xx bursts,
//! expiring and revoked credentials, restarts and a failing sink are survived.

use super::fake::FakeReddit;
use super::{check_credentials, RedditConfig, RedditResponder, RedditSearch, RedditSource, Secret};
use crate::responder::testing::{assert_refused, assert_retryable, assert_retryable_once_gone};
use crate::responder::{self, Responder, SendError};
use crate::source::testing::{
    self, assert_last_error, assert_no_duplicates, ids, start_connected, MemorySink, WAIT,
};
use crate::source::{Amendment, CheckError, ConnectorState};

use earshot_core::{Network, PostKey, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "p-jcoLKBynTLew";
const CLIENT_SECRET: &str = "gko_LXELoV07ZBNUXrvWZfzE3aI";
const USER: &str = "acme_support";
const PASSWORD: &str = "correct horse battery staple";
const SOURCE: &str = "reddit:acme_support";

async fn fake() -> FakeReddit {
    FakeReddit::start(CLIENT_ID, CLIENT_SECRET, USER, PASSWORD)
        .await
        .unwrap()
}

fn config(fake: &FakeReddit) -> RedditConfig {
    let mut config = RedditConfig::new(
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        USER,
        Secret::new(PASSWORD),
    );
    config.www_url = fake.base_url();
    config.oauth_url = fake.base_url();
    config.subreddits = vec!["smarthome".into()];
    config.poll_interval = Duration::from_millis(30);
    config.recheck_interval = Duration::ZERO;
    config.request_timeout = Duration::from_secs(2);
    config.page_limit = 10;
    // The §0.3 regimes at 1/100: 5 s becomes 50 ms.
    config.backoff_scale = 0.01;
    config
}

type Running = testing::Running<RedditSource>;

fn start(config: RedditConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(RedditSource::new(config).unwrap()), sink)
}

#[tokio::test]
async fn a_post_and_a_comment_arrive_with_their_fields() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let link = fake.submit(
        "smarthome",
        "throwaway_kettle",
        "Acme K2 firmware 3.1 bricked?",
        "Support hasn't answered in 5 days & I'm out of tea <3",
    );
    let comment = fake.comment(&link, "tea_lover", "Same here. 3.0 -> 3.1 & it's dead.");
    let posts = sink.wait_for(2, WAIT).await;

    let post = &posts[0];
    assert_eq!(post.network, Network::Reddit);
    assert_eq!(post.external_id, link);
    assert_eq!(
        post.text,
        "Acme K2 firmware 3.1 bricked?\n\nSupport hasn't answered in 5 days & I'm out of tea <3"
    );
    assert_eq!(post.author.handle, "throwaway_kettle");
    assert!(post.author.external_id.starts_with("t2_"));
    assert_eq!(post.author.followers, None);
    assert_eq!(post.in_reply_to, None);
    let thing = fake.thing(&link).unwrap();
    assert_eq!(
        post.url.as_deref(),
        Some(
            format!(
                "{}{}",
                fake.base_url(),
                thing["permalink"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(
        post.created_at.timestamp(),
        thing["created_utc"].as_f64().unwrap() as i64
    );
    assert_eq!(post.from_brand, None);

    let reply = &posts[1];
    assert_eq!(reply.external_id, comment);
    assert_eq!(reply.in_reply_to.as_deref(), Some(link.as_str()));
    assert_eq!(reply.text, "Same here. 3.0 -> 3.1 & it's dead.");
    assert!(sink.cursor_of(SOURCE).is_some());
    assert_eq!(running.health.report().events_total, 2);

    // Every listing asked for unescaped text with a limit.
    let requests = fake.requests();
    assert!(requests.iter().any(|r| r.starts_with("/r/smarthome/new?")));
    assert!(requests
        .iter()
        .any(|r| r.starts_with("/r/smarthome/comments?")));
    for r in requests.iter().filter(|r| r.starts_with("/r/")) {
        assert!(r.contains("raw_json=1") && r.contains("limit=10"), "{r}");
    }
    running.stop().await;
}

#[tokio::test]
async fn the_same_thing_twice_is_delivered_once() {
    let fake = fake().await;
    let mut config = config(&fake);
    // The post is in the subreddit's listing and in both searches' results.
    config.searches = vec![
        RedditSearch::everywhere("\"acme kettle\""),
        RedditSearch::in_subreddit("kettle", "smarthome"),
    ];
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running.connected().await;
    let link = fake.submit("smarthome", "a", "My Acme kettle is dead", "");
    let elsewhere = fake.submit("tea", "b", "Acme kettle in r/tea", "");
    sink.wait_for(2, WAIT).await;
    // Several more polls re-read the same pages.
    let polls = fake.requests().len();
    running
        .until("more polls", |_| fake.requests().len() > polls + 8)
        .await;
    let posts = sink.posts();
    assert_no_duplicates(&posts);
    assert_eq!(ids(&posts), vec![link, elsewhere]);
    let requests = fake.requests();
    assert!(requests.iter().any(|r| r.starts_with("/search?")
        && r.contains("q=\"acme kettle\"")
        && r.contains("sort=new")));
    assert!(requests
        .iter()
        .any(|r| r.starts_with("/r/smarthome/search?") && r.contains("restrict_sr=1")));
    running.stop().await;
}

#[tokio::test]
async fn a_late_approved_older_post_is_still_heard() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let first = fake.submit("smarthome", "a", "first", "");
    let second = fake.submit("smarthome", "b", "second", "");
    sink.wait_for(2, WAIT).await;
    let created = |f: &str| fake.thing(f).unwrap()["created_utc"].as_f64().unwrap();
    // Written between the two, shown only now (spam filter, moderator approval).
    let late = fake.submit_at(
        "smarthome",
        "c",
        "late",
        (created(&first) + created(&second)) / 2.0,
    );
    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(ids(&posts), vec![first, second, late.clone()]);
    assert!(posts[2].created_at < posts[1].created_at);
    running.stop().await;
}

#[tokio::test]
async fn a_listing_cut_mid_answer_is_read_again_without_loss() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    fake.cut_next(1);
    let a = fake.submit("smarthome", "a", "one", "");
    let b = fake.submit("smarthome", "b", "two", "");
    let posts = sink.wait_for(2, WAIT).await;
    assert_eq!(ids(&posts), vec![a, b]);
    let report = running.health.report();
    assert!(report.errors_total >= 1, "{report:?}");
    assert_last_error(&report, "reading reddit's answer");
    running.connected().await;
    running.stop().await;
}

#[tokio::test]
async fn edits_and_deletions_become_amendments() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let link = fake.submit("smarthome", "a", "Kettle dead", "since 3.1");
    let comment = fake.comment(&link, "b", "mine too");
    let removed = fake.comment(&link, "c", "buy my kettle instead");
    sink.wait_for(3, WAIT).await;

    fake.edit(&comment, "mine too, fixed by unplugging it");
    let post = sink.first_edit().await;
    assert_eq!(post.external_id, comment);
    assert_eq!(post.text, "mine too, fixed by unplugging it");
    assert_eq!(post.in_reply_to.as_deref(), Some(link.as_str()));
    // Deleted and removed things leave the listings: only /api/info still shows them.
    fake.delete(&link);
    fake.remove(&removed);
    let amendments = sink.wait_for_amendments(3).await;
    let mut deleted: Vec<PostKey> = amendments[1..]
        .iter()
        .map(|a| match a {
            Amendment::Deleted(key) => key.clone(),
            other => panic!("expected a deletion, got {other:?}"),
        })
        .collect();
    deleted.sort();
    let mut expected = vec![
        PostKey::new(Network::Reddit, link.clone()),
        PostKey::new(Network::Reddit, removed.clone()),
    ];
    expected.sort();
    assert_eq!(deleted, expected);
    assert!(fake.requests().iter().any(|r| r.starts_with("/api/info?")));
    // Once each: later polls see nothing new.
    let polls = fake.requests().len();
    running
        .until("more polls", |_| fake.requests().len() > polls + 6)
        .await;
    assert_eq!(sink.amendments().len(), 3);
    assert_eq!(sink.posts().len(), 3);
    running.stop().await;
}

#[tokio::test]
async fn a_429_is_waited_out_until_the_reset() {
    let fake = fake().await;
    let waiting = fake.submit("smarthome", "a", "queued", "");
    fake.rate_limit_next(1, 1);
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());
    running.backs_off_saying("rate-limited for 1 s").await;
    let posts = sink.wait_for(1, WAIT).await;
    // Waited for the server's reset (not 60 s × scale = 0.6 s, not at once).
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids(&posts), vec![waiting]);
    assert_eq!(fake.served_429(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_5xx_burst_is_backed_off_exponentially() {
    let fake = fake().await;
    let waiting = fake.submit("smarthome", "a", "during the outage", "");
    fake.fail_next(3, 503);
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());
    let posts = sink.wait_for(1, WAIT).await;
    // 5 s, 10 s, 20 s scaled by 0.01, less 10 % jitter at most.
    assert!(
        started.elapsed() >= Duration::from_millis(315),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids(&posts), vec![waiting]);
    let report = running.health.report();
    assert_eq!(report.errors_total, 3, "{report:?}");
    assert_last_error(&report, "HTTP 503");
    // One attempt per backoff: three failed requests, then the poll that worked.
    let first_requests: Vec<String> = fake.requests().into_iter().take(4).collect();
    assert!(
        first_requests
            .iter()
            .all(|r| r.starts_with("/r/smarthome/new")),
        "{first_requests:?}"
    );
    running.connected().await;
    running.stop().await;
}

#[tokio::test]
async fn an_expiring_token_is_renewed_before_it_runs_out() {
    let fake = fake().await;
    fake.set_token_lifetime(Duration::from_secs(2));
    let mut config = config(&fake);
    // Renewed 1.6 s early: every 0.4 s.
    config.token_refresh_margin = Duration::from_millis(1600);
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running.connected().await;
    running
        .until("two renewals", |_| fake.tokens_issued() >= 3)
        .await;
    let link = fake.submit("smarthome", "a", "still heard", "");
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), vec![link]);
    // Renewed ahead of time: Reddit never had to refuse one.
    assert_eq!(fake.served_401(), 0);
    assert!(running.source.tokens_fetched() >= 3);
    running.stop().await;
}

#[tokio::test]
async fn a_token_refused_early_is_replaced_once() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    fake.expire_tokens();
    let link = fake.submit("smarthome", "a", "after the 401", "");
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), vec![link]);
    assert_eq!(fake.served_401(), 1);
    assert_eq!(fake.tokens_issued(), 2);
    assert_eq!(running.health.report().state, ConnectorState::Connected);
    running.stop().await;
}

#[tokio::test]
async fn a_revoked_app_fails_the_source() {
    let fake = fake().await;
    let (_sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    fake.revoke_app();
    let (reason, report) = running.ended_on_auth().await;
    assert!(reason.contains("client id/secret"), "{reason}");
    assert!(!reason.contains(CLIENT_SECRET) && !reason.contains(PASSWORD));
    assert_eq!(report.next_retry_at, None);
}

#[tokio::test]
async fn a_wrong_password_fails_the_source_with_invalid_grant() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.password = Secret::new("hunter2");
    let sink = Arc::new(MemorySink::default());
    let (reason, _) = start(config, sink).ended_on_auth().await;
    assert!(reason.contains("invalid_grant"), "{reason}");
    assert!(reason.contains("u/acme_support"), "{reason}");
    assert!(!reason.contains("hunter2"));
    assert!(fake.requests().is_empty(), "no API call without a token");
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_cursor_without_loss_or_duplicates() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.page_limit = 2;
    let before: Vec<String> = (0..2)
        .map(|i| fake.submit("smarthome", "a", &format!("before {i}"), ""))
        .collect();
    let sink = Arc::new(MemorySink::default());
    let running = start(config.clone(), sink.clone());
    sink.wait_for(2, WAIT).await;
    running.connected().await;
    running.stop().await;

    // More than a page written while the source was down.
    let during: Vec<String> = (0..5)
        .map(|i| fake.submit("smarthome", "b", &format!("during {i}"), ""))
        .collect();
    let running = start(config, sink.clone());
    sink.wait_for(7, WAIT).await;
    running.connected().await;
    let polls = fake.requests().len();
    running
        .until("more polls", |_| fake.requests().len() > polls + 4)
        .await;
    let posts = sink.posts();
    assert_no_duplicates(&posts);
    let expected: Vec<String> = before.into_iter().chain(during).collect();
    assert_eq!(ids(&posts), expected);
    // The gap was walked back with `after`.
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.starts_with("/r/smarthome/new?") && r.contains("after=t3_")));
    running.stop().await;
}

#[tokio::test]
async fn the_first_start_takes_the_newest_page_not_the_history() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.page_limit = 2;
    let all: Vec<String> = (0..5)
        .map(|i| fake.submit("smarthome", "a", &format!("old {i}"), ""))
        .collect();
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    sink.wait_for(2, WAIT).await;
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(ids(&sink.posts()), all[3..].to_vec());
    running.stop().await;
}

#[tokio::test]
async fn a_burst_into_a_listing_empty_at_the_first_start_is_paged_back() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.page_limit = 2;
    config.poll_interval = Duration::from_millis(300);
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running
        .until("the empty listings remembered", |_| {
            sink.cursor_of(SOURCE).is_some()
        })
        .await;
    // Five between two polls: more than a page.
    let burst: Vec<String> = (0..5)
        .map(|i| fake.submit("smarthome", "a", &format!("burst {i}"), ""))
        .collect();
    let posts = sink.wait_for(5, WAIT).await;
    assert_eq!(ids(&posts), burst);
    running.stop().await;
}

#[tokio::test]
async fn a_sink_failure_is_retried_not_fatal() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    sink.fail_next(2);
    let link = fake.submit("smarthome", "a", "stored at the third try", "");
    let running = start(config(&fake), sink.clone());
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), vec![link]);
    let report = running.health.report();
    assert_eq!(report.errors_total, 2);
    assert_last_error(&report, "could not store");
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.posts().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn the_request_budget_is_spread_instead_of_run_into() {
    let fake = fake().await;
    fake.set_rate_budget(6, Duration::from_secs(1));
    let mut config = config(&fake);
    config.poll_interval = Duration::from_millis(5);
    config.rate_limit_reserve = 4.0;
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running
        .until("a second window", |_| fake.requests().len() > 8)
        .await;
    let link = fake.submit("smarthome", "a", "heard while pacing", "");
    sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&sink.posts()), vec![link]);
    assert_eq!(fake.served_429(), 0, "the budget ran out");
    running.stop().await;
}

#[tokio::test]
async fn a_private_subreddit_is_reported_and_the_rest_still_heard() {
    let fake = fake().await;
    fake.make_private("secretsub");
    let mut config = config(&fake);
    config.subreddits = vec!["secretsub".into(), "smarthome".into()];
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    let link = fake.submit("smarthome", "a", "public", "");
    sink.wait_for(1, WAIT).await;
    running
        .until("the problem reported", |r| {
            r.health.report().state == ConnectorState::Failing
        })
        .await;
    let report = running.health.report();
    assert!(report
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("r/secretsub/new") && e.contains("403")));
    // A lasting problem is counted once, not every poll.
    let polls = fake.requests().len();
    running
        .until("more polls", |_| fake.requests().len() > polls + 8)
        .await;
    assert_eq!(running.health.report().errors_total, 1);
    assert_eq!(ids(&sink.posts()), vec![link]);
    running.stop().await;
}

fn conversation(customer: &str, root: &str) -> ReplyTarget {
    responder::testing::target("t2_1a2b3c4d", customer, root)
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    responder::testing::reply(Network::Reddit, in_reply_to, key, text)
}

#[tokio::test]
async fn a_reply_lands_under_the_comment_once_even_when_sent_twice() {
    let fake = fake().await;
    let link = fake.submit("smarthome", "throwaway_kettle", "Kettle dead", "");
    let comment = fake.comment(&link, "throwaway_kettle", "still dead");
    let responder = RedditResponder::new(config(&fake)).unwrap();
    let conv = conversation("throwaway_kettle", &link);
    let answer = reply(
        &comment,
        "conv-7-draft-1",
        "Sorry about that! We've sent you a chat request with a fix.",
    );

    let first = responder.send(&answer, &conv).await.unwrap();
    let second = responder.send(&answer, &conv).await.unwrap();
    assert_eq!(first, second);
    assert!(first.starts_with("t1_"));
    assert_eq!(fake.comments_created(), 1);
    let received = fake.received_comments();
    assert_eq!(
        received.len(),
        1,
        "the retry found the comment and did not post"
    );
    assert_eq!(received[0].api_type, "json");
    assert_eq!(received[0].thing_id, comment);
    assert_eq!(
        received[0].text,
        "Sorry about that! We've sent you a chat request with a fix."
    );
    assert!(received[0].user_agent.ends_with("(by /u/acme_support)"));
    let created = fake.thing(&first).unwrap();
    assert_eq!(created["parent_id"], comment.as_str());
    assert_eq!(created["link_id"], link.as_str());
    assert_eq!(created["author"], USER);

    // An empty target falls back to the conversation's root.
    let on_root = responder
        .send(&reply("", "conv-7-draft-2", "Fixed in 3.1.1."), &conv)
        .await
        .unwrap();
    assert_eq!(fake.thing(&on_root).unwrap()["parent_id"], link.as_str());
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_looking_not_by_posting_again() {
    let fake = fake().await;
    let link = fake.submit("smarthome", "a", "Kettle dead", "");
    let responder = RedditResponder::new(config(&fake)).unwrap();
    let conv = conversation("a", &link);
    // The comment is made, but the gateway times out on the answer.
    fake.lose_next_comment_answer();
    let sent = responder
        .send(&reply(&link, "k-lost", "We're on it."), &conv)
        .await
        .unwrap();
    assert_eq!(fake.thing(&sent).unwrap()["body"], "We're on it.");
    assert_eq!(fake.comments_created(), 1);
    // A retry (the store re-sends it after a crash) posts nothing either.
    let again = responder
        .send(&reply(&link, "k-lost", "We're on it."), &conv)
        .await
        .unwrap();
    assert_eq!(again, sent);
    assert_eq!(fake.received_comments().len(), 1);

    // When the check itself fails, nothing is posted blindly.
    fake.fail_next(1, 503);
    assert_retryable(
        responder
            .send(&reply(&link, "k-503", "Second answer."), &conv)
            .await,
        "HTTP 503",
    );
    assert_eq!(fake.received_comments().len(), 1);
}

#[tokio::test]
async fn refusals_come_from_the_json_errors_envelope() {
    let fake = fake().await;
    let link = fake.submit("smarthome", "a", "Kettle dead", "");
    let comment = fake.comment(&link, "b", "same");
    let responder = RedditResponder::new(config(&fake)).unwrap();
    let conv = conversation("a", &link);

    fake.comment_error_next(
        "RATELIMIT",
        "You're doing that too much. Try again in 9 minutes.",
        "ratelimit",
    );
    match responder.send(&reply(&comment, "k1", "hi"), &conv).await {
        Err(SendError::Retryable { network, reason }) => {
            assert_eq!(network, Network::Reddit);
            assert!(
                reason.contains("RATELIMIT") && reason.contains("retry in 540 s"),
                "{reason}"
            );
        }
        other => panic!("expected a retryable error, got {other:?}"),
    }
    fake.delete(&comment);
    assert_refused(
        responder.send(&reply(&comment, "k2", "hi"), &conv).await,
        "DELETED_COMMENT",
    );
    fake.lock_thread(&link);
    assert_refused(
        responder.send(&reply(&link, "k3", "hi"), &conv).await,
        "THREAD_LOCKED",
    );
    assert_refused(
        responder
            .send(&reply("not-a-fullname", "k4", "hi"), &conv)
            .await,
        "fullname",
    );
    assert_eq!(fake.comments_created(), 0);
    // A 429 says the budget is spent for 30 s: this reply and the next are handed back at
    // once as retryable, rather than held past the sender's claim.
    let posted = fake.received_comments().len();
    fake.rate_limit_next(1, 30);
    let started = Instant::now();
    for key in ["k5", "k5-again"] {
        assert_retryable(
            responder.send(&reply(&link, key, "hi"), &conv).await,
            "30 s",
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.received_comments().len(), posted);
    let responder = RedditResponder::new(config(&fake)).unwrap();
    fake.revoke_app();
    assert_refused(
        responder.send(&reply(&link, "k6", "hi"), &conv).await,
        "client id/secret",
    );
    assert_retryable_once_gone(
        fake,
        &RedditResponder::new(config_for_dead()).unwrap(),
        &reply(&link, "k7", "hi"),
        &conv,
    )
    .await;
}

/// A config pointing at a port nothing listens on.
fn config_for_dead() -> RedditConfig {
    let mut config = RedditConfig::new(
        CLIENT_ID,
        Secret::new(CLIENT_SECRET),
        USER,
        Secret::new(PASSWORD),
    );
    config.www_url = "http://127.0.0.1:9".into();
    config.oauth_url = "http://127.0.0.1:9".into();
    config.request_timeout = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn check_credentials_says_who_we_are_or_what_to_fix() {
    let fake = fake().await;
    let who = check_credentials(&config(&fake)).await.unwrap();
    assert!(who.starts_with("u/acme_support (t2_"), "{who}");

    let mut wrong = config(&fake);
    wrong.password = Secret::new("hunter2");
    match check_credentials(&wrong).await {
        Err(CheckError::Refused(reason)) => assert!(reason.contains("invalid_grant"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut empty = config(&fake);
    empty.client_id = String::new();
    assert!(matches!(
        check_credentials(&empty).await,
        Err(CheckError::Misconfigured(_))
    ));
    assert!(matches!(
        check_credentials(&config_for_dead()).await,
        Err(CheckError::Unreachable(_))
    ));
    fake.revoke_app();
    assert!(matches!(
        check_credentials(&config(&fake)).await,
        Err(CheckError::Refused(_))
    ));
}

#[tokio::test]
async fn the_fake_pages_escapes_and_throttles_like_reddit() {
    let fake = fake().await;
    let things: Vec<String> = (0..5)
        .map(|i| fake.submit("smarthome", "a", &format!("t{i} & <b>"), ""))
        .collect();
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{}/api/v1/access_token", fake.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("User-Agent", "linux:test:v1 (by /u/acme_support)")
        .form(&[
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 86_400);
    let bearer = format!("bearer {}", token["access_token"].as_str().unwrap());
    let page = |query: &str, agent: &'static str| {
        let request = client
            .get(format!("{}/r/smarthome/new?{query}", fake.base_url()))
            .header("Authorization", &bearer)
            .header("User-Agent", agent);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let remaining = response
                .headers()
                .get("X-Ratelimit-Remaining")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, remaining, body)
        }
    };
    const AGENT: &str = "linux:test:v1 (by /u/acme_support)";
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["data"]["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["data"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, remaining, body) = page("limit=2&raw_json=1", AGENT).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(remaining.as_deref(), Some("999.0"));
    assert_eq!(names(&body), vec![things[4].clone(), things[3].clone()]);
    assert_eq!(body["data"]["after"], things[3].as_str());
    assert_eq!(body["data"]["children"][0]["data"]["title"], "t4 & <b>");
    let (_, _, body) = page(&format!("limit=2&after={}", things[3]), AGENT).await;
    assert_eq!(names(&body), vec![things[2].clone(), things[1].clone()]);
    // Without raw_json=1 the text is HTML-escaped.
    assert_eq!(
        body["data"]["children"][0]["data"]["title"],
        "t2 &amp; &lt;b&gt;"
    );
    // `before` gives the page just newer than the anchor.
    let (_, _, body) = page(&format!("limit=2&before={}", things[1]), AGENT).await;
    assert_eq!(names(&body), vec![things[3].clone(), things[2].clone()]);
    // An anchor that left the listing gives an empty page (PROTOCOLS.md §4.6).
    fake.remove(&things[1]);
    let (_, _, body) = page(&format!("limit=2&before={}", things[1]), AGENT).await;
    assert!(names(&body).is_empty());
    // A generic User-Agent is throttled.
    let (status, _, _) = page("limit=2", "reqwest/0.12").await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS);
    // A wrong password is refused with HTTP 200.
    let refused = client
        .post(format!("{}/api/v1/access_token", fake.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", USER),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::OK);
    assert_eq!(
        refused.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"error": "invalid_grant"})
    );
}
