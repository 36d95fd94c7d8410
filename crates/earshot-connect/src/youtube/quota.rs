//! YouTube's daily quota, kept by earshot (PROTOCOLS-2.md §5.1): 10,000 units a day per Cloud
//! project by default, reset at midnight Pacific time; a thread page costs 1, a reply 50, and
//! even a refused request costs. The ledger counts what earshot spent today and refuses a
//! request that would overdraw it, keeping a reserve for replies so listening can never
//! spend the units an agent's answer needs. When YouTube says `quotaExceeded` anyway (another
//! tool shares the project), the day is marked spent.
//!
//! The source and the responder of one channel share a ledger ([`Ledger::shared`], keyed by
//! the OAuth client, which belongs to one project). The server keeps the day's count in a
//! small file in its data directory (`{"date":"2026-08-20","spent":412}`, the Pacific date as
//! Google counts it), written on every spend: a restart the same day goes on from the spend
//! so far, a restart after midnight Pacific starts from zero. Without a file (tests, the lab)
//! the count lives in memory, and YouTube's own `quotaExceeded` is the backstop.

use crate::problem::Problem;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What each call costs (§5.1).
pub const LIST_COST: u32 = 1;
pub const WRITE_COST: u32 = 50;

/// What a spend is for: listening may not touch the reply reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Listen,
    Reply,
}

/// The units spent on one Pacific day; also the file's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Day {
    date: NaiveDate,
    spent: u32,
}

/// One project's units for the day.
#[derive(Debug)]
pub struct Ledger {
    daily: u32,
    reserve: u32,
    day: Mutex<Day>,
    /// Where the day's count is kept across restarts, if anywhere.
    file: Option<PathBuf>,
    /// Held while the file is written (off the async workers), so writes never interleave;
    /// each writes the count as it is then, so the last write holds the newest.
    writer: Mutex<()>,
}

/// The Pacific date of `now`.
fn pacific_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Los_Angeles).date_naive()
}

/// The next midnight Pacific time after `now`, in UTC.
pub fn next_reset(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = pacific_date(now).succ_opt().unwrap_or(pacific_date(now));
    Los_Angeles
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + chrono::Duration::hours(24))
}

impl Ledger {
    /// `daily` units a day, `reserve` of them kept for replies, counted in memory only.
    pub fn new(daily: u32, reserve: u32) -> Ledger {
        Ledger {
            daily,
            reserve: reserve.min(daily),
            day: Mutex::new(Day {
                date: pacific_date(Utc::now()),
                spent: 0,
            }),
            file: None,
            writer: Mutex::new(()),
        }
    }

    /// A ledger whose day is kept in `file`: what an earlier run spent the same Pacific day
    /// counts. A missing or unreadable file starts the day at zero (said in the log).
    pub fn kept_in(file: &Path, daily: u32, reserve: u32) -> Ledger {
        let mut ledger = Ledger::new(daily, reserve);
        match std::fs::read(file) {
            Ok(bytes) => match serde_json::from_slice::<Day>(&bytes) {
                // A hand-edited or damaged count never goes past the day's units.
                Ok(day) => {
                    ledger.day = Mutex::new(Day {
                        spent: day.spent.min(daily),
                        ..day
                    })
                }
                Err(e) => tracing::warn!(file = %file.display(), error = %e,
                    "the YouTube quota file could not be read; counting today from zero"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %file.display(), error = %e,
                "the YouTube quota file could not be read; counting today from zero"),
        }
        ledger.file = Some(file.to_path_buf());
        ledger
    }

    /// The ledger of the project behind `client_id` (created with these numbers, and kept in
    /// `file` when given, the first time; later callers share it).
    pub fn shared(client_id: &str, daily: u32, reserve: u32, file: Option<&Path>) -> Arc<Ledger> {
        static LEDGERS: OnceLock<Mutex<HashMap<String, Arc<Ledger>>>> = OnceLock::new();
        let ledgers = LEDGERS.get_or_init(Default::default);
        let mut ledgers = ledgers.lock().unwrap_or_else(|p| p.into_inner());
        ledgers
            .entry(client_id.trim().to_owned())
            .or_insert_with(|| {
                Arc::new(match file {
                    Some(file) => Ledger::kept_in(file, daily, reserve),
                    None => Ledger::new(daily, reserve),
                })
            })
            .clone()
    }

    fn today(&self, now: DateTime<Utc>) -> std::sync::MutexGuard<'_, Day> {
        let mut day = self.day.lock().unwrap_or_else(|p| p.into_inner());
        let date = pacific_date(now);
        if day.date != date {
            *day = Day { date, spent: 0 };
        }
        day
    }

    /// Writes the day's count as it is now to the file: a temporary file of this writer's own
    /// (the server and an operator's `connectors check` may write at once), synced, then
    /// renamed over it, so a crash or a power cut leaves the old count or the new one. Blocks
    /// on the disk but never holds the count's lock meanwhile. A failure is logged: the count
    /// in memory still holds.
    fn keep(&self) {
        let Some(file) = &self.file else {
            return;
        };
        let _writing = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let day = self.day.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let written = serde_json::to_vec(&day)
            .map_err(std::io::Error::other)
            .and_then(|bytes| {
                use std::io::Write;
                let dir = file
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
                tmp.write_all(&bytes)?;
                tmp.as_file().sync_all()?;
                tmp.persist(file).map_err(|e| e.error)?;
                // The rename itself lasts once the directory is synced (best effort).
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            });
        if let Err(e) = written {
            tracing::warn!(file = %file.display(), error = %e, "could not keep the YouTube quota count");
        }
    }

    /// [`Ledger::keep`] on a blocking thread, so an fsync never stalls the async workers.
    async fn kept(self: &Arc<Self>) {
        if self.file.is_none() {
            return;
        }
        let ledger = Arc::clone(self);
        if let Err(e) = tokio::task::spawn_blocking(move || ledger.keep()).await {
            tracing::warn!(error = %e, "could not keep the YouTube quota count");
        }
    }

    /// Spends `units` for `purpose`, or says why not (a [`Problem::Quota`] naming the reset);
    /// the count is kept in the file before it returns.
    pub async fn spend(self: &Arc<Self>, units: u32, purpose: Purpose) -> Result<(), Problem> {
        self.spend_at(units, purpose, Utc::now())?;
        self.kept().await;
        Ok(())
    }

    /// Counts `units` for `purpose` at `now`, in memory.
    fn spend_at(&self, units: u32, purpose: Purpose, now: DateTime<Utc>) -> Result<(), Problem> {
        let mut day = self.today(now);
        let limit = match purpose {
            Purpose::Listen => self.daily - self.reserve,
            Purpose::Reply => self.daily,
        };
        if day.spent.saturating_add(units) > limit {
            let what = match purpose {
                Purpose::Listen => format!(
                    "listening has spent its share of YouTube's daily quota ({} of {} units; {} \
                     are kept for replies)",
                    day.spent, self.daily, self.reserve
                ),
                Purpose::Reply => format!(
                    "YouTube's daily quota is spent ({} of {} units; a reply costs {units})",
                    day.spent, self.daily
                ),
            };
            return Err(Problem::Quota(format!(
                "{what}; it resets at midnight Pacific time ({})",
                next_reset(now).to_rfc3339()
            )));
        }
        day.spent += units;
        Ok(())
    }

    /// YouTube said `quotaExceeded`: nothing more today.
    pub async fn exhaust(self: &Arc<Self>) {
        self.today(Utc::now()).spent = self.daily;
        self.kept().await;
    }

    /// Units spent today.
    pub fn spent(&self) -> u32 {
        self.today(Utc::now()).spent
    }

    /// For health: what is spent, what is kept, when it resets.
    pub fn note(&self) -> String {
        let now = Utc::now();
        let spent = self.today(now).spent;
        format!(
            "YouTube quota: {spent} of {} units spent today, {} kept for replies (50 each); \
             resets at midnight Pacific time ({})",
            self.daily,
            self.reserve,
            next_reset(now).to_rfc3339()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_stops_at_the_reserve_replies_use_it_and_a_pacific_midnight_resets() {
        let ledger = Ledger::new(200, 100);
        let now = Utc.with_ymd_and_hms(2026, 8, 20, 12, 0, 0).unwrap();
        for _ in 0..100 {
            ledger.spend_at(LIST_COST, Purpose::Listen, now).unwrap();
        }
        let e = ledger
            .spend_at(LIST_COST, Purpose::Listen, now)
            .unwrap_err();
        assert!(
            matches!(&e, Problem::Quota(r) if r.contains("kept for replies")),
            "{e:?}"
        );
        ledger.spend_at(WRITE_COST, Purpose::Reply, now).unwrap();
        ledger.spend_at(WRITE_COST, Purpose::Reply, now).unwrap();
        let e = ledger
            .spend_at(WRITE_COST, Purpose::Reply, now)
            .unwrap_err();
        // 12:00 UTC on 20 August is 05:00 PDT: the reset is 07:00 UTC on the 21st.
        assert!(e.reason().contains("2026-08-21T07:00:00+00:00"), "{e:?}");
        let after = Utc.with_ymd_and_hms(2026, 8, 21, 7, 0, 1).unwrap();
        ledger.spend_at(WRITE_COST, Purpose::Reply, after).unwrap();
        // In winter Pacific time is UTC−8.
        let winter = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(next_reset(winter).to_rfc3339(), "2026-12-02T08:00:00+00:00");
    }

    #[tokio::test]
    async fn ledgers_are_shared_by_project() {
        let a = Ledger::shared("quota-test-client", 1000, 100, None);
        let b = Ledger::shared("quota-test-client", 5, 1, None);
        a.spend(7, Purpose::Listen).await.unwrap();
        assert_eq!(b.spent(), 7);
        assert!(Ledger::shared("another-client", 1000, 100, None).spent() == 0);
    }

    #[test]
    fn a_restart_the_same_pacific_day_keeps_the_spend_and_the_next_day_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("youtube-quota.json");
        // 06:30 UTC on 21 August is still the 20th in California (PDT, UTC−7).
        let evening = Utc.with_ymd_and_hms(2026, 8, 21, 6, 30, 0).unwrap();
        let first = Ledger::kept_in(&file, 300, 100);
        for _ in 0..90 {
            first.spend_at(LIST_COST, Purpose::Listen, evening).unwrap();
        }
        first.spend_at(WRITE_COST, Purpose::Reply, evening).unwrap();
        first.keep();
        drop(first);

        // The restarted server: the day's 140 units are spent, so listening (which may use
        // 200 of the 300) has 60 left, where a fresh count would give it 200.
        let again = Ledger::kept_in(&file, 300, 100);
        let later = evening + chrono::Duration::minutes(20);
        assert_eq!(again.today(later).spent, 140);
        for _ in 0..60 {
            again.spend_at(LIST_COST, Purpose::Listen, later).unwrap();
        }
        assert!(again.spend_at(LIST_COST, Purpose::Listen, later).is_err());
        again.keep();
        drop(again);

        // After midnight Pacific (07:00 UTC) the same file counts a new day.
        let morning = Utc.with_ymd_and_hms(2026, 8, 21, 7, 0, 1).unwrap();
        let next_day = Ledger::kept_in(&file, 300, 100);
        assert_eq!(next_day.today(morning).spent, 0);
        next_day
            .spend_at(LIST_COST, Purpose::Listen, morning)
            .unwrap();
        next_day.keep();
        let kept: Day = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(
            kept,
            Day {
                date: NaiveDate::from_ymd_opt(2026, 8, 21).unwrap(),
                spent: 1
            }
        );

        // A file that is not a ledger starts the day at zero rather than failing.
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(Ledger::kept_in(&file, 300, 100).today(morning).spent, 0);

        // A damaged count past the day's units reads as the day spent, and spending on
        // it refuses rather than overflowing.
        std::fs::write(&file, r#"{"date":"2026-08-21","spent":4294967295}"#).unwrap();
        let damaged = Ledger::kept_in(&file, 300, 100);
        assert_eq!(damaged.today(morning).spent, 300);
        assert!(damaged
            .spend_at(WRITE_COST, Purpose::Reply, morning)
            .is_err());
        // Only the file itself is left: each write's temporary file was renamed over it.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    /// What `spend` and `exhaust` count is in the file when they return (written on a
    /// blocking thread, the count's lock not held meanwhile).
    #[tokio::test]
    async fn spending_and_exhausting_are_kept_before_they_return() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("youtube-quota.json");
        let ledger = Arc::new(Ledger::kept_in(&file, 300, 100));
        let kept = || -> Day { serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap() };
        ledger.spend(LIST_COST, Purpose::Listen).await.unwrap();
        ledger.spend(WRITE_COST, Purpose::Reply).await.unwrap();
        assert_eq!(kept().spent, LIST_COST + WRITE_COST);
        ledger.exhaust().await;
        assert_eq!(kept().spent, 300);
        assert_eq!(Ledger::kept_in(&file, 300, 100).spent(), 300);
    }
}
