//! How earshot reaches PostgreSQL: the pool's size, and whether a plaintext connection is
//! acceptable. earshot speaks no TLS to PostgreSQL yet (`NoTls`), so a password and every
//! customer's post would cross the network in the clear; that is allowed on this host
//! (loopback or a Unix socket) and, beyond it, only when someone said so.

use std::net::IpAddr;
use tokio_postgres::config::{Host, SslMode};

/// The pool's size when nothing else is said.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How to connect (`[store]` in earshot's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgOptions {
    /// Connections this process keeps open at most.
    pub pool_size: usize,
    /// Accept a plaintext connection to a host beyond this one.
    pub allow_plaintext: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: DEFAULT_POOL_SIZE,
            allow_plaintext: false,
        }
    }
}

const NO_TLS_YET: &str = "earshot cannot speak TLS to PostgreSQL yet: run it on the same host / \
    through a local TLS tunnel (stunnel/pgbouncer), or set allow_plaintext = true (or \
    ?sslmode=disable in the URL) to accept a plaintext connection over the network";

/// Refuses a connection that would not be what the URL or the settings promise: TLS asked
/// for (`sslmode=require`, `verify-ca`, `verify-full`; never silently dropped to plaintext),
/// or plaintext to another host without `sslmode=disable` or `allow_plaintext`.
pub fn check_transport(url: &str, allow_plaintext: bool) -> Result<(), String> {
    // Checked on the raw URL: tokio-postgres does not even parse `verify-*`.
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    for pair in query.split('&') {
        if let Some(("sslmode", mode)) = pair.split_once('=') {
            if matches!(mode, "require" | "verify-ca" | "verify-full") {
                // `allow_plaintext` does not lift this: the URL itself asks for TLS.
                return Err(format!(
                    "sslmode={mode} asks for TLS, which earshot does not support yet: run it on \
                     the same host / through a local TLS tunnel (stunnel/pgbouncer) without \
                     sslmode, or write sslmode=disable to accept a plaintext connection over \
                     the network"
                ));
            }
        }
    }
    let config: tokio_postgres::Config = url.parse().map_err(|e| super::db_error(&e))?;
    if config.get_ssl_mode() == SslMode::Disable || allow_plaintext {
        return Ok(());
    }
    // `hostaddr`, when given, is where the connection goes; otherwise the host names.
    let local = if config.get_hostaddrs().is_empty() {
        config.get_hosts().iter().all(is_local)
    } else {
        config.get_hostaddrs().iter().all(IpAddr::is_loopback)
    };
    if local {
        Ok(())
    } else {
        Err(format!("the database is on another host; {NO_TLS_YET}"))
    }
}

fn is_local(host: &Host) -> bool {
    match host {
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::check_transport;

    #[test]
    fn this_host_is_allowed_as_today() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgresql://me:pw@[::1]:5432/earshot",
            "postgres://me@%2Fvar%2Frun%2Fpostgresql/earshot",
            "postgres://me@127.0.0.1/earshot?sslmode=prefer",
            "postgres://me@db.example.com/earshot?hostaddr=127.0.0.1",
        ] {
            assert_eq!(check_transport(url, false), Ok(()), "{url}");
        }
    }

    #[test]
    fn plaintext_to_another_host_needs_to_be_asked_for() {
        for url in [
            "postgres://me:pw@db.example.com/earshot",
            "postgres://me@10.0.0.5:5432/earshot?sslmode=prefer",
            "postgres://me@localhost/earshot?hostaddr=10.0.0.5",
            "postgres://me@localhost,db2/earshot",
        ] {
            let err = check_transport(url, false).expect_err(url);
            assert!(err.contains("cannot speak TLS to PostgreSQL yet"), "{err}");
            assert!(err.contains("allow_plaintext = true"), "{err}");
            assert!(err.contains("sslmode=disable"), "{err}");
            assert!(!err.contains("pw"), "{err}");
            assert_eq!(check_transport(url, true), Ok(()), "{url}");
        }
        assert_eq!(
            check_transport("postgres://me@db.example.com/x?sslmode=disable", false),
            Ok(())
        );
    }

    #[test]
    fn tls_asked_for_is_refused_never_dropped() {
        for mode in ["require", "verify-ca", "verify-full"] {
            for host in ["127.0.0.1", "db.example.com"] {
                let url = format!("postgres://me@{host}/earshot?connect_timeout=5&sslmode={mode}");
                // Not even `allow_plaintext` turns a TLS request into plaintext.
                let err = check_transport(&url, true).expect_err(&url);
                assert!(err.contains(&format!("sslmode={mode}")), "{err}");
                assert!(err.contains("does not support yet"), "{err}");
                assert!(!err.contains("allow_plaintext"), "{err}");
            }
        }
    }
}
