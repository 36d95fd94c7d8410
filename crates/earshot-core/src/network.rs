use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The place a customer spoke. Every post is keyed by `(network, external_id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Mastodon,
    Bluesky,
    X,
    Reddit,
    Rss,
    Webhook,
    // Community chats (issue 16).
    Telegram,
    Discord,
    /// Apple App Store customer reviews (App Store Connect API; issue 16).
    AppStore,
    /// Google Play reviews (Google Play Developer API; issue 16).
    GooglePlay,
    /// YouTube comments on the brand's channel (YouTube Data API v3; issue 16).
    YouTube,
}

impl Network {
    pub const ALL: [Network; 11] = [
        Network::Mastodon,
        Network::Bluesky,
        Network::X,
        Network::Reddit,
        Network::Rss,
        Network::Webhook,
        Network::Telegram,
        Network::Discord,
        Network::AppStore,
        Network::GooglePlay,
        Network::YouTube,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Mastodon => "mastodon",
            Network::Bluesky => "bluesky",
            Network::X => "x",
            Network::Reddit => "reddit",
            Network::Rss => "rss",
            Network::Webhook => "webhook",
            Network::Telegram => "telegram",
            Network::Discord => "discord",
            Network::AppStore => "appstore",
            Network::GooglePlay => "googleplay",
            Network::YouTube => "youtube",
        }
    }

    /// The network's name as people write it ("Mastodon", "X", "RSS").
    pub fn display_name(self) -> &'static str {
        match self {
            Network::Mastodon => "Mastodon",
            Network::Bluesky => "Bluesky",
            Network::X => "X",
            Network::Reddit => "Reddit",
            Network::Rss => "RSS",
            Network::Webhook => "Webhook",
            Network::Telegram => "Telegram",
            Network::Discord => "Discord",
            Network::AppStore => "App Store",
            Network::GooglePlay => "Google Play",
            Network::YouTube => "YouTube",
        }
    }

    /// The longest reply the network accepts, in characters (graphemes for Bluesky).
    pub fn reply_limit(self) -> usize {
        match self {
            Network::Mastodon => 500,
            Network::Bluesky => 300,
            Network::X => 280,
            Network::Reddit => 10_000,
            Network::Rss | Network::Webhook => 10_000,
            // sendMessage's text limit (PROTOCOLS-2.md §1.6) and Create Message's (§2.6).
            Network::Telegram => 4096,
            Network::Discord => 2000,
            // Apple documents no limit; tools built on the API cap a response at 5,970.
            Network::AppStore => 5_970,
            // Play rejects replies over ~350 characters (PROTOCOLS-2.md §4.4).
            Network::GooglePlay => 350,
            // commentTextTooLong's limit is not stated; 10,000 is the figure commonly cited.
            Network::YouTube => 10_000,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown network {0:?}: expected one of mastodon, bluesky, x, reddit, rss, webhook, telegram, discord, appstore, googleplay, youtube"
)]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mastodon" => Ok(Network::Mastodon),
            "bluesky" | "bsky" => Ok(Network::Bluesky),
            "x" | "twitter" => Ok(Network::X),
            "reddit" => Ok(Network::Reddit),
            "rss" | "atom" => Ok(Network::Rss),
            "webhook" => Ok(Network::Webhook),
            "telegram" => Ok(Network::Telegram),
            "discord" => Ok(Network::Discord),
            "appstore" | "app_store" | "app-store" => Ok(Network::AppStore),
            "googleplay" | "google_play" | "google-play" | "play" => Ok(Network::GooglePlay),
            "youtube" | "yt" => Ok(Network::YouTube),
            other => Err(UnknownNetwork(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_name() {
        for n in Network::ALL {
            assert_eq!(n.as_str().parse::<Network>(), Ok(n));
        }
        assert_eq!("Twitter".parse::<Network>(), Ok(Network::X));
        assert!("myspace".parse::<Network>().is_err());
    }
}
