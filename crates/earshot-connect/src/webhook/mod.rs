//! The generic inbound path: posts in earshot's canonical JSON shape, from JSONL imports and
//! from `POST /api/v1/posts` ([`parse_canonical_body`]).
//!
//! Keys: `(network, id)` exactly as the sender gives them; the sender owns id stability.
//! Validation is strict here (unlike the network formats) because the sender can fix its
//! payload: a post without id or text, with an unknown network, a time without an offset or
//! more than [`crate::MAX_TEXT_BYTES`] of text is an [`crate::InvalidPost`] naming the field.
//!
//! Replies to such posts go back to the sending system, signed ([`responder`]).
//!
//! The signed `POST /v1/inbound/{channel}` envelope (PROTOCOLS.md §5.1, §5.2) and its
//! signature checks will live beside `wire.rs`.

pub mod responder;
pub mod wire;

pub use wire::{parse_canonical_body, BodyError, CanonicalAuthor, CanonicalPost};
