use crate::analysis::Analysis;
use crate::conversation::ConversationId;
use crate::network::Network;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The stable identity of anything heard: writing the same key twice changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PostKey {
    pub network: Network,
    pub external_id: String,
}

impl PostKey {
    pub fn new(network: Network, external_id: impl Into<String>) -> Self {
        PostKey {
            network,
            external_id: external_id.into(),
        }
    }
}

/// Who wrote a post, as the network describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Author {
    /// The network's own id for the account (a DID on Bluesky, a numeric id on X).
    pub external_id: String,
    /// The handle people type to mention them, without a leading `@`.
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub followers: Option<u64>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub bot: bool,
}

/// A post as a source hands it over, before earshot has understood or threaded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPost {
    pub network: Network,
    pub external_id: String,
    pub author: Author,
    /// Plain text: sources turn network HTML into text before it gets here.
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// The external id (same network) of the post this one answers.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The language the network declared, if any (BCP-47 / ISO 639-1).
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Whether the source knows this came from the brand (the TWCS `inbound` column);
    /// `None` leaves it to the configured brand handles.
    #[serde(default)]
    pub from_brand: Option<bool>,
    /// The raw network payload, kept because networks add fields all the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl NewPost {
    pub fn key(&self) -> PostKey {
        PostKey::new(self.network, self.external_id.clone())
    }
}

/// Something that happened to a post already heard.
// Amendments are rare and short-lived (one batch), so boxing the edit would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Amendment {
    /// The author edited the post: the new version, under the same key.
    Edited(NewPost),
    /// The author deleted the post: earshot keeps the conversation's history but must drop
    /// the text (the customer took it back). Unknown keys are ignored.
    Deleted(PostKey),
}

/// A stored post: what was heard, what earshot understood, where it was threaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub id: i64,
    pub network: Network,
    pub external_id: String,
    pub author: Author,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub in_reply_to: Option<String>,
    pub url: Option<String>,
    pub from_brand: bool,
    pub conversation_id: Option<ConversationId>,
    pub analysis: Analysis,
    /// When the author last edited it (the text is the latest version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// When the author deleted it: the text is gone, the post keeps its place in the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Post {
    pub fn key(&self) -> PostKey {
        PostKey::new(self.network, self.external_id.clone())
    }
}
