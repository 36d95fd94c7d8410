//! Google Play's review JSON as it arrives (PROTOCOLS-2.md §4.3–§4.4): a `reviews.list` page,
//! a review whose `comments` hold the customer's `userComment` and at most one
//! `developerComment` (our reply), and protobuf timestamps whose `seconds` is a JSON string.
//! Every field is defaulted: Google says many "may be absent".

use crate::reviews::stars;
use crate::{InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use serde_json::Value;

/// One page of `reviews.list`. Reviews stay raw JSON so one broken review does not cost the
/// page, and the post keeps the review as Google sent it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReviewsPage {
    pub reviews: Vec<Value>,
    pub token_pagination: TokenPagination,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TokenPagination {
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Review {
    pub review_id: String,
    pub author_name: Option<String>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Comment {
    pub user_comment: Option<UserComment>,
    pub developer_comment: Option<DeveloperComment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserComment {
    /// The body, or `title\tbody`; translated when `translationLanguage` was asked.
    pub text: Option<String>,
    /// The customer's own words when `text` is a translation.
    pub original_text: Option<String>,
    pub last_modified: Option<Timestamp>,
    pub star_rating: Option<u8>,
    pub reviewer_language: Option<String>,
    /// The device's code name (`panther`).
    pub device: Option<String>,
    /// The Android API level (35).
    pub android_os_version: Option<u32>,
    pub app_version_code: Option<u64>,
    pub app_version_name: Option<String>,
    pub device_metadata: Option<DeviceMetadata>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeviceMetadata {
    pub product_name: Option<String>,
    pub manufacturer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DeveloperComment {
    pub text: Option<String>,
    pub last_modified: Option<Timestamp>,
}

/// A protobuf `Timestamp`: `seconds` is an int64 written as a JSON string (a number is
/// accepted too), `nanos` an int.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Timestamp {
    pub seconds: Value,
    pub nanos: u32,
}

impl Timestamp {
    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        let seconds = match &self.seconds {
            Value::String(s) => s.trim().parse::<i64>().ok()?,
            Value::Number(n) => n.as_i64()?,
            _ => return None,
        };
        DateTime::from_timestamp(seconds, self.nanos.min(999_999_999))
    }
}

/// `reviews.reply` answers `{"result": {"replyText": …, "lastEdited": …}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplyResult {
    pub result: Option<ReplyResultBody>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplyResultBody {
    pub reply_text: Option<String>,
    pub last_edited: Option<Timestamp>,
}

fn trimmed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Review {
    /// The customer's review (the first `userComment`).
    pub fn user_comment(&self) -> Option<&UserComment> {
        self.comments.iter().find_map(|c| c.user_comment.as_ref())
    }

    /// The brand's reply, if the review has one.
    pub fn developer_comment(&self) -> Option<&DeveloperComment> {
        self.comments
            .iter()
            .find_map(|c| c.developer_comment.as_ref())
    }

    /// When the customer last wrote it (there is no creation time).
    pub fn last_modified(&self) -> Option<DateTime<Utc>> {
        self.user_comment()?.last_modified.as_ref()?.to_utc()
    }

    /// What changes when the customer edits: the modification time, to the nanosecond.
    pub fn mark(&self) -> String {
        self.user_comment()
            .and_then(|c| c.last_modified.as_ref())
            .map(|t| {
                format!(
                    "{}.{:09}",
                    t.seconds
                        .as_str()
                        .map_or_else(|| t.seconds.to_string(), str::to_owned),
                    t.nanos
                )
            })
            .unwrap_or_default()
    }

    /// The review as a post: `★★☆☆☆ 2/5 <title>`, the body on the next line, then the app
    /// version and device when Google gives them (`app 3.1.2 (30102) · Google Pixel 7 ·
    /// Android API 35`). The customer's own words are used when `text` is a translation.
    /// `raw` is the review as it came.
    pub fn to_new_post(&self, raw: &Value) -> Result<NewPost, NotAPost> {
        if self.review_id.trim().is_empty() {
            return Err(InvalidPost::field("reviewId", "a review without an id").into());
        }
        let Some(c) = self.user_comment() else {
            return Err(NotAPost::skipped("a review without the customer's comment"));
        };
        let rating = match c.star_rating {
            Some(r @ 1..=5) => r,
            other => {
                return Err(InvalidPost::field(
                    "comments.userComment.starRating",
                    format!("rating {other:?} is not 1 to 5"),
                )
                .into())
            }
        };
        let created_at = self.last_modified().ok_or_else(|| {
            InvalidPost::field(
                "comments.userComment.lastModified",
                "no readable lastModified time",
            )
        })?;
        let words = trimmed(&c.original_text)
            .or(trimmed(&c.text))
            .unwrap_or_default();
        let (title, body) = match words.split_once('\t') {
            Some((title, body)) => (title.trim(), body.trim()),
            None => ("", words),
        };
        let mut text = stars(rating);
        if !title.is_empty() {
            text.push(' ');
            text.push_str(title);
        }
        if !body.is_empty() {
            text.push('\n');
            text.push_str(body);
        }
        if let Some(details) = c.details() {
            text.push('\n');
            text.push_str(&details);
        }
        let name = trimmed(&self.author_name).unwrap_or("Google Play reviewer");
        let lang = trimmed(&c.reviewer_language)
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase());
        Ok(NewPost {
            network: Network::GooglePlay,
            external_id: self.review_id.clone(),
            author: Author {
                // Google gives no reviewer id: the name is all there is.
                external_id: format!("name:{name}"),
                handle: name.to_owned(),
                ..Author::default()
            },
            text: crate::clamp_text(text),
            created_at,
            in_reply_to: None,
            lang,
            url: None,
            from_brand: Some(false),
            raw: Some(raw.to_string()),
        })
    }
}

impl UserComment {
    /// `app 3.1.2 (30102) · Google Pixel 7 · Android API 35`, from what is given.
    pub fn details(&self) -> Option<String> {
        let mut parts = Vec::new();
        match (trimmed(&self.app_version_name), self.app_version_code) {
            (Some(name), Some(code)) => parts.push(format!("app {name} ({code})")),
            (Some(name), None) => parts.push(format!("app {name}")),
            (None, Some(code)) => parts.push(format!("app version code {code}")),
            (None, None) => {}
        }
        let meta = self.device_metadata.as_ref();
        let product = meta.and_then(|m| trimmed(&m.product_name));
        let maker = meta.and_then(|m| trimmed(&m.manufacturer));
        match (maker, product, trimmed(&self.device)) {
            (Some(maker), Some(product), _) if !product.starts_with(maker) => {
                parts.push(format!("{maker} {product}"))
            }
            (_, Some(product), _) => parts.push(product.to_owned()),
            (_, None, Some(device)) => parts.push(format!("device {device}")),
            _ => {}
        }
        if let Some(api) = self.android_os_version {
            parts.push(format!("Android API {api}"));
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example page of PROTOCOLS-2.md §4.3.
    pub(crate) const PAGE: &str = r#"{
      "reviews": [{
        "reviewId": "gp:AOqpTOFm3x9Y2kq7Qd4b1rZc8s0LvW5n6tUe",
        "authorName": "Marta R.",
        "comments": [
          {"userComment": {
            "text": "Kettle app\tStopped connecting after the last update, Pixel 7.",
            "lastModified": {"seconds": "1787217297", "nanos": 412000000},
            "starRating": 2, "reviewerLanguage": "en", "device": "panther", "androidOsVersion": 35,
            "appVersionCode": 30102, "appVersionName": "3.1.2", "thumbsUpCount": 4, "thumbsDownCount": 0,
            "deviceMetadata": {"productName": "Pixel 7", "manufacturer": "Google", "deviceClass": "phone", "ramMb": 8192}}},
          {"developerComment": {"text": "Thanks Marta — 3.1.3 restores pairing.", "lastModified": {"seconds": "1787220011", "nanos": 0}}}
        ]
      }, {
        "reviewId": "gp:bare", "comments": [{"userComment": {"text": "ok", "starRating": 4, "lastModified": {"seconds": 1787217000}}}]
      }],
      "tokenPagination": {"nextPageToken": "CnYKdAoFZ3A6QU9xcFRPRm0zeDlZ"},
      "pageInfo": {"totalResults": 37, "resultPerPage": 100, "startIndex": 0}
    }"#;

    fn reviews() -> (ReviewsPage, Vec<Review>) {
        let page: ReviewsPage = serde_json::from_str(PAGE).unwrap();
        let reviews = page
            .reviews
            .iter()
            .map(|r| serde_json::from_value(r.clone()).unwrap())
            .collect();
        (page, reviews)
    }

    #[test]
    fn a_review_becomes_a_post_with_rating_title_body_and_device() {
        let (page, reviews) = reviews();
        assert_eq!(
            page.token_pagination.next_page_token.as_deref(),
            Some("CnYKdAoFZ3A6QU9xcFRPRm0zeDlZ")
        );
        let post = reviews[0].to_new_post(&page.reviews[0]).unwrap();
        assert_eq!(post.network, Network::GooglePlay);
        assert_eq!(post.external_id, "gp:AOqpTOFm3x9Y2kq7Qd4b1rZc8s0LvW5n6tUe");
        assert_eq!(post.author.handle, "Marta R.");
        assert_eq!(
            post.text,
            "★★☆☆☆ 2/5 Kettle app\nStopped connecting after the last update, Pixel 7.\n\
             app 3.1.2 (30102) · Google Pixel 7 · Android API 35"
        );
        assert_eq!(post.created_at.timestamp(), 1_787_217_297);
        assert_eq!(post.lang.as_deref(), Some("en"));
        assert!(post.raw.as_deref().unwrap().contains("\"ramMb\":8192"));
        assert_eq!(reviews[0].mark(), "1787217297.412000000");
        assert_eq!(
            reviews[0].developer_comment().unwrap().text.as_deref(),
            Some("Thanks Marta — 3.1.3 restores pairing.")
        );
        // A number for seconds, no title, no device: the rating and the words.
        let bare = reviews[1].to_new_post(&page.reviews[1]).unwrap();
        assert_eq!(bare.text, "★★★★☆ 4/5\nok");
        assert_eq!(bare.author.handle, "Google Play reviewer");
    }

    #[test]
    fn a_translation_keeps_the_original_and_broken_reviews_say_what_is_wrong() {
        let (page, mut reviews) = reviews();
        let c = reviews[1].comments[0].user_comment.as_mut().unwrap();
        c.text = Some("It stopped".into());
        c.original_text = Some("Den holdt op".into());
        c.reviewer_language = Some("da-DK".into());
        let post = reviews[1].to_new_post(&page.reviews[1]).unwrap();
        assert!(post.text.ends_with("Den holdt op"), "{}", post.text);
        assert_eq!(post.lang.as_deref(), Some("da"));
        let c = reviews[1].comments[0].user_comment.as_mut().unwrap();
        c.star_rating = Some(0);
        let e = reviews[1]
            .to_new_post(&Value::Null)
            .unwrap_err()
            .to_string();
        assert!(e.contains("starRating"), "{e}");
        let c = reviews[1].comments[0].user_comment.as_mut().unwrap();
        c.star_rating = Some(3);
        c.last_modified = Some(Timestamp {
            seconds: Value::String("soon".into()),
            nanos: 0,
        });
        let e = reviews[1]
            .to_new_post(&Value::Null)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lastModified"), "{e}");
        reviews[1].comments.clear();
        assert!(matches!(
            reviews[1].to_new_post(&Value::Null),
            Err(NotAPost::Skipped(_))
        ));
    }
}
