//! What a file may hold: the [`Format`]s earshot imports, their names on the command line and
//! their descriptions, and why a file cannot be imported at all ([`ImportError`]).

use crate::twcs::MissingColumns;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// earshot's canonical post, one JSON object a line (or a JSON array of them).
    Canonical,
    /// The "Customer Support on Twitter" CSV layout.
    TwcsCsv,
    /// Mastodon statuses (a file may mix in notifications; each object is read as what it is).
    MastodonStatus,
    /// Mastodon notifications (likewise, statuses mixed in are read as statuses).
    MastodonNotification,
    /// Bluesky Jetstream events.
    Jetstream,
    /// X API v2 filtered-stream lines.
    XStream,
    /// Telegram Bot API updates (`getUpdates` results or webhook deliveries).
    TelegramUpdate,
    /// Discord message objects (as `GET /channels/{id}/messages` returns them).
    DiscordMessage,
    /// Google Play reviews (`reviews.list` pages or single `Review` objects).
    GooglePlayReview,
    /// YouTube comments (`commentThreads.list` or `comments.list` pages, threads, comments).
    YouTubeComment,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Canonical,
        Format::TwcsCsv,
        Format::MastodonStatus,
        Format::MastodonNotification,
        Format::Jetstream,
        Format::XStream,
        Format::TelegramUpdate,
        Format::DiscordMessage,
        Format::GooglePlayReview,
        Format::YouTubeComment,
    ];

    /// The short name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Canonical => "canonical",
            Format::TwcsCsv => "twcs",
            Format::MastodonStatus => "mastodon-status",
            Format::MastodonNotification => "mastodon-notification",
            Format::Jetstream => "jetstream",
            Format::XStream => "x-stream",
            Format::TelegramUpdate => "telegram-update",
            Format::DiscordMessage => "discord-message",
            Format::GooglePlayReview => "googleplay-review",
            Format::YouTubeComment => "youtube-comment",
        }
    }

    /// What the format looks like, for messages.
    pub fn description(self) -> &'static str {
        match self {
            Format::Canonical => {
                "canonical posts (JSON objects with network, id, author, text, created_at)"
            }
            Format::TwcsCsv => {
                "TWCS CSV (header tweet_id, author_id, inbound, created_at, text, ...)"
            }
            Format::MastodonStatus => "Mastodon statuses (objects with id, content, account)",
            Format::MastodonNotification => {
                "Mastodon notifications (objects with id, type, account, status)"
            }
            Format::Jetstream => "Bluesky Jetstream events (objects with did, time_us, kind)",
            Format::XStream => "X filtered-stream lines (objects with data, includes, errors)",
            Format::TelegramUpdate => "Telegram updates (objects with update_id and message)",
            Format::DiscordMessage => {
                "Discord messages (objects with id, channel_id, author, content)"
            }
            Format::GooglePlayReview => {
                "Google Play reviews (reviews.list pages, or objects with reviewId and comments)"
            }
            Format::YouTubeComment => {
                "YouTube comment threads or comments (pages with kind and items, or objects with kind and snippet)"
            }
        }
    }

    /// Whether posts keep the raw payload (network formats do; PROTOCOLS.md §0.1).
    pub(super) fn is_network_payload(self) -> bool {
        matches!(
            self,
            Format::MastodonStatus
                | Format::MastodonNotification
                | Format::Jetstream
                | Format::XStream
                | Format::TelegramUpdate
                | Format::DiscordMessage
                | Format::GooglePlayReview
                | Format::YouTubeComment
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| ImportError::UnknownFormatName { name: s.to_owned() })
    }
}

/// Why a file cannot be imported at all (problems with single lines are [`Record`]s).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is empty: there is nothing to import", path.display())]
    Empty { path: PathBuf },
    #[error("cannot tell what {} holds: it starts with {seen}. earshot imports {}", path.display(), accepted_formats())]
    UnknownFormat { path: PathBuf, seen: String },
    #[error("{}: {source}", path.display())]
    CsvHeader {
        path: PathBuf,
        #[source]
        source: MissingColumns,
    },
    #[error("unknown import format {name:?}: expected one of {}", Format::ALL.map(Format::as_str).join(", "))]
    UnknownFormatName { name: String },
}

fn accepted_formats() -> String {
    Format::ALL.map(Format::description).join("; ")
}
