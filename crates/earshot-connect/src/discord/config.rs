//! How one Discord bot is set up (PROTOCOLS-2.md §2.2): its token (a secret), the guild and
//! channels it hears, and timings. Every URL comes from here, so tests point it at the fake.

pub use crate::Secret;
use std::time::Duration;

/// `GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT` (§2.3 step 5).
pub const INTENTS: u64 = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15);

/// One bot in the brand's server.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// `https://discord.com/api/v10` (always the pinned version).
    pub api_url: String,
    /// The bot token from the Developer Portal. Sent as `Authorization: Bot <token>` and in
    /// IDENTIFY/RESUME; never logged.
    pub token: Secret,
    /// The brand's server (guild) id: the cursor's name; messages of other guilds are passed over.
    pub guild_id: String,
    /// Channel (or thread) ids heard; empty: every channel the bot can view in the guild.
    pub channels: Vec<String>,
    /// Time limit for one REST request and for the gateway's HELLO.
    pub request_timeout: Duration,
    /// Multiplies every backoff delay of PROTOCOLS.md §0.3 and the wait before a fresh
    /// IDENTIFY: 1.0 in production; tests shrink it.
    pub backoff_scale: f64,
}

impl DiscordConfig {
    pub fn new(token: Secret, guild_id: impl Into<String>) -> Self {
        DiscordConfig {
            api_url: "https://discord.com/api/v10".into(),
            token,
            guild_id: guild_id.into(),
            channels: Vec::new(),
            request_timeout: Duration::from_secs(15),
            backoff_scale: 1.0,
        }
    }

    /// `discord:<guild id>`: the source's name and cursor key.
    pub fn source_name(&self) -> String {
        format!("discord:{}", self.guild_id.trim())
    }

    /// A REST URL under the API base.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url.trim_end_matches('/'))
    }

    /// Whether a message in `channel` of `guild` is heard.
    pub fn hears(&self, guild: Option<&str>, channel: &str) -> bool {
        if guild.is_some_and(|g| g != self.guild_id.trim()) {
            return false;
        }
        let listed: Vec<&str> = self
            .channels
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect();
        listed.is_empty() || listed.contains(&channel)
    }

    /// What is wrong with the settings, in words an operator can act on (never the token).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let snowflake = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let token = self.token.expose().trim();
        if token.is_empty() {
            problems.push(
                "bot_token is empty: copy the bot's token from the Developer Portal (Bot → Reset Token)"
                    .to_owned(),
            );
        } else if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems
                .push("bot_token holds spaces or control characters: paste it again".to_owned());
        }
        if !snowflake(self.guild_id.trim()) {
            problems.push(format!(
                "guild_id {:?} is not a server id (a number: right-click the server → Copy Server ID)",
                self.guild_id
            ));
        }
        for channel in &self.channels {
            if !snowflake(channel.trim()) {
                problems.push(format!(
                    "channels: {channel:?} is not a channel id (a number)"
                ));
            }
        }
        if reqwest::Url::parse(&self.api_url).is_err() {
            problems.push(format!("api_url is not a URL: {:?}", self.api_url));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints_and_problems_name_the_setting() {
        let mut config = DiscordConfig::new(Secret::new("MTM5s3cr3t.x.y"), "1200000000000000000");
        assert!(!format!("{config:?}").contains("s3cr3t"));
        assert_eq!(config.source_name(), "discord:1200000000000000000");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert!(
            config.hears(Some("1200000000000000000"), "5"),
            "no list: every channel"
        );
        config.channels = vec!["5".into()];
        assert!(config.hears(None, "5"));
        assert!(!config.hears(Some("1200000000000000000"), "6"));
        assert!(!config.hears(Some("99"), "5"), "another guild");
        config.channels = vec!["general".into()];
        config.guild_id = "acme".into();
        config.token = Secret::new("");
        let problems = config.problems().join("; ");
        assert!(problems.contains("bot_token is empty"), "{problems}");
        assert!(problems.contains("guild_id \"acme\""), "{problems}");
        assert!(problems.contains("channels: \"general\""), "{problems}");
        assert_eq!(INTENTS, 37377);
    }
}
