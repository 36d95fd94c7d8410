//! Fuzz targets: every parser in this crate that takes bytes from outside, as one function of
//! those bytes each, with valid inputs to start mutating from. `earshot-lab` runs them — a
//! short property-test pass in CI, and for as long as asked with `fuzz` — catching panics.
//!
//! A target returns `Err` only when an invariant broke (a round trip that does not come back,
//! a framing that depends on how the bytes were chunked); input it refuses is fine.
//! Behind the `fuzz` feature: none of this is in the serving binary's path.

use crate::bluesky::brand::{BrandMatcher, Scratch};
use crate::import::{Importer, Record};
use crate::mastodon::wire::{Entity, StatusKey};
use crate::reddit::wire::Listing;
use crate::rss::config::Feed;
use crate::twcs::TwcsLayout;
use crate::webhook::{parse_canonical_body, CanonicalPost};
use crate::x::wire::StreamLine;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// One parser under fuzzing.
pub struct Target {
    pub name: &'static str,
    /// Valid inputs the mutations start from.
    pub seeds: Vec<Vec<u8>>,
    /// Runs the parser on `input`; `Err` when an invariant broke.
    pub check: fn(&[u8]) -> Result<(), String>,
}

fn seeds(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.to_vec()).collect()
}

const CANONICAL: &[u8] = include_bytes!("../tests/fixtures/canonical.jsonl");
const TWCS: &[u8] = include_bytes!("../tests/fixtures/twcs-slice.csv");
const TWCS_LABELED: &[u8] = include_bytes!("../tests/fixtures/twcs-labeled.csv");
const JETSTREAM: &[u8] = include_bytes!("../tests/fixtures/jetstream.jsonl");
const MASTODON_STATUSES: &[u8] = include_bytes!("../tests/fixtures/mastodon-statuses.json");
const MASTODON_NOTIFICATIONS: &[u8] =
    include_bytes!("../tests/fixtures/mastodon-notifications.jsonl");
const MASTODON_PRETTY: &[u8] =
    include_bytes!("../tests/fixtures/mastodon-notification-pretty.json");
const X_STREAM: &[u8] = include_bytes!("../tests/fixtures/x-stream.jsonl");

const SSE: &[u8] = b":)\nevent: notification\ndata: {\"id\":\"1\",\"type\":\"mention\"}\n\nevent: delete\ndata: 103\n\n:thump\nevent: update\ndata: {\"id\":\"2\",\ndata: \"content\":\"<p>hi</p>\"}\n\n";

const REDDIT: &[u8] = br#"{"kind":"Listing","data":{"after":"t1_b","before":null,"children":[
{"kind":"t3","data":{"name":"t3_abc","id":"abc","author":"lena","author_fullname":"t2_1","title":"Voltra charger","selftext":"It &amp; the app crash","created_utc":1700000000.0,"permalink":"/r/voltra/comments/abc/x/","subreddit":"voltra"}},
{"kind":"t1","data":{"name":"t1_b","id":"b","author":"bo","body":"same here","created_utc":1700000100,"parent_id":"t3_abc","link_id":"t3_abc","permalink":"/r/voltra/comments/abc/x/b/"}},
{"kind":"t1","data":{"name":"t1_c","author":"[deleted]","body":"[removed]","created_utc":1700000200}}]}}"#;

const RSS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Reviews</title><link>https://reviews.example</link>
<item><guid>r-1</guid><title>Kettle broke</title><link>https://reviews.example/r/1</link>
<description>&lt;p&gt;The lid snapped on &lt;b&gt;day 7&lt;/b&gt;.&lt;/p&gt;</description>
<author>marta@example.com (Marta R.)</author><pubDate>Tue, 31 Oct 2017 22:10:47 +0000</pubDate></item>
<item><title>No id</title><description>plain</description></item>
</channel></rss>"#;

const ATOM: &[u8] = br#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Forum</title><id>urn:f</id><updated>2024-03-01T10:00:00Z</updated>
<entry><id>urn:e1</id><title>Charger</title><updated>2024-03-01T10:00:00Z</updated>
<author><name>Jonas</name></author><content type="html">&lt;p&gt;Blocked &amp;amp; idle&lt;/p&gt;</content></entry></feed>"#;

const HTML: &[u8] = b"<p><span class=\"h-card\"><a href=\"https://m.example/@acme\" class=\"u-url mention\">@<span>acme</span></a></span> hi &amp; <br>bye</p><p>two</p><script>alert(1)</script>";

/// Every target of this crate.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "import (any file earshot import reads)",
            seeds: seeds(&[
                CANONICAL,
                TWCS,
                TWCS_LABELED,
                JETSTREAM,
                MASTODON_STATUSES,
                MASTODON_NOTIFICATIONS,
                MASTODON_PRETTY,
                X_STREAM,
            ]),
            check: import,
        },
        Target {
            name: "canonical post body (import, signed POST /api/v1/posts)",
            seeds: seeds(&[CANONICAL, br#"{"posts":[{"network":"x","id":1,"author":{"id":"u","handle":"@p"},"text":"hi","created_at":"2017-08-18T20:47:00-07:00"}]}"#]),
            check: canonical,
        },
        Target {
            name: "TWCS CSV rows",
            seeds: seeds(&[TWCS, TWCS_LABELED]),
            check: twcs_rows,
        },
        Target {
            name: "Mastodon status / notification JSON",
            seeds: seeds(&[MASTODON_STATUSES, MASTODON_PRETTY]),
            check: mastodon_entity,
        },
        Target {
            name: "Mastodon streaming (server-sent events)",
            seeds: seeds(&[SSE]),
            check: mastodon_stream,
        },
        Target {
            name: "Bluesky Jetstream frame",
            seeds: JETSTREAM.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect(),
            check: jetstream,
        },
        Target {
            name: "X stream lines",
            seeds: seeds(&[X_STREAM]),
            check: x_stream,
        },
        Target {
            name: "Reddit listing",
            seeds: seeds(&[REDDIT]),
            check: reddit,
        },
        Target {
            name: "RSS / Atom feed",
            seeds: seeds(&[RSS, ATOM]),
            check: feed,
        },
        Target {
            name: "network HTML to text",
            seeds: seeds(&[HTML]),
            check: html,
        },
    ]
}

/// A scratch file per call (the importer reads files, as `earshot import` does).
fn scratch_file(bytes: &[u8]) -> Result<std::path::PathBuf, String> {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "earshot-fuzz-{}-{}.input",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn import(input: &[u8]) -> Result<(), String> {
    let path = scratch_file(input)?;
    let outcome = (|| {
        let Ok(importer) = Importer::open(&path) else {
            return Ok(()); // refused with a reason: fine
        };
        let mut last = 0;
        for record in importer.take(100_000) {
            if record.line() < last {
                return Err(format!(
                    "line numbers went back: {} after {last}",
                    record.line()
                ));
            }
            last = record.line();
            if let Record::Post { post, .. } = record {
                if post.external_id.trim().is_empty() {
                    return Err("a post without an id was taken".into());
                }
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    outcome
}

fn canonical(input: &[u8]) -> Result<(), String> {
    let Ok(items) = parse_canonical_body(input) else {
        return Ok(());
    };
    for post in items.into_iter().flatten() {
        // What earshot exports in the canonical shape reads back as the same post.
        let again =
            serde_json::to_vec(&CanonicalPost::from_new_post(&post)).map_err(|e| e.to_string())?;
        match parse_canonical_body(&again)
            .map_err(|e| e.to_string())?
            .as_slice()
        {
            [Ok(back)] if *back == post => {}
            other => return Err(format!("round trip changed {post:?} into {other:?}")),
        }
    }
    Ok(())
}

fn twcs_rows(input: &[u8]) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let Ok(header) = reader.byte_headers() else {
        return Ok(());
    };
    let Ok(layout) = TwcsLayout::from_header(header.iter()) else {
        return Ok(());
    };
    for row in reader.byte_records().take(10_000) {
        let Ok(row) = row else { return Ok(()) };
        let _ = layout.post(&row);
    }
    Ok(())
}

fn mastodon_entity(input: &[u8]) -> Result<(), String> {
    if let Ok(entity) = Entity::from_json(input) {
        let _ = entity.clone().into_new_post_keyed(StatusKey::LocalId);
        let _ = entity.into_new_post_keyed(StatusKey::Uri);
    }
    Ok(())
}

/// The same bytes, however the network chunks them, are the same events.
fn mastodon_stream(input: &[u8]) -> Result<(), String> {
    use crate::mastodon::stream::SseParser;
    let whole = SseParser::default().feed(input);
    let cut = input.len() * 7 / 13;
    let mut p = SseParser::default();
    let mut split = p.feed(&input[..cut]);
    split.extend(p.feed(&input[cut..]));
    let mut p = SseParser::default();
    let bytewise: Vec<_> = input
        .iter()
        .flat_map(|b| p.feed(std::slice::from_ref(b)))
        .collect();
    if whole != split || whole != bytewise {
        return Err(format!(
            "chunking changed the events: {whole:?} / {split:?} / {bytewise:?}"
        ));
    }
    for e in whole {
        let _ = Entity::from_json(e.data.as_bytes())
            .map(|entity| entity.into_new_post_keyed(StatusKey::LocalId));
    }
    Ok(())
}

fn jetstream(input: &[u8]) -> Result<(), String> {
    static BRAND: OnceLock<Option<BrandMatcher>> = OnceLock::new();
    let frame = String::from_utf8_lossy(input);
    if let Some(brand) = BRAND.get_or_init(|| {
        BrandMatcher::new(
            &["voltra.bsky.social".into()],
            &["did:plc:brand".into()],
            &["voltra".into(), "supercharger".into(), "ædet".into()],
        )
        .ok()
    }) {
        let _ = crate::bluesky::hear::hear(&frame, brand, &mut Scratch::default());
    }
    let _ = crate::bluesky::hear::build_post(&frame);
    Ok(())
}

fn x_stream(input: &[u8]) -> Result<(), String> {
    use crate::x::stream::LineSplitter;
    let whole = LineSplitter::default().feed(input);
    let cut = input.len() / 3;
    let mut s = LineSplitter::default();
    let mut split = s.feed(&input[..cut]);
    split.extend(s.feed(&input[cut..]));
    if whole != split {
        return Err("chunking changed the lines".into());
    }
    for line in whole {
        if let Ok(l) = serde_json::from_slice::<StreamLine>(&line) {
            let _ = l.into_new_post();
        }
    }
    Ok(())
}

fn reddit(input: &[u8]) -> Result<(), String> {
    if let Ok(listing) = serde_json::from_slice::<Listing>(input) {
        for thing in &listing.data.children {
            let _ = thing.to_new_post("acme_support", |p| format!("https://www.reddit.com{p}"));
        }
    }
    Ok(())
}

fn feed(input: &[u8]) -> Result<(), String> {
    let _ = crate::rss::parse::entries(input, &Feed::new("https://reviews.example/rss", "reviews"));
    Ok(())
}

fn html(input: &[u8]) -> Result<(), String> {
    let _ = crate::html::to_text(&String::from_utf8_lossy(input));
    Ok(())
}
