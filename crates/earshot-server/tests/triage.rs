//! Triage end to end: routing, on-call paging and escalation through the fake Slack and
//! signed-webhook receivers, the policy and report endpoints, automatic answers outside
//! covered hours on the fake Mastodon, jumping the queue, and what survives a restart.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_connect::mastodon::fake::{FakeMastodon, NewMention};
use earshot_connect::notify::fake::{FakeSlack, FakeWebhookReceiver};
use earshot_core::{Author, ConversationEvent, ConversationId, Network, NewPost};
use earshot_server::alerts::{AlertSettings, Alerts};
use earshot_server::config::Settings;
use earshot_server::desk::Desk;
use earshot_server::responder::Responders;
use earshot_server::triage::TriageDesk;
use earshot_server::App;
use serde_json::Value;
use std::sync::Arc;

mod common;
use common::alert_target as target;

/// Care in Copenhagen works weekdays 08–18; nights and weekends ana and bo take turns on call;
/// maria is the second level. Big accounts get a one-hour first response target.
const TRIAGE_HEAD: &str = r#"
[[triage.policies]]
name = "big accounts"
when = { followers_at_least = 100000 }
first_response = { within = "1h" }

[[triage.policies]]
name = "everyone"
first_response = { within = "2h" }

[[triage.routes]]
name = "big accounts"
when = { followers_at_least = 100000 }
labels = ["vip"]
bump = 1
continue = true

"#;

/// What [`TRIAGE_HEAD`] leaves to the shared rota: when on-call pages.
const TRIAGE_TAIL: &str = r#"
before_breach = "15m"
after_hours_bands = ["urgent"]
after_hours_followers_at_least = 100000
"#;

/// The whole triage file: [`TRIAGE_HEAD`], the shared care-eu rota, [`TRIAGE_TAIL`].
fn triage_toml() -> String {
    common::care_eu_triage(TRIAGE_HEAD, TRIAGE_TAIL)
}

fn settings(dir: &tempfile::TempDir) -> Settings {
    settings_from(&triage_toml(), dir)
}

fn settings_from(text: &str, dir: &tempfile::TempDir) -> Settings {
    let mut s: Settings = toml::from_str(text).unwrap();
    s.data_dir = dir.path().to_path_buf();
    s.listen = "127.0.0.1:0".into();
    common::with_api_token(&mut s);
    s.check().unwrap();
    s
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn post(id: &str, handle: &str, followers: u64, text: &str, when: DateTime<Utc>) -> NewPost {
    NewPost {
        lang: Some("en".into()),
        from_brand: Some(false),
        ..NewPost::new(
            Network::X,
            id,
            Author {
                followers: Some(followers),
                ..Author::new(format!("id-{handle}"), handle)
            },
            text,
            when,
        )
    }
}

fn answer(id: &str, to: &str, when: DateTime<Utc>) -> NewPost {
    NewPost {
        author: Author {
            verified: true,
            ..Author::new("id-voltra", "voltra")
        },
        in_reply_to: Some(to.into()),
        from_brand: Some(true),
        ..post(id, "voltra", 0, "Sorry about that, we are on it.", when)
    }
}

/// A desk on `s`'s database with `rules`, paging through `alerts` (the log only when it has
/// no target): a process of its own each time it is called.
async fn desk_on(
    s: &Settings,
    rules: earshot_core::triage::Triage,
    alerts: AlertSettings,
) -> Arc<Desk> {
    let store = earshot_store::open(&s.db_url()).await.unwrap();
    // Spikes are counted from the first post (no warm-up), as in the spike stories below.
    let feedback = earshot_server::feedback::FeedbackLoop::new(store.clone()).with_spike_config(
        earshot_analyze::spikes::SpikeConfig {
            warmup_posts: 0,
            ..Default::default()
        },
    );
    let pipeline = common::pipeline(s, store);
    Arc::new(
        Desk::build(pipeline, Responders::default(), "voltra")
            .alerts(Alerts::start(&alerts).unwrap())
            .feedback(feedback)
            .triage(TriageDesk::new(rules))
            .finish(),
    )
}

/// A famous customer locked out of their car on Saturday night: worth paging for.
async fn stuck_outside(
    p: &earshot_server::pipeline::Pipeline,
    id: &str,
    written: DateTime<Utc>,
) -> ConversationId {
    p.ingest(vec![post(
        id,
        "famous",
        150_000,
        "@voltra my car will not unlock and I am stuck outside in the cold, help!",
        written,
    )])
    .await
    .unwrap()
    .posts[0]
        .conversation_id
        .unwrap()
}

/// Two processes in turn on one database: the first pages through a webhook receiver that
/// takes connections and never answers (what it is sent stays on its way until the process
/// stops), the next through Slack.
struct Handover {
    dir: tempfile::TempDir,
    silent_url: String,
    silent: tokio::task::JoinHandle<()>,
    /// Deliveries the silent pager has taken (connections accepted).
    silent_calls: Arc<std::sync::atomic::AtomicUsize>,
    slack: FakeSlack,
}

impl Handover {
    async fn start() -> Handover {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent_url = format!("http://{}/hook", listener.local_addr().unwrap());
        let silent_calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let calls = silent_calls.clone();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        Handover {
            dir: tempfile::tempdir().unwrap(),
            silent_url,
            silent,
            silent_calls,
            slack: FakeSlack::start().await.unwrap(),
        }
    }

    async fn process(&self, target: earshot_server::alerts::AlertTarget) -> Arc<Desk> {
        let s = settings(&self.dir);
        let mut alerts = AlertSettings::default();
        alerts.targets.push(target);
        desk_on(&s, s.triage().unwrap().unwrap(), alerts).await
    }

    async fn first_process(&self) -> Arc<Desk> {
        let secret = "whsec_dHJpYWdlLXRlc3Qtc2VjcmV0";
        self.process(target("pager", "webhook", &self.silent_url, secret))
            .await
    }

    async fn next_process(&self) -> Arc<Desk> {
        let url = self.slack.webhook_url();
        self.process(target("on-call", "slack", url.expose(), ""))
            .await
    }

    /// Waits (briefly) until the silent pager has taken exactly `n` deliveries.
    async fn silent_took(&self, n: usize) {
        let calls = || self.silent_calls.load(std::sync::atomic::Ordering::SeqCst);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while calls() < n && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(calls(), n, "deliveries to the silent pager");
    }

    /// Waits (briefly) for Slack's first message and returns it: `what`, sent once.
    async fn sent_once(&self, what: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.slack.messages().is_empty() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let sent = self.slack.messages();
        assert_eq!(sent.len(), 1, "{what} was not sent again, once");
        sent[0].to_string()
    }

    async fn sent_nothing_more(self) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(self.slack.messages().len(), 1);
        self.silent.abort();
    }
}

/// Waits (briefly) until no alert of `prefix` claimed before `before` is unsettled.
async fn settled(store: &Arc<dyn earshot_store::Store>, prefix: &str, before: DateTime<Utc>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !store
        .unsettled_alerts(prefix, before, 10)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "never marked settled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits (briefly) until the receivers hold `n` messages each.
async fn delivered(slack: &FakeSlack, hook: &FakeWebhookReceiver, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while (slack.messages().len() < n || hook.events().len() < n)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_urgent_big_account_on_saturday_night_pages_on_call_escalates_and_stops_when_assigned() {
    let slack = FakeSlack::start().await.unwrap();
    let hook = FakeWebhookReceiver::start("whsec_dHJpYWdlLXRlc3Qtc2VjcmV0")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = settings(&dir);
    let mut alerts = AlertSettings::default();
    alerts
        .targets
        .push(target("on-call", "slack", slack.webhook_url().expose(), ""));
    alerts.targets.push(target(
        "pager",
        "webhook",
        &hook.url(),
        "whsec_dHJpYWdlLXRlc3Qtc2VjcmV0",
    ));
    let rules = s.triage().unwrap().unwrap();
    let store = earshot_store::open(&s.db_url()).await.unwrap();
    let pipeline = common::pipeline(&s, store);
    let desk = Desk::build(pipeline, Responders::default(), "voltra")
        .alerts(Alerts::start(&alerts).unwrap())
        .triage(TriageDesk::new(rules.clone()))
        .finish();
    let p = desk.pipeline();

    // Saturday 8 March 2025, 23:10 in Copenhagen (22:10 UTC): nobody is at work.
    let written = at("2025-03-08T23:10:00+01:00");
    let report = p
        .ingest(vec![post(
            "sat-1",
            "famous",
            150_000,
            "@voltra my flight was cancelled and I am stuck at the airport, I need help now!",
            written,
        )])
        .await
        .unwrap();
    let id = report.posts[0].conversation_id.unwrap();
    let triage = desk.triage().unwrap();
    let view = triage
        .assess(
            p.store().as_ref(),
            &p.store().conversation(id).await.unwrap().unwrap(),
            written,
        )
        .await
        .unwrap();
    assert_eq!(
        view.routing.team.as_deref(),
        Some("care-eu"),
        "routed to the team"
    );
    assert_eq!(view.routing.labels, vec!["vip".to_string()]);
    assert_eq!(view.assessment.policy, "big accounts");

    let on_call = rules
        .coverage
        .who_is_on_call("care-eu", written)
        .unwrap()
        .person;
    assert!(["ana", "bo"].contains(&on_call.as_str()));

    // One minute later the housekeeping pass pages the person on call, on every target.
    let t1 = written + Duration::minutes(1);
    let paged = triage.on_housekeeping(p, t1).await.unwrap();
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert_eq!(
        (paged[0].person.as_str(), paged[0].level),
        (on_call.as_str(), 1)
    );
    delivered(&slack, &hook, 1).await;
    let slack_text = slack.messages()[0].to_string();
    assert!(
        slack_text.contains(&format!("Paging {on_call}")),
        "{slack_text}"
    );
    let events = hook.events();
    let event = &events[0];
    assert_eq!(event["type"], "alert.page", "{event}");
    assert!(event.to_string().contains(&on_call), "{event}");

    // A pass before the acknowledgement time is up pages nobody again.
    let quiet = triage
        .on_housekeeping(p, t1 + Duration::minutes(5))
        .await
        .unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");

    // Nobody acknowledged within 10 minutes: maria is paged.
    let t2 = t1 + Duration::minutes(11);
    let paged = triage.on_housekeeping(p, t2).await.unwrap();
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert_eq!((paged[0].person.as_str(), paged[0].level), ("maria", 2));
    delivered(&slack, &hook, 2).await;
    assert!(slack.messages()[1].to_string().contains("Paging maria"));

    // maria takes it: paging stops, however long the night.
    desk.act(
        id,
        ConversationEvent::Assigned { to: "maria".into() },
        "maria",
    )
    .await
    .unwrap();
    for minutes in [12, 25, 60] {
        let paged = triage
            .on_housekeeping(p, t2 + Duration::minutes(minutes))
            .await
            .unwrap();
        assert!(paged.is_empty(), "{paged:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(slack.messages().len(), 2);
    assert_eq!(hook.events().len(), 2);

    // A small account writing at the same hour is not worth waking anyone for.
    let small = p
        .ingest(vec![post(
            "sat-2",
            "someone",
            40,
            "@voltra where can I see my booking?",
            written,
        )])
        .await
        .unwrap();
    assert!(small.posts[0].conversation_id.is_some());
    let paged = triage.on_housekeeping(p, t1).await.unwrap();
    assert!(paged.is_empty(), "{paged:?}");
}

struct Served {
    base: String,
    desk: Arc<Desk>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let app = App::build(settings(&dir)).await.unwrap();
    let base = app.address();
    let desk = app.desk().clone();
    tokio::spawn(app.run_until_stopped());
    Served {
        base,
        desk,
        client: common::api_client(),
        _dir: dir,
    }
}

impl Served {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn hear(&self, posts: Vec<NewPost>) -> ConversationId {
        let r = self.desk.pipeline().ingest(posts).await.unwrap();
        r.posts[0].conversation_id.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_endpoint_says_which_policy_applies_why_and_when_it_is_due() {
    let app = serve().await;
    let written = at("2025-03-05T10:00:00Z");
    let big = app
        .hear(vec![post(
            "p-1",
            "famous",
            250_000,
            "@voltra my bag is lost",
            written,
        )])
        .await;
    let small = app
        .hear(vec![post(
            "p-2",
            "someone",
            12,
            "@voltra my bag is lost",
            written,
        )])
        .await;

    let v: Value = app
        .get(&format!("/api/v1/conversations/{big}/policy"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["assessment"]["policy"], "big accounts", "{v}");
    assert!(
        v["assessment"]["why"]
            .as_str()
            .unwrap()
            .contains("followers"),
        "{v}"
    );
    assert_eq!(v["routing"]["team"], "care-eu");
    // Calendar clock: due one hour after the customer wrote (it is long past, so breached).
    let first = &v["assessment"]["first_response"];
    assert_eq!(first["target_secs"], 3600);
    assert!(first["breached_at"].is_string(), "{first}");

    let v: Value = app
        .get(&format!("/api/v1/conversations/{small}/policy"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["assessment"]["policy"], "everyone", "{v}");
    assert_eq!(v["assessment"]["first_response"]["target_secs"], 7200);

    // Answered in 20 minutes: the target is met.
    app.hear(vec![answer("a-1", "p-1", written + Duration::minutes(20))])
        .await;
    let v: Value = app
        .get(&format!("/api/v1/conversations/{big}/policy"))
        .await
        .json()
        .await
        .unwrap();
    let first = &v["assessment"]["first_response"];
    assert_eq!(first["progress"]["state"], "met", "{first}");
    assert!(first["breached_at"].is_null(), "{first}");

    let missing = app.get("/api/v1/conversations/999/policy").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_gives_times_shares_and_breaches_as_json_and_csv() {
    let app = serve().await;
    let written = at("2025-03-05T10:00:00Z");
    let fast = app
        .hear(vec![post(
            "r-1",
            "famous",
            250_000,
            "@voltra my bag is lost",
            written,
        )])
        .await;
    app.hear(vec![answer("ra-1", "r-1", written + Duration::minutes(10))])
        .await;
    let slow = app
        .hear(vec![post(
            "r-2",
            "famous2",
            300_000,
            "@voltra my seat is broken",
            written,
        )])
        .await;
    app.hear(vec![answer("ra-2", "r-2", written + Duration::hours(3))])
        .await;

    let range = "from=2025-03-01&to=2025-03-10";
    let r = app
        .get(&format!(
            "/api/v1/reports/response-times?{range}&group_by=team"
        ))
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["overall"]["conversations"], 2, "{v}");
    assert_eq!(v["overall"]["first_response"]["count"], 2, "{v}");
    assert_eq!(v["overall"]["first_response"]["max_secs"], 3 * 3600, "{v}");
    let share = &v["overall"]["first_response_within_target"];
    assert_eq!(
        (share["met"].as_u64(), share["decided"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let groups = v["groups"].as_array().unwrap();
    assert!(!groups.is_empty());
    assert!(groups.iter().all(|g| g["dimension"] == "team"), "{v}");
    let breaches = v["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1, "{v}");
    assert_eq!(breaches[0]["conversation"], slow.to_string());
    assert_ne!(breaches[0]["conversation"], fast.to_string());
    assert_eq!(breaches[0]["late_by_secs"], 2 * 3600, "{v}");

    let r = app
        .get(&format!(
            "/api/v1/reports/response-times?{range}&format=csv"
        ))
        .await;
    common::assert_answers(&r, 200, "text/csv");
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("dimension,key,conversations,answered"));
    let all = lines.next().unwrap();
    assert!(all.starts_with("all,all,2,2,"), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("team,care-eu,2,")),
        "{csv}"
    );

    let bad = app
        .get(&format!(
            "/api/v1/reports/response-times?{range}&group_by=colour"
        ))
        .await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_post_is_routed_with_every_rule_explained() {
    let app = serve().await;
    let r = app
        .client
        .post(format!("{}/api/v1/rules/test", app.base))
        .json(&serde_json::json!({"text": "@voltra my bag is lost", "network": "x", "followers": 150000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["trace"]["routing"]["team"], "care-eu", "{v}");
    assert_eq!(v["trace"]["routing"]["labels"][0], "vip", "{v}");
    let steps = v["trace"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["verdict"]["outcome"], "matched", "{v}");
    assert!(
        v["explained"]
            .as_str()
            .unwrap()
            .contains("big accounts: MATCHED"),
        "{v}"
    );

    let r = app
        .client
        .post(format!("{}/api/v1/rules/test", app.base))
        .json(&serde_json::json!({"text": "@voltra hi", "followers": 10}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["trace"]["steps"][0]["verdict"]["outcome"], "not_matched",
        "{v}"
    );
    assert!(v["trace"]["routing"]["labels"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Automatic answers outside covered hours, Danish for Danes, English for everyone else.
/// `max_age` is wide because the posts below were written in March 2025.
const AUTO_REPLY: &str = r#"
[triage.auto_reply]
fallback = "Thanks for writing! Our team is back {opens} and will answer you then."
max_age = "3650d"
[triage.auto_reply.templates]
da = "Tak for din besked! Vi er tilbage {opens} og svarer dig da."
"#;

fn mastodon_post(
    status_id: &str,
    acct: &str,
    text: &str,
    lang: &str,
    when: DateTime<Utc>,
) -> NewPost {
    NewPost {
        lang: Some(lang.into()),
        from_brand: Some(false),
        ..NewPost::new(
            Network::Mastodon,
            status_id,
            Author {
                followers: Some(80),
                ..Author::new(format!("id-{acct}"), acct)
            },
            text,
            when,
        )
    }
}

/// A status on the fake (so an answer to it is accepted) that earshot has not heard: the
/// test hands it to the pipeline itself, with the time it needs.
fn status_on(fake: &FakeMastodon, acct: &str, text: &str) -> String {
    let mut m = NewMention::new(acct, text);
    m.live = false;
    fake.mention(m).status_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_danish_post_on_saturday_night_gets_one_danish_automatic_answer_and_the_clock_runs_on() {
    let fake = FakeMastodon::start("brand-token").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plain = settings_from(&format!("{}{AUTO_REPLY}", triage_toml()), &dir);
    // The desk answers on the fake; the app runs without the connector, so nothing else
    // hears the statuses the test puts there.
    let mut with_mastodon = plain.clone();
    with_mastodon.connectors.mastodon = vec![common::live::mastodon(fake.base_url(), "voltra")];
    let desk = earshot_server::app::desk(&with_mastodon).await.unwrap();
    let app = App::with_desk(plain, desk.clone()).await.unwrap();
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    let client = common::api_client();
    let get = |path: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let p = desk.pipeline();

    // Saturday 8 March 2025, 23:10 in Copenhagen: care-eu is back Monday at 08:00.
    let written = at("2025-03-08T23:10:00+01:00");
    let text = "Min bil vil ikke lade op ved laderen i nat, hvad skal jeg gøre?";
    let first = status_on(&fake, "mette@mastodon.example", text);
    let post = mastodon_post(&first, "mette@mastodon.example", text, "da", written);
    let id = p.ingest(vec![post.clone()]).await.unwrap().posts[0]
        .conversation_id
        .unwrap();

    assert_eq!(fake.statuses_created(), 1, "one automatic answer");
    let received = fake.received();
    assert_eq!(
        received[0].idempotency_key.as_deref(),
        Some(format!("auto:{id}").as_str())
    );
    assert_eq!(received[0].body["in_reply_to_id"], first.as_str());
    let sent = received[0].body["status"].as_str().unwrap();
    assert!(
        sent.contains("Tak for din besked! Vi er tilbage 2025-03-10 08:00 CET"),
        "{sent}"
    );

    // In the thread, audited as automatic, and no first response: the clock runs on.
    let detail = get(format!("/api/v1/conversations/{id}")).await;
    assert_eq!(detail["posts"].as_array().unwrap().len(), 2, "{detail}");
    assert_eq!(detail["conversation"]["status"], "open", "{detail}");
    assert!(
        detail["conversation"]["first_response_at"].is_null(),
        "{detail}"
    );
    let audit = detail["audit"].as_array().unwrap();
    assert!(
        audit.iter().any(|a| a["action"] == "auto_replied"
            && a["actor"] == "auto-reply"
            && a["detail"]["template"] == "da"),
        "{detail}"
    );
    let policy = get(format!("/api/v1/conversations/{id}/policy")).await;
    assert_eq!(policy["team"], "care-eu", "{policy}");
    let first_response = &policy["assessment"]["first_response"];
    assert_ne!(first_response["progress"]["state"], "met", "{policy}");
    assert!(
        first_response["breached_at"].is_string(),
        "the target passed Monday: {policy}"
    );

    // Heard again (a redelivery) or retried by hand: still one status on the network.
    p.ingest(vec![post]).await.unwrap();
    desk.reply(
        id,
        sent_text(&detail),
        "auto-reply",
        Some(format!("auto:{id}")),
    )
    .await
    .unwrap();
    assert_eq!(fake.statuses_created(), 1);

    // Mette writes again half an hour later: the same conversation, no second answer.
    let text2 = "Hallo? Bilen lader stadig ikke.";
    let second = status_on(&fake, "mette@mastodon.example", text2);
    let again = p
        .ingest(vec![mastodon_post(
            &second,
            "mette@mastodon.example",
            text2,
            "da",
            written + Duration::minutes(30),
        )])
        .await
        .unwrap();
    assert_eq!(again.posts[0].conversation_id, Some(id));
    assert_eq!(fake.statuses_created(), 1);

    // Even in a new conversation within 12 hours (the first was closed), she gets none.
    desk.act(id, ConversationEvent::Resolved, "ana")
        .await
        .unwrap();
    let text3 = "Og nu virker appen heller ikke.";
    let third = status_on(&fake, "mette@mastodon.example", text3);
    let later = p
        .ingest(vec![mastodon_post(
            &third,
            "mette@mastodon.example",
            text3,
            "da",
            written + Duration::hours(2),
        )])
        .await
        .unwrap();
    assert_ne!(
        later.posts[0].conversation_id,
        Some(id),
        "a new conversation"
    );
    assert_eq!(fake.statuses_created(), 1);

    // Someone else at the same hour gets theirs, in English (no template for German).
    let text4 = "Mein Auto lädt nicht mehr an der Ladesäule.";
    let fourth = status_on(&fake, "jonas@mastodon.example", text4);
    p.ingest(vec![mastodon_post(
        &fourth,
        "jonas@mastodon.example",
        text4,
        "de",
        written,
    )])
    .await
    .unwrap();
    assert_eq!(fake.statuses_created(), 2);
    let english = fake.received()[1].body["status"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        english.contains("Thanks for writing! Our team is back 2025-03-10 08:00 CET"),
        "{english}"
    );

    // During office hours nobody is answered automatically.
    let text5 = "Hvor finder jeg min faktura?";
    let fifth = status_on(&fake, "karen@mastodon.example", text5);
    p.ingest(vec![mastodon_post(
        &fifth,
        "karen@mastodon.example",
        text5,
        "da",
        at("2025-03-10T10:00:00+01:00"),
    )])
    .await
    .unwrap();
    assert_eq!(fake.statuses_created(), 2);
}

/// The automatic answer's text as stored (the retry must send the same text).
fn sent_text(detail: &Value) -> &str {
    detail["replies"][0]["text"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_account_jumps_within_its_band_never_above_a_safety_report() {
    // One agent with room for one, on duty around the clock, so the test does not depend on
    // the hour it runs at.
    let text = triage_toml()
        .replace(
            "[triage.teams.care-eu]\nhours = \"care-eu\"",
            "[triage.hours.always]\ntimezone = \"Europe/Copenhagen\"\nweek = { \"mon-sun\" = \"00:00-24:00\" }\n\n[triage.teams.care-eu]\nhours = \"always\"\nagents = [{ name = \"ana\", capacity = 1 }]",
        );
    assert!(text.contains("agents = [{ name = \"ana\""));
    let dir = tempfile::tempdir().unwrap();
    let app = App::build(settings_from(&text, &dir)).await.unwrap();
    let base = app.address();
    let desk = app.desk().clone();
    tokio::spawn(app.run_until_stopped());
    let p = desk.pipeline();

    // A complaint first, then one batch: an ordinary question, a safety report and, written
    // last, a question from a 250k-follower account.
    let written = at("2025-03-05T10:00:00Z");
    let early = p
        .ingest(vec![post(
            "j-1",
            "first",
            30,
            "@voltra my charger is broken and I am angry",
            written,
        )])
        .await
        .unwrap()
        .posts[0]
        .conversation_id
        .unwrap();
    let ana_took = desk.store().conversation(early).await.unwrap().unwrap();
    assert_eq!(ana_took.conversation.assignee.as_deref(), Some("ana"));
    let report = p
        .ingest(vec![
            post(
                "j-2",
                "second",
                45,
                "@voltra how do I add a second driver profile?",
                written + Duration::minutes(5),
            ),
            post(
                "j-2b",
                "burnt",
                80,
                "@voltra my charger caught fire in the garage last night, it is dangerous",
                written + Duration::minutes(10),
            ),
            post(
                "j-3",
                "famous",
                250_000,
                "@voltra how do I change my delivery date?",
                written + Duration::minutes(30),
            ),
        ])
        .await
        .unwrap();
    let normal = report.posts[0].conversation_id.unwrap();
    let fire = report.posts[1].conversation_id.unwrap();
    let famous = report.posts[2].conversation_id.unwrap();
    // ana is full with the first one: both wait, and the big account is not assigned over it.
    desk.act(early, ConversationEvent::Resolved, "ana")
        .await
        .unwrap();

    let inbox: Value =
        common::live::get(&common::api_client(), &format!("{base}/api/v1/inbox")).await;
    let items = inbox["items"].as_array().unwrap();
    let ids: Vec<i64> = items
        .iter()
        .map(|i| i["conversation"]["id"].as_i64().unwrap())
        .collect();
    // The safety report first; the big account first among the rest, ahead of the older
    // question of its band.
    assert_eq!(ids[0], fire.0, "{inbox}");
    assert_eq!(
        items[0]["conversation"]["priority"]["band"], "urgent",
        "{inbox}"
    );
    assert_eq!(ids[1], famous.0, "{inbox}");
    assert!(ids.contains(&normal.0), "{inbox}");
    assert_ne!(
        items[1]["conversation"]["priority"]["band"], "urgent",
        "{inbox}"
    );
    let factors = items[1]["conversation"]["priority"]["factors"]
        .as_array()
        .unwrap();
    let jump = factors
        .iter()
        .find(|f| f["name"] == "jump")
        .unwrap_or_else(|| panic!("{inbox}"));
    assert_eq!(jump["why"], "jump: 250k followers");
    let score = |n: usize| {
        items[n]["conversation"]["priority"]["score"]
            .as_f64()
            .unwrap()
    };
    assert!(score(0) > score(1), "{inbox}");

    let policy: Value = common::live::get(
        &common::api_client(),
        &format!("{base}/api/v1/conversations/{famous}/policy"),
    )
    .await;
    assert_eq!(policy["jump"], "250k followers", "{policy}");

    // Waiting time re-ranks the inbox; the jumper stays in front of its band.
    p.rescore().await.unwrap();
    let inbox: Value =
        common::live::get(&common::api_client(), &format!("{base}/api/v1/inbox")).await;
    assert_eq!(inbox["items"][0]["conversation"]["id"], fire.0);
    assert_eq!(inbox["items"][1]["conversation"]["id"], famous.0);

    // The next batch while ana has room again: the big account, though written last, is
    // assigned before the older question of the same band.
    let queue = p
        .ingest(vec![
            post(
                "j-4",
                "third",
                12,
                "@voltra where can I find my invoice?",
                written + Duration::minutes(40),
            ),
            post(
                "j-5",
                "famous2",
                400_000,
                "@voltra where is my order?",
                written + Duration::minutes(50),
            ),
        ])
        .await
        .unwrap();
    let older = queue.posts[0].conversation_id.unwrap();
    let star = queue.posts[1].conversation_id.unwrap();
    let assignee = |id: ConversationId| {
        let store = desk.store().clone();
        async move {
            store
                .conversation(id)
                .await
                .unwrap()
                .unwrap()
                .conversation
                .assignee
        }
    };
    assert_eq!(assignee(star).await.as_deref(), Some("ana"));
    assert_eq!(assignee(older).await, None, "ana is full");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_team_and_pages_the_next_level_not_the_first_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(&dir);
    let start = |rules| desk_on(&s, rules, AlertSettings::default());
    let desk = start(s.triage().unwrap().unwrap()).await;
    let p = desk.pipeline();
    let written = at("2025-03-08T23:10:00+01:00");
    let id = stuck_outside(p, "r-1", written).await;
    let t1 = written + Duration::minutes(1);
    let paged = desk.triage().unwrap().on_housekeeping(p, t1).await.unwrap();
    assert_eq!(paged.iter().map(|p| p.level).collect::<Vec<_>>(), vec![1]);
    drop(desk);

    // Restart with the routes gone from the rules: what routing decided before is kept.
    let no_routes = triage_toml().replace("[[triage.routes]]", "[[triage.unused]]");
    let mut reloaded: Settings = toml::from_str(&no_routes.replace(
        "[[triage.unused]]\nname = \"big accounts\"\nwhen = { followers_at_least = 100000 }\nlabels = [\"vip\"]\nbump = 1\ncontinue = true\n\n[[triage.unused]]\nname = \"everything\"\nteam = \"care-eu\"\n",
        "",
    ))
    .unwrap();
    reloaded.data_dir = dir.path().to_path_buf();
    let rules = reloaded.triage().unwrap().unwrap();
    assert!(rules.routes.is_empty(), "the restarted rules route nothing");
    let desk = start(rules).await;
    let p = desk.pipeline();
    let triage = desk.triage().unwrap();
    let detail = p.store().conversation(id).await.unwrap().unwrap();
    let view = triage
        .assess(p.store().as_ref(), &detail, t1)
        .await
        .unwrap();
    assert_eq!(view.team.as_deref(), Some("care-eu"));
    assert_eq!(view.routing.labels, vec!["vip".to_string()]);
    assert_eq!(
        view.escalation
            .as_ref()
            .and_then(|e| e.pages.last())
            .map(|p| p.level),
        Some(1),
        "{view:?}"
    );
    assert_eq!(p.store().labels(id).await.unwrap(), vec!["vip".to_string()]);

    // Five minutes on, level 1 is not paged again; past its acknowledgement time, level 2 is.
    let quiet = triage
        .on_housekeeping(p, t1 + Duration::minutes(5))
        .await
        .unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
    let paged = triage
        .on_housekeeping(p, t1 + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(
        paged
            .iter()
            .map(|p| (p.person.as_str(), p.level))
            .collect::<Vec<_>>(),
        vec![("maria", 2)]
    );
    let stored = p.store().escalation(id).await.unwrap().unwrap();
    assert_eq!(stored.paged, vec!["maria".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_claimed_by_a_process_that_stopped_before_sending_it_is_sent_by_the_next() {
    // The first process's pager answers nothing: its page is claimed and still on its way
    // when the process stops.
    let handover = Handover::start().await;
    let desk = handover.first_process().await;
    let p = desk.pipeline();
    let written = at("2025-03-08T23:10:00+01:00");
    let id = stuck_outside(p, "lost-1", written).await;
    let t1 = written + Duration::minutes(1);
    let paged = desk.triage().unwrap().on_housekeeping(p, t1).await.unwrap();
    assert_eq!(paged.len(), 1, "{paged:?}");
    let person = paged[0].person.clone();
    let store = p.store().clone();
    let unsettled = store
        .unsettled_alerts("page:", t1 + Duration::minutes(3), 10)
        .await
        .unwrap();
    assert_eq!(unsettled.len(), 1, "claimed and on its way: {unsettled:?}");
    // While it is on its way, later passes of the same process do not send it again.
    handover.silent_took(1).await;
    let pass = desk
        .triage()
        .unwrap()
        .on_housekeeping(p, t1 + Duration::minutes(3))
        .await
        .unwrap();
    assert!(pass.is_empty(), "{pass:?}");
    let pager = &desk.alerts().status().unwrap().targets[0];
    assert_eq!(pager.queued, 1, "sent again while on its way: {pager:?}");
    drop(desk);

    // The next process (here: a restart with a pager that answers) sends it once, as it was.
    let desk = handover.next_process().await;
    let p = desk.pipeline();
    let triage = desk.triage().unwrap();
    let early = triage
        .on_housekeeping(p, t1 + Duration::seconds(30))
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        handover.slack.messages().is_empty(),
        "sent before the first sender had its chance"
    );
    let pass = triage
        .on_housekeeping(p, t1 + Duration::minutes(3))
        .await
        .unwrap();
    assert!(
        pass.is_empty(),
        "no new page: the old one is sent again {pass:?}"
    );
    let text = handover
        .sent_once("the page its first sender never delivered")
        .await;
    assert!(text.contains(&format!("Paging {person}")), "{text}");
    assert!(text.contains(&format!("Conversation {id}")), "{text}");
    // Settled: later passes (before the next level is due) do not send it a third time.
    settled(&store, "page:", t1 + Duration::minutes(9)).await;
    for minutes in [5, 9] {
        let pass = triage
            .on_housekeeping(p, t1 + Duration::minutes(minutes))
            .await
            .unwrap();
        assert!(pass.is_empty(), "{pass:?}");
    }
    handover.sent_nothing_more().await;
}

/// A store error while a page is claimed loses nothing: the pass fails, and the next pass
/// pages the same person (the escalation is read back as stored, not as the failed pass left
/// it in memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_the_store_could_not_claim_is_sent_by_the_next_pass() {
    let handover = Handover::start().await;
    let desk = handover.next_process().await;
    let p = desk.pipeline();
    let written = at("2025-03-08T23:10:00+01:00");
    let id = stuck_outside(p, "unclaimed-1", written).await;
    let db = settings(&handover.dir).db_url();
    let rename = |from: &str, to: &str| {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))
            .unwrap();
    };
    rename("alert_claims", "alert_claims_away");
    let t1 = written + Duration::minutes(1);
    let triage = desk.triage().unwrap();
    let failed = triage.on_housekeeping(p, t1).await;
    assert!(failed.is_err(), "the claim cannot be written: {failed:?}");
    rename("alert_claims_away", "alert_claims");

    let paged = triage
        .on_housekeeping(p, t1 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(paged.len(), 1, "paged on the next pass: {paged:?}");
    let text = handover
        .sent_once("the page the store could not claim")
        .await;
    assert!(text.contains(&format!("Conversation {id}")), "{text}");
    handover.sent_nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_never_delivered_is_not_sent_once_its_conversation_is_assigned() {
    let handover = Handover::start().await;
    let desk = handover.first_process().await;
    let written = at("2025-03-08T23:10:00+01:00");
    let id = stuck_outside(desk.pipeline(), "moot-1", written).await;
    let t1 = written + Duration::minutes(1);
    let paged = desk
        .triage()
        .unwrap()
        .on_housekeeping(desk.pipeline(), t1)
        .await
        .unwrap();
    assert_eq!(paged.len(), 1, "{paged:?}");
    handover.silent_took(1).await;
    drop(desk);

    // Someone took the conversation before the next process's pass: nobody is woken for it.
    let desk = handover.next_process().await;
    desk.act(
        id,
        ConversationEvent::Assigned { to: "maria".into() },
        "maria",
    )
    .await
    .unwrap();
    let pass = desk
        .triage()
        .unwrap()
        .on_housekeeping(desk.pipeline(), t1 + Duration::minutes(3))
        .await
        .unwrap();
    assert!(pass.is_empty(), "{pass:?}");
    settled(desk.store(), "page:", t1 + Duration::minutes(9)).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        handover.slack.messages().is_empty(),
        "a page for a taken conversation went out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_promise_alerts_once_even_when_its_first_sender_stops_before_delivering() {
    let handover = Handover::start().await;
    let desk = handover.first_process().await;
    let now = Utc::now();
    let id = stuck_outside(desk.pipeline(), "promised-1", now - Duration::days(20)).await;
    let mut promise = desk
        .store()
        .propose_promise(earshot_store::feedback::NewPromise {
            request_id: None,
            conversation_id: id,
            reply_id: None,
            evidence: "we will fix the unlock in the next update".into(),
            kind: earshot_core::feedback::PromiseKind::Fix,
            made_at: now - Duration::days(20),
            due_on: None,
            target_release: None,
        })
        .await
        .unwrap();
    let due = (now - Duration::days(3)).date_naive();
    promise.confirm("anna", Some(due), None, now).unwrap();
    desk.store().save_promise(&promise, "anna").await.unwrap();

    // The first process breaks the promise and claims its alert; its pager never answers.
    assert_eq!(
        desk.feedback()
            .check_promises(desk.alerts(), now)
            .await
            .unwrap(),
        1
    );
    drop(desk);

    // The next process: nothing to break again, but the alert never delivered goes out once.
    let desk = handover.next_process().await;
    let again = now + Duration::minutes(3);
    assert_eq!(
        desk.feedback()
            .check_promises(desk.alerts(), again)
            .await
            .unwrap(),
        0
    );
    let text = handover.sent_once("the overdue promise's alert").await;
    assert!(
        text.contains(&format!("Promise {} is overdue", promise.id)),
        "{text}"
    );
    // Settled once delivered: later passes send nothing more.
    settled(
        desk.store(),
        "promise-overdue:",
        again + Duration::minutes(5),
    )
    .await;
    desk.feedback()
        .check_promises(desk.alerts(), again + Duration::minutes(5))
        .await
        .unwrap();
    handover.sent_nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_alert_its_first_sender_never_delivered_goes_out_from_the_next_process() {
    let handover = Handover::start().await;
    let desk = handover.first_process().await;
    // A quiet night of the usual questions, one every two minutes, up to a minute ago; then
    // everyone at once asks for flights to a festival.
    let onset = Utc::now() - Duration::seconds(60);
    let t0 = onset - Duration::seconds(120 * 300 + 10);
    let quiet = common::quiet_night(t0, |id, handle, text, when| {
        post(id, handle, 50, text, when)
    });
    desk.pipeline().ingest(quiet).await.unwrap();
    for chunk in 0..6i64 {
        let batch: Vec<NewPost> = (0..10i64)
            .map(|j| {
                let i = chunk * 10 + j;
                let text = format!("Any extra flights to Roskilde Festival? #{i}");
                post(
                    &format!("s-{i}"),
                    &format!("fan{i}"),
                    50,
                    &text,
                    onset + Duration::seconds(i),
                )
            })
            .collect();
        desk.pipeline().ingest(batch).await.unwrap();
    }
    let spikes = desk.feedback().spikes(desk.alerts()).await.unwrap();
    assert_eq!(spikes.len(), 1, "the surge is one spike");
    let now = Utc::now();
    let claimed = desk
        .store()
        .unsettled_alerts("spike:", now + Duration::minutes(3), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "its alert is claimed and on its way: {claimed:?}"
    );
    drop(desk);

    let desk = handover.next_process().await;
    let early = desk
        .feedback()
        .send_unsettled_spike_alerts(desk.alerts(), now)
        .await;
    assert_eq!(
        early, 0,
        "sent again before its first sender had its chance"
    );
    let later = now + Duration::minutes(3);
    let again = desk
        .feedback()
        .send_unsettled_spike_alerts(desk.alerts(), later)
        .await;
    assert_eq!(again, 1);
    let text = handover.sent_once("the spike's alert").await;
    assert!(
        text.contains("Spike: ") && text.contains("roskilde"),
        "{text}"
    );
    settled(desk.store(), "spike:", later).await;
    desk.feedback()
        .send_unsettled_spike_alerts(desk.alerts(), later + Duration::minutes(5))
        .await;
    handover.sent_nothing_more().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_of_a_spike_going_on_jump_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(&dir);
    let store = earshot_store::open(&s.db_url()).await.unwrap();
    let feedback = earshot_server::feedback::FeedbackLoop::new(store.clone()).with_spike_config(
        earshot_analyze::spikes::SpikeConfig {
            warmup_posts: 0,
            ..Default::default()
        },
    );
    let pipeline = common::pipeline(&s, store);
    let desk = Desk::build(pipeline, Responders::default(), "voltra")
        .feedback(feedback)
        .triage(TriageDesk::new(s.triage().unwrap().unwrap()))
        .finish();
    let p = desk.pipeline();

    // A quiet night: the usual questions, one every two minutes.
    let t0 = at("2024-06-29T02:00:00Z");
    let quiet = common::quiet_night(t0, |id, handle, text, when| {
        post(id, handle, 50, text, when)
    });
    p.ingest(quiet).await.unwrap();
    // The same kind of ask, before any spike: no jump.
    let plain = p
        .ingest(vec![post(
            "q-plain",
            "plain",
            50,
            "Any extra flights to Copenhagen this summer?",
            t0 + Duration::seconds(120 * 299 + 30),
        )])
        .await
        .unwrap()
        .posts[0]
        .conversation_id
        .unwrap();
    let usual_one = p
        .ingest(vec![post(
            "q-last",
            "late",
            50,
            "My bag is lost and nobody answers, this is awful",
            t0 + Duration::seconds(120 * 300),
        )])
        .await
        .unwrap()
        .posts[0]
        .conversation_id
        .unwrap();

    // Then everyone at once asks for flights to a festival, a few posts at a time.
    let onset = t0 + Duration::seconds(120 * 300 + 10);
    let mut last = None;
    for chunk in 0..6i64 {
        let batch: Vec<NewPost> = (0..10i64)
            .map(|j| {
                let i = chunk * 10 + j;
                post(
                    &format!("s-{i}"),
                    &format!("fan{i}"),
                    50,
                    &format!("Any extra flights to Roskilde Festival? #{i}"),
                    onset + Duration::seconds(i),
                )
            })
            .collect();
        let report = p.ingest(batch).await.unwrap();
        last = report.posts.last().and_then(|r| r.conversation_id);
    }
    assert!(
        !desk
            .feedback()
            .spikes(desk.alerts())
            .await
            .unwrap()
            .is_empty(),
        "the surge is noticed as a spike"
    );
    // The spikes are stored: a restart (a new loop on the same store) lists them, ended (the
    // new detector does not follow what an earlier one saw).
    let listed = desk.feedback().spikes(desk.alerts()).await.unwrap();
    let restarted = earshot_server::feedback::FeedbackLoop::new(
        earshot_store::open(&s.db_url()).await.unwrap(),
    );
    // As `serve` does when it starts.
    restarted.end_spikes_left_active().await.unwrap();
    let again = restarted
        .spikes(&earshot_server::alerts::Alerts::log_only())
        .await
        .unwrap();
    let ids = |v: &[earshot_server::feedback::spikes::SpikeView]| {
        v.iter().map(|s| s.spike.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&listed));
    assert!(
        again.iter().all(|s| !s.active),
        "ended, or ended at the restart"
    );
    let fan = last.unwrap();
    let detail = p.store().conversation(fan).await.unwrap().unwrap();
    let why = detail.conversation.signals.jump.clone().unwrap_or_default();
    assert!(why.starts_with("spike '"), "{why:?}");
    assert!(why.contains("roskilde"), "{why:?}");
    assert!(detail
        .audit
        .iter()
        .any(|a| a.action == "jumped" && a.actor == "triage"));

    // Above the same kind of ask written before the spike (same band, no jump); the angry
    // complaint that came before it did not jump (a spike is a boost within a band, not a band).
    let page = p
        .store()
        .inbox(
            &earshot_store::InboxFilter {
                limit: 1000,
                ..Default::default()
            },
            onset + Duration::minutes(2),
        )
        .await
        .unwrap();
    let rank = |id: ConversationId| page.items.iter().position(|r| r.conversation.id == id);
    let early = p.store().conversation(plain).await.unwrap().unwrap();
    assert_eq!(early.conversation.signals.jump, None);
    assert_eq!(
        early.conversation.priority.band, detail.conversation.priority.band,
        "the same kind of ask, the same band"
    );
    let show = |id: ConversationId| {
        page.items
            .iter()
            .find(|r| r.conversation.id == id)
            .map(|r| (r.latest_text.clone(), r.conversation.priority.explain()))
    };
    assert!(
        rank(fan).unwrap() < rank(plain).unwrap(),
        "{:?} vs {:?}",
        show(fan),
        show(plain)
    );
    let complaint = p.store().conversation(usual_one).await.unwrap().unwrap();
    assert_eq!(complaint.conversation.signals.jump, None);
    let band = |id: ConversationId| {
        page.items
            .iter()
            .find(|r| r.conversation.id == id)
            .map(|r| r.conversation.priority.band)
    };
    if band(usual_one) < band(fan) {
        assert!(rank(usual_one).unwrap() < rank(fan).unwrap());
    }
}
