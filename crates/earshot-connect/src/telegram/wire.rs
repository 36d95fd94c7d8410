//! Telegram's JSON as it arrives (PROTOCOLS-2.md §1.5): an `Update` carrying at most one of
//! its many kinds, of which earshot reads the four that hold chat messages.
//!
//! Tolerant like every wire module: every field defaulted, unknown fields and unknown update
//! kinds ignored. Chat ids are signed 64-bit (`-100…` for supergroups and channels).

use crate::{clamp_text, non_empty, InvalidPost, NotAPost};
use chrono::DateTime;
use earshot_core::{Amendment, Author, Network, NewPost};
use serde::Deserialize;

/// One update from `getUpdates` or a webhook delivery.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
    pub channel_post: Option<Message>,
    pub edited_channel_post: Option<Message>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    pub message_id: i64,
    pub message_thread_id: Option<i64>,
    pub from: Option<User>,
    /// Set instead of (or besides) `from` for channel posts and anonymous group admins.
    pub sender_chat: Option<Chat>,
    pub chat: Chat,
    /// Unix seconds.
    pub date: i64,
    pub edit_date: Option<i64>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub text: String,
    /// Media messages carry their words here instead of `text`.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub caption: String,
    /// One level deep: the message this one answers.
    pub reply_to_message: Option<Box<Message>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Chat {
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type", deserialize_with = "crate::de::null_default")]
    pub kind: String,
    pub title: Option<String>,
    /// Public chats only: what `t.me/<username>` links use.
    pub username: Option<String>,
}

/// What an update means to earshot.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// A new message: a post.
    Post(NewPost),
    /// A message heard again with new text.
    Edit(Amendment),
}

/// The stable key of message `message_id` in chat `chat_id`.
pub fn message_key(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

/// The chat and message ids of a key made by [`message_key`].
pub fn parse_key(key: &str) -> Option<(i64, i64)> {
    let (chat, message) = key.trim().rsplit_once(':')?;
    Some((chat.parse().ok()?, message.parse().ok()?))
}

impl Update {
    /// What the update holds. `bot_username` (without `@`) marks the brand bot's own
    /// messages as the brand's.
    pub fn hear(self, bot_username: &str) -> Result<Heard, NotAPost> {
        if let Some(m) = self.message.or(self.channel_post) {
            return m.to_new_post(bot_username).map(Heard::Post);
        }
        if let Some(m) = self.edited_message.or(self.edited_channel_post) {
            return m
                .to_new_post(bot_username)
                .map(|p| Heard::Edit(Amendment::Edited(p)));
        }
        Err(NotAPost::skipped(format!(
            "update {} holds no message (a membership change, a reaction, a callback, ...)",
            self.update_id
        )))
    }

    /// The update as a new post, for importers: an edit is read as the post's latest text.
    pub fn into_new_post(self, bot_username: &str) -> Result<NewPost, NotAPost> {
        match self.hear(bot_username)? {
            Heard::Post(post) | Heard::Edit(Amendment::Edited(post)) => Ok(post),
            Heard::Edit(_) => Err(NotAPost::skipped("not a message")),
        }
    }
}

impl Message {
    pub fn key(&self) -> String {
        message_key(self.chat.id, self.message_id)
    }

    /// The post a person would see: its text, or a media message's caption.
    pub fn to_new_post(&self, bot_username: &str) -> Result<NewPost, NotAPost> {
        if self.message_id == 0 || self.chat.id == 0 {
            return Err(
                InvalidPost::field("message_id", "the message has no chat or message id").into(),
            );
        }
        let text = if self.text.trim().is_empty() {
            self.caption.trim()
        } else {
            self.text.trim()
        };
        if text.is_empty() {
            return Err(NotAPost::skipped(
                "a message without words (a sticker, a photo without caption, a service message)",
            ));
        }
        let created_at = DateTime::from_timestamp(self.date, 0)
            .filter(|_| self.date > 0)
            .ok_or_else(|| InvalidPost::field("date", "missing or not a unix time"))?;
        let author = match (&self.from, &self.sender_chat) {
            // A channel post or an anonymous admin speaks as the chat.
            (_, Some(chat)) => Author {
                external_id: chat.id.to_string(),
                handle: chat
                    .username
                    .clone()
                    .or_else(|| chat.title.clone())
                    .unwrap_or_else(|| chat.id.to_string()),
                display_name: chat.title.clone(),
                ..Author::default()
            },
            (Some(user), None) => {
                let name = match &user.last_name {
                    Some(last) if !last.trim().is_empty() => {
                        format!("{} {}", user.first_name.trim(), last.trim())
                    }
                    _ => user.first_name.trim().to_owned(),
                };
                Author {
                    external_id: user.id.to_string(),
                    // `username` is optional on Telegram; the name is what people see then.
                    handle: non_empty(user.username.clone()).unwrap_or_else(|| name.clone()),
                    display_name: non_empty(Some(name)),
                    bot: user.is_bot,
                    ..Author::default()
                }
            }
            (None, None) => {
                return Err(InvalidPost::field("from", "the message names no sender").into())
            }
        };
        let brand = !bot_username.is_empty()
            && self.from.as_ref().is_some_and(|u| {
                u.is_bot
                    && u.username.as_deref().is_some_and(|n| {
                        n.eq_ignore_ascii_case(bot_username.trim_start_matches('@'))
                    })
            });
        let url = self
            .chat
            .username
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| format!("https://t.me/{u}/{}", self.message_id));
        Ok(NewPost {
            network: Network::Telegram,
            external_id: self.key(),
            author,
            text: clamp_text(text.to_owned()),
            created_at,
            in_reply_to: self
                .reply_to_message
                .as_ref()
                .map(|parent| message_key(self.chat.id, parent.message_id)),
            // `from.language_code` is the client's UI language, not the text's (§0.3).
            lang: None,
            url,
            from_brand: brand.then_some(true),
            raw: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORUM_MESSAGE: &str = r#"{
      "update_id": 884213377,
      "message": {
        "message_id": 5127, "message_thread_id": 5101,
        "from": {"id": 612345987, "is_bot": false, "first_name": "Mette", "last_name": "K", "username": "mette_k", "language_code": "da"},
        "chat": {"id": -1001987654321, "title": "Acme Kettle Owners", "username": "acmekettle", "type": "supergroup", "is_forum": true},
        "date": 1787217297, "is_topic_message": true,
        "reply_to_message": {"message_id": 5101, "from": {"id": 7012345678, "is_bot": true, "first_name": "Acme Support", "username": "acme_help_bot"},
                             "chat": {"id": -1001987654321, "type": "supergroup", "title": "Acme Kettle Owners"}, "date": 1787210000, "text": "Firmware 3.1 notes"},
        "text": "@acme_help_bot min K2 tænder ikke efter opdateringen #firmware",
        "entities": [{"type": "mention", "offset": 0, "length": 14}],
        "some_future_field": {"x": 1}
      }
    }"#;

    #[test]
    fn a_group_message_becomes_a_post_keyed_by_chat_and_message() {
        let update: Update = serde_json::from_str(FORUM_MESSAGE).unwrap();
        let Heard::Post(post) = update.hear("acme_help_bot").unwrap() else {
            panic!("a new message is a post");
        };
        assert_eq!(post.network, Network::Telegram);
        assert_eq!(post.external_id, "-1001987654321:5127");
        assert_eq!(post.in_reply_to.as_deref(), Some("-1001987654321:5101"));
        assert_eq!(post.author.external_id, "612345987");
        assert_eq!(post.author.handle, "mette_k");
        assert_eq!(post.author.display_name.as_deref(), Some("Mette K"));
        assert_eq!(post.created_at.timestamp(), 1787217297);
        assert_eq!(post.url.as_deref(), Some("https://t.me/acmekettle/5127"));
        assert!(post.text.starts_with("@acme_help_bot min K2"));
        assert_eq!(post.from_brand, None);
        assert_eq!(
            post.lang, None,
            "language_code is the app's language, not the text's"
        );
        assert_eq!(parse_key(&post.external_id), Some((-1001987654321, 5127)));
    }

    #[test]
    fn edits_channel_posts_and_the_bots_own_messages_are_told_apart() {
        let edit = r#"{"update_id": 2, "edited_message": {"message_id": 9, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": false, "first_name": "Ola"}, "date": 1787217000, "edit_date": 1787217100, "text": "now fixed"}}"#;
        let update: Update = serde_json::from_str(edit).unwrap();
        match update.hear("acme_help_bot").unwrap() {
            Heard::Edit(Amendment::Edited(p)) => {
                assert_eq!(p.external_id, "42:9");
                assert_eq!(p.author.handle, "Ola", "no username: the name is shown");
                assert_eq!(p.url, None, "private chats have no public link");
            }
            other => panic!("{other:?}"),
        }
        let channel = r#"{"update_id": 3, "channel_post": {"message_id": 77, "chat": {"id": -1002, "type": "channel", "title": "Acme news", "username": "acmenews"},
            "sender_chat": {"id": -1002, "type": "channel", "title": "Acme news", "username": "acmenews"}, "date": 1787217000, "caption": "3.1.2 is out"}}"#;
        let Heard::Post(p) = serde_json::from_str::<Update>(channel)
            .unwrap()
            .hear("acme_help_bot")
            .unwrap()
        else {
            panic!("a channel post is a post");
        };
        assert_eq!(p.author.handle, "acmenews");
        assert_eq!(p.text, "3.1.2 is out");
        let ours = r#"{"update_id": 4, "message": {"message_id": 10, "chat": {"id": 42, "type": "private"},
            "from": {"id": 7012345678, "is_bot": true, "first_name": "Acme Support", "username": "Acme_Help_Bot"}, "date": 1787217000, "text": "hi"}}"#;
        let Heard::Post(p) = serde_json::from_str::<Update>(ours)
            .unwrap()
            .hear("@acme_help_bot")
            .unwrap()
        else {
            panic!("a post");
        };
        assert_eq!(p.from_brand, Some(true));
    }

    /// Why the update `json` is not heard as a post by the bot `bot`.
    fn not_heard(json: &str) -> NotAPost {
        serde_json::from_str::<Update>(json)
            .unwrap()
            .hear("bot")
            .unwrap_err()
    }

    #[test]
    fn what_is_not_a_message_is_skipped_and_broken_messages_say_why() {
        let member = r#"{"update_id": 5, "my_chat_member": {"chat": {"id": 1}}}"#;
        let e = not_heard(member);
        assert!(matches!(e, NotAPost::Skipped(_)), "{e:?}");
        let sticker = r#"{"update_id": 6, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"id": 2, "first_name": "A"}, "date": 1787217000, "sticker": {}}}"#;
        let e = not_heard(sticker);
        assert!(matches!(e, NotAPost::Skipped(_)), "{e:?}");
        let undated = r#"{"update_id": 7, "message": {"message_id": 1, "chat": {"id": 1}, "from": {"id": 2, "first_name": "A"}, "text": "hi"}}"#;
        let e = not_heard(undated);
        assert!(e.to_string().contains("`date`"), "{e}");
        assert_eq!(parse_key("not a key"), None);
    }
}

#[cfg(test)]
mod import_tests {
    use crate::{Format, Importer, Record};
    use std::io::Write;

    /// A file of the Bot API's own JSON (a `getUpdates` result array) imports through the
    /// format sniffing, with edits read as the latest text and non-messages skipped.
    #[test]
    fn a_file_of_updates_imports() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(
            file,
            r#"[{{"update_id": 10, "message": {{"message_id": 1, "chat": {{"id": -1001, "type": "supergroup"}}, "from": {{"id": 5, "first_name": "Mette", "username": "mette_k"}}, "date": 1787217297, "text": "kettle won't boil"}}}},
 {{"update_id": 11, "my_chat_member": {{"chat": {{"id": -1001}}}}}},
 {{"update_id": 12, "message": {{"message_id": 2, "chat": {{"id": -1001, "type": "supergroup"}}, "from": {{"id": 6, "first_name": "Bo"}}, "date": 1787217300, "text": "same", "reply_to_message": {{"message_id": 1, "chat": {{"id": -1001}}, "date": 1787217297}}}}}}]"#
        )
        .unwrap();
        let importer = Importer::open(file.path()).unwrap();
        assert_eq!(importer.format(), Format::TelegramUpdate);
        let records: Vec<Record> = importer.collect();
        assert_eq!(records.len(), 3, "{records:?}");
        let posts: Vec<_> = records
            .iter()
            .filter_map(|r| match r {
                Record::Post { post, .. } => Some(post),
                _ => None,
            })
            .collect();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].external_id, "-1001:1");
        assert_eq!(posts[1].in_reply_to.as_deref(), Some("-1001:1"));
        assert!(posts[0]
            .raw
            .as_deref()
            .is_some_and(|r| r.contains("update_id")));
        assert!(matches!(records[1], Record::Skipped { .. }));
        assert_eq!(
            "telegram-update".parse::<Format>().unwrap(),
            Format::TelegramUpdate
        );
    }
}
