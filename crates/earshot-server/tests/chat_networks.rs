//! End to end through the real server for the chat and review networks (Telegram, Discord, the
//! App Store, Google Play, YouTube), each against its fake speaking the real wire protocol: a message or review on
//! the fake shows up in `GET /api/v1/inbox` with the right network, author and text; an answer
//! from the inbox arrives at the fake in the right place, once, even when the agent sends it
//! twice with the same key; and `GET /api/v1/connectors` shows the connector connected with its
//! events counted. The older networks are in `networks.rs`.
#![allow(clippy::unwrap_used)]

use earshot_connect::appstore::fake::{FakeAppStore, FakeReview};
use earshot_connect::appstore::jwt::{generate_pem, TokenSigner};
use earshot_connect::discord::fake::FakeDiscord;
use earshot_connect::googleplay::fake::{FakeGooglePlay, FakePlayReview};
use earshot_connect::telegram::fake::{FakeTelegram, FakeUser};
use earshot_connect::youtube::fake::FakeYouTube;
use std::time::Duration;

mod common;

use common::live::{answer_twice, assert_heard, connected, get, inbox, serve_connected, settings};

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
    let (base, client, _) = serve_connected(s, "telegram:acme_help_bot").await;

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
async fn telegram_by_webhook_only_a_delivery_with_the_secret_is_stored() {
    const TOKEN: &str = "7012345678:AAF3kqT0pS3cr3tTokenValue_x-9";
    const GROUP: i64 = -1001987654321;
    const HOOK_SECRET: &str = "q8Zc1-m4_Lr0vTg2";
    let fake = FakeTelegram::start(TOKEN, "acme_help_bot").await.unwrap();
    fake.add_chat(GROUP, "supergroup", "Acme Kettle Owners", None);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        dir.path(),
        "acme_help_bot",
        &format!(
            r#"
[[connectors.telegram]]
bot_username = "acme_help_bot"
bot_token = "{TOKEN}"
api_url = "{}"
webhook_url = "https://earshot.acme.example/hooks/telegram/acme_help_bot"
webhook_secret = "{HOOK_SECRET}"
"#,
            fake.base_url()
        ),
    );
    let (base, client, _) = serve_connected(s, "telegram:acme_help_bot").await;
    assert_eq!(fake.webhook_secret().as_deref(), Some(HOOK_SECRET));

    // No session: the route is open, and only the secret gets a delivery in.
    let hook = format!("{base}/hooks/telegram/acme_help_bot");
    let forged = r#"{"update_id": 9, "message": {"message_id": 1, "date": 1787217297, "text": "forged: refund me",
        "chat": {"id": -1001987654321, "type": "supergroup"}, "from": {"id": 7, "is_bot": false, "first_name": "X"}}}"#;
    let outsider = reqwest::Client::new();
    for secret in [None, Some("q8Zc1-m4_Lr0vTg3")] {
        let mut post = outsider.post(&hook).body(forged);
        if let Some(secret) = secret {
            post = post.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let answer = post.send().await.unwrap();
        assert_eq!(answer.status(), 401, "{secret:?}");
        assert!(!answer.text().await.unwrap().contains(HOOK_SECRET));
    }

    let mette = FakeUser::new(612345987, "Mette", Some("mette_k"));
    fake.say(GROUP, &mette, "@acme_help_bot my kettle is dead");
    assert_eq!(fake.deliver_webhook(&hook).await, vec![200]);
    let rows = inbox(&client, &base, "telegram", 1).await;
    assert_eq!(rows.len(), 1, "the forged ones were not stored: {rows:?}");
    let text = rows[0]["latest_text"].as_str().unwrap();
    assert!(text.contains("kettle is dead"), "{text}");
    assert!(
        !fake.requests().iter().any(|r| r == "getupdates"),
        "webhook mode never polls"
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
    let (base, client, _) = serve_connected(s, "discord:1200000000000000000").await;

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
    let (base, client, _) = serve_connected(s, "appstore:1473658921").await;

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

/// `[[connectors.googleplay]]` for the app of `fake`, its key file written into `dir`.
fn googleplay_block(fake: &FakeGooglePlay, dir: &std::path::Path) -> String {
    let key_file = dir.join("play-key.json");
    std::fs::write(&key_file, fake.key_file().expose()).unwrap();
    format!(
        r#"
[[connectors.googleplay]]
package_name = "com.acme.kettle"
service_account_key_file = {:?}
api_url = "{}"
"#,
        key_file.display().to_string(),
        fake.base_url()
    )
}

/// `[[connectors.youtube]]` for channel UCx7Ab3kQ9mZ2pL5nR8tV1wY on `fake`.
fn youtube_block(fake: &FakeYouTube) -> String {
    format!(
        r#"
[[connectors.youtube]]
channel_id = "UCx7Ab3kQ9mZ2pL5nR8tV1wY"
client_id = "{}"
client_secret = "GOCSPX-fake"
refresh_token = "1//0gRefreshTokenFake"
api_url = "{}"
token_url = "{}"
"#,
        fake.client_id(),
        fake.base_url(),
        fake.token_url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googleplay_a_review_reaches_the_inbox_rated_and_the_answer_becomes_its_single_reply() {
    const APP: &str = "com.acme.kettle";
    let fake = FakeGooglePlay::start("earshot-reviews@acme-play.iam.gserviceaccount.com", APP)
        .await
        .unwrap();
    let mut review = FakePlayReview::new(
        "gp:AOqpTOFm3x9Y2kq7Qd4b1rZc8s0LvW5n6tUe",
        "Marta R.",
        2,
        30,
        "Okay I guess. Pairing works after a few tries.",
    );
    review.title = Some("Kettle app".into());
    fake.review(review);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "acme", &googleplay_block(&fake, dir.path()));
    let (base, client, health) = serve_connected(s, "googleplay:com.acme.kettle").await;
    assert!(
        health["note"].as_str().unwrap().contains("last 7 days"),
        "health says the API keeps a week: {health}"
    );

    let rows = inbox(&client, &base, "googleplay", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "googleplay");
    assert_eq!(row["conversation"]["customer"]["handle"], "Marta R.");
    let text = row["latest_text"].as_str().unwrap();
    assert!(
        text.starts_with("★★☆☆☆ 2/5 Kettle app\nOkay I guess"),
        "{text}"
    );
    assert!(
        text.contains("app 3.1.2 (30102) · Google Pixel 7"),
        "{text}"
    );
    // Two stars read negative whatever the words say: the rating is part of triage.
    assert_eq!(row["conversation"]["sentiment"], "negative", "{row}");
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Thanks Marta, 3.1.3 restores pairing at once.",
        "googleplay-answer-1",
    )
    .await;
    assert_eq!(
        fake.reply_of("gp:AOqpTOFm3x9Y2kq7Qd4b1rZc8s0LvW5n6tUe")
            .as_deref(),
        Some("Thanks Marta, 3.1.3 restores pairing at once.")
    );
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.ends_with(":reply"))
        .count();
    assert_eq!(posts, 1, "replied once: {:?}", fake.requests());
    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert!(
        detail
            .to_string()
            .contains("gp:AOqpTOFm3x9Y2kq7Qd4b1rZc8s0LvW5n6tUe/reply"),
        "the reply's id is stored with it: {detail}"
    );
    assert_heard(&client, &base, "googleplay:com.acme.kettle", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn youtube_a_comment_reaches_the_inbox_and_the_answer_goes_under_its_thread_once() {
    const CHANNEL: &str = "UCx7Ab3kQ9mZ2pL5nR8tV1wY";
    let fake = FakeYouTube::start(CHANNEL, "1//0gRefreshTokenFake")
        .await
        .unwrap();
    let thread = fake.comment(
        "dQ8kT2mNp0A",
        ("UCb2Yc8nQ4rS6tU1vW3xZ5aA", "giulia.b"),
        "Does the K2 descaling mode work on 3.1? Mine skips it.",
        20,
    );
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "acme", &youtube_block(&fake));
    let (base, client, health) = serve_connected(s, "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY").await;
    assert!(
        health["note"]
            .as_str()
            .unwrap()
            .contains("units spent today"),
        "health shows the day's quota: {health}"
    );

    let rows = inbox(&client, &base, "youtube", 1).await;
    let row = &rows[0];
    assert_eq!(row["conversation"]["network"], "youtube");
    assert_eq!(row["conversation"]["customer"]["handle"], "giulia.b");
    assert!(row["latest_text"]
        .as_str()
        .unwrap()
        .contains("Mine skips it"));
    let conv = row["conversation"]["id"].as_i64().unwrap();

    answer_twice(
        &client,
        &base,
        conv,
        "Hi Giulia, 3.1.2 fixes descaling: update in the app's settings.",
        "youtube-answer-1",
    )
    .await;
    let ours = fake.channel_replies();
    assert_eq!(ours.len(), 1, "one reply under the thread: {ours:?}");
    assert_eq!(ours[0].parent.as_deref(), Some(thread.as_str()));
    assert!(ours[0].text.contains("3.1.2 fixes descaling"));
    let detail = get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert!(
        detail.to_string().contains(&ours[0].id),
        "the reply's comment id is stored with it: {detail}"
    );
    assert_heard(&client, &base, "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googleplay_and_youtube_show_on_the_settings_page_with_their_health_and_the_quota_is_kept()
{
    const APP: &str = "com.acme.kettle";
    const CHANNEL: &str = "UCx7Ab3kQ9mZ2pL5nR8tV1wY";
    let play = FakeGooglePlay::start("earshot-reviews@acme-play.iam.gserviceaccount.com", APP)
        .await
        .unwrap();
    let youtube = FakeYouTube::start(CHANNEL, "1//0gRefreshTokenFake")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blocks = googleplay_block(&play, dir.path()) + &youtube_block(&youtube);
    let s = settings(dir.path(), "acme", &blocks);

    // `earshot connectors check` tries both.
    let checked = earshot_server::connectors::check_credentials(&s)
        .await
        .unwrap();
    let report = |name: &str| {
        checked
            .iter()
            .find(|r| r.connector == name)
            .unwrap_or_else(|| panic!("{name} in {checked:?}"))
    };
    let play_check = report("googleplay:com.acme.kettle");
    assert!(
        play_check.ok && play_check.detail.contains("last week"),
        "{play_check:?}"
    );
    let youtube_check = report("youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY");
    assert!(
        youtube_check.ok
            && youtube_check
                .detail
                .starts_with("Acme Kettles (UCx7Ab3kQ9mZ2pL5nR8tV1wY)"),
        "{youtube_check:?}"
    );

    let (base, desk) = common::start(s).await;
    common::add_people(&desk, &[("anna", earshot_store::people::Role::Admin)]).await;
    let client = common::api_client();
    connected(&client, &base, "googleplay:com.acme.kettle").await;
    connected(&client, &base, "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY").await;
    let cookie = common::session(&base, "anna").await;
    let page = common::browser()
        .get(format!("{base}/settings"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for shown in [
        "googleplay:com.acme.kettle",
        "Google Play lists only the last 7 days of reviews",
        "youtube:UCx7Ab3kQ9mZ2pL5nR8tV1wY",
        "units spent today",
    ] {
        assert!(html.contains(shown), "the settings page shows {shown:?}");
    }

    // The day's YouTube units are kept in the data directory (the check's and the source's).
    let quota = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("youtube-quota-")
        })
        .expect("a quota file in the data directory");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(quota.path()).unwrap()).unwrap();
    assert!(
        kept["spent"].as_u64().unwrap() >= 2,
        "the check's unit and the first listing: {kept}"
    );
}
