//! The response clock: when an answer is due, in calendar time or in business hours.
//!
//! A Friday 20:47 post with a 30-minute target is due at 21:17 when the team covers
//! evenings, and at 09:30 on Monday when it covers only office hours.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::priority::PriorityBand;

const DAY: u32 = 86_400;

/// Covered hours: per weekday (Monday first) a list of `[start, end)` ranges in seconds
/// since local midnight, in one time zone, minus holidays and closures.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub tz: Tz,
    /// Boxed so that `SlaClock::Calendar` stays small.
    pub week: Box<[Vec<(u32, u32)>; 7]>,
    /// Whole local days with no coverage (a set: looked up for every day a clock walks).
    pub holidays: BTreeSet<NaiveDate>,
    /// Closures shorter or longer than whole days (a calendar's timed events, e.g. an
    /// afternoon off on 24 December): UTC, sorted and merged by [`BusinessHours::close`].
    closures: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Copenhagen")]
    TimeZone(String),
    #[error("cannot read hours {0:?}: write them as 09:00-17:00 (several separated by commas; 22:00-06:00 wraps past midnight)")]
    Range(String),
    #[error("unknown weekday {0:?}: use mon, tue, wed, thu, fri, sat, sun (or mon-fri)")]
    Weekday(String),
}

fn parse_clock(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if h > 24 || m > 59 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 3600 + m * 60)
}

fn weekday_index(s: &str) -> Option<usize> {
    let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let s = s.trim().to_ascii_lowercase();
    names.iter().position(|n| s.starts_with(n))
}

/// Sorts ranges and merges overlapping or touching ones, so no minute counts twice.
fn merge_ranges(day: &mut Vec<(u32, u32)>) {
    day.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(day.len());
    for &(a, b) in day.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    *day = merged;
}

/// Adds without panicking near the ends of time (hostile or broken timestamps).
fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Business hours are only computed for plausible times; anything else (a broken or hostile
/// timestamp) falls back to calendar arithmetic instead of overflowing a time zone conversion.
fn plausible(t: DateTime<Utc>) -> bool {
    (1900..=9000).contains(&t.year())
}

impl BusinessHours {
    /// Every day, all day: business time equals calendar time.
    pub fn always(tz: Tz) -> Self {
        BusinessHours {
            tz,
            week: Box::new(std::array::from_fn(|_| vec![(0, DAY)])),
            holidays: BTreeSet::new(),
            closures: vec![],
        }
    }

    /// Adds whole-day holidays.
    pub fn with_holidays(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(days);
        self
    }

    /// Adds closures `[from, until)`; overlapping ones are merged so no minute is removed twice.
    pub fn close(
        mut self,
        spans: impl IntoIterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    ) -> Self {
        self.closures
            .extend(spans.into_iter().filter(|(a, b)| a < b));
        self.closures.sort_unstable();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            Vec::with_capacity(self.closures.len());
        for &(a, b) in &self.closures {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.closures = merged;
        self
    }

    /// The closures, sorted and merged.
    pub fn closures(&self) -> &[(DateTime<Utc>, DateTime<Utc>)] {
        &self.closures
    }

    /// `[open, close)` minus the closures that overlap it.
    fn open_parts(
        &self,
        open: DateTime<Utc>,
        close: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        // Closures are sorted and disjoint, so their ends are sorted too.
        let first = self.closures.partition_point(|&(_, end)| end <= open);
        let mut parts = Vec::with_capacity(1);
        let mut from = open;
        for &(a, b) in &self.closures[first..] {
            if a >= close {
                break;
            }
            if a > from {
                parts.push((from, a));
            }
            from = from.max(b);
        }
        if from < close {
            parts.push((from, close));
        }
        parts
    }

    /// Builds hours from `("mon-fri", "09:00-17:00")` style pairs.
    pub fn parse(
        tz: &str,
        days: &[(&str, &str)],
        holidays: &[NaiveDate],
    ) -> Result<Self, HoursError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| HoursError::TimeZone(tz.to_string()))?;
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (day_spec, ranges) in days {
            let day_list: Vec<usize> = match day_spec.split_once('-') {
                Some((a, b)) => {
                    let a = weekday_index(a)
                        .ok_or_else(|| HoursError::Weekday(day_spec.to_string()))?;
                    let b = weekday_index(b)
                        .ok_or_else(|| HoursError::Weekday(day_spec.to_string()))?;
                    let mut v = vec![];
                    let mut d = a;
                    loop {
                        v.push(d);
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                    v
                }
                None => vec![weekday_index(day_spec)
                    .ok_or_else(|| HoursError::Weekday(day_spec.to_string()))?],
            };
            for range in ranges.split(',').filter(|r| !r.trim().is_empty()) {
                let (a, b) = range
                    .split_once('-')
                    .ok_or_else(|| HoursError::Range(range.to_string()))?;
                let a = parse_clock(a).ok_or_else(|| HoursError::Range(range.to_string()))?;
                let b = parse_clock(b).ok_or_else(|| HoursError::Range(range.to_string()))?;
                for &d in &day_list {
                    if a < b {
                        week[d].push((a, b));
                    } else if a > b {
                        // Wraps past midnight: the tail belongs to the next day.
                        week[d].push((a, DAY));
                        week[(d + 1) % 7].push((0, b));
                    } else {
                        return Err(HoursError::Range(range.to_string()));
                    }
                }
            }
        }
        for day in week.iter_mut() {
            merge_ranges(day);
        }
        Ok(BusinessHours {
            tz,
            week: Box::new(week),
            holidays: holidays.iter().copied().collect(),
            closures: vec![],
        })
    }

    fn ranges_on(&self, date: NaiveDate) -> &[(u32, u32)] {
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.week[date.weekday().num_days_from_monday() as usize]
    }

    pub(crate) fn has_any_hours(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }

    /// The UTC instant of a local wall-clock time; in a DST gap, the first valid instant after.
    fn instant(&self, date: NaiveDate, secs: u32) -> DateTime<Utc> {
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let local = midnight
            .checked_add_signed(Duration::seconds(i64::from(secs)))
            .unwrap_or(midnight);
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // Skipped by a DST change: the clock jumps, so does coverage.
                let later = local
                    .checked_add_signed(Duration::hours(1))
                    .unwrap_or(local);
                match self.tz.from_local_datetime(&later) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                    LocalResult::None => Utc.from_utc_datetime(&local),
                }
            }
        }
    }

    /// Covered intervals, in UTC, from the local day holding `from` onwards (at most `days`).
    fn intervals_from(
        &self,
        from: DateTime<Utc>,
        days: u32,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let start_date = from.with_timezone(&self.tz).date_naive();
        (0..days).flat_map(move |i| {
            let Some(date) = start_date.checked_add_days(chrono::Days::new(u64::from(i))) else {
                return Vec::new();
            };
            self.ranges_on(date)
                .iter()
                .flat_map(move |&(a, b)| {
                    self.open_parts(self.instant(date, a), self.instant(date, b))
                })
                .collect::<Vec<_>>()
        })
    }
}

/// How response time is counted.
#[derive(Debug, Clone, PartialEq)]
pub enum SlaClock {
    /// Wall-clock time: nights and weekends count.
    Calendar,
    /// Only covered hours count.
    Business(BusinessHours),
}

/// Looking further than this for covered time means the hours are effectively empty.
const HORIZON_DAYS: u32 = 400;

impl SlaClock {
    /// When a response is due if the clock starts at `start` with `target` to go.
    pub fn due(&self, start: DateTime<Utc>, target: Duration) -> DateTime<Utc> {
        let hours = match self {
            SlaClock::Calendar => return add(start, target),
            SlaClock::Business(h) if h.has_any_hours() && plausible(start) => h,
            SlaClock::Business(_) => return add(start, target),
        };
        let mut remaining = target;
        for (open, close) in hours.intervals_from(start, HORIZON_DAYS) {
            if close <= start {
                continue;
            }
            let from = open.max(start);
            let available = close - from;
            if remaining <= available {
                return from + remaining;
            }
            remaining -= available;
        }
        add(start, target)
    }

    /// Covered time between two instants (zero if `end` is before `start`).
    pub fn elapsed(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
        if end <= start {
            return Duration::zero();
        }
        let hours = match self {
            SlaClock::Business(h) if h.has_any_hours() && plausible(start) && plausible(end) => h,
            _ => return end.signed_duration_since(start),
        };
        let days = u32::try_from((end - start).num_days() + 2)
            .unwrap_or(u32::MAX)
            .min(HORIZON_DAYS * 10);
        let mut total = Duration::zero();
        for (open, close) in hours.intervals_from(start, days) {
            if open >= end {
                break;
            }
            let a = open.max(start);
            let b = close.min(end);
            if b > a {
                total += b - a;
            }
        }
        total
    }

    /// The first covered instant at or after `at` (`at` itself when covered); `None` when
    /// nothing is covered within the horizon.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            SlaClock::Calendar => Some(at),
            SlaClock::Business(h) if !h.has_any_hours() || !plausible(at) => None,
            SlaClock::Business(h) => h
                .intervals_from(at, HORIZON_DAYS)
                .find(|&(_, close)| close > at)
                .map(|(open, _)| open.max(at)),
        }
    }

    /// The time zone the clock's hours are written in (UTC for calendar time).
    pub fn tz(&self) -> Tz {
        match self {
            SlaClock::Calendar => Tz::UTC,
            SlaClock::Business(h) => h.tz,
        }
    }

    /// Whether the team is on duty at this instant.
    pub fn is_covered(&self, at: DateTime<Utc>) -> bool {
        match self {
            SlaClock::Calendar => true,
            SlaClock::Business(_) if !plausible(at) => false,
            SlaClock::Business(h) => h
                .intervals_from(add(at, -Duration::days(1)), 3)
                .any(|(open, close)| open <= at && at < close),
        }
    }
}

/// First-response targets per priority band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseTargets {
    pub urgent_minutes: u32,
    pub high_minutes: u32,
    pub normal_minutes: u32,
    pub low_minutes: u32,
}

impl Default for ResponseTargets {
    fn default() -> Self {
        ResponseTargets {
            urgent_minutes: 30,
            high_minutes: 60,
            normal_minutes: 240,
            low_minutes: 1440,
        }
    }
}

impl ResponseTargets {
    pub fn target_for(&self, band: PriorityBand) -> Duration {
        let minutes = match band {
            PriorityBand::Urgent => self.urgent_minutes,
            PriorityBand::High => self.high_minutes,
            PriorityBand::Normal => self.normal_minutes,
            PriorityBand::Low => self.low_minutes,
        };
        Duration::minutes(i64::from(minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    fn hours(spec: &[(&str, &str)]) -> SlaClock {
        match BusinessHours::parse("America/Los_Angeles", spec, &[]) {
            Ok(h) => SlaClock::Business(h),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn friday_evening_post_is_due_the_same_evening_when_evenings_are_covered() {
        let clock = hours(&[("mon-sun", "08:00-23:00")]);
        // Friday 18 August 2017, 20:47 in California.
        let due = clock.due(at("2017-08-18T20:47:00-07:00"), Duration::minutes(30));
        assert_eq!(due, at("2017-08-18T21:17:00-07:00"));
    }

    #[test]
    fn friday_evening_post_waits_for_monday_with_office_hours() {
        let clock = hours(&[("mon-fri", "09:00-17:00")]);
        let due = clock.due(at("2017-08-18T20:47:00-07:00"), Duration::minutes(30));
        assert_eq!(due, at("2017-08-21T09:30:00-07:00"));
    }

    #[test]
    fn calendar_clock_counts_nights() {
        let due = SlaClock::Calendar.due(at("2017-08-18T23:50:00Z"), Duration::minutes(30));
        assert_eq!(due, at("2017-08-19T00:20:00Z"));
    }

    #[test]
    fn target_spanning_closing_time_continues_next_open_day() {
        let clock = hours(&[("mon-fri", "09:00-17:00")]);
        // Thursday 16:45 + 1h: 15 minutes Thursday, 45 minutes Friday morning.
        let due = clock.due(at("2017-08-17T16:45:00-07:00"), Duration::hours(1));
        assert_eq!(due, at("2017-08-18T09:45:00-07:00"));
    }

    #[test]
    fn holidays_are_skipped() {
        let monday = NaiveDate::from_ymd_opt(2017, 8, 21).unwrap_or_default();
        let h = BusinessHours::parse(
            "America/Los_Angeles",
            &[("mon-fri", "09:00-17:00")],
            &[monday],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let due = SlaClock::Business(h).due(at("2017-08-18T20:47:00-07:00"), Duration::minutes(30));
        assert_eq!(due, at("2017-08-22T09:30:00-07:00"));
    }

    #[test]
    fn night_shift_wraps_midnight() {
        let clock = hours(&[("mon-sun", "22:00-06:00")]);
        let due = clock.due(at("2017-08-18T05:50:00-07:00"), Duration::minutes(30));
        // 10 minutes before 06:00, the rest from 22:00.
        assert_eq!(due, at("2017-08-18T22:20:00-07:00"));
    }

    #[test]
    fn daylight_saving_change_is_counted_in_real_time() {
        // Copenhagen springs forward on 26 March 2017 at 02:00 → 03:00.
        let h = BusinessHours::parse("Europe/Copenhagen", &[("mon-sun", "00:00-24:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let clock = SlaClock::Business(h);
        let start = at("2017-03-26T01:30:00+01:00");
        let due = clock.due(start, Duration::hours(1));
        assert_eq!(due, start + Duration::hours(1));
    }

    #[test]
    fn elapsed_counts_only_covered_time() {
        let clock = hours(&[("mon-fri", "09:00-17:00")]);
        let e = clock.elapsed(
            at("2017-08-18T16:00:00-07:00"),
            at("2017-08-21T10:00:00-07:00"),
        );
        assert_eq!(e, Duration::hours(2));
        assert!(!clock.is_covered(at("2017-08-19T12:00:00-07:00")));
        assert!(clock.is_covered(at("2017-08-18T12:00:00-07:00")));
    }

    #[test]
    fn overlapping_ranges_count_once() {
        let clock = hours(&[("mon-fri", "09:00-17:00"), ("fri", "16:00-20:00")]);
        let e = clock.elapsed(
            at("2017-08-18T16:00:00-07:00"),
            at("2017-08-18T17:00:00-07:00"),
        );
        assert_eq!(e, Duration::hours(1));
        let due = clock.due(at("2017-08-18T16:30:00-07:00"), Duration::minutes(60));
        assert_eq!(due, at("2017-08-18T17:30:00-07:00"));
    }

    #[test]
    fn absurd_timestamps_do_not_panic() {
        let clock = hours(&[("mon-fri", "09:00-17:00")]);
        let far = DateTime::<Utc>::MAX_UTC - Duration::minutes(5);
        assert_eq!(clock.due(far, Duration::hours(1)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            SlaClock::Calendar.due(far, Duration::hours(1)),
            DateTime::<Utc>::MAX_UTC
        );
        let _ = clock.is_covered(DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn bad_hours_explain_themselves() {
        assert!(matches!(
            BusinessHours::parse("Mars/Olympus", &[], &[]),
            Err(HoursError::TimeZone(_))
        ));
        assert!(matches!(
            BusinessHours::parse("UTC", &[("mon", "9-5")], &[]),
            Err(HoursError::Range(_))
        ));
        assert!(matches!(
            BusinessHours::parse("UTC", &[("caturday", "09:00-17:00")], &[]),
            Err(HoursError::Weekday(_))
        ));
    }

    fn copenhagen(spec: &[(&str, &str)], holidays: &[NaiveDate]) -> BusinessHours {
        BusinessHours::parse("Europe/Copenhagen", spec, holidays).unwrap_or_else(|e| panic!("{e}"))
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date"))
    }

    #[test]
    fn friday_2359_before_a_holiday_monday_waits_for_tuesday() {
        // Whit Monday, 20 May 2024, is a holiday in Denmark.
        let whit_monday = [date(2024, 5, 20)];
        let office = SlaClock::Business(copenhagen(&[("mon-fri", "09:00-17:00")], &whit_monday));
        let friday = at("2024-05-17T23:59:00+02:00");
        assert_eq!(
            office.due(friday, Duration::hours(1)),
            at("2024-05-21T10:00:00+02:00")
        );
        // Covered until midnight: one minute on Friday, the rest on Tuesday.
        let evenings = SlaClock::Business(copenhagen(&[("mon-fri", "08:00-24:00")], &whit_monday));
        assert_eq!(
            evenings.due(friday, Duration::minutes(30)),
            at("2024-05-21T08:29:00+02:00")
        );
        assert_eq!(
            evenings.elapsed(friday, at("2024-05-21T08:29:00+02:00")),
            Duration::minutes(30)
        );
    }

    #[test]
    fn new_york_office_hours_across_spring_forward() {
        // Clocks go from 02:00 EST to 03:00 EDT on Sunday 10 March 2024.
        let h = BusinessHours::parse("America/New_York", &[("mon-fri", "09:00-17:00")], &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let clock = SlaClock::Business(h);
        let friday = at("2024-03-08T16:30:00-05:00");
        let due = clock.due(friday, Duration::hours(1));
        assert_eq!(due, at("2024-03-11T09:30:00-04:00"));
        assert_eq!(due, at("2024-03-11T13:30:00Z"), "09:30 local is now UTC-4");
        assert_eq!(clock.elapsed(friday, due), Duration::hours(1));
    }

    #[test]
    fn new_york_fall_back_day_has_25_covered_hours() {
        let always = SlaClock::Business(BusinessHours::always(chrono_tz::America::New_York));
        let start = at("2024-11-03T00:00:00-04:00");
        let end = at("2024-11-04T00:00:00-05:00");
        assert_eq!(always.elapsed(start, end), Duration::hours(25));
        assert_eq!(
            always.due(start, Duration::hours(24)),
            at("2024-11-03T23:00:00-05:00")
        );
    }

    #[test]
    fn copenhagen_night_shift_is_shorter_in_spring_and_longer_in_autumn() {
        let nights = SlaClock::Business(copenhagen(&[("mon-sun", "22:00-06:00")], &[]));
        // 30→31 March 2024: 02:00 becomes 03:00, the night has 7 real hours.
        let spring = nights.elapsed(at("2024-03-30T12:00:00Z"), at("2024-03-31T12:00:00Z"));
        assert_eq!(spring, Duration::hours(7));
        // 26→27 October 2024: 03:00 becomes 02:00, the night has 9.
        let autumn = nights.elapsed(at("2024-10-26T12:00:00Z"), at("2024-10-27T12:00:00Z"));
        assert_eq!(autumn, Duration::hours(9));
        // A 30-minute target started at 01:50 CET on the spring night ends at 03:20 CEST.
        assert_eq!(
            nights.due(at("2024-03-31T01:50:00+01:00"), Duration::minutes(30)),
            at("2024-03-31T03:20:00+02:00")
        );
    }

    #[test]
    fn closures_remove_part_of_a_day() {
        let h = copenhagen(&[("mon-fri", "09:00-17:00")], &[]).close([(
            at("2024-06-07T12:00:00+02:00"),
            at("2024-06-07T17:00:00+02:00"),
        )]);
        let clock = SlaClock::Business(h);
        // Friday 11:30 + 1 h: 30 min before the afternoon off, 30 on Monday.
        assert_eq!(
            clock.due(at("2024-06-07T11:30:00+02:00"), Duration::hours(1)),
            at("2024-06-10T09:30:00+02:00")
        );
        assert!(!clock.is_covered(at("2024-06-07T13:00:00+02:00")));
        assert!(clock.is_covered(at("2024-06-07T11:00:00+02:00")));
    }

    #[test]
    fn next_open_finds_the_next_covered_minute() {
        let clock = SlaClock::Business(copenhagen(&[("mon-fri", "09:00-17:00")], &[]));
        assert_eq!(
            clock.next_open(at("2024-06-07T18:00:00+02:00")),
            Some(at("2024-06-10T09:00:00+02:00"))
        );
        let inside = at("2024-06-07T10:00:00+02:00");
        assert_eq!(clock.next_open(inside), Some(inside));
        assert_eq!(SlaClock::Calendar.next_open(inside), Some(inside));
        let never = SlaClock::Business(copenhagen(&[], &[]));
        assert_eq!(never.next_open(inside), None);
    }

    proptest::proptest! {
        #[test]
        fn closures_keep_due_and_elapsed_consistent(
            mins in 0i64..5_000,
            offset in 0i64..1_000_000,
            closures in proptest::collection::vec((0i64..1_000_000, 1i64..20_000), 0..6),
        ) {
            let base = at("2024-06-03T00:00:00Z");
            let h = copenhagen(&[("mon-fri", "09:00-17:00"), ("sat", "10:00-14:00")], &[])
                .close(closures.iter().map(|&(s, len)| {
                    (base + Duration::seconds(s), base + Duration::seconds(s + len * 10))
                }));
            let clock = SlaClock::Business(h);
            let start = base + Duration::seconds(offset);
            let due = clock.due(start, Duration::minutes(mins));
            proptest::prop_assert!(due >= start);
            proptest::prop_assert_eq!(clock.elapsed(start, due), Duration::minutes(mins));
        }
    }

    proptest::proptest! {
        #[test]
        fn due_is_never_before_start_plus_nothing(mins in 0i64..10_000, offset in 0i64..1_000_000) {
            let clock = hours(&[("mon-fri", "09:00-17:00")]);
            let start = at("2017-08-14T00:00:00Z") + Duration::seconds(offset);
            let due = clock.due(start, Duration::minutes(mins));
            proptest::prop_assert!(due >= start + Duration::minutes(mins).min(Duration::zero()));
            proptest::prop_assert!(due >= start);
            // Covered time between start and due is exactly the target.
            proptest::prop_assert_eq!(clock.elapsed(start, due), Duration::minutes(mins));
        }
    }
}
