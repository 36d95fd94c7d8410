//! Telegram (PROTOCOLS-2.md §1): a bot in the brand's groups and channels, heard by long
//! polling (or, configured, by webhook) and answering in the chat as a reply to the
//! customer's message.
//!
//! Keys: a message is keyed `"{chat.id}:{message_id}"` (message ids are unique per chat
//! only); a reply answers `"{chat.id}:{reply_to_message.message_id}"`. Edits arrive as the
//! whole message again (`edited_message`, `edited_channel_post`) and become
//! [`crate::source::Amendment::Edited`].
//!
//! Files: `config.rs` (token, bot, chats, timings), `http.rs` (the `ok`/`result` envelope,
//! errors with the token scrubbed), `wire.rs` (the `Update` and `Message` JSON and their
//! conversion), `source.rs` (`getUpdates` long polling → [`crate::source::Sink`]),
//! `responder.rs` (`sendMessage` with `reply_parameters`, its reply keys journalled through
//! [`crate::reply_journal`]), `check.rs` (`getMe`), `fake.rs` (a fake Bot API, feature `fake`) and
//! `tests.rs` (everything against the fake), `webhook.rs` (webhook mode, §1.4: the source sets
//! and watches the webhook; the server's route hands each admitted delivery to
//! [`webhook::hear_delivery`]). Long polling stays the default: it needs no public HTTPS
//! endpoint.

mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub(crate) mod http;
pub mod responder;
pub mod source;
#[cfg(test)]
mod tests;
pub mod webhook;
#[cfg(test)]
mod webhook_tests;
pub mod wire;

pub use check::check_credentials;
pub use config::{Secret, TelegramConfig, Webhook};
pub use responder::TelegramResponder;
pub use source::TelegramSource;
pub use wire::{Heard, Update};
