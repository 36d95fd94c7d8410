//! `earshot demo`: where the demo store lives and when it goes away.
//!
//! Without `--data-dir` the store is made in a temporary directory that is removed when the
//! demo stops — at the end, on an error, on Ctrl-C or on SIGTERM, also while it is still
//! filling — so trying the demo leaves nothing behind. `--no-serve` (fill and exit) keeps it,
//! since the point of it is to use the store afterwards.

use crate::cli::{DemoArgs, Global};
use anyhow::Context;
use earshot_server::config::Settings;
use std::path::PathBuf;

pub async fn run(g: &Global, args: DemoArgs) -> anyhow::Result<()> {
    let mut g = g.clone();
    let temporary = match &g.data_dir {
        Some(_) => None,
        None => {
            let dir = tempfile::Builder::new()
                .prefix("earshot-demo-")
                .tempdir()
                .context("cannot make a temporary directory for the demo store")?;
            g.data_dir = Some(dir.path().to_path_buf());
            Some(dir)
        }
    };
    let keep = args.no_serve;
    let outcome = tokio::select! {
        outcome = crate::output::demo(&g, args) => outcome,
        signal = stop_signal() => {
            eprintln!("\n{signal}: stopping the demo");
            Ok(())
        }
    };
    if let Some(dir) = temporary {
        if keep && outcome.is_ok() {
            let path = dir.keep();
            println!(
                "the demo store stays in {} (delete it when you are done)",
                path.display()
            );
        } else {
            remove(dir);
        }
    }
    outcome
}

/// Removes the temporary store; a second pass catches files SQLite was still writing.
fn remove(dir: tempfile::TempDir) {
    let path = dir.path().to_path_buf();
    if dir.close().is_err() && std::fs::remove_dir_all(&path).is_err() && path.exists() {
        eprintln!("could not remove the demo store {}", path.display());
    }
}

/// Ctrl-C or SIGTERM, whichever comes first, named.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "terminated",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}

/// Writes the settings the demo runs with (data directory, brand, response hours, `[triage]`)
/// to `<data dir>/earshot.toml`, so `earshot --config … report` reads the store as the demo
/// does. The webhook secret and the database URL stay out of the file.
pub fn write_config(s: &Settings) -> anyhow::Result<PathBuf> {
    let mut table = toml::Table::new();
    table.insert(
        "data_dir".into(),
        toml::Value::String(s.data_dir.display().to_string()),
    );
    table.insert("brand".into(), toml::Value::try_from(&s.brand)?);
    table.insert("response".into(), toml::Value::try_from(&s.response)?);
    if let Some(triage) = &s.triage {
        table.insert("triage".into(), toml::Value::try_from(triage)?);
    }
    let path = s.data_dir.join("earshot.toml");
    let text = format!(
        "# The settings `earshot demo` ran with: earshot --config {} inbox\n{}",
        path.display(),
        toml::to_string_pretty(&table)?
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
