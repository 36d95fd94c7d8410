//! Cluster mode: several `earshot serve` processes sharing one PostgreSQL store and one NATS
//! JetStream bus. The embedded default (SQLite, in-process channels, nothing to install) is
//! what runs when `[bus]` is absent; setting both `db = "postgres://…"` and
//! `[bus] url = "nats://…"` turns cluster mode on. A bus beside SQLite is refused: SQLite is
//! one file for one process, so a second process could never share its store.

use crate::settings::ConfigError;
use serde::{Deserialize, Serialize};

/// `[bus]`: where heard posts and committed events travel between processes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `nats://host:4222` (JetStream enabled on the server). Empty: no bus, one process.
    pub url: String,
    /// The JetStream stream heard posts are published to.
    pub stream: String,
    /// The durable pull consumer every process's ingest workers share.
    pub consumer: String,
    /// Deliveries of one message before it is moved to the dead-letter subject.
    pub max_deliveries: u32,
    /// The first token of every subject earshot uses (`<subjects>.heard.<network>`,
    /// `<subjects>.dead.heard`, `<subjects>.live`): two deployments on one NATS differ here.
    pub subjects: String,
    /// How long a worker may hold a heard post without a word before JetStream hands it to
    /// another one. A worker that is still committing says so every third of it, so this
    /// bounds how late the posts of a killed process come back, not how long a commit may be.
    pub ack_wait_seconds: u64,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            url: String::new(),
            stream: "EARSHOT_HEARD".into(),
            consumer: "earshot-ingest".into(),
            max_deliveries: 5,
            subjects: "earshot".into(),
            ack_wait_seconds: 10,
        }
    }
}

/// How this configuration runs: alone on SQLite, alone on PostgreSQL, or as one of several
/// processes on PostgreSQL and NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite and in-process channels: one process, nothing to install.
    Embedded,
    /// PostgreSQL without a bus: one process (a second would miss live events and double
    /// the work that must run once).
    SingleOnPostgres,
    /// PostgreSQL and NATS: any number of processes; heard posts and live events go through
    /// the bus, the work that must run once holds leases in PostgreSQL.
    Cluster,
}

impl Mode {
    /// The mode for a store URL and a bus; a bus with SQLite is an error that says what to do.
    pub fn of(db_url: &str, bus: &BusSettings) -> Result<Mode, ConfigError> {
        let postgres = earshot_store::is_postgres(db_url);
        let has_bus = !bus.url.trim().is_empty();
        match (postgres, has_bus) {
            (false, false) => Ok(Mode::Embedded),
            (true, false) => Ok(Mode::SingleOnPostgres),
            (true, true) => {
                bus.check()?;
                Ok(Mode::Cluster)
            }
            (false, true) => Err(ConfigError::Invalid {
                key: "bus.url".into(),
                message: "a bus needs a shared store: SQLite is one file for one process. Set \
                          db = \"postgres://…\" to run several processes, or remove [bus] to \
                          run one process on SQLite"
                    .into(),
            }),
        }
    }

    /// What `earshot config check` says about the combination (`shown_url`: the bus URL with
    /// any password hidden).
    pub fn describe(self, bus: &BusSettings, shown_url: &str) -> String {
        match self {
            Mode::Embedded => "mode: embedded (SQLite, one process, nothing else to run). For \
                               several processes set db = \"postgres://…\" and [bus] url = \
                               \"nats://…\""
                .into(),
            Mode::SingleOnPostgres => "mode: one process on PostgreSQL. Run only one `earshot \
                                       serve` on this store: without [bus] url = \"nats://…\" a \
                                       second process would not see live changes of the first"
                .into(),
            Mode::Cluster => format!(
                "mode: cluster (PostgreSQL + NATS at {}, stream {}, consumer {}, subjects {}.*, \
                 dead-letter after {} deliveries). Run several `earshot serve` on this store and \
                 bus: heard posts are shared through the stream, live changes reach every \
                 process, and work that must run once (connector streams, desk ticks) is held \
                 by one process at a time and handed over when it stops. See the README's \
                 \"Run several processes\" for what does not scale yet",
                shown_url, bus.stream, bus.consumer, bus.subjects, bus.max_deliveries
            ),
        }
    }
}

impl BusSettings {
    /// The URL is a NATS one, the names are ones JetStream accepts.
    pub fn check(&self) -> Result<(), ConfigError> {
        let url = self.url.trim();
        if !(url.starts_with("nats://") || url.starts_with("tls://")) {
            return Err(ConfigError::Invalid {
                key: "bus.url".into(),
                // Not quoted: the URL may hold a password.
                message: "not a NATS URL: write it like nats://127.0.0.1:4222 (or tls://…)".into(),
            });
        }
        for (key, name) in [
            ("bus.stream", &self.stream),
            ("bus.consumer", &self.consumer),
        ] {
            // JetStream names may not hold spaces, dots, `*`, `>` or path separators.
            let bad = name.is_empty()
                || name
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'));
            if bad {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: format!(
                        "{name:?} is not a JetStream name: use letters, digits, - and _"
                    ),
                });
            }
        }
        // Subject tokens are separated by dots; wildcards and spaces would widen the stream.
        let subjects = &self.subjects;
        if subjects.is_empty()
            || subjects.split('.').any(str::is_empty)
            || subjects
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '*' | '>'))
        {
            return Err(ConfigError::Invalid {
                key: "bus.subjects".into(),
                message: format!(
                    "{subjects:?} is not a subject prefix: use tokens of letters, digits, - and _ \
                     joined by dots, like \"earshot\""
                ),
            });
        }
        if self.ack_wait_seconds == 0 {
            return Err(ConfigError::Invalid {
                key: "bus.ack_wait_seconds".into(),
                message: "must be at least 1 (10 is a good start)".into(),
            });
        }
        if self.max_deliveries == 0 {
            return Err(ConfigError::Invalid {
                key: "bus.max_deliveries".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(url: &str) -> BusSettings {
        BusSettings {
            url: url.into(),
            ..BusSettings::default()
        }
    }

    #[test]
    fn the_combination_decides_the_mode() {
        let none = BusSettings::default();
        assert_eq!(
            Mode::of("earshot-data/earshot.db", &none).unwrap(),
            Mode::Embedded
        );
        assert_eq!(
            Mode::of("postgres://127.0.0.1/test", &none).unwrap(),
            Mode::SingleOnPostgres
        );
        assert_eq!(
            Mode::of("postgres://127.0.0.1/test", &bus("nats://127.0.0.1:4222")).unwrap(),
            Mode::Cluster
        );
        let err = Mode::of("earshot-data/earshot.db", &bus("nats://127.0.0.1:4222"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bus.url") && err.contains("postgres://") && err.contains("remove [bus]"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_bus_names_its_key_and_hides_passwords() {
        let pg = "postgres://127.0.0.1/test";
        let err = Mode::of(pg, &bus("http://me:hunter2@nats:4222"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bus.url") && !err.contains("hunter2"), "{err}");
        let mut b = bus("nats://127.0.0.1:4222");
        b.stream = "heard.posts".into();
        let err = Mode::of(pg, &b).unwrap_err().to_string();
        assert!(err.contains("bus.stream"), "{err}");
        let mut b = bus("nats://127.0.0.1:4222");
        b.max_deliveries = 0;
        assert!(Mode::of(pg, &b)
            .unwrap_err()
            .to_string()
            .contains("bus.max_deliveries"));
    }

    #[test]
    fn the_description_names_the_mode_and_shows_only_the_url_given() {
        let b = bus("nats://me:hunter2@127.0.0.1:4222");
        let text = Mode::Cluster.describe(&b, "nats://me:***@127.0.0.1:4222");
        assert!(
            text.contains("cluster") && text.contains("EARSHOT_HEARD"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(Mode::Embedded.describe(&b, "").contains("embedded"));
    }
}
