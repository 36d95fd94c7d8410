//! What a run of the source remembers, bounded: posts delivered (to drop Jetstream's
//! redeliveries), posts deleted (a delete can overtake its create) and authors heard (whose
//! deletes matter). Keys are 64-bit hashes, so remembering costs no allocation per event.
//!
//! Forgetting only risks a redelivery, which the store absorbs by `(network, external_id)`.

use std::collections::{HashMap, VecDeque};

/// FNV-1a over `parts`, with a separator so `("ab", "c")` and `("a", "bc")` differ. Stable
/// across Rust releases (unlike `DefaultHasher`), which record keys derived from it rely on.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The key of a post: its repository and record key.
pub(crate) fn post_key(did: &str, rkey: &str) -> u64 {
    fnv1a(&[did.as_bytes(), rkey.as_bytes()])
}

pub(crate) fn text_key(s: &str) -> u64 {
    fnv1a(&[s.as_bytes()])
}

/// A map of at most `capacity` entries that forgets the oldest first.
#[derive(Debug)]
pub(crate) struct Recent {
    entries: HashMap<u64, u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Recent {
    pub fn new(capacity: usize) -> Self {
        Recent {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, key: u64) -> Option<u64> {
        self.entries.get(&key).copied()
    }

    pub fn contains(&self, key: u64) -> bool {
        self.entries.contains_key(&key)
    }

    /// Sets `key` to `value`; returns the value it had.
    pub fn insert(&mut self, key: u64, value: u64) -> Option<u64> {
        let previous = self.entries.insert(key, value);
        if previous.is_none() {
            self.order.push_back(key);
            while self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.entries.remove(&oldest);
                }
            }
        }
        previous
    }

    /// Undoes an [`Self::insert`] that returned `previous` (a delivery that failed).
    pub fn restore(&mut self, key: u64, previous: Option<u64>) {
        match previous {
            Some(value) => {
                self.entries.insert(key, value);
            }
            None => {
                self.entries.remove(&key);
                if let Some(i) = self.order.iter().rposition(|k| *k == key) {
                    self.order.remove(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_forgets_the_oldest_and_can_undo() {
        let mut r = Recent::new(2);
        assert_eq!(r.insert(1, 10), None);
        assert_eq!(r.insert(2, 20), None);
        assert_eq!(r.insert(2, 21), Some(20));
        r.insert(3, 30);
        assert!(!r.contains(1));
        assert_eq!(r.get(2), Some(21));
        let previous = r.insert(4, 40);
        r.restore(4, previous);
        assert!(!r.contains(4));
        assert!(r.contains(3));
        r.restore(2, Some(20));
        assert_eq!(r.get(2), Some(20));
    }

    #[test]
    fn keys_are_stable_and_separated() {
        assert_ne!(post_key("ab", "c"), post_key("a", "bc"));
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(
            fnv1a(&[b""]),
            (0xcbf2_9ce4_8422_2325u64 ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3)
        );
    }
}
