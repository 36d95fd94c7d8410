//! The Discord gateway source against [`super::fake::FakeDiscord`]: what arrives in the sink,
//! and how drops, zombies, op 7, expired sessions across a restart, 429s and refused tokens or
//! intents are survived (or end the run with what to do).

use super::fake::FakeDiscord;
use super::{DiscordConfig, DiscordSource, Secret};
use crate::source::testing::{self, start_connected, MemorySink, WAIT};
use crate::source::{Amendment, ConnectorState, SourceError};
use earshot_core::{Network, NewPost};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "MTM5NzAxMjM0NTY3ODkwMTIzNA.GhQ2xY.s3cr3t-discord-token";
const BOT: &str = "1397012345678901234";
const GUILD: &str = "1200000000000000000";
const SUPPORT: &str = "1201111111111111111";
const OFFTOPIC: &str = "1202222222222222222";
const SOURCE: &str = "discord:1200000000000000000";

async fn fake() -> FakeDiscord {
    let fake = FakeDiscord::start(TOKEN, BOT, GUILD).await.unwrap();
    // Channels exist once they hold a message; the bot's welcome opens both.
    fake.set_heartbeat_ms(100);
    fake
}

fn config(fake: &FakeDiscord) -> DiscordConfig {
    let mut config = DiscordConfig::new(Secret::new(TOKEN), GUILD);
    config.api_url = fake.api_url();
    config.channels = vec![SUPPORT.into()];
    config.request_timeout = Duration::from_secs(2);
    config.backoff_scale = 0.01;
    config
}

type Running = testing::Running<DiscordSource>;

fn start(config: DiscordConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(DiscordSource::new(config).unwrap()), sink)
}

fn ids(posts: &[NewPost]) -> Vec<String> {
    posts.iter().map(|p| p.external_id.clone()).collect()
}

/// Waits a little and checks nothing more arrived than `n` posts.
async fn settle(sink: &MemorySink, n: usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.posts().len(), n, "{:?}", ids(&sink.posts()));
}

#[tokio::test]
async fn posts_in_the_watched_channel_are_heard_and_edits_amend_them() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;

    let first = fake.say(
        SUPPORT,
        "887766554433221100",
        "lena.k",
        "<@1397012345678901234> K2 boot loop again",
    );
    fake.say(OFFTOPIC, "5", "bo", "anyone seen the match?");
    let second = fake.reply(SUPPORT, &first, "5", "bo", "same here since 3.1");
    let posts = sink.wait_for(2, WAIT).await;
    assert_eq!(ids(&posts), vec![first.clone(), second.clone()]);
    assert_eq!(posts[0].network, Network::Discord);
    assert_eq!(posts[0].author.handle, "lena.k");
    assert_eq!(posts[1].in_reply_to.as_deref(), Some(first.as_str()));
    assert_eq!(
        posts[0].url.as_deref(),
        Some(format!("https://discord.com/channels/{GUILD}/{SUPPORT}/{first}").as_str())
    );

    fake.embed_resolved(SUPPORT, &first);
    fake.edit(SUPPORT, &first, "K2 boot loop again, even after the reset");
    running
        .until("the edit", |_| !sink.amendments().is_empty())
        .await;
    settle(&sink, 2).await;
    let amendments = sink.amendments();
    assert_eq!(
        amendments.len(),
        1,
        "an embed resolving is no edit: {amendments:?}"
    );
    assert!(
        matches!(&amendments[0], Amendment::Edited(p) if p.external_id == first && p.text.ends_with("after the reset"))
    );

    // Heartbeats keep flowing and are answered: still connected after several intervals.
    running
        .until("heartbeats", |_| fake.heartbeats() >= 3)
        .await;
    assert_eq!(running.health.report().state, ConnectorState::Connected);
    assert_eq!(fake.identifies(), 1);
    let cursor: serde_json::Value = serde_json::from_str(&sink.cursor_of(SOURCE).unwrap()).unwrap();
    assert_eq!(cursor["channels"][SUPPORT], second.as_str());
    assert!(cursor["session_id"]
        .as_str()
        .is_some_and(|s| s.starts_with("fake-session")));
    assert!(
        fake.user_agents()
            .iter()
            .all(|ua| ua.starts_with("DiscordBot (")),
        "{:?}",
        fake.user_agents()
    );
    running.stop().await;
}

#[tokio::test]
async fn a_dropped_gateway_resumes_on_the_resume_url_without_gaps_or_doubles() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let a = fake.say(SUPPORT, "7", "lena.k", "my kettle clicks off");
    sink.wait_for(1, WAIT).await;

    fake.drop_connection();
    // Said as the connection goes: the session keeps them for the replay.
    let b = fake.say(SUPPORT, "8", "bo", "mine too");
    let c = fake.say(SUPPORT, "7", "lena.k", "any news?");
    running
        .until("resumed", |_| fake.resumes().len() == 1)
        .await;
    sink.wait_for(3, WAIT).await;

    // Discord may send an event twice; op 7 asks for a reconnect at any time.
    fake.duplicate_last();
    fake.ask_to_reconnect();
    running
        .until("resumed again", |_| fake.resumes().len() == 2)
        .await;
    let d = fake.say(SUPPORT, "8", "bo", "still nothing");
    sink.wait_for(4, WAIT).await;
    settle(&sink, 4).await;
    assert_eq!(ids(&sink.posts()), vec![a, b, c, d]);
    assert_eq!(
        fake.resumes(),
        vec![true, true],
        "resumed on resume_gateway_url"
    );
    assert_eq!(fake.identifies(), 1, "a resume never identifies");
    running.stop().await;
}

#[tokio::test]
async fn a_zombie_connection_without_acks_is_closed_and_resumed() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    fake.acks(false);
    running
        .until("a resume after the missing ACK", |_| {
            !fake.resumes().is_empty()
        })
        .await;
    fake.acks(true);
    let a = fake.say(SUPPORT, "7", "lena.k", "hello?");
    assert_eq!(ids(&sink.wait_for(1, WAIT).await), vec![a]);
    assert_eq!(fake.identifies(), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_restart_after_the_session_expired_fills_the_gap_by_rest_and_waits_out_429s() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let a = fake.say(SUPPORT, "7", "lena.k", "first");
    sink.wait_for(1, WAIT).await;
    running.stop().await;

    fake.expire_session();
    let mut missed = Vec::new();
    for i in 0..105 {
        missed.push(fake.say(SUPPORT, "8", "bo", &format!("while earshot was down #{i}")));
    }
    fake.say(OFFTOPIC, "9", "cy", "not ours");
    fake.rate_limit(2, 0.05);

    let running = start(config(&fake), sink.clone());
    let after = fake.say(SUPPORT, "7", "lena.k", "after the restart");
    sink.wait_for(107, WAIT).await;
    settle(&sink, 107).await;
    let mut want = vec![a.clone()];
    want.extend(missed.iter().cloned());
    want.push(after.clone());
    let mut got = ids(&sink.posts());
    // The live message may arrive before the gap fill ends; each arrives once.
    got.sort_by_key(|id| id.parse::<u64>().unwrap());
    assert_eq!(got, want);
    assert_eq!(
        fake.identifies(),
        2,
        "the expired session was identified anew"
    );
    let gets = fake.message_gets();
    assert!(
        gets.iter()
            .any(|g| g == &format!("{SUPPORT}?after={a}&limit=100")),
        "{gets:?}"
    );
    assert!(
        gets.iter()
            .any(|g| g == &format!("{SUPPORT}?after={}&limit=100", missed[99])),
        "walked forward: {gets:?}"
    );
    assert!(!gets.iter().any(|g| g.starts_with(OFFTOPIC)), "{gets:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_refused_token_stops_the_run_with_what_to_do() {
    let fake = fake().await;
    // Over REST (401 on /gateway/bot) …
    let sink = Arc::new(MemorySink::default());
    let mut wrong = config(&fake);
    wrong.token = Secret::new("MTM5.reset.token");
    let (result, health) = start(wrong.clone(), sink).ended().await;
    assert!(matches!(result, Err(SourceError::Auth(_))), "{result:?}");
    let error = health.report().last_error.unwrap_or_default();
    assert!(
        error.contains("Reset") || error.contains("reset"),
        "{error}"
    );
    assert!(
        !error.contains("reset.token"),
        "no token in health: {error}"
    );
    assert_eq!(health.report().state, ConnectorState::Failing);

    // … and on the gateway (close 4004) when a stored session is resumed with a reset token.
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    running.stop().await;
    let (result, health) = start(wrong, sink).ended().await;
    assert!(matches!(result, Err(SourceError::Auth(_))), "{result:?}");
    let error = health.report().last_error.unwrap_or_default();
    assert!(
        error.contains("4004") && error.contains("bot_token"),
        "{error}"
    );
}

#[tokio::test]
async fn a_disallowed_message_content_intent_stops_with_the_portal_switch_to_turn_on() {
    let fake = fake().await;
    fake.allow_message_content(false);
    let (result, health) = start(config(&fake), Arc::new(MemorySink::default()))
        .ended()
        .await;
    assert!(matches!(result, Err(SourceError::Config(_))), "{result:?}");
    let error = health.report().last_error.unwrap_or_default();
    assert!(
        error.contains("4014") && error.contains("Message Content Intent"),
        "{error}"
    );
    assert_eq!(fake.identifies(), 1, "no identify loop on a final close");
}

#[tokio::test]
async fn a_thread_is_heard_under_its_parent_as_one_conversation_with_its_starter() {
    let fake = fake().await;
    let (sink, running) = start_connected(|sink| start(config(&fake), sink)).await;
    let asked = fake.say(SUPPORT, "7", "lena.k", "K2 boot loop");
    // Announced by THREAD_CREATE …
    let thread = fake.open_thread(SUPPORT, &asked, true);
    let in_thread = fake.say(&thread, "8", "bo", "same here");
    let answer = fake.reply(
        &thread,
        &in_thread,
        "7",
        "lena.k",
        "did the reset help you?",
    );
    // … or only known by asking REST; and a thread of an unheard channel stays unheard.
    let quiet_root = fake.say(SUPPORT, "9", "cy", "descaling question");
    let quiet = fake.open_thread(SUPPORT, &quiet_root, false);
    let quiet_post = fake.say(&quiet, "9", "cy", "vinegar or citric acid?");
    let elsewhere_root = fake.say(OFFTOPIC, "5", "di", "match tonight");
    let elsewhere = fake.open_thread(OFFTOPIC, &elsewhere_root, true);
    fake.say(&elsewhere, "5", "di", "who wins?");

    let posts = sink.wait_for(5, WAIT).await;
    settle(&sink, 5).await;
    let by_id = |id: &str| posts.iter().find(|p| p.external_id == id).unwrap();
    assert_eq!(
        by_id(&in_thread).in_reply_to.as_deref(),
        Some(asked.as_str())
    );
    assert_eq!(
        by_id(&answer).in_reply_to.as_deref(),
        Some(in_thread.as_str()),
        "an explicit reply keeps its target"
    );
    assert_eq!(
        by_id(&quiet_post).in_reply_to.as_deref(),
        Some(quiet_root.as_str())
    );
    assert_eq!(by_id(&asked).in_reply_to, None);
    running.stop().await;
}

#[tokio::test]
async fn connectors_check_names_the_bot_or_what_to_fix() {
    let fake = fake().await;
    let who = super::check_credentials(&config(&fake)).await.unwrap();
    assert_eq!(who, format!("@earshot-bot ({BOT})"));
    let mut wrong = config(&fake);
    wrong.token = Secret::new("MTM5.reset.token");
    let refused = super::check_credentials(&wrong).await.unwrap_err();
    assert!(
        matches!(&refused, crate::source::CheckError::Refused(r) if r.contains("Reset") || r.contains("reset")),
        "{refused:?}"
    );
    assert!(!refused.to_string().contains("reset.token"), "{refused}");
    let mut empty = config(&fake);
    empty.token = Secret::new("");
    assert!(matches!(
        super::check_credentials(&empty).await,
        Err(crate::source::CheckError::Misconfigured(_))
    ));
}
