//! The reference: response times computed from the raw files by a separate, simple path.
//!
//! Nothing here comes from earshot: no `earshot_*` crate, no chrono. Timestamps are read by
//! hand into Unix milliseconds (a civil-date formula), conversations are rebuilt from the
//! raw reply links with the rules earshot documents (a reply joins its parent's
//! conversation; a customer's new top-level post joins their conversation if it was active
//! in the last 24 hours; anything else opens one), and office hours are counted minute by
//! minute in New York time with the DST and holiday rules written out below. If earshot's
//! import, threading or clock drifted, the two paths would disagree.

use std::collections::HashMap;

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Days from 1970-01-01 to a civil date (proleptic Gregorian; Howard Hinnant's formula).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (the inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 0 = Monday … 6 = Sunday.
pub fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

fn number(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `2020-04-01T17:31:32.000Z` or `…+02:00` → Unix milliseconds.
pub fn rfc3339_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', ' '])?;
    let mut d = date.split('-');
    let (y, mo, da) = (number(d.next()?)?, number(d.next()?)?, number(d.next()?)?);
    let (clock, offset_ms) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        (c, sign * (number(oh)? * HOUR + number(om)? * MINUTE))
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.split(':');
    let (h, mi, se) = (number(t.next()?)?, number(t.next()?)?, number(t.next()?)?);
    let ms = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        number(&digits)?
    };
    Some(days_from_civil(y, mo, da) * DAY + h * HOUR + mi * MINUTE + se * SECOND + ms - offset_ms)
}

/// `Tue Oct 31 22:10:47 +0000 2017` (the TWCS `created_at`) → Unix milliseconds.
pub fn twcs_ms(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, month, day, clock, offset, year] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| x == month)? as i64 + 1;
    let mut t = clock.split(':');
    let (h, mi, se) = (number(t.next()?)?, number(t.next()?)?, number(t.next()?)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off = number(offset.get(1..)?)?;
    let offset_ms = sign * ((off / 100) * HOUR + (off % 100) * MINUTE);
    Some(
        days_from_civil(number(year)?, m, number(day)?) * DAY
            + h * HOUR
            + mi * MINUTE
            + se * SECOND
            - offset_ms,
    )
}

/// A tweet id's own time: milliseconds since 2010-11-04T01:42:54.657Z in the top bits.
pub fn snowflake_ms(id: &str) -> Option<i64> {
    let id: u64 = id.trim().parse().ok()?;
    Some(i64::try_from(id >> 22).ok()? + 1_288_834_974_657)
}

// ---------- the office: Mon–Fri 09:00–17:00 in New York, minus US federal holidays ----------

/// The `n`th (1-based) `weekday` (0 = Monday) of a month, or the last one when `n` is 0.
fn nth_weekday(year: i64, month: i64, wd: i64, n: i64) -> i64 {
    if n == 0 {
        let next = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        let last = next - 1;
        return last - (weekday(last) - wd).rem_euclid(7);
    }
    let first = days_from_civil(year, month, 1);
    first + (wd - weekday(first)).rem_euclid(7) + 7 * (n - 1)
}

/// US federal holidays as the replay's calendar lists them (no "observed" days): New Year,
/// MLK (3rd Monday of January), Presidents' Day (3rd Monday of February), Memorial Day (last
/// Monday of May), Independence Day, Labor Day (1st Monday of September), Thanksgiving (4th
/// Thursday of November) and the Friday after, Christmas.
pub fn us_holiday(days: i64) -> bool {
    let (y, m, d) = civil_from_days(days);
    let thanksgiving = nth_weekday(y, 11, 3, 4);
    (m == 1 && d == 1)
        || days == nth_weekday(y, 1, 0, 3)
        || days == nth_weekday(y, 2, 0, 3)
        || days == nth_weekday(y, 5, 0, 0)
        || (m == 7 && d == 4)
        || days == nth_weekday(y, 9, 0, 1)
        || days == thanksgiving
        || days == thanksgiving + 1
        || (m == 12 && d == 25)
}

/// New York's offset from UTC at a UTC instant: −4 h from the second Sunday of March 02:00
/// EST to the first Sunday of November 02:00 EDT (the rules since 2007), else −5 h.
pub fn new_york_offset_ms(utc_ms: i64) -> i64 {
    let (y, _, _) = civil_from_days(utc_ms.div_euclid(DAY));
    let starts = nth_weekday(y, 3, 6, 2) * DAY + 2 * HOUR + 5 * HOUR;
    let ends = nth_weekday(y, 11, 6, 1) * DAY + 2 * HOUR + 4 * HOUR;
    if (starts..ends).contains(&utc_ms) {
        -4 * HOUR
    } else {
        -5 * HOUR
    }
}

/// Whether the office is open at a UTC instant.
pub fn office_open(utc_ms: i64) -> bool {
    let local = utc_ms + new_york_offset_ms(utc_ms);
    let day = local.div_euclid(DAY);
    let minute_of_day = local.rem_euclid(DAY);
    weekday(day) < 5 && !us_holiday(day) && (9 * HOUR..17 * HOUR).contains(&minute_of_day)
}

/// Office milliseconds between two instants: whole minutes are walked one by one (an office
/// opens and closes on minute boundaries), the partial minutes at both ends are weighed by
/// whether the office is open then.
pub fn office_ms(start: i64, end: i64) -> i64 {
    if end <= start {
        return 0;
    }
    let first_whole =
        start.div_euclid(MINUTE) * MINUTE + if start % MINUTE == 0 { 0 } else { MINUTE };
    let last_whole = end.div_euclid(MINUTE) * MINUTE;
    if first_whole >= last_whole {
        return if office_open(start) { end - start } else { 0 };
    }
    let mut total = 0;
    if office_open(start) {
        total += first_whole - start;
    }
    let mut m = first_whole;
    while m < last_whole {
        // A closed stretch is skipped an hour at a time when the whole hour is closed.
        if m % HOUR == 0
            && m + HOUR <= last_whole
            && !office_open(m)
            && !office_open(m + HOUR - MINUTE)
        {
            m += HOUR;
            continue;
        }
        if office_open(m) {
            total += MINUTE;
        }
        m += MINUTE;
    }
    if office_open(last_whole) {
        total += end - last_whole;
    }
    total
}

// ---------- conversations from raw posts ----------

/// A post as the raw data gives it.
#[derive(Debug, Clone)]
pub struct RawPost {
    pub id: String,
    pub author: String,
    pub at_ms: i64,
    pub brand: bool,
    pub parent: Option<String>,
}

/// A conversation rebuilt from raw posts, named by the post that opened it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefConversation {
    pub root: String,
    /// The first brand account that answered in it.
    pub brand: Option<String>,
    pub opened_ms: i64,
    /// The first brand post at or after the opening, in milliseconds after it.
    pub first_response_ms: Option<i64>,
    /// The same, counting office time only.
    pub first_response_office_ms: Option<i64>,
}

/// A customer's new top-level post joins their conversation if it was active this recently.
pub const MERGE_WINDOW: i64 = DAY;

/// Rebuilds conversations: posts in time order (ties in the order given); a reply goes where
/// its parent went; a brand reply whose parent is not placed yet waits for it and joins when
/// it comes; a customer post with no placed parent joins the latest conversation the same
/// customer opened if it was active within [`MERGE_WINDOW`], else opens one.
pub fn conversations(mut posts: Vec<RawPost>) -> Vec<RefConversation> {
    // Stable: equal times keep the order given.
    posts.sort_by_key(|p| p.at_ms);
    let mut threads = Threads::default();
    for p in posts {
        threads.hear(p);
    }
    threads
        .built
        .into_iter()
        .map(|b| RefConversation {
            first_response_ms: b.first_answer.map(|a| a - b.opened),
            first_response_office_ms: b.first_answer.map(|a| office_ms(b.opened, a)),
            root: b.root,
            brand: b.brand,
            opened_ms: b.opened,
        })
        .collect()
}

struct Building {
    root: String,
    customer: String,
    opened: i64,
    last_activity: i64,
    brand: Option<String>,
    first_answer: Option<i64>,
}

#[derive(Default)]
struct Threads {
    built: Vec<Building>,
    /// Where each post went (`None`: a brand reply still waiting for its parent).
    placed: HashMap<String, Option<usize>>,
    latest_of_customer: HashMap<String, usize>,
    /// Brand replies waiting, by the parent they wait for.
    waiting: HashMap<String, Vec<RawPost>>,
}

impl Threads {
    fn hear(&mut self, p: RawPost) {
        if self.placed.contains_key(&p.id) {
            return;
        }
        let parent = p
            .parent
            .as_ref()
            .and_then(|id| self.placed.get(id).copied().flatten());
        let at = if p.brand {
            parent
        } else {
            let own = self
                .latest_of_customer
                .get(&p.author)
                .copied()
                .filter(|&c| p.at_ms - self.built[c].last_activity <= MERGE_WINDOW);
            Some(parent.or(own).unwrap_or_else(|| {
                self.built.push(Building {
                    root: p.id.clone(),
                    customer: p.author.clone(),
                    opened: p.at_ms,
                    last_activity: p.at_ms,
                    brand: None,
                    first_answer: None,
                });
                self.built.len() - 1
            }))
        };
        match at {
            Some(c) => self.join(c, p),
            None => {
                if let Some(parent) = p.parent.clone() {
                    self.waiting.entry(parent).or_default().push(p.clone());
                }
                self.placed.insert(p.id, None);
            }
        }
    }

    fn join(&mut self, c: usize, p: RawPost) {
        let b = &mut self.built[c];
        b.last_activity = b.last_activity.max(p.at_ms);
        if p.brand {
            if p.at_ms >= b.opened && b.first_answer.is_none() {
                b.first_answer = Some(p.at_ms);
            }
            if b.brand.is_none() {
                b.brand = Some(p.author.clone());
            }
        } else if b.customer == p.author {
            self.latest_of_customer.insert(p.author.clone(), c);
        }
        self.placed.insert(p.id.clone(), Some(c));
        // Replies that waited for this post join now, oldest first.
        if let Some(mut waiting) = self.waiting.remove(&p.id) {
            waiting.sort_by_key(|w| w.at_ms);
            for w in waiting {
                self.join(c, w);
            }
        }
    }
}

// ---------- the raw files ----------

/// The TWCS CSV's rows as raw posts (`csv` only splits the fields; rows whose time cannot be
/// read are counted and left out).
pub fn twcs_posts(path: &std::path::Path) -> Result<(Vec<RawPost>, usize), String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let names = [
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "in_response_to_tweet_id",
    ];
    let [id, author, inbound, created, parent] = crate::data::columns(&headers, names, |name| {
        format!("{}: no {name} column", path.display())
    })?;
    let mut posts = vec![];
    let mut unreadable = 0;
    for row in reader.records() {
        let row = row.map_err(|e| format!("{}: {e}", path.display()))?;
        let field = |i: usize| row.get(i).unwrap_or_default();
        let Some(at_ms) = twcs_ms(field(created)) else {
            unreadable += 1;
            continue;
        };
        posts.push(RawPost {
            id: field(id).to_string(),
            author: field(author).to_string(),
            at_ms,
            brand: field(inbound) != "True",
            parent: Some(field(parent).to_string()).filter(|p| !p.is_empty()),
        });
    }
    Ok((posts, unreadable))
}

/// The IBM conversations as raw posts: the turns in order (each answering the one before),
/// then the agent's final answer at its tweet id's time. Brand posts are written by the
/// company. Turns whose time cannot be read are counted and left out.
pub fn ibm_posts(path: &std::path::Path) -> Result<(Vec<RawPost>, usize), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut posts = vec![];
    let mut unreadable = 0;
    for c in &raw {
        let company = c["dialogHeader"]["company"].as_str().unwrap_or_default();
        let mut previous: Option<String> = None;
        for turn in c["dialogContent"].as_array().into_iter().flatten() {
            let id = turn["tweet_ID"].as_str().unwrap_or_default();
            let Some(at_ms) = turn["datetime"].as_str().and_then(rfc3339_ms) else {
                unreadable += 1;
                continue;
            };
            let brand = turn.get("agent").is_some();
            let author = match (brand, turn["client"].as_str(), turn["client1"].as_str()) {
                (true, _, _) => company,
                (false, Some(a), _) | (false, None, Some(a)) => a,
                (false, None, None) => "",
            };
            posts.push(RawPost {
                id: id.to_string(),
                author: author.to_string(),
                at_ms,
                brand,
                parent: previous.replace(id.to_string()),
            });
        }
        let id = c["agentURL"]["tweet_ID"].as_str().unwrap_or_default();
        match snowflake_ms(id) {
            Some(at_ms) => posts.push(RawPost {
                id: id.to_string(),
                author: company.to_string(),
                at_ms,
                brand: true,
                parent: previous,
            }),
            None => unreadable += 1,
        }
    }
    Ok((posts, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_by_hand() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_ms("2020-04-01T17:31:32.000Z"),
            Some(1_585_762_292_000)
        );
        assert_eq!(
            rfc3339_ms("2017-08-18T20:47:00-07:00"),
            Some(1_503_114_420_000)
        );
        assert_eq!(
            rfc3339_ms("2020-04-01T17:31:32.5+02:00"),
            Some(1_585_755_092_500)
        );
        assert_eq!(
            twcs_ms("Tue Oct 31 22:10:47 +0000 2017"),
            Some(1_509_487_847_000)
        );
        assert_eq!(
            twcs_ms("Tue Oct 31 22:10:47 -0130 2017"),
            Some(1_509_493_247_000)
        );
        assert_eq!(rfc3339_ms("yesterday"), None);
        assert_eq!(twcs_ms("Tue Oct 31 22:10:47 2017"), None);
        // 1245425308704149506 was posted 2020-04-01T18:58:27.xxxZ.
        let t = snowflake_ms("1245425308704149506").unwrap_or_default();
        assert_eq!(t / 1000, 1_585_767_507);
        for days in [-1, 0, 17_000, 18_353, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(weekday(days_from_civil(2026, 12, 7)), 0, "a Monday");
    }

    #[test]
    fn the_office_keeps_new_york_hours_and_holidays() {
        let at = |s: &str| rfc3339_ms(s).unwrap_or_default();
        // Summer time: 09:00 EDT is 13:00 UTC.
        assert!(!office_open(at("2017-10-31T12:59:00Z")));
        assert!(office_open(at("2017-10-31T13:00:00Z")));
        assert!(!office_open(at("2017-10-31T21:00:00Z")));
        // Winter time (after the first Sunday of November): 09:00 EST is 14:00 UTC.
        assert!(!office_open(at("2017-11-06T13:30:00Z")));
        assert!(office_open(at("2017-11-06T14:00:00Z")));
        // Weekends, Thanksgiving and the day after, Labor Day.
        assert!(!office_open(at("2017-11-04T15:00:00Z")));
        assert!(!office_open(at("2017-11-23T15:00:00Z")));
        assert!(!office_open(at("2017-11-24T15:00:00Z")));
        assert!(!office_open(at("2020-09-07T15:00:00Z")));
        assert!(office_open(at("2020-09-08T15:00:00Z")));
        // Friday 16:30 EDT to Monday 09:30 EDT: one office hour.
        assert_eq!(
            office_ms(at("2017-10-27T20:30:00Z"), at("2017-10-30T13:30:00Z")),
            HOUR
        );
        // Within the hours, to the millisecond.
        assert_eq!(
            office_ms(at("2017-10-31T14:00:00.250Z"), at("2017-10-31T14:00:01Z")),
            750
        );
        assert_eq!(
            office_ms(
                at("2017-10-31T14:00:00.250Z"),
                at("2017-10-31T14:05:00.100Z")
            ),
            5 * MINUTE - 150
        );
    }

    fn post(id: &str, author: &str, min: i64, brand: bool, parent: Option<&str>) -> RawPost {
        RawPost {
            id: id.into(),
            author: author.into(),
            at_ms: min * MINUTE,
            brand,
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn conversations_follow_replies_and_the_merge_window() {
        let c = conversations(vec![
            post("1", "paul", 0, false, None),
            post("3", "acme", 24, true, Some("1")),
            // A brand reply before its parent (out of order): it waits and joins.
            post("5", "acme", 40, true, Some("4")),
            post("4", "lena", 30, false, None),
            // Paul again, next day but within 24 h of the last activity: same conversation.
            post("6", "paul", 24 * 60, false, None),
            // Two days later: a new one.
            post("7", "paul", 5 * 24 * 60, false, None),
        ]);
        let roots: Vec<(&str, Option<i64>)> = c
            .iter()
            .map(|c| (c.root.as_str(), c.first_response_ms.map(|ms| ms / MINUTE)))
            .collect();
        assert_eq!(roots, [("1", Some(24)), ("4", Some(10)), ("7", None)]);
        assert_eq!(c[0].brand.as_deref(), Some("acme"));
    }
}
