//! One module per page. Handlers read with the store's queries and change things only
//! through [`crate::desk::Desk`] (and the people store for people, notes and labels).

pub mod charts;
pub mod conversation;
pub mod correct;
pub mod dashboard;
pub mod draft;
pub mod inbox;
pub mod login;
pub mod promises;
pub mod releases;
pub mod request_suggestions;
pub mod requests;
pub mod search;
pub mod settings;
pub mod spikes;
pub mod survey;

/// What a page shows after a change: `?done=` says what just happened, to confirm it; a page
/// turns it into one of its few fixed messages and never echoes it as given.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Shown {
    pub done: Option<String>,
}
