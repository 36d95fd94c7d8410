//! Triage as pure rules: which response targets hold, where a conversation goes, who is on
//! call, when to page, and how fast the team answered.
//!
//! Map: [`facts`] is what rules look at; [`condition`] the `when = {...}` language;
//! [`hours`] and [`calendar`] build a team's business clock (with .ics holidays);
//! [`timeline`] runs a target's clock over a conversation's history with pauses;
//! [`policy`] picks the targets; [`routing`] picks team, assignee, labels and priority;
//! [`assign`] shares conversations within a team; [`oncall`] says who covers a team when;
//! [`escalation`] pages until someone acknowledges; [`autoreply`] answers outside covered
//! hours; [`report`] summarises response times. Nothing here does I/O.

pub mod calendar;
pub mod condition;
pub mod facts;
pub mod hours;
pub mod policy;
pub mod timeline;
