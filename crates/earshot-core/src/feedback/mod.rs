//! Closing the loop: customers' repeated asks become product [`Request`]s, agents' public
//! commitments on them become [`Promise`]s, and a [`Release`] that ships a request keeps its
//! promises and tells every customer who asked, in the thread where they asked.
//!
//! Pure rules only (this crate does no I/O): promise states and due dates, who gets told about a
//! release and in which words, and the loop's timings. The store keeps the records; the server
//! runs the loop.

mod input;
mod promise;
mod release;
mod request;

pub use input::{InputError, ReleaseLink, ReleaseVersion, RequestTitle, TrackerUrl};
pub use promise::{Promise, PromiseId, PromiseKind, PromiseState, PromiseTransitionError};
pub use release::{
    notification_key, plan_notifications, Ask, NotificationPlan, NotificationState, Release,
    ReleaseId, Skip, Templates,
};
pub use request::{Request, RequestEvent, RequestId, RequestStatus, RequestTransitionError};
