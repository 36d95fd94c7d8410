//! Jetstream v1 events (PROTOCOLS.md §2.2) and `app.bsky.feed.post` records (§2.3), and
//! their conversion into [`NewPost`].

use crate::de::{null_default, rfc3339};
use crate::{clamp_text, InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The collection (NSID) of posts.
pub const POST_COLLECTION: &str = "app.bsky.feed.post";

/// One Jetstream frame: a `commit`, `identity` or `account` event.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JetstreamEvent {
    /// The repository (author) DID.
    #[serde(deserialize_with = "null_default")]
    pub did: String,
    /// Server time in unix microseconds: the resume cursor.
    pub time_us: Option<i64>,
    /// `commit`, `identity` or `account`.
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    pub commit: Option<Commit>,
    pub identity: Option<Identity>,
    pub account: Option<AccountStatus>,
}

/// A record change in a repository.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Commit {
    #[serde(deserialize_with = "null_default")]
    pub rev: String,
    /// `create`, `update` or `delete`.
    #[serde(deserialize_with = "null_default")]
    pub operation: String,
    #[serde(deserialize_with = "null_default")]
    pub collection: String,
    #[serde(deserialize_with = "null_default")]
    pub rkey: String,
    /// Absent on delete. Kept unparsed: it is read as a [`PostRecord`] only for posts.
    pub record: Option<Box<RawValue>>,
    pub cid: Option<String>,
}

/// A handle or DID-document change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Identity {
    #[serde(deserialize_with = "null_default")]
    pub did: String,
    pub handle: Option<String>,
    pub seq: Option<i64>,
    pub time: Option<String>,
}

/// An account status change (`active`, plus `takendown`, `suspended`, `deleted`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountStatus {
    #[serde(deserialize_with = "null_default")]
    pub did: String,
    #[serde(deserialize_with = "null_default")]
    pub active: bool,
    pub status: Option<String>,
    pub seq: Option<i64>,
    pub time: Option<String>,
}

/// An `app.bsky.feed.post` record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PostRecord {
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// Client-chosen RFC 3339 time; can lie, so the event time is the fallback.
    #[serde(rename = "createdAt", deserialize_with = "null_default")]
    pub created_at: String,
    #[serde(deserialize_with = "null_default")]
    pub langs: Vec<String>,
    pub reply: Option<ReplyRef>,
    #[serde(deserialize_with = "null_default")]
    pub facets: Vec<Facet>,
    #[serde(deserialize_with = "null_default")]
    pub tags: Vec<String>,
}

/// The thread a reply belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReplyRef {
    pub root: StrongRef,
    pub parent: StrongRef,
}

/// A reference to a record by URI and content hash.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StrongRef {
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    #[serde(deserialize_with = "null_default")]
    pub cid: String,
}

/// Rich-text annotation over a UTF-8 byte range of the text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Facet {
    pub index: ByteSlice,
    #[serde(deserialize_with = "null_default")]
    pub features: Vec<FacetFeature>,
}

/// `byteStart` inclusive, `byteEnd` exclusive, in UTF-8 bytes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ByteSlice {
    #[serde(rename = "byteStart")]
    pub byte_start: usize,
    #[serde(rename = "byteEnd")]
    pub byte_end: usize,
}

/// A mention (`did`), link (`uri`) or tag (`tag`) feature.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FacetFeature {
    #[serde(rename = "$type", deserialize_with = "null_default")]
    pub kind: String,
    pub did: Option<String>,
    pub uri: Option<String>,
    pub tag: Option<String>,
}

impl PostRecord {
    /// DIDs of accounts mentioned through facets: the reliable way to see "mentions us"
    /// (handles change; DIDs do not).
    pub fn mentioned_dids(&self) -> impl Iterator<Item = &str> {
        self.facets
            .iter()
            .flat_map(|f| &f.features)
            .filter(|f| f.kind == "app.bsky.richtext.facet#mention")
            .filter_map(|f| f.did.as_deref())
    }

    /// The text a facet covers, or `None` when its offsets are out of range or split a
    /// character (malformed third-party records exist).
    pub fn facet_text(&self, facet: &Facet) -> Option<&str> {
        self.text.get(facet.index.byte_start..facet.index.byte_end)
    }
}

impl JetstreamEvent {
    /// The resume cursor: this event's `time_us`.
    pub fn cursor(&self) -> Option<i64> {
        self.time_us
    }

    /// The handle this event announces for its DID, if it is an identity event with one.
    pub fn announced_handle(&self) -> Option<(&str, &str)> {
        let identity = self.identity.as_ref()?;
        let did = if identity.did.is_empty() {
            &self.did
        } else {
            &identity.did
        };
        Some((did.as_str(), identity.handle.as_deref()?))
    }

    /// The post in this event, with the author's handle set to the DID.
    pub fn into_new_post(self) -> Result<NewPost, NotAPost> {
        self.into_new_post_with_handle(None)
    }

    /// The post in this event. `handle` is the author's handle when the caller knows it
    /// (from an identity event or a profile lookup); otherwise the DID stands in for it.
    ///
    /// Only `commit` events that create or update an `app.bsky.feed.post` are posts; identity,
    /// account, delete and other-collection events are skipped with a reason.
    pub fn into_new_post_with_handle(self, handle: Option<&str>) -> Result<NewPost, NotAPost> {
        let commit = match self.kind.as_str() {
            "commit" => match self.commit {
                Some(commit) => commit,
                None => {
                    return Err(
                        InvalidPost::field("commit", "a commit event without a commit").into(),
                    )
                }
            },
            "identity" => {
                return Err(NotAPost::skipped(format!(
                    "identity event for {}",
                    self.did
                )))
            }
            "account" => return Err(NotAPost::skipped(format!("account event for {}", self.did))),
            other => {
                return Err(NotAPost::skipped(format!(
                    "event kind {other:?} is not a commit"
                )))
            }
        };
        let uri = format!("at://{}/{}/{}", self.did, commit.collection, commit.rkey);
        if commit.collection != POST_COLLECTION {
            return Err(NotAPost::skipped(format!(
                "{} is not a post (collection {})",
                uri, commit.collection
            )));
        }
        match commit.operation.as_str() {
            "create" | "update" => {}
            "delete" => return Err(NotAPost::skipped(format!("delete of {uri}"))),
            other => {
                return Err(NotAPost::skipped(format!(
                    "operation {other:?} on {uri} is not a create or update"
                )))
            }
        }
        if self.did.is_empty() || commit.rkey.is_empty() {
            return Err(InvalidPost::field("did", "a post needs a did and an rkey").into());
        }
        let Some(record) = commit.record else {
            return Err(InvalidPost::field("commit.record", format!("{uri} has no record")).into());
        };
        let record: PostRecord = serde_json::from_str(record.get())
            .map_err(|e| InvalidPost::field("commit.record", format!("not a post record: {e}")))?;
        let created_at = record_time(&record.created_at, self.time_us)?;
        let url = format!("https://bsky.app/profile/{}/post/{}", self.did, commit.rkey);
        Ok(NewPost {
            network: Network::Bluesky,
            external_id: uri,
            author: Author {
                handle: handle
                    .map(|h| h.trim_start_matches('@').to_owned())
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| self.did.clone()),
                external_id: self.did,
                display_name: None,
                followers: None,
                verified: false,
                bot: false,
            },
            text: clamp_text(record.text),
            created_at,
            in_reply_to: record.reply.map(|r| r.parent.uri).filter(|u| !u.is_empty()),
            lang: record.langs.into_iter().find(|l| !l.trim().is_empty()),
            url: Some(url),
            from_brand: None,
            raw: None,
        })
    }
}

/// The record's `createdAt`, or the event time when that is missing or unreadable.
fn record_time(created_at: &str, time_us: Option<i64>) -> Result<DateTime<Utc>, InvalidPost> {
    match rfc3339("commit.record.createdAt", created_at) {
        Ok(t) => Ok(t),
        Err(e) => time_us.and_then(DateTime::from_timestamp_micros).ok_or(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = r#"{
      "did": "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e", "time_us": 1787217298123456, "kind": "commit",
      "commit": {
        "rev": "3lxq7h2mfak2c", "operation": "create", "collection": "app.bsky.feed.post", "rkey": "3lxq7h2lzgs2c",
        "record": {
          "$type": "app.bsky.feed.post",
          "text": "Mi pedido #4471 llegó roto 😞 @acme.bsky.social ¿me ayudáis?",
          "langs": ["es"], "createdAt": "2026-08-20T09:14:57.801Z",
          "facets": [{"index": {"byteStart": 33, "byteEnd": 50},
                      "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"}]}],
          "reply": {
            "root":   {"uri": "at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2a", "cid": "bafyreiegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7v4se"},
            "parent": {"uri": "at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2b", "cid": "bafyreiegxdncf32epf3dhodzdocis2jhtlgmxgedn73u55xtplpft7v4se"}
          }
        },
        "cid": "bafyreih2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2wyoj"
      }
    }"#;

    #[test]
    fn a_post_commit_becomes_a_post() {
        let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
        assert_eq!(event.cursor(), Some(1787217298123456));
        let post = event.into_new_post().unwrap();
        assert_eq!(post.network, Network::Bluesky);
        assert_eq!(
            post.external_id,
            "at://did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/app.bsky.feed.post/3lxq7h2lzgs2c"
        );
        assert_eq!(
            post.in_reply_to.as_deref(),
            Some("at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2b")
        );
        assert_eq!(post.author.external_id, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e");
        assert_eq!(post.author.handle, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e");
        assert_eq!(post.lang.as_deref(), Some("es"));
        assert_eq!(
            post.created_at.to_rfc3339(),
            "2026-08-20T09:14:57.801+00:00"
        );
        assert!(post.text.starts_with("Mi pedido #4471"));
        assert_eq!(
            post.url.as_deref(),
            Some("https://bsky.app/profile/did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/post/3lxq7h2lzgs2c")
        );
    }

    #[test]
    fn a_known_handle_is_used() {
        let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
        let post = event
            .into_new_post_with_handle(Some("@ana.example.com"))
            .unwrap();
        assert_eq!(post.author.handle, "ana.example.com");
    }

    #[test]
    fn facets_are_read_by_byte_offsets() {
        let event: JetstreamEvent = serde_json::from_str(REPLY).unwrap();
        let record: PostRecord =
            serde_json::from_str(event.commit.unwrap().record.unwrap().get()).unwrap();
        assert_eq!(
            record.mentioned_dids().collect::<Vec<_>>(),
            ["did:plc:q3ov5tmzj6f2xk7lbnc4ahwe"]
        );
        assert_eq!(
            record.facet_text(&record.facets[0]),
            Some("@acme.bsky.social")
        );
        let bad = Facet {
            index: ByteSlice {
                byte_start: 29,
                byte_end: 30,
            }, // inside the emoji
            features: vec![],
        };
        assert_eq!(record.facet_text(&bad), None);
    }

    #[test]
    fn non_posts_are_skipped() {
        let lines = [
            r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217391000021,"kind":"commit","commit":{"rev":"3lxq7k1aa2s2c","operation":"delete","collection":"app.bsky.feed.post","rkey":"3lxq7h2lzgs2c"}}"#,
            r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217400000311,"kind":"identity","identity":{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","handle":"ana.example.com","seq":9123456789,"time":"2026-08-20T09:16:39.998Z"}}"#,
            r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217500000144,"kind":"account","account":{"active":false,"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","seq":9123457001,"status":"deactivated","time":"2026-08-20T09:18:19.870Z"}}"#,
            r#"{"did":"did:plc:7x2kq4mhd3vlrwy5n6aqzt4e","time_us":1787217500000145,"kind":"commit","commit":{"rev":"3","operation":"create","collection":"app.bsky.feed.like","rkey":"3lxq","record":{"subject":{}}}}"#,
        ];
        for line in lines {
            let event: JetstreamEvent = serde_json::from_str(line).unwrap();
            assert!(event.cursor().is_some());
            assert!(
                matches!(event.into_new_post(), Err(NotAPost::Skipped(_))),
                "{line}"
            );
        }
        let identity: JetstreamEvent = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            identity.announced_handle(),
            Some(("did:plc:7x2kq4mhd3vlrwy5n6aqzt4e", "ana.example.com"))
        );
    }

    #[test]
    fn event_time_stands_in_for_a_bad_created_at() {
        let line = r#"{"did":"did:plc:a","time_us":1787217298123456,"kind":"commit","commit":{"operation":"update","collection":"app.bsky.feed.post","rkey":"r1","record":{"text":"Hej, min ordre er ikke kommet","createdAt":"not a time","langs":["da"]}}}"#;
        let post = serde_json::from_str::<JetstreamEvent>(line)
            .unwrap()
            .into_new_post()
            .unwrap();
        assert_eq!(post.created_at.timestamp_micros(), 1787217298123456);
        assert_eq!(post.lang.as_deref(), Some("da"));
        let neither = r#"{"did":"did:plc:a","kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r1","record":{"text":"x"}}}"#;
        let err = serde_json::from_str::<JetstreamEvent>(neither)
            .unwrap()
            .into_new_post()
            .unwrap_err();
        assert!(matches!(err, NotAPost::Invalid(_)), "{err:?}");
    }

    #[test]
    fn a_create_without_record_is_invalid() {
        let line = r#"{"did":"did:plc:a","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r1"}}"#;
        let err = serde_json::from_str::<JetstreamEvent>(line)
            .unwrap()
            .into_new_post()
            .unwrap_err();
        assert!(matches!(err, NotAPost::Invalid(_)));
    }
}
