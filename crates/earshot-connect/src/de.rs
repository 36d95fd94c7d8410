//! Small serde helpers shared by the wire formats: ids that arrive as strings or numbers,
//! fields that arrive as `null`, and timestamps.

use crate::InvalidPost;
use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a string or an integer)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An id kept as a string even when a sender wrote it as a JSON integer (ids are never
/// parsed into numbers: they are keys, and X/Mastodon ids overflow JavaScript numbers).
/// `null` reads as the empty string.
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(d.deserialize_any(IdVisitor)?.unwrap_or_default())
}

/// Like [`id`], for ids that may be absent or `null`.
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(d.deserialize_any(IdVisitor)?.filter(|s| !s.is_empty()))
}

/// A field whose `null` means the same as its absence.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An RFC 3339 / ISO 8601 time with an offset, normalised to UTC.
pub(crate) fn rfc3339(field: &'static str, value: &str) -> Result<DateTime<Utc>, InvalidPost> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InvalidPost::field(field, "missing time"));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            InvalidPost::field(
                field,
                format!(
                    "{:?} is not an RFC 3339 time like 2026-08-20T09:14:57Z ({e})",
                    shorten(value)
                ),
            )
        })
}

/// The first 60 characters of something quoted in an error message.
pub(crate) fn shorten(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Ids {
        #[serde(deserialize_with = "id")]
        a: String,
        #[serde(default, deserialize_with = "opt_id")]
        b: Option<String>,
        #[serde(default, deserialize_with = "null_default")]
        c: Vec<String>,
    }

    #[test]
    fn ids_read_from_strings_numbers_and_null() {
        let v: Ids = serde_json::from_str(r#"{"a":896523232098078720,"b":"7","c":null}"#).unwrap();
        assert_eq!(v.a, "896523232098078720");
        assert_eq!(v.b.as_deref(), Some("7"));
        assert!(v.c.is_empty());
        let v: Ids = serde_json::from_str(r#"{"a":null,"b":null}"#).unwrap();
        assert_eq!(v.a, "");
        assert_eq!(v.b, None);
        assert!(serde_json::from_str::<Ids>(r#"{"a":1.5}"#).is_err());
    }

    #[test]
    fn times_accept_offsets_and_reject_junk() {
        let t = rfc3339("created_at", "2017-08-18T20:47:00-07:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2017-08-19T03:47:00+00:00");
        assert!(rfc3339("created_at", "2026-08-20T09:14:57.412Z").is_ok());
        let e = rfc3339("created_at", "yesterday").unwrap_err();
        assert_eq!(e.field, Some("created_at"));
        assert!(e.message.contains("\"yesterday\""), "{}", e.message);
        assert!(rfc3339("created_at", " ").is_err());
    }
}
