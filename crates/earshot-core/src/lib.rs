//! earshot's domain: what a support team talks about, and the rules that matter most.
//!
//! Invariant: this crate does no I/O. Priority scoring, the SLA clock and conversation
//! threading are plain functions over plain values, so they are tested as such.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod analysis;
pub mod audit;
pub mod bidi;
pub mod conversation;
pub mod correction;
pub mod csv;
pub mod fair_turn;
pub mod feedback;
pub mod network;
pub mod post;
pub mod priority;
pub mod reply;
pub mod secret;
pub mod sla;
#[cfg(test)]
mod testing;
pub mod threading;
pub mod triage;

pub use analysis::{Analysis, Evidence, Intent, Language, SentimentLabel, UrgencyLevel};
pub use audit::AuditEntry;
pub use conversation::{Conversation, ConversationEvent, ConversationId, Status};
pub use network::Network;
pub use post::{Amendment, Author, NewPost, OddTime, Post, PostKey};
pub use priority::{Priority, PriorityBand, PriorityFactor, RankingModel};
pub use reply::{Reply, ReplyState, ReplyTarget};
pub use secret::Secret;
pub use sla::{BusinessHours, ResponseTargets, SlaClock};
