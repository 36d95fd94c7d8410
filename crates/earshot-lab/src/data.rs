//! Readers for the labelled sets under `shared/data` (see its README), all in one shape: an
//! [`Example`] with its text, language, split and whatever gold labels the set has.
//!
//! Splits: a set's own train/validation files are used as they are. A set that ships one
//! labelled file is split here by a hash of the normalised text (identical texts stay on one
//! side): 70% train, 30% validation — the same split `earshot-analyze` always used for
//! complaints-twitter and clap-app-reviews. The held-out test files are not in the repository
//! and never read.
//!
//! Label mappings:
//! - sentiment sets: negative / neutral / positive (TweetEval and XLM-T: 0 / 1 / 2); Sanders'
//!   `irrelevant` and ASTD's `mixed` rows are left out; sentiment140 and Mozetič have no neutral.
//! - complaints-twitter: 1 → complaint, 0 → not.
//! - clap-app-reviews: FEATURE → feature request; BUG, PERFORMANCE, ENERGY, SECURITY,
//!   USABILITY → complaint; OTHER → neither.
//! - airline-cs-intents: NEWFEAT → feature request, every other intent → not.

use crate::overlap::norm_key;
use earshot_analyze::fingerprint::hash_bytes;
use earshot_core::analysis::SentimentLabel;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source} (is --data the shared/data folder?)", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Format {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// What a set's licence allows, as its README states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Licence {
    /// An explicit licence that allows commercial use (MIT, Apache-2.0, CC BY, CC BY-SA, GPL).
    Open,
    /// No licence of its own; the texts fall under the network's terms.
    Unstated,
    /// Non-commercial only (CC BY-NC*, "research or hobby").
    NonCommercial,
}

impl Licence {
    pub fn as_str(self) -> &'static str {
        match self {
            Licence::Open => "open",
            Licence::Unstated => "unstated",
            Licence::NonCommercial => "non-commercial",
        }
    }
}

/// One labelled set: its folder, what it holds and its licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetInfo {
    pub name: &'static str,
    pub licence: Licence,
    /// The licence in words, from the set's README.
    pub terms: &'static str,
}

pub const SETS: &[SetInfo] = &[
    SetInfo {
        name: "tweeteval-sentiment",
        licence: Licence::Unstated,
        terms: "none of its own; SemEval's and Twitter's terms",
    },
    SetInfo {
        name: "xlmt-sentiment",
        licence: Licence::Unstated,
        terms: "none stated; Twitter's terms",
    },
    SetInfo {
        name: "semeval2016-devtest",
        licence: Licence::Unstated,
        terms: "SemEval / Twitter's terms",
    },
    SetInfo {
        name: "sentiment140-sample",
        licence: Licence::Unstated,
        terms: "repository MIT; tweets under Twitter's terms, Sentiment140 states none",
    },
    SetInfo {
        name: "sanders-twitter",
        licence: Licence::Unstated,
        terms: "\"free to use\" (author); tweets under Twitter's terms",
    },
    SetInfo {
        name: "airline-tweets",
        licence: Licence::NonCommercial,
        terms: "CC BY-NC-SA 4.0",
    },
    SetInfo {
        name: "mozetic-twitter-sentiment",
        licence: Licence::Open,
        terms: "labels CC BY-SA 4.0; tweets under Twitter's terms",
    },
    SetInfo {
        name: "swe-sentiment-emoji",
        licence: Licence::NonCommercial,
        terms: "\"research or hobby projects\"",
    },
    SetInfo {
        name: "norec-sentence",
        licence: Licence::NonCommercial,
        terms: "CC BY-NC 4.0 (its README allows commercial use of trained models)",
    },
    SetInfo {
        name: "lcc-danish-sentiment",
        licence: Licence::Open,
        terms: "CC BY",
    },
    SetInfo {
        name: "astd-arabic",
        licence: Licence::Open,
        terms: "GPL-2.0",
    },
    SetInfo {
        name: "complaints-twitter",
        licence: Licence::Unstated,
        terms: "none stated",
    },
    SetInfo {
        name: "clap-app-reviews",
        licence: Licence::Unstated,
        terms: "none stated",
    },
    SetInfo {
        name: "airline-cs-intents",
        licence: Licence::NonCommercial,
        terms: "CC BY-NC-SA 4.0 (from TWCS)",
    },
];

pub fn set_info(name: &str) -> Option<&'static SetInfo> {
    SETS.iter().find(|s| s.name == name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Val,
}

/// One labelled text. A label a set does not have is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub set: &'static str,
    /// A sub-part of the set (`english`, `german`, `70% part`, ...), for the report.
    pub part: &'static str,
    pub lang: &'static str,
    pub split: Split,
    pub text: String,
    pub sentiment: Option<SentimentLabel>,
    pub complaint: Option<bool>,
    pub feature_request: Option<bool>,
}

impl Example {
    /// The set and its part ("xlmt-sentiment danish"), as the reports name a group.
    pub fn set_and_part(&self) -> String {
        if self.part.is_empty() {
            self.set.to_string()
        } else {
            format!("{} {}", self.set, self.part)
        }
    }

    /// An example with no labels yet.
    pub(crate) fn new(
        set: &'static str,
        part: &'static str,
        lang: &'static str,
        split: Split,
        text: String,
    ) -> Self {
        Example {
            set,
            part,
            lang,
            split,
            text,
            sentiment: None,
            complaint: None,
            feature_request: None,
        }
    }

    fn with_sentiment(mut self, s: SentimentLabel) -> Self {
        self.sentiment = Some(s);
        self
    }
}

/// The xlm-t languages and their codes (Hindi is not a language earshot serves).
pub const XLMT_LANGUAGES: &[(&str, &str)] = &[
    ("english", "en"),
    ("french", "fr"),
    ("german", "de"),
    ("italian", "it"),
    ("portuguese", "pt"),
    ("spanish", "es"),
    ("arabic", "ar"),
];

/// The Mozetič languages: (file prefix, code).
pub const MOZETIC_LANGUAGES: &[(&str, &str)] = &[
    ("german", "de"),
    ("swedish", "sv"),
    ("spanish", "es"),
    ("portuguese", "pt"),
];

/// Whether a text of a single-file set falls in its 70% training part.
pub fn in_train_part(text: &str) -> bool {
    hash_bytes(2024, norm_key(text).as_bytes()) % 10 < 7
}

fn split_of(text: &str) -> Split {
    if in_train_part(text) {
        Split::Train
    } else {
        Split::Val
    }
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn format_error(path: &Path, line: u64, message: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn sentiment_word(path: &Path, line: u64, s: &str) -> Result<Option<SentimentLabel>, DataError> {
    match s.trim() {
        "negative" | "0" => Ok(Some(SentimentLabel::Negative)),
        "neutral" | "1" => Ok(Some(SentimentLabel::Neutral)),
        "positive" | "2" => Ok(Some(SentimentLabel::Positive)),
        // Sanders' off-topic rows and ASTD's mixed ones carry no usable polarity.
        "irrelevant" | "mixed" => Ok(None),
        other => Err(format_error(
            path,
            line,
            format!("label {other:?} is not a sentiment"),
        )),
    }
}

/// Text and label files that line up line by line (TweetEval, XLM-T).
fn paired(
    text: &Path,
    labels: &Path,
    mut push: impl FnMut(String, SentimentLabel),
) -> Result<(), DataError> {
    let t = read(text)?;
    let l = read(labels)?;
    let (t, l): (Vec<&str>, Vec<&str>) = (t.lines().collect(), l.lines().collect());
    if t.len() != l.len() {
        return Err(format_error(
            labels,
            l.len().min(t.len()) as u64,
            format!("{} texts but {} labels", t.len(), l.len()),
        ));
    }
    for (i, (text, id)) in t.into_iter().zip(l).enumerate() {
        if let Some(s) = sentiment_word(labels, i as u64 + 1, id)? {
            push(text.to_string(), s);
        }
    }
    Ok(())
}

/// A CSV with a header; `row` gets the named columns of each record.
fn csv_rows(
    path: &Path,
    columns: &[&str],
    mut row: impl FnMut(u64, &[&str]) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = rdr
        .headers()
        .map_err(|e| format_error(path, 1, e.to_string()))?
        .clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == *c)
                .ok_or_else(|| format_error(path, 1, format!("no column {c:?}")))
        })
        .collect::<Result<_, _>>()?;
    for rec in rdr.records() {
        let rec = rec
            .map_err(|e| format_error(path, e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let cells: Vec<&str> = idx.iter().map(|&i| rec.get(i).unwrap_or("")).collect();
        row(line, &cells)?;
    }
    Ok(())
}

/// Every sentiment example of every set, train and validation parts.
pub fn sentiment(data: &Path) -> Result<Vec<Example>, DataError> {
    let mut out = Vec::new();
    let dir = data.join("tweeteval-sentiment");
    for (split, prefix) in [(Split::Train, "train_reconstructed"), (Split::Val, "val")] {
        paired(
            &dir.join(format!("{prefix}_text.txt")),
            &dir.join(format!("{prefix}_labels.txt")),
            |t, s| {
                out.push(Example::new("tweeteval-sentiment", "", "en", split, t).with_sentiment(s))
            },
        )?;
    }
    for &(name, code) in XLMT_LANGUAGES {
        let dir = data.join("xlmt-sentiment").join(name);
        for (split, prefix) in [(Split::Train, "train"), (Split::Val, "val")] {
            paired(
                &dir.join(format!("{prefix}_text.txt")),
                &dir.join(format!("{prefix}_labels.txt")),
                |t, s| {
                    out.push(Example::new("xlmt-sentiment", name, code, split, t).with_sentiment(s))
                },
            )?;
        }
    }
    let p = data.join("semeval2016-devtest/train.csv");
    csv_rows(&p, &["text", "label"], |line, c| {
        if let Some(s) = sentiment_word(&p, line, c[1])? {
            let split = split_of(c[0]);
            out.push(
                Example::new("semeval2016-devtest", "", "en", split, c[0].into()).with_sentiment(s),
            );
        }
        Ok(())
    })?;
    for (split, file) in [(Split::Train, "train.csv"), (Split::Val, "val.csv")] {
        let p = data.join("sentiment140-sample").join(file);
        csv_rows(&p, &["text", "label"], |line, c| {
            if let Some(s) = sentiment_word(&p, line, c[1])? {
                out.push(
                    Example::new("sentiment140-sample", "", "en", split, c[0].into())
                        .with_sentiment(s),
                );
            }
            Ok(())
        })?;
    }
    let p = data.join("sanders-twitter/train.csv");
    csv_rows(&p, &["text", "label"], |line, c| {
        if let Some(s) = sentiment_word(&p, line, c[1])? {
            out.push(
                Example::new("sanders-twitter", "", "en", split_of(c[0]), c[0].into())
                    .with_sentiment(s),
            );
        }
        Ok(())
    })?;
    let p = data.join("airline-tweets/dev.csv");
    csv_rows(
        &p,
        &["text", "airline_sentiment", "negativereason"],
        |line, c| {
            if let Some(s) = sentiment_word(&p, line, c[1])? {
                let mut e = Example::new("airline-tweets", "", "en", split_of(c[0]), c[0].into())
                    .with_sentiment(s);
                // A negative tweet to an airline with a named reason is a complaint; "Can't Tell"
                // and the other labels say nothing sure.
                e.complaint = match s {
                    SentimentLabel::Negative if !c[2].is_empty() && c[2] != "Can't Tell" => {
                        Some(true)
                    }
                    SentimentLabel::Positive => Some(false),
                    _ => None,
                };
                out.push(e);
            }
            Ok(())
        },
    )?;
    for &(name, code) in MOZETIC_LANGUAGES {
        let p = data.join(format!("mozetic-twitter-sentiment/{name}_train.csv"));
        csv_rows(&p, &["text", "label"], |line, c| {
            if let Some(s) = sentiment_word(&p, line, c[1])? {
                out.push(
                    Example::new(
                        "mozetic-twitter-sentiment",
                        name,
                        code,
                        split_of(c[0]),
                        c[0].into(),
                    )
                    .with_sentiment(s),
                );
            }
            Ok(())
        })?;
    }
    let p = data.join("swe-sentiment-emoji/train.csv");
    csv_rows(&p, &["text", "label"], |line, c| {
        if let Some(s) = sentiment_word(&p, line, c[1])? {
            out.push(
                Example::new("swe-sentiment-emoji", "", "sv", split_of(c[0]), c[0].into())
                    .with_sentiment(s),
            );
        }
        Ok(())
    })?;
    for (split, file) in [(Split::Train, "train.csv"), (Split::Val, "val.csv")] {
        let p = data.join("norec-sentence").join(file);
        csv_rows(&p, &["text", "label"], |line, c| {
            if let Some(s) = sentiment_word(&p, line, c[1])? {
                out.push(
                    Example::new("norec-sentence", "", "no", split, c[0].into()).with_sentiment(s),
                );
            }
            Ok(())
        })?;
    }
    let p = data.join("lcc-danish-sentiment/train.csv");
    csv_rows(&p, &["text", "label"], |line, c| {
        if let Some(s) = sentiment_word(&p, line, c[1])? {
            out.push(
                Example::new(
                    "lcc-danish-sentiment",
                    "",
                    "da",
                    split_of(c[0]),
                    c[0].into(),
                )
                .with_sentiment(s),
            );
        }
        Ok(())
    })?;
    for (split, file) in [(Split::Train, "train.csv"), (Split::Val, "val.csv")] {
        let p = data.join("astd-arabic").join(file);
        csv_rows(&p, &["text", "label"], |line, c| {
            if let Some(s) = sentiment_word(&p, line, c[1])? {
                out.push(
                    Example::new("astd-arabic", "", "ar", split, c[0].into()).with_sentiment(s),
                );
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Every intent example: complaints-twitter, clap-app-reviews, airline-cs-intents.
pub fn intent(data: &Path) -> Result<Vec<Example>, DataError> {
    let mut out = Vec::new();
    let p = data.join("complaints-twitter/dev.csv");
    let file = std::fs::File::open(&p).map_err(|source| DataError::Io {
        path: p.clone(),
        source,
    })?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    for rec in rdr.records() {
        let rec =
            rec.map_err(|e| format_error(&p, e.position().map_or(0, |x| x.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |x| x.line());
        let (Some(text), Some(label)) = (rec.get(1), rec.get(2)) else {
            return Err(format_error(&p, line, "expected id,text,label,domain"));
        };
        let complaint = match label.trim() {
            "1" => true,
            "0" => false,
            other => {
                return Err(format_error(
                    &p,
                    line,
                    format!("label {other:?} is not 0 or 1"),
                ))
            }
        };
        let mut e = Example::new("complaints-twitter", "", "en", split_of(text), text.into());
        e.complaint = Some(complaint);
        out.push(e);
    }
    let p = data.join("clap-app-reviews/dev.csv");
    csv_rows(&p, &["review", "category"], |_, c| {
        let cat = c[1].trim().to_ascii_uppercase();
        let mut e = Example::new("clap-app-reviews", "", "en", split_of(c[0]), c[0].into());
        e.feature_request = Some(cat == "FEATURE");
        e.complaint = Some(matches!(
            cat.as_str(),
            "BUG" | "PERFORMANCE" | "ENERGY" | "SECURITY" | "USABILITY"
        ));
        out.push(e);
        Ok(())
    })?;
    let p = data.join("airline-cs-intents/train.csv");
    csv_rows(&p, &["text", "label"], |_, c| {
        let mut e = Example::new("airline-cs-intents", "", "en", split_of(c[0]), c[0].into());
        e.feature_request = Some(c[1].trim() == "NEWFEAT");
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Every labelled example of every set.
pub fn all(data: &Path) -> Result<Vec<Example>, DataError> {
    let mut v = sentiment(data)?;
    v.extend(intent(data)?);
    Ok(v)
}

/// The shared data folder: `EARSHOT_DATA`, else `shared/data` beside the repository.
pub fn default_dir() -> PathBuf {
    std::env::var_os("EARSHOT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The data folder for a test: `None` (with the reason printed) where it is missing outside
/// CI; a panic where it is missing in CI, which always has it.
pub fn for_tests() -> Option<PathBuf> {
    let dir = default_dir();
    if dir.join("tweeteval-sentiment").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI=true but the shared data is not at {} (set EARSHOT_DATA)",
        dir.display()
    );
    eprintln!(
        "skipped: no shared data at {} (set EARSHOT_DATA)",
        dir.display()
    );
    None
}

/// The TWCS customer-support CSV's columns a replay reads: tweet id, author, inbound, time,
/// text and the tweet it answers.
pub(crate) const TWCS_COLUMNS: [&str; 6] = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "in_response_to_tweet_id",
];

/// Where each of `names` stands in a CSV's `headers`, or `missing(name)` for the first that
/// is not there.
pub(crate) fn columns<const N: usize, E>(
    headers: &csv::StringRecord,
    names: [&str; N],
    missing: impl Fn(&str) -> E,
) -> Result<[usize; N], E> {
    let mut at = [0; N];
    for (slot, name) in at.iter_mut().zip(names) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| missing(name))?;
    }
    Ok(at)
}
