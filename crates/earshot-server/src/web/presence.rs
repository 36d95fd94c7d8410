//! Who is writing a reply where, so two agents do not answer the same customer at once.
//! Each open reply box reports while its agent types; a report older than [`FRESH`] is
//! forgotten. Kept in memory: it is a courtesy warning, not a lock (the desk's idempotency
//! keys are what keep a reply from being sent twice).
//!
//! Where several processes serve one team, each report also travels as a live event
//! ([`LiveEvent::Replying`], fanned out over the bus like every live event) and every process
//! notes the others' reports ([`Presence::follow`]), so an agent on one process is warned of
//! a colleague typing on another.

use crate::pipeline::{LiveEvent, Pipeline};
use earshot_core::ConversationId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a "still typing" report counts.
pub const FRESH: Duration = Duration::from_secs(20);

#[derive(Default)]
pub struct Presence {
    typing: Mutex<HashMap<ConversationId, HashMap<String, Instant>>>,
    /// Where this process's reports are announced (set by [`Presence::follow`]).
    pipeline: OnceLock<Arc<Pipeline>>,
}

impl Presence {
    /// Notes that `who` is replying to `conversation` now (and tells the other processes);
    /// returns the others who are too.
    pub fn typing(&self, conversation: ConversationId, who: &str) -> Vec<String> {
        if let Some(pipeline) = self.pipeline.get() {
            pipeline.publish(LiveEvent::Replying {
                conversation_id: conversation,
                person: who.to_string(),
            });
        }
        self.typing_at(conversation, who, Instant::now())
    }

    /// Announces this process's reports on `pipeline`'s live events and notes every report
    /// they carry (this process's own come back and are noted again, harmlessly), until the
    /// pipeline is gone. Needs a Tokio runtime; without one presence stays in this process.
    pub fn follow(self: &Arc<Self>, pipeline: &Arc<Pipeline>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.pipeline.set(pipeline.clone()).is_err() {
            return;
        }
        let mut events = pipeline.subscribe();
        // Held weakly: the task must not keep the pages' state (and the pipeline) alive.
        let presence = Arc::downgrade(self);
        runtime.spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(LiveEvent::Replying {
                        conversation_id,
                        person,
                    }) => {
                        let Some(presence) = presence.upgrade() else {
                            return;
                        };
                        presence.noted(conversation_id, &person, Instant::now());
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }

    /// Notes a report without asking who else is typing.
    fn noted(&self, conversation: ConversationId, who: &str, now: Instant) {
        let mut map = self.typing.lock().unwrap_or_else(|p| p.into_inner());
        // Forget stale reports everywhere while we hold the lock: the map stays small.
        map.retain(|_, people| {
            people.retain(|_, at| now.duration_since(*at) < FRESH);
            !people.is_empty()
        });
        map.entry(conversation)
            .or_default()
            .insert(who.to_string(), now);
    }

    /// Who, other than `who`, is replying to `conversation`.
    pub fn others(&self, conversation: ConversationId, who: &str) -> Vec<String> {
        self.others_at(conversation, who, Instant::now())
    }

    fn typing_at(&self, conversation: ConversationId, who: &str, now: Instant) -> Vec<String> {
        self.noted(conversation, who, now);
        self.others_at(conversation, who, now)
    }

    fn others_at(&self, conversation: ConversationId, who: &str, now: Instant) -> Vec<String> {
        let map = self.typing.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<String> = map
            .get(&conversation)
            .map(|people| {
                people
                    .iter()
                    .filter(|(name, at)| name.as_str() != who && now.duration_since(**at) < FRESH)
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn others_typing_are_reported_until_they_go_quiet() {
        let p = Presence::default();
        let c = ConversationId(7);
        let t0 = Instant::now();
        assert!(p.typing_at(c, "maria", t0).is_empty());
        assert_eq!(p.typing_at(c, "bo", t0), vec!["maria"]);
        assert_eq!(p.others_at(c, "maria", t0), vec!["bo"]);
        assert!(p.others_at(ConversationId(8), "maria", t0).is_empty());
        assert!(
            p.others_at(c, "maria", t0 + FRESH).is_empty(),
            "stale reports are forgotten"
        );
    }
}
