//! What the HTTP server accepts from the network, from `[http]`: which `Host` names it
//! serves (a page on another site that re-points its own name at this machine — DNS
//! rebinding — gets 421), which peers' `X-Forwarded-*` headers it believes, how its cookies
//! are set, whether it may listen beyond loopback at all, and what of a URL reaches the logs.

use crate::settings::{ConfigError, HttpSettings};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, Uri};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The session cookie's name over plain HTTP, and with `Secure` forced (`__Host-`: the
/// browser then only takes it over HTTPS, for this exact host, for every path).
pub const SESSION_COOKIE: &str = "earshot_session";
pub const SECURE_SESSION_COOKIE: &str = "__Host-earshot_session";
/// The sign-in form's double-submit cookie (path `/login`, so `__Secure-` rather than `__Host-`).
pub const LOGIN_COOKIE: &str = "earshot_login";
pub const SECURE_LOGIN_COOKIE: &str = "__Secure-earshot_login";

/// `[http]` compiled once at start.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Host names (lower case, no port) this server answers to besides loopback.
    hosts: Vec<String>,
    proxies: Vec<IpNet>,
    secure_cookies: bool,
    /// How long an unused session lives.
    pub session_idle: chrono::Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            hosts: vec![],
            proxies: vec![],
            secure_cookies: false,
            session_idle: chrono::Duration::minutes(120),
        }
    }
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message,
    }
}

/// The host of an `http(s)://host[:port]/…` address, lower case; `None` for anything else.
fn url_host(url: &str) -> Option<String> {
    let rest = url
        .trim()
        .strip_prefix("https://")
        .or_else(|| url.trim().strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = host_name(authority);
    (!host.is_empty()).then_some(host)
}

/// `name[:port]` or `[v6]:port` → the name, lower case, without the port.
pub fn host_name(authority: &str) -> String {
    let a = authority.trim();
    let name = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match a.rsplit_once(':') {
            // A bare IPv6 address has several colons and no port.
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => a,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl HttpPolicy {
    /// Compiles `[http]`, given the address earshot listens on and the other sections'
    /// public addresses (`(key, url)`: `survey.public_url`, ...), whose hosts are served too.
    /// `Settings::http_policy` calls it with the whole file.
    pub fn new(
        http: &HttpSettings,
        listen: &str,
        other_public_urls: &[(&str, &str)],
    ) -> Result<HttpPolicy, ConfigError> {
        let mut hosts = vec![];
        let own = [("http.public_url", http.public_url.as_str())];
        for &(key, url) in own.iter().chain(other_public_urls) {
            if url.trim().is_empty() {
                continue;
            }
            match url_host(url) {
                Some(h) => hosts.push(h),
                None if key == "http.public_url" => {
                    return Err(invalid(
                        key,
                        format!("{url:?} is not an address like https://care.example.com"),
                    ))
                }
                // The other sections check their own addresses.
                None => {}
            }
        }
        for h in &http.allowed_hosts {
            let name = host_name(h);
            if name.is_empty() || name.contains(['/', ' ', '*']) {
                return Err(invalid(
                    "http.allowed_hosts",
                    format!("{h:?} is not a host name like care.example.com (no scheme, path or wildcard)"),
                ));
            }
            hosts.push(name);
        }
        // The address earshot listens on, when it is one specific address, is its own name.
        if let Ok(addr) = listen.parse::<SocketAddr>() {
            if !addr.ip().is_unspecified() {
                hosts.push(addr.ip().to_string().to_ascii_lowercase());
            }
        }
        let mut proxies = vec![];
        for p in &http.trusted_proxies {
            let p = p.trim();
            let net = p
                .parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    invalid(
                        "http.trusted_proxies",
                        format!("{p:?} is not an address or a range like 10.0.0.0/8"),
                    )
                })?;
            proxies.push(net);
        }
        if http.session_idle_minutes == 0 {
            return Err(invalid(
                "http.session_idle_minutes",
                "must be at least 1".into(),
            ));
        }
        hosts.sort();
        hosts.dedup();
        Ok(HttpPolicy {
            hosts,
            proxies,
            secure_cookies: http.secure_cookies || http.public_url.trim().starts_with("https://"),
            session_idle: chrono::Duration::minutes(i64::from(http.session_idle_minutes)),
        })
    }

    /// Whether a request naming `host` (the `Host` header) is for this server.
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name == "localhost" {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            if ip.is_loopback() {
                return true;
            }
        }
        self.hosts.contains(&name)
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the connection's peer, or — when the peer is a trusted proxy —
    /// the nearest address in `X-Forwarded-For` that is not one of the trusted proxies.
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .collect();
        // Right to left: each trusted proxy appended the address it heard from.
        let mut client = peer;
        for ip in forwarded.into_iter().rev() {
            client = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        Some(client)
    }

    /// Whether the browser reached us over HTTPS: always with secure cookies, else when a
    /// trusted proxy says so in `X-Forwarded-Proto`.
    pub fn over_tls(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || (peer.is_some_and(|p| self.trusted(p))
                && headers
                    .get("x-forwarded-proto")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    pub fn login_cookie(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_LOGIN_COOKIE
        } else {
            LOGIN_COOKIE
        }
    }
}

/// Refuses a listen address beyond loopback unless a TLS-terminating proxy is configured in
/// front (`http.public_url` on https and `http.trusted_proxies`) or the operator opted in.
pub fn check_listen(listen: &str, http: &HttpSettings) -> Result<(), ConfigError> {
    let Ok(addr) = listen.parse::<SocketAddr>() else {
        return Ok(()); // `Settings::check` names a malformed address.
    };
    if addr.ip().is_loopback() {
        return Ok(());
    }
    let behind_tls_proxy =
        http.public_url.trim().starts_with("https://") && !http.trusted_proxies.is_empty();
    if behind_tls_proxy {
        return Ok(());
    }
    if http.allow_insecure_listen {
        tracing::warn!(
            listen = %addr,
            "listening beyond loopback without TLS (http.allow_insecure_listen): passwords, sessions and API tokens cross the network in clear text"
        );
        return Ok(());
    }
    Err(invalid(
        "listen",
        format!(
            "{addr} is reachable from other machines, and earshot speaks plain HTTP: passwords, \
             session cookies and API tokens would cross the network readable by anyone on the way. \
             Put a TLS-terminating proxy in front and set [http] public_url = \"https://…\" and \
             trusted_proxies = [\"<the proxy's address>\"]; or listen on 127.0.0.1 behind a proxy on \
             this machine; or, on a network you trust, set http.allow_insecure_listen = true"
        ),
    ))
}

/// The `Host` a request names (HTTP/1.1 header, else the HTTP/2 authority).
pub fn request_host(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
}

/// The connection's peer address, when the server was started with connection info (it is,
/// by `App::run_until_stopped`); `None` when a router is driven directly.
pub fn peer(request_extensions: &axum::http::Extensions) -> Option<IpAddr> {
    request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// A request's path as the logs show it: the survey link's token (a bearer secret in the
/// URL) replaced by `…`, and query values dropped (they may hold tokens or customer text).
pub fn loggable_path(uri: &Uri) -> String {
    let path = uri.path();
    let mut out = match path.strip_prefix("/survey/") {
        Some(rest) => {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            format!("/survey/…{tail}")
        }
        None => path.to_string(),
    };
    if let Some(q) = uri.query() {
        let keys: Vec<&str> = q
            .split('&')
            .filter_map(|pair| pair.split('=').next())
            .filter(|k| !k.is_empty() && k.len() <= 32)
            .take(16)
            .collect();
        out.push('?');
        out.push_str(
            &keys
                .iter()
                .map(|k| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join("&"),
        );
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn policy(configure: impl FnOnce(&mut Settings)) -> HttpPolicy {
        let mut s = Settings::default();
        configure(&mut s);
        s.http_policy().unwrap()
    }

    #[test]
    fn loopback_and_configured_hosts_are_served_others_are_not() {
        let p = policy(|s| {
            s.http.public_url = "https://care.example.com/".into();
            s.http.allowed_hosts = vec!["earshot.internal:8443".into()];
        });
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "127.0.0.2",
            "[::1]:8080",
            "care.example.com",
            "CARE.example.com.",
            "earshot.internal",
        ] {
            assert!(p.host_allowed(ok), "{ok}");
        }
        for refused in [
            "attacker.example",
            "attacker.example:8080",
            "care.example.com.attacker.example",
            "10.0.0.5",
            "",
        ] {
            assert!(!p.host_allowed(refused), "{refused}");
        }
        assert!(p.secure_cookies());
        assert_eq!(p.session_cookie(), SECURE_SESSION_COOKIE);
    }

    #[test]
    fn a_specific_listen_address_is_its_own_host() {
        let p = policy(|s| s.listen = "10.0.0.5:8080".into());
        assert!(p.host_allowed("10.0.0.5:8080"));
        let p = policy(|s| s.listen = "0.0.0.0:8080".into());
        assert!(!p.host_allowed("0.0.0.0:8080"));
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let p = policy(|s| s.http.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.0.0.3".parse().unwrap(),
        );
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        // The nearest untrusted hop, not the left-most (which the client can write).
        assert_eq!(
            p.client_address(Some(proxy), &h),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(p.client_address(Some(stranger), &h), Some(stranger));
        assert!(p.over_tls(Some(proxy), &h));
        assert!(!p.over_tls(Some(stranger), &h));
        assert!({
            let mut s = Settings::default();
            s.http.trusted_proxies = vec!["everyone".into()];
            s
        }
        .http_policy()
        .is_err());
    }

    #[test]
    fn only_loopback_listens_without_a_tls_proxy_or_an_opt_in() {
        let mut s = Settings {
            listen: "0.0.0.0:8080".into(),
            ..Settings::default()
        };
        let err = s.check_listen().unwrap_err().to_string();
        assert!(
            err.contains("trusted_proxies") && err.contains("allow_insecure_listen"),
            "{err}"
        );
        s.http.public_url = "https://care.example.com".into();
        assert!(
            s.check_listen().is_err(),
            "https alone says nothing about a proxy"
        );
        s.http.trusted_proxies = vec!["10.0.0.2".into()];
        assert!(s.check_listen().is_ok());
        let s = Settings {
            listen: "[::]:8080".into(),
            http: crate::config::HttpSettings {
                allow_insecure_listen: true,
                ..Default::default()
            },
            ..Settings::default()
        };
        assert!(s.check_listen().is_ok());
        assert!(Settings::default().check_listen().is_ok());
    }

    #[test]
    fn logs_see_no_survey_token_and_no_query_values() {
        let uri: Uri = "/survey/AbC123secret".parse().unwrap();
        assert_eq!(loggable_path(&uri), "/survey/…");
        let uri: Uri = "/survey/AbC123secret/answer?x=1".parse().unwrap();
        assert_eq!(loggable_path(&uri), "/survey/…/answer?x=…");
        let uri: Uri = "/api/v1/search?q=my%20vin%2012345&limit=5".parse().unwrap();
        assert_eq!(loggable_path(&uri), "/api/v1/search?q=…&limit=…");
    }
}
