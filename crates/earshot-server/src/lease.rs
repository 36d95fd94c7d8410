//! Leases: work that must happen once runs in one process at a time. Each singleton
//! housekeeping tick (paging on-call, surveys due, reply retries, ...) and each connector
//! stream is a *role*; a process does a role's work only while it holds the role's lease.
//!
//! - Embedded (SQLite, one process): every role is held as soon as it is asked for.
//! - On PostgreSQL: a role is a session-level advisory lock on a connection of this
//!   process's own ([`earshot_store::postgres::locks`]). A keeper task checks the locks every
//!   [`KEEP_EVERY`] and tries to take the roles it lacks; a process that finds a role gone
//!   (its connection dropped, a check timed out) stops that work at once. The lock dies with
//!   its connection, so a killed holder hands over as soon as PostgreSQL notices (at once for
//!   a killed process, ≤ ~10 s for a vanished host thanks to the keepalives set there), and
//!   another process takes the role at its next check: ≤ 15 s in all.
//!
//! Why advisory locks and not a NATS KV key with a TTL: the lock lives in the database the
//! work reads and writes, so a role is safe even with no bus (two processes on one
//! PostgreSQL by mistake page once, not twice); a lock needs no renewals and no clocks that
//! agree, and ends exactly when its holder's session does instead of a TTL later. The price
//! is one extra connection per process.
//!
//! A lease is no fence: a holder cut off from the database may finish the tick it is in
//! while another process starts. The work's side effects therefore keep their stored keys
//! (reply idempotency keys, survey and release-notice records, escalation states), and the
//! new holder resumes from what is stored.

use earshot_store::postgres::locks::LockSession;
use earshot_store::postgres::PgOptions;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often the keeper checks held roles and tries to take the others.
pub const KEEP_EVERY: Duration = Duration::from_secs(3);
/// A check that takes longer than this counts as the connection lost: the holder stops
/// its work rather than risk running beside a new holder.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(4);

/// The roles of one process and how they are held.
#[derive(Clone)]
pub struct Leases(Arc<Inner>);

struct Inner {
    backend: Backend,
    roles: Mutex<BTreeMap<String, Role>>,
}

struct Role {
    key: i32,
    held: watch::Sender<bool>,
    /// Incremented each time this process gains the role (see [`Lease::term`]).
    term: Arc<AtomicU64>,
}

enum Backend {
    InProcess,
    Postgres {
        url: String,
        options: PgOptions,
        session: Box<tokio::sync::Mutex<Option<LockSession>>>,
    },
}

/// One role's lease as seen by the work it guards.
#[derive(Clone)]
pub struct Lease {
    name: String,
    held: watch::Receiver<bool>,
    term: Arc<AtomicU64>,
}

impl Lease {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Held by this process right now.
    pub fn is_held(&self) -> bool {
        *self.held.borrow()
    }

    /// How many times this process has gained the role: a change means another process
    /// may have done the work meanwhile, so what is remembered in memory is stale.
    pub fn term(&self) -> u64 {
        self.term.load(Ordering::Acquire)
    }

    /// Waits until this process holds the role (at once when it does).
    pub async fn until_held(&mut self) {
        let _ = self.held.wait_for(|h| *h).await;
    }

    /// Waits until this process no longer holds the role.
    pub async fn until_lost(&mut self) {
        if self.held.wait_for(|h| !*h).await.is_err() {
            // The leases are gone (shut down): nothing is held any more.
        }
    }

    /// Runs `pass` every `every` while this process holds the role, until `stop` turns true
    /// (the catch-up loops of the roles that read what every process stored).
    pub async fn run_while_held<F, Fut>(
        mut self,
        mut stop: watch::Receiver<bool>,
        every: Duration,
        mut pass: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = self.until_held() => {}
            }
            pass().await;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// The lock key of a role's name: the first four bytes of its SHA-256. Two names sharing a
/// key would only be held together by one process, which is still once.
pub fn key_of(role: &str) -> i32 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(role.as_bytes());
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl Leases {
    /// One process alone on its store: every role is held.
    pub fn in_process() -> Leases {
        Leases::with(Backend::InProcess)
    }

    /// Roles as advisory locks on the PostgreSQL at `url`. Nothing is held until the keeper
    /// ([`Leases::keep`], [`Leases::spawn_keeper`]) has run.
    pub fn postgres(url: &str, options: PgOptions) -> Leases {
        Leases::with(Backend::Postgres {
            url: url.to_string(),
            options,
            session: Box::new(tokio::sync::Mutex::new(None)),
        })
    }

    /// The leases for a store URL: advisory locks on PostgreSQL, in-process otherwise.
    pub fn for_store(db_url: &str, options: PgOptions) -> Leases {
        if earshot_store::is_postgres(db_url) {
            Leases::postgres(db_url, options)
        } else {
            Leases::in_process()
        }
    }

    fn with(backend: Backend) -> Leases {
        Leases(Arc::new(Inner {
            backend,
            roles: Mutex::new(BTreeMap::new()),
        }))
    }

    fn roles(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Role>> {
        self.0.roles.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lease of the role `name` (`tick:paging on-call`, `connector:mastodon:acme`),
    /// registered with the keeper on first ask.
    pub fn role(&self, name: &str) -> Lease {
        let in_process = matches!(self.0.backend, Backend::InProcess);
        let mut roles = self.roles();
        let role = roles.entry(name.to_string()).or_insert_with(|| Role {
            key: key_of(name),
            held: watch::Sender::new(in_process),
            term: Arc::new(AtomicU64::new(u64::from(in_process))),
        });
        Lease {
            name: name.to_string(),
            held: role.held.subscribe(),
            term: role.term.clone(),
        }
    }

    /// One process alone on its store (every role always held here).
    pub fn in_process_only(&self) -> bool {
        matches!(self.0.backend, Backend::InProcess)
    }

    /// The roles this process holds now, by name.
    pub fn held(&self) -> Vec<String> {
        self.roles()
            .iter()
            .filter(|(_, r)| *r.held.borrow())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Every role asked for in this process, held here or not.
    pub fn known(&self) -> Vec<String> {
        self.roles().keys().cloned().collect()
    }

    fn set(&self, name: &str, held: bool) {
        let roles = self.roles();
        let Some(role) = roles.get(name) else {
            return;
        };
        let was = *role.held.borrow();
        if held && !was {
            role.term.fetch_add(1, Ordering::AcqRel);
            tracing::info!(role = name, "lease taken: this process does this work now");
        } else if was && !held {
            tracing::warn!(role = name, "lease lost: this process stops this work");
        }
        role.held.send_replace(held);
    }

    fn lose_all(&self) {
        for name in self.known() {
            self.set(&name, false);
        }
    }

    /// One keeper pass: (re)connects when needed, confirms the roles held, tries to take the
    /// others. A failure drops every role this process held (it cannot prove it still holds
    /// them) and is returned; the next pass starts over with a fresh connection.
    pub async fn keep(&self) -> Result<(), String> {
        let Backend::Postgres {
            url,
            options,
            session,
        } = &self.0.backend
        else {
            return Ok(());
        };
        let mut session = session.lock().await;
        let pass = async {
            if session.as_ref().is_none_or(LockSession::is_closed) {
                // Whatever the old connection held died with it; another process may have
                // worked since, so the roles are lost even if taken again at once (a new term).
                *session = None;
                self.lose_all();
                *session = Some(
                    LockSession::connect(url, *options)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
            let Some(s) = session.as_ref() else {
                return Err("no lease connection".to_string());
            };
            let held = s.all_held().await.map_err(|e| e.to_string())?;
            let roles: Vec<(String, i32)> = self
                .roles()
                .iter()
                .map(|(n, r)| (n.clone(), r.key))
                .collect();
            let mut taken = Vec::new();
            for (name, key) in roles {
                let now =
                    held.contains(&key) || s.try_lock(key).await.map_err(|e| e.to_string())?;
                taken.push((name, now));
            }
            Ok::<_, String>(taken)
        };
        match tokio::time::timeout(CHECK_TIMEOUT, pass).await {
            Ok(Ok(taken)) => {
                for (name, now) in taken {
                    self.set(&name, now);
                }
                Ok(())
            }
            Ok(Err(e)) => {
                *session = None;
                self.lose_all();
                Err(e)
            }
            Err(_) => {
                *session = None;
                self.lose_all();
                Err(format!(
                    "the lease check took longer than {} s",
                    CHECK_TIMEOUT.as_secs()
                ))
            }
        }
    }

    /// Runs [`Leases::keep`] every [`KEEP_EVERY`] until `stop` turns true, then releases
    /// every role (graceful shutdown hands over at once instead of at the next check).
    pub fn spawn_keeper(&self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let leases = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(KEEP_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let stopping = tokio::select! {
                    _ = every.tick() => false,
                    _ = stop.wait_for(|s| *s) => true,
                };
                if stopping {
                    break;
                }
                if let Err(e) = leases.keep().await {
                    tracing::warn!(error = %e, "cannot hold leases: singleton work paused here, retrying");
                }
            }
            leases.release_all().await;
        })
    }

    /// Gives every role back: this process stops the work and another may take it at once.
    pub async fn release_all(&self) {
        self.lose_all();
        if let Backend::Postgres { session, .. } = &self.0.backend {
            if let Some(s) = session.lock().await.take() {
                // Unlocked explicitly so the next holder need not wait for the connection's
                // end to be noticed; dropping the connection would release them too.
                let unlocked = tokio::time::timeout(CHECK_TIMEOUT, s.unlock_all()).await;
                if !matches!(unlocked, Ok(Ok(()))) {
                    tracing::warn!("leases not unlocked in time: they end with the connection");
                }
            }
        } else {
            // In process: nothing to hand over to; the work stops with the process.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_every_role_is_held_until_released() {
        let leases = Leases::in_process();
        let mut paging = leases.role("tick:paging on-call");
        assert!(paging.is_held());
        assert_eq!(paging.term(), 1);
        paging.until_held().await;
        assert_eq!(leases.held(), ["tick:paging on-call"]);
        leases.release_all().await;
        assert!(!paging.is_held());
        assert!(leases.held().is_empty());
    }

    #[test]
    fn role_keys_are_stable_and_distinct() {
        assert_eq!(key_of("tick:paging on-call"), key_of("tick:paging on-call"));
        assert_ne!(
            key_of("tick:paging on-call"),
            key_of("tick:sending due surveys")
        );
    }
}
