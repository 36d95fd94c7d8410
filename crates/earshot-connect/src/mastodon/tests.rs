//! The Mastodon source and responder against [`super::fake::FakeMastodon`]: what arrives in
//! the sink, what the fake received, and how drops, stalls, restarts, 401 and 429 are survived.

use super::fake::{FakeMastodon, Mentioned, NewMention, NewTagged};
use super::{
    MastodonConfig, MastodonHashtagSource, MastodonResponder, MastodonSource, Secret, Transport,
};
use crate::responder::testing::{
    assert_refused, assert_retryable, assert_retryable_once_gone, expect_refused,
};
use crate::responder::{self, Responder};
use crate::source::testing::{
    self, assert_last_error, assert_no_duplicates, ids, start_connected, MemorySink, WAIT,
};
use crate::source::{ConnectorState, Source};

use earshot_core::{Amendment, Network, NewPost, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "brand-token-0123456789";

fn config(fake: &FakeMastodon) -> MastodonConfig {
    let mut config = MastodonConfig::new(fake.base_url(), Secret::new(TOKEN), "acme");
    // Six missed heartbeats: slow enough for a busy test machine, fast enough for the test.
    config.stall_timeout = Duration::from_millis(600);
    config.request_timeout = Duration::from_secs(2);
    config.poll_interval = Duration::from_secs(60);
    config.page_limit = 2;
    config
}

type Running<S> = testing::Running<S>;

fn start(config: MastodonConfig, sink: Arc<MemorySink>) -> Running<MastodonSource> {
    Running::start(Arc::new(MastodonSource::new(config).unwrap()), sink)
}

fn start_tag(
    config: MastodonConfig,
    tag: &str,
    sink: Arc<MemorySink>,
) -> Running<MastodonHashtagSource> {
    Running::start(
        Arc::new(MastodonHashtagSource::new(config, tag).unwrap()),
        sink,
    )
}

#[tokio::test]
async fn a_mention_is_delivered_with_author_text_and_parent() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let parent = fake.mention(NewMention::new("acme", "Version 3.1 is out"));
    let mut mention = NewMention::new("lena@fosstodon.example", "@acme the app no longer starts");
    mention.in_reply_to = Some(parent.status_id.clone());
    let heard = fake.mention(mention);
    fake.push_raw("event: delete\ndata: 115063412345678901\n\n");

    let posts = sink.wait_for(2, WAIT).await;
    let post = &posts[1];
    assert_eq!(post.network, Network::Mastodon);
    assert_eq!(post.external_id, heard.status_id);
    assert_eq!(post.author.handle, "lena@fosstodon.example");
    assert_eq!(post.text, "@acme the app no longer starts");
    assert_eq!(post.in_reply_to.as_deref(), Some(parent.status_id.as_str()));
    assert_eq!(
        sink.cursor_of("mastodon:acme").as_deref(),
        Some(heard.notification_id.as_str())
    );
    let report = running.health.report();
    assert_eq!(report.events_total, 2);
    assert!(report.last_event_at.is_some());
    assert_eq!(fake.stream_connects(), 1);
    running
        .until("the delete is counted", |r| r.source.deletes_seen() == 1)
        .await;
    assert!(matches!(
        sink.amendments().as_slice(),
        [Amendment::Deleted(key)] if key.external_id == "115063412345678901"
    ));
    running.stop().await;
}

fn conversation(customer: &str, root: &str) -> ReplyTarget {
    responder::testing::target("109876543210987654", customer, root)
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    responder::testing::reply(Network::Mastodon, in_reply_to, key, text)
}

async fn customer_post(fake: &FakeMastodon, visibility: &str) -> Mentioned {
    let mut mention = NewMention::new("lena@fosstodon.example", "@acme billing twice?");
    mention.visibility = visibility.into();
    fake.mention(mention)
}

#[tokio::test]
async fn a_reply_lands_in_the_thread_once_even_when_sent_twice() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let parent = customer_post(&fake, "private").await;
    let responder = MastodonResponder::new(config(&fake)).unwrap();
    let conv = conversation("lena@fosstodon.example", &parent.status_id);
    let answer = reply(
        &parent.status_id,
        "conv-7-draft-1",
        "Sorry! Refund is on its way.",
    );

    let first = responder.send(&answer, &conv).await.unwrap();
    let second = responder.send(&answer, &conv).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.statuses_created(), 1);

    let received = fake.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.idempotency_key.as_deref(), Some("conv-7-draft-1"));
        assert_eq!(r.body["in_reply_to_id"], parent.status_id.as_str());
        assert_eq!(
            r.body["status"],
            "@lena@fosstodon.example Sorry! Refund is on its way."
        );
        // A private post is never answered in public.
        assert_eq!(r.body["visibility"], "private");
    }
    let created = fake.status(&first).unwrap();
    assert_eq!(created["in_reply_to_id"], parent.status_id.as_str());
}

#[tokio::test]
async fn replies_are_refused_or_retried_as_the_server_says() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let parent = customer_post(&fake, "public").await;
    let conv = conversation("lena@fosstodon.example", &parent.status_id);
    let responder = MastodonResponder::new(config(&fake)).unwrap();

    // The parent is gone.
    let reason = expect_refused(responder.send(&reply("1", "k-gone", "hi"), &conv).await);
    assert!(reason.contains("Record not found"));
    // A revoked token.
    let mut revoked = config(&fake);
    revoked.access_token = Secret::new("revoked");
    let bad = MastodonResponder::new(revoked).unwrap();
    assert_refused(
        bad.send(&reply(&parent.status_id, "k-401", "hi"), &conv)
            .await,
        "The access token is invalid",
    );
    // Rate-limited: worth retrying, and the retry goes through.
    fake.rate_limit_next(1, Duration::from_millis(100));
    assert_retryable(
        responder
            .send(&reply(&parent.status_id, "k-429", "hi"), &conv)
            .await,
        "rate-limited until",
    );
    let sent = responder
        .send(&reply(&parent.status_id, "k-429", "hi"), &conv)
        .await
        .unwrap();
    assert_eq!(fake.status(&sent).unwrap()["visibility"], "public");
    // The server is down.
    assert_retryable_once_gone(
        fake,
        &responder,
        &reply(&parent.status_id, "k-down", "hi"),
        &conv,
    )
    .await;
}

#[tokio::test]
async fn a_drop_mid_event_reconnects_and_backfills_without_loss_or_duplicates() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let first = fake.mention(NewMention::new("a@x.example", "@acme one"));
    fake.replay(&first.notification_id); // The same event twice.
    let cut = fake.mention_cut_mid_event(NewMention::new("b@x.example", "@acme two"));
    // Posted while the source is reconnecting: only the backfill can see these.
    let mut quiet = NewMention::new("c@x.example", "@acme three");
    quiet.live = false;
    let third = fake.mention(quiet.clone());
    quiet.text = "@acme four".into();
    let fourth = fake.mention(quiet);

    sink.wait_for(4, WAIT).await;
    running
        .until("a reconnect", |_| fake.stream_connects() >= 2)
        .await;
    running.connected().await;
    // Overlap: the stream replays what the backfill already delivered.
    fake.replay(&fourth.notification_id);
    let fifth = fake.mention(NewMention::new("d@x.example", "@acme five"));
    let posts = sink.wait_for(5, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let posts_after = sink.posts();
    assert_eq!(posts_after.len(), posts.len());
    assert_no_duplicates(&posts_after);
    assert_eq!(
        ids(&posts_after),
        vec![
            first.status_id,
            cut.status_id,
            third.status_id,
            fourth.status_id,
            fifth.status_id.clone()
        ]
    );
    // The cursor crossed from 8 to 9 digits and still points at the newest.
    assert_eq!(
        sink.cursor_of("mastodon:acme").as_deref(),
        Some(fifth.notification_id.as_str())
    );
    assert!(fifth.notification_id.len() > first.notification_id.len());
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_cursor() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let sink = Arc::new(MemorySink::default());
    let before = fake.mention(NewMention::new("a@x.example", "@acme before"));

    let running = start(config(&fake), sink.clone());
    sink.wait_for(1, WAIT).await;
    running.stop().await;

    let mut down = NewMention::new("b@x.example", "@acme while down");
    down.live = false;
    let while_down = fake.mention(down.clone());
    down.text = "@acme also while down".into();
    let also = fake.mention(down.clone());
    down.text = "@acme and again".into();
    let again = fake.mention(down);

    let running = start(config(&fake), sink.clone());
    let posts = sink.wait_for(4, WAIT).await;
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        ids(&sink.posts()),
        vec![
            before.status_id,
            while_down.status_id,
            also.status_id,
            again.status_id
        ]
    );
    assert_eq!(posts.len(), 4);
    running.stop().await;
}

#[tokio::test]
async fn a_stalled_stream_is_noticed_and_reopened() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    fake.silence_streams();
    // A mention the half-open stream swallows.
    let lost = fake.mention(NewMention::new("a@x.example", "@acme hello?"));
    running
        .recovers_from_stall(&sink, || fake.stream_connects() >= 2, &lost.status_id)
        .await;
    running.stop().await;
}

#[tokio::test]
async fn a_refused_token_fails_the_source() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let mut config = config(&fake);
    config.access_token = Secret::new("revoked");
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink);
    let (reason, report) = running.ended_on_auth().await;
    assert!(reason.contains("The access token is invalid"), "{reason}");
    assert_eq!(report.next_retry_at, None);
    assert_eq!(fake.stream_connects(), 0);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_until_the_reset() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let waiting = fake.mention(NewMention::new("a@x.example", "@acme queued"));
    fake.rate_limit_next(1, Duration::from_millis(300));
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());

    running.backs_off_saying("rate-limited until").await;

    let posts = sink.wait_for(1, WAIT).await;
    // Waited for the reset (not the 60 s default), and not less.
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(ids(&posts), vec![waiting.status_id]);
    running.connected().await;
    running.stop().await;
}

#[tokio::test]
async fn blank_text_is_refused_with_the_servers_words() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let parent = customer_post(&fake, "unlisted").await;
    let responder = MastodonResponder::new(config(&fake)).unwrap();
    assert_refused(
        responder
            .send(
                &reply(&parent.status_id, "k-blank", "  "),
                &conversation("", "1"),
            )
            .await,
        "Text can't be blank",
    );
    assert_eq!(fake.statuses_created(), 0);
}

#[tokio::test]
async fn the_fake_pages_notifications_like_mastodon() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let n: Vec<Mentioned> = (0..5)
        .map(|i| fake.mention(NewMention::new("a@x.example", &format!("@acme {i}"))))
        .collect();
    let client = reqwest::Client::new();
    let page = |query: String| {
        let request = client
            .get(format!("{}/api/v1/notifications?{query}", fake.base_url()))
            .bearer_auth(TOKEN);
        async move {
            let response = request.send().await.unwrap();
            let link = response
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Vec<serde_json::Value> = response.json().await.unwrap();
            let ids: Vec<String> = body
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect();
            (ids, link)
        }
    };
    let nid = |i: usize| n[i].notification_id.clone();
    // `min_id`: the page right after the cursor, newest first.
    let (ids, link) = page(format!("types[]=mention&limit=2&min_id={}", nid(0))).await;
    assert_eq!(ids, vec![nid(2), nid(1)]);
    let link = link.unwrap();
    assert!(
        link.contains(&format!("max_id={}>; rel=\"next\"", nid(1))),
        "{link}"
    );
    assert!(
        link.contains(&format!("min_id={}>; rel=\"prev\"", nid(2))),
        "{link}"
    );
    // `since_id`: the newest page after the cursor.
    let (ids, _) = page(format!("limit=2&since_id={}", nid(0))).await;
    assert_eq!(ids, vec![nid(4), nid(3)]);
    // `max_id`: older than the cursor.
    let (ids, _) = page(format!("max_id={}", nid(2))).await;
    assert_eq!(ids, vec![nid(1), nid(0)]);
    // Past the end: an empty page without a `Link`.
    let (ids, link) = page(format!("min_id={}", nid(4))).await;
    assert!(ids.is_empty());
    assert_eq!(link, None);
    // Other types are filtered out.
    let (ids, _) = page("types[]=follow".into()).await;
    assert!(ids.is_empty());
    // Unknown tokens are refused.
    let status = client
        .get(format!("{}/api/v1/notifications", fake.base_url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refused_connection_backs_off_and_stops_when_told() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let config = config(&fake);
    drop(fake); // Nothing listens there any more: connection refused.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running
        .until("a second failed attempt", |r| {
            let report = r.health.report();
            report.state == ConnectorState::BackingOff && report.errors_total >= 2
        })
        .await;
    let report = running.health.report();
    assert!(report.next_retry_at.is_some());
    assert_last_error(&report, "opening the stream");
    assert!(sink.posts().is_empty());
    running.stop().await;
}

#[tokio::test]
async fn check_says_whose_token_it_is_and_what_is_wrong() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let good = config(&fake);
    let who = super::check_credentials(&good).await.unwrap();
    assert!(who.contains("@acme"), "{who}");

    let mut revoked = config(&fake);
    revoked.access_token = Secret::new("revoked-token");
    let err = super::check_credentials(&revoked).await.unwrap_err();
    assert!(
        matches!(err, crate::source::CheckError::Refused(_)),
        "{err}"
    );
    assert!(
        err.to_string().contains("write:statuses"),
        "says which scopes: {err}"
    );
    assert!(
        !err.to_string().contains("revoked-token"),
        "never prints the token: {err}"
    );

    let mut someone_else = config(&fake);
    someone_else.brand_acct = "othercorp".into();
    let err = super::check_credentials(&someone_else).await.unwrap_err();
    assert!(
        matches!(err, crate::source::CheckError::Misconfigured(_)),
        "{err}"
    );

    let mut nowhere = config(&fake);
    nowhere.base_url = "http://127.0.0.1:9".into();
    let err = super::check_credentials(&nowhere).await.unwrap_err();
    assert!(
        matches!(err, crate::source::CheckError::Unreachable(_)),
        "{err}"
    );
}

// ---- Hashtags, first-start history and the WebSocket variant ----

const TAG_SOURCE: &str = "mastodon:acme#acmeapp";

fn websocket(fake: &FakeMastodon) -> MastodonConfig {
    let mut config = config(fake);
    config.transport = Transport::WebSocket;
    config.streaming_url = Some(fake.websocket_base_url());
    config
}

/// A fresh fake and the hashtag source for `tag` hearing it over `transport`, connected:
/// how every test that runs over both transports begins.
async fn tag_over(
    transport: Transport,
    tag: &str,
) -> (
    FakeMastodon,
    Arc<MemorySink>,
    Running<MastodonHashtagSource>,
) {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let config = match transport {
        Transport::Sse => config(&fake),
        Transport::WebSocket => websocket(&fake),
    };
    let sink = Arc::new(MemorySink::default());
    let running = start_tag(config, tag, sink.clone());
    running.connected().await;
    (fake, sink, running)
}

fn texts(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.text.clone()).collect()
}

#[tokio::test]
async fn a_tagged_post_arrives_boosts_are_skipped_and_the_brand_is_recognised() {
    for transport in [Transport::Sse, Transport::WebSocket] {
        let (fake, sink, running) = tag_over(transport, "#AcmeApp").await;
        assert_eq!(running.source.name(), TAG_SOURCE);

        let customer = fake.post_tagged(NewTagged::new(
            "lena@fosstodon.example",
            "sync is broken",
            "acmeapp",
        ));
        fake.post_tagged(NewTagged::new("bob@x.example", "unrelated", "othertag"));
        let mut boost = NewTagged::new("fan@x.example", "", "acmeapp");
        boost.boost_of = Some(customer.clone());
        fake.post_tagged(boost);
        let brand = fake.post_tagged(NewTagged::new("acme", "fixed in 3.1.2", "AcmeApp"));

        let posts = sink.wait_for(2, WAIT).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let posts_after = sink.posts();
        assert_eq!(posts_after.len(), 2, "{transport:?}: {posts_after:?}");
        assert_eq!(
            ids(&posts),
            vec![customer.clone(), brand.clone()],
            "{transport:?}"
        );
        assert_eq!(posts[0].author.handle, "lena@fosstodon.example");
        assert_eq!(posts[0].text, "sync is broken #acmeapp");
        assert_eq!(posts[0].from_brand, None);
        assert_eq!(posts[1].from_brand, Some(true), "{transport:?}");
        assert_eq!(sink.cursor_of(TAG_SOURCE), Some(brand));
        assert_eq!(running.health.report().events_total, 2);
        if transport == Transport::WebSocket {
            assert_eq!(fake.websocket_connects(), 1);
            assert_eq!(fake.stream_connects(), 1, "none over SSE");
        }
        running.stop().await;
    }
}

#[tokio::test]
async fn hashtag_edits_and_deletes_become_amendments_once() {
    for transport in [Transport::Sse, Transport::WebSocket] {
        let (fake, sink, running) = tag_over(transport, "acmeapp").await;

        let id = fake.post_tagged(NewTagged::new("lena@x.example", "app crashes", "acmeapp"));
        sink.wait_for(1, WAIT).await;
        fake.edit_status(&id, "app crashes on login");
        // The same edit event twice, and the delete twice: each amends once.
        let edited = fake.status(&id).unwrap().to_string();
        fake.push_event("status.update", &edited);
        fake.delete_status(&id);
        fake.push_event("delete", &id);
        // A delete for a post never heard (delete before create) still goes to the store.
        fake.push_event("delete", "115999999999999999");

        running
            .until("three amendments", |_| sink.amendments().len() >= 3)
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let amendments = sink.amendments();
        assert_eq!(amendments.len(), 3, "{transport:?}: {amendments:?}");
        match &amendments[0] {
            Amendment::Edited(post) => {
                assert_eq!(post.external_id, id);
                assert_eq!(post.text, "app crashes on login #acmeapp");
            }
            other => panic!("expected an edit, got {other:?}"),
        }
        match (&amendments[1], &amendments[2]) {
            (Amendment::Deleted(a), Amendment::Deleted(b)) => {
                assert_eq!(a.network, Network::Mastodon);
                assert_eq!(a.external_id, id);
                assert_eq!(b.external_id, "115999999999999999");
            }
            other => panic!("expected two deletes, got {other:?}"),
        }
        assert_eq!(sink.posts().len(), 1, "an edit is not a new post");
        running.stop().await;
    }
}

#[tokio::test]
async fn hashtag_survives_a_cut_duplicates_and_out_of_order_arrivals() {
    for transport in [Transport::Sse, Transport::WebSocket] {
        let (fake, sink, running) = tag_over(transport, "acmeapp").await;

        // Two posts whose events arrive late and in reverse id order, one of them twice.
        let mut quiet = NewTagged::new("a@x.example", "first", "acmeapp");
        quiet.live = false;
        let first = fake.post_tagged(quiet.clone());
        quiet.text = "second".into();
        let second = fake.post_tagged(quiet.clone());
        fake.stream_status(&second);
        fake.stream_status(&first);
        fake.stream_status(&second);
        sink.wait_for(2, WAIT).await;

        let cut = fake.post_tagged_cut_mid_event(NewTagged::new("b@x.example", "cut", "acmeapp"));
        // Posted while reconnecting: only the tag timeline catch-up can see it.
        quiet.text = "while away".into();
        let away = fake.post_tagged(quiet);
        sink.wait_for(4, WAIT).await;
        running
            .until("a reconnect", |_| fake.stream_connects() >= 2)
            .await;
        running.connected().await;
        fake.stream_status(&away); // Overlap between catch-up and stream.
        let last = fake.post_tagged(NewTagged::new("c@x.example", "live again", "acmeapp"));
        sink.wait_for(5, WAIT).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let posts = sink.posts();
        assert_no_duplicates(&posts);
        assert_eq!(
            ids(&posts),
            vec![second.clone(), first.clone(), cut, away, last.clone()],
            "{transport:?}"
        );
        assert_eq!(sink.cursor_of(TAG_SOURCE), Some(last), "{transport:?}");
        running.stop().await;
    }
}

#[tokio::test]
async fn hashtag_restart_resumes_from_the_cursor() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let sink = Arc::new(MemorySink::default());
    let before = fake.post_tagged(NewTagged::new("a@x.example", "before", "acmeapp"));
    let running = start_tag(config(&fake), "acmeapp", sink.clone());
    sink.wait_for(1, WAIT).await;
    running.stop().await;

    let mut down = NewTagged::new("b@x.example", "down 1", "acmeapp");
    down.live = false;
    let mut while_down = Vec::new();
    for i in 1..=3 {
        down.text = format!("down {i}");
        while_down.push(fake.post_tagged(down.clone()));
    }
    let running = start_tag(config(&fake), "acmeapp", sink.clone());
    sink.wait_for(4, WAIT).await;
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut expected = vec![before];
    expected.extend(while_down.clone());
    assert_eq!(ids(&sink.posts()), expected);
    assert_eq!(sink.cursor_of(TAG_SOURCE).as_ref(), while_down.last());
    running.stop().await;
}

#[tokio::test]
async fn hashtag_rate_limit_sink_failure_and_revoked_token() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let waiting = fake.post_tagged(NewTagged::new("a@x.example", "queued", "acmeapp"));
    fake.rate_limit_next(1, Duration::from_millis(300));
    let sink = Arc::new(MemorySink::default());
    sink.fail_next(1);
    let started = Instant::now();
    let mut config = config(&fake);
    let running = start_tag(config.clone(), "acmeapp", sink.clone());
    running.backs_off_saying("rate-limited until").await;
    // Then the store fails once: backed off (Http: 5 s would be too slow, so the cut-off
    // below is generous only for the rate limit) and retried.
    running
        .until_error("the sink failure is reported", "could not store")
        .await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(sink.posts().is_empty());
    running.stop().await;
    // A fresh run (the backoff would be 5 s) delivers it: nothing was lost to the failure.
    let running = start_tag(config.clone(), "acmeapp", sink.clone());
    assert_eq!(ids(&sink.wait_for(1, WAIT).await), vec![waiting]);
    running.stop().await;

    config.access_token = Secret::new("revoked");
    for transport in [Transport::Sse, Transport::WebSocket] {
        config.transport = transport;
        config.streaming_url =
            Some(fake.websocket_base_url()).filter(|_| transport == Transport::WebSocket);
        let running = start_tag(config.clone(), "acmeapp", Arc::new(MemorySink::default()));
        let (reason, _) = running.ended_on_auth().await;
        assert!(
            reason.contains("The access token is invalid"),
            "{transport:?}: {reason}"
        );
    }
}

#[tokio::test]
async fn a_first_start_takes_recent_history_or_starts_from_now() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let old: Vec<Mentioned> = (0..5)
        .map(|i| fake.mention(NewMention::new("a@x.example", &format!("@acme old {i}"))))
        .collect();
    // Three of five, across pages of two, oldest first.
    let mut with_history = config(&fake);
    with_history.history = 3;
    let sink = Arc::new(MemorySink::default());
    let running = start(with_history, sink.clone());
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        ids(&sink.posts()),
        old[2..]
            .iter()
            .map(|m| m.status_id.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(texts(&sink.posts())[0], "@acme old 2");
    running.stop().await;

    // history = 0: nothing old, but the cursor marks "now" so a restart does not replay.
    let mut from_now = config(&fake);
    from_now.history = 0;
    let sink = Arc::new(MemorySink::default());
    let running = start(from_now.clone(), sink.clone());
    running.connected().await;
    assert_eq!(
        sink.cursor_of("mastodon:acme").as_deref(),
        Some(old[4].notification_id.as_str())
    );
    let new = fake.mention(NewMention::new("b@x.example", "@acme new"));
    assert_eq!(ids(&sink.wait_for(1, WAIT).await), vec![new.status_id]);
    running.stop().await;

    // The same for a hashtag.
    for i in 0..3 {
        fake.post_tagged(NewTagged::new(
            "c@x.example",
            &format!("tagged {i}"),
            "acmeapp",
        ));
    }
    let mut tag_history = config(&fake);
    tag_history.history = 2;
    let sink = Arc::new(MemorySink::default());
    let running = start_tag(tag_history, "acmeapp", sink.clone());
    running.connected().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        texts(&sink.posts()),
        vec!["tagged 1 #acmeapp", "tagged 2 #acmeapp"]
    );
    running.stop().await;
}

#[tokio::test]
async fn websocket_mentions_survive_a_dead_socket_a_stall_and_a_rate_limit() {
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    fake.rate_limit_next(1, Duration::from_millis(200));
    let sink = Arc::new(MemorySink::default());
    let running = start(websocket(&fake), sink.clone());
    running.connected().await;
    running.assert_last_error("rate-limited until");

    // Quiet but healthy: our pings' pongs keep it from looking stalled.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        fake.websocket_connects(),
        1,
        "{:?}",
        running.health.report()
    );

    let first = fake.mention(NewMention::new("a@x.example", "@acme over ws"));
    fake.replay(&first.notification_id);
    let cut = fake.mention_cut_mid_event(NewMention::new("b@x.example", "@acme cut"));
    let posts = sink.wait_for(2, WAIT).await;
    assert_eq!(posts[0].text, "@acme over ws");
    running
        .until("a reconnect", |_| fake.websocket_connects() >= 2)
        .await;
    running.connected().await;

    fake.silence_streams();
    let swallowed = fake.mention(NewMention::new("c@x.example", "@acme hello?"));
    running
        .until("a reconnect after the stall", |_| {
            fake.websocket_connects() >= 3
        })
        .await;
    sink.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let posts = sink.posts();
    assert_no_duplicates(&posts);
    assert_eq!(
        ids(&posts),
        vec![first.status_id, cut.status_id, swallowed.status_id]
    );
    assert_eq!(fake.stream_connects(), fake.websocket_connects(), "no SSE");
    running.stop().await;
}

#[tokio::test]
async fn an_unknown_websocket_stream_is_an_error_frame() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let fake = FakeMastodon::start(TOKEN).await.unwrap();
    let url = websocket(&fake).websocket_url("/api/v1/streaming?stream=public:nope");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let frame = socket.next().await.unwrap().unwrap();
    let frame: serde_json::Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(frame["error"], "Unknown stream type");
    assert_eq!(frame["status"], 400);
}
