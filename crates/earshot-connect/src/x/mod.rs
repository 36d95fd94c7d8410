//! X (Twitter) API v2: filtered-stream lines and search pages become posts; the live source
//! (filtered stream with gap fill, or polling), the stream-rule sync, the user-token renewal
//! and the reply responder.
//!
//! Keys: a post is keyed by the first id of its `edit_history_tweet_ids` (the original id),
//! so an edit, which X delivers as a new post id, lands on the same key. `in_reply_to` is the
//! `replied_to` reference; the author is joined from `includes.users` by `author_id`.
//! Reposts are skipped; a line carrying only `errors` is invalid with X's message; blank
//! keep-alive lines never reach these types (the reader drops them).
//!
//! Files: `config.rs` (host, brand account, rules, credentials, timings), `wire.rs` (the
//! JSON), `rules.rs` (rule sync), `source.rs` + `stream.rs` + `poll.rs` (the source: reconnect
//! policy, the stream, gap fill and polling), `intake.rs` (dedupe, edits, deletes, cursor),
//! `oauth.rs` (user-token renewal), `responder.rs` (`POST /2/tweets`), `text.rs` (X's
//! weighted length), `check.rs` (`check_credentials`), `api.rs`/`http.rs` (requests, rate-limit
//! headers, problem JSON), `fake.rs` (a fake X API, feature `fake`) and `tests.rs`.

mod api;
mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod http;
mod intake;
pub mod oauth;
mod poll;
pub mod responder;
mod rules;
pub mod source;
pub(crate) mod stream;
#[cfg(test)]
mod tests;
pub mod text;
pub mod wire;

pub use check::check_credentials;
pub use config::{Secret, StreamRule, XConfig, XMode, XUserAuth};
pub use oauth::{TokenError, UserTokens};
pub use responder::XResponder;
pub use source::XSource;
pub use wire::{StreamLine, Tweet, User};
