//! Agents' corrections through the API, black-box: the real server on a random port over a
//! temporary SQLite store. `POST /api/v1/posts/{id}/corrections` needs a caller who may act
//! (a token with the act scope, or a signed-in agent's session with its CSRF token), checks
//! the field and value against the label sets, is audited under the caller's name, and shows
//! at once in the conversation; `GET /api/v1/corrections` exports them.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use earshot_core::{Author, Network, NewPost};
use earshot_server::Desk;
use earshot_store::people::Role;
use reqwest::header::COOKIE;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static NEXT: AtomicUsize = AtomicUsize::new(1);

mod common;
use common::{authorised, field, API_TOKEN};

struct Server {
    base: String,
    desk: Arc<Desk>,
    dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::settings_in(dir.path());
    common::with_api_token(&mut s);
    let (base, desk) = common::start(s).await;
    common::add_people(&desk, &[("maria", Role::Agent), ("vic", Role::Viewer)]).await;
    Server { base, desk, dir }
}

impl Server {
    /// A customer's post; its id and its conversation's.
    async fn customer_post(&self, text: &str) -> (i64, i64) {
        let post = NewPost {
            from_brand: Some(false),
            ..NewPost::new(
                Network::X,
                format!("p-{}", NEXT.fetch_add(1, Ordering::Relaxed)),
                Author {
                    display_name: Some("Paul Franks".into()),
                    followers: Some(1520),
                    ..Author::new("u1", "paulfranks")
                },
                text,
                Utc::now(),
            )
        };
        let report = self.desk.pipeline().ingest(vec![post]).await.unwrap();
        (
            report.posts[0].post_id,
            report.posts[0].conversation_id.unwrap().0,
        )
    }

    async fn token_for(&self, user: &str, scopes: &[&str]) -> String {
        common::token_for(&self.desk, user, scopes).await
    }

    async fn correct(&self, client: &reqwest::Client, post: i64, body: &Value) -> (u16, Value) {
        let r = client
            .post(format!("{}/api/v1/posts/{post}/corrections", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> Value {
        let r = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }
}

#[tokio::test]
async fn a_correction_needs_a_caller_who_may_act_and_names_them() {
    let server = server().await;
    let (post, conv) = server
        .customer_post("@voltra got iced at the mall charger again")
        .await;
    let body = json!({"field": "intent", "value": "complaint"});

    let (status, _) = server.correct(&reqwest::Client::new(), post, &body).await;
    assert_eq!(status, 401, "no credentials");
    let reader = authorised(&server.token_for("maria", &["read"]).await);
    assert_eq!(server.correct(&reader, post, &body).await.0, 403);
    let viewer = authorised(&server.token_for("vic", &["read"]).await);
    assert_eq!(server.correct(&viewer, post, &body).await.0, 403);

    // Maria's own token acts as Maria, whatever a header claims.
    let maria = {
        let mut headers = reqwest::header::HeaderMap::new();
        let token = server.token_for("maria", &["read", "act"]).await;
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers.insert("x-actor", "olaf".parse().unwrap());
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let (status, out) = server.correct(&maria, post, &body).await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["correction"]["by"], "maria");
    assert_eq!(out["correction"]["to"], "complaint");
    assert_eq!(out["post"]["analysis"]["intent"]["label"], "complaint");

    // Shown at once where the post's analysis is shown, and audited under Maria's name.
    let api = authorised(API_TOKEN);
    let detail = server
        .get(&api, &format!("/api/v1/conversations/{conv}"))
        .await;
    let analysis = &detail["posts"][0]["analysis"];
    assert_eq!(analysis["intent"]["label"], "complaint");
    assert_eq!(analysis["corrections"][0]["field"], "intent");
    assert_eq!(analysis["corrections"][0]["by"], "maria");
    assert_eq!(detail["conversation"]["intent"], "complaint");
    let audit = server
        .get(&api, &format!("/api/v1/audit?conversation={conv}"))
        .await;
    assert_eq!(audit[0]["action"], "post_corrected");
    assert_eq!(audit[0]["actor"], "maria");
    assert_eq!(audit[0]["detail"]["to"], "complaint");
    let inbox = server.get(&api, "/api/v1/inbox?intent=complaint").await;
    assert_eq!(inbox["items"][0]["conversation"]["id"], conv);

    // The same value again stores nothing.
    let (status, out) = server.correct(&maria, post, &body).await;
    assert_eq!(status, 200);
    assert!(out["correction"].is_null());

    // The service token acts as `api`.
    let (status, out) = server
        .correct(&api, post, &json!({"field": "language", "value": "no"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(out["correction"]["by"], "api");
}

#[tokio::test]
async fn fields_values_and_posts_are_checked() {
    let server = server().await;
    let (post, _) = server
        .customer_post("@voltra how do I charge at home?")
        .await;
    let api = authorised(API_TOKEN);
    for (body, code) in [
        (json!({"field": "urgency", "value": "high"}), 422),
        (json!({"field": "intent", "value": "rant"}), 422),
        (json!({"field": "sentiment", "value": "angry"}), 422),
        (json!({"field": "language", "value": "klingon"}), 422),
        (json!({"field": "intent"}), 400),
        (
            json!({"field": "intent", "value": "question", "by": "olaf"}),
            400,
        ),
    ] {
        let (status, out) = server.correct(&api, post, &body).await;
        assert_eq!(status, code, "{body} → {out}");
        if code == 422 {
            assert_eq!(out["error"], "unknown_label", "{out}");
            assert!(
                out["message"].as_str().unwrap().contains("use one of")
                    || out["message"]
                        .as_str()
                        .unwrap()
                        .contains("correct intent, sentiment or language"),
                "{out}"
            );
        }
    }
    let body = json!({"field": "intent", "value": "complaint"});
    assert_eq!(server.correct(&api, 987_654, &body).await.0, 404);
    let r = api
        .post(format!("{}/api/v1/posts/abc/corrections", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing was stored by any of those.
    let listed = server.get(&api, "/api/v1/corrections").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn corrections_are_exported_newest_first_page_by_page() {
    let server = server().await;
    let api = authorised(API_TOKEN);
    let mut posts = vec![];
    for text in [
        "@voltra got iced at the charger",
        "@voltra the app logs me out",
        "@voltra where is the nearest charger?",
    ] {
        posts.push(server.customer_post(text).await.0);
    }
    // Written in English, said to be Danish, Swedish, Norwegian: each is a change.
    for (post, value) in posts.iter().zip(["da", "sv", "no"]) {
        let (status, out) = server
            .correct(&api, *post, &json!({"field": "language", "value": value}))
            .await;
        assert_eq!(status, 201, "{out}");
    }
    let first = server.get(&api, "/api/v1/corrections?limit=2").await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["text"], "@voltra where is the nearest charger?");
    assert_eq!(items[0]["current"], true);
    let next = first["next_before"].as_i64().unwrap();
    let rest = server
        .get(&api, &format!("/api/v1/corrections?limit=2&before={next}"))
        .await;
    let items = rest["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["post_id"], posts[0]);
    assert!(rest.get("next_before").is_none());
}

// ---------------------------------------------------------------------------------------
// A signed-in agent's session: writes need the page's CSRF token, from this site.

#[tokio::test]
async fn a_session_corrects_with_its_csrf_token_only() {
    let server = server().await;
    let (post, _) = server.customer_post("@voltra thanks, it works").await;
    let http = common::browser();
    let session = common::session(&server.base, "maria").await;
    let inbox = http
        .get(format!("{}/inbox", server.base))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    let csrf = field(&inbox.text().await.unwrap(), "csrf");
    let url = format!("{}/api/v1/posts/{post}/corrections", server.base);
    let body = json!({"field": "sentiment", "value": "positive"});

    let forged = http
        .post(&url)
        .header(COOKIE, &session)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token");
    let foreign = http
        .post(&url)
        .header(COOKIE, &session)
        .header("x-csrf-token", &csrf)
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "another site");
    let ok = http
        .post(&url)
        .header(COOKIE, &session)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = ok.status();
    let out: Value = ok.json().await.unwrap();
    assert!(status == 201 || status == 200, "{status} {out}");
    assert_eq!(out["post"]["analysis"]["sentiment"]["label"], "positive");
}

/// `serve`'s scheduled retrain: when agents corrected something since the last one, their
/// corrections are folded in, saved as the team's model, and new posts are read with it at
/// once; with nothing new, nothing is trained.
#[tokio::test]
async fn the_schedule_folds_new_corrections_in_and_new_posts_use_them() {
    use earshot_server::retrain::{scheduled_once, CORRECTIONS_MODEL};
    let server = server().await;
    let api = authorised(API_TOKEN);
    let (iced, _) = server
        .customer_post("@voltra ICEd at the Drammen hub again tonight")
        .await;
    let (slaps, _) = server.customer_post("@voltra the new firmware slaps").await;
    let mut learned = None;
    // No corrections yet: nothing is trained.
    scheduled_once(&server.desk, server.dir.path(), &mut learned).await;
    assert!(!server.dir.path().join("model.bin").exists());

    // Two different labels (a head learns from both sides): the first of each pair the model
    // did not already give.
    for (post, intents) in [
        (iced, ["complaint", "question"]),
        (slaps, ["praise", "feature_request"]),
    ] {
        let mut stored = false;
        for intent in intents {
            let (status, out) = server
                .correct(&api, post, &json!({"field": "intent", "value": intent}))
                .await;
            assert!(status == 201 || status == 200, "{out}");
            if status == 201 {
                stored = true;
                break;
            }
        }
        assert!(stored);
    }
    let before = server.desk.pipeline().analyzer().model().map(|m| m.id());
    scheduled_once(&server.desk, server.dir.path(), &mut learned).await;
    assert!(server.dir.path().join("model.bin").exists());
    let now = server.desk.pipeline().analyzer().model().map(|m| m.id());
    assert_ne!(before, now);
    assert!(
        now.as_deref().unwrap().starts_with(CORRECTIONS_MODEL),
        "{now:?}"
    );
    // New posts are understood by it: their analysis names it.
    let (later, conv) = server
        .customer_post("@voltra ICEd at the mall this morning")
        .await;
    let detail = server
        .get(&api, &format!("/api/v1/conversations/{conv}"))
        .await;
    let post = detail["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == later)
        .unwrap();
    assert!(post["analysis"]["model"]
        .as_str()
        .unwrap()
        .starts_with(CORRECTIONS_MODEL));

    // Nothing corrected since: the next run trains nothing.
    let stamp = std::fs::metadata(server.dir.path().join("model.bin"))
        .unwrap()
        .modified()
        .unwrap();
    scheduled_once(&server.desk, server.dir.path(), &mut learned).await;
    let again = std::fs::metadata(server.dir.path().join("model.bin"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(stamp, again);
}
