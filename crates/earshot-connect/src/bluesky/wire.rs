//! Jetstream v1 events (PROTOCOLS.md §2.2) and `app.bsky.feed.post` records (§2.3), and
//! their conversion into [`NewPost`].

use crate::de::{null_default, rfc3339};
use crate::secret::Secret;
use crate::{clamp_text, InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

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
        let fallback = self.time_us.and_then(DateTime::from_timestamp_micros);
        Ok(post_from_record(
            self.did,
            &commit.rkey,
            record,
            fallback,
            handle,
        )?)
    }
}

/// The post a record makes, written by `did` under `rkey`. `fallback` stands in for a
/// missing or unreadable `createdAt` (the event or indexing time); `handle` is the author's
/// handle when the caller knows it, else the DID stands in for it.
pub(crate) fn post_from_record(
    did: String,
    rkey: &str,
    record: PostRecord,
    fallback: Option<DateTime<Utc>>,
    handle: Option<&str>,
) -> Result<NewPost, InvalidPost> {
    let created_at = record_time(&record.created_at, fallback)?;
    let external_id = post_uri(&did, rkey);
    let url = format!("https://bsky.app/profile/{did}/post/{rkey}");
    let handle = handle
        .map(|h| h.trim_start_matches('@').to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| did.clone());
    Ok(NewPost {
        in_reply_to: record.reply.map(|r| r.parent.uri).filter(|u| !u.is_empty()),
        lang: record.langs.into_iter().find(|l| !l.trim().is_empty()),
        url: Some(url),
        ..NewPost::new(
            Network::Bluesky,
            external_id,
            Author::new(did, handle),
            clamp_text(record.text),
            created_at,
        )
    })
}

/// The record's `createdAt`, or the event time when that is missing or unreadable.
fn record_time(
    created_at: &str,
    fallback: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, InvalidPost> {
    match rfc3339("commit.record.createdAt", created_at) {
        Ok(t) => Ok(t),
        Err(e) => fallback.ok_or(e),
    }
}

/// `at://{did}/app.bsky.feed.post/{rkey}`: a post's key, and what replies name as parent.
pub(crate) fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST_COLLECTION}/{rkey}")
}

/// The `(did, rkey)` of an `at://{did}/app.bsky.feed.post/{rkey}` URI.
pub(crate) fn parse_post_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("at://")?;
    let (did, rest) = rest.split_once('/')?;
    let rkey = rest.strip_prefix(POST_COLLECTION)?.strip_prefix('/')?;
    (!did.is_empty() && !rkey.is_empty() && !rkey.contains('/')).then_some((did, rkey))
}

// ---------------------------------------------------------------------------------------
// The hot path: a borrowed view of a Jetstream frame. Nothing here allocates unless a string
// carries JSON escapes, so the firehose of posts that do not concern the brand costs no heap.

/// The envelope of a Jetstream frame, borrowed from the frame's text.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EventHead<'a> {
    #[serde(borrow)]
    pub did: Cow<'a, str>,
    pub time_us: Option<i64>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub commit: Option<CommitHead<'a>>,
    #[serde(borrow)]
    pub identity: Option<&'a RawValue>,
}

/// A commit, borrowed; the record stays raw until something in it names the brand.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CommitHead<'a> {
    #[serde(borrow)]
    pub rev: Cow<'a, str>,
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    #[serde(borrow)]
    pub collection: Cow<'a, str>,
    #[serde(borrow)]
    pub rkey: Cow<'a, str>,
    #[serde(borrow)]
    pub record: Option<&'a RawValue>,
    /// Empty on delete. (Not an `Option`: serde only borrows a bare `Cow`.)
    #[serde(borrow)]
    pub cid: Cow<'a, str>,
}

/// Where [`record_text`] found a record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextAt<'a> {
    /// In the frame itself (the text had no JSON escapes).
    Frame(&'a str),
    /// Unescaped into the caller's scratch buffer.
    Scratch,
    /// The record has no text.
    Missing,
}

/// Reads only the `text` field of a post record, into `scratch` when it must be unescaped,
/// skipping every other field without building it.
pub(crate) fn record_text<'a>(
    record: &'a str,
    scratch: &mut String,
) -> Result<TextAt<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(record);
    let at = serde::de::DeserializeSeed::deserialize(RecordText { scratch }, &mut de)?;
    Ok(at)
}

struct RecordText<'s> {
    scratch: &'s mut String,
}

impl<'de> serde::de::DeserializeSeed<'de> for RecordText<'_> {
    type Value = TextAt<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RecordText<'_> {
    type Value = TextAt<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a post record object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = TextAt::Missing;
        while let Some(is_text) = map.next_key_seed(IsTextKey)? {
            if is_text {
                found = map.next_value_seed(TextValue {
                    scratch: &mut *self.scratch,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A map key, compared with `text` without being copied.
struct IsTextKey;

impl<'de> serde::de::DeserializeSeed<'de> for IsTextKey {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for IsTextKey {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "text")
    }
}

struct TextValue<'s> {
    scratch: &'s mut String,
}

impl<'de> serde::de::DeserializeSeed<'de> for TextValue<'_> {
    type Value = TextAt<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TextValue<'_> {
    type Value = TextAt<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the post text")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(TextAt::Frame(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.scratch.clear();
        self.scratch.push_str(v);
        Ok(TextAt::Scratch)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    // Anything else in `text` (a number, an object) is a broken record: no text to match.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(TextAt::Missing)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(TextAt::Missing)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }
}

// ---------------------------------------------------------------------------------------
// XRPC (PDS and AppView) bodies, PROTOCOLS.md §2.4–§2.6.

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    Ok(Secret::new(String::deserialize(d)?))
}

/// The XRPC error envelope: `{"error": "<Name>", "message": "<text>"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct XrpcErrorBody {
    #[serde(deserialize_with = "null_default")]
    pub error: String,
    #[serde(deserialize_with = "null_default")]
    pub message: String,
}

/// What `createSession` and `refreshSession` answer. The tokens never print.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SessionBody {
    #[serde(default)]
    pub did: String,
    #[serde(default)]
    pub handle: String,
    #[serde(rename = "accessJwt", deserialize_with = "secret")]
    pub access_jwt: Secret,
    #[serde(rename = "refreshJwt", deserialize_with = "secret")]
    pub refresh_jwt: Secret,
    #[serde(rename = "didDoc", default)]
    pub did_doc: Option<DidDoc>,
}

/// The part of a DID document that names the account's PDS.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DidDoc {
    #[serde(deserialize_with = "null_default")]
    pub service: Vec<DidService>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DidService {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(rename = "serviceEndpoint")]
    pub endpoint: Option<serde_json::Value>,
}

impl SessionBody {
    /// The `#atproto_pds` endpoint of the DID document, where authenticated calls go.
    pub fn pds_endpoint(&self) -> Option<String> {
        self.did_doc
            .as_ref()?
            .service
            .iter()
            .find(|s| s.id.ends_with("#atproto_pds"))?
            .endpoint
            .as_ref()?
            .as_str()
            .filter(|e| e.starts_with("http"))
            .map(str::to_owned)
    }
}

/// `app.bsky.actor.defs#profileViewDetailed` (the fields earshot uses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProfileView {
    #[serde(deserialize_with = "null_default")]
    pub did: String,
    #[serde(deserialize_with = "null_default")]
    pub handle: String,
    #[serde(rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(rename = "followersCount")]
    pub followers_count: Option<u64>,
}

/// `app.bsky.actor.getProfiles`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Profiles {
    #[serde(deserialize_with = "null_default")]
    pub profiles: Vec<ProfileView>,
}

/// `app.bsky.feed.defs#postView` (the fields a reply needs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PostView {
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    #[serde(deserialize_with = "null_default")]
    pub cid: String,
    pub author: ProfileView,
    pub record: PostRecord,
}

/// `app.bsky.feed.getPosts`: posts that no longer exist are left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Posts {
    #[serde(deserialize_with = "null_default")]
    pub posts: Vec<PostView>,
}

/// `com.atproto.repo.getRecord`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RecordView {
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    pub cid: Option<String>,
    pub value: PostRecord,
}

/// `com.atproto.repo.createRecord`'s answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CreatedRecord {
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    #[serde(deserialize_with = "null_default")]
    pub cid: String,
}

/// `app.bsky.notification.listNotifications`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Notifications {
    #[serde(deserialize_with = "null_default")]
    pub notifications: Vec<Notification>,
    pub cursor: Option<String>,
}

/// One notification: a post that mentions or answers the account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Notification {
    #[serde(deserialize_with = "null_default")]
    pub uri: String,
    #[serde(deserialize_with = "null_default")]
    pub cid: String,
    pub author: ProfileView,
    #[serde(deserialize_with = "null_default")]
    pub reason: String,
    pub record: Option<Box<RawValue>>,
    #[serde(rename = "indexedAt", deserialize_with = "null_default")]
    pub indexed_at: String,
}

impl Notification {
    /// The post behind a `mention`, `reply` or `quote` notification.
    pub fn into_new_post(self) -> Result<NewPost, NotAPost> {
        if !matches!(self.reason.as_str(), "mention" | "reply" | "quote") {
            return Err(NotAPost::skipped(format!(
                "a {:?} notification is not a post",
                self.reason
            )));
        }
        let Some((did, rkey)) = parse_post_uri(&self.uri) else {
            return Err(NotAPost::skipped(format!("{} is not a post", self.uri)));
        };
        let Some(record) = self.record else {
            return Err(InvalidPost::field("record", format!("{} has no record", self.uri)).into());
        };
        let record: PostRecord = serde_json::from_str(record.get())
            .map_err(|e| InvalidPost::field("record", format!("not a post record: {e}")))?;
        let indexed = rfc3339("indexedAt", &self.indexed_at).ok();
        let handle =
            Some(self.author.handle.as_str()).filter(|h| !h.is_empty() && *h != "handle.invalid");
        let mut post = post_from_record(did.to_owned(), rkey, record, indexed, handle)?;
        post.author.display_name = crate::non_empty(self.author.display_name);
        post.author.followers = self.author.followers_count;
        Ok(post)
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
