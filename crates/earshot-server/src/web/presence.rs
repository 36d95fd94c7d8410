//! Who is writing a reply where, so two agents do not answer the same customer at once.
//! Each open reply box reports while its agent types; a report older than [`FRESH`] is
//! forgotten. Kept in memory: it is a courtesy warning, not a lock (the desk's idempotency
//! keys are what keep a reply from being sent twice).

use earshot_core::ConversationId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a "still typing" report counts.
pub const FRESH: Duration = Duration::from_secs(20);

#[derive(Default)]
pub struct Presence {
    typing: Mutex<HashMap<ConversationId, HashMap<String, Instant>>>,
}

impl Presence {
    /// Notes that `who` is replying to `conversation` now; returns the others who are too.
    pub fn typing(&self, conversation: ConversationId, who: &str) -> Vec<String> {
        self.typing_at(conversation, who, Instant::now())
    }

    /// Who, other than `who`, is replying to `conversation`.
    pub fn others(&self, conversation: ConversationId, who: &str) -> Vec<String> {
        self.others_at(conversation, who, Instant::now())
    }

    fn typing_at(&self, conversation: ConversationId, who: &str, now: Instant) -> Vec<String> {
        let mut map = self.typing.lock().unwrap_or_else(|p| p.into_inner());
        // Forget stale reports everywhere while we hold the lock: the map stays small.
        map.retain(|_, people| {
            people.retain(|_, at| now.duration_since(*at) < FRESH);
            !people.is_empty()
        });
        map.entry(conversation)
            .or_default()
            .insert(who.to_string(), now);
        drop(map);
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
