//! A test server seen through its pages, as the web tests drive it: a browser-like client
//! that shows redirects, people signed in through the login form, and forms posted with the
//! session's CSRF token.

use super::field;
use earshot_server::config::Settings;
use earshot_server::Desk;
use reqwest::header::COOKIE;
use std::sync::Arc;

pub struct Server {
    pub base: String,
    pub desk: Arc<Desk>,
    /// What the server was started with (a restart on the same store reuses it).
    pub settings: Settings,
    pub http: reqwest::Client,
    pub _dir: tempfile::TempDir,
}

/// A signed-in person: the session cookie (`name=value`) and the CSRF token of their pages.
pub struct Signed {
    pub cookie: String,
    pub csrf: String,
}

impl Server {
    /// The real app over `settings` (whose data lives in `dir`).
    pub async fn start(settings: Settings, dir: tempfile::TempDir) -> Server {
        let (base, desk) = super::start(settings.clone()).await;
        Server::over(base, desk, settings, dir)
    }

    /// The server already serving `desk` at `base`.
    pub fn over(
        base: String,
        desk: Arc<Desk>,
        settings: Settings,
        dir: tempfile::TempDir,
    ) -> Server {
        Server {
            base,
            desk,
            settings,
            http: super::browser(),
            _dir: dir,
        }
    }

    /// Signs `user` (added by [`super::add_people`]) in and reads the CSRF token off the inbox.
    pub async fn sign_in(&self, user: &str) -> Signed {
        let cookie = super::session(&self.base, user).await;
        let inbox = self.get("/inbox", Some(&cookie)).await;
        assert_eq!(inbox.status(), 200);
        let csrf = field(&inbox.text().await.unwrap(), "csrf");
        Signed { cookie, csrf }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            r = r.header(COOKIE, c);
        }
        r.send().await.unwrap()
    }

    /// Posts `form` as it is (the test decides what CSRF token, if any, it carries).
    pub async fn post_form(
        &self,
        path: &str,
        s: &Signed,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &s.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts `form` with the session's CSRF token, as the page's own form does.
    pub async fn submit(&self, path: &str, s: &Signed, form: &[(&str, &str)]) -> reqwest::Response {
        let mut fields = vec![("csrf", s.csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_form(path, s, &fields).await
    }
}
