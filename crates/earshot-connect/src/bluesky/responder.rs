//! Answering on Bluesky: `com.atproto.repo.createRecord` of an `app.bsky.feed.post` in the
//! customer's thread (PROTOCOLS.md §2.5).
//!
//! **Thread.** The post being answered (`reply.in_reply_to`, an `at://` URI) is looked up with
//! `app.bsky.feed.getPosts` for its CID; `reply.parent` is that post and `reply.root` is its
//! own `reply.root` when it is itself a reply, else the post. **Mentions.** `@handle`s in the
//! text become mention facets at UTF-8 byte offsets once the AppView resolves them to DIDs
//! (an unknown handle stays plain text). **Idempotency.** Bluesky has no idempotency key, so
//! the record key is a TID derived from the reply's key ([`super::tid`]): a retry names the
//! same record, and when `createRecord` fails for any reason but rate limits or credentials
//! (the reference PDS answers a taken key with a 500), the record is looked up with
//! `com.atproto.repo.getRecord`; if it is there and answers the same post, the reply was
//! already posted and its URI is returned instead of posting twice.

use super::config::BlueskyConfig;
use super::reach::get_profiles;
use super::session::BlueskySession;
use super::tid::reply_rkey;
use super::wire::{parse_post_uri, post_uri, CreatedRecord, Posts, RecordView, POST_COLLECTION};
use super::xrpc::{send, CallError};
use crate::responder::{Responder, SendError};
use async_trait::async_trait;
use chrono::Utc;
use earshot_core::{Network, Reply, ReplyTarget};
use serde_json::{json, Value};
use std::sync::Arc;
use unicode_segmentation::UnicodeSegmentation;

/// The longest post text Bluesky accepts, in graphemes and in bytes.
const MAX_GRAPHEMES: usize = 300;
const MAX_BYTES: usize = 3000;

/// Posts replies as the brand account.
#[derive(Debug, Clone)]
pub struct BlueskyResponder {
    config: BlueskyConfig,
    session: Arc<BlueskySession>,
    client: reqwest::Client,
}

/// A `{uri, cid}` strong reference.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StrongRef {
    uri: String,
    cid: String,
}

impl StrongRef {
    fn json(&self) -> Value {
        json!({"uri": self.uri, "cid": self.cid})
    }
}

/// An `@handle` in the text, at UTF-8 byte offsets (the `@` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandleAt {
    pub start: usize,
    pub end: usize,
    pub handle: String,
}

impl BlueskyResponder {
    /// A responder with its own session.
    pub fn new(config: BlueskyConfig) -> Result<Self, reqwest::Error> {
        let session = Arc::new(BlueskySession::new(&config)?);
        Self::with_session(config, session)
    }

    /// A responder that shares `session` (with the source), so the account logs in once.
    pub fn with_session(
        config: BlueskyConfig,
        session: Arc<BlueskySession>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(BlueskyResponder {
            config,
            session,
            client,
        })
    }

    /// The session, to share with a [`super::BlueskySource`].
    pub fn session(&self) -> Arc<BlueskySession> {
        self.session.clone()
    }

    /// `{root, parent}` for an answer to `uri`.
    async fn thread(&self, uri: &str) -> Result<(StrongRef, StrongRef), SendError> {
        let answer = send(
            self.client
                .get(BlueskyConfig::xrpc(
                    &self.config.appview_url,
                    "app.bsky.feed.getPosts",
                ))
                .query(&[("uris", uri)]),
            "looking up the post being answered",
        )
        .await
        .and_then(|a| a.json::<Posts>("looking up the post being answered"))
        .map_err(send_error)?;
        let Some(parent) = answer.posts.into_iter().find(|p| p.uri == uri) else {
            return Err(refused(format!(
                "{uri} no longer exists (deleted, or its author blocked us)"
            )));
        };
        if parent.cid.is_empty() {
            return Err(retryable(format!("the AppView gave no CID for {uri}")));
        }
        let parent_ref = StrongRef {
            uri: parent.uri,
            cid: parent.cid,
        };
        let root = parent
            .record
            .reply
            .map(|r| r.root)
            .filter(|r| !r.uri.is_empty() && !r.cid.is_empty())
            .map(|r| StrongRef {
                uri: r.uri,
                cid: r.cid,
            })
            .unwrap_or_else(|| parent_ref.clone());
        Ok((root, parent_ref))
    }

    /// Mention facets for the `@handle`s in `text` that resolve to accounts. Best effort: a
    /// failed lookup leaves the handles as plain text (the parent's author is notified anyway).
    async fn mention_facets(&self, text: &str) -> Vec<Value> {
        let found = handles_in(text);
        if found.is_empty() {
            return Vec::new();
        }
        let mut actors: Vec<&str> = found.iter().map(|h| h.handle.as_str()).collect();
        actors.sort_unstable();
        actors.dedup();
        actors.truncate(25);
        let profiles = match get_profiles(&self.client, &self.config.appview_url, &actors).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "could not resolve the handles in a reply; sending them as plain text");
                return Vec::new();
            }
        };
        found
            .iter()
            .filter_map(|h| {
                let profile = profiles
                    .iter()
                    .find(|p| p.handle.eq_ignore_ascii_case(&h.handle))?;
                Some(json!({
                    "index": {"byteStart": h.start, "byteEnd": h.end},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": profile.did}],
                }))
            })
            .collect()
    }

    /// Our record under `rkey`, if it exists and answers `parent_uri`: the reply already went out.
    async fn already_posted(
        &self,
        did: &str,
        rkey: &str,
        parent_uri: &str,
        text: &str,
    ) -> Result<Option<String>, CallError> {
        let answer = self
            .session
            .call("looking for the reply", |client, pds| {
                client
                    .get(BlueskyConfig::xrpc(pds, "com.atproto.repo.getRecord"))
                    .query(&[
                        ("repo", did),
                        ("collection", POST_COLLECTION),
                        ("rkey", rkey),
                    ])
            })
            .await?;
        if answer.status.as_u16() == 400 && answer.error_body().error == "RecordNotFound" {
            return Ok(None);
        }
        let record: RecordView = answer.json("looking for the reply")?;
        let parent = record.value.reply.map(|r| r.parent.uri).unwrap_or_default();
        if parent == parent_uri && record.value.text == text {
            Ok(Some(if record.uri.is_empty() {
                post_uri(did, rkey)
            } else {
                record.uri
            }))
        } else {
            Err(CallError::Rejected {
                status: 409,
                error: "RecordKeyTaken".into(),
                message: format!(
                    "another post already holds record key {rkey}; this reply was not sent"
                ),
            })
        }
    }
}

/// Checks the text against Bluesky's limits: 300 graphemes, 3000 bytes.
fn check_text(text: &str) -> Result<(), SendError> {
    if text.is_empty() {
        return Err(refused("the reply is empty".into()));
    }
    let graphemes = text.graphemes(true).count();
    if graphemes > MAX_GRAPHEMES {
        return Err(refused(format!(
            "the reply is {graphemes} characters; Bluesky allows at most {MAX_GRAPHEMES}"
        )));
    }
    if text.len() > MAX_BYTES {
        return Err(refused(format!(
            "the reply is {} bytes; Bluesky allows at most {MAX_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

/// The `@handle`s in `text` (a handle has a dot: `@ana.bsky.social`), at byte offsets.
pub(crate) fn handles_in(text: &str) -> Vec<HandleAt> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts = c == '@' && previous.is_none_or(|p| p.is_whitespace() || p == '(');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let handle = rest[..len].trim_end_matches(['.', '-']);
        let labels_ok = handle
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if handle.contains('.') && labels_ok {
            found.push(HandleAt {
                start: i,
                end: i + 1 + handle.len(),
                handle: handle.to_ascii_lowercase(),
            });
        }
    }
    found
}

/// The language tag of a conversation, when it is one Bluesky's `langs` can carry.
fn lang_tag(language: &str) -> Option<&str> {
    let tag = language.trim();
    let primary = tag.split('-').next().unwrap_or("");
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && !matches!(primary, "und" | "mul" | "zxx");
    ok.then_some(tag)
}

fn retryable(reason: String) -> SendError {
    SendError::retryable(Network::Bluesky, reason)
}

fn refused(reason: String) -> SendError {
    SendError::refused(Network::Bluesky, reason)
}

fn send_error(e: CallError) -> SendError {
    match e {
        CallError::Refused(_) | CallError::Rejected { .. } => refused(e.to_string()),
        CallError::RateLimited { .. } | CallError::Unavailable(_) | CallError::Unreadable(_) => {
            retryable(e.to_string())
        }
    }
}

#[async_trait]
impl Responder for BlueskyResponder {
    #[tracing::instrument(skip_all, fields(reply = reply.id, in_reply_to = %reply.in_reply_to))]
    async fn send(&self, reply: &Reply, target: &ReplyTarget) -> Result<String, SendError> {
        let text = reply.text.trim();
        check_text(text)?;
        if parse_post_uri(&reply.in_reply_to).is_none() {
            return Err(refused(format!(
                "{:?} is not a Bluesky post (expected at://<did>/app.bsky.feed.post/<rkey>)",
                reply.in_reply_to
            )));
        }
        let me = self.session.me().await.map_err(send_error)?;
        let rkey = reply_rkey(reply.created_at, &reply.idempotency_key);
        let (root, parent) = self.thread(&reply.in_reply_to).await?;
        let mut record = json!({
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "reply": {"root": root.json(), "parent": parent.json()},
        });
        if let Some(lang) = lang_tag(&target.language) {
            record["langs"] = json!([lang]);
        }
        let facets = self.mention_facets(text).await;
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        let body = json!({
            "repo": me.did,
            "collection": POST_COLLECTION,
            "rkey": rkey,
            "record": record,
        });
        let created = self
            .session
            .call("posting the reply", |client, pds| {
                client
                    .post(BlueskyConfig::xrpc(pds, "com.atproto.repo.createRecord"))
                    .json(&body)
            })
            .await
            .and_then(|a| a.json::<CreatedRecord>("posting the reply"));
        let failure = match created {
            Ok(created) if !created.uri.is_empty() => return Ok(created.uri),
            Ok(_) => CallError::Unreadable("the answer carries no uri".into()),
            Err(e @ (CallError::Refused(_) | CallError::RateLimited { .. })) => {
                tracing::warn!(error = %e, "bluesky reply not sent");
                return Err(send_error(e));
            }
            Err(e) => e,
        };
        // A taken record key, a lost answer or a server error: the reply may be there already.
        match self.already_posted(&me.did, &rkey, &parent.uri, text).await {
            Ok(Some(uri)) => {
                tracing::info!(%uri, "bluesky reply was already posted; not posting it twice");
                Ok(uri)
            }
            Ok(None) => {
                tracing::warn!(error = %failure, "bluesky reply not sent");
                Err(send_error(failure))
            }
            Err(e) => {
                tracing::warn!(error = %failure, lookup = %e, "bluesky reply not sent");
                Err(match e {
                    CallError::Rejected { .. } => send_error(e),
                    _ => retryable(format!("{failure}; and checking for it failed: {e}")),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_found_at_byte_offsets() {
        let text = "¡Gracias! @ana.bsky.social revisamos tu pedido hoy 🙏";
        let found = handles_in(text);
        assert_eq!(
            found,
            vec![HandleAt {
                start: 11,
                end: 27,
                handle: "ana.bsky.social".into()
            }]
        );
        assert_eq!(&text[11..27], "@ana.bsky.social");
        let many = handles_in("(@Bo.example.com) mail me@x.com or @nodot, @lena.example.");
        assert_eq!(
            many.iter().map(|h| h.handle.as_str()).collect::<Vec<_>>(),
            ["bo.example.com", "lena.example"]
        );
        assert_eq!(
            many[1].end,
            "(@Bo.example.com) mail me@x.com or @nodot, @lena.example".len()
        );
    }

    #[test]
    fn text_limits_count_graphemes() {
        // 300 family emoji are 300 graphemes but 7,500 bytes: refused on bytes.
        assert!(check_text(&"👨‍👩‍👧".repeat(300)).is_err());
        assert!(check_text(&"é".repeat(300)).is_ok());
        assert!(check_text(&"e\u{301}".repeat(300)).is_ok()); // 600 chars, 300 graphemes
        assert!(check_text(&"a".repeat(301)).is_err());
        assert!(check_text("").is_err());
    }

    #[test]
    fn only_real_language_tags_become_langs() {
        assert_eq!(lang_tag("es"), Some("es"));
        assert_eq!(lang_tag("pt-BR"), Some("pt-BR"));
        assert_eq!(lang_tag("und"), None);
        assert_eq!(lang_tag(""), None);
        assert_eq!(lang_tag("unknown"), None);
    }
}
