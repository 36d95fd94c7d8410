//! Readers of the two tweet sentiment sets that other parts of this crate's examples use
//! (grouping's benchmark), and the error type its evaluations share. The evaluation of
//! language, sentiment and intent itself lives in the `earshot-lab` crate
//! (`cargo run --release -p earshot-lab -- eval`), on validation parts that share no text with
//! anything trained on.

use crate::train::TrainError;
use earshot_core::analysis::SentimentLabel;
use std::path::Path;

/// What goes wrong reading an evaluation set is what goes wrong reading training examples:
/// a file that cannot be read, or a line that is not as expected.
pub type EvalError = TrainError;

fn read_lines(path: &Path) -> Result<Vec<String>, EvalError> {
    let s = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(s.lines().map(|l| l.to_string()).collect())
}

fn sentiment_from_id(path: &Path, line: usize, id: &str) -> Result<SentimentLabel, EvalError> {
    match id.trim() {
        "0" => Ok(SentimentLabel::Negative),
        "1" => Ok(SentimentLabel::Neutral),
        "2" => Ok(SentimentLabel::Positive),
        other => Err(EvalError::Format {
            path: path.to_path_buf(),
            line: line as u64 + 1,
            message: format!("label {other:?} is not 0, 1 or 2"),
        }),
    }
}

fn paired(text: &Path, labels: &Path) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let t = read_lines(text)?;
    let l = read_lines(labels)?;
    if t.len() != l.len() {
        return Err(EvalError::Format {
            path: labels.to_path_buf(),
            line: l.len().min(t.len()) as u64,
            message: format!("{} texts but {} labels", t.len(), l.len()),
        });
    }
    t.into_iter()
        .zip(l.iter().enumerate())
        .map(|(text, (i, id))| Ok((text, sentiment_from_id(labels, i, id)?)))
        .collect()
}

/// TweetEval sentiment; `split` is `train` (the rebuilt one) or `val`.
pub fn tweeteval(data: &Path, split: &str) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let dir = data.join("tweeteval-sentiment");
    let prefix = if split == "train" {
        "train_reconstructed"
    } else {
        split
    };
    paired(
        &dir.join(format!("{prefix}_text.txt")),
        &dir.join(format!("{prefix}_labels.txt")),
    )
}

/// One xlm-t language (`english`, `italian`, ...); `split` is `train` or `val`.
pub fn xlmt(
    data: &Path,
    language: &str,
    split: &str,
) -> Result<Vec<(String, SentimentLabel)>, EvalError> {
    let dir = data.join("xlmt-sentiment").join(language);
    paired(
        &dir.join(format!("{split}_text.txt")),
        &dir.join(format!("{split}_labels.txt")),
    )
}
