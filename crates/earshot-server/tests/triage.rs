//! Triage end to end: routing, on-call paging and escalation through the fake Slack and
//! signed-webhook receivers, and the policy and report endpoints.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, Utc};
use earshot_connect::notify::fake::{FakeSlack, FakeWebhookReceiver};
use earshot_core::{Author, ConversationEvent, ConversationId, Network, NewPost};
use earshot_server::alerts::{AlertSettings, AlertTarget, Alerts};
use earshot_server::config::{Secret, Settings};
use earshot_server::desk::Desk;
use earshot_server::pipeline::Pipeline;
use earshot_server::responder::Responders;
use earshot_server::triage::TriageDesk;
use earshot_server::App;
use serde_json::Value;
use std::sync::Arc;

/// Care in Copenhagen works weekdays 08–18; nights and weekends ana and bo take turns on call;
/// maria is the second level. Big accounts get a one-hour first response target.
const TRIAGE: &str = r#"
[brand]
handles = ["voltra"]

[triage.hours.care-eu]
timezone = "Europe/Copenhagen"
week = { "mon-fri" = "08:00-18:00" }

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

[[triage.routes]]
name = "everything"
team = "care-eu"

[triage.teams.care-eu]
hours = "care-eu"

[[triage.schedules]]
team = "care-eu"
timezone = "Europe/Copenhagen"
[[triage.schedules.layers]]
name = "nights"
members = ["ana", "bo"]
starts = "2025-01-06"
handoff = "09:00"
every_days = 7
outside_hours = "care-eu"

[triage.escalation.care-eu]
levels = [
  { notify = ["on-call"], ack_within = "10m" },
  { notify = ["maria"], ack_within = "10m" },
]

[triage.escalation_triggers]
before_breach = "15m"
after_hours_bands = ["urgent"]
after_hours_followers_at_least = 100000
"#;

fn settings(dir: &tempfile::TempDir) -> Settings {
    let mut s: Settings = toml::from_str(TRIAGE).unwrap();
    s.data_dir = dir.path().to_path_buf();
    s.listen = "127.0.0.1:0".into();
    s.check().unwrap();
    s
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn post(id: &str, handle: &str, followers: u64, text: &str, when: DateTime<Utc>) -> NewPost {
    NewPost {
        network: Network::X,
        external_id: id.into(),
        author: Author {
            external_id: format!("id-{handle}"),
            handle: handle.into(),
            display_name: None,
            followers: Some(followers),
            verified: false,
            bot: false,
        },
        text: text.into(),
        created_at: when,
        in_reply_to: None,
        lang: Some("en".into()),
        url: None,
        from_brand: Some(false),
        raw: None,
    }
}

fn answer(id: &str, to: &str, when: DateTime<Utc>) -> NewPost {
    NewPost {
        author: Author {
            external_id: "id-voltra".into(),
            handle: "voltra".into(),
            display_name: None,
            followers: None,
            verified: true,
            bot: false,
        },
        in_reply_to: Some(to.into()),
        from_brand: Some(true),
        ..post(id, "voltra", 0, "Sorry about that, we are on it.", when)
    }
}

fn target(name: &str, kind: &str, url: &str, secret: &str) -> AlertTarget {
    AlertTarget {
        name: name.into(),
        kind: kind.into(),
        min_severity: None,
        url: Secret::new(url),
        url_env: None,
        secret: Secret::new(secret),
        secret_env: None,
        smtp_host: None,
        smtp_port: None,
        smtp_security: None,
        smtp_username: None,
        smtp_password: Default::default(),
        smtp_password_env: None,
        smtp_password_file: None,
        from: None,
        to: vec![],
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
    let pipeline = Pipeline::new(
        Arc::new(earshot_server::app::analyzer(&s).unwrap()),
        s.brand_identity(),
        s.triage_policy().unwrap(),
        store,
    )
    .with_alerts(Alerts::start(&alerts).unwrap())
    .with_triage(TriageDesk::new(rules.clone()));
    let desk = Desk::new(Arc::new(pipeline), Responders::default(), "voltra");
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
    let triage = p.triage().unwrap();
    let view = triage.assess(&p.store().conversation(id).await.unwrap().unwrap(), written);
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
        client: reqwest::Client::new(),
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
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
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
