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

use earshot_connect::appstore::fake::{FakeAppStore, FakeReview};
use earshot_connect::appstore::jwt::{generate_pem, TokenSigner};
use earshot_connect::bluesky::fake::{FakeBluesky, FakePost, PostSpec};
use earshot_connect::discord::fake::FakeDiscord;
use earshot_connect::reddit::fake::FakeReddit;
use earshot_connect::rss::fake::{FakeEntry, FakeFeeds, FeedFormat};
use earshot_connect::telegram::fake::{FakeTelegram, FakeUser};
use earshot_connect::x::fake::{self as fake_x, FakeX};
use earshot_core::ConversationId;
use earshot_server::{App, Settings};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

const WAIT: Duration = Duration::from_secs(15);

/// Settings for a server on a random port over `data_dir`, with `connectors` (earshot.toml
/// syntax) parsed exactly as the server parses its file.
fn settings(data_dir: &Path, brand: &str, connectors: &str) -> Settings {
    let mut s: Settings = toml::from_str(connectors).unwrap();
    s.data_dir = data_dir.to_path_buf();
    s.listen = "127.0.0.1:0".into();
    s.brand.handles = vec![brand.into()];
    common::with_api_token(&mut s);
    s
}

/// Starts the real app; its base URL.
async fn serve(settings: Settings) -> String {
    let app = App::build(settings).await.unwrap();
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    base
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    let r = client.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.unwrap()
}

async fn wait_for<F: Fn(&Value) -> bool>(client: &reqwest::Client, url: &str, ok: F) -> Value {
    let started = Instant::now();
    loop {
        let v = get(client, url).await;
        if ok(&v) {
            return v;
        }
        assert!(started.elapsed() < WAIT, "timed out waiting on {url}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The named connector's health, once it reports `connected`.
async fn connected(client: &reqwest::Client, base: &str, name: &str) -> Value {
    let all = wait_for(client, &format!("{base}/api/v1/connectors"), |v| {
        v.as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["name"] == name && c["state"] == "connected")
        })
    })
    .await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap()
}

/// The inbox rows of `network`, once there are `n` of them.
async fn inbox(client: &reqwest::Client, base: &str, network: &str, n: usize) -> Vec<Value> {
    let v = wait_for(
        client,
        &format!("{base}/api/v1/inbox?network={network}"),
        |v| v["items"].as_array().is_some_and(|i| i.len() >= n),
    )
    .await;
    v["items"].as_array().unwrap().clone()
}

/// Answers conversation `conv` twice with the same idempotency key, as an agent double-clicking
/// (or a client retrying after a timeout) would; both calls must succeed.
async fn answer_twice(client: &reqwest::Client, base: &str, conv: i64, text: &str, key: &str) {
    let body = json!({"text": text, "idempotency_key": key});
    for _ in 0..2 {
        let r = client
            .post(format!("{base}/api/v1/conversations/{conv}/replies"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
}

/// The connector still reports connected after the exchange, with what it heard counted.
async fn assert_heard(client: &reqwest::Client, base: &str, name: &str, at_least: u64) {
    let health = wait_for(client, &format!("{base}/api/v1/connectors"), |v| {
        v.as_array().is_some_and(|a| {
            a.iter().any(|c| {
                c["name"] == name && c["events_total"].as_u64().is_some_and(|n| n >= at_least)
            })
        })
    })
    .await;
    let mine = health
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    assert_eq!(mine["state"], "connected", "{mine}");
    assert!(mine["last_event_at"].is_string(), "{mine}");
}

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
    let base = serve(bluesky_settings(&fake, dir.path())).await;
    let client = common::api_client();
    connected(&client, &base, "bluesky:acme.bsky.social").await;

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
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "x:AcmeHelp").await;

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
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "reddit:acme_support").await;

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
async fn telegram_a_group_message_reaches_the_inbox_and_the_answer_replies_to_it_once() {
    const TOKEN: &str = "7012345678:AAF3kqT0pS3cr3tTokenValue_x-9";
    const GROUP: i64 = -1001987654321;
    let fake = FakeTelegram::start(TOKEN, "acme_help_bot").await.unwrap();
    fake.add_chat(
        GROUP,
        "supergroup",
        "Acme Kettle Owners",
        Some("acmekettle"),
    );
    fake.add_chat(-1001555000111, "supergroup", "Not ours", None);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        "acme_help_bot",
        &format!(
            r#"
[[connectors.telegram]]
bot_username = "acme_help_bot"
bot_token = "{TOKEN}"
chats = [{GROUP}]
poll_timeout_seconds = 1
api_url = "{}"
"#,
            fake.base_url()
        ),
    );
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "telegram:acme_help_bot").await;

    let mette = FakeUser::new(612345987, "Mette", Some("mette_k"));
    fake.say(
        -1001555000111,
        &mette,
        "a chat earshot was not asked to hear",
    );
    let message = fake.say_in_topic(
        GROUP,
        5101,
        &mette,
        "@acme_help_bot my K2 kettle stopped heating after the firmware update",
    );

    let rows = inbox(&client, &base, "telegram", 1).await;
    assert_eq!(rows.len(), 1, "only the listed chat is heard: {rows:?}");
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "telegram");
    assert_eq!(row["conversation"]["customer"]["handle"], "mette_k");
    let text = row["latest_text"].as_str().unwrap();
    assert!(text.contains("stopped heating"), "{text}");
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Hi Mette, hold the power button for ten seconds; 3.1.2 fixes it for good.",
        "telegram-answer-1",
    )
    .await;
    let sent = fake.sent_messages();
    assert_eq!(sent.len(), 1, "one message in the chat: {sent:?}");
    assert_eq!(sent[0].chat_id, GROUP);
    assert_eq!(sent[0].reply_to, Some(message), "a reply to her message");
    assert_eq!(sent[0].thread_id, Some(5101), "in her forum topic");
    assert!(sent[0].text.contains("hold the power button"));
    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert!(
        detail
            .to_string()
            .contains(&format!("{GROUP}:{}", sent[0].message_id)),
        "the sent message's id is stored with the reply: {detail}"
    );
    let journal = std::fs::read_to_string(dir.path().join("telegram-replies.jsonl")).unwrap();
    assert!(
        journal.contains(&format!(
            "\"state\":\"sent\",\"detail\":\"{GROUP}:{}\"",
            sent[0].message_id
        )),
        "the reply key is journalled with the sent message: {journal}"
    );
    assert_heard(&client, &base, "telegram:acme_help_bot", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_a_channel_message_reaches_the_inbox_and_the_answer_replies_to_it_once() {
    const TOKEN: &str = "MTM5NzAxMjM0NTY3ODkwMTIzNA.GhQ2xY.s3cr3t-discord-token";
    const GUILD: &str = "1200000000000000000";
    const SUPPORT: &str = "1201111111111111111";
    let fake = FakeDiscord::start(TOKEN, "1397012345678901234", GUILD)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        "earshot-bot",
        &format!(
            r#"
[[connectors.discord]]
guild_id = "{GUILD}"
bot_token = "{TOKEN}"
channels = ["{SUPPORT}"]
api_url = "{}"
"#,
            fake.api_url()
        ),
    );
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "discord:1200000000000000000").await;

    fake.say(
        "1202222222222222222",
        "5",
        "bo",
        "a channel earshot was not asked to hear",
    );
    let message = fake.say(
        SUPPORT,
        "887766554433221100",
        "lena.k",
        "my K2 kettle stopped heating after the firmware update",
    );
    let rows = inbox(&client, &base, "discord", 1).await;
    assert_eq!(rows.len(), 1, "only the listed channel is heard: {rows:?}");
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "discord");
    assert_eq!(row["conversation"]["customer"]["handle"], "lena.k");
    assert!(row["latest_text"]
        .as_str()
        .unwrap()
        .contains("stopped heating"));
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Hi Lena, hold the power button for ten seconds; 3.1.2 fixes it for good.",
        "discord-answer-1",
    )
    .await;
    let sent = fake.sent(SUPPORT);
    assert_eq!(sent.len(), 1, "one message in the channel: {sent:?}");
    assert_eq!(sent[0]["message_reference"]["message_id"], message.as_str());
    assert!(sent[0]["content"]
        .as_str()
        .unwrap()
        .contains("hold the power button"));
    let id = sent[0]["id"].as_str().unwrap();
    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert!(
        detail.to_string().contains(id),
        "the sent message's id is stored with the reply: {detail}"
    );
    assert_heard(&client, &base, "discord:1200000000000000000", 1).await;
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
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "rss:reviews").await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appstore_a_review_reaches_the_inbox_and_the_answer_becomes_its_single_response() {
    const ISSUER: &str = "57246542-96fe-1a63-e053-0824d011072a";
    const KID: &str = "2X9R4HXF34";
    const APP: &str = "1473658921";
    let pem = generate_pem();
    let public = TokenSigner::new(ISSUER, KID, &pem, Duration::from_secs(600))
        .unwrap()
        .public_key();
    let fake = FakeAppStore::start(public, KID, ISSUER, APP).await.unwrap();
    fake.review(FakeReview {
        id: "00000050-3c1d".into(),
        rating: 1,
        title: Some("Won't start after update".into()),
        body: Some("Since 3.1 the app crashes at launch on my iPhone 13.".into()),
        nickname: "kettlefan_dk".into(),
        created: chrono::Utc::now() - chrono::Duration::minutes(30),
        territory: "DNK".into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("AuthKey_2X9R4HXF34.p8");
    std::fs::write(&key_file, pem.expose()).unwrap();
    let s = settings(
        dir.path(),
        "acme",
        &format!(
            r#"
[[connectors.appstore]]
app_id = "{APP}"
issuer_id = "{ISSUER}"
key_id = "{KID}"
private_key_file = {:?}
api_url = "{}"
"#,
            key_file.display().to_string(),
            fake.base_url()
        ),
    );
    let base = serve(s).await;
    let client = common::api_client();
    connected(&client, &base, "appstore:1473658921").await;

    let rows = inbox(&client, &base, "appstore", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "appstore");
    assert_eq!(row["conversation"]["customer"]["handle"], "kettlefan_dk");
    let text = row["latest_text"].as_str().unwrap();
    assert!(text.starts_with("★☆☆☆☆ 1/5 Won't start"), "{text}");
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Sorry! 3.1.1 fixes the launch crash, please update.",
        "appstore-answer-1",
    )
    .await;
    let responses = fake.responses();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let response = &responses["00000050-3c1d"];
    assert!(response.body.contains("3.1.1 fixes"));
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "created once: {:?}", fake.requests());
    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert!(
        detail.to_string().contains(&response.id),
        "the response id is stored with the reply: {detail}"
    );
    assert_heard(&client, &base, "appstore:1473658921", 1).await;
}
