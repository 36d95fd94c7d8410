//! `[http]`: what the HTTP server answers and how far it trusts what it is told.

use serde::{Deserialize, Serialize};

/// `[http]`: what the HTTP server answers and how far it trusts what it is told.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// How people reach earshot from outside (`https://care.example.com`): its host is
    /// served, and an `https` address makes cookies `Secure`.
    pub public_url: String,
    /// More host names (or `host:port`) requests may name in `Host`; loopback names
    /// (`localhost`, `127.0.0.1`, `[::1]`) are always allowed. Others get 421.
    pub allowed_hosts: Vec<String>,
    /// Addresses or CIDR ranges of reverse proxies whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed; nobody else's are.
    pub trusted_proxies: Vec<String>,
    /// Always mark cookies `Secure` and name the session cookie `__Host-earshot_session`
    /// (on by itself when `public_url` is `https://…`).
    pub secure_cookies: bool,
    /// A session unused for this long ends (the sign-in itself lasts at most 12 hours).
    pub session_idle_minutes: u32,
    /// Listen on a non-loopback address although no TLS-terminating proxy is configured
    /// (`public_url = "https://…"` and `trusted_proxies`): passwords and tokens then cross
    /// the network in clear text. Only for a network you trust.
    pub allow_insecure_listen: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            public_url: String::new(),
            allowed_hosts: vec![],
            trusted_proxies: vec![],
            secure_cookies: false,
            session_idle_minutes: 120,
            allow_insecure_listen: false,
        }
    }
}
