//! What earshot tells people: an [`Alert`] and its two renderings, plain text (email, logs)
//! and Slack Block Kit (PROTOCOLS.md §6.1).
//!
//! Titles, bodies and facts often quote customers (a spike's top words, a post's text), so the
//! Slack rendering escapes `&`, `<` and `>` in all of them: a customer who writes
//! `<!channel>` or `<https://evil.example|your invoice>` gets plain text, not a ping or a link.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// How urgently a person must look. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// The word a config file uses (`info`, `warning`, `critical`), case-insensitive.
    pub fn parse(word: &str) -> Option<Severity> {
        match word.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }

    fn slack_emoji(self) -> &'static str {
        match self {
            Severity::Info => ":information_source:",
            Severity::Warning => ":warning:",
            Severity::Critical => ":rotating_light:",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A conversation will miss its response target soon.
    SlaBreachSoon,
    /// A conversation missed its response target.
    SlaBreached,
    /// A connector stopped hearing its network.
    ConnectorDown,
    /// A network refuses a connector's credentials.
    CredentialsFailing,
    /// New demand rises far above its usual rate.
    Spike,
    /// A public promise passed its due date without a release.
    PromiseOverdue,
    /// A reply could not be posted and earshot stopped trying: an agent must act.
    ReplyFailed,
    /// A person is paged: `on_call` is who (a name or handle, shown in the message).
    Page { on_call: String },
    /// `earshot notify test`: proves a target is reachable.
    Test,
}

impl AlertKind {
    /// The stable machine name (`connector_down`); the generic webhook's `type` is
    /// `alert.<name>`.
    pub fn name(&self) -> &'static str {
        match self {
            AlertKind::SlaBreachSoon => "sla_breach_soon",
            AlertKind::SlaBreached => "sla_breached",
            AlertKind::ConnectorDown => "connector_down",
            AlertKind::CredentialsFailing => "credentials_failing",
            AlertKind::Spike => "spike",
            AlertKind::PromiseOverdue => "promise_overdue",
            AlertKind::ReplyFailed => "reply_failed",
            AlertKind::Page { .. } => "page",
            AlertKind::Test => "test",
        }
    }

    /// The severity an alert of this kind gets unless its sender says otherwise.
    pub fn default_severity(&self) -> Severity {
        match self {
            AlertKind::SlaBreached
            | AlertKind::ConnectorDown
            | AlertKind::CredentialsFailing
            | AlertKind::Page { .. } => Severity::Critical,
            AlertKind::SlaBreachSoon
            | AlertKind::Spike
            | AlertKind::PromiseOverdue
            | AlertKind::ReplyFailed => Severity::Warning,
            AlertKind::Test => Severity::Info,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            AlertKind::SlaBreachSoon => "response target at risk",
            AlertKind::SlaBreached => "response target missed",
            AlertKind::ConnectorDown => "connector down",
            AlertKind::CredentialsFailing => "credentials failing",
            AlertKind::Spike => "spike",
            AlertKind::PromiseOverdue => "promise overdue",
            AlertKind::ReplyFailed => "reply not sent",
            AlertKind::Page { .. } => "page",
            AlertKind::Test => "test",
        }
    }
}

/// A name/value pair shown under an alert (`network: mastodon`, `waiting: 52 min`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub name: String,
    pub value: String,
}

/// One thing a person should know about, sent to every configured target. Serialised as JSON
/// where a sender keeps it to send again (an on-call page claimed in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub severity: Severity,
    /// One line: what happened (`Mastodon connector for acme stopped hearing`).
    pub title: String,
    /// Plain text, may quote customers; never markup.
    pub body: String,
    /// The earshot page to open (`https://earshot.acme.example/c/8812`).
    pub link: Option<String>,
    /// Alerts with the same key within the dispatcher's window are one alert
    /// (`connector-down:mastodon:acme`).
    pub dedupe_key: String,
    pub created_at: DateTime<Utc>,
    pub facts: Vec<Fact>,
}

impl Alert {
    /// An alert of `kind` at its default severity, created now.
    pub fn new(
        kind: AlertKind,
        title: impl Into<String>,
        body: impl Into<String>,
        dedupe_key: impl Into<String>,
    ) -> Alert {
        Alert {
            severity: kind.default_severity(),
            kind,
            title: title.into(),
            body: body.into(),
            link: None,
            dedupe_key: dedupe_key.into(),
            created_at: Utc::now(),
            facts: Vec::new(),
        }
    }

    /// The alert `earshot notify test` sends to `target`; its key is unique, so it is never
    /// deduplicated away.
    pub fn test(target: &str) -> Alert {
        let now = Utc::now();
        Alert::new(
            AlertKind::Test,
            "Test alert from earshot",
            format!("If you can read this, earshot can reach you through {target}."),
            format!(
                "test:{target}:{}",
                now.timestamp_nanos_opt().unwrap_or_default()
            ),
        )
        .at(now)
    }

    /// A connector stopped hearing (`source` as its health names it, `mastodon:acme`); keyed
    /// `connector-down:<source>` so a flapping connector is one alert per window.
    pub fn connector_down(source: &str, last_error: &str) -> Alert {
        Alert::new(
            AlertKind::ConnectorDown,
            format!("{source} stopped hearing"),
            format!("Last error: {last_error}"),
            format!("connector-down:{source}"),
        )
        .with_fact("connector", source)
    }

    /// A network refuses a connector's credentials; keyed `credentials-failing:<source>`.
    pub fn credentials_failing(source: &str, reason: &str) -> Alert {
        Alert::new(
            AlertKind::CredentialsFailing,
            format!("{source}: credentials refused"),
            format!("{reason}\nRenew the token and run `earshot connectors check`."),
            format!("credentials-failing:{source}"),
        )
        .with_fact("connector", source)
    }

    pub fn with_severity(mut self, severity: Severity) -> Alert {
        self.severity = severity;
        self
    }

    pub fn with_link(mut self, link: impl Into<String>) -> Alert {
        self.link = Some(link.into());
        self
    }

    pub fn with_fact(mut self, name: impl Into<String>, value: impl Into<String>) -> Alert {
        self.facts.push(Fact {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    pub fn at(mut self, created_at: DateTime<Utc>) -> Alert {
        self.created_at = created_at;
        self
    }

    /// The event id receivers dedupe on (`webhook-id`, email `Message-ID`): derived from the
    /// key and the creation time, so every retry and every target carries the same id, and
    /// the same alert re-sent after a restart does too.
    pub fn event_id(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(self.dedupe_key.as_bytes());
        digest.update(b"\n");
        digest.update(self.created_at.to_rfc3339().as_bytes());
        format!("evt_{}", hex(&digest.finalize()[..16]))
    }

    /// The id every alert with this key shares, for threading email follow-ups.
    pub(crate) fn thread_id(&self) -> String {
        let digest = Sha256::digest(self.dedupe_key.as_bytes());
        format!("thr_{}", hex(&digest[..16]))
    }

    /// `[critical] Mastodon connector for acme stopped hearing`
    pub fn subject(&self) -> String {
        // A header is one line: a title with a newline in it (from a customer) stays one.
        let title: String = self
            .title
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("[{}] {}", self.severity, title.trim())
    }

    /// The plain-text rendering: subject, body, facts, link.
    pub fn to_text(&self) -> String {
        let mut text = self.subject();
        text.push_str("\n\n");
        if let AlertKind::Page { on_call } = &self.kind {
            text.push_str(&format!("Paging {on_call}.\n\n"));
        }
        if !self.body.trim().is_empty() {
            text.push_str(self.body.trim_end());
            text.push_str("\n\n");
        }
        for fact in &self.facts {
            text.push_str(&format!("{}: {}\n", fact.name, fact.value));
        }
        if !self.facts.is_empty() {
            text.push('\n');
        }
        if let Some(link) = &self.link {
            text.push_str(&format!("Open in earshot: {link}\n"));
        }
        text.push_str(&format!(
            "\n{} · {} · {}\n",
            self.kind.label(),
            self.dedupe_key,
            self.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        text
    }

    /// The Slack incoming-webhook payload: an escaped `text` fallback (notifications show
    /// it) and Block Kit blocks, with link unfurling off.
    pub fn to_slack(&self) -> Value {
        let mut headline = format!(
            "{} *{}*",
            self.severity.slack_emoji(),
            escape_within(&self.title, 300)
        );
        if let AlertKind::Page { on_call } = &self.kind {
            headline.push_str(&format!("\nPaging {}", escape_within(on_call, 200)));
        }
        let budget = SECTION_TEXT_MAX.saturating_sub(headline.chars().count() + 1);
        let mut section = headline;
        if !self.body.trim().is_empty() {
            section.push('\n');
            section.push_str(&escape_within(self.body.trim_end(), budget));
        }
        let mut blocks = vec![json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": section},
        })];
        if !self.facts.is_empty() {
            let fields: Vec<Value> = self
                .facts
                .iter()
                .take(MAX_FIELDS)
                .map(|fact| {
                    let name = escape_within(&fact.name, 100);
                    let value = escape_within(&fact.value, FIELD_TEXT_MAX - 110);
                    json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
                })
                .collect();
            blocks.push(json!({"type": "section", "fields": fields}));
        }
        let mut context = format!("{} · {}", self.severity, self.kind.label());
        if let Some(link) = self.link.as_deref().and_then(slack_link_target) {
            context.push_str(&format!(" · <{link}|open in earshot>"));
        }
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": context}],
        }));
        let fallback = format!(
            "[{}] {}",
            self.severity,
            escape_within(&self.subject_title_and_start(), FALLBACK_MAX)
        );
        json!({
            "text": fallback,
            "blocks": blocks,
            "unfurl_links": false,
            "unfurl_media": false,
        })
    }

    fn subject_title_and_start(&self) -> String {
        let first_line = self.body.lines().find(|l| !l.trim().is_empty());
        match first_line {
            Some(line) => format!("{}: {}", self.title.trim(), line.trim()),
            None => self.title.trim().to_owned(),
        }
    }
}

/// Block Kit limits: section text 3000 characters, 10 fields of 2000 each.
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_TEXT_MAX: usize = 2000;
const MAX_FIELDS: usize = 10;
/// The notification fallback stays short: it is what a phone's lock screen shows.
const FALLBACK_MAX: usize = 300;

/// `text` with `&`, `<`, `>` escaped for Slack mrkdwn, at most `max` characters long
/// (counted after escaping, so an entity is never cut in half); `…` marks a cut.
pub fn escape_mrkdwn(text: &str) -> String {
    escape_within(text, usize::MAX)
}

fn escape_within(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut used = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let piece: &str = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            _ => "",
        };
        let cost = if piece.is_empty() {
            1
        } else {
            piece.chars().count()
        };
        // Leave room for the ellipsis unless this is the last character.
        let reserve = usize::from(chars.peek().is_some());
        if used + cost + reserve > max {
            out.push('…');
            break;
        }
        used += cost;
        if piece.is_empty() {
            out.push(c);
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// The link as Slack's `<url|label>` can carry it: http(s) only (no `javascript:`), with the
/// characters that would end the link early escaped.
fn slack_link_target(link: &str) -> Option<String> {
    let link = link.trim();
    let lower = link.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let mut out = String::with_capacity(link.len());
    for c in link.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            c if c.is_whitespace() || c.is_control() => out.push_str("%20"),
            c => out.push(c),
        }
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert::new(
            AlertKind::ConnectorDown,
            "Mastodon connector for acme stopped hearing",
            "No event for 12 minutes.",
            "connector-down:mastodon:acme",
        )
        .with_link("https://earshot.acme.example/connectors?x=1&y=2")
        .with_fact("network", "mastodon")
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(Severity::parse(" Critical "), Some(Severity::Critical));
        assert_eq!(Severity::parse("loud"), None);
        assert_eq!(alert().severity, Severity::Critical);
        assert_eq!(
            Alert::new(AlertKind::Spike, "t", "b", "k").severity,
            Severity::Warning
        );
    }

    #[test]
    fn connector_alerts_use_the_documented_keys() {
        let down = Alert::connector_down("mastodon:acme", "stream silent for 45 s");
        assert_eq!(down.dedupe_key, "connector-down:mastodon:acme");
        assert_eq!(down.kind, AlertKind::ConnectorDown);
        assert!(down.body.contains("stream silent"));
        let creds = Alert::credentials_failing("bluesky:acme.example", "401 ExpiredToken");
        assert_eq!(creds.dedupe_key, "credentials-failing:bluesky:acme.example");
        assert_eq!(creds.severity, Severity::Critical);
    }

    #[test]
    fn the_event_id_is_stable_per_alert_and_differs_between_alerts() {
        let a = alert();
        assert_eq!(a.event_id(), a.clone().event_id());
        assert!(a.event_id().starts_with("evt_") && a.event_id().len() == 36);
        let later = a.clone().at(a.created_at + chrono::Duration::seconds(1));
        assert_ne!(a.event_id(), later.event_id());
        assert_eq!(a.thread_id(), later.thread_id());
    }

    #[test]
    fn escaping_covers_the_three_characters_and_never_cuts_an_entity() {
        assert_eq!(
            escape_mrkdwn("<!channel> & <https://evil.example|pay here>"),
            "&lt;!channel&gt; &amp; &lt;https://evil.example|pay here&gt;"
        );
        let cut = escape_within("a&&&&&&", 8);
        assert_eq!(cut, "a&amp;…");
        assert!(escape_within(&"ø".repeat(5000), 3000).chars().count() <= 3000);
        assert_eq!(escape_within("abc", 3), "abc");
    }

    #[test]
    fn slack_links_are_http_only_and_cannot_break_out() {
        assert_eq!(slack_link_target("javascript:alert(1)"), None);
        assert_eq!(
            slack_link_target("https://e.example/a?b=1&c=2|x>"),
            Some("https://e.example/a?b=1&amp;c=2%7Cx%3E".into())
        );
    }

    #[test]
    fn text_rendering_names_everything_a_reader_needs() {
        let text = alert().to_text();
        assert!(text.starts_with("[critical] Mastodon connector for acme stopped hearing\n"));
        assert!(text.contains("No event for 12 minutes."));
        assert!(text.contains("network: mastodon"));
        assert!(text.contains("Open in earshot: https://earshot.acme.example/connectors?x=1&y=2"));
        let page = Alert::new(
            AlertKind::Page {
                on_call: "Priya".into(),
            },
            "Page\r\nInjected: header",
            "",
            "page:1",
        );
        assert_eq!(page.subject(), "[critical] Page  Injected: header");
        assert!(page.to_text().contains("Paging Priya."));
    }

    #[test]
    fn slack_rendering_has_a_fallback_blocks_and_a_safe_link() {
        let payload = alert().to_slack();
        assert_eq!(
            payload["text"],
            "[critical] Mastodon connector for acme stopped hearing: No event for 12 minutes."
        );
        assert_eq!(payload["unfurl_links"], false);
        let blocks = payload["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[1]["fields"][0]["text"], "*network*\nmastodon");
        let context = blocks[2]["elements"][0]["text"].as_str().unwrap();
        assert!(
            context
                .ends_with("<https://earshot.acme.example/connectors?x=1&amp;y=2|open in earshot>"),
            "{context}"
        );
        let long = Alert::new(AlertKind::Spike, "t", "<>".repeat(4000), "k").to_slack();
        let section = long["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            section.chars().count() <= SECTION_TEXT_MAX,
            "{}",
            section.len()
        );
        assert!(section.ends_with('…'));
    }
}
