//! Reading the file and the environment into [`Settings`]: `EARSHOT__SECTION__KEY=value`
//! overrides, a typo named with its section and the known keys, a broken line located but
//! never quoted; and the printing of the file with its passwords hidden.

use super::Settings;
use crate::settings::{redact_url, ConfigError, Secret};
use serde::Serialize;
use std::path::Path;

impl Settings {
    /// Reads `path` if given (or `earshot.toml` if it exists), then applies `EARSHOT__…` overrides.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut table = match path {
            Some(p) => read_table(p)?,
            None if Path::new("earshot.toml").exists() => read_table(Path::new("earshot.toml"))?,
            None => toml::Table::new(),
        };
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("EARSHOT__") else {
                continue;
            };
            let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut table, &parts, &value);
        }
        let source = || {
            path.map(|p| p.display().to_string())
                .unwrap_or_else(|| "settings".into())
        };
        // The path to the failing key is tracked so a typo can be named with its section.
        let mut settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e: serde_path_to_error::Error<toml::de::Error>| {
                let message = e.inner().message().to_string();
                match unknown_key(&e.path().to_string(), &message) {
                    Some(message) => ConfigError::UnknownKey {
                        path: source(),
                        message,
                    },
                    None => ConfigError::Parse {
                        path: source(),
                        message,
                    },
                }
            })?;
        if let Some(file) = &settings.webhook.secret_file {
            let s = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            settings.webhook.secret = Secret::new(s.trim_end());
        }
        settings.check()?;
        Ok(settings)
    }
}

pub(super) fn serialize_redacted_bus<S: serde::Serializer>(
    bus: &crate::cluster::BusSettings,
    s: S,
) -> Result<S::Ok, S::Error> {
    let shown = crate::cluster::BusSettings {
        url: redact_url(&bus.url),
        ..bus.clone()
    };
    shown.serialize(s)
}

pub(super) fn serialize_redacted_url<S: serde::Serializer>(
    url: &str,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

/// "unknown key `x` in [section]; known keys: a, b" from serde's "unknown field `x`,
/// expected one of `a`, `b`" and the path to the key (`brand.x`, `connectors.mastodon[0].x`).
fn unknown_key(path: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|k| !k.is_empty())
        .collect();
    let section = path.strip_suffix(key).unwrap_or(path).trim_end_matches('.');
    let place = if section.is_empty() || section == "." {
        "at the top level".to_string()
    } else if let Some((table, index)) = section
        .strip_suffix(']')
        .and_then(|s| s.rsplit_once('['))
        .and_then(|(t, i)| Some((t, i.parse::<usize>().ok()?)))
    {
        format!("in [[{table}]] #{}", index + 1)
    } else {
        format!("in [{section}]")
    };
    Some(if known.is_empty() {
        format!("unknown key `{key}` {place}; this section takes no keys")
    } else {
        format!(
            "unknown key `{key}` {place}; known keys: {}",
            known.join(", ")
        )
    })
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // The error names the line and column but never quotes it: the line may hold a password
    // (`db = "postgres://me:secret@…`) or a token.
    text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: match e.span() {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(&text);
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                format!("line {line}, column {column}: {}", e.message())
            }
            None => e.message().to_string(),
        },
    })
}

/// Sets a nested key from an environment value: TOML syntax if it parses (numbers, arrays,
/// booleans), a plain string otherwise.
fn set_path(table: &mut toml::Table, parts: &[String], raw: &str) {
    let Some((last, head)) = parts.split_last() else {
        return;
    };
    let mut cur = table;
    for p in head {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        match entry.as_table_mut() {
            Some(t) => cur = t,
            None => return,
        }
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    cur.insert(last.clone(), value);
}
