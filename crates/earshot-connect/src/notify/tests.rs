//! Every target against its fake (what arrived, with which headers), and the dispatcher's
//! promises: retries without doubling, dedupe, refusals reported, a full queue that never
//! blocks, hostile text escaped for Slack.

use super::fake::{FakeSlack, FakeSmtp, FakeWebhookReceiver, HttpFailure, SmtpFailure};
use super::*;
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_czNjcjN0LWZvci10ZXN0cw==";
const WAIT: Duration = Duration::from_secs(5);

fn quick(window: Duration) -> NotifyConfig {
    NotifyConfig {
        targets: Vec::new(),
        dedupe_window: window,
        queue_capacity: 16,
        retry: RetryPolicy {
            delays: vec![Duration::from_millis(10); 3],
            max_retry_after: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(3),
        },
    }
}

fn connector_down() -> Alert {
    Alert::new(
        AlertKind::ConnectorDown,
        "Mastodon connector for acme stopped hearing",
        "No event for 12 minutes; the stream reconnects but stays silent.",
        "connector-down:mastodon:acme",
    )
    .with_link("https://earshot.acme.example/connectors/mastodon:acme")
    .with_fact("network", "mastodon")
    .with_fact("last event", "09:03 UTC")
}

fn slack(fake: &FakeSlack) -> Arc<dyn Notifier> {
    Arc::new(SlackNotifier::new("slack:ops", SlackConfig::new(fake.webhook_url())).unwrap())
}

fn webhook(receiver: &FakeWebhookReceiver, secret: &str) -> Arc<dyn Notifier> {
    let mut config = WebhookConfig::new(receiver.url(), Secret::new(secret));
    config.request_timeout = Duration::from_millis(400);
    Arc::new(WebhookNotifier::new("webhook:crm", config).unwrap())
}

fn email_config(smtp: &FakeSmtp, password: &str) -> EmailConfig {
    let mut config = EmailConfig::new(
        smtp.host(),
        "earshot <alerts@acme.example>",
        vec![
            "ops@acme.example".into(),
            "Priya Nair <priya@acme.example>".into(),
        ],
    );
    config.port = smtp.port();
    config.security = SmtpSecurity::None;
    config.username = Some("alerts".into());
    config.password = Some(Secret::new(password));
    config.timeout = Duration::from_secs(2);
    config
}

fn target(notifier: Arc<dyn Notifier>) -> dispatch::Target {
    dispatch::Target {
        notifier,
        min_severity: Severity::Info,
    }
}

// ---- Slack -------------------------------------------------------------------------------

#[tokio::test]
async fn slack_receives_block_kit_with_customer_text_escaped() {
    let fake = FakeSlack::start().await.unwrap();
    let hostile = Alert::new(
        AlertKind::Spike,
        "Spike: \"refund\" <!channel>",
        "Top post: <https://evil.example/login|reset your password> & <@U024BE7LH> pay now",
        "spike:refund",
    )
    .with_fact("top word", "<!here>")
    .with_link("https://earshot.acme.example/spikes/41?range=1h&net=x");
    slack(&fake).notify(&hostile).await.unwrap();

    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m["unfurl_links"], false);
    let text = m["text"].as_str().unwrap();
    assert!(
        text.starts_with("[warning] Spike: \"refund\" &lt;!channel&gt;"),
        "{text}"
    );
    let section = m["blocks"][0]["text"]["text"].as_str().unwrap();
    assert_eq!(m["blocks"][0]["text"]["type"], "mrkdwn");
    assert!(section.contains(
        "Top post: &lt;https://evil.example/login|reset your password&gt; &amp; &lt;@U024BE7LH&gt; pay now"
    ), "{section}");
    assert_eq!(
        m["blocks"][1]["fields"][0]["text"],
        "*top word*\n&lt;!here&gt;"
    );
    // Everything a customer wrote is inert: the only `<` left in the payload is our own link.
    let whole = m.to_string();
    assert_eq!(whole.matches('<').count(), 1, "{whole}");
    let context = m["blocks"][2]["elements"][0]["text"].as_str().unwrap();
    assert!(
        context.ends_with(
            "<https://earshot.acme.example/spikes/41?range=1h&amp;net=x|open in earshot>"
        ),
        "{context}"
    );
}

#[tokio::test]
async fn slack_429_and_5xx_are_retried_once_each_and_posted_once() {
    let fake = FakeSlack::start().await.unwrap();
    fake.script([
        HttpFailure::RateLimited {
            retry_after_secs: 1,
        },
        HttpFailure::Status(503),
    ]);
    let dispatcher = Dispatcher::with_targets(vec![target(slack(&fake))], &quick(WAIT));
    let started = Instant::now();
    assert_eq!(
        dispatcher.dispatch(connector_down()),
        Dispatched::Queued { targets: 1 }
    );
    assert!(dispatcher.idle(WAIT).await);
    // Slack asked for a second's pause: the retry policy's 10 ms must not override it.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.attempts(), 3);
    assert_eq!(fake.messages().len(), 1);
    let status = dispatcher.target_status("slack:ops").unwrap();
    assert_eq!(status.state, TargetState::Ok);
    assert_eq!((status.sent_total, status.retries_total), (1, 2));
    assert!(status.last_success_at.is_some());
    assert!(status.last_error.unwrap().contains("HTTP 503"));
}

#[tokio::test]
async fn a_revoked_slack_webhook_is_reported_and_not_retried() {
    let fake = FakeSlack::start().await.unwrap();
    let revoked = fake.revoked_url();
    let notifier: Arc<dyn Notifier> =
        Arc::new(SlackNotifier::new("slack:ops", SlackConfig::new(revoked.clone())).unwrap());
    let dispatcher = Dispatcher::with_targets(vec![target(notifier)], &quick(WAIT));
    dispatcher.dispatch(connector_down());
    assert!(dispatcher.idle(WAIT).await);
    let status = dispatcher.target_status("slack:ops").unwrap();
    assert_eq!(status.state, TargetState::Failing);
    assert_eq!((status.retries_total, status.failed_total), (0, 1));
    let error = status.last_error.unwrap();
    assert!(
        error.contains("404 no_service") && error.contains("create a new incoming webhook"),
        "{error}"
    );
    assert!(!error.contains(revoked.expose()), "{error}");
    assert!(fake.messages().is_empty());
    // The next alert is tried once too, not retried forever.
    dispatcher.dispatch(Alert::new(AlertKind::Spike, "t", "b", "spike:x"));
    assert!(dispatcher.idle(WAIT).await);
    let status = dispatcher.target_status("slack:ops").unwrap();
    assert_eq!((status.retries_total, status.failed_total), (0, 2));
}

#[tokio::test]
async fn slack_refusals_and_archived_channels_are_refused() {
    let fake = FakeSlack::start().await.unwrap();
    fake.script([
        HttpFailure::SlackError {
            status: 410,
            code: "channel_is_archived",
        },
        HttpFailure::SlackError {
            status: 400,
            code: "invalid_payload",
        },
    ]);
    let notifier = slack(&fake);
    let archived = notifier.notify(&connector_down()).await.unwrap_err();
    assert!(
        matches!(&archived, NotifyError::Refused { reason, .. } if reason.contains("archived")),
        "{archived}"
    );
    let invalid = notifier.notify(&connector_down()).await.unwrap_err();
    assert!(matches!(invalid, NotifyError::Refused { .. }), "{invalid}");
}

#[tokio::test]
async fn transport_errors_never_show_the_webhook_url() {
    // Nothing listens there: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/services/T1/B2/s3cr3tPart");
    let notifier = SlackNotifier::new("slack:ops", SlackConfig::new(Secret::new(url))).unwrap();
    let error = notifier.notify(&connector_down()).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(!error.to_string().contains("s3cr3tPart"), "{error}");
    assert!(!format!("{error:?}").contains("s3cr3tPart"), "{error:?}");
}

// ---- Generic webhook ---------------------------------------------------------------------

#[tokio::test]
async fn the_webhook_is_signed_and_the_receiver_verifies_it() {
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    let alert = connector_down();
    webhook(&receiver, SECRET).notify(&alert).await.unwrap();

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 1);
    let d = &deliveries[0];
    assert_eq!(d.verified, Ok(()));
    assert_eq!(d.status, 202);
    assert_eq!(d.webhook_id.as_deref(), Some(alert.event_id().as_str()));
    assert!(d.webhook_signature.as_deref().unwrap().starts_with("v1,"));
    let ts: i64 = d.webhook_timestamp.as_deref().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 5);
    assert!(d
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("earshot-webhooks/"));
    assert_eq!(d.content_type.as_deref(), Some("application/json"));
    let body = d.json();
    assert_eq!(body["schema"], "earshot.alert.v1");
    assert_eq!(body["id"], alert.event_id());
    assert_eq!(body["type"], "alert.connector_down");
    assert_eq!(body["alert"]["dedupe_key"], "connector-down:mastodon:acme");
    assert_eq!(body["alert"]["severity"], "critical");
    assert_eq!(body["alert"]["facts"][1]["value"], "09:03 UTC");
}

#[tokio::test]
async fn webhook_retries_carry_the_same_id_and_the_receiver_keeps_one_event() {
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    receiver.script([
        HttpFailure::Status(500),
        // The receiver processes this one, but its answer is lost.
        HttpFailure::Drop,
        HttpFailure::Hang(Duration::from_millis(800)),
        HttpFailure::RateLimited {
            retry_after_secs: 0,
        },
    ]);
    let dispatcher = Dispatcher::with_targets(
        vec![target(webhook(&receiver, SECRET))],
        &NotifyConfig {
            retry: RetryPolicy {
                delays: vec![Duration::from_millis(10); 5],
                ..quick(WAIT).retry
            },
            ..quick(WAIT)
        },
    );
    let alert = connector_down();
    dispatcher.dispatch(alert.clone());
    assert!(dispatcher.idle(WAIT).await);

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 5, "{deliveries:#?}");
    let statuses: Vec<u16> = deliveries.iter().map(|d| d.status).collect();
    // 0: the dropped connection. The hang (third) answers, if at all, after the client gave up.
    assert_eq!(
        [statuses[0], statuses[1], statuses[3], statuses[4]],
        [500, 0, 429, 202],
        "{statuses:?}"
    );
    for d in &deliveries {
        assert_eq!(d.webhook_id.as_deref(), Some(alert.event_id().as_str()));
        assert_eq!(d.verified, Ok(()), "every attempt is signed afresh");
        assert_eq!(
            d.body, deliveries[0].body,
            "every attempt sends the same bytes"
        );
    }
    assert_eq!(receiver.events().len(), 1);
    let status = dispatcher.target_status("webhook:crm").unwrap();
    assert_eq!((status.sent_total, status.retries_total), (1, 4));
}

#[tokio::test]
async fn a_wrong_secret_or_a_gone_endpoint_is_refused_once() {
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    let wrong = webhook(&receiver, "whsec_YW5vdGhlci1zZWNyZXQ=");
    let dispatcher = Dispatcher::with_targets(vec![target(wrong)], &quick(WAIT));
    dispatcher.dispatch(connector_down());
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(receiver.deliveries().len(), 1);
    assert!(receiver.deliveries()[0].verified.is_err());
    let status = dispatcher.target_status("webhook:crm").unwrap();
    assert_eq!(status.state, TargetState::Failing);
    assert!(status.last_error.unwrap().contains("same whsec_ secret"));
    assert!(receiver.events().is_empty());

    receiver.script([HttpFailure::Status(410)]);
    let gone = webhook(&receiver, SECRET)
        .notify(&connector_down())
        .await
        .unwrap_err();
    assert!(
        matches!(&gone, NotifyError::Refused { reason, .. } if reason.contains("410")),
        "{gone}"
    );
}

#[tokio::test]
async fn retries_end_after_the_policy_and_the_target_is_failing() {
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    receiver.script(vec![HttpFailure::Status(502); 10]);
    let dispatcher =
        Dispatcher::with_targets(vec![target(webhook(&receiver, SECRET))], &quick(WAIT));
    dispatcher.dispatch(connector_down());
    assert!(dispatcher.idle(WAIT).await);
    // One attempt plus one per delay in the policy (3).
    assert_eq!(receiver.deliveries().len(), 4);
    let status = dispatcher.target_status("webhook:crm").unwrap();
    assert_eq!(status.state, TargetState::Failing);
    assert_eq!(
        (status.retries_total, status.failed_total, status.sent_total),
        (3, 1, 0)
    );
    assert!(status.last_error.unwrap().contains("HTTP 502"));
}

// ---- Email -------------------------------------------------------------------------------

#[tokio::test]
async fn email_arrives_with_subject_recipients_ids_and_body() {
    let smtp = FakeSmtp::with_login("alerts", "app-password-1")
        .await
        .unwrap();
    let notifier = EmailNotifier::new("email:ops", email_config(&smtp, "app-password-1")).unwrap();
    let alert = connector_down().with_fact("note", "ünïcode ✓");
    notifier.notify(&alert).await.unwrap();

    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "alerts@acme.example");
    assert_eq!(mail.rcpt_to, ["ops@acme.example", "priya@acme.example"]);
    assert_eq!(mail.auth_user.as_deref(), Some("alerts"));
    assert_eq!(smtp.auth_attempts(), [("PLAIN".to_owned(), true)]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[critical] Mastodon connector for acme stopped hearing")
    );
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@acme.example>", alert.event_id()))
    );
    assert!(mail
        .header("References")
        .unwrap()
        .ends_with("@acme.example>"));
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    let body = mail.body_text();
    assert!(body.contains("No event for 12 minutes"), "{body}");
    assert!(body.contains("note: ünïcode ✓"), "{body}");
    assert!(body.contains("Open in earshot: https://earshot.acme.example/connectors/mastodon:acme"));
}

#[tokio::test]
async fn email_logs_in_with_auth_login_when_that_is_all_the_server_offers() {
    let smtp = FakeSmtp::with_login("alerts", "app-password-1")
        .await
        .unwrap();
    smtp.advertise_auth(&["LOGIN"]);
    let notifier = EmailNotifier::new("email:ops", email_config(&smtp, "app-password-1")).unwrap();
    notifier.notify(&connector_down()).await.unwrap();
    assert_eq!(smtp.auth_attempts(), [("LOGIN".to_owned(), true)]);
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_refused_login_says_so_and_sends_nothing() {
    let smtp = FakeSmtp::with_login("alerts", "app-password-1")
        .await
        .unwrap();
    let notifier =
        EmailNotifier::new("email:ops", email_config(&smtp, "wrong-password-9")).unwrap();
    let error = notifier.notify(&connector_down()).await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, NotifyError::Refused { .. }), "{text}");
    assert!(
        text.contains("refused the login") && text.contains("535"),
        "{text}"
    );
    assert!(!text.contains("wrong-password-9"), "{text}");
    assert!(smtp.messages().is_empty());
    assert_eq!(smtp.auth_attempts(), [("PLAIN".to_owned(), false)]);
}

#[tokio::test]
async fn email_survives_a_421_greeting_a_drop_and_a_451() {
    let smtp = FakeSmtp::with_login("alerts", "app-password-1")
        .await
        .unwrap();
    smtp.script([
        SmtpFailure::Greeting421,
        SmtpFailure::DropAfterData,
        SmtpFailure::TempFailData,
    ]);
    let notifier: Arc<dyn Notifier> =
        Arc::new(EmailNotifier::new("email:ops", email_config(&smtp, "app-password-1")).unwrap());
    let dispatcher = Dispatcher::with_targets(vec![target(notifier)], &quick(WAIT));
    dispatcher.dispatch(connector_down());
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(smtp.connections(), 4);
    assert_eq!(smtp.messages().len(), 1);
    let status = dispatcher.target_status("email:ops").unwrap();
    assert_eq!((status.state, status.retries_total), (TargetState::Ok, 3));
}

#[tokio::test]
async fn a_rejected_message_or_missing_starttls_is_refused() {
    let smtp = FakeSmtp::with_login("alerts", "app-password-1")
        .await
        .unwrap();
    smtp.script([SmtpFailure::RejectData]);
    let notifier = EmailNotifier::new("email:ops", email_config(&smtp, "app-password-1")).unwrap();
    let rejected = notifier.notify(&connector_down()).await.unwrap_err();
    assert!(
        matches!(&rejected, NotifyError::Refused { reason, .. } if reason.contains("554")),
        "{rejected}"
    );

    // STARTTLS required, and this server does not offer it: no credentials may be sent.
    let mut config = email_config(&smtp, "app-password-1");
    config.security = SmtpSecurity::StartTls;
    let notifier = EmailNotifier::new("email:ops", config).unwrap();
    let error = notifier.notify(&connector_down()).await.unwrap_err();
    assert!(
        matches!(&error, NotifyError::Refused { reason, .. } if reason.contains("STARTTLS")),
        "{error}"
    );
    assert_eq!(smtp.auth_attempts(), [("PLAIN".to_owned(), true)]);
}

// ---- The dispatcher ------------------------------------------------------------------------

#[tokio::test]
async fn a_flapping_connector_alerts_once_per_window_and_again_after_it() {
    let fake = FakeSlack::start().await.unwrap();
    let window = Duration::from_millis(300);
    let dispatcher = Dispatcher::with_targets(vec![target(slack(&fake))], &quick(window));
    let outcomes: Vec<Dispatched> = (0..100)
        .map(|_| dispatcher.dispatch(connector_down()))
        .collect();
    assert_eq!(outcomes[0], Dispatched::Queued { targets: 1 });
    assert!(outcomes[1..].iter().all(|o| *o == Dispatched::Deduplicated));
    // Another connector is another alert.
    let other = Alert::new(
        AlertKind::ConnectorDown,
        "Bluesky down",
        "",
        "connector-down:bluesky:acme",
    );
    assert_eq!(
        dispatcher.dispatch(other),
        Dispatched::Queued { targets: 1 }
    );
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(fake.messages().len(), 2);
    assert_eq!(dispatcher.status().deduplicated_total, 99);

    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assert_eq!(
        dispatcher.dispatch(connector_down()),
        Dispatched::Queued { targets: 1 }
    );
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(fake.messages().len(), 3);
}

/// A target that holds every delivery until released, recording what it delivered.
struct Gate {
    name: String,
    open: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    delivered: Mutex<Vec<String>>,
}

impl Gate {
    fn new(name: &str) -> Arc<Gate> {
        Arc::new(Gate {
            name: name.into(),
            open: tokio::sync::Semaphore::new(0),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            delivered: Mutex::new(Vec::new()),
        })
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries are held at the gate.
    async fn holding(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.waiting.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "nothing reached the gate");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl Notifier for Gate {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError> {
        self.waiting
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.open.acquire().await.unwrap().forget();
        self.delivered
            .lock()
            .unwrap()
            .push(alert.dedupe_key.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_full_queue_never_blocks_and_drops_the_oldest_least_severe() {
    let gate = Gate::new("pager:stuck");
    let mut config = quick(WAIT);
    config.queue_capacity = 3;
    let dispatcher = Dispatcher::with_targets(vec![target(gate.clone())], &config);
    let alert =
        |key: &str, severity| Alert::new(AlertKind::Spike, key, "", key).with_severity(severity);

    dispatcher.dispatch(alert("first", Severity::Info));
    // The worker took it and is stuck in the target; the queue itself is empty.
    gate.holding(1).await;
    let started = Instant::now();
    for (key, severity) in [
        ("w1", Severity::Warning),
        ("c1", Severity::Critical),
        ("w2", Severity::Warning),
        ("c2", Severity::Critical), // full: w1 (oldest warning) gives way
        ("i1", Severity::Info),     // less severe than all queued: dropped itself
        ("c3", Severity::Critical), // w2 gives way
    ] {
        assert_eq!(
            dispatcher.dispatch(alert(key, severity)),
            Dispatched::Queued { targets: 1 }
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "dispatch waited: {:?}",
        started.elapsed()
    );
    let status = dispatcher.status();
    assert_eq!(status.dropped_total, 3);
    assert_eq!(status.targets[0].dropped_total, 3);
    assert_eq!(status.targets[0].queued, 4); // three queued plus the one in flight

    gate.open.add_permits(10);
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(gate.delivered(), ["first", "c1", "c2", "c3"]);
}

#[tokio::test]
async fn alerts_fan_out_by_severity_and_a_stuck_target_does_not_delay_others() {
    let fake = FakeSlack::start().await.unwrap();
    let gate = Gate::new("pager:on-call");
    let dispatcher = Dispatcher::with_targets(
        vec![
            target(slack(&fake)),
            dispatch::Target {
                notifier: gate.clone(),
                min_severity: Severity::Critical,
            },
        ],
        &quick(WAIT),
    );
    let spike = Alert::new(AlertKind::Spike, "Spike", "", "spike:festival");
    assert_eq!(
        dispatcher.dispatch(spike),
        Dispatched::Queued { targets: 1 }
    );
    assert_eq!(
        dispatcher.dispatch(connector_down()),
        Dispatched::Queued { targets: 2 }
    );
    let info = Alert::new(AlertKind::Test, "t", "", "k").with_severity(Severity::Info);
    let only_critical = Dispatcher::with_targets(
        vec![dispatch::Target {
            notifier: gate.clone(),
            min_severity: Severity::Critical,
        }],
        &quick(WAIT),
    );
    assert_eq!(only_critical.dispatch(info), Dispatched::NoTarget);

    // Slack gets both while the pager is stuck.
    let deadline = Instant::now() + WAIT;
    while fake.messages().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "slack waited for the stuck pager"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gate.delivered().is_empty());
    gate.open.add_permits(1);
    assert!(dispatcher.idle(WAIT).await);
    assert_eq!(gate.delivered(), ["connector-down:mastodon:acme"]);
}

#[test]
fn an_alert_kept_as_json_reads_back_the_same() {
    let page = Alert::new(
        AlertKind::Page {
            on_call: "dana".into(),
        },
        "Conversation 7 needs dana: urgent after hours",
        "\"phantom braking\" <b>again</b>",
        "page:7:1:0:dana",
    )
    .with_link("https://earshot.acme.example/c/7")
    .with_fact("waiting", "12 min");
    let kept = serde_json::to_string(&page).unwrap();
    assert!(
        kept.contains(r#""kind":{"page":{"on_call":"dana"}}"#),
        "{kept}"
    );
    let back: Alert = serde_json::from_str(&kept).unwrap();
    assert_eq!(back, page);
    assert_eq!(back.event_id(), page.event_id(), "receivers see one event");
}

#[tokio::test]
async fn a_tracked_alert_is_settled_once_every_target_is_done_with_it() {
    // One target takes it, one refuses it (a wrong secret), one is stuck at a gate.
    let fake = FakeSlack::start().await.unwrap();
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    let gate = Gate::new("pager:on-call");
    let dispatcher = Dispatcher::with_targets(
        vec![
            target(slack(&fake)),
            target(webhook(&receiver, "whsec_YW5vdGhlci1zZWNyZXQ=")),
            target(gate.clone()),
        ],
        &quick(WAIT),
    );
    let (queued, settled) = dispatcher.dispatch_tracked(connector_down());
    assert_eq!(queued, Dispatched::Queued { targets: 3 });
    let mut settled = settled.expect("a queued alert is tracked");
    gate.holding(1).await;
    // Slack and the webhook are done; the pager is not, so it is not settled yet.
    while fake.messages().is_empty() || receiver.deliveries().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        settled.try_recv().is_err(),
        "settled before the pager was done"
    );
    gate.open.add_permits(1);
    let tally = tokio::time::timeout(WAIT, settled).await.unwrap().unwrap();
    assert_eq!(
        tally,
        Settled {
            delivered: 2,
            failed: 1,
            dropped: 0
        }
    );
    assert_eq!(tally.outcome(), Some("delivered"));
    // A tracked alert has no dedupe window (its sender's claim sends it once): sent again,
    // it goes out again.
    let (again, settled) = dispatcher.dispatch_tracked(connector_down());
    assert_eq!(again, Dispatched::Queued { targets: 3 });
    gate.open.add_permits(1);
    let tally = tokio::time::timeout(WAIT, settled.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tally.delivered, 2);

    // A dispatcher that stops before the target is done never settles it: the waiter sees
    // the sender go, and its sender (a page kept in the store) stays unsettled.
    let stuck = Gate::new("pager:stuck");
    let stopping = Dispatcher::with_targets(vec![target(stuck.clone())], &quick(WAIT));
    let (_, settled) = stopping.dispatch_tracked(connector_down());
    stuck.holding(1).await;
    drop(stopping);
    assert!(tokio::time::timeout(WAIT, settled.unwrap())
        .await
        .unwrap()
        .is_err());
}

#[tokio::test]
async fn a_tracked_alert_a_full_queue_drops_is_still_owed() {
    let gate = Gate::new("pager:stuck");
    let mut config = quick(WAIT);
    config.queue_capacity = 1;
    let dispatcher = Dispatcher::with_targets(vec![target(gate.clone())], &config);
    let alert =
        |key: &str, severity| Alert::new(AlertKind::Spike, key, "", key).with_severity(severity);
    dispatcher.dispatch(alert("first", Severity::Critical));
    gate.holding(1).await;
    dispatcher.dispatch(alert("queued", Severity::Critical));
    // Less severe than all queued: dropped at once, so its sender hears it is still owed.
    let (queued, settled) =
        dispatcher.dispatch_tracked(alert("promise-overdue:7", Severity::Warning));
    assert_eq!(queued, Dispatched::Queued { targets: 1 });
    let tally = tokio::time::timeout(WAIT, settled.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tally.dropped, tally.outcome()), (1, None));
    // Dropped by one target and refused by the others: still owed.
    let mixed = Settled {
        delivered: 0,
        failed: 2,
        dropped: 1,
    };
    assert_eq!(mixed.outcome(), None, "a drop anywhere keeps it owed");
    // Refused everywhere: settled as failed (the targets show failing; sending again would
    // be refused again).
    let failed = Settled {
        delivered: 0,
        failed: 2,
        dropped: 0,
    };
    assert_eq!(failed.outcome(), Some("failed"));
    gate.open.add_permits(10);
}

#[tokio::test]
async fn check_sends_a_test_alert_to_the_named_target() {
    let fake = FakeSlack::start().await.unwrap();
    let receiver = FakeWebhookReceiver::start(SECRET).await.unwrap();
    let config = NotifyConfig {
        targets: vec![
            TargetConfig::new("ops", Channel::Slack(SlackConfig::new(fake.webhook_url()))),
            TargetConfig::new(
                "crm",
                Channel::Webhook(WebhookConfig::new(receiver.url(), Secret::new(SECRET))),
            ),
        ],
        ..quick(WAIT)
    };
    let dispatcher = Dispatcher::start(&config).unwrap();
    let answer = dispatcher.check("ops").await.unwrap();
    assert!(
        answer.starts_with("sent a test alert to slack:ops"),
        "{answer}"
    );
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("[info] Test alert from earshot"));
    assert_eq!(
        dispatcher.target_status("slack:ops").unwrap().state,
        TargetState::Ok
    );
    assert_eq!(
        dispatcher.check("pagerduty").await.unwrap_err(),
        NotifyError::UnknownTarget("pagerduty".into())
    );

    // The CLI's path, without a running dispatcher.
    check(&config.targets[1]).await.unwrap();
    let events = receiver.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "alert.test");
    // A test alert is never deduplicated away.
    dispatcher.check("webhook:crm").await.unwrap();
    assert_eq!(receiver.events().len(), 2);
}
