//! Request grouping: posts that ask for the same thing become one product *request*, across
//! networks and languages, as the posts arrive.
//!
//! - `concepts` (`concepts.txt`, compiled in) maps product and care words of ten
//!   languages to shared concepts (seat / sæde / sedile / Sitz), after Snowball stemming.
//! - `normalise` turns a post into concept and stem features.
//! - [`Grouper`] assigns each post to the most similar open request (IDF-weighted cosine
//!   against the request's centroid, candidates found through an inverted index) or opens a new
//!   one, and keeps memory and time bounded with 100,000+ open requests.
//! - A post that fits two open requests which look like one merges them (`bridge`), so
//!   that the order asks arrive in decides less; [`Grouper::drain_bridged`] hands the merges
//!   to the server.
//! - Agents' corrections ([`Grouper::merge`], [`Grouper::split`], [`Grouper::move_post`],
//!   [`Grouper::rename`]) change the requests and teach the grouper: aliases between languages,
//!   cannot-link pairs and lower weights for the words that joined posts wrongly. The learned
//!   state ([`Learned`]) and the whole grouper are serde-serialisable.
//! - [`Grouper::lookalike_pairs`], [`Grouper::misfits`] and [`Grouper::better_home`] rank what
//!   agents are offered to merge and move; [`Grouper::representative`] picks a request's title.
//! - `earshot-lab` measures it on real labelled asks; [`bench`] times it.
//!
//! ```
//! use chrono::Utc;
//! use earshot_analyze::grouping::{Grouper, GroupingConfig};
//!
//! let mut g = Grouper::new(GroupingConfig::default());
//! let en = g.assign(1, "Please move the seat back when the car is parked", Some("en"), Utc::now());
//! let da = g.assign(2, "Kan sædet køre tilbage når bilen er parkeret?", Some("da"), Utc::now());
//! assert!(en.new);
//! assert_eq!(da.request_id, en.request_id);
//! ```

#[cfg(feature = "bench")]
pub mod bench;
mod bridge;
mod concepts;
// The spike keys stem words as grouping does.
pub(crate) use concepts::stemmer;
mod corrections;
mod grouper;
mod normalise;
pub mod suggest;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use grouper::{Feature, Grouper, GrouperStats, Learned, RequestView};
pub use suggest::{MERGE_SUGGESTION_MIN, MISFIT_MAX};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The concept list as compiled in (`concepts.txt`), for tools that check how it grew.
pub fn concept_list() -> &'static str {
    concepts::CONCEPTS_TXT
}

/// A product request as the grouper numbers it (the server maps it to its stored request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Where [`Grouper::assign`] put a post.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub request_id: RequestId,
    /// The post opened a new request.
    pub new: bool,
    /// Similarity (0..1) to the request joined, or to the closest request when a new one was
    /// opened (0 when there was none). 1 for a post that was already assigned.
    pub similarity: f32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GroupingError {
    #[error("request {0} is not open in the grouper")]
    UnknownRequest(RequestId),
    #[error("post {0} is not in an open request")]
    UnknownPost(i64),
    #[error("post {post} is not in request {request}")]
    NotInRequest { post: i64, request: RequestId },
    #[error("a request cannot be merged into itself")]
    SameRequest,
    #[error("a split needs at least one of the request's posts and must leave one behind")]
    EmptySplit,
}

/// Tuning and bounds. Every field has a default. The threshold is the lowest that keeps
/// B-cubed precision at 0.90 when the tuning half of `earshot-lab`'s labelled asks streams
/// desk by desk (EVAL.md, "Request grouping"); the weights were tuned on earlier pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupingConfig {
    /// A post joins the most similar request at or above this similarity. Lower finds more of
    /// an ask's posts and mixes more asks: agents fix the rest with merges, which
    /// [`Grouper::lookalike_pairs`] suggests.
    pub threshold: f32,
    /// A post that reaches `threshold` against two open requests at least this alike
    /// (centroid cosine, as [`Grouper::request_similarity`]) merges them: the smaller joins
    /// the larger, so the order asks arrive in matters less. Above 1: never.
    pub bridge_min: f32,
    /// Weight of a lexicon or learned concept relative to a plain stem of the same rarity.
    pub concept_weight: f32,
    /// Words seen in fewer posts than this weigh as if seen this often: a typo or a name seen
    /// once should not outweigh the words that say what is asked.
    pub idf_min_df: f32,
    /// When a post and a request are in different languages, stems found on one side only
    /// count this much (they may be translations the lexicon does not know).
    pub cross_language_term_weight: f32,
    /// Requests kept open; beyond it the request asked least recently is retired.
    pub max_open_requests: usize,
    /// Requests remembered per feature in the inverted index (newest kept).
    pub max_postings_per_feature: usize,
    /// Index entries read per post, over all its features (rarest features first).
    pub max_postings_scanned: usize,
    /// Index entries read per feature of a post.
    pub max_scanned_per_feature: usize,
    /// Requests scored exactly per post.
    pub max_candidates: usize,
    /// The most similar requests whose remembered posts are also compared one by one (0: the
    /// centroid only). Off by default: on the validation stream it let broad requests absorb
    /// more unrelated posts than it saved (EVAL.md).
    pub member_candidates: usize,
    /// Features kept per request centroid (the most frequent).
    pub max_centroid_features: usize,
    /// Features per request entered in the inverted index (the rarest of its centroid).
    pub max_indexed_per_request: usize,
    /// A feature in more than this share of posts (once seen 50 times) is not indexed.
    pub max_index_share: f32,
    /// Posts per request whose features are remembered, so a split or move can take them out.
    pub remembered_posts: usize,
    /// Distinct features with document frequencies; rare ones are pruned beyond it.
    pub max_vocabulary: usize,
    /// Learned aliases and cannot-link pairs, each.
    pub max_learned: usize,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            threshold: 0.5,
            bridge_min: MERGE_SUGGESTION_MIN,
            concept_weight: 2.5,
            cross_language_term_weight: 0.5,
            idf_min_df: 1.0,
            max_open_requests: 200_000,
            max_postings_per_feature: 1_000,
            max_postings_scanned: 1_500,
            max_scanned_per_feature: 300,
            max_candidates: 32,
            member_candidates: 0,
            max_centroid_features: 48,
            max_indexed_per_request: 16,
            max_index_share: 0.2,
            remembered_posts: 12,
            max_vocabulary: 500_000,
            max_learned: 50_000,
        }
    }
}

/// A hasher for keys that are already well mixed or small integers (feature ids, request and
/// post ids): one multiply-xorshift instead of SipHash.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BuildIdHash;

pub(crate) struct IdHash(u64);

impl std::hash::BuildHasher for BuildIdHash {
    type Hasher = IdHash;
    fn build_hasher(&self) -> IdHash {
        IdHash(0)
    }
}

impl std::hash::Hasher for IdHash {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = crate::fingerprint::mix(self.0 ^ n);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
