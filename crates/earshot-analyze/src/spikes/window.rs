//! Counts in the last few buckets (the detection window), per key and per spike, and the few
//! authors behind them: fixed-size rings, no allocation per post.

/// Longest detection window, in buckets.
pub(crate) const MAX_WINDOW: usize = 16;
/// Distinct authors remembered per key: enough to tell "five people" from "one person five
/// times", which is all the detector asks.
pub(crate) const AUTHOR_SLOTS: usize = 8;

/// Posts per bucket over the last `MAX_WINDOW` buckets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    ring: [u16; MAX_WINDOW],
    /// The bucket of the newest slot.
    head: u32,
}

impl Window {
    pub fn new(bucket: u32) -> Window {
        Window {
            ring: [0; MAX_WINDOW],
            head: bucket,
        }
    }

    /// Counts a post in `bucket`; `false` when the bucket already left a window of `w`.
    #[inline]
    pub fn add(&mut self, bucket: u32, w: u32) -> bool {
        if bucket > self.head {
            let gap = (bucket - self.head) as usize;
            if gap >= MAX_WINDOW {
                self.ring = [0; MAX_WINDOW];
            } else {
                for b in self.head + 1..=bucket {
                    self.ring[b as usize % MAX_WINDOW] = 0;
                }
            }
            self.head = bucket;
        } else if bucket + w <= self.head {
            return false;
        }
        let slot = &mut self.ring[bucket as usize % MAX_WINDOW];
        *slot = slot.saturating_add(1);
        true
    }

    /// Posts in the `w` buckets ending at `now`.
    #[inline]
    pub fn count(&self, now: u32, w: u32) -> u32 {
        let oldest = (now + 1).saturating_sub(w);
        let mut sum = 0u32;
        for k in 0..w.min(MAX_WINDOW as u32) {
            let Some(b) = self.head.checked_sub(k) else {
                break;
            };
            if b < oldest {
                break;
            }
            if b <= now {
                sum += u32::from(self.ring[b as usize % MAX_WINDOW]);
            }
        }
        sum
    }

    pub fn last_bucket(&self) -> u32 {
        self.head
    }
}

/// The distinct authors of a key's recent posts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Authors {
    /// (author hash, bucket + 1); 0 marks an empty slot.
    slots: [(u32, u32); AUTHOR_SLOTS],
}

impl Authors {
    #[inline]
    pub fn add(&mut self, author: u32, bucket: u32) {
        let stamp = bucket + 1;
        let mut oldest = 0;
        for i in 0..AUTHOR_SLOTS {
            let (who, seen) = self.slots[i];
            if seen != 0 && who == author {
                self.slots[i].1 = seen.max(stamp);
                return;
            }
            if seen < self.slots[oldest].1 {
                oldest = i;
            }
        }
        // Empty slots (stamp 0) go first, then the author seen longest ago.
        self.slots[oldest] = (author, stamp);
    }

    /// Distinct authors seen in the `w` buckets ending at `now` (at most [`AUTHOR_SLOTS`]).
    #[inline]
    pub fn count(&self, now: u32, w: u32) -> u32 {
        let oldest = (now + 1).saturating_sub(w) + 1;
        self.slots
            .iter()
            .filter(|s| s.1 != 0 && s.1 >= oldest)
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_and_drops_late_posts() {
        let mut w = Window::new(0);
        for b in 0..10 {
            assert!(w.add(b, 6));
            assert!(w.add(b, 6));
        }
        assert_eq!(w.count(9, 6), 12);
        assert_eq!(
            w.count(12, 6),
            6,
            "three buckets later half the window is empty"
        );
        assert!(!w.add(2, 6), "too late for the window");
        assert!(w.add(5, 6));
        assert_eq!(w.count(9, 6), 13);
        assert!(w.add(100, 6));
        assert_eq!(w.count(100, 6), 1, "a long gap clears the ring");
    }

    #[test]
    fn authors_count_distinct_people_in_the_window() {
        let mut a = Authors::default();
        for b in 0..5 {
            a.add(7, b);
        }
        assert_eq!(a.count(4, 6), 1, "one person posting five times");
        for (i, who) in [1u32, 2, 3, 4, 5, 6, 8, 9, 10].iter().enumerate() {
            a.add(*who, 5 + i as u32 / 3);
        }
        assert_eq!(a.count(7, 6), AUTHOR_SLOTS as u32);
        assert_eq!(a.count(40, 6), 0);
    }
}
