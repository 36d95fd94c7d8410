//! Google Play reviews through the Google Play Developer API (PROTOCOLS-2.md §4).
//!
//! Files: `check.rs` (`earshot connectors check`: one review listed), `config.rs` (which
//! app, the service account's JSON key, timings and the hourly GET budget), `wire.rs` (`reviews.list` pages, a review's comments, the protobuf timestamps),
//! `source.rs` (walking the newest-modified reviews to a watermark, on the shared reconnect
//! loop), `responder.rs` (the review's single reply, set or overwritten), `fake.rs` (a fake
//! Play API and token endpoint, feature `fake`) and `tests.rs`. Tokens, the error envelope and
//! requests are shared with YouTube in [`crate::google`].
//!
//! Keys: a review is keyed by its `reviewId` (`gp:…`). There is no author id (only a name) and
//! no creation time: an edited review carries its edit time and comes back to the top of the
//! list, which the cursor's marks turn into an edit of the same post. The API lists only the
//! **last week**: an outage longer than that loses reviews, so the source polls every few
//! minutes and its health says how long ago it last read the list.

pub mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod responder;
pub mod source;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::GooglePlayConfig;
pub use responder::GooglePlayResponder;
pub use source::GooglePlaySource;
