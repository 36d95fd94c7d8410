//! The web application over plain HTTP (no browser): sign-in, sessions, CSRF, login rate
//! limiting, roles, settings, and store API tokens on the JSON API. The real server on a
//! random port over a temporary SQLite store.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use earshot_connect::Secret as Password;
use earshot_core::{Author, ConversationId, Network, NewPost, Status};
use earshot_server::config::{Secret, Settings};
use earshot_server::web::auth;
use earshot_server::{App, Desk};
use earshot_store::people::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::json;
use std::sync::Arc;

struct Server {
    base: String,
    desk: Arc<Desk>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn server_with(configure: impl FnOnce(&mut Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..Settings::default()
    };
    s.brand.handles = vec!["voltra".into()];
    configure(&mut s);
    let app = App::build(s).await.unwrap();
    let base = app.address();
    let desk = app.desk().clone();
    tokio::spawn(app.run_until_stopped());
    for (name, role) in [
        ("maria", Role::Agent),
        ("anna", Role::Admin),
        ("vic", Role::Viewer),
    ] {
        auth::create_user(
            desk.store(),
            name,
            "",
            role,
            &Password::new(format!("{name}-long-password")),
        )
        .await
        .unwrap();
    }
    Server {
        base,
        desk,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    }
}

async fn server() -> Server {
    server_with(|_| {}).await
}

/// The value of a `name="…" value="…"` hidden field in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        c.split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

struct Signed {
    cookie: String,
    csrf: String,
}

impl Server {
    async fn conversation(&self) -> ConversationId {
        let post = NewPost {
            network: Network::X,
            external_id: "1".into(),
            author: Author {
                external_id: "u1".into(),
                handle: "paulfranks".into(),
                display_name: Some("Paul Franks".into()),
                followers: Some(1520),
                verified: false,
                bot: false,
            },
            text: "@voltra the app keeps logging me out, terrible".into(),
            created_at: Utc::now(),
            in_reply_to: None,
            lang: None,
            url: None,
            from_brand: Some(false),
            raw: None,
        };
        let report = self.desk.pipeline().ingest(vec![post]).await.unwrap();
        report.posts[0].conversation_id.unwrap()
    }

    /// GET /login, then POST it; returns the response to the POST.
    async fn try_sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        let form = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_value(&set_cookies(&form), "earshot_login").unwrap();
        let html = form.text().await.unwrap();
        let csrf = field(&html, "csrf");
        self.http
            .post(format!("{}/login", self.base))
            .header(COOKIE, format!("earshot_login={login_cookie}"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", user),
                ("password", password),
                ("next", "/inbox"),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn sign_in(&self, user: &str) -> Signed {
        let r = self
            .try_sign_in(user, &format!("{user}-long-password"))
            .await;
        assert_eq!(r.status(), 303, "{user} signs in");
        let session = cookie_value(&set_cookies(&r), auth::SESSION_COOKIE).unwrap();
        let cookie = format!("{}={session}", auth::SESSION_COOKIE);
        let inbox = self.get("/inbox", Some(&cookie)).await;
        assert_eq!(inbox.status(), 200);
        let html = inbox.text().await.unwrap();
        let csrf = field(&html, "csrf");
        Signed { cookie, csrf }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            r = r.header(COOKIE, c);
        }
        r.send().await.unwrap()
    }

    async fn post_form(&self, path: &str, s: &Signed, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &s.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn pages_need_a_session_and_sessions_are_cookies_the_page_script_cannot_read() {
    let server = server().await;
    let r = server.get("/inbox?intent=complaint", None).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        "/login?next=%2Finbox%3Fintent%3Dcomplaint"
    );
    assert_eq!(
        server
            .get("/dashboard", Some("earshot_session=forged"))
            .await
            .status(),
        303
    );

    let r = server.try_sign_in("maria", "maria-long-password").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/inbox");
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("earshot_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");

    // Behind a TLS proxy the cookie is Secure.
    let form = server
        .http
        .get(format!("{}/login", server.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&form)[0].contains("; Secure"));

    // Pages carry a strict content security policy.
    let page = server.get("/login", None).await;
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    // Signing out ends the session for good.
    let s = server.sign_in("maria").await;
    let out = server.post_form("/logout", &s, &[("csrf", &s.csrf)]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(server.get("/inbox", Some(&s.cookie)).await.status(), 303);
}

#[tokio::test]
async fn forms_without_the_sessions_token_or_from_another_site_change_nothing() {
    let server = server().await;
    let id = server.conversation().await;
    let s = server.sign_in("maria").await;
    let path = format!("/c/{}/act", id.0);

    let none = server
        .post_form(&path, &s, &[("action", "assign_me")])
        .await;
    assert_eq!(none.status(), 422, "the csrf field is required");
    let wrong = server
        .post_form(&path, &s, &[("csrf", "guess"), ("action", "assign_me")])
        .await;
    assert_eq!(wrong.status(), 403);
    let cross = server
        .http
        .post(format!("{}{path}", server.base))
        .header(COOKIE, &s.cookie)
        .header("origin", "https://evil.example")
        .form(&[("csrf", s.csrf.as_str()), ("action", "assign_me")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross.status(),
        403,
        "another site's form is refused even with the token"
    );
    let c = server.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(c.conversation.assignee, None, "nothing changed");

    let ok = server
        .post_form(&path, &s, &[("csrf", &s.csrf), ("action", "assign_me")])
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()[LOCATION], format!("/c/{}?done=assigned", id.0));
    let c = server.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(c.conversation.assignee.as_deref(), Some("maria"));
    assert_eq!(c.audit[0].actor, "maria", "the desk recorded who did it");

    // Labels and notes go through the same checks and land in the audit trail.
    let labelled = server
        .post_form(
            &format!("/c/{}/labels", id.0),
            &s,
            &[("csrf", &s.csrf), ("labels", "App, login")],
        )
        .await;
    assert_eq!(labelled.status(), 303);
    let noted = server
        .post_form(
            &format!("/c/{}/notes", id.0),
            &s,
            &[("csrf", &s.csrf), ("text", "Called him, <b>escalated</b>")],
        )
        .await;
    assert_eq!(noted.status(), 303);
    let page = server
        .get(&format!("/c/{}", id.0), Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Called him, &lt;b&gt;escalated&lt;/b&gt;"),
        "notes are escaped"
    );
    assert!(
        page.contains(">app<") && page.contains(">login<"),
        "labels shown"
    );

    // A reply that is too long for X is refused with the reason, the draft kept.
    let long = "x".repeat(300);
    let r = server
        .post_form(
            &format!("/c/{}/reply", id.0),
            &s,
            &[("csrf", &s.csrf), ("text", &long), ("key", "k1")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("x allows at most 280"), "the reason is shown");
    assert!(html.contains(&long), "the draft is kept");
    // The same key twice sends once.
    for _ in 0..2 {
        let r = server
            .post_form(
                &format!("/c/{}/reply", id.0),
                &s,
                &[
                    ("csrf", &s.csrf),
                    ("text", "Sorry! Fix on its way."),
                    ("key", "k2"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let c = server.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(c.replies.len(), 1);
    assert_eq!(c.conversation.status, Status::Pending);
}

#[tokio::test]
async fn sign_in_pauses_after_repeated_failures() {
    let server = server().await;
    for _ in 0..auth::MAX_FAILED_PER_USER {
        let r = server.try_sign_in("maria", "wrong-password-here").await;
        assert_eq!(r.status(), 401);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Wrong user name or password"));
    }
    let r = server.try_sign_in("maria", "maria-long-password").await;
    assert_eq!(r.status(), 429, "even the right password waits now");
    // Another person is not locked out by maria's failures.
    assert_eq!(
        server
            .try_sign_in("anna", "anna-long-password")
            .await
            .status(),
        303
    );
    // An unknown name gets the same answer as a wrong password.
    let r = server.try_sign_in("nobody", "whatever-password").await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn viewers_read_but_do_not_act_and_only_admins_open_settings() {
    let server = server().await;
    let id = server.conversation().await;
    let v = server.sign_in("vic").await;
    assert_eq!(
        server
            .get(&format!("/c/{}", id.0), Some(&v.cookie))
            .await
            .status(),
        200
    );
    let r = server
        .post_form(
            &format!("/c/{}/act", id.0),
            &v,
            &[("csrf", &v.csrf), ("action", "resolve")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(server.get("/settings", Some(&v.cookie)).await.status(), 403);
    let c = server.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(c.conversation.status, Status::Open);
}

#[tokio::test]
async fn an_admin_creates_people_and_tokens_shown_once() {
    let server = server().await;
    let a = server.sign_in("anna").await;
    let r = server
        .post_form(
            "/settings/users",
            &a,
            &[
                ("csrf", &a.csrf),
                ("username", "Bo"),
                ("display_name", "Bo <i>"),
                ("role", "agent"),
                ("password", "bo-long-password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Bo &lt;i&gt; can now sign in as bo."));
    server.sign_in("bo").await;

    let bo = server
        .desk
        .store()
        .credentials("bo")
        .await
        .unwrap()
        .unwrap()
        .user;
    let r = server
        .http
        .post(format!("{}/settings/tokens", server.base))
        .header(COOKIE, &a.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&name=export&user_id={}&scope=read&scope=act",
            a.csrf, bo.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let at = html
        .find("id=\"new-token\"")
        .expect("the new token is shown");
    let token = field(
        &html[at..].replacen("value=\"", "name=\"t\" value=\"", 1),
        "t",
    );
    assert!(token.starts_with("es_"), "{token}");
    let settings = server
        .get("/settings", Some(&a.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!settings.contains(&token), "the token is never shown again");
    assert!(settings.contains(&token[..10]), "its start identifies it");
    let stored = server.desk.store().api_tokens().await.unwrap();
    assert_eq!(stored[0].scopes, vec!["read", "act"]);
}

#[tokio::test]
async fn store_tokens_open_the_json_api_within_their_scopes_until_revoked() {
    let server = server_with(|s| s.api.token = Secret::new("config-token")).await;
    let id = server.conversation().await;
    let store = server.desk.store();
    let maria = store.credentials("maria").await.unwrap().unwrap().user;
    let (reader, _) = auth::create_api_token(store, &maria, "reader", vec!["read".into()])
        .await
        .unwrap();
    let (actor, actor_row) =
        auth::create_api_token(store, &maria, "actor", vec!["read".into(), "act".into()])
            .await
            .unwrap();
    let api = |token: &str, method: reqwest::Method, path: &str| {
        server
            .http
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(token)
            .header("x-earshot-agent", "mallory")
    };
    assert_eq!(
        api(reader.expose(), reqwest::Method::GET, "/api/v1/inbox")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        api("config-token", reqwest::Method::GET, "/api/v1/inbox")
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "api.token still works"
    );
    assert_eq!(
        api("es_unknown", reqwest::Method::GET, "/api/v1/inbox")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let act = format!("/api/v1/conversations/{}/actions", id.0);
    let denied = api(reader.expose(), reqwest::Method::POST, &act)
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403, "read scope cannot act");
    let done = api(actor.expose(), reqwest::Method::POST, &act)
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let audit = store.audit(Some(id), 1).await.unwrap();
    assert_eq!(
        audit[0].actor, "maria",
        "the token's person acts, not the header's claim"
    );
    assert!(store
        .api_tokens()
        .await
        .unwrap()
        .iter()
        .any(|t| t.id == actor_row.id && t.last_used_at.is_some()));

    store
        .revoke_api_token(actor_row.id, Utc::now())
        .await
        .unwrap();
    let after = api(actor.expose(), reqwest::Method::GET, "/api/v1/inbox")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "a revoked token stops working at once");
    // Pages are not opened by API tokens, nor the API by a page session.
    let r = server
        .http
        .get(format!("{}/inbox", server.base))
        .bearer_auth(reader.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn unknown_pages_answer_in_html_and_unknown_api_paths_in_json() {
    let server = server().await;
    let page = server.get("/nowhere", None).await;
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let api = server.get("/api/v1/nowhere", None).await;
    assert_eq!(api.status(), 404);
    assert!(api.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let css = server.get("/assets/app.css", None).await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(
        earshot_server::web::assets::total_bytes() < 100 * 1024,
        "pages stay small"
    );
}
