//! Housekeeping: a list of ticks run one after another every minute (re-ranking, retries,
//! paging, surveys due, ...). Each tick is a name and a job; a failing job is logged with its
//! name and the next one runs. The list is made where the parts are wired (`Desk::ticks`,
//! `App`), so nothing reaches through one part to another to find its work.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

type Job = dyn Fn(DateTime<Utc>) -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// One housekeeping job, named for the log ("re-ranking the inbox").
pub struct Tick {
    what: &'static str,
    job: Box<Job>,
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
        }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Runs the job at `now`; a failure is logged as "<what> failed" and returned.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<(), String> {
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

/// Runs the ticks every `every`, the first pass at once, until the task is dropped.
pub async fn run_every(ticks: Vec<Tick>, every: Duration) {
    let mut interval = tokio::time::interval(every);
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
}
