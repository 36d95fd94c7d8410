//! Apple App Store customer reviews through the App Store Connect API (PROTOCOLS-2.md §3).
//!
//! Files: `jwt.rs` (the self-signed ES256 token every request carries, and the verifier the
//! fake uses), `wire.rs` (JSON:API `customerReviews` pages with their `included` responses,
//! the error envelope, `X-Rate-Limit`), `config.rs`, `http.rs` (a request with its token,
//! re-signed once after a 401; errors in words), `source.rs` (walking the newest reviews to
//! a watermark; removed reviews marked deleted), `check.rs` (one review read, for `earshot
//! connectors check`), `responder.rs` (the review's single response, set or replaced), `fake.rs`
//! (a fake App Store Connect, feature `fake`) and `tests.rs`.
//!
//! Keys: a review is keyed by its opaque `id`. It has no author id (only a nickname), no
//! language (only a territory) and no public URL. Its star rating leads the post's text
//! (`★☆☆☆☆ 1/5`) so the inbox and triage see it.

mod check;
pub mod config;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub(crate) mod http;
pub mod jwt;
pub mod responder;
pub mod source;
#[cfg(test)]
mod tests;
pub mod wire;

pub use check::check_credentials;
pub use config::AppStoreConfig;
pub use jwt::{KeyError, TokenSigner};
pub use responder::AppStoreResponder;
pub use source::AppStoreSource;
