//! Telegram (PROTOCOLS-2.md §1): a bot in the brand's groups and channels.
//!
//! Keys: a message is keyed `"{chat.id}:{message_id}"` (message ids are unique per chat
//! only); a reply answers `"{chat.id}:{reply_to_message.message_id}"`. Edits arrive as the
//! whole message again (`edited_message`, `edited_channel_post`) and become
//! [`crate::source::Amendment::Edited`].
//!
//! Files: `wire.rs` (the Bot API's `Update` and `Message` JSON and their conversion). The
//! live source (long polling / webhook), responder and fake are not built yet: see
//! /work/wt/notes/chat.md.

pub mod wire;

pub use wire::{Heard, Update};
