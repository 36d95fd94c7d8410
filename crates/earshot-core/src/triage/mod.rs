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

pub mod assign;
pub mod autoreply;
pub mod calendar;
pub mod condition;
pub mod config;
pub mod escalation;
pub mod facts;
pub mod hours;
pub mod oncall;
pub mod policy;
pub mod report;
pub mod routing;
pub mod timeline;

pub use assign::{dispatch, Agent, JumpRule, Roster, Strategy, Waiting};
pub use condition::{Condition, Why, WhyNot};
pub use config::{Triage, TriageConfig, TriageConfigError};
pub use escalation::{EscalationPolicy, EscalationState, Page, Trigger, TriggerRules};
pub use facts::Facts;
pub use oncall::{Coverage, OnCall};
pub use policy::{Assessment, PolicySet};
pub use report::{Report, ResponseRecord};
pub use routing::{Route, Routing, Trace};
pub use timeline::{ClockEvent, Moment, TargetKind, TargetStatus};
