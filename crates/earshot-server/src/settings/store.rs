//! `[store]`: how earshot uses its PostgreSQL database (SQLite ignores it). TLS is chosen
//! in the URL (`?sslmode=verify-full&sslrootcert=/path/ca.pem`), as with `psql`.

use super::ConfigError;
use earshot_store::postgres::{PgOptions, Transport, DEFAULT_POOL_SIZE};
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
    /// Accept a plaintext connection to a PostgreSQL on another host: `?sslmode=disable`, or
    /// a `prefer` (the default) that falls back to plaintext when the server offers no TLS.
    /// Only for a network you trust; without it, another host gets TLS or nothing.
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
            self.transport(db_url)?;
        }
        Ok(())
    }

    /// How the store will reach a PostgreSQL `db_url`: its TLS, its CA file read.
    fn transport(&self, db_url: &str) -> Result<Transport, ConfigError> {
        let invalid = |message| ConfigError::Invalid {
            key: "db".into(),
            message,
        };
        let transport = Transport::plan(db_url, self.allow_plaintext).map_err(invalid)?;
        transport.connector().map_err(invalid)?;
        Ok(transport)
    }

    /// What `earshot config check` says about the store's connection (nothing for SQLite).
    pub fn describe(&self, db_url: &str) -> Result<Option<String>, ConfigError> {
        if !earshot_store::is_postgres(db_url) {
            return Ok(None);
        }
        let t = self.transport(db_url)?;
        Ok(Some(format!(
            "store: PostgreSQL, {} connections per process; {}",
            self.pool_size,
            t.describe()
        )))
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
        let remote = "postgres://care:hunter2@db.example.com/earshot?sslmode=disable";
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
        let said = yes.describe(remote).unwrap().unwrap();
        assert!(said.contains("PLAINTEXT to another host"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
        // SQLite is a file: nothing crosses a network.
        assert!(StoreSettings::default()
            .check("earshot-data/earshot.db")
            .is_ok());
        assert_eq!(
            StoreSettings::default()
                .describe("earshot-data/earshot.db")
                .unwrap(),
            None
        );
    }

    #[test]
    fn config_check_says_which_tls_the_store_uses() {
        let s = StoreSettings::default();
        let said = |url: &str| s.describe(url).unwrap().unwrap();
        let remote = said("postgres://care@db.example.com/earshot");
        assert!(remote.contains("16 connections per process"), "{remote}");
        assert!(remote.contains("TLS required"), "{remote}");
        assert!(remote.contains("not checked"), "{remote}");
        let local = said("postgres://care@127.0.0.1/earshot");
        assert!(
            local.contains("else plaintext (sslmode=prefer, this host)"),
            "{local}"
        );
        // A CA file that is not there is named before the server is ever asked.
        let err = s
            .check("postgres://care@db.example.com/e?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .expect_err("no such CA file")
            .to_string();
        assert!(err.contains("sslrootcert=/nonexistent/ca.pem"), "{err}");
    }
}
