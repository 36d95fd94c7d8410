//! Reading posts from `../shared/data`: the files the labelled set was copied from (to check
//! every ask is the real post) and the many other real texts the grouping benchmark streams.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TextsError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not the CSV it should be: {message}")]
    Csv { path: PathBuf, message: String },
}

/// Rows of a CSV with headers (or, for `complaints-twitter`, without), as column → value maps.
fn rows(path: &Path, headers: Option<&[&str]>) -> Result<Vec<HashMap<String, String>>, TextsError> {
    let file = std::fs::File::open(path).map_err(|source| TextsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |e: csv::Error| TextsError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(headers.is_none())
        .from_reader(file);
    let names: Vec<String> = match headers {
        Some(h) => h.iter().map(|s| s.to_string()).collect(),
        None => rdr
            .headers()
            .map_err(bad)?
            .iter()
            .map(String::from)
            .collect(),
    };
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(bad)?;
        out.push(
            names
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect(),
        );
    }
    Ok(out)
}

/// The id and text columns of each file the set was copied from.
fn columns(source: &str) -> (&'static str, &'static str) {
    if source.starts_with("airline-cs-intents") {
        ("first_tweet_id", "text")
    } else {
        ("tweet_id", "text")
    }
}

/// The texts of the posts `wanted` names (source file, id), read from `data`.
pub fn posts(
    data: &Path,
    wanted: &[(&str, &str)],
) -> Result<HashMap<(String, String), String>, TextsError> {
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for (s, i) in wanted {
        by_source.entry(s).or_default().push(i);
    }
    let mut out = HashMap::new();
    for (source, ids) in by_source {
        let (id_col, text_col) = columns(source);
        let rows = rows(&data.join(source), None)?;
        for r in rows {
            let (Some(id), Some(text)) = (r.get(id_col), r.get(text_col)) else {
                continue;
            };
            if ids.contains(&id.as_str()) {
                out.entry((source.to_string(), id.clone()))
                    .or_insert_with(|| text.clone());
            }
        }
    }
    Ok(out)
}

/// Real customer texts with their language, for the grouping benchmark: app reviews, customer
/// tweets of twcs (samples and labelled topics), airline tweets, complaints, and xlm-t tweets
/// in seven languages.
pub fn benchmark_texts(data: &Path) -> Result<Vec<(String, String)>, TextsError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let get = |r: &HashMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
    for r in rows(&data.join("clap-app-reviews/dev.csv"), None)? {
        out.push((get(&r, "review"), "en".into()));
    }
    for f in ["twcs-sample-head/dev.csv", "twcs-sample-random/dev.csv"] {
        for r in rows(&data.join(f), None)? {
            if get(&r, "inbound").eq_ignore_ascii_case("true") {
                out.push((get(&r, "text"), "en".into()));
            }
        }
    }
    for company in ["AmazonHelp", "AppleSupport", "SpotifyCares"] {
        let f = format!("twcs-labeled-topics/twcs-{company}-200-inbound.train.csv");
        for r in rows(&data.join(f), None)? {
            out.push((get(&r, "text"), "en".into()));
        }
    }
    for r in rows(&data.join("airline-tweets/dev.csv"), None)? {
        out.push((get(&r, "text"), "en".into()));
    }
    let complaints = ["id", "text", "label", "domain"];
    for r in rows(&data.join("complaints-twitter/dev.csv"), Some(&complaints))? {
        out.push((get(&r, "text"), "en".into()));
    }
    for &(folder, lang) in crate::data::XLMT_LANGUAGES {
        for split in ["train", "val"] {
            let path = data
                .join("xlmt-sentiment")
                .join(folder)
                .join(format!("{split}_text.txt"));
            let text = std::fs::read_to_string(&path).map_err(|source| TextsError::Io {
                path: path.clone(),
                source,
            })?;
            out.extend(text.lines().map(|l| (l.to_string(), lang.to_string())));
        }
    }
    out.retain(|(t, _)| !t.trim().is_empty());
    Ok(out)
}
