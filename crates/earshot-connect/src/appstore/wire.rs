//! App Store Connect's JSON as it arrives (PROTOCOLS-2.md §3.3–§3.5): a page of
//! `customerReviews` with the brand's responses in `included`, the JSON:API error envelope
//! and the `X-Rate-Limit` header. Every field is defaulted: Apple's schema marks `title` and
//! `body` optional, and unknown fields are ignored.

use crate::NotAPost;
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// One page of `GET /v1/apps/{id}/customerReviews?include=response`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReviewPage {
    pub data: Vec<Review>,
    pub included: Vec<ReviewResponse>,
    pub links: Links,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Links {
    /// The next page, to be followed verbatim (it carries an opaque cursor); none on the last.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Review {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub attributes: ReviewAttributes,
    pub relationships: ReviewRelationships,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReviewAttributes {
    pub rating: Option<u8>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub reviewer_nickname: Option<String>,
    /// With an offset (`2026-08-20T02:14:57-07:00`): compared as an instant.
    pub created_date: Option<String>,
    /// ISO 3166 alpha-3 (`DNK`): a country, not a language.
    pub territory: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReviewRelationships {
    pub response: Option<Related>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Related {
    pub data: Option<Identifier>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// The brand's single answer to a review (`customerReviewResponses`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReviewResponse {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub attributes: ResponseAttributes,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResponseAttributes {
    pub response_body: Option<String>,
    pub last_modified_date: Option<String>,
    /// `PENDING_PUBLISH`, then `PUBLISHED`.
    pub state: Option<String>,
}

/// `POST /v1/customerReviewResponses` answers `{"data": <response>}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResponseDocument {
    pub data: ReviewResponse,
}

/// The JSON:API error envelope; `status` is a string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ErrorDocument {
    pub errors: Vec<ApiError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiError {
    pub status: String,
    pub code: String,
    pub title: String,
    pub detail: String,
}

impl ErrorDocument {
    /// `CODE: title` of each error, for a message; `None` when the body is not the envelope.
    pub fn describe(body: &str) -> Option<String> {
        let doc: ErrorDocument = serde_json::from_str(body).ok()?;
        if doc.errors.is_empty() {
            return None;
        }
        let parts: Vec<String> = doc
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.title))
            .collect();
        Some(parts.join("; "))
    }
}

/// `X-Rate-Limit: user-hour-lim:3600;user-hour-rem:3521;` as (limit, remaining) per rolling
/// hour; `None` when either is missing.
pub fn rate_limit(header: &str) -> Option<(u32, u32)> {
    let mut limit = None;
    let mut remaining = None;
    for part in header.split(';') {
        let Some((name, value)) = part.split_once(':') else {
            continue;
        };
        let value = value.trim().parse::<u32>().ok();
        match name.trim() {
            "user-hour-lim" => limit = value,
            "user-hour-rem" => remaining = value,
            _ => {}
        }
    }
    Some((limit?, remaining?))
}

pub use crate::reviews::stars;

impl Review {
    /// The brand's response to this review among `included`, if the page carries it.
    pub fn response<'a>(&self, included: &'a [ReviewResponse]) -> Option<&'a ReviewResponse> {
        let id = &self.relationships.response.as_ref()?.data.as_ref()?.id;
        included
            .iter()
            .find(|r| &r.id == id && r.kind == "customerReviewResponses")
    }

    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        let at = self.attributes.created_date.as_deref()?;
        DateTime::parse_from_rfc3339(at)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// What changes when the customer edits the review: a hash of rating, title and body
    /// (whether an edit keeps the id or the date is not documented; the hash catches both).
    pub fn mark(&self) -> String {
        let a = &self.attributes;
        let mut h = Sha256::new();
        h.update(a.rating.unwrap_or(0).to_string());
        h.update([0]);
        h.update(a.title.as_deref().unwrap_or_default());
        h.update([0]);
        h.update(a.body.as_deref().unwrap_or_default());
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The review as a post: `★☆☆☆☆ 1/5 <title>` then the body on the next line. The raw
    /// review is kept (territory and rating included) for whoever needs more.
    pub fn to_new_post(&self) -> Result<NewPost, NotAPost> {
        if self.kind != "customerReviews" {
            return Err(NotAPost::skipped(format!(
                "a {:?}, not a customer review",
                self.kind
            )));
        }
        if self.id.trim().is_empty() {
            return Err(crate::InvalidPost::field("id", "a review without an id").into());
        }
        let a = &self.attributes;
        let rating = match a.rating {
            Some(r @ 1..=5) => r,
            other => {
                return Err(crate::InvalidPost::field(
                    "attributes.rating",
                    format!("rating {other:?} is not 1 to 5"),
                )
                .into())
            }
        };
        let created_at = self.created_at().ok_or_else(|| {
            crate::InvalidPost::field(
                "attributes.createdDate",
                format!(
                    "{:?} is not an RFC 3339 time",
                    a.created_date.as_deref().unwrap_or_default()
                ),
            )
        })?;
        let mut text = stars(rating);
        let title = a.title.as_deref().map(str::trim).unwrap_or_default();
        if !title.is_empty() {
            text.push(' ');
            text.push_str(title);
        }
        let body = a.body.as_deref().map(str::trim).unwrap_or_default();
        if !body.is_empty() {
            text.push('\n');
            text.push_str(body);
        }
        let nickname = a
            .reviewer_nickname
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("App Store reviewer");
        let raw = serde_json::json!({
            "id": self.id, "rating": rating, "title": a.title, "body": a.body,
            "reviewerNickname": a.reviewer_nickname, "createdDate": a.created_date,
            "territory": a.territory,
        });
        Ok(NewPost {
            network: Network::AppStore,
            external_id: self.id.clone(),
            author: Author {
                // Apple gives no reviewer id: the nickname is all there is.
                external_id: format!("nickname:{nickname}"),
                handle: nickname.to_owned(),
                ..Author::default()
            },
            text: crate::clamp_text(text),
            created_at,
            in_reply_to: None,
            lang: None,
            url: None,
            from_brand: Some(false),
            raw: Some(raw.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example page of PROTOCOLS-2.md §3.3.
    const PAGE: &str = r#"{
      "data": [{
        "type": "customerReviews", "id": "00000050-3c1d-7e2f-9a40-7d2b00c1a9f1",
        "attributes": {"rating": 1, "title": "Won't start after update", "body": "Since 3.1 the app crashes at launch on my iPhone 13. Reinstalled twice.",
                       "reviewerNickname": "kettlefan_dk", "createdDate": "2026-08-20T02:14:57-07:00", "territory": "DNK"},
        "relationships": {"response": {"data": {"type": "customerReviewResponses", "id": "6a1f0e4c-0d9b-4f5e-8c33-1b2a3c4d5e6f"}}},
        "links": {"self": "https://api.appstoreconnect.apple.com/v1/customerReviews/00000050-3c1d-7e2f-9a40-7d2b00c1a9f1"}
      }, {
        "type": "customerReviews", "id": "00000051",
        "attributes": {"rating": 5, "createdDate": "2026-08-21T10:00:00Z", "unknownField": 1}
      }],
      "included": [{
        "type": "customerReviewResponses", "id": "6a1f0e4c-0d9b-4f5e-8c33-1b2a3c4d5e6f",
        "attributes": {"responseBody": "Sorry! 3.1.1 fixes the launch crash — please update.", "lastModifiedDate": "2026-08-20T11:02:10-07:00", "state": "PENDING_PUBLISH"}
      }],
      "links": {"self": "x", "next": "https://api.appstoreconnect.apple.com/v1/apps/1473658921/customerReviews?sort=-createdDate&limit=200&include=response&cursor=AMg.AN4BCV4"},
      "meta": {"paging": {"total": 4812, "limit": 200}}
    }"#;

    #[test]
    fn a_review_becomes_a_post_with_its_rating_first() {
        let page: ReviewPage = serde_json::from_str(PAGE).unwrap();
        assert!(page
            .links
            .next
            .as_deref()
            .unwrap()
            .ends_with("cursor=AMg.AN4BCV4"));
        let review = &page.data[0];
        let post = review.to_new_post().unwrap();
        assert_eq!(post.network, Network::AppStore);
        assert_eq!(post.external_id, "00000050-3c1d-7e2f-9a40-7d2b00c1a9f1");
        assert_eq!(post.author.handle, "kettlefan_dk");
        assert_eq!(
            post.text,
            "★☆☆☆☆ 1/5 Won't start after update\nSince 3.1 the app crashes at launch on my iPhone 13. Reinstalled twice."
        );
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:14:57+00:00");
        assert!(post
            .raw
            .as_deref()
            .unwrap()
            .contains("\"territory\":\"DNK\""));
        let response = review.response(&page.included).unwrap();
        assert_eq!(
            response.attributes.state.as_deref(),
            Some("PENDING_PUBLISH")
        );
        // A rating without text is still a review: the stars alone.
        let bare = page.data[1].to_new_post().unwrap();
        assert_eq!(bare.text, "★★★★★ 5/5");
        assert_eq!(bare.author.handle, "App Store reviewer");
        assert!(page.data[1].response(&page.included).is_none());
    }

    #[test]
    fn an_edit_changes_the_mark_and_broken_reviews_say_what_is_wrong() {
        let page: ReviewPage = serde_json::from_str(PAGE).unwrap();
        let mut edited = page.data[0].clone();
        assert_eq!(edited.mark(), page.data[0].mark());
        edited.attributes.rating = Some(3);
        assert_ne!(edited.mark(), page.data[0].mark());
        edited.attributes.rating = Some(9);
        let e = edited.to_new_post().unwrap_err().to_string();
        assert!(e.contains("rating"), "{e}");
        edited.attributes.rating = Some(2);
        edited.attributes.created_date = Some("yesterday".into());
        let e = edited.to_new_post().unwrap_err().to_string();
        assert!(e.contains("createdDate"), "{e}");
        edited.kind = "apps".into();
        assert!(matches!(edited.to_new_post(), Err(NotAPost::Skipped(_))));
    }

    #[test]
    fn the_rate_limit_header_and_error_envelope_are_read() {
        assert_eq!(
            rate_limit("user-hour-lim:3600;user-hour-rem:3521;"),
            Some((3600, 3521))
        );
        assert_eq!(rate_limit("user-hour-lim:3600;"), None);
        assert_eq!(rate_limit("garbage"), None);
        let body = r#"{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED","title":"The request rate limit has been reached.","detail":"x"}]}"#;
        assert_eq!(
            ErrorDocument::describe(body).as_deref(),
            Some("RATE_LIMIT_EXCEEDED: The request rate limit has been reached.")
        );
        assert_eq!(ErrorDocument::describe("<html>"), None);
        let created: ResponseDocument = serde_json::from_str(
            r#"{"data":{"type":"customerReviewResponses","id":"r1","attributes":{"responseBody":"Hi","state":"PENDING_PUBLISH"}},"links":{"self":"x"}}"#,
        )
        .unwrap();
        assert_eq!(created.data.id, "r1");
    }
}
