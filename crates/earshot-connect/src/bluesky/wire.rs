//! Jetstream v1 events (PROTOCOLS.md §2.2) and `app.bsky.feed.post` records (§2.3), and
//! their conversion into [`NewPost`]. Beside it: `wire/frame.rs` (the allocation-free view of
//! a frame the hot path reads first), `wire/xrpc.rs` (the PDS and AppView bodies) and
//! `wire/tests.rs`.

use crate::de::{null_default, rfc3339};
use crate::{clamp_text, InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use serde_json::value::RawValue;

mod frame;
#[cfg(test)]
mod tests;
mod xrpc;

pub(crate) use frame::*;
pub(crate) use xrpc::*;

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
