//! Apple App Store customer reviews through the App Store Connect API (PROTOCOLS-2.md §3).
//!
//! So far: the self-signed ES256 token every request carries (`jwt.rs`, with the verifier a
//! fake server uses) and the review pages as they arrive (`wire.rs`: JSON:API
//! `customerReviews` with their `included` responses, the error envelope and the
//! `X-Rate-Limit` header). The polling source, the responder, the credentials check and the
//! fake server are not written yet (see the notes of the `reviews` branch).
//!
//! Keys: a review is keyed by its opaque `id`. It has no author id (only a nickname), no
//! language (only a territory) and no public URL. Its star rating leads the post's text
//! (`★☆☆☆☆ 1/5`) so the inbox and triage see it.

pub mod jwt;
pub mod wire;

pub use jwt::{KeyError, TokenSigner};
