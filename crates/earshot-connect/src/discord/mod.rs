//! Discord (PROTOCOLS-2.md §2): a bot in the brand's server.
//!
//! Keys: a message is keyed by its snowflake `id` (a JSON string); a reply answers
//! `message_reference.message_id`. Files: `wire.rs` (the message object and its
//! conversion). The gateway source, REST responder and fake are not built yet: see
//! /work/wt/notes/chat.md.

pub mod wire;

pub use wire::Message;
