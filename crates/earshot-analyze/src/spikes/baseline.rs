//! The usual rate of every key: how often it appears among posts overall and at this hour of
//! the day, kept in fixed memory whatever the number of keys.
//!
//! Counts decay exponentially (forward decay: a post adds `e^(t/τ)`, so old counts never need
//! touching), are kept in two count-min sketches with conservative update (one per key, one
//! per key and hour of day), and are read as a *share* of all posts. The expected count of a
//! key in a window is its share times the window's volume: a busy morning raises every key's
//! expectation, so ordinary daily cycles do not look like bursts, and the hour-of-day share
//! keeps topics that belong to one part of the day (breakfast, the evening commute) from
//! alarming then. Sketch errors only ever overestimate, which makes the detector quieter, not
//! noisier.

use crate::fingerprint::mix;

/// A count-min sketch of decayed counts, blocked: a key's `DEPTH` counters share one 64-byte
/// cache line, so an update costs one cache miss instead of `DEPTH` (slightly more collisions
/// than independent rows, which only ever overestimate).
#[derive(Debug, Clone)]
pub(crate) struct Sketch {
    cells: Vec<f32>,
    /// Number of 16-cell lines, minus one (a power of two).
    line_mask: usize,
}

const DEPTH: usize = 4;
const LINE: usize = 16;

impl Sketch {
    /// `width` cells per (virtual) row: `width × DEPTH` cells in all.
    pub fn new(width: usize) -> Sketch {
        let lines = (width.max(64) * DEPTH / LINE).next_power_of_two();
        Sketch {
            cells: vec![0.0; lines * LINE],
            line_mask: lines - 1,
        }
    }

    #[inline]
    fn cells(&self, key: u64) -> [usize; DEPTH] {
        let h = mix(key ^ 0x5ca1_ab1e);
        let base = ((h >> 32) as usize & self.line_mask) * LINE;
        let mut out = [0usize; DEPTH];
        for (i, c) in out.iter_mut().enumerate() {
            // Four different cells of the line: offset i·4 plus 2 bits of the hash.
            *c = base + i * 4 + ((h >> (2 * i)) & 3) as usize;
        }
        out
    }

    #[inline]
    pub fn estimate(&self, key: u64) -> f32 {
        let mut m = f32::MAX;
        for c in self.cells(key) {
            m = m.min(self.cells[c]);
        }
        m
    }

    /// Conservative update: only the cells at the current minimum rise, which keeps
    /// collisions from inflating rare keys as fast.
    #[inline]
    pub fn add(&mut self, key: u64, weight: f32) {
        let cells = self.cells(key);
        let mut m = f32::MAX;
        for &c in &cells {
            m = m.min(self.cells[c]);
        }
        let target = m + weight;
        for c in cells {
            if self.cells[c] < target {
                self.cells[c] = target;
            }
        }
    }

    fn scale(&mut self, factor: f32) {
        for v in &mut self.cells {
            *v *= factor;
        }
    }

    pub fn bytes(&self) -> usize {
        self.cells.len() * 4
    }
}

/// Forward-decayed counts of keys and of all posts, overall and per hour of day.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    keys: Sketch,
    keys_by_hour: Sketch,
    /// Decayed number of posts, overall and per hour of day.
    posts: f64,
    posts_by_hour: [f64; 24],
    /// Decayed seconds observed per hour of day (the volume profile's denominator).
    exposure_by_hour: [f64; 24],
    /// Posts seen, undecayed (for warm-up).
    pub seen: u64,
    /// Time constant of the decay, seconds.
    tau: f64,
    /// The weight of a post at `origin` is 1.
    origin: i64,
    /// Pseudo-posts that pull an hour's share towards the key's overall share.
    prior: f64,
}

/// Weights past this are folded back into the sketches (f32 keeps ~7 digits).
const RENORMALISE_AT: f64 = 1e4;

impl Baseline {
    pub fn new(width: usize, half_life_secs: f64, prior: f64, start: i64) -> Baseline {
        Baseline {
            keys: Sketch::new(width),
            keys_by_hour: Sketch::new(width),
            posts: 0.0,
            posts_by_hour: [0.0; 24],
            exposure_by_hour: [0.0; 24],
            seen: 0,
            tau: (half_life_secs / std::f64::consts::LN_2).max(1.0),
            origin: start,
            prior: prior.max(1.0),
        }
    }

    /// The weight of something that happens at `t` (seconds).
    #[inline]
    pub fn weight(&self, t: i64) -> f64 {
        ((t - self.origin) as f64 / self.tau).exp()
    }

    /// Keeps weights small: rescales everything so that `t` weighs 1.
    pub fn renormalise_if_needed(&mut self, t: i64) {
        let w = self.weight(t);
        if w < RENORMALISE_AT {
            return;
        }
        let f = 1.0 / w;
        self.keys.scale(f as f32);
        self.keys_by_hour.scale(f as f32);
        self.posts *= f;
        for v in self
            .posts_by_hour
            .iter_mut()
            .chain(self.exposure_by_hour.iter_mut())
        {
            *v *= f;
        }
        self.origin = t;
    }

    pub fn add_post(&mut self, t: i64) {
        let w = self.weight(t);
        self.posts += w;
        self.posts_by_hour[hour_of(t)] += w;
        self.seen += 1;
    }

    /// Time passing, whether or not posts arrive: `secs` seconds ending at `t`.
    pub fn add_exposure(&mut self, t: i64, secs: f64) {
        let w = self.weight(t);
        self.exposure_by_hour[hour_of(t)] += w * secs;
    }

    /// Counts `key` in a post at `t` whose weight ([`Baseline::weight`]) is `weight`, scaled
    /// by `learn`.
    #[inline]
    pub fn add_key(&mut self, key: u64, t: i64, weight: f64, learn: f64) {
        let w = (weight * learn) as f32;
        self.keys.add(key, w);
        self.keys_by_hour.add(hour_key(key, t), w);
    }

    /// The share of posts that carry `key` at the hour of `t`, leaving out `recent` posts
    /// with it that were just counted (the window being judged must not be its own baseline).
    pub fn share(&self, key: u64, t: i64, recent: f64) -> f64 {
        if self.posts <= 0.0 {
            return 0.0;
        }
        let w = self.weight(t);
        let overall =
            ((self.keys.estimate(key) as f64 - recent * w).max(0.0) / self.posts).min(1.0);
        let h = hour_of(t);
        let in_hour = (self.keys_by_hour.estimate(hour_key(key, t)) as f64 - recent * w).max(0.0);
        ((in_hour + self.prior * overall) / (self.posts_by_hour[h] + self.prior)).min(1.0)
    }

    /// Posts per second usually seen at the hour of `t` (0 before that hour was observed).
    pub fn usual_rate(&self, t: i64) -> f64 {
        let h = hour_of(t);
        let exposure = self.exposure_by_hour[h];
        if exposure <= 0.0 {
            return 0.0;
        }
        self.posts_by_hour[h] / exposure
    }

    pub fn bytes(&self) -> usize {
        self.keys.bytes() + self.keys_by_hour.bytes()
    }
}

#[inline]
fn hour_of(t: i64) -> usize {
    (t.rem_euclid(86_400) / 3_600) as usize
}

#[inline]
fn hour_key(key: u64, t: i64) -> u64 {
    mix(key ^ ((hour_of(t) as u64 + 1) << 56))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketch_never_underestimates() {
        let mut s = Sketch::new(256);
        for k in 0..2000u64 {
            s.add(mix(k), 1.0);
        }
        s.add(mix(7), 5.0);
        assert!(s.estimate(mix(7)) >= 6.0);
        assert!(s.estimate(mix(999_999)) >= 0.0);
    }

    #[test]
    fn share_follows_the_hour_and_decays() {
        let day = 86_400;
        let mut b = Baseline::new(1 << 12, 3.0 * day as f64, 50.0, 0);
        // "breakfast" is in every post at 8h and none at 20h, over a week.
        for d in 0..7 {
            for m in 0..60 {
                let morning = d * day + 8 * 3600 + m * 60;
                b.add_post(morning);
                b.add_key(42, morning, b.weight(morning), 1.0);
                let evening = d * day + 20 * 3600 + m * 60;
                b.add_post(evening);
            }
        }
        let morning = b.share(42, 7 * day + 8 * 3600, 0.0);
        let evening = b.share(42, 7 * day + 20 * 3600, 0.0);
        assert!(morning > 0.9, "{morning}");
        assert!(evening < 0.1, "{evening}");
        assert!(
            (b.share(42, 7 * day, 0.0) - 0.5).abs() < 0.1,
            "an unseen hour falls back to the overall share"
        );
        b.renormalise_if_needed(400 * day);
        assert!(b.share(42, 400 * day + 8 * 3600, 0.0) <= 1.0);
    }
}
