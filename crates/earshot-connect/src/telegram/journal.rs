//! The responder's record of reply keys on disk, so a restart neither posts a sent reply again
//! nor guesses about one a crash cut short (the Bot API has no idempotency key and a bot
//! cannot look in its chats afterwards).
//!
//! JSON lines, appended and synced: `{"key":…,"state":"sending"}` before `sendMessage`, then
//! `sent` (with the message key), `unknown` (the answer was lost) or `not_sent`. A key whose
//! last line is `sending` was cut short by a stop or crash: it may have been posted. A torn
//! last line is skipped; the file is rewritten with one line per key when it has grown.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    Sending,
    Sent,
    Unknown,
    NotSent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub key: String,
    pub state: State,
    /// The sent message's key (`sent`) or why it is unknown (`unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
}

impl Journal {
    /// Opens (or starts) the journal at `path`: the last entry of each key, oldest key first,
    /// at most `keep` of them.
    pub fn open(path: &Path, keep: usize) -> io::Result<(Journal, Vec<Entry>)> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut order: Vec<String> = Vec::new();
        let mut last: HashMap<String, Entry> = HashMap::new();
        let mut lines = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            // A line torn by a crash mid-write is not an entry.
            let Ok(entry) = serde_json::from_str::<Entry>(line) else {
                continue;
            };
            if !last.contains_key(&entry.key) {
                order.push(entry.key.clone());
            }
            last.insert(entry.key.clone(), entry);
        }
        let skip = order.len().saturating_sub(keep);
        let entries: Vec<Entry> = order
            .into_iter()
            .skip(skip)
            .filter_map(|k| last.remove(&k))
            .collect();
        let journal = Journal {
            path: path.to_owned(),
        };
        if lines > entries.len() * 2 + 100 {
            journal.rewrite(&entries)?;
        }
        Ok((journal, entries))
    }

    /// Appends `entry` and waits until it is on disk.
    pub fn append(&self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_string(entry).map_err(io::Error::other)?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())?;
        file.sync_data()
    }

    fn rewrite(&self, entries: &[Entry]) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut text = String::new();
        for entry in entries {
            text.push_str(&serde_json::to_string(entry).map_err(io::Error::other)?);
            text.push('\n');
        }
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_state_of_each_key_survives_torn_lines_and_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/telegram-replies.jsonl");
        let (journal, entries) = Journal::open(&path, 100).unwrap();
        assert!(entries.is_empty());
        let entry = |key: &str, state, detail: Option<&str>| Entry {
            key: key.into(),
            state,
            detail: detail.map(Into::into),
        };
        journal.append(&entry("a", State::Sending, None)).unwrap();
        journal
            .append(&entry("a", State::Sent, Some("-100:5")))
            .unwrap();
        journal.append(&entry("b", State::Sending, None)).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"key\":\"c\",\"sta")
            .unwrap();
        let (_, entries) = Journal::open(&path, 100).unwrap();
        assert_eq!(
            entries,
            vec![
                entry("a", State::Sent, Some("-100:5")),
                entry("b", State::Sending, None)
            ]
        );
        let (journal, _) = Journal::open(&path, 1).unwrap();
        for i in 0..200 {
            journal
                .append(&entry("a", State::Sent, Some(&format!("-100:{i}"))))
                .unwrap();
        }
        let (_, entries) = Journal::open(&path, 10).unwrap();
        assert_eq!(entries.len(), 2);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 2, "rewritten with one line per key");
    }
}
