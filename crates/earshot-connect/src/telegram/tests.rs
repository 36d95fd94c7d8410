//! The Telegram source, responder and credentials check against [`super::fake::FakeTelegram`]:
//! what arrives in the sink, what the fake received, and how 429s, cut answers, 5xx, a
//! revoked token, a webhook set elsewhere, restarts and a failing sink are survived.

use super::fake::{FakeTelegram, FakeUser};
use super::{check_credentials, Secret, TelegramConfig, TelegramResponder, TelegramSource};
use crate::responder::{Responder, SendError};
use crate::source::testing::{self, assert_last_error, start_connected, MemorySink, WAIT};
use crate::source::{Amendment, CheckError, ConnectorState, SourceError};
use earshot_core::{Network, NewPost, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) const TOKEN: &str = "7012345678:AAF3kqT0pS3cr3tTokenValue_x-9";
const SECRET_HALF: &str = "AAF3kqT0pS3cr3tTokenValue_x-9";
pub(super) const BOT: &str = "acme_help_bot";
const SOURCE: &str = "telegram:acme_help_bot";
pub(super) const GROUP: i64 = -1001987654321;
pub(super) const OTHER_GROUP: i64 = -1001555000111;
const CHANNEL: i64 = -1002000000042;

pub(super) async fn fake() -> FakeTelegram {
    let fake = FakeTelegram::start(TOKEN, BOT).await.unwrap();
    fake.add_chat(
        GROUP,
        "supergroup",
        "Acme Kettle Owners",
        Some("acmekettle"),
    );
    fake.add_chat(OTHER_GROUP, "supergroup", "Tea chat", None);
    fake.add_chat(CHANNEL, "channel", "Acme news", Some("acmenews"));
    fake
}

pub(super) fn config(fake: &FakeTelegram) -> TelegramConfig {
    let mut config = TelegramConfig::new(Secret::new(TOKEN), BOT);
    config.api_url = fake.base_url();
    config.poll_timeout = Duration::from_secs(1);
    config.request_timeout = Duration::from_secs(2);
    config.max_reply_wait = Duration::from_secs(2);
    // The §0.3 regimes at 1/100: 5 s becomes 50 ms.
    config.backoff_scale = 0.01;
    config
}

pub(super) fn mette() -> FakeUser {
    FakeUser::new(612345987, "Mette", Some("mette_k"))
}

pub(super) type Running = testing::Running<TelegramSource>;

pub(super) fn start(config: TelegramConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(TelegramSource::new(config).unwrap()), sink)
}

fn ids(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.external_id.clone()).collect()
}

fn offset_of(sink: &MemorySink) -> Option<i64> {
    let cursor: serde_json::Value = serde_json::from_str(&sink.cursor_of(SOURCE)?).ok()?;
    assert_eq!(cursor["v"], 1);
    cursor["offset"].as_i64()
}

#[tokio::test]
async fn messages_replies_and_channel_posts_arrive_keyed_by_chat_and_message() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let first = fake.say(GROUP, &mette(), "@acme_help_bot my K2 won't boil since 3.1");
    let second = fake.reply(
        GROUP,
        first,
        &FakeUser::new(5, "Bo", None),
        "same here, since yesterday",
    );
    let news = fake.channel_post(CHANNEL, "3.1.2 is out");
    let posts = sink.wait_for(3, WAIT).await;

    assert_eq!(
        ids(&posts),
        vec![
            format!("{GROUP}:{first}"),
            format!("{GROUP}:{second}"),
            format!("{CHANNEL}:{news}")
        ]
    );
    let p = &posts[0];
    assert_eq!(p.network, Network::Telegram);
    assert_eq!(p.author.handle, "mette_k");
    assert_eq!(p.author.external_id, "612345987");
    assert_eq!(p.text, "@acme_help_bot my K2 won't boil since 3.1");
    assert_eq!(
        p.url.as_deref(),
        Some(format!("https://t.me/acmekettle/{first}").as_str())
    );
    assert_eq!(
        posts[1].in_reply_to.as_deref(),
        Some(format!("{GROUP}:{first}").as_str())
    );
    assert_eq!(posts[1].author.handle, "Bo", "no username: the name");
    assert_eq!(posts[2].author.handle, "acmenews");
    running.connected().await;
    // The next poll confirms what was stored: nothing stays queued on Telegram's side.
    running
        .until("updates confirmed", |_| fake.pending_updates() == 0)
        .await;
    let offsets = fake.offsets();
    let last = offset_of(&sink).unwrap();
    assert!(offsets.contains(&Some(last)), "{offsets:?} / {last}");
    assert!(
        fake.requests().iter().all(|m| m == "getupdates"),
        "{:?}",
        fake.requests()
    );
    running.stop().await;
}

#[tokio::test]
async fn an_edit_becomes_an_edited_post_and_skipped_updates_are_confirmed() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    let id = fake.say(GROUP, &mette(), "kettel broken");
    sink.wait_for(1, WAIT).await;
    fake.edit(GROUP, id, "kettle broken");
    fake.queue_raw("my_chat_member", serde_json::json!({"chat": {"id": GROUP}}));
    running
        .until("the edit", |_| !sink.amendments().is_empty())
        .await;
    match &sink.amendments()[..] {
        [Amendment::Edited(post)] => {
            assert_eq!(post.external_id, format!("{GROUP}:{id}"));
            assert_eq!(post.text, "kettle broken");
        }
        other => panic!("{other:?}"),
    }
    running
        .until("all confirmed", |_| fake.pending_updates() == 0)
        .await;
    running.stop().await;
}

#[tokio::test]
async fn chats_not_listed_are_passed_over_but_confirmed() {
    let fake = fake().await;
    let mut config = config(&fake);
    config.chats = vec!["@acmekettle".into()];
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    fake.say(OTHER_GROUP, &mette(), "off topic");
    let ours = fake.say(GROUP, &mette(), "kettle question");
    let posts = sink.wait_for(1, WAIT).await;
    running
        .until("all confirmed", |_| fake.pending_updates() == 0)
        .await;
    assert_eq!(ids(&posts), vec![format!("{GROUP}:{ours}")]);
    assert_eq!(sink.posts().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_offset_without_gaps_or_doubles() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let before: Vec<i64> = (0..2)
        .map(|i| fake.say(GROUP, &mette(), &format!("before {i}")))
        .collect();
    let running = start(config(&fake), sink.clone());
    sink.wait_for(2, WAIT).await;
    running.stop().await;
    let stored = offset_of(&sink).unwrap();

    // Written while earshot was down: Telegram keeps them (unconfirmed) for the next poll.
    let during: Vec<i64> = (0..3)
        .map(|i| fake.say(GROUP, &mette(), &format!("during {i}")))
        .collect();
    let polls_before = fake.offsets().len();
    let running = start(config(&fake), sink.clone());
    sink.wait_for(5, WAIT).await;
    running
        .until("confirmed", |_| fake.pending_updates() == 0)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expected: Vec<String> = before
        .iter()
        .chain(&during)
        .map(|id| format!("{GROUP}:{id}"))
        .collect();
    assert_eq!(ids(&sink.posts()), expected, "each once, in order");
    assert_eq!(
        fake.offsets()[polls_before],
        Some(stored),
        "the restart asks from the stored offset"
    );
    assert_eq!(offset_of(&sink), Some(stored + 3));
    running.stop().await;
}

#[tokio::test]
async fn a_store_failure_hears_the_batch_again_without_doubles() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    sink.fail_next(2);
    let id = fake.say(GROUP, &mette(), "stored at the third try");
    let running = start(config(&fake), sink.clone());
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), vec![format!("{GROUP}:{id}")]);
    let report = running.health.report();
    assert_eq!(report.errors_total, 2);
    assert_last_error(&report, "could not store");
    running.connected().await;
    running
        .until("confirmed", |_| fake.pending_updates() == 0)
        .await;
    assert_eq!(sink.posts().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_429_is_waited_out_for_exactly_retry_after() {
    let fake = fake().await;
    fake.rate_limit_next("getUpdates", 1, 1);
    let id = fake.say(GROUP, &mette(), "hello?");
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(config(&fake), sink.clone());
    running.state(ConnectorState::BackingOff).await;
    assert!(
        running.error().contains("retry after 1"),
        "{}",
        running.error()
    );
    let posts = sink.wait_for(1, WAIT).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry_after honoured in full, not scaled"
    );
    assert_eq!(ids(&posts), vec![format!("{GROUP}:{id}")]);
    assert_eq!(fake.served(429), 1);
    running.stop().await;
}

#[tokio::test]
async fn dropped_connections_and_5xx_lose_and_double_nothing() {
    let fake = fake().await;
    let first = fake.say(GROUP, &mette(), "one");
    // Two 502s, then two answers cut mid-body, before anything is heard.
    fake.fail_next("getUpdates", 2, 502);
    fake.cut_next("getUpdates", 2);
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    sink.wait_for(1, WAIT).await;
    let report = running.health.report();
    assert_eq!(report.errors_total, 4, "{report:?}");
    assert_eq!(fake.served(502), 2);
    let second = fake.say(GROUP, &mette(), "two");
    sink.wait_for(2, WAIT).await;
    running.connected().await;
    running
        .until("confirmed", |_| fake.pending_updates() == 0)
        .await;
    assert_eq!(
        ids(&sink.posts()),
        vec![format!("{GROUP}:{first}"), format!("{GROUP}:{second}")]
    );
    running.stop().await;
}

#[tokio::test]
async fn a_revoked_token_stops_the_source_with_what_to_do_and_never_shows_the_token() {
    let fake = fake().await;
    fake.revoke_token();
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake), sink.clone());
    let (result, health) = running.ended().await;
    let Err(SourceError::Auth(reason)) = result else {
        panic!("{result:?}");
    };
    assert!(reason.contains("@BotFather"), "{reason}");
    let report = health.report();
    assert_eq!(report.state, ConnectorState::Failing);
    let shown = format!("{report:?} {reason}");
    assert!(!shown.contains(SECRET_HALF), "{shown}");
    assert_eq!(fake.served(401), 1, "no retry loop on a refused token");
}

#[tokio::test]
async fn a_webhook_set_elsewhere_is_reported_left_alone_and_recovered_from() {
    let fake = fake().await;
    fake.set_webhook("https://other.example/hook");
    let mut config = config(&fake);
    config.backoff_scale = 0.002; // the 60 s conflict wait becomes 120 ms
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running.state(ConnectorState::Failing).await;
    let error = running.error();
    assert!(
        error.contains("webhook is set") && error.contains("deleteWebhook"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.served(409) >= 2, "retried slowly");
    assert_eq!(
        fake.webhook().as_deref(),
        Some("https://other.example/hook"),
        "earshot never removes another integration's webhook"
    );
    assert!(!fake.requests().iter().any(|m| m == "deletewebhook"));
    fake.delete_webhook();
    let id = fake.say(GROUP, &mette(), "back");
    let posts = sink.wait_for(1, WAIT).await;
    assert_eq!(ids(&posts), vec![format!("{GROUP}:{id}")]);
    running.connected().await;
    running.stop().await;
}

/// The fake's long poll: held until an update comes, and cut with 409 by a second poller.
/// A `getUpdates` long poll of 5 s in the background: its status, how long it was held and
/// the body.
fn long_poll(
    client: &reqwest::Client,
    url: &str,
) -> tokio::task::JoinHandle<(u16, Duration, String)> {
    let (client, url) = (client.clone(), url.to_owned());
    tokio::spawn(async move {
        let started = Instant::now();
        let r = client
            .post(&url)
            .json(&serde_json::json!({"timeout": 5}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, started.elapsed(), r.text().await.unwrap())
    })
}

#[tokio::test]
async fn the_fake_holds_a_long_poll_and_a_second_poller_cuts_the_first() {
    let fake = fake().await;
    let url = format!("{}/bot{TOKEN}/getUpdates", fake.base_url());
    let client = reqwest::Client::new();
    let first = long_poll(&client, &url);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!first.is_finished(), "held while nothing happens");
    let second = long_poll(&client, &url);
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("terminated by other getUpdates request"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.say(GROUP, &mette(), "wakes the poll");
    let (_, waited, body) = second.await.unwrap();
    assert!(
        waited < Duration::from_secs(4),
        "answered early: {waited:?}"
    );
    assert!(body.contains("wakes the poll"), "{body}");
    let unknown = client
        .post(format!("{}/bot1:wrong/getMe", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        unknown.json::<serde_json::Value>().await.unwrap()["ok"],
        false
    );
}

fn conversation(root: &str) -> ReplyTarget {
    crate::responder::testing::target("612345987", "mette_k", root)
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    crate::responder::testing::reply(Network::Telegram, in_reply_to, key, text)
}

#[tokio::test]
async fn a_reply_lands_in_the_chat_and_topic_under_the_message_once_even_when_sent_twice() {
    let fake = fake().await;
    let root = fake.say_in_topic(GROUP, 5101, &mette(), "K2 dead after 3.1");
    let later = fake.reply(GROUP, root, &mette(), "still dead");
    let responder = TelegramResponder::new(config(&fake)).unwrap();
    let conv = conversation(&format!("{GROUP}:{root}"));
    let answer = reply(
        &format!("{GROUP}:{later}"),
        "conv-7-draft-1",
        "Hej Mette! Hold the button for 10 seconds; a fix comes in 3.1.2.",
    );
    let first = responder.send(&answer, &conv).await.unwrap();
    let second = responder.send(&answer, &conv).await.unwrap();
    assert_eq!(first, second);
    let sent = fake.sent_messages();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].chat_id, GROUP);
    assert_eq!(sent[0].reply_to, Some(later));
    assert_eq!(sent[0].thread_id, Some(5101), "in the customer's topic");
    assert_eq!(sent[0].text, answer.text);
    assert_eq!(first, format!("{GROUP}:{}", sent[0].message_id));
    // Without a target of its own the reply answers the conversation's root.
    let rooted = reply("", "conv-7-draft-2", "One more thing.");
    responder.send(&rooted, &conv).await.unwrap();
    assert_eq!(fake.sent_messages()[1].reply_to, Some(root));
}

#[tokio::test]
async fn a_429_on_a_reply_is_waited_out_or_handed_back_never_doubled() {
    let fake = fake().await;
    let id = fake.say(GROUP, &mette(), "help");
    let conv = conversation(&format!("{GROUP}:{id}"));
    let responder = TelegramResponder::new(config(&fake)).unwrap();
    fake.rate_limit_next("sendMessage", 1, 1);
    let answer = reply(&format!("{GROUP}:{id}"), "k-1", "On it!");
    responder.send(&answer, &conv).await.unwrap();
    assert_eq!(fake.sent_messages().len(), 1);
    assert_eq!(fake.served(429), 1);

    let mut impatient = config(&fake);
    impatient.max_reply_wait = Duration::ZERO;
    let responder = TelegramResponder::new(impatient).unwrap();
    fake.rate_limit_next("sendMessage", 1, 30);
    let answer = reply(&format!("{GROUP}:{id}"), "k-2", "Fixed now?");
    let e = responder.send(&answer, &conv).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Retryable { reason, .. } if reason.contains("retry in 30 s")),
        "{e:?}"
    );
    assert_eq!(fake.sent_messages().len(), 1, "nothing posted by the 429");
    responder.send(&answer, &conv).await.unwrap();
    responder.send(&answer, &conv).await.unwrap();
    assert_eq!(fake.sent_messages().len(), 2, "the retry posted it once");
}

#[tokio::test]
async fn a_lost_answer_is_never_sent_again_by_itself() {
    let fake = fake().await;
    let id = fake.say(GROUP, &mette(), "help");
    let conv = conversation(&format!("{GROUP}:{id}"));
    let responder = TelegramResponder::new(config(&fake)).unwrap();
    fake.lose_next_send_answer();
    let answer = reply(&format!("{GROUP}:{id}"), "k-lost", "On it!");
    for _ in 0..2 {
        let e = responder.send(&answer, &conv).await.unwrap_err();
        assert!(
            matches!(&e, SendError::Refused { reason, .. } if reason.contains("may have posted") && reason.contains("Look in the chat")),
            "{e:?}"
        );
    }
    assert_eq!(fake.sent_messages().len(), 1, "posted once, never repeated");
    // A 5xx with Telegram's envelope says nothing was done: that one is retryable.
    fake.fail_next("sendMessage", 1, 500);
    let other = reply(&format!("{GROUP}:{id}"), "k-5xx", "Again");
    let e = responder.send(&other, &conv).await.unwrap_err();
    assert!(matches!(e, SendError::Retryable { .. }), "{e:?}");
    responder.send(&other, &conv).await.unwrap();
    assert_eq!(fake.sent_messages().len(), 2);
}

/// With a journal, what a responder knew survives a restart: a sent key is not posted again,
/// a key a crash cut short mid-send is refused with what to check, and one that failed
/// cleanly is sent.
#[tokio::test]
async fn the_journal_keeps_sent_and_cut_short_keys_across_a_restart() {
    let fake = fake().await;
    let id = fake.say(GROUP, &mette(), "help");
    let conv = conversation(&format!("{GROUP}:{id}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telegram-replies.jsonl");
    let open = |config| {
        TelegramResponder::new(config)
            .unwrap()
            .with_journal(&path)
            .unwrap()
    };
    let mut impatient = config(&fake);
    impatient.max_reply_wait = Duration::ZERO;
    let responder = open(impatient.clone());
    let sent = reply(&format!("{GROUP}:{id}"), "k-sent", "On it!");
    let first = responder.send(&sent, &conv).await.unwrap();
    fake.rate_limit_next("sendMessage", 1, 30);
    let limited = reply(&format!("{GROUP}:{id}"), "k-429", "Later");
    assert!(responder.send(&limited, &conv).await.is_err());
    drop(responder);
    // A crash right after the call went out: `sending` is the key's last line.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"key\":\"k-crash\",\"state\":\"sending\"}\n").unwrap();

    let responder = open(impatient);
    assert_eq!(responder.send(&sent, &conv).await.unwrap(), first);
    let crashed = reply(&format!("{GROUP}:{id}"), "k-crash", "Hello?");
    let e = responder.send(&crashed, &conv).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Refused { reason, .. } if reason.contains("may have been posted") && reason.contains("Look in the chat")),
        "{e:?}"
    );
    responder.send(&limited, &conv).await.unwrap();
    let texts: Vec<String> = fake.sent_messages().into_iter().map(|m| m.text).collect();
    assert_eq!(
        texts,
        vec!["On it!", "Later"],
        "each once; the cut-short one not guessed"
    );
}

#[tokio::test]
async fn replies_too_long_to_gone_messages_or_with_a_bad_token_are_refused_with_reasons() {
    let fake = fake().await;
    let id = fake.say(GROUP, &mette(), "help");
    let conv = conversation(&format!("{GROUP}:{id}"));
    let responder = TelegramResponder::new(config(&fake)).unwrap();

    let long = reply(&format!("{GROUP}:{id}"), "k-long", &"a".repeat(4097));
    let e = responder.send(&long, &conv).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Refused { reason, .. } if reason.contains("at most 4096")),
        "{e:?}"
    );
    assert!(
        !fake.requests().iter().any(|m| m == "sendmessage"),
        "checked before sending"
    );

    let gone = reply(&format!("{GROUP}:999999"), "k-gone", "Hello?");
    let e = responder.send(&gone, &conv).await.unwrap_err();
    assert!(
        matches!(&e, SendError::Refused { reason, .. } if reason.contains("deleted")),
        "{e:?}"
    );
    let not_a_key = reply("t1_abc", "k-key", "Hello?");
    let e = responder.send(&not_a_key, &conv).await.unwrap_err();
    assert!(matches!(e, SendError::Refused { .. }), "{e:?}");

    fake.revoke_token();
    let e = responder
        .send(&reply(&format!("{GROUP}:{id}"), "k-401", "Hi"), &conv)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::Refused { reason, .. } if reason.contains("@BotFather") && !reason.contains(SECRET_HALF)),
        "{e:?}"
    );
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn the_credentials_check_names_the_bot_or_what_to_fix() {
    let fake = fake().await;
    let who = check_credentials(&config(&fake)).await.unwrap();
    assert_eq!(who, "@acme_help_bot (7012345678)");
    fake.set_privacy(true);
    let who = check_credentials(&config(&fake)).await.unwrap();
    assert!(who.contains("privacy mode is on"), "{who}");

    let mut wrong = config(&fake);
    wrong.bot_username = "other_bot".into();
    let e = check_credentials(&wrong).await.unwrap_err();
    assert!(
        matches!(&e, CheckError::Misconfigured(m) if m.contains("@acme_help_bot")),
        "{e:?}"
    );
    let mut bad = config(&fake);
    bad.token = Secret::new("7012345678:AAnotTheRightOne");
    let e = check_credentials(&bad).await.unwrap_err();
    assert!(
        matches!(&e, CheckError::Refused(m) if m.contains("@BotFather") && !m.contains("AAnotTheRightOne")),
        "{e:?}"
    );
    let mut down = config(&fake);
    down.api_url = "http://127.0.0.1:9".into();
    let e = check_credentials(&down).await.unwrap_err();
    assert!(
        matches!(&e, CheckError::Unreachable(m) if !m.contains(SECRET_HALF)),
        "{e:?}"
    );
}
