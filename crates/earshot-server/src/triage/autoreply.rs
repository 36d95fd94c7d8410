//! The automatic answer outside covered hours (`[triage.auto_reply]`), sent once.
//!
//! Sent through the outbox like any answer: stored before it is sent, under the
//! key `auto:<conversation>`, so a retry or a restart never posts it twice. Threading knows
//! that key (see `earshot_core::threading`): the post joins the thread but is no answer, so
//! the first-response clock keeps running. A customer gets at most one in `every` (claimed
//! in the store, so two processes never both answer), never on networks earshot cannot
//! answer on, and never for posts older than `max_age` when heard (imports, backfills).

use crate::outbox::{Outbox, OutboxError};
use crate::pipeline::Pipeline;
use chrono::{DateTime, Utc};
use earshot_core::reply::{AUTO_REPLY_AUTHOR, AUTO_REPLY_KEY_PREFIX};
use earshot_core::triage::autoreply::{AutoReply, AutoReplyConfig};
use earshot_core::triage::Facts;
use earshot_core::{ConversationId, Network, Reply};
use earshot_store::{ConversationDetail, StoreError};
use std::future::Future;
use std::pin::Pin;

/// Why no automatic answer went out, or what went wrong sending it.
#[derive(Debug, thiserror::Error)]
pub enum AutoReplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the automatic answer could not be sent: {0}")]
    Send(#[from] OutboxError),
}

/// The idempotency key of a conversation's automatic answer.
pub fn key(conversation: ConversationId) -> String {
    format!("{AUTO_REPLY_KEY_PREFIX}{conversation}")
}

/// Whether earshot can answer on the network at all (RSS feeds and webhooks are one-way).
pub fn can_answer_on(network: Network) -> bool {
    // Telegram and Discord have connectors, but a bot answering by itself in a community
    // group or channel speaks to everyone there: off for now. An App Store review
    // has a single public response that a new one replaces, so a person sets it: off too, and
    // likewise for Google Play's single reply. A YouTube reply is public under the video and
    // costs 50 of the channel's daily quota units: a person decides.
    !matches!(
        network,
        Network::Rss
            | Network::Webhook
            | Network::Telegram
            | Network::Discord
            | Network::AppStore
            | Network::GooglePlay
            | Network::YouTube
    )
}

/// The answer due for a conversation that just opened, before the per-customer window is
/// checked: `None` when the team covers the moment, the network is one-way, the post is too
/// old to answer, or the conversation is not one to auto-answer.
pub fn due(
    config: &AutoReplyConfig,
    detail: &ConversationDetail,
    facts: &Facts,
    clock: &earshot_core::sla::SlaClock,
    now: DateTime<Utc>,
) -> Option<(AutoReply, DateTime<Utc>)> {
    let c = &detail.conversation;
    if !can_answer_on(c.network) {
        return None;
    }
    let written = detail
        .posts
        .iter()
        .rev()
        .find(|p| !p.from_brand)?
        .created_at;
    // Imports and backfills hear old posts: an acknowledgement days late helps nobody.
    if now - written > config.max_age.0 {
        return None;
    }
    // An answer already in the thread (or queued by an agent) makes an acknowledgement moot.
    if detail.posts.iter().any(|p| p.from_brand) || !detail.replies.is_empty() {
        return None;
    }
    config
        .reply(facts, clock, written)
        .map(|reply| (reply, written))
}

/// Sends it through the outbox. Boxed: the outbox threads the sent answer through the
/// pipeline, which routes (and so may get here) again, and an async call cycle needs one
/// indirection.
pub fn send<'a>(
    outbox: &'a Outbox,
    pipeline: &'a Pipeline,
    conversation: ConversationId,
    text: &'a str,
) -> Pin<Box<dyn Future<Output = Result<Reply, OutboxError>> + Send + 'a>> {
    Box::pin(async move {
        outbox
            .send(
                pipeline,
                conversation,
                text,
                AUTO_REPLY_AUTHOR,
                Some(key(conversation)),
            )
            .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_and_import_only_networks_get_no_automatic_answer() {
        // Only networks with a connector that can post get an automatic answer.
        let answerable = [
            Network::Mastodon,
            Network::Bluesky,
            Network::X,
            Network::Reddit,
        ];
        for n in Network::ALL {
            assert_eq!(can_answer_on(n), answerable.contains(&n), "{n}");
        }
        assert_eq!(key(ConversationId(42)), "auto:42");
    }
}
