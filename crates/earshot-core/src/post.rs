use crate::analysis::Analysis;
use crate::conversation::ConversationId;
use crate::network::Network;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The stable identity of anything heard: writing the same key twice changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PostKey {
    pub network: Network,
    pub external_id: String,
}

impl PostKey {
    pub fn new(network: Network, external_id: impl Into<String>) -> Self {
        PostKey {
            network,
            external_id: external_id.into(),
        }
    }
}

/// Who wrote a post, as the network describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Author {
    /// The network's own id for the account (a DID on Bluesky, a numeric id on X).
    pub external_id: String,
    /// The handle people type to mention them, without a leading `@`.
    pub handle: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub followers: Option<u64>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub bot: bool,
}

/// A post as a source hands it over, before earshot has understood or threaded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPost {
    pub network: Network,
    pub external_id: String,
    pub author: Author,
    /// Plain text: sources turn network HTML into text before it gets here.
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// The external id (same network) of the post this one answers.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The language the network declared, if any (BCP-47 / ISO 639-1).
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Whether the source knows this came from the brand (the TWCS `inbound` column);
    /// `None` leaves it to the configured brand handles.
    #[serde(default)]
    pub from_brand: Option<bool>,
    /// The raw network payload, kept because networks add fields all the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Author {
    /// Someone known only by their id and handle on the network.
    pub fn new(external_id: impl Into<String>, handle: impl Into<String>) -> Self {
        Author {
            external_id: external_id.into(),
            handle: handle.into(),
            ..Author::default()
        }
    }
}

impl NewPost {
    /// A post with only what every network gives: it answers nothing, declares no language,
    /// has no link and no raw payload, and whether the brand wrote it is left to the brand's
    /// handles.
    pub fn new(
        network: Network,
        external_id: impl Into<String>,
        author: Author,
        text: impl Into<String>,
        created_at: DateTime<Utc>,
    ) -> Self {
        NewPost {
            network,
            external_id: external_id.into(),
            author,
            text: text.into(),
            created_at,
            in_reply_to: None,
            lang: None,
            url: None,
            from_brand: None,
            raw: None,
        }
    }

    pub fn key(&self) -> PostKey {
        PostKey::new(self.network, self.external_id.clone())
    }

    /// Whether the post's time is one earshot can believe (see [`check_created_at`]).
    pub fn check_time(&self, now: DateTime<Utc>) -> Result<(), OddTime> {
        check_created_at(self.created_at, now)
    }
}

/// No network earshot hears existed before 2006 (the first tweet is from March 2006).
pub const EARLIEST_POST_YEAR: i32 = 2006;

/// How far ahead of earshot's clock a post may be dated: a sender's clock that runs fast or
/// a time zone written wrong, but never a date years away.
pub const MOST_AHEAD: Duration = Duration::hours(24);

/// A post time outside the window earshot believes. Such a post would open a conversation
/// due decades from now (or in 1970 once the due time overflows), and pull the author's later
/// posts into it, so it is refused at intake, one post at a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OddTime {
    #[error("created_at {at} is more than a day ahead of now ({now}); fix the sender's clock or time zone and send it again")]
    Ahead {
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error(
        "created_at {at} is before {EARLIEST_POST_YEAR}, earlier than any network earshot hears"
    )]
    TooEarly { at: DateTime<Utc> },
}

/// Checks a post's time against the window earshot believes: from the start of
/// [`EARLIEST_POST_YEAR`] to [`MOST_AHEAD`] after `now`.
pub fn check_created_at(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), OddTime> {
    let earliest = chrono::NaiveDate::from_ymd_opt(EARLIEST_POST_YEAR, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    if earliest.is_some_and(|earliest| at < earliest) {
        return Err(OddTime::TooEarly { at });
    }
    if now
        .checked_add_signed(MOST_AHEAD)
        .is_some_and(|latest| at > latest)
    {
        return Err(OddTime::Ahead { at, now });
    }
    Ok(())
}

/// Something that happened to a post already heard.
// Amendments are rare and short-lived (one batch), so boxing the edit would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Amendment {
    /// The author edited the post: the new version, under the same key.
    Edited(NewPost),
    /// The author deleted the post: earshot keeps the conversation's history but must drop
    /// the text (the customer took it back). Unknown keys are ignored.
    Deleted(PostKey),
}

/// A stored post: what was heard, what earshot understood, where it was threaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub id: i64,
    pub network: Network,
    pub external_id: String,
    pub author: Author,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub in_reply_to: Option<String>,
    pub url: Option<String>,
    pub from_brand: bool,
    pub conversation_id: Option<ConversationId>,
    pub analysis: Analysis,
    /// When the author last edited it (the text is the latest version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// When the author deleted it: the text is gone, the post keeps its place in the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Post {
    pub fn key(&self) -> PostKey {
        PostKey::new(self.network, self.external_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::at as t;

    #[test]
    fn times_outside_the_window_are_refused_with_a_reason() {
        let now = t("2026-11-20T12:00:00Z");
        for ok in [
            "2006-01-01T00:00:00Z",
            "2017-08-18T20:47:00-07:00",
            "2026-11-20T12:00:00Z",
            "2026-11-21T12:00:00Z",
        ] {
            assert_eq!(check_created_at(t(ok), now), Ok(()), "{ok}");
        }
        let ahead = check_created_at(t("9999-12-31T23:59:59Z"), now).unwrap_err();
        assert!(matches!(ahead, OddTime::Ahead { .. }));
        assert!(
            ahead.to_string().contains("more than a day ahead"),
            "{ahead}"
        );
        assert!(check_created_at(t("2026-11-21T12:00:01Z"), now).is_err());
        let early = check_created_at(t("2005-12-31T23:59:59Z"), now).unwrap_err();
        assert!(early.to_string().contains("before 2006"), "{early}");
        assert!(check_created_at(DateTime::<Utc>::MIN_UTC, now).is_err());
        assert!(check_created_at(DateTime::<Utc>::MAX_UTC, now).is_err());
        // A clock at the end of time still refuses nothing it cannot compare.
        assert_eq!(
            check_created_at(t("2026-11-20T12:00:00Z"), DateTime::<Utc>::MAX_UTC),
            Ok(())
        );
    }
}
