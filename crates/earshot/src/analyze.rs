//! `earshot analyze`: what earshot understands of each line of a file or of standard input
//! (language, sentiment with its probability, intent, urgency, safety, and the evidence).
//!
//! A line is a canonical JSON post (`{"text": .., "lang": .., "author": {"followers": ..}}`,
//! as `earshot import` reads) or plain text. Each input line gives one output line, in order:
//! the analysis, or `{"line": n, "error": ..}` for a JSON line without a text, so nothing is
//! lost and the output lines up with the input. Lines are analysed in batches on every core.

use anyhow::Context;
use clap::{Args, ValueEnum};
use earshot_analyze::Analyzer;
use earshot_core::analysis::Analysis;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per input line.
    Jsonl,
    /// An aligned table for people.
    Table,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// A file of text lines or canonical JSONL posts; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    pub input: String,
    /// Output format (default: a table at a terminal, else JSON lines).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to this file instead of standard output (a progress bar shows how far it is).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Lines analysed per batch: large enough to keep every core busy, small enough to stream.
const BATCH: usize = 4096;

/// What one input line holds.
struct Line {
    number: u64,
    text: Option<String>,
    lang: Option<String>,
    followers: Option<u64>,
    id: Option<Value>,
    error: Option<String>,
}

fn parse_line(number: u64, raw: &str) -> Line {
    let mut line = Line {
        number,
        text: None,
        lang: None,
        followers: None,
        id: None,
        error: None,
    };
    let trimmed = raw.trim_start();
    if !trimmed.starts_with('{') {
        line.text = Some(raw.to_string());
        return line;
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v) => match v.get("text").and_then(Value::as_str) {
            Some(text) => {
                line.text = Some(text.to_string());
                line.lang = v.get("lang").and_then(Value::as_str).map(str::to_string);
                line.followers = v
                    .get("author")
                    .and_then(|a| a.get("followers"))
                    .and_then(Value::as_u64);
                line.id = v.get("id").or_else(|| v.get("external_id")).cloned();
            }
            None => line.error = Some("a JSON line needs a \"text\" string".into()),
        },
        // Text that merely starts with a brace is still text.
        Err(_) => line.text = Some(raw.to_string()),
    }
    line
}

/// The JSON object written for one line (fields in this order).
#[derive(Serialize)]
struct Out<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    language: &'a str,
    language_confidence: f32,
    sentiment: Value,
    intent: Value,
    urgency: Value,
    safety: Value,
    evidence: Value,
    model: &'a str,
}

fn out_of<'a>(number: u64, id: Option<&'a Value>, a: &'a Analysis) -> Out<'a> {
    let probability = a
        .sentiment
        .evidence
        .first()
        .filter(|e| e.rule.starts_with("model:"))
        .map(|e| e.weight);
    Out {
        line: number,
        id,
        language: a.language.language.code(),
        language_confidence: a.language.confidence,
        sentiment: json!({"label": a.sentiment.label, "probability": probability, "score": a.sentiment.score}),
        intent: json!({"label": a.intent.label, "probability": a.intent.confidence}),
        urgency: json!({"level": a.urgency.level, "score": a.urgency.score}),
        safety: json!({"harm": a.safety.harm, "score": a.safety.score, "kinds": a.safety.kinds}),
        evidence: json!({
            "language": a.language.source,
            "sentiment": a.sentiment.evidence,
            "intent": a.intent.evidence,
            "urgency": a.urgency.evidence,
            "safety": a.safety.evidence,
        }),
        model: &a.model,
    }
}

/// The JSON object for one line, as a value (what the tests look at).
#[cfg(test)]
pub fn to_json(number: u64, id: Option<&Value>, a: &Analysis) -> Value {
    serde_json::to_value(out_of(number, id, a)).unwrap_or(Value::Null)
}

/// Writes one line's object, in the field order of [`Out`].
fn write_json(
    out: &mut dyn Write,
    number: u64,
    id: Option<&Value>,
    a: &Analysis,
) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, &out_of(number, id, a))?;
    out.write_all(b"\n")?;
    Ok(())
}

fn analyze_batch(analyzer: &Analyzer, lines: &[Line]) -> Vec<Option<Analysis>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = lines.len().div_ceil(threads).max(1);
    let mut out: Vec<Option<Analysis>> = Vec::with_capacity(lines.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|l| {
                            l.text
                                .as_deref()
                                .map(|t| analyzer.analyze_text(t, l.lang.as_deref(), l.followers))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicking analysis is a bug; its lines are reported as errors, not lost.
            match h.join() {
                Ok(v) => out.extend(v),
                Err(_) => out.extend(std::iter::repeat_with(|| None).take(chunk)),
            }
        }
    });
    out.truncate(lines.len());
    out
}

fn short(text: &str, n: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut s: String = one_line.chars().take(n - 1).collect();
        s.push('…');
        s
    }
}

fn table_row(l: &Line, a: &Analysis) -> String {
    let p = a
        .sentiment
        .evidence
        .first()
        .filter(|e| e.rule.starts_with("model:"))
        .map_or(String::new(), |e| format!(" {:.2}", e.weight));
    format!(
        "{:>6}  {:<3}  {:<8}{:<5}  {:<15}  {:<8}  {:<6}  {}",
        l.number,
        a.language.language.code(),
        a.sentiment.label.as_str(),
        p,
        a.intent.label.as_str(),
        a.urgency.level.as_str(),
        if a.safety.harm { "HARM" } else { "" },
        short(l.text.as_deref().unwrap_or(""), 70)
    )
}

pub fn run(analyzer: &Analyzer, args: AnalyzeArgs) -> anyhow::Result<()> {
    let (input, size): (Box<dyn Read>, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(&args.input)
            .with_context(|| format!("cannot read {}", args.input))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if to_terminal {
        Format::Table
    } else {
        Format::Jsonl
    });
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    // A progress bar only when the output goes to a file (the terminal is free to show it).
    let bar = args.output.as_ref().map(|_| {
        let bar = match size {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} read, {msg} [{elapsed_precise}, {bytes_per_sec}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    if format == Format::Table {
        writeln!(
            out,
            "{:>6}  {:<3}  {:<13}  {:<15}  {:<8}  {:<6}  text",
            "line", "lang", "sentiment", "intent", "urgency", "safety"
        )?;
    }
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut number = 0u64;
    let (mut done, mut errors) = (0u64, 0u64);
    let mut buf = String::new();
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut read = 0u64;
        while batch.len() < BATCH {
            buf.clear();
            let n = reader.read_line(&mut buf).context("reading the input")?;
            if n == 0 {
                break;
            }
            read += n as u64;
            number += 1;
            let raw = buf.trim_end_matches(['\n', '\r']);
            batch.push(parse_line(number, raw));
        }
        if batch.is_empty() {
            break;
        }
        let analyses = analyze_batch(analyzer, &batch);
        for (l, a) in batch.iter().zip(analyses) {
            match (a, &l.error) {
                (Some(a), _) => {
                    done += 1;
                    match format {
                        Format::Jsonl => {
                            write_json(&mut out, l.number, l.id.as_ref(), &a)?;
                        }
                        Format::Table => writeln!(out, "{}", table_row(l, &a))?,
                    }
                }
                (None, error) => {
                    errors += 1;
                    let error = error.as_deref().unwrap_or("could not be analysed");
                    eprintln!("line {}: {error}", l.number);
                    if format == Format::Jsonl {
                        serde_json::to_writer(
                            &mut out,
                            &json!({"line": l.number, "error": error}),
                        )?;
                        out.write_all(b"\n")?;
                    }
                }
            }
        }
        if let Some(bar) = &bar {
            bar.inc(read);
            bar.set_message(format!("{done} posts analysed"));
        }
    }
    out.flush().context("writing the output")?;
    if let Some(bar) = bar {
        bar.finish_with_message(format!("{done} posts analysed, {errors} lines with errors"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_text_or_canonical_posts() {
        let l = parse_line(1, "My order never came");
        assert_eq!(l.text.as_deref(), Some("My order never came"));
        let l = parse_line(
            2,
            r#"{"network":"x","id":"9","author":{"id":"u","handle":"h","followers":1520},"text":"Hej","lang":"da"}"#,
        );
        assert_eq!(l.text.as_deref(), Some("Hej"));
        assert_eq!(l.lang.as_deref(), Some("da"));
        assert_eq!(l.followers, Some(1520));
        assert_eq!(l.id, Some(json!("9")));
        let l = parse_line(3, r#"{"body":"no text"}"#);
        assert!(l.text.is_none() && l.error.is_some());
        let l = parse_line(4, "{not json at all");
        assert_eq!(l.text.as_deref(), Some("{not json at all"));
    }

    #[test]
    fn every_line_gives_one_object_in_order() {
        let analyzer = Analyzer::default();
        let lines: Vec<Line> = (0..5000)
            .map(|i| parse_line(i + 1, &format!("post {i}: the app keeps crashing")))
            .collect();
        let out = analyze_batch(&analyzer, &lines);
        assert_eq!(out.len(), lines.len());
        let a = out[4999].as_ref().expect("analysed");
        let v = to_json(5000, None, a);
        assert_eq!(v["line"], 5000);
        assert_eq!(v["sentiment"]["label"], "negative");
        assert!(v["sentiment"]["probability"].as_f64().is_some());
        assert!(v["evidence"]["intent"]
            .as_array()
            .is_some_and(|e| !e.is_empty()));
    }
}
