//! End to end through the real server, one test per network, each against the network's fake
//! speaking its real wire protocol: a post on the fake shows up in `GET /api/v1/inbox` with the
//! right network, author and text; an answer from the inbox arrives at the fake with the right
//! thread reference, once, even when the agent sends it twice with the same key; and
//! `GET /api/v1/connectors` shows the connector connected with its events counted.
//!
//! The restart test crashes a server in the middle of a Jetstream stream (its runtime is
//! dropped, as a killed process would be), starts another on the same data directory while the
//! fake keeps posting, and checks the store holds every post exactly once.
#![allow(clippy::unwrap_used)]

use earshot_connect::bluesky::fake::{FakeBluesky, FakePost, PostSpec};
use earshot_connect::reddit::fake::FakeReddit;
use earshot_connect::rss::fake::{FakeEntry, FakeFeeds, FeedFormat};
use earshot_connect::x::fake::{self as fake_x, FakeX};
use earshot_core::ConversationId;
use earshot_server::{App, Settings};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::live::{
    answer_twice, assert_heard, connected, get, inbox, serve_connected, settings, WAIT,
};

const BSKY_BRAND: &str = "acme.bsky.social";
const BSKY_BRAND_DID: &str = "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe";
const BSKY_PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const ANA_DID: &str = "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e";
const BO_DID: &str = "did:plc:bo2vq7ne5zkxlyrm3fjuw6ta";

async fn fake_bluesky() -> FakeBluesky {
    let fake = FakeBluesky::start(BSKY_BRAND, BSKY_BRAND_DID, BSKY_PASSWORD)
        .await
        .unwrap();
    fake.add_account(ANA_DID, "ana.bsky.social", 42);
    fake.add_account(BO_DID, "bo.example.com", 7);
    fake
}

fn bluesky_settings(fake: &FakeBluesky, data_dir: &Path) -> Settings {
    settings(
        data_dir,
        BSKY_BRAND,
        &format!(
            r#"
[[connectors.bluesky]]
handle = "{BSKY_BRAND}"
dids = ["{BSKY_BRAND_DID}"]
app_password = "{BSKY_PASSWORD}"
jetstream_url = "{}"
pds_url = "{}"
appview_url = "{}"
"#,
            fake.jetstream_url(),
            fake.base_url(),
            fake.base_url()
        ),
    )
}

/// A post by `author` that mentions the brand with a facet, as the Bluesky app writes it.
fn mention(author: &str, text: &str) -> PostSpec {
    let mut spec = PostSpec::new(author, &format!("@{BSKY_BRAND} {text}"));
    spec.mentions = vec![BSKY_BRAND_DID.into()];
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluesky_a_mention_reaches_the_inbox_and_the_answer_lands_in_its_thread_once() {
    let fake = fake_bluesky().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = bluesky_settings(&fake, dir.path());
    let (base, client, _) = serve_connected(settings, "bluesky:acme.bsky.social").await;

    // Bo starts a thread without naming the brand (not heard); Ana answers in it, mentioning
    // the brand: the brand's answer must hang under Ana's post, in Bo's thread.
    let root = fake.post(PostSpec::new(
        BO_DID,
        "anyone else's app stuck on the splash screen?",
    ));
    let mut spec = mention(ANA_DID, "same here since 3.1, the app won't start");
    spec.reply_to = Some(root.clone());
    let complaint = fake.post(spec);

    let rows = inbox(&client, &base, "bluesky", 1).await;
    assert_eq!(rows.len(), 1, "only the mention is heard: {rows:?}");
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "bluesky");
    assert_eq!(row["conversation"]["customer"]["handle"], "ana.bsky.social");
    assert_eq!(
        row["conversation"]["customer"]["external_id"], ANA_DID,
        "{row}"
    );
    assert_eq!(
        row["latest_text"],
        "@acme.bsky.social same here since 3.1, the app won't start"
    );
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Sorry about that! 3.1.1 fixes the start-up crash.",
        "bsky-answer-1",
    )
    .await;
    assert_eq!(fake.records_created(), 1, "one post on the network");
    let created: Vec<Value> = fake
        .received()
        .into_iter()
        .filter(|b| b["collection"] == "app.bsky.feed.post")
        .collect();
    let record = &created[0]["record"];
    assert_eq!(created[0]["repo"], BSKY_BRAND_DID);
    assert_eq!(
        record["reply"]["root"],
        json!({"uri": root.uri, "cid": root.cid})
    );
    assert_eq!(
        record["reply"]["parent"],
        json!({"uri": complaint.uri, "cid": complaint.cid})
    );
    assert!(record["text"]
        .as_str()
        .unwrap()
        .contains("3.1.1 fixes the start-up crash"));

    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert_eq!(detail["conversation"]["status"], "pending", "{detail}");
    assert_heard(&client, &base, "bluesky:acme.bsky.social", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_a_mention_reaches_the_inbox_and_the_answer_replies_to_that_post_once() {
    let fake = FakeX::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        fake_x::BRAND_USERNAME,
        &format!(
            r#"
[[connectors.x]]
user_id = "{}"
username = "{}"
bearer_token = "{}"
access_token = "{}"
refresh_token = "{}"
client_id = "{}"
api_url = "{}"
"#,
            fake_x::BRAND_ID,
            fake_x::BRAND_USERNAME,
            fake_x::BEARER,
            fake_x::USER_TOKEN,
            fake_x::REFRESH_TOKEN,
            fake_x::CLIENT_ID,
            fake.base_url()
        ),
    );
    let (base, client, _) = serve_connected(s, "x:AcmeHelp").await;

    let text = "@AcmeHelp my kettle stopped heating after the firmware update";
    let id = fake.post(fake_x::NewPost::new("maria_k", text));

    let rows = inbox(&client, &base, "x", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "x");
    assert_eq!(row["conversation"]["customer"]["handle"], "maria_k");
    assert_eq!(row["conversation"]["root_external_id"], id.as_str());
    assert_eq!(row["latest_text"], text);
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Sorry Maria! A fix is rolling out today; a restart applies it.",
        "x-answer-1",
    )
    .await;
    assert_eq!(fake.posts_created(), 1, "one post on the network");
    let received = fake.received_posts();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["reply"]["in_reply_to_tweet_id"], id.as_str());
    assert!(received[0]["text"]
        .as_str()
        .unwrap()
        .contains("A fix is rolling out today"));
    assert_heard(&client, &base, "x:AcmeHelp", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reddit_a_post_reaches_the_inbox_and_the_answer_comments_on_it_once() {
    let fake = FakeReddit::start("earshot-app", "app-secret", "acme_support", "hunter2")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        "acme_support",
        &format!(
            r#"
[[connectors.reddit]]
client_id = "earshot-app"
client_secret = "app-secret"
username = "acme_support"
password = "hunter2"
subreddits = ["r/smarthome"]
poll_interval_seconds = 1
www_url = "{0}"
oauth_url = "{0}"
"#,
            fake.base_url()
        ),
    );
    let (base, client, _) = serve_connected(s, "reddit:acme_support").await;

    let fullname = fake.submit(
        "smarthome",
        "lena_k",
        "Acme hub offline after update",
        "My hub has been offline since last night's update. Anyone else?",
    );

    let rows = inbox(&client, &base, "reddit", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "reddit");
    assert_eq!(row["conversation"]["customer"]["handle"], "lena_k");
    let text = row["latest_text"].as_str().unwrap();
    assert!(
        text.contains("Acme hub offline after update")
            && text.contains("offline since last night's update"),
        "{text}"
    );
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Hi Lena, a fix is out: unplug the hub for ten seconds to pick it up.",
        "reddit-answer-1",
    )
    .await;
    assert_eq!(fake.comments_created(), 1, "one comment on the network");
    let received = fake.received_comments();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].thing_id, fullname);
    assert!(received[0].text.contains("unplug the hub"));
    assert!(received[0].user_agent.contains("(by /u/acme_support)"));
    assert_heard(&client, &base, "reddit:acme_support", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_new_entries_reach_the_inbox_and_unchanged_feeds_are_not_downloaded_again() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/reviews.rss", FeedFormat::Rss, "Acme reviews");
    fake.publish(
        "/reviews.rss",
        FakeEntry::new(
            "review-1",
            "Kettle broke after a week",
            "<p>The lid hinge snapped on day 7.</p>",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        "acme",
        &format!(
            r#"
[[connectors.rss]]
name = "reviews"
poll_interval_seconds = 1
feeds = [{{ url = "{}", label = "Trustpilot reviews" }}]
"#,
            fake.url("/reviews.rss")
        ),
    );
    let (base, client, _) = serve_connected(s, "rss:reviews").await;

    let rows = inbox(&client, &base, "rss", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "rss");
    assert_eq!(row["conversation"]["customer"]["handle"], "Marta R.");
    let text = row["latest_text"].as_str().unwrap();
    assert!(
        text.contains("Kettle broke after a week")
            && text.contains("The lid hinge snapped on day 7."),
        "{text}"
    );
    assert!(!text.contains("<p>"), "HTML is turned into text: {text}");

    // A second entry later: heard on a later poll; the first is not heard twice.
    let mut later = FakeEntry::new(
        "review-2",
        "Great support",
        "<p>They replaced my kettle in two days.</p>",
    );
    later.author = Some("Jonas P.".into());
    fake.publish("/reviews.rss", later);
    let rows = inbox(&client, &base, "rss", 2).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_heard(&client, &base, "rss:reviews", 2).await;
    let counts = get(&client, &format!("{base}/api/v1/connectors")).await;
    assert_eq!(
        counts[0]["events_total"], 2,
        "each entry heard once: {counts}"
    );

    // Polls after the first send the validators back (conditional GET).
    let requests = fake.requests_for("/reviews.rss");
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(
        requests[1..].iter().all(|r| r.if_none_match.is_some()),
        "{requests:?}"
    );
}

/// A server in its own runtime, so the test can kill it the way a crash would: every task
/// (HTTP, connectors, housekeeping) dies where it stands, mid-batch or mid-frame.
struct Crashable {
    runtime: tokio::runtime::Runtime,
    base: String,
}

impl Crashable {
    fn start(settings: Settings) -> Crashable {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let base = runtime.block_on(async {
            let app = App::build(settings).await.unwrap();
            let base = app.address();
            tokio::spawn(app.run_until_stopped());
            base
        });
        Crashable { runtime, base }
    }

    fn crash(self) {
        self.runtime.shutdown_timeout(Duration::from_millis(100));
    }
}

/// Every stored post's external id, read from the store after the server is gone.
async fn stored_ids(data_dir: &Path) -> Vec<String> {
    let store = earshot_store::open(&data_dir.join("earshot.db").display().to_string())
        .await
        .unwrap();
    let total = store.counts().await.unwrap();
    let mut ids = Vec::new();
    let mut id = 1;
    while (ids.len() as u64) < total.posts && id <= (total.conversations as i64) * 4 + 10 {
        if let Some(detail) = store.conversation(ConversationId(id)).await.unwrap() {
            ids.extend(detail.posts.into_iter().map(|p| p.external_id));
        }
        id += 1;
    }
    assert_eq!(
        ids.len() as u64,
        total.posts,
        "every post found in a conversation"
    );
    ids
}

#[test]
fn a_crash_mid_stream_and_a_restart_lose_and_double_nothing() {
    // The fake and the test's HTTP client live in their own runtime: they outlive both servers.
    let outside = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = outside.block_on(fake_bluesky());
    let dir = tempfile::tempdir().unwrap();
    let client = common::api_client();
    let name = "bluesky:acme.bsky.social";

    let mut sent: Vec<FakePost> = Vec::new();
    let post_for = |fake: &FakeBluesky, sent: &mut Vec<FakePost>, ms: u64| {
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end {
            let n = sent.len();
            let author = if n.is_multiple_of(2) { ANA_DID } else { BO_DID };
            sent.push(fake.post(mention(author, &format!("order #{n} never arrived"))));
            std::thread::sleep(Duration::from_millis(5));
        }
    };

    let first = Crashable::start(bluesky_settings(&fake, dir.path()));
    outside.block_on(connected(&client, &first.base, name));
    post_for(&fake, &mut sent, 800);
    let heard_before = outside.block_on(async {
        let v = get(&client, &format!("{}/api/v1/connectors", first.base)).await;
        v[0]["events_total"].as_u64().unwrap()
    });
    // Killed while the stream is still flowing: posts keep coming while it is down.
    std::thread::scope(|scope| {
        let (fake, sent) = (&fake, &mut sent);
        let producer = scope.spawn(move || post_for(fake, sent, 600));
        first.crash();
        producer.join().unwrap();
    });
    let producing = sent.len();
    assert!(
        heard_before > 0,
        "the first server heard part of the stream"
    );

    let second = Crashable::start(bluesky_settings(&fake, dir.path()));
    outside.block_on(connected(&client, &second.base, name));
    post_for(&fake, &mut sent, 400);
    assert!(sent.len() > producing);
    let total = sent.len();
    // Wait until the second server's store holds as many posts as were sent.
    let started = Instant::now();
    loop {
        let stored = outside.block_on(async {
            let store = earshot_store::open(&dir.path().join("earshot.db").display().to_string())
                .await
                .unwrap();
            store.counts().await.unwrap().posts
        });
        if stored as usize >= total || started.elapsed() > WAIT {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    second.crash();

    let ids = outside.block_on(stored_ids(dir.path()));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let lost: Vec<&str> = sent
        .iter()
        .map(|p| p.uri.as_str())
        .filter(|u| !seen.contains_key(u))
        .collect();
    let doubled: Vec<(&&str, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(lost.is_empty(), "{} of {total} lost: {lost:?}", lost.len());
    assert!(doubled.is_empty(), "doubled: {doubled:?}");
    assert_eq!(ids.len(), total, "nothing stored that was not sent");
}
