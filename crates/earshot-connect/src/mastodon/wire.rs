//! Mastodon REST/streaming entities as they arrive (PROTOCOLS.md §1.4), and their
//! conversion into [`NewPost`].
//!
//! Only the fields earshot uses are named; everything is defaulted and unknown fields are
//! ignored, because servers (and forks: Pleroma, Akkoma, GoToSocial) add and omit fields.

use crate::de::{id, null_default, opt_id, rfc3339};
use crate::{clamp_text, html, non_empty, InvalidPost, NotAPost};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;

/// Which of a status's two ids becomes its `external_id`.
///
/// A status has an instance-local `id` (what *this* instance calls it, and what
/// `in_reply_to_id` and the reply API speak) and a global ActivityPub `uri` (the same on every
/// instance). The default is [`StatusKey::LocalId`]: earshot reads a brand's mentions through
/// the brand's own instance, and there the local id threads (`in_reply_to_id` names the parent
/// by local id, never by uri) and can be answered directly. Keying on the uri dedupes a status
/// seen through several instances, but then `in_reply_to` no longer matches any key until the
/// parent's uri is looked up, which only a live connector can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusKey {
    /// The instance-local `id` (default).
    #[default]
    LocalId,
    /// The ActivityPub `uri`, falling back to the local id when a status has none.
    Uri,
}

/// A Mastodon status (a post, a "toot").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Status {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Global ActivityPub id; identical on every instance.
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    pub url: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    pub edited_at: Option<String>,
    /// Sanitised HTML (`<p>`, `<br>`, `<span>`, `<a>`).
    #[serde(deserialize_with = "null_default")]
    pub content: String,
    /// The content warning, shown before the content.
    #[serde(deserialize_with = "null_default")]
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub visibility: String,
    #[serde(deserialize_with = "opt_id")]
    pub in_reply_to_id: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    pub in_reply_to_account_id: Option<String>,
    /// Set when this status is a boost; the boosted status is inside.
    pub reblog: Option<Box<Status>>,
    #[serde(deserialize_with = "null_default")]
    pub account: Account,
    #[serde(deserialize_with = "null_default")]
    pub mentions: Vec<Mention>,
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<Tag>,
}

/// The account that wrote a status or acted in a notification.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Account {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub username: String,
    /// `user` for local accounts, `user@domain` for remote ones: what people see and type.
    #[serde(deserialize_with = "null_default")]
    pub acct: String,
    pub display_name: Option<String>,
    pub url: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub bot: bool,
    #[serde(deserialize_with = "null_default")]
    pub group: bool,
    pub followers_count: Option<u64>,
    pub following_count: Option<u64>,
    pub statuses_count: Option<u64>,
}

/// An account mentioned in a status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Mention {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub username: String,
    #[serde(deserialize_with = "null_default")]
    pub acct: String,
    pub url: Option<String>,
}

/// A hashtag on a status (`name` without `#`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Tag {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    pub url: Option<String>,
}

/// A notification: earshot listens to `mention`s; every other type is skipped.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Notification {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// `mention`, `status`, `reblog`, `favourite`, `follow`, `poll`, `update`, `admin.*`, ...
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    /// Who acted.
    #[serde(deserialize_with = "null_default")]
    pub account: Account,
    /// Present for `mention`, `status`, `reblog`, `favourite`, `poll`, `update`, `quote`.
    pub status: Option<Status>,
    pub group_key: Option<String>,
}

impl Status {
    /// The status as a post, keyed by its local id ([`StatusKey::LocalId`]).
    ///
    /// A boost is skipped: its author did not write anything new, and the boosted status
    /// arrives on its own when it concerns the brand.
    pub fn into_new_post(self) -> Result<NewPost, NotAPost> {
        self.into_new_post_keyed(StatusKey::default())
    }

    /// The status as a post, keyed as `key` says.
    pub fn into_new_post_keyed(self, key: StatusKey) -> Result<NewPost, NotAPost> {
        if let Some(boosted) = &self.reblog {
            return Err(NotAPost::skipped(format!(
                "status {} is a boost of {} by @{}, not a new post",
                self.id,
                if boosted.uri.is_empty() {
                    &boosted.id
                } else {
                    &boosted.uri
                },
                boosted.account.acct
            )));
        }
        let external_id = match key {
            StatusKey::Uri if !self.uri.trim().is_empty() => self.uri,
            _ => self.id,
        };
        if external_id.trim().is_empty() {
            return Err(InvalidPost::field("id", "a status needs an id").into());
        }
        let created_at = rfc3339("created_at", &self.created_at)?;
        let body = html::to_text(&self.content);
        let warning = html::to_text(&self.spoiler_text);
        let text = match (warning.is_empty(), body.is_empty()) {
            (true, _) => body,
            (false, true) => warning,
            (false, false) => format!("{warning}\n\n{body}"),
        };
        Ok(NewPost {
            in_reply_to: self.in_reply_to_id,
            lang: non_empty(self.language),
            url: non_empty(self.url),
            ..NewPost::new(
                Network::Mastodon,
                external_id,
                self.account.into_author(),
                clamp_text(text),
                created_at,
            )
        })
    }
}

impl Account {
    /// The account as a post's author: handle = `acct` (`user@domain` for remote people).
    pub fn into_author(self) -> Author {
        let handle = if self.acct.is_empty() {
            self.username
        } else {
            self.acct
        };
        Author {
            display_name: non_empty(self.display_name),
            followers: self.followers_count,
            bot: self.bot,
            ..Author::new(self.id, handle.trim_start_matches('@'))
        }
    }
}

impl Notification {
    /// The mentioning status as a post; every other notification type is skipped.
    pub fn into_new_post(self) -> Result<NewPost, NotAPost> {
        self.into_new_post_keyed(StatusKey::default())
    }

    /// Like [`Notification::into_new_post`], keyed as `key` says.
    pub fn into_new_post_keyed(self, key: StatusKey) -> Result<NewPost, NotAPost> {
        if self.kind != "mention" {
            return Err(NotAPost::skipped(format!(
                "notification {} is a {:?}, not a mention",
                self.id, self.kind
            )));
        }
        match self.status {
            Some(status) => status.into_new_post_keyed(key),
            None => Err(InvalidPost::field(
                "status",
                format!("mention notification {} carries no status", self.id),
            )
            .into()),
        }
    }
}

/// A Mastodon JSON object of either kind, for files and streams that mix them.
#[derive(Debug, Clone)]
pub enum Entity {
    Status(Box<Status>),
    Notification(Box<Notification>),
}

impl Entity {
    /// Reads one status or notification. A notification is told apart by its `type` field,
    /// which statuses do not have.
    pub fn from_json(json: &[u8]) -> Result<Entity, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_slice(json)?;
        let is_notification = value.as_object().is_some_and(|o| {
            o.get("type").is_some_and(|t| t.is_string()) && !o.contains_key("content")
        });
        if is_notification {
            Ok(Entity::Notification(Box::new(serde_json::from_value(
                value,
            )?)))
        } else {
            Ok(Entity::Status(Box::new(serde_json::from_value(value)?)))
        }
    }

    /// The post this entity carries, keyed as `key` says.
    pub fn into_new_post_keyed(self, key: StatusKey) -> Result<NewPost, NotAPost> {
        match self {
            Entity::Status(s) => s.into_new_post_keyed(key),
            Entity::Notification(n) => n.into_new_post_keyed(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MENTION: &str = r#"{
      "id": "412098765", "type": "mention", "group_key": "ungrouped-412098765", "created_at": "2026-08-20T09:14:58.412Z",
      "account": {"id": "109876543210987654", "username": "lena", "acct": "lena@fosstodon.example", "display_name": "Lena K.", "bot": false, "followers_count": 1834},
      "status": {
        "id": "115063412345678901",
        "uri": "https://fosstodon.example/users/lena/statuses/115063412301234567",
        "url": "https://fosstodon.example/@lena/115063412301234567",
        "created_at": "2026-08-20T09:14:57.000Z", "edited_at": null, "in_reply_to_id": null, "in_reply_to_account_id": null,
        "sensitive": false, "spoiler_text": "", "visibility": "public", "language": "de",
        "content": "<p><span class=\"h-card\"><a href=\"https://mastodon.example/@acme\" class=\"u-url mention\">@<span>acme</span></a></span> Seit dem Update startet die App nicht mehr. <a href=\"https://mastodon.example/tags/AcmeApp\" class=\"mention hashtag\" rel=\"tag\">#<span>AcmeApp</span></a></p>",
        "reblog": null,
        "account": {"id": "109876543210987654", "username": "lena", "acct": "lena@fosstodon.example", "display_name": "Lena K.",
                    "bot": false, "url": "https://fosstodon.example/@lena", "followers_count": 1834, "following_count": 402, "statuses_count": 5120},
        "mentions": [{"id": "110000000000000001", "username": "acme", "acct": "acme", "url": "https://mastodon.example/@acme"}],
        "tags": [{"name": "acmeapp", "url": "https://mastodon.example/tags/acmeapp"}],
        "media_attachments": [], "emojis": [], "card": null, "poll": null, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0
      }
    }"#;

    #[test]
    fn a_mention_notification_becomes_a_post() {
        let n: Notification = serde_json::from_str(MENTION).unwrap();
        let post = n.into_new_post().unwrap();
        assert_eq!(post.network, Network::Mastodon);
        assert_eq!(post.external_id, "115063412345678901");
        assert_eq!(
            post.text,
            "@acme Seit dem Update startet die App nicht mehr. #AcmeApp"
        );
        assert_eq!(post.author.handle, "lena@fosstodon.example");
        assert_eq!(post.author.external_id, "109876543210987654");
        assert_eq!(post.author.display_name.as_deref(), Some("Lena K."));
        assert_eq!(post.author.followers, Some(1834));
        assert!(!post.author.bot);
        assert_eq!(post.lang.as_deref(), Some("de"));
        assert_eq!(
            post.url.as_deref(),
            Some("https://fosstodon.example/@lena/115063412301234567")
        );
        assert_eq!(post.in_reply_to, None);
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:14:57+00:00");
    }

    #[test]
    fn the_uri_key_is_available() {
        let n: Notification = serde_json::from_str(MENTION).unwrap();
        let post = n.into_new_post_keyed(StatusKey::Uri).unwrap();
        assert_eq!(
            post.external_id,
            "https://fosstodon.example/users/lena/statuses/115063412301234567"
        );
        let no_uri: Status = serde_json::from_str(
            r#"{"id":"9","created_at":"2026-08-20T09:14:57Z","content":"<p>x</p>"}"#,
        )
        .unwrap();
        assert_eq!(
            no_uri
                .into_new_post_keyed(StatusKey::Uri)
                .unwrap()
                .external_id,
            "9"
        );
    }

    #[test]
    fn other_notification_types_are_skipped() {
        for kind in [
            "favourite",
            "follow",
            "reblog",
            "admin.sign_up",
            "severed_relationships",
        ] {
            let json = format!(
                r#"{{"id":"1","type":"{kind}","created_at":"2026-08-20T09:14:58Z","account":{{"id":"2","acct":"x"}}}}"#
            );
            let n: Notification = serde_json::from_str(&json).unwrap();
            assert!(
                matches!(n.into_new_post(), Err(NotAPost::Skipped(_))),
                "{kind}"
            );
        }
    }

    #[test]
    fn entities_are_told_apart() {
        let n = Entity::from_json(MENTION.as_bytes()).unwrap();
        assert!(matches!(n, Entity::Notification(_)));
        let s = Entity::from_json(
            br#"{"id":"1","content":"<p>hi</p>","created_at":"2026-08-20T09:14:57Z"}"#,
        )
        .unwrap();
        assert!(matches!(s, Entity::Status(_)));
        assert_eq!(
            s.into_new_post_keyed(StatusKey::LocalId).unwrap().text,
            "hi"
        );
        assert!(Entity::from_json(b"[1,2").is_err());
    }

    #[test]
    fn a_mention_without_status_is_invalid() {
        let n: Notification = serde_json::from_str(
            r#"{"id":"1","type":"mention","created_at":"2026-08-20T09:14:58Z"}"#,
        )
        .unwrap();
        assert!(matches!(n.into_new_post(), Err(NotAPost::Invalid(_))));
    }

    #[test]
    fn boosts_are_skipped_with_a_reason() {
        let s: Status = serde_json::from_str(
            r#"{"id":"2","created_at":"2026-08-20T09:14:57Z","content":"","account":{"id":"3","acct":"booster"},
                "reblog":{"id":"1","uri":"https://a.example/users/x/statuses/1","created_at":"2026-08-20T09:00:00Z","content":"<p>orig</p>","account":{"id":"4","acct":"x@a.example"}}}"#,
        )
        .unwrap();
        match s.into_new_post() {
            Err(NotAPost::Skipped(reason)) => {
                assert!(reason.contains("boost"), "{reason}");
                assert!(
                    reason.contains("https://a.example/users/x/statuses/1"),
                    "{reason}"
                );
            }
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn content_warning_goes_first_and_reply_is_kept() {
        let s: Status = serde_json::from_str(
            r#"{"id":"5","created_at":"2026-08-20T11:00:00+02:00","spoiler_text":"Fakturering","in_reply_to_id":"4",
                "content":"<p>Jeg er blevet trukket to gange for abonnementet.</p>","language":"da",
                "account":{"id":"6","username":"mette","acct":"mette@mastodon.dk","display_name":"","bot":true,"followers_count":null},
                "url":null}"#,
        )
        .unwrap();
        let post = s.into_new_post().unwrap();
        assert_eq!(
            post.text,
            "Fakturering\n\nJeg er blevet trukket to gange for abonnementet."
        );
        assert_eq!(post.in_reply_to.as_deref(), Some("4"));
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:00:00+00:00");
        assert_eq!(post.author.display_name, None);
        assert_eq!(post.author.followers, None);
        assert!(post.author.bot);
        assert_eq!(post.url, None);
    }

    #[test]
    fn nulls_and_missing_fields_are_tolerated_but_time_is_required() {
        let s: Status = serde_json::from_str(
            r#"{"id":"5","uri":null,"content":null,"spoiler_text":null,"account":null,"mentions":null,"tags":null,"extra":{"new":"field"}}"#,
        )
        .unwrap();
        match s.into_new_post() {
            Err(NotAPost::Invalid(e)) => assert_eq!(e.field, Some("created_at")),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}
