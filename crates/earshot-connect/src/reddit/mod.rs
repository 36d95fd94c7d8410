//! Reddit: a polling source for subreddits and searches, a responder that comments, and the
//! credentials check, all as the brand's account through a "script" app (PROTOCOLS.md §4).
//!
//! Keys: a link or comment is keyed by its fullname (`t3_…`, `t1_…`); a comment answers its
//! `parent_id`. Links become title + self text, comments their body, read with `raw_json=1`
//! so text arrives unescaped. Author karma is not reach: `followers` stays `None`.
//!
//! Files: `config.rs` (app, account, listings, timings), `oauth.rs` (password grant, token
//! cache), `http.rs` (authorised requests, the `X-Ratelimit-*` budget), `wire.rs` (the JSON),
//! `cursor.rs` (what the source remembers), `source.rs` (polling → [`crate::source::Sink`]),
//! `responder.rs` (`POST /api/comment`), `check.rs` (`/api/v1/me`), `fake.rs` (fake www and
//! oauth hosts, feature `fake`) and `tests.rs` (everything against the fake).

mod check;
pub mod config;
mod cursor;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub(crate) mod http;
mod oauth;
pub mod responder;
pub mod source;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::{RedditConfig, RedditSearch, Secret};
pub use responder::RedditResponder;
pub use source::RedditSource;
