//! Learning from agents' corrections: `earshot train --corrections`, and `serve` on a schedule
//! (`[analysis] retrain_from_corrections`, off by default).
//!
//! The corrections are folded into the team's *base* model — the shipped one, or the team's
//! own adaptation from a labelled file (`earshot train FILE`, kept as `model.base.bin`) — by
//! the same adapting path as `earshot train` (`earshot_analyze::train::adapt_labelled`: the
//! base's logits stay part of every prediction, so what it learned from public data is kept).
//! Starting from the base every time, never from the last corrections model, means retraining
//! with the same corrections gives the same model, and a correction is never counted twice.
//! The result is saved as the team's model (`model.bin`), which every later run uses.

use earshot_analyze::train::{adapt_labelled, corrections_options, Labelled, TrainError};
use earshot_analyze::{Model, ModelError};
use earshot_core::correction::{CorrectedField, CorrectedPost};
use earshot_store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where `earshot train` writes the team's model and the analyzer looks for it.
pub fn model_path(data_dir: &Path) -> PathBuf {
    data_dir.join("model.bin")
}

/// The name of models folded from corrections (the version is the time they were made).
pub const CORRECTIONS_MODEL: &str = "earshot-corrections";

/// How often `serve` folds new corrections into the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    #[default]
    Off,
    Hourly,
    Daily,
}

impl Schedule {
    /// The time between two retrains; `None` when off.
    pub fn every(self) -> Option<std::time::Duration> {
        match self {
            Schedule::Off => None,
            Schedule::Hourly => Some(std::time::Duration::from_secs(3600)),
            Schedule::Daily => Some(std::time::Duration::from_secs(24 * 3600)),
        }
    }
}

/// What `earshot config check` says of the schedule.
pub fn describe(schedule: Schedule) -> String {
    match schedule {
        Schedule::Off => "agents' corrections: learned when you run `earshot train --corrections` (set [analysis] retrain_from_corrections = \"daily\" or \"hourly\" to let serve do it)".into(),
        Schedule::Hourly | Schedule::Daily => format!(
            "agents' corrections: serve folds new ones into the team's model {} ([analysis] retrain_from_corrections)",
            if schedule == Schedule::Hourly { "every hour" } else { "every day" }
        ),
    }
}

/// `[analysis]`: how earshot's understanding is kept up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisSettings {
    /// `off` (default), `hourly` or `daily`: `serve` folds agents' new corrections into the
    /// team's model (as `earshot train --corrections` does) and uses it at once.
    pub retrain_from_corrections: Schedule,
}

#[derive(Debug, thiserror::Error)]
pub enum RetrainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Desk(#[from] crate::desk::DeskError),
    #[error("the model: {0}")]
    Model(#[from] ModelError),
    #[error("the shipped model does not load: {0}")]
    Shipped(String),
    #[error("training: {0}")]
    Train(#[from] TrainError),
    #[error("cannot keep the base model at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the corrections teach, per post.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lessons {
    pub examples: Vec<Labelled>,
    pub intent: usize,
    pub sentiment: usize,
    /// Language corrections are kept and shown but not learned: the language model is not
    /// adapted (it is trained by `earshot-lab` from public text).
    pub language: usize,
}

/// One example per corrected post, with every field an agent corrected; the latest
/// correction of a field wins (the store gives the current ones only, oldest first).
pub fn lessons(corrections: &[CorrectedPost]) -> Lessons {
    let mut by_post: BTreeMap<i64, Labelled> = BTreeMap::new();
    let mut out = Lessons::default();
    for c in corrections
        .iter()
        .filter(|c| c.current && !c.text.trim().is_empty())
    {
        let field = c.correction.field;
        if field == CorrectedField::Language {
            out.language += 1;
            continue;
        }
        let e = by_post
            .entry(c.correction.post_id)
            .or_insert_with(|| Labelled::new(c.text.clone()));
        let to = c.correction.to.as_str();
        match field {
            CorrectedField::Intent => {
                if let Ok(i) = earshot_core::Intent::from_str(to) {
                    *e = e.clone().with_intent(i);
                    out.intent += 1;
                }
            }
            CorrectedField::Sentiment => {
                if let Ok(s) = earshot_core::SentimentLabel::from_str(to) {
                    *e = e.clone().with_sentiment(s);
                    out.sentiment += 1;
                }
            }
            CorrectedField::Language => {}
        }
    }
    out.examples = by_post.into_values().collect();
    out
}

/// Where the model corrections are folded into is kept.
pub fn base_path(data_dir: &Path) -> PathBuf {
    data_dir.join("model.base.bin")
}

/// The model corrections are folded into: the team's adaptation from a labelled file when
/// there is one, else the shipped model. A team model from before this file existed that was
/// not made from corrections is that adaptation: it is kept as the base first.
pub fn base_model(data_dir: &Path) -> Result<Model, RetrainError> {
    let base = base_path(data_dir);
    if base.exists() {
        return Ok(Model::load(&base)?);
    }
    let current = model_path(data_dir);
    if current.exists() {
        let model = Model::load(&current)?;
        if model.header().name != CORRECTIONS_MODEL {
            std::fs::copy(&current, &base).map_err(|source| RetrainError::Io {
                path: base.clone(),
                source,
            })?;
            return Ok(model);
        }
    }
    Ok(Model::shipped()
        .map_err(|e| RetrainError::Shipped(e.to_string()))?
        .clone())
}

/// A model folded from corrections.
#[derive(Debug)]
pub struct Retrained {
    pub model: Model,
    pub base: String,
    pub posts: usize,
    pub intent: usize,
    pub sentiment: usize,
    pub language_not_learned: usize,
    /// The newest correction it learned (a scheduled retrain skips when nothing is newer).
    pub newest: i64,
}

/// Why nothing was trained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRetrained {
    /// No intent or sentiment correction to learn from.
    NoCorrections { language: usize },
    /// Every correction of each field says the same label: a head needs both sides.
    OneLabel(String),
}

impl std::fmt::Display for NotRetrained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRetrained::NoCorrections { language: 0 } => {
                f.write_str("no agent has corrected a post's intent or sentiment yet")
            }
            NotRetrained::NoCorrections { language } => write!(
                f,
                "no intent or sentiment corrections yet ({language} language corrections are kept but not learned)"
            ),
            NotRetrained::OneLabel(label) => write!(
                f,
                "not enough variety yet: every correction says {label}; earshot learns once agents have corrected posts to at least two different labels of a field"
            ),
        }
    }
}

/// Folds `corrections` into `base`. Pure apart from the model's own work: the CLI and the
/// schedule share it; tests call it directly.
pub fn fold(
    base: &Model,
    corrections: &[CorrectedPost],
    version: &str,
) -> Result<Result<Retrained, NotRetrained>, RetrainError> {
    let lessons = lessons(corrections);
    if lessons.examples.is_empty() {
        return Ok(Err(NotRetrained::NoCorrections {
            language: lessons.language,
        }));
    }
    let newest = corrections
        .iter()
        .map(|c| c.correction.id)
        .max()
        .unwrap_or(0);
    let opts = corrections_options(lessons.examples.len());
    match adapt_labelled(base, CORRECTIONS_MODEL, version, &lessons.examples, &opts) {
        Ok(model) => Ok(Ok(Retrained {
            model,
            base: base.id(),
            posts: lessons.examples.len(),
            intent: lessons.intent,
            sentiment: lessons.sentiment,
            language_not_learned: lessons.language,
            newest,
        })),
        Err(TrainError::OneLabel { label }) => Ok(Err(NotRetrained::OneLabel(label))),
        Err(e) => Err(e.into()),
    }
}

/// Reads the current corrections, folds them into the team's base model and saves the result
/// as the team's model. `Ok(Err(why))` when there is nothing to learn yet (nothing saved).
pub async fn retrain(
    desk: &crate::desk::Desk,
    data_dir: &Path,
) -> Result<Result<Retrained, NotRetrained>, RetrainError> {
    let corrections = desk.current_corrections().await?;
    let data_dir = data_dir.to_path_buf();
    let version = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let done = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&data_dir).map_err(|source| RetrainError::Io {
            path: data_dir.clone(),
            source,
        })?;
        let base = base_model(&data_dir)?;
        let folded = fold(&base, &corrections, &version)?;
        if let Ok(r) = &folded {
            r.model.save(model_path(&data_dir))?;
        }
        Ok::<_, RetrainError>(folded)
    })
    .await
    .map_err(|e| StoreError::Database(format!("retraining stopped: {e}")))?;
    done
}

/// Starts `serve`'s scheduled retrain (`None` when off): every period, if agents corrected
/// something since the last one, the corrections are folded in again and the pipeline
/// understands new posts with the result at once. The first comes one period after start.
///
/// Its own task rather than a housekeeping tick: a retrain takes seconds to minutes of CPU, and
/// the ticks run one after another, so on-call paging and reply retries would wait behind it.
pub fn spawn_schedule(
    desk: std::sync::Arc<crate::desk::Desk>,
    data_dir: PathBuf,
    schedule: Schedule,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = schedule.every()?;
    tracing::info!(
        ?schedule,
        "retraining from agents' corrections on a schedule"
    );
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is at once: the model in use was loaded at start.
        tick.tick().await;
        let mut learned: Option<i64> = None;
        loop {
            tick.tick().await;
            scheduled_once(&desk, &data_dir, &mut learned).await;
        }
    }))
}

/// One scheduled retrain; `learned` is the newest correction the model in use has learned.
pub async fn scheduled_once(desk: &crate::desk::Desk, data_dir: &Path, learned: &mut Option<i64>) {
    let newest = match desk.corrections(None, 1).await {
        Ok(latest) => latest.first().map(|c| c.correction.id),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read agents' corrections; retrain skipped");
            return;
        }
    };
    if newest.is_none() || newest == *learned {
        return;
    }
    match retrain(desk, data_dir).await {
        Ok(Ok(r)) => {
            tracing::info!(
                model = %r.model.id(),
                base = %r.base,
                posts = r.posts,
                intent = r.intent,
                sentiment = r.sentiment,
                "folded agents' corrections into the model; new posts use it"
            );
            desk.pipeline().use_model(r.model);
            *learned = newest;
        }
        Ok(Err(why)) => {
            tracing::info!(why = %why, "nothing to retrain from corrections yet");
            *learned = newest;
        }
        Err(e) => tracing::warn!(error = %e, "retraining from corrections failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::correction::Correction;

    fn corrected(
        id: i64,
        post: i64,
        field: CorrectedField,
        to: &str,
        current: bool,
    ) -> CorrectedPost {
        CorrectedPost {
            correction: Correction {
                id,
                post_id: post,
                conversation_id: None,
                field,
                from: "other".into(),
                to: to.into(),
                by: "ann".into(),
                at: chrono::Utc::now(),
            },
            text: format!("post {post}"),
            current,
        }
    }

    #[test]
    fn the_schedule_is_off_unless_configured_and_a_typo_is_named() {
        let load = |toml: &str| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("earshot.toml");
            std::fs::write(&path, toml).unwrap();
            crate::config::Settings::load_with_env(Some(&path), Vec::new())
        };
        assert_eq!(
            load("").unwrap().analysis.retrain_from_corrections,
            Schedule::Off
        );
        let daily = load("[analysis]\nretrain_from_corrections = \"daily\"\n").unwrap();
        assert_eq!(daily.analysis.retrain_from_corrections, Schedule::Daily);
        assert!(describe(Schedule::Daily).contains("every day"));
        let weekly = load("[analysis]\nretrain_from_corrections = \"weekly\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            weekly.contains("retrain_from_corrections") || weekly.contains("weekly"),
            "{weekly}"
        );
    }

    #[test]
    fn one_example_per_post_with_every_current_field() {
        let l = lessons(&[
            corrected(1, 7, CorrectedField::Intent, "complaint", true),
            corrected(2, 7, CorrectedField::Sentiment, "negative", true),
            corrected(3, 8, CorrectedField::Intent, "question", false),
            corrected(4, 9, CorrectedField::Language, "da", true),
        ]);
        assert_eq!(l.examples.len(), 1);
        assert_eq!(l.examples[0].complaint, Some(true));
        assert_eq!(l.examples[0].question, Some(false));
        assert_eq!(
            l.examples[0].sentiment,
            Some(earshot_core::SentimentLabel::Negative)
        );
        assert_eq!((l.intent, l.sentiment, l.language), (1, 1, 1));
    }
}
