//! Credentials that never print: the one [`Secret`] of earshot, for connector tokens, signing
//! keys, API tokens and passwords alike.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret (an access token, an app password, a signing key) that never prints: `Debug` and
/// `Display` show `***` (an empty one `""`, so a missing setting is told from a set one), and
/// serialising writes `***` too, so a settings dump or an API answer cannot leak it. Read
/// from settings as a plain string.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Not configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() {
            "\"\""
        } else {
            "***"
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_never_prints_but_an_empty_one_says_so() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "tok-123");
        let none = Secret::default();
        assert!(none.is_empty());
        assert_eq!(format!("{none:?}"), "\"\"");
        assert_eq!(serde_json::to_string(&none).unwrap(), "\"\"");
        let read: Secret = serde_json::from_str("\"whsec_abc\"").unwrap();
        assert_eq!(read.expose(), "whsec_abc");
    }
}
