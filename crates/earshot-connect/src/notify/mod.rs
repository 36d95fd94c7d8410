//! Outbound notifications: telling people when something needs them (a response target about
//! to be missed, a connector gone deaf, a spike, an overdue promise, a page).
//!
//! An [`Alert`] goes to a [`Dispatcher`], which dedupes it by key within a window, queues it
//! without ever blocking the caller, and fans it out to every configured target with retries.
//! Targets implement [`Notifier`]; three exist (PROTOCOLS.md §6): Slack incoming webhooks
//! ([`slack`]), the signed generic webhook ([`webhook`], Standard Webhooks headers) and SMTP
//! email ([`email`], lettre). [`check`] sends a test alert for `earshot notify test`.
//!
//! Files: `alert.rs` (the alert and its text/Slack renderings), `dispatch.rs` (queue, dedupe,
//! retries, per-target status), `slack.rs`, `webhook.rs`, `email.rs`, `http.rs` (shared HTTP
//! bits), `fake.rs` (fake Slack, webhook receiver and SMTP server; feature `fake`), `tests.rs`.
//!
//! Invariants: a notifier makes one attempt and says whether another could help
//! ([`NotifyError::Retryable`]) or not ([`NotifyError::Refused`]); only the dispatcher
//! retries, so every retry of an alert carries the same event id. Secrets (the Slack URL, the
//! signing secret, the SMTP password) never appear in logs, `Debug` output or errors.

pub mod alert;
mod dispatch;
pub mod email;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub(crate) mod http;
pub mod slack;
#[cfg(test)]
mod tests;
pub mod webhook;

pub use crate::Secret;
pub use alert::{Alert, AlertKind, Fact, Severity};
pub use dispatch::{
    Dispatched, Dispatcher, DispatcherStats, Settled, Target, TargetState, TargetStatus,
};
pub use email::{EmailConfig, EmailNotifier, SmtpSecurity};
pub use slack::{SlackConfig, SlackNotifier};
pub use webhook::{WebhookConfig, WebhookNotifier};

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Why an alert did not reach a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Worth another try later (5xx, 429, a timeout, a dropped connection); `retry_after` is
    /// the target's own wish when it stated one.
    #[error("{target} is unavailable for now: {reason}")]
    Retryable {
        target: String,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The target answered and will not take it (revoked webhook, wrong password, 4xx):
    /// retrying cannot help; a person must fix the target.
    #[error("{target} refused the alert: {reason}")]
    Refused { target: String, reason: String },
    /// The settings cannot work (a bad URL or address, TLS off for a remote server).
    #[error("{target} is misconfigured: {reason}")]
    Misconfigured { target: String, reason: String },
    /// `earshot notify test <name>` named a target that is not configured.
    #[error("no notification target is named {0:?}")]
    UnknownTarget(String),
}

impl NotifyError {
    /// Worth another try at `target` later; `retry_after` when the target said when.
    pub fn retryable(
        target: &str,
        reason: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        NotifyError::Retryable {
            target: target.into(),
            reason: reason.into(),
            retry_after,
        }
    }

    /// `target` answered and will not take the alert.
    pub fn refused(target: &str, reason: impl Into<String>) -> Self {
        NotifyError::Refused {
            target: target.into(),
            reason: reason.into(),
        }
    }

    /// `target`'s settings cannot work.
    pub fn misconfigured(target: &str, reason: impl Into<String>) -> Self {
        NotifyError::Misconfigured {
            target: target.into(),
            reason: reason.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, NotifyError::Retryable { .. })
    }
}

/// One place alerts can go. Makes one attempt per call: retrying is the dispatcher's job.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// `slack:<name>`, `webhook:<name>`, `email:<name>`: used in status and errors.
    fn name(&self) -> &str;
    async fn notify(&self, alert: &Alert) -> Result<(), NotifyError>;
}

/// How one configured target delivers.
#[derive(Debug, Clone)]
pub enum Channel {
    Slack(SlackConfig),
    Webhook(WebhookConfig),
    Email(EmailConfig),
}

/// One notification target as configured (`[[notify.targets]]`).
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// A short name an operator picks (`ops`, `on-call`); the notifier reports as
    /// `<channel>:<name>`.
    pub name: String,
    /// Alerts below this severity skip this target (e.g. email only for `critical`).
    pub min_severity: Severity,
    pub channel: Channel,
}

impl TargetConfig {
    /// A target that hears every severity.
    pub fn new(name: impl Into<String>, channel: Channel) -> Self {
        TargetConfig {
            name: name.into(),
            min_severity: Severity::Info,
            channel,
        }
    }

    /// `slack:ops`.
    pub fn full_name(&self) -> String {
        let channel = match self.channel {
            Channel::Slack(_) => "slack",
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
        };
        format!("{channel}:{}", self.name)
    }

    /// The notifier for this target; fails when the settings cannot work.
    pub fn notifier(&self) -> Result<Arc<dyn Notifier>, NotifyError> {
        let name = self.full_name();
        Ok(match &self.channel {
            Channel::Slack(c) => Arc::new(SlackNotifier::new(name, c.clone())?),
            Channel::Webhook(c) => Arc::new(WebhookNotifier::new(name, c.clone())?),
            Channel::Email(c) => Arc::new(EmailNotifier::new(name, c.clone())?),
        })
    }
}

/// When a failed delivery is tried again: after each delay in turn, then given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The waits between attempts (±10 % jitter); their count is the number of retries.
    pub delays: Vec<Duration>,
    /// The longest a target's `Retry-After` is honoured; a longer wish waits this long.
    pub max_retry_after: Duration,
    /// The most one attempt may take, whatever the notifier's own timeouts say.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// PROTOCOLS.md §6.3's schedule (30 s, 2 min, 10 min, 1 h), cut before its 6-hour and
    /// daily steps: an alert that late is stale, and the next one carries the news.
    fn default() -> Self {
        RetryPolicy {
            delays: vec![
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
                Duration::from_secs(3600),
            ],
            max_retry_after: Duration::from_secs(3600),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// Every target plus how the dispatcher treats alerts (`[notify]`).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub targets: Vec<TargetConfig>,
    /// Alerts with the same key within this window are sent once (a flapping connector
    /// alerts once per window, not once per flap).
    pub dedupe_window: Duration,
    /// Alerts waiting per target; when full, the oldest of the lowest severity is dropped.
    pub queue_capacity: usize,
    pub retry: RetryPolicy,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            targets: Vec::new(),
            dedupe_window: Duration::from_secs(30 * 60),
            queue_capacity: 256,
            retry: RetryPolicy::default(),
        }
    }
}

/// Sends a test alert to `target` once, without queueing or retrying (`earshot notify
/// test`); the answer says what was reached or what to fix.
pub async fn check(target: &TargetConfig) -> Result<String, NotifyError> {
    let notifier = target.notifier()?;
    let alert = Alert::test(notifier.name());
    notifier.notify(&alert).await?;
    Ok(format!(
        "sent a test alert to {} ({})",
        notifier.name(),
        alert.event_id()
    ))
}
