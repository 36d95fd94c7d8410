//! What the Reddit source stores as its cursor: per listing, the newest thing heard (where a
//! later poll may stop paging back), and the fullnames heard recently with their edit marks
//! (deduplication across restarts and edit/delete detection), bounded.
//!
//! Reddit's own `before=` anchor is not trusted: when the anchor is deleted or removed, a
//! listing read `before` it comes back empty for ever (PROTOCOLS.md §4.6). Every poll reads
//! the newest page instead and filters it through the remembered fullnames, paging back with
//! `after=` only while a page is all new.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The newest thing a listing has shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Newest {
    pub fullname: String,
    /// Its `created_utc`.
    pub at: f64,
}

/// The stored form; `v` lets a later version read (or knowingly discard) older cursors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    v: u32,
    #[serde(default)]
    listings: BTreeMap<String, Newest>,
    /// `[fullname, mark]`, oldest first.
    #[serde(default)]
    seen: Vec<(String, String)>,
}

const VERSION: u32 = 1;

/// The source's memory between polls and across restarts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cursor {
    pub listings: BTreeMap<String, Newest>,
    order: VecDeque<String>,
    marks: HashMap<String, String>,
}

impl Cursor {
    /// Reads a stored cursor; `None` when it is not one of ours (then the source starts
    /// afresh, which the store's deduplication makes safe).
    pub fn parse(stored: &str) -> Option<Cursor> {
        let stored: Stored = serde_json::from_str(stored).ok()?;
        if stored.v != VERSION {
            return None;
        }
        let mut cursor = Cursor {
            listings: stored.listings,
            ..Cursor::default()
        };
        for (fullname, mark) in stored.seen {
            cursor.remember(fullname, mark, usize::MAX);
        }
        Some(cursor)
    }

    pub fn encode(&self) -> String {
        let stored = Stored {
            v: VERSION,
            listings: self.listings.clone(),
            seen: self
                .order
                .iter()
                .map(|f| (f.clone(), self.marks.get(f).cloned().unwrap_or_default()))
                .collect(),
        };
        // Serialising strings and numbers cannot fail; an empty cursor is the safe fallback.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// The mark remembered for `fullname`, if it was heard.
    pub fn mark(&self, fullname: &str) -> Option<&str> {
        self.marks.get(fullname).map(String::as_str)
    }

    /// Remembers `fullname` with `mark` (a new one goes last), forgetting the oldest beyond
    /// `capacity`. Forgetting only risks a redelivery, which the store absorbs.
    pub fn remember(&mut self, fullname: String, mark: String, capacity: usize) {
        if self.marks.insert(fullname.clone(), mark).is_none() {
            self.order.push_back(fullname);
        }
        while self.order.len() > capacity.max(1) {
            if let Some(old) = self.order.pop_front() {
                self.marks.remove(&old);
            }
        }
    }

    /// Up to `n` of the most recently heard fullnames, newest first, skipping those `skip`
    /// says to.
    pub fn recent(&self, n: usize, skip: impl Fn(&str, &str) -> bool) -> Vec<String> {
        self.order
            .iter()
            .rev()
            .filter(|f| !skip(f, self.mark(f).unwrap_or_default()))
            .take(n)
            .cloned()
            .collect()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_encoding_and_stays_bounded() {
        let mut c = Cursor::default();
        c.listings.insert(
            "r/acme/new".into(),
            Newest {
                fullname: "t3_b".into(),
                at: 1787217297.0,
            },
        );
        c.remember("t3_a".into(), String::new(), 3);
        c.remember("t3_b".into(), "1787217400".into(), 3);
        c.remember("t1_c".into(), "D".into(), 3);
        c.remember("t3_a".into(), "e".into(), 3); // An update keeps its place.
        let again = Cursor::parse(&c.encode()).unwrap();
        assert_eq!(again, c);
        assert_eq!(again.mark("t3_a"), Some("e"));
        assert_eq!(
            again.recent(10, |_, mark| mark == "D"),
            vec!["t3_b".to_owned(), "t3_a".to_owned()]
        );
        c.remember("t1_d".into(), String::new(), 3);
        assert_eq!(c.len(), 3);
        assert_eq!(c.mark("t3_a"), None);
        assert_eq!(Cursor::parse("115063412345678901"), None);
        assert_eq!(Cursor::parse(r#"{"v":99}"#), None);
    }
}
