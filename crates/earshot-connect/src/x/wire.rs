//! X API v2 filtered-stream lines (PROTOCOLS.md §3.3, §3.6) and their conversion into
//! [`NewPost`]. Search and mentions responses share the post and user shapes.

use crate::de::{id, null_default, opt_id, rfc3339};
use crate::{clamp_text, non_empty, InvalidPost, NotAPost};
use earshot_core::{Author, Network, NewPost};
use serde::Deserialize;

/// One line of the filtered stream: a post with its expansions, or an error report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StreamLine {
    pub data: Option<Tweet>,
    #[serde(deserialize_with = "null_default")]
    pub includes: Includes,
    #[serde(deserialize_with = "null_default")]
    pub matching_rules: Vec<MatchingRule>,
    /// Errors delivered inside the stream (e.g. `operational-disconnect`).
    #[serde(deserialize_with = "null_default")]
    pub errors: Vec<Problem>,
}

/// A post ("tweet").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Tweet {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    #[serde(deserialize_with = "opt_id")]
    pub author_id: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    #[serde(deserialize_with = "opt_id")]
    pub conversation_id: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    pub in_reply_to_user_id: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub referenced_tweets: Vec<ReferencedTweet>,
    pub lang: Option<String>,
    /// Every id this post has had; the first is the original, the stable key across edits.
    #[serde(alias = "edit_history_post_ids", deserialize_with = "null_default")]
    pub edit_history_tweet_ids: Vec<String>,
    /// The full text of a post longer than 280 characters.
    pub note_tweet: Option<NoteTweet>,
}

/// The long-form text of a post.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NoteTweet {
    #[serde(deserialize_with = "null_default")]
    pub text: String,
}

/// A post this post replies to, quotes or reposts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReferencedTweet {
    /// `replied_to`, `quoted` or `retweeted`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    #[serde(deserialize_with = "id")]
    pub id: String,
}

/// Expanded objects, joined to posts by id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Includes {
    #[serde(deserialize_with = "null_default")]
    pub users: Vec<User>,
    #[serde(alias = "posts", deserialize_with = "null_default")]
    pub tweets: Vec<Tweet>,
}

/// An account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub username: String,
    pub name: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub verified: bool,
    pub public_metrics: Option<PublicMetrics>,
}

/// An account's counters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PublicMetrics {
    pub followers_count: Option<u64>,
    pub following_count: Option<u64>,
    #[serde(alias = "post_count")]
    pub tweet_count: Option<u64>,
    pub listed_count: Option<u64>,
}

/// The stream rule a post matched.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MatchingRule {
    #[serde(deserialize_with = "id")]
    pub id: String,
    pub tag: Option<String>,
}

/// An RFC 7807-style problem (PROTOCOLS.md §3.7): a whole error answer, an item of its
/// `errors[]`, or a partial error beside `data` (e.g. a referenced post that was deleted).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Problem {
    pub title: Option<String>,
    pub detail: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub disconnect_type: Option<String>,
    /// `TooManyConnections` on the stream's 429.
    pub connection_issue: Option<String>,
    /// The post or user a partial error is about.
    #[serde(deserialize_with = "opt_id")]
    pub resource_id: Option<String>,
    pub resource_type: Option<String>,
    pub parameter: Option<String>,
    /// The offending value (a rule's text, an id); any JSON, kept as it came.
    pub value: Option<serde_json::Value>,
    /// The id of an existing rule a duplicate collides with.
    #[serde(deserialize_with = "opt_id")]
    pub id: Option<String>,
    /// Why a rule is invalid, one sentence each.
    #[serde(deserialize_with = "null_default")]
    pub details: Vec<String>,
    /// Nested per-item errors of a whole error answer (`400 Invalid Request`).
    #[serde(deserialize_with = "null_default")]
    pub errors: Vec<Problem>,
}

impl Problem {
    /// "title: detail", whichever parts are present.
    pub fn summary(&self) -> String {
        let parts: Vec<&str> = [&self.title, &self.detail, &self.message]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            self.kind
                .clone()
                .unwrap_or_else(|| "unknown error".to_owned())
        } else {
            parts.join(": ")
        }
    }

    /// Whether the problem type ends with `name` (X has used both `api.x.com` and
    /// `api.twitter.com` prefixes, so only the last segment is compared).
    pub fn is(&self, name: &str) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.rsplit('/').next() == Some(name))
    }

    /// The id of a post X reports as gone (`resource-not-found` for a post), if this is that.
    pub fn deleted_post(&self) -> Option<&str> {
        let about_a_post = matches!(self.resource_type.as_deref(), Some("tweet" | "post"))
            || self
                .parameter
                .as_deref()
                .is_some_and(|p| p.contains("tweets") || p.contains("posts"));
        if self.is("resource-not-found") && about_a_post {
            self.resource_id.as_deref().filter(|id| !id.is_empty())
        } else {
            None
        }
    }
}

/// A page of `GET /2/tweets/search/recent`, `GET /2/users/{id}/mentions` or
/// `GET /2/users/{id}/tweets` (PROTOCOLS.md §3.4): newest first, no `data` when empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Page {
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<Tweet>,
    #[serde(deserialize_with = "null_default")]
    pub includes: Includes,
    /// Partial failures beside `data` (e.g. a referenced post that was deleted).
    #[serde(deserialize_with = "null_default")]
    pub errors: Vec<Problem>,
    #[serde(deserialize_with = "null_default")]
    pub meta: PageMeta,
}

/// Paging facts of a [`Page`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PageMeta {
    #[serde(deserialize_with = "opt_id")]
    pub newest_id: Option<String>,
    #[serde(deserialize_with = "opt_id")]
    pub oldest_id: Option<String>,
    pub result_count: Option<u64>,
    /// Absent on the last page.
    pub next_token: Option<String>,
}

/// A filtered-stream rule as `GET /2/tweets/search/stream/rules` lists it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Rule {
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub value: String,
    pub tag: Option<String>,
}

/// The answer of the rules endpoint, for `GET` (a page of rules) and `POST` (what was added
/// or deleted, with `errors[]` for refused rules).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RulesAnswer {
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<Rule>,
    #[serde(deserialize_with = "null_default")]
    pub errors: Vec<Problem>,
    #[serde(deserialize_with = "null_default")]
    pub meta: RulesMeta,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RulesMeta {
    pub result_count: Option<u64>,
    pub next_token: Option<String>,
    pub summary: Option<RulesSummary>,
}

/// Counts of a rules change: `created`/`not_created`/`valid`/`invalid` for adds,
/// `deleted`/`not_deleted` for deletes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RulesSummary {
    pub created: Option<u64>,
    pub not_created: Option<u64>,
    pub valid: Option<u64>,
    pub invalid: Option<u64>,
    pub deleted: Option<u64>,
    pub not_deleted: Option<u64>,
}

/// `{"data": {...}}` around one object (`GET /2/users/me`, `POST /2/tweets`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de> + Default"))]
pub struct One<T: Default> {
    #[serde(deserialize_with = "null_default")]
    pub data: T,
}

/// The answer of `POST /2/oauth2/token`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenAnswer {
    #[serde(deserialize_with = "null_default")]
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
}

/// An OAuth 2.0 error answer (`{"error":"invalid_request","error_description":"..."}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OAuthError {
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Tweet {
    /// The key that survives edits: the first of `edit_history_tweet_ids`, else `id`.
    pub fn stable_id(&self) -> &str {
        self.edit_history_tweet_ids
            .first()
            .filter(|id| !id.is_empty())
            .unwrap_or(&self.id)
    }

    /// The id of the post this one replies to.
    pub fn replied_to(&self) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to" && !r.id.is_empty())
            .map(|r| r.id.as_str())
    }

    /// Whether this is a repost (retweet) of another post.
    pub fn is_repost(&self) -> bool {
        self.referenced_tweets.iter().any(|r| r.kind == "retweeted")
    }
}

impl StreamLine {
    /// The post on this line, its author joined from `includes.users`.
    ///
    /// Keyed by the original id of its edit history, so an edit lands on the same key.
    /// A line that only carries `errors` is invalid (with the stream's message); a repost is
    /// skipped (nothing new was said); a line with neither is skipped.
    pub fn into_new_post(self) -> Result<NewPost, NotAPost> {
        let Some(tweet) = self.data else {
            if self.errors.is_empty() {
                return Err(NotAPost::skipped("a stream line without data"));
            }
            let messages: Vec<String> = self.errors.iter().map(Problem::summary).collect();
            return Err(InvalidPost::field(
                "errors",
                format!("the stream reported an error: {}", messages.join("; ")),
            )
            .into());
        };
        tweet.into_new_post(&self.includes.users)
    }
}

impl Tweet {
    /// This post as a [`NewPost`], its author joined from `users` (a page's
    /// `includes.users`). Keyed by the original id of its edit history; reposts are skipped.
    pub fn into_new_post(self, users: &[User]) -> Result<NewPost, NotAPost> {
        let tweet = self;
        if tweet.is_repost() {
            return Err(NotAPost::skipped(format!(
                "post {} is a repost, not a new post",
                tweet.id
            )));
        }
        if tweet.id.is_empty() {
            return Err(InvalidPost::field("data.id", "a post needs an id").into());
        }
        let created_at = rfc3339("data.created_at", &tweet.created_at)?;
        let author_id = tweet.author_id.clone().unwrap_or_default();
        let user = users
            .iter()
            .find(|u| !author_id.is_empty() && u.id == author_id)
            .cloned();
        let url = match &user {
            Some(u) if !u.username.is_empty() => {
                format!("https://x.com/{}/status/{}", u.username, tweet.id)
            }
            _ => format!("https://x.com/i/web/status/{}", tweet.id),
        };
        let author = match user {
            Some(u) => Author {
                handle: if u.username.is_empty() {
                    author_id.clone()
                } else {
                    u.username.trim_start_matches('@').to_owned()
                },
                external_id: author_id,
                display_name: non_empty(u.name),
                followers: u.public_metrics.and_then(|m| m.followers_count),
                verified: u.verified,
                bot: false,
            },
            None => Author {
                handle: author_id.clone(),
                external_id: author_id,
                ..Author::default()
            },
        };
        let external_id = tweet.stable_id().to_owned();
        let in_reply_to = tweet.replied_to().map(str::to_owned);
        let text = match tweet.note_tweet {
            Some(note) if !note.text.is_empty() => note.text,
            _ => tweet.text,
        };
        Ok(NewPost {
            network: Network::X,
            external_id,
            author,
            text: clamp_text(text),
            created_at,
            in_reply_to,
            // `und` is X's "undetermined": no language declared.
            lang: non_empty(tweet.lang).filter(|l| l != "und"),
            url: Some(url),
            from_brand: None,
            raw: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{
      "data": {
        "id": "2090366968135249920",
        "text": "@AcmeHelp my order #4471 arrived with a cracked lid, who do I talk to?",
        "author_id": "1432109876543210987", "created_at": "2026-08-20T09:14:57.000Z", "lang": "en",
        "conversation_id": "2090366968135249920",
        "edit_history_tweet_ids": ["2090366968135249920"]
      },
      "includes": {
        "users": [{
          "id": "1432109876543210987", "name": "Priya N", "username": "priya_n",
          "verified": false, "created_at": "2021-09-02T17:20:11.000Z",
          "public_metrics": {"followers_count": 812, "following_count": 390, "tweet_count": 10421, "listed_count": 7, "like_count": 15200}
        }]
      },
      "matching_rules": [{"id": "2090348106350755840", "tag": "brand-mentions"}]
    }"#;

    #[test]
    fn a_stream_line_becomes_a_post() {
        let line: StreamLine = serde_json::from_str(LINE).unwrap();
        assert_eq!(
            line.matching_rules[0].tag.as_deref(),
            Some("brand-mentions")
        );
        let post = line.into_new_post().unwrap();
        assert_eq!(post.network, Network::X);
        assert_eq!(post.external_id, "2090366968135249920");
        assert_eq!(post.author.external_id, "1432109876543210987");
        assert_eq!(post.author.handle, "priya_n");
        assert_eq!(post.author.display_name.as_deref(), Some("Priya N"));
        assert_eq!(post.author.followers, Some(812));
        assert_eq!(post.lang.as_deref(), Some("en"));
        assert_eq!(post.in_reply_to, None);
        assert_eq!(
            post.url.as_deref(),
            Some("https://x.com/priya_n/status/2090366968135249920")
        );
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:14:57+00:00");
    }

    #[test]
    fn replies_edits_and_missing_users() {
        let line = r#"{"data":{"id":"3","text":"edited","author_id":"9","created_at":"2026-08-20T09:20:00Z","lang":"und",
            "referenced_tweets":[{"type":"replied_to","id":"1"},{"type":"quoted","id":"2"}],
            "edit_history_post_ids":["2","3"]},"includes":{"posts":[]}}"#;
        let post = serde_json::from_str::<StreamLine>(line)
            .unwrap()
            .into_new_post()
            .unwrap();
        assert_eq!(post.external_id, "2", "keyed by the original id");
        assert_eq!(post.in_reply_to.as_deref(), Some("1"));
        assert_eq!(post.lang, None);
        assert_eq!(post.author.handle, "9");
        assert_eq!(post.url.as_deref(), Some("https://x.com/i/web/status/3"));
    }

    #[test]
    fn long_posts_use_the_note_text() {
        let line = r#"{"data":{"id":"3","text":"short…","note_tweet":{"text":"the whole long text"},"created_at":"2026-08-20T09:20:00Z"}}"#;
        let post = serde_json::from_str::<StreamLine>(line)
            .unwrap()
            .into_new_post()
            .unwrap();
        assert_eq!(post.text, "the whole long text");
    }

    #[test]
    fn error_lines_carry_the_message() {
        let line = r#"{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.x.com/2/problems/operational-disconnect"}]}"#;
        match serde_json::from_str::<StreamLine>(line)
            .unwrap()
            .into_new_post()
        {
            Err(NotAPost::Invalid(e)) => {
                assert!(e.message.contains("operational-disconnect"), "{e}");
                assert!(e.message.contains("disconnected upstream"), "{e}");
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn reposts_are_skipped() {
        let line = r#"{"data":{"id":"5","text":"RT @acme: hi","created_at":"2026-08-20T09:20:00Z","referenced_tweets":[{"type":"retweeted","id":"4"}]}}"#;
        assert!(matches!(
            serde_json::from_str::<StreamLine>(line)
                .unwrap()
                .into_new_post(),
            Err(NotAPost::Skipped(_))
        ));
    }
}
