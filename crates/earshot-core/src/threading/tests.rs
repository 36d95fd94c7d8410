use super::*;
use crate::analysis::Intent;
use crate::post::Author;
use crate::priority::PriorityBand;
use crate::testing::at as t;

fn post(id: &str, author: &str, at: &str, reply_to: Option<&str>, brand: bool) -> Incoming {
    let mut analysis = Analysis::default();
    analysis.intent.label = if brand {
        Intent::Other
    } else {
        Intent::FeatureRequest
    };
    Incoming {
        post: NewPost {
            in_reply_to: reply_to.map(str::to_string),
            from_brand: Some(brand),
            ..NewPost::new(
                Network::X,
                id,
                Author::new(author, author),
                format!("post {id}"),
                t(at),
            )
        },
        analysis,
        from_brand: brand,
    }
}

/// Applies a plan to `known` the way a store would, so tests can feed batches in turn.
fn apply(batch: &[Incoming], known: &mut Known, plan: &Plan, next_id: &mut i64) {
    let mut ids = vec![];
    for c in &plan.new_conversations {
        *next_id += 1;
        let mut c = c.clone();
        c.id = ConversationId(*next_id);
        ids.push(c.id);
        known.conversations.insert(c.id, c);
    }
    for c in &plan.updated_conversations {
        known.conversations.insert(c.id, c.clone());
    }
    let resolve = |r: ConvRef| match r {
        ConvRef::New(i) => ids[i],
        ConvRef::Existing(id) => id,
    };
    for p in &plan.posts {
        let b = &batch[p.index];
        let kp = KnownPost {
            key: b.post.key(),
            conversation_id: p.conversation.map(resolve),
            from_brand: b.from_brand,
            created_at: b.post.created_at,
        };
        known.stored.insert(kp.key.clone());
        known.parents.insert(kp.key.clone(), kp.clone());
        if let Some(id) = kp.conversation_id {
            if !b.from_brand {
                known
                    .open_by_customer
                    .insert((b.post.network, b.post.author.external_id.clone()), id);
            }
        } else if let Some(parent) = &b.post.in_reply_to {
            known
                .orphans
                .entry(PostKey::new(b.post.network, parent.clone()))
                .or_default()
                .push(kp);
        }
    }
    for (k, r) in &plan.adopted {
        if let Some(p) = known.parents.get_mut(k) {
            p.conversation_id = Some(resolve(*r));
        }
    }
}

/// A store stand-in fed batch by batch: what it knows, the ids it gave, the default policy.
#[derive(Default)]
struct Heard {
    known: Known,
    next: i64,
    policy: TriagePolicy,
}

impl Heard {
    /// Plans `batch` as at `now` and applies the plan, which it returns.
    fn hear(&mut self, batch: &[Incoming], now: DateTime<Utc>) -> Plan {
        let p = plan(batch, &self.known, &self.policy, now);
        apply(batch, &mut self.known, &p, &mut self.next);
        p
    }

    /// The one conversation heard.
    fn conversation(&self) -> &Conversation {
        let mut all = self.known.conversations.values();
        all.next().expect("one conversation")
    }
}

/// An urgent safety report, then follow-ups from the same customer before any answer.
fn urgent_then(follow_up: Incoming) -> (Conversation, Conversation) {
    use crate::analysis::{HarmKind, SentimentLabel, UrgencyLevel};
    let mut h = Heard::default();
    let mut report = post("1", "paul", "2025-03-08T10:00:00Z", None, false);
    report.analysis.intent.label = Intent::Complaint;
    report.analysis.sentiment.label = SentimentLabel::Negative;
    report.analysis.sentiment.score = -0.6;
    report.analysis.urgency.level = UrgencyLevel::High;
    report.analysis.urgency.score = 0.7;
    report.analysis.safety.harm = true;
    report.analysis.safety.kinds = vec![HarmKind::Vehicle];
    let first = vec![report];
    h.hear(&first, t("2025-03-08T10:00:00Z"));
    let before = h.conversation().clone();
    let batch = vec![follow_up];
    h.hear(&batch, t("2025-03-08T10:20:00Z"));
    let after = h.conversation().clone();
    (before, after)
}

#[test]
fn a_chase_raises_an_urgent_conversation_and_never_demotes_it() {
    // issue 11 §5: "hello??" used to replace the conversation's signals with its own
    // (low) ones, demoting an urgent conversation to low.
    let mut chase = post("2", "paul", "2025-03-08T10:15:00Z", None, false);
    chase.post.text = "hello??".into();
    chase.analysis.intent.label = Intent::Other;
    chase.analysis.chase = true;
    let (before, after) = urgent_then(chase);
    assert_eq!(before.priority.band, PriorityBand::Urgent);
    assert_eq!(
        after.priority.band,
        PriorityBand::Urgent,
        "{:?}",
        after.priority
    );
    assert!(
        after.priority.score > before.priority.score,
        "{:?}",
        after.priority
    );
    assert_eq!(after.signals.chases, 1);
    assert!(
        after.priority.explain().contains("chased once"),
        "{}",
        after.priority.explain()
    );
    assert_eq!(after.intent, Intent::Complaint, "still about the report");
    assert_eq!(
        after.awaiting_since, before.awaiting_since,
        "waiting since the first post"
    );
}

#[test]
fn an_unanswered_follow_up_with_content_keeps_the_harm() {
    let mut more = post("2", "paul", "2025-03-08T10:15:00Z", None, false);
    more.analysis.intent.label = Intent::Question;
    let (_, after) = urgent_then(more);
    assert_eq!(
        after.priority.band,
        PriorityBand::Urgent,
        "{:?}",
        after.priority
    );
    assert!(after.signals.harm);
    assert_eq!(after.intent, Intent::Complaint);
}

#[test]
fn brand_reply_joins_and_times_the_first_response() {
    let batch = vec![
        post("1", "paul", "2017-08-18T20:47:00-07:00", None, false),
        post("2", "brand", "2017-08-18T21:11:00-07:00", Some("1"), true),
    ];
    let p = plan(
        &batch,
        &Known::default(),
        &TriagePolicy::default(),
        t("2017-08-19T00:00:00Z"),
    );
    assert_eq!(p.new_conversations.len(), 1);
    let c = &p.new_conversations[0];
    assert_eq!(c.post_count, 2);
    assert_eq!(c.first_response_secs, Some(24 * 60));
    assert_eq!(c.status, Status::Pending);
    assert!(c.awaiting_since.is_none());
    assert!(p
        .posts
        .iter()
        .all(|pp| pp.conversation == Some(ConvRef::New(0))));
}

#[test]
fn an_automatic_reply_joins_the_thread_but_the_clock_keeps_running() {
    let mut h = Heard::default();
    let first = vec![post("1", "paul", "2025-03-08T22:10:00Z", None, false)];
    h.hear(&first, t("2025-03-08T22:10:00Z"));
    let auto = vec![post("2", "brand", "2025-03-08T22:10:30Z", Some("1"), true)];
    h.known.automatic.insert(auto[0].post.key());
    let p = plan(&auto, &h.known, &h.policy, t("2025-03-08T22:11:00Z"));
    assert!(p.posts[0].conversation.is_some(), "in the thread");
    apply(&auto, &mut h.known, &p, &mut h.next);
    h.known.automatic.clear();
    let c = h.conversation();
    assert_eq!(c.post_count, 2);
    assert_eq!(c.first_response_at, None, "an acknowledgement is no answer");
    assert_eq!(c.status, Status::Open);
    assert_eq!(c.awaiting_since, Some(t("2025-03-08T22:10:00Z")));
    // A person's answer later is the first response, timed from the customer's post.
    let human = vec![post("3", "brand", "2025-03-10T07:10:00Z", Some("1"), true)];
    h.hear(&human, t("2025-03-10T07:11:00Z"));
    let c = h.conversation();
    assert_eq!(c.first_response_at, Some(t("2025-03-10T07:10:00Z")));
    assert_eq!(c.status, Status::Pending);
}

#[test]
fn late_brand_answer_does_not_settle_a_newer_customer_post() {
    let mut h = Heard::default();
    for batch in [
        vec![post("A", "paul", "2017-08-18T10:00:00Z", None, false)],
        vec![post("C", "paul", "2017-08-18T10:30:00Z", Some("A"), false)],
        vec![post("B", "brand", "2017-08-18T10:10:00Z", Some("A"), true)],
    ] {
        h.hear(&batch, Utc::now());
    }
    let c = h.conversation();
    assert_eq!(
        c.first_response_secs,
        Some(600),
        "B was still the first answer"
    );
    assert_eq!(c.status, Status::Open, "C is still owed an answer");
    assert_eq!(c.awaiting_since, Some(t("2017-08-18T10:30:00Z")));
    assert_eq!(c.post_count, 3);
}

#[test]
fn late_customer_post_older_than_the_answer_does_not_reopen() {
    let mut h = Heard::default();
    for batch in [
        vec![
            post("A", "paul", "2017-08-18T10:00:00Z", None, false),
            post("B", "brand", "2017-08-18T10:10:00Z", Some("A"), true),
        ],
        vec![post("A2", "paul", "2017-08-18T10:05:00Z", Some("A"), false)],
    ] {
        h.hear(&batch, Utc::now());
    }
    let c = h.conversation();
    assert_eq!(c.status, Status::Pending);
    assert!(c.awaiting_since.is_none());
    assert_eq!(c.post_count, 3);
}

#[test]
fn same_post_twice_is_a_duplicate() {
    let mut known = Known::default();
    let mut next = 0;
    let batch = vec![post("1", "paul", "2017-08-18T20:47:00Z", None, false)];
    let p1 = plan(&batch, &known, &TriagePolicy::default(), Utc::now());
    apply(&batch, &mut known, &p1, &mut next);
    let p2 = plan(&batch, &known, &TriagePolicy::default(), Utc::now());
    assert_eq!(p2.duplicates, vec![0]);
    assert!(
        p2.posts.is_empty()
            && p2.new_conversations.is_empty()
            && p2.updated_conversations.is_empty()
    );
    // Repeated inside one batch, too.
    let twice = vec![batch[0].clone(), batch[0].clone()];
    let p3 = plan(
        &twice,
        &Known::default(),
        &TriagePolicy::default(),
        Utc::now(),
    );
    assert_eq!(p3.posts.len(), 1);
    assert_eq!(p3.duplicates.len(), 1);
}

#[test]
fn reply_arriving_before_its_parent_is_adopted_later() {
    let mut h = Heard::default();
    let first = vec![post("2", "brand", "2017-08-18T21:11:00Z", Some("1"), true)];
    let p1 = plan(&first, &h.known, &h.policy, Utc::now());
    assert_eq!(p1.posts[0].conversation, None);
    apply(&first, &mut h.known, &p1, &mut h.next);

    let second = vec![post("1", "paul", "2017-08-18T20:47:00Z", None, false)];
    let p2 = plan(&second, &h.known, &h.policy, Utc::now());
    assert_eq!(
        p2.adopted,
        vec![(PostKey::new(Network::X, "2"), ConvRef::New(0))]
    );
    let c = &p2.new_conversations[0];
    assert_eq!(c.first_response_secs, Some(24 * 60));
    assert_eq!(c.post_count, 2);
}

#[test]
fn reply_to_an_orphan_adopted_in_the_same_batch_joins_too() {
    let mut h = Heard::default();
    // B1 answers A, but arrives first and waits as an orphan.
    let first = vec![post("B1", "brand", "2017-08-18T21:11:00Z", Some("A"), true)];
    h.hear(&first, Utc::now());
    // Then A arrives with B2, the brand's second answer (a reply to B1).
    let second = vec![
        post("A", "paul", "2017-08-18T20:47:00Z", None, false),
        post("B2", "brand", "2017-08-18T21:20:00Z", Some("B1"), true),
    ];
    let p2 = plan(&second, &h.known, &h.policy, Utc::now());
    assert_eq!(
        p2.adopted,
        vec![(PostKey::new(Network::X, "B1"), ConvRef::New(0))]
    );
    assert!(
        p2.posts
            .iter()
            .all(|pp| pp.conversation == Some(ConvRef::New(0))),
        "{:?}",
        p2.posts
    );
    assert_eq!(p2.new_conversations[0].post_count, 3);
}

#[test]
fn replying_in_another_customers_thread_does_not_capture_the_next_post() {
    let policy = TriagePolicy::default();
    let batch = vec![
        post("1", "paul", "2017-08-18T20:00:00Z", None, false),
        post("2", "lena", "2017-08-18T20:05:00Z", Some("1"), false),
        post("3", "lena", "2017-08-18T20:10:00Z", None, false),
    ];
    let p = plan(&batch, &Known::default(), &policy, Utc::now());
    assert_eq!(
        p.new_conversations.len(),
        2,
        "lena's own post opens her own conversation"
    );
}

#[test]
fn customer_follow_up_reopens_and_restarts_the_clock() {
    let mut h = Heard::default();
    let b1 = vec![
        post("1", "paul", "2017-08-18T20:47:00Z", None, false),
        post("2", "brand", "2017-08-18T21:11:00Z", Some("1"), true),
    ];
    h.hear(&b1, Utc::now());
    let b2 = vec![post("3", "paul", "2017-08-18T21:30:00Z", Some("2"), false)];
    let p2 = plan(&b2, &h.known, &h.policy, Utc::now());
    assert!(p2.new_conversations.is_empty());
    let c = &p2.updated_conversations[0];
    assert_eq!(c.status, Status::Open);
    assert_eq!(c.awaiting_since, Some(t("2017-08-18T21:30:00Z")));
    // The first response stays the first one.
    assert_eq!(c.first_response_secs, Some(24 * 60));
    assert_eq!(c.post_count, 3);
}

#[test]
fn new_top_level_post_joins_recent_open_conversation_of_same_customer() {
    let policy = TriagePolicy::default();
    let batch = vec![
        post("1", "paul", "2017-08-18T20:47:00Z", None, false),
        post("2", "paul", "2017-08-18T20:49:00Z", None, false),
        post("3", "paul", "2017-08-21T20:49:00Z", None, false),
        post("4", "lena", "2017-08-18T20:50:00Z", None, false),
    ];
    let p = plan(&batch, &Known::default(), &policy, Utc::now());
    assert_eq!(
        p.new_conversations.len(),
        3,
        "paul twice (days apart) and lena once"
    );
    assert_eq!(p.new_conversations[0].post_count, 2);
}

#[test]
fn brand_identity_from_handles() {
    let brand = BrandIdentity::new(&["@TeslaSupport", "elonmusk"]);
    let mut p = post("1", "ElonMusk", "2017-08-18T20:47:00Z", None, false).post;
    p.from_brand = None;
    assert!(brand.is_brand(&p));
    p.author.handle = "paul".into();
    p.author.external_id = "u1".into();
    assert!(!brand.is_brand(&p));
    p.from_brand = Some(true);
    assert!(brand.is_brand(&p));
}

#[test]
fn a_waiting_conversation_notes_its_turn_once_and_an_answer_clears_it() {
    let t0 = t("2025-03-03T10:00:00Z");
    let mut question = post("q1", "ana", "2025-03-03T10:00:00Z", None, false);
    question.analysis.intent.label = Intent::Question;
    let pace = |waiting| {
        Some(crate::fair_turn::QueuePace {
            waiting,
            answers_last_hour: 20,
        })
    };
    let policy = TriagePolicy {
        pace: pace(40),
        ..TriagePolicy::default()
    };
    let mut conv = open_conversation(&question, &policy, t0);
    // 40 waiting at 20 an hour: its turn comes two hours on.
    assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
    // A busier queue later does not push it back.
    let busier = TriagePolicy {
        pace: pace(400),
        ..policy.clone()
    };
    rescore(&mut conv, &busier, t0 + Duration::minutes(30));
    assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
    rescore(&mut conv, &busier, t0 + Duration::hours(3));
    assert_eq!(conv.priority.band, PriorityBand::High);
    let why = conv.priority.explain();
    assert!(
        why.contains("past its turn in arrival order by 1 h"),
        "{why}"
    );
    // The points shown add up to the score.
    let sum: f32 = conv.priority.factors.iter().map(|f| f.points).sum();
    assert!(
        (50.0 + sum / 4.0 - conv.priority.score).abs() < 0.01,
        "{:?}",
        conv.priority
    );
    // A correction refolds the signals from the first unanswered post: the turn stays.
    let mut corrected = question.analysis.clone();
    corrected.intent.label = Intent::Question;
    fold_customer_post(&mut conv.signals, &corrected, false, &busier.ranking);
    rescore(&mut conv, &busier, t0 + Duration::hours(3));
    assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
    assert_eq!(conv.priority.band, PriorityBand::High);
    let answered = t0 + Duration::hours(3);
    brand_posted(&mut conv, answered, &busier, answered);
    assert_eq!(conv.signals.fair_turn_at, None);
}

#[test]
fn history_imported_long_after_notes_no_turn() {
    let question = post("q1", "ana", "2025-03-03T10:00:00Z", None, false);
    let policy = TriagePolicy {
        pace: Some(crate::fair_turn::QueuePace {
            waiting: 1,
            answers_last_hour: 20,
        }),
        ..TriagePolicy::default()
    };
    let conv = open_conversation(&question, &policy, t("2025-03-05T10:00:00Z"));
    assert_eq!(conv.signals.fair_turn_at, None);
}
