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
    /// Words (tokens) with at least one lowercase letter or digit-free mixed case.
    pub mentions: u32,
    pub urls: u32,
}

/// A post's text made ready for analysis.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Lowercased text without URLs, mentions, `#` and HTML entities (each replaced by a space).
    pub clean: String,
    pub tokens: Vec<Token>,
    pub stats: TextStats,
}

impl Prepared {
    pub fn new(text: &str) -> Self {
        let mut p = Prepared {
            clean: String::with_capacity(text.len() + 8),
            tokens: Vec::with_capacity(text.len() / 4 + 4),
            stats: TextStats::default(),
        };
        p.fill(text);
        p
    }

    /// The text of token `i`.
    pub fn token_str(&self, i: usize) -> &str {
        match self.tokens.get(i) {
            Some(t) => self.clean.get(t.start as usize..t.end as usize).unwrap_or(""),
            None => "",
        }
    }

    fn fill(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0usize;
        let mut prev_word = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                // URL: only at a word start, so "xhttp" is not one.
                if !prev_word && (b == b'h' || b == b'H' || b == b'w' || b == b'W') {
                    if let Some(len) = url_len(&bytes[i..]) {
                        self.clean.push(' ');
                        self.stats.urls += 1;
                        i += len;
                        prev_word = false;
                        continue;
                    }
                }
                match b {
                    b'@' if !prev_word => {
                        let n = bytes[i + 1..]
                            .iter()
                            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                            .count();
                        if n > 0 {
                            self.clean.push(' ');
                            self.stats.mentions += 1;
                            i += 1 + n;
                            prev_word = false;
                            continue;
                        }
                        self.clean.push(' ');
                    }
                    b'#' => self.clean.push(' '),
                    b'&' => {
                        if let Some(len) = entity_len(&bytes[i..]) {
                            // `&amp;` stays an ampersand; the others are markup noise.
                            self.clean.push(if len == 5 && bytes[i + 1] == b'a' { '&' } else { ' ' });
                            i += len;
                            prev_word = false;
                            continue;
                        }
                        self.clean.push('&');
                    }
                    b'\\' => {
                        if let Some((c, len)) = unicode_escape(&bytes[i..]) {
                            self.push_char(c);
                            prev_word = is_word_char(c);
                            i += len;
                            continue;
                        }
                        self.clean.push('\\');
                    }
                    b'!' => {
                        self.stats.exclamations += 1;
                        self.clean.push('!');
                    }
                    b'?' => {
                        self.stats.question_marks += 1;
                        self.clean.push('?');
                    }
                    _ => {
                        if b.is_ascii_alphabetic() {
                            self.stats.latin_letters += 1;
                        }
                        self.clean.push(b.to_ascii_lowercase() as char);
                    }
                }
                prev_word = b.is_ascii_alphanumeric() || b == b'_';
                i += 1;
            } else {
                let c = match text.get(i..).and_then(|s| s.chars().next()) {
                    Some(c) => c,
                    None => break,
                };
                i += c.len_utf8();
                self.push_char(c);
                prev_word = c.is_alphanumeric();
            }
        }
        self.tokenize(text);
    }

    fn push_char(&mut self, c: char) {
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                self.stats.latin_letters += 1;
            }
            match c {
                '!' => self.stats.exclamations += 1,
                '?' => self.stats.question_marks += 1,
                _ => {}
            }
            self.clean.push(c.to_ascii_lowercase());
            return;
        }
        match c {
            // Typographic apostrophes and quotes become the ASCII ones the lexicon uses.
            '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' => self.clean.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => self.clean.push('"'),
            '\u{00A0}' | '\u{2000}'..='\u{200B}' => self.clean.push(' '),
            '\u{00BF}' => self.stats.question_marks += 1, // ¿ opens a Spanish question
            '\u{00A1}' => self.stats.exclamations += 1,   // ¡
            _ => {
                if c.is_alphabetic() {
                    if is_latin(c) {
                        self.stats.latin_letters += 1;
                    } else {
                        self.stats.other_letters += 1;
                    }
                }
                if c.is_uppercase() {
                    for l in c.to_lowercase() {
                        self.clean.push(l);
                    }
                } else {
                    self.clean.push(c);
                }
            }
        }
    }

    /// Splits `clean` into words; `original` is only consulted for capitals.
    fn tokenize(&mut self, original: &str) {
        let s = self.clean.as_bytes();
        let mut i = 0usize;
        while i < s.len() {
            let (c, len) = decode_at(&self.clean, i);
            if !is_word_char(c) {
                i += len;
                continue;
            }
            let start = i;
            let mut end = i + len;
            i = end;
            while i < s.len() {
                let (c, len) = decode_at(&self.clean, i);
                if is_word_char(c) {
                    i += len;
                    end = i;
                } else if c == '\'' || c == '-' {
                    // keep don't / e-mail / wi-fi together, but not a trailing apostrophe
                    let (next, _) = decode_at(&self.clean, i + len);
                    if i + len < s.len() && is_word_char(next) {
                        i += len;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            self.tokens.push(Token {
                start: start as u32,
                end: end as u32,
                caps: false,
            });
        }
        self.mark_caps(original);
    }

    /// Counts words written in capitals in the original text (a shout), without a second
    /// tokenizer: a word of 3+ ASCII/Latin letters, all uppercase.
    fn mark_caps(&mut self, original: &str) {
        let mut run_letters = 0u32;
        let mut run_upper = true;
        let mut caps_words = Vec::new();
        let mut word_index = 0usize;
        let mut in_word = false;
        for c in original.chars() {
            if c.is_alphabetic() {
                in_word = true;
                run_letters += 1;
                run_upper &= c.is_uppercase();
            } else if in_word {
                if run_letters >= 3 && run_upper {
                    caps_words.push(word_index);
                }
                word_index += 1;
                in_word = false;
                run_letters = 0;
                run_upper = true;
            }
        }
        if in_word && run_letters >= 3 && run_upper {
            caps_words.push(word_index);
        }
        self.stats.caps_words = caps_words.len() as u32;
        if caps_words.is_empty() {
            return;
        }
        // Mark tokens whose text, uppercased, appears as a caps word: cheap and good enough
        // for the emphasis rule (a shouted sentiment word counts more).
        let shouted: Vec<&str> = original
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() >= 3 && w.chars().all(|c| c.is_uppercase()))
            .collect();
        for t in &mut self.tokens {
            let word = self.clean.get(t.start as usize..t.end as usize).unwrap_or("");
            t.caps = shouted.iter().any(|s| {
                s.len() == word.len()
                    && s.chars().flat_map(char::to_lowercase).eq(word.chars())
            });
        }
    }
}

/// Letters, digits and `_` make words; everything else separates them.
#[inline]
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
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
        _ => s.get(..i).and_then(|r| r.chars().next_back()).unwrap_or(' '),
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
    for e in [&b"&amp;"[..], b"&lt;", b"&gt;", b"&quot;", b"&#39;", b"&apos;", b"&nbsp;"] {
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
        (0..p.tokens.len()).map(|i| p.token_str(i).to_string()).collect()
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
    fn scripts_are_counted() {
        let p = Prepared::new("مرحبا بكم");
        assert!(p.stats.other_letters > 5);
        assert_eq!(p.stats.latin_letters, 0);
    }
}
