//! Admins edit the brand terms and the response targets on the web Settings page: the change
//! is checked, stored, used for the very next post without a restart, refused to agents, and
//! still in force (over earshot.toml) when a new App starts on the same store. The real
//! server on a random port over a temporary SQLite store.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use earshot_core::{Author, Network, NewPost, Post};
use earshot_server::config::Settings;
use earshot_server::{overrides, App, Desk};
use earshot_store::people::Role;

mod common;
use common::site::Server;

/// The file's settings: one handle, one keyword, a calendar clock.
fn file_settings(dir: &tempfile::TempDir) -> Settings {
    let mut s = common::settings_in(dir.path());
    s.brand.keywords = vec!["charger".into()];
    s
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(file_settings(&dir), dir).await;
    let team = [("maria", Role::Agent), ("anna", Role::Admin)];
    common::add_people(&server.desk, &team).await;
    server
}

fn post(id: &str, handle: &str, text: &str) -> NewPost {
    NewPost {
        network: Network::X,
        external_id: id.into(),
        author: Author {
            followers: Some(10),
            ..Author::new(format!("id-{handle}"), handle)
        },
        text: text.into(),
        created_at: Utc::now(),
        in_reply_to: None,
        lang: None,
        url: None,
        // Left to the brand's handles to decide.
        from_brand: None,
        raw: None,
    }
}

/// Ingests one post through the desk's pipeline and reads it back as stored.
async fn ingest(desk: &Desk, p: NewPost) -> Post {
    let id = p.external_id.clone();
    let report = desk.pipeline().ingest(vec![p]).await.unwrap();
    let c = report.posts[0].conversation_id.unwrap();
    let detail = desk.store().conversation(c).await.unwrap().unwrap();
    detail
        .posts
        .into_iter()
        .find(|p| p.external_id == id)
        .unwrap()
}

/// The brand's answer to post `to` (it threads into the customer's conversation).
fn answer(id: &str, handle: &str, to: &str) -> NewPost {
    NewPost {
        in_reply_to: Some(to.into()),
        ..post(id, handle, "We are on it, Paul")
    }
}

fn keywords(p: &Post) -> Vec<String> {
    p.analysis
        .matches
        .iter()
        .filter(|m| m.kind == "keyword")
        .map(|m| m.term.to_lowercase())
        .collect()
}

const NEW_BRAND: &[(&str, &str)] = &[
    ("handles", "voltra\n@voltra_care\n"),
    ("names", "Voltra"),
    ("keywords", "charger\nvoltra-x9"),
    ("action", "save"),
];

/// Every band the same target, so the new conversation's due time says which targets ran.
fn targets(minutes: &'static str, timezone: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("urgent", minutes),
        ("high", minutes),
        ("normal", minutes),
        ("low", minutes),
        ("clock", "calendar"),
        ("timezone", timezone),
        ("hours", ""),
        ("holidays", ""),
        ("action", "save"),
    ]
}

#[tokio::test]
async fn an_admins_new_keyword_and_handle_apply_to_the_next_post_without_a_restart() {
    let server = server().await;
    let anna = server.sign_in("anna").await;
    let before = ingest(
        &server.desk,
        post("1", "paul", "my voltra-x9 will not charge"),
    )
    .await;
    assert!(!keywords(&before).contains(&"voltra-x9".to_string()));

    let page = server.get("/settings", Some(&anna.cookie)).await;
    let html = page.text().await.unwrap();
    assert!(
        html.contains("action=\"/settings/brand\""),
        "admins get a form"
    );
    assert!(html.contains("From <code>[brand]</code> in earshot.toml"));

    let r = server.submit("/settings/brand", &anna, NEW_BRAND).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Brand saved"), "{html}");
    assert!(html.contains("voltra-x9"));
    assert!(html.contains("Changed here by anna"));

    // The next post is matched against the new keyword, and the new handle is the brand's.
    let after = ingest(
        &server.desk,
        post("2", "paul", "my voltra-x9 will not charge"),
    )
    .await;
    assert!(
        keywords(&after).contains(&"voltra-x9".to_string()),
        "{:?}",
        after.analysis.matches
    );
    let answer = ingest(&server.desk, answer("3", "voltra_care", "2")).await;
    assert!(
        answer.from_brand,
        "a post from the new handle is the brand's"
    );

    let stored = server
        .desk
        .store()
        .setting(overrides::BRAND)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.updated_by, "anna");
    assert_eq!(
        stored.value["handles"],
        serde_json::json!(["voltra", "voltra_care"])
    );
    let audit = server.desk.store().audit(None, 5).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "setting_changed" && a.actor == "anna"));
}

#[tokio::test]
async fn bad_brand_terms_are_refused_with_the_reason_and_change_nothing() {
    let server = server().await;
    let anna = server.sign_in("anna").await;
    let long = "k".repeat(overrides::TERM_MAX_CHARS + 1);
    for (form, reason) in [
        (
            vec![("handles", "voltra\n@"), ("keywords", "x")],
            "is empty",
        ),
        (
            vec![("handles", "voltra"), ("keywords", long.as_str())],
            "longer than 100 characters",
        ),
    ] {
        let r = server.submit("/settings/brand", &anna, &form).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(reason), "{reason}: {html}");
    }
    let many: String = (0..=overrides::TERMS_MAX)
        .map(|i| format!("kw{i}\n"))
        .collect();
    let r = server
        .submit(
            "/settings/brand",
            &anna,
            &[("handles", "voltra"), ("keywords", &many)],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("at most 1000 keywords"));
    // What was typed is shown again to correct.
    assert!(html.contains("kw1000"));
    assert!(server.desk.store().settings().await.unwrap().is_empty());
    assert!(server.desk.pipeline().in_force().is_none());
}

#[tokio::test]
async fn agents_cannot_change_settings() {
    let server = server().await;
    let maria = server.sign_in("maria").await;
    let r = server.submit("/settings/brand", &maria, NEW_BRAND).await;
    assert_eq!(r.status(), 403);
    let r = server
        .submit("/settings/response", &maria, &targets("5", "UTC"))
        .await;
    assert_eq!(r.status(), 403);
    assert!(server.desk.store().settings().await.unwrap().is_empty());
    let p = ingest(&server.desk, post("1", "voltra_care", "hello")).await;
    assert!(!p.from_brand);
}

#[tokio::test]
async fn response_targets_are_checked_then_time_the_next_conversation() {
    let server = server().await;
    let anna = server.sign_in("anna").await;

    let r = server
        .submit("/settings/response", &anna, &targets("7", "Mars/Olympus"))
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("unknown time zone &quot;Mars/Olympus&quot;")
            || html.contains("unknown time zone \"Mars/Olympus\""),
        "{html}"
    );
    assert!(
        html.contains("value=\"Mars/Olympus\""),
        "the typed zone is kept"
    );
    for (form, reason) in [
        (targets("0", "UTC"), "response.targets.urgent_minutes"),
        (targets("10081", "UTC"), "1 to 10080 minutes"),
        (targets("soon", "UTC"), "write whole minutes"),
    ] {
        let r = server.submit("/settings/response", &anna, &form).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(reason), "{reason}: {html}");
    }
    let mut bad_hours = targets("7", "Europe/Copenhagen");
    bad_hours[4] = ("clock", "business");
    bad_hours[6] = ("hours", "mon-fri = nine to five");
    let r = server.submit("/settings/response", &anna, &bad_hours).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("response.hours"));
    assert!(server.desk.store().settings().await.unwrap().is_empty());

    let r = server
        .submit(
            "/settings/response",
            &anna,
            &targets("7", "Europe/Copenhagen"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Targets and hours saved"), "{html}");
    assert!(html.contains("value=\"Europe/Copenhagen\""));

    let p = ingest(
        &server.desk,
        post("1", "paul", "@voltra my car will not unlock"),
    )
    .await;
    let c = server
        .desk
        .store()
        .conversation(p.conversation_id.unwrap())
        .await
        .unwrap()
        .unwrap()
        .conversation;
    let target = c.first_response_due - p.created_at;
    assert!(
        (target - Duration::minutes(7)).num_seconds().abs() <= 1,
        "due {target:?} after the post"
    );
}

#[tokio::test]
async fn stored_settings_win_over_the_file_after_a_restart_until_cleared() {
    let server = server().await;
    let anna = server.sign_in("anna").await;
    assert_eq!(
        server
            .submit("/settings/brand", &anna, NEW_BRAND)
            .await
            .status(),
        200
    );
    assert_eq!(
        server
            .submit("/settings/response", &anna, &targets("9", "Europe/Rome"))
            .await
            .status(),
        200
    );

    // A new App over the same store, from the same (unchanged) file.
    let restarted = App::build(server.settings.clone()).await.unwrap();
    let desk = restarted.desk().clone();
    let in_force = desk.pipeline().in_force().unwrap();
    assert_eq!(in_force.brand.keywords, vec!["charger", "voltra-x9"]);
    assert_eq!(in_force.response.timezone, "Europe/Rome");
    assert_eq!(desk.pipeline().policy().targets.normal_minutes, 9);
    let p = ingest(&desk, post("10", "paul", "is the voltra-x9 out yet?")).await;
    assert!(keywords(&p).contains(&"voltra-x9".to_string()));
    assert!(
        ingest(&desk, answer("11", "voltra_care", "10"))
            .await
            .from_brand
    );

    // `earshot config check` says the file is overridden.
    let lines = overrides::describe_stored(&server.settings).await.unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("[brand]") && lines[0].contains("anna"),
        "{lines:?}"
    );
    assert!(lines[1].contains("[response]"), "{lines:?}");

    // Back to the file's values: at once, and stored settings are gone.
    let r = server
        .submit("/settings/brand", &anna, &[("action", "reset")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("earshot.toml's again"));
    let p = ingest(&server.desk, post("12", "paul", "voltra-x9 again")).await;
    assert!(!keywords(&p).contains(&"voltra-x9".to_string()));
    assert_eq!(
        server.desk.pipeline().policy().targets.normal_minutes,
        9,
        "resetting the brand leaves the targets"
    );
    assert!(server
        .desk
        .store()
        .setting(overrides::BRAND)
        .await
        .unwrap()
        .is_none());
}
