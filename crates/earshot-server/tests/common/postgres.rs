//! A fresh PostgreSQL database per cluster test, made on the server `EARSHOT_TEST_POSTGRES`
//! names (the local test server by default) and dropped by the test's last line. Without
//! PostgreSQL a test is skipped with a message, except when `CI=true`: then it fails.

use std::time::Duration;

pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server the cluster tests use.
pub fn base_url() -> String {
    std::env::var("EARSHOT_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_string())
}

/// An administrator's connection to `base`, or why there is none.
pub async fn connect_admin(base: &str) -> Result<tokio_postgres::Client, String> {
    let connect = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_postgres::connect(base, tokio_postgres::NoTls),
    )
    .await;
    match connect {
        Ok(Ok((admin, connection))) => {
            tokio::spawn(connection);
            Ok(admin)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out after 10 s".to_string()),
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{db}{query}")
}

/// A database made for one test.
pub struct Fresh {
    pub admin: tokio_postgres::Client,
    pub name: String,
    pub url: String,
}

impl Fresh {
    pub async fn drop_database(self) {
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
    }
}

/// A new database named `<prefix>_<random>`; `None` (the test skips) when PostgreSQL cannot
/// be reached outside CI.
pub async fn fresh_database(prefix: &str) -> Option<Fresh> {
    let base = base_url();
    match connect_admin(&base).await {
        Ok(admin) => {
            let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let url = with_database(&base, &name);
            Some(Fresh { admin, name, url })
        }
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("PostgreSQL is required in CI but {base} cannot be reached: {why}");
            }
            eprintln!(
                "SKIPPED: cannot reach PostgreSQL at {base}: {why}. Start it or set EARSHOT_TEST_POSTGRES."
            );
            None
        }
    }
}
