//! Bluesky: the live source (Jetstream, filtered to posts that concern the brand), the
//! responder (`createRecord` replies in the customer's thread) and the importer's wire types.
//!
//! Keys: a post is keyed by its `at://{did}/app.bsky.feed.post/{rkey}` URI, which is also what
//! a reply's `reply.parent.uri` names, so threads join up. The author is keyed by DID; the
//! handle comes from the AppView profile when it can be had in time, else the DID stands in.
//! Identity, account and other-collection events are skipped, never errors. Every event's
//! `time_us` is the resume cursor ([`JetstreamEvent::cursor`]).
//!
//! Files: `config.rs` (URLs, brand, timings), `wire.rs` (Jetstream and XRPC JSON, including a
//! borrowed view for the hot path), `brand.rs` (does a post concern the brand?), `hear.rs`
//! (one frame → a decision), `jetstream.rs` (the [`crate::source::Source`]), `session.rs`
//! (app-password session, refresh, [`check_credentials`]), `responder.rs`, `tid.rs` (reply
//! record keys), `reach.rs` (follower counts), `memory.rs` (bounded dedupe), `xrpc.rs` (error
//! bodies, rate-limit headers), `bench.rs` (parse + filter throughput), `fake.rs` (Jetstream
//! and PDS/AppView fakes, feature `fake`) and `tests.rs`.

#[cfg(feature = "bench")]
pub mod bench;
pub mod brand;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub(crate) mod hear;
mod jetstream;
mod memory;
mod reach;
pub mod responder;
pub mod session;
#[cfg(test)]
mod tests;
mod tid;
pub mod wire;
mod xrpc;

pub use brand::{BrandMatcher, BrandTermsError};
pub use config::{BlueskyConfig, Secret};
pub use jetstream::{BlueskySource, BlueskySourceError};
pub use responder::BlueskyResponder;
pub use session::{check_credentials, BlueskySession};
pub use wire::{JetstreamEvent, PostRecord, POST_COLLECTION};
