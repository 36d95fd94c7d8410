//! Sending an answer to the network where the customer spoke.
//!
//! Each configured connector provides a [`Responder`] (`earshot_connect::responder`); posts
//! from a webhook source are answered through `[webhook] reply_url`. A network with none
//! cannot be answered: the desk stores such a reply as `not_sent`, with [`why_not`] as its
//! reason — nothing pretends to have posted it.

use earshot_core::Network;
use std::collections::HashMap;
use std::sync::Arc;

pub use earshot_connect::responder::{Responder, SendError};

/// Why earshot cannot answer on a network it has no responder for, and what to do.
pub fn why_not(network: Network) -> String {
    match network {
        Network::Rss => "RSS feeds cannot take replies: answer on the site the post came from (copy the text)".into(),
        Network::Webhook => "no reply address for webhook posts: set [webhook] reply_url and reply_secret so earshot hands replies to the system that sent them, or copy the text and answer there".into(),
        other => format!(
            "no {other} connector is configured: add [[connectors.{}]] to earshot.toml and retry, or copy the text and answer on {} yourself",
            other.as_str(),
            other.display_name()
        ),
    }
}

/// Which responder answers on which network.
#[derive(Clone, Default)]
pub struct Responders {
    by_network: HashMap<Network, Arc<dyn Responder>>,
}

impl Responders {
    pub fn with(mut self, network: Network, responder: Arc<dyn Responder>) -> Self {
        self.by_network.insert(network, responder);
        self
    }

    /// The responder for `network`, or why there is none.
    pub fn for_network(&self, network: Network) -> Result<&Arc<dyn Responder>, String> {
        self.by_network
            .get(&network)
            .ok_or_else(|| why_not(network))
    }

    /// Whether earshot can post on `network` at all.
    pub fn can_answer(&self, network: Network) -> bool {
        self.by_network.contains_key(&network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_without_a_responder_says_what_to_do() {
        let r = Responders::default();
        assert!(!r.can_answer(Network::X));
        let why = r.for_network(Network::X).err().unwrap_or_default();
        assert!(why.contains("[[connectors.x]]"), "{why}");
        assert!(why_not(Network::Webhook).contains("reply_url"));
        assert!(why_not(Network::Rss).contains("cannot take replies"));
        // Every network with a connector names the section to add.
        for (network, section) in [
            (Network::Discord, "[[connectors.discord]]"),
            (Network::Telegram, "[[connectors.telegram]]"),
            (Network::AppStore, "[[connectors.appstore]]"),
            (Network::GooglePlay, "[[connectors.googleplay]]"),
            (Network::YouTube, "[[connectors.youtube]]"),
        ] {
            let why = why_not(network);
            assert!(why.contains(section), "{why}");
        }
    }
}
