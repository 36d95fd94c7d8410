//! Satisfaction surveys end to end: a resolved conversation gets one survey reply in the
//! customer's thread (never two), the link opens a page in the customer's language, the
//! answer is recorded once, and the metrics API shows CSAT and the would-buy-again share.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use earshot_core::{Author, ConversationEvent, ConversationId, Network, NewPost};
use earshot_server::desk::{Desk, DeskError};
use earshot_server::survey::{Outcome, Skip, SurveySettings, Surveys};
use earshot_store::StoreError;
use serde_json::Value;
use std::sync::Arc;

mod common;

/// The surveys sent: (conversation, text).
fn surveys_sent(thread: &common::Threads) -> Vec<(ConversationId, String)> {
    thread
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.3.starts_with("survey:"))
        .map(|s| (s.0, s.2.clone()))
        .collect()
}

struct World {
    base: String,
    desk: Arc<Desk>,
    thread: Arc<common::Threads>,
    /// A customer: no credentials (the survey page needs none).
    client: reqwest::Client,
    /// The team's API client.
    api: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn world(survey: SurveySettings) -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = common::settings_in(dir.path());
    settings.survey = survey;
    common::with_api_token(&mut settings);
    let store = earshot_store::open(&settings.db_url()).await.unwrap();
    let pipeline = common::pipeline(&settings, store);
    let (responders, thread) = common::threads();
    let surveys = Surveys::new(&settings.survey).unwrap();
    let desk = Arc::new(
        Desk::build(pipeline, responders, "voltra")
            .surveys(surveys)
            .finish(),
    );
    let base = common::serve(settings, desk.clone()).await;
    World {
        base,
        desk,
        thread,
        client: reqwest::Client::new(),
        api: common::api_client(),
        _dir: dir,
    }
}

fn enabled() -> SurveySettings {
    SurveySettings {
        enabled: true,
        public_url: "https://care.example.com".into(),
        ..SurveySettings::default()
    }
}

fn post(network: Network, id: &str, handle: &str, lang: &str, text: &str) -> NewPost {
    NewPost {
        lang: Some(lang.into()),
        from_brand: Some(false),
        ..NewPost::new(
            network,
            id,
            Author {
                followers: Some(250),
                ..Author::new(format!("id-{handle}"), handle)
            },
            text,
            Utc::now() - Duration::minutes(30),
        )
    }
}

impl World {
    async fn hear(&self, p: NewPost) -> ConversationId {
        let report = self.desk.pipeline().ingest(vec![p]).await.unwrap();
        report.posts[0].conversation_id.unwrap()
    }

    /// A conversation the brand answered, ready to resolve.
    async fn answered(&self, p: NewPost) -> ConversationId {
        let c = self.hear(p).await;
        self.desk
            .reply(
                c,
                "Thanks, we are on it!",
                "maria",
                Some(format!("answer:{c}")),
            )
            .await
            .unwrap();
        c
    }

    /// Maria acts on the conversation.
    async fn act(&self, c: ConversationId, event: ConversationEvent) {
        self.desk.act(c, event, "maria").await.unwrap();
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let client = if path.starts_with("/api/") {
            &self.api
        } else {
            &self.client
        };
        let r = client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn json(&self, path: &str) -> (u16, Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    async fn answer(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> (u16, String) {
        let mut r = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(o) = origin {
            r = r.header("origin", o).header("sec-fetch-site", "cross-site");
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// The page's path from the survey message's link.
fn survey_path(message: &str) -> String {
    let start = message.find("https://care.example.com/survey/").unwrap();
    let link = message[start..].split_whitespace().next().unwrap();
    link.trim_start_matches("https://care.example.com")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_danish_customer_is_asked_once_answers_once_and_the_metrics_show_it() {
    let w = world(enabled()).await;
    let karen = w
        .answered(post(
            Network::X,
            "1",
            "karen",
            "da",
            "Hej @voltra, kan I flytte sædet tilbage, når bilen er parkeret? Det ville være en stor hjælp.",
        ))
        .await;
    w.act(karen, ConversationEvent::Resolved).await;
    let sent = surveys_sent(&w.thread);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, karen);
    assert!(
        sent[0].1.contains("Hvordan klarede vi det?"),
        "{}",
        sent[0].1
    );
    let path = survey_path(&sent[0].1);

    // Resolving again is refused; reopening and resolving again asks nobody twice.
    let again = w
        .desk
        .act(karen, ConversationEvent::Resolved, "maria")
        .await;
    assert!(matches!(
        again,
        Err(DeskError::Store(StoreError::Conflict(_)))
    ));
    w.act(karen, ConversationEvent::Reopened).await;
    w.act(karen, ConversationEvent::Resolved).await;
    assert_eq!(
        surveys_sent(&w.thread).len(),
        1,
        "one survey per conversation"
    );
    // The housekeeping catch-up finds nothing to do either.
    let surveys = w.desk.surveys().unwrap();
    assert_eq!(
        surveys
            .send_due(
                w.desk.outbox(),
                w.desk.pipeline(),
                Utc::now() + Duration::minutes(5)
            )
            .await
            .unwrap(),
        0
    );
    // The survey reply is threaded like any brand answer and leaves the conversation resolved.
    let detail = w.desk.store().conversation(karen).await.unwrap().unwrap();
    assert_eq!(detail.conversation.status, earshot_core::Status::Resolved);
    let stored = w
        .desk
        .store()
        .survey_of_conversation(karen)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.agent.as_deref(), Some("maria"));
    assert_eq!(stored.language, "da");
    assert!(stored.sent_at.is_some() && stored.reply_id.is_some());

    // The page speaks Danish, with labelled choices.
    let (status, html) = w.get(&path).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"da\">"), "{html}");
    assert!(html.contains("Vil du købe hos os igen?"), "{html}");
    assert!(
        html.contains("<legend>Hvor tilfreds er du med den hjælp, du fik?</legend>"),
        "{html}"
    );
    assert!(html.contains("for=\"score-5\""), "{html}");

    // A score outside 1–5 is refused with a clear message; nothing is recorded.
    let (status, html) = w.answer(&path, &[("score", "7")], None).await;
    assert_eq!(status, 400);
    assert!(html.contains("score 7 is outside 1–5"), "{html}");
    // A post from another site is refused.
    let (status, _) = w
        .answer(&path, &[("score", "1")], Some("https://evil.example"))
        .await;
    assert_eq!(status, 403);
    assert!(w
        .desk
        .store()
        .survey_of_conversation(karen)
        .await
        .unwrap()
        .unwrap()
        .answered_at
        .is_none());

    let (status, html) = w
        .answer(
            &path,
            &[
                ("score", "5"),
                ("buy_again", "yes"),
                ("comment", "Tak for hurtig hjælp"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Tak! Dit svar hjælper os med at blive bedre."),
        "{html}"
    );
    // Twice: the first answer stands.
    let (status, html) = w.answer(&path, &[("score", "1")], None).await;
    assert_eq!(status, 409);
    assert!(html.contains("Du har allerede svaret"), "{html}");
    let (status, html) = w.get(&path).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Du har allerede svaret") && !html.contains("<form"),
        "{html}"
    );
    let stored = w
        .desk
        .store()
        .survey_of_conversation(karen)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.score.map(|s| s.get()), Some(5));
    assert_eq!(stored.comment.as_deref(), Some("Tak for hurtig hjælp"));

    // Unknown links: a friendly page, not an error dump.
    for bad in [
        "/survey/nope",
        "/survey/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, html) = w.get(bad).await;
        assert_eq!(status, 404, "{bad}");
        assert!(html.contains("This survey link is not valid."), "{html}");
        let (status, _) = w.answer(bad, &[("score", "5")], None).await;
        assert_eq!(status, 404, "{bad}");
    }

    // The metrics.
    let (status, m) = w.json("/api/v1/metrics").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["satisfaction"]["csat"], 1.0);
    assert_eq!(m["satisfaction"]["answered"], 1);
    assert_eq!(m["satisfaction"]["buy_again_share"], 1.0);
    assert!(m["overall"].is_object(), "the existing fields stay: {m}");
    let (status, s) = w.json("/api/v1/metrics/satisfaction?by=language").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["total"]["mean_score"], 5.0);
    assert_eq!(s["groups"][0]["key"], "da");
    assert_eq!(s["groups"][0]["scores"], serde_json::json!([0, 0, 0, 0, 1]));
    let (status, csv) = w
        .get("/api/v1/metrics/satisfaction?by=agent&format=csv")
        .await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("\n\"maria\",\"\",1,1,0,0,0,0,1,1.0000,5.00,1,0,1.0000,1.0000\n"),
        "{csv}"
    );
    let (status, err) = w.json("/api/v1/metrics/satisfaction?by=mood").await;
    assert_eq!(status, 400);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("agent, request, network or language"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_survey_for_opted_out_customers_unanswered_or_unreachable_conversations() {
    let w = world(enabled()).await;
    let store = w.desk.store().clone();
    let surveys = w.desk.surveys().unwrap().clone();

    let opted = w
        .answered(post(
            Network::X,
            "1",
            "quiet",
            "en",
            "@voltra my charger is broken, please help",
        ))
        .await;
    store
        .opt_out(Network::X, "id-quiet", Utc::now())
        .await
        .unwrap();
    w.act(opted, ConversationEvent::Resolved).await;

    let unanswered = w
        .hear(post(
            Network::X,
            "2",
            "spam",
            "en",
            "@voltra buy followers cheap",
        ))
        .await;
    w.act(unanswered, ConversationEvent::Resolved).await;

    let rss = w
        .hear(post(
            Network::Rss,
            "3",
            "reviewer",
            "en",
            "Voltra review: great car, awful app",
        ))
        .await;
    // The brand answered on Reddit itself (its own reply was heard), but this earshot has no
    // Reddit connector: a survey could not be delivered, so none is counted as sent.
    let reddit = w
        .hear(post(
            Network::Reddit,
            "4",
            "driver",
            "en",
            "Voltra app keeps logging me out",
        ))
        .await;
    let mut answer = post(
        Network::Reddit,
        "5",
        "voltra",
        "en",
        "Sorry about that, a fix ships this week",
    );
    answer.in_reply_to = Some("4".into());
    answer.from_brand = Some(true);
    answer.created_at = Utc::now() - Duration::minutes(20);
    assert_eq!(
        w.hear(answer).await,
        reddit,
        "the brand's answer joins the thread"
    );
    w.act(reddit, ConversationEvent::Resolved).await;

    assert!(
        surveys_sent(&w.thread).is_empty(),
        "{:?}",
        surveys_sent(&w.thread)
    );
    let skipped = [
        (reddit, Skip::CannotReply),
        (opted, Skip::OptedOut),
        (unanswered, Skip::NoBrandReply),
        (rss, Skip::NotResolved),
    ];
    for (c, why) in skipped {
        let outcome = surveys.offer(w.desk.outbox(), w.desk.pipeline(), c).await;
        assert_eq!(outcome.unwrap(), Outcome::Skipped(why), "{c:?}");
    }
    for c in [opted, unanswered, reddit] {
        assert!(store.survey_of_conversation(c).await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_survey_goes_out_from_housekeeping_in_the_customers_language() {
    let mut s = enabled();
    s.delay_minutes = 60;
    let w = world(s).await;
    let gianni = w
        .answered(post(
            Network::Mastodon,
            "1",
            "gianni",
            "it",
            "@voltra la mia auto non si carica da due giorni, potete aiutarmi?",
        ))
        .await;
    w.act(gianni, ConversationEvent::Resolved).await;
    assert!(surveys_sent(&w.thread).is_empty(), "not at resolution");
    let surveys = w.desk.surveys().unwrap();
    assert_eq!(
        surveys
            .send_due(w.desk.outbox(), w.desk.pipeline(), Utc::now())
            .await
            .unwrap(),
        0,
        "not yet due"
    );
    assert_eq!(
        surveys
            .send_due(
                w.desk.outbox(),
                w.desk.pipeline(),
                Utc::now() + Duration::minutes(62)
            )
            .await
            .unwrap(),
        1
    );
    let sent = surveys_sent(&w.thread);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.contains("Come siamo andati?"), "{}", sent[0].1);
    let (status, html) = w.get(&survey_path(&sent[0].1)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"it\">"), "{html}");
    assert!(html.contains("Acquisteresti di nuovo da noi?"), "{html}");
}
