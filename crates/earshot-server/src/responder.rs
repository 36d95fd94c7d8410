//! Sending an answer to the network where the customer spoke.
//!
//! Each network's connector provides a [`Responder`] (`earshot_connect::responder`); until the connectors land, the
//! [`LoggingResponder`] stands in for all of them: it logs the reply and gives it a local id.

use async_trait::async_trait;
use earshot_core::{Conversation, Network, Reply};
use std::collections::HashMap;
use std::sync::Arc;

pub use earshot_connect::responder::{Responder, SendError};

/// Logs the reply instead of posting it. The id it returns is derived from the idempotency
/// key, so a retried send yields the same id and threading sees one post, not two.
pub struct LoggingResponder;

#[async_trait]
impl Responder for LoggingResponder {
    async fn send(&self, reply: &Reply, conversation: &Conversation) -> Result<String, SendError> {
        tracing::info!(
            network = %reply.network,
            conversation = %conversation.id,
            in_reply_to = %reply.in_reply_to,
            customer = %conversation.customer.handle,
            chars = reply.text.chars().count(),
            "reply logged (no connector configured for this network)"
        );
        Ok(format!("earshot-{}", reply.idempotency_key))
    }
}

/// Which responder answers on which network.
#[derive(Clone)]
pub struct Responders {
    by_network: HashMap<Network, Arc<dyn Responder>>,
    fallback: Arc<dyn Responder>,
}

impl Default for Responders {
    fn default() -> Self {
        Responders {
            by_network: HashMap::new(),
            fallback: Arc::new(LoggingResponder),
        }
    }
}

impl Responders {
    pub fn with(mut self, network: Network, responder: Arc<dyn Responder>) -> Self {
        self.by_network.insert(network, responder);
        self
    }

    pub fn for_network(&self, network: Network) -> &Arc<dyn Responder> {
        self.by_network.get(&network).unwrap_or(&self.fallback)
    }
}
