//! Secrets inside URLs, hidden before a URL is shown or logged.

/// A URL with any password replaced by `***` (`postgres://me:***@db/earshot`, `?password=***`).
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some((scheme, rest)) = url.split_once("://") {
        // The last '@' ends the credentials: passwords may contain '@'.
        if let Some((creds, host)) = rest.rsplit_once('@') {
            if let Some((user, _)) = creds.split_once(':') {
                out = format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    if let Some(i) = out.to_ascii_lowercase().find("password=") {
        let start = i + "password=".len();
        let end = out[start..]
            .find('&')
            .map(|e| start + e)
            .unwrap_or(out.len());
        out.replace_range(start..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_never_print() {
        assert_eq!(
            redact_url("postgres://me:p@ss@db:5432/earshot"),
            "postgres://me:***@db:5432/earshot"
        );
        assert_eq!(
            redact_url("postgres://db/earshot?user=me&password=hunter2&x=1"),
            "postgres://db/earshot?user=me&password=***&x=1"
        );
        assert_eq!(
            redact_url("earshot-data/earshot.db"),
            "earshot-data/earshot.db"
        );
    }
}
