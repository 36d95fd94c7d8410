//! A feed document (RSS 0.9x/1.0/2.0 or Atom 1.0, read leniently by `feed-rs`) → entries as
//! posts (PROTOCOLS.md §5.3).
//!
//! Keys: the entry's `guid` (RSS) or `id` (Atom), else a stable hash of link + title (the
//! same entry hashes the same on every read and after a restart). Text: the title, then the
//! content (`content:encoded`, Atom `content`) or else the summary (`description`, Atom
//! `summary`), through [`crate::html::to_text`], so scripts, styles and handlers are gone.
//! Author: the entry's, else the feed's, else the feed's label.

use super::config::Feed;
use crate::{clamp_text, html};
use chrono::{DateTime, Utc};
use earshot_core::{Author, Network, NewPost};
use sha2::{Digest, Sha256};

/// The prefix of ids earshot made up for entries that carry none.
const HASHED: &str = "sha256:";

/// One entry as a post, with what the source needs to notice edits.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// `created_at` is the entry's own date, or `None` when it has none: the source puts
    /// the time it first saw the entry there.
    pub post: NewPost,
    pub dated: bool,
    /// A short hash of what a reader sees (title, text, link): a change is an edit.
    pub fingerprint: String,
}

/// Why a document is not a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable RSS or Atom feed: {0}")]
pub struct MalformedFeed(pub String);

fn hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// The stable stand-in id for an entry without one.
fn hashed_id(link: &str, title: &str, content: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(link.as_bytes());
    hash.update([0]);
    hash.update(title.as_bytes());
    if !content.is_empty() {
        hash.update([0]);
        hash.update(content.as_bytes());
    }
    format!("{HASHED}{}", hex(&hash.finalize(), 16))
}

fn fingerprint(post: &NewPost) -> String {
    let mut hash = Sha256::new();
    hash.update(post.text.as_bytes());
    hash.update([0]);
    hash.update(post.url.as_deref().unwrap_or_default().as_bytes());
    hex(&hash.finalize(), 8)
}

/// Text of a feed text construct. Atom declares its type: `text` is escaped first, so a
/// literal `<b>` stays text; `html` and `xhtml` go through the sanitiser. RSS declares
/// nothing and publishers put escaped HTML even in titles, so RSS is always sanitised.
fn text_of(content: &str, subtype: &str, declared: bool) -> String {
    if declared && subtype == "plain" {
        html::to_text(&html_escape::encode_text(content))
    } else {
        html::to_text(content)
    }
}

/// The entry's page: the first `alternate` (or unlabelled) link that is not a comments link.
fn link_of(entry: &feed_rs::model::Entry) -> Option<String> {
    entry
        .links
        .iter()
        .find(|l| l.target.is_none() && l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or_else(|| entry.links.first())
        .map(|l| l.href.trim().to_owned())
        .filter(|href| !href.is_empty())
}

fn author_of(people: &[feed_rs::model::Person]) -> Option<Author> {
    people.iter().find_map(|p| {
        let name = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let email = p.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        let handle = name.or(email)?.to_owned();
        let external_id = email.or(p.uri.as_deref()).unwrap_or(&handle).to_owned();
        Some(Author::new(external_id, handle))
    })
}

/// Reads `document` (the raw bytes: the XML prolog names the encoding) as `feed`'s entries,
/// in document order, duplicates (same id) dropped after the first.
pub(crate) fn entries(document: &[u8], feed: &Feed) -> Result<Vec<Entry>, MalformedFeed> {
    let parser = feed_rs::parser::Builder::new()
        .sanitize_content(false)
        .id_generator(|links, title, _base| {
            let link = links.first().map(|l| l.href.as_str()).unwrap_or_default();
            let title = title
                .as_ref()
                .map(|t| t.content.as_str())
                .unwrap_or_default();
            hashed_id(link, title, "")
        })
        .build();
    // feed-rs 3.0.0 panics on some author fields (a multi-byte character right after an
    // e-mail address slices a string mid-character): such a feed is malformed this poll,
    // never a dead connector.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(document)))
        .map_err(|_| {
            MalformedFeed("the feed parser gave up on this document (feed-rs panicked)".into())
        })?
        .map_err(|e| MalformedFeed(e.to_string()))?;
    let declared = parsed.feed_type == feed_rs::model::FeedType::Atom;
    let feed_author = author_of(&parsed.authors);
    let feed_lang = parsed.language.clone();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for entry in parsed.entries {
        let title = entry
            .title
            .as_ref()
            .map(|t| text_of(&t.content, t.content_type.subty().as_str(), declared))
            .unwrap_or_default();
        let body = match (&entry.content, &entry.summary) {
            (Some(content), _)
                if content
                    .body
                    .as_deref()
                    .is_some_and(|b| !b.trim().is_empty()) =>
            {
                text_of(
                    content.body.as_deref().unwrap_or_default(),
                    content.content_type.subty().as_str(),
                    declared,
                )
            }
            (_, Some(summary)) => text_of(
                &summary.content,
                summary.content_type.subty().as_str(),
                declared,
            ),
            _ => String::new(),
        };
        let text = match (title.as_str(), body.as_str()) {
            (t, "") => t.to_owned(),
            ("", b) => b.to_owned(),
            (t, b) if b.starts_with(t) => b.to_owned(),
            (t, b) => format!("{t}\n\n{b}"),
        };
        if text.is_empty() {
            tracing::debug!(feed = %feed.label, id = %entry.id, "entry without text skipped");
            continue;
        }
        let link = link_of(&entry);
        let mut id = entry.id.trim().to_owned();
        if id.starts_with(HASHED) && link.is_none() && title.is_empty() {
            // Nothing to tell such entries apart but their text.
            id = hashed_id("", "", &text);
        }
        if !seen.insert(id.clone()) {
            continue;
        }
        let created_at = entry.published.or(entry.updated);
        let author = author_of(&entry.authors)
            .or_else(|| feed_author.clone())
            .unwrap_or_else(|| Author::new(feed.url.clone(), feed.label.clone()));
        let post = NewPost {
            lang: entry.language.clone().or_else(|| feed_lang.clone()),
            url: link,
            ..NewPost::new(
                Network::Rss,
                id,
                author,
                clamp_text(text),
                created_at.unwrap_or(DateTime::<Utc>::MIN_UTC),
            )
        };
        out.push(Entry {
            fingerprint: fingerprint(&post),
            dated: created_at.is_some(),
            post,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> Feed {
        Feed::new("https://reviews.example/acme.rss", "reviews")
    }

    /// Found by fuzzing: an author like `marta@example.co\u{202E}m (Marta R.)` made feed-rs
    /// slice inside a character and panic, taking the connector's task with it.
    #[test]
    fn a_feed_that_makes_the_parser_panic_is_malformed() {
        let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>R</title>\
            <item><guid>1</guid><title>t</title><author>marta@example.co\u{202E}m (Marta R.)</author></item>\
            </channel></rss>";
        let e = entries(rss.as_bytes(), &feed())
            .map(|v| v.len())
            .unwrap_err();
        assert!(e.0.contains("gave up"), "{e:?}");
    }

    #[test]
    fn rss_items_become_posts() {
        let rss = br#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Acme reviews</title><language>da</language>
<item><guid isPermaLink="false">review-88412</guid><title>Kedlen d&#248;de efter 3.1</title>
<link>https://reviews.example/r/88412</link><dc:creator>Marta R.</dc:creator>
<description><![CDATA[<p>Two stars.<script>alert(1)</script> Support &amp; firmware <b>both</b> bad.</p>]]></description>
<pubDate>Thu, 20 Aug 2026 09:14:40 +0000</pubDate></item>
<item><title>No guid here</title><link>https://reviews.example/r/2</link><description>plain</description></item>
<item><guid>review-88412</guid><title>A duplicate guid</title></item>
</channel></rss>"#;
        let entries = entries(rss, &feed()).unwrap();
        assert_eq!(entries.len(), 2);
        let post = &entries[0].post;
        assert_eq!(post.network, Network::Rss);
        assert_eq!(post.external_id, "review-88412");
        assert_eq!(
            post.text,
            "Kedlen døde efter 3.1\n\nTwo stars. Support & firmware both bad."
        );
        assert_eq!(post.author.handle, "Marta R.");
        assert_eq!(post.url.as_deref(), Some("https://reviews.example/r/88412"));
        assert_eq!(post.lang.as_deref(), Some("da"));
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:14:40+00:00");
        assert!(entries[0].dated);

        let hashed = &entries[1];
        assert!(hashed.post.external_id.starts_with("sha256:"));
        assert!(!hashed.dated);
        assert_eq!(hashed.post.author.handle, "reviews");
        // Stable: the same entry read again hashes the same.
        assert_eq!(
            hashed.post.external_id,
            hashed_id("https://reviews.example/r/2", "No guid here", "")
        );
    }

    #[test]
    fn atom_entries_become_posts() {
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Forum</title><id>urn:forum</id>
<updated>2026-08-20T09:15:00Z</updated><author><name>Forum</name></author>
<entry><id>tag:forum.acme.example,2026:post-5120-3</id><title type="text">a &lt;b&gt; literal</title>
<link rel="alternate" href="https://forum.acme.example/t/5120/3"/><link rel="replies" href="https://forum.acme.example/t/5120/3.atom"/>
<updated>2026-08-20T09:14:40Z</updated>
<content type="html">&lt;p&gt;Charged twice &lt;img src=x onerror=alert(1)&gt;for the annual plan.&lt;/p&gt;</content></entry>
</feed>"#;
        let entries = entries(atom, &feed()).unwrap();
        let post = &entries[0].post;
        assert_eq!(post.external_id, "tag:forum.acme.example,2026:post-5120-3");
        assert_eq!(
            post.text,
            "a <b> literal\n\nCharged twice for the annual plan."
        );
        assert_eq!(post.author.handle, "Forum");
        assert_eq!(
            post.url.as_deref(),
            Some("https://forum.acme.example/t/5120/3")
        );
        assert_eq!(post.created_at.to_rfc3339(), "2026-08-20T09:14:40+00:00");
    }

    #[test]
    fn broken_documents_are_errors_not_panics() {
        for doc in [
            &b"<rss version=\"2.0\"><channel><item><title>cut"[..],
            b"<html><body>not a feed</body></html>",
            b"",
            b"\xff\xfe\x00garbage",
        ] {
            assert!(
                entries(doc, &feed()).is_err(),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
    }
}
