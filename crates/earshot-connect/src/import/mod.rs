//! File importers: sniff what a file holds, then stream it as [`Record`]s.
//!
//! Accepted: canonical posts (JSONL, or a JSON array), the TWCS CSV layout, recorded
//! Mastodon statuses or notifications (JSONL, a JSON array as the REST API returns them, or
//! pretty-printed objects one after another), Jetstream events (JSONL) and X filtered-stream
//! lines (JSONL with blank keep-alive lines).
//!
//! Reading streams in constant memory: one line (or one array element, or one CSV row) is
//! held at a time, and a line longer than [`MAX_LINE_BYTES`] is rejected without being
//! buffered. Every record says the 1-based line it started on. A line that cannot be read is
//! [`Record::Rejected`] with a reason and reading goes on, so one bad line loses nothing
//! else; a payload that is fine but not a customer post (a boost, a delete, an identity
//! event) is [`Record::Skipped`].

use crate::bluesky::wire::JetstreamEvent;
use crate::mastodon::wire::{Entity, StatusKey};
use crate::twcs::TwcsLayout;
use crate::webhook::wire::{json_message, CanonicalPost};
use crate::x::wire::StreamLine;
use crate::NotAPost;
use earshot_core::NewPost;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// How many bytes [`Importer::open`] reads to decide the format.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The longest line (or array element) read; longer ones are rejected unread.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How many DID → handle pairs a Jetstream import remembers from identity events.
const MAX_KNOWN_HANDLES: usize = 100_000;

/// One thing read from a file.
// Most records are posts, so boxing the post would cost an allocation per record for the
// sake of the rare skips and rejections.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A post, from the record starting on `line` (1-based).
    Post { line: usize, post: NewPost },
    /// A payload that is fine but is not a customer post.
    Skipped { line: usize, reason: String },
    /// A payload that could not be read, and why.
    Rejected { line: usize, reason: String },
}

impl Record {
    /// The 1-based line the record starts on.
    pub fn line(&self) -> usize {
        match self {
            Record::Post { line, .. }
            | Record::Skipped { line, .. }
            | Record::Rejected { line, .. } => *line,
        }
    }
}

mod detect;
mod format;
mod pages;
mod readers;

pub use detect::detect;
pub use format::{Format, ImportError};
use readers::*;

/// Streams a file's records. Open it with [`Importer::open`], then iterate.
///
/// ```no_run
/// use earshot_connect::{Importer, Record};
/// let importer = Importer::open("twcs.csv".as_ref())?;
/// println!("{} ({} bytes)", importer.format(), importer.total_bytes());
/// for record in importer {
///     match record {
///         Record::Post { post, .. } => { /* store it */ let _ = post; }
///         Record::Skipped { .. } => {}
///         Record::Rejected { line, reason } => eprintln!("line {line}: {reason}"),
///     }
/// }
/// # Ok::<(), earshot_connect::ImportError>(())
/// ```
pub struct Importer {
    format: Format,
    total_bytes: u64,
    source: Source,
    keep_raw: bool,
    status_key: StatusKey,
    known_handles: HashMap<String, String>,
    /// Records of a payload that held several posts (a page of reviews), not yet handed out.
    pending: std::collections::VecDeque<Record>,
    done: bool,
}

enum Source {
    Csv {
        reader: csv::Reader<File>,
        layout: TwcsLayout,
        row: csv::ByteRecord,
    },
    Lines(LineReader<BufReader<File>>),
    Values(ValueReader<BufReader<File>>),
}

impl Importer {
    /// Opens `path`, sniffs its format and gets ready to stream it.
    pub fn open(path: &Path) -> Result<Importer, ImportError> {
        Self::open_inner(path, None)
    }

    /// Opens `path` as `format`, without sniffing (the CLI's `--format`).
    pub fn open_as(path: &Path, format: Format) -> Result<Importer, ImportError> {
        Self::open_inner(path, Some(format))
    }

    fn open_inner(path: &Path, format: Option<Format>) -> Result<Importer, ImportError> {
        let io_error = |source| ImportError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        let total_bytes = file.metadata().map_err(io_error)?.len();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        let format = match format {
            Some(format) => format,
            None => detect(path, &head)?,
        };
        let source = match format {
            Format::TwcsCsv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(true)
                    .buffer_capacity(256 * 1024)
                    .from_reader(file);
                let header = reader.byte_headers().map_err(|e| io_error(csv_io(e)))?;
                let layout = TwcsLayout::from_header(header.iter()).map_err(|source| {
                    ImportError::CsvHeader {
                        path: path.to_owned(),
                        source,
                    }
                })?;
                Source::Csv {
                    reader,
                    layout,
                    row: csv::ByteRecord::new(),
                }
            }
            _ => {
                let reader = BufReader::with_capacity(256 * 1024, file);
                match json_shape(&head) {
                    JsonShape::Lines => Source::Lines(LineReader::new(reader)),
                    JsonShape::Array => Source::Values(ValueReader::new(reader, true)),
                    JsonShape::Concatenated => Source::Values(ValueReader::new(reader, false)),
                }
            }
        };
        Ok(Importer {
            format,
            total_bytes,
            source,
            keep_raw: true,
            status_key: StatusKey::default(),
            known_handles: HashMap::new(),
            pending: Default::default(),
            done: false,
        })
    }

    /// Whether posts from network payloads keep the payload in [`NewPost::raw`] (default:
    /// yes; canonical and TWCS posts never do, they carry nothing beyond the post).
    pub fn keep_raw(mut self, keep: bool) -> Self {
        self.keep_raw = keep;
        self
    }

    /// Which id keys Mastodon statuses (see [`StatusKey`]).
    pub fn mastodon_key(mut self, key: StatusKey) -> Self {
        self.status_key = key;
        self
    }

    /// The format being read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The file's size, for a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// How far reading has got, in bytes.
    pub fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Csv { reader, .. } => reader.position().byte(),
            Source::Lines(lines) => lines.bytes_read,
            Source::Values(values) => values.bytes_read,
        }
    }

    fn convert(&mut self, line: usize, payload: &[u8]) -> Record {
        if let Some(results) = pages::convert(self.format, line, payload) {
            // Each post keeps its own part of the payload as raw, set by the network's reader.
            let mut records = results.into_iter().map(|result| match result {
                Ok(mut post) => {
                    if !self.keep_raw {
                        post.raw = None;
                    }
                    Record::Post { line, post }
                }
                Err(outcome) => outcome.at(line),
            });
            let first = records.next().unwrap_or_else(|| Record::Skipped {
                line,
                reason: "a page without items".into(),
            });
            self.pending.extend(records);
            return first;
        }
        let result = match self.format {
            Format::Canonical => serde_json::from_slice::<CanonicalPost>(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|p| {
                    p.into_new_post()
                        .map_err(|e| Outcome::Rejected(e.to_string()))
                }),
            Format::MastodonStatus | Format::MastodonNotification => Entity::from_json(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|entity| not_a_post(entity.into_new_post_keyed(self.status_key))),
            Format::Jetstream => serde_json::from_slice::<JetstreamEvent>(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|event| {
                    if let Some((did, handle)) = event.announced_handle() {
                        if self.known_handles.len() < MAX_KNOWN_HANDLES
                            || self.known_handles.contains_key(did)
                        {
                            self.known_handles.insert(did.to_owned(), handle.to_owned());
                        }
                    }
                    let handle = self.known_handles.get(&event.did).cloned();
                    not_a_post(event.into_new_post_with_handle(handle.as_deref()))
                }),
            Format::XStream => serde_json::from_slice::<StreamLine>(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|l| not_a_post(l.into_new_post())),
            // An import has no bot name: the brand is told by the configured handles.
            Format::TelegramUpdate => serde_json::from_slice::<crate::telegram::Update>(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|u| not_a_post(u.into_new_post(""))),
            Format::DiscordMessage => serde_json::from_slice::<crate::discord::Message>(payload)
                .map_err(|e| json_error(&e, line))
                .and_then(|m| not_a_post(m.to_new_post(""))),
            Format::TwcsCsv | Format::GooglePlayReview | Format::YouTubeComment => Err(
                Outcome::Rejected("internal: the format reached the wrong reader".to_owned()),
            ),
        };
        match result {
            Ok(mut post) => {
                if self.keep_raw && self.format.is_network_payload() {
                    post.raw = std::str::from_utf8(payload).ok().map(str::to_owned);
                }
                Record::Post { line, post }
            }
            Err(Outcome::Skipped(reason)) => Record::Skipped { line, reason },
            Err(Outcome::Rejected(reason)) => Record::Rejected { line, reason },
        }
    }
}

/// Why a payload did not become a post, as the importer reports it.
enum Outcome {
    Skipped(String),
    Rejected(String),
}

impl Outcome {
    fn at(self, line: usize) -> Record {
        match self {
            Outcome::Skipped(reason) => Record::Skipped { line, reason },
            Outcome::Rejected(reason) => Record::Rejected { line, reason },
        }
    }
}

fn not_a_post(result: Result<NewPost, NotAPost>) -> Result<NewPost, Outcome> {
    result.map_err(|e| match e {
        NotAPost::Skipped(reason) => Outcome::Skipped(reason),
        NotAPost::Invalid(invalid) => Outcome::Rejected(invalid.to_string()),
    })
}

/// A readable reason for a JSON error; `line` is where the payload starts.
fn json_error(e: &serde_json::Error, line: usize) -> Outcome {
    let message = json_message(e);
    let reason = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            if e.line() > 1 {
                format!(
                    "not valid JSON: {message} (line {}, column {})",
                    line + e.line() - 1,
                    e.column()
                )
            } else {
                format!("not valid JSON: {message} (column {})", e.column())
            }
        }
        serde_json::error::Category::Data => format!("unexpected JSON: {message}"),
        serde_json::error::Category::Io => format!("read error: {message}"),
    };
    Outcome::Rejected(reason)
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl Source {
    /// The buffer a line or value reader reads each payload into.
    fn buf_mut(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            Source::Lines(lines) => Some(&mut lines.buf),
            Source::Values(values) => Some(&mut values.buf),
            Source::Csv { .. } => None,
        }
    }
}

impl Importer {
    /// The record one payload of a line or value reader becomes. The payload's buffer is
    /// taken out of the reader while `convert` borrows the importer, then given back so the
    /// next payload reuses its allocation.
    fn delimited(&mut self, read: Result<Option<Payload>, (usize, io::Error)>) -> Option<Record> {
        match read {
            Ok(Some(Payload::Bytes { line })) => {
                let payload = self
                    .source
                    .buf_mut()
                    .map(std::mem::take)
                    .unwrap_or_default();
                let record = self.convert(line, &payload);
                if let Some(buf) = self.source.buf_mut() {
                    *buf = payload;
                }
                Some(record)
            }
            Ok(Some(Payload::TooLong { line, bytes })) => Some(too_long(line, bytes)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err((line, e)) => {
                self.done = true;
                Some(read_error(line, &e))
            }
        }
    }
}

impl Iterator for Importer {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if let Some(record) = self.pending.pop_front() {
            return Some(record);
        }
        if self.done {
            return None;
        }
        match &mut self.source {
            Source::Csv {
                reader,
                layout,
                row,
            } => match reader.read_byte_record(row) {
                Ok(true) => {
                    let line = row
                        .position()
                        .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
                    Some(match layout.post(row) {
                        Ok(post) => Record::Post { line, post },
                        Err(e) => Record::Rejected {
                            line,
                            reason: e.to_string(),
                        },
                    })
                }
                Ok(false) => {
                    self.done = true;
                    None
                }
                Err(e) => {
                    self.done = true;
                    let line = e
                        .position()
                        .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
                    Some(Record::Rejected {
                        line,
                        reason: format!("read error, import stopped: {e}"),
                    })
                }
            },
            Source::Lines(lines) => {
                let read = lines.next_payload();
                self.delimited(read)
            }
            Source::Values(values) => {
                let read = values.next_payload();
                self.delimited(read)
            }
        }
    }
}

fn too_long(line: usize, bytes: usize) -> Record {
    Record::Rejected {
        line,
        reason: format!("the record is {bytes} bytes long; the limit is {MAX_LINE_BYTES}"),
    }
}

fn read_error(line: usize, e: &io::Error) -> Record {
    Record::Rejected {
        line,
        reason: format!("read error, import stopped: {e}"),
    }
}

#[cfg(test)]
mod tests;
