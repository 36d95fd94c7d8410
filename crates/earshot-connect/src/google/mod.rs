//! What Google's APIs share, for Google Play reviews and YouTube comments (PROTOCOLS-2.md §4,
//! §5): OAuth access tokens minted from a service account's RS256 assertion or from a refresh
//! token (`token.rs`), the JSON error envelope (`error.rs`), and one request with its bearer
//! token, minted anew once after a 401, with Google's answers turned into a
//! [`crate::problem::Problem`] (`api.rs`).

pub mod api;
pub mod error;
pub mod token;

pub use api::{Api, Wording};
pub use token::{Grant, ServiceAccountKey, Tokens};

/// Google's OAuth token endpoint.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// Percent-encodes `s` for a URL path segment or query value: unreserved characters and the
/// `also_raw` ones stay (a Play review id's colon, YouTube's comma lists).
pub(crate) fn encode(s: &str, also_raw: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || also_raw.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
