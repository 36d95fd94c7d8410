//! A reply cut into lowercased words that keep their byte offsets in the original text (the
//! evidence span must point into what the agent wrote), grouped into sentences and clauses.
//!
//! URLs and @mentions are skipped; numbers keep their inner `.`, `/`, `-` and `:` (`2.4`,
//! `15/4`, `2024-04-15`); French and Italian elisions are split (`l'ajouterons` → `l`,
//! `ajouterons`) so phrases can be written without them.

use crate::text::is_word_char;

/// One word of the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// Lowercased, typographic apostrophes made ASCII.
    pub text: String,
    /// A comma (or dash) separates this word from the one before.
    pub comma_before: bool,
}

/// A run of words between sentence punctuation, or after a contrast word ("but").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clause {
    /// Word indices `start..end`.
    pub start: usize,
    pub end: usize,
    /// The sentence it belongs to (index into [`Doc::sentences`]).
    pub sentence: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    pub words: Vec<Word>,
    /// Word ranges of sentences, and whether each ends with a question mark.
    pub sentences: Vec<(usize, usize, bool)>,
    pub clauses: Vec<Clause>,
}

/// Words that begin a word but end in an apostrophe in French/Italian elisions.
const ELISIONS: &[&str] = &[
    "l", "d", "j", "n", "s", "c", "m", "t", "qu", "dell", "dall", "nell", "sull", "all", "un",
    "quell", "jusqu", "lorsqu", "puisqu",
];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}')
}

fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|r| r.chars().next())
}

impl Doc {
    /// `contrast` says whether a (lowercased) word, after a comma or not, starts a new clause
    /// ("but", "men", ", aber").
    pub fn new(text: &str, contrast: &dyn Fn(&str, bool) -> bool) -> Doc {
        let mut doc = Doc::default();
        let mut i = 0usize;
        let mut comma = false;
        let mut sentence_break = false;
        let mut question = false;
        let mut sentence_start = 0usize;
        let mut prev_word_char = false;
        while i < text.len() {
            let Some(c) = char_at(text, i) else { break };
            if !prev_word_char && c == '@' {
                // A mention: the handle says nothing about what is promised.
                let mut j = i + 1;
                while let Some(d) = char_at(text, j) {
                    if !(is_word_char(d) || d == '.') {
                        break;
                    }
                    j += d.len_utf8();
                }
                i = j;
                prev_word_char = false;
                continue;
            }
            if !prev_word_char && (c == 'h' || c == 'H' || c == 'w' || c == 'W') {
                if let Some(len) = url_len(&text[i..]) {
                    i += len;
                    prev_word_char = false;
                    continue;
                }
            }
            if is_word_char(c) {
                let start = i;
                let mut j = i;
                let mut last = c;
                while let Some(d) = char_at(text, j) {
                    if is_word_char(d) {
                        j += d.len_utf8();
                        last = d;
                        continue;
                    }
                    let next = char_at(text, j + d.len_utf8());
                    let joins = match d {
                        _ if is_apostrophe(d) => next.is_some_and(|n| n.is_alphabetic()),
                        '-' => next.is_some_and(is_word_char) && last.is_alphanumeric(),
                        '.' | '/' | ':' => {
                            last.is_ascii_digit() && next.is_some_and(|n| n.is_ascii_digit())
                        }
                        _ => false,
                    };
                    if !joins {
                        break;
                    }
                    j += d.len_utf8();
                    last = d;
                }
                if sentence_break && !doc.words.is_empty() {
                    doc.sentences
                        .push((sentence_start, doc.words.len(), question));
                    sentence_start = doc.words.len();
                    question = false;
                }
                sentence_break = false;
                doc.push_word(text, start, j, comma);
                comma = false;
                i = j;
                prev_word_char = true;
                continue;
            }
            match c {
                // "3. april", "15. März": an ordinal day, not the end of a sentence.
                '.' if prev_word_char && doc.ordinal_before(text, i) => {}
                '.' | '!' | ';' | '\n' | '\u{2026}' | ':' => sentence_break = true,
                '?' => {
                    sentence_break = true;
                    question = true;
                }
                ',' | '\u{2013}' | '\u{2014}' | '(' | ')' => comma = true,
                '-' if !prev_word_char => comma = true,
                _ => {}
            }
            prev_word_char = false;
            i += c.len_utf8();
        }
        if sentence_start < doc.words.len() {
            doc.sentences
                .push((sentence_start, doc.words.len(), question));
        }
        for (si, &(s, e, _)) in doc.sentences.iter().enumerate() {
            let mut start = s;
            for w in s..e {
                if w > start && contrast(&doc.words[w].text, doc.words[w].comma_before) {
                    doc.clauses.push(Clause {
                        start,
                        end: w,
                        sentence: si,
                    });
                    start = w;
                }
            }
            if start < e {
                doc.clauses.push(Clause {
                    start,
                    end: e,
                    sentence: si,
                });
            }
        }
        doc
    }

    fn push_word(&mut self, text: &str, start: usize, end: usize, comma: bool) {
        let raw = &text[start..end];
        let mut lower = String::with_capacity(raw.len());
        for ch in raw.chars() {
            if is_apostrophe(ch) {
                lower.push('\'');
            } else {
                lower.extend(ch.to_lowercase());
            }
        }
        if let Some(pos) = lower.find('\'') {
            let head = &lower[..pos];
            if ELISIONS.contains(&head) && pos + 1 < lower.len() {
                // Byte offsets in the original: the apostrophe may be a 3-byte ’.
                let head_len = raw
                    .char_indices()
                    .find(|(_, ch)| is_apostrophe(*ch))
                    .map_or(pos, |(k, _)| k);
                let apos_len = raw[head_len..].chars().next().map_or(1, char::len_utf8);
                self.words.push(Word {
                    start,
                    end: start + head_len,
                    text: head.to_string(),
                    comma_before: comma,
                });
                self.words.push(Word {
                    start: start + head_len + apos_len,
                    end,
                    text: lower[pos + 1..].to_string(),
                    comma_before: false,
                });
                return;
            }
        }
        self.words.push(Word {
            start,
            end,
            text: lower,
            comma_before: comma,
        });
    }

    /// The last word is a one- or two-digit number and a lowercase word follows the dot at
    /// byte `dot`.
    fn ordinal_before(&self, text: &str, dot: usize) -> bool {
        let Some(last) = self.words.last() else {
            return false;
        };
        if last.end != dot || last.text.len() > 2 || !last.text.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
        let rest = text.get(dot + 1..).unwrap_or("");
        let trimmed = rest.trim_start_matches([' ', '\u{00A0}']);
        trimmed.len() < rest.len() && trimmed.chars().next().is_some_and(char::is_lowercase)
    }

    /// The sentence before `sentence`, as a word range (empty for the first).
    pub fn previous_sentence(&self, sentence: usize) -> (usize, usize) {
        match sentence.checked_sub(1).and_then(|p| self.sentences.get(p)) {
            Some(&(s, e, _)) => (s, e),
            None => (0, 0),
        }
    }
}

fn url_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let starts = |p: &[u8]| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p);
    if !(starts(b"https://") || starts(b"http://") || starts(b"www.")) {
        return None;
    }
    let end = s
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
        .map_or(s.len(), |(k, _)| k);
    // "see https://t.co/x!": the sentence's punctuation is not the link's.
    let trimmed = s[..end].trim_end_matches(['.', ',', '!', '?', ';', ':', ')', '"', '\'']);
    Some(trimmed.len().max(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_contrast(w: &str, _comma: bool) -> bool {
        w == "but"
    }

    #[test]
    fn words_keep_offsets_and_numbers() {
        let text = "@Bob We\u{2019}ll add it in v2.4 by 15/4, see https://t.co/x! Ok?";
        let d = Doc::new(text, &no_contrast);
        let words: Vec<&str> = d.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(
            words,
            ["we'll", "add", "it", "in", "v2.4", "by", "15/4", "see", "ok"]
        );
        assert_eq!(&text[d.words[0].start..d.words[0].end], "We\u{2019}ll");
        assert!(d.words[7].comma_before);
        assert_eq!(d.sentences.len(), 2);
        assert!(d.sentences[1].2, "the last sentence is a question");
        assert!(!d.sentences[0].2);
    }

    #[test]
    fn elisions_split_and_contrast_opens_a_clause() {
        let text = "Nous l\u{2019}ajouterons bientôt";
        let d = Doc::new(text, &no_contrast);
        let words: Vec<&str> = d.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, ["nous", "l", "ajouterons", "bientôt"]);
        assert_eq!(&text[d.words[2].start..d.words[2].end], "ajouterons");
        let d = Doc::new("no plans now but we'll pass it on", &no_contrast);
        assert_eq!(d.clauses.len(), 2);
        assert_eq!(d.words[d.clauses[1].start].text, "but");
        let d = Doc::new("don't stop", &no_contrast);
        assert_eq!(d.words[0].text, "don't", "English contractions stay whole");
    }
}
