//! XRPC (PDS and AppView) bodies, PROTOCOLS.md §2.4–§2.6.

use super::{parse_post_uri, post_from_record, PostRecord};
use crate::de::{null_default, rfc3339};
use crate::Secret;
use crate::{InvalidPost, NotAPost};
use earshot_core::NewPost;
use serde::Deserialize;
use serde_json::value::RawValue;

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
