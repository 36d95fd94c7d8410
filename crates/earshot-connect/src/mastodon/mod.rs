//! Mastodon (and Mastodon-API servers): statuses and notifications as they arrive from the
//! REST API and the streaming API, turned into posts; the live source and the responder.
//!
//! Keys: a status is keyed by its instance-local `id` by default, because that is what
//! `in_reply_to_id` and the reply API speak; [`StatusKey::Uri`] keys on the global ActivityPub
//! `uri` instead (see [`StatusKey`] for the trade-off). Boosts and non-mention notifications
//! are skipped, not errors. Status HTML becomes plain text through [`crate::html::to_text`],
//! with the content warning (`spoiler_text`) first.
//!
//! Files: `config.rs` (instance, token, timings, transport), `wire.rs` (the JSON), `source.rs`
//! (mentions: stream + REST backfill → [`crate::source::Sink`]), `hashtag.rs` (one hashtag:
//! stream + tag timeline, edits and deletes as amendments), `stream.rs` (SSE or WebSocket),
//! `conn.rs` (reconnect loop, refusals, REST paging), `responder.rs` (`POST
//! /api/v1/statuses`), `http.rs` (rate-limit headers, error bodies, id order), `fake.rs` (a
//! fake instance for tests, feature `fake`) and `tests.rs` (source and responder against it).

mod check;
pub mod config;
mod conn;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod hashtag;
mod http;
pub mod responder;
pub mod source;
pub(crate) mod stream;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::{MastodonConfig, Secret, Transport};
pub use hashtag::MastodonHashtagSource;
pub use responder::MastodonResponder;
pub use source::MastodonSource;
pub use wire::{Account, Entity, Notification, Status, StatusKey};
