//! Reddit's JSON as it arrives (PROTOCOLS.md §4.3, §4.4): a `Listing` of `Thing`s, the
//! `{"json": {"errors": [...]}}` envelope of write calls, and the token answer.
//!
//! Tolerant like every wire module: every field defaulted, unknown fields ignored, ids kept
//! as strings. Text is read with `raw_json=1`, so it arrives unescaped (see [`Thing`]).

use crate::{clamp_text, non_empty, InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;

/// `{"kind": "Listing", "data": {"after", "before", "children": [...]}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Listing {
    pub kind: String,
    pub data: ListingData,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListingData {
    /// The fullname to pass as `after=` for the next (older) page; `null` at the end.
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub after: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub before: Option<String>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub children: Vec<Thing>,
}

/// `{"kind": "t1" | "t3" | "more" | ..., "data": {...}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Thing {
    pub kind: String,
    pub data: ThingData,
}

/// The fields of a link (`t3`) or a comment (`t1`) that earshot reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ThingData {
    #[serde(deserialize_with = "crate::de::id")]
    pub id: String,
    /// The fullname, `t1_n8x2k1q`: the dedupe key.
    #[serde(deserialize_with = "crate::de::id")]
    pub name: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub author: String,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub author_fullname: Option<String>,
    /// Comments: the markdown body.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub body: String,
    /// Links: the title and the (possibly empty) self text.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub title: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub selftext: String,
    /// Epoch seconds, as a float.
    pub created_utc: Option<f64>,
    pub edited: Edited,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub parent_id: Option<String>,
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub link_id: Option<String>,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub permalink: String,
    #[serde(deserialize_with = "crate::de::null_default")]
    pub subreddit: String,
    /// Set when a moderator, the author or Reddit removed a link (`moderator`, `deleted`, ...).
    #[serde(deserialize_with = "crate::de::opt_id")]
    pub removed_by_category: Option<String>,
}

/// `edited`: `false`, or the epoch seconds of the latest edit (PROTOCOLS.md §4.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Edited {
    #[default]
    Never,
    At(f64),
    /// Old things sometimes carry `true` (edited, time unknown).
    Flag(bool),
}

impl Edited {
    /// A short, stable mark of the edit state: what the cursor remembers to notice the next
    /// edit. Empty when never edited.
    pub fn mark(self) -> String {
        match self {
            Edited::Never | Edited::Flag(false) => String::new(),
            Edited::Flag(true) => "e".into(),
            Edited::At(at) => format!("{at:.0}"),
        }
    }
}

/// What the cursor remembers of a deleted or removed thing.
pub(crate) const DELETED_MARK: &str = "D";

/// The texts Reddit puts in place of a deleted (`[deleted]`) or removed (`[removed]`) post.
fn is_tombstone(text: &str) -> bool {
    matches!(text.trim(), "[deleted]" | "[removed]")
}

impl Thing {
    pub fn fullname(&self) -> &str {
        &self.data.name
    }

    pub fn is_post_or_comment(&self) -> bool {
        matches!(self.kind.as_str(), "t1" | "t3")
    }

    /// Whether the author deleted it or a moderator removed it: there is no delete event,
    /// only the text replaced by a marker (PROTOCOLS.md §4.6).
    pub fn is_deleted(&self) -> bool {
        match self.kind.as_str() {
            "t1" => is_tombstone(&self.data.body),
            "t3" => {
                is_tombstone(&self.data.selftext)
                    || self
                        .data
                        .removed_by_category
                        .as_deref()
                        .is_some_and(|c| !c.is_empty())
            }
            _ => false,
        }
    }

    /// What the cursor remembers: [`DELETED_MARK`] or the edit mark.
    pub fn mark(&self) -> String {
        if self.is_deleted() {
            DELETED_MARK.into()
        } else {
            self.data.edited.mark()
        }
    }

    /// When it was written.
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        let secs = self.data.created_utc?;
        if !secs.is_finite() || secs <= 0.0 {
            return None;
        }
        // Whole seconds plus milliseconds: the float carries no more than that reliably.
        let millis = (secs * 1000.0).round() as i64;
        DateTime::from_timestamp_millis(millis)
    }

    /// The post a person would see: links are the title then the self text, comments the
    /// body. `brand` (the configured account) marks the brand's own posts; `permalink` makes
    /// the site-relative permalink absolute.
    pub fn to_new_post(
        &self,
        brand: &str,
        permalink: impl Fn(&str) -> String,
    ) -> Result<NewPost, NotAPost> {
        let d = &self.data;
        if !self.is_post_or_comment() {
            return Err(NotAPost::skipped(format!("a `{}` thing", self.kind)));
        }
        if self.is_deleted() {
            return Err(NotAPost::skipped("deleted or removed"));
        }
        if d.name.is_empty() {
            return Err(InvalidPost::field("name", "the thing has no fullname").into());
        }
        let created_at = self
            .created_at()
            .ok_or_else(|| InvalidPost::field("created_utc", "missing or not a time"))?;
        let text = if self.kind == "t3" {
            match (d.title.trim(), d.selftext.trim()) {
                (title, "") => title.to_owned(),
                ("", body) => body.to_owned(),
                (title, body) => format!("{title}\n\n{body}"),
            }
        } else {
            d.body.trim().to_owned()
        };
        let author_name = d.author.trim().to_owned();
        let ours = !brand.is_empty() && author_name.eq_ignore_ascii_case(brand);
        Ok(NewPost {
            network: Network::Reddit,
            external_id: d.name.clone(),
            author: Author {
                external_id: non_empty(d.author_fullname.clone())
                    .unwrap_or_else(|| author_name.clone()),
                handle: author_name,
                display_name: None,
                // Karma is not reach: Reddit has no follower count in listings (§4.3).
                followers: None,
                verified: false,
                bot: false,
            },
            text: clamp_text(text),
            created_at,
            in_reply_to: if self.kind == "t1" {
                non_empty(d.parent_id.clone())
            } else {
                None
            },
            lang: None,
            url: non_empty(Some(d.permalink.clone())).map(|p| permalink(&p)),
            // The brand's own comments stop the response clock; anyone else is left to the
            // configured handles.
            from_brand: ours.then_some(true),
            raw: None,
        })
    }
}

/// The envelope of `POST /api/comment` with `api_type=json`: errors as `[CODE, message,
/// field]` triples, or the created things.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiResponse {
    pub json: ApiJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiJson {
    #[serde(deserialize_with = "crate::de::null_default")]
    pub errors: Vec<Vec<serde_json::Value>>,
    pub data: ApiData,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiData {
    #[serde(deserialize_with = "crate::de::null_default")]
    pub things: Vec<Thing>,
}

/// One `[CODE, message, field]` triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiJson {
    pub fn errors(&self) -> Vec<ApiError> {
        self.errors
            .iter()
            .map(|triple| {
                let text = |i: usize| {
                    triple
                        .get(i)
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_owned()
                };
                ApiError {
                    code: text(0),
                    message: text(1),
                }
            })
            .collect()
    }
}

/// The token endpoint's answer: a token, or (with HTTP 200 all the same) an `error`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenResponse {
    pub access_token: Option<String>,
    pub expires_in: Option<f64>,
    pub scope: Option<String>,
    /// `invalid_grant`, `unsupported_grant_type`, or a number on 401 bodies.
    pub error: Option<serde_json::Value>,
    pub message: Option<String>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Me {
    #[serde(deserialize_with = "crate::de::null_default")]
    pub name: String,
    #[serde(deserialize_with = "crate::de::id")]
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMENT: &str = r#"{
      "kind": "Listing",
      "data": {
        "after": "t1_n8x2k1q", "before": null, "dist": 1, "modhash": "", "geo_filter": "",
        "children": [{
          "kind": "t1",
          "data": {
            "id": "n8x2k1q", "name": "t1_n8x2k1q", "author": "throwaway_kettle", "author_fullname": "t2_1a2b3c4d",
            "body": "Anyone else's Acme K2 kettle dead after firmware 3.1? Support hasn't answered in 5 days & I'm out of tea.",
            "created_utc": 1787217297.0, "edited": false,
            "link_id": "t3_1mv0x7q", "parent_id": "t3_1mv0x7q", "link_title": "Acme K2 firmware 3.1 bricked?",
            "permalink": "/r/smarthome/comments/1mv0x7q/acme_k2_firmware_31/n8x2k1q/",
            "subreddit": "smarthome", "subreddit_id": "t5_2qh0u", "subreddit_name_prefixed": "r/smarthome",
            "score": 3, "locked": false, "stickied": false, "distinguished": null, "over_18": false
          }
        }]
      }
    }"#;

    fn permalink(p: &str) -> String {
        format!("https://www.reddit.com{p}")
    }

    #[test]
    fn the_documented_comment_becomes_a_post() {
        let listing: Listing = serde_json::from_str(COMMENT).unwrap();
        assert_eq!(listing.data.after.as_deref(), Some("t1_n8x2k1q"));
        let thing = &listing.data.children[0];
        let post = thing.to_new_post("acme_support", permalink).unwrap();
        assert_eq!(post.network, Network::Reddit);
        assert_eq!(post.external_id, "t1_n8x2k1q");
        assert_eq!(post.in_reply_to.as_deref(), Some("t3_1mv0x7q"));
        assert_eq!(post.author.handle, "throwaway_kettle");
        assert_eq!(post.author.external_id, "t2_1a2b3c4d");
        assert_eq!(post.author.followers, None);
        assert!(post.text.contains("5 days & I'm out of tea."));
        assert_eq!(post.created_at.timestamp(), 1_787_217_297);
        assert_eq!(
            post.url.as_deref(),
            Some(
                "https://www.reddit.com/r/smarthome/comments/1mv0x7q/acme_k2_firmware_31/n8x2k1q/"
            )
        );
        assert_eq!(post.from_brand, None);
        assert_eq!(thing.mark(), "");
    }

    #[test]
    fn links_edits_deletions_and_odd_things() {
        let link: Thing = serde_json::from_value(serde_json::json!({
            "kind": "t3",
            "data": {"id": "1mv0x7q", "name": "t3_1mv0x7q", "author": "Acme_Support", "title": "Acme K2 firmware 3.1 bricked?",
                     "selftext": "", "created_utc": 1787217000.5, "edited": 1787217400.0, "permalink": "/r/smarthome/comments/1mv0x7q/x/"}
        }))
        .unwrap();
        let post = link.to_new_post("acme_support", permalink).unwrap();
        assert_eq!(post.text, "Acme K2 firmware 3.1 bricked?");
        assert_eq!(post.in_reply_to, None);
        assert_eq!(post.from_brand, Some(true));
        assert_eq!(post.created_at.timestamp_millis(), 1_787_217_000_500);
        assert_eq!(link.mark(), "1787217400");

        let mut removed = link.clone();
        removed.data.selftext = "[removed]".into();
        assert!(removed.is_deleted());
        assert_eq!(removed.mark(), DELETED_MARK);
        assert!(matches!(
            removed.to_new_post("acme_support", permalink),
            Err(NotAPost::Skipped(_))
        ));
        let mut by_mod = link.clone();
        by_mod.data.removed_by_category = Some("moderator".into());
        assert!(by_mod.is_deleted());

        let more: Thing =
            serde_json::from_str(r#"{"kind":"more","data":{"count":3,"children":["abc"]}}"#)
                .unwrap();
        assert!(matches!(
            more.to_new_post("x", permalink),
            Err(NotAPost::Skipped(_))
        ));
        let timeless: Thing = serde_json::from_str(
            r#"{"kind":"t1","data":{"name":"t1_x","body":"hi","created_utc":null,"edited":true}}"#,
        )
        .unwrap();
        assert_eq!(timeless.mark(), "e");
        assert!(matches!(
            timeless.to_new_post("x", permalink),
            Err(NotAPost::Invalid(_))
        ));
    }

    #[test]
    fn api_errors_are_read_as_triples() {
        let body = r#"{"json":{"errors":[["RATELIMIT","You're doing that too much. Try again in 9 minutes.","ratelimit"]]}}"#;
        let answer: ApiResponse = serde_json::from_str(body).unwrap();
        assert_eq!(
            answer.json.errors(),
            vec![ApiError {
                code: "RATELIMIT".into(),
                message: "You're doing that too much. Try again in 9 minutes.".into()
            }]
        );
        let token: TokenResponse = serde_json::from_str(r#"{"error": "invalid_grant"}"#).unwrap();
        assert_eq!(token.error, Some(serde_json::json!("invalid_grant")));
    }
}
