//! Author reach: handles, display names and follower counts from the AppView's
//! `app.bsky.actor.getProfiles` (PROTOCOLS.md §2.6), cached per DID with a TTL and a size
//! bound.
//!
//! Jetstream only names authors by DID. A batch of heard posts asks for the profiles it lacks
//! in one call (25 actors per request), time-boxed: when the AppView is slow or down the
//! posts go on without followers rather than holding the stream up, and lookups pause for a
//! while so each batch does not pay the timeout again. Identity events evict a DID.

use super::config::BlueskyConfig;
use super::wire::{ProfileView, Profiles};
use super::xrpc::{send, CallError};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most actors `getProfiles` takes at once.
const PROFILES_PER_CALL: usize = 25;

/// What earshot keeps of an author's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    pub handle: String,
    pub display_name: Option<String>,
    pub followers: Option<u64>,
}

/// The profile cache and its lookups.
#[derive(Debug)]
pub(crate) struct Reach {
    client: reqwest::Client,
    appview: String,
    ttl: Duration,
    capacity: usize,
    timeout: Duration,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Each profile with the moment it stops being trusted.
    entries: HashMap<String, (Profile, Instant)>,
    /// Insertion order, for evicting the oldest when full.
    order: VecDeque<String>,
    /// No lookups before this (the AppView just failed or was slow).
    paused_until: Option<Instant>,
}

impl Reach {
    pub fn new(config: &BlueskyConfig, client: reqwest::Client) -> Self {
        Reach {
            client,
            appview: config.appview_url.clone(),
            ttl: config.profile_ttl,
            capacity: config.profile_cache_size.max(1),
            timeout: config.profile_timeout,
            cache: Mutex::new(Cache::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Profiles for `dids`: cached ones at once, the rest looked up within the time box.
    /// DIDs whose profile could not be had are missing from the answer.
    pub async fn profiles(&self, dids: &[&str]) -> HashMap<String, Profile> {
        let now = Instant::now();
        let mut found = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        {
            let cache = self.lock();
            for &did in dids {
                match cache.entries.get(did) {
                    Some((profile, expires)) if now < *expires => {
                        found.insert(did.to_owned(), profile.clone());
                    }
                    _ if !missing.contains(&did) => missing.push(did),
                    _ => {}
                }
            }
            if cache.paused_until.is_some_and(|until| now < until) {
                return found;
            }
        }
        if missing.is_empty() {
            return found;
        }
        let lookups = missing
            .chunks(PROFILES_PER_CALL)
            .map(|chunk| get_profiles(&self.client, &self.appview, chunk));
        let answers =
            tokio::time::timeout(self.timeout, futures_util::future::join_all(lookups)).await;
        let mut cache = self.lock();
        let Ok(answers) = answers else {
            tracing::warn!(
                timeout_ms = self.timeout.as_millis() as u64,
                "bluesky profile lookup timed out; delivering without follower counts"
            );
            cache.paused_until = Some(Instant::now() + self.pause());
            return found;
        };
        for answer in answers {
            match answer {
                Ok(profiles) => {
                    for view in profiles {
                        let profile = Profile {
                            handle: view.handle,
                            display_name: crate::non_empty(view.display_name),
                            followers: view.followers_count,
                        };
                        found.insert(view.did.clone(), profile.clone());
                        cache.insert(view.did, profile, self.ttl, self.capacity);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "bluesky profile lookup failed; delivering without follower counts");
                    cache.paused_until = Some(Instant::now() + self.pause());
                }
            }
        }
        found
    }

    /// A DID's handle or documents changed: look it up afresh next time.
    pub fn forget(&self, did: &str) {
        // Expired rather than removed, so the eviction order stays exact.
        if let Some(entry) = self.lock().entries.get_mut(did) {
            entry.1 = Instant::now();
        }
    }

    /// How long lookups rest after a failure: long enough that a down AppView does not tax
    /// every batch, short enough that reach comes back soon.
    fn pause(&self) -> Duration {
        (self.timeout * 50).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Cache {
    fn insert(&mut self, did: String, profile: Profile, ttl: Duration, capacity: usize) {
        if !self.entries.contains_key(&did) {
            while self.entries.len() >= capacity {
                match self.order.pop_front() {
                    Some(oldest) => {
                        self.entries.remove(&oldest);
                    }
                    None => break,
                }
            }
            self.order.push_back(did.clone());
        }
        self.entries.insert(did, (profile, Instant::now() + ttl));
    }
}

/// `app.bsky.actor.getProfiles` for up to 25 DIDs or handles; unknown actors are left out.
pub(crate) async fn get_profiles(
    client: &reqwest::Client,
    appview: &str,
    actors: &[&str],
) -> Result<Vec<ProfileView>, CallError> {
    let query: Vec<(&str, &str)> = actors.iter().map(|a| ("actors", *a)).collect();
    let answer = send(
        client
            .get(BlueskyConfig::xrpc(appview, "app.bsky.actor.getProfiles"))
            .query(&query),
        "looking up profiles",
    )
    .await?;
    Ok(answer.json::<Profiles>("looking up profiles")?.profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_evicts_the_oldest() {
        let mut cache = Cache::default();
        let p = |h: &str| Profile {
            handle: h.into(),
            display_name: None,
            followers: Some(1),
        };
        for i in 0..5 {
            cache.insert(format!("did:plc:{i}"), p("x"), Duration::from_secs(60), 3);
        }
        assert_eq!(cache.entries.len(), 3);
        assert!(!cache.entries.contains_key("did:plc:0"));
        assert!(cache.entries.contains_key("did:plc:4"));
        // Refreshing an entry does not grow the order queue.
        cache.insert("did:plc:4".into(), p("y"), Duration::from_secs(60), 3);
        assert_eq!(cache.order.len(), 3);
        assert_eq!(cache.entries["did:plc:4"].0.handle, "y");
    }
}
