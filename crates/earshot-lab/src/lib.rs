//! The lab: what measures earshot and builds what it ships, kept out of the serving crates.
//!
//! Each module is one experiment or builder, reading the public data under `../shared/data`
//! (see its README) and printing figures with the command that reproduces them. The rule that
//! holds everywhere here: a figure is measured on data no training or tuning step has seen,
//! checked by normalised text ([`overlap`]).
//!
//! - [`data`]: readers for every labelled set, with licences and splits.
//! - [`overlap`]: the training pool, less every text any validation part holds.
//! - [`metrics`], [`eval`]: the scores and the report per data set and language.
//! - [`safety`]: the harm signal measured on a hand-labelled sample of real posts.
//! - [`build`]: the builder of the model earshot ships; [`tune`]: its recipe chosen on a slice of
//!   the training pool.
//! - [`langid`]: the builder, evaluation and benchmark of the shipped language-ID model.
//! - [`fuzz`]: the parsers of outside bytes as fuzz targets, and a runner for minutes.
//! - [`replay`]: real brand answers replayed through earshot, checked against an independent reference.
//! - [`grouping`]: request grouping on real labelled asks, streamed as `serve` groups.
//! - [`cluster`]: `earshot serve` processes on PostgreSQL + NATS, and the cluster bench.

pub mod build;
pub mod cluster;
/// The store's own baselines (a plain SQLite insert), for `earshot bench import`.
pub use earshot_store::bench as store_bench;
pub mod data;
pub mod drafts;
pub mod eval;
pub mod fuzz;
pub mod grouping;
pub mod langid;
pub mod metrics;
pub mod overlap;
pub mod replay;
pub mod safety;
pub mod spike_eval;
pub mod triage_replay;
pub mod tune;
pub mod web_bench;
