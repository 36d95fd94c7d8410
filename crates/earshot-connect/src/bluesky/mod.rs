//! Bluesky through Jetstream: commit events for `app.bsky.feed.post` records become posts.
//!
//! Keys: a post is keyed by its `at://{did}/app.bsky.feed.post/{rkey}` URI, which is also what
//! a reply's `reply.parent.uri` names, so threads join up. The author is keyed by DID; the
//! handle is the DID unless the caller knows better (identity events announce handles).
//! Identity, account, delete and other-collection events are skipped, never errors. Every
//! event's `time_us` is the resume cursor ([`JetstreamEvent::cursor`]).
//!
//! The Jetstream source and the `createRecord` responder will live beside `wire.rs`.

pub mod wire;

pub use wire::{JetstreamEvent, PostRecord, POST_COLLECTION};
