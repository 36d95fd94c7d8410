//! Mastodon (and Mastodon-API servers): statuses and notifications as they arrive from the
//! REST API and the streaming API, turned into posts.
//!
//! Keys: a status is keyed by its instance-local `id` by default, because that is what
//! `in_reply_to_id` and the reply API speak; [`StatusKey::Uri`] keys on the global ActivityPub
//! `uri` instead (see [`StatusKey`] for the trade-off). Boosts and non-mention notifications
//! are skipped, not errors. Status HTML becomes plain text through [`crate::html::to_text`],
//! with the content warning (`spoiler_text`) first.
//!
//! The streaming source and the reply responder will live beside `wire.rs`.

pub mod wire;

pub use wire::{Account, Entity, Notification, Status, StatusKey};
