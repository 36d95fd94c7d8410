//! The Discord responder against [`super::fake::FakeDiscord`]: where the reply lands, that a
//! repeated key never doubles (in this process, and across a restart through the nonce), 429
//! waits, the 2000-character check before any call, and the source hearing the reply as ours.

use super::fake::FakeDiscord;
use super::{DiscordConfig, DiscordResponder, DiscordSource, Secret};
use crate::responder::testing::{assert_refused, expect_retryable};
use crate::responder::Responder;
use crate::source::testing::{self, MemorySink, WAIT};
use earshot_core::{Network, Reply, ReplyTarget};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "MTM5NzAxMjM0NTY3ODkwMTIzNA.GhQ2xY.s3cr3t-discord-token";
const BOT: &str = "1397012345678901234";
const GUILD: &str = "1200000000000000000";
const SUPPORT: &str = "1201111111111111111";
const HELP: &str = "1203333333333333333";

fn config(fake: &FakeDiscord) -> DiscordConfig {
    let mut config = DiscordConfig::new(Secret::new(TOKEN), GUILD);
    config.api_url = fake.api_url();
    config.channels = vec![HELP.into(), SUPPORT.into()];
    config.request_timeout = Duration::from_secs(2);
    config.backoff_scale = 0.01;
    config
}

fn conversation(root: &str) -> ReplyTarget {
    crate::responder::testing::target("887766554433221100", "lena.k", root)
}

fn reply(in_reply_to: &str, key: &str, text: &str) -> Reply {
    crate::responder::testing::reply(Network::Discord, in_reply_to, key, text)
}

async fn fake() -> FakeDiscord {
    let fake = FakeDiscord::start(TOKEN, BOT, GUILD).await.unwrap();
    fake.say(HELP, "5", "bo", "how do I descale?");
    fake
}

#[tokio::test]
async fn a_reply_lands_under_the_message_once_for_a_repeated_key_even_after_a_restart() {
    let fake = fake().await;
    let sink = Arc::new(MemorySink::default());
    let running = testing::Running::start(
        Arc::new(DiscordSource::new(config(&fake)).unwrap()),
        sink.clone(),
    );
    running.connected().await;
    let asked = fake.say(SUPPORT, "887766554433221100", "lena.k", "K2 boot loop");
    // (The question in HELP came before the bot listened: not heard.)
    sink.wait_for(1, WAIT).await;

    let responder = DiscordResponder::new(config(&fake)).unwrap();
    let conv = conversation(&asked);
    let answer = reply(
        &asked,
        "conv-7-draft-1",
        "Hi Lena, hold the button for 10 s; 3.1.2 ships Friday.",
    );
    let first = responder.send(&answer, &conv).await.unwrap();
    assert_eq!(responder.send(&answer, &conv).await.unwrap(), first);
    // A restarted earshot has no memory of the key; the nonce makes Discord answer with the
    // first message.
    let restarted = DiscordResponder::new(config(&fake)).unwrap();
    assert_eq!(restarted.send(&answer, &conv).await.unwrap(), first);

    let sent = fake.sent(SUPPORT);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], first.as_str());
    assert_eq!(sent[0]["content"], answer.text.as_str());
    assert_eq!(sent[0]["message_reference"]["message_id"], asked.as_str());
    assert!(fake.sent(HELP).is_empty(), "in the customer's channel only");

    // The gateway dispatches the reply too: heard as the brand's, under the customer's post.
    let posts = sink.wait_for(2, WAIT).await;
    let ours = posts
        .iter()
        .find(|p| p.external_id == first)
        .expect("the reply heard");
    assert_eq!(ours.from_brand, Some(true));
    assert_eq!(ours.in_reply_to.as_deref(), Some(asked.as_str()));
    running.stop().await;
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_long_one_handed_back_without_posting() {
    let fake = fake().await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "hello?");
    let responder = DiscordResponder::new(config(&fake))
        .unwrap()
        .with_max_reply_wait(Duration::from_secs(1));
    // The channel lookup and the post each meet a 429.
    fake.rate_limit(2, 0.05);
    let id = responder
        .send(&reply(&asked, "k-1", "We're on it."), &conversation(&asked))
        .await
        .unwrap();
    assert_eq!(fake.sent(SUPPORT).len(), 1);
    assert_eq!(fake.sent(SUPPORT)[0]["id"], id.as_str());

    fake.rate_limit(1, 30.0);
    expect_retryable(
        responder
            .send(
                &reply(&asked, "k-2", "One more thing."),
                &conversation(&asked),
            )
            .await,
    );
    assert_eq!(fake.sent(SUPPORT).len(), 1, "nothing posted on a long 429");
}

#[tokio::test]
async fn too_long_or_unknown_targets_are_refused_before_posting() {
    let fake = fake().await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "hello?");
    let responder = DiscordResponder::new(config(&fake)).unwrap();
    let long = "é".repeat(2001);
    assert_refused(
        responder
            .send(&reply(&asked, "k-long", &long), &conversation(&asked))
            .await,
        "2001 characters",
    );
    assert!(fake.user_agents().is_empty(), "checked before any call");
    let exactly = "é".repeat(2000);
    responder
        .send(&reply(&asked, "k-2000", &exactly), &conversation(&asked))
        .await
        .unwrap();

    assert_refused(
        responder
            .send(
                &reply("1406200000000000001", "k-gone", "hi"),
                &conversation(&asked),
            )
            .await,
        "none of the channels",
    );
    assert_eq!(fake.sent(SUPPORT).len(), 1);
}

#[tokio::test]
async fn the_journal_keeps_a_restart_from_posting_twice_after_the_nonce_window() {
    let fake = fake().await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "hello?");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("discord-replies.jsonl");
    let answer = reply(&asked, "conv-7-draft-2", "We're on it.");
    let conv = conversation(&asked);
    let first = DiscordResponder::new(config(&fake))
        .unwrap()
        .with_journal(&journal)
        .unwrap()
        .send(&answer, &conv)
        .await
        .unwrap();
    // Minutes later the nonce no longer protects; the journal does.
    fake.forget_nonces();
    let restarted = DiscordResponder::new(config(&fake))
        .unwrap()
        .with_journal(&journal)
        .unwrap();
    assert_eq!(restarted.send(&answer, &conv).await.unwrap(), first);
    assert_eq!(fake.sent(SUPPORT).len(), 1, "{:?}", fake.sent(SUPPORT));

    // A send a crash cut short is not guessed at.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .and_then(|mut f| {
            std::io::Write::write_all(
                &mut f,
                b"{\"key\":\"conv-7-draft-3\",\"state\":\"sending\"}\n",
            )
        })
        .unwrap();
    assert_refused(
        DiscordResponder::new(config(&fake))
            .unwrap()
            .with_journal(&journal)
            .unwrap()
            .send(&reply(&asked, "conv-7-draft-3", "Any news?"), &conv)
            .await,
        "Look in the channel",
    );
    assert_eq!(fake.sent(SUPPORT).len(), 1);
}

#[tokio::test]
async fn without_listed_channels_the_reply_finds_its_channel_and_its_thread() {
    let fake = fake().await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "K2 boot loop");
    let thread = fake.open_thread(SUPPORT, &asked, true);
    let follow_up = fake.say(&thread, "7", "lena.k", "photos of the error attached");
    let mut open = config(&fake);
    open.channels.clear();
    let responder = DiscordResponder::new(open).unwrap();
    let conv = conversation(&asked);

    let in_channel = responder
        .send(&reply(&asked, "k-channel", "Thanks, Lena."), &conv)
        .await
        .unwrap();
    assert_eq!(fake.sent(SUPPORT)[0]["id"], in_channel.as_str());
    // The follow-up sits in the thread opened on the conversation's first message.
    let in_thread = responder
        .send(&reply(&follow_up, "k-thread", "Got them."), &conv)
        .await
        .unwrap();
    let sent = fake.sent(&thread);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], in_thread.as_str());
    assert_eq!(
        sent[0]["message_reference"]["message_id"],
        follow_up.as_str()
    );
    assert_eq!(fake.sent(SUPPORT).len(), 1, "nothing stray in the channel");
}

#[tokio::test]
async fn an_empty_post_bucket_is_waited_for_instead_of_run_into() {
    let fake = fake().await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "hello?");
    fake.limit_posts(1, 0.3);
    let responder = DiscordResponder::new(config(&fake)).unwrap();
    let conv = conversation(&asked);
    for key in ["k-a", "k-b", "k-c"] {
        responder
            .send(&reply(&asked, key, "On it."), &conv)
            .await
            .unwrap();
    }
    assert_eq!(fake.sent(SUPPORT).len(), 3);
    assert_eq!(fake.served_429(), 0, "the bucket headers were heeded");
}
