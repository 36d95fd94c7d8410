//! How fast the importers parse, in records per second, on generated files.
//!
//! ```text
//! cargo run --release -p earshot-connect --example import_speed -- [ROWS]
//! ```
//!
//! Builds a TWCS CSV and a canonical JSONL file of ROWS records each (default 1,000,000) by
//! repeating the rows of the TWCS fixture (or of the real head sample when it is present) with
//! fresh ids, then times [`Importer`] over both, and over a Jetstream and an X-stream file
//! of the same length. Reports records/s and MB/s; nothing is asserted.

use earshot_connect::import::{Importer, Record};
use earshot_connect::webhook::wire::CanonicalPost;
use earshot_core::NewPost;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let real = Path::new("/work/shared/data/twcs-sample-head/dev.csv");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/twcs-slice.csv");
    let source = if real.exists() {
        real
    } else {
        fixture.as_path()
    };
    let seed: Vec<NewPost> = Importer::open(source)?
        .filter_map(|r| match r {
            Record::Post { post, .. } => Some(post),
            _ => None,
        })
        .collect();
    println!("seed: {} posts from {}", seed.len(), source.display());

    let dir = std::env::temp_dir().join(format!("earshot-import-speed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let files = [
        ("twcs csv", write_twcs(&dir, &seed, rows)?),
        ("canonical jsonl", write_canonical(&dir, &seed, rows)?),
        ("jetstream jsonl", write_jetstream(&dir, &seed, rows)?),
        ("x-stream jsonl", write_x(&dir, &seed, rows)?),
    ];
    for (name, path) in &files {
        // One warm-up pass so the file is in the page cache, then the timed pass.
        count(path)?;
        let started = Instant::now();
        let (posts, other) = count(path)?;
        let seconds = started.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(path)?.len() as f64;
        println!(
            "{name:>16}: {posts} posts, {other} other in {seconds:.2} s = {:.0} records/s, {:.0} MB/s",
            (posts + other) as f64 / seconds,
            bytes / seconds / 1e6
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn count(path: &Path) -> Result<(usize, usize), Box<dyn std::error::Error>> {
    let (mut posts, mut other) = (0, 0);
    for record in Importer::open(path)? {
        match record {
            Record::Post { post, .. } => {
                posts += 1;
                std::hint::black_box(post);
            }
            _ => other += 1,
        }
    }
    Ok((posts, other))
}

fn nth(seed: &[NewPost], i: usize) -> &NewPost {
    &seed[i % seed.len()]
}

fn write_twcs(dir: &Path, seed: &[NewPost], rows: usize) -> std::io::Result<PathBuf> {
    let path = dir.join("twcs.csv");
    let mut out = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(&path)?));
    out.write_record([
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "text",
        "response_tweet_id",
        "in_response_to_tweet_id",
    ])?;
    for i in 0..rows {
        let p = nth(seed, i);
        let created = p.created_at.format("%a %b %d %H:%M:%S %z %Y").to_string();
        let inbound = if p.from_brand == Some(true) {
            "False"
        } else {
            "True"
        };
        let parent = if i % 2 == 0 {
            i.to_string()
        } else {
            String::new()
        };
        out.write_record([
            &(i + 1).to_string(),
            &p.author.external_id,
            inbound,
            &created,
            &p.text,
            "",
            &parent,
        ])?;
    }
    out.flush()?;
    Ok(path)
}

fn write_canonical(dir: &Path, seed: &[NewPost], rows: usize) -> std::io::Result<PathBuf> {
    let path = dir.join("canonical.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..rows {
        let mut post = CanonicalPost::from_new_post(nth(seed, i));
        post.id = (i + 1).to_string();
        serde_json::to_writer(&mut out, &post)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(path)
}

fn write_jetstream(dir: &Path, seed: &[NewPost], rows: usize) -> std::io::Result<PathBuf> {
    let path = dir.join("jetstream.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..rows {
        let p = nth(seed, i);
        let event = serde_json::json!({
            "did": format!("did:plc:{:024}", i % 5000), "time_us": 1_787_217_298_123_456u64 + i as u64, "kind": "commit",
            "commit": {"rev": "3lxq7h2mfak2c", "operation": "create", "collection": "app.bsky.feed.post", "rkey": format!("r{i}"),
                "record": {"$type": "app.bsky.feed.post", "text": p.text, "langs": ["en"], "createdAt": p.created_at.to_rfc3339()},
                "cid": "bafyreih2kvj72ceuvw75efr6edt4sywb5wkh7dnsipzz7fk4zri3r2wyoj"}
        });
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(path)
}

fn write_x(dir: &Path, seed: &[NewPost], rows: usize) -> std::io::Result<PathBuf> {
    let path = dir.join("x.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..rows {
        let p = nth(seed, i);
        let line = serde_json::json!({
            "data": {"id": (i + 1).to_string(), "text": p.text, "author_id": p.author.external_id,
                     "created_at": p.created_at.to_rfc3339(), "lang": "en", "edit_history_tweet_ids": [(i + 1).to_string()]},
            "includes": {"users": [{"id": p.author.external_id, "username": p.author.handle, "name": p.author.handle,
                                    "verified": false, "public_metrics": {"followers_count": 100}}]},
            "matching_rules": [{"id": "2090348106350755840", "tag": "brand-mentions"}]
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\r\n")?;
    }
    out.flush()?;
    Ok(path)
}
