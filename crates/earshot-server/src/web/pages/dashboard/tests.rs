use super::*;
use earshot_core::{ConversationId, Network};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

#[test]
fn the_grid_and_csv_follow_the_team_time_zone() {
    // Friday 20:47 in Copenhagen (19:47 UTC in November), answered after 24 minutes.
    let opened = t("2026-11-20T19:47:00Z");
    let samples = vec![ResponseSample {
        conversation_id: ConversationId(1),
        network: Network::X,
        opened_at: opened,
        first_response_due: opened + Duration::minutes(30),
        first_response_at: Some(opened + Duration::minutes(24)),
        first_response_secs: Some(1440),
    }];
    let volume = vec![VolumeCount {
        day: opened.date_naive(),
        intent: Intent::FeatureRequest,
        sentiment: SentimentLabel::Neutral,
        posts: 2,
    }];
    let (from, to) = (t("2026-11-19T00:00:00Z"), t("2026-11-21T00:00:00Z"));
    let tz: Tz = "Europe/Copenhagen".parse().expect("tz");
    let f = figures(&samples, &volume, from, to, tz, to);
    assert_eq!(f.grid[4][20].conversations, 1, "Friday 20:00 local");
    assert_eq!(f.grid[4][20].median_first_response_secs, Some(1440));
    let csv = csv_body("first-response", &f, from, to).expect("known chart");
    assert!(csv.contains("\nfri,20,1,1,1440,1440,1,0,1.0000\n"), "{csv}");
    let vol = csv_body("volume-intent", &f, from, to).expect("known chart");
    assert!(vol.contains("\n2026-11-20,0,2,0,0,0,2\n"), "{vol}");
    assert_eq!(
        vol.lines().count(),
        4,
        "a header and one line per day: {vol}"
    );
    let sent = csv_body("volume-sentiment", &f, from, to).expect("known chart");
    assert!(sent.contains("\n2026-11-20,0,2,0,2\n"), "{sent}");
    assert!(csv_body("nope", &f, from, to).is_none());
}

#[test]
fn the_satisfaction_csv_has_every_score_and_the_figures() {
    let mut s = Satisfaction::empty("all");
    s.sent = 4;
    s.answered = 3;
    s.scores = [1, 0, 0, 0, 2];
    s.csat = Some(2.0 / 3.0);
    s.mean_score = Some(11.0 / 3.0);
    s.buy_again_yes = 2;
    s.buy_again_share = Some(1.0);
    let csv = satisfaction_csv(&s);
    assert!(
        csv.starts_with("score,answers,share\n1,1,0.3333\n2,0,0.0000\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\n5,2,0.6667\ncsat,,0.6667\nmean_score,,3.67\n"),
        "{csv}"
    );
    assert!(csv.ends_with("sent,4,\nanswered,3,\n"), "{csv}");
    let html = satisfaction_panel(&s, "from=a&to=b").into_string();
    assert!(
        html.contains("67%") && html.contains("3.7") && html.contains("100%"),
        "{html}"
    );
    assert!(
        html.contains("/dashboard/satisfaction.csv?from=a&amp;to=b"),
        "{html}"
    );
}

#[test]
fn ranges_are_checked() {
    let now = t("2026-11-27T00:00:00Z");
    let r = Range {
        days: Some(7),
        ..Range::default()
    };
    let (from, to) = r.bounds(now).expect("valid");
    assert_eq!(to - from, Duration::days(7));
    let bad = Range {
        from: Some("2026-12-01".into()),
        to: Some("2026-11-01".into()),
        ..Range::default()
    };
    assert!(bad.bounds(now).is_err());
    let junk = Range {
        from: Some("yesterday".into()),
        ..Range::default()
    };
    assert!(junk.bounds(now).is_err());
}
