//! Configured brand names, handles and keywords found in a post: one Aho-Corasick automaton
//! built when the analyzer is, matched case-insensitively at word boundaries, with byte
//! offsets into the original text (so the UI can highlight them).

use crate::text::{char_before, decode_at, is_word_char};
use aho_corasick::{AhoCorasick, MatchKind};
use earshot_core::analysis::TermMatch;
use serde::{Deserialize, Serialize};

/// What a company listens for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Terms {
    /// Brand and product names: `Tesla`, `Model 3`.
    pub brands: Vec<String>,
    /// The brand's handles, with or without the leading `@`.
    pub handles: Vec<String>,
    /// Anything else worth flagging: `autopilot`, `refund`.
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Brand,
    Handle,
    Keyword,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Brand => "brand",
            Kind::Handle => "handle",
            Kind::Keyword => "keyword",
        }
    }
}

/// The compiled matcher.
#[derive(Debug, Clone)]
pub struct TermMatcher {
    ac: Option<AhoCorasick>,
    /// Per automaton pattern: the term as configured and its kind.
    terms: Vec<(String, Kind)>,
}

impl TermMatcher {
    pub fn new(terms: &Terms) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut meta: Vec<(String, Kind)> = Vec::new();
        let mut push = |pattern: String, term: &str, kind: Kind| {
            if pattern.is_empty() || patterns.contains(&pattern) {
                return;
            }
            patterns.push(pattern);
            meta.push((term.to_string(), kind));
        };
        let lists = [
            (&terms.handles, Kind::Handle),
            (&terms.brands, Kind::Brand),
            (&terms.keywords, Kind::Keyword),
        ];
        for (list, kind) in lists {
            for raw in list {
                let t = raw.trim();
                let t = if kind == Kind::Handle {
                    t.trim_start_matches('@')
                } else {
                    t
                };
                if t.is_empty() {
                    continue;
                }
                let term = if kind == Kind::Handle {
                    format!("@{t}")
                } else {
                    t.to_string()
                };
                // The automaton folds ASCII case; for other letters (Ø, É) the usual spellings
                // are added as their own patterns.
                for variant in case_variants(&term) {
                    push(variant, &term, kind);
                }
            }
        }
        let ac = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
        };
        TermMatcher { ac, terms: meta }
    }

    pub fn is_empty(&self) -> bool {
        self.ac.is_none()
    }

    /// Every configured term in `text`, left to right, not overlapping.
    pub fn find(&self, text: &str) -> Vec<TermMatch> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in ac.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let Some((term, kind)) = self.terms.get(m.pattern().as_usize()) else {
                continue;
            };
            let first = decode_at(text, start).0;
            let last = char_before(text, end);
            if is_word_char(first) && is_word_char(char_before(text, start)) {
                continue;
            }
            if is_word_char(last) && end < text.len() && is_word_char(decode_at(text, end).0) {
                continue;
            }
            out.push(TermMatch {
                term: term.clone(),
                kind: kind.as_str().to_string(),
                start,
                end,
            });
        }
        out
    }
}

fn case_variants(term: &str) -> Vec<String> {
    let mut v = vec![term.to_string()];
    if term.is_ascii() {
        return v;
    }
    let lower = term.to_lowercase();
    let upper = term.to_uppercase();
    let mut title = String::with_capacity(term.len());
    let mut at_start = true;
    for c in lower.chars() {
        if at_start {
            title.extend(c.to_uppercase());
        } else {
            title.push(c);
        }
        at_start = !c.is_alphanumeric();
    }
    for x in [lower, upper, title] {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            brands: vec!["Tesla".into(), "Model 3".into(), "Ørsted".into()],
            handles: vec!["elonmusk".into(), "@TeslaSupport".into()],
            keywords: vec!["autopilot".into(), "seat".into()],
        }
    }

    #[test]
    fn finds_terms_case_insensitively_with_offsets() {
        let m = TermMatcher::new(&terms());
        let text = "@ElonMusk my TESLA model 3 seat, #autopilot!";
        let found = m.find(text);
        let got: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|t| (t.term.as_str(), t.kind.as_str(), &text[t.start..t.end]))
            .collect();
        assert_eq!(
            got,
            [
                ("@elonmusk", "handle", "@ElonMusk"),
                ("Tesla", "brand", "TESLA"),
                ("Model 3", "brand", "model 3"),
                ("seat", "keyword", "seat"),
                ("autopilot", "keyword", "autopilot"),
            ]
        );
    }

    #[test]
    fn respects_word_boundaries() {
        let m = TermMatcher::new(&terms());
        assert!(m.find("Teslas and seatbelts and @elonmuskfan").is_empty());
        assert_eq!(m.find("(tesla)").len(), 1);
    }

    #[test]
    fn non_ascii_terms_in_any_common_case() {
        let m = TermMatcher::new(&terms());
        let text = "ØRSTED og ørsted og Ørsted";
        let found = m.find(text);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|t| t.term == "Ørsted"));
        assert_eq!(&text[found[0].start..found[0].end], "ØRSTED");
    }

    #[test]
    fn empty_terms_match_nothing() {
        let m = TermMatcher::new(&Terms::default());
        assert!(m.is_empty());
        assert!(m.find("anything").is_empty());
    }
}
