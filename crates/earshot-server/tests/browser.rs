//! The web inbox tested as a person uses it: Debian's Chromium, driven over WebDriver
//! (chromedriver), against the real server on a random port over a temporary SQLite store.
//! Each scenario saves screenshots under `<target>/screenshots/`.
//!
//! Without `chromium` and `chromedriver` the tests are skipped with a message, except when
//! `CI=true`: then they fail (`.ci/run` installs both).
#![allow(clippy::unwrap_used)]

use chrono::{Duration as Days, Utc};
use earshot_core::{Author, ConversationId, Network, NewPost, Status};
use earshot_server::config::Secret;
use earshot_server::signature::Verifier;
use earshot_server::web::auth;
use earshot_server::Desk;
use earshot_store::people::Role;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

mod common;

const SECRET: &str = "whsec_YnJvd3Nlci10ZXN0cy1zaWduaW5nLXNlY3JldC0wMDAx";
/// How long to wait for the page to show something (a live row, a redirect).
const WAIT: Duration = Duration::from_secs(10);
/// The passwords [`common::add_person`] gives.
const AGENT_PASSWORD: &str = "maria-long-password";
const ADMIN_PASSWORD: &str = "anna-long-password";

// ---------------------------------------------------------------------------------------
// The server.

struct Server {
    base: String,
    desk: Arc<Desk>,
    verifier: Verifier,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    s.webhook.secret = Secret::new(SECRET);
    // Answers on X go out (to a stand-in that records them).
    let (responders, _) = common::threads_on(&[Network::X], false);
    let desk = earshot_server::app::desk_with(&s, responders)
        .await
        .unwrap();
    let base = common::serve(s, desk.clone()).await;
    common::add_person(&desk, "maria", "Maria Berg", Role::Agent).await;
    common::add_person(&desk, "anna", "Anna Admin", Role::Admin).await;
    Server {
        base,
        desk,
        verifier: Verifier::new(SECRET, 300).unwrap(),
        _dir: dir,
    }
}

fn customer(
    network: Network,
    id: &str,
    handle: &str,
    followers: u64,
    text: &str,
    ago_minutes: i64,
) -> NewPost {
    NewPost {
        url: Some(format!("https://example.com/{id}")),
        from_brand: Some(false),
        ..NewPost::new(
            network,
            id,
            Author {
                display_name: Some(handle.to_uppercase()),
                followers: Some(followers),
                ..Author::new(format!("u-{handle}"), handle)
            },
            text,
            Utc::now() - Days::minutes(ago_minutes),
        )
    }
}

impl Server {
    /// Posts a customer's post through the signed webhook, as a connector would; returns its conversation.
    async fn post_through_api(&self, id: &str, handle: &str, text: &str) -> ConversationId {
        let body = serde_json::to_vec(&json!({
            "network": "x", "id": id,
            "author": {"id": format!("u-{handle}"), "handle": handle, "name": "Paul Franks", "followers": 1520},
            "text": text, "created_at": Utc::now().to_rfc3339(), "in_reply_to": null, "lang": null, "url": null
        }))
        .unwrap();
        let ts = Utc::now().timestamp();
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/posts", self.base))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", self.verifier.sign(id, ts, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        ConversationId(v["stored"][0]["conversation_id"].as_i64().unwrap())
    }

    async fn seed(&self, posts: Vec<NewPost>) -> Vec<ConversationId> {
        let report = self.desk.pipeline().ingest(posts).await.unwrap();
        report
            .posts
            .iter()
            .map(|p| p.conversation_id.unwrap())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The browser.

struct Browser {
    client: Client,
    driver: Child,
    base: String,
    _profile: tempfile::TempDir,
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn skip_or_fail(why: &str) -> Option<Browser> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the browser tests need Chromium in CI: {why} (apt-get install chromium chromium-driver)");
    }
    eprintln!(
        "SKIPPED (browser test): {why}. Install Debian's chromium and chromium-driver to run it."
    );
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn start(base: &str) -> Option<Browser> {
        let Some(driver_bin) = which("chromedriver") else {
            return skip_or_fail("chromedriver is not on PATH");
        };
        let Some(chromium) = which("chromium").or_else(|| which("chromium-browser")) else {
            return skip_or_fail("chromium is not on PATH");
        };
        let port = free_port();
        let mut command = Command::new(driver_bin);
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so the browser it starts goes when the test ends.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--force-device-scale-factor=1", "--lang=en-US",
                         format!("--user-data-dir={}", profile.path().display())]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver did not start a browser: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            base: base.to_string(),
            _profile: profile,
        })
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// Waits until the page's address starts with `prefix`.
    async fn wait_path(&self, prefix: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let p = self.path().await;
            if p.starts_with(prefix) {
                return p;
            }
            assert!(started.elapsed() < WAIT, "still at {p}, expected {prefix}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Presses keys as a person would: to whatever has focus.
    async fn press(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &k in keys {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.client.perform_actions(actions).await.unwrap();
    }

    async fn chord(&self, modifier: Key, key: Key) {
        let actions = KeyActions::new("chord".into())
            .then(KeyAction::Down {
                value: modifier.into(),
            })
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() })
            .then(KeyAction::Up {
                value: modifier.into(),
            });
        self.client.perform_actions(actions).await.unwrap();
    }

    async fn type_text(&self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        self.press(&chars).await;
    }

    async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/inbox").await;
        self.wait_path("/login").await;
        self.wait_for("#username")
            .await
            .send_keys(user)
            .await
            .unwrap();
        self.client
            .find(Locator::Css("#password"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        self.client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_path("/inbox").await;
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop();
    }

    fn stop(&mut self) {
        // The driver's whole process group: it and the browser it started.
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.driver.id()))
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}

fn screenshots_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("screenshots");
    }
    // target/debug/deps/browser-… → target/screenshots
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(|t| t.join("screenshots")))
        .unwrap_or_else(|| PathBuf::from("target/screenshots"))
}

// ---------------------------------------------------------------------------------------
// Scenarios.

const SEAT: &str = "@voltra Can you program the car, once in park, to move the seat back and raise the steering wheel? Seatglide please";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_signs_in_sees_a_post_live_answers_and_resolves_it_by_keyboard() {
    let server = server().await;
    server
        .seed(vec![
            customer(
                Network::Mastodon,
                "m1",
                "ida",
                120,
                "@voltra the charger at the mall is broken again, really frustrating",
                50,
            ),
            customer(
                Network::Bluesky,
                "b1",
                "sofie",
                54_000,
                "@voltra how do I transfer my charging credits to a new car?",
                20,
            ),
        ])
        .await;
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };

    // Signing in lands on the inbox, with the posts already there.
    b.sign_in("maria", AGENT_PASSWORD).await;
    b.wait_for("li.row").await;
    assert_eq!(
        b.client
            .find_all(Locator::Css("li.row"))
            .await
            .unwrap()
            .len(),
        2
    );
    b.wait_for("#live.on").await;
    b.screenshot("01-inbox-signed-in").await;

    // A post arrives through the API while the page is open: it appears without a reload.
    let seat = server
        .post_through_api("896523232098078720", "paulfranks", SEAT)
        .await;
    let row_css = format!("li.row[data-id=\"{}\"]", seat.0);
    let row = b.wait_for(&row_css).await;
    assert!(row.text().await.unwrap().contains("move the seat back"));
    assert_eq!(
        b.client
            .find_all(Locator::Css("li.row"))
            .await
            .unwrap()
            .len(),
        3
    );
    b.screenshot("02-inbox-live-post").await;

    // j until the new conversation is selected, then enter opens it.
    let mut selected = String::new();
    for _ in 0..3 {
        b.press(&['j']).await;
        selected = b
            .js("return document.querySelector('li.row.selected').getAttribute('data-id')")
            .await
            .as_str()
            .unwrap()
            .to_string();
        if selected == seat.0.to_string() {
            break;
        }
    }
    assert_eq!(selected, seat.0.to_string(), "j reaches the new row");
    b.press(&[Key::Enter.into()]).await;
    b.wait_path(&format!("/c/{}", seat.0)).await;
    b.wait_for("#reply").await;
    b.screenshot("03-conversation").await;

    // r focuses the reply box; ctrl+enter sends.
    b.press(&['r']).await;
    assert_eq!(b.js("return document.activeElement.id").await, "reply");
    let answer = "Hi Paul, great idea! We have passed it to the team.";
    b.type_text(answer).await;
    let counter = b
        .client
        .find(Locator::Css("#reply-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        counter.starts_with(&format!("{} / 280", answer.chars().count())),
        "{counter}"
    );
    b.chord(Key::Control, Key::Enter).await;
    b.wait_path(&format!("/c/{}?done=replied", seat.0)).await;
    let thread = b
        .client
        .find(Locator::Css("ol.posts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        thread.contains(answer),
        "the answer is in the thread: {thread}"
    );
    let detail = server
        .desk
        .store()
        .conversation(seat)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.replies.len(), 1);
    assert_eq!(
        detail.replies[0].author, "maria",
        "the signed-in agent answered"
    );
    assert_eq!(
        detail.conversation.status,
        Status::Pending,
        "answered: waiting on the customer"
    );
    b.screenshot("04-replied").await;

    // e resolves.
    b.press(&['e']).await;
    b.wait_path(&format!("/c/{}?done=resolved", seat.0)).await;
    let detail = server
        .desk
        .store()
        .conversation(seat)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.conversation.status, Status::Resolved);
    assert_eq!(detail.audit[0].actor, "maria");
    assert_eq!(detail.audit[0].action, "resolved");
    b.screenshot("05-resolved").await;

    // / searches every post, resolved ones included.
    b.press(&['u']).await;
    b.wait_path("/inbox").await;
    b.press(&['/']).await;
    assert_eq!(b.js("return document.activeElement.id").await, "top-q");
    b.type_text("seatglide").await;
    b.press(&[Key::Enter.into()]).await;
    b.wait_path("/search?q=seatglide").await;
    let results = b.wait_for("ol.results").await.text().await.unwrap();
    assert!(results.contains("move the seat back"), "{results}");
    let link = b
        .client
        .find(Locator::Css("ol.results a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(link.starts_with(&format!("/c/{}#post-", seat.0)), "{link}");
    b.screenshot("06-search").await;

    // The dashboard: seven panels (intent, sentiment, first response, within target,
    // satisfaction, busiest requests, spikes), at least five of them drawn as charts even
    // without surveys or requests, numbers one click away, CSV exports.
    b.goto("/dashboard").await;
    b.wait_for("svg.chart").await;
    assert_eq!(
        b.client
            .find_all(Locator::Css("section.chart-card"))
            .await
            .unwrap()
            .len(),
        7
    );
    assert!(
        b.client
            .find_all(Locator::Css("svg.chart"))
            .await
            .unwrap()
            .len()
            >= 5
    );
    let opened = b
        .client
        .find(Locator::Css(".kpi .kpi-value"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(opened, "3", "three conversations opened in the period");
    b.client
        .find(Locator::Css("details.numbers summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let table = b
        .client
        .find(Locator::Css("details.numbers[open] table"))
        .await
        .unwrap();
    assert!(table.is_displayed().await.unwrap());
    b.screenshot("07-dashboard").await;
    let href = b
        .client
        .find(Locator::Css("a.csv"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = b
        .client
        .get_named_cookie(auth::SESSION_COOKIE)
        .await
        .unwrap();
    let csv = reqwest::Client::new()
        .get(format!("{}{href}", server.base))
        .header(
            "cookie",
            format!("{}={}", auth::SESSION_COOKIE, session.value()),
        )
        .send()
        .await
        .unwrap();
    common::assert_answers(&csv, 200, "text/csv");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("day,complaint,feature_request,question,praise,other,total\n"),
        "{csv}"
    );
    let total: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 3, "the three customer posts are counted: {csv}");
    b.close().await;
}

/// Reads `rgb(…)`/`rgba(…)` as sRGB bytes.
fn rgb(css: &str) -> Option<(f64, f64, f64, f64)> {
    let inner = css.split_once('(')?.1.trim_end_matches(')');
    let parts: Vec<f64> = inner
        .split([',', ' ', '/'])
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse().ok())
        .collect::<Option<_>>()?;
    Some((
        parts[0],
        parts[1],
        parts[2],
        parts.get(3).copied().unwrap_or(1.0),
    ))
}

/// WCAG 2 relative luminance and contrast ratio.
fn luminance((r, g, b, _): (f64, f64, f64, f64)) -> f64 {
    let lin = |c: f64| {
        let c = c / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

fn contrast(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn contrast_is_computed_as_wcag_says() {
    let black = rgb("rgb(0, 0, 0)").unwrap();
    let white = rgb("rgba(255, 255, 255, 1)").unwrap();
    assert!((contrast(black, white) - 21.0).abs() < 0.01);
    let grey = rgb("rgb(119, 119, 119)").unwrap();
    assert!((contrast(grey, white) - 4.48).abs() < 0.01);
}

/// Every form control on the page that a person fills in, and whether it has a label.
const UNLABELLED: &str = "return Array.from(document.querySelectorAll('input, select, textarea'))
    .filter(el => el.type !== 'hidden')
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map(el => el.outerHTML.slice(0, 120));";

const BADGE_COLOURS: &str = "return Array.from(document.querySelectorAll('.badge')).map(el => {
    const s = getComputedStyle(el);
    return [el.className, s.color, s.backgroundColor];
});";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_have_labels_a_sensible_focus_order_and_readable_badges() {
    let server = server().await;
    let ids = server
        .seed(vec![
            customer(
                Network::X,
                "x1",
                "paul",
                2_300_000,
                "@voltra my car has been stuck at 80% for two days, terrible and dangerous",
                600,
            ),
            customer(
                Network::Mastodon,
                "m1",
                "ida",
                40,
                "@voltra would be great if the app could precondition the battery on a schedule",
                5,
            ),
            customer(
                Network::Bluesky,
                "b1",
                "sofie",
                54_000,
                "@voltra how do I transfer my charging credits to a new car?",
                25,
            ),
            customer(
                Network::Reddit,
                "r1",
                "tom",
                900,
                "@voltra huge thanks, the new update is fantastic! Love it",
                2,
            ),
            customer(
                Network::Webhook,
                "w1",
                "lars",
                3,
                "Hentede min nye Voltra i dag, tur til Skagen i morgen",
                1,
            ),
        ])
        .await;
    server
        .desk
        .act(
            ids[1],
            earshot_core::ConversationEvent::Assigned { to: "maria".into() },
            "maria",
        )
        .await
        .unwrap();
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };

    // The sign-in page too.
    b.goto("/login").await;
    b.wait_for("#username").await;
    assert_eq!(
        b.js(UNLABELLED).await,
        json!([]),
        "sign-in inputs are labelled"
    );

    b.sign_in("anna", ADMIN_PASSWORD).await;
    b.wait_for("li.row").await;
    let mut pairs: Vec<(String, f64)> = vec![];
    for path in [
        "/inbox".to_string(),
        format!("/c/{}", ids[0].0),
        "/search?q=voltra".to_string(),
        "/dashboard".to_string(),
        "/settings".to_string(),
    ] {
        b.goto(&path).await;
        b.wait_for("main").await;
        assert_eq!(
            b.js(UNLABELLED).await,
            json!([]),
            "every input on {path} has a label"
        );
        let positive_tabindex = b
            .js("return document.querySelectorAll('[tabindex]:not([tabindex=\"-1\"]):not([tabindex=\"0\"])').length")
            .await;
        assert_eq!(positive_tabindex, 0, "no tabindex reorders {path}");
        for entry in b.js(BADGE_COLOURS).await.as_array().unwrap() {
            let class = entry[0].as_str().unwrap().to_string();
            let fg = rgb(entry[1].as_str().unwrap()).unwrap();
            let bg = rgb(entry[2].as_str().unwrap()).unwrap();
            assert!(bg.3 > 0.99, "{class} on {path} has an opaque background");
            pairs.push((format!("{class} [{path}]"), contrast(fg, bg)));
        }
        b.screenshot(&format!("a11y{}", path.replace(['/', '?', '='], "-")))
            .await;
    }
    let distinct: std::collections::BTreeSet<_> = pairs
        .iter()
        .map(|(c, _)| c.split(" [").next().unwrap().to_string())
        .collect();
    assert!(
        distinct.len() >= 15,
        "enough badge kinds were checked: {distinct:?}"
    );
    for (class, ratio) in &pairs {
        assert!(
            *ratio >= 4.5,
            "badge {class} has contrast {ratio:.2}, below 4.5:1"
        );
    }

    // Focus order follows the page: each Tab lands further down the document, starting
    // with the skip link, and the focused element shows a visible ring.
    b.goto("/inbox").await;
    b.wait_for("li.row").await;
    b.js("window.__order = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary'));").await;
    let mut last = -1i64;
    for step in 0..25 {
        b.press(&[Key::Tab.into()]).await;
        let at = b
            .js("const i = window.__order.indexOf(document.activeElement); return [i, getComputedStyle(document.activeElement).outlineStyle, document.activeElement.textContent.trim().slice(0, 30)];")
            .await;
        let index = at[0].as_i64().unwrap();
        if step == 0 {
            assert_eq!(
                at[2], "Skip to content",
                "the first stop skips to the content"
            );
        }
        assert!(
            index > last,
            "tab stop {step} ({at}) comes after the previous one"
        );
        assert_ne!(at[1], "none", "the focused element shows a ring: {at}");
        last = index;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_post_renders_as_harmless_text() {
    let server = server().await;
    let script = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"><a href=\"javascript:window.__pwned=3\">click</a>\" onmouseover=\"window.__pwned=4";
    let huge: String = "Why is the charger broken again? ".repeat(3_100);
    let mut hostile = customer(
        Network::X,
        "evil",
        "mallory",
        10,
        &format!("@voltra {script} {huge}"),
        3,
    );
    hostile.author.display_name = Some("<b onclick=\"window.__pwned=5\">Mallory</b>".into());
    hostile.url = Some("javascript:window.__pwned=6".into());
    let mut mastodon = customer(Network::Mastodon, "evil-m", "eve", 10, "<p>Hej <script>window.__pwned=7</script><a href=\"javascript:x\">@voltra</a></p><p>appen &amp; bilen</p>", 2);
    mastodon.author.display_name = None;
    let ids = server.seed(vec![hostile, mastodon]).await;
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };
    b.sign_in("maria", AGENT_PASSWORD).await;
    b.wait_for("li.row").await;
    let inbox_text = b
        .client
        .find(Locator::Css("#rows"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        inbox_text.contains("<script>window.__pwned = 1</script>"),
        "shown as text in the inbox"
    );
    b.screenshot("hostile-inbox").await;

    for id in &ids {
        b.goto(&format!("/c/{}", id.0)).await;
        b.wait_for("ol.posts").await;
        assert_eq!(
            b.js("return typeof window.__pwned").await,
            "undefined",
            "nothing ran on /c/{}",
            id.0
        );
        let injected = b
            .js("return document.querySelectorAll('main script, main img, .post-text a, [onerror], [onclick], [onmouseover], a[href^=\"javascript\" i]').length")
            .await;
        assert_eq!(injected, 0, "no element came from the post on /c/{}", id.0);
    }
    // The huge post: the page shows its start and keeps the rest one click away.
    b.goto(&format!("/c/{}", ids[0].0)).await;
    let text = b
        .wait_for("li.post.customer .post-text")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("<script>window.__pwned = 1</script>"),
        "the script tag is visible as text"
    );
    assert!(b.client.find(Locator::Css("details.more")).await.is_ok());
    let heading = b
        .client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        heading.contains("<b onclick"),
        "the display name is text: {heading}"
    );
    b.screenshot("hostile-conversation").await;
    // Mastodon's HTML became plain text: no tags, the words kept.
    b.goto(&format!("/c/{}", ids[1].0)).await;
    let text = b
        .wait_for("li.post.customer .post-text")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("appen & bilen") && !text.contains("<p>") && !text.contains("pwned"),
        "{text}"
    );
    assert_eq!(b.js("return typeof window.__pwned").await, "undefined");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_opens_the_most_wanted_request_from_the_ranked_list() {
    let server = server().await;
    let ids = server
        .seed(vec![
            customer(Network::X, "s1", "paulfranks", 1520, SEAT, 90),
            customer(
                Network::Mastodon,
                "s2",
                "mette",
                300,
                "@voltra Kan sædet ikke køre tilbage, når bilen er parkeret?",
                60,
            ),
            customer(
                Network::Bluesky,
                "k1",
                "sofie",
                54_000,
                "@voltra please add a karaoke mode",
                30,
            ),
        ])
        .await;
    let store = server.desk.store();
    let mut requests = vec![];
    for (title, conversations) in [
        ("Move the seat back when parked", &ids[..2]),
        ("<i>Karaoke</i> mode", &ids[2..]),
    ] {
        let id = store.create_request(title, Utc::now()).await.unwrap();
        for c in conversations {
            let detail = store.conversation(*c).await.unwrap().unwrap();
            store
                .add_to_request(detail.posts[0].id, id, 1.0, "maria", Utc::now())
                .await
                .unwrap();
        }
        requests.push(id);
    }
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };
    b.sign_in("maria", AGENT_PASSWORD).await;
    b.goto("/requests").await;
    let first = b.wait_for("table.requests tbody tr a").await;
    assert_eq!(
        first.text().await.unwrap(),
        "Move the seat back when parked",
        "two askers rank first"
    );
    let body = b
        .js("return document.querySelector('main').innerText")
        .await;
    assert!(
        body.as_str().unwrap().contains("<i>Karaoke</i> mode"),
        "a title is text"
    );
    b.screenshot("requests").await;
    first.click().await.unwrap();
    b.wait_path(&format!("/requests/{}", requests[0].0)).await;
    let title = b.wait_for("#request-title").await.text().await.unwrap();
    assert_eq!(title, "Move the seat back when parked");
    // The summary on top: how many asked, since when, the central ask as written, promises.
    let summary = b.wait_for("#request-summary").await.text().await.unwrap();
    assert!(
        summary.starts_with("Asked by 2 customers in 2 posts since")
            && (summary.contains("move the seat back") || summary.contains("Kan sædet")),
        "{summary}"
    );
    assert!(summary.contains("Nothing promised yet."), "{summary}");
    let askers = b
        .js("return document.querySelector('#askers-title').closest('section').innerText")
        .await;
    let askers = askers.as_str().unwrap();
    assert!(
        askers.contains("@paulfranks") && askers.contains("@mette"),
        "{askers}"
    );
    assert!(
        b.client.find(Locator::Css("#r-into")).await.is_ok(),
        "an agent can merge"
    );
    b.screenshot("request").await;

    // The promise made in a reply waits in the ledger; the release form offers the request.
    let mut promise = store
        .propose_promise(earshot_store::feedback::NewPromise {
            request_id: Some(requests[0]),
            conversation_id: ids[0],
            reply_id: None,
            evidence: "We will add that in an upcoming release".into(),
            kind: earshot_core::feedback::PromiseKind::Feature,
            made_at: Utc::now() - Days::days(10),
            due_on: None,
            target_release: None,
        })
        .await
        .unwrap();
    promise
        .confirm(
            "anna",
            Some((Utc::now() - Days::days(2)).date_naive()),
            None,
            Utc::now(),
        )
        .unwrap();
    store.save_promise(&promise, "anna").await.unwrap();
    b.goto("/promises").await;
    b.wait_for("tr.overdue").await;
    b.screenshot("promises").await;
    b.goto("/releases").await;
    b.wait_for("details.release-form summary")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for(&format!("#rel-req-{}", requests[0].0)).await;
    b.screenshot("releases").await;
    b.close().await;
}

/// Corrections on the conversation page, by keyboard: `j` picks the customer's post, `i` opens
/// its intent chooser, a digit picks; the post is drawn again in place (no page load) with
/// the agent's label marked as theirs; `esc` closes a chooser without leaving the page; and
/// the chooser works by click too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_corrects_a_post_by_keyboard_and_sees_it_at_once() {
    let server = server().await;
    let ids = server
        .seed(vec![customer(
            Network::X,
            "x-iced",
            "ida",
            120,
            "@voltra got iced at the mall charger again, third time this week",
            30,
        )])
        .await;
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };
    b.sign_in("maria", AGENT_PASSWORD).await;
    b.goto(&format!("/c/{}", ids[0].0)).await;
    b.wait_for("li.post[data-post] details.correct").await;
    // Marks this page: a page load would forget it.
    b.js("window.notReloaded = true;").await;
    let model_intent = b
        .js("return document.querySelector('form.chooser[data-field=intent] button[aria-pressed=true]').value")
        .await;
    // Intent labels are numbered complaint 1, feature request 2, question 3, praise 4, other 5.
    let (digit, chosen) = if model_intent == "complaint" {
        ('3', "question")
    } else {
        ('1', "complaint")
    };

    let rank_before = b
        .js("return document.getElementById('rank').textContent")
        .await;
    b.press(&['j']).await;
    b.wait_for("li.post.selected").await;
    b.press(&['i']).await;
    b.wait_for("form.chooser.active[data-field=intent]").await;
    b.screenshot("correct-chooser").await;
    b.press(&[digit]).await;
    let mark = b
        .wait_for(".labels .corrected[data-field=intent]")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        mark.contains(&chosen.replace('_', " ")) && mark.contains("maria"),
        "{mark}"
    );
    assert_eq!(
        b.js("return window.notReloaded === true").await,
        json!(true)
    );
    // The conversation was re-ranked on the agent's word, and the page says so.
    let rank_after = b
        .js("return document.getElementById('rank').textContent")
        .await;
    assert_ne!(rank_before, rank_after);
    assert!(b.path().await.starts_with("/c/"), "still on the page");
    b.screenshot("correct-done").await;

    // esc closes a chooser and stays on the page; the post stays picked for the next key.
    b.press(&['s']).await;
    b.wait_for("form.chooser.active[data-field=sentiment]")
        .await;
    b.press(&['\u{e00c}']).await;
    let open = b
        .js("return document.querySelectorAll('form.chooser.active').length")
        .await;
    assert_eq!(open, json!(0));
    assert!(
        b.path().await.starts_with("/c/"),
        "esc closed the chooser only"
    );

    // By click: open the chooser, pick a language.
    b.client
        .find(Locator::Css("li.post[data-post] details.correct summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .find(Locator::Css(
            "form.chooser[data-field=language] button[value=da]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_for(".labels .corrected[data-field=language]").await;

    // Stored under Maria's name, and shown the same after a reload.
    let stored = server.desk.store().corrections(None, 10).await.unwrap();
    let said: Vec<(&str, &str, &str)> = stored
        .iter()
        .map(|c| {
            (
                c.correction.field.as_str(),
                c.correction.to.as_str(),
                c.correction.by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        said,
        vec![("language", "da", "maria"), ("intent", chosen, "maria")]
    );
    b.goto(&format!("/c/{}", ids[0].0)).await;
    let after = b
        .wait_for(".labels .corrected[data-field=intent]")
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("maria"), "{after}");
    b.close().await;
}

#[tokio::test]
async fn an_agent_drafts_a_reply_from_past_answers_with_d_and_nothing_is_sent() {
    let server = server().await;
    let brand = |id: &str, to: &str, text: &str, ago: i64| NewPost {
        author: Author {
            display_name: Some("Voltra".into()),
            followers: Some(50_000),
            verified: true,
            ..Author::new("u-voltra", "voltra")
        },
        in_reply_to: Some(to.into()),
        from_brand: Some(true),
        ..customer(Network::X, id, "voltra", 50_000, text, ago)
    };
    server
        .seed(vec![
            customer(Network::X, "x-d1", "ana", 10, "@voltra my charging cable sparks when I plug it in", 90),
            brand("x-d2", "x-d1", "@ana Hi ANA, sorry about that! Please stop using the cable and DM us your VIN. ^JK", 80),
            customer(Network::X, "x-d3", "bob", 10, "@voltra how do I update the app on my phone", 70),
            brand("x-d4", "x-d3", "@bob Open Settings > Software on your phone. -Lee", 60),
        ])
        .await;
    let ids = server
        .seed(vec![customer(
            Network::X,
            "x-d5",
            "cy",
            10,
            "@voltra the charging cable sparks every time I plug in!",
            5,
        )])
        .await;
    let Some(b) = Browser::start(&server.base).await else {
        return;
    };
    b.sign_in("maria", AGENT_PASSWORD).await;
    b.goto(&format!("/c/{}", ids[0].0)).await;
    b.wait_for("#reply").await;
    b.press(&['d']).await;
    b.wait_for("#draft-from li").await;
    // The customer's display name is "CY" (see `customer`): the greeting carries it.
    assert_eq!(
        b.js("return document.getElementById('reply').value").await,
        json!("Hi CY, sorry about that! Please stop using the cable and DM us your VIN.")
    );
    let from = b
        .js("return document.getElementById('draft-from').textContent")
        .await;
    let from = from.as_str().unwrap();
    assert!(
        from.contains("used") && from.contains("charging cable sparks"),
        "{from}"
    );
    b.screenshot("draft-filled").await;
    // Filling the box sends nothing.
    let detail = server
        .desk
        .store()
        .conversation(ids[0])
        .await
        .unwrap()
        .unwrap();
    assert!(detail.replies.is_empty());
    assert_eq!(detail.conversation.status, Status::Open);

    // A long thread gets a summary on top: the central ask as the customer wrote it.
    let follow_ups = [
        "I bought the cable in March.",
        "It smells burnt after charging.",
        "The cable sparks at the plug, can you replace the charging cable?",
        "Still waiting, the car is not charging now.",
        "Any update on replacing the cable?",
    ];
    let posts: Vec<NewPost> = follow_ups
        .iter()
        .enumerate()
        .map(|(i, text)| NewPost {
            in_reply_to: Some("x-d5".into()),
            ..customer(
                Network::X,
                &format!("x-d5-{i}"),
                "cy",
                10,
                &format!("@voltra {text}"),
                4 - i as i64,
            )
        })
        .collect();
    server.seed(posts).await;
    b.goto(&format!("/c/{}", ids[0].0)).await;
    let summary = b.wait_for("#thread-summary").await.text().await.unwrap();
    assert!(summary.contains("6 customer posts of 6"), "{summary}");
    assert!(
        summary.contains("Asked:") && summary.contains("cable"),
        "{summary}"
    );
    assert!(summary.contains("waiting for an answer"), "{summary}");
    assert!(
        summary.contains("Nothing promised in this thread."),
        "{summary}"
    );
    b.screenshot("thread-summary").await;
    b.close().await;
}
