//! `earshot import`: files in, conversations out. One thread reads, parses and analyses;
//! the store writes the previous batch meanwhile, so both cores work.

use crate::cli::{settings, Global};
use anyhow::Context;
use earshot_connect::import::{Importer, Record};
use earshot_core::threading::Incoming;
use earshot_server::pipeline::Pipeline;
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub read: u64,
    pub new: u64,
    pub duplicates: u64,
    /// Posts heard before with another text: stored as the author's edit (audited).
    pub edited: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub conversations_opened: u64,
    /// `file:line: reason`, the first 50.
    pub rejections: Vec<String>,
    pub seconds: f64,
}

const SHOWN_REJECTIONS: usize = 50;

impl Summary {
    fn reject(&mut self, why: String) {
        self.rejected += 1;
        if self.rejections.len() < SHOWN_REJECTIONS {
            self.rejections.push(why);
        }
    }
}

/// Understood posts of one file, the line each came from, and how many bytes of input are
/// behind them.
struct Batch {
    posts: Vec<Incoming>,
    file: String,
    lines: Vec<usize>,
    bytes: u64,
}

enum Msg {
    Batch(Batch),
    Rejected(String),
    Skipped,
}

pub async fn run(g: &Global, files: &[PathBuf], batch: usize, json: bool) -> anyhow::Result<()> {
    let s = settings(g)?;
    let desk = earshot_server::app::desk(&s).await?;
    let summary = import_files(
        desk.pipeline().clone(),
        files,
        batch.clamp(1, 50_000),
        !json && std::io::stderr().is_terminal(),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} file(s) in {:.1} s: read {} · new {} · duplicates {} · edited {} · skipped {} · rejected {} · conversations opened {} ({:.0} posts/s)",
            summary.files,
            summary.seconds,
            summary.read,
            summary.new,
            summary.duplicates,
            summary.edited,
            summary.skipped,
            summary.rejected,
            summary.conversations_opened,
            summary.read as f64 / summary.seconds.max(1e-9)
        );
        for r in &summary.rejections {
            println!("  rejected {r}");
        }
        if summary.rejected as usize > summary.rejections.len() {
            println!(
                "  … and {} more",
                summary.rejected as usize - summary.rejections.len()
            );
        }
    }
    Ok(())
}

/// Reads every file, analyses and stores the posts; the summary counts every line.
pub async fn import_files(
    pipeline: Arc<Pipeline>,
    files: &[PathBuf],
    batch: usize,
    progress: bool,
) -> anyhow::Result<Summary> {
    let started = std::time::Instant::now();
    let mut importers = vec![];
    let mut total_bytes = 0;
    for f in files {
        let imp = Importer::open(f).with_context(|| format!("cannot import {}", f.display()))?;
        total_bytes += imp.total_bytes();
        importers.push((f.clone(), imp));
    }
    let bar = if progress {
        let b = indicatif::ProgressBar::new(total_bytes);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:40} {bytes}/{total_bytes} ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message("importing");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(4);
    let analyzer = pipeline.analyzer().clone();
    let brand = pipeline.brand().clone();
    let mut summary = Summary {
        files: files.len(),
        ..Summary::default()
    };
    let reader = std::thread::spawn(move || -> u64 {
        let mut read = 0u64;
        let mut before = 0u64;
        for (path, mut imp) in importers {
            let name = path.display().to_string();
            let mut posts = Vec::with_capacity(batch);
            let mut lines = Vec::with_capacity(batch);
            while let Some(record) = imp.next() {
                read += 1;
                let msg = match record {
                    Record::Post { post, line } => {
                        posts.push(post);
                        lines.push(line);
                        if posts.len() < batch {
                            continue;
                        }
                        Msg::Batch(Batch {
                            posts: Pipeline::understand(
                                &analyzer,
                                &brand,
                                std::mem::take(&mut posts),
                            ),
                            file: name.clone(),
                            lines: std::mem::take(&mut lines),
                            bytes: before + imp.bytes_read(),
                        })
                    }
                    Record::Skipped { .. } => Msg::Skipped,
                    Record::Rejected { line, reason } => {
                        Msg::Rejected(format!("{name}:{line}: {reason}"))
                    }
                };
                if tx.blocking_send(msg).is_err() {
                    return read;
                }
            }
            before += imp.total_bytes();
            let last = Batch {
                posts: Pipeline::understand(&analyzer, &brand, posts),
                file: name,
                lines,
                bytes: before,
            };
            if tx.blocking_send(Msg::Batch(last)).is_err() {
                return read;
            }
        }
        read
    });

    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Batch(b) => {
                if !b.posts.is_empty() {
                    let report = pipeline.store_understood(b.posts).await?;
                    summary.new += report.new;
                    summary.duplicates += report.duplicates;
                    summary.edited += report.edited;
                    summary.conversations_opened += report.conversations_opened;
                    // Posts the store refused (a time it cannot believe), by file and line.
                    for r in &report.refused {
                        let line = b.lines.get(r.index).copied().unwrap_or(0);
                        summary.reject(format!("{}:{line}: {}", b.file, r.reason));
                    }
                }
                bar.set_position(b.bytes);
            }
            Msg::Rejected(r) => summary.reject(r),
            Msg::Skipped => summary.skipped += 1,
        }
    }
    summary.read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the import reader thread panicked"))?;
    bar.finish_and_clear();
    pipeline.rescore().await?;
    // So the inbox and search plan on the imported rows, not on the statistics of before.
    pipeline.store().refresh_statistics().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
