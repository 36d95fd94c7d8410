//! X (Twitter) API v2: filtered-stream lines become posts.
//!
//! Keys: a post is keyed by the first id of its `edit_history_tweet_ids` (the original id),
//! so an edit, which X delivers as a new post id, lands on the same key. `in_reply_to` is the
//! `replied_to` reference; the author is joined from `includes.users` by `author_id`.
//! Reposts are skipped; a line carrying only `errors` is invalid with X's message; blank
//! keep-alive lines never reach these types (the reader drops them).
//!
//! The stream source and the reply responder will live beside `wire.rs`.

pub mod wire;

pub use wire::{StreamLine, Tweet, User};
