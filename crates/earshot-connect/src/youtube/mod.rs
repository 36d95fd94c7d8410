//! YouTube comments on the brand's channel through the YouTube Data API v3 (PROTOCOLS-2.md §5).
//!
//! Files: `check.rs` (`earshot connectors check`: the consent's channel), `config.rs` (the
//! channel, the OAuth client and the owner's refresh token, timings, the daily units),
//! `quota.rs` (the project's unit ledger, reset at midnight Pacific time, kept in a file),
//! `wire.rs` (comment threads and comments), `source.rs` (the newest threads to a watermark,
//! followed threads read again for late replies, edits and deletions), `responder.rs`
//! (`comments.insert` under the thread, looked for before posting), `fake.rs` (a fake YouTube
//! API with its quota and token endpoint, feature `fake`) and `tests.rs`. Tokens and errors
//! are shared with Google Play in [`crate::google`].

pub mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod quota;
pub mod responder;
pub mod source;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::YouTubeConfig;
pub use responder::YouTubeResponder;
pub use source::YouTubeSource;
