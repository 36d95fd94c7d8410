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
use crate::twcs::{MissingColumns, TwcsLayout};
use crate::webhook::wire::{json_message, CanonicalPost};
use crate::x::wire::StreamLine;
use crate::NotAPost;
use earshot_core::NewPost;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How many bytes [`Importer::open`] reads to decide the format.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The longest line (or array element) read; longer ones are rejected unread.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// How many DID → handle pairs a Jetstream import remembers from identity events.
const MAX_KNOWN_HANDLES: usize = 100_000;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// earshot's canonical post, one JSON object a line (or a JSON array of them).
    Canonical,
    /// The "Customer Support on Twitter" CSV layout.
    TwcsCsv,
    /// Mastodon statuses (a file may mix in notifications; each object is read as what it is).
    MastodonStatus,
    /// Mastodon notifications (likewise, statuses mixed in are read as statuses).
    MastodonNotification,
    /// Bluesky Jetstream events.
    Jetstream,
    /// X API v2 filtered-stream lines.
    XStream,
    /// Telegram Bot API updates (`getUpdates` results or webhook deliveries).
    TelegramUpdate,
    /// Discord message objects (as `GET /channels/{id}/messages` returns them).
    DiscordMessage,
    /// Google Play reviews (`reviews.list` pages or single `Review` objects).
    GooglePlayReview,
    /// YouTube comments (`commentThreads.list` or `comments.list` pages, threads, comments).
    YouTubeComment,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Canonical,
        Format::TwcsCsv,
        Format::MastodonStatus,
        Format::MastodonNotification,
        Format::Jetstream,
        Format::XStream,
        Format::TelegramUpdate,
        Format::DiscordMessage,
        Format::GooglePlayReview,
        Format::YouTubeComment,
    ];

    /// The short name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Canonical => "canonical",
            Format::TwcsCsv => "twcs",
            Format::MastodonStatus => "mastodon-status",
            Format::MastodonNotification => "mastodon-notification",
            Format::Jetstream => "jetstream",
            Format::XStream => "x-stream",
            Format::TelegramUpdate => "telegram-update",
            Format::DiscordMessage => "discord-message",
            Format::GooglePlayReview => "googleplay-review",
            Format::YouTubeComment => "youtube-comment",
        }
    }

    /// What the format looks like, for messages.
    pub fn description(self) -> &'static str {
        match self {
            Format::Canonical => {
                "canonical posts (JSON objects with network, id, author, text, created_at)"
            }
            Format::TwcsCsv => {
                "TWCS CSV (header tweet_id, author_id, inbound, created_at, text, ...)"
            }
            Format::MastodonStatus => "Mastodon statuses (objects with id, content, account)",
            Format::MastodonNotification => {
                "Mastodon notifications (objects with id, type, account, status)"
            }
            Format::Jetstream => "Bluesky Jetstream events (objects with did, time_us, kind)",
            Format::XStream => "X filtered-stream lines (objects with data, includes, errors)",
            Format::TelegramUpdate => "Telegram updates (objects with update_id and message)",
            Format::DiscordMessage => {
                "Discord messages (objects with id, channel_id, author, content)"
            }
            Format::GooglePlayReview => {
                "Google Play reviews (reviews.list pages, or objects with reviewId and comments)"
            }
            Format::YouTubeComment => {
                "YouTube comment threads or comments (pages with kind and items, or objects with kind and snippet)"
            }
        }
    }

    /// Whether posts keep the raw payload (network formats do; PROTOCOLS.md §0.1).
    fn is_network_payload(self) -> bool {
        matches!(
            self,
            Format::MastodonStatus
                | Format::MastodonNotification
                | Format::Jetstream
                | Format::XStream
                | Format::TelegramUpdate
                | Format::DiscordMessage
                | Format::GooglePlayReview
                | Format::YouTubeComment
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == wanted)
            .ok_or_else(|| ImportError::UnknownFormatName { name: s.to_owned() })
    }
}

/// Why a file cannot be imported at all (problems with single lines are [`Record`]s).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is empty: there is nothing to import", path.display())]
    Empty { path: PathBuf },
    #[error("cannot tell what {} holds: it starts with {seen}. earshot imports {}", path.display(), accepted_formats())]
    UnknownFormat { path: PathBuf, seen: String },
    #[error("{}: {source}", path.display())]
    CsvHeader {
        path: PathBuf,
        #[source]
        source: MissingColumns,
    },
    #[error("unknown import format {name:?}: expected one of {}", Format::ALL.map(Format::as_str).join(", "))]
    UnknownFormatName { name: String },
}

fn accepted_formats() -> String {
    Format::ALL.map(Format::description).join("; ")
}

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
mod pages;
mod readers;

pub use detect::detect;
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
            Source::Lines(lines) => match lines.next_payload() {
                Ok(Some(Payload::Bytes { line })) => {
                    let payload = std::mem::take(&mut lines.buf);
                    let record = self.convert(line, &payload);
                    if let Source::Lines(lines) = &mut self.source {
                        lines.buf = payload;
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
            },
            Source::Values(values) => match values.next_payload() {
                Ok(Some(Payload::Bytes { line })) => {
                    let payload = std::mem::take(&mut values.buf);
                    let record = self.convert(line, &payload);
                    if let Source::Values(values) = &mut self.source {
                        values.buf = payload;
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
            },
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
mod tests {
    use super::*;

    fn detect_str(s: &str) -> Result<Format, ImportError> {
        detect(Path::new("test.file"), s.as_bytes())
    }

    #[test]
    fn formats_are_told_apart() {
        let cases = [
            (r#"{"network":"x","id":"1","author":{"id":"u"},"text":"t","created_at":"2026-08-20T09:14:57Z"}"#, Format::Canonical),
            (r#"{"posts":[]}"#, Format::Canonical),
            ("tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n1,a,True,x,y,,", Format::TwcsCsv),
            ("row,main_tweet_id,tweet_id,in_response_to_tweet_id,response_tweet_id,created_at,author_id,inbound,text,company\n", Format::TwcsCsv),
            (r#"{"id":"1","uri":"u","content":"<p>x</p>","account":{"id":"2"}}"#, Format::MastodonStatus),
            (r#"[{"id":"1","created_at":"t","account":{"id":"2","note":"{\"type\":1}"},"content":"<p>x</p>"}]"#, Format::MastodonStatus),
            (r#"{"id":"1","type":"mention","created_at":"t","account":{"id":"2"},"status":{"content":"x"}}"#, Format::MastodonNotification),
            (r#"{"did":"did:plc:a","time_us":1,"kind":"identity","identity":{}}"#, Format::Jetstream),
            ("\r\n\r\n{\"data\":{\"id\":\"1\"},\"includes\":{}}", Format::XStream),
            (r#"[{"update_id":1,"message":{"message_id":2}}]"#, Format::TelegramUpdate),
            (r#"[{"id":"1","channel_id":"2","author":{"id":"3"},"content":"hi"}]"#, Format::DiscordMessage),
            (r#"{"reviews":[{"reviewId":"gp:1","comments":[]}]}"#, Format::GooglePlayReview),
            (r#"[{"reviewId":"gp:1","authorName":"M","comments":[]}]"#, Format::GooglePlayReview),
            (r#"{"kind":"youtube#commentThreadListResponse","etag":"x","items":[]}"#, Format::YouTubeComment),
            (r#"{"kind":"youtube#comment","etag":"x","id":"c","snippet":{}}"#, Format::YouTubeComment),
            (r#"{"errors":[{"title":"operational-disconnect"}]}"#, Format::XStream),
            ("\u{feff}  {\"network\":", Format::Canonical),
            ("[]", Format::Canonical),
        ];
        for (input, expected) in cases {
            assert_eq!(detect_str(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn a_truncated_sniff_window_still_shows_the_keys() {
        let cut = r#"{"did":"did:plc:a","time_us":1787217298123456,"kind":"commit","commit":{"rev":"3lxq7h2mfak2c","operation":"cre"#;
        assert_eq!(detect_str(cut).unwrap(), Format::Jetstream);
    }

    #[test]
    fn unknown_content_is_explained() {
        let e = detect_str(r#"{"foo":1,"bar":{"baz":[1,2]}}"#).unwrap_err();
        let message = e.to_string();
        assert!(message.contains("keys foo, bar"), "{message}");
        assert!(message.contains("TWCS CSV"), "{message}");
        assert!(message.contains("Jetstream"), "{message}");

        let e = detect_str("id,user,body\n1,2,3").unwrap_err();
        assert!(matches!(e, ImportError::CsvHeader { .. }), "{e}");
        assert!(e.to_string().contains("tweet_id"), "{e}");

        let e = detect_str("hello world").unwrap_err();
        assert!(e.to_string().contains("\"hello world\""), "{e}");
        assert!(matches!(
            detect_str(" \n\n "),
            Err(ImportError::Empty { .. })
        ));
        assert!(matches!(
            detect_str("[1,2]"),
            Err(ImportError::UnknownFormat { .. })
        ));
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert_eq!("X_Stream".parse::<Format>().unwrap(), Format::XStream);
        assert!("xml".parse::<Format>().is_err());
    }

    fn values(input: &str, array: bool) -> Vec<(usize, String)> {
        let mut reader = ValueReader::new(io::BufReader::with_capacity(7, input.as_bytes()), array);
        let mut out = Vec::new();
        while let Some(payload) = reader.next_payload().unwrap() {
            match payload {
                Payload::Bytes { line } => {
                    out.push((line, String::from_utf8(reader.buf.clone()).unwrap()))
                }
                Payload::TooLong { .. } => panic!("too long"),
            }
        }
        assert_eq!(reader.bytes_read, input.len() as u64);
        out
    }

    #[test]
    fn arrays_split_into_elements_with_their_lines() {
        let input =
            "[\n  {\"a\": \"}]\\\"\",\n   \"b\": [1, {\"c\": 2}]},\n  {\"d\": 1}\n, 5, \"s,]\"]\n";
        assert_eq!(
            values(input, true),
            [
                (
                    2,
                    "{\"a\": \"}]\\\"\",\n   \"b\": [1, {\"c\": 2}]}".to_owned()
                ),
                (4, "{\"d\": 1}".to_owned()),
                (5, "5".to_owned()),
                (5, "\"s,]\"".to_owned()),
            ]
        );
        assert!(values("[]", true).is_empty());
        assert_eq!(values("[1]", true), [(1, "1".to_owned())]);
    }

    #[test]
    fn concatenated_values_split_too() {
        let input = "{\n  \"a\": 1\n}\n{\n  \"b\": \"x\\ny\"\n}\n";
        assert_eq!(
            values(input, false),
            [
                (1, "{\n  \"a\": 1\n}".to_owned()),
                (4, "{\n  \"b\": \"x\\ny\"\n}".to_owned()),
            ]
        );
        // A value cut short by the end of the file is still handed over (to be rejected).
        assert_eq!(values("{\"a\":", false), [(1, "{\"a\":".to_owned())]);
    }

    #[test]
    fn lines_skip_blanks_and_count_every_line() {
        let input = "\u{feff}{\"a\":1}\r\n\r\n  \n{\"b\":2}\n{\"c\":3}";
        let mut reader = LineReader::new(io::BufReader::with_capacity(5, input.as_bytes()));
        let mut out = Vec::new();
        while let Some(Payload::Bytes { line }) = reader.next_payload().unwrap() {
            out.push((line, String::from_utf8(reader.buf.clone()).unwrap()));
        }
        assert_eq!(
            out,
            [
                (1, "{\"a\":1}".to_owned()),
                (4, "{\"b\":2}".to_owned()),
                (5, "{\"c\":3}".to_owned()),
            ]
        );
        assert_eq!(reader.bytes_read, input.len() as u64);
    }

    #[test]
    fn json_shapes() {
        assert_eq!(json_shape(b"{\"a\":1}\n{\"a\":2}"), JsonShape::Lines);
        assert_eq!(json_shape(b"\n{\n  \"a\": 1\n}"), JsonShape::Concatenated);
        assert_eq!(json_shape(b"  [\n{}"), JsonShape::Array);
    }
}
