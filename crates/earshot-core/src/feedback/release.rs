//! A release ships requests; everyone who asked is told, once, in the thread where they asked,
//! in their language.

use super::request::RequestId;
use crate::conversation::ConversationId;
use crate::network::Network;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReleaseId(pub i64);

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub id: ReleaseId,
    pub version: String,
    pub shipped_at: DateTime<Utc>,
    pub notes: String,
    /// A public page about the release, linked in notifications when set.
    pub url: Option<String>,
    pub request_ids: Vec<RequestId>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// One customer's ask on a request, as the notifier needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ask {
    pub request_id: RequestId,
    pub post_id: i64,
    pub conversation_id: ConversationId,
    pub network: Network,
    /// The network's id of the ask: the notification answers it.
    pub external_id: String,
    pub author_external_id: String,
    pub author_handle: String,
    /// The language the customer wrote in.
    pub language: String,
    pub asked_at: DateTime<Utc>,
    /// The customer said they do not want to hear back.
    pub opted_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    /// Planned (a dry run stops here).
    Planned,
    /// Handed to the desk as a reply (sent or queued for retry there).
    Queued,
    Sent,
    Failed,
    Skipped,
}

impl NotificationState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationState::Planned => "planned",
            NotificationState::Queued => "queued",
            NotificationState::Sent => "sent",
            NotificationState::Failed => "failed",
            NotificationState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "planned" => NotificationState::Planned,
            "queued" => NotificationState::Queued,
            "sent" => NotificationState::Sent,
            "failed" => NotificationState::Failed,
            "skipped" => NotificationState::Skipped,
            _ => return None,
        })
    }
}

/// Why a customer who asked is not told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// They said they do not want updates.
    OptedOut,
    /// This release already told them (a re-run).
    AlreadyNotified,
    /// Where they asked, earshot cannot answer (a feed, a webhook).
    NoReplyChannel,
}

/// Reply templates per language, with a fallback. Placeholders: `{handle}` (without @),
/// `{title}` (the request), `{version}`, `{url}` (the release page, or nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Templates {
    pub by_language: BTreeMap<String, String>,
    pub fallback: String,
}

impl Default for Templates {
    fn default() -> Self {
        let by_language = [
            ("en", "Good news: what you asked for ({title}) is in version {version}, out now. Thanks for the nudge! {url}"),
            ("da", "Godt nyt: det, du bad om ({title}), er med i version {version}, som er ude nu. Tak for forslaget! {url}"),
            ("it", "Buone notizie: quello che ci avevi chiesto ({title}) è nella versione {version}, disponibile ora. Grazie del suggerimento! {url}"),
            ("de", "Gute Nachricht: Ihr Wunsch ({title}) ist in Version {version} enthalten, ab sofort verfügbar. Danke für den Hinweis! {url}"),
            ("fr", "Bonne nouvelle : ce que vous aviez demandé ({title}) est dans la version {version}, disponible dès maintenant. Merci pour l'idée ! {url}"),
            ("es", "Buenas noticias: lo que nos pediste ({title}) está en la versión {version}, ya disponible. ¡Gracias por la idea! {url}"),
            ("sv", "Goda nyheter: det du bad om ({title}) finns i version {version}, ute nu. Tack för tipset! {url}"),
            ("nb", "Gode nyheter: det du ba om ({title}) er med i versjon {version}, ute nå. Takk for tipset! {url}"),
            ("nl", "Goed nieuws: waar je om vroeg ({title}) zit in versie {version}, nu beschikbaar. Bedankt voor de tip! {url}"),
        ]
        .into_iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect();
        Templates {
            fallback:
                "Good news: what you asked for ({title}) is in version {version}, out now. {url}"
                    .into(),
            by_language,
        }
    }
}

impl Templates {
    /// The customer's language, else its base (`pt` for `pt-BR`), else the fallback.
    pub fn for_language(&self, language: &str) -> &str {
        let base = language.split(['-', '_']).next().unwrap_or(language);
        self.by_language
            .get(language)
            .or_else(|| self.by_language.get(base))
            .map(String::as_str)
            .unwrap_or(&self.fallback)
    }

    pub fn render(&self, language: &str, handle: &str, title: &str, release: &Release) -> String {
        let text = self
            .for_language(language)
            .replace("{handle}", handle.trim_start_matches('@'))
            .replace("{title}", title)
            .replace("{version}", &release.version)
            .replace("{url}", release.url.as_deref().unwrap_or(""));
        text.trim().to_string()
    }
}

/// The idempotency key of telling one customer about one release: stored with the
/// notification and used as the reply's key, so a re-run can never tell them twice.
pub fn notification_key(release: ReleaseId, network: Network, author_external_id: &str) -> String {
    format!("release:{release}:{network}:{author_external_id}")
}

/// What the notifier will do for one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationPlan {
    pub key: String,
    pub ask: Ask,
    /// The reply text, already in the customer's language.
    pub text: String,
    pub skip: Option<Skip>,
}

/// Plans who is told about `release`: one notification per customer (a customer who asked
/// several times, or for several shipped requests, is told once, in the thread of their
/// latest ask), skipping those who opted out, those already told, and asks made where earshot
/// cannot reply. Deterministic: sorted by key.
pub fn plan_notifications(
    release: &Release,
    asks: &[Ask],
    titles: &HashMap<RequestId, String>,
    templates: &Templates,
    already_notified: &HashSet<String>,
) -> Vec<NotificationPlan> {
    let shipped: HashSet<RequestId> = release.request_ids.iter().copied().collect();
    let mut latest: BTreeMap<String, &Ask> = BTreeMap::new();
    let mut opted_out: HashSet<String> = HashSet::new();
    for ask in asks.iter().filter(|a| shipped.contains(&a.request_id)) {
        let key = notification_key(release.id, ask.network, &ask.author_external_id);
        if ask.opted_out {
            opted_out.insert(key.clone());
        }
        let newer = latest
            .get(&key)
            .is_none_or(|cur| (ask.asked_at, ask.post_id) > (cur.asked_at, cur.post_id));
        if newer {
            latest.insert(key, ask);
        }
    }
    latest
        .into_iter()
        .map(|(key, ask)| {
            let title = titles
                .get(&ask.request_id)
                .map(String::as_str)
                .unwrap_or("your request");
            let skip = if opted_out.contains(&key) {
                Some(Skip::OptedOut)
            } else if already_notified.contains(&key) {
                Some(Skip::AlreadyNotified)
            } else if matches!(ask.network, Network::Rss | Network::Webhook) {
                Some(Skip::NoReplyChannel)
            } else {
                None
            };
            NotificationPlan {
                text: templates.render(&ask.language, &ask.author_handle, title, release),
                key,
                ask: ask.clone(),
                skip,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at;

    fn ask(post: i64, author: &str, lang: &str, network: Network, when: &str) -> Ask {
        Ask {
            request_id: RequestId(1),
            post_id: post,
            conversation_id: ConversationId(post * 10),
            network,
            external_id: format!("ext-{post}"),
            author_external_id: format!("id-{author}"),
            author_handle: author.into(),
            language: lang.into(),
            asked_at: at(when),
            opted_out: false,
        }
    }

    fn release() -> Release {
        Release {
            id: ReleaseId(9),
            version: "2017.36".into(),
            shipped_at: at("2017-09-01T10:00:00Z"),
            notes: "Easy entry seat position".into(),
            url: Some("https://example.com/r/2017.36".into()),
            request_ids: vec![RequestId(1)],
            created_by: "pm".into(),
            created_at: at("2017-09-01T10:00:00Z"),
        }
    }

    #[test]
    fn everyone_who_asked_is_told_once_in_their_language() {
        let titles = HashMap::from([(RequestId(1), "move the seat back when parked".to_string())]);
        let mut asks = vec![
            ask(1, "paulfranks", "en", Network::X, "2017-08-18T20:47:00Z"),
            ask(2, "mette", "da", Network::Mastodon, "2017-08-19T08:00:00Z"),
            // Paul asked again later: he is told once, in the later thread.
            ask(3, "paulfranks", "en", Network::X, "2017-08-20T09:00:00Z"),
            ask(4, "reader", "en", Network::Rss, "2017-08-20T09:00:00Z"),
        ];
        let mut other = ask(5, "zed", "en", Network::X, "2017-08-20T09:00:00Z");
        other.request_id = RequestId(2);
        asks.push(other);
        let plans = plan_notifications(
            &release(),
            &asks,
            &titles,
            &Templates::default(),
            &HashSet::new(),
        );
        assert_eq!(plans.len(), 3, "{plans:#?}");
        let paul = plans
            .iter()
            .find(|p| p.ask.author_handle == "paulfranks")
            .unwrap();
        assert_eq!(paul.ask.post_id, 3);
        assert!(paul.skip.is_none());
        assert!(paul.text.contains("2017.36") && paul.text.contains("move the seat back"));
        let mette = plans
            .iter()
            .find(|p| p.ask.author_handle == "mette")
            .unwrap();
        assert!(mette.text.starts_with("Godt nyt"), "{}", mette.text);
        let reader = plans
            .iter()
            .find(|p| p.ask.author_handle == "reader")
            .unwrap();
        assert_eq!(reader.skip, Some(Skip::NoReplyChannel));
    }

    #[test]
    fn a_rerun_and_an_opt_out_tell_nobody() {
        let titles = HashMap::new();
        let mut asks = vec![ask(1, "paul", "en", Network::X, "2017-08-18T20:47:00Z")];
        let mut declined = ask(
            2,
            "mette",
            "da-DK",
            Network::Bluesky,
            "2017-08-19T08:00:00Z",
        );
        declined.opted_out = true;
        asks.push(declined);
        let done: HashSet<String> = [notification_key(ReleaseId(9), Network::X, "id-paul")].into();
        let plans = plan_notifications(&release(), &asks, &titles, &Templates::default(), &done);
        assert!(plans.iter().all(|p| p.skip.is_some()), "{plans:#?}");
        assert!(plans.iter().any(|p| p.skip == Some(Skip::OptedOut)));
        assert!(plans.iter().any(|p| p.skip == Some(Skip::AlreadyNotified)));
    }

    #[test]
    fn templates_fall_back_by_base_language_then_default() {
        let t = Templates::default();
        assert!(t.for_language("da-DK").starts_with("Godt nyt"));
        assert!(t.for_language("xx").starts_with("Good news"));
        let text = t.render("it", "@carla", "il sedile", &release());
        assert!(text.contains("versione 2017.36"), "{text}");
    }
}
