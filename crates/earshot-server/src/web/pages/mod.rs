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
