//! The X source, responder, rule sync, token renewal and credential check against
//! [`super::fake::FakeX`]: what arrives in the sink, what the fake received, and how drops,
//! stalls, restarts, edits, deletes, 401/429/5xx and sink failures are survived.

use super::fake::{
    Endpoint, FakeX, NewPost as FakePost, BEARER, BRAND_ID, BRAND_USERNAME, CLIENT_ID,
    REFRESH_TOKEN, USER_TOKEN,
};
use super::{check_credentials, Secret, XConfig, XMode, XResponder, XSource, XUserAuth};
use crate::responder::testing::{
    assert_refused, assert_retryable, assert_retryable_once_gone, expect_refused,
};
use crate::responder::{self, Responder, SendError};
use crate::source::testing::{
    self, assert_last_error, assert_no_duplicates, ids, start_connected, MemorySink, WAIT,
};
use crate::source::{CheckError, ConnectorState, SourceError};
use chrono::Utc;
use earshot_core::{Amendment, Network, PostKey, Reply, ReplyState, ReplyTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SOURCE: &str = "x:AcmeHelp";

fn user_auth() -> XUserAuth {
    XUserAuth {
        access_token: Secret::new(USER_TOKEN),
        refresh_token: Some(Secret::new(REFRESH_TOKEN)),
        client_id: CLIENT_ID.into(),
        client_secret: None,
    }
}

fn config(fake: &FakeX) -> XConfig {
    let mut config = XConfig::new(
        fake.base_url(),
        BRAND_ID,
        BRAND_USERNAME,
        Secret::new(BEARER),
    );
    config.user_auth = Some(user_auth());
    config.keywords = vec!["acme kettle".into()];
    // Six missed keep-alives: slow enough for a busy test machine, fast enough for the test.
    config.stall_timeout = Duration::from_millis(600);
    config.request_timeout = Duration::from_secs(2);
    config.reconcile_interval = Duration::from_secs(60);
    config.poll_interval = Duration::from_millis(100);
    config.page_size = 10;
    // X's regimes in milliseconds: 5 s → 5 ms, 60 s → 60 ms.
    config.backoff_scale = 0.001;
    config
}

type Running = testing::Running<XSource>;

fn start(config: XConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(XSource::new(config).unwrap()), sink)
}

/// Lets in-flight deliveries land, so a test can assert nothing more arrived.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// A read window used up during the stream's periodic gap fill postpones the next fill; the
/// working stream is neither torn down nor reconnected, and live posts keep arriving.
#[tokio::test]
async fn a_used_up_search_window_does_not_drop_a_working_stream() {
    let fake = FakeX::start().await.unwrap();
    let mut config = config(&fake);
    config.reconcile_interval = Duration::from_millis(50);
    let (sink, running) = start_connected(|sink| start(config, sink)).await;
    assert_eq!(fake.stream_connects(), 1);
    let before = fake.requests(Endpoint::Search);
    fake.rate_limit_next(Endpoint::Search, 1, Duration::from_secs(60));
    fake.rate_limit_next(Endpoint::Mentions, 1, Duration::from_secs(60));
    // Several reconcile periods: one fill meets the used-up window, the next ones wait.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mention = fake.post(FakePost::new("priya_n", "@AcmeHelp is the kettle back?"));
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(posts[0].external_id, mention);
    assert_eq!(fake.stream_connects(), 1, "the stream was not reconnected");
    assert!(
        fake.requests(Endpoint::Search) + fake.requests(Endpoint::Mentions) <= before + 2,
        "the fills waited for the window's reset"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_mention_on_the_stream_arrives_with_author_reach_and_parent() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let parent = fake.post(FakePost::new(BRAND_USERNAME, "Version 3 of the app is out"));
    let mention = fake.post(
        FakePost::new(
            "priya_n",
            "@AcmeHelp my order #4471 arrived with a cracked lid",
        )
        .replying_to(&parent),
    );

    let posts = sink.wait_for(2, WAIT).await;
    let brand = &posts[0];
    assert_eq!(brand.external_id, parent);
    assert_eq!(
        brand.from_brand,
        Some(true),
        "the brand's own post is known as such"
    );
    let post = &posts[1];
    assert_eq!(post.network, Network::X);
    assert_eq!(post.external_id, mention);
    assert_eq!(post.author.handle, "priya_n");
    assert_eq!(post.author.display_name.as_deref(), Some("Priya n"));
    assert_eq!(post.author.followers, Some(812));
    assert_eq!(
        post.text,
        "@AcmeHelp my order #4471 arrived with a cracked lid"
    );
    assert_eq!(post.in_reply_to.as_deref(), Some(parent.as_str()));
    assert_eq!(post.lang.as_deref(), Some("en"));
    assert_eq!(post.from_brand, None);
    assert_eq!(
        post.url.as_deref(),
        Some(format!("https://x.com/priya_n/status/{mention}").as_str())
    );
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(mention.as_str()));
    let report = running.health.report();
    assert_eq!(report.events_total, 2);
    assert_eq!(fake.stream_connects(), 1);
    // The rule earshot added, tagged as ours.
    let rules = fake.rules();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].2.as_deref(), Some("earshot:AcmeHelp:1"));
    assert_eq!(
        rules[0].1,
        "(@AcmeHelp OR from:AcmeHelp OR \"acme kettle\") -is:retweet"
    );
    running.stop().await;
}

#[tokio::test]
async fn rules_sync_adds_ours_removes_stale_ours_and_keeps_others() {
    let fake = FakeX::start().await.unwrap();
    let marketing = fake.add_foreign_rule("(kettle deals) -is:retweet", "marketing");
    let other_brand = fake.add_foreign_rule("(@AcmeShop) -is:retweet", "earshot:AcmeShop:1");
    let stale = fake.add_foreign_rule("(@AcmeOld) -is:retweet", "earshot:AcmeHelp:1");
    let stale_extra = fake.add_foreign_rule("(old words) -is:retweet", "earshot:AcmeHelp:2");
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let rules = fake.rules();
    let ids: Vec<&str> = rules.iter().map(|r| r.0.as_str()).collect();
    assert!(ids.contains(&marketing.as_str()), "{rules:?}");
    assert!(ids.contains(&other_brand.as_str()), "{rules:?}");
    assert!(!ids.contains(&stale.as_str()), "{rules:?}");
    assert!(!ids.contains(&stale_extra.as_str()), "{rules:?}");
    let ours: Vec<_> = rules
        .iter()
        .filter(|r| r.2.as_deref() == Some("earshot:AcmeHelp:1"))
        .collect();
    assert_eq!(ours.len(), 1, "{rules:?}");
    assert!(ours[0].1.starts_with("(@AcmeHelp OR"), "{rules:?}");

    // Posts that only another tool's rule matched are not ours to hear.
    fake.post(FakePost::new("deals_bot", "kettle deals today only"));
    let heard = fake.post(FakePost::new("sam", "is the acme kettle dishwasher safe?"));
    let posts = sink.wait_for(1, WAIT).await;
    settle().await;
    assert_eq!(self::ids(&sink.posts()), vec![heard]);
    assert_eq!(posts.len(), 1);
    running.stop().await;

    // A second start finds everything in place and changes nothing.
    let before = fake.rules();
    let running = start(config(&fake), sink.clone());
    running.connected().await;
    assert_eq!(fake.rules(), before);
    running.stop().await;
}

#[tokio::test]
async fn a_refused_rule_fails_the_source_with_a_config_error_naming_it() {
    let fake = FakeX::start().await.unwrap();
    let stale = fake.add_foreign_rule("(@AcmeOld) -is:retweet", "earshot:AcmeHelp:1");
    fake.refuse_rules_containing("lang:klingon");
    let mut config = config(&fake);
    config.keywords = vec!["lang:klingon".into()];
    let running = start(config, Arc::new(MemorySink::default()));
    let health = running.health.clone();
    match running.ended().await.0 {
        Err(SourceError::Config(reason)) => {
            assert!(reason.contains("earshot:AcmeHelp:1"), "{reason}");
            assert!(reason.contains("lang:klingon"), "{reason}");
            assert!(reason.contains("invalid operator"), "{reason}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    assert_eq!(health.report().state, ConnectorState::Failing);
    // Validated before anything changed: the old rule is still there, nothing was added.
    let rules = fake.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].0, stale);
    assert_eq!(fake.stream_connects(), 0);
}

#[tokio::test]
async fn a_drop_mid_line_reconnects_and_fills_the_gap_without_loss_or_duplicates() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let first = fake.post(FakePost::new("a_user", "@AcmeHelp one"));
    fake.stream_post(&first); // The same line twice.
    let cut = fake.post(FakePost::new("b_user", "@AcmeHelp two").quiet());
    fake.cut_stream_in(&cut);
    // Posted while the source reconnects: only the gap fill can hear it.
    let third = fake.post(FakePost::new("c_user", "my acme kettle whistles").quiet());

    sink.wait_for(3, WAIT).await;
    running
        .until("a reconnect", |_| fake.stream_connects() >= 2)
        .await;
    running.connected().await;
    // Overlap: the stream repeats what the gap fill delivered.
    fake.stream_post(&third);
    let fourth = fake.post(FakePost::new("d_user", "@AcmeHelp four"));
    sink.wait_for(4, WAIT).await;
    settle().await;
    let posts = sink.posts();
    assert_no_duplicates(&posts);
    assert_eq!(ids(&posts), vec![first.clone(), cut, third, fourth.clone()]);
    // The ids crossed from 18 to 19 digits and the cursor still points at the newest.
    assert!(fourth.len() > first.len());
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(fourth.as_str()));
    running.stop().await;
}

#[tokio::test]
async fn out_of_order_posts_are_all_delivered_and_the_cursor_is_the_newest() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let older = fake.post(FakePost::new("a_user", "@AcmeHelp first").quiet());
    let newer = fake.post(FakePost::new("b_user", "@AcmeHelp second").quiet());
    fake.stream_post(&newer);
    fake.stream_post(&older);
    let posts = sink.wait_for(2, WAIT).await;
    assert_eq!(ids(&posts), vec![newer.clone(), older]);
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(newer.as_str()));

    // A reconnect's gap fill starts after the newest: nothing is heard twice.
    fake.drop_streams();
    running
        .until("a reconnect", |_| fake.stream_connects() >= 2)
        .await;
    running.connected().await;
    settle().await;
    assert_eq!(sink.posts().len(), 2);
    running.stop().await;
}

#[tokio::test]
async fn edits_and_deletes_become_amendments() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let original = fake.post(FakePost::new("priya_n", "@AcmeHelp the lid cracked"));
    sink.wait_for(1, WAIT).await;
    let edited = fake
        .edit(&original, "@AcmeHelp the lid and the handle cracked", true)
        .unwrap();
    let post = sink.first_edit().await;
    assert_eq!(
        post.external_id, original,
        "the edit keeps the original key"
    );
    assert_eq!(post.text, "@AcmeHelp the lid and the handle cracked");
    assert_eq!(sink.posts().len(), 1, "an edit is not a new post");
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(edited.as_str()));
    let final_text = "@AcmeHelp the lid and the handle cracked, and the base";
    fake.edit(&edited, final_text, true).unwrap();
    let amendments = sink.wait_for_amendments(2).await;
    assert!(
        matches!(&amendments[1], Amendment::Edited(p) if p.external_id == original && p.text == final_text),
        "{amendments:?}"
    );

    // Older versions arriving late must not undo the newest edit.
    fake.stream_post(&original);
    fake.stream_post(&edited);

    // An edit of a post this run never heard: delivered as a post and as an edit.
    let unseen = fake.post(FakePost::new("sam", "@AcmeHelp hello").quiet());
    fake.edit(&unseen, "@AcmeHelp hello, where is my order?", true)
        .unwrap();
    let posts = sink.wait_for(2, WAIT).await;
    assert_eq!(posts[1].external_id, unseen);
    assert_eq!(posts[1].text, "@AcmeHelp hello, where is my order?");
    let amendments = sink.wait_for_amendments(3).await;
    assert!(
        matches!(&amendments[2], Amendment::Edited(p) if p.external_id == unseen),
        "{amendments:?}"
    );

    // X tells of a delete only when asked about the post: here, by a reply to it.
    fake.delete(&original);
    let reply =
        fake.post(FakePost::new("priya_n", "@AcmeHelp never mind, sorted").replying_to(&original));
    let posts = sink.wait_for(3, WAIT).await;
    assert_eq!(posts[2].external_id, reply);
    let amendments = sink.wait_for_amendments(4).await;
    assert_eq!(
        amendments[3],
        Amendment::Deleted(PostKey::new(Network::X, original.clone()))
    );
    settle().await;
    assert_eq!(sink.amendments().len(), 4, "{:?}", sink.amendments());
    running.stop().await;
}

#[tokio::test]
async fn an_edit_the_store_failed_to_apply_is_heard_again() {
    let fake = FakeX::start().await.unwrap();
    let sink = Arc::new(MemorySink::default());
    sink.fail_next_amendments(1);
    let running = start(config(&fake), sink.clone());
    let first = fake.post(FakePost::new("a_user", "@AcmeHelp first"));
    sink.wait_for(1, WAIT).await;

    // An edit of a post this run never heard: the post is stored, the edit is not.
    let unseen = fake.post(FakePost::new("sam", "@AcmeHelp hello").quiet());
    let edited = fake
        .edit(&unseen, "@AcmeHelp hello, where is my order?", true)
        .unwrap();
    sink.wait_for_amendments(1).await;
    settle().await;
    // The cursor never covered the failed edit: the gap fill read it again and applied it.
    assert_eq!(ids(&sink.posts()), vec![first, unseen.clone()]);
    let amendments = sink.amendments();
    assert_eq!(amendments.len(), 1, "{amendments:?}");
    assert!(matches!(&amendments[0], Amendment::Edited(p) if p.external_id == unseen));
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(edited.as_str()));
    assert!(running.health.report().errors_total >= 1);
    running.stop().await;
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_until_the_reset() {
    let fake = FakeX::start().await.unwrap();
    let waiting = fake.post(FakePost::new("a_user", "@AcmeHelp queued"));
    fake.rate_limit_next(Endpoint::Stream, 1, Duration::from_millis(900));
    let sink = Arc::new(MemorySink::default());
    // A cursor before the post, so the gap fill reads it.
    sink.set_cursor(SOURCE, "999999999999999990");
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());

    running.backs_off_saying("rate-limited until").await;
    let posts = sink.wait_for(1, WAIT).await;
    // Waited for `x-rate-limit-reset` (≥ 0.9 s ahead), not the scaled 60-s regime (60 ms).
    assert!(
        started.elapsed() >= Duration::from_millis(850),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids(&posts), vec![waiting]);
    assert_eq!(fake.requests(Endpoint::Stream), 2);
    running.stop().await;
}

#[tokio::test]
async fn a_5xx_burst_is_backed_off_exponentially() {
    let fake = FakeX::start().await.unwrap();
    fake.fail_next(Endpoint::Stream, 3, 503);
    let mut config = config(&fake);
    // 5 s, 10 s, 20 s → 50, 100, 200 ms.
    config.backoff_scale = 0.01;
    let started = Instant::now();
    let running = start(config, Arc::new(MemorySink::default()));
    running.connected().await;
    let elapsed = started.elapsed();
    assert_eq!(fake.requests(Endpoint::Stream), 4);
    let report = running.health.report();
    assert_eq!(report.errors_total, 3);
    assert_last_error(&report, "HTTP 503");
    // 350 ms minus 10 % jitter: the delays doubled.
    assert!(elapsed >= Duration::from_millis(315), "{elapsed:?}");
    running.stop().await;
}

#[tokio::test]
async fn too_many_connections_waits_at_least_the_rate_limit_regime() {
    let fake = FakeX::start().await.unwrap();
    fake.add_foreign_rule("(anything) -is:retweet", "other-tool");
    // Another client holds the app's only stream connection.
    let holder = reqwest::Client::new()
        .get(format!("{}/2/tweets/search/stream", fake.base_url()))
        .bearer_auth(BEARER)
        .send()
        .await
        .unwrap();
    assert!(holder.status().is_success());
    let mut config = config(&fake);
    config.backoff_scale = 0.01; // The 60-s regime → 600 ms.
    let started = Instant::now();
    let running = start(config, Arc::new(MemorySink::default()));
    running
        .until_error(
            "refused for too many connections",
            "maximum allowed connection limit",
        )
        .await;
    drop(holder);
    running.connected().await;
    assert!(
        started.elapsed() >= Duration::from_millis(540),
        "{:?}",
        started.elapsed()
    );
    running.stop().await;
}

#[tokio::test]
async fn an_operational_disconnect_and_a_stall_reconnect() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    fake.disconnect_operationally();
    running
        .until("a reconnect after the disconnect", |_| {
            fake.stream_connects() >= 2
        })
        .await;
    running.assert_last_error("operational");
    running.connected().await;

    fake.silence_streams();
    // A post the half-open stream swallows.
    let lost = fake.post(FakePost::new("a_user", "@AcmeHelp hello?"));
    running
        .recovers_from_stall(&sink, || fake.stream_connects() >= 3, &lost)
        .await;
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_cursor_across_pages() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let before = fake.post(FakePost::new("a_user", "@AcmeHelp before"));
    sink.wait_for(1, WAIT).await;
    running.stop().await;

    // Twelve mentions while down: more than one page of ten.
    let mut expected = vec![before];
    for i in 0..12 {
        expected.push(fake.post(FakePost::new("b_user", &format!("@AcmeHelp down {i}")).quiet()));
    }
    let running = start(config(&fake), sink.clone());
    sink.wait_for(13, WAIT).await;
    running.connected().await;
    settle().await;
    let posts = sink.posts();
    assert_eq!(ids(&posts), expected);
    assert_eq!(
        sink.cursor_of(SOURCE).as_deref(),
        expected.last().map(String::as_str)
    );
    running.stop().await;
}

#[tokio::test]
async fn a_sink_failure_is_retried_not_fatal() {
    let fake = FakeX::start().await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    sink.fail_next(2);
    let heard = fake.post(FakePost::new("a_user", "@AcmeHelp is anyone there?"));
    let posts = sink.wait_for(1, WAIT).await;
    running.connected().await;
    settle().await;
    assert_eq!(ids(&sink.posts()), vec![heard.clone()]);
    assert_eq!(posts.len(), 1);
    // Both scripted failures hit this post's delivery (nothing else was delivered), and the
    // source backed off and heard it again each time instead of stopping.
    let report = running.health.report();
    assert!(report.errors_total >= 2, "{report:?}");
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(heard.as_str()));
    running.stop().await;
}

#[tokio::test]
async fn a_refused_bearer_token_fails_the_source() {
    let fake = FakeX::start().await.unwrap();
    let mut config = config(&fake);
    config.bearer_token = Secret::new("revoked");
    let running = start(config, Arc::new(MemorySink::default()));
    let (reason, report) = running.ended_on_auth().await;
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert_eq!(report.next_retry_at, None);
    assert_eq!(fake.stream_connects(), 0);
}

#[tokio::test]
async fn polling_pages_mentions_and_search_since_the_cursor_and_honours_429() {
    let fake = FakeX::start().await.unwrap();
    let old = fake.post(FakePost::new("a_user", "@AcmeHelp long ago"));
    let sink = Arc::new(MemorySink::default());
    sink.set_cursor(SOURCE, &old);
    let mut expected = Vec::new();
    for i in 0..11 {
        expected.push(fake.post(FakePost::new("b_user", &format!("@AcmeHelp poll {i}"))));
    }
    expected.push(fake.post(FakePost::new("c_user", "the acme kettle is great")));
    let mut config = config(&fake);
    config.mode = XMode::Poll;
    let running = start(config, sink.clone());
    sink.wait_for(12, WAIT).await;
    running.connected().await;
    assert_eq!(ids(&sink.posts()), expected);
    assert_eq!(fake.stream_connects(), 0, "polling never opens the stream");

    // A window used up: the next poll waits for the reset.
    fake.rate_limit_next(Endpoint::Mentions, 1, Duration::from_millis(900));
    running
        .until_error("rate-limited", "rate-limited until")
        .await;
    let limited_at = Instant::now();
    let late = fake.post(FakePost::new("d_user", "@AcmeHelp after the limit"));
    sink.wait_for(13, WAIT).await;
    // The reset was ≥ 0.9 s after the 429; the 100-ms poll interval did not hurry it.
    assert!(
        limited_at.elapsed() >= Duration::from_millis(700),
        "{:?}",
        limited_at.elapsed()
    );
    settle().await;
    let posts = sink.posts();
    assert_no_duplicates(&posts);
    assert_eq!(
        posts.last().map(|p| p.external_id.clone()),
        Some(late.clone())
    );
    assert_eq!(sink.cursor_of(SOURCE).as_deref(), Some(late.as_str()));
    running.stop().await;
}

#[tokio::test]
async fn an_expired_user_token_is_renewed_and_a_revoked_one_fails_the_source() {
    let fake = FakeX::start().await.unwrap();
    fake.expire_user_tokens();
    let mut config = config(&fake);
    config.mode = XMode::Poll;
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running.connected().await;
    let heard = fake.post(FakePost::new("a_user", "@AcmeHelp hi"));
    sink.wait_for(1, WAIT).await;
    assert_eq!(fake.refreshes(), 1);
    let tokens = running.source.tokens().unwrap();
    assert_eq!(
        tokens.refresh_token().map(|t| t.expose().to_owned()),
        Some("user-refresh-1".to_owned()),
        "the rotated refresh token is kept"
    );
    assert!(!fake.accepts_refresh_token(REFRESH_TOKEN));
    assert_eq!(ids(&sink.posts()), vec![heard]);

    fake.revoke_user_tokens();
    let (reason, _) = running.ended_on_auth().await;
    assert!(reason.contains("cannot be renewed"), "{reason}");
}

// ---- the responder -----------------------------------------------------------------------

fn conversation(customer: &str, root: &str) -> ReplyTarget {
    responder::testing::target("1432109876543210987", customer, root)
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    responder::testing::reply(Network::X, in_reply_to, key, text)
}

/// What the store hands back on a retry: the same reply, one failed attempt later.
fn retried(mut reply: Reply, error: &SendError) -> Reply {
    reply.state = ReplyState::Failed;
    reply.attempts += 1;
    reply.error = Some(error.to_string());
    reply
}

#[tokio::test]
async fn a_reply_lands_under_the_customers_post_once_even_after_a_timeout() {
    let fake = FakeX::start().await.unwrap();
    let parent = fake.post(FakePost::new("priya_n", "@AcmeHelp my lid cracked"));
    let mut config = config(&fake);
    config.request_timeout = Duration::from_millis(300);
    let responder = XResponder::new(config).unwrap();
    let conv = conversation("priya_n", &parent);
    let answer = reply(&parent, "conv-7-1", "Sorry! A new lid & handle ship today.");

    // X creates the post but the answer comes too late: did it go out?
    fake.delay_next_post_answer(Duration::from_millis(900));
    let error = responder.send(&answer, &conv).await.unwrap_err();
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(fake.posts_created(), 1);

    let sent = responder
        .send(&retried(answer, &error), &conv)
        .await
        .unwrap();
    assert_eq!(
        fake.posts_created(),
        1,
        "the retry found the post instead of doubling it"
    );
    let received = fake.received_posts();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0]["reply"]["in_reply_to_tweet_id"],
        parent.as_str()
    );
    assert_eq!(received[0]["text"], "Sorry! A new lid & handle ship today.");
    let created = fake.post_json(&sent).unwrap();
    assert_eq!(created["referenced_tweets"][0]["id"], parent.as_str());
    // X adds the mention of the answered author itself.
    assert_eq!(
        created["text"],
        "@priya_n Sorry! A new lid &amp; handle ship today."
    );
}

#[tokio::test]
async fn a_5xx_before_posting_is_retried_and_posts_once() {
    let fake = FakeX::start().await.unwrap();
    let parent = fake.post(FakePost::new("priya_n", "@AcmeHelp where is my order?"));
    let responder = XResponder::new(config(&fake)).unwrap();
    let conv = conversation("priya_n", &parent);
    let answer = reply(&parent, "conv-7-2", "It ships tomorrow.");
    fake.fail_next(Endpoint::CreatePost, 1, 503);
    let error = responder.send(&answer, &conv).await.unwrap_err();
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert_eq!(fake.posts_created(), 0);
    let lookups = fake.requests(Endpoint::UserPosts);
    let sent = responder
        .send(&retried(answer, &error), &conv)
        .await
        .unwrap();
    assert_eq!(
        fake.requests(Endpoint::UserPosts),
        lookups + 1,
        "looked before posting again"
    );
    assert_eq!(fake.posts_created(), 1);
    assert!(fake.post_json(&sent).is_some());
}

#[tokio::test]
async fn replies_are_refused_or_retried_as_x_says() {
    let fake = FakeX::start().await.unwrap();
    let parent = fake.post(FakePost::new("priya_n", "@AcmeHelp hello"));
    let conv = conversation("priya_n", &parent);
    let responder = XResponder::new(config(&fake)).unwrap();

    // Too long as X counts it (CJK weighs 2), though only 141 characters.
    let long = "字".repeat(141);
    assert_refused(
        responder
            .send(&reply(&parent, "k-long", &long), &conv)
            .await,
        "282",
    );
    assert!(fake.received_posts().is_empty());

    // Not summoned: the author never mentioned the brand.
    let stranger = fake.post(FakePost::new("sam", "kettles are overrated"));
    let reason = expect_refused(
        responder
            .send(
                &reply(&stranger, "k-unsummoned", "Have you tried ours?"),
                &conv,
            )
            .await,
    );
    assert!(reason.contains("HTTP 403"), "{reason}");
    assert!(reason.contains("not been mentioned"), "{reason}");

    // The per-user window is used up: worth retrying after the reset.
    fake.set_post_window(0);
    assert_retryable(
        responder
            .send(&reply(&parent, "k-429", "Thanks!"), &conv)
            .await,
        "rate-limited until",
    );
    fake.set_post_window(100);

    // The same text under the same post again (another key): X calls it a duplicate, and it
    // is: the existing reply is the answer.
    let first = responder
        .send(&reply(&parent, "k-a", "We are on it."), &conv)
        .await
        .unwrap();
    let again = responder
        .send(&reply(&parent, "k-b", "We are on it."), &conv)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(fake.posts_created(), 1);

    // A duplicate of a post under *another* post is not this reply: refused.
    let other = fake.post(FakePost::new("lee", "@AcmeHelp me too"));
    let reason = expect_refused(
        responder
            .send(
                &reply(&other, "k-c", "We are on it."),
                &conversation("lee", &other),
            )
            .await,
    );
    assert!(reason.contains("duplicate content"), "{reason}");
    assert!(reason.contains("no earlier copy"), "{reason}");

    // The server is down.
    assert_retryable_once_gone(fake, &responder, &reply(&parent, "k-down", "hi"), &conv).await;
}

#[tokio::test]
async fn an_expiring_user_token_is_renewed_and_rotated_for_replies() {
    let fake = FakeX::start().await.unwrap();
    fake.set_client_secret("client-s3cret");
    let parent = fake.post(FakePost::new("priya_n", "@AcmeHelp hello"));
    let conv = conversation("priya_n", &parent);
    let mut config = config(&fake);
    let mut auth = user_auth();
    auth.client_secret = Some(Secret::new("client-s3cret"));
    config.user_auth = Some(auth);
    let responder = XResponder::new(config).unwrap();
    let tokens = responder.tokens().unwrap().clone();
    let mut rotations = tokens.rotations();

    // Expired: X answers 401, the token is renewed (HTTP Basic, confidential client) and the
    // reply goes out.
    fake.expire_user_tokens();
    responder
        .send(&reply(&parent, "k-1", "First answer"), &conv)
        .await
        .unwrap();
    assert_eq!(fake.refreshes(), 1);
    assert!(rotations.has_changed().unwrap());
    rotations.mark_unchanged();
    assert_eq!(
        tokens.refresh_token().unwrap().expose(),
        "user-refresh-1",
        "the rotated refresh token is kept for the lead to persist"
    );
    assert!(!fake.accepts_refresh_token(REFRESH_TOKEN), "single use");

    // Renewed tokens now say when they expire: inside the margin, renew before sending.
    fake.set_token_lifetime(Duration::from_secs(30));
    fake.expire_user_tokens();
    responder
        .send(&reply(&parent, "k-2", "Second answer"), &conv)
        .await
        .unwrap();
    assert_eq!(fake.refreshes(), 2, "the rotated refresh token worked");
    let posts_before = fake.requests(Endpoint::CreatePost);
    responder
        .send(&reply(&parent, "k-3", "Third answer"), &conv)
        .await
        .unwrap();
    assert_eq!(fake.refreshes(), 3, "renewed before it expired");
    assert_eq!(
        fake.requests(Endpoint::CreatePost),
        posts_before + 1,
        "no 401 round trip"
    );
    assert!(rotations.has_changed().unwrap());
    assert_eq!(fake.posts_created(), 3);
}

#[tokio::test]
async fn a_revoked_user_token_refuses_replies_with_words_to_act_on() {
    let fake = FakeX::start().await.unwrap();
    let parent = fake.post(FakePost::new("priya_n", "@AcmeHelp hello"));
    let responder = XResponder::new(config(&fake)).unwrap();
    fake.revoke_user_tokens();
    let reason = expect_refused(
        responder
            .send(
                &reply(&parent, "k-1", "Hello"),
                &conversation("priya_n", &parent),
            )
            .await,
    );
    assert!(reason.contains("cannot be renewed"), "{reason}");
    assert!(
        reason.contains("Value passed for the token was invalid"),
        "{reason}"
    );
    assert_eq!(fake.posts_created(), 0);
}

#[tokio::test]
async fn check_credentials_names_the_account_or_what_to_fix() {
    let fake = FakeX::start().await.unwrap();
    assert_eq!(
        check_credentials(&config(&fake)).await.unwrap(),
        format!("@{BRAND_USERNAME} ({BRAND_ID})")
    );

    let mut read_only = config(&fake);
    read_only.user_auth = None;
    assert!(check_credentials(&read_only)
        .await
        .unwrap()
        .contains("app bearer token only"));

    let mut bad_bearer = config(&fake);
    bad_bearer.bearer_token = Secret::new("nope");
    match check_credentials(&bad_bearer).await {
        Err(CheckError::Refused(why)) => assert!(why.contains("bearer token"), "{why}"),
        other => panic!("{other:?}"),
    }

    let mut wrong_account = config(&fake);
    wrong_account.brand_user_id = "42".into();
    match check_credentials(&wrong_account).await {
        Err(CheckError::Misconfigured(why)) => {
            assert!(why.contains("not to the configured"), "{why}")
        }
        other => panic!("{other:?}"),
    }

    let mut bad_url = config(&fake);
    bad_url.api_url = "api.x.com".into();
    assert!(matches!(
        check_credentials(&bad_url).await,
        Err(CheckError::Misconfigured(_))
    ));

    // Checking never renews the user token (a rotation here would strand the source).
    fake.expire_user_tokens();
    match check_credentials(&config(&fake)).await {
        Err(CheckError::Refused(why)) => assert!(why.contains("authorise the app again"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.refreshes(), 0);

    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let unreachable = XConfig::new(
        "http://127.0.0.1:9",
        BRAND_ID,
        BRAND_USERNAME,
        Secret::new(BEARER),
    );
    assert!(matches!(
        check_credentials(&unreachable).await,
        Err(CheckError::Unreachable(_))
    ));
}

#[tokio::test]
async fn the_fake_pages_and_validates_like_x() {
    let fake = FakeX::start().await.unwrap();
    let ids: Vec<String> = (0..12)
        .map(|i| fake.post(FakePost::new("a_user", &format!("@AcmeHelp {i}"))))
        .collect();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("{}{path}", fake.base_url()))
            .bearer_auth(BEARER);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let reset = response
                .headers()
                .get("x-rate-limit-reset")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: serde_json::Value = response.json().await.unwrap();
            (status, reset, body)
        }
    };
    let (status, reset, page) = get(format!(
        "/2/users/{BRAND_ID}/mentions?max_results=5&since_id={}",
        ids[2]
    ))
    .await;
    assert!(status.is_success());
    assert!(reset.unwrap().parse::<i64>().unwrap() > Utc::now().timestamp());
    let newest_first: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        newest_first,
        vec![&ids[11], &ids[10], &ids[9], &ids[8], &ids[7]]
    );
    assert_eq!(page["meta"]["newest_id"], ids[11].as_str());
    assert_eq!(page["includes"]["users"][0]["username"], "a_user");
    let token = page["meta"]["next_token"].as_str().unwrap().to_owned();
    let (_, _, next) = get(format!(
        "/2/users/{BRAND_ID}/mentions?max_results=5&since_id={}&pagination_token={token}",
        ids[2]
    ))
    .await;
    assert_eq!(next["data"].as_array().unwrap().len(), 4);
    assert!(next["meta"].get("next_token").is_none());
    // Nothing newer: no `data` at all.
    let (_, _, empty) = get(format!("/2/users/{BRAND_ID}/mentions?since_id={}", ids[11])).await;
    assert!(empty.get("data").is_none());
    assert_eq!(empty["meta"]["result_count"], 0);
    // Search takes 10..=100.
    let (status, _, problem) =
        get("/2/tweets/search/recent?query=%40AcmeHelp&max_results=5".into()).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(
        problem["type"],
        "https://api.x.com/2/problems/invalid-request"
    );
    // The stream refuses to start without rules.
    let (status, _, _) = get("/2/tweets/search/stream".into()).await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT);
}
