//! The lab: what measures earshot and builds what it ships, kept out of the serving crates.
//!
//! Each module is one experiment or builder, reading the public data under `../shared/data`
//! (see its README) and printing figures with the command that reproduces them. The rule that
//! holds everywhere here: a figure is measured on data no training or tuning step has seen,
//! checked by normalised text.

pub mod fuzz;
pub mod replay;
