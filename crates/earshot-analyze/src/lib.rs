//! earshot-analyze: what earshot understands about a post.
//!
//! Owns language identification, sentiment, intent, urgency, reach, near-duplicate
//! fingerprints and brand/handle/keyword matching. Everything here is a pure function of the
//! post (no I/O except the explicit model and example-file helpers in [`train`](mod@train) and the data
//! readers in [`eval`]). The built-in rules work out of the box in English, Danish, Italian,
//! German, French, Spanish, Portuguese, Dutch, Swedish and Norwegian; a [`model::Model`] learned
//! from a team's own labelled posts can take over sentiment and/or intent.
//!
//! ```
//! use earshot_analyze::{Analyzer, Terms};
//! use earshot_core::analysis::Intent;
//!
//! let terms = Terms { handles: vec!["elonmusk".into()], ..Terms::default() };
//! let analyzer = Analyzer::new(&terms);
//! let a = analyzer.analyze_text(
//!     "@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
//!     None,
//!     Some(1520),
//! );
//! assert_eq!(a.intent.label, Intent::FeatureRequest);
//! assert_eq!(a.language.language.code(), "en");
//! assert_eq!(a.matches[0].kind, "handle");
//! ```
//!
//! Map of the code: [`text`] prepares the text once; [`lexicon`] holds the word lists as one
//! automaton; [`lang`], [`sentiment`], [`intent`], [`urgency`], [`safety`], [`chase`], [`reach`], [`fingerprint`] and
//! [`terms`] each produce one finding; `Analyzer` wires them; [`train`](mod@train), [`eval`] and
//! [`bench`](mod@bench) learn, measure and time it.

mod analyzer;
#[cfg(feature = "bench")]
pub mod bench;
pub mod chase;
pub mod drafts;
pub mod eval;
mod features;
pub mod fingerprint;
pub mod grouping;
pub mod intent;
pub mod lang;
pub mod lexicon;
pub mod model;
pub mod promises;
pub mod rating;
pub mod reach;
pub mod safety;
pub mod sentiment;
pub mod spikes;
pub mod summary;
pub mod terms;
pub mod text;
pub mod train;
mod trie;
pub mod urgency;

pub use analyzer::{Analyzer, Marks, NoMarks, Step, MAX_ANALYZED_BYTES};
pub use model::{Head, Model, ModelError};
pub use terms::{TermMatcher, Terms};
pub use train::{read_examples, Task, TrainError};
