//! `earshot train` and `earshot train --from-corrections`: what a training run learned,
//! printed.

use anyhow::{bail, Context};
use chrono::Utc;
use earshot_server::config::Settings;
use std::path::{Path, PathBuf};

pub fn train(s: &Settings, file: &Path, task: &str, out: Option<PathBuf>) -> anyhow::Result<()> {
    use earshot_analyze::train::{self as t, Task};
    use earshot_analyze::Model;
    let task: Task = task.parse().map_err(|e| anyhow::anyhow!("--task: {e}"))?;
    let out = out.unwrap_or_else(|| earshot_server::app::model_path(&s.data_dir));
    let examples = t::read_examples(file)
        .with_context(|| format!("cannot read labelled examples from {}", file.display()))?;
    let started = std::time::Instant::now();
    // Adapt what is in use now: an earlier adaptation (so sentiment and intent files can be
    // taught one after the other), else the model compiled into earshot.
    // A model folded from agents' corrections is not adapted again: its base is (see
    // `earshot_server::retrain`), so corrections are never counted twice.
    let default_out = out == earshot_server::app::model_path(&s.data_dir);
    let base_file = earshot_server::retrain::base_path(&s.data_dir);
    let from = if default_out && base_file.exists() {
        &base_file
    } else {
        &out
    };
    let base = match Model::load(from) {
        Ok(existing) if existing.header().name != earshot_server::retrain::CORRECTIONS_MODEL => {
            existing
        }
        _ => Model::shipped()
            .map_err(|e| anyhow::anyhow!("the shipped model does not load: {e}"))?
            .clone(),
    };
    let version = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let model = t::adapt(&base, "earshot-trained", &version, task, &examples)
        .with_context(|| format!("training {task} from {}", file.display()))?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    model
        .save(&out)
        .with_context(|| format!("cannot save the model to {}", out.display()))?;
    if default_out {
        // What agents' corrections are folded into from now on.
        model
            .save(&base_file)
            .with_context(|| format!("cannot save the model to {}", base_file.display()))?;
    }
    println!(
        "adapted {} to {} {task} examples in {:.1} s; model {} saved to {}",
        base.id(),
        examples.len(),
        started.elapsed().as_secs_f64(),
        model.id(),
        out.display()
    );
    println!("earshot uses it from the next start (serve, import, demo, analyze).");
    if default_out {
        println!("agents' corrections are folded into it by `earshot train --corrections`.");
    }
    Ok(())
}

/// `earshot train --corrections`: folds the agents' stored corrections into the team's base
/// model and saves the result as the team's model (or at `out`).
pub async fn train_from_corrections(s: &Settings, out: Option<PathBuf>) -> anyhow::Result<()> {
    use earshot_server::retrain;
    let started = std::time::Instant::now();
    let desk = earshot_server::app::desk(s).await?;
    let folded = match out {
        None => retrain::retrain(&desk, &s.data_dir).await?,
        Some(out) => {
            let corrections = desk.current_corrections().await?;
            let base = retrain::base_model(&s.data_dir)?;
            let version = Utc::now().format("%Y%m%d%H%M%S").to_string();
            let folded = retrain::fold(&base, &corrections, &version)?;
            if let Ok(r) = &folded {
                if let Some(parent) = out.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                r.model
                    .save(&out)
                    .with_context(|| format!("cannot save the model to {}", out.display()))?;
            }
            folded
        }
    };
    match folded {
        Ok(r) => {
            println!(
                "folded {} agents' corrections ({} intent, {} sentiment) on {} posts into {} in {:.1} s; model {} is the team's model now",
                r.intent + r.sentiment,
                r.intent,
                r.sentiment,
                r.posts,
                r.base,
                started.elapsed().as_secs_f64(),
                r.model.id(),
            );
            if r.language_not_learned > 0 {
                println!(
                    "{} language corrections are kept and shown but not learned (the language model is not adapted).",
                    r.language_not_learned
                );
            }
            println!("earshot uses it from the next start (serve, import, demo, analyze).");
            Ok(())
        }
        Err(why) => bail!("nothing trained: {why}"),
    }
}
