//! The "Customer Support on Twitter" (TWCS) CSV layout: `tweet_id, author_id, inbound,
//! created_at, text, response_tweet_id, in_response_to_tweet_id`.
//!
//! Columns are found by name in the header, so the hand-labelled variant (extra `row`,
//! `main_tweet_id`, `company` and label columns, other order, `inbound` as `1`/`0`,
//! `created_at` as `2017-10-07 10:33:00+00:00`) reads too. Each row maps to a post on
//! [`Network::X`]: `external_id` = `tweet_id`, author id and handle = `author_id` (a brand
//! handle, or an anonymised number for customers), `from_brand` = `!inbound`, `in_reply_to` =
//! `in_response_to_tweet_id` (pandas' `"3.0"` written as `"3"`).

use crate::InvalidPost;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use earshot_core::{Author, Network, NewPost};

/// The columns a TWCS file must have.
pub const REQUIRED_COLUMNS: [&str; 5] = ["tweet_id", "author_id", "inbound", "created_at", "text"];

/// Where each TWCS column sits in a particular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwcsLayout {
    tweet_id: usize,
    author_id: usize,
    inbound: usize,
    created_at: usize,
    text: usize,
    in_response_to_tweet_id: Option<usize>,
}

/// A header that lacks TWCS columns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the CSV header lacks {missing:?} (it has {found:?}); the TWCS layout needs tweet_id, author_id, inbound, created_at, text")]
pub struct MissingColumns {
    pub missing: Vec<&'static str>,
    pub found: Vec<String>,
}

impl TwcsLayout {
    /// Finds the columns by name (case-insensitive, surrounding spaces and a BOM ignored).
    pub fn from_header<'a>(
        header: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<TwcsLayout, MissingColumns> {
        let found: Vec<String> = header
            .into_iter()
            .map(|name| {
                let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
                String::from_utf8_lossy(name).trim().to_ascii_lowercase()
            })
            .collect();
        let position = |name: &str| found.iter().position(|c| c == name);
        let columns: Vec<Option<usize>> = REQUIRED_COLUMNS.iter().map(|n| position(n)).collect();
        let missing: Vec<&'static str> = REQUIRED_COLUMNS
            .iter()
            .zip(&columns)
            .filter(|(_, c)| c.is_none())
            .map(|(n, _)| *n)
            .collect();
        match columns.as_slice() {
            [Some(tweet_id), Some(author_id), Some(inbound), Some(created_at), Some(text)] => {
                Ok(TwcsLayout {
                    tweet_id: *tweet_id,
                    author_id: *author_id,
                    inbound: *inbound,
                    created_at: *created_at,
                    text: *text,
                    in_response_to_tweet_id: position("in_response_to_tweet_id"),
                })
            }
            _ => Err(MissingColumns { missing, found }),
        }
    }

    /// One row as a post.
    pub fn post(&self, row: &csv::ByteRecord) -> Result<NewPost, InvalidPost> {
        let field = |index: usize, name: &'static str| -> Result<&str, InvalidPost> {
            let bytes = row.get(index).ok_or_else(|| {
                InvalidPost::field(
                    name,
                    format!(
                        "the row has {} fields; {name} is column {}",
                        row.len(),
                        index + 1
                    ),
                )
            })?;
            std::str::from_utf8(bytes).map_err(|_| InvalidPost::field(name, "not valid UTF-8"))
        };
        let tweet_id = id_cell(field(self.tweet_id, "tweet_id")?);
        if tweet_id.is_empty() {
            return Err(InvalidPost::field("tweet_id", "missing tweet_id"));
        }
        let author_id = field(self.author_id, "author_id")?.trim();
        if author_id.is_empty() {
            return Err(InvalidPost::field("author_id", "missing author_id"));
        }
        let inbound = parse_inbound(field(self.inbound, "inbound")?)?;
        let created_at = field(self.created_at, "created_at")?;
        let created_at = parse_created_at(created_at).ok_or_else(|| {
            InvalidPost::field(
                "created_at",
                format!(
                    "{:?} is not a time like \"Tue Oct 31 22:10:10 +0000 2017\"",
                    crate::de::shorten(created_at)
                ),
            )
        })?;
        let text = field(self.text, "text")?;
        if text.trim().is_empty() {
            return Err(InvalidPost::field("text", "missing text"));
        }
        let in_reply_to = match self.in_response_to_tweet_id {
            Some(i) => match row.get(i) {
                Some(bytes) => {
                    let cell = std::str::from_utf8(bytes).map_err(|_| {
                        InvalidPost::field("in_response_to_tweet_id", "not valid UTF-8")
                    })?;
                    Some(id_cell(cell))
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                }
                None => None,
            },
            None => None,
        };
        Ok(NewPost {
            in_reply_to,
            from_brand: Some(!inbound),
            ..NewPost::new(
                Network::X,
                tweet_id,
                Author::new(author_id, author_id.trim_start_matches('@')),
                crate::clamp_text(text.to_owned()),
                created_at,
            )
        })
    }
}

/// An id cell: trimmed, with a float-style `.0` tail removed (`"3.0"` → `"3"`), as pandas
/// writes integer columns that have gaps.
fn id_cell(cell: &str) -> &str {
    let cell = cell.trim();
    match cell.strip_suffix(".0") {
        Some(int) if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) => int,
        _ => cell,
    }
}

fn parse_inbound(cell: &str) -> Result<bool, InvalidPost> {
    match cell.trim() {
        "True" | "true" | "TRUE" | "1" | "1.0" => Ok(true),
        "False" | "false" | "FALSE" | "0" | "0.0" => Ok(false),
        other => Err(InvalidPost::field(
            "inbound",
            format!("{:?} is not True/False or 1/0", crate::de::shorten(other)),
        )),
    }
}

/// Reads TWCS times: Twitter's `Tue Oct 31 22:10:10 +0000 2017` (the fast path), the
/// labelled files' `2017-10-07 10:33:00+00:00` (or without an offset, meaning UTC), and
/// RFC 3339.
pub fn parse_created_at(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Some(t) = parse_twitter_time(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%#z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// `Tue Oct 31 22:10:10 +0000 2017`, parsed by position: millions of rows make chrono's
/// general parser the slowest part of an import.
fn parse_twitter_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 30
        || b[3] != b' '
        || b[7] != b' '
        || b[10] != b' '
        || b[19] != b' '
        || b[25] != b' '
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let month = match &b[4..7] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = i32::try_from(num(26..30)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, month, num(8..10)?)?;
    let local = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    let sign = match b[20] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset_minutes = i64::from(num(21..23)? * 60 + num(23..25)?);
    let utc = local - chrono::Duration::minutes(sign * offset_minutes);
    Some(utc.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(header: &str) -> Result<TwcsLayout, MissingColumns> {
        TwcsLayout::from_header(header.split(',').map(str::as_bytes))
    }

    fn row(cells: &[&str]) -> csv::ByteRecord {
        csv::ByteRecord::from(cells.to_vec())
    }

    const HEADER: &str =
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id";

    #[test]
    fn a_brand_reply_row() {
        let l = layout(HEADER).unwrap();
        let post = l
            .post(&row(&[
                "19",
                "sprintcare",
                "False",
                "Tue Oct 31 22:10:10 +0000 2017",
                "@115715 Please send me a private message so that I can send you the link to access your account. -FR",
                "",
                "20",
            ]))
            .unwrap();
        assert_eq!(post.network, Network::X);
        assert_eq!(post.external_id, "19");
        assert_eq!(post.author.handle, "sprintcare");
        assert_eq!(post.author.external_id, "sprintcare");
        assert_eq!(post.from_brand, Some(true));
        assert_eq!(post.in_reply_to.as_deref(), Some("20"));
        assert_eq!(post.created_at.to_rfc3339(), "2017-10-31T22:10:10+00:00");
    }

    #[test]
    fn the_labelled_layout_reads_too() {
        let l = layout("row,main_tweet_id,tweet_id,in_response_to_tweet_id,response_tweet_id,created_at,author_id,inbound,text,company,Provide URL").unwrap();
        let post = l
            .post(&row(&[
                "0",
                "318645",
                "318647",
                "318645.0",
                "",
                "2017-10-07 10:33:00+00:00",
                "AmazonHelp",
                "0",
                "@181708 Please report this to our support team",
                "AmazonHelp",
                "1",
            ]))
            .unwrap();
        assert_eq!(post.external_id, "318647");
        assert_eq!(post.in_reply_to.as_deref(), Some("318645"));
        assert_eq!(post.from_brand, Some(true));
        assert_eq!(post.created_at.to_rfc3339(), "2017-10-07T10:33:00+00:00");
    }

    #[test]
    fn a_header_without_the_columns_is_explained() {
        let e = layout("id,user,body").unwrap_err();
        assert_eq!(e.missing, REQUIRED_COLUMNS.to_vec());
        assert!(e.to_string().contains("\"user\""), "{e}");
        assert!(layout("\u{feff}Tweet_ID, author_id ,inbound,created_at,text").is_ok());
    }

    #[test]
    fn bad_cells_name_their_column() {
        let l = layout(HEADER).unwrap();
        let bad = |cells: &[&str]| l.post(&row(cells)).unwrap_err().field;
        let good = [
            "1",
            "a",
            "True",
            "Tue Oct 31 22:10:10 +0000 2017",
            "hi",
            "",
            "",
        ];
        assert!(l.post(&row(&good)).is_ok());
        let with = |i: usize, v: &'static str| {
            let mut cells = good;
            cells[i] = v;
            cells
        };
        assert_eq!(bad(&with(0, "")), Some("tweet_id"));
        assert_eq!(bad(&with(1, " ")), Some("author_id"));
        assert_eq!(bad(&with(2, "maybe")), Some("inbound"));
        assert_eq!(
            bad(&with(3, "Tue Oct 32 22:10:10 +0000 2017")),
            Some("created_at")
        );
        assert_eq!(bad(&with(4, "")), Some("text"));
        assert_eq!(bad(&good[..3]), Some("created_at"));
    }

    #[test]
    fn twitter_times_match_chrono() {
        for s in [
            "Tue Oct 31 22:10:10 +0000 2017",
            "Wed Feb 28 23:59:59 -0130 2018",
            "Sun Jan 01 00:00:00 +1400 2017",
        ] {
            let fast = parse_twitter_time(s).unwrap();
            let slow = DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y").unwrap();
            assert_eq!(fast, slow.with_timezone(&Utc), "{s}");
        }
        assert_eq!(parse_twitter_time("Tue Oct 31 25:10:10 +0000 2017"), None);
        assert_eq!(
            parse_created_at("2017-10-07 10:33:00")
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2017-10-07T10:33:00+00:00")
        );
        assert!(parse_created_at("2026-08-20T09:14:57Z").is_some());
        assert!(parse_created_at("yesterday").is_none());
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_chrono(secs in 0i64..4_000_000_000, offset_min in -840i32..=840) {
            let offset = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let t = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&offset);
            let s = t.format("%a %b %d %H:%M:%S %z %Y").to_string();
            proptest::prop_assert_eq!(parse_created_at(&s), Some(t.with_timezone(&Utc)));
        }
    }
}
