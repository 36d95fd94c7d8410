//! Sniffing a file's format from its first bytes: a CSV header, or the keys of the first JSON
//! object, read by a small scanner that never parses the whole value.

use super::{Format, ImportError};
use crate::twcs::TwcsLayout;
use std::path::Path;

/// Decides what a file holds from its first bytes: a CSV header, or the keys of the first
/// JSON object (the first element of a top-level array). `path` only names the file in
/// errors.
pub fn detect(path: &Path, first_bytes: &[u8]) -> Result<Format, ImportError> {
    let bytes = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(ImportError::Empty {
            path: path.to_owned(),
        });
    };
    let bytes = &bytes[start..];
    let unknown = |seen: String| ImportError::UnknownFormat {
        path: path.to_owned(),
        seen,
    };
    match bytes[0] {
        b'[' => {
            let after = skip_ws(bytes, 1);
            match bytes.get(after) {
                None | Some(b']') => Ok(Format::Canonical),
                Some(b'{') => {
                    let keys = object_keys(&bytes[after..]);
                    classify_keys(&keys).ok_or_else(|| {
                        unknown(format!(
                            "a JSON array of objects with keys {}",
                            key_list(&keys)
                        ))
                    })
                }
                Some(_) => Err(unknown(
                    "a JSON array of something other than objects".into(),
                )),
            }
        }
        b'{' => {
            let keys = object_keys(bytes);
            classify_keys(&keys)
                .ok_or_else(|| unknown(format!("a JSON object with keys {}", key_list(&keys))))
        }
        _ => {
            let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            let header = csv_header_cells(first_line);
            match TwcsLayout::from_header(header.iter().map(Vec::as_slice)) {
                Ok(_) => Ok(Format::TwcsCsv),
                Err(missing) if header.len() > 2 => Err(ImportError::CsvHeader {
                    path: path.to_owned(),
                    source: missing,
                }),
                Err(_) => Err(unknown(format!(
                    "{:?}",
                    crate::de::shorten(&String::from_utf8_lossy(first_line))
                ))),
            }
        }
    }
}

pub(super) fn classify_keys(keys: &[String]) -> Option<Format> {
    let has = |k: &str| keys.iter().any(|key| key == k);
    if has("network") || has("posts") {
        Some(Format::Canonical)
    } else if has("reviewId") || has("reviews") && !has("data") {
        Some(Format::GooglePlayReview)
    } else if has("kind") && (has("snippet") || has("items")) {
        Some(Format::YouTubeComment)
    } else if has("update_id") {
        Some(Format::TelegramUpdate)
    } else if has("channel_id") && has("author") {
        Some(Format::DiscordMessage)
    } else if has("kind") && (has("did") || has("time_us")) || has("commit") && has("did") {
        Some(Format::Jetstream)
    } else if has("data") || has("matching_rules") || has("includes") || has("errors") {
        Some(Format::XStream)
    } else if has("type") && has("account") && !has("content") {
        Some(Format::MastodonNotification)
    } else if has("content") && (has("account") || has("uri") || has("spoiler_text"))
        || has("visibility")
        || has("spoiler_text")
        || has("uri") && has("created_at")
    {
        Some(Format::MastodonStatus)
    } else {
        None
    }
}

pub(super) fn key_list(keys: &[String]) -> String {
    if keys.is_empty() {
        return "(none read)".to_owned();
    }
    let shown: Vec<&str> = keys.iter().take(12).map(String::as_str).collect();
    let more = if keys.len() > 12 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

pub(super) fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The top-level keys of the JSON object `bytes` starts with, reading as far as it can:
/// the sniff window may cut the object short, and a broken object still tells its keys.
pub(super) fn object_keys(bytes: &[u8]) -> Vec<String> {
    let mut keys = Vec::new();
    if bytes.first() != Some(&b'{') {
        return keys;
    }
    let mut i = 1;
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i) {
            Some(b'"') => {}
            _ => return keys,
        }
        let Some((key, end)) = read_string(bytes, i) else {
            return keys;
        };
        keys.push(key);
        i = skip_ws(bytes, end);
        if bytes.get(i) != Some(&b':') {
            return keys;
        }
        let Some(end) = skip_value(bytes, i + 1) else {
            return keys;
        };
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => i += 1,
            _ => return keys,
        }
    }
}

/// Reads the JSON string starting at `bytes[start] == '"'`; returns it and the index after it.
pub(super) fn read_string(bytes: &[u8], start: usize) -> Option<(String, usize)> {
    let mut i = start + 1;
    let mut escaped = false;
    while let Some(&b) = bytes.get(i) {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            let raw = &bytes[start..=i];
            let key = serde_json::from_slice::<String>(raw)
                .unwrap_or_else(|_| String::from_utf8_lossy(&raw[1..raw.len() - 1]).into_owned());
            return Some((key, i + 1));
        }
        i += 1;
    }
    None
}

/// Skips one JSON value starting at (or after whitespace from) `start`.
pub(super) fn skip_value(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = skip_ws(bytes, start);
    let mut depth = 0usize;
    loop {
        let b = *bytes.get(i)?;
        match b {
            b'"' => {
                let (_, end) = read_string(bytes, i)?;
                i = end;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
}

/// The cells of a CSV header line (quotes removed; headers do not hold commas in practice).
pub(super) fn csv_header_cells(line: &[u8]) -> Vec<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.split(|b| *b == b',')
        .map(|cell| {
            let cell = cell.trim_ascii();
            let cell = cell
                .strip_prefix(b"\"")
                .and_then(|c| c.strip_suffix(b"\""))
                .unwrap_or(cell);
            cell.to_vec()
        })
        .collect()
}
