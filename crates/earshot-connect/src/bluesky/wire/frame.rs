//! The hot path: a borrowed view of a Jetstream frame. Nothing here allocates unless a string
//! carries JSON escapes, so the firehose of posts that do not concern the brand costs no heap.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The envelope of a Jetstream frame, borrowed from the frame's text.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EventHead<'a> {
    #[serde(borrow)]
    pub did: Cow<'a, str>,
    pub time_us: Option<i64>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub commit: Option<CommitHead<'a>>,
    #[serde(borrow)]
    pub identity: Option<&'a RawValue>,
}

/// A commit, borrowed; the record stays raw until something in it names the brand.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CommitHead<'a> {
    #[serde(borrow)]
    pub rev: Cow<'a, str>,
    #[serde(borrow)]
    pub operation: Cow<'a, str>,
    #[serde(borrow)]
    pub collection: Cow<'a, str>,
    #[serde(borrow)]
    pub rkey: Cow<'a, str>,
    #[serde(borrow)]
    pub record: Option<&'a RawValue>,
    /// Empty on delete. (Not an `Option`: serde only borrows a bare `Cow`.)
    #[serde(borrow)]
    pub cid: Cow<'a, str>,
}

/// Where [`record_text`] found a record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextAt<'a> {
    /// In the frame itself (the text had no JSON escapes).
    Frame(&'a str),
    /// Unescaped into the caller's scratch buffer.
    Scratch,
    /// The record has no text.
    Missing,
}

/// Reads only the `text` field of a post record, into `scratch` when it must be unescaped,
/// skipping every other field without building it.
pub(crate) fn record_text<'a>(
    record: &'a str,
    scratch: &mut String,
) -> Result<TextAt<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(record);
    let at = serde::de::DeserializeSeed::deserialize(RecordText { scratch }, &mut de)?;
    Ok(at)
}

struct RecordText<'s> {
    scratch: &'s mut String,
}

impl<'de> serde::de::DeserializeSeed<'de> for RecordText<'_> {
    type Value = TextAt<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RecordText<'_> {
    type Value = TextAt<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a post record object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = TextAt::Missing;
        while let Some(is_text) = map.next_key_seed(IsTextKey)? {
            if is_text {
                found = map.next_value_seed(TextValue {
                    scratch: &mut *self.scratch,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A map key, compared with `text` without being copied.
struct IsTextKey;

impl<'de> serde::de::DeserializeSeed<'de> for IsTextKey {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for IsTextKey {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "text")
    }
}

struct TextValue<'s> {
    scratch: &'s mut String,
}

impl<'de> serde::de::DeserializeSeed<'de> for TextValue<'_> {
    type Value = TextAt<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TextValue<'_> {
    type Value = TextAt<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the post text")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(TextAt::Frame(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.scratch.clear();
        self.scratch.push_str(v);
        Ok(TextAt::Scratch)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    // Anything else in `text` (a number, an object) is a broken record: no text to match.
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(TextAt::Missing)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(TextAt::Missing)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TextAt::Missing)
    }
}
