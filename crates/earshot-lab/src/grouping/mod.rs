//! Request grouping measured on real asks: the labelled set (`data/grouping/`, its README says
//! how it was read, labelled and split), replays of each desk's asks in arrival order through
//! the grouper as `serve` runs it, and the scores an agent would feel (B-cubed precision and
//! recall, pure requests, merges left to make) with pairwise figures beside them.
//!
//! - `cargo run --release -p earshot-lab --example grouping_eval` prints the table.
//! - `cargo run --release -p earshot-lab --example grouping_bench -- ../shared/data` times the
//!   grouper with 100,000 open requests.

pub mod leak;
pub mod replay;
pub mod report;
pub mod score;
pub mod set;
pub mod texts;

pub use replay::{Company, Replay, SuggestionQuality};
pub use score::{GroupingScores, PairCounts};
pub use set::{Ask, Half, LabelledSet};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
