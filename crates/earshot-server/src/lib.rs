//! earshot's running parts: the pipeline that turns heard posts into ranked conversations,
//! the desk agents work through (answer, assign, resolve), and the HTTP API over both.
//!
//! Invariant: only this crate and the CLI know the API's JSON; the CLI and the HTTP handlers
//! call the same [`desk::Desk`] functions.
// The OpenAPI document is one `json!` literal, deeper than the default limit.
#![recursion_limit = "256"]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod alerts;
pub mod api;
pub mod app;
pub mod bus;
pub mod cluster;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod desk;
pub mod feedback;
pub mod housekeeping;
pub mod http_policy;
pub mod lease;
pub mod live;
pub mod metrics;
pub mod network_settings;
pub mod operations;
pub mod outbox;
pub mod overrides;
pub mod pipeline;
pub mod responder;
pub mod retrain;
pub mod review_settings;
pub mod settings;
pub mod signature;
pub mod sink;
pub mod state;
pub mod survey;
pub mod telemetry;
pub mod triage;
pub mod web;

pub use app::App;
pub use config::Settings;
pub use desk::Desk;
pub use pipeline::Pipeline;
