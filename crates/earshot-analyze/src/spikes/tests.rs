use super::*;
use chrono::Duration;

/// SplitMix64: a seeded, dependency-free generator for reproducible traffic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::fingerprint::mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-06-24T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

const TOPICS: [&str; 24] = [
    "bag",
    "luggage",
    "delay",
    "refund",
    "seat",
    "upgrade",
    "wifi",
    "meal",
    "crew",
    "gate",
    "boarding",
    "cancelled",
    "rebook",
    "miles",
    "points",
    "checkin",
    "app",
    "website",
    "baggage",
    "lounge",
    "pilot",
    "weather",
    "connection",
    "voucher",
];
const FILLER: [&str; 12] = [
    "my", "the", "flight", "today", "again", "still", "why", "is", "no", "help", "please",
    "waiting",
];

/// One ordinary customer post: a few topic words (Zipf-like: early topics are common) in filler.
fn background_text(rng: &mut Rng) -> String {
    let mut words = Vec::new();
    for _ in 0..3 {
        words.push(FILLER[rng.below(FILLER.len() as u64) as usize].to_string());
    }
    for _ in 0..2 {
        // Squaring a uniform draw favours the first topics.
        let u = rng.unit();
        let i = ((u * u) * TOPICS.len() as f64) as usize;
        words.push(TOPICS[i.min(TOPICS.len() - 1)].to_string());
    }
    words.push(format!("x{}", rng.below(100_000)));
    words.join(" ")
}

/// Posts per minute at `minute` of a day: a strong daily cycle, quiet at night.
fn daily_rate(minute_of_day: i64) -> f64 {
    let hour = minute_of_day as f64 / 60.0;
    let day = (std::f64::consts::PI * (hour - 4.0) / 24.0).sin().max(0.0);
    0.3 + 6.0 * day * day
}

/// Replays `days` of background traffic; returns every event with its time.
fn replay_background(
    d: &mut SpikeDetector,
    rng: &mut Rng,
    days: i64,
    next_id: &mut i64,
) -> Vec<(DateTime<Utc>, SpikeEvent)> {
    let mut out = Vec::new();
    for minute in 0..days * 1440 {
        let rate = daily_rate(minute % 1440);
        let n = (rate + rng.unit()).floor() as i64;
        for k in 0..n {
            let at = t0() + Duration::seconds(minute * 60 + (k * 60) / n.max(1));
            let text = background_text(rng);
            let author = format!("u{}", rng.below(20_000));
            *next_id += 1;
            for e in d.observe(*next_id, &author, &text, Some("en"), None, at) {
                out.push((at, e));
            }
        }
    }
    out
}

fn config() -> SpikeConfig {
    SpikeConfig {
        warmup_posts: 500,
        ..SpikeConfig::default()
    }
}

#[test]
fn ordinary_daily_cycles_raise_no_alarm() {
    let mut d = SpikeDetector::new(config());
    let mut rng = Rng(1);
    let mut id = 0;
    let events = replay_background(&mut d, &mut rng, 4, &mut id);
    let started: Vec<_> = events
        .iter()
        .filter(|(_, e)| matches!(e, SpikeEvent::Started(_)))
        .collect();
    assert!(
        started.is_empty(),
        "false alarms: {:?}",
        started
            .iter()
            .map(|(t, e)| (t, &e.spike().label_terms))
            .collect::<Vec<_>>()
    );
    assert!(d.stats().posts_seen > 5_000);
}

/// Appends a surge of `n` posts over `secs` seconds from `at`; returns the first Started event.
fn surge(
    d: &mut SpikeDetector,
    rng: &mut Rng,
    at: DateTime<Utc>,
    n: i64,
    secs: i64,
    next_id: &mut i64,
) -> Vec<(DateTime<Utc>, SpikeEvent)> {
    let phrasings = [
        "any extra flights to roskilde festival this weekend?",
        "why are all flights to roskilde sold out, festival starts thursday",
        "please add flights to roskilde festival",
        "can't find a single flight to roskilde for the festival",
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let at = at + Duration::milliseconds(i * secs * 1000 / n);
        let text = format!(
            "{} {}",
            phrasings[rng.below(4) as usize],
            FILLER[rng.below(12) as usize]
        );
        *next_id += 1;
        for e in d.observe(
            *next_id,
            &format!("fan{}", rng.below(100_000)),
            &text,
            Some("en"),
            None,
            at,
        ) {
            out.push((at, e));
        }
    }
    out
}

#[test]
fn an_unconfigured_surge_at_night_is_one_spike_within_a_minute() {
    let mut d = SpikeDetector::new(config());
    let mut rng = Rng(2);
    let mut id = 0;
    replay_background(&mut d, &mut rng, 2, &mut id);
    // 03:00 on day three: the quietest hour.
    let onset = t0() + Duration::hours(48 + 3);
    let events = surge(&mut d, &mut rng, onset, 300, 300, &mut id);
    let started: Vec<&Spike> = events
        .iter()
        .filter_map(|(_, e)| match e {
            SpikeEvent::Started(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        started.len(),
        1,
        "co-bursting terms make one spike: {:?}",
        started.iter().map(|s| &s.label_terms).collect::<Vec<_>>()
    );
    let s = started[0];
    assert!(
        s.detected_at - onset <= Duration::seconds(60),
        "detected after {}",
        s.detected_at - onset
    );
    assert!(s.started_at >= onset && s.started_at <= s.detected_at);
    assert!(
        s.label_terms.iter().any(|t| t.contains("roskilde")),
        "{:?}",
        s.label_terms
    );
    assert!(s.label_terms.len() >= 2, "{:?}", s.label_terms);
    assert!(
        s.rate_per_minute > 10.0 * s.baseline_per_minute,
        "{} vs {}",
        s.rate_per_minute,
        s.baseline_per_minute
    );
    assert!(!s.sample_post_ids.is_empty() && s.sample_post_ids.iter().all(|p| *p > 0));
    assert!(s.chart.counts.iter().sum::<u32>() >= SpikeConfig::default().min_posts);
    assert!(s.authors >= 5);
    let growing = events
        .iter()
        .any(|(_, e)| matches!(e, SpikeEvent::Growing(_)));
    assert!(
        growing,
        "the spike grew from its first bars to a post a second"
    );
    // A post about it belongs to it (it can jump the queue); the usual ones do not.
    let of = d.spike_of("Still no flights to Roskilde for the festival?", Some("en"));
    assert_eq!(of.map(|o| o.id), Some(s.id));
    assert_eq!(d.spike_of("my bag is lost again", Some("en")), None);
    // Quiet again: the spike ends and says how big it got.
    let ended = d.tick(onset + Duration::seconds(300 + 600));
    let ended: Vec<&Spike> = ended
        .iter()
        .filter_map(|e| match e {
            SpikeEvent::Ended(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 1);
    assert!(ended[0].posts >= 250, "{}", ended[0].posts);
    assert!(d.active().is_empty());
    assert_eq!(
        d.spike_of("Still no flights to Roskilde for the festival?", Some("en")),
        None,
        "an ended spike takes nobody to the front"
    );
}

#[test]
fn a_surge_of_a_known_topic_is_measured_against_its_usual_rate() {
    let mut d = SpikeDetector::new(config());
    let mut rng = Rng(3);
    let mut id = 0;
    replay_background(&mut d, &mut rng, 2, &mut id);
    // "bag" is the most common topic; 40 posts a minute about lost bags is still far above it.
    let onset = t0() + Duration::hours(48 + 14);
    let mut started = None;
    for i in 0..200i64 {
        let at = onset + Duration::milliseconds(i * 1500);
        id += 1;
        let text = format!(
            "lost bag at the carousel {}",
            FILLER[rng.below(12) as usize]
        );
        for e in d.observe(id, &format!("p{i}"), &text, Some("en"), None, at) {
            if let SpikeEvent::Started(s) = e {
                started.get_or_insert((at, s));
            }
        }
    }
    let (at, s) = started.expect("detected");
    assert!(at - onset <= Duration::seconds(60));
    assert!(
        s.label_terms.iter().any(|t| t.contains("carousel")),
        "{:?}",
        s.label_terms
    );
}

#[test]
fn one_loud_author_is_not_a_spike() {
    let mut d = SpikeDetector::new(config());
    let mut rng = Rng(4);
    let mut id = 0;
    replay_background(&mut d, &mut rng, 1, &mut id);
    let onset = t0() + Duration::hours(24 + 3);
    for i in 0..60i64 {
        id += 1;
        let events = d.observe(
            id,
            "angry_one",
            "WHERE IS MY REFUND FOR THE GLASTONBURY TRIP",
            Some("en"),
            None,
            onset + Duration::seconds(i),
        );
        assert!(events.is_empty(), "{events:?}");
    }
}

#[test]
fn nothing_alarms_during_warm_up() {
    let mut d = SpikeDetector::new(SpikeConfig::default());
    let mut rng = Rng(5);
    let mut id = 0;
    let events = surge(&mut d, &mut rng, t0(), 300, 300, &mut id);
    assert!(events.is_empty(), "no usual rate yet, no alarm");
}

#[test]
fn requests_from_grouping_are_keys_of_their_own() {
    let mut d = SpikeDetector::new(config());
    let mut rng = Rng(6);
    let mut id = 0;
    replay_background(&mut d, &mut rng, 1, &mut id);
    let onset = t0() + Duration::hours(24 + 12);
    let asks = [
        "kan sædet køre tilbage når bilen er parkeret",
        "move the seat back when parked please",
        "il sedile dovrebbe arretrare a auto parcheggiata",
        "Sitz zurückfahren beim Parken bitte",
    ];
    let mut started = None;
    for i in 0..40i64 {
        id += 1;
        let at = onset + Duration::seconds(i);
        for e in d.observe(
            id,
            &format!("s{i}"),
            asks[i as usize % 4],
            None,
            Some(77),
            at,
        ) {
            if let SpikeEvent::Started(s) = e {
                started.get_or_insert(s);
            }
        }
    }
    let s = started.expect("detected through the request");
    assert!(s.request_ids.contains(&77), "{:?}", s.request_ids);
}

#[test]
fn memory_stays_bounded_under_a_firehose_of_new_words() {
    let mut d = SpikeDetector::new(SpikeConfig {
        max_tracked_keys: 5_000,
        sketch_width: 1 << 12,
        recent_posts: 256,
        ..config()
    });
    let mut rng = Rng(7);
    for i in 0..30_000i64 {
        let text = format!(
            "w{} w{} w{} w{}",
            rng.next() % 1_000_000_007,
            rng.next() % 1_000_000_007,
            rng.next(),
            rng.next()
        );
        let text = text
            .replace(|c: char| c.is_ascii_digit(), "q")
            .replace('q', "z");
        let text = format!(
            "{text} {}",
            ["alpha", "beta", "gamma", "delta"][(i % 4) as usize]
        );
        d.observe(
            i,
            &format!("a{i}"),
            &text,
            Some("en"),
            None,
            t0() + Duration::milliseconds(i * 5),
        );
        assert!(
            d.stats().tracked_keys <= 5_000 + keys::MAX_KEYS,
            "{}",
            d.stats().tracked_keys
        );
    }
    let before = d.stats().memory_bytes;
    for i in 30_000..40_000i64 {
        let text = format!("v{} {}", rng.next(), "omega");
        d.observe(
            i,
            "b",
            &text,
            Some("en"),
            None,
            t0() + Duration::milliseconds(i * 5),
        );
    }
    assert!(
        d.stats().memory_bytes <= before * 2,
        "{} → {}",
        before,
        d.stats().memory_bytes
    );
}

#[test]
fn late_posts_teach_the_baseline_but_not_the_window() {
    let mut d = SpikeDetector::new(SpikeConfig {
        warmup_posts: 0,
        ..SpikeConfig::default()
    });
    d.observe(
        1,
        "a",
        "first post",
        Some("en"),
        None,
        t0() + Duration::hours(1),
    );
    // Posts from an hour earlier arrive late: no burst "now".
    for i in 0..50i64 {
        let events = d.observe(
            10 + i,
            &format!("a{i}"),
            "old news about the outage",
            Some("en"),
            None,
            t0() + Duration::seconds(i),
        );
        assert!(events.is_empty());
    }
    assert_eq!(d.stats().posts_seen, 51);
}

#[test]
fn bulk_reply_names_the_terms_in_the_spikes_language() {
    let spike = Spike {
        id: SpikeId(1),
        label_terms: vec!["fly roskilde".into(), "festival".into()],
        request_ids: vec![],
        sample_post_ids: vec![1],
        started_at: t0(),
        detected_at: t0(),
        rate_per_minute: 60.0,
        baseline_per_minute: 0.1,
        score: 30.0,
        posts: 60,
        authors: 55,
        language: Some("da".into()),
        chart: SpikeChart {
            start: t0(),
            bucket_seconds: 10,
            counts: vec![1, 5, 20],
        },
    };
    let da = suggest_bulk_reply(&spike);
    assert!(
        da.contains("fly roskilde, festival") && da.starts_with("Hej"),
        "{da}"
    );
    let en = suggest_bulk_reply(&Spike {
        language: None,
        ..spike.clone()
    });
    assert!(en.starts_with("Hi!") && en.contains("festival"), "{en}");
    let json = serde_json::to_string(&SpikeEvent::Started(spike)).unwrap();
    assert!(json.contains("\"event\":\"started\""), "{json}");
}
