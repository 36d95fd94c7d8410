//! Does a post concern the brand? It does when a mention facet names a brand DID, when it
//! answers (or sits in a thread of) a brand post, when its text says `@brand-handle`, or when
//! its text holds a brand term.
//!
//! Brand terms are found with one Aho-Corasick automaton over every term (thousands are
//! fine), case-insensitively and on word boundaries: `acme` matches "Acme's app" but not
//! "acmeology". Plain-ASCII text is searched as it is; other text is lowercased into a
//! reusable buffer first, so "ØRESUND" matches the term "øresund" without allocating per post.
//! Terms in scripts written without spaces (Chinese, Japanese, Thai) need no boundary.

use super::wire::PostRecord;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

/// Why the brand terms could not be turned into a matcher.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the brand terms cannot be searched: {0}")]
pub struct BrandTermsError(String);

/// Decides whether a post concerns the brand; cheap enough to run on every firehose post.
#[derive(Debug, Clone)]
pub struct BrandMatcher {
    /// Every brand term and `@handle`, lowercased; `None` when there are none.
    terms: Option<AhoCorasick>,
    /// Per pattern id: which edges need a word boundary, and whether it is a handle.
    edges: Vec<Edges>,
    dids: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Edges {
    start: bool,
    end: bool,
    handle: bool,
}

/// Reusable buffers for [`BrandMatcher::text_concerns_brand`] and the record reader, so the
/// hot path allocates only while they grow.
#[derive(Debug, Default)]
pub struct Scratch {
    /// A record's text, when it had to be unescaped.
    pub(crate) text: String,
    /// Lowercased non-ASCII text.
    pub(crate) lower: String,
}

impl BrandMatcher {
    /// A matcher for the brand's `handles` (without `@`), `dids` and brand `terms`.
    pub fn new(
        handles: &[String],
        dids: &[String],
        terms: &[String],
    ) -> Result<Self, BrandTermsError> {
        let mut patterns: Vec<String> = Vec::new();
        let mut edges = Vec::new();
        for term in terms {
            let term = lowercase(term.trim());
            if term.is_empty() {
                continue;
            }
            edges.push(Edges {
                start: term.chars().next().is_some_and(needs_boundary),
                end: term.chars().next_back().is_some_and(needs_boundary),
                handle: false,
            });
            patterns.push(term);
        }
        for handle in handles {
            let handle = lowercase(handle.trim().trim_start_matches('@'));
            if handle.is_empty() {
                continue;
            }
            edges.push(Edges {
                start: true,
                end: true,
                handle: true,
            });
            patterns.push(format!("@{handle}"));
        }
        let terms = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build(&patterns)
                    .map_err(|e| BrandTermsError(e.to_string()))?,
            )
        };
        let mut matcher = BrandMatcher {
            terms,
            edges,
            dids: Vec::new(),
        };
        matcher.set_dids(dids);
        Ok(matcher)
    }

    /// Replaces the brand DIDs (after resolving the handles).
    pub fn set_dids(&mut self, dids: &[String]) {
        self.dids = dids
            .iter()
            .map(|d| d.trim().to_owned())
            .filter(|d| d.starts_with("did:"))
            .collect();
        self.dids.sort();
        self.dids.dedup();
    }

    pub fn dids(&self) -> &[String] {
        &self.dids
    }

    /// Whether `did` is one of the brand's accounts.
    pub fn is_brand(&self, did: &str) -> bool {
        self.dids.iter().any(|d| d == did)
    }

    /// Whether a raw record might name a brand DID (a fast substring test; confirm with
    /// [`Self::record_names_brand`]).
    pub fn may_name_brand(&self, raw_record: &str) -> bool {
        self.dids.iter().any(|d| raw_record.contains(d.as_str()))
    }

    /// Whether a record mentions a brand DID in a facet or answers within a brand thread.
    pub fn record_names_brand(&self, record: &PostRecord) -> bool {
        if record.mentioned_dids().any(|d| self.is_brand(d)) {
            return true;
        }
        record.reply.as_ref().is_some_and(|r| {
            [&r.parent.uri, &r.root.uri]
                .into_iter()
                .any(|uri| uri_author(uri).is_some_and(|did| self.is_brand(did)))
        })
    }

    /// Whether `text` holds a brand term or `@handle` on word boundaries.
    pub fn text_concerns_brand(&self, text: &str, lower: &mut String) -> bool {
        let Some(terms) = &self.terms else {
            return false;
        };
        let haystack = if text.is_ascii() {
            text
        } else {
            lower.clear();
            lower.extend(text.chars().flat_map(char::to_lowercase));
            lower.as_str()
        };
        terms.find_overlapping_iter(haystack).any(|m| {
            let edges = self.edges[m.pattern().as_usize()];
            let before = haystack
                .get(..m.start())
                .and_then(|s| s.chars().next_back());
            let after = haystack.get(m.end()..).unwrap_or("");
            (!edges.start || !before.is_some_and(|c| is_word(c) || (edges.handle && c == '@')))
                && (!edges.end || ends_cleanly(after, edges.handle))
        })
    }
}

/// Whether the text right after a match leaves it a whole word (or a whole handle: `@acme.social`
/// inside `@acme.social.example` is someone else).
fn ends_cleanly(after: &str, handle: bool) -> bool {
    let mut rest = after.chars();
    match rest.next() {
        None => true,
        Some(c) if is_word(c) => false,
        Some('.' | '-') if handle => !rest.next().is_some_and(is_word),
        Some(_) => true,
    }
}

/// The DID of an `at://{did}/...` URI.
fn uri_author(uri: &str) -> Option<&str> {
    uri.strip_prefix("at://")?.split('/').next()
}

fn lowercase(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A term edge needs a word boundary unless it is punctuation (`#acme`) or a script written
/// without spaces.
fn needs_boundary(c: char) -> bool {
    is_word(c) && !unspaced_script(c)
}

fn unspaced_script(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FFFF) // CJK extensions B+
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bluesky::wire::{FacetFeature, ReplyRef, StrongRef};

    fn matcher(terms: &[&str]) -> BrandMatcher {
        let terms: Vec<String> = terms.iter().map(|s| s.to_string()).collect();
        BrandMatcher::new(
            &["acme.bsky.social".into()],
            &["did:plc:brand".into()],
            &terms,
        )
        .unwrap()
    }

    fn check(m: &BrandMatcher, text: &str) -> bool {
        m.text_concerns_brand(text, &mut String::new())
    }

    #[test]
    fn terms_match_whole_words_in_any_case() {
        let m = matcher(&["acme roadster", "Zephyr", "#acmecare", "øresund"]);
        assert!(check(&m, "My ACME Roadster won't charge"));
        assert!(check(&m, "the zephyr's seat is stuck"));
        assert!(check(&m, "loving it #AcmeCare!"));
        assert!(check(&m, "ØRESUND bridge toll app broke"));
        assert!(check(&m, "broke:zephyr"));
        assert!(!check(&m, "zephyrs everywhere"));
        assert!(!check(&m, "a prezephyr thing"));
        assert!(!check(&m, "acme roadsters"));
        assert!(!check(&m, "nothing about us"));
        // An overlapping miss does not hide a later hit.
        assert!(check(&m, "prezephyr and zephyr"));
    }

    #[test]
    fn handles_match_as_whole_handles() {
        let m = matcher(&[]);
        assert!(check(&m, "@acme.bsky.social help!"));
        assert!(check(&m, "hey @Acme.Bsky.Social."));
        assert!(check(&m, "(@acme.bsky.social)"));
        assert!(!check(&m, "@acme.bsky.social.example is not us"));
        assert!(!check(&m, "@acme.bsky.socialite"));
        assert!(!check(&m, "mail me at x@acme.bsky.social"));
        assert!(!check(&m, "acme.bsky.social without the at sign"));
    }

    #[test]
    fn unspaced_scripts_need_no_boundaries() {
        let m = matcher(&["アクメ", "艾克美"]);
        assert!(check(&m, "アクメの車が動かない"));
        assert!(check(&m, "我的艾克美汽车坏了"));
        let none = BrandMatcher::new(&[], &[], &[]).unwrap();
        assert!(!check(&none, "anything"));
    }

    #[test]
    fn records_name_the_brand_by_did() {
        let m = matcher(&[]);
        let mut record = PostRecord {
            text: "hi".into(),
            ..PostRecord::default()
        };
        assert!(!m.record_names_brand(&record));
        record.reply = Some(ReplyRef {
            root: StrongRef {
                uri: "at://did:plc:brand/app.bsky.feed.post/3lxp4vq2d2k2a".into(),
                cid: "bafy".into(),
            },
            parent: StrongRef {
                uri: "at://did:plc:someone/app.bsky.feed.post/3lxp4vq2d2k2b".into(),
                cid: "bafy".into(),
            },
        });
        assert!(m.record_names_brand(&record));
        record.reply = None;
        record.facets = vec![crate::bluesky::wire::Facet {
            index: Default::default(),
            features: vec![FacetFeature {
                kind: "app.bsky.richtext.facet#mention".into(),
                did: Some("did:plc:brand".into()),
                uri: None,
                tag: None,
            }],
        }];
        assert!(m.record_names_brand(&record));
        assert!(m.may_name_brand(r#"{"did":"did:plc:brand"}"#));
        assert!(!m.may_name_brand(r#"{"did":"did:plc:other"}"#));
        assert!(m.is_brand("did:plc:brand"));
    }
}
