//! What the server's test files share: the API is closed to callers without credentials, so
//! test servers carry `api.token` and test clients send it (acting as `api`); tests about a
//! person's actions use that person's own token or session instead.
#![allow(dead_code)]

use earshot_server::config::{Secret, Settings};
use earshot_server::web::auth;
use earshot_server::{App, Desk};
use earshot_store::people::Role;
use reqwest::header::SET_COOKIE;
use std::path::Path;
use std::sync::Arc;

/// `api.token` of every test server.
pub const API_TOKEN: &str = "api-token-for-the-tests-0001";

/// Gives a test server the test token.
pub fn with_api_token(s: &mut Settings) {
    s.api.token = Secret::new(API_TOKEN);
}

/// An HTTP client that sends `Authorization: Bearer <token>` on every request.
pub fn authorised(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {token}").parse().expect("a header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

/// A client for the test servers' API, acting as `api`.
pub fn api_client() -> reqwest::Client {
    authorised(API_TOKEN)
}

/// One reply a [`Threads`] recorded: (conversation, network, text, idempotency key).
pub type Sent = (
    earshot_core::ConversationId,
    earshot_core::Network,
    String,
    String,
);

/// Stands in for networks where a test needs replies to go out: records what would have been
/// posted, per conversation, like a network's thread would. (Each connector is tested against
/// its protocol-faithful fake in networks.rs.)
#[derive(Default)]
pub struct Threads {
    pub sent: std::sync::Mutex<Vec<Sent>>,
    /// A repeated idempotency key returns the first post instead of posting again, as a
    /// network honouring the keys does; otherwise every send is recorded, so a test sees a
    /// reply sent twice.
    pub honours_keys: bool,
}

#[async_trait::async_trait]
impl earshot_server::responder::Responder for Threads {
    async fn send(
        &self,
        reply: &earshot_core::Reply,
        _to: &earshot_core::ReplyTarget,
    ) -> Result<String, earshot_server::responder::SendError> {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if self.honours_keys {
            if let Some(i) = sent.iter().position(|s| s.3 == reply.idempotency_key) {
                return Ok(format!("posted-{i}"));
            }
        }
        sent.push((
            reply.conversation_id,
            reply.network,
            reply.text.clone(),
            reply.idempotency_key.clone(),
        ));
        Ok(format!("posted-{}", sent.len() - 1))
    }
}

/// Responders that post on `networks` to one [`Threads`].
pub fn threads_on(
    networks: &[earshot_core::Network],
    honours_keys: bool,
) -> (
    earshot_server::responder::Responders,
    std::sync::Arc<Threads>,
) {
    let threads = std::sync::Arc::new(Threads {
        honours_keys,
        ..Threads::default()
    });
    let mut responders = earshot_server::responder::Responders::default();
    for n in networks {
        responders = responders.with(*n, threads.clone());
    }
    (responders, threads)
}

/// Responders that post on X and Mastodon to one [`Threads`] honouring idempotency keys.
pub fn threads() -> (
    earshot_server::responder::Responders,
    std::sync::Arc<Threads>,
) {
    use earshot_core::Network;
    threads_on(&[Network::X, Network::Mastodon], true)
}

pub mod live;
pub mod postgres;
pub mod site;

/// An alert target of `kind` (`slack` or `webhook`) posting to `url`, signing with `secret`
/// (webhooks; "" for none).
pub fn alert_target(
    name: &str,
    kind: &str,
    url: &str,
    secret: &str,
) -> earshot_server::alerts::AlertTarget {
    earshot_server::alerts::AlertTarget {
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

/// Settings for a test server over `data_dir` on a random port, for the brand @voltra.
pub fn settings_in(data_dir: &Path) -> Settings {
    let mut s = Settings {
        data_dir: data_dir.to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..Settings::default()
    };
    s.brand.handles = vec!["voltra".into()];
    s
}

/// The care-eu team shared by the triage tests of the brand @voltra: care works weekdays
/// 08–18 in Copenhagen, everything routes to care-eu, ana and bo take turns on call at night
/// and maria is the second level. `head` comes after the hours (policies, earlier routes),
/// `tail` fills `[triage.escalation_triggers]`.
pub fn care_eu_triage(head: &str, tail: &str) -> String {
    format!("{CARE_EU_HOURS}{head}{CARE_EU_ROTA}{tail}")
}

const CARE_EU_HOURS: &str = r#"
[brand]
handles = ["voltra"]

[triage.hours.care-eu]
timezone = "Europe/Copenhagen"
week = { "mon-fri" = "08:00-18:00" }
"#;

const CARE_EU_ROTA: &str = r#"[[triage.routes]]
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
"#;

/// What customers write about on an ordinary day: the background a spike stands out from.
pub const ORDINARY_DAY: [&str; 10] = [
    "my bag did not arrive in Copenhagen",
    "the app will not let me check in",
    "can I change my seat to the aisle",
    "refund for the cancelled flight to Oslo please",
    "great crew on the morning flight, thanks",
    "how much is extra luggage to Rome",
    "my booking code does not work",
    "is the lounge open in terminal 3",
    "the wifi on board was not working",
    "when does the sale start",
];

/// A quiet night from `t0`: the usual three questions, one every two minutes, 300 posts
/// `q-<i>` by `c<i>`, each made by `post(id, handle, text, at)`.
pub fn quiet_night(
    t0: chrono::DateTime<chrono::Utc>,
    post: impl Fn(&str, &str, &str, chrono::DateTime<chrono::Utc>) -> earshot_core::NewPost,
) -> Vec<earshot_core::NewPost> {
    let usual = [
        "Where is my bag?",
        "Can I change my seat?",
        "Is my flight on time?",
    ];
    (0..300i64)
        .map(|i| {
            post(
                &format!("q-{i}"),
                &format!("c{i}"),
                usual[i as usize % 3],
                t0 + chrono::Duration::seconds(120 * i),
            )
        })
        .collect()
}

/// The pipeline a desk of `settings` runs over `store`: the configured analyzer, brand and
/// triage policy, as the server builds it.
pub fn pipeline(
    settings: &Settings,
    store: Arc<dyn earshot_store::Store>,
) -> earshot_server::pipeline::Pipeline {
    earshot_server::pipeline::Pipeline::new(
        Arc::new(earshot_server::app::analyzer(settings).unwrap()),
        settings.brand_identity(),
        settings.triage_policy().unwrap(),
        store,
    )
}

/// Starts the real app in the background: its base URL and its desk.
pub async fn start(settings: Settings) -> (String, Arc<Desk>) {
    let app = App::build(settings).await.expect("the app starts");
    let base = app.address();
    let desk = app.desk().clone();
    tokio::spawn(app.run_until_stopped());
    (base, desk)
}

/// Serves `desk` (built by the test) in the background: its base URL.
pub async fn serve(settings: Settings, desk: Arc<Desk>) -> String {
    let app = App::with_desk(settings, desk)
        .await
        .expect("the app starts");
    let base = app.address();
    tokio::spawn(app.run_until_stopped());
    base
}

/// Adds the team: each person signs in with the password `<name>-long-password`.
pub async fn add_people(desk: &Desk, people: &[(&str, Role)]) {
    for (name, role) in people {
        add_person(desk, name, "", *role).await;
    }
}

/// Adds one person, shown as `display_name`, who signs in with `<name>-long-password`.
pub async fn add_person(
    desk: &Desk,
    name: &str,
    display_name: &str,
    role: Role,
) -> earshot_store::people::User {
    let password = earshot_connect::Secret::new(format!("{name}-long-password"));
    auth::create_user(desk.store(), name, display_name, role, &password)
        .await
        .expect("a person is added")
}

/// A store token for one of the team, with these scopes.
pub async fn token_for(desk: &Desk, user: &str, scopes: &[&str]) -> String {
    let person = desk.store().credentials(user).await.unwrap().unwrap().user;
    let scopes = scopes.iter().map(|s| s.to_string()).collect();
    let (token, _) = auth::create_api_token(desk.store(), &person, "tests", scopes)
        .await
        .unwrap();
    token.expose().to_string()
}

/// A browser-like client that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The response answers `status` with a body of `content_type` (a prefix: parameters may
/// follow).
pub fn assert_answers(r: &reqwest::Response, status: u16, content_type: &str) {
    assert_eq!(r.status(), status, "{}", r.url());
    let given = r.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap();
    assert!(
        given.starts_with(content_type),
        "{given}, not {content_type}"
    );
}

/// The value of a `name="…" value="…"` field in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The value of the cookie `name` the response sets, if it sets one.
pub fn cookie_value(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all(SET_COOKIE).iter().find_map(|c| {
        c.to_str()
            .ok()?
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

/// Signs `user` (added by [`add_people`]) in at `base` through the login form: the session
/// cookie, as `name=value`.
pub async fn session(base: &str, user: &str) -> String {
    let http = browser();
    let form = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("the login form");
    let login = cookie_value(&form, "earshot_login").expect("the login form sets its cookie");
    let csrf = field(&form.text().await.expect("the login form"), "csrf");
    let password = format!("{user}-long-password");
    let r = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, format!("earshot_login={login}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", password.as_str()),
            ("next", "/inbox"),
        ])
        .send()
        .await
        .expect("the login answer");
    assert_eq!(r.status(), 303, "{user} signs in");
    let session = cookie_value(&r, auth::SESSION_COOKIE).expect("a session cookie");
    format!("{}={session}", auth::SESSION_COOKIE)
}
