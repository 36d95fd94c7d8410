//! Readers that hold one record at a time: lines (JSONL, CSV) and values of a top-level
//! array or of pretty-printed objects one after another, each capped at
//! [`MAX_LINE_BYTES`](super::MAX_LINE_BYTES).

use super::detect::skip_ws;
use super::MAX_LINE_BYTES;
use std::io::{self, BufRead};

/// How JSON is laid out in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonShape {
    /// One value a line (JSONL / NDJSON).
    Lines,
    /// One top-level array.
    Array,
    /// Pretty-printed values one after another (the first line is a lone `{`).
    Concatenated,
}

pub(super) fn json_shape(head: &[u8]) -> JsonShape {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = skip_ws(head, 0);
    match head.get(start) {
        Some(b'[') => JsonShape::Array,
        Some(b'{') => {
            let first_line = head[start..]
                .split(|b| *b == b'\n')
                .next()
                .unwrap_or_default();
            if first_line.trim_ascii() == b"{" {
                JsonShape::Concatenated
            } else {
                JsonShape::Lines
            }
        }
        _ => JsonShape::Lines,
    }
}

/// What a reader found next.
pub(super) enum Payload {
    /// A payload, now in the reader's `buf`, starting on `line`.
    Bytes { line: usize },
    /// A payload over [`MAX_LINE_BYTES`], skipped unread.
    TooLong { line: usize, bytes: usize },
}

/// Reads lines, holding at most [`MAX_LINE_BYTES`] of one at a time.
pub(super) struct LineReader<R> {
    pub(super) reader: R,
    pub(super) buf: Vec<u8>,
    pub(super) line: usize,
    pub(super) bytes_read: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(super) fn new(reader: R) -> Self {
        LineReader {
            reader,
            buf: Vec::with_capacity(4096),
            line: 0,
            bytes_read: 0,
        }
    }

    /// The next non-blank line, without its line ending; blank lines (X's keep-alives) are
    /// passed over.
    pub(super) fn next_payload(&mut self) -> Result<Option<Payload>, (usize, io::Error)> {
        loop {
            self.buf.clear();
            let mut length = 0usize;
            let mut saw_any = false;
            loop {
                let available = match self.reader.fill_buf() {
                    Ok(available) => available,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err((self.line + 1, e)),
                };
                if available.is_empty() {
                    break;
                }
                saw_any = true;
                let (chunk, consumed, end_of_line) =
                    match available.iter().position(|b| *b == b'\n') {
                        Some(i) => (&available[..i], i + 1, true),
                        None => (available, available.len(), false),
                    };
                length += chunk.len();
                if length <= MAX_LINE_BYTES {
                    self.buf.extend_from_slice(chunk);
                }
                self.reader.consume(consumed);
                self.bytes_read += consumed as u64;
                if end_of_line {
                    break;
                }
            }
            if !saw_any {
                return Ok(None);
            }
            self.line += 1;
            if length > MAX_LINE_BYTES {
                self.buf.clear();
                return Ok(Some(Payload::TooLong {
                    line: self.line,
                    bytes: length,
                }));
            }
            if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(Payload::Bytes { line: self.line }));
            }
        }
    }
}

/// Splits JSON into top-level values (`array: false`) or into the elements of one top-level
/// array (`array: true`), holding one value at a time.
pub(super) struct ValueReader<R> {
    pub(super) reader: R,
    pub(super) array: bool,
    pub(super) buf: Vec<u8>,
    /// The current line (1-based) of the next byte.
    pub(super) line: usize,
    pub(super) bytes_read: u64,
    pub(super) state: SplitState,
    pub(super) finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SplitState {
    /// Before the array's `[` (array mode only).
    BeforeArray,
    /// Between values.
    Between,
    /// Inside a value.
    InValue {
        depth: usize,
        in_string: bool,
        escaped: bool,
        /// Whether the value is an object or array (ends at its closing bracket) rather than
        /// a scalar (ends at a separator).
        nested: bool,
    },
    /// After the array's `]`.
    AfterArray,
}

impl<R: BufRead> ValueReader<R> {
    pub(super) fn new(reader: R, array: bool) -> Self {
        ValueReader {
            reader,
            array,
            buf: Vec::with_capacity(4096),
            line: 1,
            bytes_read: 0,
            state: if array {
                SplitState::BeforeArray
            } else {
                SplitState::Between
            },
            finished: false,
        }
    }

    pub(super) fn next_payload(&mut self) -> Result<Option<Payload>, (usize, io::Error)> {
        if self.finished {
            return Ok(None);
        }
        self.buf.clear();
        let mut start_line = self.line;
        let mut length = 0usize;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err((self.line, e)),
            };
            if available.is_empty() {
                self.finished = true;
                return Ok(match self.state {
                    SplitState::InValue { .. } if length > MAX_LINE_BYTES => {
                        Some(Payload::TooLong {
                            line: start_line,
                            bytes: length,
                        })
                    }
                    // A value cut off by the end of the file: hand it over, and the JSON
                    // parser rejects it with its own message.
                    SplitState::InValue { .. } => Some(Payload::Bytes { line: start_line }),
                    _ => None,
                });
            }
            // Where this chunk's part of the value starts, and (once known) where the value
            // ends and how much of the chunk is used up.
            let mut value_from = matches!(self.state, SplitState::InValue { .. }).then_some(0);
            let mut finished_at: Option<(usize, usize)> = None;
            for (i, &b) in available.iter().enumerate() {
                match &mut self.state {
                    SplitState::BeforeArray => {
                        if b == b'[' {
                            self.state = SplitState::Between;
                        }
                    }
                    SplitState::AfterArray => {}
                    SplitState::Between => {
                        if b.is_ascii_whitespace() || b == b',' || matches!(b, 0xEF | 0xBB | 0xBF) {
                            // Separators (and a byte-order mark) between values.
                        } else if self.array && b == b']' {
                            self.state = SplitState::AfterArray;
                        } else {
                            start_line = self.line;
                            value_from = Some(i);
                            let nested = b == b'{' || b == b'[';
                            self.state = SplitState::InValue {
                                depth: usize::from(nested),
                                in_string: b == b'"',
                                escaped: false,
                                nested,
                            };
                        }
                    }
                    SplitState::InValue {
                        depth,
                        in_string,
                        escaped,
                        nested,
                    } => {
                        if *in_string {
                            if *escaped {
                                *escaped = false;
                            } else if b == b'\\' {
                                *escaped = true;
                            } else if b == b'"' {
                                *in_string = false;
                            }
                        } else if *nested {
                            match b {
                                b'"' => *in_string = true,
                                b'{' | b'[' => *depth += 1,
                                b'}' | b']' => {
                                    *depth -= 1;
                                    if *depth == 0 {
                                        // The closing bracket belongs to the value.
                                        finished_at = Some((i + 1, i + 1));
                                    }
                                }
                                _ => {}
                            }
                        } else if b == b',' || b == b']' || b == b'}' || b.is_ascii_whitespace() {
                            // A scalar ends before its separator, which is left for the
                            // next call to read as a separator.
                            finished_at = Some((i, i));
                        } else if b == b'"' {
                            *in_string = true;
                        }
                    }
                }
                if finished_at.is_some() {
                    break;
                }
                if b == b'\n' {
                    self.line += 1;
                }
            }
            let (value_end, consumed) = finished_at.unwrap_or((available.len(), available.len()));
            if let Some(from) = value_from {
                let chunk = &available[from..value_end];
                length += chunk.len();
                if length <= MAX_LINE_BYTES {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(consumed);
            self.bytes_read += consumed as u64;
            if finished_at.is_some() {
                self.state = SplitState::Between;
                if length > MAX_LINE_BYTES {
                    return Ok(Some(Payload::TooLong {
                        line: start_line,
                        bytes: length,
                    }));
                }
                return Ok(Some(Payload::Bytes { line: start_line }));
            }
        }
    }
}
