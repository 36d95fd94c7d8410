//! RSS and Atom feeds (review sites, forums, status pages): a polling source, no replies
//! (PROTOCOLS.md §5.3).
//!
//! Keys: an entry's `guid`/`id`, else a stable hash of link + title (`sha256:…`). Entry HTML
//! becomes plain text through [`crate::html::to_text`]. Reads are conditional (ETag /
//! Last-Modified), bounded in size, and follow redirects by hand.
//!
//! Files: `config.rs` (feeds, limits, timings), `fetch.rs` (conditional GET, redirects, body
//! limit), `parse.rs` (feed-rs → posts), `cursor.rs` (validators and remembered entries),
//! `source.rs` (polling → [`crate::source::Sink`]), `fake.rs` (a fake feed server, feature
//! `fake`) and `tests.rs` (the source against it).

pub mod config;
mod cursor;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod fetch;
pub(crate) mod parse;
pub mod source;
#[cfg(test)]
mod tests;

pub use config::{Feed, FeedConfig};
pub use source::FeedSource;
