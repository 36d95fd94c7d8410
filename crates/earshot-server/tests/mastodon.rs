//! End to end against a fake Mastodon that speaks the real protocol: a mention on the fake
//! shows up in earshot's inbox; a reply from the inbox arrives at the fake in the thread, once.
#![allow(clippy::unwrap_used)]

use earshot_connect::mastodon::fake::{FakeMastodon, NewMention};
use serde_json::Value;

mod common;
use common::live::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_reaches_the_inbox_and_the_answer_reaches_the_thread() {
    let fake = FakeMastodon::start("brand-token").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    s.brand.handles = vec!["acme".into()];
    common::with_api_token(&mut s);
    s.connectors.mastodon = vec![common::live::mastodon(fake.base_url(), "acme")];
    let (base, _) = common::start(s).await;
    let client = common::api_client();

    // The connector is up and streaming.
    wait_for(&client, &format!("{base}/api/v1/connectors"), |v| {
        v[0]["state"] == "connected"
    })
    .await;

    let mention = fake.mention(NewMention::new(
        "lena@fosstodon.example",
        "@acme Seit dem Update startet die App nicht mehr.",
    ));
    let inbox = wait_for(
        &client,
        &format!("{base}/api/v1/inbox?network=mastodon"),
        |v| v["items"].as_array().is_some_and(|i| !i.is_empty()),
    )
    .await;
    let row = &inbox["items"][0];
    assert_eq!(
        row["conversation"]["customer"]["handle"],
        "lena@fosstodon.example"
    );
    assert_eq!(row["conversation"]["language"], "de");
    assert_eq!(
        row["latest_text"],
        "@acme Seit dem Update startet die App nicht mehr."
    );
    let conv = row["conversation"]["id"].as_i64().unwrap();

    // Answer from the inbox, twice with the same key: one status on the fake, in the thread.
    let text = "Danke! Ein Fix für 3.1.2 ist unterwegs.";
    common::live::answer_twice(&client, &base, conv, text, "answer-1").await;
    assert_eq!(fake.statuses_created(), 1, "one post on the network");
    let received = fake.received();
    let first = &received[0];
    assert_eq!(first.idempotency_key.as_deref(), Some("answer-1"));
    assert_eq!(first.body["in_reply_to_id"], mention.status_id.as_str());
    assert!(first.body["status"]
        .as_str()
        .unwrap()
        .starts_with("@lena@fosstodon.example "));

    // The answer stopped the clock: the conversation waits on the customer now.
    let detail: Value =
        common::live::get(&client, &format!("{base}/api/v1/conversations/{conv}")).await;
    assert_eq!(detail["conversation"]["status"], "pending");
    assert_eq!(detail["posts"].as_array().unwrap().len(), 2);

    // The connector counts a delivery once the pipeline's after-commit steps have run and
    // its cursor is stored, which may be after the post shows in the inbox: wait for it.
    let health = wait_for(&client, &format!("{base}/api/v1/connectors"), |h| {
        h[0]["events_total"].as_u64().is_some_and(|n| n >= 1)
    })
    .await;
    assert_eq!(health[0]["name"], "mastodon:acme");
}
