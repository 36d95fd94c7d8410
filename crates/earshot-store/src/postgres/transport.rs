//! How earshot reaches PostgreSQL: the pool's size, and TLS.
//!
//! The URL's `sslmode` means what it means to libpq (`psql`): `disable`, `prefer` (the
//! default), `require`, `verify-ca`, `verify-full`; `sslrootcert=/path/ca.pem` names the CA
//! for a private one (otherwise the CAs this system trusts). On top of that, nothing crosses
//! a network in plaintext unless someone said so: to a host other than this one, `prefer`
//! becomes "TLS or nothing", and `sslmode=disable` needs `[store] allow_plaintext = true`.
//! Loopback and Unix sockets stay as they are.

use std::net::IpAddr;
use std::path::PathBuf;
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

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypted, but anyone in the middle could answer (`prefer`, `require`).
    Nothing,
    /// Signed by a trusted CA, for any name (`verify-ca`).
    Ca,
    /// Signed by a trusted CA and issued for the host in the URL (`verify-full`).
    Full,
}

/// What a connection will be: the tokio-postgres settings, and the TLS around them.
#[derive(Debug, Clone)]
pub struct Transport {
    pub(crate) config: tokio_postgres::Config,
    /// The URL's `sslmode` (`prefer` when it says none).
    asked: String,
    /// What tokio-postgres does: `Disable`, `Prefer` (TLS if offered) or `Require`.
    pub(crate) ssl: SslMode,
    pub(crate) verify: Verify,
    pub(crate) root_cert: Option<PathBuf>,
    local: bool,
    unix_socket: bool,
}

const MODES: &str = "disable, prefer, require, verify-ca or verify-full";

impl Transport {
    /// Reads `url` and the plaintext rule; an error says what to change.
    pub fn plan(url: &str, allow_plaintext: bool) -> Result<Transport, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut asked = None;
        let mut root_cert = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => asked = Some(decode(value)),
                "sslrootcert" if value != "system" => {
                    root_cert = Some(PathBuf::from(decode(value)))
                }
                "sslrootcert" => {}
                "sslcert" | "sslkey" | "sslpassword" => {
                    return Err(format!(
                        "{key}: earshot does not present client certificates to PostgreSQL \
                         yet; sign in with a password in the URL and remove {key}"
                    ))
                }
                _ => rest.push(pair),
            }
        }
        // tokio-postgres knows only disable/prefer/require: it gets the URL without the TLS
        // parameters, and the mode is set below.
        let stripped = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: tokio_postgres::Config =
            stripped.parse().map_err(|e| super::db_error(&e))?;
        let asked = asked.unwrap_or_else(|| "prefer".to_string());

        let unix_socket = config.get_hostaddrs().is_empty()
            && !config.get_hosts().is_empty()
            && config.get_hosts().iter().all(is_unix);
        // `hostaddr`, when given, is where the connection goes; otherwise the host names.
        let local = if config.get_hostaddrs().is_empty() {
            config.get_hosts().iter().all(is_local)
        } else {
            config.get_hostaddrs().iter().all(IpAddr::is_loopback)
        };
        let plaintext_ok = local || allow_plaintext;
        let (ssl, verify) = match asked.as_str() {
            "disable" if plaintext_ok => (SslMode::Disable, Verify::Nothing),
            "disable" => {
                return Err(
                    "sslmode=disable to another host would send the password and every \
                     customer's post across the network in the clear: use \
                     sslmode=verify-full (with sslrootcert=/path/ca.pem for a private CA), or \
                     set [store] allow_plaintext = true if you trust that network"
                        .to_string(),
                )
            }
            // Beyond this host, "prefer" must not quietly fall back to plaintext.
            "prefer" if plaintext_ok => (SslMode::Prefer, Verify::Nothing),
            "prefer" => (SslMode::Require, Verify::Nothing),
            // As libpq: a CA given with `require` is checked.
            "require" if root_cert.is_some() => (SslMode::Require, Verify::Ca),
            "require" => (SslMode::Require, Verify::Nothing),
            "verify-ca" => (SslMode::Require, Verify::Ca),
            "verify-full" => (SslMode::Require, Verify::Full),
            other => return Err(format!("sslmode={other} is not one of {MODES}")),
        };
        // PostgreSQL speaks no TLS on a Unix socket (libpq ignores sslmode there too).
        let ssl = if unix_socket { SslMode::Disable } else { ssl };
        config.ssl_mode(ssl);
        Ok(Transport {
            config,
            asked,
            ssl,
            verify,
            root_cert,
            local,
            unix_socket,
        })
    }

    /// One line for `earshot config check`: what TLS the store will use.
    pub fn describe(&self) -> String {
        let mode = &self.asked;
        if self.unix_socket {
            return "plaintext over a Unix socket on this host (nothing crosses a network)".into();
        }
        let ca = match &self.root_cert {
            Some(path) => format!("the CA in {}", path.display()),
            None => "a CA this system trusts".into(),
        };
        let hosts = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let unchecked = "the server's certificate is not checked (sslmode=verify-full checks it)";
        match (self.ssl, self.verify) {
            (SslMode::Disable, _) if self.local => {
                format!("plaintext to this host (sslmode={mode})")
            }
            (SslMode::Disable, _) => format!(
                "PLAINTEXT to another host (sslmode={mode}, allowed by store.allow_plaintext): \
                 the password and posts cross the network in the clear"
            ),
            (SslMode::Prefer, _) if self.local => format!(
                "TLS if the server offers it, else plaintext (sslmode={mode}, this host); {unchecked}"
            ),
            (SslMode::Prefer, _) => format!(
                "TLS if the server offers it, else PLAINTEXT (sslmode={mode}, allowed by \
                 store.allow_plaintext); {unchecked}"
            ),
            (_, Verify::Nothing) if mode == "prefer" => format!(
                "TLS required (sslmode=prefer to another host: plaintext is refused without \
                 store.allow_plaintext); {unchecked}"
            ),
            (_, Verify::Nothing) => format!("TLS required (sslmode={mode}); {unchecked}"),
            (_, Verify::Ca) => format!(
                "TLS required, the server's certificate must be signed by {ca}; its host name \
                 is not checked (sslmode={mode})"
            ),
            (_, Verify::Full) => format!(
                "TLS required, the server's certificate must be signed by {ca} and issued for \
                 {hosts} (sslmode={mode})"
            ),
        }
    }

    /// A connection error with what to do about it, when TLS is why it failed.
    pub(crate) fn explain(&self, error: String) -> String {
        let mode = &self.asked;
        if error.contains("invalid peer certificate") {
            let what = match self.verify {
                Verify::Full => "signed by that CA and issued for the host in the URL",
                _ => "signed by that CA",
            };
            let ca = match &self.root_cert {
                Some(path) => format!("sslrootcert={}", path.display()),
                None => "the CAs this system trusts (no sslrootcert given)".into(),
            };
            format!(
                "{error}. The server's certificate was refused (sslmode={mode}): it must be \
                 {what}; check {ca} names the CA that signed the server's certificate"
            )
        } else if error.contains("does not support TLS") {
            let why = if mode == "prefer" {
                "it is on another host, and plaintext is refused there unless [store] \
                 allow_plaintext = true"
                    .to_string()
            } else {
                format!("sslmode={mode} asks for TLS")
            };
            format!(
                "{error}. The server answered that it speaks no TLS, and {why}: turn ssl on in \
                 its postgresql.conf"
            )
        } else {
            error
        }
    }
}

/// Refuses a URL whose connection would not be what it promises, or would send plaintext
/// beyond this host without `allow_plaintext`.
pub fn check_transport(url: &str, allow_plaintext: bool) -> Result<(), String> {
    Transport::plan(url, allow_plaintext).map(|_| ())
}

/// `%XX` escapes in a URL parameter's value.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_unix(host: &Host) -> bool {
    match host {
        Host::Tcp(_) => false,
        #[cfg(unix)]
        Host::Unix(_) => true,
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
    use super::{check_transport, Transport, Verify};
    use tokio_postgres::config::SslMode;

    fn plan(url: &str) -> Transport {
        Transport::plan(url, false).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn this_host_is_allowed_as_today() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgresql://me:pw@[::1]:5432/earshot",
            "postgres://me@%2Fvar%2Frun%2Fpostgresql/earshot",
            "postgres://me@127.0.0.1/earshot?sslmode=prefer",
            "postgres://me@127.0.0.1/earshot?sslmode=disable",
            "postgres://me@db.example.com/earshot?hostaddr=127.0.0.1",
        ] {
            assert_eq!(check_transport(url, false), Ok(()), "{url}");
        }
        // On this host "prefer" keeps libpq's meaning: TLS if offered, else plaintext.
        assert_eq!(plan("postgres://me@localhost/x").ssl, SslMode::Prefer);
        let socket = plan("postgres://me@%2Fvar%2Frun%2Fpostgresql/x?sslmode=require");
        assert_eq!(socket.ssl, SslMode::Disable, "no TLS on a Unix socket");
        assert!(socket.describe().contains("Unix socket"));
    }

    #[test]
    fn another_host_gets_tls_unless_plaintext_is_allowed() {
        for url in [
            "postgres://me:pw@db.example.com/earshot",
            "postgres://me@10.0.0.5:5432/earshot?sslmode=prefer",
            "postgres://me@localhost/earshot?hostaddr=10.0.0.5",
            "postgres://me@localhost,db2/earshot",
        ] {
            let t = plan(url);
            assert_eq!(t.ssl, SslMode::Require, "{url}: no fallback to plaintext");
            assert!(t.describe().starts_with("TLS required"), "{}", t.describe());
            let allowed = Transport::plan(url, true).expect(url);
            assert_eq!(allowed.ssl, SslMode::Prefer, "{url}");
            assert!(
                allowed.describe().contains("PLAINTEXT"),
                "{}",
                allowed.describe()
            );
        }
    }

    #[test]
    fn plaintext_to_another_host_needs_the_setting() {
        let url = "postgres://me:hunter2@db.example.com/x?sslmode=disable";
        let err = check_transport(url, false).expect_err("refused");
        assert!(err.contains("allow_plaintext = true"), "{err}");
        assert!(err.contains("verify-full"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let t = Transport::plan(url, true).expect("allowed");
        assert_eq!(t.ssl, SslMode::Disable);
        assert!(t.describe().contains("PLAINTEXT to another host"));
    }

    #[test]
    fn each_sslmode_means_what_it_means_to_libpq() {
        let at = |q: &str| plan(&format!("postgres://me@db.example.com/x?{q}"));
        let t = at("sslmode=require");
        assert_eq!((t.ssl, t.verify), (SslMode::Require, Verify::Nothing));
        let t = at("sslmode=require&sslrootcert=/etc/ca.pem");
        assert_eq!((t.ssl, t.verify), (SslMode::Require, Verify::Ca));
        let t = at("sslmode=verify-ca&sslrootcert=%2Fetc%2Fmy%20ca.pem");
        assert_eq!((t.ssl, t.verify), (SslMode::Require, Verify::Ca));
        assert_eq!(t.root_cert.as_deref(), Some("/etc/my ca.pem".as_ref()));
        assert!(
            t.describe().contains("the CA in /etc/my ca.pem"),
            "{}",
            t.describe()
        );
        let t = at("connect_timeout=5&sslmode=verify-full&application_name=e");
        assert_eq!((t.ssl, t.verify), (SslMode::Require, Verify::Full));
        assert_eq!(t.root_cert, None);
        assert!(t
            .describe()
            .contains("a CA this system trusts and issued for db.example.com"));
        assert_eq!(t.config.get_application_name(), Some("e"));
        let t = at("sslmode=verify-full&sslrootcert=system");
        assert_eq!(t.root_cert, None);

        let err = Transport::plan("postgres://me@localhost/x?sslmode=allow", true).unwrap_err();
        assert!(err.contains("verify-full"), "{err}");
        let err = Transport::plan("postgres://me@localhost/x?sslcert=/c.pem", true).unwrap_err();
        assert!(err.contains("client certificates"), "{err}");
    }
}
