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

/// Stands in for a network where a test needs replies to go out: records what was posted.
/// (Each connector is tested against its protocol-faithful fake in networks.rs.)
#[derive(Default)]
pub struct Posted {
    pub replies: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl earshot_server::responder::Responder for Posted {
    async fn send(
        &self,
        reply: &earshot_core::Reply,
        _: &earshot_core::Conversation,
    ) -> Result<String, earshot_server::responder::SendError> {
        let mut replies = self.replies.lock().unwrap_or_else(|p| p.into_inner());
        replies.push((reply.idempotency_key.clone(), reply.text.clone()));
        Ok(format!("posted-{}", reply.idempotency_key))
    }
}

/// Responders that post on these networks to one [`Posted`].
pub fn posting_on(
    networks: &[earshot_core::Network],
) -> (
    earshot_server::responder::Responders,
    std::sync::Arc<Posted>,
) {
    let posted = std::sync::Arc::new(Posted::default());
    let mut responders = earshot_server::responder::Responders::default();
    for n in networks {
        responders = responders.with(*n, posted.clone());
    }
    (responders, posted)
}
pub mod live;
pub mod postgres;

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
        let password = earshot_connect::Secret::new(format!("{name}-long-password"));
        auth::create_user(desk.store(), name, "", *role, &password)
            .await
            .expect("a person is added");
    }
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
