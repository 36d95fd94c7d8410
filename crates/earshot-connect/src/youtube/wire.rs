//! YouTube Data API v3 JSON as it arrives (PROTOCOLS-2.md §5.3–§5.4): `commentThreads.list`
//! pages (a thread holds its top-level comment and a *subset* of its replies),
//! `comments.list` pages, and the `youtube#comment` resource. Every field is defaulted.
//!
//! Keys: a comment by its `id` (a thread's id is its top-level comment's; a reply's is
//! `<parentId>.<suffix>`, treated as opaque). A reply points at its thread (`in_reply_to` =
//! `parentId`), so a thread is one conversation. The author is the commenter's channel id.

use crate::{InvalidPost, NotAPost};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;
use serde_json::Value;

/// A page of `commentThreads.list`; threads stay raw so one broken thread does not cost the
/// page, and each post keeps its comment as YouTube sent it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListPage {
    pub items: Vec<Value>,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Thread {
    pub id: String,
    pub snippet: ThreadSnippet,
    pub replies: Option<Replies>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThreadSnippet {
    pub channel_id: String,
    pub video_id: Option<String>,
    pub can_reply: Option<bool>,
    pub total_reply_count: u64,
    pub top_level_comment: Comment,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Replies {
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub snippet: CommentSnippet,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CommentSnippet {
    pub video_id: Option<String>,
    /// Set on replies: the thread's (top-level comment's) id.
    pub parent_id: Option<String>,
    pub text_display: Option<String>,
    pub text_original: Option<String>,
    pub author_display_name: Option<String>,
    pub author_channel_id: Option<ChannelRef>,
    pub like_count: Option<u64>,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub moderation_status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ChannelRef {
    pub value: String,
}

fn time(at: &Option<String>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at.as_deref()?.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

impl Thread {
    /// The top-level comment and the replies this listing carries (a subset when
    /// `totalReplyCount` is larger).
    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        std::iter::once(&self.snippet.top_level_comment)
            .chain(self.replies.iter().flat_map(|r| r.comments.iter()))
    }

    /// Whether the listing left replies out.
    pub fn has_more_replies(&self) -> bool {
        let shown = self.replies.as_ref().map_or(0, |r| r.comments.len());
        self.snippet.total_reply_count > shown as u64
    }

    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        self.snippet.top_level_comment.published_at()
    }
}

impl Comment {
    pub fn published_at(&self) -> Option<DateTime<Utc>> {
        time(&self.snippet.published_at)
    }

    /// What changes when the author edits: `updatedAt`, else the text.
    pub fn mark(&self) -> String {
        self.snippet
            .updated_at
            .clone()
            .or_else(|| self.snippet.text_display.clone())
            .unwrap_or_default()
    }

    /// The author's channel, if YouTube gave it.
    pub fn author_channel(&self) -> Option<&str> {
        self.snippet
            .author_channel_id
            .as_ref()
            .map(|c| c.value.trim())
            .filter(|c| !c.is_empty())
    }

    /// The comment as a post on `video` (the thread's video, when the comment lacks it);
    /// `brand_channel`'s own comments are marked as the brand's.
    pub fn to_new_post(
        &self,
        video: Option<&str>,
        brand_channel: &str,
    ) -> Result<NewPost, NotAPost> {
        let s = &self.snippet;
        if self.id.trim().is_empty() {
            return Err(InvalidPost::field("id", "a comment without an id").into());
        }
        let created_at = self.published_at().ok_or_else(|| {
            InvalidPost::field("snippet.publishedAt", "no readable publishedAt time")
        })?;
        // Asked as plainText: no HTML, no entities. textOriginal is only promised to the author.
        let text = s
            .text_display
            .as_deref()
            .or(s.text_original.as_deref())
            .map(str::trim)
            .unwrap_or_default();
        if text.is_empty() {
            return Err(NotAPost::skipped("a comment without text"));
        }
        let author_channel = self.author_channel().unwrap_or_default();
        let name = s
            .author_display_name
            .as_deref()
            .map(|n| n.trim().trim_start_matches('@'))
            .filter(|n| !n.is_empty())
            .unwrap_or("YouTube viewer");
        let video = s.video_id.as_deref().or(video).unwrap_or_default();
        let url = (!video.is_empty())
            .then(|| format!("https://www.youtube.com/watch?v={video}&lc={}", self.id));
        Ok(NewPost {
            network: Network::YouTube,
            external_id: self.id.clone(),
            author: Author {
                external_id: if author_channel.is_empty() {
                    format!("name:{name}")
                } else {
                    author_channel.to_owned()
                },
                handle: name.to_owned(),
                ..Author::default()
            },
            text: crate::clamp_text(text.to_owned()),
            created_at,
            in_reply_to: s.parent_id.clone().filter(|p| !p.trim().is_empty()),
            lang: None,
            url,
            // Without the brand's channel (an import) it is not known whose comment it is.
            from_brand: (!brand_channel.trim().is_empty())
                .then(|| !author_channel.is_empty() && author_channel == brand_channel.trim()),
            raw: serde_json::to_string(self).ok(),
        })
    }
}

/// The posts of a thread (top-level first, then the replies it carries), for an import.
pub fn thread_posts(thread: &Thread, brand_channel: &str) -> Vec<Result<NewPost, NotAPost>> {
    let video = thread.snippet.video_id.as_deref();
    thread
        .comments()
        .map(|c| c.to_new_post(video, brand_channel))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example page of PROTOCOLS-2.md §5.3.
    pub(crate) const PAGE: &str = r#"{
      "kind": "youtube#commentThreadListResponse", "etag": "k3Jd0Q",
      "nextPageToken": "QURTSl9pM2xZb0",
      "pageInfo": {"totalResults": 100, "resultsPerPage": 100},
      "items": [{
        "kind": "youtube#commentThread", "etag": "aB9", "id": "UgzQ7vN2kLmP4xRt8AB4AaABAg",
        "snippet": {
          "channelId": "UCx7Ab3kQ9mZ2pL5nR8tV1wY", "videoId": "dQ8kT2mNp0A",
          "canReply": true, "totalReplyCount": 1, "isPublic": true,
          "topLevelComment": {
            "kind": "youtube#comment", "etag": "Xy1", "id": "UgzQ7vN2kLmP4xRt8AB4AaABAg",
            "snippet": {
              "channelId": "UCx7Ab3kQ9mZ2pL5nR8tV1wY", "videoId": "dQ8kT2mNp0A",
              "textDisplay": "Does the K2 descaling mode work on 3.1? Mine skips it.",
              "textOriginal": "Does the K2 descaling mode work on 3.1? Mine skips it.",
              "authorDisplayName": "@giulia.b", "authorProfileImageUrl": "https://yt3.ggpht.example/a.jpg",
              "authorChannelUrl": "http://www.youtube.com/@giulia.b", "authorChannelId": {"value": "UCb2Yc8nQ4rS6tU1vW3xZ5aA"},
              "canRate": true, "viewerRating": "none", "likeCount": 3,
              "publishedAt": "2026-08-20T09:14:57Z", "updatedAt": "2026-08-20T09:14:57Z"
            }
          }
        },
        "replies": {"comments": [{
          "kind": "youtube#comment", "id": "UgzQ7vN2kLmP4xRt8AB4AaABAg.AM1xY7qK3bZAM1xZ0pQ9rT",
          "snippet": {"parentId": "UgzQ7vN2kLmP4xRt8AB4AaABAg", "textDisplay": "Same here", "authorDisplayName": "@sven_h",
                      "authorChannelId": {"value": "UCd4Ef6gH8iJ0kL2mN4oP6qR"}, "publishedAt": "2026-08-20T09:40:02Z", "updatedAt": "2026-08-20T09:40:02Z"}
        }]}
      }]
    }"#;

    #[test]
    fn a_thread_becomes_its_comment_and_replies_threaded_under_it() {
        let page: ListPage = serde_json::from_str(PAGE).unwrap();
        assert_eq!(page.next_page_token.as_deref(), Some("QURTSl9pM2xZb0"));
        let thread: Thread = serde_json::from_value(page.items[0].clone()).unwrap();
        assert!(!thread.has_more_replies());
        let posts: Vec<NewPost> = thread_posts(&thread, "UCx7Ab3kQ9mZ2pL5nR8tV1wY")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(posts.len(), 2);
        let top = &posts[0];
        assert_eq!(top.network, Network::YouTube);
        assert_eq!(top.external_id, "UgzQ7vN2kLmP4xRt8AB4AaABAg");
        assert_eq!(top.author.external_id, "UCb2Yc8nQ4rS6tU1vW3xZ5aA");
        assert_eq!(top.author.handle, "giulia.b");
        assert_eq!(top.in_reply_to, None);
        assert_eq!(top.from_brand, Some(false));
        assert_eq!(
            top.url.as_deref(),
            Some("https://www.youtube.com/watch?v=dQ8kT2mNp0A&lc=UgzQ7vN2kLmP4xRt8AB4AaABAg")
        );
        let reply = &posts[1];
        assert_eq!(
            reply.in_reply_to.as_deref(),
            Some("UgzQ7vN2kLmP4xRt8AB4AaABAg")
        );
        assert_eq!(reply.text, "Same here");
        assert!(
            reply.url.as_deref().unwrap().contains("v=dQ8kT2mNp0A"),
            "the thread's video"
        );
        // The brand's own reply is marked as such.
        let ours = thread_posts(&thread, "UCd4Ef6gH8iJ0kL2mN4oP6qR");
        assert_eq!(ours[1].as_ref().unwrap().from_brand, Some(true));
    }

    #[test]
    fn broken_comments_say_what_is_wrong() {
        let mut c = Comment {
            id: "c1".into(),
            ..Comment::default()
        };
        c.snippet.text_display = Some("hi".into());
        c.snippet.published_at = Some("yesterday".into());
        let e = c.to_new_post(None, "UC").unwrap_err().to_string();
        assert!(e.contains("publishedAt"), "{e}");
        c.snippet.published_at = Some("2026-08-20T09:14:57Z".into());
        c.snippet.text_display = Some("  ".into());
        assert!(matches!(
            c.to_new_post(None, "UC"),
            Err(NotAPost::Skipped(_))
        ));
    }
}
