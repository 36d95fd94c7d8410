//! What the feed source stores as its cursor: per configured feed URL, the validators for
//! the next conditional GET, where the feed moved to, whether it is gone, and the entries
//! read recently (id, content hash, first-seen time for undated ones), bounded, so a restart
//! neither loses nor doubles an entry and a changed entry is noticed as an edit.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One remembered entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeenEntry {
    pub id: String,
    /// The content hash last delivered.
    pub fp: String,
    /// First seen (epoch seconds), kept only for entries without a date of their own, so an
    /// edit keeps the time the entry was first heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

/// One feed's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// The entries of the last read first, then older ones.
    #[serde(default)]
    pub seen: Vec<SeenEntry>,
}

impl FeedState {
    pub fn seen(&self, id: &str) -> Option<&SeenEntry> {
        self.seen.iter().find(|s| s.id == id)
    }
}

const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    v: u32,
    /// Keyed by the URL as configured (not where it moved), so the config finds its state.
    #[serde(default)]
    pub feeds: BTreeMap<String, FeedState>,
}

impl Cursor {
    /// Reads a stored cursor; `None` when it is not one of ours.
    pub fn parse(stored: &str) -> Option<Cursor> {
        let cursor: Cursor = serde_json::from_str(stored).ok()?;
        (cursor.v == VERSION).then_some(cursor)
    }

    pub fn encode(&self) -> String {
        let stored = Cursor {
            v: VERSION,
            feeds: self.feeds.clone(),
        };
        // Serialising strings and numbers cannot fail; an empty cursor is the safe fallback.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    pub fn feed(&self, url: &str) -> FeedState {
        self.feeds.get(url).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_encoding() {
        let mut c = Cursor::default();
        c.feeds.insert(
            "https://x.example/f.rss".into(),
            FeedState {
                etag: Some("\"v2\"".into()),
                seen: vec![
                    SeenEntry {
                        id: "a".into(),
                        fp: "0011".into(),
                        at: None,
                    },
                    SeenEntry {
                        id: "b".into(),
                        fp: "2233".into(),
                        at: Some(1_787_217_297),
                    },
                ],
                ..FeedState::default()
            },
        );
        let again = Cursor::parse(&c.encode()).unwrap();
        assert_eq!(again.feeds, c.feeds);
        assert_eq!(
            again.feed("https://x.example/f.rss").seen("b").unwrap().at,
            Some(1_787_217_297)
        );
        assert_eq!(Cursor::parse("{\"v\":7}"), None);
        assert_eq!(Cursor::parse("t3_abc"), None);
    }
}
