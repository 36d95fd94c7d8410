//! The canonical post: earshot's own JSON shape for a post, read from JSONL imports and from
//! `POST /api/v1/posts` (ARCHITECTURE.md, "Canonical post"):
//!
//! ```json
//! {"network":"x","id":"896523232098078720",
//!  "author":{"id":"u1","handle":"paulfranks","name":"Paul Franks","followers":1520},
//!  "text":"@elonmusk Can you program the car ...","created_at":"2017-08-18T20:47:00-07:00",
//!  "in_reply_to":null,"lang":null,"url":null}
//! ```
//!
//! plus optional `from_brand` (bool), `author.verified` and `author.bot`. Ids may be sent as
//! strings or integers and are kept as strings.

use crate::de::{id, null_default, opt_id, rfc3339, shorten};
use crate::{non_empty, InvalidPost, MAX_TEXT_BYTES};
use earshot_core::{Author, Network, NewPost};
use serde::{Deserialize, Serialize};

/// A post in the canonical shape, as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanonicalPost {
    /// `mastodon`, `bluesky`, `x`, `reddit`, `rss` or `webhook`.
    #[serde(deserialize_with = "null_default")]
    pub network: String,
    #[serde(deserialize_with = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub author: CanonicalAuthor,
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// RFC 3339, any offset.
    #[serde(deserialize_with = "null_default")]
    pub created_at: String,
    #[serde(deserialize_with = "opt_id")]
    pub in_reply_to: Option<String>,
    pub lang: Option<String>,
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_brand: Option<bool>,
}

/// The author of a canonical post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanonicalAuthor {
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// Without a leading `@` (one is stripped if sent).
    #[serde(deserialize_with = "null_default")]
    pub handle: String,
    pub name: Option<String>,
    pub followers: Option<u64>,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub verified: bool,
    #[serde(deserialize_with = "null_default", skip_serializing_if = "is_false")]
    pub bot: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl CanonicalPost {
    /// Validates the post and turns it into a [`NewPost`]: a known network, a non-empty id,
    /// non-empty text of at most [`MAX_TEXT_BYTES`], an RFC 3339 `created_at`, and an author
    /// with an id or a handle (either stands in for the other; a leading `@` is stripped).
    pub fn into_new_post(self) -> Result<NewPost, InvalidPost> {
        let network = self.network.trim();
        if network.is_empty() {
            return Err(InvalidPost::field("network", "missing network"));
        }
        let network: Network =
            network
                .parse()
                .map_err(|e: earshot_core::network::UnknownNetwork| {
                    InvalidPost::field("network", e.to_string())
                })?;
        let external_id = self.id.trim();
        if external_id.is_empty() {
            return Err(InvalidPost::field("id", "missing id"));
        }
        if self.text.trim().is_empty() {
            return Err(InvalidPost::field("text", "missing text"));
        }
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(InvalidPost::field(
                "text",
                format!(
                    "text is {} bytes; the limit is {MAX_TEXT_BYTES}",
                    self.text.len()
                ),
            ));
        }
        let created_at = rfc3339("created_at", &self.created_at)?;
        let author = self.author.into_author()?;
        Ok(NewPost {
            in_reply_to: self
                .in_reply_to
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            lang: non_empty(self.lang).map(|s| s.trim().to_owned()),
            url: non_empty(self.url).map(|s| s.trim().to_owned()),
            from_brand: self.from_brand,
            ..NewPost::new(network, external_id, author, self.text, created_at)
        })
    }

    /// The canonical form of a post (for exports and test data).
    pub fn from_new_post(post: &NewPost) -> Self {
        CanonicalPost {
            network: post.network.as_str().to_owned(),
            id: post.external_id.clone(),
            author: CanonicalAuthor {
                id: post.author.external_id.clone(),
                handle: post.author.handle.clone(),
                name: post.author.display_name.clone(),
                followers: post.author.followers,
                verified: post.author.verified,
                bot: post.author.bot,
            },
            text: post.text.clone(),
            created_at: post.created_at.to_rfc3339(),
            in_reply_to: post.in_reply_to.clone(),
            lang: post.lang.clone(),
            url: post.url.clone(),
            from_brand: post.from_brand,
        }
    }
}

impl CanonicalAuthor {
    fn into_author(self) -> Result<Author, InvalidPost> {
        // Every leading `@` goes (also after a space), so reading a handle twice changes nothing.
        let bare = |s: &str| {
            s.trim_start_matches(|c: char| c == '@' || c.is_whitespace())
                .trim_end()
                .to_owned()
        };
        let handle = bare(&self.handle);
        let id = self.id.trim().to_owned();
        let (external_id, handle) = match (id.is_empty(), handle.is_empty()) {
            (true, true) => {
                return Err(InvalidPost::field(
                    "author",
                    "the author needs an id or a handle",
                ))
            }
            (true, false) => (handle.clone(), handle),
            // The id stands in for the handle, written as a handle is (`@` alone stays).
            (false, true) => {
                let from_id = bare(&id);
                let handle = if from_id.is_empty() {
                    id.clone()
                } else {
                    from_id
                };
                (id, handle)
            }
            (false, false) => (id, handle),
        };
        if handle.chars().any(char::is_whitespace) {
            return Err(InvalidPost::field(
                "author.handle",
                format!("{:?} is not a handle: it contains spaces", shorten(&handle)),
            ));
        }
        Ok(Author {
            display_name: non_empty(self.name),
            followers: self.followers,
            verified: self.verified,
            bot: self.bot,
            ..Author::new(external_id, handle)
        })
    }
}

/// Why a `POST /api/v1/posts` body could not be read at all (per-post problems are reported
/// per post instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is empty: send one post object, an array of posts, or {{\"posts\": [...]}}")]
    Empty,
    #[error("the body is not valid JSON (line {line}, column {column}): {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "the body is {found}: send one post object, an array of posts, or {{\"posts\": [...]}}"
    )]
    WrongShape { found: &'static str },
}

/// Reads a body holding one canonical post, an array of them, or `{"posts": [...]}`.
///
/// The outer result fails only when the body as a whole is unreadable. Each post is then
/// validated on its own: a bad post is an [`InvalidPost`] carrying its index in the batch
/// (no index for a single-object body) and does not spoil the others.
pub fn parse_canonical_body(bytes: &[u8]) -> Result<Vec<Result<NewPost, InvalidPost>>, BodyError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| BodyError::NotJson {
            line: e.line(),
            column: e.column(),
            message: json_message(&e),
        })?;
    let (items, batch) = match value {
        serde_json::Value::Array(items) => (items, true),
        serde_json::Value::Object(mut object) => match object.remove("posts") {
            Some(serde_json::Value::Array(items)) => (items, true),
            Some(other) => {
                return Err(BodyError::WrongShape {
                    found: match other {
                        serde_json::Value::Null => "an object whose `posts` is null",
                        _ => "an object whose `posts` is not an array",
                    },
                })
            }
            None => (vec![serde_json::Value::Object(object)], false),
        },
        other => {
            return Err(BodyError::WrongShape {
                found: json_kind(&other),
            })
        }
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let result = match item {
                serde_json::Value::Object(_) => serde_json::from_value::<CanonicalPost>(item)
                    .map_err(|e| InvalidPost::message(json_message(&e)))
                    .and_then(CanonicalPost::into_new_post),
                other => Err(InvalidPost::message(format!(
                    "expected a post object, got {}",
                    json_kind(&other)
                ))),
            };
            if batch {
                result.map_err(|e| e.at(index))
            } else {
                result
            }
        })
        .collect())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// serde_json's message without its "at line 1 column 9" tail (we report position ourselves).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAUL: &str = r#"{"network":"x","id":"896523232098078720","author":{"id":"u1","handle":"paulfranks","name":"Paul Franks","followers":1520},
 "text":"@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
 "created_at":"2017-08-18T20:47:00-07:00","in_reply_to":null,"lang":null,"url":null}"#;

    fn post(json: &str) -> Result<NewPost, InvalidPost> {
        serde_json::from_str::<CanonicalPost>(json)
            .unwrap()
            .into_new_post()
    }

    fn field_of(json: &str) -> Option<&'static str> {
        post(json).unwrap_err().field
    }

    #[test]
    fn the_architecture_example_reads() {
        let p = post(PAUL).unwrap();
        assert_eq!(p.network, Network::X);
        assert_eq!(p.external_id, "896523232098078720");
        assert_eq!(p.author.external_id, "u1");
        assert_eq!(p.author.handle, "paulfranks");
        assert_eq!(p.author.display_name.as_deref(), Some("Paul Franks"));
        assert_eq!(p.author.followers, Some(1520));
        assert_eq!(p.created_at.to_rfc3339(), "2017-08-19T03:47:00+00:00");
        assert_eq!(p.in_reply_to, None);
        assert_eq!(p.from_brand, None);
    }

    /// Found by fuzzing (the canonical round trip): a handle taken from the author's id kept
    /// its `@`, and `"@ @p"` lost only its first one, so a post exported and read again
    /// changed author.
    #[test]
    fn a_handle_never_keeps_a_leading_at_whichever_field_gave_it() {
        let at = |author: &str| {
            post(&format!(
                r#"{{"network":"x","id":1,"author":{author},"text":"hi","created_at":"2017-08-18T20:47:00Z"}}"#
            ))
            .unwrap()
            .author
        };
        assert_eq!(at(r#"{"id":"@p"}"#).handle, "p");
        assert_eq!(
            at(r#"{"id":"@p"}"#).external_id,
            "@p",
            "the id is kept as sent"
        );
        assert_eq!(at(r#"{"id":"u","handle":"@ @p"}"#).handle, "p");
        assert_eq!(at(r#"{"id":"@"}"#).handle, "@", "nothing else to call them");
        for author in [
            r#"{"id":"@p"}"#,
            r#"{"id":"u","handle":"@ @p"}"#,
            r#"{"id":"@"}"#,
        ] {
            let first = post(&format!(
                r#"{{"network":"x","id":1,"author":{author},"text":"hi","created_at":"2017-08-18T20:47:00Z"}}"#
            ))
            .unwrap();
            let again = serde_json::to_string(&CanonicalPost::from_new_post(&first)).unwrap();
            assert_eq!(post(&again).unwrap(), first, "{author}");
        }
    }

    #[test]
    fn optional_fields_and_numeric_ids() {
        let p = post(
            r#"{"network":"Mastodon","id":42,"author":{"id":7,"handle":"@@giulia","verified":true,"bot":true},
                "text":"Buongiorno, il pagamento non va a buon fine","created_at":"2026-08-20T09:14:57+02:00",
                "in_reply_to":41,"lang":"it","url":"https://m.example/@giulia/42","from_brand":false}"#,
        )
        .unwrap();
        assert_eq!(p.network, Network::Mastodon);
        assert_eq!(p.external_id, "42");
        assert_eq!(p.author.handle, "giulia");
        assert!(p.author.verified && p.author.bot);
        assert_eq!(p.in_reply_to.as_deref(), Some("41"));
        assert_eq!(p.lang.as_deref(), Some("it"));
        assert_eq!(p.from_brand, Some(false));
    }

    #[test]
    fn invalid_posts_name_the_field() {
        let base = |patch: &str| {
            let mut post = serde_json::json!({"network":"x","id":"1","author":{"id":"u","handle":"h"},"text":"t","created_at":"2026-08-20T09:14:57Z"});
            let patch: serde_json::Value = serde_json::from_str(&format!("{{{patch}}}")).unwrap();
            for (k, v) in patch.as_object().unwrap() {
                post[k] = v.clone();
            }
            post.to_string()
        };
        assert_eq!(field_of(&base(r#""network":"myspace""#)), Some("network"));
        assert_eq!(field_of(&base(r#""network":"""#)), Some("network"));
        assert_eq!(field_of(&base(r#""id":"  ""#)), Some("id"));
        assert_eq!(field_of(&base(r#""text":"   ""#)), Some("text"));
        assert_eq!(
            field_of(&base(r#""created_at":"20/08/2026""#)),
            Some("created_at")
        );
        assert_eq!(
            field_of(&base(r#""created_at":"2026-08-20T09:14:57""#)),
            Some("created_at")
        );
        assert_eq!(field_of(&base(r#""author":{}"#)), Some("author"));
        assert_eq!(
            field_of(&base(r#""author":{"handle":"two words"}"#)),
            Some("author.handle")
        );
        let long = "a".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            field_of(&base(&format!(r#""text":"{long}""#))),
            Some("text")
        );
        let exactly = "a".repeat(MAX_TEXT_BYTES);
        assert!(post(&base(&format!(r#""text":"{exactly}""#))).is_ok());
    }

    #[test]
    fn author_id_and_handle_stand_in_for_each_other() {
        let p = post(r#"{"network":"webhook","id":"1","author":{"handle":"@marta"},"text":"t","created_at":"2026-08-20T09:14:57Z"}"#).unwrap();
        assert_eq!(
            (p.author.external_id.as_str(), p.author.handle.as_str()),
            ("marta", "marta")
        );
        let p = post(r#"{"network":"webhook","id":"1","author":{"id":"u-1042"},"text":"t","created_at":"2026-08-20T09:14:57Z"}"#).unwrap();
        assert_eq!(
            (p.author.external_id.as_str(), p.author.handle.as_str()),
            ("u-1042", "u-1042")
        );
    }

    #[test]
    fn round_trips_through_new_post() {
        let p = post(PAUL).unwrap();
        let back = CanonicalPost::from_new_post(&p).into_new_post().unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn bodies_hold_one_many_or_wrapped_posts() {
        let one = parse_canonical_body(PAUL.as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].is_ok());

        let many = format!(r#"[{PAUL}, {{"network":"x"}}, 5, {PAUL}]"#);
        let many = parse_canonical_body(many.as_bytes()).unwrap();
        assert_eq!(many.len(), 4);
        assert!(many[0].is_ok() && many[3].is_ok());
        assert_eq!(many[1].as_ref().unwrap_err().index, Some(1));
        let not_object = many[2].as_ref().unwrap_err();
        assert_eq!(not_object.index, Some(2));
        assert!(
            not_object.to_string().contains("got a number"),
            "{not_object}"
        );

        let wrapped = format!("\u{feff}{{\"posts\":[{PAUL}]}}");
        assert_eq!(parse_canonical_body(wrapped.as_bytes()).unwrap().len(), 1);
        assert!(parse_canonical_body(b"[]").unwrap().is_empty());

        let single_bad = parse_canonical_body(br#"{"network":"x","id":"1"}"#).unwrap();
        assert_eq!(single_bad[0].as_ref().unwrap_err().index, None);
        let typed_wrong =
            parse_canonical_body(br#"[{"network":"x","id":"1","text":["a"]}]"#).unwrap();
        assert!(typed_wrong[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("invalid type"));
    }

    #[test]
    fn unreadable_bodies_say_why() {
        assert_eq!(parse_canonical_body(b"  \n").unwrap_err(), BodyError::Empty);
        assert!(matches!(
            parse_canonical_body(b"{\"network\":").unwrap_err(),
            BodyError::NotJson { line: 1, .. }
        ));
        assert_eq!(
            parse_canonical_body(b"\"hello\"").unwrap_err(),
            BodyError::WrongShape { found: "a string" }
        );
        let e = parse_canonical_body(br#"{"posts":{"id":1}}"#).unwrap_err();
        assert!(e.to_string().contains("not an array"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_body_is_answered_without_panicking(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_canonical_body(&body);
        }

        #[test]
        fn any_text_and_handle_round_trip(text in "\\PC{1,200}", handle in "@?[a-z0-9_]{1,15}") {
            let json = serde_json::json!({"network":"x","id":"1","author":{"handle":handle},"text":text,"created_at":"2026-08-20T09:14:57Z"});
            let body = serde_json::to_vec(&json).unwrap();
            let posts = parse_canonical_body(&body).unwrap();
            match &posts[0] {
                Ok(p) => {
                    proptest::prop_assert_eq!(&p.text, &text);
                    proptest::prop_assert!(!p.author.handle.starts_with('@'));
                }
                Err(e) => proptest::prop_assert!(text.trim().is_empty(), "{}", e),
            }
        }
    }
}
