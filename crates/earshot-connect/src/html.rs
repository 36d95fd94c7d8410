//! Mastodon status HTML → safe plain text.
//!
//! Two steps, each simple enough to trust. First `ammonia` (a real HTML5 parser) rewrites
//! the input keeping only a handful of block tags with no attributes at all, dropping
//! `<script>`, `<style>` and similar elements *with* their content, and escaping every `<`
//! that is text. Its output therefore holds exactly two kinds of `<`: the tags `<p>`, `</p>`,
//! `<br>`, ... it was told to keep, and nothing else. The second step walks that output,
//! turns those tags into line and paragraph breaks, decodes entities in the text between
//! them, tidies whitespace and drops control characters.
//!
//! The result is plain text, not HTML: a page must still escape it when it shows it. Text a
//! customer typed as `&lt;b&gt;` comes back as the literal `<b>` they typed.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Tags kept through the sanitiser so their line structure survives; everything else is
/// unwrapped (its text kept) or, for the content tags below, removed with its content.
const STRUCTURE_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// Elements whose content is never text a customer wrote for people to read.
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "textarea", "select", "title", "head", "noembed", "noframes", "xmp",
];

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(STRUCTURE_TAGS.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(Default::default())
        .link_rel(None)
        .strip_comments(true);
    builder
});

/// Turns Mastodon's status HTML into plain text: `<p>` becomes a paragraph break, `<br>` a
/// newline, links their text (`@acme`, `#AcmeApp`), entities are decoded, every tag, script
/// and style is dropped, runs of whitespace collapse and the ends are trimmed.
///
/// ```
/// let text = earshot_connect::html::to_text(
///     "<p>Hej <a href=\"https://m.example/@acme\">@<span>acme</span></a>,</p><p>appen &amp; bilen<br>virker ikke</p>",
/// );
/// assert_eq!(text, "Hej @acme,\n\nappen & bilen\nvirker ikke");
/// ```
pub fn to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        // Plain text already (some servers and bridges send it): only tidy it.
        let mut out = TextWriter::with_capacity(html.len());
        out.push_text(html);
        return out.finish();
    }
    let cleaned = SANITISER.clean(html).to_string();
    let mut out = TextWriter::with_capacity(cleaned.len());
    let mut rest = cleaned.as_str();
    while let Some(open) = rest.find('<') {
        out.push_encoded_text(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            // Cannot happen with sanitised output; treat the remainder as text to be safe.
            out.push_encoded_text(&rest[open..]);
            rest = "";
            break;
        };
        out.tag(&after[..close]);
        rest = &after[close + 1..];
    }
    out.push_encoded_text(rest);
    out.finish()
}

/// Builds the text, deciding on separators lazily so none is left at either end.
struct TextWriter {
    out: String,
    /// Line breaks owed before the next visible character: 0, 1 (`<br>`), 2 (paragraph).
    pending_breaks: u8,
    pending_space: bool,
    /// Inside `<pre>`, whitespace is kept as written.
    pre_depth: usize,
    /// Spaces and tabs inside `<pre>` owed before the next visible character.
    pending_indent: String,
    decoded: String,
}

impl TextWriter {
    fn with_capacity(n: usize) -> Self {
        TextWriter {
            out: String::with_capacity(n),
            pending_breaks: 0,
            pending_space: false,
            pre_depth: 0,
            pending_indent: String::new(),
            decoded: String::new(),
        }
    }

    fn tag(&mut self, tag: &str) {
        let (closing, name) = match tag.strip_prefix('/') {
            Some(name) => (true, name),
            None => (false, tag),
        };
        // Sanitised tags carry no attributes, but stay defensive about a trailing `/`.
        let name = name.trim_end_matches('/').trim();
        match name {
            "br" => self.pending_breaks = (self.pending_breaks + 1).min(2),
            "li" => self.pending_breaks = self.pending_breaks.max(1),
            "pre" => {
                self.pending_breaks = 2;
                if closing {
                    self.pre_depth = self.pre_depth.saturating_sub(1);
                } else {
                    self.pre_depth += 1;
                }
            }
            _ => self.pending_breaks = 2,
        }
    }

    fn push_encoded_text(&mut self, encoded: &str) {
        if encoded.is_empty() {
            return;
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        html_escape::decode_html_entities_to_string(encoded, &mut decoded);
        self.push_text(&decoded);
        self.decoded = decoded;
    }

    fn push_text(&mut self, text: &str) {
        for c in text.chars() {
            if self.pre_depth > 0 && (c == '\n' || c == ' ' || c == '\t') {
                if c == '\n' {
                    self.pending_breaks = (self.pending_breaks + 1).min(2);
                    self.pending_indent.clear();
                } else {
                    self.pending_indent.push(c);
                }
                continue;
            }
            if c.is_whitespace() {
                self.pending_space = true;
            } else if c.is_control() || is_invisible_format(c) {
                // NUL, escape sequences, bidi overrides: nothing a reader needs, and some
                // can disguise the text in terminals and logs.
            } else {
                self.flush_separators();
                self.out.push(c);
            }
        }
    }

    fn flush_separators(&mut self) {
        if !self.out.is_empty() {
            match self.pending_breaks {
                0 if self.pending_space => self.out.push(' '),
                0 => {}
                1 => self.out.push('\n'),
                _ => self.out.push_str("\n\n"),
            }
            self.out.push_str(&self.pending_indent);
        }
        self.pending_breaks = 0;
        self.pending_space = false;
        self.pending_indent.clear();
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Bidirectional overrides and isolates: they reorder how text displays, which is a known
/// way to make a post read differently from what it says.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text can be shown safely: once escaped it holds no tag at all, and before
    /// escaping it holds no markup from the input's real tags.
    fn assert_inert(text: &str) {
        let escaped = html_escape::encode_text(text);
        assert!(
            !escaped.contains('<'),
            "escaped output has a tag: {escaped}"
        );
    }

    #[test]
    fn mastodon_status_becomes_plain_text() {
        let html = r#"<p><span class="h-card"><a href="https://mastodon.example/@acme" class="u-url mention">@<span>acme</span></a></span> Seit dem Update startet die App nicht mehr. <a href="https://mastodon.example/tags/AcmeApp" class="mention hashtag" rel="tag">#<span>AcmeApp</span></a></p>"#;
        assert_eq!(
            to_text(html),
            "@acme Seit dem Update startet die App nicht mehr. #AcmeApp"
        );
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(
            to_text("<p>one<br>two<br/>three</p><p>four</p>"),
            "one\ntwo\nthree\n\nfour"
        );
        assert_eq!(to_text("<p>a<br><br>b</p>"), "a\n\nb");
        assert_eq!(to_text("<p></p><p>  only  </p><p></p>"), "only");
        assert_eq!(to_text("<ul><li>x</li><li>y</li></ul>"), "x\ny");
    }

    #[test]
    fn links_keep_their_visible_text() {
        let html = r#"<p>see <a href="https://acme.example/status" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="">acme.example/status</span><span class="invisible"></span></a></p>"#;
        assert_eq!(to_text(html), "see https://acme.example/status");
    }

    #[test]
    fn entities_are_decoded_once() {
        assert_eq!(
            to_text("<p>Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#39; caf&eacute; &amp;lt;</p>"),
            "Tom & Jerry <3 \"hi\" 'x' café &lt;"
        );
        assert_eq!(to_text("a&nbsp;&nbsp;b"), "a b");
    }

    #[test]
    fn whitespace_is_tidied() {
        assert_eq!(
            to_text("<p>\n  lots   of\n\n space \t</p>"),
            "lots of space"
        );
        assert_eq!(to_text("  plain text\n\n  "), "plain text");
        assert_eq!(to_text(""), "");
        assert_eq!(to_text("<p> </p>"), "");
    }

    #[test]
    fn pre_keeps_its_lines() {
        assert_eq!(to_text("<pre>a  b\nc</pre>"), "a  b\nc");
        assert_eq!(
            to_text("<pre>fn x() {  \n    y\n}\n\n\n</pre>"),
            "fn x() {\n    y\n}"
        );
    }

    #[test]
    fn scripts_styles_and_handlers_are_gone() {
        let hostile = r#"<p>hi<script>alert('x')</script><style>p{display:none}</style><img src=x onerror="alert(1)"><a href="javascript:alert(2)" onclick="alert(3)">click</a><iframe src="https://evil.example">frame text</iframe><svg><script>alert(4)</script></svg></p>"#;
        let text = to_text(hostile);
        assert_eq!(text, "hiclick");
        assert_inert(&text);
    }

    #[test]
    fn broken_and_nested_markup_is_contained() {
        let inputs = [
            "<p>unclosed <b><i>tags <a href='x",
            "<<script>script>alert(1)<</script>/script>",
            "<scr<script>ipt>alert(1)</script>",
            "<!-- <script>alert(1)</script> --><p>after comment</p>",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<p onmouseover=alert(1)>x</p><div style=\"background:url(javascript:alert(1))\">y</div>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "\u{0}\u{1b}[31mred\u{202E}gnp.exe",
        ];
        for input in inputs {
            let text = to_text(input);
            assert!(!text.contains("onerror"), "{input:?} -> {text:?}");
            assert!(!text.contains("<img"), "{input:?} -> {text:?}");
            assert!(
                !text.contains('\u{0}') && !text.contains('\u{1b}') && !text.contains('\u{202E}')
            );
            assert_inert(&text);
        }
        // Text the customer typed as escaped markup is text, shown back literally.
        assert_eq!(
            to_text("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "<script>alert(1)</script>"
        );
    }

    #[test]
    fn deep_nesting_and_huge_text_do_not_break_it() {
        let deep = format!(
            "{}deep{}",
            "<div><b>".repeat(20_000),
            "</b></div>".repeat(20_000)
        );
        assert_eq!(to_text(&deep), "deep");
        let huge = format!("<p>{}</p>", "word &amp; ".repeat(200_000));
        let text = to_text(&huge);
        assert!(text.starts_with("word & word"));
        assert_eq!(text.len(), "word & ".len() * 200_000 - 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_is_tag_free(input in ".{0,300}") {
            let text = to_text(&input);
            assert_inert(&text);
            proptest::prop_assert!(!text.starts_with(char::is_whitespace));
            proptest::prop_assert!(!text.ends_with(char::is_whitespace));
        }

        #[test]
        fn markup_soup_never_leaks_a_tag(parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("<script>alert(1)</script>".to_string()),
                proptest::strategy::Just("<img src=x onerror=alert(1)>".to_string()),
                proptest::strategy::Just("<p>".to_string()),
                proptest::strategy::Just("</p>".to_string()),
                proptest::strategy::Just("<br>".to_string()),
                proptest::strategy::Just("<a href=\"javascript:x\">".to_string()),
                proptest::strategy::Just("&lt;".to_string()),
                proptest::strategy::Just("<!--".to_string()),
                proptest::strategy::Just("-->".to_string()),
                "[a-zæøå ]{0,8}",
            ], 0..30)) {
            let input: String = parts.concat();
            let text = to_text(&input);
            proptest::prop_assert!(!text.contains("onerror"));
            proptest::prop_assert!(!text.contains("alert(1)</script"));
            assert_inert(&text);
        }
    }
}
