//! `[store]`: how earshot uses its PostgreSQL database (SQLite ignores it).

use super::ConfigError;
use earshot_store::postgres::{check_transport, PgOptions, DEFAULT_POOL_SIZE};
use earshot_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The most connections one process may ask for: far beyond any PostgreSQL's
/// `max_connections`, so a larger number is a typo.
const MAX_POOL_SIZE: usize = 1000;

/// `[store]`: the connection pool and the plaintext rule for PostgreSQL.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Connections each earshot process keeps open at most. Every process of a cluster has
    /// its own pool: processes × pool_size must stay under PostgreSQL's `max_connections`.
    pub pool_size: usize,
    /// Accept a plaintext connection to a PostgreSQL on another host (earshot speaks no TLS
    /// to PostgreSQL yet). Only for a network you trust; `?sslmode=disable` in the URL says
    /// the same.
    pub allow_plaintext: bool,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            pool_size: DEFAULT_POOL_SIZE,
            allow_plaintext: false,
        }
    }
}

impl StoreSettings {
    /// The pool size is sane and, for a PostgreSQL `db_url`, the connection would not send
    /// anything in the clear beyond this host unless asked to.
    pub fn check(&self, db_url: &str) -> Result<(), ConfigError> {
        if !(1..=MAX_POOL_SIZE).contains(&self.pool_size) {
            return Err(ConfigError::Invalid {
                key: "store.pool_size".into(),
                message: format!(
                    "{} is not between 1 and {MAX_POOL_SIZE}; keep processes × pool_size under PostgreSQL's max_connections (100 unless changed)",
                    self.pool_size
                ),
            });
        }
        if earshot_store::is_postgres(db_url) {
            check_transport(db_url, self.allow_plaintext).map_err(|message| {
                ConfigError::Invalid {
                    key: "db".into(),
                    message,
                }
            })?;
        }
        Ok(())
    }

    pub fn options(&self) -> PgOptions {
        PgOptions {
            pool_size: self.pool_size,
            allow_plaintext: self.allow_plaintext,
        }
    }

    /// Opens the store at `db_url` with these settings.
    pub async fn open(&self, db_url: &str) -> Result<Arc<dyn Store>, StoreError> {
        earshot_store::open_with(db_url, self.options()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_is_checked_and_named() {
        let local = "postgres://postgres@127.0.0.1:5432/test";
        for ok in [1, 16, 1000] {
            let s = StoreSettings {
                pool_size: ok,
                ..Default::default()
            };
            assert!(s.check(local).is_ok(), "{ok}");
            assert_eq!(s.options().pool_size, ok);
        }
        for bad in [0, 1001] {
            let s = StoreSettings {
                pool_size: bad,
                ..Default::default()
            };
            let err = s.check(local).expect_err("out of range").to_string();
            assert!(err.contains("store.pool_size"), "{err}");
            assert!(err.contains("max_connections"), "{err}");
        }
    }

    #[test]
    fn a_remote_database_in_plaintext_needs_a_yes() {
        let remote = "postgres://care:hunter2@db.example.com/earshot";
        let err = StoreSettings::default()
            .check(remote)
            .expect_err("plaintext over the network")
            .to_string();
        assert!(err.contains("setting db"), "{err}");
        assert!(err.contains("allow_plaintext = true"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let yes = StoreSettings {
            allow_plaintext: true,
            ..Default::default()
        };
        assert!(yes.check(remote).is_ok());
        // SQLite is a file: nothing crosses a network.
        assert!(StoreSettings::default()
            .check("earshot-data/earshot.db")
            .is_ok());
    }
}
