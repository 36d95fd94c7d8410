//! Bidirectional-text controls in people's words.
//!
//! A right-to-left override (U+202E) in a handle reverses everything after it on the line
//! where it is shown — the time, the next column, an agent's name — unless it is closed
//! again. Pages isolate people's words (`<bdi>`), and every place that shows them drops the
//! controls that are not closed (or that close nothing): [`balanced`]. Paired controls and
//! the plain direction marks (LRM, RLM, ALM) are kept; Arabic and Hebrew text is untouched.

/// LRE, RLE, LRO, RLO: embeddings and overrides, closed by PDF.
fn opens_embedding(c: char) -> bool {
    matches!(c, '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}')
}
const PDF: char = '\u{202C}';
/// LRI, RLI, FSI: isolates, closed by PDI.
fn opens_isolate(c: char) -> bool {
    matches!(c, '\u{2066}' | '\u{2067}' | '\u{2068}')
}
const PDI: char = '\u{2069}';

/// Whether `c` is one of the paired bidi controls [`balanced`] looks at.
pub fn is_paired_control(c: char) -> bool {
    opens_embedding(c) || opens_isolate(c) || c == PDF || c == PDI
}

/// `text` without the bidi controls that are not properly closed within their line, nor the
/// closers that close nothing. Text without controls is returned as it is (no copy).
pub fn balanced(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_paired_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = vec![true; chars.len()];
    // Open controls: (position, is an isolate).
    let mut open: Vec<(usize, bool)> = Vec::new();
    let drop_open = |open: &mut Vec<(usize, bool)>, keep: &mut [bool]| {
        for (at, _) in open.drain(..) {
            keep[at] = false;
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        if opens_embedding(c) {
            open.push((i, false));
        } else if opens_isolate(c) {
            open.push((i, true));
        } else if c == PDF {
            // Closes the innermost embedding, never across an isolate.
            match open.last() {
                Some(&(_, false)) => {
                    open.pop();
                }
                _ => keep[i] = false,
            }
        } else if c == PDI {
            match open.iter().rposition(|&(_, isolate)| isolate) {
                // Embeddings left open inside the isolate were never closed: drop them.
                Some(at) => {
                    for (inner, _) in open.drain(at..).skip(1) {
                        keep[inner] = false;
                    }
                }
                None => keep[i] = false,
            }
        } else if matches!(c, '\n' | '\r' | '\u{2029}' | '\u{85}') {
            // A paragraph ends every embedding and isolate: those still open were unpaired.
            drop_open(&mut open, &mut keep);
        }
    }
    drop_open(&mut open, &mut keep);
    std::borrow::Cow::Owned(
        chars
            .into_iter()
            .zip(keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RLO: char = '\u{202E}';

    #[test]
    fn unpaired_controls_are_dropped_and_paired_ones_kept() {
        assert_eq!(balanced("mallory\u{202E}gnp.exe"), "mallorygnp.exe");
        assert_eq!(balanced("\u{202C}closes nothing"), "closes nothing");
        assert_eq!(balanced("a\u{2069}b"), "ab");
        // Paired: kept as written.
        let paired = "x \u{202E}abc\u{202C} y \u{2067}שלום\u{2069} z";
        assert_eq!(balanced(paired), paired);
        // A PDF cannot close an embedding outside an isolate.
        assert_eq!(
            balanced("\u{202B}a\u{2066}b\u{202C}\u{2069}\u{202C}"),
            "\u{202B}a\u{2066}b\u{2069}\u{202C}"
        );
        // An embedding left open inside an isolate is dropped; the isolate is kept.
        assert_eq!(balanced("\u{2066}a\u{202E}b\u{2069}"), "\u{2066}ab\u{2069}");
        // A line break ends what was open on its line.
        assert_eq!(balanced("a\u{202E}b\nc\u{202C}"), "ab\nc");
        // Nested and closed in order.
        assert_eq!(
            balanced("\u{202E}\u{202A}x\u{202C}\u{202C}"),
            "\u{202E}\u{202A}x\u{202C}\u{202C}"
        );
        assert_eq!(balanced("\u{202E}\u{202A}x\u{202C}"), "\u{202A}x\u{202C}");
    }

    #[test]
    fn text_without_controls_is_untouched() {
        for t in ["", "plain", "مرحبا بكم", "שלום \u{200F}mark", "emoji 🚗"] {
            assert!(matches!(balanced(t), std::borrow::Cow::Borrowed(_)), "{t}");
        }
    }

    #[test]
    fn nothing_unpaired_survives() {
        let samples = [
            format!("{RLO}{RLO}x"),
            format!("\u{2068}{RLO}\u{202C}\u{2069}{RLO}"),
            format!("a{RLO}b\u{2029}\u{202C}\u{2069}"),
        ];
        for s in &samples {
            let out = balanced(s);
            assert_eq!(balanced(&out), out, "balanced twice changes nothing: {s:?}");
            let opened = out
                .chars()
                .filter(|&c| opens_embedding(c) || opens_isolate(c))
                .count();
            let closed = out.chars().filter(|&c| c == PDF || c == PDI).count();
            assert_eq!(opened, closed, "{s:?} → {out:?}");
        }
    }
}
