//! Holidays from an iCalendar (.ics) file: the days and hours a team is closed.
//!
//! The `icalendar` crate unfolds and splits the file; the values are read here because
//! holiday feeds in the wild often write `DTSTART:20241225` without `VALUE=DATE`, which the
//! crate does not read as a date. Supported: `VEVENT` with `DTSTART` (DATE or DATE-TIME: UTC,
//! `TZID=` or floating in the team's zone), `DTEND` or `DURATION` (multi-day events close every
//! day they cover), `RRULE:FREQ=YEARLY` (with `INTERVAL`, `COUNT`, `UNTIL`, and one `BYMONTH`
//! with one `BYMONTHDAY` or one `BYDAY` such as `4TH` or `-1MO`), `EXDATE`, `STATUS:CANCELLED`.
//! Anything else is reported as a warning, never guessed at.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use icalendar::{Calendar, Component};
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// Events longer than this are taken for mistakes (a DTEND years away), not holidays.
const MAX_EVENT_DAYS: i64 = 366;

/// What a holiday calendar closes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HolidayCalendar {
    /// Whole local days off.
    pub days: BTreeSet<NaiveDate>,
    /// Timed closures (`[from, until)`, UTC), e.g. an afternoon off.
    pub closures: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// What was skipped and why, for `earshot config check`.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    #[error("cannot read the holiday calendar: {0}")]
    Parse(String),
    #[error("the holiday calendar window {0}..={1} is empty or longer than 500 years")]
    Window(i32, i32),
}

/// A DTSTART/DTEND value: a date, or a local or absolute time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    Date(NaiveDate),
    Local(NaiveDateTime, Tz),
    Utc(DateTime<Utc>),
}

/// The instant a local wall-clock time names; in a DST gap, moved on by the gap (02:30 → 03:30);
/// when the clock falls back, the first of the two.
pub(crate) fn local_instant(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
        // In a DST gap: the wall clock jumps, so does the closure.
        LocalResult::None => {
            match tz.from_local_datetime(&t.checked_add_signed(Duration::hours(1)).unwrap_or(t)) {
                LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
                LocalResult::None => Utc.from_utc_datetime(&t),
            }
        }
    }
}

fn read_when(prop: &icalendar::Property, team_tz: Tz, warnings: &mut Vec<String>) -> Option<When> {
    let value = prop.value().trim();
    let is_date = prop
        .params()
        .get("VALUE")
        .is_some_and(|v| v.value().eq_ignore_ascii_case("DATE"))
        || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
    if is_date {
        return NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()
            .map(When::Date);
    }
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .ok()
            .map(|t| When::Utc(Utc.from_utc_datetime(&t)));
    }
    let local = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    let tz = match prop.params().get("TZID") {
        Some(tzid) => {
            let name = tzid.value().trim_matches('"');
            match name.parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    warnings.push(format!(
                        "unknown TZID {name:?}: read {value} in the team's zone {team_tz}"
                    ));
                    team_tz
                }
            }
        }
        None => team_tz,
    };
    Some(When::Local(local, tz))
}

/// `P1D`, `PT4H30M`, `P2W`: the forms holiday feeds use.
fn read_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    for c in s.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    if !number.is_empty() {
        return None;
    }
    Some(if negative { -total } else { total })
}

/// The yearly recurrence this module understands.
#[derive(Debug, Clone, Default, PartialEq)]
struct Yearly {
    interval: i32,
    count: Option<u32>,
    until: Option<NaiveDate>,
    month: Option<u32>,
    month_day: Option<u32>,
    /// `(n, weekday)`: the n-th (negative: from the end) weekday of the month.
    nth_weekday: Option<(i32, Weekday)>,
}

fn read_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn read_rrule(rule: &str) -> Result<Yearly, String> {
    let mut yearly = Yearly {
        interval: 1,
        ..Yearly::default()
    };
    let mut freq = None;
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("RRULE part {part:?} has no value"))?;
        let value = value.trim();
        let bad = || format!("RRULE {key}={value} is not understood");
        match key.trim().to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(value.to_ascii_uppercase()),
            "INTERVAL" => {
                yearly.interval = value.parse().ok().filter(|i| *i >= 1).ok_or_else(bad)?;
            }
            "COUNT" => yearly.count = Some(value.parse().map_err(|_| bad())?),
            "UNTIL" => {
                let date = value.get(..8).ok_or_else(bad)?;
                yearly.until = Some(NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?);
            }
            "BYMONTH" => {
                yearly.month = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|m| (1..=12).contains(m))
                        .ok_or_else(bad)?,
                );
            }
            "BYMONTHDAY" => {
                yearly.month_day = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or_else(bad)?,
                );
            }
            "BYDAY" => {
                let day = value.get(value.len().saturating_sub(2)..).ok_or_else(bad)?;
                let weekday = read_weekday(&day.to_ascii_uppercase()).ok_or_else(bad)?;
                let n = &value[..value.len() - 2];
                let n: i32 = n.trim_start_matches('+').parse().map_err(|_| bad())?;
                if n == 0 || n.abs() > 5 {
                    return Err(bad());
                }
                yearly.nth_weekday = Some((n, weekday));
            }
            "WKST" => {}
            _ => return Err(bad()),
        }
    }
    match freq.as_deref() {
        Some("YEARLY") => {}
        Some(other) => return Err(format!("RRULE FREQ={other} is not supported (only YEARLY)")),
        None => return Err("RRULE without FREQ".into()),
    }
    if yearly.nth_weekday.is_some() && yearly.month_day.is_some() {
        return Err("RRULE with both BYDAY and BYMONTHDAY is not supported".into());
    }
    if (yearly.nth_weekday.is_some() || yearly.month_day.is_some()) && yearly.month.is_none() {
        return Err("RRULE BYDAY/BYMONTHDAY needs a BYMONTH".into());
    }
    Ok(yearly)
}

/// The n-th weekday of a month (n < 0 counts from the end), if it exists.
fn nth_weekday(year: i32, month: u32, n: i32, weekday: Weekday) -> Option<NaiveDate> {
    if n > 0 {
        let n = u8::try_from(n).ok()?;
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
    } else {
        let next_month = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)?
        };
        let last = next_month.pred_opt()?;
        let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let first_from_end = last.checked_sub_signed(Duration::days(i64::from(back)))?;
        let date = first_from_end.checked_sub_signed(Duration::weeks(i64::from(-n - 1)))?;
        (date.month() == month).then_some(date)
    }
}

/// The start dates of a recurring event's occurrences in `years` (the event's own date first).
fn occurrences(
    start: NaiveDate,
    rule: Option<&Yearly>,
    years: &RangeInclusive<i32>,
) -> Vec<NaiveDate> {
    let Some(rule) = rule else {
        return if years.contains(&start.year()) {
            vec![start]
        } else {
            vec![]
        };
    };
    let mut dates = Vec::new();
    let mut counted = 0u32;
    let mut year = start.year();
    while year <= *years.end() {
        let date = match (rule.month, rule.month_day, rule.nth_weekday) {
            (Some(m), _, Some((n, wd))) => nth_weekday(year, m, n, wd),
            (Some(m), Some(d), None) => NaiveDate::from_ymd_opt(year, m, d),
            (Some(m), None, None) => NaiveDate::from_ymd_opt(year, m, start.day()),
            // Plain yearly: the same month and day; 29 February only in leap years (RFC 5545).
            (None, _, _) => NaiveDate::from_ymd_opt(year, start.month(), start.day()),
        };
        if let Some(date) = date.filter(|d| *d >= start) {
            if rule.until.is_some_and(|u| date > u) {
                break;
            }
            if rule.count.is_some_and(|c| counted >= c) {
                break;
            }
            counted += 1;
            if years.contains(&year) {
                dates.push(date);
            }
        }
        year = match year.checked_add(rule.interval) {
            Some(y) => y,
            None => break,
        };
    }
    dates
}

/// Reads the closures in `ics` for the years in `years`; floating times are in `team_tz`.
pub fn parse_ics(
    ics: &str,
    team_tz: Tz,
    years: RangeInclusive<i32>,
) -> Result<HolidayCalendar, IcsError> {
    let (first, last) = (*years.start(), *years.end());
    if last < first || last - first > 500 {
        return Err(IcsError::Window(first, last));
    }
    // The parser is lenient enough to read any text as an empty calendar: insist on one.
    let body = ics.trim_start_matches('\u{feff}').trim_start();
    if !body
        .get(..15)
        .is_some_and(|head| head.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(IcsError::Parse(
            "it does not start with BEGIN:VCALENDAR".into(),
        ));
    }
    let calendar: Calendar = body.parse().map_err(IcsError::Parse)?;
    let mut out = HolidayCalendar::default();
    for event in calendar.components.iter().filter_map(|c| c.as_event()) {
        let summary = event
            .property_value("SUMMARY")
            .unwrap_or("(no summary)")
            .to_string();
        if event
            .property_value("STATUS")
            .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
        {
            continue;
        }
        let props = event.properties();
        let Some(start) = props
            .get("DTSTART")
            .and_then(|p| read_when(p, team_tz, &mut out.warnings))
        else {
            out.warnings
                .push(format!("{summary:?}: no readable DTSTART, skipped"));
            continue;
        };
        let end = props
            .get("DTEND")
            .and_then(|p| read_when(p, team_tz, &mut out.warnings));
        let length = match (start, end) {
            (When::Date(a), Some(When::Date(b))) => (b - a).max(Duration::days(1)),
            (When::Date(_), None) => event
                .property_value("DURATION")
                .and_then(read_duration)
                .filter(|d| *d >= Duration::days(1))
                .unwrap_or(Duration::days(1)),
            (_, Some(end)) => instant(end, team_tz) - instant(start, team_tz),
            (_, None) => event
                .property_value("DURATION")
                .and_then(read_duration)
                .unwrap_or(Duration::zero()),
        };
        if length <= Duration::zero() {
            out.warnings
                .push(format!("{summary:?}: ends when it starts, closes nothing"));
            continue;
        }
        if length > Duration::days(MAX_EVENT_DAYS) {
            // A closure longer than a year is a broken DTEND, not a holiday.
            out.warnings.push(format!(
                "{summary:?}: lasts more than {MAX_EVENT_DAYS} days, skipped"
            ));
            continue;
        }
        let rule = match event.property_value("RRULE").map(read_rrule) {
            Some(Ok(rule)) => Some(rule),
            Some(Err(why)) => {
                out.warnings
                    .push(format!("{summary:?}: {why}; only its first date is used"));
                None
            }
            None => None,
        };
        let excluded: BTreeSet<NaiveDate> = event
            .multi_properties()
            .get("EXDATE")
            .into_iter()
            .flatten()
            .flat_map(|p| p.value().split(',').map(str::trim).collect::<Vec<_>>())
            .filter_map(|v| {
                v.get(..8)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
            })
            .collect();
        let start_date = match start {
            When::Date(d) => d,
            When::Local(t, _) => t.date(),
            When::Utc(t) => t.with_timezone(&team_tz).date_naive(),
        };
        for date in occurrences(start_date, rule.as_ref(), &years) {
            if excluded.contains(&date) {
                continue;
            }
            match start {
                When::Date(_) => {
                    let days = length.num_days();
                    out.days.extend((0..days).filter_map(|i| {
                        date.checked_add_days(chrono::Days::new(u64::try_from(i).ok()?))
                    }));
                }
                When::Local(t, tz) => {
                    let from = local_instant(tz, date.and_time(t.time()));
                    if let Some(until) = from.checked_add_signed(length) {
                        out.closures.push((from, until));
                    }
                }
                When::Utc(t) => {
                    // Recurrences of a UTC time keep the UTC wall time, as RFC 5545 says.
                    let from = t.checked_add_signed(date - start_date);
                    if let Some((from, until)) =
                        from.and_then(|f| Some((f, f.checked_add_signed(length)?)))
                    {
                        out.closures.push((from, until));
                    }
                }
            }
        }
    }
    out.closures.sort_unstable();
    Ok(out)
}

fn instant(w: When, team_tz: Tz) -> DateTime<Utc> {
    match w {
        When::Date(d) => local_instant(team_tz, d.and_time(chrono::NaiveTime::MIN)),
        When::Local(t, tz) => local_instant(tz, t),
        When::Utc(t) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date"))
    }

    fn cal(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
    }

    fn parse(events: &str, years: RangeInclusive<i32>) -> HolidayCalendar {
        parse_ics(&cal(events), chrono_tz::Europe::Copenhagen, years)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn date_and_multi_day_events_close_whole_days() {
        let h = parse(
            "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Juledag\r\nDTSTART;VALUE=DATE:20241225\r\nDTEND;VALUE=DATE:20241227\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Grundlovsdag\r\nDTSTART:20240605\r\nEND:VEVENT\r\n",
            2024..=2024,
        );
        assert_eq!(
            h.days,
            [d(2024, 6, 5), d(2024, 12, 25), d(2024, 12, 26)].into()
        );
        assert!(h.closures.is_empty());
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    }

    #[test]
    fn yearly_rule_repeats_within_the_window_and_honours_count_until_and_exdate() {
        let h = parse(
            "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Nytår\r\nDTSTART;VALUE=DATE:20200101\r\nRRULE:FREQ=YEARLY\r\nEXDATE;VALUE=DATE:20230101\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Jubilee\r\nDTSTART;VALUE=DATE:20210704\r\nRRULE:FREQ=YEARLY;COUNT=2\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nSUMMARY:Leap\r\nDTSTART;VALUE=DATE:20200229\r\nRRULE:FREQ=YEARLY;UNTIL=20250101\r\nEND:VEVENT\r\n",
            2022..=2026,
        );
        let expect: BTreeSet<NaiveDate> = [
            d(2022, 1, 1),
            d(2024, 1, 1),
            d(2025, 1, 1),
            d(2026, 1, 1),
            // COUNT=2 is 2021 and 2022.
            d(2022, 7, 4),
            // 29 February only in leap years, and UNTIL stops after 2024.
            d(2024, 2, 29),
        ]
        .into();
        assert_eq!(h.days, expect);
    }

    #[test]
    fn nth_weekday_rules_find_us_holidays() {
        let h = parse(
            "BEGIN:VEVENT\r\nUID:t\r\nSUMMARY:Thanksgiving\r\nDTSTART;VALUE=DATE:20201126\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:m\r\nSUMMARY:Memorial Day\r\nDTSTART;VALUE=DATE:20200525\r\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO\r\nEND:VEVENT\r\n",
            2024..=2025,
        );
        let expect: BTreeSet<NaiveDate> = [
            d(2024, 11, 28),
            d(2025, 11, 27),
            d(2024, 5, 27),
            d(2025, 5, 26),
        ]
        .into();
        assert_eq!(h.days, expect);
    }

    #[test]
    fn timed_events_become_closures_in_their_zone() {
        // Christmas Eve afternoon off in Copenhagen, and a UTC maintenance window.
        let h = parse(
            "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Juleaften\r\nDTSTART;TZID=Europe/Copenhagen:20241224T120000\r\nDTEND;TZID=Europe/Copenhagen:20241225T000000\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Offsite\r\nDTSTART:20240612T080000Z\r\nDURATION:PT4H\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:c\r\nSUMMARY:Floating\r\nDTSTART:20240101T090000\r\nDTEND:20240101T100000\r\nEND:VEVENT\r\n",
            2024..=2024,
        );
        let utc = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            h.closures,
            vec![
                (utc("2024-01-01T08:00:00Z"), utc("2024-01-01T09:00:00Z")),
                (utc("2024-06-12T08:00:00Z"), utc("2024-06-12T12:00:00Z")),
                (utc("2024-12-24T11:00:00Z"), utc("2024-12-24T23:00:00Z")),
            ]
        );
        assert!(h.days.is_empty());
    }

    #[test]
    fn folded_lines_lf_endings_and_unknown_things_are_handled() {
        let text = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nSUMMARY:A very long\n  name\nDTSTART;VALUE=DATE:20240501\nRRULE:FREQ=MONTHLY\nEND:VEVENT\nBEGIN:VEVENT\nUID:y\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:20240502\nEND:VEVENT\nBEGIN:VEVENT\nUID:z\nDTSTART;TZID=W. Europe Standard Time:20240503T090000\nDTEND;TZID=W. Europe Standard Time:20240503T100000\nEND:VEVENT\nEND:VCALENDAR\n";
        let h = parse_ics(text, chrono_tz::Europe::Copenhagen, 2024..=2025)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.days, [d(2024, 5, 1)].into());
        assert_eq!(h.closures.len(), 1);
        assert_eq!(h.warnings.len(), 3, "{:?}", h.warnings);
        assert!(h.warnings.iter().any(|w| w.contains("FREQ=MONTHLY")));
        assert!(h
            .warnings
            .iter()
            .any(|w| w.contains("W. Europe Standard Time")));
    }

    #[test]
    fn broken_files_and_windows_are_errors() {
        assert!(parse_ics("not a calendar", chrono_tz::UTC, 2024..=2024).is_err());
        assert_eq!(
            parse_ics(&cal(""), chrono_tz::UTC, RangeInclusive::new(2024, 2023)),
            Err(IcsError::Window(2024, 2023))
        );
    }

    #[test]
    fn absurd_events_are_skipped_with_a_warning() {
        let h = parse(
            "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Forever\r\nDTSTART;VALUE=DATE:20240101\r\nDTEND;VALUE=DATE:99991231\r\nEND:VEVENT\r\n\
             BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Backwards\r\nDTSTART:20240601T100000Z\r\nDTEND:20240601T090000Z\r\nEND:VEVENT\r\n",
            2024..=2024,
        );
        assert!(h.days.is_empty() && h.closures.is_empty());
        assert_eq!(h.warnings.len(), 2, "{:?}", h.warnings);
        assert!(h.warnings[0].contains("more than 366 days"));
    }

    #[test]
    fn durations() {
        assert_eq!(read_duration("P1D"), Some(Duration::days(1)));
        assert_eq!(read_duration("PT4H30M"), Some(Duration::minutes(270)));
        assert_eq!(read_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(read_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(read_duration("P1H"), None);
        assert_eq!(read_duration("PT4"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(body in "[A-Z:;=0-9TZ\\r\\n ,/-]{0,200}") {
            let _ = parse_ics(&cal(&format!("BEGIN:VEVENT\r\n{body}\r\nEND:VEVENT\r\n")), chrono_tz::UTC, 2000..=2100);
            let _ = parse_ics(&body, chrono_tz::UTC, 2000..=2100);
        }

        #[test]
        fn yearly_occurrences_fall_on_the_same_day(year in 1990i32..2100, month in 1u32..=12, day in 1u32..=28) {
            let start = d(year, month, day);
            let rule = Yearly { interval: 1, ..Yearly::default() };
            let dates = occurrences(start, Some(&rule), &(2000..=2120));
            for date in &dates {
                proptest::prop_assert_eq!((date.month(), date.day()), (month, day));
            }
            proptest::prop_assert_eq!(dates.len() as i32, 2120 - year.max(2000) + 1);
        }
    }
}
