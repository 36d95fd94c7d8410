//! What agents type about the loop, checked once: the API, the pages and the CLI parse their
//! input into these types, so a rule (a title's length, a link's scheme) cannot differ by door.

use super::{PromiseId, ReleaseId, RequestId};
use std::fmt;

/// Why a piece of input was refused, in words an agent can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

fn id(raw: &str, letter: char, what: &str) -> Result<i64, InputError> {
    let digits = raw
        .trim()
        .trim_start_matches([letter, letter.to_ascii_lowercase()]);
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && !digits.starts_with('+'))
        .ok_or_else(|| {
            InputError(format!(
                "{raw:?} is not a {what} id ({letter}12 or 12, a positive number)"
            ))
        })
}

impl RequestId {
    /// `R12` or `12`.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        id(raw, 'R', "request").map(RequestId)
    }
}

impl PromiseId {
    /// `P3` or `3`.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        id(raw, 'P', "promise").map(PromiseId)
    }
}

impl ReleaseId {
    /// A release's number, as its page's address shows it.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(ReleaseId)
            .ok_or_else(|| InputError(format!("{raw:?} is not a release id (a positive number)")))
    }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

text_type!(
    /// A request's title: trimmed, 1 to [`RequestTitle::MAX_CHARS`] characters (characters,
    /// not bytes: a Danish or Japanese title gets the same room as an English one).
    RequestTitle
);

impl RequestTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let title = raw.trim();
        let n = title.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(InputError(format!(
                "a title is 1 to {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(RequestTitle(title.to_string()))
    }
}

text_type!(
    /// A release's version (`2024.36`, `v3.2.1`): trimmed, 1 to [`ReleaseVersion::MAX_CHARS`]
    /// characters, one line. Also what a promise names as its target release.
    ReleaseVersion
);

impl ReleaseVersion {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let version = raw.trim();
        if version.is_empty() {
            return Err(InputError(
                "a release needs a version (e.g. 2024.36)".into(),
            ));
        }
        if version.chars().count() > Self::MAX_CHARS || version.chars().any(char::is_control) {
            return Err(InputError(format!(
                "a version is one line of at most {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(ReleaseVersion(version.to_string()))
    }
}

/// An http(s) link of at most `max` characters with something after the scheme; pages show
/// these as links, so no other scheme (`javascript:`, `data:`) gets through.
fn web_link(raw: &str, max: usize, what: &str) -> Result<String, InputError> {
    let url = raw.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let fine = rest.is_some_and(|r| !r.is_empty())
        && url.chars().count() <= max
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !fine {
        return Err(InputError(format!(
            "{what} must be an http(s) URL of at most {max} characters"
        )));
    }
    Ok(url.to_string())
}

text_type!(
    /// The engineering issue a request was handed to: an http(s) link.
    TrackerUrl
);

impl TrackerUrl {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        web_link(raw, Self::MAX_CHARS, "the tracker link").map(TrackerUrl)
    }
}

text_type!(
    /// A public page about a release, linked in the notifications: an http(s) link.
    ReleaseLink
);

impl ReleaseLink {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, InputError> {
        web_link(raw, Self::MAX_CHARS, "the release notes link").map(ReleaseLink)
    }

    /// An empty field means no link.
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, InputError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Self::parse(s).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_written_with_or_without_their_letter() {
        assert_eq!(RequestId::parse("12"), Ok(RequestId(12)));
        assert_eq!(RequestId::parse("R12"), Ok(RequestId(12)));
        assert_eq!(RequestId::parse("r12"), Ok(RequestId(12)));
        assert_eq!(PromiseId::parse("P3"), Ok(PromiseId(3)));
        assert_eq!(ReleaseId::parse("7"), Ok(ReleaseId(7)));
        for bad in ["0", "R", "", "-4", "+4", "12; drop", "P12"] {
            assert!(RequestId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            PromiseId::parse("R3").is_err(),
            "a request's letter is no promise's"
        );
        assert!(ReleaseId::parse("R7").is_err());
    }

    #[test]
    fn titles_count_characters_not_bytes() {
        let danish = "æ".repeat(200);
        assert_eq!(danish.len(), 400);
        assert_eq!(
            RequestTitle::parse(&danish).map(|t| t.as_str().chars().count()),
            Ok(200)
        );
        assert!(RequestTitle::parse(&"æ".repeat(201)).is_err());
        assert!(RequestTitle::parse("   ").is_err());
        assert_eq!(
            RequestTitle::parse("  Move the seat back  ").map(String::from),
            Ok("Move the seat back".to_string())
        );
    }

    #[test]
    fn versions_are_one_short_line() {
        assert_eq!(
            ReleaseVersion::parse(" 2024.36 ").map(String::from),
            Ok("2024.36".into())
        );
        assert!(ReleaseVersion::parse("").is_err());
        assert!(ReleaseVersion::parse("1.0\n2.0").is_err());
        assert!(ReleaseVersion::parse(&"9".repeat(81)).is_err());
        assert!(ReleaseVersion::parse(&"9".repeat(80)).is_ok());
    }

    #[test]
    fn links_are_http_only() {
        assert!(TrackerUrl::parse("https://github.com/acme/app/issues/4").is_ok());
        assert!(TrackerUrl::parse("HTTP://tracker.example/4").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "https://a b",
            "data:text/html,x",
        ] {
            assert!(TrackerUrl::parse(bad).is_err(), "{bad:?}");
        }
        assert!(TrackerUrl::parse(&format!("https://x/{}", "a".repeat(500))).is_err());
        assert_eq!(ReleaseLink::parse_optional(Some("  ")), Ok(None));
        assert!(ReleaseLink::parse_optional(Some("x")).is_err());
    }
}
