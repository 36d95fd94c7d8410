//! The web application over plain HTTP (no browser): sign-in, sessions, CSRF, login rate
//! limiting, roles, settings, and store API tokens on the JSON API. The real server on a
//! random port over a temporary SQLite store.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use earshot_core::Secret as Password;
use earshot_core::{Author, ConversationId, Network, NewPost, Status};
use earshot_server::config::{Secret, Settings};
use earshot_server::web::auth;
use earshot_server::Desk;
use earshot_store::people::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;
use std::sync::Arc;

async fn server_with(configure: impl FnOnce(&mut Settings)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    configure(&mut s);
    with_people(Server::start(s, dir).await).await
}

/// The team every test signs in as: an agent, an admin and a viewer.
async fn with_people(server: Server) -> Server {
    let team = [
        ("maria", Role::Agent),
        ("anna", Role::Admin),
        ("vic", Role::Viewer),
    ];
    common::add_people(&server.desk, &team).await;
    server
}

async fn server() -> Server {
    server_with(|_| {}).await
}

/// A server whose X and Mastodon replies go out (to [`common::Threads`], each send recorded).
async fn server_answering() -> (Server, Arc<common::Threads>) {
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings_in(dir.path());
    let (responders, posted) = common::threads_on(&[Network::X, Network::Mastodon], false);
    let desk = earshot_server::app::desk_with(&settings, responders)
        .await
        .unwrap();
    let base = common::serve(settings.clone(), desk.clone()).await;
    let server = Server::over(base, desk, settings, dir);
    (with_people(server).await, posted)
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

impl Server {
    async fn conversation(&self) -> ConversationId {
        let post = NewPost {
            from_brand: Some(false),
            ..NewPost::new(
                Network::X,
                "1",
                Author {
                    display_name: Some("Paul Franks".into()),
                    followers: Some(1520),
                    ..Author::new("u1", "paulfranks")
                },
                "@voltra the app keeps logging me out, terrible",
                Utc::now(),
            )
        };
        let report = self.desk.pipeline().ingest(vec![post]).await.unwrap();
        report.posts[0].conversation_id.unwrap()
    }

    /// GET /login, then POST it; returns the response to the POST.
    async fn try_sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        let form = self.login_form().await;
        self.post_login(&form, None, user, password).await
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

    // A stranger saying it came over TLS is not believed (no trusted proxy configured).
    let form = server
        .http
        .get(format!("{}/login", server.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(!set_cookies(&form)[0].contains("; Secure"));

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
    assert_eq!(none.status(), 403, "a form without the token is refused");
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
    // No X connector here: the reply is kept, plainly NOT sent, with why, a retry and its
    // text to copy; the same key twice stores it once; the customer still waits.
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
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("Your reply was NOT sent"), "{html}");
        assert!(html.contains("[[connectors.x]]"), "what to do is said");
        assert!(!html.contains("Reply sent."));
        assert!(html.contains(">not sent<") && html.contains("Copy text"));
        assert!(html.contains("/retry\""), "a retry button");
    }
    let c = server.desk.store().conversation(id).await.unwrap().unwrap();
    assert_eq!(c.replies.len(), 1);
    assert_eq!(c.replies[0].state, earshot_core::ReplyState::NotSent);
    assert_eq!(
        c.conversation.status,
        Status::Open,
        "nobody answered the customer"
    );
    let retry = server
        .post_form(
            &format!("/c/{}/replies/{}/retry", id.0, c.replies[0].id),
            &s,
            &[("csrf", &s.csrf)],
        )
        .await;
    assert_eq!(retry.status(), 422, "still no connector");
}

/// A sign-in form fetched and posted from one client address (told through the trusted
/// proxy's `X-Forwarded-For`).
struct LoginForm {
    cookie: String,
    csrf: String,
}

impl Server {
    async fn login_form(&self) -> LoginForm {
        let form = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let cookie = cookie_value(&set_cookies(&form), "earshot_login").unwrap();
        let csrf = field(&form.text().await.unwrap(), "csrf");
        LoginForm { cookie, csrf }
    }

    /// Posts the sign-in form; `from` is the client address a trusted proxy reports.
    async fn post_login(
        &self,
        form: &LoginForm,
        from: Option<&str>,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}/login", self.base))
            .header(COOKIE, format!("earshot_login={}", form.cookie));
        if let Some(from) = from {
            r = r.header("x-forwarded-for", from);
        }
        r.form(&[
            ("csrf", form.csrf.as_str()),
            ("username", user),
            ("password", password),
            ("next", "/inbox"),
        ])
        .send()
        .await
        .unwrap()
    }
}

fn behind_proxy(s: &mut Settings) {
    s.http.trusted_proxies = vec!["127.0.0.1".into()];
}

#[tokio::test]
async fn each_failed_sign_in_slows_the_next_for_that_name_and_address_only() {
    let server = server_with(behind_proxy).await;
    let guesser = "203.0.113.9";
    let form = server.login_form().await;
    let r = server
        .post_login(&form, Some(guesser), "maria", "wrong-password-here")
        .await;
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Wrong user name or password"));
    // Straight after a failure, even the right password waits its turn.
    let r = server
        .post_login(&form, Some(guesser), "maria", "maria-long-password")
        .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Maria herself, at her own address, is not locked out by the guesser.
    let r = server
        .post_login(&form, Some("198.51.100.7"), "maria", "maria-long-password")
        .await;
    assert_eq!(r.status(), 303, "no name-wide lock-out");
    // Once the wait is over the guesser's next attempt is checked again.
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    let r = server
        .post_login(&form, Some(guesser), "maria", "maria-long-password")
        .await;
    assert_eq!(r.status(), 303);
    // An unknown name gets the same answer as a wrong password.
    let r = server
        .post_login(&form, Some("192.0.2.44"), "nobody", "whatever-password")
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn fifty_parallel_guesses_are_counted_one_by_one() {
    let server = Arc::new(server_with(behind_proxy).await);
    let form = Arc::new(server.login_form().await);
    let mut guesses = vec![];
    for i in 0..50 {
        let (server, form) = (server.clone(), form.clone());
        guesses.push(tokio::spawn(async move {
            server
                .post_login(
                    &form,
                    Some("203.0.113.9"),
                    "anna",
                    &format!("guess-number-{i}"),
                )
                .await
                .status()
                .as_u16()
        }));
    }
    let mut checked = 0;
    let mut waited = 0;
    for g in guesses {
        match g.await.unwrap() {
            401 => checked += 1,
            429 => waited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (checked, waited),
        (1, 49),
        "one guess checked, the rest told to wait"
    );
}

#[tokio::test]
async fn sign_in_never_sends_anyone_off_site() {
    let server = server().await;
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
    ] {
        let page = server
            .get(&format!("/login?next={next}"), None)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(field(&page, "next"), "/inbox", "{next}");
    }
    let form = server.login_form().await;
    let r = server
        .http
        .post(format!("{}/login", server.base))
        .header(COOKIE, format!("earshot_login={}", form.cookie))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&username=maria&password=maria-long-password&next=/%09/evil.example",
            form.csrf
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/inbox");
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
    let server = server_with(|s| s.api.token = Secret::new("config-token-long-enough-00")).await;
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
        api(
            "config-token-long-enough-00",
            reqwest::Method::GET,
            "/api/v1/inbox"
        )
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
    // Pages are not opened by API tokens.
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
async fn a_signed_in_page_calls_the_api_as_its_person_and_writes_need_the_csrf_token() {
    let server = server().await;
    let id = server.conversation().await;
    let s = server.sign_in("maria").await;
    let api = |method: reqwest::Method, path: &str| {
        server
            .http
            .request(method, format!("{}{path}", server.base))
            .header(COOKIE, &s.cookie)
    };
    let r = api(reqwest::Method::GET, "/api/v1/inbox")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let act = format!("/api/v1/conversations/{}/actions", id.0);
    let body = json!({"action": "assign", "to": "maria"});
    let r = api(reqwest::Method::POST, &act)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a write without the session's CSRF token");
    let r = api(reqwest::Method::POST, &act)
        .header("x-csrf-token", &s.csrf)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "from another site, even with the token");
    let r = api(reqwest::Method::POST, &act)
        .header("x-csrf-token", &s.csrf)
        .header("x-earshot-agent", "mallory")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audit = server.desk.store().audit(Some(id), 1).await.unwrap();
    assert_eq!(audit[0].actor, "maria");
    // A viewer's session reads but does not write.
    let v = server.sign_in("vic").await;
    let r = server
        .http
        .post(format!("{}{act}", server.base))
        .header(COOKIE, &v.cookie)
        .header("x-csrf-token", &v.csrf)
        .json(&json!({"action": "resolve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn sessions_end_when_idle_on_a_password_reset_and_when_disabled() {
    let server = server_with(|s| s.http.session_idle_minutes = 30).await;
    let store = server.desk.store().clone();
    let s = server.sign_in("maria").await;
    let hash = auth::token_hash(s.cookie.split_once('=').unwrap().1);
    // Used 31 minutes ago and not since: over the idle limit.
    store
        .touch_session(&hash, Utc::now() - chrono::Duration::minutes(31))
        .await
        .unwrap();
    assert_eq!(server.get("/inbox", Some(&s.cookie)).await.status(), 303);
    assert!(
        store.session(&hash, Utc::now()).await.unwrap().is_none(),
        "ended, not just refused"
    );

    // A password reset ends the sessions and the tokens of that person.
    let s = server.sign_in("maria").await;
    let maria = store.credentials("maria").await.unwrap().unwrap().user;
    let (token, _) = auth::create_api_token(&store, &maria, "export", vec!["read".into()])
        .await
        .unwrap();
    let inbox = |t: &str| {
        server
            .http
            .get(format!("{}/api/v1/inbox", server.base))
            .bearer_auth(t.to_string())
            .send()
    };
    assert_eq!(inbox(token.expose()).await.unwrap().status(), 200);
    auth::set_password(&store, maria.id, &Password::new("maria-new-long-password"))
        .await
        .unwrap();
    assert_eq!(server.get("/inbox", Some(&s.cookie)).await.status(), 303);
    assert_eq!(inbox(token.expose()).await.unwrap().status(), 401);

    // Disabling does the same, and enabling again brings neither back.
    let anna = store.credentials("anna").await.unwrap().unwrap().user;
    let a = server.sign_in("anna").await;
    let (token, _) = auth::create_api_token(&store, &anna, "export", vec!["read".into()])
        .await
        .unwrap();
    let vic = store.credentials("vic").await.unwrap().unwrap().user;
    let admin = server.sign_in("anna").await;
    let _ = (a, vic);
    // Make someone else an admin first: the last admin cannot be disabled.
    store.set_role(maria.id, Role::Admin).await.unwrap();
    store.set_disabled(anna.id, true, Utc::now()).await.unwrap();
    store
        .set_disabled(anna.id, false, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        server.get("/inbox", Some(&admin.cookie)).await.status(),
        303
    );
    assert_eq!(inbox(token.expose()).await.unwrap().status(), 401);
}

#[tokio::test]
async fn secure_cookies_take_the_host_prefix_and_trusted_proxies_say_when_tls_is_on() {
    let server = server_with(|s| s.http.secure_cookies = true).await;
    let form = server
        .http
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    let cookies = set_cookies(&form);
    assert!(
        cookies[0].starts_with("__Secure-earshot_login=") && cookies[0].contains("; Secure"),
        "{cookies:?}"
    );
    let login = cookie_value(&cookies, "__Secure-earshot_login").unwrap();
    let csrf = field(&form.text().await.unwrap(), "csrf");
    let r = server
        .http
        .post(format!("{}/login", server.base))
        .header(COOKIE, format!("__Secure-earshot_login={login}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "maria"),
            ("password", "maria-long-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-earshot_session="))
        .unwrap();
    assert!(
        session.contains("; Path=/;")
            && session.contains("; Secure")
            && !session.contains("Domain"),
        "{session}"
    );
    let value = cookie_value(&cookies, "__Host-earshot_session").unwrap();
    let host = format!("__Host-earshot_session={value}");
    assert_eq!(server.get("/inbox", Some(&host)).await.status(), 200);
    let plain = format!("earshot_session={value}");
    assert_eq!(
        server.get("/inbox", Some(&plain)).await.status(),
        303,
        "the unprefixed name is not read"
    );

    // Without the setting, a trusted proxy that says https makes cookies Secure.
    let proxied = server_with(|s| s.http.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    let form = proxied
        .http
        .get(format!("{}/login", proxied.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&form)[0].contains("; Secure"));
}

#[tokio::test]
async fn a_fresh_install_says_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    s.brand.handles.clear();
    let (base, desk) = common::start(s).await;
    let page = reqwest::get(format!("{base}/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nobody can sign in yet"), "{page}");
    assert!(page.contains("earshot admin create-user NAME --role admin"));
    common::add_person(&desk, "anna", "", Role::Admin).await;
    let page = reqwest::get(format!("{base}/login"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Nobody can sign in yet"));
}

#[tokio::test]
async fn unknown_pages_answer_in_html_and_unknown_api_paths_in_json() {
    let server = server().await;
    let page = server.get("/nowhere", None).await;
    common::assert_answers(&page, 404, "text/html");
    let api = server.get("/api/v1/nowhere", None).await;
    common::assert_answers(&api, 404, "application/json");
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

// ---------------------------------------------------------------------------------------
// The loop's pages: requests, promises, releases, spikes.

use earshot_core::feedback::{PromiseKind, PromiseState, RequestId, RequestStatus};
use earshot_store::feedback::NewPromise;

mod common;
use common::field;
use common::site::{Server, Signed};

const HOSTILE: &str = "<script>alert(1)</script> seat";

impl Server {
    /// Customers' asks, `(network, handle, text)`, put in a new request titled `title` by hand.
    /// Returns the request and the asks' conversations.
    async fn request(
        &self,
        title: &str,
        asks: &[(Network, &str, &str)],
    ) -> (RequestId, Vec<ConversationId>) {
        let posts: Vec<NewPost> = asks
            .iter()
            .map(|(network, handle, text)| NewPost {
                from_brand: Some(false),
                ..NewPost::new(
                    *network,
                    format!("{handle}-{}", text.len()),
                    Author {
                        followers: Some(300),
                        ..Author::new(format!("id-{handle}"), *handle)
                    },
                    *text,
                    Utc::now() - chrono::Duration::hours(2),
                )
            })
            .collect();
        let report = self.desk.pipeline().ingest(posts).await.unwrap();
        let store = self.desk.store();
        let id = store.create_request(title, Utc::now()).await.unwrap();
        for p in &report.posts {
            store
                .add_to_request(p.post_id, id, 1.0, "maria", Utc::now())
                .await
                .unwrap();
        }
        let conversations = report
            .posts
            .iter()
            .map(|p| p.conversation_id.unwrap())
            .collect();
        (id, conversations)
    }

    async fn promise(
        &self,
        request: RequestId,
        conversation: ConversationId,
        evidence: &str,
        due_days_ago: Option<i64>,
    ) -> earshot_core::feedback::Promise {
        let store = self.desk.store();
        let mut p = store
            .propose_promise(NewPromise {
                request_id: Some(request),
                conversation_id: conversation,
                reply_id: None,
                evidence: evidence.into(),
                kind: PromiseKind::Feature,
                made_at: Utc::now() - chrono::Duration::days(20),
                due_on: None,
                target_release: None,
            })
            .await
            .unwrap();
        if let Some(days) = due_days_ago {
            let due = (Utc::now() - chrono::Duration::days(days)).date_naive();
            p.confirm("anna", Some(due), None, Utc::now()).unwrap();
            store.save_promise(&p, "anna").await.unwrap();
        }
        p
    }

    async fn page(&self, path: &str, s: &Signed) -> String {
        let r = self.get(path, Some(&s.cookie)).await;
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }
}

const SEAT_ASK: &str = "@voltra Can you program the car, once in park, to move the seat back?";
const SEAT_ASK_DA: &str = "@voltra Kan I ikke få sædet til at køre tilbage når bilen er parkeret?";

#[tokio::test]
async fn loop_pages_show_ranked_requests_the_ledger_and_escape_hostile_titles() {
    let server = server().await;
    let (seat, convs) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (Network::Mastodon, "mette", SEAT_ASK_DA),
            ],
        )
        .await;
    let (odd, _) = server
        .request(
            HOSTILE,
            &[(Network::X, "mallory", "@voltra please add a karaoke mode")],
        )
        .await;
    let overdue = server
        .promise(
            seat,
            convs[0],
            "we will add that in an upcoming release",
            Some(3),
        )
        .await;
    server
        .promise(seat, convs[1], "vi kigger på det", None)
        .await;

    let v = server.sign_in("vic").await;
    let list = server.page("/requests", &v).await;
    let seat_at = list.find("Move the seat back when parked").unwrap();
    let odd_at = list
        .find("&lt;script&gt;alert(1)&lt;/script&gt; seat")
        .unwrap();
    assert!(seat_at < odd_at, "two askers rank above one");
    assert!(!list.contains("<script>alert(1)"), "titles are escaped");
    assert!(list.contains("1 confirmed") && list.contains("1 proposed"));
    assert!(!list.contains("/act\""), "viewers see no action forms");
    // Where the asks came from: the seat request was asked for on X and on Mastodon.
    let seat_row = &list[seat_at..odd_at];
    assert!(
        seat_row.contains("mastodon 1") && seat_row.contains("x 1"),
        "{seat_row}"
    );
    let api = server.get("/api/v1/requests", Some(&v.cookie)).await;
    assert_eq!(api.status(), 200);
    let api: serde_json::Value = api.json().await.unwrap();
    let seat_json = api
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == seat.0)
        .unwrap();
    assert_eq!(
        seat_json["networks"],
        serde_json::json!({"mastodon": 1, "x": 1})
    );

    let filtered = server.page("/requests?q=karaoke", &v).await;
    assert!(!filtered.contains("Move the seat back"));
    let danish = server.page("/requests?language=da", &v).await;
    assert!(danish.contains("Move the seat back") && !danish.contains("&lt;script&gt;"));
    let bogus = server.page("/requests?status=bogus", &v).await;
    assert!(bogus.contains("Ignored status"));

    let page = server.page(&format!("/requests/{}", seat.0), &v).await;
    assert!(page.contains("@paulfranks") && page.contains("@mette"));
    assert!(
        page.contains(&format!("/c/{}", convs[0].0)),
        "asks link to their conversation"
    );
    assert!(page.contains("we will add that in an upcoming release"));
    assert!(page.contains("First asked"), "a timeline");
    assert!(!page.contains("name=\"action\""), "no forms for viewers");
    let odd_page = server.page(&format!("/requests/{}", odd.0), &v).await;
    assert!(!odd_page.contains("<script>alert(1)"));
    assert_eq!(
        server.get("/requests/R999", Some(&v.cookie)).await.status(),
        404
    );

    let ledger = server.page("/promises", &v).await;
    assert!(ledger.contains(&format!("id=\"promise-{}\"", overdue.id.0)));
    assert!(
        ledger.contains("class=\"overdue\""),
        "overdue promises stand out"
    );
    assert!(
        ledger.contains("@paulfranks"),
        "the customer it was made to"
    );
    assert!(!ledger.contains("name=\"action\""));
    let only = server.page("/promises?state=overdue", &v).await;
    assert!(only.contains("upcoming release") && !only.contains("vi kigger"));
    let m = server.sign_in("maria").await;
    let ledger = server.page("/promises", &m).await;
    assert!(ledger.contains("value=\"confirm\"") && ledger.contains("value=\"dismiss\""));
    for path in ["/releases", "/spikes"] {
        server.page(path, &v).await;
    }
}

#[tokio::test]
async fn request_actions_need_the_token_and_an_agent_and_merging_moves_the_asks() {
    let server = server().await;
    let (seat, _) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (
                    Network::X,
                    "jonas",
                    "@voltra easy entry seat setting please",
                ),
            ],
        )
        .await;
    let (dup, _) = server
        .request(
            "Seat slides back in park",
            &[(Network::Mastodon, "mette", SEAT_ASK_DA)],
        )
        .await;
    let act = format!("/requests/{}/act", dup.0);
    let into = seat.0.to_string();
    let merge = |csrf: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("action".to_string(), "merge".to_string()),
            ("into".to_string(), into.clone()),
        ]
    };
    let store = server.desk.store();

    let v = server.sign_in("vic").await;
    let r = server
        .http
        .post(format!("{}{act}", server.base))
        .header(COOKIE, &v.cookie)
        .form(&merge(&v.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "viewers cannot merge");
    let m = server.sign_in("maria").await;
    let r = server
        .http
        .post(format!("{}{act}", server.base))
        .header(COOKIE, &m.cookie)
        .form(&merge("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a wrong token is refused");
    let r = server
        .post_form(&act, &m, &[("action", "merge"), ("into", &into)])
        .await;
    assert_eq!(r.status(), 403, "the token is required");
    let still = store.request(dup, Utc::now(), 5).await.unwrap().unwrap();
    assert_eq!(still.request.status, RequestStatus::Open, "nothing changed");

    let page = server.page(&format!("/requests/{}", dup.0), &m).await;
    assert!(
        page.contains(&format!("<option value=\"{}\">", seat.0)),
        "the merge form offers the other request"
    );
    let r = server
        .post_form(
            &act,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "merge"),
                ("into", &dup.0.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "not into itself");
    let r = server
        .http
        .post(format!("{}{act}", server.base))
        .header(COOKIE, &m.cookie)
        .form(&merge(&m.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        format!("/requests/{}?done=merged", seat.0)
    );
    let merged = store.request(dup, Utc::now(), 5).await.unwrap().unwrap();
    assert_eq!(merged.request.status, RequestStatus::Merged);
    assert_eq!(merged.request.merged_into, Some(seat));
    let target = store.request(seat, Utc::now(), 5).await.unwrap().unwrap();
    assert_eq!(target.request.askers, 3, "the Danish ask joined");
    let page = server
        .page(&format!("/requests/{}?done=merged", seat.0), &m)
        .await;
    assert!(page.contains("@mette") && page.contains("Merged:"));

    // Rename (escaped on the way out), status, tracker link; bad values are refused.
    let seat_act = format!("/requests/{}/act", seat.0);
    let r = server
        .post_form(
            &seat_act,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "rename"),
                ("title", "<img src=x onerror=alert(1)> seat"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = server.page(&format!("/requests/{}", seat.0), &m).await;
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt; seat") && !page.contains("<img src=x")
    );
    let r = server
        .post_form(
            &seat_act,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "status"),
                ("status", "planned"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    for bad in [
        vec![("action", "status"), ("status", "merged")],
        vec![("action", "rename"), ("title", "  ")],
        vec![("action", "tracker"), ("url", "javascript:alert(1)")],
        vec![("action", "explode")],
    ] {
        let mut form = vec![("csrf", m.csrf.as_str())];
        form.extend(bad.iter().copied());
        let r = server.post_form(&seat_act, &m, &form).await;
        assert_eq!(r.status(), 400, "{bad:?}");
    }
    let r = server
        .post_form(
            &seat_act,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "tracker"),
                ("url", "https://github.com/voltra/car/issues/7"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let after = store
        .request(seat, Utc::now(), 5)
        .await
        .unwrap()
        .unwrap()
        .request;
    assert_eq!(after.status, RequestStatus::Planned);
    assert_eq!(
        after.tracker_url.as_deref(),
        Some("https://github.com/voltra/car/issues/7")
    );
    let list = server.page("/requests", &m).await;
    assert!(list.contains("https://github.com/voltra/car/issues/7"));
}

#[tokio::test]
async fn promises_are_confirmed_with_a_deadline_or_dismissed_by_agents_only() {
    let server = server().await;
    let (seat, convs) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (
                    Network::X,
                    "jonas",
                    "@voltra easy entry seat setting please",
                ),
            ],
        )
        .await;
    let a = server
        .promise(seat, convs[0], "we will add that", None)
        .await;
    let b = server
        .promise(seat, convs[1], "we will look at it", None)
        .await;
    let store = server.desk.store();
    let v = server.sign_in("vic").await;
    let r = server
        .post_form(
            &format!("/promises/{}/act", a.id.0),
            &v,
            &[("csrf", &v.csrf), ("action", "dismiss")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let m = server.sign_in("maria").await;
    let path = format!("/promises/{}/act", a.id.0);
    let r = server
        .post_form(
            &path,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "confirm"),
                ("due_on", ""),
                ("target_release", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "a promise needs a due date or a release");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("needs a due date or a target release"));
    let r = server
        .post_form(
            &path,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "confirm"),
                ("due_on", "next week"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = server
        .post_form(
            &path,
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "confirm"),
                ("due_on", "2099-01-31"),
                ("target_release", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let confirmed = store.promise(a.id).await.unwrap().unwrap();
    assert_eq!(confirmed.state, PromiseState::Confirmed);
    assert_eq!(confirmed.confirmed_by.as_deref(), Some("maria"));
    assert_eq!(confirmed.due_on.unwrap().to_string(), "2099-01-31");
    let r = server
        .post_form(
            &format!("/promises/{}/act", b.id.0),
            &m,
            &[("csrf", &m.csrf), ("action", "dismiss")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        store.promise(b.id).await.unwrap().unwrap().state,
        PromiseState::Dismissed
    );
    let r = server
        .post_form(
            &format!("/promises/{}/act", b.id.0),
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "confirm"),
                ("target_release", "9.0"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "a dismissed promise stays dismissed");
    let ledger = server.page("/promises?done=confirmed", &m).await;
    assert!(ledger.contains("Promise confirmed") && ledger.contains("2099-01-31"));
}

#[tokio::test]
async fn a_release_is_previewed_then_recorded_and_the_askers_listed_with_their_notifications() {
    let (server, posted) = server_answering().await;
    let (seat, convs) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (Network::Mastodon, "mette", SEAT_ASK_DA),
            ],
        )
        .await;
    let promise = server
        .promise(seat, convs[0], "we will add that", Some(1))
        .await;
    let store = server.desk.store();
    let seat_id = seat.0.to_string();
    let form = |csrf: &str, mode: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("version", "2024.36".to_string()),
            ("notes", "Easy entry".to_string()),
            ("url", "".to_string()),
            ("requests", seat_id.clone()),
            ("mode", mode.to_string()),
        ]
    };
    let post = |s: &Signed, f: Vec<(&'static str, String)>| {
        server
            .http
            .post(format!("{}/releases", server.base))
            .header(COOKIE, s.cookie.clone())
            .form(&f)
            .send()
    };
    let v = server.sign_in("vic").await;
    assert_eq!(
        post(&v, form(&v.csrf, "record")).await.unwrap().status(),
        403
    );
    let m = server.sign_in("maria").await;
    assert_eq!(
        post(&m, form("guess", "record")).await.unwrap().status(),
        403
    );
    let page = server.page("/releases", &m).await;
    assert!(page.contains(&format!("name=\"requests\" value=\"{}\"", seat.0)));

    let preview = post(&m, form(&m.csrf, "preview")).await.unwrap();
    assert_eq!(preview.status(), 200);
    let html = preview.text().await.unwrap();
    assert!(
        html.contains("Dry run: 2 customers would be told"),
        "{html}"
    );
    assert!(
        html.contains("@paulfranks") && html.contains("Godt nyt"),
        "each in their language"
    );
    assert!(
        store.releases().await.unwrap().is_empty(),
        "a dry run records nothing"
    );

    let mut missing = form(&m.csrf, "record");
    missing.retain(|(k, _)| *k != "requests");
    let r = post(&m, missing).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("tick at least one request"));

    let r = post(&m, form(&m.csrf, "record")).await.unwrap();
    assert_eq!(r.status(), 303);
    let release = store.releases().await.unwrap().remove(0);
    assert_eq!(
        r.headers()[LOCATION],
        format!("/releases/{}?done=recorded", release.id.0)
    );
    assert_eq!(
        store.promise(promise.id).await.unwrap().unwrap().state,
        PromiseState::Kept
    );
    // The notifications go out in the background; the page lists each as it is stored.
    let path = format!("/releases/{}", release.id.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let detail = loop {
        let html = server.page(&path, &v).await;
        if (html.contains("@paulfranks") && html.contains("@mette"))
            || std::time::Instant::now() > deadline
        {
            break html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        detail.contains("@paulfranks") && detail.contains("@mette"),
        "{detail}"
    );
    assert!(detail.contains("Move the seat back when parked"));
    let told = loop {
        let told: Vec<String> = posted
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.3.clone())
            .collect();
        if told.len() >= 2 || std::time::Instant::now() > deadline {
            break told;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().all(|k| k.starts_with("release:")));
    let list = server.page("/releases", &v).await;
    assert!(
        list.contains("2024.36") && !list.contains("Record a release"),
        "viewers see no form"
    );
    // Recording the same version again tells nobody twice.
    let r = post(&m, form(&m.csrf, "record")).await.unwrap();
    assert_eq!(
        r.headers()[LOCATION],
        format!("/releases/{}?done=again", release.id.0)
    );
}

#[tokio::test]
async fn askers_nobody_can_reach_are_not_counted_as_told() {
    // No connector for X or Mastodon: nobody can be told, and the release says so.
    let server = server().await;
    let (seat, _) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (Network::Mastodon, "mette", SEAT_ASK_DA),
            ],
        )
        .await;
    let m = server.sign_in("maria").await;
    let r = server
        .http
        .post(format!("{}/releases", server.base))
        .header(COOKIE, &m.cookie)
        .form(&[
            ("csrf", m.csrf.as_str()),
            ("version", "2024.36"),
            ("notes", ""),
            ("url", ""),
            ("requests", &seat.0.to_string()),
            ("mode", "record"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let store = server.desk.store();
    let release = store.releases().await.unwrap().remove(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let notes = loop {
        let n = store.notifications(release.id).await.unwrap();
        if n.len() == 2 || std::time::Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(notes.len(), 2);
    assert!(
        notes
            .iter()
            .all(|n| n.state == earshot_core::feedback::NotificationState::Skipped),
        "{notes:?}"
    );
    let page = server
        .page(&format!("/releases/{}", release.id.0), &m)
        .await;
    assert!(
        page.contains("no reply channel")
            && page.contains(">0</span><span class=\"kpi-label\">customers told"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_spike_shows_with_its_chart_and_as_a_banner_above_the_inbox() {
    use earshot_server::feedback::FeedbackLoop;
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings_in(dir.path());
    let store = earshot_store::open(&settings.db_url()).await.unwrap();
    let spikes = earshot_analyze::spikes::SpikeConfig {
        warmup_posts: 100,
        ..Default::default()
    };
    let pipeline = common::pipeline(&settings, store.clone());
    let desk = Arc::new(
        Desk::build(
            pipeline,
            earshot_server::responder::Responders::default(),
            "voltra",
        )
        .feedback(FeedbackLoop::new(store).with_spike_config(spikes))
        .finish(),
    );
    let base = common::serve(settings.clone(), desk.clone()).await;
    common::add_people(&desk, &[("maria", Role::Agent)]).await;
    let server = Server::over(base, desk, settings, dir);
    let post = |id: String, handle: String, text: String, at: chrono::DateTime<Utc>| NewPost {
        from_brand: Some(false),
        ..NewPost::new(
            Network::X,
            id,
            Author {
                followers: Some(200),
                ..Author::new(format!("id-{handle}"), handle)
            },
            text,
            at,
        )
    };
    let m = server.sign_in("maria").await;
    let quiet = server.page("/inbox", &m).await;
    assert!(!quiet.contains("spike-banner"), "no spike, no banner");

    // An ordinary few hours, then everyone at once asks for flights to the festival.
    let now = Utc::now();
    // Five of the ordinary day's topics (the thanks left out).
    let day = common::ORDINARY_DAY;
    let topics = [day[0], day[1], day[2], day[3], day[5]];
    let background: Vec<NewPost> = (0..150i64)
        .map(|i| {
            post(
                format!("bg-{i}"),
                format!("traveller{}", i % 60),
                format!("@voltra {} ({i})", topics[(i as usize) % topics.len()]),
                now - chrono::Duration::hours(4) + chrono::Duration::seconds(i * 90),
            )
        })
        .collect();
    server.desk.pipeline().ingest(background).await.unwrap();
    let onset = now - chrono::Duration::seconds(90);
    let surge: Vec<NewPost> = (0..60i64)
        .map(|i| {
            post(
                format!("fest-{i}"),
                format!("fan{i}"),
                format!("@voltra Why are there no flights to Roskilde Festival? Add flights please ({i})"),
                onset + chrono::Duration::seconds(i),
            )
        })
        .collect();
    for chunk in surge.chunks(10) {
        server.desk.pipeline().ingest(chunk.to_vec()).await.unwrap();
    }

    let page = server.page("/spikes", &m).await;
    assert!(page.contains("b-spike-active"), "{page}");
    assert!(page.to_lowercase().contains("roskild"), "what it is about");
    assert!(page.contains("class=\"c-spike\""), "its chart is drawn");
    assert!(page.contains("Suggested reply"));
    let inbox = server.page("/inbox", &m).await;
    assert!(inbox.contains("spike-banner") && inbox.contains("href=\"/spikes\""));
}

#[tokio::test]
async fn the_dashboard_ranks_the_busiest_requests_and_exports_them_safely() {
    let server = server().await;
    let (seat, _) = server
        .request(
            "Move the seat back when parked",
            &[
                (Network::X, "paulfranks", SEAT_ASK),
                (Network::Mastodon, "mette", SEAT_ASK_DA),
            ],
        )
        .await;
    let (formula, _) = server
        .request(
            "=HYPERLINK(\"http://evil\") karaoke",
            &[(Network::X, "mallory", "@voltra please add a karaoke mode")],
        )
        .await;
    let (tabbed, _) = server
        .request(
            "\t=1+2 roof box",
            &[(Network::X, "trudy", "@voltra please add a roof box option")],
        )
        .await;
    let v = server.sign_in("vic").await;
    let page = server.page("/dashboard", &v).await;
    let seat_at = page
        .find(&format!("href=\"/requests/{}\"", seat.0))
        .expect("the seat request links from the dashboard");
    let formula_at = page
        .find(&format!("href=\"/requests/{}\"", formula.0))
        .expect("every asked request is listed");
    assert!(seat_at < formula_at, "two customers rank above one");
    assert!(page.contains("Busiest requests") && page.contains("id=\"spikes-title\""));

    let csv = server
        .get("/dashboard/busiest-requests.csv?days=30", Some(&v.cookie))
        .await;
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("request_id,title,customers"));
    assert!(
        lines[1].starts_with(&format!("{},\"Move the seat back when parked\",2,", seat.0)),
        "{csv}"
    );
    assert!(
        lines[2].contains("\"'=HYPERLINK(\"\"http://evil\"\") karaoke\""),
        "a title that looks like a formula is quoted and neutralised: {csv}"
    );
    assert!(
        csv.contains(&format!("{},\"'\t=1+2 roof box\"", tabbed.0)),
        "a leading tab is defused too: {csv}"
    );
}

#[tokio::test]
async fn a_request_whose_asks_all_moved_away_is_not_ranked() {
    let server = server().await;
    let (seat, _) = server
        .request(
            "Move the seat back when parked",
            &[(Network::X, "paulfranks", SEAT_ASK)],
        )
        .await;
    let (stray, _) = server
        .request(
            "Seat moves back on park",
            &[(Network::Mastodon, "mette", SEAT_ASK_DA)],
        )
        .await;
    let store = server.desk.store();
    let ask = store
        .request(stray, Utc::now(), 5)
        .await
        .unwrap()
        .unwrap()
        .posts[0]
        .id;
    server
        .desk
        .feedback()
        .move_post(ask, seat, "maria")
        .await
        .unwrap();
    let v = server.sign_in("vic").await;
    let list = server.page("/requests", &v).await;
    assert!(list.contains(&format!("href=\"/requests/{}\"", seat.0)));
    assert!(
        !list.contains(&format!("href=\"/requests/{}\"", stray.0)),
        "the emptied request is not ranked"
    );
    let head = &list[list.find("class=\"count\"").unwrap()..];
    let head = &head[..head.find("</span>").unwrap()];
    assert!(head.contains(" left without asks"), "accounted for: {head}");
    let dashboard = server.page("/dashboard", &v).await;
    assert!(!dashboard.contains(&format!("href=\"/requests/{}\"", stray.0)));
}

/// A right-to-left override in a customer's name, handle or post must not reverse the rest of
/// the line it is shown on: pages isolate people's words in `<bdi>` and drop the override
/// that is never closed.
#[tokio::test]
async fn a_right_to_left_override_in_a_handle_stays_inside_it() {
    let server = server().await;
    let rlo = '\u{202E}';
    let post = NewPost {
        from_brand: Some(false),
        ..NewPost::new(
            Network::X,
            "bidi-1",
            Author {
                display_name: Some(format!("Mal{rlo}lory")),
                followers: Some(10),
                ..Author::new("u-bidi", format!("mallory{rlo}gnp.exe"))
            },
            format!("@voltra {rlo}my charger is broken"),
            Utc::now(),
        )
    };
    let report = server.desk.pipeline().ingest(vec![post]).await.unwrap();
    let id = report.posts[0].conversation_id.unwrap();
    let maria = server.sign_in("maria").await;
    for path in [
        "/inbox".to_string(),
        format!("/c/{}", id.0),
        "/search?q=charger".to_string(),
    ] {
        let html = server
            .get(&path, Some(&maria.cookie))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains(rlo),
            "{path}: the unpaired override is dropped: {:?}",
            html.lines().filter(|l| l.contains(rlo)).collect::<Vec<_>>()
        );
        assert!(
            html.contains("<bdi>@mallorygnp.exe</bdi>"),
            "{path}: the handle is isolated:\n{html}"
        );
        assert!(
            html.contains("<bdi>Mallory</bdi>"),
            "{path}: the name is isolated"
        );
        assert!(
            html.contains("<bdi>@voltra my charger is broken</bdi>"),
            "{path}: the post is isolated"
        );
    }
}

// Suggested grouping corrections.

impl Server {
    /// Stores customer posts as they are (analysed, threaded) without grouping them, and puts
    /// them in a request made by hand: what the grouper reads back after a restart.
    async fn stored_request(&self, title: &str, asks: &[(&str, &str)]) -> (RequestId, Vec<i64>) {
        let analyzer = earshot_analyze::Analyzer::default();
        let batch = asks
            .iter()
            .map(|(handle, text)| {
                let post = NewPost {
                    from_brand: Some(false),
                    ..NewPost::new(
                        Network::X,
                        format!("{handle}-{}", text.len()),
                        Author {
                            followers: Some(100),
                            ..Author::new(format!("id-{handle}"), *handle)
                        },
                        *text,
                        Utc::now() - chrono::Duration::hours(3),
                    )
                };
                earshot_core::threading::Incoming {
                    analysis: analyzer.analyze(&post),
                    post,
                    from_brand: false,
                }
            })
            .collect();
        let store = self.desk.store();
        let report = store
            .ingest(batch, &Default::default(), Utc::now())
            .await
            .unwrap();
        let id = store.create_request(title, Utc::now()).await.unwrap();
        let posts: Vec<i64> = report.posts.iter().map(|p| p.post_id).collect();
        for &p in &posts {
            store
                .add_to_request(p, id, 1.0, "maria", Utc::now())
                .await
                .unwrap();
        }
        (id, posts)
    }
}

const DARK_MODE: &[(&str, &str)] = &[
    (
        "anna",
        "@voltra please add a dark mode to the app, the white screen is blinding at night",
    ),
    (
        "ben",
        "@voltra the app really needs a dark mode for driving at night",
    ),
];
const DARK_MODE_AGAIN: &[(&str, &str)] = &[(
    "finn",
    "@voltra dark mode in the app please, it is far too bright at night",
)];
const SEAT_BACK: &[(&str, &str)] = &[
    (
        "carl",
        "@voltra can the seat move back automatically when the car is parked?",
    ),
    (
        "dora",
        "@voltra please make the driver seat slide back when I park the car",
    ),
    (
        "emil",
        "@voltra easy exit: move the seat back once the car is in park",
    ),
    (
        "gio",
        "@voltra a dark mode for the app at night would be lovely",
    ),
];

#[tokio::test]
async fn suggested_corrections_are_ranked_and_made_in_one_click() {
    let server = server_with(|s| s.api.token = Secret::new("config-token-long-enough-00")).await;
    let (dark, _) = server.stored_request("Dark mode", DARK_MODE).await;
    let (again, _) = server.stored_request("Night theme", DARK_MODE_AGAIN).await;
    let (seat, seat_posts) = server
        .stored_request("Seat back when parked", SEAT_BACK)
        .await;
    let stray = seat_posts[3];
    let store = server.desk.store();

    // Viewers see no corrections; agents see both kinds, each with its one-click form.
    let v = server.sign_in("vic").await;
    assert!(!server
        .page("/requests", &v)
        .await
        .contains("Suggested corrections"));
    let m = server.sign_in("maria").await;
    let list = server.page("/requests", &m).await;
    assert!(list.contains("These requests look like one"), "{list}");
    let merge_button = format!("Merge {again} into {dark}");
    assert!(
        list.contains(&merge_button),
        "the smaller request goes into the larger"
    );
    assert!(list.contains("These asks may not belong"));
    assert!(list.contains("a dark mode for the app at night would be lovely"));
    let move_button = format!("Move to {dark}");
    assert!(
        list.contains(&move_button),
        "the stray ask has a better home"
    );
    // The same over the API, for tools.
    let s: serde_json::Value = server
        .http
        .get(format!(
            "{}/api/v1/requests/suggestions?limit=10",
            server.base
        ))
        .bearer_auth("config-token-long-enough-00")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["merge"][0]["from"], json!(again.0), "{s}");
    assert_eq!(s["merge"][0]["into"], json!(dark.0));
    let mv = s["move"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["post_id"] == json!(stray))
        .unwrap();
    assert_eq!((&mv["from"], &mv["to"]), (&json!(seat.0), &json!(dark.0)));
    assert!(mv["fit"].as_f64() < mv["fit_there"].as_f64());
    // The seat request's own page offers its stray ask too.
    let page = server.page(&format!("/requests/{}", seat.0), &m).await;
    assert!(page.contains(&move_button));

    // One click each: the forms post the request actions agents use anyway.
    let r = server
        .post_form(
            &format!("/requests/{}/act", again.0),
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "merge"),
                ("into", &dark.0.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = server
        .post_form(
            &format!("/requests/{}/act", dark.0),
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "move"),
                ("post", &stray.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        format!("/requests/{}?done=moved", dark.0)
    );
    let d = store.request(dark, Utc::now(), 10).await.unwrap().unwrap();
    assert_eq!(
        d.request.posts, 4,
        "two asks, the merged one and the moved one"
    );
    assert_eq!(store.request_of_post(stray).await.unwrap(), Some(dark));
    let list = server.page("/requests", &m).await;
    assert!(
        !list.contains(&merge_button) && !list.contains(&move_button),
        "done, not offered again"
    );

    // An ask with no better home moves into a request of its own; it must be in the request.
    let lone = seat_posts[0];
    let r = server
        .post_form(
            &format!("/requests/{}/act", dark.0),
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "move_out"),
                ("post", &lone.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 400, "that ask is in the seat request");
    let r = server
        .post_form(
            &format!("/requests/{}/act", seat.0),
            &m,
            &[
                ("csrf", &m.csrf),
                ("action", "move_out"),
                ("post", &lone.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let own = store.request_of_post(lone).await.unwrap().unwrap();
    assert_ne!(own, seat);
    let d = store.request(own, Utc::now(), 5).await.unwrap().unwrap();
    assert_eq!(
        d.request.title,
        "can the seat move back automatically when the car is parked?"
    );
}
