//! A responder's record of reply keys, in memory and on disk, so a restart neither posts a sent
//! reply again nor guesses about one a crash cut short. Telegram's Bot API has no idempotency
//! key and a bot cannot look in its chats afterwards; Discord's nonce holds for minutes only.
//!
//! JSON lines, appended and synced: `{"key":…,"state":"sending"}` before `sendMessage`, then
//! `sent` (with the message key), `unknown` (the answer was lost) or `not_sent`. A key whose
//! last line is `sending` was cut short by a stop or crash: it may have been posted. A torn
//! last line is skipped; the file is rewritten with one line per key when it has grown.

use earshot_core::Network;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
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

/// What became of a reply key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Posted as this message (its key on the network).
    Posted(String),
    /// Perhaps posted: the answer was lost. The reason says what to check.
    Unknown(String),
}

/// The reply keys a responder posted (or may have), the newest `keep`, journalled when it has
/// a journal. An empty key (a reply made without one) is never remembered.
#[derive(Debug)]
pub(crate) struct ReplyMemory {
    network: Network,
    keep: usize,
    outcomes: HashMap<String, Outcome>,
    order: VecDeque<String>,
    journal: Option<Journal>,
}

impl ReplyMemory {
    pub fn new(network: Network, keep: usize) -> Self {
        ReplyMemory {
            network,
            keep,
            outcomes: HashMap::new(),
            order: VecDeque::new(),
            journal: None,
        }
    }

    /// Journals at `path` (created if missing), read back now. A key a stop or crash cut short
    /// mid-send is remembered as unknown with `cut_short`, which tells the agent what to check.
    pub fn with_journal(mut self, path: &Path, cut_short: &str) -> io::Result<Self> {
        let (journal, entries) = Journal::open(path, self.keep)?;
        for entry in entries {
            let outcome = match (entry.state, entry.detail) {
                (State::Sent, Some(sent)) => Outcome::Posted(sent),
                (State::Unknown, Some(reason)) => Outcome::Unknown(reason),
                (State::Sending, _) | (State::Sent | State::Unknown, None) => {
                    Outcome::Unknown(cut_short.to_owned())
                }
                (State::NotSent, _) => continue,
            };
            self.remember(&entry.key, outcome);
        }
        self.journal = Some(journal);
        Ok(self)
    }

    /// What became of `key` before, if anything.
    pub fn outcome(&self, key: &str) -> Option<&Outcome> {
        self.outcomes.get(key)
    }

    /// Journals that `key` is about to be sent; an error means nothing may be sent.
    pub fn sending(&self, key: &str) -> io::Result<()> {
        self.record(key, State::Sending, None)
    }

    /// `key` was posted as `sent`.
    pub fn sent(&mut self, key: &str, sent: &str) {
        self.settle(key, State::Sent, Outcome::Posted(sent.to_owned()), sent);
    }

    /// `key` may have been posted: `reason` says what to check.
    pub fn unknown(&mut self, key: &str, reason: &str) {
        self.settle(
            key,
            State::Unknown,
            Outcome::Unknown(reason.to_owned()),
            reason,
        );
    }

    /// The send of `key` posted nothing: a restart tries it afresh.
    pub fn not_sent(&self, key: &str) {
        if let Err(e) = self.record(key, State::NotSent, None) {
            tracing::warn!(network = %self.network, error = %e, "could not journal an unsent reply");
        }
    }

    fn settle(&mut self, key: &str, state: State, outcome: Outcome, detail: &str) {
        if key.is_empty() {
            return;
        }
        self.remember(key, outcome);
        if let Err(e) = self.record(key, state, Some(detail)) {
            tracing::warn!(network = %self.network, error = %e, "could not journal a reply's outcome");
        }
    }

    fn record(&self, key: &str, state: State, detail: Option<&str>) -> io::Result<()> {
        match &self.journal {
            Some(journal) if !key.is_empty() => journal.append(&Entry {
                key: key.to_owned(),
                state,
                detail: detail.map(str::to_owned),
            }),
            _ => Ok(()),
        }
    }

    fn remember(&mut self, key: &str, outcome: Outcome) {
        if self.outcomes.insert(key.to_owned(), outcome).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > self.keep {
            if let Some(old) = self.order.pop_front() {
                self.outcomes.remove(&old);
            }
        }
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

    #[test]
    fn a_memory_reads_back_what_was_sent_and_what_a_crash_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replies.jsonl");
        let mut memory = ReplyMemory::new(Network::Discord, 10)
            .with_journal(&path, "look first")
            .unwrap();
        memory.sending("a").unwrap();
        memory.sent("a", "m1");
        memory.sending("b").unwrap();
        memory.sending("c").unwrap();
        memory.not_sent("c");
        memory.sending("").unwrap();
        memory.sent("", "m9");
        let back = ReplyMemory::new(Network::Discord, 10)
            .with_journal(&path, "look first")
            .unwrap();
        assert_eq!(back.outcome("a"), Some(&Outcome::Posted("m1".into())));
        assert_eq!(
            back.outcome("b"),
            Some(&Outcome::Unknown("look first".into()))
        );
        assert_eq!(back.outcome("c"), None, "not sent: tried afresh");
        assert_eq!(back.outcome(""), None, "an empty key is never remembered");
    }
}
