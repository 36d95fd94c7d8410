//! Text preparation shared by every analysis step: one pass over the post that lowercases it,
//! drops what is not language (URLs, @mentions, the `#` of hashtags, HTML entities), decodes
//! literal `\uXXXX` escapes that some exports leave in, and splits the rest into word tokens.
//!
//! Everything downstream (language vote, lexicon, model features, fingerprint) reads the
//! [`Prepared`] text, so the post is scanned once and allocated into twice (text and tokens).

/// A word in [`Prepared::clean`]: byte offsets plus whether it was written in capitals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: u32,
    pub end: u32,
    /// Written in capitals in the original (`TERRIBLE`), at least two letters long.
    pub caps: bool,
}

/// Whole-post counts gathered during the pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextStats {
    pub exclamations: u32,
    pub question_marks: u32,
    /// Letters in Latin script.
    pub latin_letters: u32,
    /// Letters in any other script (Arabic, Devanagari, Cyrillic, CJK, ...).
    pub other_letters: u32,
    /// Words of three or more letters written all in capitals.
    pub caps_words: u32,
    /// @mentions removed.
    pub mentions: u32,
    /// URLs removed.
    pub urls: u32,
}

/// A post's text made ready for analysis.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Lowercased text without URLs, mentions, `#` and HTML entities (each replaced by a space).
    pub clean: String,
    pub tokens: Vec<Token>,
    pub stats: TextStats,
    /// Byte offsets in `clean` where a lexicon phrase may start: every character that is not
    /// a word character, and the first character of every run of word characters (so the
    /// phrase matchers visit these, not every byte).
    pub(crate) starts: Vec<u32>,
}

impl Prepared {
    pub fn new(text: &str) -> Self {
        let mut w = Writer {
            out: Vec::with_capacity(text.len() + 8),
            stats: TextStats::default(),
            caps_runs: Vec::new(),
            run_start: 0,
            run_letters: 0,
            run_upper: true,
        };
        w.fill(text);
        w.end_run();
        let Writer {
            out,
            stats,
            caps_runs,
            ..
        } = w;
        // Built from whole chars only, so this never fails; stay safe if it ever did.
        let clean = String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let mut p = Prepared {
            tokens: Vec::with_capacity(clean.len() / 5 + 2),
            starts: Vec::with_capacity(clean.len() / 2 + 2),
            clean,
            stats,
        };
        p.tokenize(&caps_runs);
        p
    }

    /// The text of token `i`.
    pub fn token_str(&self, i: usize) -> &str {
        match self.tokens.get(i) {
            Some(t) => self
                .clean
                .get(t.start as usize..t.end as usize)
                .unwrap_or(""),
            None => "",
        }
    }

    /// Splits `clean` into words; a word is caps when it matches a shouted run of letters.
    /// Records [`Prepared::starts`] on the way.
    fn tokenize(&mut self, caps_runs: &[(u32, u32)]) {
        let s = self.clean.as_bytes();
        let mut caps = caps_runs.iter().peekable();
        let mut i = 0usize;
        while i < s.len() {
            let (word, len) = word_char_at(&self.clean, i);
            self.starts.push(i as u32);
            if !word {
                i += len;
                continue;
            }
            let start = i;
            i += len;
            let mut end = i;
            while i < s.len() {
                // ASCII letters and digits need no decoding.
                if s[i].is_ascii_alphanumeric() || s[i] == b'_' {
                    i += 1;
                    end = i;
                    continue;
                }
                let (word, len) = word_char_at(&self.clean, i);
                if word {
                    i += len;
                    end = i;
                } else if (s[i] == b'\'' || s[i] == b'-')
                    && i + 1 < s.len()
                    && word_char_at(&self.clean, i + 1).0
                {
                    // keep don't / e-mail / wi-fi together, but not a trailing apostrophe;
                    // the mark and the word characters after it are phrase starts
                    self.starts.push(i as u32);
                    self.starts.push((i + len) as u32);
                    i += len;
                } else {
                    break;
                }
            }
            let (start, end) = (start as u32, end as u32);
            while caps.peek().is_some_and(|r| r.1 <= start) {
                caps.next();
            }
            let is_caps = caps.peek().is_some_and(|r| r.0 >= start && r.1 <= end);
            self.tokens.push(Token {
                start,
                end,
                caps: is_caps,
            });
        }
    }
}

/// The one pass over the original text.
struct Writer {
    out: Vec<u8>,
    stats: TextStats,
    /// Byte ranges (in `out`) of words of 3+ letters written all in capitals.
    caps_runs: Vec<(u32, u32)>,
    run_start: usize,
    run_letters: u32,
    run_upper: bool,
}

impl Writer {
    #[inline]
    fn end_run(&mut self) {
        if self.run_letters >= 3 && self.run_upper {
            self.caps_runs
                .push((self.run_start as u32, self.out.len() as u32));
            self.stats.caps_words += 1;
        }
        self.run_letters = 0;
        self.run_upper = true;
    }

    #[inline]
    fn letter(&mut self, upper: bool) {
        if self.run_letters == 0 {
            self.run_start = self.out.len();
        }
        self.run_letters += 1;
        self.run_upper &= upper;
    }

    fn fill(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0usize;
        let mut prev_word = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b >= 0x80 {
                let Some(c) = text.get(i..).and_then(|s| s.chars().next()) else {
                    break;
                };
                i += c.len_utf8();
                self.push_char(c);
                prev_word = c.is_alphanumeric();
                continue;
            }
            if b.is_ascii_alphabetic() {
                // URL: only at a word start, so "xhttp" is not one.
                if !prev_word && matches!(b, b'h' | b'H' | b'w' | b'W') {
                    if let Some(len) = url_len(&bytes[i..]) {
                        self.end_run();
                        self.out.push(b' ');
                        self.stats.urls += 1;
                        i += len;
                        prev_word = false;
                        continue;
                    }
                }
                self.letter(b.is_ascii_uppercase());
                self.stats.latin_letters += 1;
                self.out.push(b.to_ascii_lowercase());
                prev_word = true;
                i += 1;
                // The lowercase letters that follow (most of a post) in one go: no URL can
                // start inside a word, and they only lengthen the letter run.
                let run = bytes[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                if run > 0 {
                    self.run_letters += run as u32;
                    self.run_upper = false;
                    self.stats.latin_letters += run as u32;
                    self.out.extend_from_slice(&bytes[i..i + run]);
                    i += run;
                }
                continue;
            }
            self.end_run();
            match b {
                b'0'..=b'9' | b'_' => {
                    self.out.push(b);
                    prev_word = true;
                    i += 1;
                    continue;
                }
                b'@' if !prev_word => {
                    let n = bytes[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                        .count();
                    self.out.push(b' ');
                    if n > 0 {
                        self.stats.mentions += 1;
                        i += 1 + n;
                        prev_word = false;
                        continue;
                    }
                }
                b'#' => self.out.push(b' '),
                b'&' => {
                    if let Some(len) = entity_len(&bytes[i..]) {
                        // `&amp;` stays an ampersand; the others are markup noise.
                        self.out.push(if len == 5 && bytes[i + 1] == b'a' {
                            b'&'
                        } else {
                            b' '
                        });
                        i += len;
                        prev_word = false;
                        continue;
                    }
                    self.out.push(b'&');
                }
                b'\\' => {
                    if let Some((c, len)) = unicode_escape(&bytes[i..]) {
                        self.push_char(c);
                        prev_word = is_word_char(c);
                        i += len;
                        continue;
                    }
                    self.out.push(b'\\');
                }
                b'!' => {
                    self.stats.exclamations += 1;
                    self.out.push(b'!');
                }
                b'?' => {
                    self.stats.question_marks += 1;
                    self.out.push(b'?');
                }
                _ => self.out.push(b),
            }
            prev_word = false;
            i += 1;
        }
    }

    fn push_char(&mut self, c: char) {
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                self.letter(c.is_ascii_uppercase());
                self.stats.latin_letters += 1;
            } else {
                self.end_run();
                match c {
                    '!' => self.stats.exclamations += 1,
                    '?' => self.stats.question_marks += 1,
                    _ => {}
                }
            }
            self.out.push(c.to_ascii_lowercase() as u8);
            return;
        }
        if !c.is_alphabetic() {
            self.end_run();
        }
        let mut buf = [0u8; 4];
        match c {
            // Typographic apostrophes and quotes become the ASCII ones the lexicon uses.
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' => self.out.push(b'\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => self.out.push(b'"'),
            '\u{00A0}' | '\u{2000}'..='\u{200B}' => self.out.push(b' '),
            '\u{00BF}' => self.stats.question_marks += 1, // ¿ opens a Spanish question
            '\u{00A1}' => self.stats.exclamations += 1,   // ¡
            _ => {
                if c.is_alphabetic() {
                    self.letter(c.is_uppercase());
                    if is_latin(c) {
                        self.stats.latin_letters += 1;
                    } else {
                        self.stats.other_letters += 1;
                    }
                }
                if c.is_uppercase() {
                    for l in c.to_lowercase() {
                        self.out
                            .extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                    }
                } else {
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
}

/// Letters, digits and `_` make words; everything else separates them.
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphanumeric()
    }
}

/// Whether the char at byte `i` of `s` is a word char, and its length (ASCII without decoding).
#[inline]
pub fn word_char_at(s: &str, i: usize) -> (bool, usize) {
    match s.as_bytes().get(i) {
        Some(&b) if b < 0x80 => (b.is_ascii_alphanumeric() || b == b'_', 1),
        Some(_) => {
            let (c, len) = decode_at(s, i);
            (is_word_char(c), len)
        }
        None => (false, 1),
    }
}

#[inline]
fn is_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

/// Decodes the char at byte `i` of `s`; past the end (or off a boundary) gives a space.
#[inline]
pub fn decode_at(s: &str, i: usize) -> (char, usize) {
    match s.as_bytes().get(i) {
        Some(&b) if b < 0x80 => (b as char, 1),
        Some(_) => match s.get(i..).and_then(|r| r.chars().next()) {
            Some(c) => (c, c.len_utf8()),
            None => (' ', 1),
        },
        None => (' ', 1),
    }
}

/// The char that ends just before byte `i` of `s` (a space at the start).
#[inline]
pub fn char_before(s: &str, i: usize) -> char {
    if i == 0 {
        return ' ';
    }
    match s.as_bytes().get(i - 1) {
        Some(&b) if b < 0x80 => b as char,
        _ => s
            .get(..i)
            .and_then(|r| r.chars().next_back())
            .unwrap_or(' '),
    }
}

/// `parts` joined into one string allocated once (what `format!` gives, without its
/// machinery: evidence lines are built for every post).
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Appends `s` as `{:?}` writes it (quoted, escaped), without the formatter for the usual
/// printable-ASCII word.
pub(crate) fn push_debug(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        use std::fmt::Write;
        let _ = write!(out, "{s:?}");
    }
}

fn url_len(b: &[u8]) -> Option<usize> {
    let starts = |p: &[u8]| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p);
    let prefix = if starts(b"https://") {
        8
    } else if starts(b"http://") {
        7
    } else if starts(b"www.") {
        4
    } else {
        return None;
    };
    let rest = b[prefix..]
        .iter()
        .take_while(|c| !c.is_ascii_whitespace())
        .count();
    // A URL that ends a sentence keeps its full stop; the words after it are not the URL's.
    Some(prefix + rest)
}

fn entity_len(b: &[u8]) -> Option<usize> {
    for e in [
        &b"&amp;"[..],
        b"&lt;",
        b"&gt;",
        b"&quot;",
        b"&#39;",
        b"&apos;",
        b"&nbsp;",
    ] {
        if b.len() >= e.len() && b[..e.len()].eq_ignore_ascii_case(e) {
            return Some(e.len());
        }
    }
    None
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..4] {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// A literal `\uXXXX` (or a surrogate pair of them) as some tweet exports write characters.
fn unicode_escape(b: &[u8]) -> Option<(char, usize)> {
    if b.len() < 6 || b[1] != b'u' {
        return None;
    }
    let hi = hex4(&b[2..])?;
    if (0xD800..0xDC00).contains(&hi) {
        if b.len() >= 12 && b[6] == b'\\' && b[7] == b'u' {
            let lo = hex4(&b[8..])?;
            if (0xDC00..0xE000).contains(&lo) {
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(cp).map(|c| (c, 12));
            }
        }
        return None;
    }
    char::from_u32(hi).map(|c| (c, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &str) -> Vec<String> {
        let p = Prepared::new(t);
        (0..p.tokens.len())
            .map(|i| p.token_str(i).to_string())
            .collect()
    }

    #[test]
    fn strips_mentions_urls_and_hash() {
        assert_eq!(
            words("@elonmusk Can't wait #Tesla https://t.co/xyz ok"),
            ["can't", "wait", "tesla", "ok"]
        );
        let p = Prepared::new("mail me@example.com");
        assert!(p.clean.contains("me@example"));
    }

    #[test]
    fn lowercases_unicode_and_decodes_escapes() {
        assert_eq!(words("SÆDET Ærgerligt"), ["sædet", "ærgerligt"]);
        assert_eq!(words("don\\u2019t \\ud83d\\ude02"), ["don't"]);
        let p = Prepared::new("ha \\ud83d\\ude02");
        assert!(p.clean.contains('😂'));
        assert_eq!(words("it\u{2019}s AT&amp;T"), ["it's", "at", "t"]);
    }

    #[test]
    fn counts_punctuation_and_caps() {
        let p = Prepared::new("This is TERRIBLE!!! Why?");
        assert_eq!(p.stats.exclamations, 3);
        assert_eq!(p.stats.question_marks, 1);
        assert_eq!(p.stats.caps_words, 1);
        assert!(p.tokens[2].caps);
        assert!(!p.tokens[0].caps);
    }

    #[test]
    fn push_debug_writes_what_debug_writes() {
        for s in [
            "plain",
            "l'app",
            "with \"quotes\"",
            "back\\slash",
            "tab\there",
            "écoute",
            "😂",
            "",
            "\u{7f}x",
        ] {
            let mut out = String::from("x:");
            push_debug(&mut out, s);
            assert_eq!(out, format!("x:{s:?}"));
        }
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }

    /// `starts` are exactly the characters that are not word characters and the first of
    /// each run of word characters.
    #[test]
    fn starts_are_the_non_word_characters_and_word_starts() {
        for t in [
            "don't stop-me now!",
            "é😂x_y 12ab",
            "",
            "'-'",
            "l'app--ok it's",
        ] {
            let p = Prepared::new(t);
            let mut want = Vec::new();
            let mut prev = false;
            for (i, c) in p.clean.char_indices() {
                let w = is_word_char(c);
                if !(w && prev) {
                    want.push(i as u32);
                }
                prev = w;
            }
            assert_eq!(p.starts, want, "{t:?}");
        }
    }

    #[test]
    fn scripts_are_counted() {
        let p = Prepared::new("مرحبا بكم");
        assert!(p.stats.other_letters > 5);
        assert_eq!(p.stats.latin_letters, 0);
    }
}
