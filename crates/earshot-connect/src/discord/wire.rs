//! Discord's message object as it arrives in `MESSAGE_CREATE`/`MESSAGE_UPDATE` dispatches
//! and from `GET /channels/{id}/messages` (PROTOCOLS-2.md §2.4, §2.5).
//!
//! Tolerant like every wire module: every field defaulted, unknown fields ignored, snowflakes
//! kept as strings.

use crate::{clamp_text, non_empty, InvalidPost, NotAPost};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;

/// Message types that are people talking: 0 default, 19 reply. Joins, pins, thread
/// starters and the rest are not posts.
const SPOKEN_TYPES: [u8; 2] = [0, 19];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    #[serde(deserialize_with = "crate::de::id")]
    pub id: String,
    #[serde(deserialize_with = "crate::de::id")]
    pub channel_id: String,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub guild_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: u8,
    pub author: User,
    /// Empty without the `MESSAGE_CONTENT` intent (§2.1), except mentions of the bot and DMs.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub content: String,
    /// ISO 8601.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub timestamp: String,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub edited_timestamp: Option<String>,
    pub message_reference: Option<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(deserialize_with = "crate::de::id")]
    pub id: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub username: String,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub global_name: Option<String>,
    pub bot: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub message_id: Option<String>,
}

impl Message {
    /// The post a person would see. `bot_id` (the brand bot's user id) marks its own
    /// messages as the brand's: Create Message also fires a `MESSAGE_CREATE` (§2.6).
    pub fn to_new_post(&self, bot_id: &str) -> Result<NewPost, NotAPost> {
        if !SPOKEN_TYPES.contains(&self.kind) {
            return Err(NotAPost::skipped(format!(
                "a system message (type {})",
                self.kind
            )));
        }
        if self.id.is_empty() {
            return Err(InvalidPost::field("id", "the message has no id").into());
        }
        if self.author.id.is_empty() {
            return Err(InvalidPost::field("author.id", "the message names no author").into());
        }
        let text = self.content.trim();
        if text.is_empty() {
            // Without the message content intent every guild message looks like this.
            return Err(NotAPost::skipped(
                "a message without text (attachments only, or the MESSAGE_CONTENT intent is off)",
            ));
        }
        let created_at = crate::de::rfc3339("timestamp", &self.timestamp)?;
        let url = self.guild_id.as_deref().map(|guild| {
            format!(
                "https://discord.com/channels/{guild}/{}/{}",
                self.channel_id, self.id
            )
        });
        let ours = !bot_id.is_empty() && self.author.id == bot_id;
        Ok(NewPost {
            network: Network::Discord,
            external_id: self.id.clone(),
            author: Author {
                external_id: self.author.id.clone(),
                handle: self.author.username.clone(),
                display_name: non_empty(self.author.global_name.clone()),
                bot: self.author.bot,
                ..Author::default()
            },
            text: clamp_text(text.to_owned()),
            created_at,
            in_reply_to: self
                .message_reference
                .as_ref()
                .and_then(|r| non_empty(r.message_id.clone())),
            lang: None,
            url,
            from_brand: ours.then_some(true),
            raw: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = r#"{
      "id": "1406214753081282590", "channel_id": "1201111111111111111", "guild_id": "1200000000000000000",
      "channel_type": 0, "type": 19,
      "author": {"id": "887766554433221100", "username": "lena.k", "global_name": "Lena", "discriminator": "0", "bot": false},
      "member": {"nick": "Lena (K2 owner)", "roles": []},
      "content": "<@1397012345678901234> still no fix for the K2 boot loop?",
      "timestamp": "2026-08-20T09:14:57.412000+00:00", "edited_timestamp": null,
      "mentions": [], "attachments": [], "embeds": [],
      "message_reference": {"type": 0, "message_id": "1406200000000000000", "channel_id": "1201111111111111111", "guild_id": "1200000000000000000"},
      "referenced_message": null, "nonce": "1406214751230000000"
    }"#;

    #[test]
    fn a_reply_becomes_a_post_in_its_thread() {
        let m: Message = serde_json::from_str(REPLY).unwrap();
        let post = m.to_new_post("1397012345678901234").unwrap();
        assert_eq!(post.network, Network::Discord);
        assert_eq!(post.external_id, "1406214753081282590");
        assert_eq!(post.in_reply_to.as_deref(), Some("1406200000000000000"));
        assert_eq!(post.author.external_id, "887766554433221100");
        assert_eq!(post.author.handle, "lena.k");
        assert_eq!(post.author.display_name.as_deref(), Some("Lena"));
        assert_eq!(
            post.created_at.to_rfc3339(),
            "2026-08-20T09:14:57.412+00:00"
        );
        assert_eq!(
            post.url.as_deref(),
            Some("https://discord.com/channels/1200000000000000000/1201111111111111111/1406214753081282590")
        );
        assert_eq!(post.from_brand, None);
        let ours = m.to_new_post("887766554433221100").unwrap();
        assert_eq!(ours.from_brand, Some(true));
    }

    #[test]
    fn system_messages_and_empty_content_are_skipped_and_bad_times_say_why() {
        let mut m: Message = serde_json::from_str(REPLY).unwrap();
        m.kind = 7; // a member joined
        assert!(matches!(m.to_new_post(""), Err(NotAPost::Skipped(_))));
        m.kind = 0;
        m.content = String::new();
        let e = m.to_new_post("").unwrap_err();
        assert!(e.to_string().contains("MESSAGE_CONTENT"), "{e}");
        m.content = "hello".into();
        m.timestamp = "yesterday".into();
        let e = m.to_new_post("").unwrap_err();
        assert!(e.to_string().contains("`timestamp`"), "{e}");
    }
}

#[cfg(test)]
mod import_tests {
    use crate::{Format, Importer, Record};
    use std::io::Write;

    /// A page of `GET /channels/{id}/messages` (newest first) imports through the sniffing.
    #[test]
    fn a_file_of_messages_imports() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(
            file,
            r#"[{{"id": "1406214753081282591", "channel_id": "12", "guild_id": "11", "type": 19, "author": {{"id": "8", "username": "bo"}}, "content": "me too", "timestamp": "2026-08-20T09:15:00+00:00", "message_reference": {{"message_id": "1406214753081282590"}}}},
 {{"id": "1406214753081282589", "channel_id": "12", "type": 7, "author": {{"id": "9", "username": "new"}}, "content": "", "timestamp": "2026-08-20T09:10:00+00:00"}},
 {{"id": "1406214753081282590", "channel_id": "12", "guild_id": "11", "type": 0, "author": {{"id": "7", "username": "lena.k"}}, "content": "K2 boot loop", "timestamp": "2026-08-20T09:14:57+00:00"}}]"#
        )
        .unwrap();
        let importer = Importer::open(file.path()).unwrap();
        assert_eq!(importer.format(), Format::DiscordMessage);
        let records: Vec<Record> = importer.collect();
        assert_eq!(records.len(), 3, "{records:?}");
        assert!(
            matches!(&records[0], Record::Post { post, .. } if post.in_reply_to.as_deref() == Some("1406214753081282590"))
        );
        assert!(
            matches!(records[1], Record::Skipped { .. }),
            "a join is not a post"
        );
        assert!(matches!(&records[2], Record::Post { post, .. } if post.author.handle == "lena.k"));
        assert_eq!(
            "discord-message".parse::<Format>().unwrap(),
            Format::DiscordMessage
        );
    }
}
