//! Housekeeping: a list of ticks run one after another every minute (re-ranking, retries,
//! paging, surveys due, ...). Each tick is a name and a job; a failing job is logged with its
//! name and the next one runs. The list is made where the parts are wired (`Desk::ticks`,
//! `App`), so nothing reaches through one part to another to find its work.
//!
//! A tick that must run in one process at a time is put [`Tick::under`] a lease: it runs
//! only while this process holds it, and its `resume` step (memory dropped, state read back
//! from the store) runs first whenever the process has gained the lease anew.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `[housekeeping]`: how often the pass runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HousekeepingSettings {
    /// Seconds between passes (paging, re-ranking, retries, surveys due). A minute suits a
    /// team; shorter pages sooner and costs a scan of the open inbox each time.
    pub every_seconds: u64,
}

impl Default for HousekeepingSettings {
    fn default() -> Self {
        HousekeepingSettings { every_seconds: 60 }
    }
}

impl HousekeepingSettings {
    pub fn every(&self) -> Result<Duration, crate::settings::ConfigError> {
        if self.every_seconds == 0 {
            return Err(crate::settings::ConfigError::Invalid {
                key: "housekeeping.every_seconds".into(),
                message: "0 would never pause between passes: use 1 or more (60 is usual)".into(),
            });
        }
        Ok(Duration::from_secs(self.every_seconds))
    }
}

type Job = dyn Fn(DateTime<Utc>) -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// One housekeeping job, named for the log ("re-ranking the inbox").
pub struct Tick {
    what: &'static str,
    job: Box<Job>,
    /// Runs before the job when this process holds the lease for a new term.
    resume: Option<Box<dyn Fn() + Send + Sync>>,
    lease: Option<crate::lease::Lease>,
    /// The lease term the job last ran in.
    ran_in_term: AtomicU64,
}

impl Tick {
    pub fn new<F, Fut, E>(what: &'static str, job: F) -> Tick
    where
        F: Fn(DateTime<Utc>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        Tick {
            what,
            job: Box::new(move |now| {
                let fut = job(now);
                Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
            }),
            resume: None,
            lease: None,
            ran_in_term: AtomicU64::new(0),
        }
    }

    /// What to do first when the job runs in a new lease term: forget what this process
    /// remembered, since another process may have done the work meanwhile.
    pub fn resuming(mut self, resume: impl Fn() + Send + Sync + 'static) -> Tick {
        self.resume = Some(Box::new(resume));
        self
    }

    /// The tick runs only while `lease` is held by this process.
    pub fn under(mut self, lease: crate::lease::Lease) -> Tick {
        self.lease = Some(lease);
        self
    }

    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The lease role a tick named `what` runs under.
    pub fn role(what: &str) -> String {
        format!("tick:{what}")
    }

    /// Runs the job at `now` (skipped, `Ok`, when its lease is held elsewhere); a failure is
    /// logged as "<what> failed" and returned.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<(), String> {
        if let Some(lease) = &self.lease {
            if !lease.is_held() {
                tracing::debug!("{} skipped: another process holds its lease", self.what);
                return Ok(());
            }
            let term = lease.term();
            if self.ran_in_term.swap(term, Ordering::AcqRel) != term {
                if let Some(resume) = &self.resume {
                    resume();
                }
            }
        }
        let result = (self.job)(now).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "{} failed", self.what);
        }
        result
    }
}

/// Runs every tick once, in order, each at the time it starts.
pub async fn run_once(ticks: &[Tick]) {
    for tick in ticks {
        let _ = tick.run(Utc::now()).await;
    }
}

/// Runs the ticks every `every`, the first pass at once, until the task is dropped. A pass
/// longer than `every` is followed by a full pause, not by passes back to back.
pub async fn run_every(ticks: Vec<Tick>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        run_once(&ticks).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn ticks_run_in_order_and_a_failure_does_not_stop_the_rest() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let tick = |name: &'static str, fails: bool| {
            let ran = ran.clone();
            Tick::new(name, move |_| {
                let ran = ran.clone();
                async move {
                    ran.lock().unwrap().push(name);
                    if fails {
                        Err("the store is not answering")
                    } else {
                        Ok(())
                    }
                }
            })
        };
        let ticks = vec![
            tick("first", false),
            tick("second", true),
            tick("third", false),
        ];
        assert_eq!(
            ticks[1].run(Utc::now()).await,
            Err("the store is not answering".to_string())
        );
        ran.lock().unwrap().clear();
        run_once(&ticks).await;
        assert_eq!(*ran.lock().unwrap(), ["first", "second", "third"]);
    }

    #[tokio::test]
    async fn a_tick_under_a_lease_runs_only_while_held_and_resumes_once_per_term() {
        let ran = Arc::new(Mutex::new(0));
        let resumed = Arc::new(Mutex::new(0));
        let leases = crate::lease::Leases::in_process();
        let (r, s) = (ran.clone(), resumed.clone());
        let tick = Tick::new("paging on-call", move |_| {
            let r = r.clone();
            async move {
                *r.lock().unwrap() += 1;
                Ok::<(), String>(())
            }
        })
        .resuming(move || *s.lock().unwrap() += 1)
        .under(leases.role(&Tick::role("paging on-call")));
        tick.run(Utc::now()).await.unwrap();
        tick.run(Utc::now()).await.unwrap();
        assert_eq!((*ran.lock().unwrap(), *resumed.lock().unwrap()), (2, 1));
        leases.release_all().await;
        tick.run(Utc::now()).await.unwrap();
        assert_eq!(*ran.lock().unwrap(), 2, "skipped once the lease is gone");
    }
}
