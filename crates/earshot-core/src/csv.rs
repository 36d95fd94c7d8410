//! CSV fields for exports people open in spreadsheets. Request titles, agent names and
//! reasons are people's words: a leading `=`, `+`, `-`, `@`, tab or carriage return is
//! defused with a `'` so a spreadsheet never runs one as a formula (some skip a leading tab or
//! CR and read what follows), and quotes are doubled.

/// Whether a spreadsheet would read `s` as a formula.
fn formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn defused(s: &str) -> std::borrow::Cow<'_, str> {
    if formula(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Always quoted.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", defused(s).replace('"', "\"\""))
}

/// Quoted only when it must be (a comma, quote or line break, or a defused formula).
pub fn field(s: &str) -> String {
    if formula(s) || s.contains([',', '"', '\n', '\r']) {
        quoted(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_doubled() {
        assert_eq!(quoted("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(quoted("seat"), "\"seat\"");
        assert_eq!(field("seat"), "seat");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("@maria"), "\"'@maria\"");
        assert_eq!(field("-1"), "\"'-1\"");
        // A leading tab or carriage return hides a formula from a first glance, not from Excel.
        assert_eq!(field("\t=1+2"), "\"'\t=1+2\"");
        assert_eq!(quoted("\r=cmd|' /C calc'!A0"), "\"'\r=cmd|' /C calc'!A0\"");
    }
}
