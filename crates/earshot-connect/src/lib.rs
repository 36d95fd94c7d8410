//! earshot's connectors: how each network's payloads look on the wire, how they become
//! [`earshot_core::NewPost`]s, and the file importers that replay recorded payloads.
//!
//! One folder per network ([`mastodon`], [`bluesky`], [`x`], [`webhook`]): `wire.rs` holds
//! the network's JSON exactly as it arrives (serde, tolerant: every field defaulted, unknown
//! fields ignored, ids kept as strings) and the hand-written conversion into the domain type.
//! Live sources and responders sit beside `wire.rs` in the same folder (Mastodon has them: `mastodon::{source, responder}`, with a protocol-faithful fake for tests).
//! [`twcs`] reads the "Customer Support on Twitter" CSV layout, [`html`] turns Mastodon HTML
//! into plain text, and [`import`] sniffs a file's format and streams it as [`import::Record`]s.
//! [`reddit`] polls subreddits and searches (password-grant script app) and comments in reply.
//! [`telegram`] long-polls a bot's chats (`getUpdates`) and replies with `sendMessage`.
//! [`appstore`], [`googleplay`] hear app reviews and set the review's single reply; they and
//! YouTube share [`reviews`] (the walk to a watermark, the cursor's marks) and [`problem`];
//! the Google ones share [`google`] (tokens, the error envelope).
//! [`rss`] polls RSS/Atom feeds (review sites, forums) conditionally; it has no replies.
//! [`notify`] is the outbound side: alerts to Slack, email and signed webhooks, deduped and retried.
//!
//! Invariants:
//! - Network types never leave this crate: everything public that other crates consume is
//!   `earshot_core` types, [`NotAPost`] and the importer's records.
//! - Nothing from outside is trusted: a payload that cannot be a post becomes a typed error
//!   with a readable reason, never a panic.
//! - Every post gets the stable key `(network, external_id)` its network documents
//!   (see each module for the choice made).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod appstore;
pub mod bluesky;
mod de;
pub mod discord;
#[cfg(any(test, feature = "fake"))]
pub mod fake_server;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod google;
pub mod googleplay;
pub mod html;
pub mod import;
mod jws;
pub mod mastodon;
pub mod notify;
pub mod problem;
pub mod reconnect;
pub mod reddit;
mod reply_journal;
pub mod responder;
pub mod reviews;
pub mod rss;
pub mod source;
pub mod stored_cursor;
pub mod telegram;
pub mod twcs;
pub mod webhook;
pub mod x;
pub mod youtube;

use std::fmt;

/// Credentials that never print (earshot-core's one `Secret`).
pub use earshot_core::Secret;
pub use import::{Format, ImportError, Importer, Record};

/// The most text a post may carry, in bytes. The canonical format rejects longer posts (the
/// sender can fix them); network payloads are cut to this length on a character boundary,
/// because dropping a real customer's post would be worse.
pub const MAX_TEXT_BYTES: usize = 100_000;

/// Why a payload did not become a post.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAPost {
    /// The payload is fine but is not a customer post (a boost, a like, a delete, an
    /// identity event, ...). Not an error: importers count these as skipped.
    #[error("skipped: {0}")]
    Skipped(String),
    /// The payload claims to be a post but is broken, or reports an error itself.
    #[error(transparent)]
    Invalid(#[from] InvalidPost),
}

impl NotAPost {
    pub(crate) fn skipped(reason: impl Into<String>) -> Self {
        NotAPost::Skipped(reason.into())
    }
}

/// A payload that cannot become a post, with the field at fault where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPost {
    /// The position of the post in a batch (0-based), when it came in one.
    pub index: Option<usize>,
    /// The offending field as a JSON path (`created_at`, `author.handle`), if known.
    pub field: Option<&'static str>,
    /// What is wrong, in words a sender can act on.
    pub message: String,
}

impl InvalidPost {
    pub(crate) fn field(field: &'static str, message: impl Into<String>) -> Self {
        InvalidPost {
            index: None,
            field: Some(field),
            message: message.into(),
        }
    }

    pub(crate) fn message(message: impl Into<String>) -> Self {
        InvalidPost {
            index: None,
            field: None,
            message: message.into(),
        }
    }

    /// The same error, placed at `index` in a batch.
    pub fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

impl fmt::Display for InvalidPost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.index {
            write!(f, "post {index}: ")?;
        }
        if let Some(field) = self.field {
            write!(f, "`{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidPost {}

/// Cuts `text` to at most [`MAX_TEXT_BYTES`] on a character boundary.
pub(crate) fn clamp_text(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// `Some(s)` unless `s` is empty or only whitespace.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_text_cuts_on_a_char_boundary() {
        let long = "ø".repeat(MAX_TEXT_BYTES); // 2 bytes each
        let cut = clamp_text(long);
        assert!(cut.len() <= MAX_TEXT_BYTES);
        assert!(cut.chars().all(|c| c == 'ø'));
        assert_eq!(clamp_text("short".into()), "short");
    }

    #[test]
    fn invalid_post_reads_well() {
        let e = InvalidPost::field("created_at", "not an RFC 3339 time").at(3);
        assert_eq!(e.to_string(), "post 3: `created_at`: not an RFC 3339 time");
        let skipped = NotAPost::skipped("a boost");
        assert_eq!(skipped.to_string(), "skipped: a boost");
    }
}
