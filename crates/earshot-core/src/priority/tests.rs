use super::*;

fn signals(intent: Intent, sentiment: f32, urgency: f32, reach: f32) -> PrioritySignals {
    PrioritySignals {
        intent,
        sentiment: if sentiment < -0.1 {
            SentimentLabel::Negative
        } else if sentiment > 0.1 {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        },
        sentiment_score: sentiment,
        urgency: if urgency >= 0.8 {
            UrgencyLevel::Critical
        } else if urgency >= 0.5 {
            UrgencyLevel::High
        } else {
            UrgencyLevel::Normal
        },
        urgency_score: urgency,
        reach_tier: ReachTier::Small,
        reach_score: reach,
        followers: Some(1520),
        ..PrioritySignals::default()
    }
}

/// The demo's two conversations: "phantom braking on the motorway again today, scared my
/// kids ... it's dangerous", and "is there a way to check my warranty status in the app?"
/// from a 157k account that jumped the queue.
fn phantom_braking() -> PrioritySignals {
    PrioritySignals {
        harm: true,
        harm_kinds: vec![HarmKind::Vehicle, HarmKind::Danger, HarmKind::Child],
        ..signals(Intent::Complaint, -0.5, 0.6, 0.1)
    }
}

fn big_account_question() -> PrioritySignals {
    PrioritySignals {
        followers: Some(157_000),
        reach_tier: ReachTier::Large,
        jump: Some("157k followers".into()),
        ..signals(Intent::Question, 0.0, 0.25, 0.85)
    }
}

#[test]
fn a_safety_report_outranks_a_big_account_question_however_long_it_waited() {
    let m = RankingModel::default();
    let fresh_harm = m.score(
        &phantom_braking(),
        Some(Duration::minutes(1)),
        Some(Duration::minutes(30)),
    );
    assert_eq!(fresh_harm.band, PriorityBand::Urgent);
    for waited_hours in [0, 1, 4, 8, 48, 500] {
        let q = m.score(
            &PrioritySignals {
                chases: 5,
                ..big_account_question()
            },
            Some(Duration::hours(waited_hours)),
            Some(Duration::hours(4)),
        );
        assert!(q.band != PriorityBand::Urgent, "{q:?}");
        assert!(fresh_harm.score > q.score, "{waited_hours} h: {q:?}");
    }
    let why = fresh_harm.explain();
    assert!(
        why.starts_with("safety: vehicle, danger, child → urgent"),
        "{why}"
    );
    assert!(why.contains("safety report +30"), "{why}");
}

#[test]
fn each_factor_shows_in_why() {
    let s = PrioritySignals {
        chases: 2,
        jump: Some("250k followers".into()),
        followers: Some(250_000),
        ..signals(Intent::Complaint, -0.8, 0.5, 0.9)
    };
    let p =
        RankingModel::default().score(&s, Some(Duration::minutes(90)), Some(Duration::hours(1)));
    let names: Vec<&str> = p.factors.iter().map(|f| f.name.as_str()).collect();
    for n in [
        "band",
        "urgency",
        "waiting",
        "intent",
        "sentiment",
        "reach",
        "jump",
        "chase",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let why = p.explain();
    assert!(why.contains("waited 1.5× target"), "{why}");
    assert!(why.contains("250k followers"), "{why}");
    assert!(why.contains("chased 2×"), "{why}");
    assert!(why.contains("jump: 250k followers"), "{why}");
}

#[test]
fn waiting_raises_the_score_but_not_the_content_band_and_shows_no_second_duration() {
    let m = RankingModel::default();
    let s = signals(Intent::Question, 0.0, 0.25, 0.2);
    // Both before the share that moves a conversation up a band (5 % of 4 h: 12 min).
    let fresh = m.score(&s, Some(Duration::minutes(1)), Some(Duration::hours(4)));
    let late = m.score(&s, Some(Duration::minutes(10)), Some(Duration::hours(4)));
    assert!(late.score > fresh.score);
    assert_eq!(late.band, fresh.band);
    assert_eq!(m.band(&s), fresh.band);
    // The inbox row shows how long the customer waited once (the clock); "why" says how that
    // compares to the target, without a second "overdue" duration.
    let why = late.explain();
    assert!(why.contains("waited 4% of target"), "{why}");
    assert!(!why.contains("overdue") && !why.contains("min"), "{why}");
}

#[test]
fn left_waiting_its_escalation_share_a_conversation_shows_one_band_higher_never_urgent() {
    let m = RankingModel::default();
    let q = signals(Intent::Question, 0.0, 0.25, 0.0);
    assert_eq!(m.band(&q), PriorityBand::Normal);
    // The default share is 5 %: 12 minutes of a normal question's 4 h target (it was a
    // quarter, 1 h, which let bursts of complaints starve routine questions in the replay).
    assert_eq!(m.escalate_after_targets, 0.05);
    let target = Some(Duration::hours(4));
    let fresh = m.score(&q, Some(Duration::minutes(11)), target);
    assert_eq!(fresh.band, PriorityBand::Normal);
    let late = m.score(&q, Some(Duration::minutes(12)), target);
    assert_eq!(late.band, PriorityBand::High);
    assert!(
        late.explain().contains("waiting past 5% of target → high"),
        "{}",
        late.explain()
    );
    // It joins the high band counting its wait at that band's pace: 12 min of high's 1 h
    // target (20 %, 3 points of 30 at 2 targets), not 12 min as 5 % of its own.
    let waiting_points = |p: &Priority| {
        p.factors
            .iter()
            .find(|f| f.name == "waiting")
            .map_or(0.0, |f| f.points)
    };
    assert!(
        waiting_points(&late) > waiting_points(&fresh) * 3.0,
        "{late:?}"
    );
    assert!((waiting_points(&late) - 3.0).abs() < 0.01, "{late:?}");
    let angry = signals(Intent::Complaint, -0.9, 0.5, 0.0);
    assert_eq!(m.band(&angry), PriorityBand::High);
    assert_eq!(
        m.score(&angry, Some(Duration::days(3)), Some(Duration::hours(1)))
            .band,
        PriorityBand::High
    );
    let off = RankingModel {
        escalate_after_targets: 0.0,
        ..RankingModel::default()
    };
    assert_eq!(
        off.score(&q, Some(Duration::days(9)), target).band,
        PriorityBand::Normal
    );
}

/// The joined band's pace is its configured target: a team with a 2 h high target counts a
/// question that moved up at half the pace of one with the default 1 h.
#[test]
fn a_question_that_moved_up_takes_its_place_among_the_band_by_its_wait() {
    let m = RankingModel::default();
    let q = signals(Intent::Question, 0.0, 0.25, 0.0);
    let complaint = signals(Intent::Complaint, -0.8, 0.5, 0.0);
    assert_eq!(m.band(&complaint), PriorityBand::High);
    let owed = |waited: i64, target: i64, raised: i64| {
        Some(Owed {
            waited: Duration::minutes(waited),
            target: Duration::minutes(target),
            raised_target: Duration::minutes(raised),
            past_fair_turn: None,
        })
    };
    // The same wait, counted against the same 1 h: the complaint's content keeps it first.
    let q45 = m.score_owed(&q, owed(45, 240, 60));
    let c45 = m.score_owed(&complaint, owed(45, 60, 120));
    assert_eq!(q45.band, PriorityBand::High);
    assert!(c45.score > q45.score, "{c45:?} {q45:?}");
    // Waited three hours, the question passes a complaint that came in 20 minutes ago.
    let q180 = m.score_owed(&q, owed(180, 240, 60));
    let c20 = m.score_owed(&complaint, owed(20, 60, 120));
    assert!(q180.score > c20.score, "{c20:?} {q180:?}");
    // The raised band's target sets the pace.
    let slow = m.score_owed(&q, owed(45, 240, 120));
    assert!(slow.score < q45.score, "{slow:?} {q45:?}");
    // Past `waiting_stops_at_targets` waiting adds nothing more, and "why" says so once.
    let q10h = m.score_owed(&q, owed(600, 240, 60));
    let q20h = m.score_owed(&q, owed(1200, 240, 60));
    assert_eq!(q10h.score, q20h.score);
    let why = q20h.explain();
    assert!(
        why.contains("waited 5.0× target (counts up to 2×)"),
        "{why}"
    );
    // Never above a safety report, however long it waits.
    let harm = PrioritySignals {
        harm: true,
        harm_kinds: vec![HarmKind::Fire],
        ..signals(Intent::Other, 0.0, 0.0, 0.0)
    };
    let fresh_harm = m.score_owed(&harm, owed(0, 30, 30));
    for waited in [60, 600, 6000, 60_000] {
        let q = m.score_owed(&q, owed(waited, 240, 60));
        assert!(
            q.band != PriorityBand::Urgent && fresh_harm.score > q.score,
            "{q:?}"
        );
    }
}

#[test]
fn angry_urgent_complaint_outranks_praise() {
    let angry = score(&signals(Intent::Complaint, -0.9, 0.7, 0.9), None, None);
    let praise = score(&signals(Intent::Praise, 0.8, 0.0, 0.1), None, None);
    assert!(angry.score > praise.score);
    assert_eq!(angry.band, PriorityBand::High);
    assert_eq!(praise.band, PriorityBand::Low);
    assert!(angry.explain().contains("complaint"));
    let critical = score(&signals(Intent::Complaint, -0.9, 0.9, 0.0), None, None);
    assert_eq!(critical.band, PriorityBand::Urgent);
}

#[test]
fn a_chase_raises_the_rank() {
    let m = RankingModel::default();
    let s = signals(Intent::Question, 0.0, 0.25, 0.0);
    let w = (Some(Duration::minutes(30)), Some(Duration::hours(4)));
    let once = m.score(
        &PrioritySignals {
            chases: 1,
            ..s.clone()
        },
        w.0,
        w.1,
    );
    let never = m.score(&s, w.0, w.1);
    assert!(once.score > never.score);
    assert_eq!(once.band, never.band);
}

#[test]
fn the_model_checks_its_settings() {
    assert_eq!(RankingModel::default().validate(), Ok(()));
    let bad = RankingModel {
        harm: -1.0,
        ..RankingModel::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(RankingError::OutOfRange { key: "harm", .. })
    ));
    let swapped = RankingModel {
        normal_at: 50.0,
        ..RankingModel::default()
    };
    assert!(matches!(
        swapped.validate(),
        Err(RankingError::Thresholds { .. })
    ));
    let parsed: RankingModel =
        serde_json::from_str(r#"{"reach": 0, "band_intent": {"question": 30}}"#)
            .expect("a partial [ranking] takes the defaults for the rest");
    assert_eq!(parsed.reach, 0.0);
    assert_eq!(parsed.band_intent.question, 30.0);
    assert_eq!(parsed.harm, RankingModel::default().harm);
    assert!(serde_json::from_str::<RankingModel>(r#"{"rech": 0}"#).is_err());
}

#[test]
fn human_durations() {
    assert_eq!(human(Duration::minutes(45)), "45 min");
    assert_eq!(human(Duration::minutes(190)), "3 h 10 min");
    assert_eq!(human(Duration::minutes(60 * 52)), "2 d 4 h");
}

fn arb_signals() -> impl proptest::strategy::Strategy<Value = PrioritySignals> {
    use proptest::prelude::*;
    (
        0usize..5,
        -1.0f32..1.0,
        0.0f32..1.0,
        0.0f32..1.0,
        any::<bool>(),
        0u32..6,
        any::<bool>(),
    )
        .prop_map(
            |(i, sent, urg, reach, harm, chases, jump)| PrioritySignals {
                harm,
                harm_kinds: if harm { vec![HarmKind::Fire] } else { vec![] },
                chases,
                jump: jump.then(|| "250k followers".to_string()),
                ..signals(Intent::ALL[i], sent, urg, reach)
            },
        )
}

proptest::proptest! {
    /// Band and position agree: every conversation's score lies in its band's quarter, so
    /// sorting by score never puts a lower band above a higher one.
    #[test]
    fn band_and_position_agree(s in arb_signals(), waited in 0i64..100_000, target in 1i64..2_000) {
        let p = RankingModel::default().score(&s, Some(Duration::minutes(waited)), Some(Duration::minutes(target)));
        proptest::prop_assert!(p.score >= p.band.floor() && p.score < p.band.floor() + 25.0, "{p:?}");
    }

    /// Nothing but harm or critical urgency is urgent; a safety report always is.
    #[test]
    fn urgent_is_kept_for_harm_and_critical_urgency(s in arb_signals(), waited in 0i64..100_000) {
        let p = RankingModel::default().score(&s, Some(Duration::minutes(waited)), Some(Duration::minutes(30)));
        proptest::prop_assert_eq!(p.band == PriorityBand::Urgent, s.harm || s.urgency == UrgencyLevel::Critical);
    }

    /// A follow-up before the brand answers never lowers the band or the points.
    #[test]
    fn an_unanswered_follow_up_never_demotes(old in arb_signals(), newer in arb_signals()) {
        let m = RankingModel::default();
        let mut merged = old.clone();
        merged.merge_unanswered(&newer, &m);
        let before = m.score(&old, None, None);
        let after = m.score(&merged, None, None);
        proptest::prop_assert!(after.band <= before.band, "{before:?} -> {after:?}");
        proptest::prop_assert!(after.score >= before.score - 1e-3, "{before:?} -> {after:?}");
    }
}

#[test]
fn waiting_stops_counting_at_its_cap_unless_aging_is_on() {
    let q = signals(Intent::Question, 0.0, 0.25, 0.0);
    let angry = signals(Intent::Complaint, -0.8, 0.5, 0.0);
    let target = Some(Duration::hours(1));
    // Both high after waiting (the question escalated), the question five hours, the
    // complaint three: by default both have all their waiting points and the complaint's
    // content keeps it first; with aging the older question climbs past it.
    let default = RankingModel::default();
    let old_q = default.score(&q, Some(Duration::hours(5)), Some(Duration::hours(4)));
    let fresher = default.score(&angry, Some(Duration::hours(3)), target);
    assert_eq!(old_q.band, PriorityBand::High);
    assert_eq!(fresher.band, PriorityBand::High);
    assert!(fresher.score > old_q.score, "{fresher:?} {old_q:?}");
    let aging = RankingModel {
        waiting_stops_at_targets: 50.0,
        ..RankingModel::default()
    };
    let old_q = aging.score(&q, Some(Duration::hours(5)), Some(Duration::hours(4)));
    let fresher = aging.score(&angry, Some(Duration::hours(3)), target);
    assert!(old_q.score > fresher.score, "{fresher:?} {old_q:?}");
    // Aging never lifts it out of its band: a fresh safety report stays above.
    let harm = PrioritySignals {
        harm: true,
        harm_kinds: vec![HarmKind::Fire],
        ..signals(Intent::Complaint, -0.5, 0.5, 0.0)
    };
    let fresh_harm = aging.score(
        &harm,
        Some(Duration::minutes(1)),
        Some(Duration::minutes(30)),
    );
    let ancient_q = aging.score(&q, Some(Duration::days(30)), Some(Duration::hours(4)));
    assert!(ancient_q.score < PriorityBand::Urgent.floor());
    assert!(fresh_harm.score > ancient_q.score);
    let err = RankingModel {
        waiting_stops_at_targets: -1.0,
        ..RankingModel::default()
    }
    .validate();
    assert!(
        matches!(
            err,
            Err(RankingError::OutOfRange {
                key: "waiting_stops_at_targets",
                ..
            })
        ),
        "{err:?}"
    );
}

/// The two ageing settings say what to write when they are wrong.
#[test]
fn the_ageing_settings_say_what_to_write_instead() {
    let err = RankingModel {
        escalate_after_targets: -0.05,
        ..RankingModel::default()
    }
    .validate()
    .expect_err("negative")
    .to_string();
    assert!(
        err.starts_with("ranking.escalate_after_targets must be a number from 0 to 100, not -0.05")
            && err.contains("e.g. 0.05")
            && err.contains("0 turns moving up off"),
        "{err}"
    );
    let err = RankingModel {
        waiting_stops_at_targets: f32::NAN,
        ..RankingModel::default()
    }
    .validate()
    .expect_err("not a number")
    .to_string();
    assert!(err.contains("e.g. 2;"), "{err}");
}

/// `weigh_content_by_waiting`: content is worth a *ratio* of waiting, not a fixed time. The
/// case the triage replay starved: a question left 45 min (joined the high band at 12 min)
/// and a complaint written 10 min ago. Added up, the complaint's content is worth ~47 min of
/// waiting and it goes first however briefly it waited; weighed, the question has waited
/// more than the ratio the content is worth (~1.8×) and goes first, while a complaint that
/// waited 3 h still passes a question of 3.6 h (content still counts).
#[test]
fn weighing_content_by_waiting_turns_the_head_start_into_a_ratio() {
    let q = signals(Intent::Question, 0.0, 0.25, 0.0);
    let angry = signals(Intent::Complaint, -0.8, 0.5, 0.0);
    let (four_h, one_h) = (Some(Duration::hours(4)), Some(Duration::hours(1)));
    let m = |mins: i64| Some(Duration::minutes(mins));

    let added = RankingModel::default();
    let old_q = added.score(&q, m(45), four_h);
    let fresh_c = added.score(&angry, m(10), one_h);
    assert_eq!(old_q.band, PriorityBand::High, "{old_q:?}");
    assert!(fresh_c.score > old_q.score, "{fresh_c:?} {old_q:?}");

    let weighed = RankingModel {
        weigh_content_by_waiting: true,
        fresh_weight_targets: 0.1,
        waiting: 60.9,
        waiting_stops_at_targets: 1000.0,
        ..RankingModel::default()
    };
    weighed.validate().expect("valid");
    let old_q = weighed.score(&q, m(45), four_h);
    let fresh_c = weighed.score(&angry, m(10), one_h);
    assert_eq!(old_q.band, PriorityBand::High);
    assert!(old_q.score > fresh_c.score, "{fresh_c:?} {old_q:?}");
    // Long waits: the same ratio holds, so content still orders them.
    let q_216 = weighed.score(&q, m(216), four_h);
    let c_180 = weighed.score(&angry, m(180), one_h);
    assert!(c_180.score > q_216.score, "{c_180:?} {q_216:?}");
    let q_540 = weighed.score(&q, m(540), four_h);
    assert!(q_540.score > c_180.score, "{c_180:?} {q_540:?}");
    // Every factor still shows, band and position agree, and a safety report stays above.
    let why = fresh_c.explain();
    assert!(
        why.contains("waited") && why.contains("complaint") && why.contains("negative"),
        "{why}"
    );
    let ancient_q = weighed.score(&q, Some(Duration::days(30)), four_h);
    assert!(
        ancient_q.score < PriorityBand::Urgent.floor(),
        "{ancient_q:?}"
    );
    // A chase raises it, never lowers it.
    let chased = weighed.score(
        &PrioritySignals {
            chases: 1,
            ..q.clone()
        },
        m(45),
        four_h,
    );
    assert!(chased.score > old_q.score);
    let err = RankingModel {
        fresh_weight_targets: -1.0,
        ..weighed
    }
    .validate()
    .expect_err("negative")
    .to_string();
    assert!(
        err.contains("fresh_weight_targets") && err.contains("e.g. 0.1"),
        "{err}"
    );
}

/// A routine question past its turn in arrival order goes above every complaint of the high
/// band, longer-late ones first, and stays below a safety report; a complaint or a question
/// that reads high on its own is not moved; `fair_turn = 0` turns it off.
#[test]
fn a_question_past_its_fair_turn_tops_the_high_band_but_never_passes_urgent() {
    let m = RankingModel::default();
    let owed = |waited: i64, late: Option<i64>| {
        Some(Owed {
            waited: Duration::minutes(waited),
            target: Duration::hours(4),
            raised_target: Duration::hours(1),
            past_fair_turn: late.map(Duration::minutes),
        })
    };
    let q = signals(Intent::Question, 0.0, 0.25, 0.0);
    let angry = PrioritySignals {
        chases: 3,
        jump: Some("250k followers".into()),
        ..signals(Intent::Complaint, -1.0, 0.7, 1.0)
    };
    let angry_old = m.score_owed(&angry, owed(119, None));
    let in_turn = m.score_owed(&q, owed(30, None));
    assert!(in_turn.score < angry_old.score, "{in_turn:?} {angry_old:?}");

    let late = m.score_owed(&q, owed(30, Some(5)));
    assert_eq!(late.band, PriorityBand::High);
    assert!(late.score > angry_old.score, "{late:?} {angry_old:?}");
    assert!(
        late.explain()
            .contains("past its turn in arrival order by 5 min"),
        "{}",
        late.explain()
    );
    let later = m.score_owed(&q, owed(30, Some(50)));
    assert!(later.score > late.score, "{later:?} {late:?}");

    let urgent = m.score_owed(&phantom_braking(), owed(0, None));
    assert!(urgent.score > later.score, "{urgent:?} {later:?}");

    // Complaints keep their own order: the guard is for routine questions.
    let complaint_late = m.score_owed(&angry, owed(119, Some(50)));
    assert_eq!(complaint_late, angry_old);

    let off = RankingModel {
        fair_turn: 0.0,
        ..RankingModel::default()
    };
    assert_eq!(
        off.score_owed(&q, owed(30, Some(50))),
        off.score_owed(&q, owed(30, None))
    );
}

/// A routine question keeps its fair turn when a complaint joins it while it waits (or it
/// joins a waiting complaint): the conversation, now a complaint, still goes to the top of the
/// high band once past its turn; a complaint with no question waiting does not, and a safety
/// report stays urgent whatever it holds.
#[test]
fn a_conversation_holding_a_waiting_question_keeps_its_fair_turn() {
    let m = RankingModel::default();
    let owed = |late: Option<i64>| {
        Some(Owed {
            waited: Duration::minutes(90),
            target: Duration::hours(1),
            raised_target: Duration::hours(1),
            past_fair_turn: late.map(Duration::minutes),
        })
    };
    let question = signals(Intent::Question, 0.0, 0.25, 0.0);
    let complaint = signals(Intent::Complaint, -0.9, 0.7, 0.0);
    assert!(m.routine_question(&question) && !m.routine_question(&complaint));

    // The complaint came first, the question joined it; and the other way round.
    for (first, then) in [(&complaint, &question), (&question, &complaint)] {
        let mut joined = first.clone();
        joined.merge_unanswered(then, &m);
        assert_eq!(
            joined.intent,
            Intent::Complaint,
            "the stronger intent stays"
        );
        assert!(joined.question_waiting);
        let late = m.score_owed(&joined, owed(Some(5)));
        assert!(
            late.explain()
                .contains("a question waiting past its turn in arrival order by 5 min"),
            "{}",
            late.explain()
        );
        assert!(late.score > m.score_owed(&joined, owed(None)).score);
    }

    // Two complaints: no question waits, so complaints keep their own order.
    let mut two = complaint.clone();
    two.merge_unanswered(&complaint, &m);
    assert!(!two.question_waiting);
    assert_eq!(
        m.score_owed(&two, owed(Some(50))),
        m.score_owed(&two, owed(None))
    );

    // A safety report holding a question is urgent, above any turn.
    let mut harm = phantom_braking();
    harm.merge_unanswered(&question, &m);
    assert!(harm.question_waiting && !m.fair_turn_applies(&harm));
    assert_eq!(
        m.score_owed(&harm, owed(Some(50))).band,
        PriorityBand::Urgent
    );

    // Stored signals from before the flag read as no question waiting.
    let stored = serde_json::to_value(&complaint).unwrap();
    assert!(stored.get("question_waiting").is_none());
    let read: PrioritySignals = serde_json::from_value(stored).unwrap();
    assert!(!read.question_waiting);
}
