//! Email over SMTP submission (PROTOCOLS.md §6.2) with lettre: STARTTLS on 587, implicit TLS
//! on 465, or no TLS for a relay on this machine only; AUTH PLAIN/LOGIN.
//!
//! One plain-text message per alert, subject `[severity] title`. Its `Message-ID` comes from
//! the alert's event id (a retry re-sends the same id, so a mail system that dedupes on it
//! shows one message), and `In-Reply-To`/`References` name one id shared by every alert
//! with the same dedupe key, so a connector's down/down-again alerts thread together.

use super::{Alert, Notifier, NotifyError};
use crate::Secret;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Connect in plain text and upgrade with STARTTLS, which must succeed before the
    /// password or the message is sent (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    ImplicitTls,
    /// No TLS: only for a relay on this machine (tests, a local MTA); refused for any other
    /// host because the password would cross the network in clear.
    None,
}

/// One mailbox set to notify, through one SMTP server.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `earshot <alerts@acme.example>`
    pub from: String,
    /// Every recipient, each `name <address>` or a bare address.
    pub to: Vec<String>,
    /// The most one SMTP command may take.
    pub timeout: Duration,
}

impl EmailConfig {
    /// STARTTLS on port 587, no credentials, a 30-second command timeout.
    pub fn new(host: impl Into<String>, from: impl Into<String>, to: Vec<String>) -> Self {
        EmailConfig {
            host: host.into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: None,
            password: None,
            from: from.into(),
            to,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Sends alerts as email through one SMTP server.
#[derive(Clone)]
pub struct EmailNotifier {
    name: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The right-hand side of message ids: the sender's domain.
    id_domain: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("name", &self.name)
            .field("server", &self.server)
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

fn is_local(host: &str) -> bool {
    matches!(
        host.trim_matches(|c| c == '[' || c == ']'),
        "localhost" | "127.0.0.1" | "::1"
    )
}

impl EmailNotifier {
    pub fn new(name: impl Into<String>, config: EmailConfig) -> Result<Self, NotifyError> {
        let name = name.into();
        let misconfigured = |reason: String| NotifyError::misconfigured(&name, reason);
        let host = config.host.trim();
        if host.is_empty() {
            return Err(misconfigured("host is empty".into()));
        }
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| misconfigured(format!("from {:?} is not an address: {e}", config.from)))?;
        if config.to.is_empty() {
            return Err(misconfigured("to lists no recipient".into()));
        }
        let to = config
            .to
            .iter()
            .map(|t| {
                t.parse::<Mailbox>()
                    .map_err(|e| misconfigured(format!("to {t:?} is not an address: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tls = match config.security {
            SmtpSecurity::None if !is_local(host) => {
                return Err(misconfigured(format!(
                    "security = none sends the password in clear; it is allowed only for \
                     localhost, not {host:?}: use starttls (587) or tls (465)"
                )))
            }
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls | SmtpSecurity::ImplicitTls => {
                let parameters = TlsParameters::new(host.to_owned())
                    .map_err(|e| misconfigured(format!("TLS for {host:?}: {e}")))?;
                if config.security == SmtpSecurity::StartTls {
                    Tls::Required(parameters)
                } else {
                    Tls::Wrapper(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            (None, None) => {}
            _ => {
                return Err(misconfigured(
                    "set both username and password, or neither".into(),
                ))
            }
        }
        let id_domain = from.email.domain().to_owned();
        Ok(EmailNotifier {
            server: format!("{host}:{}", config.port),
            name,
            from,
            to,
            id_domain,
            transport: builder.build(),
        })
    }

    /// The message for `alert`, with stable ids for dedupe and threading.
    pub fn message(&self, alert: &Alert) -> Result<Message, NotifyError> {
        let thread = format!("<{}@{}>", alert.thread_id(), self.id_domain);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(alert.subject())
            .message_id(Some(format!("<{}@{}>", alert.event_id(), self.id_domain)))
            .in_reply_to(thread.clone())
            .references(thread)
            .date(alert.created_at.into())
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder.body(alert.to_text()).map_err(|e| {
            NotifyError::refused(&self.name, format!("the message could not be built: {e}"))
        })
    }

    fn classify(&self, error: lettre::transport::smtp::Error) -> NotifyError {
        let code = error.status().map(|c| c.to_string());
        let refused = |reason: String| NotifyError::refused(&self.name, reason);
        if error.is_permanent() {
            return match code.as_deref() {
                // RFC 4954: 535 bad credentials, 534 mechanism too weak, 530 auth required.
                Some("535" | "534" | "530" | "538") => refused(format!(
                    "{} refused the login ({error}): check the username and password",
                    self.server
                )),
                _ => refused(format!("{} rejected the message: {error}", self.server)),
            };
        }
        if error.is_client() {
            // No common AUTH mechanism, or no STARTTLS on offer: the settings must change.
            return refused(format!(
                "{}: {error}; check host, port and security",
                self.server
            ));
        }
        if error.is_tls() {
            return refused(format!(
                "TLS with {} failed ({error}): check host, port and security (starttls on 587, \
                 tls on 465)",
                self.server
            ));
        }
        NotifyError::retryable(&self.name, format!("{}: {error}", self.server), None)
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    #[tracing::instrument(skip_all, fields(target = %self.name, alert = %alert.dedupe_key))]
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError> {
        let message = self.message(alert)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = self.classify(e);
                tracing::warn!(error = %error, "email alert not delivered");
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::AlertKind;

    fn config() -> EmailConfig {
        let mut c = EmailConfig::new(
            "smtp.acme.example",
            "earshot <alerts@acme.example>",
            vec![
                "ops@acme.example".into(),
                "Priya <priya@acme.example>".into(),
            ],
        );
        c.username = Some("alerts".into());
        c.password = Some(Secret::new("hunter2-smtp"));
        c
    }

    #[test]
    fn settings_are_checked_and_the_password_never_prints() {
        let notifier = EmailNotifier::new("email:ops", config()).unwrap();
        assert!(!format!("{notifier:?}").contains("hunter2"));
        let mut implicit = config();
        implicit.security = SmtpSecurity::ImplicitTls;
        implicit.port = 465;
        assert!(EmailNotifier::new("email:ops", implicit).is_ok());
        let mut clear = config();
        clear.security = SmtpSecurity::None;
        let e = EmailNotifier::new("email:ops", clear).unwrap_err();
        assert!(e.to_string().contains("only for localhost"), "{e}");
        let mut clear_local = config();
        clear_local.security = SmtpSecurity::None;
        clear_local.host = "127.0.0.1".into();
        assert!(EmailNotifier::new("email:ops", clear_local).is_ok());
        let mut half = config();
        half.password = None;
        assert!(EmailNotifier::new("email:ops", half).is_err());
        let mut nobody = config();
        nobody.to.clear();
        assert!(EmailNotifier::new("email:ops", nobody).is_err());
        let mut bad = config();
        bad.to.push("not an address".into());
        let e = EmailNotifier::new("email:ops", bad).unwrap_err();
        assert!(e.to_string().contains("not an address"), "{e}");
    }

    #[test]
    fn the_message_has_stable_ids_and_every_recipient() {
        let notifier = EmailNotifier::new("email:ops", config()).unwrap();
        let alert = Alert::new(
            AlertKind::SlaBreached,
            "Missed",
            "Waited 52 min",
            "sla:8812",
        );
        let raw = String::from_utf8(notifier.message(&alert).unwrap().formatted()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{}@acme.example>", alert.event_id())),
            "{raw}"
        );
        assert!(
            raw.contains(&format!("References: <{}@acme.example>", alert.thread_id())),
            "{raw}"
        );
        assert!(raw.contains("Subject: [critical] Missed"), "{raw}");
        assert!(raw.contains("priya@acme.example") && raw.contains("ops@acme.example"));
        assert!(raw.contains("Waited 52 min"));
    }
}
