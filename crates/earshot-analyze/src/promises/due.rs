//! When a reply says the promise will be kept: a date ("by March 3", "15/4", "3. marts"), a
//! span ("next week", "i næste uge", "la prossima settimana", "in a few days") or a release
//! ("in version 2.4", "in the next update", "prossimo aggiornamento").

use super::lists::LangSet;
use super::words::Word;
use crate::lang::Lang;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;
use tables::{Raw, RAW};

/// Each language's words, as raw tables.
mod tables;

/// A due hint read from a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueHint {
    /// A calendar day (the year inferred from the day the reply was written).
    Date(NaiveDate),
    /// Within this many days of the reply.
    Within(u32),
    /// A release: its version when named ("2.4"), `None` for "the next update".
    Release(Option<String>),
}

impl DueHint {
    /// The day this hint points at, counted from the day the reply was written; `None` for a
    /// release (its date is the release's).
    pub fn due_on(&self, written_on: NaiveDate) -> Option<NaiveDate> {
        match self {
            DueHint::Date(d) => Some(*d),
            DueHint::Within(days) => {
                written_on.checked_add_signed(Duration::days(i64::from(*days)))
            }
            DueHint::Release(_) => None,
        }
    }

    /// The target release an agent confirms with, if this hint names one.
    pub fn target_release(&self) -> Option<&str> {
        match self {
            DueHint::Release(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// A relative phrase: a number of days, or the end of a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Days(u32),
    EndOfWeek,
    EndOfMonth,
    EndOfYear,
}

/// The words of one language that dates are written with.
struct DueWords {
    /// Multi-word fixed phrases (`next week`), longest first.
    fixed: Vec<(Vec<&'static str>, Rel)>,
    /// Words that a previous word turns into something else (`guten morgen`, `la mañana`).
    not_after: Vec<(&'static str, &'static str)>,
    preps: Vec<Vec<&'static str>>,
    fillers: Vec<&'static str>,
    numbers: HashMap<&'static str, u32>,
    /// Word groups that mean "a few" (`et par`, `qualche`).
    few: Vec<(Vec<&'static str>, u32)>,
    /// Unit word → days (0 marks hours).
    units: HashMap<&'static str, u32>,
    months: HashMap<&'static str, u32>,
    weekdays: HashMap<&'static str, Weekday>,
    next_words: Vec<&'static str>,
    release_nouns: Vec<&'static str>,
    version_words: Vec<&'static str>,
    /// Day-first numeric dates with dots (`15.4.`) are dates in this language, not versions.
    dotted_dates: bool,
    /// Words that introduce a numeric date (`by`, `bis`, `le`).
    date_preps: Vec<&'static str>,
}

fn pairs(s: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    s.split_whitespace().filter_map(|p| p.split_once('='))
}

fn phrases(s: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    s.split(';')
        .map(|p| p.split_whitespace().collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
}

fn weekday(n: u32) -> Weekday {
    match n {
        1 => Weekday::Mon,
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        _ => Weekday::Sun,
    }
}

impl DueWords {
    fn build(r: &Raw) -> DueWords {
        let mut fixed: Vec<(Vec<&'static str>, Rel)> = r
            .fixed
            .split(';')
            .filter_map(|p| {
                let (words, rel) = p.split_once('=')?;
                let rel = match rel.trim() {
                    "eow" => Rel::EndOfWeek,
                    "eom" => Rel::EndOfMonth,
                    "eoy" => Rel::EndOfYear,
                    n => Rel::Days(n.parse().ok()?),
                };
                Some((words.split_whitespace().collect(), rel))
            })
            .collect();
        fixed.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        let few = r
            .few
            .split(';')
            .filter_map(|p| {
                let (words, n) = p.split_once('=')?;
                Some((words.split_whitespace().collect(), n.trim().parse().ok()?))
            })
            .collect();
        let mut preps: Vec<Vec<&str>> = phrases(r.preps).collect();
        preps.sort_by_key(|p| std::cmp::Reverse(p.len()));
        DueWords {
            fixed,
            not_after: r
                .not_after
                .split(';')
                .filter_map(|p| {
                    let mut w = p.split_whitespace();
                    Some((w.next()?, w.next()?))
                })
                .collect(),
            preps,
            fillers: r
                .fillers
                .split(';')
                .flat_map(|p| p.split_whitespace())
                .collect(),
            numbers: pairs(r.numbers)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            few,
            units: pairs(r.units)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            months: pairs(r.months)
                .filter_map(|(w, n)| Some((w, n.parse().ok()?)))
                .collect(),
            weekdays: pairs(r.weekdays)
                .filter_map(|(w, n)| Some((w, weekday(n.parse().ok()?))))
                .collect(),
            next_words: r.next_words.split_whitespace().collect(),
            release_nouns: r.release_nouns.split_whitespace().collect(),
            version_words: r.version_words.split_whitespace().collect(),
            dotted_dates: r.dotted_dates,
            date_preps: r.date_preps.split_whitespace().collect(),
        }
    }
}

static WORDS: LazyLock<Vec<DueWords>> = LazyLock::new(|| {
    let mut v: Vec<Option<DueWords>> = Lang::ALL.iter().map(|_| None).collect();
    for r in RAW {
        v[r.lang.index()] = Some(DueWords::build(r));
    }
    v.into_iter()
        .map(|w| w.unwrap_or_else(|| DueWords::build(&RAW[0])))
        .collect()
});

fn langs_of(set: LangSet) -> impl Iterator<Item = &'static DueWords> {
    Lang::ALL
        .iter()
        .filter(move |l| set & l.bit() != 0)
        .map(|l| &WORDS[l.index()])
}

fn seq_at(words: &[Word], at: usize, end: usize, seq: &[&str]) -> bool {
    at + seq.len() <= end
        && seq
            .iter()
            .enumerate()
            .all(|(k, s)| words[at + k].text == *s)
}

/// The first due hint in `words[from..to]`, with the index of the word it starts at.
pub(crate) fn find(
    words: &[Word],
    from: usize,
    to: usize,
    langs: LangSet,
    written_on: NaiveDate,
) -> Option<(DueHint, usize)> {
    let to = to.min(words.len());
    (from..to).find_map(|i| hint_at(words, i, to, langs, written_on).map(|h| (h, i)))
}

fn hint_at(
    words: &[Word],
    i: usize,
    end: usize,
    langs: LangSet,
    written_on: NaiveDate,
) -> Option<DueHint> {
    let w = words[i].text.as_str();
    let prev = i.checked_sub(1).map(|p| words[p].text.as_str());
    // Numbers first: dates and versions.
    if w.starts_with(|c: char| c.is_ascii_digit()) || is_v_version(w) {
        let after_version_word =
            prev.is_some_and(|p| langs_of(langs).any(|d| d.version_words.contains(&p)));
        if is_version(w) && (after_version_word || is_v_version(w)) {
            return Some(DueHint::Release(Some(
                w.trim_start_matches('v').to_string(),
            )));
        }
        // Numeric dates need a word that introduces them ("by 15/4", "le 15/4"), so a
        // thread marker ("1/2") or a score is not read as a date; ISO dates stand alone.
        let introduced = w.len() == 10
            || prev.is_some_and(|p| langs_of(langs).any(|d| d.date_preps.contains(&p)));
        if introduced {
            if let Some(d) = numeric_date(w, langs, written_on) {
                return Some(DueHint::Date(d));
            }
        }
        if is_version(w)
            && matches!(
                prev,
                Some("in" | "with" | "i" | "en" | "em" | "nella" | "dans")
            )
        {
            return Some(DueHint::Release(Some(w.to_string())));
        }
    }
    for d in langs_of(langs) {
        if let Some(h) = month_date(words, i, end, d, written_on) {
            return Some(h);
        }
        if let Some(&wd) = d.weekdays.get(w) {
            return Some(DueHint::Date(next_weekday(written_on, wd)));
        }
        if let Some(h) = release_phrase(words, i, end, d) {
            return Some(h);
        }
        if let Some(rel) = fixed_phrase(words, i, end, d) {
            return Some(resolve(rel, written_on));
        }
        if let Some(days) = span(words, i, end, d) {
            return Some(DueHint::Within(days));
        }
    }
    None
}

fn is_v_version(w: &str) -> bool {
    w.strip_prefix('v').is_some_and(|r| {
        r.starts_with(|c: char| c.is_ascii_digit())
            && r.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// `2.4`, `11.2.1`, `v3`: digits and dots, at least one dot unless written with `v`.
fn is_version(w: &str) -> bool {
    if is_v_version(w) {
        return true;
    }
    let parts: Vec<&str> = w.split('.').collect();
    parts.len() >= 2
        && parts.len() <= 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn numeric_date(w: &str, langs: LangSet, written_on: NaiveDate) -> Option<NaiveDate> {
    // ISO 2024-04-15
    let dash: Vec<&str> = w.split('-').collect();
    if dash.len() == 3 && dash[0].len() == 4 {
        let (y, m, d) = (
            dash[0].parse().ok()?,
            dash[1].parse().ok()?,
            dash[2].parse().ok()?,
        );
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    let (sep, dotted) = if w.contains('/') {
        ('/', false)
    } else if w.contains('.') {
        ('.', true)
    } else {
        return None;
    };
    // Day-first with dots is a date only where people write dates that way (15.4. in German).
    if dotted && !langs_of(langs).any(|d| d.dotted_dates) {
        return None;
    }
    if dotted && langs & Lang::En.bit() != 0 && langs.count_ones() == 1 {
        return None;
    }
    let parts: Vec<&str> = w.split(sep).filter(|p| !p.is_empty()).collect();
    if parts.len() < 2
        || parts.len() > 3
        || parts.iter().any(|p| !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let a: u32 = parts[0].parse().ok()?;
    let b: u32 = parts[1].parse().ok()?;
    let year: Option<i32> = match parts.get(2) {
        Some(y) if y.len() == 2 => y.parse::<i32>().ok().map(|y| 2000 + y),
        Some(y) if y.len() == 4 => y.parse().ok(),
        Some(_) => return None,
        None => None,
    };
    // English writers (mostly US brands on Twitter) put the month first when both fit.
    let month_first = langs & Lang::En.bit() != 0 && langs.count_ones() == 1;
    let (day, month) = if month_first && a <= 12 && b <= 31 {
        (b, a)
    } else if a <= 31 && b <= 12 {
        (a, b)
    } else if a <= 12 && b <= 31 {
        (b, a)
    } else {
        return None;
    };
    build_date(year, month, day, written_on)
}

/// A date in the given (or inferred) year: a promise is due on or after the day it was made,
/// so a day already past this year means next year.
fn build_date(year: Option<i32>, month: u32, day: u32, written_on: NaiveDate) -> Option<NaiveDate> {
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            let this = NaiveDate::from_ymd_opt(written_on.year(), month, day)?;
            if this < written_on {
                NaiveDate::from_ymd_opt(written_on.year() + 1, month, day)
            } else {
                Some(this)
            }
        }
    }
}

fn day_number(w: &str) -> Option<u32> {
    let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &w[digits.len()..];
    if digits.is_empty()
        || !matches!(
            rest,
            "" | "st" | "nd" | "rd" | "th" | "." | "er" | "e" | "º" | "o"
        )
    {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (1..=31).contains(&n).then_some(n)
}

fn year_at(words: &[Word], at: usize, end: usize) -> Option<i32> {
    if at >= end {
        return None;
    }
    let w = &words[at].text;
    (w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

/// `march 3`, `march 3rd 2025`, `3 march`, `3rd of march`, `3. marts`, `15 de abril`.
fn month_date(
    words: &[Word],
    i: usize,
    end: usize,
    d: &DueWords,
    written_on: NaiveDate,
) -> Option<DueHint> {
    let w = words[i].text.as_str();
    if let Some(&month) = d.months.get(w) {
        if i + 1 < end {
            if let Some(day) = day_number(&words[i + 1].text) {
                let year = year_at(words, i + 2, end);
                return build_date(year, month, day, written_on).map(DueHint::Date);
            }
        }
        return None;
    }
    let day = day_number(w)?;
    let mut j = i + 1;
    while j < end
        && matches!(words[j].text.as_str(), "of" | "de" | "di" | "del" | "af")
        && j < i + 3
    {
        j += 1;
    }
    if j < end {
        if let Some(&month) = d.months.get(words[j].text.as_str()) {
            let mut k = j + 1;
            if k < end && words[k].text == "de" {
                k += 1;
            }
            let year = year_at(words, k, end);
            return build_date(year, month, day, written_on).map(DueHint::Date);
        }
    }
    None
}

fn next_weekday(from: NaiveDate, wd: Weekday) -> NaiveDate {
    let ahead =
        (7 + wd.num_days_from_monday() as i64 - from.weekday().num_days_from_monday() as i64) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    from + Duration::days(ahead)
}

/// "the next update", "an upcoming release", "prossimo aggiornamento", "prochaine mise à jour".
fn release_phrase(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<DueHint> {
    let w = words[i].text.as_str();
    let is_noun = |t: &str| {
        d.release_nouns.contains(&t) || WORDS[Lang::En.index()].release_nouns.contains(&t)
    };
    if d.next_words.contains(&w) {
        for k in 1..=2 {
            if i + k < end && is_noun(&words[i + k].text) {
                return Some(DueHint::Release(None));
            }
        }
    }
    if is_noun(w) && i + 1 < end && d.next_words.contains(&words[i + 1].text.as_str()) {
        return Some(DueHint::Release(None));
    }
    None
}

fn fixed_phrase(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<Rel> {
    for (seq, rel) in &d.fixed {
        if seq_at(words, i, end, seq) {
            if let Some(p) = i.checked_sub(1) {
                let prev = words[p].text.as_str();
                if d.not_after.iter().any(|(a, b)| *a == prev && *b == seq[0]) {
                    continue;
                }
            }
            return Some(*rel);
        }
    }
    None
}

/// `in 3 days`, `within two weeks`, `in a few days`, `om et par dage`, `entro 10 giorni`.
fn span(words: &[Word], i: usize, end: usize, d: &DueWords) -> Option<u32> {
    let prep = d.preps.iter().find(|p| seq_at(words, i, end, p))?;
    let mut j = i + prep.len();
    let mut filled = false;
    for _ in 0..3 {
        if j < end && d.fillers.contains(&words[j].text.as_str()) {
            j += 1;
            filled = true;
        }
    }
    let mut n: Option<u32> = None;
    if j < end {
        let w = words[j].text.as_str();
        // "a few" before "a": the few-phrases start with number words.
        if let Some((seq, v)) = d.few.iter().find(|(seq, _)| seq_at(words, j, end, seq)) {
            // "unos días" carries its unit inside the phrase.
            let has_unit = seq.last().is_some_and(|l| d.units.contains_key(l));
            n = Some(*v);
            j += seq.len();
            if has_unit {
                return Some(*v);
            }
        } else if let Ok(v) = w.parse::<u32>() {
            n = Some(v);
            j += 1;
        } else if let Some(&v) = d.numbers.get(w) {
            n = Some(v);
            j += 1;
        }
    }
    let unit_word = words.get(j).filter(|_| j < end)?.text.as_str();
    let unit = *d.units.get(unit_word)?;
    // "in the coming days": a filler with a plural unit and no number means a few.
    let n = match n {
        Some(n) => n,
        None if filled => 3,
        None => return None,
    };
    if unit == 0 {
        return Some(n.div_ceil(24));
    }
    n.checked_mul(unit)
}

fn resolve(rel: Rel, written_on: NaiveDate) -> DueHint {
    match rel {
        Rel::Days(n) => DueHint::Within(n),
        Rel::EndOfWeek => {
            let to_sunday = 6 - written_on.weekday().num_days_from_monday();
            DueHint::Within(to_sunday)
        }
        Rel::EndOfMonth => {
            let (y, m) = (written_on.year(), written_on.month());
            let first_next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            match first_next.and_then(|f| f.pred_opt()) {
                Some(last) => DueHint::Date(last),
                None => DueHint::Within(30),
            }
        }
        Rel::EndOfYear => match NaiveDate::from_ymd_opt(written_on.year(), 12, 31) {
            Some(d) => DueHint::Date(d),
            None => DueHint::Within(365),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
