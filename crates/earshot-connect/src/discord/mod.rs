//! Discord (PROTOCOLS-2.md §2): a bot in the brand's server, heard through the gateway.
//!
//! Keys: a message is keyed by its snowflake `id` (a JSON string); a reply answers
//! `message_reference.message_id`. Files: `config.rs` (token, guild, channels, timings),
//! `wire.rs` (the message object and its conversion), `rest.rs` (`/gateway/bot` and the gap
//! fill, per-route buckets, 429s waited out), `gateway.rs` (the gateway v10 source; threads
//! heard under their parent channel), `check.rs` (`/users/@me` for `earshot connectors
//! check`), `fake.rs` (a fake gateway and REST API, feature `fake`), `responder.rs` (Create
//! Message as a reply, with a nonce and a journal of reply keys) and `tests.rs` (everything
//! against the fake).

mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod gateway;
pub mod responder;
#[cfg(test)]
mod responder_tests;
mod rest;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::{DiscordConfig, Secret};
pub use gateway::DiscordSource;
pub use responder::DiscordResponder;
pub use wire::Message;
